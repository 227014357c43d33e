"""Organisation policies (SCPs) generated from the allow-list, for the management account."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from bedrock_landing_zone.config import LandingZoneConfig
from bedrock_landing_zone.governance.organization_policies import (
    OrganizationGuardrailPolicy,
    OrganizationPolicies,
)


class OrganizationStack(cdk.Stack):
    """Deployed only when ``organization_policies`` is configured, into its management account.

    Attributes:
        policies: the ``OrganizationPolicies`` construct.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: LandingZoneConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.policies = OrganizationPolicies(self, "ServiceControlPolicies", config=config)
        self.guardrail_policy = (
            OrganizationGuardrailPolicy(self, "GuardrailEnforcement", config=config)
            if config.organization_policies and config.organization_policies.guardrail_enforcement
            else None
        )
