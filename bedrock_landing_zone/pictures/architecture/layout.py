"""Where everything of the architecture diagram goes: pure geometry on the model (``model``),
in pixels. Text is measured and wrapped here (``svg.text_width``, ``svg.wrap``) because it sets
the sizes of the boxes; nothing is written as SVG (``render`` does that).

* The stacks section (``StackLayout``): one box per stack in columns by dependency level, a box
  per top-level construct in it and a row per main resource; arrows leave and enter on the sides
  that face each other, cross the columns in between through the gaps between stacks
  ("streets") and run in lanes of the channels between the columns, so that parallel arrows do
  not overlap.
* The request path (``PathLayout``): the path left to right in the VPC (row 0), the API and
  anything else outside the VPC that the path dips into below it (row 1), Amazon Bedrock and the
  guardrail right of the VPC and the log destinations below them; numbered arrows between them.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bedrock_landing_zone.pictures.architecture.model import (
    Diagram,
    Flow,
    Group,
    PathNode,
    PathStep,
    RequestPath,
    Row,
    StackView,
    counts_text,
)
from bedrock_landing_zone.pictures.svg import text_width, wrap, wrap_lines

__all__ = [
    "GROUP_W",
    "HEADER_H",
    "ICON",
    "LINE",
    "MARGIN",
    "NODE_PAD",
    "NODE_W",
    "ROW_INSET",
    "STACK_PAD",
    "STEP_R",
    "STREET_BASE",
    "Arrow",
    "Edge",
    "GroupBox",
    "NodeBox",
    "PathLayout",
    "RowBox",
    "StackBox",
    "StackLayout",
    "fit_lines",
    "longest_mid",
]

# --------------------------------------------------------------------------- the stacks section

MARGIN = 24
HEADER_H = 78
GROUP_W = 300
STACK_HEAD = 46
STACK_PAD = 10
GROUP_HEAD = 24
GROUP_GAP = 10
ROW_INSET = 8
ROW_GAP = 5
LINE = 13  # detail and footer line step
LANE = 14  # distance between parallel arrows
CHANNEL_PAD = 16
STREET_BASE = 18
STREET_LANE = 12
MAX_DETAIL_LINES = 3


def fit_lines(text: str, max_px: float, css: str, max_lines: int) -> tuple[list[str], str | None]:
    """(lines, full text when the last line had to be shortened, else None)."""
    lines, cut = wrap_lines(text, max_px, css, max_lines)
    return lines, text if cut else None


@dataclass
class RowBox:
    """A resource row: its place in its construct box and its lines of text."""

    row: Row
    y: float  # relative to the stack box
    h: float
    title: list[str]  # lines
    badge: str  # beside the title; "" when it went to the details
    details: list[str]
    details_full: str | None = None  # the whole details when the last line is shortened


@dataclass
class GroupBox:
    """A construct box: its place in its stack box, its rows and its footer."""

    group: Group
    y: float
    h: float
    rows: list[RowBox]
    footer: list[tuple[str, str | None]]  # (line, full text when shortened)


@dataclass
class StackBox:
    """A stack box: its column, place and size, its construct boxes and its footer."""

    view: StackView
    column: int
    h: float
    groups: list[GroupBox]
    footer: list[tuple[str, str | None]]  # (line, full text when shortened)
    gutter: float = 0.0  # width left of the group boxes for arrows inside the stack
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0


_ROW_TEXT_W = GROUP_W - 2 * ROW_INSET - 16


def _row_box(row: Row) -> RowBox:
    """A row: its name (wrapped) with the resource type right of it, or, when both do not fit
    on one line, the type first in the details."""
    title, badge = (row.badge, "") if row.count > 1 else (row.title, row.badge)
    details = list(row.details)
    if text_width(title, "strong") + text_width(badge, "badge") > _ROW_TEXT_W - 10:
        details, badge = ([badge, *details] if badge else details), ""
    title_lines = wrap(title, _ROW_TEXT_W, "strong")
    lines, full = (
        fit_lines(" · ".join(details), _ROW_TEXT_W, "meta", MAX_DETAIL_LINES)
        if details
        else ([], None)
    )
    height = 22 + LINE * (len(lines) + len(title_lines) - 1)
    return RowBox(row, 0.0, height, title_lines, badge, lines, full)


def _footer(counts: Mapping[str, int], prefix: str, width: float) -> list[tuple[str, str | None]]:
    """Footer lines, each with the full text for a tooltip when it is the shortened last one."""
    if not counts:
        return []
    lines, full = fit_lines(prefix + ", ".join(counts_text(counts)), width, "meta", 4)
    return [(line, full if i == len(lines) - 1 else None) for i, line in enumerate(lines)]


def _stack_box(view: StackView, column: int) -> StackBox:
    y = float(STACK_HEAD)
    groups = []
    for group in view.groups:
        rows = []
        gy = float(GROUP_HEAD)
        for row in group.rows:
            box = _row_box(row)
            box.y = gy
            rows.append(box)
            gy += box.h + ROW_GAP
        counted = _footer(group.counted, "+ ", GROUP_W - 2 * ROW_INSET)
        gy += LINE * len(counted) + (4 if counted else 0) + 3
        groups.append(GroupBox(group, y, gy, rows, counted))
        y += gy + GROUP_GAP
    footer: list[tuple[str, str | None]] = []
    if view.loose:
        names = ", ".join(view.loose_names)
        footer += _footer(view.loose, f"{names}: ", GROUP_W)
    if view.internals:
        footer += _footer(view.internals, "CDK helpers: ", GROUP_W)
    y += LINE * len(footer) + (2 if footer else -GROUP_GAP + STACK_PAD)
    return StackBox(view, column, y, groups, footer)


@dataclass
class Edge:
    """An arrow of the stacks section: its ends, the streets it crosses and its route."""

    flow: Flow
    index: int
    source: tuple[str, str]  # (row key or stack id, side "L"/"R")
    target: tuple[str, str]
    src_col: int
    dst_col: int
    same_stack: bool
    is_link: bool
    streets: list[tuple[int, int]] = field(default_factory=list)  # (column, gap) crossed
    y0: float = 0.0
    y1: float = 0.0
    points: list[tuple[float, float]] = field(default_factory=list)


def _assign_lanes(
    intervals: Sequence[tuple[float, float, int]], gap: float = 6.0
) -> dict[int, int]:
    """Greedy lanes for vertical segments: shorter ones first, so that they lie innermost."""
    lanes: list[list[tuple[float, float]]] = []
    result: dict[int, int] = {}
    for low, high, ident in sorted(intervals, key=lambda i: (i[1] - i[0], i[0], i[2])):
        for number, used in enumerate(lanes):
            if all(high + gap < a or low - gap > b for a, b in used):
                used.append((low, high))
                result[ident] = number
                break
        else:
            lanes.append([(low, high)])
            result[ident] = len(lanes) - 1
    return result


class StackLayout:
    """The stacks section from ``top``: the boxes of every stack and the route of every arrow;
    ``width`` and ``height`` are those of the whole section."""

    def __init__(self, diagram: Diagram, top: float = HEADER_H) -> None:
        self.diagram = diagram
        self.top = top
        self.boxes: list[list[StackBox]] = [
            [_stack_box(view, c) for view in column] for c, column in enumerate(diagram.columns)
        ]
        self.stack_box = {b.view.stack.id: b for col in self.boxes for b in col}
        self.row_place: dict[str, tuple[StackBox, GroupBox, RowBox]] = {
            rb.row.key: (sb, gb, rb)
            for sb in self.stack_box.values()
            for gb in sb.groups
            for rb in gb.rows
        }
        self.edges = self._edges()
        self.street_lanes: dict[tuple[int, int], int] = {}
        self._place_vertically()
        self._choose_streets()
        self._place_vertically()
        self._anchor()
        self._gutters()
        self._channels()
        self._route()

    # -- structure

    def _edges(self) -> list[Edge]:
        """Arrows leave and enter on the sides that face each other."""
        edges = []
        ends = [(link, True) for link in self.diagram.links]
        ends += [(flow, False) for flow in self.diagram.flows]
        counters = {True: 0, False: 0}
        for flow, is_link in ends:
            if is_link:
                a, b = self.stack_box[flow.source], self.stack_box[flow.target]
            else:
                a, b = self.row_place[flow.source][0], self.row_place[flow.target][0]
            same_stack = a is b and not is_link
            if same_stack:
                sides = ("L", "L")
            elif a.column == b.column:
                sides = ("R", "R")
            else:
                sides = ("R", "L") if a.column < b.column else ("L", "R")
            edges.append(
                Edge(
                    flow,
                    counters[is_link],
                    (flow.source, sides[0]),
                    (flow.target, sides[1]),
                    a.column,
                    b.column,
                    same_stack,
                    is_link,
                )
            )
            counters[is_link] += 1
        return edges

    def _end_y(self, end: str, is_link: bool) -> float:
        if is_link:
            box = self.stack_box[end]
            return box.y + 23
        sb, gb, rb = self.row_place[end]
        return sb.y + gb.y + rb.y + 11

    def _place_vertically(self) -> None:
        self.street_y: dict[tuple[int, int], float] = {}
        self.height = 0.0
        for c, column in enumerate(self.boxes):
            y = float(self.top)
            for gap in range(len(column) + 1):
                lanes = self.street_lanes.get((c, gap), 0)
                self.street_y[(c, gap)] = y + 10
                y += STREET_BASE + max(lanes - 1, 0) * STREET_LANE
                if gap < len(column):
                    column[gap].y = y
                    y += column[gap].h
            self.height = max(self.height, y)

    def _choose_streets(self) -> None:
        """Spanning arrows cross the columns in between through the gaps between stacks."""
        for edge in self.edges:
            step = 1 if edge.dst_col > edge.src_col else -1
            y = self._end_y(edge.source[0], edge.is_link)
            goal = self._end_y(edge.target[0], edge.is_link)
            for c in range(edge.src_col + step, edge.dst_col, step):
                gaps = range(len(self.boxes[c]) + 1)
                best = min(
                    gaps,
                    key=lambda g: (
                        abs(self.street_y[(c, g)] - y) + abs(self.street_y[(c, g)] - goal),
                        g,
                    ),
                )
                edge.streets.append((c, best))
                self.street_lanes[(c, best)] = self.street_lanes.get((c, best), 0) + 1
                y = self.street_y[(c, best)]

    def _anchor(self) -> None:
        """Spread the arrow ends that meet one side of one row (or stack header)."""
        ends: dict[tuple[str, str], list[tuple[float, int, int]]] = {}
        for e, edge in enumerate(self.edges):
            for which, (end, side), (other, _s) in (
                (0, edge.source, edge.target),
                (1, edge.target, edge.source),
            ):
                other_y = self._end_y(other, edge.is_link)
                ends.setdefault((end, side), []).append((other_y, e, which))
        for (end, _side), items in ends.items():
            items.sort()
            is_link = self.edges[items[0][1]].is_link
            base = self._end_y(end, is_link)
            step = 11.0 if is_link else 5.0
            for k, (_oy, e, which) in enumerate(items):
                y = base + (k - (len(items) - 1) / 2) * step
                if which == 0:
                    self.edges[e].y0 = y
                else:
                    self.edges[e].y1 = y

    def _gutters(self) -> None:
        self.gutter_lane: dict[int, int] = {}
        for box in self.stack_box.values():
            inner = [
                (min(e.y0, e.y1), max(e.y0, e.y1), e_id)
                for e_id, e in enumerate(self.edges)
                if e.same_stack and self.row_place[e.flow.source][0] is box
            ]
            lanes = _assign_lanes(inner)
            self.gutter_lane.update(lanes)
            count = max(lanes.values(), default=-1) + 1
            box.gutter = 10 + count * LANE
        self.col_w = [
            max((b.gutter for b in col), default=0) + GROUP_W + STACK_PAD for col in self.boxes
        ]
        for c, column in enumerate(self.boxes):
            for box in column:
                box.gutter = self.col_w[c] - GROUP_W - STACK_PAD
                box.w = self.col_w[c]

    def _vertical_segments(self, edge: Edge) -> list[tuple[int, float, float]]:
        """(channel, y from, y to) of a cross-stack arrow; channel c is left of column c."""
        if edge.same_stack:
            return []
        if edge.src_col == edge.dst_col:
            return [(edge.src_col + 1, edge.y0, edge.y1)]
        step = 1 if edge.dst_col > edge.src_col else -1
        segments = []
        y = edge.y0
        channel = edge.src_col + (1 if step > 0 else 0)
        for c, gap in edge.streets:
            street = self._street_lane_y(edge, c, gap)
            segments.append((channel, y, street))
            y = street
            channel += step
        segments.append((channel, y, edge.y1))
        return segments

    def _street_lane_y(self, edge: Edge, column: int, gap: int) -> float:
        users = [e for e in self.edges if (column, gap) in e.streets]
        return self.street_y[(column, gap)] + users.index(edge) * STREET_LANE

    def _channels(self) -> None:
        count = len(self.boxes) + 1
        per_channel: dict[int, list[tuple[float, float, int]]] = {c: [] for c in range(count)}
        self.segment_lane: dict[tuple[int, int], int] = {}
        for e_id, edge in enumerate(self.edges):
            for channel, a, b in self._vertical_segments(edge):
                per_channel[channel].append((min(a, b), max(a, b), e_id))
        widths = []
        for channel in range(count):
            lanes = _assign_lanes(per_channel[channel], gap=4.0)
            for e_id, lane in lanes.items():
                self.segment_lane[(channel, e_id)] = lane
            n = max(lanes.values(), default=-1) + 1
            widths.append(
                2 * CHANNEL_PAD + max(n - 1, 0) * LANE
                if n
                else (MARGIN if channel in (0, count - 1) else 2 * CHANNEL_PAD)
            )
        self.channel_x: list[float] = []
        x = 0.0
        for c in range(count):
            self.channel_x.append(x)
            x += widths[c]
            if c < len(self.boxes):
                for box in self.boxes[c]:
                    box.x = x
                x += self.col_w[c]
        self.width = x

    def _lane_x(self, channel: int, e_id: int) -> float:
        return self.channel_x[channel] + CHANNEL_PAD + self.segment_lane[(channel, e_id)] * LANE

    def _side_x(self, end: str, side: str, is_link: bool) -> float:
        if is_link:
            box = self.stack_box[end]
            return box.x if side == "L" else box.x + box.w
        sb, _gb, _rb = self.row_place[end]
        left = sb.x + sb.gutter + ROW_INSET
        return left if side == "L" else left + GROUP_W - 2 * ROW_INSET

    def _route(self) -> None:
        for e_id, edge in enumerate(self.edges):
            x0 = self._side_x(edge.source[0], edge.source[1], edge.is_link)
            x1 = self._side_x(edge.target[0], edge.target[1], edge.is_link)
            points = [(x0, edge.y0)]
            if edge.same_stack:
                box = self.row_place[edge.flow.source][0]
                lane_x = box.x + box.gutter - 8 - self.gutter_lane[e_id] * LANE
                points += [(lane_x, edge.y0), (lane_x, edge.y1)]
            else:
                for channel, a, b in self._vertical_segments(edge):
                    lane_x = self._lane_x(channel, e_id)
                    points += [(lane_x, a), (lane_x, b)]
            points.append((x1, edge.y1))
            edge.points = points


def longest_mid(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """The middle of the longest segment of a route (where its number goes)."""
    best = max(
        range(len(points) - 1),
        key=lambda i: (
            abs(points[i + 1][0] - points[i][0]) + abs(points[i + 1][1] - points[i][1]),
            -i,
        ),
    )
    (ax, ay), (bx, by) = points[best], points[best + 1]
    return (ax + bx) / 2, (ay + by) / 2


# --------------------------------------------------------------------------- the request path

NODE_W = 204
NODE_PAD = 10
ICON = 34
PATH_GAP = 104  # between the columns of the path: room for an arrow and its label
NODE_GAP = 16  # between nodes stacked in one column
NODE_MAX_LINES = 18  # detail lines of a node; the rest in a tooltip
VPC_PAD = 22
ROW_BETWEEN = 64  # between the VPC and the row below it
REGION_PAD = 22
STEP_R = 10  # radius of a step number
_ROW0_KINDS = ("caller", "api-endpoint", "function", "runtime-endpoint", "bedrock", "guardrail")
_OUTSIDE = ("caller", "bedrock", "guardrail")  # in row 0 wherever they are


@dataclass
class NodeBox:
    """A node of the request path: its place, its size and its lines of text."""

    node: PathNode
    lines: list[tuple[float, float, str, str, str | None]]  # (dx, dy, text, css, tooltip)
    h: float
    x: float = 0.0
    y: float = 0.0
    row: int = 0

    @property
    def w(self) -> float:
        return NODE_W

    @property
    def anchor(self) -> float:
        """The y of horizontal arrows: the middle of the icon."""
        return self.y + NODE_PAD + ICON / 2

    @property
    def cx(self) -> float:
        return self.x + NODE_W / 2


def _node_box(node: PathNode) -> NodeBox:
    """A node's text, laid out: what it is and its name right of the icon, details below."""
    lines: list[tuple[float, float, str, str, str | None]] = []
    text_x = NODE_PAD + ICON + 8
    head_w = NODE_W - text_x - NODE_PAD
    y = NODE_PAD + 11.0
    for part in wrap(node.service, head_w, "strong"):
        lines.append((text_x, y, part, "strong", None))
        y += 14
    for part in wrap(node.name, head_w, "meta") if node.name else []:
        lines.append((text_x, y, part, "meta", None))
        y += 13
    y = max(y, NODE_PAD + ICON + 4.0) + 10
    wrapped = [fit_lines(detail, NODE_W - 2 * NODE_PAD, "meta", 4) for detail in node.details]
    total = sum(len(parts) for parts, _full in wrapped)
    budget = NODE_MAX_LINES if total <= NODE_MAX_LINES else NODE_MAX_LINES - 1
    shown = used = 0
    for parts, full in wrapped:
        used += len(parts)
        if used > budget:
            break
        for i, part in enumerate(parts):
            lines.append((NODE_PAD, y, part, "meta", full if i == len(parts) - 1 else None))
            y += 13
        shown += 1
    if shown < len(node.details):  # the rest in the tooltip of a "+n more" line
        rest = node.details[shown:]
        lines.append((NODE_PAD, y, f"+{len(rest)} more", "meta", "\n".join(rest)))
        y += 13
    return NodeBox(node, lines, y - 4 + NODE_PAD)


@dataclass
class Arrow:
    """A numbered arrow of the request path and where its number and label go."""

    number: int
    step: PathStep
    points: list[tuple[float, float]]
    label_at: tuple[float, float]  # the step number's centre
    vertical: bool  # the label goes right of the number (else above it)
    room: float  # the width the label may take
    labelled: bool = True  # False: the number only


class PathLayout:
    """Where the request path's boxes go: the path left to right in the VPC (row 0), the API and
    anything else outside the VPC that the path dips into below it (row 1), Amazon Bedrock and
    the guardrail right of the VPC and the log destinations below them."""

    def __init__(self, path: RequestPath, top: float, left: float) -> None:
        self.path = path
        self.boxes = {n.key: _node_box(n) for n in path.nodes}
        self.region_label = " · ".join(["AWS Cloud", *path.place])
        self.vpc_lines = self._vpc_label()
        columns: list[list[NodeBox]] = []
        below: dict[int, list[NodeBox]] = {}  # column -> boxes in row 1 under it
        has_vpc = bool(path.vpc)
        for kind in _ROW0_KINDS:
            boxes = [self.boxes[n.key] for n in path.of_kind(kind)]
            above = [b for b in boxes if b.node.in_vpc or not has_vpc or kind in _OUTSIDE]
            under = [b for b in boxes if b not in above]
            if boxes:  # a column, even if all of it is below the VPC (a function outside it)
                columns.append(above)
            for box in under:
                below.setdefault(len(columns) - 1, []).append(box)
            if kind == "api-endpoint" or (kind == "caller" and not path.of_kind("api-endpoint")):
                for api in path.of_kind("api"):  # under the hop before the function
                    below.setdefault(max(len(columns) - 1, 0), []).append(self.boxes[api.key])
        self.columns = columns
        self.below = below
        self.logs = [self.boxes[n.key] for n in path.of_kind("log")]
        self._place(top, left)

    def _vpc_label(self) -> list[str]:
        path = self.path
        text = " · ".join(x for x in [path.vpc, path.vpc_name, *path.vpc_details] if x)
        return wrap(text, 3 * NODE_W, "head") if text else []

    def _place(self, top: float, left: float) -> None:
        self.region = [left, top, 0.0, 0.0]
        vpc_top = top + 40
        row0 = vpc_top + (22 + 17 * len(self.vpc_lines) if self.vpc_lines else 0)
        x = left + REGION_PAD
        self.vpc: list[float] | None = None
        inside_any = False
        self.col_x: list[float] = []
        for column in self.columns:
            inside = bool(self.path.vpc) and all(b.node.in_vpc for b in column)
            if inside and self.vpc is None:
                self.vpc = [x, vpc_top, 0.0, 0.0]
                x += VPC_PAD
                inside_any = True
            if not inside and inside_any and self.vpc is not None and self.vpc[2] == 0:
                self.vpc[2] = x - PATH_GAP + VPC_PAD - self.vpc[0]
                x += 2 * VPC_PAD
            y = row0
            self.col_x.append(x)
            for box in column:
                box.x, box.y, box.row = x, y, 0
                y += box.h + NODE_GAP
            x += NODE_W + PATH_GAP
        if self.vpc is not None and self.vpc[2] == 0:
            self.vpc[2] = x - PATH_GAP + VPC_PAD - self.vpc[0]
        row0_bottom = max((b.y + b.h for c in self.columns for b in c), default=row0)
        if self.vpc is not None:
            in_vpc = [b.y + b.h for c in self.columns for b in c if b.node.in_vpc]
            self.vpc[3] = max(in_vpc, default=row0 + ICON) + VPC_PAD - vpc_top
            row0_bottom = max(row0_bottom, self.vpc[1] + self.vpc[3])
        right = x - PATH_GAP
        bottom = row0_bottom
        for col, boxes in sorted(self.below.items()):
            x0 = self.col_x[col]
            y = self._below(x0, x0 + NODE_W)
            for box in boxes:
                box.x, box.y, box.row = x0, y, 1
                y += box.h + NODE_GAP
                bottom = max(bottom, box.y + box.h)
        bedrock = [b for c in self.columns for b in c if b.node.kind == "bedrock"]
        lx = bedrock[0].x if bedrock else left + REGION_PAD
        y = self._below(lx, lx + len(self.logs) * (NODE_W + 28))
        for box in self.logs:
            box.x, box.y, box.row = lx, y, 1
            lx += NODE_W + 28
            right = max(right, box.x + box.w)
            bottom = max(bottom, box.y + box.h)
        self.region[2] = right + REGION_PAD - left
        self.region[3] = bottom + REGION_PAD - top
        self.width = self.region[2]
        self.bottom = top + self.region[3]
        self._arrows()

    def _below(self, x0: float, x1: float) -> float:
        """The top of row 1 between ``x0`` and ``x1``: below what is above it there."""
        above = [b.y + b.h for c in self.columns for b in c if b.x < x1 and b.x + b.w > x0]
        if self.vpc is not None and self.vpc[0] < x1 and self.vpc[0] + self.vpc[2] > x0:
            above.append(self.vpc[1] + self.vpc[3])
        return max(above, default=self.region[1] + 40) + ROW_BETWEEN

    # -- arrows

    def _arrows(self) -> None:
        self.arrows: list[Arrow] = []
        lanes: dict[str, int] = {}
        ups: dict[str, int] = {}
        kinds = Counter((s.source, self.boxes[s.target].node.kind) for s in self.path.steps)
        level = {  # a source with an arrow along its own row: rising arrows start one lane down
            s.source
            for s in self.path.steps
            if self.boxes[s.source].row == self.boxes[s.target].row == 1
        }
        for number, step in enumerate(self.path.steps, 1):
            src, dst = self.boxes[step.source], self.boxes[step.target]
            if src.row == dst.row:
                points, label, vertical = self._across(src, dst, lanes)
            elif src.row < dst.row:
                points, label, vertical = self._down(src, dst)
            else:
                lane = ups.get(step.source, 1 if step.source in level else 0)
                ups[step.source] = lane + 1
                points, label, vertical = self._up(src, dst, lane)
            arrow = Arrow(number, step, points, label, vertical, _room(points, label))
            # arrows from one box to several of a kind: numbers only (the list tells them)
            arrow.labelled = vertical or kinds[(step.source, dst.node.kind)] < 2
            self.arrows.append(arrow)

    def _across(
        self, src: NodeBox, dst: NodeBox, lanes: dict[str, int]
    ) -> tuple[list[tuple[float, float]], tuple[float, float], bool]:
        x0, x1 = src.x + src.w, dst.x
        y0, y1 = src.anchor, dst.anchor
        if abs(y0 - y1) < 0.5:
            mid = ((x0 + x1) / 2, y0)
            return [(x0, y0), (x1, y1)], mid, False
        lane = lanes.get(src.node.key, 0)
        lanes[src.node.key] = lane + 1
        xm = x1 - 26 - lane * 10
        return [(x0, y0), (xm, y0), (xm, y1), (x1, y1)], ((x0 + xm) / 2, y0), False

    def _down(
        self, src: NodeBox, dst: NodeBox
    ) -> tuple[list[tuple[float, float]], tuple[float, float], bool]:
        if src.x <= dst.cx <= src.x + src.w:
            x = dst.cx
            top = src.y + src.h
            if self.vpc is not None and top < self.vpc[1] + self.vpc[3] < dst.y:
                top = self.vpc[1] + self.vpc[3]  # the number below the VPC's outline
            return [(x, src.y + src.h), (x, dst.y)], (x, (top + dst.y) / 2), True
        bus = dst.y - 26
        x0 = src.cx
        points = [(x0, src.y + src.h), (x0, bus), (dst.cx, bus), (dst.cx, dst.y)]
        return points, (dst.cx, (bus + dst.y) / 2 - 2), True

    def _up(
        self, src: NodeBox, dst: NodeBox, lane: int
    ) -> tuple[list[tuple[float, float]], tuple[float, float], bool]:
        """From a box below the VPC back up into it: right, then up into the box's bottom (the
        last box of its column) or its left side; each arrow from one box in its own lane."""
        column = next((c for c in self.columns if dst in c), [dst])
        y0 = src.anchor + lane * 24
        under = [  # boxes below the target: then in from its left side
            b
            for b in self.boxes.values()
            if b.row == 1 and b is not src and b.x < dst.x + dst.w and b.x + b.w > dst.x
        ]
        if dst is column[-1] and not under:
            x = dst.cx
            points = [(src.x + src.w, y0), (x, y0), (x, dst.y + dst.h)]
            return points, ((src.x + src.w + x) / 2, y0), False
        xm = dst.x - 26 - lane * 10
        y1 = dst.anchor + 10  # below an arrow that comes in along the row
        points = [(src.x + src.w, y0), (xm, y0), (xm, y1), (dst.x, y1)]
        return points, ((src.x + src.w + xm) / 2, y0), False


def _room(points: Sequence[tuple[float, float]], at: tuple[float, float]) -> float:
    """The length of the horizontal segment that ``at`` is on, less a margin (a label above
    it may be that wide)."""
    for (ax, ay), (bx, by) in itertools.pairwise(points):
        if abs(ay - by) < 0.5 and abs(ay - at[1]) < 0.5 and min(ax, bx) <= at[0] <= max(ax, bx):
            return max(abs(bx - ax) - 16, 40.0)
    return NODE_W / 2 - STEP_R - 14
