"""Network: VPC, interface endpoints and flow logs."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from bedrock_landing_zone.config import LandingZoneConfig
from bedrock_landing_zone.governance.model_access import ModelAccess
from bedrock_landing_zone.network.private_network import PrivateNetwork, network_parameter_names


class NetworkStack(cdk.Stack):
    """Composes ``PrivateNetwork`` from the environment's config.

    The ``bedrock-runtime`` endpoint's policy admits only the allow-listed models, with the
    landing zone guardrail, for principals of this account (or organisation).

    Publishes the network contract in SSM (``network_parameter_names``): the VPC id, its
    private subnet ids and their availability zones (StringList, same order), the endpoint
    client security group id. ``PrivateNetwork.from_ssm_parameters`` reads them back.

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
        self._publish_contract(config.name)

    def _publish_contract(self, env_name: str) -> None:
        names = network_parameter_names(env_name)
        vpc = self.network.vpc
        subnets = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        what = f"Bedrock landing zone ({env_name})"
        ssm.StringParameter(
            self,
            "VpcIdParameter",
            parameter_name=names["vpc_id"],
            string_value=vpc.vpc_id,
            description=f"{what}: VPC id",
        )
        ssm.StringListParameter(
            self,
            "PrivateSubnetIdsParameter",
            parameter_name=names["private_subnet_ids"],
            string_list_value=subnets.subnet_ids,
            description=f"{what}: private subnet ids, in the order of availability-zones",
        )
        ssm.StringListParameter(
            self,
            "AvailabilityZonesParameter",
            parameter_name=names["availability_zones"],
            string_list_value=[subnet.availability_zone for subnet in subnets.subnets],
            description=f"{what}: availability zones of the private subnets, in their order",
        )
        ssm.StringParameter(
            self,
            "ClientSecurityGroupIdParameter",
            parameter_name=names["client_security_group_id"],
            string_value=self.network.client_security_group.security_group_id,
            description=f"{what}: security group of the VPC endpoints' clients (HTTPS to them)",
        )

    @property
    def availability_zones(self) -> list[str]:
        """The configured zones when there are any: ``ec2.Vpc`` asks the stack for its zones
        even when given them, and for a stack with an account CDK would look them up (a
        context provider call that needs credentials at synth)."""
        return self._zones or super().availability_zones
