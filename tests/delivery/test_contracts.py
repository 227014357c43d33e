"""Stable contracts: logical ids of stateful resources never change by accident.

Changing one of these ids makes CloudFormation replace the resource: a new key (old data
unreadable by new writers), a new log group (history split). Update the lock only on purpose.
"""

from __future__ import annotations

import pytest

from tests.conftest import Synth, Synths

#: Replacing one of these loses data (or makes it unreadable): locked ids AND retained.
RETAINED_TYPES = {"AWS::KMS::Key", "AWS::Logs::LogGroup", "AWS::S3::Bucket"}
#: Replacing one of these changes an ARN others depend on: locked ids.
STATEFUL_TYPES = RETAINED_TYPES | {"AWS::SNS::Topic", "AWS::Bedrock::Guardrail"}

LOCKED: dict[str, dict[str, set[str]]] = {
    "default": {
        "governance": {"LandingZoneKey369188A4", "GuardrailA5094A7B"},
        "network": {"PrivateNetworkFlowLogsD17D84BF"},
        "audit": {
            "AlertsTopicCF7C81C9",
            "InvocationLoggingAccessLogBucketAF619DF5",
            "InvocationLoggingBucketF12B4122",
            "InvocationLoggingConfigurationHandlerLogs034A72B8",
            "InvocationLoggingLogGroupEDBFE163",
        },
        "inference": {"GuardedInferenceHandlerLogs13D4CFFD", "PrivateApiAccessLogs91F4282E"},
        "observability": set(),
    },
}


@pytest.mark.parametrize("env", sorted(LOCKED))
def test_stateful_logical_ids_are_locked(synths: Synths, env: str) -> None:
    synth = synths[env]
    for unit, expected in LOCKED[env].items():
        stack = getattr(synth.stacks, unit)
        resources = synth.template_json(stack)["Resources"]
        stateful = {k for k, v in resources.items() if v["Type"] in STATEFUL_TYPES}
        assert stateful == expected, f"{unit}: stateful logical ids changed"


def test_every_stateful_resource_is_retained(synths: Synths) -> None:
    for synth in synths:
        for stack in synth.stacks.all():  # every stack of every example environment
            for logical_id, resource in synth.template_json(stack)["Resources"].items():
                if resource["Type"] in RETAINED_TYPES:
                    assert resource.get("DeletionPolicy") == "Retain", logical_id
                    assert resource.get("UpdateReplacePolicy") == "Retain", logical_id


def test_stack_names_and_ids_are_stable(default: Synth) -> None:
    names = {s.node.id: s.stack_name for s in default.stacks.all()}
    assert names == {
        "Governance": "bedrock-lz-default-governance",
        "Network": "bedrock-lz-default-network",
        "Audit": "bedrock-lz-default-audit",
        "Inference": "bedrock-lz-default-inference",
        "Observability": "bedrock-lz-default-observability",
        "TeamSearch": "bedrock-lz-default-team-search",
        "TeamAssistant": "bedrock-lz-default-team-assistant",
    }


def test_ssm_parameter_names_are_a_public_contract(synths: Synths) -> None:
    """Other teams' apps read these names: renaming one breaks them."""
    expected = {
        "/bedrock-lz/default/guardrail/arn",
        "/bedrock-lz/default/guardrail/id",
        "/bedrock-lz/default/guardrail/version",
        "/bedrock-lz/default/kms-key-arn",
        "/bedrock-lz/default/network/vpc-id",
        "/bedrock-lz/default/network/private-subnet-ids",
        "/bedrock-lz/default/network/availability-zones",
        "/bedrock-lz/default/network/client-security-group-id",
        "/bedrock-lz/default/alerts/topic-arn",
        "/bedrock-lz/default/teams/search/role-arn",
        "/bedrock-lz/default/teams/search/model-access-policy-arn",
        "/bedrock-lz/default/teams/search/inference-access",
        "/bedrock-lz/default/teams/assistant/role-arn",
        "/bedrock-lz/default/teams/assistant/model-access-policy-arn",
        "/bedrock-lz/default/teams/assistant/inference-access",
        "/bedrock-lz/default/inference/api-url",
        "/bedrock-lz/default/inference/api-id",
    }
    synth = synths["default"]
    names = {
        r["Properties"]["Name"]
        for stack in synth.stacks.all()
        for r in synth.template_json(stack)["Resources"].values()
        if r["Type"] == "AWS::SSM::Parameter"
    }
    assert names == expected
