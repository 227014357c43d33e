"""Observability: the landing zone dashboard and alarms, generated from the allow-list."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from bedrock_landing_zone.config import LandingZoneConfig
from bedrock_landing_zone.observability import LandingZoneObservability
from bedrock_landing_zone.stacks.audit_stack import AuditStack
from bedrock_landing_zone.stacks.governance_stack import GovernanceStack
from bedrock_landing_zone.stacks.inference_stack import InferenceStack


class ObservabilityStack(cdk.Stack):
    """Composes ``LandingZoneObservability``; alarms notify the audit stack's alert topic.

    Attributes:
        observability: the ``LandingZoneObservability`` (dashboard, alarms, composite alarm).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LandingZoneConfig,
        governance: GovernanceStack,
        audit: AuditStack,
        inference: InferenceStack | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.observability = LandingZoneObservability(
            self,
            "Observability",
            config=config,
            topic=audit.alerts.topic,
            guardrail=governance.guardrail.ref,
            function=inference.function.function if inference else None,
            api=inference.api.api if inference else None,
        )
