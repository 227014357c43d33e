"""Read checkov's JSON reports the way the compliance tests need."""

from __future__ import annotations

from typing import Any


def failed_checks(reports: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (c["check_id"], c["resource"])
        for r in reports
        for c in r.get("results", {}).get("failed_checks", [])
    ]


def skips_without_reason(reports: list[dict[str, Any]]) -> list[str]:
    """Skipped checks whose template metadata gives no real reason (20 characters or more):
    checkov puts it in the check's ``check_result.suppress_comment``."""
    return [
        skipped["check_id"]
        for report in reports
        for skipped in report.get("results", {}).get("skipped_checks", [])
        if len(_reason(skipped)) < 20
    ]


def _reason(skipped: dict[str, Any]) -> str:
    result = skipped.get("check_result") or {}
    return str(result.get("suppress_comment") or skipped.get("suppress_comment") or "")
