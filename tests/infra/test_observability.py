"""Observability: dashboards and alarms follow the allow-list, use documented metrics only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bedrock_landing_zone.dashboard_preview import expand_metrics, main, resolve_dashboard_body
from bedrock_landing_zone.metrics_catalog import documented
from bedrock_landing_zone.observability import RUNBOOK
from tests.conftest import EXAMPLE_ENVS, ROOT, Synth, Synths

PREVIEW = ROOT / "docs" / "bedrock-lz-default.svg"


def _template(synth: Synth) -> dict[str, Any]:
    assert synth.stacks.observability is not None
    return synth.template_json(synth.stacks.observability)


def _dashboard(synth: Synth) -> dict[str, Any]:
    (dashboard,) = [
        r
        for r in _template(synth)["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Dashboard"
    ]
    return resolve_dashboard_body(dashboard["Properties"]["DashboardBody"])


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


def test_composite_alarm_covers_the_per_model_and_inference_alarms(default: Synth) -> None:
    (composite,) = _alarms(default, "AWS::CloudWatch::CompositeAlarm").values()
    assert composite["AlarmName"] == "bedrock-lz-default-inference-degraded"
    rule = json.dumps(composite["AlarmRule"])
    members = [
        (k, a)
        for k, a in (
            (k, a)
            for k, a in _template(default)["Resources"].items()
            if a["Type"] == "AWS::CloudWatch::Alarm"
        )
        if any(
            s in a["Properties"]["AlarmName"]
            for s in (
                "throttle-rate",
                "server-error-rate",
                "p99-latency",
                "quota-usage",
                "handler-errors",
                "api-5xx",
            )
        )
    ]
    assert len(members) == 3 * 3 + 2 + 2  # 3 models x 3, two quotas, handler and API
    for logical_id, _ in members:
        assert logical_id in rule
    assert composite["AlarmActions"]


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
    generated = (tmp_path / PREVIEW.name).read_text(encoding="utf-8")
    assert PREVIEW.is_file(), "run `make dashboard-preview`"
    assert PREVIEW.read_text(encoding="utf-8") == generated, (
        "docs/ preview is stale: run `make dashboard-preview`"
    )


def test_without_a_runbook_url_alarms_point_to_the_runbook_in_the_repository() -> None:
    from bedrock_landing_zone.observability import _description, _runbook_link

    assert _description("api-5xx", "API", None).endswith("Runbook: docs/runbook.md#api-5xx")
    assert "](" not in _runbook_link(None, "api-5xx")  # no broken relative link
    assert (
        _runbook_link("https://wiki.example.com/rb", "x")
        == "[Runbook](https://wiki.example.com/rb#x)"
    )
    headings = (ROOT / "docs" / "runbook.md").read_text(encoding="utf-8")
    for kind in RUNBOOK:
        assert f"\n## {kind}\n" in headings, f"docs/runbook.md lacks a section for {kind}"
