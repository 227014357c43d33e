"""Compliance gates: the five cdk-nag v3 packs and acknowledgments (``packs``), the preflight
limits plugin (``preflight``), and the compliance report: the evidence it collects
(``evidence``), its Markdown (``render``), its command (``report``) and ``summary``.

Imports only ``config``. The names of ``packs`` are loaded on first use, so that the report
generator, which reads a cloud assembly, does not start the CDK runtime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "PACKS",
    "PreflightChecks",
    "acknowledge",
    "acknowledge_deploy_time_function",
    "acknowledgment_id",
    "add_compliance_packs",
    "has_compliance_packs",
    "ignore_cfn_lint",
    "nag_form",
    "skip_checkov",
]
_PACKS_NAMES = frozenset(__all__)

if TYPE_CHECKING:
    from bedrock_landing_zone.compliance.packs import (
        PACKS,
        PreflightChecks,
        acknowledge,
        acknowledge_deploy_time_function,
        acknowledgment_id,
        add_compliance_packs,
        has_compliance_packs,
        ignore_cfn_lint,
        nag_form,
        skip_checkov,
    )


def __getattr__(name: str) -> Any:
    if name in _PACKS_NAMES:
        value = getattr(importlib.import_module("bedrock_landing_zone.compliance.packs"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
