"""Preflight: AWS limits checked at synth, by the plugin ``add_compliance_packs`` registers.

One app with one deliberately oversized stack per limit is synthesized once for the module;
each test reads its own finding from the validation report. The landing zone itself is
measured on the session's example synths and on generated 3x3 and 5x5 configs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import aws_cdk as cdk
import pytest
import yaml
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_organizations as organizations
from aws_cdk import aws_ssm as ssm

from bedrock_landing_zone.compliance import add_compliance_packs
from bedrock_landing_zone.compliance.preflight import (
    LIMITS,
    PLUGIN_NAME,
    Knob,
    Measurement,
    PreflightChecks,
    StackFacts,
    measure,
)
from bedrock_landing_zone.config import LandingZoneConfig, parse_config
from bedrock_landing_zone.delivery.landing_zone import add_landing_zone
from bench.scale import generated_config_data
from tests.conftest import CONFIG_DIR, EXAMPLE_ENVS, Synths, cdk_app

Report = dict[str, Any]


def preflight_findings(report: Report) -> list[dict[str, Any]]:
    """(rule, construct path, description) of every open preflight finding."""
    return [
        {"rule": v["ruleName"], "path": c.get("constructPath", ""), "description": v["description"]}
        for plugin in report.get("pluginReports", [])
        if plugin["pluginName"] == PLUGIN_NAME
        for v in plugin.get("violations", [])
        for c in v.get("violatingConstructs", [])
    ]


def templates(outdir: Path) -> list[Path]:
    return sorted(outdir.glob("**/*.template.json"))


def failing_synth(app: cdk.App, outdir: Path) -> Report:
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    return json.loads((outdir / "validation-report.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


# ----- one oversized stack per limit -------------------------------------------------------------


def _statement(i: int, *, principal: bool = False, effect: str = "Allow") -> dict[str, Any]:
    return {
        "Sid": f"Statement{i:04d}",
        "Effect": effect,
        **({"Principal": "*"} if principal else {}),
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::landing-zone-bucket-{i:04d}/*",
    }


def _statements(count: int, **kw: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [_statement(i, **kw) for i in range(count)]}


_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _role(stack: cdk.Stack, **props: Any) -> iam.CfnRole:
    return iam.CfnRole(
        stack, "Role", assume_role_policy_document=props.pop("trust", _TRUST), **props
    )


def _function(stack: cdk.Stack, **props: Any) -> lambda_.CfnFunction:
    return lambda_.CfnFunction(
        stack,
        "Function",
        role="arn:aws:iam::111111111111:role/function",
        code=lambda_.CfnFunction.CodeProperty(zip_file="def handler(event, context): pass"),
        handler="index.handler",
        runtime="python3.14",
        **props,
    )


def _alarm_rule(alarms: int, name_length: int) -> str:
    return " OR ".join(
        f'ALARM("arn:aws:cloudwatch:us-east-1:111111111111:alarm:{"a" * name_length}-{i}")'
        for i in range(alarms)
    )


def _trust_policy(stack: cdk.Stack) -> None:
    principals = [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::111111111111:role/application-role-{i:02d}"},
            "Action": "sts:AssumeRole",
        }
        for i in range(30)
    ]
    _role(stack, trust={"Version": "2012-10-17", "Statement": principals})


def _inline_policies(stack: cdk.Stack) -> None:
    role = _role(stack)
    for name in ("First", "Second"):  # each under 10,240 alone, over it together
        iam.CfnPolicy(
            stack, name, policy_name=name, policy_document=_statements(65), roles=[role.ref]
        )


def _many_managed_policies(stack: cdk.Stack) -> None:
    _role(stack, managed_policy_arns=[f"arn:aws:iam::aws:policy/Policy{i}" for i in range(11)])


def _long_role_name(stack: cdk.Stack) -> None:
    # 21 + 1 + 50 characters once AWS::StackName is resolved
    _role(stack, role_name=cdk.Fn.join("-", [cdk.Aws.STACK_NAME, "r" * 50]))


def _many_resources(stack: cdk.Stack) -> None:
    for i in range(501):
        cdk.CfnWaitConditionHandle(stack, f"Handle{i}")


def _many_outputs(stack: cdk.Stack) -> None:
    for i in range(201):
        cdk.CfnOutput(stack, f"Output{i}", value="v")


def _many_parameters(stack: cdk.Stack) -> None:
    for i in range(201):
        cdk.CfnParameter(stack, f"Parameter{i}", default="v")


def _many_mappings(stack: cdk.Stack) -> None:
    for i in range(201):
        cdk.CfnMapping(stack, f"Mapping{i}", mapping={"key": {"value": "v"}})


def _wide_mapping(stack: cdk.Stack) -> None:
    cdk.CfnMapping(stack, "Wide", mapping={f"key{i}": {"value": "v"} for i in range(201)})


def _large_template(stack: cdk.Stack) -> None:
    handle = cdk.CfnWaitConditionHandle(stack, "Handle")
    handle.cfn_options.metadata = {"Padding": "p" * 1_000_000}


def _long_description(stack: cdk.Stack) -> None:
    stack.template_options.description = "d" * 1_025  # the Stack constructor refuses it


def _dashboard(stack: cdk.Stack, widgets: int = 1, name: str | None = None) -> None:
    body = {
        "widgets": [
            {
                "type": "text",
                "x": 0,
                "y": i,
                "width": 1,
                "height": 1,
                "properties": {"markdown": "w"},
            }
            for i in range(widgets)
        ]
    }
    cloudwatch.CfnDashboard(
        stack, "Dashboard", dashboard_body=json.dumps(body), dashboard_name=name
    )


def _composite_alarm(stack: cdk.Stack, rule: str) -> None:
    cloudwatch.CfnCompositeAlarm(stack, "Composite", alarm_rule=rule)


CASES: dict[str, Callable[[cdk.Stack], object]] = {
    # the synthetic policy that stays oversized whatever the landing zone's design
    "IAMManagedPolicySize": lambda s: iam.CfnManagedPolicy(
        s, "Oversized", policy_document=_statements(80)
    ),
    "IAMRoleTrustPolicySize": _trust_policy,
    "IAMRoleInlinePoliciesSize": _inline_policies,
    "IAMManagedPoliciesPerRole": _many_managed_policies,
    "IAMRoleName": _long_role_name,
    "IAMPolicyName": lambda s: iam.CfnManagedPolicy(
        s, "Named", managed_policy_name="p" * 129, policy_document=_statements(1)
    ),
    "OrganizationsPolicySize": lambda s: organizations.CfnPolicy(
        s,
        "Scp",
        name="oversized-scp",
        type="SERVICE_CONTROL_POLICY",
        content=_statements(60, effect="Deny"),
    ),
    "VpcEndpointPolicySize": lambda s: ec2.CfnVPCEndpoint(
        s,
        "Endpoint",
        vpc_id="vpc-0a1b2c3d4e5f67890",
        service_name="com.amazonaws.us-east-1.s3",
        policy_document=_statements(220, principal=True),
    ),
    "LambdaEnvironmentSize": lambda s: _function(
        s, environment=lambda_.CfnFunction.EnvironmentProperty(variables={"BIG": "e" * 4_100})
    ),
    "LambdaFunctionName": lambda s: _function(s, function_name="f" * 65),
    "StackResources": _many_resources,
    "StackOutputs": _many_outputs,
    "StackParameters": _many_parameters,
    "StackMappings": _many_mappings,
    "StackMappingAttributes": _wide_mapping,
    "TemplateSize": _large_template,
    "TemplateDescription": _long_description,
    "DashboardWidgets": lambda s: _dashboard(s, widgets=501),
    "DashboardName": lambda s: _dashboard(s, name="d" * 256),
    "CompositeAlarmRuleSize": lambda s: _composite_alarm(s, _alarm_rule(80, 100)),
    "CompositeAlarmRuleAlarms": lambda s: _composite_alarm(s, _alarm_rule(101, 1)),
    "AlarmName": lambda s: cloudwatch.CfnAlarm(
        s,
        "Alarm",
        alarm_name="a" * 256,
        comparison_operator="GreaterThanThreshold",
        evaluation_periods=1,
        metric_name="Errors",
        namespace="Example",
        period=60,
        statistic="Sum",
        threshold=1,
    ),
    "BedrockInferenceProfileName": lambda s: bedrock.CfnApplicationInferenceProfile(
        s,
        "Profile",
        inference_profile_name=cdk.Fn.join("-", [cdk.Aws.STACK_NAME, "p" * 45]),
        model_source=bedrock.CfnApplicationInferenceProfile.InferenceProfileModelSourceProperty(
            copy_from="arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"
        ),
    ),
    # 976 characters of name, over 1,011 once counted as the parameter's ARN
    "SSMParameterName": lambda s: ssm.CfnParameter(
        s, "Parameter", name="/" + "n" * 975, type="String", value="v"
    ),
    "LogGroupName": lambda s: logs.CfnLogGroup(s, "Logs", log_group_name="/" + "l" * 512),
}


@dataclass(frozen=True)
class Oversized:
    report: Report
    measurements: list[Measurement]
    raised: bool


@pytest.fixture(scope="module")
def oversized(tmp_path_factory: pytest.TempPathFactory) -> Oversized:
    outdir = tmp_path_factory.mktemp("preflight-oversized")
    app = cdk_app("default", outdir, cloudformation_validation=False)
    # CDK refuses more than 500 resources itself, unless an app raises its limit: preflight
    # holds the AWS limit whatever this context says.
    app.node.set_context("@aws-cdk/core:stackResourceLimit", 1_000)
    cdk.Validations.of(app).add_plugins(PreflightChecks())
    for rule, build in CASES.items():
        build(cdk.Stack(app, rule, stack_name=f"preflight-{rule}"))
    try:
        app.synth()
    except RuntimeError as exc:
        raised = "ValidationFailed" in str(exc)
    else:  # pragma: no cover
        raised = False
    report = json.loads((outdir / "validation-report.json").read_text(encoding="utf-8"))
    return Oversized(report, PreflightChecks().measurements(templates(outdir)), raised)


def test_every_limit_has_a_failing_case() -> None:
    assert set(CASES) == set(LIMITS) - {"StackName"}  # CDK itself refuses a long stack name


@pytest.mark.parametrize("rule", sorted(CASES))
def test_oversized_resource_fails_synth_naming_resource_limit_value_and_knob(
    oversized: Oversized, rule: str
) -> None:
    assert oversized.raised, "synth must fail"
    findings = [f for f in preflight_findings(oversized.report) if f["path"].split("/")[0] == rule]
    assert [f["rule"] for f in findings] == [rule], "exactly this limit, once, in its stack"
    (finding,) = findings
    (measured,) = [
        m for m in oversized.measurements if m.stack.display_name == rule and m.limit.rule == rule
    ]
    limit = LIMITS[rule]
    assert measured.exceeded
    text = finding["description"]
    assert f"measures {measured.value:,} {limit.unit}" in text
    assert f"the limit is {measured.maximum:,} ({limit.source})" in text
    assert "Driven by: " in text
    if measured.logical_id is None:  # a stack-level limit names the stack
        assert finding["path"] == rule
        assert f"stack preflight-{rule} ({rule})" in text
    else:  # a resource limit names logical id and construct path
        assert f"{measured.logical_id} ({finding['path']})" in text
        assert finding["path"].startswith(f"{rule}/")
    if limit.adjustable:
        assert f"PreflightChecks(quotas={{'{rule}': N}})" in text


def test_a_construct_without_a_known_knob_is_named_as_the_thing_to_change(
    oversized: Oversized,
) -> None:
    (finding,) = [
        f for f in preflight_findings(oversized.report) if f["rule"] == "IAMManagedPolicySize"
    ]
    assert finding["path"] == "IAMManagedPolicySize/Oversized"
    assert (
        "no configuration knob is known for it: change the construct at" in finding["description"]
    )


def test_intrinsics_are_measured_resolved_not_as_tokens(oversized: Oversized) -> None:
    """The role name is a join of AWS::StackName and 50 characters: 72 once resolved."""
    (name,) = [m for m in oversized.measurements if m.limit.rule == "IAMRoleName"]
    assert name.value == len("preflight-IAMRoleName") + 1 + 50
    (ssm_name,) = [m for m in oversized.measurements if m.limit.rule == "SSMParameterName"]
    assert ssm_name.value > 1_011 > 976  # the ARN counts, not only the name


# ----- registration: the app, every stage, a stage on its own ------------------------------------


def _oversized_policy(scope: cdk.Stage, stack_id: str) -> None:
    iam.CfnManagedPolicy(cdk.Stack(scope, stack_id), "Oversized", policy_document=_statements(80))


def test_add_compliance_packs_runs_preflight_on_the_app_and_in_every_stage(tmp_path: Path) -> None:
    app = cdk_app("default", tmp_path, cloudformation_validation=False)
    add_compliance_packs(app)
    _oversized_policy(app, "Top")
    _oversized_policy(cdk.Stage(app, "Prod"), "Nested")

    report = failing_synth(app, tmp_path)

    names = [p["pluginName"] for p in report["pluginReports"]]
    assert names.count(PLUGIN_NAME) == 1
    paths = {f["path"] for f in preflight_findings(report) if f["rule"] == "IAMManagedPolicySize"}
    assert paths == {"Top/Oversized", "Prod/Nested/Oversized"}


def test_a_stage_with_its_own_packs_is_checked_and_only_it(tmp_path: Path) -> None:
    app = cdk_app("default", tmp_path, cloudformation_validation=False)  # no packs on the app
    checked = cdk.Stage(app, "Checked")
    add_compliance_packs(checked)
    _oversized_policy(checked, "Stack")
    _oversized_policy(cdk.Stage(app, "Unchecked"), "Stack")

    report = failing_synth(app, tmp_path)

    assert {f["path"] for f in preflight_findings(report)} == {"Checked/Stack/Oversized"}


def test_a_preflight_finding_cannot_be_acknowledged(tmp_path: Path) -> None:
    """AWS refuses the deploy whatever a reviewer accepts: the finding is fatal."""
    app = cdk_app("default", tmp_path, cloudformation_validation=False)
    cdk.Validations.of(app).add_plugins(PreflightChecks())
    stack = cdk.Stack(app, "Acknowledged")
    policy = iam.CfnManagedPolicy(stack, "Oversized", policy_document=_statements(80))
    cdk.Validations.of(policy).acknowledge(
        cdk.Acknowledgment(
            id=f"{PLUGIN_NAME}::IAMManagedPolicySize", reason="We accept the risk of this size."
        )
    )

    report = failing_synth(app, tmp_path)

    assert [f["path"] for f in preflight_findings(report)] == ["Acknowledged/Oversized"]


def test_construct_paths_come_from_the_assembly_without_path_metadata(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path))  # a plain App: no aws:cdk:path in the template
    _oversized_policy(app, "Plain")
    app.synth()
    (measured,) = [
        m
        for m in PreflightChecks().measurements(templates(tmp_path))
        if m.limit.rule == "IAMManagedPolicySize"
    ]
    assert "Metadata" not in measured.stack.resources[measured.logical_id or ""]
    assert measured.construct_path == "Plain/Oversized"


# ----- exact limits, quotas, knobs (no synth) ---------------------------------------------------


def _facts(resources: dict[str, Any], **template: Any) -> StackFacts:
    return StackFacts(
        template={"Resources": resources, **template},
        stack_name="unit",
        region="us-east-1",
        display_name="Unit",
    )


def _policy_of(characters: int) -> dict[str, Any]:
    """A policy of exactly ``characters`` characters (no whitespace), padded in its Sid."""
    statement = {"Sid": "", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    base: dict[str, Any] = {"Version": "2012-10-17", "Statement": [statement]}
    statement["Sid"] = "S" * (characters - len(json.dumps(base, separators=(",", ":"))))
    return base


def _value(stacks: StackFacts, rule: str, **kw: Any) -> Measurement:
    (measured,) = [m for m in measure([stacks], **kw) if m.limit.rule == rule]
    return measured


@pytest.mark.parametrize(("characters", "exceeded"), [(6_144, False), (6_145, True)])
def test_managed_policy_limit_is_exact(characters: int, exceeded: bool) -> None:
    policy = {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {"PolicyDocument": _policy_of(characters)},
    }
    measured = _value(_facts({"P": policy}), "IAMManagedPolicySize")
    assert (measured.value, measured.exceeded) == (characters, exceeded)


def test_policy_whitespace_is_not_counted_but_endpoint_policy_whitespace_is() -> None:
    document = json.dumps(_policy_of(1_000), indent=4)
    resources = {
        "P": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": document}},
        "E": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {"PolicyDocument": document}},
    }
    assert _value(_facts(resources), "IAMManagedPolicySize").value == 1_000
    assert _value(_facts(resources), "VpcEndpointPolicySize").value == len(document)


def test_tokens_that_look_short_are_long_once_resolved() -> None:
    """60 statements naming a role ARN: under 6,144 characters as template, over once resolved."""
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": {"Fn::GetAtt": ["Role", "Arn"]},
            }
            for _ in range(60)
        ],
    }
    resources = {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": _TRUST}},
        "P": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": document}},
    }
    assert len(json.dumps(document, separators=(",", ":"))) < 6_144
    assert _value(_facts(resources), "IAMManagedPolicySize").exceeded


@pytest.mark.parametrize(("size", "exceeded"), [(4_096, False), (4_097, True)])
def test_lambda_environment_counts_the_bytes_of_its_json(size: int, exceeded: bool) -> None:
    overhead = len('{"V":""}')
    value = "é" + "e" * (size - overhead - 2)  # é is two bytes in UTF-8
    function = {
        "Type": "AWS::Lambda::Function",
        "Properties": {"Environment": {"Variables": {"V": value}}},
    }
    measured = _value(_facts({"F": function}), "LambdaEnvironmentSize")
    assert (measured.value, measured.exceeded) == (size, exceeded)


def test_stack_name_over_128_characters() -> None:
    with pytest.raises(RuntimeError, match="Stack name must be <= 128 characters"):
        cdk.Stack(cdk.App(), "Long", stack_name="s" * 129)  # CDK refuses it before synth
    facts = StackFacts(template={}, stack_name="s" * 129, display_name="Long")
    assert _value(facts, "StackName").exceeded


def test_an_adjustable_quota_can_be_raised_a_fixed_limit_cannot() -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "S" * 2_500, "Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}
        ],
    }
    facts = _facts(
        {"R": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": trust}}}
    )
    assert _value(facts, "IAMRoleTrustPolicySize").exceeded
    raised = PreflightChecks(quotas={"IAMRoleTrustPolicySize": 4_096})
    assert not list(raised.violations(raised.measure([facts])))
    with pytest.raises(ValueError, match="not an adjustable quota"):
        PreflightChecks(quotas={"IAMManagedPolicySize": 10_000})


def test_own_knobs_come_before_the_landing_zone_s() -> None:
    policy = {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {"PolicyDocument": _policy_of(7_000)},
    }
    facts = StackFacts(
        template={"Resources": {"P": policy}},
        stack_name="unit",
        display_name="Unit",
        paths={"P": "Unit/Reports/Policy/Resource"},
    )
    plugin = PreflightChecks(knobs=[Knob(r"/Reports/", "`reports.buckets` in our config")])
    (violation,) = plugin.violations(measure([facts]))
    assert violation.fix == "`reports.buckets` in our config"
    assert "Driven by: `reports.buckets` in our config." in violation.description


# ----- the landing zone --------------------------------------------------------------------------

#: Rules the example environments must exercise (so a clean result means something).
MEASURED_ON_THE_LANDING_ZONE = {
    "IAMManagedPolicySize",
    "IAMRoleTrustPolicySize",
    "VpcEndpointPolicySize",
    "LambdaEnvironmentSize",
    "DashboardWidgets",
    "CompositeAlarmRuleSize",
    "BedrockInferenceProfileName",
    "StackResources",
    "TemplateSize",
}


@pytest.mark.parametrize("env", EXAMPLE_ENVS)
def test_example_environment_is_preflight_clean(synths: Synths, env: str) -> None:
    synth = synths[env]
    assert preflight_findings(synth.report) == []
    measurements = PreflightChecks().measurements(templates(synth.outdir))
    assert {m.limit.rule for m in measurements} >= MEASURED_ON_THE_LANDING_ZONE
    assert [(m.limit.rule, m.construct_path, m.value) for m in measurements if m.exceeded] == []


_EXTRA_MODELS = [
    {"alias": "nova-pro", "model_id": "amazon.nova-pro-v1:0"},
    {"alias": "nova-micro", "model_id": "amazon.nova-micro-v1:0"},
]


def grid_config(size: int) -> LandingZoneConfig:
    """config/default.yaml with ``size`` models and ``size`` teams that each use all of them."""
    data = yaml.safe_load((CONFIG_DIR / "default.yaml").read_text(encoding="utf-8"))
    models = [*data["models"], *_EXTRA_MODELS][:size]
    aliases = [m["alias"] for m in models]
    for model in models:
        model["fallbacks"] = [f for f in model.get("fallbacks", []) if f in aliases]
    data["models"] = models
    data["teams"] = [{"name": f"team{i}", "models": aliases} for i in range(1, size + 1)]
    return parse_config(data, source=f"generated {size}x{size} from config/default.yaml")


@dataclass(frozen=True)
class Grid:
    report: Report | None
    measurements: list[Measurement]

    def boundaries(self) -> list[Measurement]:
        """Each team's permissions boundary (in its own stack)."""
        return [
            m
            for m in self.measurements
            if m.limit.rule == "IAMManagedPolicySize"
            and re.fullmatch(
                r"Team[A-Za-z0-9]+/Access/ModelAccess/Boundary/Resource", m.construct_path or ""
            )
        ]


@pytest.fixture(scope="module")
def grids(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Grid]:
    out = {}
    for size in (3, 5):
        outdir = tmp_path_factory.mktemp(f"preflight-{size}x{size}")
        app = cdk_app("default", outdir)
        cdk.Validations.of(app).add_plugins(PreflightChecks())  # the packs are tested elsewhere
        add_landing_zone(app, grid_config(size))
        report: Report | None = None
        try:
            app.synth()
        except RuntimeError:
            report = json.loads((outdir / "validation-report.json").read_text(encoding="utf-8"))
        out[size] = Grid(report, PreflightChecks().measurements(templates(outdir)))
    return out


def test_3_models_x_3_teams_pass(grids: dict[int, Grid]) -> None:
    grid = grids[3]
    assert grid.report is None, "synth succeeds"
    assert len(grid.boundaries()) == 3
    assert all(0 < b.value <= 6_144 for b in grid.boundaries())
    assert [m for m in grid.measurements if m.exceeded] == []


def test_5_models_x_5_teams_pass_and_no_boundary_grows_with_the_teams(
    grids: dict[int, Grid],
) -> None:
    """Before team vending the shared boundary listed every team's profile for every model
    and measured 6,266 characters at 5x5 (over IAM's 6,144): each team now has its own,
    sized by its own models, so five teams measure what one does."""
    grid = grids[5]
    assert grid.report is None, "synth succeeds"
    sizes = {b.value for b in grid.boundaries()}
    assert len(grid.boundaries()) == 5 and len(sizes) == 1, sizes
    assert sizes.pop() <= 6_144
    assert [m for m in grid.measurements if m.exceeded] == []


# ----- a landing-zone config past the limits: the message names the config knob -----------------

#: 110 allow-listed models and one team given 14 of them (generated like ``make bench``'s scale
#: configs, which stay inside every limit).
CROWDED_MODELS, CROWDED_TEAM_MODELS = 110, 14


def crowded_config() -> LandingZoneConfig:
    """Past config.MAX_MODELS (100), which the config refuses: lifted here, so the test shows
    that preflight still catches what the constructs would deploy beyond it."""
    data = generated_config_data(CROWDED_MODELS, 1)
    aliases = [m["alias"] for m in data["models"]]
    data["teams"] = [{"name": "big", "models": aliases[:CROWDED_TEAM_MODELS]}]
    with mock.patch("bedrock_landing_zone.config.model.MAX_MODELS", CROWDED_MODELS):
        return parse_config(data, source="crowded.yaml")


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> Grid:
    outdir = tmp_path_factory.mktemp("preflight-crowded")
    app = cdk_app("default", outdir, cloudformation_validation=False)
    cdk.Validations.of(app).add_plugins(PreflightChecks())
    add_landing_zone(app, crowded_config())
    report = failing_synth(app, outdir)
    return Grid(report, PreflightChecks().measurements(templates(outdir)))


def test_a_config_past_the_limits_fails_synth_naming_the_knob_to_turn(crowded: Grid) -> None:
    """Each finding names the resource, the limit, the measured value and the config knob."""
    assert crowded.report is not None
    findings = {
        (f["rule"], f["path"]): f["description"] for f in preflight_findings(crowded.report)
    }
    team_knob = "Driven by: this team's `teams[].models` (each model adds its ARNs"
    models_knob = "Driven by: `models` (the inference function's grants come in policies of 12"
    expected = {
        ("IAMManagedPolicySize", "TeamBig/Access/ModelAccess/Boundary/Resource"): team_knob,
        ("IAMManagedPolicySize", "TeamBig/Access/ModelAccess/Policy/Resource"): team_knob,
        ("IAMManagedPoliciesPerRole", "Inference/GuardedInference/Handler/Role/Resource"): (
            models_knob
        ),
    }
    assert set(findings) == set(expected)
    for (rule, path), knob in expected.items():
        (measured,) = [
            m
            for m in crowded.measurements
            if m.limit.rule == rule and m.construct_path == path and m.exceeded
        ]
        text = findings[(rule, path)]
        assert f"{measured.logical_id} ({path}) in stack {measured.stack.stack_name}" in text
        assert f"measures {measured.value:,} {LIMITS[rule].unit}" in text
        assert f"the limit is {measured.maximum:,} ({LIMITS[rule].source})" in text
        assert knob in text
    (role,) = [
        m
        for m in crowded.measurements
        if m.limit.rule == "IAMManagedPoliciesPerRole"
        and m.construct_path == "Inference/GuardedInference/Handler/Role/Resource"
    ]
    assert role.value == -(-CROWDED_MODELS // 12) + 1  # a policy per 12 models, its Permissions
