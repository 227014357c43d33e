"""Stable contracts: logical ids of stateful resources never change by accident.

Changing one of these ids makes CloudFormation replace the resource: a new key (old data
unreadable by new writers), a new log group (history split). Update the lock only on purpose.
"""

from __future__ import annotations

import pytest

from tests.conftest import Synths

#: Replacing one of these loses data (or makes it unreadable): locked ids AND retained.
RETAINED_TYPES = {"AWS::KMS::Key", "AWS::Logs::LogGroup", "AWS::S3::Bucket"}
#: Replacing one of these changes an ARN others depend on: locked ids.
STATEFUL_TYPES = RETAINED_TYPES | {"AWS::SNS::Topic", "AWS::Bedrock::Guardrail"}

LOCKED: dict[str, dict[str, set[str]]] = {
    "default": {
        "governance": {"LandingZoneKey369188A4", "GuardrailA5094A7B"},
        "network": {"PrivateNetworkFlowLogsD17D84BF"},
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
        for stack in synth.stacks.all():
            for logical_id, resource in synth.template_json(stack)["Resources"].items():
                if resource["Type"] in RETAINED_TYPES:
                    assert resource.get("DeletionPolicy") == "Retain", logical_id
                    assert resource.get("UpdateReplacePolicy") == "Retain", logical_id
