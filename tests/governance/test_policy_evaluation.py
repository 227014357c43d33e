"""Proof by evaluation: the synthesized policies decide a request matrix as intended.

Policies are taken from cdk.out templates, intrinsics resolved with fake but well-formed ids,
and evaluated with tests/iam_eval/evaluator.py (AWS's documented evaluation logic: explicit
deny wins; identity allow needed; boundary and SCPs must allow). Every emitted policy is also
linted with parliament (tests/iam_eval/lint.py) at zero findings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bedrock_landing_zone.config import LandingZoneConfig, ModelConfig
from bedrock_landing_zone.governance.organization_policies import scp_documents
from tests.conftest import EXAMPLE_ENVS, Synth, Synths
from tests.iam_eval.evaluator import (
    FULL_AWS_ACCESS,
    Decision,
    Request,
    UnresolvedIntrinsic,
    evaluate,
    resolve_template_policies,
    resolve_value,
    role_identity_policies,
    role_permissions_boundary,
)
from tests.iam_eval.lint import lint_policy

ACCOUNT = "111122223333"
VERSION = "7"
INVOKE = "bedrock:InvokeModel"
STREAM = "bedrock:InvokeModelWithResponseStream"


def _account(config: LandingZoneConfig) -> str:
    return config.account or ACCOUNT


def _fake(template: dict[str, Any], *, account: str, region: str, salt: str = "") -> dict[str, str]:
    """Refs for every resource: well-formed ARNs/ids derived from the logical id (``salt``
    keeps equal logical ids of different stacks, e.g. two team stacks, apart)."""
    refs: dict[str, str] = {}
    for lid, resource in template["Resources"].items():
        kind = resource["Type"]
        low = f"{salt}{lid.lower()}"
        refs[lid] = low
        if kind == "AWS::Bedrock::Guardrail":
            refs[f"{lid}.GuardrailArn"] = f"arn:aws:bedrock:{region}:{account}:guardrail/{low}"
            refs[f"{lid}.GuardrailId"] = low
        elif kind == "AWS::Bedrock::GuardrailVersion":
            refs[f"{lid}.Version"] = VERSION
        elif kind == "AWS::Bedrock::ApplicationInferenceProfile":
            refs[f"{lid}.InferenceProfileArn"] = (
                f"arn:aws:bedrock:{region}:{account}:application-inference-profile/{low}"
            )
        elif kind == "AWS::KMS::Key":
            refs[f"{lid}.Arn"] = f"arn:aws:kms:{region}:{account}:key/{low}"
        elif kind == "AWS::IAM::Role":
            refs[f"{lid}.Arn"] = f"arn:aws:iam::{account}:role/{low}"
        elif kind == "AWS::Logs::LogGroup":
            refs[f"{lid}.Arn"] = f"arn:aws:logs:{region}:{account}:log-group:{low}:*"
        elif kind == "AWS::S3::Bucket":
            refs[f"{lid}.Arn"] = f"arn:aws:s3:::{low}"
        elif kind == "AWS::Lambda::Function":
            refs[f"{lid}.Arn"] = f"arn:aws:lambda:{region}:{account}:function:{low}"
        elif kind == "AWS::SNS::Topic":
            refs[lid] = f"arn:aws:sns:{region}:{account}:{low}"
        elif kind == "AWS::SQS::Queue":
            refs[f"{lid}.Arn"] = f"arn:aws:sqs:{region}:{account}:{low}"
        elif kind == "AWS::EC2::VPC":
            refs[f"{lid}.DefaultSecurityGroup"] = "sg-0123456789abcdef0"
        elif kind == "AWS::EC2::SecurityGroup":
            refs[f"{lid}.GroupId"] = "sg-0fedcba9876543210"
        service = kind.split("::")[1].lower()
        refs.setdefault(f"{lid}.Arn", f"arn:aws:{service}:{region}:{account}:{low}")
    return refs


def _inline_stack_outputs(node: Any, producer: dict[str, str]) -> Any:
    """Replace ``Fn::GetStackOutput`` (cross-stack references) by the producer's fake value.

    CDK names the outputs ``PublishOutputRef<LogicalId><hash>`` and
    ``PublishOutputFnGetAtt<LogicalId><Attribute><hash>``.
    """
    if isinstance(node, dict):
        if set(node) == {"Fn::GetStackOutput"}:
            name = node["Fn::GetStackOutput"]["OutputName"].removeprefix("PublishOutput")
            if name.startswith("Ref"):
                keys = [k for k in producer if "." not in k and name[3:].startswith(k)]
            else:
                rest = name.removeprefix("FnGetAtt")
                keys = [k for k in producer if "." in k and rest.startswith(k.replace(".", ""))]
            if not keys:
                raise KeyError(f"unknown stack output {name}")
            return producer[max(keys, key=len)]
        return {k: _inline_stack_outputs(v, producer) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline_stack_outputs(v, producer) for v in node]
    return node


def resolved_templates(
    synth: Synth, account: str
) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """Every template of ``synth`` with cross-stack references and SSM parameters resolved.

    Fake ids for every resource (``_fake``; team stacks, which share logical ids, salted with
    their name); ``Fn::GetStackOutput`` inlined; each CloudFormation parameter of type
    ``AWS::SSM::Parameter::Value<String>`` takes the value the ``AWS::SSM::Parameter`` of that
    name (in another stack of the environment) is given, as CloudFormation resolves it at deploy
    time. Returns (templates by stack, refs by stack).
    """
    region = synth.config.region
    raw = {
        p.name.removesuffix(".template.json"): json.loads(p.read_text(encoding="utf-8"))
        for p in Path(synth.outdir).glob("*.template.json")
    }
    team_stacks = {stack.artifact_id for stack in synth.stacks.teams.values()}
    shared: dict[str, str] = {}
    for name, template in raw.items():
        if name not in team_stacks:
            shared.update(_fake(template, account=account, region=region))
    refs = {
        name: {
            **shared,
            **(
                _fake(template, account=account, region=region, salt=f"{name.lower()}-")
                if name in team_stacks
                else {}
            ),
        }
        for name, template in raw.items()
    }
    templates = {name: _inline_stack_outputs(t, shared) for name, t in raw.items()}
    published: dict[str, str] = {}
    for name, template in templates.items():
        for resource in template["Resources"].values():
            if resource["Type"] != "AWS::SSM::Parameter":
                continue
            props = resource["Properties"]
            try:
                value = resolve_value(
                    template, props["Value"], account=account, region=region, refs=refs[name]
                )
            except UnresolvedIntrinsic:
                continue
            if isinstance(props.get("Name"), str) and isinstance(value, str):
                published[props["Name"]] = value
    for name, template in templates.items():
        for lid, parameter in template.get("Parameters", {}).items():
            ssm = parameter.get("Type") == "AWS::SSM::Parameter::Value<String>"
            if ssm and parameter.get("Default") in published:
                refs[name][lid] = published[parameter["Default"]]
    return templates, refs


def _tags(resource: dict[str, Any]) -> dict[str, str]:
    tags = resource.get("Properties", {}).get("Tags", [])
    return {t["Key"]: t["Value"] for t in tags} if isinstance(tags, list) else dict(tags)


@dataclass
class Env:
    synth: Synth
    config: LandingZoneConfig
    account: str
    region: str
    templates: dict[str, Any]
    refs_by_stack: dict[str, dict[str, str]]

    @property
    def refs(self) -> dict[str, str]:
        """Refs of the shared stacks."""
        return self.refs_by_stack[self.synth.stacks.governance.artifact_id]

    def team_refs(self, team: str) -> dict[str, str]:
        return self.refs_by_stack[self.synth.stacks.teams[team].artifact_id]

    @property
    def governance(self) -> dict[str, Any]:
        return self.templates[self.synth.stacks.governance.artifact_id]  # type: ignore[no-any-return]

    def team_template(self, team: str) -> dict[str, Any]:
        return self.templates[self.synth.stacks.teams[team].artifact_id]  # type: ignore[no-any-return]

    @property
    def guardrail(self) -> str:
        (arn,) = {
            v
            for k, v in self.refs.items()
            if k.endswith(".GuardrailArn") and k.split(".")[0] in self.governance["Resources"]
        }
        return f"{arn}:{VERSION}"

    def role_id(self, team: str) -> str:
        (lid,) = [
            k
            for k, r in self.team_template(team)["Resources"].items()
            if r["Type"] == "AWS::IAM::Role" and k.startswith("AccessRole")
        ]
        return str(lid)

    def profile_tags(self) -> dict[str, dict[str, str]]:
        """Application inference profile ARN -> its tags (the resource tags IAM sees)."""
        out = {}
        for name, template in self.templates.items():
            for lid, resource in template["Resources"].items():
                if resource["Type"] == "AWS::Bedrock::ApplicationInferenceProfile":
                    refs = self.refs_by_stack[name]
                    out[refs[f"{lid}.InferenceProfileArn"]] = _tags(resource)
        return out

    def decide(
        self,
        team: str,
        action: str,
        resource: str,
        context: dict[str, str] | None = None,
        *,
        with_scps: bool = False,
    ) -> Decision:
        lid = self.role_id(team)
        template = self.team_template(team)
        kw: dict[str, Any] = {
            "account": self.account,
            "region": self.region,
            "refs": self.team_refs(team),
        }
        identity = role_identity_policies(template, lid, **kw)
        boundary = role_permissions_boundary(template, lid, **kw)
        scps = [FULL_AWS_ACCESS, *scp_documents(self.config).values()] if with_scps else None
        parts = resource.split(":")
        ctx = {"aws:RequestedRegion": (parts[3] if len(parts) > 3 else "") or self.region}
        ctx |= {f"aws:PrincipalTag/{k}": v for k, v in _tags(template["Resources"][lid]).items()}
        ctx |= {f"aws:ResourceTag/{k}": v for k, v in self.profile_tags().get(resource, {}).items()}
        ctx |= context or {}
        return evaluate(Request(action, resource, ctx), identity, boundary=boundary, scps=scps)

    def arn(self, model: ModelConfig) -> str:
        if model.is_inference_profile:
            return (
                f"arn:aws:bedrock:{self.region}:{self.account}:inference-profile/{model.model_id}"
            )
        return f"arn:aws:bedrock:{self.region}::foundation-model/{model.model_id}"


@pytest.fixture(scope="module", params=EXAMPLE_ENVS)
def env(request: pytest.FixtureRequest, synths: Synths) -> Env:
    synth = synths[request.param]
    config = synth.config
    account = _account(config)
    templates, refs = resolved_templates(synth, account)
    return Env(synth, config, account, config.region, templates, refs)


def _guarded(env: Env) -> dict[str, str]:
    return {"bedrock:GuardrailIdentifier": env.guardrail}


def test_allowed_model_with_the_guardrail_is_allowed(env: Env) -> None:
    for team in env.config.teams:
        for model in env.config.team_models(team):
            decision = env.decide(team.name, INVOKE, env.arn(model), _guarded(env))
            assert decision.allowed, (team.name, model.alias, decision)


def test_allowed_model_without_or_with_another_guardrail_is_denied(env: Env) -> None:
    """Team roles accept any published version of the landing zone guardrail (team stacks
    are deployed apart from it; account-level enforcement applies the current one), never its
    DRAFT, no guardrail or another guardrail."""
    team = env.config.teams[0]
    model = env.config.team_models(team)[0]
    arn = env.guardrail.rsplit(":", 1)[0]
    assert env.decide(
        team.name, INVOKE, env.arn(model), {"bedrock:GuardrailIdentifier": f"{arn}:1"}
    ).allowed
    for context in (
        {},
        {"bedrock:GuardrailIdentifier": f"{arn}:DRAFT"},
        {"bedrock:GuardrailIdentifier": env.guardrail.replace("guardrail/", "guardrail/x", 1)},
    ):
        decision = env.decide(team.name, INVOKE, env.arn(model), context)
        assert not decision.allowed, (context, decision)
        if context.get("bedrock:GuardrailIdentifier", "").endswith("DRAFT"):
            continue
        assert decision.effect == "ExplicitDeny", (context, decision)


def test_model_outside_the_allow_list_is_denied(env: Env) -> None:
    team = env.config.teams[0]
    outside = (
        f"arn:aws:bedrock:{env.region}::foundation-model/anthropic.claude-3-opus-20240229-v1:0"
    )
    decision = env.decide(team.name, INVOKE, outside, _guarded(env))
    assert not decision.allowed
    scp = env.decide(team.name, INVOKE, outside, _guarded(env), with_scps=True)
    assert scp.effect == "ExplicitDeny"  # the SCP denies it for every principal


def _profile_team(env: Env) -> tuple[str, ModelConfig]:
    for team in env.config.teams:
        for model in env.config.team_models(team):
            if model.is_inference_profile:
                return team.name, model
    pytest.fail("every example environment must use a cross-region inference profile")


def test_cross_region_profile_is_allowed_and_its_destinations_only_through_it(env: Env) -> None:
    team, model = _profile_team(env)
    profile_arn = env.arn(model)
    assert env.decide(team, INVOKE, profile_arn, _guarded(env)).allowed
    destination_region = "us-west-2" if env.region.startswith("us-") else "eu-west-3"
    destination = (
        f"arn:aws:bedrock:{destination_region}::foundation-model/{model.foundation_model_id}"
    )
    via_profile = {**_guarded(env), "bedrock:InferenceProfileArn": profile_arn}
    assert env.decide(team, INVOKE, destination, via_profile).allowed
    assert env.decide(team, INVOKE, destination, via_profile, with_scps=True).allowed
    direct = env.decide(team, INVOKE, destination, _guarded(env))
    assert not direct.allowed, direct
    assert (
        env.decide(team, INVOKE, destination, _guarded(env), with_scps=True).effect
        == "ExplicitDeny"
    )


def test_a_teams_role_cannot_call_another_teams_model(env: Env) -> None:
    checked = 0
    for team in env.config.teams:
        for model in env.config.models:
            if model.alias in team.models:
                continue
            decision = env.decide(team.name, INVOKE, env.arn(model), _guarded(env))
            assert not decision.allowed, (team.name, model.alias, decision)
            checked += 1
    assert checked >= 1


def test_streaming_only_where_enabled(env: Env) -> None:
    for team in env.config.teams:
        for model in env.config.team_models(team):
            decision = env.decide(team.name, STREAM, env.arn(model), _guarded(env))
            assert decision.allowed == model.streaming, (team.name, model.alias)


def test_team_application_profile_is_the_teams_own(env: Env) -> None:
    """Attribute-based: a team role reaches the profiles tagged with its own team only (its
    policy names them; the shared boundary compares aws:ResourceTag/Team with the role's tag)."""
    checked = 0
    for team in env.config.teams:
        for arn, tags in env.profile_tags().items():
            decision = env.decide(team.name, INVOKE, arn, _guarded(env))
            assert decision.allowed == (tags["Team"] == team.name), (team.name, arn, decision)
            checked += 1
    assert checked >= 4


def test_the_boundary_alone_admits_only_the_teams_own_models_and_profiles(env: Env) -> None:
    """Even a policy granting all of Bedrock (attached to a team role later) is capped by the
    team's boundary at its own models and its own application inference profiles."""
    for team in env.config.teams:
        lid = env.role_id(team.name)
        kw: dict[str, Any] = {
            "account": env.account,
            "region": env.region,
            "refs": env.team_refs(team.name),
        }
        boundary = role_permissions_boundary(env.team_template(team.name), lid, **kw)
        assert boundary is not None
        everything = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"}],
        }
        for arn, tags in env.profile_tags().items():
            decision = evaluate(
                Request(INVOKE, arn, _guarded(env)), [everything], boundary=boundary
            )
            assert decision.allowed == (tags["Team"] == team.name), (arn, decision)
        for model in env.config.models:
            decision = evaluate(
                Request(INVOKE, env.arn(model), _guarded(env)), [everything], boundary=boundary
            )
            assert decision.allowed == (model.alias in team.models), (model.alias, decision)


def test_scps_deny_long_term_api_keys(env: Env) -> None:
    team = env.config.teams[0].name
    lid = env.role_id(team)
    kw: dict[str, Any] = {"account": env.account, "region": env.region, "refs": env.team_refs(team)}
    identity = {
        "admin": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}],
        }
    }
    scps = [FULL_AWS_ACCESS, *scp_documents(env.config).values()]
    request = Request(
        "iam:CreateServiceSpecificCredential",
        f"arn:aws:iam::{env.account}:user/someone",
        {"iam:ServiceSpecificCredentialServiceName": "bedrock.amazonaws.com"},
    )
    assert evaluate(request, identity, scps=scps).effect == "ExplicitDeny"
    codecommit = Request(
        "iam:CreateServiceSpecificCredential",
        f"arn:aws:iam::{env.account}:user/someone",
        {"iam:ServiceSpecificCredentialServiceName": "codecommit.amazonaws.com"},
    )
    assert evaluate(codecommit, identity, scps=scps).allowed
    assert role_identity_policies(env.team_template(team), lid, **kw)  # the team role resolves


# ----- parliament over every emitted policy ---------------------------------------------------


def _all_policies(synth: Synth, account: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(where, kind, document) for every permission policy the templates emit."""
    region = synth.config.region
    templates, refs = resolved_templates(synth, account)
    for name, resolved in sorted(templates.items()):
        producer = refs[name]
        for policy in resolve_template_policies(
            resolved, account=account, region=region, refs=producer
        ):
            if policy.kind != "trust":  # trust policies are not permission policies
                yield f"{name}:{policy.name}", policy.kind, policy.document
        endpoints = {  # VPC endpoint policies, resolved the same way
            lid: {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": doc}}
            for lid, resource in resolved["Resources"].items()
            if resource["Type"] == "AWS::EC2::VPCEndpoint"
            and (doc := resource["Properties"].get("PolicyDocument"))
        }
        for policy in resolve_template_policies(
            {"Resources": endpoints}, account=account, region=region, refs=producer
        ):
            yield f"{name}:{policy.name}", "endpoint", policy.document


#: Parliament findings that do not apply, as (policy kind, issue, text in the finding).
NOT_APPLICABLE = {
    # In a key, bucket or endpoint policy, Resource "*" means "this resource" / "through
    # this endpoint"; the principal and conditions carry the restriction.
    ("resource", "RESOURCE_STAR", ""),
    ("endpoint", "RESOURCE_STAR", ""),
    # The region SCP denies bedrock:* outside the allowed regions unless the call goes through
    # an inference profile. The key exists only on invoke actions; on every other action it is
    # absent, ArnNotLike is then true and the deny applies: exactly the intent (AWS documents
    # this pattern for cross-region inference).
    ("scp", "UNKNOWN_CONDITION_FOR_ACTION", "Unknown condition bedrock:InferenceProfileArn"),
}


def _applies(kind: str, finding: str) -> bool:
    issue = finding.split(": ", 1)[1].split(" - ", 1)[0]
    return not any(kind == k and issue == i and text in finding for k, i, text in NOT_APPLICABLE)


@pytest.mark.parametrize("env_name", EXAMPLE_ENVS)
def test_parliament_finds_nothing_in_any_emitted_policy(synths: Synths, env_name: str) -> None:
    synth = synths[env_name]
    findings: list[str] = []
    count = 0
    for name, kind, document in _all_policies(synth, _account(synth.config)):
        count += 1
        findings += [f for f in lint_policy(document, name=name) if _applies(kind, f)]
    for name, document in scp_documents(synth.config).items():
        count += 1
        findings += [f for f in lint_policy(document, name=f"scp:{name}") if _applies("scp", f)]
    assert count >= 10
    assert findings == []
