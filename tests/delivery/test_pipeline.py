"""The CDK pipeline: source, synth, waves, approvals, smoke tests, cross-account, compliance.

The pipeline app is built once per session (tests/conftest.py: ``PipelineSynth``), through
``add_pipeline`` exactly as ``app.py`` does (a repository root with ``config/`` and
``package.json``), from the example pipeline plus a non-production stage in the production wave,
and synthesized with the five packs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs

from bedrock_landing_zone.compliance import PACKS, add_compliance_packs
from bedrock_landing_zone.compliance.evidence import ToolOutputs, parse_cfn_lint
from bedrock_landing_zone.compliance.summary import summarize
from bedrock_landing_zone.delivery.pipeline import SMOKE_SCRIPT, add_pipeline
from tests.conftest import (
    PIPELINE_FILE,
    ROOT,
    PipelineSynth,
    cdk_app,
    pipeline_data,
    pipeline_repository,
)
from tests.linters import failed_checks, skips_without_reason

TOOLING = "123456789012"
CLI_VERSION = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["devDependencies"][
    "aws-cdk"
]


@pytest.fixture(scope="module")
def synth(pipeline: PipelineSynth) -> PipelineSynth:
    """The session's synth of the test pipeline (tests/conftest.py: ``PipelineSynth``), which
    checkov and cfn-lint also lint with the example environments (``pipeline_lint``)."""
    return pipeline


def _stage_actions(synth: PipelineSynth, wave: str, stage: str) -> list[dict[str, Any]]:
    """The actions of one landing-zone stage. CDK prefixes them with ``<stage>.`` when the wave
    has several stages; a wave of one stage holds only that stage's actions."""
    actions = synth.actions(wave)
    prefixed = [a for a in actions if a["Name"].startswith(f"{stage}.")]
    return prefixed or actions


# ----- structure --------------------------------------------------------------------------------


def test_pipeline_stages_in_order(synth: PipelineSynth) -> None:
    assert [s["Name"] for s in synth.stages] == [
        "Source",
        "Build",
        "UpdatePipeline",
        "Assets",
        "Dev",
        "Prod",
    ]


def test_source_is_the_repository_connection(synth: PipelineSynth) -> None:
    (action,) = synth.actions("Source")
    assert action["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    config = action["Configuration"]
    assert config["ConnectionArn"] == synth.stack.plan.pipeline.connection_arn
    assert config["FullRepositoryId"] == "example-org/bedrock-landing-zone"
    assert config["BranchName"] == "main"
    trigger = next(r for r in synth.resources("AWS::CodePipeline::Pipeline").values())["Properties"]
    assert trigger["PipelineType"] == "V2"


def test_synth_step_runs_ci_make_test_then_synthesizes_the_pipeline(synth: PipelineSynth) -> None:
    (action,) = synth.actions("Build")
    project = synth.project(action)
    spec = json.loads(project["Source"]["BuildSpec"])
    assert spec["phases"]["install"]["commands"] == ["make setup"]
    assert spec["phases"]["build"]["commands"] == [
        "make test",
        f"make synth-pipeline PIPELINE={PIPELINE_FILE}",
    ]
    assert spec["artifacts"]["base-directory"] == "cdk.out"
    assert project["Environment"]["Image"] == "aws/codebuild/standard:7.0"  # has python3 + boto3
    assert project["Environment"]["ComputeType"] == "BUILD_GENERAL1_MEDIUM"
    assert project["Environment"]["PrivilegedMode"] is False
    assert project["TimeoutInMinutes"] == 90


def test_self_mutation_installs_the_pinned_cdk_cli(synth: PipelineSynth) -> None:
    (action,) = synth.actions("UpdatePipeline")
    spec = json.loads(synth.project(action)["Source"]["BuildSpec"])
    assert spec["phases"]["install"]["commands"] == [f"npm install -g aws-cdk@{CLI_VERSION}"]


def test_waves_in_order_and_the_stages_of_a_wave_in_parallel(synth: PipelineSynth) -> None:
    assert list(synth.stack.stages) == ["Dev", "ExistingVpc", "Shadow"]
    first = {
        stage: min(a["RunOrder"] for a in _stage_actions(synth, "Prod", stage))
        for stage in ("ExistingVpc", "Shadow")
    }
    assert first == {"ExistingVpc": 1, "Shadow": 1}, "both stages of the wave start together"
    deploys = [a for a in synth.actions("Dev") if "StackName" in a.get("Configuration", {})]
    stacks = {a["Configuration"]["StackName"] for a in deploys}
    shared = {
        f"bedrock-lz-default-{unit}"
        for unit in ("governance", "network", "audit", "inference", "observability")
    }
    teams = {f"bedrock-lz-default-team-{t}" for t in ("search", "assistant")}
    assert stacks == shared | teams
    # team stacks are deployed after the shared stacks they read, in parallel with each other
    execute = {
        a["Configuration"]["StackName"]: a["RunOrder"]
        for a in deploys
        if a["Configuration"].get("ActionMode") == "CHANGE_SET_EXECUTE"
    }
    assert len({execute[t] for t in teams}) == 1, "team stacks deploy in parallel"
    shared_needed = {"bedrock-lz-default-governance", "bedrock-lz-default-audit"}
    assert min(execute[t] for t in teams) > max(execute[s] for s in shared_needed)


def test_manual_approval_before_production_and_only_there(synth: PipelineSynth) -> None:
    manual = [
        (stage["Name"], a)
        for stage in synth.stages
        for a in stage["Actions"]
        if a["ActionTypeId"]["Provider"] == "Manual"
    ]
    assert [(wave, a["Name"]) for wave, a in manual] == [("Prod", "ExistingVpc.ApproveExistingVpc")]
    approval = manual[0][1]
    production_deploys = [
        a
        for a in _stage_actions(synth, "Prod", "ExistingVpc")
        if a["ActionTypeId"]["Provider"] == "CloudFormation"
    ]
    assert production_deploys
    assert all(a["RunOrder"] > approval["RunOrder"] for a in production_deploys)
    assert "111111111111" in approval["Configuration"]["CustomData"]
    assert set(synth.stack.approvals) == {"ExistingVpc"}


@pytest.mark.parametrize(
    ("wave", "stage", "env", "region", "role", "subnets"),
    [
        ("Dev", "Dev", "default", "us-east-1", "333333333333:role/PLACEHOLDER-search-team-role",
         ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]),
        ("Prod", "ExistingVpc", "existing-vpc", "eu-central-1",
         "111111111111:role/PLACEHOLDER-claims-team-role",
         ["subnet-0123456789abcdef8", "subnet-0123456789abcdef9"]),
        ("Prod", "Shadow", "default", "us-east-1", "444444444444:role/search-team",
         ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]),
    ],
)  # fmt: skip
def test_smoke_step_after_each_stage_inside_the_landing_zone_vpc(
    synth: PipelineSynth,
    wave: str,
    stage: str,
    env: str,
    region: str,
    role: str,
    subnets: list[str],
) -> None:
    mine = _stage_actions(synth, wave, stage)
    (smoke,) = [a for a in mine if a["Name"].endswith(f"Smoke{stage}")]
    deploys = [a for a in mine if a["ActionTypeId"]["Provider"] == "CloudFormation"]
    assert deploys and smoke["RunOrder"] > max(a["RunOrder"] for a in deploys)

    project = synth.project(smoke)
    command = json.loads(project["Source"]["BuildSpec"])["phases"]["build"]["commands"][0]
    assert command.startswith(f"python3 {SMOKE_SCRIPT} --env {env} --region {region}")
    assert f"--role-arn arn:aws:iam::{role}" in command
    assert sorted(project["VpcConfig"]["Subnets"]) == subnets
    assert project["VpcConfig"]["SecurityGroupIds"]

    role_id = project["ServiceRole"]["Fn::GetAtt"][0]
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synth.resources("AWS::IAM::ManagedPolicy").values()
        if {"Ref": role_id} in p["Properties"].get("Roles", [])
    ]
    assume = [s for statements in policies for s in statements if s["Action"] == "sts:AssumeRole"]
    assert [s["Resource"] for s in assume] == [f"arn:aws:iam::{role}"]


def test_cross_account_artifacts_are_kms_encrypted_and_deploys_use_target_roles(
    synth: PipelineSynth,
) -> None:
    (pipeline,) = synth.resources("AWS::CodePipeline::Pipeline").values()
    stores = pipeline["Properties"]["ArtifactStores"]
    assert {s["Region"] for s in stores} == {"us-east-1", "eu-central-1"}
    assert all(s["ArtifactStore"]["EncryptionKey"]["Type"] == "KMS" for s in stores)
    keys = synth.resources("AWS::KMS::Key")
    artifact_key = next(k for lid, k in keys.items() if "ArtifactsBucketEncryptionKey" in lid)
    assert artifact_key["Properties"]["EnableKeyRotation"] is True
    assert artifact_key["DeletionPolicy"] == "Retain"
    deploy_accounts = {
        json.dumps(a["RoleArn"]).split(":iam::")[1][:12]
        for stage in ("Dev", "Prod")
        for a in synth.actions(stage)
        if a["ActionTypeId"]["Provider"] == "CloudFormation"
    }
    assert deploy_accounts == {"333333333333", "111111111111", "222222222222", "444444444444"}


def test_stage_stacks_target_their_account_and_region(synth: PipelineSynth) -> None:
    expected = {
        "Dev": "aws://333333333333/us-east-1",
        "ExistingVpc": "aws://111111111111/eu-central-1",
        "Shadow": "aws://444444444444/us-east-1",
    }
    for stage, environment in expected.items():
        manifest = json.loads(
            (synth.outdir / f"assembly-Pipeline-{stage}" / "manifest.json").read_text("utf-8")
        )
        stacks = {
            a["displayName"]: a["environment"]
            for a in manifest["artifacts"].values()
            if a["type"] == "aws:cloudformation:stack"
        }
        organization = stacks.pop(f"Pipeline/{stage}/Organization", None)
        assert set(stacks.values()) == {environment}, stage
        if organization is not None:  # the SCP stack deploys in the management account
            assert organization == "aws://222222222222/eu-central-1"


def test_artifact_buckets_keep_access_logs_and_versions(synth: PipelineSynth) -> None:
    buckets = synth.resources("AWS::S3::Bucket")
    artifacts = next(b for lid, b in buckets.items() if lid.startswith("PipelineArtifactsBucket"))
    assert artifacts["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    assert artifacts["Properties"]["LoggingConfiguration"]["LogFilePrefix"] == "artifacts/"
    support = json.loads(
        (synth.outdir / f"cross-region-stack-{TOOLING}_eu-central-1.template.json").read_text(
            "utf-8"
        )
    )
    replication = [
        r
        for lid, r in support["Resources"].items()
        if r["Type"] == "AWS::S3::Bucket" and "ReplicationBucket" in lid and "AccessLogs" not in lid
    ]
    assert len(replication) == 1
    assert "LoggingConfiguration" in replication[0]["Properties"]


# ----- compliance -------------------------------------------------------------------------------


def _open_findings(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (v["ruleName"], c["constructPath"])
        for plugin in report["pluginReports"]
        for v in plugin.get("violations", [])
        for c in v.get("violatingConstructs", [])
    ]


def test_zero_open_findings_over_the_pipeline_and_every_stage(synth: PipelineSynth) -> None:
    assert _open_findings(synth.report) == []
    assert {name: t["open"] for name, t in summarize(synth.report).items() if t["open"]} == {}
    checked = {
        c["constructPath"].split("/")[1]
        for plugin in synth.report["pluginReports"]
        for v in plugin.get("suppressedViolations") or []
        for c in v["violatingConstructs"]
        if c["constructPath"].startswith("Pipeline/")
    }
    assert {"Dev", "ExistingVpc", "Shadow", "Pipeline"} <= checked, "stage stacks were checked"
    assert sorted(
        p["pluginName"] for p in synth.report["pluginReports"] if p["pluginName"] in PACKS
    ) == sorted(PACKS)


def test_pipeline_acknowledgments_are_granular_and_reasoned(synth: PipelineSynth) -> None:
    for plugin in synth.report["pluginReports"]:
        for finding in plugin.get("suppressedViolations") or []:
            assert finding["acknowledgedId"].startswith(f"{plugin['pluginName']}::")
            assert len(finding["reason"]) >= 20
            for construct in finding["violatingConstructs"]:
                assert construct["constructPath"].startswith(finding["acknowledgedAt"])
            assert finding["acknowledgedAt"].count("/") >= 1, "never on a stack or the app"


def test_packs_on_the_app_reach_the_stacks_inside_pipeline_stages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A non-compliant resource planted in a pipeline stage's stack fails synthesis.

    CDK Pipelines synthesizes each stage while it builds the pipeline, so the resources are
    planted as the stage is created (a stage subclass), not afterwards.
    """
    from bedrock_landing_zone.delivery import pipeline as pipeline_module
    from bedrock_landing_zone.delivery.landing_zone import LandingZoneStage

    class PlantedStage(LandingZoneStage):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            sqs.Queue(self.stacks.network, "NonCompliantQueue")
            s3.Bucket(self.stacks.network, "NonCompliantBucket")

    monkeypatch.setattr(pipeline_module, "LandingZoneStage", PlantedStage)
    data = pipeline_data()
    data["waves"] = data["waves"][:1]
    root = pipeline_repository(tmp_path, data)
    app = cdk_app("default", tmp_path / "out", cloudformation_validation=False)
    add_compliance_packs(app)
    add_pipeline(app, root=root, pipeline_file=PIPELINE_FILE)

    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()

    report = json.loads((tmp_path / "out" / "validation-report.json").read_text("utf-8"))
    paths = {path for _, path in _open_findings(report)}
    assert paths, "the planted resources are reported"
    assert all(p.startswith("Pipeline/Dev/Network/NonCompliant") for p in paths), paths
    packs = {rule.split("-", 1)[0] for rule, _ in _open_findings(report)}
    assert {"AwsSolutions", "NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321"} <= packs


def test_only_known_wildcards_are_acknowledged(tmp_path: Path) -> None:
    """CDK's own grant patterns are acknowledged; any other wildcard stays open."""
    from aws_cdk import aws_iam as iam

    from bedrock_landing_zone.delivery.pipeline import _acknowledge_wildcards

    app = cdk_app("default", tmp_path)
    add_compliance_packs(app)
    stack = cdk.Stack(app, "S", env=cdk.Environment(account=TOOLING, region="us-east-1"))
    bucket = s3.Bucket.from_bucket_name(stack, "Artifacts", "artifacts")
    policy = iam.ManagedPolicy(
        stack,
        "Grants",
        statements=[
            iam.PolicyStatement(actions=["s3:GetObject*"], resources=[bucket.arn_for_objects("x")]),
            iam.PolicyStatement(actions=["s3:Get*"], resources=["*"]),
        ],
    )
    resource = policy.node.default_child
    assert isinstance(resource, iam.CfnManagedPolicy)
    _acknowledge_wildcards(resource, {})

    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text("utf-8"))
    (aws,) = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    acknowledged = {v["acknowledgedId"] for v in aws["suppressedViolations"]}
    assert acknowledged == {"AwsSolutions::AwsSolutions-IAM5[Action::s3:GetObject*]"}
    assert {rule for rule, _ in _open_findings(report)} == {
        "AwsSolutions-IAM5[Action::s3:Get*]",
        "AwsSolutions-IAM5[Resource::*]",
    }


def test_cfn_lint_reports_nothing_on_pipeline_and_stage_templates(
    synth: PipelineSynth, pipeline_lint: ToolOutputs
) -> None:
    """cfn-lint over every template (the session's one run, informational checks included:
    those are not findings here, as in a run with cfn-lint's default checks)."""
    assert len(synth.templates) > 10
    matches = parse_cfn_lint(pipeline_lint.cfn_lint, synth.outdir)
    assert [m for m in matches if m.level != "Informational"] == []


def test_checkov_reports_no_failed_check_on_the_pipeline(
    synth: PipelineSynth, pipeline_lint: ToolOutputs
) -> None:
    reports = pipeline_lint.checkov
    assert sum(len(r["results"]["passed_checks"]) for r in reports) > 20  # it ran on them
    assert failed_checks(reports) == []
    # each skip's reason is in template metadata, and says something (the run behind this
    # test used to pass --quiet, whose JSON has failed checks only: this went unchecked)
    assert sum(len(r["results"]["skipped_checks"]) for r in reports) > 0
    assert skips_without_reason(reports) == []


def test_only_the_lookups_a_committed_cdk_context_json_must_answer(synth: PipelineSynth) -> None:
    """Stages with an explicit account and a new VPC look up availability zones: the CDK CLI
    in the synth step needs these answered in cdk.context.json (no credentials for lookups)."""
    manifest = json.loads((synth.outdir / "manifest.json").read_text("utf-8"))
    assert {m["key"] for m in manifest.get("missing", [])} == {
        "availability-zones:account=333333333333:region=us-east-1",
        "availability-zones:account=444444444444:region=us-east-1",
    }


def test_pipeline_stack_registers_the_packs_on_an_app_without_them(tmp_path: Path) -> None:
    app = cdk_app("default", tmp_path / "out")  # the context of `cdk synth`, no packs
    data = pipeline_data()
    data["waves"] = data["waves"][:1]
    add_pipeline(app, root=pipeline_repository(tmp_path, data), pipeline_file=PIPELINE_FILE)
    from bedrock_landing_zone.compliance import has_compliance_packs

    assert has_compliance_packs(app)
