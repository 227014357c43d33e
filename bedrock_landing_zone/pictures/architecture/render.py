"""The architecture diagram as SVG: writes the model (``model``) where the layout (``layout``)
put it. The output is deterministic: the same assembly gives byte-identical SVG (no timestamps,
no paths of the input directory, stable ordering).

First the request path: the AWS Cloud and VPC boundaries, the nodes with an icon, numbered
arrows and a numbered list that tells each step. Below it, the stacks and their supporting
resources: stack, construct and resource boxes, coloured by category; lettered grey arrows
between stacks and numbered arrows between resources, listed with a legend. No text is cut
short: names wrap; where there is no room for all of a text, what is drawn ends with an ellipsis
and keeps the whole text in an SVG ``<title>`` tooltip (``svg.text_element``).
"""

from __future__ import annotations

from bedrock_landing_zone.pictures.architecture.layout import (
    GROUP_W,
    ICON,
    LINE,
    MARGIN,
    NODE_PAD,
    NODE_W,
    ROW_INSET,
    STACK_PAD,
    STEP_R,
    STREET_BASE,
    Arrow,
    GroupBox,
    NodeBox,
    PathLayout,
    RowBox,
    StackBox,
    StackLayout,
    fit_lines,
    longest_mid,
)
from bedrock_landing_zone.pictures.architecture.model import (
    CATEGORIES,
    TIMES,
    Diagram,
    PathNode,
    RequestPath,
)
from bedrock_landing_zone.pictures.svg import (
    BASE_CSS,
    document,
    esc,
    num,
    plural,
    rect,
    text_css,
    text_element,
    text_width,
    wrap,
)

__all__ = ["KIND_STYLE", "PATH_STYLE", "render_svg"]

# Flow kind -> (colour, legend text).
KIND_STYLE: dict[str, tuple[str, str]] = {
    "reference": ("#7d8998", "cross-stack reference (GetStackOutput / ImportValue)"),
    "dependency": ("#aab7b8", "stack dependency without references (manifest)"),
    "invoke": ("#0972d3", "invokes / uses"),
    "network": ("#8c4fff", "network path (security groups, VPC endpoints)"),
    "access": ("#dd344c", "IAM access (a role's policies allow it)"),
    "logs": ("#037f0c", "sends logs to"),
    "notify": ("#d45b07", "notifies (one arrow per construct and target)"),
    "observe": ("#0099a8", "monitors (one arrow per construct and target)"),
}

_STYLE = "".join(
    [
        BASE_CSS,
        ".stack{fill:#ffffff;stroke:#879596;stroke-width:1.2}",
        ".group{fill:#fafafa;stroke:#c6cbd1;stroke-width:1}",
        ".row{fill:#ffffff;stroke:#d5dbdb;stroke-width:1}",
        ".node{fill:#ffffff;stroke-width:1.5}",
        ".region{fill:#ffffff;stroke:#00a4a6;stroke-width:1.5;stroke-dasharray:6 4}",
        ".vpc{fill:#f6f1ff;stroke:#8c4fff;stroke-width:2}",
        ".path-arrow{fill:none;stroke:#232f3e;stroke-width:2}",
        text_css("h1", "h2", "sub", "title", "strong", "meta", "badge", "body", "head"),
        ".num{font-size:9px;font-weight:bold;fill:#ffffff}",
        ".icon{font-size:11px;font-weight:bold;fill:#ffffff}",
        ".step{font-size:11px;font-weight:bold;fill:#ffffff}",
        ".edge{fill:none;stroke-width:1.6}",
        ".link{fill:none;stroke-width:2.5}",
    ]
)


def _badge(x: float, y: float, text: str, colour: str, square: bool) -> list[str]:
    w = max(15.0, text_width(text, "badge") + 6)
    shape = (
        rect(x - w / 2, y - 7.5, w, 15, f'rx="3" fill="{colour}"')
        if square
        else rect(x - w / 2, y - 7.5, w, 15, f'rx="7.5" fill="{colour}"')
    )
    return [shape, text_element(x, y + 3.2, text, "num", anchor="middle")]


def _letter(index: int) -> str:
    text = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        text = chr(65 + rest) + text
    return text


# --------------------------------------------------------------------------- the stacks section


def _draw_stack(out: list[str], box: StackBox) -> None:
    stack = box.view.stack
    out.append(f'<g class="stack-box" data-stack="{esc(stack.id)}">')
    out.append(rect(box.x, box.y, box.w, box.h, 'class="stack" rx="6"'))
    gx = box.x + box.gutter
    out.append(text_element(gx, box.y + 20, stack.display, "title", max_px=GROUP_W))
    info = f"{stack.name} · {plural(len(stack.resources), 'resource')}"
    out.append(text_element(gx, box.y + 35, info, "meta", max_px=GROUP_W))
    for group in box.groups:
        _draw_group(out, box, group)
    y = box.y + box.h - STACK_PAD - LINE * len(box.footer) + 9
    for line, full in box.footer:
        out.append(text_element(gx, y, line, "meta", full=full))
        y += LINE
    out.append("</g>")


def _draw_group(out: list[str], box: StackBox, group: GroupBox) -> None:
    x, y = box.x + box.gutter, box.y + group.y
    out.append(
        f'<g class="construct" data-path="{esc(box.view.stack.display + "/" + group.group.name)}">'
    )
    out.append(rect(x, y, GROUP_W, group.h, 'class="group" rx="4"'))
    count = plural(group.group.total, "resource")
    out.append(text_element(x + GROUP_W - ROW_INSET, y + 16, count, "badge", anchor="end"))
    name_w = GROUP_W - 2 * ROW_INSET - text_width(count, "badge") - 6
    out.append(text_element(x + ROW_INSET, y + 16, group.group.name, "head", max_px=name_w))
    for rb in group.rows:
        _draw_row(out, x + ROW_INSET, y + rb.y, rb)
    fy = y + group.h - 7 - LINE * len(group.footer) + 10
    for line, full in group.footer:
        out.append(text_element(x + ROW_INSET, fy, line, "meta", full=full))
        fy += LINE
    out.append("</g>")


def _draw_row(out: list[str], x: float, y: float, rb: RowBox) -> None:
    w = GROUP_W - 2 * ROW_INSET
    colour = CATEGORIES[rb.row.category][1]
    out.append(
        f'<g class="resource" data-key="{esc(rb.row.key)}" data-type="{esc(rb.row.type)}" '
        f'data-count="{rb.row.count}">'
    )
    out.append(rect(x, y, w, rb.h, 'class="row" rx="3"'))
    out.append(rect(x, y, 4, rb.h, f'fill="{colour}"'))
    ly = y + 15
    for line in rb.title:
        out.append(text_element(x + 11, ly, line, "strong"))
        ly += LINE
    if rb.badge:
        out.append(text_element(x + w - 6, y + 15, rb.badge, "badge", anchor="end"))
    for i, line in enumerate(rb.details):
        last = i == len(rb.details) - 1
        out.append(text_element(x + 11, ly, line, "meta", full=rb.details_full if last else None))
        ly += LINE
    out.append("</g>")


def _draw_edges(out: list[str], layout: StackLayout) -> None:
    badges: list[str] = []
    for edge in sorted(layout.edges, key=lambda e: (not e.is_link, e.index)):
        colour = KIND_STYLE[edge.flow.kind][0]
        d = "M" + " L".join(f"{num(x)} {num(y)}" for x, y in edge.points)
        css = "link" if edge.is_link else "edge"
        dash = ' stroke-dasharray="6 4"' if edge.flow.kind == "dependency" else ""
        name = _letter(edge.index) if edge.is_link else str(edge.index + 1)
        out.append(
            f'<path class="{css}" data-flow="{name}" d="{d}" stroke="{colour}"{dash} '
            f'marker-end="url(#arrow-{edge.flow.kind})"/>'
        )
        mx, my = longest_mid(edge.points)
        badges += _badge(mx, my, name, colour, edge.is_link)
    out += badges


def _legend(layout: StackLayout, top: float, width: float) -> tuple[list[str], float]:
    diagram = layout.diagram
    out: list[str] = []
    usable = width - 2 * MARGIN

    def section(title: str, entries: list[tuple[str, str, str, bool]], y: float) -> float:
        """Entries in up to 3 columns, each wrapped to its column (nothing is cut)."""
        if not entries:
            return y
        out.append(text_element(MARGIN, y + 12, title, "head"))
        y += 22
        longest = max(text_width(text, "body") for _name, _colour, text, _square in entries) + 40
        columns = max(1, min(int(usable // longest), 3))
        col_w = usable / columns
        per_column = -(-len(entries) // columns)
        bottom = y
        for col in range(columns):
            ly = y
            for name, colour, text, square in entries[col * per_column : (col + 1) * per_column]:
                x = MARGIN + col * col_w
                out.extend(_badge(x + 10, ly + 8, name, colour, square))
                for part in wrap(text, col_w - 32, "body"):
                    out.append(text_element(x + 24, ly + 12, part, "body"))
                    ly += 15
                ly += 3
            bottom = max(bottom, ly)
        return bottom + 10

    def end_name(end: str, is_link: bool) -> str:
        if is_link:
            return layout.stack_box[end].view.stack.display
        row = diagram.rows[end]
        return f"{layout.stack_box[row.stack].view.stack.display}/{row.label}"

    links = [
        (
            _letter(i),
            KIND_STYLE[link.kind][0],
            f"{end_name(link.source, True)} → {end_name(link.target, True)}: {link.label}",
            True,
        )
        for i, link in enumerate(diagram.links)
    ]
    flows = [
        (
            str(i + 1),
            KIND_STYLE[flow.kind][0],
            f"{end_name(flow.source, False)} → {end_name(flow.target, False)}: {flow.label}",
            False,
        )
        for i, flow in enumerate(diagram.flows)
    ]
    y = section("Cross-stack references and dependencies", links, top)
    y = section("Flows derived from the templates", flows, y)

    out.append(text_element(MARGIN, y + 12, "Legend", "head"))
    y += 22
    used_categories = sorted(
        {row.category for row in diagram.rows.values()}, key=lambda c: list(CATEGORIES).index(c)
    )
    items: list[tuple[str, str]] = [("swatch:" + c, CATEGORIES[c][0]) for c in used_categories]
    kinds = sorted(
        {f.kind for f in diagram.flows} | {f.kind for f in diagram.links},
        key=lambda k: list(KIND_STYLE).index(k),
    )
    items += [("line:" + k, KIND_STYLE[k][1]) for k in kinds]
    legend_columns = max(1, int(usable // 380))
    per_column = -(-len(items) // legend_columns)
    item_w = usable / legend_columns
    for i, (mark, text) in enumerate(items):
        col, line = divmod(i, per_column)
        x, ly = MARGIN + col * item_w, y + line * 18
        kind, _, name = mark.partition(":")
        if kind == "swatch":
            out.append(rect(x, ly + 2, 22, 12, f'rx="2" fill="{CATEGORIES[name][1]}"'))
        else:
            colour = KIND_STYLE[name][0]
            dash = ' stroke-dasharray="6 4"' if name == "dependency" else ""
            width = 2.5 if name in ("reference", "dependency") else 1.6
            out.append(
                f'<path d="M{num(x)} {num(ly + 8)} L{num(x + 22)} {num(ly + 8)}" fill="none" '
                f'stroke="{colour}" stroke-width="{width}"{dash} marker-end="url(#arrow-{name})"/>'
            )
        out.append(text_element(x + 32, ly + 12, text, "body", max_px=item_w - 40))
    y += per_column * 18 + 6
    notes = [
        "Boxes: stacks (dependency order, left to right) > top-level constructs > main resources "
        f"(N {TIMES} Type: several resources of one type in one construct).",
        "Grey text: low-level resources counted, not drawn (security group rules, permissions, "
        "SSM parameters, policies of service roles and the like); CDK helpers are counted per "
        "stack.",
    ]
    for note in notes:
        for text_line in wrap(note, usable, "meta"):
            out.append(text_element(MARGIN, y + 10, text_line, "meta"))
            y += LINE
    return out, y + MARGIN


# --------------------------------------------------------------------------- the request path

# Kind -> (colour, icon text); icons "" are drawn as shapes.
PATH_STYLE: dict[str, tuple[str, str]] = {
    "caller": ("#545b64", ""),
    "api-endpoint": ("#8c4fff", "VPCE"),
    "api": ("#e7157b", "API"),
    "function": ("#ed7100", "\u03bb"),
    "runtime-endpoint": ("#8c4fff", "VPCE"),
    "bedrock": ("#01a88d", "AI"),
    "guardrail": ("#dd344c", ""),
    "log": ("#e7157b", "LOGS"),
}
_S3_STYLE = ("#7aa116", "S3")


def _node_style(node: PathNode) -> tuple[str, str]:
    return _S3_STYLE if node.service.startswith("Amazon S3") else PATH_STYLE[node.kind]


def _draw_icon(out: list[str], box: NodeBox) -> None:
    colour, text = _node_style(box.node)
    x, y = box.x + NODE_PAD, box.y + NODE_PAD
    out.append(rect(x, y, ICON, ICON, f'rx="5" fill="{colour}"'))
    cx, cy = x + ICON / 2, y + ICON / 2
    if box.node.kind == "caller":  # a person
        out.append(f'<circle cx="{num(cx)}" cy="{num(cy - 6)}" r="5.5" fill="#ffffff"/>')
        out.append(
            f'<path d="M{num(cx - 10)} {num(cy + 12)} Q{num(cx - 10)} {num(cy + 1)} {num(cx)} '
            f'{num(cy + 1)} Q{num(cx + 10)} {num(cy + 1)} {num(cx + 10)} {num(cy + 12)} Z" '
            'fill="#ffffff"/>'
        )
    elif box.node.kind == "guardrail":  # a shield
        out.append(
            f'<path d="M{num(cx)} {num(cy - 11)} L{num(cx + 9)} {num(cy - 7)} L{num(cx + 9)} '
            f"{num(cy + 1)} Q{num(cx + 9)} {num(cy + 8)} {num(cx)} {num(cy + 12)} Q{num(cx - 9)} "
            f'{num(cy + 8)} {num(cx - 9)} {num(cy + 1)} L{num(cx - 9)} {num(cy - 7)} Z" '
            'fill="none" stroke="#ffffff" stroke-width="2"/>'
        )
    else:
        size = 15 if len(text) == 1 else 11 if len(text) <= 3 else 9
        out.append(
            f'<text x="{num(cx)}" y="{num(cy + size * 0.36)}" class="icon" text-anchor="middle" '
            f'style="font-size:{size}px">{esc(text)}</text>'
        )


def _draw_node(out: list[str], box: NodeBox) -> None:
    colour, _text = _node_style(box.node)
    node = box.node
    out.append(
        f'<g class="path-node" data-kind="{esc(node.kind)}" data-key="{esc(node.key)}" '
        f'data-in-vpc="{str(node.in_vpc).lower()}">'
    )
    out.append(rect(box.x, box.y, box.w, box.h, f'class="node" rx="6" stroke="{colour}"'))
    _draw_icon(out, box)
    for dx, dy, text, css, full in box.lines:
        out.append(text_element(box.x + dx, box.y + dy, text, css, full=full))
    out.append("</g>")


def _step_badge(out: list[str], x: float, y: float, number: int) -> None:
    out.append(f'<g class="step-number" data-step="{number}">')
    out.append(f'<circle cx="{num(x)}" cy="{num(y)}" r="{STEP_R}" fill="#232f3e"/>')
    out.append(text_element(x, y + 4, str(number), "step", anchor="middle"))
    out.append("</g>")


def _draw_arrow(out: list[str], arrow: Arrow) -> None:
    d = "M" + " L".join(f"{num(x)} {num(y)}" for x, y in arrow.points)
    step = arrow.step
    out.append(
        f'<path class="path-arrow" data-step="{arrow.number}" data-from="{esc(step.source)}" '
        f'data-to="{esc(step.target)}" d="{d}" marker-end="url(#arrow-path)"/>'
    )


def _draw_arrow_label(out: list[str], arrow: Arrow) -> None:
    x, y = arrow.label_at
    _step_badge(out, x, y, arrow.number)
    label = arrow.step.label
    if not label or not arrow.labelled:
        return
    if arrow.vertical:  # right of the number
        parts, full = fit_lines(label, NODE_W / 2 - STEP_R - 14, "meta", 2)
        ly = y + 3.5 - (len(parts) - 1) * 6.5
        for i, part in enumerate(parts):
            tip = full if i == len(parts) - 1 else None
            out.append(text_element(x + STEP_R + 5, ly, part, "meta", full=tip))
            ly += 13
        return
    parts, full = fit_lines(label, arrow.room, "meta", 2)  # above the number
    ly = y - STEP_R - 5 - (len(parts) - 1) * 13
    for i, part in enumerate(parts):
        tip = full if i == len(parts) - 1 else None
        out.append(text_element(x, ly, part, "meta", anchor="middle", full=tip))
        ly += 13


def _draw_path(path: RequestPath, top: float, width: float) -> tuple[list[str], float, float]:
    """The request path section from ``top``: (elements, width used, bottom)."""
    out = [text_element(MARGIN, top + 16, "Request path", "h2")]
    if not path.nodes:
        y = top + 30
        for note in path.notes:
            for part in wrap(note, width - 2 * MARGIN, "body"):
                out.append(text_element(MARGIN, y + 12, part, "body"))
                y += 15
        return out, 0.0, y + 8
    layout = PathLayout(path, top + 30, MARGIN)
    rx, ry, rw, rh = layout.region
    out.append('<g class="boundary" data-boundary="region">')
    out.append(rect(rx, ry, rw, rh, 'class="region" rx="8"'))
    out.append(text_element(rx + 12, ry + 20, layout.region_label, "head"))
    out.append("</g>")
    if layout.vpc is not None:
        vx, vy, vw, vh = layout.vpc
        out.append('<g class="boundary" data-boundary="vpc">')
        out.append(rect(vx, vy, vw, vh, 'class="vpc" rx="6"'))
        ly = vy + 18
        for line in layout.vpc_lines:
            out.append(text_element(vx + 12, ly, line, "head"))
            ly += 17
        out.append("</g>")
    for arrow in layout.arrows:
        _draw_arrow(out, arrow)
    for box in layout.boxes.values():
        _draw_node(out, box)
    for arrow in layout.arrows:
        _draw_arrow_label(out, arrow)
    y = layout.bottom + 18
    usable = max(width, layout.width + MARGIN) - 2 * MARGIN
    out.append(text_element(MARGIN, y + 12, "Step by step (derived from the templates)", "head"))
    y += 24
    for arrow in layout.arrows:
        _step_badge(out, MARGIN + STEP_R, y + 8, arrow.number)
        for part in wrap(arrow.step.text, usable - 2 * STEP_R - 10, "body"):
            out.append(text_element(MARGIN + 2 * STEP_R + 10, y + 12, part, "body"))
            y += 15
        y += 6
    for note in path.notes:
        for part in wrap(note, usable, "meta"):
            out.append(text_element(MARGIN, y + 10, part, "meta"))
            y += LINE
    return out, layout.width + MARGIN, y + 8


# --------------------------------------------------------------------------- the picture


def render_svg(diagram: Diagram) -> str:
    """The SVG picture of a diagram (deterministic): the request path first, then the stacks
    with their supporting resources, then the legend."""
    path = diagram.path or RequestPath("", "", [], [], [], [])
    probe = StackLayout(diagram, 0.0)  # the widths do not depend on where the stacks start
    path_width = PathLayout(path, 0.0, MARGIN).width + 2 * MARGIN if path.nodes else 0.0
    width = max(probe.width, path_width, 900.0)
    head: list[str] = [text_element(MARGIN, 34, diagram.title, "h1", max_px=width - 2 * MARGIN)]
    y = 54.0
    for line in wrap(diagram.subtitle, width - 2 * MARGIN, "sub"):
        head.append(text_element(MARGIN, y, line, "sub"))
        y += 15
    body, _path_w, y = _draw_path(path, y + 8, width)
    body.append(text_element(MARGIN, y + 22, "Stacks and supporting resources", "h2"))
    explain = (
        "Every stack of the assembly with its constructs and main resources: keys, SSM parameters, "
        "roles, team stacks, observability. Lettered arrows: references between stacks; numbered "
        "arrows: flows between resources (listed below)."
    )
    y += 30
    for line in wrap(explain, width - 2 * MARGIN, "meta"):
        body.append(text_element(MARGIN, y + 10, line, "meta"))
        y += LINE
    layout = StackLayout(diagram, y - STREET_BASE + 14)
    for column in layout.boxes:
        for box in column:
            _draw_stack(body, box)
    _draw_edges(body, layout)
    legend, height = _legend(layout, layout.height + 8, width)
    markers = "".join(
        f'<marker id="arrow-{kind}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" '
        f'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto">'
        f'<path d="M0 0 L10 5 L0 10 z" fill="{colour}"/></marker>'
        for kind, (colour, _text) in [*KIND_STYLE.items(), ("path", ("#232f3e", ""))]
    )
    background = rect(0, 0, width, height, 'class="bg"')
    return document(
        width,
        height,
        title=diagram.title,
        style=_STYLE,
        defs=[markers],
        body=[background, *head, *body, *legend],
    )
