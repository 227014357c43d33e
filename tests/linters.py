"""Run cfn-lint and checkov over synthesized templates, the way the compliance tests need."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tests.conftest import ROOT

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
CFN_LINT = Path(sys.executable).with_name("cfn-lint")


def cfn_lint(templates: Iterable[Path | str]) -> subprocess.CompletedProcess[str]:
    """cfn-lint in the repo root (so it reads .cfnlintrc.yaml), parseable output."""
    return subprocess.run(
        [str(CFN_LINT), "--format", "parseable", *map(str, templates)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


def checkov(directory: Path) -> list[dict[str, Any]]:
    """checkov's JSON reports for every CloudFormation template under ``directory``."""
    assert CHECKOV.exists(), "run `make setup` (checkov lives in .venv-checkov)"
    result = subprocess.run(
        [
            str(CHECKOV),
            "--directory",
            str(directory),
            "--framework",
            "cloudformation",
            "--skip-download",
            "--output",
            "json",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    data = json.loads(result.stdout)
    return data if isinstance(data, list) else [data]


def failed_checks(reports: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (c["check_id"], c["resource"])
        for r in reports
        for c in r.get("results", {}).get("failed_checks", [])
    ]


def skips_without_reason(reports: list[dict[str, Any]]) -> list[str]:
    """Skipped checks whose template metadata gives no real reason (20 characters or more)."""
    return [
        skipped["check_id"]
        for report in reports
        for skipped in report.get("results", {}).get("skipped_checks", [])
        if len(skipped.get("suppress_comment") or "") < 20
    ]
