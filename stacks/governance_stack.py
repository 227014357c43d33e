"""Governance: the landing-zone key, and (as they land) model access, guardrails, audit."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from bedrock_landing_zone.config import LandingZoneConfig
from bedrock_landing_zone.encryption import LandingZoneKey


class GovernanceStack(cdk.Stack):
    """Holds what every other stack relies on: the customer-managed key.

    Attributes:
        key: the landing zone's KMS key (``LandingZoneKey``).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: LandingZoneConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.landing_zone_key = LandingZoneKey(
            self, "LandingZoneKey", alias=f"alias/bedrock-lz/{config.name}"
        )
        self.key = self.landing_zone_key.key
