"""The configuration of an environment (``model``), reading it strictly (``loading``), its JSON
Schema (``schema``) and the pipeline's configuration (``pipeline``).

Imports nothing else of the package: every capability reads its typed settings from here.
"""

from __future__ import annotations

from bedrock_landing_zone.config.loading import (
    availability_zone_context,
    load_config,
    load_yaml,
    parse_config,
)
from bedrock_landing_zone.config.model import (
    ENDPOINT_SERVICES,
    GUARDRAIL_UNSUPPORTED_MODELS,
    LOG_RETENTION_DAYS,
    MAX_MODELS,
    PROFILE_GEOGRAPHIES,
    AccountId,
    AlertsConfig,
    Alias,
    BudgetsConfig,
    ConfigError,
    ContentFilters,
    ExistingVpcConfig,
    GuardrailConfig,
    InferenceConfig,
    InvocationLoggingConfig,
    LandingZoneConfig,
    ModelAccessAutomationConfig,
    ModelConfig,
    NetworkConfig,
    NewVpcConfig,
    ObservabilityConfig,
    OrganizationPoliciesConfig,
    Region,
    TagsConfig,
    TeamConfig,
    VpcConfig,
)
from bedrock_landing_zone.config.schema import json_schema

__all__ = [
    "ENDPOINT_SERVICES",
    "GUARDRAIL_UNSUPPORTED_MODELS",
    "LOG_RETENTION_DAYS",
    "MAX_MODELS",
    "PROFILE_GEOGRAPHIES",
    "AccountId",
    "AlertsConfig",
    "Alias",
    "BudgetsConfig",
    "ConfigError",
    "ContentFilters",
    "ExistingVpcConfig",
    "GuardrailConfig",
    "InferenceConfig",
    "InvocationLoggingConfig",
    "LandingZoneConfig",
    "ModelAccessAutomationConfig",
    "ModelConfig",
    "NetworkConfig",
    "NewVpcConfig",
    "ObservabilityConfig",
    "OrganizationPoliciesConfig",
    "Region",
    "TagsConfig",
    "TeamConfig",
    "VpcConfig",
    "availability_zone_context",
    "json_schema",
    "load_config",
    "load_yaml",
    "parse_config",
]
