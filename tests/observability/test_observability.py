"""Observability: dashboards and alarms follow the allow-list, use documented metrics only.

At scale (80 models, the limits): ``test_observability_scale.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bedrock_landing_zone.config import ModelConfig
from bedrock_landing_zone.observability.metrics_catalog import documented, insights_query
from bedrock_landing_zone.observability.monitoring import RUNBOOK, any_of_rule_length, model_groups
from bedrock_landing_zone.pictures.dashboard_preview import (
    expand_metrics,
    main,
    resolve_dashboard_body,
)
from tests.conftest import EXAMPLE_ENVS, ROOT, Synth, Synths

PREVIEW = ROOT / "docs" / "bedrock-lz-default.svg"
#: SELECT FUNCTION(name) FROM SCHEMA("namespace", dims...) as ``insights_query`` writes it.
INSIGHTS = re.compile(
    r'^SELECT [A-Z]+\((?P<name>[^)]+)\) FROM SCHEMA\("(?P<ns>[^"]+)"(?P<dims>[^)]*)\)'
)


def _template(synth: Synth) -> dict[str, Any]:
    assert synth.stacks.observability is not None
    return synth.template_json(synth.stacks.observability)


def _dashboards(synth: Synth) -> dict[str, dict[str, Any]]:
    """Dashboard name -> body, of the observability stack."""
    return {
        r["Properties"]["DashboardName"]: resolve_dashboard_body(r["Properties"]["DashboardBody"])
        for r in _template(synth)["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Dashboard"
    }


def _dashboard(synth: Synth) -> dict[str, Any]:
    """Every widget of every dashboard of the observability stack, as one body."""
    return {"widgets": [w for body in _dashboards(synth).values() for w in body["widgets"]]}


def _insights_metrics(body: dict[str, Any]) -> list[tuple[str, str, frozenset[str]]]:
    out = []
    for widget in body["widgets"]:
        for items, options in expand_metrics(widget.get("properties", {}).get("metrics", [])):
            expression = options.get("expression") or next(
                (i["expression"] for i in items if isinstance(i, dict) and "expression" in i), ""
            )
            match = INSIGHTS.match(str(expression))
            if match:
                dims = frozenset(d.strip() for d in match["dims"].split(",") if d.strip())
                out.append((match["ns"], match["name"].strip('"'), dims))
    return out


def _alarms(synth: Synth, kind: str = "AWS::CloudWatch::Alarm") -> dict[str, dict[str, Any]]:
    return {
        k: r["Properties"] for k, r in _template(synth)["Resources"].items() if r["Type"] == kind
    }


def _widget_metrics(body: dict[str, Any]) -> list[tuple[str, str, frozenset[str], dict[str, Any]]]:
    out = []
    for widget in body["widgets"]:
        for items, _options in expand_metrics(widget.get("properties", {}).get("metrics", [])):
            if not items or any(isinstance(i, dict) and "expression" in i for i in items):
                continue  # a math or SEARCH expression
            namespace, name, *rest = items
            dims = dict(zip(rest[0::2], rest[1::2], strict=False))
            out.append((namespace, name, frozenset(dims), dims))
    return out


def _alarm_metrics(alarm: dict[str, Any]) -> list[tuple[str, str, frozenset[str], dict[str, Any]]]:
    if "MetricName" in alarm:
        dims = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
        return [(alarm["Namespace"], alarm["MetricName"], frozenset(dims), dims)]
    out = []
    for query in alarm.get("Metrics", []):
        if "MetricStat" in query:
            m = query["MetricStat"]["Metric"]
            dims = {d["Name"]: d["Value"] for d in m.get("Dimensions", [])}
            out.append((m["Namespace"], m["MetricName"], frozenset(dims), dims))
    return out


@pytest.mark.parametrize("env", EXAMPLE_ENVS)
def test_every_metric_used_is_documented(synths: Synths, env: str) -> None:
    synth = synths[env]
    used = _widget_metrics(_dashboard(synth))
    for alarm in _alarms(synth).values():
        used += _alarm_metrics(alarm)
    assert len(used) > 40
    undocumented = sorted(
        {(n, m, tuple(sorted(d))) for n, m, d, _ in used if not documented(n, m, d)}
    )
    assert undocumented == []
    queries = _insights_metrics(_dashboard(synth))
    assert len(queries) >= 8  # the overview's busiest-model and busiest team/model graphs
    assert sorted({q for q in queries if not documented(*q)}) == []
    body = json.dumps(_dashboard(synth))
    assert "SEARCH(" not in body  # a SEARCH returns up to 500 series: one could fill a graph


def test_insights_query_is_bounded_and_refuses_undocumented_metrics() -> None:
    query = insights_query("AWS/Bedrock", "Invocations", ("ModelId",), limit=7)
    assert query.expression == (
        'SELECT SUM(Invocations) FROM SCHEMA("AWS/Bedrock", ModelId) GROUP BY ModelId '
        "ORDER BY SUM() DESC LIMIT 7"
    )
    with pytest.raises(ValueError, match="not a documented metric"):
        insights_query("AWS/Bedrock", "Invocations", ("Team",))
    with pytest.raises(ValueError, match="limit must be"):
        insights_query("AWS/Bedrock", "Invocations", ("ModelId",), limit=501)
    with pytest.raises(ValueError, match="function must be"):
        insights_query("AWS/Bedrock", "Invocations", ("ModelId",), function="p99")
    quoted = insights_query("AWS/ApiGateway", "5XXError", ("ApiName", "Stage"))
    assert quoted.expression.startswith('SELECT SUM("5XXError") FROM SCHEMA("AWS/ApiGateway"')


def _model(alias: str, model_id: str) -> ModelConfig:
    return ModelConfig(alias=alias, model_id=model_id)


def test_composite_rules_are_measured_with_the_longest_arns_and_refused_past_the_limits() -> None:
    from bedrock_landing_zone.observability.monitoring import _check_rule

    arn = "arn:aws-us-gov:cloudwatch:us-isof-south-1:123456789012:alarm:a"
    assert any_of_rule_length(["a"]) == len(f'(ALARM("{arn}"))')
    assert any_of_rule_length(["a", "a"]) == len(f'(ALARM("{arn}") OR ALARM("{arn}"))')
    _check_rule("ok", ["x" * 80] * 60, "knob")
    with pytest.raises(ValueError, match=r"101 alarms .* change knob"):
        _check_rule("too-many", [f"a{i}" for i in range(101)], "knob")
    with pytest.raises(ValueError, match="characters"):
        _check_rule("too-long", ["x" * 200] * 40, "knob")


def test_rules_are_measured_with_the_alarms_real_names_not_their_tokens() -> None:
    """An alarm's ``alarm_name`` is a token (19 characters, whatever the name): the composite
    rules are measured with the names the alarms were given (``literal_alarm_name``)."""
    import aws_cdk as cdk
    from aws_cdk import aws_cloudwatch as cloudwatch

    from bedrock_landing_zone.observability.monitoring import literal_alarm_name

    stack = cdk.Stack(cdk.App(), "Names")
    name = "bedrock-lz-default-claude-haiku-model-degraded-" + "x" * 60
    alarm = cloudwatch.Alarm(
        stack,
        "Alarm",
        alarm_name=name + "-alarm",
        metric=cloudwatch.Metric(namespace="AWS/Bedrock", metric_name="Invocations"),
        threshold=1,
        evaluation_periods=1,
    )
    composite = cloudwatch.CompositeAlarm(
        stack,
        "Composite",
        composite_alarm_name=name,
        alarm_rule=cloudwatch.AlarmRule.from_alarm(alarm, cloudwatch.AlarmState.ALARM),
    )
    assert cdk.Token.is_unresolved(composite.alarm_name)  # what was measured before
    assert literal_alarm_name(composite) == name
    assert literal_alarm_name(alarm) == name + "-alarm"
    assert any_of_rule_length([literal_alarm_name(composite)] * 60) > 10_240  # refused
    assert any_of_rule_length([composite.alarm_name] * 60) < 10_240  # the tokens passed
    unnamed = cloudwatch.Alarm(
        stack,
        "Unnamed",
        metric=cloudwatch.Metric(namespace="AWS/Bedrock", metric_name="Invocations"),
        threshold=1,
        evaluation_periods=1,
    )
    with pytest.raises(ValueError, match="no literal name"):
        literal_alarm_name(unnamed)


def test_model_groups_are_providers_cut_into_chunks_and_appending_renames_none() -> None:
    models = [_model(f"a{i}", f"amazon.m{i}-v1:0") for i in range(5)]
    models.insert(2, _model("claude", "us.anthropic.claude-v1:0"))
    groups = model_groups(models, 2)
    assert [(g.name, g.provider, [m.alias for m in g.models]) for g in groups] == [
        ("amazon", "amazon", ["a0", "a1"]),
        ("amazon-2", "amazon", ["a2", "a3"]),
        ("amazon-3", "amazon", ["a4"]),
        ("anthropic", "anthropic", ["claude"]),
    ]
    more = model_groups([*models, _model("a5", "amazon.m5-v1:0")], 2)
    assert [g.name for g in more] == [g.name for g in groups]
    with pytest.raises(ValueError):
        model_groups(models, 0)


@pytest.mark.parametrize("env", EXAMPLE_ENVS)
def test_every_allow_listed_model_id_has_its_widgets_and_alarms(synths: Synths, env: str) -> None:
    synth = synths[env]
    used = _widget_metrics(_dashboard(synth))
    alarms = _alarms(synth)
    for model in synth.config.models:
        names = {
            m for n, m, _, d in used if n == "AWS/Bedrock" and d.get("ModelId") == model.model_id
        }
        assert names >= {
            "Invocations",
            "InvocationLatency",
            "InputTokenCount",
            "OutputTokenCount",
            "InvocationThrottles",
            "InvocationClientErrors",
            "InvocationServerErrors",
            "TimeToFirstToken",
            "EstimatedTPMQuotaUsage",
        }, model.alias
        mine = {
            a["AlarmName"].removeprefix(f"bedrock-lz-{synth.config.name}-{model.alias}-")
            for a in alarms.values()
            if a["AlarmName"].startswith(f"bedrock-lz-{synth.config.name}-{model.alias}-")
        }
        expected = {"throttle-rate", "server-error-rate", "p99-latency"}
        if model.tokens_per_minute_quota:
            expected.add("quota-usage")
        assert mine == expected, model.alias


def test_each_model_is_on_its_group_dashboard_and_the_overview_stays_small(
    default: Synth,
) -> None:
    dashboards = _dashboards(default)
    groups = model_groups(default.config.models, default.config.observability.models_per_dashboard)
    assert sorted(dashboards) == sorted(
        ["bedrock-lz-default", *(f"bedrock-lz-default-models-{g.name}" for g in groups)]
    )
    assert [g.name for g in groups] == ["anthropic", "amazon"]
    for group in groups:
        body = dashboards[f"bedrock-lz-default-models-{group.name}"]
        ids = {
            items[3]
            for w in body["widgets"]
            for items, _ in expand_metrics(w["properties"].get("metrics", []))
            if len(items) > 3
        }
        assert ids == {m.model_id for m in group.models}
    overview = dashboards["bedrock-lz-default"]
    assert not any(
        items[2:3] == ["ModelId"]
        for w in overview["widgets"]
        for items, _ in expand_metrics(w["properties"].get("metrics", []))
    ), "per-model graphs belong on the group dashboards"
    (status, *_) = [w for w in overview["widgets"] if w["type"] == "alarm"]
    assert len(status["properties"]["alarms"]) == 1 + len(groups) + 2 + 2  # root, groups, ...


def test_latency_widget_has_p50_p90_p99_and_quota_line(default: Synth) -> None:
    body = _dashboard(default)
    sonnet = default.config.model_by_alias["claude-sonnet"]
    latency = [
        w
        for w in body["widgets"]
        if w["properties"].get("title") == "claude-sonnet: latency p50/p90/p99 (ms)"
    ]
    (widget,) = latency
    stats = sorted(
        str(opts.get("stat")) for _, opts in expand_metrics(widget["properties"]["metrics"])
    )
    assert stats == ["p50", "p90", "p99"]
    (quota,) = [
        w
        for w in body["widgets"]
        if w["properties"].get("title") == "claude-sonnet: tokens-per-minute quota usage"
    ]
    (line,) = quota["properties"]["annotations"]["horizontal"]
    assert line["value"] == sonnet.tokens_per_minute_quota


def test_thresholds_follow_config(default: Synth) -> None:
    t = default.config.observability
    alarms = {a["AlarmName"]: a for a in _alarms(default).values()}
    prefix = "bedrock-lz-default"
    assert alarms[f"{prefix}-claude-sonnet-throttle-rate"]["Threshold"] == t.throttle_rate_percent
    assert (
        alarms[f"{prefix}-claude-sonnet-server-error-rate"]["Threshold"]
        == t.server_error_rate_percent
    )
    assert alarms[f"{prefix}-claude-sonnet-p99-latency"]["Threshold"] == t.p99_latency_ms
    quota = default.config.model_by_alias["claude-sonnet"].tokens_per_minute_quota
    assert quota is not None
    assert alarms[f"{prefix}-claude-sonnet-quota-usage"]["Threshold"] == round(
        quota * t.quota_usage_percent / 100
    )
    assert f"{prefix}-nova-lite-quota-usage" not in alarms  # no quota configured: no quota alarm
    assert alarms[f"{prefix}-handler-errors"]["Threshold"] == t.handler_errors
    assert alarms[f"{prefix}-api-5xx"]["Threshold"] == t.api_5xx
    for alarm in alarms.values():
        assert alarm["EvaluationPeriods"] >= 1
        assert alarm["AlarmActions"] and alarm["OKActions"], alarm["AlarmName"]


def test_guardrail_anomaly_detection_alarm(default: Synth) -> None:
    (alarm,) = [
        a for a in _alarms(default).values() if a["AlarmName"].endswith("guardrail-interventions")
    ]
    assert alarm["ComparisonOperator"] == "GreaterThanUpperThreshold"
    band = next(q for q in alarm["Metrics"] if q["Id"] == alarm["ThresholdMetricId"])
    width = default.config.observability.guardrail_anomaly_band
    assert band["Expression"] == f"ANOMALY_DETECTION_BAND(intervened, {width})"


def test_every_alarm_description_says_what_to_do(synths: Synths) -> None:
    for synth in synths:
        alarms = list(_alarms(synth).values()) + list(
            _alarms(synth, "AWS::CloudWatch::CompositeAlarm").values()
        )
        for alarm in alarms:
            description = alarm["AlarmDescription"]
            assert any(line in description for line in RUNBOOK.values()), alarm["AlarmName"]
            runbook = synth.config.observability.runbook_url
            assert f"Runbook: {runbook}#" in description


def _rule_members(rule: Any) -> list[str]:
    """Logical ids of the alarms a CDK-rendered rule names (``Fn::GetAtt [id, Arn]``)."""
    return re.findall(r'"Fn::GetAtt": \["([A-Za-z0-9]+)", "Arn"\]', json.dumps(rule))


def test_composite_alarms_form_a_tree_model_group_landing_zone(default: Synth) -> None:
    resources = _template(default)["Resources"]
    composites = _alarms(default, "AWS::CloudWatch::CompositeAlarm")
    by_name = {a["AlarmName"]: (k, a) for k, a in composites.items()}
    names = {k: r["Properties"]["AlarmName"] for k, r in resources.items() if "Alarm" in r["Type"]}
    prefix = "bedrock-lz-default"
    for model in default.config.models:
        _, composite = by_name[f"{prefix}-{model.alias}-model-degraded"]
        members = sorted(names[m] for m in _rule_members(composite["AlarmRule"]))
        kinds = ["p99-latency", "server-error-rate", "throttle-rate"]
        if model.tokens_per_minute_quota:
            kinds.append("quota-usage")
        assert members == sorted(f"{prefix}-{model.alias}-{k}" for k in kinds)
        assert "AlarmActions" not in composite  # the metric alarms and the root notify
    groups = model_groups(default.config.models, default.config.observability.models_per_dashboard)
    for group in groups:
        _, composite = by_name[f"{prefix}-models-{group.name}-degraded"]
        members = sorted(names[m] for m in _rule_members(composite["AlarmRule"]))
        assert members == sorted(f"{prefix}-{m.alias}-model-degraded" for m in group.models)
    _, root = by_name[f"{prefix}-inference-degraded"]
    members = sorted(names[m] for m in _rule_members(root["AlarmRule"]))
    assert members == sorted(
        [
            *(f"{prefix}-models-{g.name}-degraded" for g in groups),
            f"{prefix}-handler-errors",
            f"{prefix}-api-5xx",
        ]
    )
    assert root["AlarmActions"] and root["OKActions"]
    assert len(composites) == len(default.config.models) + len(groups) + 1


def test_alert_topic_is_encrypted_and_ssl_only(default: Synth) -> None:
    template = default.template_json(default.stacks.audit)
    (topic,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::SNS::Topic"]
    assert "KmsMasterKeyId" in topic["Properties"]
    (policy,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::SNS::TopicPolicy"]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )


def test_email_subscriptions_from_config(existing_vpc: Synth) -> None:
    template = existing_vpc.template_json(existing_vpc.stacks.audit)
    subs = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::SNS::Subscription"
    ]
    assert [(s["Protocol"], s["Endpoint"]) for s in subs] == [
        ("email", "platform-alerts@example.com")
    ]
    assert all("RedrivePolicy" in s for s in subs)


@pytest.mark.slow
def test_committed_dashboard_preview_is_current(default: Synth, tmp_path: Path) -> None:
    assert main([str(default.outdir), str(tmp_path)]) == 0
    previews = sorted(p.name for p in tmp_path.glob("bedrock-lz-default*.svg"))
    assert PREVIEW.name in previews
    assert len(previews) >= 2 + len(default.config.teams)  # overview, model groups, teams
    for name in previews:
        committed = ROOT / "docs" / name
        assert committed.is_file(), f"docs/{name} missing: run `make dashboard-preview`"
        assert committed.read_text(encoding="utf-8") == (tmp_path / name).read_text(
            encoding="utf-8"
        ), f"docs/{name} is stale: run `make dashboard-preview`"


def test_without_a_runbook_url_alarms_point_to_the_runbook_in_the_repository() -> None:
    from bedrock_landing_zone.observability.monitoring import _description, _runbook_link

    assert _description("api-5xx", "API", None).endswith("Runbook: docs/runbook.md#api-5xx")
    assert "](" not in _runbook_link(None, "api-5xx")  # no broken relative link
    assert (
        _runbook_link("https://wiki.example.com/rb", "x")
        == "[Runbook](https://wiki.example.com/rb#x)"
    )
    headings = (ROOT / "docs" / "runbook.md").read_text(encoding="utf-8")
    for kind in RUNBOOK:
        assert f"\n## {kind}\n" in headings, f"docs/runbook.md lacks a section for {kind}"
