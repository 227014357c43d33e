"""Write the compliance report of a synthesized environment (``docs/compliance.md``).

::

    python -m bedrock_landing_zone.compliance.report cdk.out docs/compliance.md [--env NAME]

The entry point only: ``evidence.build_report`` collects the evidence (cdk-nag's validation
report and rule lists, checkov and cfn-lint over the assembly's templates), ``render.render``
turns it into Markdown, and this module writes the file. Exit status: 0 when nothing is open,
1 when something is open (after writing the file), 2 when the inputs cannot be read. Standard
library only at import time.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bedrock_landing_zone.compliance.evidence import ReportError, build_report
from bedrock_landing_zone.compliance.render import render

__all__ = ["main"]


def main(
    argv: Sequence[str] | None = None,
    *,
    prog: str = "python -m bedrock_landing_zone.compliance.report",
) -> int:
    """CLI (``argv`` without the program name; ``prog`` in usage lines, as ``bedrock-lz report``
    runs it). Exit 0 clean, 1 open findings, 2 bad inputs."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Render cdk-nag, checkov and cfn-lint results of a cloud assembly as Markdown.",
    )
    parser.add_argument("cdk_out", type=Path, help="cloud assembly directory (cdk.out)")
    parser.add_argument("output", type=Path, help="Markdown file to write (docs/compliance.md)")
    parser.add_argument("--env", help="environment synthesized (default: from the stack names)")
    parser.add_argument(
        "--root", type=Path, default=Path(), help="repository root (.cfnlintrc.yaml, .venv-checkov)"
    )
    parser.add_argument("--checkov", type=Path, help="default: ROOT/.venv-checkov/bin/checkov")
    parser.add_argument("--cfn-lint", type=Path, help="default: cfn-lint next to this Python")
    args = parser.parse_args(argv)
    try:
        report = build_report(
            args.cdk_out,
            root=args.root,
            env=args.env,
            checkov=args.checkov,
            cfn_lint=args.cfn_lint,
        )
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(report), encoding="utf-8", newline="\n")
    open_items = {k: v for k, v in report.open_items.items() if v}
    if open_items:
        summary = ", ".join(f"{k}: {v}" for k, v in open_items.items())
        print(f"{args.output}: OPEN: {summary}", file=sys.stderr)
        return 1
    print(f"{args.output}: nothing open")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
