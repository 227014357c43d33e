"""Network stack: private-only VPC, minimal endpoints, locked-down security groups and policies."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Match, Template

from bedrock_landing_zone.network.private_network import NetworkReference, PrivateNetwork
from tests.conftest import Synth, Synths


def _resources(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def test_new_vpc_has_no_internet_path(default: Synth) -> None:
    template = default.template(default.stacks.network)
    template.resource_count_is("AWS::EC2::VPC", 1)
    template.resource_count_is("AWS::EC2::InternetGateway", 0)
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    template.resource_count_is("AWS::EC2::EIP", 0)
    template.resource_count_is("AWS::EC2::Subnet", 2)  # 2 AZs by default, private only
    template.all_resources_properties("AWS::EC2::Subnet", {"MapPublicIpOnLaunch": False})
    routes = _resources(default.template_json(default.stacks.network), "AWS::EC2::Route")
    assert routes == {}, "isolated subnets need no routes besides local (and S3 prefix list)"


def test_new_vpc_cidr_and_az_count_follow_config(default: Synth) -> None:
    template = default.template(default.stacks.network)
    template.has_resource_properties(
        "AWS::EC2::VPC", {"CidrBlock": default.config.network.vpc.cidr}
    )
    subnets = _resources(default.template_json(default.stacks.network), "AWS::EC2::Subnet")
    assert len(subnets) == default.config.network.vpc.new.max_azs  # type: ignore[union-attr]


def test_flow_logs_capture_all_traffic_to_encrypted_retained_group(default: Synth) -> None:
    template = default.template(default.stacks.network)
    template.has_resource_properties(
        "AWS::EC2::FlowLog",
        {"ResourceType": "VPC", "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"},
    )
    template.has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": {
                "KmsKeyId": Match.any_value(),
                "RetentionInDays": default.config.network.flow_log_retention_days,
            },
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )


def test_flow_log_role_is_scoped_and_has_no_inline_policy(default: Synth) -> None:
    template = default.template_json(default.stacks.network)
    assert _resources(template, "AWS::IAM::Policy") == {}
    roles = _resources(template, "AWS::IAM::Role")
    flow_role = next(v for k, v in roles.items() if k.startswith("PrivateNetworkFlowLogRole"))
    statement = flow_role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert "aws:SourceAccount" in statement["Condition"]["StringEquals"]
    policies = _resources(template, "AWS::IAM::ManagedPolicy")
    (policy,) = [p for k, p in policies.items() if k.startswith("PrivateNetworkFlowLogRole")]
    (grant,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert grant["Resource"] != "*"
    assert set(grant["Action"]) == {
        "logs:CreateLogStream",
        "logs:DescribeLogStreams",
        "logs:PutLogEvents",
    }


def test_default_security_group_is_stripped(default: Synth) -> None:
    default.template(default.stacks.network).resource_count_is("Custom::VpcRestrictDefaultSG", 1)


def test_default_environment_creates_only_the_endpoints_it_uses(default: Synth) -> None:
    assert default.config.network.interface_endpoints == ["bedrock-runtime", "execute-api", "ssm"]
    template = default.template(default.stacks.network)
    template.resource_properties_count_is(
        "AWS::EC2::VPCEndpoint", {"VpcEndpointType": "Interface"}, 3
    )
    template.has_resource_properties(
        "AWS::EC2::VPCEndpoint",
        {
            "VpcEndpointType": "Interface",
            "ServiceName": "com.amazonaws.us-east-1.bedrock-runtime",
            "PrivateDnsEnabled": True,
        },
    )
    template.has_resource_properties("AWS::EC2::VPCEndpoint", {"VpcEndpointType": "Gateway"})


def test_endpoint_security_group_admits_https_from_client_group_only(default: Synth) -> None:
    template = default.template_json(default.stacks.network)
    groups = _resources(template, "AWS::EC2::SecurityGroup")
    for group in groups.values():
        assert "SecurityGroupIngress" not in group["Properties"], "no inline (CIDR) ingress"
        egress = group["Properties"].get("SecurityGroupEgress", [])
        # allow_all_outbound=False renders a single "disallow all" placeholder rule
        assert all(rule.get("CidrIp") == "255.255.255.255/32" for rule in egress)
    endpoints = len(default.config.network.interface_endpoints)
    ingress = list(_resources(template, "AWS::EC2::SecurityGroupIngress").values())
    assert len(ingress) == endpoints  # one rule per endpoint security group
    for item in ingress:
        rule = item["Properties"]
        assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 443, 443)
        source = rule["SourceSecurityGroupId"]["Fn::GetAtt"][0]
        assert source.startswith("PrivateNetworkClientSecurity")
    egress = list(_resources(template, "AWS::EC2::SecurityGroupEgress").values())
    ports = [(e["Properties"]["FromPort"], e["Properties"]["ToPort"]) for e in egress]
    assert ports == [(443, 443)] * endpoints


def test_endpoint_policies_admit_only_this_account(default: Synth) -> None:
    template = default.template_json(default.stacks.network)
    for endpoint in _resources(template, "AWS::EC2::VPCEndpoint").values():
        for statement in endpoint["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            assert statement["Principal"] == {"AWS": "*"}
            assert statement["Condition"]["StringEquals"]["aws:PrincipalAccount"] == {
                "Ref": "AWS::AccountId"
            }


def test_existing_vpc_is_imported_without_lookups(existing_vpc: Synth) -> None:
    template = existing_vpc.template(existing_vpc.stacks.network)
    template.resource_count_is("AWS::EC2::VPC", 0)
    template.resource_count_is("AWS::EC2::Subnet", 0)
    existing = existing_vpc.config.network.vpc.existing
    assert existing is not None
    template.has_resource_properties(
        "AWS::EC2::VPCEndpoint",
        {
            "VpcId": existing.vpc_id,
            "SubnetIds": list(existing.private_subnet_ids),
            "ServiceName": "com.amazonaws.eu-central-1.bedrock-runtime",
        },
    )
    template.has_resource_properties(
        "AWS::EC2::VPCEndpoint",
        {"VpcEndpointType": "Gateway", "RouteTableIds": list(existing.private_route_table_ids)},
    )
    manifest = json.loads((existing_vpc.outdir / "manifest.json").read_text(encoding="utf-8"))
    assert "missing" not in manifest, "synth must not need context lookups"


def test_existing_vpc_endpoints_follow_config_and_admit_the_organisation(
    existing_vpc: Synth,
) -> None:
    template = existing_vpc.template_json(existing_vpc.stacks.network)
    endpoints = _resources(template, "AWS::EC2::VPCEndpoint")
    services = sorted(
        e["Properties"]["ServiceName"].rsplit(".", 1)[-1]
        for e in endpoints.values()
        if e["Properties"]["VpcEndpointType"] == "Interface"
    )
    assert services == sorted(existing_vpc.config.network.interface_endpoints)
    for endpoint in endpoints.values():
        for statement in endpoint["Properties"]["PolicyDocument"]["Statement"]:
            assert (
                statement["Condition"]["StringEquals"]["aws:PrincipalOrgID"]
                == existing_vpc.config.organization_id
            )
    # each interface endpoint has its own security group
    groups = _resources(template, "AWS::EC2::SecurityGroup")
    assert len(groups) == len(services) + 1  # + the client security group


def test_s3_gateway_endpoint_is_a_data_perimeter(synths: Synths) -> None:
    """Through the gateway, landing zone principals reach only this account's buckets."""
    from tests.iam_eval.evaluator import Request, evaluate

    for synth in synths:
        template = synth.template_json(synth.stacks.network)
        (policy,) = [
            r["Properties"]["PolicyDocument"]
            for k, r in template["Resources"].items()
            if r["Type"] == "AWS::EC2::VPCEndpoint" and k.startswith("PrivateNetworkS3Endpoint")
        ]
        account = synth.config.account or "111122223333"
        document = json.loads(
            json.dumps(policy).replace('{"Ref": "AWS::AccountId"}', f'"{account}"')
        )
        principal = f"arn:aws:iam::{account}:role/app"
        org = (
            {"aws:PrincipalOrgID": synth.config.organization_id}
            if synth.config.organization_id
            else {}
        )
        mine = {"aws:PrincipalAccount": account, "aws:ResourceAccount": account, **org}
        theirs = {**mine, "aws:ResourceAccount": "999999999999"}
        get = "s3:GetObject"
        assert evaluate(
            Request(get, "arn:aws:s3:::b/k", mine, principal), [], resource_policy=document
        ).allowed
        assert not evaluate(
            Request(get, "arn:aws:s3:::b/k", theirs, principal), [], resource_policy=document
        ).allowed


def _joined(availability_zones: bool = False) -> tuple[cdk.App, cdk.Stack, NetworkReference]:
    app = cdk.App()
    stack = cdk.Stack(app, "Team", env=cdk.Environment(account="123456789012", region="us-east-1"))
    network = PrivateNetwork.from_ssm_parameters(
        stack, "prod", availability_zones=availability_zones
    )
    return app, stack, network


def _ssm_parameters(stack: cdk.Stack) -> set[str]:
    template = Template.from_stack(stack).to_json()
    return {p["Default"] for p in template.get("Parameters", {}).values() if "Default" in p}


def test_joining_the_network_reads_no_zone_names_unless_asked() -> None:
    """A function or endpoint in the subnets needs their ids only: no unread parameter
    (cfn-lint W2001), and the zones' names only with availability_zones=True."""
    _, stack, network = _joined()
    sg = ec2.SecurityGroup(stack, "Sg", vpc=network.vpc)
    selected = network.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
    cdk.CfnOutput(stack, "Subnets", value=cdk.Fn.join(",", selected.subnet_ids))
    cdk.CfnOutput(stack, "Sg2", value=sg.security_group_id)
    names = _ssm_parameters(stack)
    assert "/bedrock-lz/prod/network/private-subnet-ids" in names
    assert "/bedrock-lz/prod/network/availability-zones" not in names

    _, stack, network = _joined(availability_zones=True)
    first = network.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnets[0]
    cdk.CfnOutput(stack, "Zone", value=first.availability_zone)
    assert "/bedrock-lz/prod/network/availability-zones" in _ssm_parameters(stack)


def test_a_zone_name_not_imported_fails_synth_naming_the_switch() -> None:
    app, stack, network = _joined()
    first = network.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnets[0]
    cdk.CfnOutput(stack, "Zone", value=first.availability_zone)
    with pytest.raises(Exception, match="pass availability_zones=True"):
        app.synth()
