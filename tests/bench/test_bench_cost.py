"""The fixed-cost calculator of `make bench` on small hand-written templates (no synth).

Assumptions these tests pin down:
- list prices without any free tier: the CloudWatch free tier (10 alarm metrics, 3 dashboards)
  and the KMS free requests are per account, shared with everything else in it, so the fourth
  dashboard costs what the first does;
- an interface endpoint costs one endpoint-hour per AZ, and its AZ count is its subnet count;
- usage-based resources are listed but never added to the fixed total.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.cost import (
    Line,
    alarm_kind,
    classify,
    estimate_environment,
    estimate_template,
    interface_endpoint_azs,
    iter_stack_templates,
    render_environment,
    service_label,
)
from bench.pricing import HOURS_PER_MONTH, PRICES, price

ENDPOINT_AZ_MONTH = 0.01 * 730  # $7.30


def template(**resources: dict[str, Any]) -> dict[str, Any]:
    return {"Resources": resources}


def total(tpl: dict[str, Any]) -> float:
    return round(sum(line.monthly_usd for line in estimate_template("Stack", tpl)), 6)


def kinds(lines: list[Line]) -> list[str]:
    return [line.kind for line in lines]


def interface_endpoint(service: str, subnets: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "ServiceName": f"com.amazonaws.us-east-1.{service}",
        "VpcEndpointType": "Interface",
        "VpcId": {"Ref": "Vpc"},
    }
    if subnets is not None:
        props["SubnetIds"] = subnets
    return {"Type": "AWS::EC2::VPCEndpoint", "Properties": props}


def metric_alarm(period: int = 300, **extra: Any) -> dict[str, Any]:
    props = {
        "MetricName": "Errors",
        "Namespace": "AWS/Lambda",
        "Period": period,
        "Statistic": "Sum",
        "EvaluationPeriods": 1,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanThreshold",
        **extra,
    }
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": props}


def stat(metric_id: str, period: int = 300) -> dict[str, Any]:
    return {
        "Id": metric_id,
        "MetricStat": {
            "Metric": {"MetricName": metric_id, "Namespace": "AWS/Bedrock"},
            "Period": period,
            "Stat": "Sum",
        },
        "ReturnData": False,
    }


def math_alarm(*queries: dict[str, Any], **extra: Any) -> dict[str, Any]:
    props = {"Metrics": list(queries), "EvaluationPeriods": 1, **extra}
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": props}


# --- price table ---------------------------------------------------------------------------------


def test_every_price_states_an_https_source_and_how_it_was_checked() -> None:
    for entry in PRICES.values():
        assert entry.source.startswith("https://aws.amazon.com/"), entry.key
        assert entry.checked in {"official", "secondary", "unconfirmed"}
        if entry.checked == "secondary":
            assert entry.corroboration, f"{entry.key}: secondary needs corroborating pages"
        assert entry.per in {"hour", "month"}


def test_hourly_prices_are_converted_with_730_hours() -> None:
    assert HOURS_PER_MONTH == 730
    assert price("interface_endpoint").monthly_usd == pytest.approx(7.30)
    assert price("nat_gateway").monthly_usd == pytest.approx(32.85)
    assert price("kms_key").monthly_usd == 1.00


def test_an_unknown_price_key_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="interface_endpoint"):
        price("nope")


# --- interface endpoints: endpoints x AZs --------------------------------------------------------


def test_interface_endpoint_costs_one_endpoint_hour_per_subnet() -> None:
    subnets = [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}, "subnet-0123456789abcdef0"]
    lines = estimate_template("Net", template(Ep=interface_endpoint("bedrock-runtime", subnets)))
    fixed = [line for line in lines if line.kind == "fixed"]
    assert len(fixed) == 1
    assert fixed[0].quantity == 3
    assert fixed[0].monthly_usd == pytest.approx(3 * ENDPOINT_AZ_MONTH)  # $21.90
    assert "bedrock-runtime" in fixed[0].item
    assert "usage" in kinds(lines), "data processed is listed as usage-based"


def test_endpoints_times_azs_sum_over_endpoints() -> None:
    two_azs = [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}]
    tpl = template(
        Runtime=interface_endpoint("bedrock-runtime", two_azs),
        Api=interface_endpoint("execute-api", two_azs),
        Logs=interface_endpoint("logs", [{"Ref": "SubnetA"}]),
    )
    assert total(tpl) == pytest.approx((2 + 2 + 1) * ENDPOINT_AZ_MONTH)  # $36.50


def test_gateway_endpoint_is_free_and_is_cloudformations_default_type() -> None:
    s3 = {
        "Type": "AWS::EC2::VPCEndpoint",
        "Properties": {
            "ServiceName": {"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".s3"]]},
            "VpcId": {"Ref": "Vpc"},
            "RouteTableIds": [{"Ref": "Rt"}],
        },
    }
    lines = classify("Net", "S3", s3)
    assert kinds(lines) == ["free"]
    assert lines[0].item == "Gateway endpoint s3"


@pytest.mark.parametrize("subnets", [None, {"Fn::Split": [",", {"Ref": "SubnetList"}]}])
def test_uncountable_subnets_are_unpriced_not_guessed(subnets: Any) -> None:
    lines = classify("Net", "Ep", interface_endpoint("sts", subnets))
    assert "unpriced" in kinds(lines)
    assert "fixed" not in kinds(lines)
    assert interface_endpoint_azs(interface_endpoint("sts", subnets)["Properties"]) is None


def test_gateway_load_balancer_endpoint_is_flagged_unpriced() -> None:
    gwlb = interface_endpoint("x", ["subnet-a"])
    gwlb["Properties"]["VpcEndpointType"] = "GatewayLoadBalancer"
    assert kinds(classify("Net", "Ep", gwlb)) == ["unpriced"]


def test_service_label_renders_joined_service_names() -> None:
    assert service_label("com.amazonaws.eu-central-1.bedrock-runtime") == "bedrock-runtime"
    joined = {"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".execute-api"]]}
    assert service_label(joined) == "execute-api"
    assert service_label({"Fn::ImportValue": "x"}) == "<token>"


# --- alarms --------------------------------------------------------------------------------------


def test_single_metric_standard_alarm() -> None:
    assert alarm_kind(metric_alarm()["Properties"]) == ("alarm_standard", 1)
    assert total(template(A=metric_alarm())) == pytest.approx(0.10)


def test_high_resolution_alarm_has_a_period_below_60_seconds() -> None:
    assert alarm_kind(metric_alarm(period=10)["Properties"]) == ("alarm_high_resolution", 1)
    assert total(template(A=metric_alarm(period=10))) == pytest.approx(0.30)


def test_metric_math_alarm_is_billed_per_metric_it_reads() -> None:
    rate = math_alarm(
        {"Id": "rate", "Expression": "100 * errors / MAX([calls, 1])", "ReturnData": True},
        stat("errors"),
        stat("calls"),
    )
    assert alarm_kind(rate["Properties"]) == ("alarm_standard", 2)
    assert total(template(A=rate)) == pytest.approx(0.20)


def test_anomaly_detection_alarm_by_threshold_metric_id() -> None:
    anomaly = math_alarm(
        stat("m"),
        {"Id": "band", "Expression": "ANOMALY_DETECTION_BAND(m, 2)", "ReturnData": True},
        ThresholdMetricId="band",
        ComparisonOperator="GreaterThanUpperThreshold",
    )
    assert alarm_kind(anomaly["Properties"]) == ("alarm_anomaly_standard", 1)
    assert total(template(A=anomaly)) == pytest.approx(0.30)


def test_anomaly_detection_alarm_by_band_expression_and_high_resolution() -> None:
    anomaly = math_alarm(
        stat("m", period=10),
        {"Id": "band", "Expression": "anomaly_detection_band(m)", "ReturnData": True},
    )
    assert alarm_kind(anomaly["Properties"]) == ("alarm_anomaly_high_resolution", 1)
    assert total(template(A=anomaly)) == pytest.approx(0.90)


def test_metrics_insights_query_alarm_is_unpriced() -> None:
    query = math_alarm(
        {"Id": "q", "Expression": 'SELECT MAX(CPUUtilization) FROM SCHEMA("AWS/EC2")', "Period": 60}
    )
    assert kinds(classify("Obs", "Q", query)) == ["unpriced"]
    assert total(template(Q=query)) == 0


def test_composite_alarm_is_billed_on_top_of_its_children() -> None:
    composite = {
        "Type": "AWS::CloudWatch::CompositeAlarm",
        "Properties": {"AlarmRule": 'ALARM("a") OR ALARM("b")'},
    }
    tpl = template(A=metric_alarm(), B=metric_alarm(), C=composite)
    assert total(tpl) == pytest.approx(0.10 + 0.10 + 0.50)


def test_no_free_tier_ten_standard_alarms_cost_a_dollar() -> None:
    alarms = {f"A{i}": metric_alarm() for i in range(10)}
    assert total(template(**alarms)) == pytest.approx(1.00)


# --- dashboards ----------------------------------------------------------------------------------


def test_every_dashboard_is_billed_no_three_free() -> None:
    dashboard = {"Type": "AWS::CloudWatch::Dashboard", "Properties": {"DashboardBody": "{}"}}
    dashboards = {f"D{i}": dashboard for i in range(4)}
    assert total(template(**dashboards)) == pytest.approx(4 * 3.00)


# --- keys, secrets, parameters, WAF, NAT ----------------------------------------------------------


def test_customer_managed_key_is_fixed_and_its_alias_free() -> None:
    tpl = template(
        Key={"Type": "AWS::KMS::Key", "Properties": {"EnableKeyRotation": True}},
        Alias={"Type": "AWS::KMS::Alias", "Properties": {"AliasName": "alias/x"}},
    )
    lines = estimate_template("Gov", tpl)
    assert total(tpl) == pytest.approx(1.00)
    assert kinds(lines) == ["fixed", "usage", "free"]
    assert "rotation" in lines[0].note


def test_ssm_parameters_standard_free_advanced_priced() -> None:
    def parameter(**props: Any) -> dict[str, Any]:
        return {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", **props}}

    tpl = template(
        Standard=parameter(Value="a"),
        Advanced=parameter(Value="b", Tier="Advanced"),
        WithPolicies=parameter(Value="c", Policies="[]"),
    )
    assert total(tpl) == pytest.approx(2 * 0.05)


def test_secret_web_acl_with_rules_and_nat_gateway() -> None:
    tpl = template(
        Secret={"Type": "AWS::SecretsManager::Secret", "Properties": {}},
        Acl={"Type": "AWS::WAFv2::WebACL", "Properties": {"Rules": [{}, {}, {}]}},
        Nat={"Type": "AWS::EC2::NatGateway", "Properties": {}},
        Eip={"Type": "AWS::EC2::EIP", "Properties": {}},
    )
    assert total(tpl) == pytest.approx(0.40 + 5.00 + 3 * 1.00 + 32.85 + 3.65)


# --- usage-based, free, unclassified -------------------------------------------------------------


def test_usage_based_resources_are_listed_but_not_in_the_total() -> None:
    tpl = template(
        Logs={"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 365}},
        Flow={"Type": "AWS::EC2::FlowLog", "Properties": {}},
        Fn={"Type": "AWS::Lambda::Function", "Properties": {}},
        Guardrail={"Type": "AWS::Bedrock::Guardrail", "Properties": {}},
        Custom={"Type": "Custom::Anything", "Properties": {}},
    )
    lines = estimate_template("S", tpl)
    assert kinds(lines) == ["usage"] * 5
    assert total(tpl) == 0


def test_unknown_types_are_unclassified_never_silently_free() -> None:
    lines = classify("S", "X", {"Type": "AWS::Made::Up"})
    assert kinds(lines) == ["unclassified"]
    env = estimate_environment("e", "us-east-1", [("S", template(X={"Type": "AWS::Made::Up"}))])
    assert "AWS::Made::Up" in "\n".join(render_environment(env))


def test_api_cache_and_provisioned_concurrency_are_fixed_but_unpriced() -> None:
    stage = {"Type": "AWS::ApiGateway::Stage", "Properties": {"CacheClusterEnabled": True}}
    alias = {
        "Type": "AWS::Lambda::Alias",
        "Properties": {"ProvisionedConcurrencyConfig": {"ProvisionedConcurrentExecutions": 2}},
    }
    assert kinds(classify("S", "Stage", stage)) == ["unpriced"]
    assert kinds(classify("S", "Alias", alias)) == ["unpriced"]
    plain = {"Type": "AWS::ApiGateway::Stage", "Properties": {}}
    assert kinds(classify("S", "Stage", plain)) == ["free"]


# --- environments and assemblies -----------------------------------------------------------------


def test_environment_total_and_report() -> None:
    network = template(Ep=interface_endpoint("bedrock-runtime", ["subnet-a", "subnet-b"]))
    governance = template(Key={"Type": "AWS::KMS::Key", "Properties": {}})
    env = estimate_environment("prod", "eu-central-1", [("net", network), ("gov", governance)])
    assert env.fixed_total_usd == pytest.approx(2 * ENDPOINT_AZ_MONTH + 1.00)  # $15.60
    report = "\n".join(render_environment(env))
    assert "**$15.60**" in report
    assert "eu-central-1 prices differ" in report
    assert "Usage-based (not in the total)" in report


def test_assembly_reader_follows_nested_stage_assemblies(tmp_path: Path) -> None:
    def write(directory: Path, artifacts: dict[str, Any], templates: dict[str, Any]) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))
        for name, body in templates.items():
            (directory / name).write_text(json.dumps(body))

    key = template(Key={"Type": "AWS::KMS::Key", "Properties": {}})
    write(
        tmp_path,
        {
            "Top": {
                "type": "aws:cloudformation:stack",
                "properties": {"templateFile": "Top.template.json", "stackName": "top-stack"},
            },
            "assembly-Prod": {
                "type": "cdk:cloud-assembly",
                "properties": {"directoryName": "assembly-Prod"},
            },
            "Tree": {"type": "cdk:tree", "properties": {"file": "tree.json"}},
        },
        {"Top.template.json": key},
    )
    write(
        tmp_path / "assembly-Prod",
        {
            "ProdGov": {
                "type": "aws:cloudformation:stack",
                "properties": {"templateFile": "ProdGov.template.json"},
            }
        },
        {"ProdGov.template.json": key},
    )
    stacks = list(iter_stack_templates(tmp_path))
    assert [name for name, _ in stacks] == ["top-stack", "ProdGov"]
    env = estimate_environment("e", "us-east-1", stacks)
    assert env.fixed_total_usd == pytest.approx(2.00)


def test_every_price_key_the_calculator_emits_exists() -> None:
    emitted = {
        alarm_kind(metric_alarm()["Properties"])[0],
        alarm_kind(metric_alarm(period=10)["Properties"])[0],
        alarm_kind(math_alarm(stat("m"), ThresholdMetricId="b")["Properties"])[0],
        alarm_kind(math_alarm(stat("m", 10), ThresholdMetricId="b")["Properties"])[0],
    }
    assert emitted <= set(PRICES)
