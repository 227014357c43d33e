"""Network: VPC, interface endpoints and flow logs."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from constructs import Construct

from bedrock_landing_zone.config import LandingZoneConfig
from bedrock_landing_zone.model_access import ModelAccess
from bedrock_landing_zone.network import PrivateNetwork


class NetworkStack(cdk.Stack):
    """Composes ``PrivateNetwork`` from the environment's config.

    The ``bedrock-runtime`` endpoint's policy admits only the allow-listed models, with the
    landing zone guardrail, for principals of this account (or organisation).

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
        model_access: ModelAccess,
        **kwargs: Any,
    ) -> None:
        self._zones = (
            list(config.network.vpc.new.availability_zones)
            if config.network.vpc.new is not None and config.network.vpc.new.availability_zones
            else None
        )
        super().__init__(scope, construct_id, **kwargs)
        if config.organization_id:
            principals = {"StringEquals": {"aws:PrincipalOrgID": config.organization_id}}
        else:
            principals = {"StringEquals": {"aws:PrincipalAccount": self.account}}
        self.network = PrivateNetwork(
            self,
            "PrivateNetwork",
            config=config.network,
            key=key,
            organization_id=config.organization_id,
            endpoint_statements={
                # inference through the endpoint is limited to the model allow-list
                "bedrock-runtime": model_access.endpoint_statements(
                    principals, profiles_tagged={"Environment": config.name}
                ),
            },
        )

    @property
    def availability_zones(self) -> list[str]:
        """The configured zones when there are any: ``ec2.Vpc`` asks the stack for its zones
        even when given them, and for a stack with an account CDK would look them up (a
        context provider call that needs credentials at synth)."""
        return self._zones or super().availability_zones
