"""Tests of the test-only IAM evaluator, template resolver and linter.

Each evaluator case cites the AWS documentation section it encodes. URLs are the English
pages; the quoted rule is paraphrased in the test's docstring.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.iam_eval.evaluator import (
    FULL_AWS_ACCESS,
    PolicyDocument,
    Request,
    UnresolvedIntrinsic,
    UnsupportedPolicyFeature,
    evaluate,
    resolve_template_policies,
    role_identity_policies,
    role_permissions_boundary,
    service_control_policies,
)
from tests.iam_eval.lint import lint_policy, overlay_facts

IAM = "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
DENYALLOW = IAM + "reference_policies_evaluation-logic_policy-eval-denyallow.html"
EVAL_BOUNDARY = IAM + "reference_policies_evaluation-logic.html#policy-eval-basics-id-bound"
EVAL_RBP = IAM + "reference_policies_evaluation-logic.html#policy-eval-basics-id-rdp"
EVAL_SCP = IAM + "reference_policies_evaluation-logic.html#policy-eval-basics-id-scp"
SINGLE_ACCOUNT = IAM + "reference_policies_evaluation-logic_policy-eval-basics.html"
BOUNDARIES = IAM + "access_policies_boundaries.html#access_policies_boundaries-eval-logic"
SCP_LEVELS = (
    "https://docs.aws.amazon.com/organizations/latest/userguide/"
    "orgs_manage_policies_scps_evaluation.html#how_scps_allow"
)
ACTION = IAM + "reference_policies_elements_action.html"
NOTACTION = IAM + "reference_policies_elements_notaction.html"
RESOURCE = IAM + "reference_policies_elements_resource.html"
RESOURCE_WILDCARDS = RESOURCE + "#reference_policies_elements_resource_wildcards"
NOTRESOURCE = IAM + "reference_policies_elements_notresource.html"
PRINCIPAL_ACCOUNT = IAM + "reference_policies_elements_principal.html#principal-accounts"
CONDITION = IAM + "reference_policies_elements_condition.html"
OPERATORS = IAM + "reference_policies_elements_condition_operators.html"
MULTI_VALUES = IAM + "reference_policies_condition-logic-multiple-context-keys-or-values.html"
SET_OPERATORS = IAM + "reference_policies_condition-single-vs-multi-valued-context-keys.html"
GUARDRAIL_ENFORCEMENT = (
    "https://docs.aws.amazon.com/bedrock/latest/userguide/guardrails-permissions-id.html"
)
INFERENCE_PROFILES = (
    "https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-prereq.html"
)

ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
BUCKET_OBJECT = "arn:aws:s3:::amzn-s3-demo-bucket/report.csv"


def policy(*statements: dict[str, Any]) -> PolicyDocument:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any = "s3:GetObject", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any = "s3:GetObject", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def get(context: dict[str, Any] | None = None, action: str = "s3:GetObject") -> Request:
    return Request(action, BUCKET_OBJECT, context or {}, ROLE)


def cond(condition: dict[str, Any], context: dict[str, Any] | None = None) -> bool:
    """Whether an Allow statement carrying ``condition`` applies to a request with ``context``."""
    return evaluate(get(context), [policy(allow(Condition=condition))]).allowed


# --------------------------------------------------------------------------- evaluation logic


def test_no_policy_is_an_implicit_deny() -> None:
    """DENYALLOW: by default, all requests are implicitly denied."""
    decision = evaluate(get(), [])
    assert decision.effect == "ImplicitDeny"


def test_an_identity_allow_allows() -> None:
    """DENYALLOW: a request must be explicitly allowed by a policy."""
    decision = evaluate(get(), [policy(allow())])
    assert decision.allowed, decision
    assert decision.statements[0].policy_type == "identity"


def test_explicit_deny_overrides_allow_in_the_same_policy() -> None:
    """DENYALLOW: an explicit deny overrides an explicit allow."""
    decision = evaluate(get(), [policy(allow(), deny(Sid="NoReads"))])
    assert decision.effect == "ExplicitDeny"
    assert "NoReads" in decision.reason


def test_explicit_deny_in_another_identity_policy_wins() -> None:
    """DENYALLOW: the enforcement code evaluates *all* applicable policies for a deny."""
    decision = evaluate(get(), {"grants": policy(allow()), "guard": policy(deny())})
    assert decision.effect == "ExplicitDeny"
    assert "guard" in decision.reason


def test_boundary_without_a_matching_allow_denies() -> None:
    """EVAL_BOUNDARY: identity policies and a boundary intersect; outside it, implicit deny."""
    boundary = policy(allow("s3:PutObject"))
    decision = evaluate(get(), [policy(allow("s3:*"))], boundary=boundary)
    assert decision.effect == "ImplicitDeny"
    assert "boundary" in decision.reason


def test_boundary_alone_grants_nothing() -> None:
    """BOUNDARIES: a boundary sets the maximum permissions but does not grant any."""
    assert not evaluate(get(), [], boundary=policy(allow("*"))).allowed


def test_identity_and_boundary_both_allowing_allows() -> None:
    """EVAL_BOUNDARY: the effective permissions are the intersection of the two."""
    decision = evaluate(get(), [policy(allow("s3:Get*"))], boundary=policy(allow("s3:*")))
    assert decision.allowed, decision


def test_deny_in_the_boundary_wins() -> None:
    """DENYALLOW: an explicit deny in any policy type (boundaries included) wins."""
    boundary = policy(allow("*"), deny("s3:GetObject"))
    decision = evaluate(get(), [policy(allow())], boundary=boundary)
    assert decision.effect == "ExplicitDeny"
    assert decision.statements[0].policy_type == "boundary"


def test_scp_deny_wins_over_identity_allow() -> None:
    """EVAL_SCP + DENYALLOW: an explicit deny in an SCP overrides any allow."""
    decision = evaluate(get(), [policy(allow())], scps=[FULL_AWS_ACCESS, policy(deny("s3:*"))])
    assert decision.effect == "ExplicitDeny"
    assert decision.statements[0].policy_type == "scp"


def test_scps_without_an_allow_deny_implicitly() -> None:
    """SCP_LEVELS: SCP evaluation is deny-by-default; a deny-list SCP alone allows nothing."""
    decision = evaluate(get(), [policy(allow())], scps=[policy(deny("ec2:*"))])
    assert decision.effect == "ImplicitDeny"
    assert "SCP" in decision.reason


def test_scp_allow_is_needed_at_every_level() -> None:
    """SCP_LEVELS: an explicit Allow is needed at every level from the root to the account."""
    root, ou = [FULL_AWS_ACCESS], [policy(allow("ec2:*"))]
    assert not evaluate(get(), [policy(allow())], scps=[root, ou, [FULL_AWS_ACCESS]]).allowed
    assert evaluate(get(), [policy(allow())], scps=[root, [FULL_AWS_ACCESS]]).allowed


def test_scp_allow_grants_nothing_by_itself() -> None:
    """EVAL_SCP: permissions are the intersection of identity policies and SCPs."""
    assert not evaluate(get(), [], scps=[FULL_AWS_ACCESS]).allowed


def test_same_account_resource_policy_allow_is_enough() -> None:
    """EVAL_RBP + SINGLE_ACCOUNT: identity and same-account resource policies are a union."""
    bucket = policy(allow(Principal={"AWS": ROLE}))
    assert evaluate(get(), [], resource_policy=bucket).allowed


def test_resource_policy_naming_the_account_only_delegates() -> None:
    """PRINCIPAL_ACCOUNT: an account principal delegates to identity policies; alone it
    grants nothing to the account's roles."""
    bucket = policy(allow(Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
    assert not evaluate(get(), [], resource_policy=bucket).allowed
    assert evaluate(get(), [policy(allow())], resource_policy=bucket).allowed


def test_resource_policy_deny_applies_to_the_caller() -> None:
    """DENYALLOW: a deny in a resource-based policy overrides the identity allow."""
    bucket = policy(deny(Principal="*", Condition={"Bool": {"aws:SecureTransport": "false"}}))
    decision = evaluate(
        get({"aws:SecureTransport": "false"}), [policy(allow())], resource_policy=bucket
    )
    assert decision.effect == "ExplicitDeny"
    assert evaluate(
        get({"aws:SecureTransport": "true"}), [policy(allow())], resource_policy=bucket
    ).allowed


def test_resource_policy_grant_to_a_role_is_limited_by_its_boundary() -> None:
    """BOUNDARIES: resource-based grants to an IAM role ARN are limited by an implicit deny
    in the role's permissions boundary."""
    bucket = policy(allow(Principal={"AWS": ROLE}))
    decision = evaluate(get(), [], boundary=policy(allow("ec2:*")), resource_policy=bucket)
    assert decision.effect == "ImplicitDeny"


# --------------------------------------------------------------------------- Action / Resource


def test_action_matching_is_case_insensitive() -> None:
    """ACTION: the prefix and the action name are case insensitive."""
    assert evaluate(get(), [policy(allow("S3:getobject"))]).allowed


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("bedrock:InvokeModel*", "bedrock:InvokeModelWithResponseStream", True),
        ("bedrock:InvokeModel*", "bedrock:InvokeModel", True),
        ("bedrock:InvokeModel*", "bedrock:ApplyGuardrail", False),
        ("iam:?etRole", "iam:GetRole", True),
        ("iam:?etRole", "iam:GGetRole", False),
    ],
)
def test_action_wildcards(pattern: str, action: str, expected: bool) -> None:
    """ACTION: ``*`` (any characters) and ``?`` (one character) are allowed in action names."""
    request = Request(action, "*", {}, ROLE)
    assert evaluate(request, [policy(allow(pattern))]).allowed is expected


def test_not_action_with_allow_allows_everything_else() -> None:
    """NOTACTION: NotAction with Allow matches every action except those listed."""
    grants = [policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})]
    assert evaluate(get(), grants).allowed
    assert not evaluate(Request("iam:CreateUser", "*", {}, ROLE), grants).allowed


def test_not_action_with_deny_denies_everything_else() -> None:
    """NOTACTION: NotAction with Deny explicitly denies every action not listed."""
    grants = [policy(allow("*"), {"Effect": "Deny", "NotAction": "iam:*", "Resource": "*"})]
    assert evaluate(get(), grants).effect == "ExplicitDeny"
    assert evaluate(Request("iam:ListRoles", "*", {}, ROLE), grants).allowed


def test_resource_matching_is_case_sensitive() -> None:
    """RESOURCE: in the Resource element the IAM user name is case sensitive."""
    grants = [policy(allow("iam:GetUser", f"arn:aws:iam::{ACCOUNT}:user/Bob"))]
    assert evaluate(Request("iam:GetUser", f"arn:aws:iam::{ACCOUNT}:user/Bob"), grants).allowed
    assert not evaluate(Request("iam:GetUser", f"arn:aws:iam::{ACCOUNT}:user/bob"), grants).allowed


@pytest.mark.parametrize(
    ("pattern", "resource", "expected"),
    [
        ("arn:aws:s3:::bucket-?", "arn:aws:s3:::bucket-1", True),
        ("arn:aws:s3:::bucket-?", "arn:aws:s3:::bucket-10", False),
        # a trailing * may expand past colons (Bedrock model ids end in ":0")
        (
            "arn:aws:bedrock:*::foundation-model/anthropic.claude-*",
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0",
            True,
        ),
        (
            "arn:aws:bedrock:*::foundation-model/anthropic.claude-*",
            "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-70b-instruct-v1:0",
            False,
        ),
        # a * that is not the last character of its segment stays within the segment
        ("arn:aws:s3:::a*b", "arn:aws:s3:::a-xb", True),
        ("arn:aws:s3:::a*b", "arn:aws:s3:::a:xb", False),
    ],
)
def test_resource_wildcards(pattern: str, resource: str, expected: bool) -> None:
    """RESOURCE_WILDCARDS: ``*``/``?`` within ARN segments; a ``*`` that is the last character
    of a segment can match beyond the colon boundaries."""
    request = Request("bedrock:InvokeModel", resource, {}, ROLE)
    assert evaluate(request, [policy(allow("*", pattern))]).allowed is expected


def test_not_resource_with_allow() -> None:
    """NOTRESOURCE: NotResource matches every resource except those listed."""
    grants = [policy({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*"})]
    assert evaluate(get(), grants).allowed
    assert not evaluate(Request("s3:GetObject", "arn:aws:s3:::secret/x", {}, ROLE), grants).allowed


def test_single_statement_object_and_string_elements() -> None:
    """ACTION / RESOURCE: Statement, Action and Resource may be a single value or a list."""
    document = {"Version": "2012-10-17", "Statement": allow("s3:GetObject", BUCKET_OBJECT)}
    assert evaluate(get(), [document]).allowed


# --------------------------------------------------------------------------- conditions


def test_missing_key_makes_a_positive_operator_false() -> None:
    """OPERATORS: if the key is not present in the request context, the condition is false."""
    assert not cond({"StringEquals": {"aws:PrincipalTag/team": "ml"}})


@pytest.mark.parametrize(
    "operator", ["StringNotEquals", "StringNotLike", "StringNotEqualsIgnoreCase"]
)
def test_missing_key_makes_a_negated_operator_true(operator: str) -> None:
    """OPERATORS: if the condition requires the key not to match (StringNotLike, ...) and
    the key is not present, the condition is true."""
    assert cond({operator: {"aws:PrincipalTag/team": "ml"}})


def test_missing_key_makes_arn_not_like_true() -> None:
    """OPERATORS: the same rule for ArnNotLike."""
    assert cond({"ArnNotLike": {"aws:SourceArn": "arn:aws:sns:*:*:topic"}})


def test_missing_key_negated_deny_applies() -> None:
    """OPERATORS + GUARDRAIL_ENFORCEMENT: a StringNotEquals Deny applies when the key is absent."""
    guard = deny(Condition={"StringNotEquals": {"aws:PrincipalTag/team": "ml"}})
    assert evaluate(get(), [policy(allow(), guard)]).effect == "ExplicitDeny"
    assert evaluate(get({"aws:PrincipalTag/team": "ml"}), [policy(allow(), guard)]).allowed


def test_if_exists() -> None:
    """OPERATORS (...IfExists): if the key is absent the condition is true; else it is tested."""
    condition = {"StringEqualsIfExists": {"ec2:InstanceType": ["t3.micro", "t3.small"]}}
    assert cond(condition)
    assert cond(condition, {"ec2:InstanceType": "t3.small"})
    assert not cond(condition, {"ec2:InstanceType": "m5.large"})


def test_negated_if_exists_on_missing_key() -> None:
    """OPERATORS (...IfExists): StringNotEqualsIfExists on an absent key is true."""
    assert cond({"StringNotEqualsIfExists": {"aws:RequestedRegion": "us-east-1"}})


@pytest.mark.parametrize(
    ("value", "context", "expected"),
    [
        ("true", {}, True),
        ("true", {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}, False),
        ("false", {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}, True),
        ("false", {}, False),
    ],
)
def test_null_condition(value: str, context: dict[str, Any], expected: bool) -> None:
    """OPERATORS (Null): "true" means the key is absent, "false" that it is present."""
    assert cond({"Null": {"aws:TokenIssueTime": value}}, context) is expected


def test_multiple_values_are_ored() -> None:
    """MULTI_VALUES: several values for one key are evaluated with a logical OR."""
    condition = {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "us-west-2"]}}
    assert cond(condition, {"aws:RequestedRegion": "us-west-2"})
    assert not cond(condition, {"aws:RequestedRegion": "eu-west-1"})


def test_negated_multiple_values_are_nored() -> None:
    """MULTI_VALUES: several values of a negated operator are evaluated with a logical NOR."""
    condition = {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "us-west-2"]}}
    assert not cond(condition, {"aws:RequestedRegion": "us-west-2"})
    assert cond(condition, {"aws:RequestedRegion": "eu-west-1"})


def test_multiple_keys_are_anded() -> None:
    """MULTI_VALUES: several keys under one operator are evaluated with a logical AND."""
    condition = {
        "StringEquals": {"aws:PrincipalTag/team": "ml", "aws:RequestedRegion": "us-east-1"}
    }
    assert cond(condition, {"aws:PrincipalTag/team": "ml", "aws:RequestedRegion": "us-east-1"})
    assert not cond(condition, {"aws:PrincipalTag/team": "ml", "aws:RequestedRegion": "eu-west-1"})


def test_multiple_operators_are_anded() -> None:
    """MULTI_VALUES: several condition operators are evaluated with a logical AND."""
    condition = {
        "StringEquals": {"aws:PrincipalTag/team": "ml"},
        "Bool": {"aws:SecureTransport": "true"},
    }
    assert cond(condition, {"aws:PrincipalTag/team": "ml", "aws:SecureTransport": "true"})
    assert not cond(condition, {"aws:PrincipalTag/team": "ml", "aws:SecureTransport": "false"})


def test_for_all_values() -> None:
    """SET_OPERATORS: ForAllValues is true when every request value matches a policy value,
    and also when the key is missing from the request (or empty)."""
    condition = {"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env"]}}
    assert cond(condition, {"aws:TagKeys": ["team"]})
    assert not cond(condition, {"aws:TagKeys": ["team", "owner"]})
    assert cond(condition)
    assert cond(condition, {"aws:TagKeys": []})


def test_for_any_value() -> None:
    """SET_OPERATORS: ForAnyValue is true when at least one request value matches; false when
    the key is missing."""
    condition = {"ForAnyValue:StringLike": {"aws:TagKeys": "cost*"}}
    assert cond(condition, {"aws:TagKeys": ["team", "costcenter"]})
    assert not cond(condition, {"aws:TagKeys": ["team"]})
    assert not cond(condition)


def test_condition_key_names_are_case_insensitive() -> None:
    """CONDITION: condition key names are not case-sensitive (values are, for StringEquals)."""
    assert cond(
        {"StringEquals": {"AWS:RequestedRegion": "us-east-1"}}, {"aws:requestedregion": "us-east-1"}
    )
    assert not cond(
        {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}, {"aws:RequestedRegion": "US-EAST-1"}
    )


def test_string_equals_ignore_case() -> None:
    """OPERATORS (String): StringEqualsIgnoreCase is an exact match ignoring case."""
    assert cond(
        {"StringEqualsIgnoreCase": {"aws:PrincipalTag/env": "Prod"}},
        {"aws:PrincipalTag/env": "PROD"},
    )


def test_string_like_wildcards_are_case_sensitive() -> None:
    """OPERATORS (String): StringLike is case-sensitive and supports ``*`` and ``?``."""
    condition = {"StringLike": {"s3:prefix": "home/?/*"}}
    assert cond(condition, {"s3:prefix": "home/a/docs/x"})
    assert not cond(condition, {"s3:prefix": "home/ab/docs"})
    assert not cond(condition, {"s3:prefix": "HOME/a/docs"})


def test_arn_like_checks_each_component() -> None:
    """OPERATORS (ARN): each of the six colon-delimited components is checked separately and
    may contain ``*``/``?``; ArnEquals behaves the same."""
    profile = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.anthropic.claude-x"
    like = {
        "ArnLike": {
            "bedrock:InferenceProfileArn": f"arn:aws:bedrock:*:{ACCOUNT}:inference-profile/*"
        }
    }
    assert cond(like, {"bedrock:InferenceProfileArn": profile})
    other_account = profile.replace(ACCOUNT, "444455556666")
    assert not cond(like, {"bedrock:InferenceProfileArn": other_account})
    assert cond(
        {"ArnEquals": {"bedrock:InferenceProfileArn": profile}},
        {"bedrock:InferenceProfileArn": profile},
    )


def test_bool_and_bool_if_exists() -> None:
    """OPERATORS (Boolean, IfExists): Bool on an absent key is false, BoolIfExists true - the
    documented MFA example denies with BoolIfExists."""
    assert not cond({"Bool": {"aws:MultiFactorAuthPresent": "false"}})
    assert cond({"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}})
    assert cond(
        {"Bool": {"aws:MultiFactorAuthPresent": True}}, {"aws:MultiFactorAuthPresent": "true"}
    )


# --------------------------------------------------------------------------- unsupported input


@pytest.mark.parametrize(
    "statement",
    [
        allow(Condition={"NumericLessThan": {"s3:max-keys": "10"}}),
        allow(Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}),
        allow(Condition={"StringEqualz": {"aws:RequestedRegion": "x"}}),
        allow(Condition={"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": "x"}}),
        allow(Condition={"ForAllValues:Null": {"aws:TagKeys": "true"}}),
        allow(resource="arn:aws:s3:::home/${aws:username}/*"),
        allow(Principal="*"),
        {"Effect": "Allow", "Action": "s3:GetObject"},
        {"Effect": "allow", "Action": "s3:GetObject", "Resource": "*"},
        allow(Unknown="x"),
    ],
    ids=[
        "numeric",
        "ip",
        "unknown-operator",
        "set-op-with-ifexists",
        "null-with-set-op",
        "policy-variable",
        "principal-in-identity-policy",
        "no-resource",
        "effect-case",
        "unknown-element",
    ],
)
def test_unsupported_constructs_raise(statement: dict[str, Any]) -> None:
    """Nothing outside the modelled subset may silently allow or deny."""
    with pytest.raises(UnsupportedPolicyFeature):
        evaluate(get(), [policy(statement)])


def test_unsupported_construct_raises_even_if_it_would_not_apply() -> None:
    unrelated = allow("ec2:*", Condition={"DateGreaterThan": {"aws:CurrentTime": "2026-01-01"}})
    with pytest.raises(UnsupportedPolicyFeature):
        evaluate(get(), [policy(allow(), unrelated)])


def test_multivalued_request_key_needs_a_set_operator() -> None:
    """SET_OPERATORS: multivalued context keys require a set operator."""
    with pytest.raises(UnsupportedPolicyFeature):
        cond({"StringEquals": {"aws:TagKeys": "team"}}, {"aws:TagKeys": ["team", "env"]})


def test_not_principal_in_resource_policy_raises() -> None:
    bucket = policy(
        {"Effect": "Deny", "NotPrincipal": {"AWS": ROLE}, "Action": "*", "Resource": "*"}
    )
    with pytest.raises(UnsupportedPolicyFeature):
        evaluate(get(), [], resource_policy=bucket)


def test_request_action_must_be_concrete() -> None:
    with pytest.raises(ValueError, match="no wildcards"):
        evaluate(Request("s3:Get*", "*"), [])


# --------------------------------------------------------------------------- landing zone matrix

REGION = "us-east-1"
GUARDRAIL = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:guardrail/lzguard01"
GUARDRAIL_V1 = f"{GUARDRAIL}:1"
CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
PROFILE = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/us.{CLAUDE}"
INVOKE = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]


def fm(region: str, model: str = CLAUDE) -> str:
    return f"arn:aws:bedrock:{region}::foundation-model/{model}"


# Shaped like GUARDRAIL_ENFORCEMENT's example 1 and INFERENCE_PROFILES' restriction advice.
LANDING_ZONE_ROLE_POLICY = policy(
    {
        "Sid": "InvokeAllowListedModels",
        "Effect": "Allow",
        "Action": INVOKE,
        "Resource": [fm(REGION, "anthropic.claude-*"), PROFILE],
    },
    {
        "Sid": "InvokeProfileDestinations",
        "Effect": "Allow",
        "Action": INVOKE,
        "Resource": [fm("us-east-2"), fm("us-west-2")],
        "Condition": {"ArnEquals": {"bedrock:InferenceProfileArn": PROFILE}},
    },
    {
        "Sid": "DenyOtherGuardrails",
        "Effect": "Deny",
        "Action": INVOKE,
        "Resource": "*",
        "Condition": {"StringNotEquals": {"bedrock:GuardrailIdentifier": GUARDRAIL_V1}},
    },
)
BOUNDARY = policy(
    {
        "Sid": "BedrockInference",
        "Effect": "Allow",
        "Action": INVOKE,
        "Resource": [fm("*", "*"), f"arn:aws:bedrock:*:{ACCOUNT}:inference-profile/*"],
    },
    {
        "Sid": "BedrockGuardrails",
        "Effect": "Allow",
        "Action": "bedrock:ApplyGuardrail",
        "Resource": f"arn:aws:bedrock:*:{ACCOUNT}:guardrail/*",
    },
)
SCP_DENY_API_KEYS = policy(
    {
        "Sid": "DenyLongTermKeys",
        "Effect": "Deny",
        "Action": "iam:CreateServiceSpecificCredential",
        "Resource": "*",
        "Condition": {
            "StringEquals": {"iam:ServiceSpecificCredentialServiceName": "bedrock.amazonaws.com"}
        },
    },
    {
        "Sid": "DenyBearerTokens",
        "Effect": "Deny",
        "Action": ["bedrock:CallWithBearerToken", "bedrock-mantle:CallWithBearerToken"],
        "Resource": "*",
    },
)


@pytest.mark.parametrize(
    ("action", "resource", "context", "effect"),
    [
        ("bedrock:InvokeModel", fm(REGION), {"bedrock:GuardrailIdentifier": GUARDRAIL_V1}, "Allow"),
        ("bedrock:InvokeModel", fm(REGION), {}, "ExplicitDeny"),
        (
            "bedrock:InvokeModelWithResponseStream",
            fm(REGION),
            {"bedrock:GuardrailIdentifier": f"{GUARDRAIL}:2"},
            "ExplicitDeny",
        ),
        (
            "bedrock:InvokeModel",
            fm(REGION, "meta.llama3-70b-instruct-v1:0"),
            {"bedrock:GuardrailIdentifier": GUARDRAIL_V1},
            "ImplicitDeny",
        ),
        ("bedrock:InvokeModel", PROFILE, {"bedrock:GuardrailIdentifier": GUARDRAIL_V1}, "Allow"),
        (
            "bedrock:InvokeModel",
            fm("us-west-2"),
            {"bedrock:GuardrailIdentifier": GUARDRAIL_V1},
            "ImplicitDeny",
        ),
        (
            "bedrock:InvokeModel",
            fm("us-west-2"),
            {"bedrock:GuardrailIdentifier": GUARDRAIL_V1, "bedrock:InferenceProfileArn": PROFILE},
            "Allow",
        ),
        ("bedrock:CallWithBearerToken", "*", {}, "ExplicitDeny"),
        (
            "iam:CreateServiceSpecificCredential",
            f"arn:aws:iam::{ACCOUNT}:user/dev",
            {"iam:ServiceSpecificCredentialServiceName": "bedrock.amazonaws.com"},
            "ExplicitDeny",
        ),
    ],
    ids=[
        "guardrail-v1-allowed",
        "no-guardrail-denied",
        "other-guardrail-version-denied",
        "model-not-allow-listed",
        "inference-profile-allowed",
        "destination-direct-denied",
        "destination-via-profile-allowed",
        "bearer-token-denied-by-scp",
        "long-term-key-denied-by-scp",
    ],
)
def test_landing_zone_request_matrix(
    action: str, resource: str, context: dict[str, Any], effect: str
) -> None:
    """GUARDRAIL_ENFORCEMENT + INFERENCE_PROFILES, evaluated as identity ∩ boundary ∩ SCPs.

    The role also holds a broad grant for the API-key actions, to show that the SCP denies them.
    """
    api_keys = ["bedrock:CallWithBearerToken", "iam:CreateServiceSpecificCredential"]
    decision = evaluate(
        Request(action, resource, context, ROLE),
        {"role": LANDING_ZONE_ROLE_POLICY, "api-keys": policy(allow(api_keys))},
        boundary=policy(*BOUNDARY["Statement"], allow(api_keys)),
        scps=[FULL_AWS_ACCESS, SCP_DENY_API_KEYS],
    )
    assert decision.effect == effect, decision


# --------------------------------------------------------------------------- templates

TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Guardrail": {"Type": "AWS::Bedrock::Guardrail", "Properties": {}},
        "AppRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": policy(
                    {
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                    }
                ),
                "PermissionsBoundary": {"Ref": "Boundary"},
                "ManagedPolicyArns": [
                    {"Ref": "InvokePolicy"},
                    {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/ReadOnlyAccess"},
                ],
                "Policies": [
                    {
                        "PolicyName": "Inline",
                        "PolicyDocument": policy(
                            allow(
                                "bedrock:ApplyGuardrail",
                                {"Fn::GetAtt": ["Guardrail", "GuardrailArn"]},
                            )
                        ),
                    }
                ],
            },
        },
        "Boundary": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {"PolicyDocument": BOUNDARY},
        },
        "InvokePolicy": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {
                "ManagedPolicyName": "lz-invoke",
                "PolicyDocument": policy(
                    allow(
                        INVOKE,
                        {
                            "Fn::Join": [
                                "",
                                [
                                    "arn:",
                                    {"Ref": "AWS::Partition"},
                                    ":bedrock:",
                                    {"Ref": "AWS::Region"},
                                    "::foundation-model/anthropic.claude-*",
                                ],
                            ]
                        },
                    ),
                    deny(
                        INVOKE,
                        Condition={
                            "StringNotEquals": {
                                "bedrock:GuardrailIdentifier": {
                                    "Fn::Sub": "${Guardrail.GuardrailArn}:1"
                                }
                            }
                        },
                    ),
                ),
            },
        },
        "ExtraPolicy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": "extra",
                "Roles": [{"Ref": "AppRole"}],
                "PolicyDocument": policy(
                    allow("logs:PutLogEvents", {"Fn::Sub": "arn:aws:logs:${AWS::Region}:*:*"})
                ),
            },
        },
        "ApiKeysScp": {
            "Type": "AWS::Organizations::Policy",
            "Properties": {
                "Type": "SERVICE_CONTROL_POLICY",
                "Name": "deny-bedrock-api-keys",
                "Content": json.dumps(SCP_DENY_API_KEYS),
                "TargetIds": ["ou-abcd-11111111"],
            },
        },
    }
}
REFS = {"Guardrail.GuardrailArn": GUARDRAIL}
READ_ONLY = {"arn:aws:iam::aws:policy/ReadOnlyAccess": policy(allow("s3:Get*"))}


def test_resolve_template_policies_resolves_intrinsics() -> None:
    policies = {
        p.name: p
        for p in resolve_template_policies(TEMPLATE, refs=REFS, account=ACCOUNT, region=REGION)
    }
    assert {p.kind for p in policies.values()} == {"identity", "trust", "scp"}
    invoke = policies["InvokePolicy"]
    assert invoke.roles == ("AppRole",)
    assert invoke.document["Statement"][0]["Resource"] == fm(REGION, "anthropic.claude-*")
    condition = invoke.document["Statement"][1]["Condition"]["StringNotEquals"]
    assert condition == {"bedrock:GuardrailIdentifier": GUARDRAIL_V1}
    assert policies["AppRole/Inline"].document["Statement"][0]["Resource"] == GUARDRAIL
    assert policies["ApiKeysScp"].document == SCP_DENY_API_KEYS


def test_role_helpers_feed_the_evaluator() -> None:
    identity = role_identity_policies(
        TEMPLATE, "AppRole", refs=REFS, external_policies=READ_ONLY, account=ACCOUNT, region=REGION
    )
    assert sorted(identity) == [
        "AppRole/Inline",
        "ExtraPolicy",
        "InvokePolicy",
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
    ]
    boundary = role_permissions_boundary(
        TEMPLATE, "AppRole", refs=REFS, account=ACCOUNT, region=REGION
    )
    scps = list(service_control_policies(TEMPLATE, account=ACCOUNT, region=REGION).values())
    request = Request(
        "bedrock:InvokeModel", fm(REGION), {"bedrock:GuardrailIdentifier": GUARDRAIL_V1}
    )
    assert evaluate(request, identity, boundary=boundary, scps=[FULL_AWS_ACCESS, *scps]).allowed
    no_guardrail = Request("bedrock:InvokeModel", fm(REGION))
    decision = evaluate(no_guardrail, identity, boundary=boundary, scps=[FULL_AWS_ACCESS, *scps])
    assert decision.effect == "ExplicitDeny"


def test_unresolved_references_raise() -> None:
    with pytest.raises(UnresolvedIntrinsic, match=r"Guardrail\.GuardrailArn"):
        resolve_template_policies(TEMPLATE, account=ACCOUNT, region=REGION)
    with pytest.raises(UnresolvedIntrinsic, match="ReadOnlyAccess"):
        role_identity_policies(TEMPLATE, "AppRole", refs=REFS, account=ACCOUNT, region=REGION)
    template = {
        "Resources": {
            "P": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {"PolicyDocument": policy(allow(resource={"Fn::ImportValue": "x"}))},
            }
        }
    }
    with pytest.raises(UnresolvedIntrinsic, match="ImportValue"):
        resolve_template_policies(template, account=ACCOUNT, region=REGION)


# --------------------------------------------------------------------------- lint


def test_lint_accepts_the_landing_zone_policies() -> None:
    assert lint_policy(LANDING_ZONE_ROLE_POLICY, name="role") == []
    assert lint_policy(SCP_DENY_API_KEYS, name="scp") == []
    assert lint_policy(BOUNDARY, name="boundary") == []


def test_lint_reports_bad_names_per_statement() -> None:
    bad = policy(
        allow("bedrock:InvokeModle", fm(REGION), Sid="Typo"),
        allow(
            "bedrock:InvokeModel",
            fm(REGION),
            Sid="WrongKey",
            Condition={"StringEquals": {"iam:ServiceSpecificCredentialServiceName": "x"}},
        ),
        deny("bedrock:ApplyGuardrail", Condition={"StringLike": {"s3:prefix": "x"}}),
    )
    findings = lint_policy(bad, name="bad")
    assert len(findings) == 3, findings
    assert findings[0].startswith("bad statement 0 (Sid Typo): UNKNOWN_ACTION")
    assert "bedrock:InvokeModle" in findings[0]
    assert findings[1].startswith("bad statement 1 (Sid WrongKey): UNKNOWN_CONDITION_FOR_ACTION")
    assert findings[2].startswith("bad statement 2: UNKNOWN_CONDITION_FOR_ACTION")
    assert "s3:prefix" in findings[2]


def test_lint_still_checks_types_and_resources_of_overlaid_facts() -> None:
    string_on_arn = allow(
        INVOKE,
        fm("us-west-2"),
        Condition={"StringLike": {"bedrock:InferenceProfileArn": PROFILE}},
    )
    wrong_resource = allow(INVOKE, "arn:aws:s3:::bucket/*")
    numeric_on_string = deny(
        "bedrock:CallWithBearerToken",
        Condition={"NumericLessThan": {"bedrock:BearerTokenType": "1"}},
    )
    findings = lint_policy(policy(string_on_arn, wrong_resource, numeric_on_string))
    issues = [f.split(": ", 1)[1].split(" - ")[0] for f in findings]
    assert issues == ["MISMATCHED_TYPE_BUT_USABLE", "RESOURCE_MISMATCH", "MISMATCHED_TYPE"]


def test_lint_overlay_lists_what_parliament_lacked() -> None:
    facts = overlay_facts()
    assert any("bedrock:GuardrailIdentifier" in fact for fact in facts)
    assert any("action bedrock:CallWithBearerToken" in fact for fact in facts)


def test_lint_guardrail_string_operator_exemption_is_narrow() -> None:
    """Only bedrock:GuardrailIdentifier may use String operators (as the Bedrock guide does)."""
    documented = deny(
        INVOKE, Condition={"StringNotEquals": {"bedrock:GuardrailIdentifier": GUARDRAIL_V1}}
    )
    assert lint_policy(policy(documented)) == []
    mixed = deny(
        INVOKE,
        Condition={
            "StringNotEquals": {
                "bedrock:GuardrailIdentifier": GUARDRAIL_V1,
                "bedrock:InferenceProfileArn": PROFILE,
            }
        },
    )
    findings = lint_policy(policy(mixed))  # parliament's detail does not name the key, so both
    assert findings  # findings of the statement are kept
    assert all("statement 0: MISMATCHED_TYPE_BUT_USABLE" in f for f in findings)


def test_arn_not_equals_and_empty_scps() -> None:
    """OPERATORS (ARN): ArnNotEquals is the negation of ArnEquals; an empty SCP list is refused
    (it would implicitly deny everything, SCP_LEVELS)."""
    condition = {"ArnNotEquals": {"aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:topic"}}
    assert not cond(condition, {"aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:topic"})
    assert cond(condition, {"aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:other"})
    with pytest.raises(ValueError, match="empty"):
        evaluate(get(), [policy(allow())], scps=[])


def test_lint_accepts_foundation_model_ids_with_colons() -> None:
    """Model ids end in ``:0``; parliament's strict ARN check alone would flag every one."""
    assert lint_policy(policy(allow("bedrock:GetFoundationModel", fm(REGION)))) == []
    findings = lint_policy(policy(allow("bedrock:GetFoundationModel", "arn:aws:s3:::x/y")))
    assert len(findings) == 1
    assert "RESOURCE_MISMATCH" in findings[0]


# --------------------------------------------------------------------------- policy variables

VARIABLES = IAM + "reference_policies_variables.html"


def _abac(operator: str = "StringEquals") -> PolicyDocument:
    return {
        "Version": "2012-10-17",
        "Statement": [
            allow(
                "bedrock:InvokeModel",
                Condition={operator: {"aws:ResourceTag/Team": "${aws:PrincipalTag/Team}"}},
            )
        ],
    }


@pytest.mark.parametrize(
    ("context", "allowed"),
    [
        ({"aws:ResourceTag/Team": "search", "aws:PrincipalTag/Team": "search"}, True),
        ({"aws:ResourceTag/Team": "claims", "aws:PrincipalTag/Team": "search"}, False),
        ({"aws:ResourceTag/Team": "search"}, False),  # no principal tag: nothing matches
        ({"aws:PrincipalTag/Team": "search"}, False),  # untagged resource
    ],
)
def test_policy_variable_takes_the_requests_value(context: dict[str, str], allowed: bool) -> None:
    """VARIABLES: a variable is replaced by the request's value of that key; when the key is
    absent the value matches nothing (attribute-based access control on tags)."""
    request = Request("bedrock:InvokeModel", "arn:aws:bedrock:us-east-1:1:x", context)
    assert evaluate(request, [_abac()]).allowed is allowed


def test_policy_variable_escapes_and_wildcards() -> None:
    """VARIABLES: ${*}, ${?} and ${$} stand for the literal characters."""
    document = {
        "Version": "2012-10-17",
        "Statement": [allow(Condition={"StringEquals": {"s3:prefix": "a${*}b${$}"}})],
    }
    assert evaluate(get({"s3:prefix": "a*b$"}), [document]).allowed
    assert not evaluate(get({"s3:prefix": "axb$"}), [document]).allowed


@pytest.mark.parametrize("operator", ["StringNotEquals", "StringEqualsIfExists", "ArnLike"])
def test_policy_variables_elsewhere_are_refused(operator: str) -> None:
    value = "${aws:PrincipalTag/Team}" if operator != "ArnLike" else "arn:aws:s3:::${aws:x}/y"
    document = {
        "Version": "2012-10-17",
        "Statement": [allow(Condition={operator: {"aws:ResourceTag/Team": value}})],
    }
    with pytest.raises(UnsupportedPolicyFeature, match="policy variable"):
        evaluate(get(), [document])
