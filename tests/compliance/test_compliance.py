"""Compliance gates: five cdk-nag packs on every stack of every stage; cfn-lint, checkov clean."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs

from bedrock_landing_zone.compliance import PACKS, acknowledge, add_compliance_packs
from bedrock_landing_zone.config import load_config
from bedrock_landing_zone.delivery.landing_zone import LandingZoneStage, add_landing_zone
from tests.conftest import CONFIG_DIR, EXAMPLE_ENVS, ComplianceReports, Synth, Synths, cdk_app


def _open_findings(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (plugin["pluginName"], violation["ruleName"], construct["constructPath"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]


def _plant_non_compliant(stack: cdk.Stack) -> None:
    """A bare queue and bucket: unencrypted in transit, no DLQ, no logging, no versioning."""
    sqs.Queue(stack, "NonCompliantQueue")
    s3.CfnBucket(stack, "NonCompliantBucket")


def _failing_synth(app: cdk.App, outdir: Path) -> tuple[str, dict[str, Any]]:
    with pytest.raises(RuntimeError, match="ValidationFailed") as info:
        app.synth()
    report = json.loads((outdir / "validation-report.json").read_text(encoding="utf-8"))
    return str(info.value), report


@pytest.mark.parametrize("env", EXAMPLE_ENVS)
def test_example_environment_has_zero_open_findings(synths: Synths, env: str) -> None:
    synth: Synth = synths[env]
    assert _open_findings(synth.report) == []
    for plugin in synth.report["pluginReports"]:
        assert plugin["conclusion"] == "success"


def test_every_acknowledgment_is_granular_and_reasoned(synths: Synths) -> None:
    for synth in synths:
        for plugin in synth.report["pluginReports"]:
            for finding in plugin.get("suppressedViolations") or []:
                assert finding["acknowledgedId"].startswith(f"{plugin['pluginName']}::")
                assert len(finding["reason"]) >= 20
                # acknowledged on the resource's own construct, never on a stack or the app
                for construct in finding["violatingConstructs"]:
                    assert construct["constructPath"].startswith(finding["acknowledgedAt"])
                assert finding["acknowledgedAt"].count("/") >= 1


def test_non_compliant_resource_fails_synth_in_app_and_in_every_stage(tmp_path: Path) -> None:
    """Packs on the app reach top-level stacks and the stacks of a nested stage, once each."""
    app = cdk_app("default", tmp_path, cloudformation_validation=False)
    add_compliance_packs(app)
    config = load_config("default", CONFIG_DIR)
    top = add_landing_zone(app, config)
    stage = LandingZoneStage(app, "Prod", config=config)
    _plant_non_compliant(top.governance)
    _plant_non_compliant(stage.stacks.network)

    message, report = _failing_synth(app, tmp_path)

    names = [plugin["pluginName"] for plugin in report["pluginReports"]]
    assert sorted(n for n in names if n in PACKS) == sorted(PACKS), "each pack exactly once"
    paths = {path for _, _, path in _open_findings(report)}
    assert {"Governance/NonCompliantQueue/Resource", "Governance/NonCompliantBucket"} <= paths
    assert {"Prod/Network/NonCompliantQueue/Resource", "Prod/Network/NonCompliantBucket"} <= paths
    assert all("NonCompliant" in path for path in paths), "only the planted resources"
    assert "AwsSolutions-SQS4" in message


def test_stage_brings_its_own_packs_into_an_app_without_them(tmp_path: Path) -> None:
    app = cdk_app("existing-vpc", tmp_path, cloudformation_validation=False)
    stage = LandingZoneStage(app, "Dev", config=load_config("existing-vpc", CONFIG_DIR))
    _plant_non_compliant(stage.stacks.governance)

    _, report = _failing_synth(app, tmp_path)

    failing_packs = {pack for pack, _, _ in _open_findings(report)}
    assert failing_packs == set(PACKS), "every one of the five packs checks the stage"


def test_acknowledge_requires_pack_prefix_and_reason() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    with pytest.raises(ValueError, match="real reason"):
        acknowledge(stack, ["AwsSolutions-IAM5[Resource::*]"], "because")
    with pytest.raises(ValueError, match="known pack"):
        acknowledge(stack, ["IAM5"], "a sufficiently long and specific reason")


@pytest.mark.parametrize("env", EXAMPLE_ENVS)
def test_cfn_lint_reports_nothing(
    synths: Synths, compliance_reports: ComplianceReports, env: str
) -> None:
    """cfn-lint (informational checks included) over every template, as `make report` runs it:
    one run per environment, shared with the report's staleness test."""
    lint = compliance_reports[env].cfn_lint
    assert lint.templates == len(list(synths[env].outdir.glob("*.template.json"))) > 0
    assert lint.matches == ()
    assert lint.unexplained_ignores == ()


@pytest.mark.parametrize("env", EXAMPLE_ENVS)
def test_checkov_reports_no_failed_check(compliance_reports: ComplianceReports, env: str) -> None:
    checkov = compliance_reports[env].checkov
    assert checkov.failed == ()
    assert checkov.parsing_errors == ()
    assert checkov.passed > 20
    # each skip's reason is in template metadata, and says something
    assert [s.check_id for s in checkov.skipped if len(s.reason.strip()) < 20] == []
