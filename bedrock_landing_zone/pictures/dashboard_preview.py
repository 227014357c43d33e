"""Render the CloudWatch dashboards of a synthesized CDK app as SVG pictures.

A reviewer can see what a dashboard will look like without an AWS account::

    python -m bedrock_landing_zone.pictures.dashboard_preview cdk.out dashboards/

Every ``AWS::CloudWatch::Dashboard`` in ``cdk.out/*.template.json`` (and in nested
``assembly-*`` directories) becomes ``<dashboards>/<dashboard name>.svg``.

A ``DashboardBody`` in a CDK template is usually an ``Fn::Join`` of JSON text and intrinsic
functions. Each intrinsic is replaced by a readable placeholder (``${AWS::Region}``,
``${MyTopic}``, ``${MyAlarm.Arn}``, ``${split(MyBucket.Arn, '/')[1]}``...; ``pictures.intrinsics``,
shared with the architecture diagram), escaped for the JSON string it stands in (or quoted when
it stands for a whole JSON value), and the result is parsed as the dashboard body JSON described
in the CloudWatch API reference ("Dashboard Body Structure and Syntax").

The picture follows the dashboard grid: 24 columns of ``COL_PX`` pixels, each height unit
``ROW_PX`` pixels. Widgets without ``x``/``y`` take the next free place, left to right and
wrapping at 24 columns, as CloudWatch does. Titles and legend lines wrap; a title longer than
two lines, or lines that do not fit in their widget, end with an ellipsis (or a "+n more" line)
that keeps the whole text in an SVG ``<title>`` tooltip, so nothing is lost. The output is
deterministic: the same input gives byte-identical SVG. Standard library only (no CDK import),
so that it runs in well under a second; the SVG helpers are those of ``pictures.svg``.
"""

from __future__ import annotations

import argparse
import html
import json
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bedrock_landing_zone.pictures.assembly import find_templates
from bedrock_landing_zone.pictures.intrinsics import (
    SUB_VAR,
    intrinsic,
    is_pair,
    resolve_text,
    sub_parts,
)
from bedrock_landing_zone.pictures.svg import (
    BASE_CSS,
    TEXT_CLASSES,
    document,
    esc,
    num,
    plural,
    rect,
    text_css,
    text_element,
    text_width,
    truncate,
    wrap,
    wrap_lines,
)

__all__ = [
    "COL_PX",
    "GRID_COLUMNS",
    "ROW_PX",
    "DashboardBodyError",
    "Widget",
    "expand_metrics",
    "layout_widgets",
    "main",
    "markdown_to_lines",
    "render_svg",
    "render_template",
    "resolve_dashboard_body",
]

GRID_COLUMNS = 24
COL_PX = 40  # pixels per grid column
ROW_PX = 30  # pixels per grid height unit (a default 6 x 6 widget is 240 x 180 px)
MARGIN = 16
HEADER_PX = 58
GAP = 4  # each box is inset by GAP on every side, so neighbours are 2 * GAP apart
PAD = 8
DEFAULT_WIDTH = 6
DEFAULT_HEIGHT = 6
TITLE_LINES = 2  # a longer widget title ends with an ellipsis, the whole title in a tooltip
MAX_HEIGHT = 1000

DASHBOARD_TYPE = "AWS::CloudWatch::Dashboard"
ALARM_TYPES = ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm")

# CloudWatch's default series colours, in order.
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
ANNOTATION_COLOR = "#d13212"
ALARM_COLOR = "#d13212"
HIDDEN_COLOR = "#8d99a8"
TYPE_COLORS = {
    "metric": "#0972d3",
    "text": "#8d99a8",
    "alarm": "#d13212",
    "log": "#037f0c",
}
OTHER_TYPE_COLOR = "#7d4fb2"

_STYLE = "".join(
    [
        BASE_CSS,
        ".grid{stroke:#e3e6e8;stroke-width:1}",
        ".box{fill:#ffffff;stroke:#c6cbd1;stroke-width:1}",
        text_css("h1", "sub", "title", "badge", "meta", "body", "muted", "head", "code", "ann"),
        ".halo{fill:#ffffff;fill-opacity:0.85}",
        ".axis{stroke:#aab7b8;stroke-width:1;fill:none}",
    ]
)

_BLANK_STEP = 7


class DashboardBodyError(ValueError):
    """The DashboardBody is not valid dashboard JSON once its intrinsics are replaced."""


# --------------------------------------------------------------------------- dashboard body


class _JsonText:
    """Joins JSON text fragments and placeholders, tracking whether a JSON string is open."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.in_string = False
        self.escaped = False

    def literal(self, text: str) -> None:
        self.parts.append(text)
        for char in text:
            if self.escaped:
                self.escaped = False
            elif char == "\\":
                self.escaped = self.in_string
            elif char == '"':
                self.in_string = not self.in_string

    def placeholder(self, text: str) -> None:
        quoted = json.dumps(text)
        # Inside a JSON string: the escaped characters only; in a value position: a string.
        self.parts.append(quoted[1:-1] if self.in_string else quoted)

    def emit(self, value: Any) -> None:
        if isinstance(value, str):
            self.literal(value)
            return
        found = intrinsic(value)
        name, arg = found if found is not None else ("", [])
        if name == "Fn::Join" and is_pair(arg) and isinstance(arg[1], list):
            for i, item in enumerate(arg[1]):
                if i:
                    self.emit(arg[0])
                self.emit(item)
        elif name == "Fn::Sub":
            for literal, part in sub_parts(arg):
                if literal:
                    self.literal(part)
                elif isinstance(part, str) and SUB_VAR.fullmatch(part):
                    self.placeholder(part)
                else:
                    self.emit(part)
        elif found is None and not isinstance(value, dict | list):
            self.literal(json.dumps(value))  # a number, boolean or null
        else:
            self.placeholder(resolve_text(value))

    def text(self) -> str:
        return "".join(self.parts)


def resolve_dashboard_body(body: Any) -> dict[str, Any]:
    """The dashboard JSON object of a ``DashboardBody`` property, intrinsics as placeholders.

    Raises ``DashboardBodyError`` when the resolved text is not a JSON object.
    """
    if isinstance(body, dict) and intrinsic(body) is None:
        return body  # already an object (not valid CloudFormation, but unambiguous)
    builder = _JsonText()
    builder.emit(body)
    text = builder.text()
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        start = max(0, exc.pos - 40)
        raise DashboardBodyError(
            f"DashboardBody is not valid JSON after replacing intrinsics: {exc.msg} at "
            f"character {exc.pos}, near {text[start : exc.pos + 40]!r}"
        ) from exc
    if not isinstance(parsed, dict):
        raise DashboardBodyError(
            f"DashboardBody must be a JSON object, got {type(parsed).__name__}"
        )
    return parsed


# --------------------------------------------------------------------------- widgets & layout


@dataclass(frozen=True)
class Widget:
    """One widget placed on the grid (columns and height units)."""

    index: int
    type: str
    x: int
    y: int
    width: int
    height: int
    properties: Mapping[str, Any]


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value.strip()))
        except (ValueError, OverflowError):
            return None
    return None


@dataclass
class _Grid:
    """Occupied (column, row) cells of the dashboard grid."""

    cells: set[tuple[int, int]] = field(default_factory=set)

    def fits(self, x: int, y: int, width: int, height: int) -> bool:
        return all(
            (col, row) not in self.cells
            for row in range(y, y + height)
            for col in range(x, x + width)
        )

    def occupy(self, x: int, y: int, width: int, height: int) -> None:
        self.cells.update((col, row) for row in range(y, y + height) for col in range(x, x + width))

    def next_free(
        self, start: tuple[int, int], width: int, height: int, *, x: int | None, y: int | None
    ) -> tuple[int, int]:
        """(x, y) of the first free place at or after ``start`` (row, column), row-major.

        A given ``x`` or ``y`` is kept; with ``y`` given and no room in that row, column 0.
        """
        if y is not None:
            columns = [x] if x is not None else list(range(GRID_COLUMNS - width + 1))
            free = ((col, y) for col in columns if self.fits(col, y, width, height))
            return next(free, (columns[0], y))
        start_row, start_col = start
        last_row = max(start_row, max((row for _col, row in self.cells), default=-1) + 1)
        for row in range(start_row, last_row + 1):
            first = start_col if row == start_row and x is None else 0
            for col in [x] if x is not None else range(first, GRID_COLUMNS - width + 1):
                if self.fits(col, row, width, height):
                    return col, row
        return x or 0, last_row  # pragma: no cover - the row after the last is always free


def layout_widgets(widgets: Sequence[Any]) -> list[Widget]:
    """Place the dashboard's widgets on the 24-column grid.

    Widgets with ``x`` and ``y`` keep them (clamped into the grid). The others take, in order,
    the first free place at or after the previous auto-placed widget, scanning rows top to
    bottom and columns left to right: left to right, wrapping at 24 columns.
    """
    sized: list[tuple[int, Mapping[str, Any], int, int, int | None, int | None]] = []
    for index, raw in enumerate(widgets):
        if not isinstance(raw, dict):
            continue
        width = _as_int(raw.get("width"))
        height = _as_int(raw.get("height"))
        width = min(max(width if width is not None else DEFAULT_WIDTH, 1), GRID_COLUMNS)
        height = min(max(height if height is not None else DEFAULT_HEIGHT, 1), MAX_HEIGHT)
        x, y = _as_int(raw.get("x")), _as_int(raw.get("y"))
        x = min(max(x, 0), GRID_COLUMNS - width) if x is not None else None
        y = max(y, 0) if y is not None else None
        sized.append((index, raw, width, height, x, y))

    grid = _Grid()
    placed: dict[int, tuple[int, int]] = {}
    for index, _raw, width, height, x, y in sized:
        if x is not None and y is not None:
            placed[index] = (x, y)
            grid.occupy(x, y, width, height)
    cursor = (0, 0)  # (row, column) of the previous auto-placed widget
    for index, _raw, width, height, x, y in sized:
        if index not in placed:
            placed[index] = grid.next_free(cursor, width, height, x=x, y=y)
            grid.occupy(*placed[index], width, height)
            if x is None and y is None:
                cursor = (placed[index][1], placed[index][0])

    result: list[Widget] = []
    for index, raw, width, height, _x, _y in sized:
        props, kind = raw.get("properties"), raw.get("type")
        result.append(
            Widget(
                index=index,
                type=kind if isinstance(kind, str) else "unknown",
                x=placed[index][0],
                y=placed[index][1],
                width=width,
                height=height,
                properties=props if isinstance(props, dict) else {},
            )
        )
    return result


# --------------------------------------------------------------------------- metrics


def expand_metrics(metrics: Any) -> list[tuple[list[Any], dict[str, Any]]]:
    """Expand a widget's ``metrics`` array into (entries, rendering options) per metric.

    ``"."`` repeats the entry in the same position of the previous metric; ``"..."`` (the form
    the CloudWatch console writes; ``".."`` is accepted too) stands for all the previous
    metric's entries up to those written after it, so ``["...", "i-2"]`` after
    ``["AWS/EC2", "CPUUtilization", "InstanceId", "i-1"]`` is
    ``["AWS/EC2", "CPUUtilization", "InstanceId", "i-2"]``. Options are never inherited.
    Expression-only entries (``[{"expression": ...}]``) have no entries and do not change the
    "previous metric".
    """
    result: list[tuple[list[Any], dict[str, Any]]] = []
    if not isinstance(metrics, list):
        return result
    previous: list[Any] = []
    for raw in metrics:
        entry = [raw] if isinstance(raw, dict) else raw
        if not isinstance(entry, list):
            continue
        items = list(entry)
        options: dict[str, Any] = items.pop() if items and isinstance(items[-1], dict) else {}
        rest = next((i for i, item in enumerate(items) if item in ("...", "..")), None)
        if rest is not None:
            before, after = items[:rest], items[rest + 1 :]
            fill = previous[len(before) : max(len(before), len(previous) - len(after))]
            items = before + fill + after
        items = [
            previous[i] if item == "." and i < len(previous) else item
            for i, item in enumerate(items)
        ]
        if items:
            previous = items
        result.append((items, options))
    return result


def _display_number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return resolve_text(value)
    if not math.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.6g}"


def _period_text(period: Any) -> str:
    seconds = _as_int(period)
    if seconds is None or seconds <= 0:
        return resolve_text(period)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def _metric_text(items: Sequence[Any], options: Mapping[str, Any], default_stat: str) -> str:
    """One legend line: ``[label: ]MetricName (stat) · Namespace · dimension values``."""
    name = options.get("label") or options.get("id")
    if options.get("expression") is not None and not items:
        return f"{resolve_text(name or 'expression')} = {resolve_text(options['expression'])}"
    namespace = resolve_text(items[0]) if items else "?"
    metric = resolve_text(items[1]) if len(items) > 1 else "?"
    stat = resolve_text(options.get("stat") or default_stat)
    text = f"{resolve_text(name)}: " if name else ""
    text += f"{metric} ({stat}) · {namespace}"
    dimension_values = [resolve_text(v) for v in items[3::2]]
    if dimension_values:
        text += " · " + ", ".join(dimension_values)
    if options.get("yAxis") == "right":
        text += " · right axis"
    return text


# --------------------------------------------------------------------------- markdown


_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_SETEXT = re.compile(r"^\s*=+\s*$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
_BULLET = re.compile(r"^[-*+]\s+(\[[ xX]\]\s+)?")
_ORDERED = re.compile(r"^(\d+)[.)]\s+")
_QUOTE = re.compile(r"^(>\s?)+")
_HTML_TAG = re.compile(
    r"</?(?:a|b|br|code|del|details|div|em|h[1-6]|hr|i|img|kbd|li|ol|p|pre|s|small|span"
    r"|strong|sub|summary|sup|table|tbody|td|th|thead|tr|u|ul)(?:\s[^<>]*)?/?>",
    re.IGNORECASE,
)
_INLINE: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images -> alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links -> text
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # reference links -> text
    (re.compile(r"<((?:https?|mailto):[^>\s]+)>"), r"\1"),  # autolinks
    (_HTML_TAG, ""),
    (re.compile(r"`([^`]*)`"), r"\1"),
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?!\*)"), r"\1"),
    (re.compile(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)"), r"\1"),
    (re.compile(r"~~(.+?)~~"), r"\1"),
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])"), r"\1"),
)


def _strip_inline(text: str) -> str:
    for pattern, replacement in _INLINE:
        text = pattern.sub(replacement, text)
    return html.unescape(text)


def _markdown_line(line: str) -> tuple[str, str] | None:
    """One stripped markdown line as (text, kind); None for lines that show nothing."""
    if not line:
        return "", "blank"
    if _RULE.match(line) or (_TABLE_SEP.match(line) and "-" in line and "|" in line):
        return None
    heading = _HEADING.match(line)
    if heading:
        return _strip_inline(heading.group(2)), "head"
    line = _QUOTE.sub("", line)
    if bullet := _BULLET.match(line):
        line = "• " + line[bullet.end() :]
    elif ordered := _ORDERED.match(line):
        line = f"{ordered.group(1)}. " + line[ordered.end() :]
    if line.startswith("|") or line.count("|") >= 2:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        line = " | ".join(cell for cell in cells if cell)
    return _strip_inline(line), "body"


def markdown_to_lines(markdown: str) -> list[tuple[str, str]]:
    """Markdown as plain (text, kind) lines; kind is ``head``, ``body``, ``code`` or ``blank``.

    Headings lose their ``#``, emphasis and code marks are dropped, links and images keep their
    text, list items get a bullet, table rows become ``a | b``, HTML tags go.
    """
    lines: list[tuple[str, str]] = []
    in_code = False
    for raw in markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if _FENCE.match(raw):
            in_code = not in_code
        elif in_code:
            lines.append((raw.rstrip().replace("\t", "    "), "code"))
        elif _SETEXT.match(raw) and lines and lines[-1][1] == "body":
            lines[-1] = (lines[-1][0], "head")
        elif (converted := _markdown_line(raw.strip())) is not None:
            lines.append(converted)
    # Collapse runs of blank lines and trim them at both ends.
    collapsed: list[tuple[str, str]] = []
    for text, kind in lines:
        if kind != "blank" or (collapsed and collapsed[-1][1] != "blank"):
            collapsed.append((text, kind))
    while collapsed and collapsed[-1][1] == "blank":
        collapsed.pop()
    return collapsed


# --------------------------------------------------------------------------- SVG output

_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")


def _color(value: Any, default: str) -> str:
    return value if isinstance(value, str) and _COLOR.match(value) else default


@dataclass(frozen=True)
class _Line:
    text: str
    css: str = "body"  # a TEXT_CLASSES key, or "blank" for a paragraph gap
    marker: str | None = None  # a colour: draw a legend swatch before the text
    hollow: bool = False  # a hidden metric: the swatch is an outline
    indent: float = 0.0  # the parts after the first of a line with a swatch: right of it
    whole: str | None = None  # the unwrapped line that this one is a part of
    part: int = 0  # which part of ``whole``
    cut: bool = False  # the last part shown of a shortened line: ``whole`` goes in a tooltip

    @property
    def step(self) -> float:
        return _BLANK_STEP if self.css == "blank" else TEXT_CLASSES[self.css][3]


@dataclass(frozen=True)
class _Content:
    """What a widget shows: a meta line, body lines and horizontal annotations."""

    meta: list[str]
    lines: list[_Line]
    horizontal: list[tuple[dict[str, Any], ...]] = field(default_factory=list)


@dataclass(frozen=True)
class _Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def left(self) -> float:
        return self.x + PAD

    @property
    def right(self) -> float:
        return self.x + self.width - PAD

    @property
    def bottom(self) -> float:
        return self.y + self.height - 3


class _Canvas:
    def __init__(self) -> None:
        self.defs: list[str] = []
        self.items: list[str] = []

    def add(self, element: str) -> None:
        self.items.append(element)

    def text(
        self,
        x: float,
        y: float,
        text: str,
        css: str,
        *,
        anchor: str = "",
        fill: str = "",
        max_px: float | None = None,
        full: str | None = None,
    ) -> None:
        """A text element; shortened to ``max_px`` with the full text in a tooltip."""
        attrs = f'fill="{fill}"' if fill else ""
        attrs += ' xml:space="preserve"' if css == "code" else ""
        self.items.append(
            text_element(
                x, y, text, css, max_px=max_px, anchor=anchor, attrs=attrs.strip(), full=full
            )
        )

    def lines(
        self,
        lines: Sequence[_Line],
        *,
        box: _Box,
        top: float,
        bottom: float,
        first_width: float | None = None,
    ) -> float:
        """Draw ``lines`` from ``top``; returns the y after the last drawn line.

        When not all fit above ``bottom``, the last visible line says how many were left out.
        """
        y = top
        for i, line in enumerate(lines):
            rest = lines[i + 1 :]
            if line.css == "blank":
                y += line.step
                continue
            # Draw this line if it fits and either all after it fit too or there is still room
            # after it for the "+n more" line; otherwise say "+n more" here.
            if not _line_fits(y, line.css, bottom) or (
                rest
                and not _line_fits(y + line.step + _height(rest[:-1]), rest[-1].css, bottom)
                and not _line_fits(y + line.step, "muted", bottom)
            ):
                if _line_fits(y, "muted", bottom):
                    hidden = _logical_lines(lines[i:])
                    more = f"+{len(hidden)} more"
                    self.text(box.left, y + 11, more, "muted", full="\n".join(hidden))
                    y += TEXT_CLASSES["muted"][3]
                return y
            width = first_width if i == 0 and first_width is not None else box.right - box.left
            self._line(line, box.left, y + TEXT_CLASSES[line.css][0], width)
            y += line.step
        return y

    def _line(self, line: _Line, left: float, baseline: float, width: float) -> None:
        if line.marker is not None:
            top = baseline - TEXT_CLASSES[line.css][0] * 0.75
            if line.hollow:
                attrs = f'fill="none" stroke="{line.marker}"'
                self.add(rect(left + 0.5, top + 0.5, 7, 7, attrs))
            else:
                self.add(rect(left, top, 8, 8, f'fill="{line.marker}"'))
            left, width = left + 13, width - 13
        left, width = left + line.indent, width - line.indent
        full = line.whole if line.cut else None
        self.text(left, baseline, line.text, line.css, max_px=width, full=full)


def _logical_lines(lines: Sequence[_Line]) -> list[str]:
    """The unwrapped texts of ``lines`` (each once, in order), blank lines left out."""
    return [
        line.whole or line.text
        for i, line in enumerate(lines)
        if line.css != "blank" and (line.part == 0 or i == 0)
    ]


def _line_fits(y: float, css: str, bottom: float) -> bool:
    """Whether a ``css`` line starting at ``y`` ends, descenders included, above ``bottom``."""
    size = TEXT_CLASSES[css][0] if css in TEXT_CLASSES else 0
    return y + size * 1.25 <= bottom


def _height(lines: Sequence[_Line]) -> float:
    return sum(line.step for line in lines)


def _alarm_label(ref: Any, alarm_names: Mapping[str, str]) -> str:
    """An alarm's name: from ``alarm_names`` for ``${LogicalId.Arn}``, or from its ARN."""
    text = resolve_text(ref)
    token = re.fullmatch(r"\$\{([A-Za-z0-9_-]+)(?:\.Arn)?\}", text)
    if token:
        return alarm_names.get(token.group(1), token.group(1))
    if ":alarm:" in text:
        return text.split(":alarm:", 1)[1]
    return text


def _metric_content(props: Mapping[str, Any], alarm_names: Mapping[str, str]) -> _Content:
    default_stat = resolve_text(props.get("stat") or "Average")
    meta = [resolve_text(props.get("view") or "timeSeries")]
    meta += ["stacked"] if props.get("stacked") is True else []
    meta += [default_stat] if "stat" in props else []
    meta.append(_period_text(props.get("period", 300)))
    meta += [resolve_text(props["region"])] if props.get("region") else []
    content = _Content(meta, [])
    colour = 0
    for items, options in expand_metrics(props.get("metrics")):
        text = _metric_text(items, options, default_stat)
        if options.get("visible") is False:
            content.lines.append(_Line(text, "muted", marker=HIDDEN_COLOR, hollow=True))
        else:
            marker = _color(options.get("color"), PALETTE[colour % len(PALETTE)])
            content.lines.append(_Line(text, "body", marker=marker))
            colour += 1
    annotations = props.get("annotations")
    annotations = annotations if isinstance(annotations, dict) else {}
    for alarm in annotations.get("alarms") or []:
        label = _alarm_label(alarm, alarm_names)
        content.lines.append(_Line(f"alarm: {label}", marker=ALARM_COLOR))
    for entry in annotations.get("horizontal") or []:
        band = tuple(
            b for b in (entry if isinstance(entry, list) else [entry]) if isinstance(b, dict)
        )
        if band and band[0].get("visible", True) is not False:
            content.horizontal.append(band)
    for entry in annotations.get("vertical") or []:
        first = entry[0] if isinstance(entry, list) and entry else entry
        if isinstance(first, dict):
            label = resolve_text(first.get("label") or "")
            when = f"at {resolve_text(first.get('value'))}"
            text = (
                f"vertical annotation: {label} {when}" if label else f"vertical annotation {when}"
            )
            content.lines.append(_Line(text, "muted"))
    if not content.lines and not content.horizontal:
        content.lines.append(_Line("(no metrics)", "muted"))
    return content


def _alarm_content(props: Mapping[str, Any], alarm_names: Mapping[str, str]) -> _Content:
    alarms = props.get("alarms") or []
    lines = [
        _Line(_alarm_label(alarm, alarm_names), marker=HIDDEN_COLOR)
        for alarm in (alarms if isinstance(alarms, list) else [alarms])
    ]
    meta = [f"{key}: {resolve_text(props[key])}" for key in ("sortBy", "states") if props.get(key)]
    return _Content(meta, lines or [_Line("(no alarms)", "muted")])


def _log_content(props: Mapping[str, Any]) -> _Content:
    meta = [resolve_text(props.get("view") or "table")]
    meta += [resolve_text(props["region"])] if props.get("region") else []
    query = resolve_text(props.get("query") or "")
    sources = re.findall(r"SOURCE\s+'([^']*)'", query)
    body = re.sub(r"^(\s*SOURCE\s+'[^']*'\s*\|?\s*)+", "", query)
    lines = [_Line(f"log group: {source}", "body", marker="#037f0c") for source in sources]
    lines += [_Line(raw.strip(), "code") for raw in body.split("\n") if raw.strip()]
    return _Content(meta, lines)


def _other_content(props: Mapping[str, Any]) -> _Content:
    lines = [
        _Line(f"{key}: {resolve_text(props[key])}")
        for key in ("endpoint", "query", "params")
        if key in props
    ]
    for items, _options in expand_metrics(props.get("metrics")):
        lines += [_Line(resolve_text(items[1]))] if len(items) > 1 else []
    if not lines:
        keys = ", ".join(sorted(k for k in props if k != "title")) or "none"
        lines.append(_Line(f"properties: {keys}", "muted"))
    return _Content([], lines)


def _content(widget: Widget, alarm_names: Mapping[str, str]) -> _Content:
    props = widget.properties
    if widget.type == "metric":
        return _metric_content(props, alarm_names)
    if widget.type == "text":
        markdown = markdown_to_lines(resolve_text(props.get("markdown") or ""))
        return _Content([], [_Line(text, kind) for text, kind in markdown])
    if widget.type == "alarm":
        return _alarm_content(props, alarm_names)
    if widget.type == "log":
        return _log_content(props)
    return _other_content(props)


def _rest(text: str, lines: Sequence[str]) -> str:
    """What follows the wrapped ``lines`` in ``text`` (each line starts where the previous one
    ended, after one space at a word break)."""
    pos = 0
    for line in lines:
        pos += len(line)
        pos += 1 if text[pos : pos + 1] == " " else 0
    return text[pos:]


def _wrap_first(text: str, first: float, width: float, css: str) -> list[str]:
    """``text`` wrapped to ``width``, its first line to ``first``."""
    head = wrap(text, first, css)[0]
    rest = _rest(text, [head])
    return [head, *wrap(rest, width, css)] if rest else [head]


def _wrapped(
    lines: Sequence[_Line], width: float, first: float, max_parts: int | None = None
) -> list[_Line]:
    """``lines`` word-wrapped to ``width`` (the very first line to ``first``); the parts of a line
    with a swatch line up right of it. With ``max_parts``, a line needing more parts ends with an
    ellipsis in its last part, which keeps the whole line for a tooltip."""
    result: list[_Line] = []
    for line in lines:
        if line.css == "blank":
            result.append(line)
            continue
        swatch = 13.0 if line.marker is not None else 0.0
        room = first if not result else width
        parts = _wrap_first(line.text, room - swatch, width - swatch, line.css)
        cut = max_parts is not None and len(parts) > max_parts
        if max_parts is not None and cut:
            rest = _rest(line.text, parts[: max_parts - 1])
            rest_width = (room if max_parts == 1 else width) - swatch
            parts = [*parts[: max_parts - 1], truncate(rest, rest_width, line.css)]
        whole = line.text if len(parts) > 1 or cut else None
        result += [
            _Line(
                part,
                line.css,
                marker=line.marker if i == 0 else None,
                hollow=line.hollow,
                indent=swatch if i else 0.0,
                whole=whole,
                part=i,
                cut=cut and i == len(parts) - 1,
            )
            for i, part in enumerate(parts)
        ]
    return result


def _fits(lines: Sequence[_Line], top: float, bottom: float) -> bool:
    """Whether all ``lines`` drawn from ``top`` end above ``bottom``."""
    y = top
    for line in lines:
        if line.css != "blank" and not _line_fits(y, line.css, bottom):
            return False
        y += line.step
    return True


def _fitted(
    lines: Sequence[_Line], width: float, first: float, top: float, bottom: float
) -> list[_Line]:
    """``lines`` wrapped whole when they fit between ``top`` and ``bottom``, else with fewer
    parts per line (3, 2, then 1) so that more of them show; the shortened ones keep their
    whole text for a tooltip."""
    for max_parts in (None, 3, 2):
        wrapped = _wrapped(lines, width, first, max_parts)
        if _fits(wrapped, top, bottom):
            return wrapped
    return _wrapped(lines, width, first, 1)


def _draw_annotations(
    canvas: _Canvas, bands: Sequence[tuple[dict[str, Any], ...]], y_axis: Any, box: _Box, top: float
) -> None:
    """A small chart from ``top`` to the bottom of ``box`` with the horizontal annotations."""
    bottom = box.bottom - 2
    if bottom - top < 14:
        return
    values = [
        float(part["value"])
        for band in bands
        for part in band
        if isinstance(part.get("value"), int | float) and not isinstance(part.get("value"), bool)
    ]
    axis = y_axis.get("left") if isinstance(y_axis, dict) else None
    axis = axis if isinstance(axis, dict) else {}
    low = float(axis["min"]) if isinstance(axis.get("min"), int | float) else min([0.0, *values])
    high = max([low + 1.0, *values]) * 1.15 if values else 1.0
    high = float(axis["max"]) if isinstance(axis.get("max"), int | float) else high
    high = high if high > low else low + 1.0
    plot_top = top + 12
    canvas.add(
        f'<path class="axis" d="M{num(box.left)} {num(top)}V{num(bottom)}H{num(box.right)}"/>'
    )

    def y_of(value: Any, position: int) -> float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            share = (float(value) - low) / (high - low)
        else:  # a placeholder: spread them evenly
            share = (position + 1) / (len(bands) + 1)
        return bottom - min(max(share, 0.0), 1.0) * (bottom - plot_top)

    labels: list[tuple[float, str, str]] = []
    width = box.right - box.left - 1
    for position, band in enumerate(bands):
        colour = _color(band[0].get("color"), ANNOTATION_COLOR)
        ys = [y_of(part.get("value"), position) for part in band]
        fill = band[0].get("fill")
        if len(ys) > 1:
            shade = (min(ys), max(ys), "0.12")
        elif fill in ("above", "below"):
            edge = plot_top if fill == "above" else bottom
            shade = (min(ys[0], edge), max(ys[0], edge), "0.08")
        else:
            shade = None
        if shade:
            attrs = f'fill="{colour}" fill-opacity="{shade[2]}"'
            canvas.add(rect(box.left + 1, shade[0], width, shade[1] - shade[0], attrs))
        for y in ys:
            canvas.add(
                f'<line x1="{num(box.left + 1)}" y1="{num(y)}" x2="{num(box.right)}" y2="{num(y)}" '
                f'stroke="{colour}" stroke-width="1.5" stroke-dasharray="6 3"/>'
            )
        value = " to ".join(_display_number(part.get("value")) for part in band)
        label = resolve_text(band[0].get("label") or "")
        labels.append((ys[0], f"{label}: {value}" if label else value, colour))

    # Labels just above their lines, pushed apart so that they do not overlap.
    last = top - 2.0
    for y, text, colour in sorted(labels, key=lambda item: item[0]):
        baseline = min(max(y - 3, last + 11, top + 9), bottom - 2)
        last = baseline
        shown = truncate(text, width - 8, "ann")
        canvas.add(
            rect(box.left + 2, baseline - 9, text_width(shown, "ann") + 4, 12, 'class="halo"')
        )
        canvas.text(box.left + 4, baseline, shown, "ann", fill=colour, full=text)


def _draw_widget(
    canvas: _Canvas, widget: Widget, origin: tuple[float, float], alarm_names: Mapping[str, str]
) -> None:
    box = _Box(
        x=origin[0] + widget.x * COL_PX + GAP,
        y=origin[1] + widget.y * ROW_PX + GAP,
        width=widget.width * COL_PX - 2 * GAP,
        height=widget.height * ROW_PX - 2 * GAP,
    )
    clip = f"clip-{widget.index}"
    clip_rect = rect(box.x, box.y, box.width, box.height, "")
    canvas.defs.append(f'<clipPath id="{clip}">{clip_rect}</clipPath>')
    canvas.add(
        f'<g class="widget" data-index="{widget.index}" data-type="{esc(widget.type)}" '
        f'data-grid="{widget.x},{widget.y},{widget.width},{widget.height}">'
    )
    canvas.add(rect(box.x, box.y, box.width, box.height, 'class="box" rx="3"'))
    canvas.add(f'<g clip-path="url(#{clip})">')
    colour = TYPE_COLORS.get(widget.type, OTHER_TYPE_COLOR)
    canvas.add(rect(box.x, box.y, 3, box.height, f'fill="{colour}"'))
    canvas.text(box.right, box.y + 15, widget.type, "badge", anchor="end")

    content = _content(widget, alarm_names)
    title = resolve_text(widget.properties.get("title") or "")
    width = box.right - box.left
    first_width = width - text_width(widget.type, "badge") - 8  # beside the type badge
    y = box.y + 3
    if title or widget.type != "text":  # untitled text widgets start at the top
        shown = title or "(untitled)"
        parts = _wrap_first(shown, first_width, width, "title")
        cut = len(parts) > TITLE_LINES
        if cut:  # the rest in the last line, the whole title in a tooltip
            rest = _rest(shown, parts[: TITLE_LINES - 1])
            parts = [*parts[: TITLE_LINES - 1], truncate(rest, width, "title")]
        for i, part in enumerate(parts):
            tip = shown if cut and i == len(parts) - 1 else None
            canvas.text(box.left, box.y + 18 + i * 17, part, "title", full=tip)
        y, first_width = box.y + 26 + (len(parts) - 1) * 17, width
    if content.meta:
        meta = " · ".join(content.meta)
        meta_lines, cut = wrap_lines(meta, width, "meta", 2)
        for i, part in enumerate(meta_lines):
            tip = meta if cut and i == len(meta_lines) - 1 else None
            canvas.text(box.left, y + 8, part, "meta", full=tip)
            y += TEXT_CLASSES["meta"][3]
    if content.horizontal:
        # The legend first (at least one line), then a small chart with the annotations.
        chart_min = 12.0 + 11.0 * len(content.horizontal)
        room = max(box.bottom - y - chart_min, 17.0)
        lines = _fitted(content.lines, width, first_width, y, y + room)
        legend = min(_height(lines) + 2, room)
        end = canvas.lines(lines, box=box, top=y, bottom=y + legend)
        _draw_annotations(canvas, content.horizontal, widget.properties.get("yAxis"), box, end + 2)
    else:
        lines = _fitted(content.lines, width, first_width, y, box.bottom)
        canvas.lines(lines, box=box, top=y, bottom=box.bottom, first_width=first_width)
    canvas.add("</g></g>")


def render_svg(
    body: Mapping[str, Any], *, title: str, alarm_names: Mapping[str, str] | None = None
) -> str:
    """An SVG picture of a dashboard body (the parsed ``DashboardBody`` JSON).

    ``alarm_names`` maps alarm logical ids to alarm names, for alarm ARNs given as
    ``${LogicalId.Arn}`` placeholders (``render_template`` fills it from the template).
    """
    raw_widgets = body.get("widgets")
    widgets = layout_widgets(raw_widgets if isinstance(raw_widgets, list) else [])
    grid_width = GRID_COLUMNS * COL_PX
    grid_height = max(2, max((w.y + w.height for w in widgets), default=0)) * ROW_PX
    width, height = grid_width + 2 * MARGIN, HEADER_PX + grid_height + MARGIN

    canvas = _Canvas()
    canvas.add(rect(0, 0, width, height, 'class="bg"'))
    guides = "".join(
        f"M{MARGIN + col * COL_PX} {HEADER_PX}v{grid_height}" for col in range(GRID_COLUMNS + 1)
    )
    canvas.add(f'<path class="grid" d="{guides}"/>')
    canvas.text(MARGIN, 28, title, "h1", max_px=grid_width)
    summary = [plural(len(widgets), "widget"), "24-column grid"]
    summary += [
        f"{key} {resolve_text(body[key])}"
        for key in ("start", "end", "periodOverride")
        if body.get(key)
    ]
    summary.append("CloudFormation values shown as ${Reference}")
    canvas.text(MARGIN, 46, " · ".join(summary), "sub", max_px=grid_width)
    if not widgets:
        canvas.text(MARGIN + 8, HEADER_PX + 24, "(this dashboard has no widgets)", "muted")
    for widget in widgets:
        _draw_widget(canvas, widget, (MARGIN, HEADER_PX), alarm_names or {})

    return document(width, height, title=title, style=_STYLE, defs=canvas.defs, body=canvas.items)


# --------------------------------------------------------------------------- templates & CLI


@dataclass(frozen=True)
class _Dashboard:
    logical_id: str
    name: str | None
    body: Any
    alarm_names: Mapping[str, str]

    @property
    def title(self) -> str:
        return self.name or self.logical_id


def _dashboards(template: Mapping[str, Any]) -> list[_Dashboard]:
    """The template's dashboards by logical id, with the alarm names they may refer to."""
    resources = template.get("Resources")
    if not isinstance(resources, dict):
        return []
    alarm_names: dict[str, str] = {}
    for logical_id, resource in resources.items():
        if isinstance(resource, dict) and resource.get("Type") in ALARM_TYPES:
            props = resource.get("Properties")
            if isinstance(props, dict) and props.get("AlarmName") is not None:
                alarm_names[logical_id] = resolve_text(props["AlarmName"])
    found = []
    for logical_id in sorted(resources):
        resource = resources[logical_id]
        if not isinstance(resource, dict) or resource.get("Type") != DASHBOARD_TYPE:
            continue
        props = resource.get("Properties")
        props = props if isinstance(props, dict) else {}
        name = props.get("DashboardName")
        found.append(
            _Dashboard(
                logical_id=logical_id,
                name=resolve_text(name) if name is not None else None,
                body=props.get("DashboardBody", '{"widgets":[]}'),
                alarm_names=alarm_names,
            )
        )
    return found


def render_template(template: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(dashboard logical id, SVG) for every dashboard of a template, sorted by logical id.

    Each picture is titled with the ``DashboardName`` (or the logical id). Raises
    ``DashboardBodyError`` when a body cannot be parsed.
    """
    return [
        (
            dash.logical_id,
            render_svg(
                resolve_dashboard_body(dash.body), title=dash.title, alarm_names=dash.alarm_names
            ),
        )
        for dash in _dashboards(template)
    ]


def _file_stem(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return stem[:120] or "dashboard"


def _unique_stem(title: str, template: Path, used: set[str]) -> str:
    """A file name stem for ``title``; prefixed with the stack name when already used."""
    stem = _file_stem(title)
    if stem in used:  # the same dashboard name in two stacks or stages
        stem = _file_stem(f"{template.name.removesuffix('.template.json')}-{title}")
    base, counter = stem, 2
    while stem in used:
        stem, counter = f"{base}-{counter}", counter + 1
    used.add(stem)
    return stem


def _load(path: Path) -> Mapping[str, Any]:
    try:
        template = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"warning: skipping {path}: {exc}", file=sys.stderr)
        return {}
    return template if isinstance(template, dict) else {}


def main(
    argv: Sequence[str] | None = None,
    *,
    prog: str = "python -m bedrock_landing_zone.pictures.dashboard_preview",
) -> int:
    """CLI: ``python -m bedrock_landing_zone.pictures.dashboard_preview <cdk.out> <output dir>``
    (also ``bedrock-lz preview``, which passes its name as ``prog``).

    ``argv`` excludes the program name (``sys.argv[1:]`` when None). Exit status 0 when at least
    one dashboard was written and none failed, 1 otherwise.
    """
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Render the CloudWatch dashboards of a synthesized CDK app as SVG files.",
    )
    parser.add_argument("cdk_out", type=Path, help="cloud assembly directory (cdk.out)")
    parser.add_argument("output_dir", type=Path, help="directory to write <dashboard>.svg to")
    args = parser.parse_args(argv)
    cdk_out: Path = args.cdk_out
    output_dir: Path = args.output_dir
    if not cdk_out.is_dir():
        print(f"error: {cdk_out} is not a directory: run `make synth` first", file=sys.stderr)
        return 1

    used: set[str] = set()
    written = failed = 0
    for path in find_templates(cdk_out):
        for dash in _dashboards(_load(path)):
            try:
                body = resolve_dashboard_body(dash.body)
            except DashboardBodyError as exc:
                print(f"error: {path}: {dash.logical_id}: {exc}", file=sys.stderr)
                failed += 1
                continue
            svg = render_svg(body, title=dash.title, alarm_names=dash.alarm_names)
            output_dir.mkdir(parents=True, exist_ok=True)
            target = output_dir / f"{_unique_stem(dash.title, path, used)}.svg"
            target.write_text(svg, encoding="utf-8", newline="\n")
            widgets = body.get("widgets")
            count = len(widgets) if isinstance(widgets, list) else 0
            print(f"wrote {target} ({dash.logical_id} in {path}, {count} widgets)")
            written += 1
    if not written and not failed:
        print(
            f"error: no {DASHBOARD_TYPE} resources in any *.template.json under {cdk_out}",
            file=sys.stderr,
        )
    return 0 if written and not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
