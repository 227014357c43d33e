"""Bedrock landing zone: constructs and stages for running Amazon Bedrock inside an enterprise.

The public API is listed in ``__all__``. Names are imported on first use, so that light tools
(``python -m bedrock_landing_zone doctor``, the config schema) do not start the CDK runtime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "PACKS": "bedrock_landing_zone.compliance",
    "acknowledge": "bedrock_landing_zone.compliance",
    "add_compliance_packs": "bedrock_landing_zone.compliance",
    "ConfigError": "bedrock_landing_zone.config",
    "LandingZoneConfig": "bedrock_landing_zone.config",
    "load_config": "bedrock_landing_zone.config",
    "LandingZoneKey": "bedrock_landing_zone.encryption",
    "LandingZoneStacks": "bedrock_landing_zone.landing_zone",
    "LandingZoneStage": "bedrock_landing_zone.landing_zone",
    "add_landing_zone": "bedrock_landing_zone.landing_zone",
    "PrivateNetwork": "bedrock_landing_zone.network",
    "ManagedPolicyRole": "bedrock_landing_zone.roles",
}

__all__ = [
    "PACKS",
    "ConfigError",
    "LandingZoneConfig",
    "LandingZoneKey",
    "LandingZoneStacks",
    "LandingZoneStage",
    "ManagedPolicyRole",
    "PrivateNetwork",
    "__version__",
    "acknowledge",
    "add_compliance_packs",
    "add_landing_zone",
    "load_config",
]

if TYPE_CHECKING:
    from bedrock_landing_zone.compliance import PACKS, acknowledge, add_compliance_packs
    from bedrock_landing_zone.config import ConfigError, LandingZoneConfig, load_config
    from bedrock_landing_zone.encryption import LandingZoneKey
    from bedrock_landing_zone.landing_zone import (
        LandingZoneStacks,
        LandingZoneStage,
        add_landing_zone,
    )
    from bedrock_landing_zone.network import PrivateNetwork
    from bedrock_landing_zone.roles import ManagedPolicyRole


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'bedrock_landing_zone' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
