"""Per-team access: a role and a managed policy per team, capped by a shared boundary."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from bedrock_landing_zone.compliance import acknowledge, nag_form
from bedrock_landing_zone.config import LandingZoneConfig
from bedrock_landing_zone.model_access import ModelAccess
from bedrock_landing_zone.roles import ManagedPolicyRole

__all__ = ["TeamAccess", "team_parameter_names"]


def team_parameter_names(env_name: str, team: str) -> dict[str, str]:
    """SSM parameter names published for each team (a public contract)."""
    prefix = f"/bedrock-lz/{env_name}/teams/{team}"
    return {"role_arn": f"{prefix}/role-arn", "policy_arn": f"{prefix}/model-access-policy-arn"}


class TeamAccess(Construct):
    """For each team: a managed policy granting its models, and a role that carries it.

    - ``boundary``: a permissions boundary on every team role. It admits the invoke actions on
      the allow-list only (through the guardrail), so no policy attached later (for example an
      AWS-managed Bedrock policy) can take a team role beyond the allow-list.
    - ``policies[team]``: the team's grant as a customer-managed policy, also for human roles
      (attach it to an SSO permission set or a federated role).
    - ``roles[team]``: assumable by the principals in ``teams[].assumed_by`` (none by default).

    Role and policy ARNs are published under ``/bedrock-lz/<env>/teams/<team>/``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LandingZoneConfig,
        model_access: ModelAccess,
    ) -> None:
        super().__init__(scope, construct_id)
        self.boundary = model_access.managed_policy(
            "TeamBoundary",
            description="Team role boundary: invoke allow-listed models with the guardrail only",
        )
        # ... and call the landing zone's inference API (its id is not known here)
        stack = cdk.Stack.of(self)
        api_pattern = (
            f"arn:{stack.partition}:execute-api:{stack.region}:{stack.account}"
            ":*/prod/POST/v1/converse"
        )
        self.boundary.add_statements(
            iam.PolicyStatement(
                sid="CallTheLandingZoneInferenceApi",
                actions=["execute-api:Invoke"],
                resources=[api_pattern],
            )
        )
        # ... and read where the API is, nothing else in SSM
        discovery = iam.PolicyStatement(
            sid="ReadTheInferenceApiLocation",
            actions=["ssm:GetParameter"],
            resources=[
                stack.format_arn(
                    service="ssm",
                    resource="parameter",
                    resource_name=f"bedrock-lz/{config.name}/inference/{name}",
                )
                for name in ("api-url", "api-id")
            ],
        )
        self.boundary.add_statements(discovery)
        acknowledge(
            self.boundary,
            [f"AwsSolutions-IAM5[Resource::{nag_form(stack, api_pattern)}]"],
            "A boundary only caps permissions: team roles may call POST /v1/converse of a "
            "private API in this account (the API id is created later); the API's resource "
            "policy limits callers to the landing zone VPC endpoint.",
        )
        self.policies: dict[str, iam.ManagedPolicy] = {}
        self.roles: dict[str, iam.Role] = {}
        for team in config.teams:
            label = "".join(part.capitalize() for part in team.name.split("-"))
            policy = model_access.managed_policy(
                f"{label}ModelAccess",
                aliases=team.models,
                team=team.name,
                description=f"Team {team.name}: invoke {', '.join(team.models)} with the guardrail",
            )
            principals: list[iam.IPrincipal] = [iam.ArnPrincipal(arn) for arn in team.assumed_by]
            role = ManagedPolicyRole(
                self,
                f"{label}Role",
                assumed_by=(
                    iam.CompositePrincipal(*principals)
                    if principals
                    else iam.AccountRootPrincipal()
                ),
                description=f"Bedrock landing zone team {team.name} ({config.name})",
                permissions_boundary=self.boundary,
                managed_policies=[policy],
                max_session_duration=None,
            )
            policy.add_statements(discovery)
            self.policies[team.name] = policy
            self.roles[team.name] = role
            names = team_parameter_names(config.name, team.name)
            ssm.StringParameter(
                self,
                f"{label}RoleArnParameter",
                parameter_name=names["role_arn"],
                string_value=role.role_arn,
            )
            ssm.StringParameter(
                self,
                f"{label}PolicyArnParameter",
                parameter_name=names["policy_arn"],
                string_value=policy.managed_policy_arn,
            )

    def team_of_role(self) -> dict[str, str]:
        """Role name (a token) -> team name; the inference API maps callers with it."""
        return {role.role_name: team for team, role in self.roles.items()}
