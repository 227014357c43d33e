"""The command line of the architecture diagram:
``python -m bedrock_landing_zone.pictures.architecture <cdk.out dir> <output.svg> [--check]``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bedrock_landing_zone.pictures.architecture.diagram import analyze
from bedrock_landing_zone.pictures.architecture.render import render_svg
from bedrock_landing_zone.pictures.assembly import AssemblyError, load_assembly

__all__ = ["main"]


def main(
    argv: Sequence[str] | None = None,
    *,
    prog: str = "python -m bedrock_landing_zone.pictures.architecture",
) -> int:
    """CLI: ``python -m bedrock_landing_zone.pictures.architecture <cdk.out dir> <output.svg>``
    (also ``bedrock-lz diagram``, which passes its name as ``prog``).

    With ``--check``, exit 1 when the file differs from what would be written (and write
    nothing). ``argv`` excludes the program name.
    """
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Draw the architecture of a synthesized CDK app as one SVG file.",
    )
    parser.add_argument("cdk_out", type=Path, help="cloud assembly directory (cdk.out)")
    parser.add_argument("output", type=Path, help="SVG file to write")
    parser.add_argument("--check", action="store_true", help="only compare with the existing file")
    args = parser.parse_args(argv)
    cdk_out: Path = args.cdk_out
    output: Path = args.output
    try:
        assembly = load_assembly(cdk_out)
    except AssemblyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not assembly.stacks:
        print(f"error: no stacks in {cdk_out / 'manifest.json'}", file=sys.stderr)
        return 1
    diagram = analyze(assembly)
    svg = render_svg(diagram)
    if args.check:
        current = output.read_text(encoding="utf-8") if output.is_file() else ""
        if current != svg:
            print(f"error: {output} is stale: run `make diagram`", file=sys.stderr)
            return 1
        print(f"{output} is up to date")
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(svg, encoding="utf-8", newline="\n")
    print(
        f"wrote {output} ({len(assembly.stacks)} stacks, {len(diagram.rows)} rows, "
        f"{len(diagram.flows)} flows, {len(diagram.links)} stack links)"
    )
    return 0
