"""One request matrix, every path to a model: who may do what, through which endpoint.

Each row is a request on one path (bedrock-runtime invoke, batch, async, provisioned
throughput, bedrock-mantle, API keys, agents, Marketplace); each column a principal: a team
role (its identity policies and boundary, from its team stack), an unrelated role of the same
account with a policy allowing everything, and a principal in another account of the
organisation with the same policy. SCPs (when the environment configures them) apply to the
last two. The synthesized policies, evaluated with tests/iam_eval/evaluator.py, must give the
expected verdict in every cell. Guardrail enforcement for principals IAM does not bind is the
account-level (and, opted in, organisation-level) enforced guardrail: asserted on the templates.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bedrock_landing_zone.governance.organization_policies import (
    GUARDRAIL_IDENTIFIER,
    scp_documents,
)
from tests.conftest import EXAMPLE_ENVS, Synths
from tests.governance.test_policy_evaluation import Env, resolved_templates
from tests.iam_eval.evaluator import FULL_AWS_ACCESS, Request, evaluate

ACCOUNT = "111122223333"
EVERYTHING = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["bedrock:*", "bedrock-mantle:*", "aws-marketplace:*", "iam:*"],
            "Resource": "*",
        }
    ],
}


@pytest.fixture(scope="module", params=EXAMPLE_ENVS)
def env(request: pytest.FixtureRequest, synths: Synths) -> Env:
    synth = synths[request.param]
    account = synth.config.account or ACCOUNT
    templates, refs = resolved_templates(synth, account)
    return Env(synth, synth.config, account, synth.config.region, templates, refs)


def _rows(env: Env) -> list[tuple[str, str, str, dict[str, str]]]:
    """(path, action, resource, context) for every path."""
    region, account = env.region, env.account
    team = env.config.teams[0]
    listed = env.config.team_models(team)[0]
    fm = f"arn:aws:bedrock:{region}::foundation-model"
    unlisted = f"{fm}/meta.llama3-70b-instruct-v1:0"
    guarded = {"bedrock:GuardrailIdentifier": env.guardrail}
    return [
        ("runtime: allow-listed model, guardrail", "bedrock:InvokeModel", env.arn(listed), guarded),
        ("runtime: allow-listed model, no guardrail", "bedrock:InvokeModel", env.arn(listed), {}),
        ("runtime: model outside the list", "bedrock:InvokeModel", unlisted, guarded),
        ("async: model outside the list", "bedrock:InvokeModel", unlisted, guarded),
        ("batch: model outside the list", "bedrock:CreateModelInvocationJob", unlisted, {}),
        (
            "batch: allow-listed model",
            "bedrock:CreateModelInvocationJob",
            f"{fm}/{listed.foundation_model_id}",
            {},
        ),
        (
            "mantle: inference",
            "bedrock-mantle:CreateInference",
            f"arn:aws:bedrock-mantle:{region}:{account}:project/default",
            {"bedrock-mantle:Model": listed.model_id},
        ),
        (
            "api key: long-term on bedrock-runtime",
            "bedrock:CallWithBearerToken",
            "*",
            {"bedrock:BearerTokenType": "LONG_TERM"},
        ),
        (
            "api key: long-term on bedrock-mantle",
            "bedrock-mantle:CallWithBearerToken",
            "*",
            {"bedrock-mantle:BearerTokenType": "LONG_TERM"},
        ),
        (
            "api key: create a long-term key",
            "iam:CreateServiceSpecificCredential",
            f"arn:aws:iam::{account}:user/someone",
            {"iam:ServiceSpecificCredentialServiceName": "bedrock.amazonaws.com"},
        ),
        ("marketplace: subscribe", "aws-marketplace:Subscribe", "*", {}),
        (
            "agents: invoke an agent",
            "bedrock:InvokeAgent",
            f"arn:aws:bedrock:{region}:{account}:agent-alias/AGENT/ALIAS",
            {},
        ),
        (
            "provisioned throughput",
            "bedrock:CreateProvisionedModelThroughput",
            f"{fm}/{listed.foundation_model_id}",
            {},
        ),
    ]


#: Expected verdicts: (team role, unrelated role, other account); "allow" / "deny".
WITH_SCPS = {
    "runtime: allow-listed model, guardrail": ("allow", "allow", "allow"),
    "runtime: allow-listed model, no guardrail": ("deny", "allow", "allow"),  # enforced guardrail
    "runtime: model outside the list": ("deny", "deny", "deny"),
    "async: model outside the list": ("deny", "deny", "deny"),
    "batch: model outside the list": ("deny", "deny", "deny"),
    "batch: allow-listed model": ("deny", "allow", "allow"),
    "mantle: inference": ("deny", "deny", "deny"),
    "api key: long-term on bedrock-runtime": ("deny", "deny", "deny"),
    "api key: long-term on bedrock-mantle": ("deny", "deny", "deny"),
    "api key: create a long-term key": ("deny", "deny", "deny"),
    "marketplace: subscribe": ("deny", "deny", "deny"),
    "agents: invoke an agent": ("deny", "allow", "allow"),  # its model calls: enforced guardrail
    "provisioned throughput": ("deny", "allow", "allow"),
}
#: Without organization_policies nothing binds other principals but the enforced guardrail.
WITHOUT_SCPS = {
    path: (team, "allow", "allow") for path, (team, _unrelated, _other) in WITH_SCPS.items()
}


def _verdict(decision: Any) -> str:
    return "allow" if decision.allowed else "deny"


def test_every_path_and_principal_gets_its_verdict(env: Env) -> None:
    scps = (
        [FULL_AWS_ACCESS, *scp_documents(env.config).values()]
        if env.config.organization_policies
        else None
    )
    expected = WITH_SCPS if scps else WITHOUT_SCPS
    wrong = []
    for path, action, resource, context in _rows(env):
        region = resource.split(":")[3] if resource.count(":") >= 3 else ""
        ctx = {"aws:RequestedRegion": region or env.region, **context}
        team = _verdict(env.decide(env.config.teams[0].name, action, resource, ctx))
        unrelated = _verdict(evaluate(Request(action, resource, ctx), [EVERYTHING], scps=scps))
        other = _verdict(evaluate(Request(action, resource, ctx), [EVERYTHING], scps=scps))
        if (team, unrelated, other) != expected[path]:
            wrong.append(f"{path}: got {(team, unrelated, other)}, expected {expected[path]}")
    assert not wrong, "\n".join(wrong)


def test_every_principal_of_the_account_gets_the_guardrail(env: Env) -> None:
    """The identity policies bind only the landing zone's principals; account-level
    enforcement binds every principal, on every model that can take a guardrail."""
    (enforcement,) = [
        r["Properties"]
        for r in env.governance["Resources"].values()
        if r["Type"] == "AWS::Bedrock::EnforcedGuardrailConfiguration"
    ]
    models = enforcement["ModelEnforcement"]
    assert models["IncludedModels"] == ["ALL"] or env.config.guardrail.enforcement.include_models
    unguarded = {m.foundation_model_id for m in env.config.models if not m.guardrail}
    assert unguarded <= set(models["ExcludedModels"])
    policies = [
        r["Properties"]
        for r in env.governance["Resources"].values()
        if r["Type"] == "AWS::Bedrock::ResourcePolicy"
    ]
    assert len(policies) == 1, "the guardrail's resource-based policy"
    (statement,) = policies[0]["PolicyDocument"]["Statement"]
    assert "bedrock:ApplyGuardrail" in statement["Action"]


def test_models_without_guardrail_support_are_callable_and_not_served(env: Env) -> None:
    unguarded = [m for m in env.config.models if not m.guardrail]
    for model in unguarded:
        for team in env.config.teams:
            if model.alias in team.models:
                decision = env.decide(team.name, "bedrock:InvokeModel", env.arn(model), {})
                assert decision.allowed, (team.name, model.alias, decision)
        assert model.alias not in env.synth.inference_config(_function(env))["models"]


def _function(env: Env) -> dict[str, Any]:
    assert env.synth.stacks.inference is not None
    template = env.synth.template_json(env.synth.stacks.inference)
    (fn,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
    ]
    return fn  # type: ignore[no-any-return]


def test_organisation_guardrail_identifier_has_the_exact_format(synths: Synths) -> None:
    """A malformed identifier in an Amazon Bedrock policy fails every Bedrock call in the
    organisation (AWS Organizations User Guide): it must be '<guardrail ARN>:<version>'."""
    synth = synths["existing-vpc"]
    assert synth.stacks.organization is not None
    template = synth.template_json(synth.stacks.organization)
    (policy,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Organizations::Policy" and r["Properties"]["Type"] == "BEDROCK_POLICY"
    ]
    account = synth.config.organization_policies.management_account  # type: ignore[union-attr]
    guardrail = f"arn:aws:bedrock:{synth.config.region}:{account}:guardrail/abc123def456"
    parts = policy["Content"]["Fn::Join"][1]
    text = "".join(
        p if isinstance(p, str) else (guardrail if "GuardrailArn" in json.dumps(p) else "3")
        for p in parts
    )
    document = json.loads(text)
    (config,) = document["bedrock"]["guardrail_inference"][synth.config.region].values()
    identifier = config["identifier"]["@@assign"]
    assert GUARDRAIL_IDENTIFIER.match(identifier), identifier
    assert config["model_enforcement"]["excluded_models"]["@@assign"] == [
        "amazon.titan-embed-text-v2:0"
    ]
    for bad in (guardrail, f"{guardrail}:DRAFT", f"{guardrail}:v1", "abc123:1"):
        assert not GUARDRAIL_IDENTIFIER.match(bad), bad
