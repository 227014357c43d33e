"""Private network for inference: a VPC without internet paths, and the endpoints it needs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from bedrock_landing_zone.base.log_groups import retained_log_group
from bedrock_landing_zone.base.roles import ManagedPolicyRole
from bedrock_landing_zone.compliance import acknowledge_deploy_time_function
from bedrock_landing_zone.config import NetworkConfig
from bedrock_landing_zone.governance.teams import shared_parameter_names

__all__ = ["ENDPOINT_ACTIONS", "NetworkReference", "PrivateNetwork", "network_parameter_names"]

#: Actions each interface endpoint's policy admits (the service prefix behind the endpoint).
ENDPOINT_ACTIONS: dict[str, list[str]] = {
    "bedrock-runtime": ["bedrock:*"],
    "bedrock": ["bedrock:*"],
    "bedrock-agent-runtime": ["bedrock:*"],
    "logs": ["logs:*"],
    "monitoring": ["cloudwatch:*"],
    "kms": ["kms:*"],
    "sts": ["sts:*"],
    "ssm": ["ssm:*"],
    "lambda": ["lambda:*"],
    "execute-api": ["execute-api:Invoke"],
}


def network_parameter_names(env_name: str) -> dict[str, str]:
    """SSM parameters the network stack publishes for other teams' apps (a public contract).

    ``private_subnet_ids`` and ``availability_zones`` are ``StringList`` parameters in the same
    order (one private subnet per zone for a new VPC; the configured lists for an existing one).
    """
    prefix = f"/bedrock-lz/{env_name}/network"
    return {
        "vpc_id": f"{prefix}/vpc-id",
        "private_subnet_ids": f"{prefix}/private-subnet-ids",
        "availability_zones": f"{prefix}/availability-zones",
        "client_security_group_id": f"{prefix}/client-security-group-id",
    }


@dataclass(frozen=True)
class NetworkReference:
    """What another team's app needs to run inside the landing zone's network.

    Attributes:
        vpc: the landing zone VPC (imported: no resources, no lookups).
        subnets: its private subnets, for ``vpc_subnets=``.
        client_security_group: the endpoint client group (HTTPS to the VPC endpoints only);
            attach it to a function that calls Bedrock (``security_groups=[...]``). Imported
            immutable: rules are the landing zone's to change.
        key: the landing zone KMS key (``/bedrock-lz/<env>/kms-key-arn``).
    """

    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    client_security_group: ec2.ISecurityGroup
    key: kms.IKey


class PrivateNetwork(Construct):
    """A VPC (new or existing) with interface endpoints, so that no call leaves the AWS network.

    New VPC: private isolated subnets only (no NAT gateway, no internet gateway), 2 AZs by
    default, flow logs (all traffic) to a log group encrypted with ``key``, default security group
    stripped of all rules. Existing VPC: imported by ids, no lookups at synth.

    Each interface endpoint has private DNS, its own security group admitting TCP 443 only from
    ``client_security_group``, and a policy admitting only principals of this account (or of the
    organisation when ``organization_id`` is given); ``endpoint_statements`` replaces that policy
    for a service (the governance layer narrows ``bedrock-runtime`` to the model allow-list).
    An S3 gateway endpoint is always added; its policy admits only this account's buckets.

    Attributes:
        vpc: the VPC.
        client_security_group: attach it to anything that calls the endpoints.
        endpoints: interface endpoints by service name (e.g. ``endpoints["bedrock-runtime"]``).
        flow_log_group: the flow log group (``None`` for an existing VPC: its owner logs it).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: NetworkConfig,
        key: kms.IKey,
        organization_id: str | None = None,
        endpoint_statements: Mapping[str, Sequence[iam.PolicyStatement]] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._organization_id = organization_id
        self.flow_log_group: logs.LogGroup | None = None

        if config.vpc.new is not None:
            new = config.vpc.new
            vpc = ec2.Vpc(
                self,
                "Vpc",
                ip_addresses=ec2.IpAddresses.cidr(new.cidr),
                # named zones (the Vpc takes these or max_azs): the config requires them with an
                # account or 3 AZs; an app with an account answers the CDK's zone lookup from
                # them (config.availability_zone_context), so synth needs no credentials
                availability_zones=list(new.availability_zones) if new.availability_zones else None,
                max_azs=None if new.availability_zones else new.max_azs,
                nat_gateways=0,
                create_internet_gateway=False,
                restrict_default_security_group=True,
                subnet_configuration=[
                    ec2.SubnetConfiguration(
                        name="Private",
                        subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
                        cidr_mask=new.subnet_prefix_length,
                    )
                ],
            )
            self.flow_log_group = retained_log_group(
                self, "FlowLogs", key=key, days=config.flow_log_retention_days
            )
            flow_log_role = ManagedPolicyRole(
                self,
                "FlowLogRole",
                assumed_by=iam.ServicePrincipal(
                    "vpc-flow-logs.amazonaws.com",
                    conditions={
                        "StringEquals": {"aws:SourceAccount": cdk.Stack.of(self).account},
                    },
                ),
                description="VPC flow logs delivery to the landing zone's flow log group",
            )
            vpc.add_flow_log(
                "FlowLog",
                destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                    self.flow_log_group, flow_log_role
                ),
                traffic_type=ec2.FlowLogTrafficType.ALL,
            )
            self.vpc: ec2.IVpc = vpc
            _annotate_restrict_default_sg_provider(cdk.Stack.of(self))
        else:
            existing = config.vpc.existing
            assert existing is not None
            self.vpc = ec2.Vpc.from_vpc_attributes(
                self,
                "Vpc",
                vpc_id=existing.vpc_id,
                vpc_cidr_block=existing.cidr,
                availability_zones=list(existing.availability_zones),
                isolated_subnet_ids=list(existing.private_subnet_ids),
                isolated_subnet_route_table_ids=list(existing.private_route_table_ids),
            )

        self.subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self.client_security_group = ec2.SecurityGroup(
            self,
            "ClientSecurityGroup",
            vpc=self.vpc,
            description="Callers of the landing zone VPC endpoints (HTTPS out to them only)",
            allow_all_outbound=False,
        )

        self.s3_endpoint = ec2.GatewayVpcEndpoint(
            self,
            "S3Endpoint",
            vpc=self.vpc,
            service=ec2.GatewayVpcEndpointAwsService.S3,
            subnets=[self.subnets],
        )
        # A data perimeter: principals of the landing zone may reach only buckets owned by this
        # account through the gateway (aws:ResourceAccount; IAM User Guide, "AWS global
        # condition context keys", and the VPC endpoint policy examples for Amazon S3). Nothing
        # in the VPC needs an AWS-owned bucket: functions get their code from Lambda, not from
        # S3 in the VPC, and every AWS API is reached through its own interface endpoint.
        s3 = self.principal_statement(["s3:*"])
        s3.add_condition("StringEquals", {"aws:ResourceAccount": cdk.Stack.of(self).account})
        self.s3_endpoint.add_to_policy(s3)

        self.endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        for service in config.interface_endpoints:
            endpoint = self._interface_endpoint(service)
            statements = (endpoint_statements or {}).get(service) or [
                self.principal_statement(ENDPOINT_ACTIONS[service])
            ]
            for statement in statements:
                endpoint.add_to_policy(statement)
            self.endpoints[service] = endpoint

    @staticmethod
    def from_ssm_parameters(
        scope: Construct,
        env_name: str,
        *,
        construct_id: str = "LandingZoneNetwork",
        zones: int = 2,
        availability_zones: bool = False,
    ) -> NetworkReference:
        """Join another app's stack to the landing zone network of environment ``env_name``.

        Reads the network stack's SSM parameters (``network_parameter_names``) and the key's
        (``/bedrock-lz/<env>/kms-key-arn``) as CloudFormation parameters of SSM parameter types
        (``AWS::SSM::Parameter::Value<AWS::EC2::VPC::Id>``, ``...<List<AWS::EC2::Subnet::Id>>``
        and so on; CloudFormation User Guide, "Systems Manager parameter types"): resolved at
        deploy time, validated by CloudFormation against the account, no lookup and no
        credentials at synth.

        ``zones`` is how many availability zones, and private subnets (one per zone, in the
        published order), to use: the landing zone's ``network.vpc.new.max_azs`` (default 2).
        CDK must know a list's length at synth (``ec2.Vpc.from_vpc_attributes`` with
        deploy-time lists, CDK API reference "VpcAttributes"), so the lists are read element by
        element (``Fn::Select``). A larger number than the environment has fails the deployment
        ("Fn::Select cannot select nonexistent value"); a smaller one uses the first zones only.
        Imports go under a construct ``construct_id`` of ``scope``.

        ``availability_zones``: also read the zones' names (each subnet's
        ``availability_zone``). Off by default: a function or an endpoint placed in the subnets
        needs the subnet ids only, and an unread parameter is dead weight (cfn-lint W2001,
        "Parameter not used"). Code that asks for a zone's name without it fails synth with a
        message that names this switch.
        """
        if not 1 <= zones <= 6:
            raise ValueError(f"zones={zones}: give the number of zones of the VPC (1-6)")
        names = network_parameter_names(env_name)
        holder = Construct(scope, construct_id)
        value_type = ssm.ParameterValueType

        def listed(name: str, element: ssm.ParameterValueType) -> list[str]:
            values = ssm.StringListParameter.value_for_typed_list_parameter(scope, name, element)
            return [cdk.Fn.select(index, values) for index in range(zones)]

        vpc = ec2.Vpc.from_vpc_attributes(
            holder,
            "Vpc",
            vpc_id=ssm.StringParameter.value_for_typed_string_parameter_v2(
                scope, names["vpc_id"], value_type.AWS_EC2_VPC_ID
            ),
            availability_zones=(
                listed(names["availability_zones"], value_type.AWS_EC2_AVAILABILITYZONE_NAME)
                if availability_zones
                else [_zone_not_imported(construct_id, index) for index in range(zones)]
            ),
            isolated_subnet_ids=listed(names["private_subnet_ids"], value_type.AWS_EC2_SUBNET_ID),
        )
        client_security_group = ec2.SecurityGroup.from_security_group_id(
            holder,
            "ClientSecurityGroup",
            ssm.StringParameter.value_for_typed_string_parameter_v2(
                scope, names["client_security_group_id"], value_type.AWS_EC2_SECURITYGROUP_ID
            ),
            mutable=False,
            allow_all_outbound=False,
        )
        key = kms.Key.from_key_arn(
            holder,
            "Key",
            ssm.StringParameter.value_for_string_parameter(
                scope, shared_parameter_names(env_name)["key_arn"]
            ),
        )
        return NetworkReference(
            vpc=vpc,
            subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            client_security_group=client_security_group,
            key=key,
        )

    @property
    def principal_condition(self) -> dict[str, dict[str, str]]:
        """The condition that admits this landing zone's principals (account or organisation)."""
        if self._organization_id:
            return {"StringEquals": {"aws:PrincipalOrgID": self._organization_id}}
        return {"StringEquals": {"aws:PrincipalAccount": cdk.Stack.of(self).account}}

    def principal_statement(
        self, actions: Sequence[str], resources: Sequence[str] = ("*",)
    ) -> iam.PolicyStatement:
        return iam.PolicyStatement(
            principals=[iam.AnyPrincipal()],
            actions=list(actions),
            resources=list(resources),
            conditions=self.principal_condition,
        )

    def _interface_endpoint(self, service: str) -> ec2.InterfaceVpcEndpoint:
        construct_id = "".join(part.capitalize() for part in service.split("-"))
        security_group = ec2.SecurityGroup(
            self,
            f"{construct_id}EndpointSecurityGroup",
            vpc=self.vpc,
            description=f"{service} interface endpoint: HTTPS from the client security group only",
            allow_all_outbound=False,
        )
        security_group.add_ingress_rule(
            self.client_security_group, ec2.Port.tcp(443), "HTTPS from landing zone clients"
        )
        self.client_security_group.add_egress_rule(
            security_group, ec2.Port.tcp(443), f"HTTPS to the {service} endpoint"
        )
        endpoint = ec2.InterfaceVpcEndpoint(
            self,
            f"{construct_id}Endpoint",
            vpc=self.vpc,
            service=ec2.InterfaceVpcEndpointAwsService(service),
            private_dns_enabled=True,
            open=False,
            security_groups=[security_group],
            subnets=self.subnets,
        )
        return endpoint


_PROVIDER_ID = "Custom::VpcRestrictDefaultSGCustomResourceProvider"


@jsii.implements(cdk.IStableStringProducer)
class _ZoneNotImported:
    """A zone name that fails synth, naming the fix, if anything puts it in a template."""

    def __init__(self, construct_id: str, index: int) -> None:
        self._message = (
            f"{construct_id}: the name of availability zone {index} is not imported: pass "
            "availability_zones=True to PrivateNetwork.from_ssm_parameters"
        )

    def produce(self) -> str | None:
        raise ValueError(self._message)


def _zone_not_imported(construct_id: str, index: int) -> str:
    return cdk.Lazy.string(_ZoneNotImported(construct_id, index))


def _annotate_restrict_default_sg_provider(stack: cdk.Stack) -> None:
    """Record why the deploy-time findings on CDK's default-SG provider Lambda are accepted."""
    provider = stack.node.try_find_child(_PROVIDER_ID)
    if provider is None:
        return
    handler = provider.node.find_child("Handler")
    assert isinstance(handler, cdk.CfnResource)
    acknowledge_deploy_time_function(
        handler, purpose="it revokes the rules of the new VPC's default security group"
    )
