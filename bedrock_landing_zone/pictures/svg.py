"""What the generated SVG pictures share: text (width estimates, word wrap, text that keeps its
full value when it has to be shortened), the fonts and the CSS of the text classes, and the
writing of elements and of the document (escaping, coordinates, ``<rect>``, the ``<svg>`` root).

Shared by the architecture diagram (``architecture``) and the dashboard preview
(``dashboard_preview``): every SVG helper that both use lives here. Standard library only.

Nothing drawn may lose information: long text is wrapped, and where a picture has no room for
all of it, the drawn ``<text>`` is shortened with an ellipsis and carries the full text in an
SVG ``<title>`` child (a tooltip in browsers). ``text_element`` does both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

__all__ = [
    "BASE_CSS",
    "ELLIPSIS",
    "FONT_FAMILY",
    "MONO_FAMILY",
    "TEXT_CLASSES",
    "TEXT_CSS",
    "document",
    "esc",
    "fitting_prefix",
    "num",
    "plural",
    "rect",
    "text_css",
    "text_element",
    "text_width",
    "truncate",
    "wrap",
    "wrap_lines",
]

ELLIPSIS = "…"

FONT_FAMILY = "DejaVu Sans, Verdana, Arial, Helvetica, sans-serif"
MONO_FAMILY = "DejaVu Sans Mono, Menlo, Consolas, monospace"

# (font size px, bold, monospace, line step px) of each text class; ``TEXT_CSS`` draws them so.
TEXT_CLASSES: dict[str, tuple[float, bool, bool, int]] = {
    "title": (13, True, False, 18),
    "badge": (10, False, False, 13),
    "meta": (10, False, False, 14),
    "body": (11, False, False, 15),
    "muted": (11, False, False, 15),
    "head": (12, True, False, 17),
    "strong": (11, True, False, 15),
    "code": (10, False, True, 14),
    "ann": (10, False, False, 12),
    "h1": (18, True, False, 22),
    "h2": (15, True, False, 20),
    "sub": (11, False, False, 15),
}

# The CSS of each text class: the size, weight and font that ``TEXT_CLASSES`` measures.
TEXT_CSS: dict[str, str] = {
    "title": "font-size:13px;font-weight:bold;fill:#16191f",
    "badge": "font-size:10px;fill:#5f6b7a",
    "meta": "font-size:10px;fill:#5f6b7a",
    "body": "font-size:11px;fill:#16191f",
    "muted": "font-size:11px;fill:#5f6b7a",
    "head": "font-size:12px;font-weight:bold;fill:#16191f",
    "strong": "font-size:11px;font-weight:bold;fill:#16191f",
    "code": f"font-size:10px;font-family:{MONO_FAMILY};fill:#16191f",
    "ann": "font-size:10px",
    "h1": "font-size:18px;font-weight:bold;fill:#16191f",
    "h2": "font-size:15px;font-weight:bold;fill:#16191f",
    "sub": "font-size:11px;fill:#5f6b7a",
}

# The first rules of every picture's style sheet: the font of all text, the background colour.
BASE_CSS = f"text{{font-family:{FONT_FAMILY}}}.bg{{fill:#f2f3f3}}"

# Advance widths in em of DejaVu Sans (a wide font, so that narrower fallbacks still fit).
_WIDTHS: dict[str, float] = (
    dict.fromkeys("abcdeghknopqsuvxyz", 0.62)
    | dict.fromkeys("frt()[]-/\\", 0.4)
    | dict.fromkeys("mw", 0.9)
    | dict.fromkeys("ABCDEFGHJKLNOPQRSTUVXYZ", 0.72)
    | dict.fromkeys("MW", 0.95)
    | dict.fromkeys("0123456789${}", 0.64)
    | dict.fromkeys("=+<>#~^", 0.84)
    | dict.fromkeys("@%", 1.0)
    | dict.fromkeys("&", 0.78)
    | dict.fromkeys('*_"?', 0.53)
    | {ELLIPSIS: 1.0, "•": 0.59, "·": 0.32, "\u2192": 0.84, "\u00d7": 0.84}
    | dict.fromkeys(" .,:;'!|\u00a0", 0.32)
    | dict.fromkeys("ijlI", 0.29)
)

# Where a word too long for a line is preferably broken: just after one of these.
_SOFT_BREAKS = "/-.,:_)"


def _is_wide(char: str) -> bool:
    code = ord(char)
    return 0x1100 <= code <= 0x115F or 0x2E80 <= code <= 0xA4CF or code >= 0xAC00


def _char_em(char: str, mono: bool) -> float:
    if mono:
        return 1.2 if _is_wide(char) else 0.61
    return _WIDTHS.get(char, 1.0 if _is_wide(char) else 0.72)


def _scale(css_class: str) -> tuple[float, bool]:
    size, bold, mono, _step = TEXT_CLASSES[css_class]
    return size * (1.08 if bold else 1.0), mono


def text_css(*classes: str) -> str:
    """The CSS rules of the text classes ``classes`` (keys of ``TEXT_CSS``), in that order."""
    return "".join(f".{css_class}{{{TEXT_CSS[css_class]}}}" for css_class in classes)


def plural(count: int, noun: str) -> str:
    """``1 resource``, ``2 resources``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def text_width(text: str, css_class: str) -> float:
    """Estimated width in pixels of ``text`` drawn with ``css_class`` (errs on the wide side)."""
    scale, mono = _scale(css_class)
    return sum(_char_em(char, mono) for char in text) * scale


def fitting_prefix(text: str, max_px: float, css_class: str) -> int:
    """How many leading characters of ``text`` fit in ``max_px``."""
    scale, mono = _scale(css_class)
    used = 0.0
    for index, char in enumerate(text):
        used += _char_em(char, mono) * scale
        if used > max_px:
            return index
    return len(text)


def truncate(text: str, max_px: float, css_class: str) -> str:
    """``text`` cut to fit ``max_px`` (by estimate), ending with an ellipsis when cut.

    Only the shortened text: draw it with ``text_element`` so that the full text stays in a
    tooltip.
    """
    if text_width(text, css_class) <= max_px:
        return text
    budget = max_px - text_width(ELLIPSIS, css_class)
    if budget <= 0:
        return ""
    return text[: fitting_prefix(text, budget, css_class)].rstrip() + ELLIPSIS


def _break_word(word: str, max_px: float, css_class: str) -> list[str]:
    """A word wider than ``max_px`` in pieces that fit, broken after ``/``, ``-``, ``.``... when
    one of them is in the last two thirds of what fits, else anywhere."""
    pieces: list[str] = []
    while len(word) > 1 and text_width(word, css_class) > max_px:
        cut = max(fitting_prefix(word, max_px, css_class), 1)
        soft = max((i + 1 for i, char in enumerate(word[:cut]) if char in _SOFT_BREAKS), default=0)
        if soft * 3 >= cut and soft < len(word):
            cut = soft
        pieces.append(word[:cut])
        word = word[cut:]
    pieces.append(word)
    return pieces


def wrap(text: str, max_px: float, css_class: str) -> list[str]:
    """Greedy word wrap to ``max_px``; a word longer than a line is broken (after a ``/``, ``-``
    or ``.`` where possible). No character is lost: joining the lines with spaces gives the
    text back, except that a broken word has no space at its breaks."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, css_class) <= max_px:
            current = candidate
            continue
        if current:
            lines.append(current)
        *full, current = _break_word(word, max_px, css_class)
        lines += full
    lines.append(current)
    return lines


def wrap_lines(text: str, max_px: float, css_class: str, max_lines: int) -> tuple[list[str], bool]:
    """``text`` wrapped to at most ``max_lines`` lines; (lines, shortened).

    When more lines would be needed, the last line ends with an ellipsis and ``shortened`` is
    True: give the full text to ``text_element`` (``full=``) so that it stays in a tooltip.
    """
    lines = wrap(text, max_px, css_class)
    if len(lines) <= max(max_lines, 1):
        return lines, False
    keep = max(max_lines, 1)
    last = " ".join(lines[keep - 1 :])
    budget = max_px - text_width(ELLIPSIS, css_class)
    shown = last[: fitting_prefix(last, budget, css_class)].rstrip()
    return [*lines[: keep - 1], shown + ELLIPSIS], True


# --------------------------------------------------------------------------- SVG output

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def esc(text: str) -> str:
    """Text escaped for SVG element content and attribute values."""
    text = _INVALID_XML.sub("\ufffd", text.replace("\t", " "))
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&apos;")
    )


def num(value: float) -> str:
    """Pixel coordinates: integers as integers, otherwise one decimal."""
    rounded = round(value, 1)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:.1f}"


def text_element(
    x: float,
    y: float,
    text: str,
    css: str,
    *,
    max_px: float | None = None,
    anchor: str = "",
    attrs: str = "",
    full: str | None = None,
) -> str:
    """A ``<text>`` element of class ``css``.

    With ``max_px``, text wider than that is shortened with an ellipsis. Whenever what is drawn
    is not the whole text (shortened here, or ``full`` given and different), a ``<title>``
    child carries the full text, so nothing is lost.
    """
    shown = truncate(text, max_px, css) if max_px is not None else text
    whole = full if full is not None else text
    extra = f' text-anchor="{anchor}"' if anchor else ""
    extra += f" {attrs}" if attrs else ""
    tooltip = f"<title>{esc(whole)}</title>" if shown != whole else ""
    return f'<text x="{num(x)}" y="{num(y)}" class="{css}"{extra}>{esc(shown)}{tooltip}</text>'


def rect(x: float, y: float, width: float, height: float, attrs: str) -> str:
    """A ``<rect>`` element with further attributes ``attrs``."""
    return f'<rect x="{num(x)}" y="{num(y)}" width="{num(width)}" height="{num(height)}" {attrs}/>'


def document(
    width: float,
    height: float,
    *,
    title: str,
    style: str,
    body: Iterable[str],
    defs: Sequence[str] = (),
) -> str:
    """A whole SVG file: the XML declaration, the ``<svg>`` root of ``width`` x ``height``, its
    ``<title>``, the ``<style>`` sheet, ``<defs>`` (left out when empty), then ``body``'s
    elements, one a line."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{num(width)}" height="{num(height)}" '
        f'viewBox="0 0 {num(width)} {num(height)}">',
        f"<title>{esc(title)}</title>",
        f"<style>{style}</style>",
    ]
    if defs:
        out.append("<defs>" + "".join(defs) + "</defs>")
    out += body
    out.append("</svg>")
    return "\n".join(out) + "\n"
