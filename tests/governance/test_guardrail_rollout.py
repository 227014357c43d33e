"""A guardrail change never breaks inference, whatever order the stacks are deployed in.

A configuration change publishes a new ``AWS::Bedrock::GuardrailVersion`` under a new logical
id in the governance stack. The network stack (``bedrock-runtime`` endpoint policy) and the
inference stack (the function's role and its ``GUARDRAIL_VERSION``) read the version through
weak cross-stack references (``Fn::GetStackOutput``), resolved when *they* are deployed: until
then they keep the old value. The test synthesizes the default environment before (A) and after
(B) a guardrail change and evaluates the inference function's call for every mix of
deployed templates, with the old version retained (CloudFormation User Guide, "DeletionPolicy
attribute": a resource removed from the template with ``Retain`` is kept). Bedrock numbers
versions 1, 2, ... (Bedrock API Reference, ``CreateGuardrailVersion``; the version pattern is
``[1-9][0-9]{0,7}`` or ``DRAFT``).
"""

from __future__ import annotations

import json
from itertools import product
from pathlib import Path
from typing import Any

import pytest

from bedrock_landing_zone.config import ContentFilters, LandingZoneConfig
from bedrock_landing_zone.delivery.landing_zone import add_landing_zone
from tests.conftest import Synth, cdk_app
from tests.governance.test_policy_evaluation import _fake, _inline_stack_outputs
from tests.iam_eval.evaluator import Request, evaluate, resolve_value, role_identity_policies

ACCOUNT = "111122223333"


def _changed(config: LandingZoneConfig) -> LandingZoneConfig:
    filters = config.guardrail.content_filters.model_dump()
    filters["misconduct"] = "LOW" if filters["misconduct"] != "LOW" else "MEDIUM"
    guardrail = config.guardrail.model_copy(update={"content_filters": ContentFilters(**filters)})
    return config.model_copy(update={"guardrail": guardrail})


def _templates(outdir: Path) -> dict[str, dict[str, Any]]:
    return {
        p.name.removesuffix(".template.json"): json.loads(p.read_text(encoding="utf-8"))
        for p in outdir.glob("*.template.json")
    }


def _resolved(
    templates: dict[str, dict[str, Any]], version: str, region: str, outdir: Path
) -> dict[str, Any]:
    """Each template with its cross-stack references resolved as at its own deployment."""
    refs: dict[str, str] = {}
    for template in templates.values():
        refs.update(_fake(template, account=ACCOUNT, region=region))
    for key in [k for k in refs if k.endswith(".Version")]:
        refs[key] = version
    return {
        "refs": refs,
        "outdir": outdir,
        **{name: _inline_stack_outputs(t, refs) for name, t in templates.items()},
    }


@pytest.fixture(scope="module")
def before_after(default: Synth, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    outdir = tmp_path_factory.mktemp("guardrail-changed")
    app = cdk_app("default", outdir)
    add_landing_zone(app, _changed(default.config))
    app.synth()
    region = default.config.region
    return (
        _resolved(_templates(default.outdir), "1", region, default.outdir),
        _resolved(_templates(outdir), "2", region, outdir),
    )


def _versions(governance: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        lid: r
        for lid, r in governance["Resources"].items()
        if r["Type"] == "AWS::Bedrock::GuardrailVersion"
    }


def test_a_change_publishes_a_new_version_and_retains_the_old(before_after: Any) -> None:
    before, after = before_after
    (old_id, old), (new_id, _) = (
        next(iter(_versions(before["Governance"]).items())),
        next(iter(_versions(after["Governance"]).items())),
    )
    assert old_id != new_id, "a guardrail change must publish a new version"
    assert old_id not in after["Governance"]["Resources"]
    assert old["DeletionPolicy"] == "Retain" and old["UpdateReplacePolicy"] == "Retain"


def _function(inference: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (item,) = [
        (k, r) for k, r in inference["Resources"].items() if r["Type"] == "AWS::Lambda::Function"
    ]
    return item


def _endpoint_policy(network: dict[str, Any]) -> dict[str, Any]:
    (policy,) = [
        r["Properties"]["PolicyDocument"]
        for r in network["Resources"].values()
        if r["Type"] == "AWS::EC2::VPCEndpoint"
        and str(r["Properties"].get("ServiceName", "")).endswith(".bedrock-runtime")
    ]
    return policy  # type: ignore[no-any-return]


def _variables(side: dict[str, Any], region: str) -> dict[str, str]:
    _, fn = _function(side["Inference"])
    raw = fn["Properties"]["Environment"]["Variables"]
    return {
        k: resolve_value(side["Inference"], v, account=ACCOUNT, region=region, refs=side["refs"])
        for k, v in raw.items()
    }


def _calls(
    env_side: dict[str, Any],
    role_side: dict[str, Any],
    network_side: dict[str, Any],
    region: str,
    endpoint: dict[str, Any] | None = None,
) -> list[str]:
    """The inference function's Converse calls: its environment from ``env_side``, its role's
    policy from ``role_side``, the endpoint policy from ``network``; denied calls returned."""
    variables = _variables(env_side, region)
    network = network_side["Network"]
    identifier = f"{variables['GUARDRAIL_ID']}:{variables['GUARDRAIL_VERSION']}"
    role_lid, _ = next(
        (k, r)
        for k, r in role_side["Inference"]["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and k.startswith("GuardedInferenceHandlerRole")
    )
    identity = role_identity_policies(
        role_side["Inference"], role_lid, account=ACCOUNT, region=region, refs=role_side["refs"]
    )
    role_arn = role_side["refs"][f"{role_lid}.Arn"]
    endpoint = endpoint or resolve_value(
        network,
        _endpoint_policy(network),
        account=ACCOUNT,
        region=region,
        refs=network_side["refs"],
    )
    _, fn = _function(env_side["Inference"])
    asset = env_side["outdir"] / f"asset.{fn['Properties']['Code']['S3Key'].removesuffix('.zip')}"
    config = json.loads((asset / variables["INFERENCE_CONFIG_FILE"]).read_text(encoding="utf-8"))
    denied = []
    for alias, model in config["models"].items():
        model_id = model["model_id"]
        if model_id.split(".", 1)[0] in ("us", "eu", "apac", "global"):
            arn = f"arn:aws:bedrock:{region}:{ACCOUNT}:inference-profile/{model_id}"
        else:
            arn = f"arn:aws:bedrock:{region}::foundation-model/{model_id}"
        context = {"bedrock:GuardrailIdentifier": identifier, "aws:PrincipalAccount": ACCOUNT}
        request = Request("bedrock:InvokeModel", arn, context, principal=role_arn)
        for layer, decision in (
            ("role", evaluate(request, identity)),
            ("endpoint policy", evaluate(request, [], resource_policy=endpoint)),
        ):
            if not decision.allowed:
                denied.append(f"{alias} with {identifier}: {layer}: {decision}")
    return denied


@pytest.mark.parametrize(
    ("network", "role", "environment"), list(product("AB", repeat=3)), ids="-".join
)
def test_every_deploy_order_leaves_inference_working(
    before_after: Any, default: Synth, network: str, role: str, environment: str
) -> None:
    """Governance is at B (the change); the endpoint, the function's role and its
    environment may each still be at A (not redeployed, or mid-update of the inference stack:
    CloudFormation updates the role's policy before the function that depends on it)."""
    sides = dict(zip("AB", before_after, strict=True))
    region = default.config.region
    live = {"1", "2"}  # version 1 is retained, version 2 published by B
    assert _variables(sides[environment], region)["GUARDRAIL_VERSION"] in live
    denied = _calls(sides[environment], sides[role], sides[network], region)
    assert not denied, "\n".join(denied)


def test_the_rollout_check_can_fail(before_after: Any, default: Synth) -> None:
    """An endpoint policy pinned to one version (the design before retention) denies the
    function that already sends the new one: the check above would catch it."""
    before, after = before_after
    region = default.config.region
    network = before["Network"]
    pinned = resolve_value(
        network, _endpoint_policy(network), account=ACCOUNT, region=region, refs=before["refs"]
    )
    for statement in pinned["Statement"]:
        condition = statement.get("Condition", {})
        if "StringLike" in condition:
            pattern = condition.pop("StringLike")["bedrock:GuardrailIdentifier"]
            condition["StringEquals"]["bedrock:GuardrailIdentifier"] = pattern[:-1] + "1"
            condition.pop("StringNotEquals", None)
    assert _calls(after, after, before, region, endpoint=pinned)
    assert not _calls(before, before, before, region, endpoint=pinned)
