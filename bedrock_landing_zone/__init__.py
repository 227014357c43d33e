"""Bedrock landing zone: constructs and stages for running Amazon Bedrock inside an enterprise.

The public API is listed in ``__all__``. Names are imported on first use, so that light tools
(``python -m bedrock_landing_zone doctor``, the config schema) do not start the CDK runtime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "AlertTopic": "bedrock_landing_zone.audit.alerts",
    "AlertsConfig": "bedrock_landing_zone.config",
    "BudgetsConfig": "bedrock_landing_zone.config",
    "ConfigError": "bedrock_landing_zone.config",
    "CostAllocation": "bedrock_landing_zone.governance.cost_allocation",
    "GuardedInferenceFunction": "bedrock_landing_zone.inference.constructs",
    "GuardrailConfig": "bedrock_landing_zone.config",
    "GuardrailReference": "bedrock_landing_zone.governance.model_access",
    "InferenceConfig": "bedrock_landing_zone.config",
    "InvocationLogging": "bedrock_landing_zone.audit.invocation_logging",
    "InvocationLoggingConfig": "bedrock_landing_zone.config",
    "Knob": "bedrock_landing_zone.compliance.preflight",
    "LandingZoneConfig": "bedrock_landing_zone.config",
    "LandingZoneFunction": "bedrock_landing_zone.base.functions",
    "LandingZoneGuardrail": "bedrock_landing_zone.governance.guardrail",
    "LandingZoneKey": "bedrock_landing_zone.base.encryption",
    "LandingZoneObservability": "bedrock_landing_zone.observability.monitoring",
    "LandingZoneStacks": "bedrock_landing_zone.delivery.landing_zone",
    "LandingZoneStage": "bedrock_landing_zone.delivery.landing_zone",
    "ManagedPolicyRole": "bedrock_landing_zone.base.roles",
    "ModelAccess": "bedrock_landing_zone.governance.model_access",
    "ModelAccessAutomation": "bedrock_landing_zone.governance.model_access_automation",
    "ModelAccessAutomationConfig": "bedrock_landing_zone.config",
    "ModelAlarms": "bedrock_landing_zone.observability.monitoring",
    "ModelConfig": "bedrock_landing_zone.config",
    "ModelDashboardSection": "bedrock_landing_zone.observability.monitoring",
    "NetworkConfig": "bedrock_landing_zone.config",
    "NetworkReference": "bedrock_landing_zone.network.private_network",
    "ObservabilityConfig": "bedrock_landing_zone.config",
    "OrganizationPolicies": "bedrock_landing_zone.governance.organization_policies",
    "PACKS": "bedrock_landing_zone.compliance",
    "PipelinePlan": "bedrock_landing_zone.config.pipeline",
    "PipelineStack": "bedrock_landing_zone.delivery.pipeline",
    "PreflightChecks": "bedrock_landing_zone.compliance",
    "PrivateInferenceApi": "bedrock_landing_zone.inference.constructs",
    "PrivateNetwork": "bedrock_landing_zone.network.private_network",
    "TeamAccess": "bedrock_landing_zone.governance.teams",
    "TeamAccessSpec": "bedrock_landing_zone.inference.constructs",
    "TeamBudgets": "bedrock_landing_zone.audit.budgets",
    "TeamConfig": "bedrock_landing_zone.config",
    "acknowledge": "bedrock_landing_zone.compliance",
    "add_compliance_packs": "bedrock_landing_zone.compliance",
    "add_landing_zone": "bedrock_landing_zone.delivery.landing_zone",
    "add_pipeline": "bedrock_landing_zone.delivery.pipeline",
    "load_config": "bedrock_landing_zone.config",
    "load_pipeline": "bedrock_landing_zone.config.pipeline",
    "parse_config": "bedrock_landing_zone.config",
    "scp_documents": "bedrock_landing_zone.governance.organization_policies",
}

__all__ = [
    "PACKS",
    "AlertTopic",
    "AlertsConfig",
    "BudgetsConfig",
    "ConfigError",
    "CostAllocation",
    "GuardedInferenceFunction",
    "GuardrailConfig",
    "GuardrailReference",
    "InferenceConfig",
    "InvocationLogging",
    "InvocationLoggingConfig",
    "Knob",
    "LandingZoneConfig",
    "LandingZoneFunction",
    "LandingZoneGuardrail",
    "LandingZoneKey",
    "LandingZoneObservability",
    "LandingZoneStacks",
    "LandingZoneStage",
    "ManagedPolicyRole",
    "ModelAccess",
    "ModelAccessAutomation",
    "ModelAccessAutomationConfig",
    "ModelAlarms",
    "ModelConfig",
    "ModelDashboardSection",
    "NetworkConfig",
    "NetworkReference",
    "ObservabilityConfig",
    "OrganizationPolicies",
    "PipelinePlan",
    "PipelineStack",
    "PreflightChecks",
    "PrivateInferenceApi",
    "PrivateNetwork",
    "TeamAccess",
    "TeamAccessSpec",
    "TeamBudgets",
    "TeamConfig",
    "__version__",
    "acknowledge",
    "add_compliance_packs",
    "add_landing_zone",
    "add_pipeline",
    "load_config",
    "load_pipeline",
    "parse_config",
    "scp_documents",
]

if TYPE_CHECKING:
    from bedrock_landing_zone.audit.alerts import AlertTopic
    from bedrock_landing_zone.audit.budgets import TeamBudgets
    from bedrock_landing_zone.audit.invocation_logging import InvocationLogging
    from bedrock_landing_zone.base.encryption import LandingZoneKey
    from bedrock_landing_zone.base.functions import LandingZoneFunction
    from bedrock_landing_zone.base.roles import ManagedPolicyRole
    from bedrock_landing_zone.compliance import (
        PACKS,
        PreflightChecks,
        acknowledge,
        add_compliance_packs,
    )
    from bedrock_landing_zone.compliance.preflight import Knob
    from bedrock_landing_zone.config import (
        AlertsConfig,
        BudgetsConfig,
        ConfigError,
        GuardrailConfig,
        InferenceConfig,
        InvocationLoggingConfig,
        LandingZoneConfig,
        ModelAccessAutomationConfig,
        ModelConfig,
        NetworkConfig,
        ObservabilityConfig,
        TeamConfig,
        load_config,
        parse_config,
    )
    from bedrock_landing_zone.config.pipeline import PipelinePlan, load_pipeline
    from bedrock_landing_zone.delivery.landing_zone import (
        LandingZoneStacks,
        LandingZoneStage,
        add_landing_zone,
    )
    from bedrock_landing_zone.delivery.pipeline import PipelineStack, add_pipeline
    from bedrock_landing_zone.governance.cost_allocation import CostAllocation
    from bedrock_landing_zone.governance.guardrail import LandingZoneGuardrail
    from bedrock_landing_zone.governance.model_access import GuardrailReference, ModelAccess
    from bedrock_landing_zone.governance.model_access_automation import ModelAccessAutomation
    from bedrock_landing_zone.governance.organization_policies import (
        OrganizationPolicies,
        scp_documents,
    )
    from bedrock_landing_zone.governance.teams import TeamAccess
    from bedrock_landing_zone.inference.constructs import (
        GuardedInferenceFunction,
        PrivateInferenceApi,
        TeamAccessSpec,
    )
    from bedrock_landing_zone.network.private_network import NetworkReference, PrivateNetwork
    from bedrock_landing_zone.observability.monitoring import (
        LandingZoneObservability,
        ModelAlarms,
        ModelDashboardSection,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'bedrock_landing_zone' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
