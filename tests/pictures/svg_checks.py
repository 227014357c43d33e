"""Checks of generated SVG pictures shared by the picture tests: no text shortened without its
full value in a ``<title>`` tooltip, no text wider than the box it is drawn in."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass

from bedrock_landing_zone.pictures.svg import TEXT_CLASSES, text_width

SVG = "{http://www.w3.org/2000/svg}"
ELLIPSES = ("\u2026", "...")


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float
    css: str = ""

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def contains_point(self, x: float, y: float) -> bool:
        return self.x <= x <= self.right and self.y <= y <= self.bottom

    def contains(self, other: Box, tolerance: float = 0.5) -> bool:
        return (
            other.x >= self.x - tolerance
            and other.y >= self.y - tolerance
            and other.right <= self.right + tolerance
            and other.bottom <= self.bottom + tolerance
        )

    def overlaps(self, other: Box) -> bool:
        return (
            self.x < other.right
            and other.x < self.right
            and self.y < other.bottom
            and other.y < self.bottom
        )

    def on_border(self, x: float, y: float, tolerance: float = 1.5) -> bool:
        """Whether (x, y) lies on the outline of the box."""
        near_x = self.x - tolerance <= x <= self.right + tolerance
        near_y = self.y - tolerance <= y <= self.bottom + tolerance
        on_vertical = min(abs(x - self.x), abs(x - self.right)) <= tolerance and near_y
        on_horizontal = min(abs(y - self.y), abs(y - self.bottom)) <= tolerance and near_x
        return on_vertical or on_horizontal


def box_of(rect: ET.Element) -> Box:
    return Box(
        float(rect.get("x", 0)),
        float(rect.get("y", 0)),
        float(rect.get("width", 0)),
        float(rect.get("height", 0)),
        rect.get("class", ""),
    )


def path_points(d: str) -> list[tuple[float, float]]:
    """The points of a path made of ``M``/``L`` commands."""
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", d)]
    return list(zip(numbers[::2], numbers[1::2], strict=True))


def shown_text(element: ET.Element) -> str:
    """The text drawn by a ``<text>`` element (its ``<title>`` child is not drawn)."""
    return element.text or ""


def tooltip(element: ET.Element) -> str | None:
    title = element.find(f"{SVG}title")
    return (title.text or "") if title is not None else None


def text_extent(element: ET.Element) -> tuple[float, float, float] | None:
    """(left, right, baseline) of a text element by the shared width estimate; None for text
    classes without an estimate (icons and numbers drawn in a fixed shape)."""
    css = element.get("class", "")
    if css not in TEXT_CLASSES:
        return None
    x, y = float(element.get("x", 0)), float(element.get("y", 0))
    width = text_width(shown_text(element), css)
    anchor = element.get("text-anchor", "start")
    left = x - width if anchor == "end" else x - width / 2 if anchor == "middle" else x
    return left, left + width, y


def truncation_problems(root: ET.Element) -> list[str]:
    """Texts that end with an ellipsis but carry no ``<title>`` with more of the text."""
    problems = []
    for element in root.iter(f"{SVG}text"):
        text = shown_text(element)
        if not text.rstrip().endswith(ELLIPSES):
            continue
        visible = text.rstrip()
        for ellipsis in ELLIPSES:
            visible = visible.removesuffix(ellipsis)
        visible = visible.strip()
        full = tooltip(element)
        if full is None:
            problems.append(f"shortened without a tooltip: {text!r}")
        elif len(full) <= len(visible) or visible.replace("\u00a0", " ") not in full.replace(
            "\u00a0", " "
        ):
            problems.append(f"tooltip {full!r} does not hold the whole of {text!r}")
    return problems


def overflow_problems(root: ET.Element, containers: Iterable[str]) -> list[str]:
    """Texts wider than the smallest box (a rect of one of the ``containers`` classes) that
    holds their start point."""
    kinds = set(containers)
    boxes = [box_of(r) for r in root.iter(f"{SVG}rect") if r.get("class") in kinds]
    problems = []
    for element in root.iter(f"{SVG}text"):
        extent = text_extent(element)
        if extent is None:
            continue
        left, right, baseline = extent
        anchor_x = float(element.get("x", 0))
        holders = [b for b in boxes if b.contains_point(anchor_x, baseline - 3)]
        if not holders:
            problems.append(f"text outside every box: {shown_text(element)!r}")
            continue
        box = min(holders, key=lambda b: b.w * b.h)
        if left < box.x - 0.5 or right > box.right + 0.5:
            problems.append(
                f"text {shown_text(element)!r} ({left:.0f}..{right:.0f}) overflows its "
                f"{box.css} box ({box.x:.0f}..{box.right:.0f})"
            )
    return problems


def text_problems(svg: str, containers: Iterable[str]) -> list[str]:
    root = ET.fromstring(svg)
    return truncation_problems(root) + overflow_problems(root, containers)
