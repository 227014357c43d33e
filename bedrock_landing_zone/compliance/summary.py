"""Summarize cdk.out/validation-report.json: per pack, open and acknowledged findings.

CDK omits from the report a plugin that had neither violations nor acknowledged findings; such
a pack is shown here with zero of both. Exit status 1 when any finding is open.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

PACK_NAMES = ("AwsSolutions", "NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321", "Serverless")


def summarize(report: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Pack name -> {"open": n, "acknowledged": n}, for the five packs and any other plugin."""
    counts: dict[str, Counter[str]] = {name: Counter() for name in PACK_NAMES}
    for plugin in report.get("pluginReports", []):
        tally = counts.setdefault(plugin["pluginName"], Counter())
        for violation in plugin.get("violations", []):
            if violation.get("severity") in ("error", "fatal"):
                tally["open"] += len(violation.get("violatingConstructs", [])) or 1
        for violation in plugin.get("suppressedViolations") or []:
            tally["acknowledged"] += len(violation.get("violatingConstructs", [])) or 1
    return {
        name: {"open": c["open"], "acknowledged": c["acknowledged"]} for name, c in counts.items()
    }


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else "cdk.out/validation-report.json")
    if not path.is_file():
        print(f"error: {path} not found: run `make synth` first", file=sys.stderr)
        return 2
    summary = summarize(json.loads(path.read_text(encoding="utf-8")))
    print(f"{'compliance pack':<24}{'open':>6}{'acknowledged':>14}")
    for name, tally in summary.items():
        print(f"{name:<24}{tally['open']:>6}{tally['acknowledged']:>14}")
    return 1 if any(t["open"] for t in summary.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
