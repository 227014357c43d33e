"""Network: VPC, interface endpoints and flow logs."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from constructs import Construct

from bedrock_landing_zone.config import LandingZoneConfig
from bedrock_landing_zone.network import PrivateNetwork


class NetworkStack(cdk.Stack):
    """Composes ``PrivateNetwork`` from the environment's config.

    Attributes:
        network: the ``PrivateNetwork`` (vpc, client security group, endpoints).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LandingZoneConfig,
        key: kms.IKey,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.network = PrivateNetwork(
            self,
            "PrivateNetwork",
            config=config.network,
            key=key,
            organization_id=config.organization_id,
        )
