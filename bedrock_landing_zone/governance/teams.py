"""Team access: one team's role, policy, boundary and profiles, in the team's own stack.

Nothing shared grows with the number of teams: a team's role, its managed policy, its
permissions boundary and its application inference profiles live in the team's stack
(``TeamAccess``), which finds the shared resources through SSM parameters, so adding a team
changes that team's stack only. The shared documents that must admit every team's profiles
(the inference function's role, the ``bedrock-runtime`` endpoint policy) admit them by tag
(``aws:ResourceTag``, attribute-based access control), not by ARN.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from bedrock_landing_zone.base.roles import ManagedPolicyRole
from bedrock_landing_zone.config import ModelConfig, TeamConfig
from bedrock_landing_zone.governance.cost_allocation import CostAllocation
from bedrock_landing_zone.governance.model_access import GuardrailReference, ModelAccess

__all__ = [
    "TEAM_TAG",
    "TeamAccess",
    "shared_parameter_names",
    "team_directory",
    "team_parameter_names",
]

#: The tag that names a team on its role (principal tag) and its application inference
#: profiles (resource tag); also the cost allocation tag the team budgets filter on.
TEAM_TAG = "Team"
#: The routes of the landing zone's inference API a team role may call, as ``METHOD/path``
#: (the ``execute-api`` ARN's resource part after the stage). The same list as
#: ``bedrock_landing_zone.inference.constructs.ROUTES`` (a test keeps them equal); written out
#: here so that governance does not import the inference package.
INFERENCE_API_ROUTES = ("POST/v1/converse", "POST/v1/chat/completions", "GET/v1/models")


def team_directory(env_name: str) -> str:
    """SSM path under which every team stack publishes its parameters."""
    return f"/bedrock-lz/{env_name}/teams/"


def team_parameter_names(env_name: str, team: str) -> dict[str, str]:
    """SSM parameters each team stack publishes (a public contract).

    ``inference_access`` is the team's entry in the inference function's team directory: a
    JSON document ``{"team", "role_arn", "models": {alias: application profile ARN}}``.
    """
    prefix = f"{team_directory(env_name)}{team}"
    return {
        "role_arn": f"{prefix}/role-arn",
        "policy_arn": f"{prefix}/model-access-policy-arn",
        "inference_access": f"{prefix}/inference-access",
    }


def shared_parameter_names(env_name: str) -> dict[str, str]:
    """SSM parameters the shared stacks publish for the team stacks (a public contract)."""
    prefix = f"/bedrock-lz/{env_name}"
    return {
        "key_arn": f"{prefix}/kms-key-arn",
        "topic_arn": f"{prefix}/alerts/topic-arn",
        "api_id": f"{prefix}/inference/api-id",
    }


def discovery_statement(scope: Construct, env_name: str) -> iam.PolicyStatement:
    """Read where the inference API is, nothing else in SSM."""
    stack = cdk.Stack.of(scope)
    return _discovery_statement(
        [
            stack.format_arn(
                service="ssm",
                resource="parameter",
                resource_name=f"bedrock-lz/{env_name}/inference/{name}",
            )
            for name in ("api-url", "api-id")
        ]
    )


def _discovery_statement(resources: list[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        sid="ReadTheInferenceApiLocation", actions=["ssm:GetParameter"], resources=resources
    )


class TeamAccess(Construct):
    """One team: its application inference profiles, managed policy and role.

    - ``profiles``: one application inference profile per model of the team, tagged
      ``Team=<team>`` and ``CostCenter`` (``CostAllocation``), so spend reaches its budget;
    - ``policy``: invoke the team's models, directly or through its own profiles, with the
      landing zone guardrail (any published version); also for human roles (attach it to an
      SSO permission set or a federated role);
    - ``boundary``: the role's permissions boundary: the same models and profiles, the API and
      its location, nothing else, so no policy attached to the role later (for example an
      AWS-managed Bedrock policy) can take it beyond the team's part of the allow-list;
    - ``role``: tagged ``Team=<team>``, capped by ``boundary``, assumable by
      ``team.assumed_by`` (default: the account, through IAM delegation);
    - with ``api_id``: may call the landing zone API's routes (``INFERENCE_API_ROUTES``:
      ``POST /v1/converse`` and the OpenAI-compatible ``POST /v1/chat/completions`` and
      ``GET /v1/models``);
    - SSM parameters ``team_parameter_names(env, team)``, among them the team's entry of the
      inference function's team directory.

    Attributes:
        role, policy, boundary, model_access,
        profiles (alias -> ``CfnApplicationInferenceProfile``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        team: TeamConfig,
        models: Sequence[ModelConfig],
        cost_center: str,
        guardrail: GuardrailReference,
        key: kms.IKey,
        api_id: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.model_access = ModelAccess(
            self, "ModelAccess", models=models, guardrail=guardrail, guardrail_key=key
        )
        cost_allocation = CostAllocation(
            self,
            "CostAllocation",
            env_name=env_name,
            team=team,
            cost_center=cost_center,
            model_access=self.model_access,
        )
        self.profiles = cost_allocation.profiles
        # one statement object for both documents, its ARNs made here (each ``format_arn`` and
        # ``Stack.of`` is a round trip to the CDK); the documents are the same as with one
        # ``discovery_statement`` added to each
        discovery = _discovery_statement(
            [
                self.model_access.arn("ssm", "parameter", f"bedrock-lz/{env_name}/inference/{name}")
                for name in ("api-url", "api-id")
            ]
        )
        self.policy = self.model_access.managed_policy(
            "Policy",
            aliases=[m.alias for m in models],
            team=team.name,
            description=f"Team {team.name}: invoke {', '.join(team.models)} with the guardrail",
            guardrail_versions="published",
            extra_statements=[discovery],
        )
        self.boundary = self.model_access.managed_policy(
            "Boundary",
            aliases=[m.alias for m in models],
            team=team.name,
            description=f"Team {team.name} role boundary: its models with the guardrail only",
            guardrail_versions="published",
            extra_statements=[discovery],
        )
        principals: list[iam.IPrincipal] = [iam.ArnPrincipal(arn) for arn in team.assumed_by]
        self.role = ManagedPolicyRole(
            self,
            "Role",
            assumed_by=(
                iam.CompositePrincipal(*principals) if principals else iam.AccountRootPrincipal()
            ),
            description=f"Bedrock landing zone team {team.name} ({env_name})",
            permissions_boundary=self.boundary,
            managed_policies=[self.policy],
        )
        # the principal tag the boundary's attribute-based statement compares with
        cdk.Tags.of(self.role).add(TEAM_TAG, team.name, priority=200)
        if api_id is not None:
            call_api = iam.PolicyStatement(
                sid="CallTheLandingZoneInferenceApi",
                actions=["execute-api:Invoke"],
                resources=[
                    self.model_access.arn("execute-api", api_id, f"prod/{route}")
                    for route in INFERENCE_API_ROUTES
                ],
            )
            self.role.add_to_principal_policy(call_api)
            self.boundary.add_statements(call_api)
        names = team_parameter_names(env_name, team.name)
        role_arn = self.role.role_arn
        ssm.StringParameter(
            self,
            "RoleArnParameter",
            parameter_name=names["role_arn"],
            string_value=role_arn,
        )
        ssm.StringParameter(
            self,
            "PolicyArnParameter",
            parameter_name=names["policy_arn"],
            string_value=self.policy.managed_policy_arn,
        )
        entry = {
            "team": team.name,
            "role_arn": role_arn,
            "models": dict(cost_allocation.profile_arns),
        }
        ssm.StringParameter(
            self,
            "InferenceAccessParameter",
            parameter_name=names["inference_access"],
            string_value=cdk.Stack.of(self).to_json_string(entry),
            description=f"Team {team.name}: entry of the inference function's team directory",
        )
