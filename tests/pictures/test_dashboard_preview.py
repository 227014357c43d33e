"""Dashboard preview: CloudFormation dashboard bodies rendered as SVG, without AWS or the CDK."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest

from bedrock_landing_zone.pictures.dashboard_preview import (
    COL_PX,
    ROW_PX,
    DashboardBodyError,
    expand_metrics,
    layout_widgets,
    main,
    markdown_to_lines,
    render_svg,
    render_template,
    resolve_dashboard_body,
)
from bedrock_landing_zone.pictures.intrinsics import resolve_text
from bedrock_landing_zone.pictures.svg import text_width, truncate
from tests.pictures.svg_checks import text_problems

ROOT = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"
DASHBOARD_BOXES = ("bg", "box")  # the picture and the widgets

# A DashboardBody as CDK writes it: JSON text fragments joined with intrinsics.
CDK_BODY: dict[str, Any] = {
    "Fn::Join": [
        "",
        [
            '{"widgets":[{"type":"text","width":24,"height":2,"x":0,"y":0,"properties":'
            '{"markdown":"# Bedrock usage\\nSee the **runbook** in [the wiki](https://example.com)'
            '."}},{"type":"metric","width":12,"height":6,"x":0,"y":2,"properties":{"view":'
            '"timeSeries","title":"Invocations","region":"',
            {"Ref": "AWS::Region"},
            '","metrics":[["AWS/Bedrock","Invocations","ModelId","anthropic.claude-v2",'
            '{"stat":"Sum"}],["LandingZone","Spend","Topic","',
            {"Fn::GetAtt": ["Topic1234", "TopicName"]},
            '",{"stat":"Maximum"}]],"annotations":{"horizontal":[{"value":500,"label":'
            '"Quota (RPM)","yAxis":"left"}]},"yAxis":{}}},{"type":"alarm","width":12,"height":6,'
            '"x":12,"y":2,"properties":{"title":"Alarms","alarms":["',
            {"Fn::GetAtt": ["ThrottleAlarm", "Arn"]},
            '","',
            {"Fn::GetAtt": ["OtherAlarm", "Arn"]},
            '","arn:aws:cloudwatch:us-east-1:123456789012:alarm:literal-alarm"]}},'
            '{"type":"log","width":24,"height":4,"x":0,"y":8,"properties":{"title":"Errors",'
            '"region":"',
            {"Ref": "AWS::Region"},
            '","query":"SOURCE \'',
            {"Ref": "InvocationLogs"},
            "' | fields @timestamp, @message\\n| limit 20\"}}]}",
        ],
    ]
}

TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Topic1234": {"Type": "AWS::SNS::Topic"},
        "ThrottleAlarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {"AlarmName": "bedrock-throttles", "Threshold": 10},
        },
        "OtherAlarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Threshold": 1}},
        "Dashboard9A1B": {
            "Type": "AWS::CloudWatch::Dashboard",
            "Properties": {"DashboardName": "bedrock-overview", "DashboardBody": CDK_BODY},
        },
    }
}


def _svg(widgets: list[dict[str, Any]], title: str = "Test dashboard") -> str:
    return render_svg({"widgets": widgets}, title=title)


def _root(svg: str) -> ET.Element:
    return ET.fromstring(svg.encode("utf-8"))


def _texts(svg: str) -> list[str]:
    return [el.text or "" for el in _root(svg).iter(f"{SVG}text")]


def _widget_groups(svg: str) -> list[ET.Element]:
    return [g for g in _root(svg).iter(f"{SVG}g") if g.get("class") == "widget"]


def _box(group: ET.Element) -> tuple[float, float, float, float]:
    rect = next(r for r in group.iter(f"{SVG}rect") if r.get("class") == "box")
    x, y = float(rect.get("x", "0")), float(rect.get("y", "0"))
    return x, y, x + float(rect.get("width", "0")), y + float(rect.get("height", "0"))


def _metric(title: str, width: int = 6, **extra: Any) -> dict[str, Any]:
    props = {"title": title, "metrics": [["AWS/Bedrock", "Invocations"]], **extra}
    return {"type": "metric", "width": width, "properties": props}


# --------------------------------------------------------------------------- intrinsics


def test_join_resolves_ref_and_getatt_to_placeholders() -> None:
    body = resolve_dashboard_body(CDK_BODY)
    metric, alarm, log = body["widgets"][1:]
    assert metric["properties"]["region"] == "${AWS::Region}"
    assert metric["properties"]["metrics"][1][3] == "${Topic1234.TopicName}"
    assert alarm["properties"]["alarms"][:2] == ["${ThrottleAlarm.Arn}", "${OtherAlarm.Arn}"]
    assert log["properties"]["query"].startswith("SOURCE '${InvocationLogs}' | fields")


def test_placeholders_are_json_safe_inside_strings_and_quoted_in_value_positions() -> None:
    tricky = {"Fn::Select": [1, {"Fn::Split": ['"', {"Ref": "Name"}]}]}
    body = resolve_dashboard_body(
        {
            "Fn::Join": [
                "",
                [
                    '{"widgets":[{"type":"metric","width":',
                    {"Ref": "Width"},  # a whole JSON value, not inside a string
                    ',"properties":{"title":"A \\"',
                    tricky,
                    '\\" title","period":',
                    {"Fn::GetAtt": "Param.Value"},
                    "}}]}",
                ],
            ]
        }
    )
    widget = body["widgets"][0]
    assert widget["width"] == "${Width}"
    assert widget["properties"]["title"] == 'A "${split(Name, \'"\')[1]}" title'
    assert widget["properties"]["period"] == "${Param.Value}"
    # A placeholder width falls back to the default and still renders.
    assert layout_widgets(body["widgets"])[0].width == 6


def test_nested_join_and_sub_are_spliced_into_the_json_text() -> None:
    body = resolve_dashboard_body(
        {
            "Fn::Join": [
                "",
                [
                    '{"widgets":[{"type":"text","properties":{"markdown":"',
                    {"Fn::Join": ["-", ["a", {"Ref": "AWS::StackName"}]]},
                    '"}},',
                    {
                        "Fn::Sub": [
                            '{"type":"text","properties":'
                            '{"markdown":"${Word} ${AWS::Region} ${!x}"}}',
                            {"Word": "hello"},
                        ]
                    },
                    "]}",
                ],
            ]
        }
    )
    assert body["widgets"][0]["properties"]["markdown"] == "a-${AWS::StackName}"
    assert body["widgets"][1]["properties"]["markdown"] == "hello ${AWS::Region} ${x}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Ref": "AWS::Region"}, "${AWS::Region}"),
        ({"Fn::GetAtt": ["Alarm", "Arn"]}, "${Alarm.Arn}"),
        ({"Fn::ImportValue": "shared-topic"}, "${import('shared-topic')}"),
        ({"Fn::Select": [0, ["a", {"Ref": "B"}]]}, "a"),
        (
            {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":sns"]]},
            "arn:${AWS::Partition}:sns",
        ),
        ("plain", "plain"),
        (300, "300"),
    ],
)
def test_resolve_text(value: Any, expected: str) -> None:
    assert resolve_text(value) == expected


def test_a_body_that_is_not_json_is_reported() -> None:
    with pytest.raises(DashboardBodyError, match="not valid JSON"):
        resolve_dashboard_body({"Fn::Join": ["", ['{"widgets":[', {"Ref": "X"}, "}"]]})
    with pytest.raises(DashboardBodyError, match="JSON object"):
        resolve_dashboard_body("[]")


# --------------------------------------------------------------------------- metrics


def test_dot_shorthand_repeats_entries_of_the_previous_metric() -> None:
    expanded = expand_metrics(
        [
            ["AWS/Bedrock", "Invocations", "ModelId", "model-a", {"stat": "Sum"}],
            [".", "InvocationThrottles", ".", "."],
            ["...", "model-b", {"label": "B"}],
            [{"expression": "m1 + m2", "label": "Total"}],
            ["..", "model-c"],
        ]
    )
    assert expanded == [
        (["AWS/Bedrock", "Invocations", "ModelId", "model-a"], {"stat": "Sum"}),
        (["AWS/Bedrock", "InvocationThrottles", "ModelId", "model-a"], {}),
        (["AWS/Bedrock", "InvocationThrottles", "ModelId", "model-b"], {"label": "B"}),
        ([], {"expression": "m1 + m2", "label": "Total"}),
        (["AWS/Bedrock", "InvocationThrottles", "ModelId", "model-c"], {}),
    ]


def test_metric_widget_lists_metrics_with_namespace_stat_and_dimensions() -> None:
    svg = _svg(
        [
            {
                "type": "metric",
                "x": 0,
                "y": 0,
                "width": 24,
                "height": 6,
                "properties": {
                    "title": "Bedrock",
                    "stat": "Sum",
                    "period": 60,
                    "metrics": [
                        ["AWS/Bedrock", "Invocations", "ModelId", "model-a"],
                        [".", "InvocationThrottles", ".", ".", {"stat": "Maximum"}],
                        [{"expression": "100 * m2 / m1", "label": "Throttle %"}],
                    ],
                },
            }
        ]
    )
    texts = _texts(svg)
    assert "Invocations (Sum) · AWS/Bedrock · model-a" in texts
    assert "InvocationThrottles (Maximum) · AWS/Bedrock · model-a" in texts
    assert "Throttle % = 100 * m2 / m1" in texts
    assert "timeSeries · Sum · 1 min" in texts


def test_horizontal_annotations_are_drawn_with_label_and_value() -> None:
    svg = _svg(
        [
            _metric(
                "Throughput",
                annotations={
                    "horizontal": [
                        {"label": "Quota", "value": 100000, "color": "#ff0000"},
                        {"value": 250},
                        [{"label": "Normal", "value": 10}, {"value": 20}],
                    ]
                },
            )
        ]
    )
    texts = _texts(svg)
    assert "Quota: 100,000" in texts
    assert "250" in texts
    assert "Normal: 10 to 20" in texts
    dashed = [line for line in _root(svg).iter(f"{SVG}line") if line.get("stroke-dasharray")]
    assert len(dashed) == 4  # one per line, two for the band
    assert dashed[0].get("stroke") == "#ff0000"
    quota_y, plain_y = float(dashed[0].get("y1", "0")), float(dashed[1].get("y1", "0"))
    assert quota_y < plain_y  # the higher value is drawn higher up


# --------------------------------------------------------------------------- other widgets


def test_text_widget_markdown_is_plain_text() -> None:
    markdown = (
        "# Runbook\n\nWhen **throttled**, open [Service Quotas](https://example.com) and run "
        "`aws bedrock list`.\n\n- first _item_\n- second\n\n| model | quota |\n|---|---|\n"
        "| claude | 500 |"
    )
    svg = _svg([{"type": "text", "width": 24, "height": 6, "properties": {"markdown": markdown}}])
    texts = _texts(svg)
    assert "Runbook" in texts
    assert "When throttled, open Service Quotas and run aws bedrock list." in texts
    assert "• first item" in texts
    assert "claude | 500" in texts
    joined = "\n".join(texts)
    for syntax in ("#", "**", "](", "`", "|---"):
        assert syntax not in joined


def test_markdown_to_lines_kinds() -> None:
    assert markdown_to_lines("Title\n===\n\n\n```\ncode  here\n```\n> quote\n1) one") == [
        ("Title", "head"),
        ("", "blank"),
        ("code  here", "code"),
        ("quote", "body"),
        ("1. one", "body"),
    ]


def test_alarm_widget_lists_alarm_names() -> None:
    [(logical_id, svg)] = render_template(TEMPLATE)
    assert logical_id == "Dashboard9A1B"
    texts = _texts(svg)
    assert "bedrock-overview" in texts  # the dashboard name is the picture's title
    assert "bedrock-throttles" in texts  # AlarmName from the template
    assert "OtherAlarm" in texts  # no AlarmName: the logical id
    assert "literal-alarm" in texts  # the name part of an ARN
    alarm = next(g for g in _widget_groups(svg) if g.get("data-type") == "alarm")
    assert "Alarms" in [el.text for el in alarm.iter(f"{SVG}text")]


def test_log_widget_shows_log_groups_and_query() -> None:
    [(_id, svg)] = render_template(TEMPLATE)
    texts = _texts(svg)
    assert "log group: ${InvocationLogs}" in texts
    assert "fields @timestamp, @message" in texts


# --------------------------------------------------------------------------- layout


def test_widgets_without_position_flow_left_to_right_and_wrap() -> None:
    widgets = layout_widgets([{"type": "metric", "properties": {}} for _ in range(5)])
    assert [(w.x, w.y, w.width, w.height) for w in widgets] == [
        (0, 0, 6, 6),
        (6, 0, 6, 6),
        (12, 0, 6, 6),
        (18, 0, 6, 6),
        (0, 6, 6, 6),
    ]


def test_auto_placed_widgets_avoid_explicit_ones() -> None:
    widgets = layout_widgets(
        [
            {"type": "text", "width": 12, "height": 3, "properties": {}},
            {"type": "text", "x": 12, "y": 0, "width": 12, "height": 6, "properties": {}},
            {"type": "text", "width": 18, "height": 2, "properties": {}},
        ]
    )
    assert [(w.x, w.y) for w in widgets] == [(0, 0), (12, 0), (0, 6)]


def test_svg_follows_the_grid_and_boxes_do_not_overlap() -> None:
    [(_id, svg)] = render_template(TEMPLATE)
    groups = _widget_groups(svg)
    assert len(groups) == 4
    boxes = [_box(g) for g in groups]
    for (ax1, ay1, ax2, ay2), (bx1, by1, bx2, by2) in combinations(boxes, 2):
        assert ax2 <= bx1 or bx2 <= ax1 or ay2 <= by1 or by2 <= ay1
    x1, y1, x2, y2 = boxes[1]  # the 12 x 6 metric widget
    assert x2 - x1 == pytest.approx(12 * COL_PX, abs=10)
    assert y2 - y1 == pytest.approx(6 * ROW_PX, abs=10)
    root = _root(svg)
    width, height = float(root.get("width", "0")), float(root.get("height", "0"))
    assert all(bx2 <= width and by2 <= height for _bx1, _by1, bx2, by2 in boxes)


def _title_lines(group: ET.Element) -> list[ET.Element]:
    return [t for t in group.iter(f"{SVG}text") if t.get("class") == "title"]


def test_a_long_title_wraps_to_two_lines_then_keeps_the_whole_title_in_a_tooltip() -> None:
    two_lines = "Invocations, throttles and errors of every model"
    too_long = "Invocations of every model in every account " * 5
    svg = _svg([_metric(two_lines, width=6), _metric(too_long.strip(), width=6)])
    first, second = (_title_lines(g) for g in _widget_groups(svg))
    assert len(first) == 2  # wrapped, whole, no tooltip needed
    assert " ".join(t.text or "" for t in first) == two_lines
    assert all(t.find(f"{SVG}title") is None for t in first)
    assert len(second) == 2
    assert (second[-1].text or "").endswith("\u2026")
    assert second[-1].findtext(f"{SVG}title") == too_long.strip()
    assert text_problems(svg, DASHBOARD_BOXES) == []
    assert truncate("short", 100, "body") == "short"
    assert text_width(truncate("x" * 500, 120, "body"), "body") <= 120


def test_long_legend_lines_wrap_under_their_swatch() -> None:
    dimension = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    widget = _metric(
        "Latency",
        width=6,
        metrics=[["AWS/Bedrock", "InvocationLatency", "ModelId", dimension, {"label": "p99"}]],
    )
    svg = _svg([widget])
    (group,) = _widget_groups(svg)
    body = [t for t in group.iter(f"{SVG}text") if t.get("class") == "body"]
    assert len(body) > 1
    assert "".join(t.text or "" for t in body).replace(" ", "") == (
        f"p99: InvocationLatency (Average) · AWS/Bedrock · {dimension}".replace(" ", "")
    )
    swatch = next(r for r in group.iter(f"{SVG}rect") if r.get("width") == "8")
    assert float(body[1].get("x", 0)) == float(body[0].get("x", 0)) > float(swatch.get("x", 0))
    assert text_problems(svg, DASHBOARD_BOXES) == []


def test_lines_that_do_not_fit_are_counted_and_kept_in_a_tooltip() -> None:
    metrics = [["AWS/Bedrock", f"Metric{i}", "ModelId", f"model-{i}"] for i in range(30)]
    svg = _svg([_metric("Many metrics", width=6, height=4, metrics=metrics)])
    (group,) = _widget_groups(svg)
    more = next(t for t in group.iter(f"{SVG}text") if (t.text or "").startswith("+"))
    hidden = int((more.text or "").split()[0][1:])
    shown = [t.text for t in group.iter(f"{SVG}text") if t.get("class") == "body"]
    assert len(shown) + hidden == 30
    tip = (more.findtext(f"{SVG}title") or "").split("\n")
    assert tip == [f"Metric{i} (Average) · AWS/Bedrock · model-{i}" for i in range(30 - hidden, 30)]
    assert text_problems(svg, DASHBOARD_BOXES) == []


def test_no_text_is_cut_without_its_full_text_and_none_overflows() -> None:
    for _id, svg in render_template(TEMPLATE):
        assert text_problems(svg, DASHBOARD_BOXES) == []
    long = "A dashboard name far too long for its picture " * 8
    svg = _svg([_metric("x " * 200, width=2, height=2)], title=long)
    assert text_problems(svg, DASHBOARD_BOXES) == []
    # the checks fail once the tooltips are gone
    assert text_problems(re.sub(r"<title>[^<]*</title>", "", svg), DASHBOARD_BOXES)


@pytest.mark.parametrize(
    "picture", sorted(p.name for p in (ROOT / "docs").glob("bedrock-lz-*.svg")) or ["none"]
)
def test_committed_dashboard_pictures_read_whole(picture: str) -> None:
    svg = (ROOT / "docs" / picture).read_text(encoding="utf-8")
    assert text_problems(svg, DASHBOARD_BOXES) == []


# --------------------------------------------------------------------------- SVG output


def test_output_is_well_formed_and_deterministic() -> None:
    body = resolve_dashboard_body(CDK_BODY)
    first = render_svg(body, title="bedrock-overview")
    second = render_svg(json.loads(json.dumps(body)), title="bedrock-overview")
    assert first == second
    root = _root(first)
    assert root.tag == f"{SVG}svg"
    assert render_template(TEMPLATE) == render_template(json.loads(json.dumps(TEMPLATE)))


def test_xml_special_characters_are_escaped() -> None:
    nasty = "Errors <5xx> & \"throttles\" 'p99'\x07"
    svg = render_svg(
        {
            "widgets": [
                _metric(nasty, width=24),
                {"type": "text", "properties": {"markdown": "a < b & c"}},
            ]
        },
        title="<Dash> & co",
    )
    assert "&lt;Dash&gt; &amp; co" in svg
    texts = _texts(svg)  # parses, so the document is well-formed
    assert "<Dash> & co" in texts
    assert "Errors <5xx> & \"throttles\" 'p99'\ufffd" in texts
    assert "a < b & c" in texts


def test_empty_dashboard_renders() -> None:
    svg = render_svg({}, title="Empty")
    assert "(this dashboard has no widgets)" in _texts(svg)


# --------------------------------------------------------------------------- CLI


def _write(path: Path, template: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(template), encoding="utf-8")


def test_cli_writes_one_svg_per_dashboard(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cdk_out, out = tmp_path / "cdk.out", tmp_path / "previews"
    _write(cdk_out / "Monitoring.template.json", TEMPLATE)
    _write(cdk_out / "Network.template.json", {"Resources": {}})
    unnamed = {
        "Resources": {
            "Dash": {
                "Type": "AWS::CloudWatch::Dashboard",
                "Properties": {"DashboardBody": '{"widgets":[]}'},
            }
        }
    }
    _write(cdk_out / "assembly-Prod" / "ProdMonitoring.template.json", TEMPLATE)
    _write(cdk_out / "assembly-Prod" / "ProdOther.template.json", unnamed)

    assert main([str(cdk_out), str(out)]) == 0

    written = sorted(p.name for p in out.iterdir())
    assert written == ["Dash.svg", "ProdMonitoring-bedrock-overview.svg", "bedrock-overview.svg"]
    for name in written:
        _root((out / name).read_text(encoding="utf-8"))
    printed = capsys.readouterr().out
    assert f"wrote {out / 'bedrock-overview.svg'}" in printed
    assert printed.count("wrote ") == 3


def test_cli_fails_when_there_is_no_dashboard(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path / "Network.template.json", {"Resources": {"Vpc": {"Type": "AWS::EC2::VPC"}}})
    assert main([str(tmp_path), str(tmp_path / "out")]) == 1
    assert "no AWS::CloudWatch::Dashboard resources" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert main([str(tmp_path / "missing"), str(tmp_path / "out")]) == 1


def test_module_runs_without_the_cdk(tmp_path: Path) -> None:
    _write(tmp_path / "cdk.out" / "Monitoring.template.json", TEMPLATE)
    code = (
        "import sys, runpy; sys.argv = ['x', sys.argv[1], sys.argv[2]]\n"
        "try:\n"
        "    runpy.run_module(\n"
        "        'bedrock_landing_zone.pictures.dashboard_preview', run_name='__main__'\n"
        "    )\n"
        "except SystemExit as exit:\n"
        "    assert 'aws_cdk' not in sys.modules and 'jsii' not in sys.modules\n"
        "    raise\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "cdk.out"), str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "bedrock-overview.svg").is_file()


def test_cross_stack_reference_is_shown_as_stack_and_output() -> None:
    value = {
        "Fn::GetStackOutput": {
            "StackName": "bedrock-lz-default-governance",
            "Region": "us-east-1",
            "OutputName": "PublishOutputFnGetAttGuardrailA5094A7BGuardrailArn4C7E9F2A",
        }
    }
    assert resolve_text(value) == "${bedrock-lz-default-governance.GuardrailA5094A7BGuardrailArn}"
