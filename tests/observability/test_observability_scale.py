"""Observability at enterprise scale: 80 models x 5 teams inside CloudWatch's limits.

One synthesis (module scope) of a configuration generated from ``config/default.yaml``, with
the compliance packs and the preflight plugin (any limit exceeded fails synth), and names as
long as the configuration allows (a 21-character environment; 28-character aliases, the most an
application inference profile name ``bedrock-lz-<env>-<team>-<alias>`` of 64 leaves) so rule
lengths are worst cases. Every composite rule is measured again with its ARNs at their longest
(12-digit account, longest partition and region), not the stack's own region.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bedrock_landing_zone.compliance import add_compliance_packs
from bedrock_landing_zone.compliance.preflight import (
    PLUGIN_NAME,
    Measurement,
    PreflightChecks,
    StackFacts,
    load_assembly,
    measure,
)
from bedrock_landing_zone.config import LandingZoneConfig, parse_config
from bedrock_landing_zone.delivery.landing_zone import LandingZoneStacks, add_landing_zone
from bedrock_landing_zone.observability.metrics_catalog import INSIGHTS_MAX_SERIES
from bedrock_landing_zone.observability.monitoring import (
    ALARMS_PER_ALARM_WIDGET,
    ALARMS_PER_COMPOSITE_RULE,
    COMPOSITE_RULE_CHARACTERS,
    METRICS_PER_DASHBOARD,
    METRICS_PER_MATH_ALARM,
    METRICS_PER_WIDGET,
    WIDGETS_PER_DASHBOARD,
    any_of_rule_length,
    model_groups,
)
from bedrock_landing_zone.pictures.dashboard_preview import expand_metrics, resolve_dashboard_body
from tests.conftest import ROOT, cdk_app

MODELS = 80
TEAMS = 5
#: A team allowed this many models: its server-error alarm needs more than one math alarm.
BIG_TEAM_MODELS = 12
ENV = "observability-at-80x5"  # 21 characters, the longest environment name
PROVIDERS = ("amazon", "amazon", "us.anthropic", "meta")
#: The issue's goal: nothing above 80 % of its limit.
WIDGET_BUDGET = WIDGETS_PER_DASHBOARD * 80 // 100


def _alias(i: int) -> str:
    return f"twenty-eight-char-alias-n{i:03d}"  # 28: the profile name is then 64 characters


def scale_config(models: int = MODELS, teams: int = TEAMS) -> LandingZoneConfig:
    data: dict[str, Any] = yaml.safe_load((ROOT / "config" / "default.yaml").read_text())
    data["name"] = ENV
    data["models"] = [
        {
            "alias": _alias(i),
            "model_id": f"{PROVIDERS[i % len(PROVIDERS)]}.test-model-{i}-v1:0",
            "tokens_per_minute_quota": 1_000_000,  # every model gets its fourth alarm
        }
        for i in range(models)
    ]
    data["teams"] = [
        {
            "name": f"t{t}",
            "models": [
                _alias((t * 5 + k) % models) for k in range(BIG_TEAM_MODELS if t == 0 else 5)
            ],
        }
        for t in range(teams)
    ]
    return parse_config(data, source="generated 80x5")


@dataclasses.dataclass
class Scale:
    config: LandingZoneConfig
    stacks: LandingZoneStacks
    outdir: Path

    def template(self, stack: Any) -> dict[str, Any]:
        path = self.outdir / f"{stack.artifact_id}.template.json"
        return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]

    def templates(self) -> Iterator[dict[str, Any]]:
        for path in sorted(self.outdir.glob("*.template.json")):
            yield json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def scale(tmp_path_factory: pytest.TempPathFactory) -> Scale:
    outdir = tmp_path_factory.mktemp("observability-scale")
    config = scale_config()
    app = cdk_app(ENV, outdir)
    add_compliance_packs(app)  # the preflight plugin: synth raises on any limit exceeded
    stacks = add_landing_zone(app, config)
    app.synth()
    return Scale(config, stacks, outdir)


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r["Properties"] for k, r in template["Resources"].items() if r["Type"] == kind}


def _dashboards(scale: Scale) -> dict[str, dict[str, Any]]:
    return {
        p["DashboardName"]: resolve_dashboard_body(p["DashboardBody"])
        for template in scale.templates()
        for p in _resources(template, "AWS::CloudWatch::Dashboard").values()
    }


def _graph_metrics(widget: dict[str, Any]) -> int:
    """Metrics a graph retrieves: each metric and expression line, a Metrics Insights query as
    the series its LIMIT lets through, a SEARCH as the 500 series it may return."""
    count = 0
    for items, options in expand_metrics(widget.get("properties", {}).get("metrics", [])):
        expression = str(options.get("expression") or "")
        if not expression:
            expression = next(
                (str(i["expression"]) for i in items if isinstance(i, dict) and "expression" in i),
                "",
            )
        if expression.startswith("SELECT"):
            limit = re.search(r"LIMIT (\d+)\s*$", expression)
            count += int(limit.group(1)) if limit else INSIGHTS_MAX_SERIES
        elif "SEARCH(" in expression:
            count += INSIGHTS_MAX_SERIES
        else:
            count += 1
    return count


def test_synth_passes_every_pack_and_the_preflight_plugin(scale: Scale) -> None:
    report = json.loads((scale.outdir / "validation-report.json").read_text(encoding="utf-8"))
    assert {p["pluginName"]: p["conclusion"] for p in report["pluginReports"]} == {
        p["pluginName"]: "success" for p in report["pluginReports"]
    }
    preflight = [p for p in report["pluginReports"] if p["pluginName"] == PLUGIN_NAME]
    assert all(p.get("violations", []) == [] for p in preflight)
    measured = PreflightChecks().measurements(sorted(scale.outdir.glob("*.template.json")))
    assert {m.limit.rule for m in measured} >= {
        "DashboardWidgets",
        "CompositeAlarmRuleSize",
        "CompositeAlarmRuleAlarms",
        "TemplateSize",
    }
    assert [(m.limit.rule, m.construct_path, m.value) for m in measured if m.exceeded] == []


def test_every_dashboard_is_well_under_the_widget_and_metric_limits(scale: Scale) -> None:
    dashboards = _dashboards(scale)
    groups = model_groups(scale.config.models, scale.config.observability.models_per_dashboard)
    assert len(dashboards) == 1 + len(groups) + TEAMS
    for name, body in dashboards.items():
        assert len(name) <= 255 and re.fullmatch(r"[A-Za-z0-9_-]+", name), name
        widgets = body["widgets"]
        assert len(widgets) < WIDGET_BUDGET, (name, len(widgets))
        per_graph = [_graph_metrics(w) for w in widgets if w["type"] == "metric"]
        assert max(per_graph) <= METRICS_PER_WIDGET, name
        assert sum(per_graph) <= METRICS_PER_DASHBOARD, name
        for w in widgets:
            if w["type"] == "alarm":
                assert len(w["properties"]["alarms"]) <= ALARMS_PER_ALARM_WIDGET, name
    overview = dashboards[f"bedrock-lz-{ENV}"]
    assert len(overview["widgets"]) <= 25  # grows with neither models nor teams


def test_every_model_id_has_its_widgets_and_alarms_on_one_group_dashboard(scale: Scale) -> None:
    dashboards = _dashboards(scale)
    groups = model_groups(scale.config.models, scale.config.observability.models_per_dashboard)
    assert {len(g.models) for g in groups} <= set(range(1, 21))
    seen: dict[str, str] = {}
    for group in groups:
        body = dashboards[f"bedrock-lz-{ENV}-models-{group.name}"]
        names: dict[str, set[str]] = {}
        for w in body["widgets"]:
            for items, _ in expand_metrics(w["properties"].get("metrics", [])):
                if len(items) > 3 and items[2] == "ModelId":
                    names.setdefault(items[3], set()).add(items[1])
        for model in group.models:
            assert model.model_id not in seen, (model.model_id, seen.get(model.model_id))
            seen[model.model_id] = group.name
            assert len(names[model.model_id]) == 9, model.alias  # the nine Bedrock metrics
    assert len(seen) == MODELS
    alarms = {
        p["AlarmName"]
        for template in scale.templates()
        for p in _resources(template, "AWS::CloudWatch::Alarm").values()
    }
    composites = {
        p["AlarmName"]
        for template in scale.templates()
        for p in _resources(template, "AWS::CloudWatch::CompositeAlarm").values()
    }
    for model in scale.config.models:
        for kind in ("throttle-rate", "server-error-rate", "p99-latency", "quota-usage"):
            assert f"bedrock-lz-{ENV}-{model.alias}-{kind}" in alarms
        assert f"bedrock-lz-{ENV}-{model.alias}-model-degraded" in composites
    assert f"bedrock-lz-{ENV}-inference-degraded" in composites


def _longest(stacks: list[StackFacts]) -> list[Measurement]:
    """Measurements with every stack's account and region unknown: the longest real values."""
    anywhere = [dataclasses.replace(s, region=None, account=None) for s in stacks]
    return measure(anywhere)


def test_every_composite_rule_fits_with_the_longest_real_arns(scale: Scale) -> None:
    measured = _longest(load_assembly(sorted(scale.outdir.glob("*.template.json"))))
    sizes = [m for m in measured if m.limit.rule == "CompositeAlarmRuleSize"]
    counts = [m for m in measured if m.limit.rule == "CompositeAlarmRuleAlarms"]
    composites = sum(
        len(_resources(t, "AWS::CloudWatch::CompositeAlarm")) for t in scale.templates()
    )
    assert len(sizes) == len(counts) == composites
    assert composites >= MODELS + 1
    assert max(m.value for m in sizes) <= COMPOSITE_RULE_CHARACTERS
    assert max(m.value for m in counts) <= ALARMS_PER_COMPOSITE_RULE
    # the construct's own bound agrees with the preflight resolver's
    template = scale.template(scale.stacks.observability)
    names = {
        k: r["Properties"]["AlarmName"]
        for k, r in template["Resources"].items()
        if "AlarmName" in r.get("Properties", {})
    }
    for logical_id, alarm in _resources(template, "AWS::CloudWatch::CompositeAlarm").items():
        members = re.findall(r'"Fn::GetAtt": \["([A-Za-z0-9]+)", "Arn"\]', json.dumps(alarm))
        (size,) = [m.value for m in sizes if m.logical_id == logical_id]
        assert any_of_rule_length([names[m] for m in members]) == size, alarm["AlarmName"]


def test_every_metric_math_alarm_reads_at_most_ten_metrics(scale: Scale) -> None:
    for template in scale.templates():
        for alarm in _resources(template, "AWS::CloudWatch::Alarm").values():
            stats = [q for q in alarm.get("Metrics", []) if "MetricStat" in q]
            assert len(stats) <= METRICS_PER_MATH_ALARM, alarm["AlarmName"]


def test_a_team_with_more_than_ten_models_gets_a_composite_of_blocks(scale: Scale) -> None:
    template = scale.template(scale.stacks.teams["t0"])
    blocks = _resources(template, "AWS::CloudWatch::Alarm").values()
    name = f"bedrock-lz-{ENV}-team-t0-server-errors"
    assert sorted(a["AlarmName"] for a in blocks) == [f"{name}-1", f"{name}-2"]
    assert sorted(len(a["Metrics"]) - 1 for a in blocks) == [2, 10]  # 12 models
    assert all(a["AlarmActions"] for a in blocks)
    (composite,) = _resources(template, "AWS::CloudWatch::CompositeAlarm").values()
    assert composite["AlarmName"] == name
    small = scale.template(scale.stacks.teams["t1"])
    (alarm,) = _resources(small, "AWS::CloudWatch::Alarm").values()
    assert alarm["AlarmName"] == f"bedrock-lz-{ENV}-team-t1-server-errors"
