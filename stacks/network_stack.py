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
                "bedrock-runtime": model_access.endpoint_statements(principals),
            },
        )
