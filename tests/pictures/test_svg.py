"""The helpers that both pictures share (``pictures.svg``), and the rule that every module of
``pictures/`` runs without the CDK."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from bedrock_landing_zone.pictures.svg import (
    BASE_CSS,
    FONT_FAMILY,
    MONO_FAMILY,
    TEXT_CLASSES,
    TEXT_CSS,
    document,
    plural,
    rect,
    text_css,
)

ROOT = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"


def test_each_text_class_is_drawn_as_it_is_measured() -> None:
    """The CSS of a text class has the size, weight and font that text width estimates use."""
    assert set(TEXT_CSS) == set(TEXT_CLASSES)
    for css_class, (size, bold, mono, _step) in TEXT_CLASSES.items():
        css = TEXT_CSS[css_class]
        assert re.search(rf"(^|;)font-size:{size}px(;|$)", css), css_class
        assert ("font-weight:bold" in css) == bold, css_class
        assert (MONO_FAMILY in css) == mono, css_class


def test_text_css_keeps_the_order_asked() -> None:
    assert text_css("meta", "h1") == f".meta{{{TEXT_CSS['meta']}}}.h1{{{TEXT_CSS['h1']}}}"
    assert BASE_CSS.startswith(f"text{{font-family:{FONT_FAMILY}}}")


def test_document_is_well_formed_and_escapes_its_title() -> None:
    svg = document(
        120.0,
        80.25,
        title="a<b & c",
        style=BASE_CSS,
        body=[rect(0, 0, 120, 80.25, 'class="bg"')],
    )
    assert svg.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<svg ')
    assert svg.endswith("</svg>\n")
    assert "<defs>" not in svg  # left out when empty
    root = ET.fromstring(svg)
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == (
        "120",
        "80.2",
        "0 0 120 80.2",
    )
    assert root.findtext(f"{SVG}title") == "a<b & c"
    assert root.find(f"{SVG}rect") is not None
    with_defs = document(1, 1, title="t", style="", body=[], defs=["<marker/>", "<clipPath/>"])
    assert "\n<defs><marker/><clipPath/></defs>\n" in with_defs


def test_plural() -> None:
    assert [plural(n, "stack") for n in (0, 1, 2)] == ["0 stacks", "1 stack", "2 stacks"]


def test_every_module_of_the_pictures_imports_without_the_cdk() -> None:
    """pictures/ reads JSON only: importing each of its modules loads neither the CDK nor jsii
    (tests/test_layout.py checks the import statements; this checks what they pull in)."""
    code = (
        "import importlib, pkgutil, sys\n"
        "import bedrock_landing_zone.pictures as pictures\n"
        "names = [m.name for m in pkgutil.walk_packages(pictures.__path__, 'bedrock_landing_zone"
        ".pictures.') if not m.name.endswith('__main__')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('aws_cdk', 'jsii', 'constructs', 'cdk_nag', 'boto3'))\n"
        "print(' '.join(names))\n"
        "print(' '.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    names, loaded, _end = result.stdout.split("\n")
    for module in ("architecture.layout", "architecture.render", "assembly", "dashboard_preview"):
        assert f"bedrock_landing_zone.pictures.{module}" in names.split()
    assert loaded == ""
