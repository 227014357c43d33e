"""Audit and cost: invocation logging (moto round trip), buckets, budgets, cost allocation."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from model_access_handler import handler as model_access_handler
from moto import mock_aws

from bedrock_landing_zone.audit.invocation_logging import logging_configuration
from bedrock_landing_zone.governance.model_access_automation import REQUIRED_ACTIONS
from tests.conftest import Synth, Synths

FAKE = {
    "log_group": "bedrock-lz-invocation-logs",
    "role": "arn:aws:iam::123456789012:role/bedrock-lz-delivery",
    "bucket": "bedrock-lz-invocation-logs-bucket",
}


def _audit(synth: Synth) -> dict[str, Any]:
    return synth.template_json(synth.stacks.audit)


def _of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def _resolve_join(value: Any, refs: dict[str, str]) -> str:
    if isinstance(value, str):
        return value
    _, parts = value["Fn::Join"]
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif "Ref" in part:
            out.append(refs[part["Ref"]])
        else:
            out.append(refs[".".join(part["Fn::GetAtt"])])
    return "".join(out)


def _custom_resource_call(synth: Synth, event: str) -> dict[str, Any]:
    template = _audit(synth)
    (resource,) = _of(template, "Custom::BedrockInvocationLogging").values()
    refs = {}
    for lid, r in template["Resources"].items():
        if r["Type"] == "AWS::Logs::LogGroup" and lid.startswith("InvocationLoggingLogGroup"):
            refs[lid] = FAKE["log_group"]
        elif r["Type"] == "AWS::IAM::Role" and lid.startswith("InvocationLoggingDeliveryRole"):
            refs[f"{lid}.Arn"] = FAKE["role"]
        elif r["Type"] == "AWS::S3::Bucket" and lid.startswith("InvocationLoggingBucket"):
            refs[lid] = FAKE["bucket"]
    return json.loads(_resolve_join(resource["Properties"][event], refs))  # type: ignore[no-any-return]


@pytest.mark.parametrize("event", ["Create", "Update"])
def test_custom_resource_sends_exactly_the_logging_configuration(
    default: Synth, event: str
) -> None:
    call = _custom_resource_call(default, event)
    assert call["service"] == "Bedrock"
    assert call["action"] == "putModelInvocationLoggingConfiguration"
    expected = logging_configuration(
        config=default.config.invocation_logging,
        bucket_name=FAKE["bucket"],
        log_group_name=FAKE["log_group"],
        role_arn=FAKE["role"],
    )
    assert call["parameters"]["loggingConfig"] == expected


@mock_aws
def test_moto_accepts_the_configuration_and_reads_it_back(default: Synth) -> None:
    """moto implements Put/Get/DeleteModelInvocationLoggingConfiguration (and nothing of
    guardrails): the payload the custom resource sends is accepted and reads back identical."""
    payload = _custom_resource_call(default, "Create")["parameters"]["loggingConfig"]
    client = boto3.client("bedrock", region_name="us-east-1")
    client.put_model_invocation_logging_configuration(loggingConfig=payload)
    read = client.get_model_invocation_logging_configuration()["loggingConfig"]
    assert read == payload
    client.delete_model_invocation_logging_configuration()
    assert not client.get_model_invocation_logging_configuration().get("loggingConfig")


def test_log_bucket_is_encrypted_versioned_ssl_only_logged_and_retained(
    existing_vpc: Synth,
) -> None:
    template = _audit(existing_vpc)
    buckets = _of(template, "AWS::S3::Bucket")
    (bucket,) = [b for k, b in buckets.items() if k.startswith("InvocationLoggingBucket")]
    props = bucket["Properties"]
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["BucketKeyEnabled"] is True
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["LoggingConfiguration"]["LogFilePrefix"] == "log-bucket/"
    assert props["ObjectLockEnabled"] is True
    lock = props["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert lock == {
        "Mode": "COMPLIANCE",
        "Days": existing_vpc.config.invocation_logging.object_lock_days,
    }
    transitions = props["LifecycleConfiguration"]["Rules"][0]["Transitions"]
    assert [t["StorageClass"] for t in transitions] == ["STANDARD_IA", "GLACIER_IR"]
    assert bucket["DeletionPolicy"] == "Retain"


def test_default_environment_has_no_object_lock(default: Synth) -> None:
    buckets = _of(_audit(default), "AWS::S3::Bucket")
    assert all("ObjectLockConfiguration" not in b["Properties"] for b in buckets.values())


def test_bucket_policy_admits_bedrock_only_with_confused_deputy_conditions(default: Synth) -> None:
    policies = _of(_audit(default), "AWS::S3::BucketPolicy")
    statements = [
        s
        for p in policies.values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Principal") == {"Service": "bedrock.amazonaws.com"}
    ]
    (statement,) = statements
    assert statement["Action"] == "s3:PutObject"
    assert "aws:SourceAccount" in statement["Condition"]["StringEquals"]
    assert "aws:SourceArn" in statement["Condition"]["ArnLike"]
    ssl = [
        s
        for p in policies.values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny"
        and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(ssl) == 2  # log bucket and access-log bucket


def test_delivery_role_trusts_bedrock_with_the_same_conditions(default: Synth) -> None:
    roles = _of(_audit(default), "AWS::IAM::Role")
    (role,) = [r for k, r in roles.items() if k.startswith("InvocationLoggingDeliveryRole")]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert set(trust["Condition"]) == {"StringEquals", "ArnLike"}


def test_log_groups_are_encrypted_with_retention_and_retained(default: Synth) -> None:
    for lid, group in _of(_audit(default), "AWS::Logs::LogGroup").items():
        assert "KmsKeyId" in group["Properties"], lid
        assert group["Properties"]["RetentionInDays"] == default.config.log_retention_days
        assert group["DeletionPolicy"] == "Retain", lid


def _team_resources(synth: Synth, kind: str) -> dict[str, dict[str, Any]]:
    """Resources of ``kind`` in every team stack (team vending), keyed by team/logical id."""
    return {
        f"{team}/{lid}": resource
        for team, stack in synth.stacks.teams.items()
        for lid, resource in _of(synth.template_json(stack), kind).items()
    }


def test_team_budgets_follow_config(synths: Synths) -> None:
    for synth in synths:
        assert not _of(_audit(synth), "AWS::Budgets::Budget"), "budgets live in team stacks"
        budgets = _team_resources(synth, "AWS::Budgets::Budget")
        with_budget = {t.name: t for t in synth.config.teams if t.monthly_budget_usd}
        assert len(budgets) == len(with_budget)
        for key, budget in budgets.items():
            data = budget["Properties"]["Budget"]
            team = key.split("/", 1)[0]
            assert data["BudgetName"] == f"bedrock-lz-{synth.config.name}-{team}"
            assert data["BudgetLimit"] == {
                "Amount": with_budget[team].monthly_budget_usd,
                "Unit": "USD",
            }
            assert data["CostFilters"]["TagKeyValue"] == [f"user:Team${team}"]
            notes = budget["Properties"]["NotificationsWithSubscribers"]
            kinds = sorted(
                (n["Notification"]["NotificationType"], n["Notification"]["Threshold"])
                for n in notes
            )
            expected = sorted(
                [("ACTUAL", t) for t in synth.config.budgets.actual_thresholds_percent]
                + [("FORECASTED", synth.config.budgets.forecast_threshold_percent)]
            )
            assert kinds == expected
            for note in notes:
                assert note["Subscribers"][0]["SubscriptionType"] == "SNS"


def test_application_inference_profiles_per_team_and_model_with_cost_tags(synths: Synths) -> None:
    for synth in synths:
        governance = synth.template_json(synth.stacks.governance)
        assert not _of(governance, "AWS::Bedrock::ApplicationInferenceProfile")
        profiles = _team_resources(synth, "AWS::Bedrock::ApplicationInferenceProfile")
        guarded = {m.alias for m in synth.config.models if m.guardrail}
        assert len(profiles) == sum(len(set(t.models) & guarded) for t in synth.config.teams)
        for team in synth.config.teams:
            for alias in set(team.models) & guarded:
                name = f"bedrock-lz-{synth.config.name}-{team.name}-{alias}"
                (profile,) = [
                    p for p in profiles.values() if p["Properties"]["InferenceProfileName"] == name
                ]
                tags = {t["Key"]: t["Value"] for t in profile["Properties"]["Tags"]}
                assert tags["Team"] == team.name
                assert tags["CostCenter"] == (team.cost_center or synth.config.tags.cost_center)


def test_every_resource_carries_the_cost_tags(synths: Synths) -> None:
    for synth in synths:
        template = synth.template_json(synth.stacks.audit)
        for lid, resource in _of(template, "AWS::S3::Bucket").items():
            tags = {t["Key"]: t["Value"] for t in resource["Properties"]["Tags"]}
            assert tags["Environment"] == synth.config.name, lid
            assert tags["Owner"] == synth.config.tags.owner
            assert tags["CostCenter"] == synth.config.tags.cost_center


def test_model_access_automation_is_opt_in_and_grants_what_the_handler_calls(
    synths: Synths,
) -> None:
    assert sorted(REQUIRED_ACTIONS) == sorted(model_access_handler.REQUIRED_ACTIONS)
    default = synths["default"].template_json(synths["default"].stacks.governance)
    assert not _of(default, "Custom::BedrockModelAccess")
    existing = synths["existing-vpc"]
    governance = existing.template_json(existing.stacks.governance)
    (resource,) = _of(governance, "Custom::BedrockModelAccess").values()
    props = resource["Properties"]
    assert props["ModelIds"] == ["anthropic.claude-sonnet-4-5-20250929-v1:0"]
    assert props["UseCaseForm"]["companyName"] == "Example Insurance AG"
    handler_policies = [
        p["Properties"]["PolicyDocument"]
        for k, p in _of(governance, "AWS::IAM::ManagedPolicy").items()
        if k.startswith("ModelAccessAutomationHandlerRole")
    ]
    actions = {
        a
        for doc in handler_policies
        for s in doc["Statement"]
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    assert set(REQUIRED_ACTIONS) <= actions


def test_invocation_logging_needs_no_feature_flag_from_the_app() -> None:
    """Another team's app may not set cdk.json's feature flags: in a plain ``cdk.App()``, CDK
    would give the access-log bucket the LogDelivery ACL, which bucket-owner-enforced ownership
    refuses (synth error). The construct sets the flag for its own buckets."""
    import aws_cdk as cdk
    from aws_cdk import aws_kms as kms
    from aws_cdk.assertions import Match, Template

    from bedrock_landing_zone import InvocationLogging, InvocationLoggingConfig

    app = cdk.App()  # no context at all
    stack = cdk.Stack(app, "Logging")
    InvocationLogging(
        stack,
        "InvocationLogging",
        config=InvocationLoggingConfig(),
        key=kms.Key(stack, "Key"),
        log_retention_days=365,
    )
    template = Template.from_stack(stack)
    for bucket in _of(dict(template.to_json()), "AWS::S3::Bucket").values():
        assert "AccessControl" not in bucket["Properties"]
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Principal": {"Service": "logging.s3.amazonaws.com"}})]
                )
            }
        },
    )
