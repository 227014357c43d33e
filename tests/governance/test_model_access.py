"""Model access governance: grants, boundary, endpoint policy and SCPs follow the allow-list."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bedrock_landing_zone.governance.organization_policies import (
    SCP_SIZE_LIMIT,
    document_size,
    scp_documents,
)
from tests.conftest import EXAMPLE_ENVS, Synth, Synths

INVOKE_ACTIONS = {"bedrock:invokemodel", "bedrock:invokemodelwithresponsestream"}


def _statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every IAM-like statement in a template: identity, boundary, endpoint and SCP policies."""
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        documents = [props.get("PolicyDocument"), props.get("Content")]
        documents += [p.get("PolicyDocument") for p in props.get("Policies", [])]
        for document in documents:
            if isinstance(document, dict):
                for statement in document.get("Statement", []):
                    yield logical_id, statement


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _invoke_actions(statement: dict[str, Any]) -> set[str]:
    actions = {a.lower() for a in _as_list(statement.get("Action", []))}
    hits = {a for a in actions if a in INVOKE_ACTIONS}
    if any(a in {"*", "bedrock:*", "bedrock:invoke*", "bedrock:invokemodel*"} for a in actions):
        hits |= INVOKE_ACTIONS
    return hits


@pytest.mark.parametrize("env", EXAMPLE_ENVS)
def test_no_invoke_statement_on_star_and_every_allow_carries_the_guardrail(
    synths: Synths, env: str
) -> None:
    synth = synths[env]
    checked = 0
    for path in synth.outdir.glob("*.template.json"):
        template = json.loads(path.read_text(encoding="utf-8"))
        for logical_id, statement in _statements(template):
            if not _invoke_actions(statement):
                continue
            if statement["Effect"] == "Deny":  # denies only ever take permissions away
                continue
            assert "NotResource" not in statement, f"{path.name}:{logical_id} allow NotResource"
            resources = _as_list(statement["Resource"])
            assert "*" not in resources, f"{path.name}:{logical_id} grants invoke on Resource *"
            if statement.get("Sid") == "InvokeModelsWithoutGuardrailSupport":
                # only models Bedrock Guardrails does not support (config: guardrail: false)
                unguarded = {m.foundation_model_id for m in synth.config.models if not m.guardrail}
                assert all(str(r).rsplit("/", 1)[-1] in unguarded for r in resources), logical_id
                continue
            if statement["Effect"] == "Allow":
                checked += 1
                # the exact version (StringEquals), or any published version of the landing
                # zone guardrail (StringLike <arn>:*) where the document is deployed apart
                condition = statement["Condition"]
                pinned = "bedrock:GuardrailIdentifier" in condition.get("StringEquals", {})
                published = "bedrock:GuardrailIdentifier" in condition.get("StringLike", {})
                assert pinned or published, f"{path.name}:{logical_id}"
                if published:
                    assert "bedrock:GuardrailIdentifier" in condition["StringNotEquals"]
    assert checked >= 4  # grants, team policies, boundary, endpoint policy


def _policy_resources(synth: Synth, prefix: str) -> list[dict[str, Any]]:
    template = synth.template_json(synth.stacks.governance)
    return [
        r["Properties"]["PolicyDocument"]
        for k, r in template["Resources"].items()
        if k.startswith(prefix) and r["Type"] == "AWS::IAM::ManagedPolicy"
    ]


def _allowed_resources(document: dict[str, Any], sid: str) -> list[Any]:
    """Resources of the statements whose Sid starts with ``sid`` (streaming or not)."""
    return [
        resource
        for statement in document["Statement"]
        if statement.get("Sid", "").startswith(sid)
        for resource in _as_list(statement["Resource"])
    ]


def _names(resources: list[Any]) -> list[str]:
    """Resource ARNs reduced to their model part (profile or foundation model id)."""
    out = []
    for resource in resources:
        text = json.dumps(resource)
        out.append(text.rsplit("/", 1)[-1].strip('"]}'))
    return sorted(out)


def _team_policies(
    synth: Synth, team: str, prefix: str = "AccessModelAccessPolicy"
) -> list[dict[str, Any]]:
    template = synth.template_json(synth.stacks.teams[team])
    return [
        r["Properties"]["PolicyDocument"]
        for k, r in template["Resources"].items()
        if k.startswith(prefix) and r["Type"] == "AWS::IAM::ManagedPolicy"
    ]


def test_team_policy_grants_exactly_the_teams_models(default: Synth) -> None:
    config = default.config
    for team in config.teams:
        (document,) = _team_policies(default, team.name)
        resources = _allowed_resources(document, "InvokeAllowListedModels")
        literal = [r for r in resources if "Fn::GetAtt" not in json.dumps(r)]
        app_profiles = sorted(r["Fn::GetAtt"][0] for r in resources if "Fn::GetAtt" in r)
        expected = sorted(config.model_by_alias[a].model_id for a in team.models)
        assert _names(literal) == expected
        # the team's own application inference profiles (cost allocation), in its own stack
        assert len(app_profiles) == len(team.models)
        assert all(p.startswith("AccessCostAllocation") for p in app_profiles)
        sids = {s.get("Sid") for s in document["Statement"]}
        assert "DenyInvokeWithoutLandingZoneGuardrail" in sids


def test_each_team_boundary_caps_its_role_at_the_teams_models(default: Synth) -> None:
    for team in default.config.teams:
        (boundary,) = _team_policies(default, team.name, "AccessModelAccessBoundary")
        resources = _allowed_resources(boundary, "InvokeAllowListedModels")
        literal = [r for r in resources if "Fn::GetAtt" not in json.dumps(r)]
        assert _names(literal) == sorted(
            default.config.model_by_alias[a].model_id for a in team.models
        )
        template = default.template_json(default.stacks.teams[team.name])
        roles = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
        assert len(roles) == 1
        props = roles[0]["Properties"]
        assert props["PermissionsBoundary"]["Ref"].startswith("AccessModelAccessBoundary")
        assert {"Key": "Team", "Value": team.name} in props["Tags"]
        assert "Policies" not in props, "no inline policy on team roles"
    governance = default.template_json(default.stacks.governance)
    assert not [k for k in governance["Resources"] if "Boundary" in k], "no shared boundary"


def test_streaming_action_only_for_models_that_enable_it(synths: Synths) -> None:
    for synth in synths:
        streaming = {m.model_id for m in synth.config.models if m.streaming}
        for team in synth.config.teams:
            (boundary,) = _team_policies(synth, team.name, "AccessModelAccessBoundary")
            for statement in boundary["Statement"]:
                actions = _as_list(statement["Action"])
                if (
                    statement["Effect"] != "Allow"
                    or "bedrock:InvokeModelWithResponseStream" not in actions
                ):
                    continue
                literal = [
                    r for r in _as_list(statement["Resource"]) if "Fn::GetAtt" not in json.dumps(r)
                ]
                assert set(_names(literal)) <= streaming | {m.split(".", 1)[1] for m in streaming}


def test_cross_region_destinations_require_the_profile_arn(default: Synth) -> None:
    profiles = [m for m in default.config.models if m.is_inference_profile]
    assert profiles, "the default example must use a cross-region profile"
    checked = 0
    for team in default.config.teams:
        (policy,) = _team_policies(default, team.name)
        for statement in policy["Statement"]:
            if not statement.get("Sid", "").startswith("InvokeThroughProfiles"):
                continue
            checked += 1
            for resource in _as_list(statement["Resource"]):
                assert resource.startswith("arn:aws:bedrock:*::foundation-model/")
            assert "bedrock:GuardrailIdentifier" in statement["Condition"]["StringLike"]
            via = json.dumps(statement["Condition"]["ArnEquals"]["bedrock:InferenceProfileArn"])
            assert "inference-profile/" in via and "AccessCostAllocation" in via
    assert checked >= 1
    # the inference role admits the teams' profiles by tag (they live in the team stacks)
    assert default.stacks.inference is not None
    inference = default.template_json(default.stacks.inference)
    through = [
        s
        for r in inference["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid", "").startswith("InvokeThroughProfiles")
    ]
    assert through
    for statement in through:
        via = json.dumps(statement["Condition"]["ArnLike"]["bedrock:InferenceProfileArn"])
        assert "application-inference-profile/*" in via


def test_bedrock_runtime_endpoint_policy_is_narrowed_to_the_allow_list(synths: Synths) -> None:
    for synth in synths:
        template = synth.template_json(synth.stacks.network)
        endpoints = [
            r["Properties"]
            for r in template["Resources"].values()
            if r["Type"] == "AWS::EC2::VPCEndpoint"
            and "bedrock-runtime" in json.dumps(r["Properties"]["ServiceName"])
        ]
        (endpoint,) = endpoints
        statements = endpoint["PolicyDocument"]["Statement"]
        allowed = [
            s
            for s in statements
            if s.get("Sid", "").startswith(("InvokeAllowListed", "InvokeModelsWithoutGuardrail"))
        ]
        literal = [
            r
            for s in allowed
            for r in _as_list(s["Resource"])
            if "CostAllocation" not in json.dumps(r)
        ]
        granted = _names(literal)
        assert granted == sorted(m.model_id for m in synth.config.models)
        for statement in statements:
            assert statement["Action"] != "bedrock:*"
            assert statement["Resource"] != "*"


def test_guardrail_follows_config_and_is_encrypted(existing_vpc: Synth) -> None:
    template = existing_vpc.template_json(existing_vpc.stacks.governance)
    (guardrail,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::Bedrock::Guardrail"
    ]
    props = guardrail["Properties"]
    assert props["KmsKeyArn"]["Fn::GetAtt"][0].startswith("LandingZoneKey")
    filters = {f["Type"]: f for f in props["ContentPolicyConfig"]["FiltersConfig"]}
    assert set(filters) == {"HATE", "INSULTS", "SEXUAL", "VIOLENCE", "MISCONDUCT", "PROMPT_ATTACK"}
    assert filters["MISCONDUCT"]["InputStrength"] == "MEDIUM"  # from config
    assert filters["PROMPT_ATTACK"] == {
        "Type": "PROMPT_ATTACK",
        "InputStrength": "HIGH",
        "OutputStrength": "NONE",
    }
    (topic,) = props["TopicPolicyConfig"]["TopicsConfig"]
    assert topic["Name"] == "Investment advice" and topic["Type"] == "DENY"
    assert props["WordPolicyConfig"]["ManagedWordListsConfig"] == [{"Type": "PROFANITY"}]
    pii = {
        p["Type"]: p["Action"]
        for p in props["SensitiveInformationPolicyConfig"]["PiiEntitiesConfig"]
    }
    assert pii == {
        "EMAIL": "ANONYMIZE",
        "NAME": "ANONYMIZE",
        "INTERNATIONAL_BANK_ACCOUNT_NUMBER": "BLOCK",
    }
    (regex,) = props["SensitiveInformationPolicyConfig"]["RegexesConfig"]
    assert regex["Pattern"] == "CLM-[0-9]{8}"
    grounding = props["ContextualGroundingPolicyConfig"]["FiltersConfig"]
    assert {g["Type"] for g in grounding} == {"GROUNDING", "RELEVANCE"}


def test_guardrail_version_changes_when_the_guardrail_changes(default: Synth) -> None:
    from bedrock_landing_zone.config import GuardrailConfig

    template = default.template_json(default.stacks.governance)
    (version_id,) = [
        k for k, r in template["Resources"].items() if r["Type"] == "AWS::Bedrock::GuardrailVersion"
    ]
    import hashlib

    changed = GuardrailConfig(blocked_input_message="Different message")
    fingerprint = hashlib.sha256(
        changed.model_dump_json(exclude={"enforcement"}).encode()
    ).hexdigest()[:10]
    assert fingerprint not in version_id
    current = hashlib.sha256(
        default.config.guardrail.model_dump_json(exclude={"enforcement"}).encode()
    ).hexdigest()[:10]
    assert current in version_id


def test_account_enforcement_is_on_by_default_and_skips_unguarded_models(synths: Synths) -> None:
    for synth in synths:
        template = synth.template_json(synth.stacks.governance)
        (enforced,) = [
            r
            for r in template["Resources"].values()
            if r["Type"] == "AWS::Bedrock::EnforcedGuardrailConfiguration"
        ]
        unguarded = sorted(m.foundation_model_id for m in synth.config.models if not m.guardrail)
        assert enforced["Properties"]["ModelEnforcement"] == {
            "IncludedModels": ["ALL"],
            "ExcludedModels": unguarded,
        }
        assert enforced["Properties"]["GuardrailVersion"] == {
            "Fn::GetAtt": [
                next(
                    k
                    for k, r in template["Resources"].items()
                    if r["Type"] == "AWS::Bedrock::GuardrailVersion"
                ),
                "Version",
            ]
        }
    assert synths["existing-vpc"].config.models[2].guardrail is False


def test_ssm_parameters_other_teams_consume(synths: Synths) -> None:
    for synth in synths:
        template = synth.template_json(synth.stacks.governance)
        names = {
            r["Properties"]["Name"]
            for r in template["Resources"].values()
            if r["Type"] == "AWS::SSM::Parameter"
        }
        prefix = f"/bedrock-lz/{synth.config.name}"
        expected = {f"{prefix}/guardrail/{k}" for k in ("id", "arn", "version")}
        expected.add(f"{prefix}/kms-key-arn")
        assert names == expected
        for team, stack in synth.stacks.teams.items():
            published = {
                r["Properties"]["Name"]
                for r in synth.template_json(stack)["Resources"].values()
                if r["Type"] == "AWS::SSM::Parameter"
            }
            assert published == {
                f"{prefix}/teams/{team}/{name}"
                for name in ("role-arn", "model-access-policy-arn", "inference-access")
            }


@pytest.mark.parametrize("env", EXAMPLE_ENVS)
def test_scps_fit_the_size_limit_and_follow_the_allow_list(synths: Synths, env: str) -> None:
    config = synths[env].config
    documents = scp_documents(config)
    assert set(documents) == {
        "deny-unlisted-models",
        "deny-ungoverned-paths",
        "restrict-bedrock-regions",
    }  # with FullAWSAccess, 4 of the 5 SCPs a target may have (Organizations quotas)
    for document in documents.values():
        assert document_size(document) <= SCP_SIZE_LIMIT
    (deny,) = documents["deny-unlisted-models"]["Statement"]
    listed = " ".join(deny["NotResource"])
    for model in config.models:
        assert f"foundation-model/{model.foundation_model_id}" in listed


def test_scp_size_limit_is_enforced_for_huge_allow_lists() -> None:
    from bedrock_landing_zone.config import load_config
    from tests.conftest import CONFIG_DIR

    config = load_config("default", CONFIG_DIR)
    many = [
        {"alias": f"m{i:03d}", "model_id": f"amazon.some-very-long-model-name-number-{i:03d}-v1:0"}
        for i in range(120)
    ]
    big = config.model_copy(
        update={"models": [config.models[0].model_copy(update=m) for m in many]}
    )
    assert document_size(scp_documents(big)["deny-unlisted-models"]) > SCP_SIZE_LIMIT


def test_organization_stack_attaches_scps_to_configured_targets(existing_vpc: Synth) -> None:
    stack = existing_vpc.stacks.organization
    assert stack is not None
    template = existing_vpc.template_json(stack)
    policies = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Organizations::Policy"
    ]
    scps = [p for p in policies if p["Type"] == "SERVICE_CONTROL_POLICY"]
    assert len(scps) == 3
    assert [p["Type"] for p in policies if p not in scps] == ["BEDROCK_POLICY"]
    for policy in policies:
        assert policy["TargetIds"] == ["ou-abcd-11111111"]
        if policy["Type"] == "SERVICE_CONTROL_POLICY":
            assert policy["Content"] in scp_documents(existing_vpc.config).values()


def test_default_environment_has_no_organization_stack(default: Synth) -> None:
    assert default.stacks.organization is None
