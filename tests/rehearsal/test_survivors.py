"""The survivor check: what ``cdk destroy`` leaves in moto, and whether the templates meant it.

Pure parts on hand-written answers (a fake moto); the claims about moto itself (what it deletes,
what it creates anew, what the probes see) against moto's in-process mock, so they fail the day
moto changes.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from rehearsal.survivors import (
    INVENTORY,
    MOTO_DELETE_GAPS,
    SURVIVOR_PROBES,
    Deployed,
    Found,
    check_survivors,
    deployed_from,
    inventory,
    merge_deployed,
    missing_probes,
    owners_of,
    recreated_on_describe,
)

REGION = "us-east-1"


def role(lid: str = "Role", policy: str = "Delete", physical: str = "s-Role-ABC") -> Deployed:
    return Deployed("s", lid, "AWS::IAM::Role", physical, policy)


def answers(alive: set[str]) -> Callable[[Deployed], bool]:
    """A fake moto: the resources whose physical IDs are in ``alive`` still exist."""
    return lambda r: r.physical_id in alive


# --- the verdict on hand-written answers ------------------------------------------------------


def test_an_unexpected_survivor_fails_naming_stack_logical_id_type_and_physical_id() -> None:
    report = check_survivors(
        [role(), role("Other", physical="s-Other-XYZ")], answers({"s-Role-ABC"})
    )
    assert [r.logical_id for r in report.unexpected] == ["Role"]
    assert [r.logical_id for r in report.gone] == ["Other"]
    (problem,) = report.problems()
    assert "unexpected survivor: s Role (AWS::IAM::Role s-Role-ABC)" in problem
    assert "DeletionPolicy Delete" in problem
    assert "1 unexpected survivors" in report.summary()


@pytest.mark.parametrize("policy", ["Retain", "RetainExceptOnCreate"])
def test_a_survivor_the_template_retains_passes(policy: str) -> None:
    report = check_survivors([role(policy=policy)], answers({"s-Role-ABC"}))
    assert report.problems() == []
    assert [r.logical_id for r in report.retained] == ["Role"]
    assert report.checked == 1


def test_a_retained_resource_that_is_gone_fails() -> None:
    report = check_survivors([role(policy="Retain")], answers(set()))
    assert report.problems() == [
        "retained resource lost: s Role (AWS::IAM::Role s-Role-ABC): DeletionPolicy Retain"
    ]


def test_everything_gone_passes() -> None:
    report = check_survivors([role(), role("Other", physical="x")], answers(set()))
    assert report.problems() == []
    assert len(report.gone) == 2


TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"Role": {"Fn::GetAtt": ["Role", "Arn"]}},
        },
        "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
        "Lone": {"Type": "AWS::IAM::Role", "Properties": {}},
        "Logs": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain"},
        "Stand": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
    },
    "Outputs": {
        "FnName": {"Value": {"Ref": "Fn"}},
        "LogsName": {"Value": {"Ref": "Logs"}},
        "StandId": {"Value": {"Fn::Sub": "${Stand}-x"}},
    },
}


def test_moto_recreating_an_output_resource_is_reported_not_failed() -> None:
    deployed = [
        Deployed("s", "Fn", "AWS::Lambda::Function", "s-Fn-OLD"),
        Deployed("s", "Role", "AWS::IAM::Role", "s-Role-OLD"),
    ]
    leftovers = [
        Found("AWS::Lambda::Function", "s-Fn-NEW"),
        Found("AWS::IAM::Role", "s-Role-NEW"),
    ]
    report = check_survivors(
        deployed, answers(set()), templates={"s": TEMPLATE}, leftovers=leftovers
    )
    assert report.problems() == []
    assert [(f.physical_id, stack, lid) for f, stack, lid in report.recreated] == [
        ("s-Fn-NEW", "s", "Fn"),
        ("s-Role-NEW", "s", "Role"),
    ]
    assert report.examined == 2


def test_a_new_resource_no_output_explains_fails() -> None:
    deployed = [Deployed("s", "Lone", "AWS::IAM::Role", "s-Lone-OLD")]
    report = check_survivors(
        deployed,
        answers(set()),
        templates={"s": TEMPLATE},
        leftovers=[Found("AWS::IAM::Role", "s-Lone-NEW")],
    )
    (problem,) = report.problems()
    assert problem.startswith("unexpected survivor: s Lone (AWS::IAM::Role s-Lone-NEW)")


def test_a_recreated_resource_whose_original_survived_is_not_explained_away() -> None:
    deployed = [Deployed("s", "Role", "AWS::IAM::Role", "s-Role-OLD")]
    report = check_survivors(
        deployed,
        answers({"s-Role-OLD"}),
        templates={"s": TEMPLATE},
        leftovers=[Found("AWS::IAM::Role", "s-Role-NEW")],
    )
    assert len(report.problems()) == 2  # the original outlived its stack, and the new one
    assert report.recreated == []


def test_a_new_resource_of_no_stack_fails() -> None:
    report = check_survivors(
        [], answers(set()), templates={"s": TEMPLATE}, leftovers=[Found("AWS::S3::Bucket", "b")]
    )
    (problem,) = report.problems()
    assert "(AWS::S3::Bucket b)" in problem
    assert "no resource of the templates" in problem


def test_a_leftover_with_a_known_physical_id_is_judged_once() -> None:
    report = check_survivors(
        [role()], answers({"s-Role-ABC"}), leftovers=[Found("AWS::IAM::Role", "s-Role-ABC")]
    )
    assert len(report.problems()) == 1
    assert report.examined == 0


# --- attribution and moto's re-creation set ---------------------------------------------------


def test_recreated_on_describe_follows_outputs_then_properties() -> None:
    # Fn (output) -> Role (its property); Logs is retained (never deleted); Stand is nothing
    assert recreated_on_describe(TEMPLATE) == {"Fn", "Role"}


def test_owners_by_generated_name_name_tag_and_service_name() -> None:
    templates: dict[str, dict[str, Any]] = {
        "stack-a": {
            "Resources": {
                "RoleAB12": {"Type": "AWS::IAM::Role"},
                "BucketCD34": {"Type": "AWS::S3::Bucket"},
                "Vpc": {
                    "Type": "AWS::EC2::VPC",
                    "Properties": {"Tags": [{"Key": "Name", "Value": "A/Vpc"}]},
                },
                "Ep": {
                    "Type": "AWS::EC2::VPCEndpoint",
                    "Properties": {
                        "ServiceName": {
                            "Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".ssm"]]
                        }
                    },
                },
            }
        },
        "stack-b": {"Resources": {"RoleAB12": {"Type": "AWS::IAM::Role"}}},
    }
    pseudo = {"AWS::Region": REGION}

    def owners(found: Found) -> list[tuple[str, str]]:
        return owners_of(found, templates, pseudo)

    assert owners(Found("AWS::IAM::Role", "stack-b-RoleAB12-XYZ")) == [("stack-b", "RoleAB12")]
    assert owners(Found("AWS::S3::Bucket", "stack-bucketcd34-xyz")) == [("stack-a", "BucketCD34")]
    assert owners(Found("AWS::EC2::VPC", "vpc-1", details=(("tag:Name", "A/Vpc"),))) == [
        ("stack-a", "Vpc")
    ]
    endpoint = Found(
        "AWS::EC2::VPCEndpoint", "vpce-1", details=(("ServiceName", "com.amazonaws.us-east-1.ssm"),)
    )
    assert owners(endpoint) == [("stack-a", "Ep")]
    assert owners(Found("AWS::IAM::Role", "someone-else")) == []


# --- snapshots ----------------------------------------------------------------------------------


def test_deployed_from_resolves_references_and_skips_stand_ins() -> None:
    template = {
        "Resources": {
            "Api": {"Type": "AWS::ApiGateway::RestApi"},
            "Method": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "HttpMethod": "POST",
                    "ResourceId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                    "Vpc": {"Fn::ImportValue": "net:Vpc"},
                    "Other": {"Fn::Join": ["", ["a", "b"]]},
                },
            },
            "Stand": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
            "Skipped": {"Type": "AWS::SNS::Topic"},
        }
    }
    out = deployed_from(
        "s", template, {"Api": "api1", "Method": "", "Stand": "x"}, {"net:Vpc": "vpc-1"}
    )
    assert [r.logical_id for r in out] == ["Api", "Method"]
    method = out[1]
    assert method.physical_id == ""
    assert "no physical ID in moto" in method.label()
    assert dict(method.properties) == {
        "RestApiId": "api1",
        "HttpMethod": "POST",
        "ResourceId": "api1",
        "Vpc": "vpc-1",
        "Other": None,
    }


def test_merge_keeps_a_replaced_resource_under_both_physical_ids() -> None:
    merged = merge_deployed([role(physical="old")], [role(physical="new"), role("X", physical="x")])
    assert sorted(r.physical_id for r in merged) == ["new", "old", "x"]


def test_a_type_without_a_probe_is_named() -> None:
    deployed = [Deployed("s", "Q", "AWS::SQS::Queue", "q"), role()]
    assert missing_probes(deployed) == ["AWS::SQS::Queue (e.g. s Q)"]


# --- the probes on a fake moto -------------------------------------------------------------------


class FakeClient:
    """Answers one action with a value, or raises a ClientError with a code."""

    def __init__(self, action: str, answer: Any = None, code: str = "") -> None:
        self.action, self.answer, self.code = action, answer, code

    def __getattr__(self, name: str) -> Any:
        assert name == self.action, name

        def call(**_: Any) -> Any:
            if self.code:
                raise ClientError({"Error": {"Code": self.code, "Message": "x"}}, name)
            return self.answer

        return call


def key(state: str = "", code: str = "") -> bool:
    client = FakeClient("describe_key", {"KeyMetadata": {"KeyState": state}}, code)
    return SURVIVOR_PROBES["AWS::KMS::Key"](
        lambda _: client, Deployed("s", "K", "AWS::KMS::Key", "k")
    )


def test_a_key_pending_deletion_counts_as_gone() -> None:
    assert key("Enabled") is True
    assert key("PendingDeletion") is False
    assert key(code="NotFoundException") is False


def test_an_error_other_than_not_found_is_not_taken_for_gone() -> None:
    with pytest.raises(ClientError):
        key(code="AccessDeniedException")


def test_an_endpoint_in_state_deleted_counts_as_gone() -> None:
    probe = SURVIVOR_PROBES["AWS::EC2::VPCEndpoint"]
    endpoint = Deployed("s", "E", "AWS::EC2::VPCEndpoint", "vpce-1")
    for state, alive in (("available", True), ("deleted", False)):
        client = FakeClient("describe_vpc_endpoints", {"VpcEndpoints": [{"State": state}]})
        assert probe(lambda _, c=client: c, endpoint) is alive  # type: ignore[misc]


def test_a_probe_that_needs_a_physical_id_refuses_an_empty_one() -> None:
    client = FakeClient("get_role", {})
    with pytest.raises(ValueError, match="no physical ID"):
        SURVIVOR_PROBES["AWS::IAM::Role"](lambda _: client, role(physical=""))


# --- the claims about moto itself, against moto ---------------------------------------------


@pytest.fixture
def moto(moto_session: boto3.session.Session) -> Iterator[Callable[[str], Any]]:
    with warnings.catch_warnings(), mock_aws():
        warnings.simplefilter("ignore")
        clients: dict[str, Any] = {}

        def client(service: str) -> Any:
            # one client per service (setdefault would create a new one at every call, ~20 ms)
            if service not in clients:
                clients[service] = moto_session.client(service)  # type: ignore[call-overload]
            return clients[service]

        yield client


def deploy(
    moto: Callable[[str], Any], name: str, template: dict[str, Any]
) -> tuple[str, list[Deployed]]:
    cloudformation = moto("cloudformation")
    stack_id = cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))[
        "StackId"
    ]
    summaries = cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]
    ids = {s["LogicalResourceId"]: s.get("PhysicalResourceId", "") for s in summaries}
    return str(stack_id), deployed_from(name, template, ids, {})


PROBED: dict[str, Any] = {
    "Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.9.0.0/16"}},
        "Subnet": {
            "Type": "AWS::EC2::Subnet",
            "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.9.0.0/24"},
        },
        "Group": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {"GroupDescription": "g", "VpcId": {"Ref": "Vpc"}},
        },
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}},
        },
        "Parameter": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {"Name": "/probe/p", "Type": "String", "Value": "v"},
        },
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "probe-logs"}},
        "Bucket": {"Type": "AWS::S3::Bucket"},
        "Kept": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
        "Topic": {"Type": "AWS::SNS::Topic"},
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": "{}"}},
        "Rule": {
            "Type": "AWS::EC2::SecurityGroupIngress",
            "Properties": {
                "GroupId": {"Fn::GetAtt": ["Group", "GroupId"]},
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "CidrIp": "10.9.0.0/16",
            },
        },
        "Function": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Code": {"ZipFile": "def handler(event, context):\n    return 1\n"},
                "Handler": "index.handler",
                "Runtime": "python3.12",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            },
        },
        "Permission": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "FunctionName": {"Ref": "Function"},
                "Action": "lambda:InvokeFunction",
                "Principal": "apigateway.amazonaws.com",
            },
        },
    }
}
#: What moto 5.2.5 leaves of PROBED after a stack delete: MOTO_DELETE_GAPS or retained.
GAP_DEMO: dict[str, Any] = {
    "Resources": {
        "Vpc": {
            "Type": "AWS::EC2::VPC",
            "Properties": {"CidrBlock": "10.8.0.0/16"},
            "DeletionPolicy": "Retain",  # moto would not delete it with the route table left
        },
        "Table": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
        "Endpoint": {
            "Type": "AWS::EC2::VPCEndpoint",
            "Properties": {
                "VpcId": {"Ref": "Vpc"},
                "ServiceName": "com.amazonaws.us-east-1.s3",
                "RouteTableIds": [{"Ref": "Table"}],
            },
        },
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "gap-demo"}},
        "Path": {
            "Type": "AWS::ApiGateway::Resource",
            "Properties": {
                "RestApiId": {"Ref": "Api"},
                "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                "PathPart": "x",
            },
        },
        "Policy": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
                }
            },
        },
    }
}


def test_the_probes_agree_with_moto_before_and_after_a_stack_delete(moto: Any) -> None:
    before = inventory(moto)
    _, deployed = deploy(moto, "probed", PROBED)
    assert {r.logical_id for r in deployed} == set(PROBED["Resources"])
    for r in deployed:
        assert SURVIVOR_PROBES[r.resource_type](moto, r), f"{r.label()} should exist"
    new = {k for k in inventory(moto) if k not in before}
    assert {t for t, _ in new} == {r.resource_type for r in deployed} & set(INVENTORY)
    moto("cloudformation").delete_stack(StackName="probed")
    report = check_survivors(deployed, lambda r: SURVIVOR_PROBES[r.resource_type](moto, r))
    assert [r.logical_id for r in report.retained] == ["Kept"]
    assert report.problems() == []
    assert len(report.gone) == len(PROBED["Resources"]) - 1


def test_what_moto_leaves_is_what_the_delete_gaps_say_and_the_check_sees_it(moto: Any) -> None:
    _, deployed = deploy(moto, "gaps", GAP_DEMO)

    def exists(r: Deployed) -> bool:
        return SURVIVOR_PROBES[r.resource_type](moto, r)

    assert all(exists(r) for r in deployed)
    moto("cloudformation").delete_stack(StackName="gaps")
    report = check_survivors(deployed, exists)
    left = {r.resource_type for r in report.unexpected}
    # the gap types survive, and the API's resource with its API; the VPC is retained
    assert [r.logical_id for r in report.retained] == ["Vpc"]
    assert left == {
        "AWS::EC2::RouteTable",
        "AWS::EC2::VPCEndpoint",
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGateway::Resource",
        "AWS::IAM::ManagedPolicy",
    }
    assert left - {"AWS::ApiGateway::Resource"} <= set(MOTO_DELETE_GAPS)
    assert any(
        "unexpected survivor: gaps Endpoint (AWS::EC2::VPCEndpoint vpce-" in p
        for p in report.problems()
    )


def test_a_key_scheduled_for_deletion_in_moto_counts_as_gone(moto: Any) -> None:
    key_id = moto("kms").create_key()["KeyMetadata"]["KeyId"]
    deployed = Deployed("s", "Key", "AWS::KMS::Key", key_id)
    assert SURVIVOR_PROBES["AWS::KMS::Key"](moto, deployed)
    moto("kms").schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert not SURVIVOR_PROBES["AWS::KMS::Key"](moto, deployed)
    assert ("AWS::KMS::Key", key_id) not in inventory(moto)


def test_moto_recreates_what_a_deleted_stacks_outputs_reference(moto: Any) -> None:
    """MOTO_RECREATES: describing a deleted stack by ID creates its output resources anew."""
    template = {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}
                },
            },
            "Topic": {"Type": "AWS::SNS::Topic"},
        },
        "Outputs": {"RoleArn": {"Value": {"Fn::GetAtt": ["Role", "Arn"]}}},
    }
    before = inventory(moto)
    stack_id, deployed = deploy(moto, "s", template)
    moto("cloudformation").delete_stack(StackName="s")
    assert {k for k in inventory(moto) if k not in before} == set()
    moto("cloudformation").describe_stacks(StackName=stack_id)
    leftovers = [f for k, f in inventory(moto).items() if k not in before]
    assert [f.resource_type for f in leftovers] == ["AWS::IAM::Role"]
    assert recreated_on_describe(template) == {"Role"}
    report = check_survivors(
        deployed,
        lambda r: SURVIVOR_PROBES[r.resource_type](moto, r),
        templates={"s": template},
        leftovers=leftovers,
    )
    assert report.problems() == []
    assert [lid for _, _, lid in report.recreated] == ["Role"]


def moto_model(resource_type: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from moto.cloudformation.parsing import get_model_map

    return get_model_map()[resource_type]


@pytest.mark.parametrize("resource_type", sorted(MOTO_DELETE_GAPS))
def test_each_delete_gap_is_a_type_moto_really_cannot_delete(resource_type: str) -> None:
    model = moto_model(resource_type)
    assert not callable(getattr(model, "delete", None)), (
        f"moto deletes {resource_type}: drop its row"
    )
    assert hasattr(model.delete_from_cloudformation_json, "__isabstractmethod__"), (
        f"moto deletes {resource_type}: drop its row from MOTO_DELETE_GAPS"
    )


def test_every_inventory_type_has_a_probe() -> None:
    assert set(INVENTORY) <= set(SURVIVOR_PROBES)
