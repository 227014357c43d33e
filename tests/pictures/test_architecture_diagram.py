"""Architecture diagram: generated from a cloud assembly (manifest, templates, tree), no CDK."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from bedrock_landing_zone.pictures.architecture.cli import main
from bedrock_landing_zone.pictures.architecture.diagram import analyze
from bedrock_landing_zone.pictures.architecture.model import TIMES, Diagram, Flow
from bedrock_landing_zone.pictures.architecture.render import render_svg
from bedrock_landing_zone.pictures.assembly import (
    cdk_logical_id,
    environment_names,
    load_assembly,
)
from tests.conftest import Synths
from tests.pictures.svg_checks import Box, box_of, path_points, text_problems

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.svg"
SVG = "{http://www.w3.org/2000/svg}"
X = TIMES  # the multiplication sign of "2 x IAM::Role"

# --------------------------------------------------------------------------- fixtures

Res = tuple[str, str, dict[str, Any]]  # (type, construct path inside the stack, properties)


def ref(logical_id: str) -> dict[str, Any]:
    return {"Ref": logical_id}


def att(logical_id: str, attribute: str = "Arn") -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, attribute]}


def stack_output(stack_name: str, output: str) -> dict[str, Any]:
    return {
        "Fn::GetStackOutput": {"StackName": stack_name, "Region": "us-east-1", "OutputName": output}
    }


def _tree(stacks: list[dict[str, Any]]) -> dict[str, Any]:
    root: dict[str, Any] = {"id": "App", "path": "", "children": {}}
    for stack in stacks:
        node = root["children"].setdefault(
            stack["id"], {"id": stack["id"], "path": stack["id"], "children": {}}
        )
        for kind, path, _props in stack["resources"].values():
            current = node
            for part in path.split("/"):
                child_path = f"{current['path']}/{part}"
                current = current.setdefault("children", {}).setdefault(
                    part, {"id": part, "path": child_path}
                )
            current["attributes"] = {"aws:cdk:cloudformation:type": kind}
    return {"version": "tree-0.1", "tree": root}


def write_assembly(directory: Path, stacks: list[dict[str, Any]], *, metadata: bool = True) -> Path:
    """A cloud assembly as the CDK writes it: manifest, templates, metadata files, tree."""
    directory.mkdir(parents=True, exist_ok=True)
    artifacts: dict[str, Any] = {}
    for stack in stacks:
        sid = stack["id"]
        artifacts[f"{sid}.assets"] = {"type": "cdk:asset-manifest", "properties": {}}
        artifact: dict[str, Any] = {
            "type": "aws:cloudformation:stack",
            "environment": "aws://unknown-account/us-east-1",
            "properties": {"templateFile": f"{sid}.template.json", "stackName": stack["name"]},
            "dependencies": [*stack.get("deps", []), f"{sid}.assets"],
            "displayName": sid,
        }
        if metadata:
            artifact["additionalMetadataFile"] = f"{sid}.metadata.json"
            entries = {
                f"/{sid}/{path}": [{"type": "aws:cdk:logicalId", "data": logical_id}]
                for logical_id, (_kind, path, _props) in stack["resources"].items()
            }
            (directory / f"{sid}.metadata.json").write_text(json.dumps(entries), "utf-8")
        artifacts[sid] = artifact
        template = {
            "Resources": {
                logical_id: {"Type": kind, "Properties": props}
                for logical_id, (kind, _path, props) in stack["resources"].items()
            },
            "Outputs": stack.get("outputs", {}),
        }
        (directory / f"{sid}.template.json").write_text(json.dumps(template), "utf-8")
    artifacts["Tree"] = {"type": "cdk:tree", "properties": {"file": "tree.json"}}
    manifest = {"version": "55.0.0", "artifacts": artifacts}
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=1), "utf-8")
    (directory / "tree.json").write_text(json.dumps(_tree(stacks)), "utf-8")
    return directory


SERVICE_ROLE = {
    "AssumeRolePolicyDocument": {
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}]
    }
}
ACCOUNT_ROLE = {
    "AssumeRolePolicyDocument": {
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}}]
    }
}


def _allow(actions: list[str], resource: Any) -> dict[str, Any]:
    return {"Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]}


def _endpoint(service: str, group: str) -> dict[str, Any]:
    return {
        "ServiceName": {"Fn::Join": ["", ["com.amazonaws.", ref("AWS::Region"), f".{service}"]]},
        "VpcEndpointType": "Interface",
        "PrivateDnsEnabled": True,
        "SecurityGroupIds": [att(group, "GroupId")],
    }


def _ingress(group: str, source: str) -> dict[str, Any]:
    return {
        "GroupId": att(group, "GroupId"),
        "SourceSecurityGroupId": att(source, "GroupId"),
        "IpProtocol": "tcp",
        "FromPort": 443,
        "ToPort": 443,
    }


GOV: dict[str, Any] = {
    "id": "Governance",
    "name": "bedrock-lz-test-governance",
    "resources": {
        "Key": ("AWS::KMS::Key", "LandingZoneKey/Key/Resource", {"EnableKeyRotation": True}),
        "KeyAlias": ("AWS::KMS::Alias", "LandingZoneKey/Key/Alias/Resource", {}),
        "Guardrail": (
            "AWS::Bedrock::Guardrail",
            "Guardrail/Guardrail",
            {"ContentPolicyConfig": {}, "KmsKeyArn": att("Key")},
        ),
        "GuardrailVersion": ("AWS::Bedrock::GuardrailVersion", "Guardrail/Version1", {}),
        "TeamAPolicy": (
            "AWS::IAM::ManagedPolicy",
            "ModelAccess/TeamAModelAccess/Resource",
            {"PolicyDocument": _allow(["bedrock:InvokeModel"], "arn:aws:bedrock:*")},
        ),
        "Boundary": ("AWS::IAM::ManagedPolicy", "ModelAccess/TeamBoundary/Resource", {}),
        "TeamARole": (
            "AWS::IAM::Role",
            "Teams/TeamARole/Resource",
            {**ACCOUNT_ROLE, "ManagedPolicyArns": [ref("TeamAPolicy")]},
        ),
        "TeamBRole": ("AWS::IAM::Role", "Teams/TeamBRole/Resource", ACCOUNT_ROLE),
        "TeamARoleArn": ("AWS::SSM::Parameter", "Teams/TeamARoleArnParameter/Resource", {}),
        "KeyArnParameter": ("AWS::SSM::Parameter", "KeyArnParameter/Resource", {}),
        "SingletonFn": (
            "AWS::Lambda::Function",
            "AWS679f53fac002430cb0da5b7982bd2287/Resource",
            {},
        ),
    },
    "outputs": {
        "GuardrailArn": {"Value": att("Guardrail", "GuardrailArn")},
        "TeamARole": {"Value": ref("TeamARole"), "Export": {"Name": "gov-team-a-role"}},
    },
}

NET: dict[str, Any] = {
    "id": "Network",
    "name": "bedrock-lz-test-network",
    "deps": ["Governance"],
    "resources": {
        "Vpc": ("AWS::EC2::VPC", "PrivateNetwork/Vpc/Resource", {"CidrBlock": "10.0.0.0/22"}),
        "Subnet1": (
            "AWS::EC2::Subnet",
            "PrivateNetwork/Vpc/PrivateSubnet1/Subnet",
            {"VpcId": ref("Vpc")},
        ),
        "Subnet2": (
            "AWS::EC2::Subnet",
            "PrivateNetwork/Vpc/PrivateSubnet2/Subnet",
            {"VpcId": ref("Vpc")},
        ),
        "FlowLog": (
            "AWS::EC2::FlowLog",
            "PrivateNetwork/Vpc/FlowLog/FlowLog",
            {"LogGroupName": ref("FlowLogs"), "ResourceId": ref("Vpc")},
        ),
        "FlowLogs": (
            "AWS::Logs::LogGroup",
            "PrivateNetwork/FlowLogs/Resource",
            {"RetentionInDays": 365},
        ),
        "ClientSg": ("AWS::EC2::SecurityGroup", "PrivateNetwork/ClientSecurityGroup/Resource", {}),
        "RuntimeSg": (
            "AWS::EC2::SecurityGroup",
            "PrivateNetwork/BedrockRuntimeEndpointSecurityGroup/Resource",
            {},
        ),
        "RuntimeIngress": (
            "AWS::EC2::SecurityGroupIngress",
            "PrivateNetwork/BedrockRuntimeEndpointSecurityGroup/from client:443",
            _ingress("RuntimeSg", "ClientSg"),
        ),
        "RuntimeEndpoint": (
            "AWS::EC2::VPCEndpoint",
            "PrivateNetwork/BedrockRuntimeEndpoint/Resource",
            _endpoint("bedrock-runtime", "RuntimeSg"),
        ),
        "ApiSg": (
            "AWS::EC2::SecurityGroup",
            "PrivateNetwork/ExecuteApiEndpointSecurityGroup/Resource",
            {"SecurityGroupIngress": [_ingress("ApiSg", "ClientSg")]},
        ),
        "ApiEndpoint": (
            "AWS::EC2::VPCEndpoint",
            "PrivateNetwork/ExecuteApiEndpoint/Resource",
            _endpoint("execute-api", "ApiSg"),
        ),
    },
    "outputs": {
        "ClientSg": {"Value": att("ClientSg", "GroupId")},
        "ApiEndpoint": {"Value": ref("ApiEndpoint")},
    },
}

INF: dict[str, Any] = {
    "id": "Inference",
    "name": "bedrock-lz-test-inference",
    "deps": ["Network", "Governance"],
    "resources": {
        "FnRole": ("AWS::IAM::Role", "GuardedInference/Handler/Role/Resource", SERVICE_ROLE),
        "FnPermissions": (
            "AWS::IAM::ManagedPolicy",
            "GuardedInference/Handler/Role/Permissions/Resource",
            {
                "Roles": [ref("FnRole")],
                "PolicyDocument": _allow(["bedrock:InvokeModel", "bedrock:Converse"], "*"),
            },
        ),
        "FnLogs": ("AWS::Logs::LogGroup", "GuardedInference/Handler/Logs/Resource", {}),
        "Fn": (
            "AWS::Lambda::Function",
            "GuardedInference/Handler/Function/Resource",
            {
                "Role": att("FnRole"),
                "Runtime": "python3.14",
                "MemorySize": 512,
                "VpcConfig": {
                    "SecurityGroupIds": [stack_output("bedrock-lz-test-network", "ClientSg")]
                },
                "Environment": {
                    "Variables": {
                        "GUARDRAIL": stack_output("bedrock-lz-test-governance", "GuardrailArn")
                    }
                },
                "LoggingConfig": {"LogGroup": ref("FnLogs")},
            },
        ),
        "Api": (
            "AWS::ApiGateway::RestApi",
            "PrivateApi/Api/Resource",
            {
                "EndpointConfiguration": {
                    "Types": ["PRIVATE"],
                    "VpcEndpointIds": [stack_output("bedrock-lz-test-network", "ApiEndpoint")],
                }
            },
        ),
        "ApiMethod": (
            "AWS::ApiGateway::Method",
            "PrivateApi/Api/Default/v1/converse/POST/Resource",
            {
                "HttpMethod": "POST",
                "AuthorizationType": "AWS_IAM",
                "RestApiId": ref("Api"),
                "Integration": {
                    "Uri": {"Fn::Join": ["", ["arn:lambda:path/", att("Fn"), "/invocations"]]}
                },
            },
        ),
        "ApiPermission": (
            "AWS::Lambda::Permission",
            "PrivateApi/Api/Default/v1/converse/POST/ApiPermission",
            {"FunctionName": att("Fn")},
        ),
        "TeamApiAccess": (
            "AWS::IAM::ManagedPolicy",
            "TeamApiAccess/Resource",
            {
                "Roles": [{"Fn::ImportValue": "gov-team-a-role"}],
                "PolicyDocument": _allow(
                    ["execute-api:Invoke"],
                    {"Fn::Sub": "arn:aws:execute-api:us-east-1:1:${Api}/prod/POST/v1/converse"},
                ),
            },
        ),
    },
}

AUD: dict[str, Any] = {
    "id": "Audit",
    "name": "bedrock-lz-test-audit",
    "deps": ["Governance"],
    "resources": {
        "Bucket": ("AWS::S3::Bucket", "InvocationLogging/Bucket/Resource", {}),
        "BucketPolicy": ("AWS::S3::BucketPolicy", "InvocationLogging/Bucket/Policy/Resource", {}),
        "LogGroup": ("AWS::Logs::LogGroup", "InvocationLogging/LogGroup/Resource", {}),
        "Config": (
            "Custom::BedrockInvocationLogging",
            "InvocationLogging/Configuration/Resource/Default",
            {
                "ServiceToken": att("SingletonFn"),
                "Create": {
                    "Fn::Join": ["", ['{"log":"', ref("LogGroup"), '","s3":"', ref("Bucket")]]
                },
            },
        ),
        "Topic": ("AWS::SNS::Topic", "Alerts/Topic/Resource", {}),
        "Budget": (
            "AWS::Budgets::Budget",
            "Budgets/TeamABudget",
            {"NotificationsWithSubscribers": [{"Subscribers": [{"Address": ref("Topic")}]}]},
        ),
        "Errors": (
            "AWS::CloudWatch::Alarm",
            "Alarms/Errors/Resource",
            {"AlarmActions": [ref("Topic")]},
        ),
        "Throttles": (
            "AWS::CloudWatch::Alarm",
            "Alarms/Throttles/Resource",
            {"AlarmActions": [ref("Topic")]},
        ),
        "SingletonFn": (
            "AWS::Lambda::Function",
            "AWS679f53fac002430cb0da5b7982bd2287/Resource",
            {},
        ),
    },
}

# Consumers first: the layout must not depend on the manifest's order.
STACKS = [INF, AUD, NET, GOV]


@pytest.fixture
def assembly_dir(tmp_path: Path) -> Path:
    return write_assembly(tmp_path / "cdk.out", STACKS)


@pytest.fixture
def diagram(assembly_dir: Path) -> Diagram:
    return analyze(load_assembly(assembly_dir))


def _flows(diagram: Diagram) -> set[tuple[str, str, str, str]]:
    rows = diagram.rows
    return {(rows[f.source].label, rows[f.target].label, f.kind, f.label) for f in diagram.flows}


# --------------------------------------------------------------------------- loading


def test_loads_stacks_resources_and_construct_paths(assembly_dir: Path) -> None:
    assembly = load_assembly(assembly_dir)
    assert [s.id for s in assembly.stacks] == ["Inference", "Audit", "Network", "Governance"]
    network = assembly.stack("Network")
    assert network.name == "bedrock-lz-test-network"
    assert network.dependencies == ("Governance",)  # the asset manifest is not a stack
    assert network.region == "us-east-1"
    flow_log = network.resource("FlowLog")
    assert flow_log is not None
    assert flow_log.path == "PrivateNetwork/Vpc/FlowLog/FlowLog"
    assert flow_log.group == "PrivateNetwork"
    config = assembly.stack("Audit").resource("Config")
    assert config is not None
    assert config.construct == "InvocationLogging/Configuration"


@pytest.mark.parametrize(
    ("path", "logical_id"),
    [  # logical ids the CDK gave these paths in the landing zone's own templates
        ("LandingZoneKey/Key/Resource", "LandingZoneKey369188A4"),
        ("Guardrail/Guardrail", "GuardrailA5094A7B"),
        ("PrivateNetwork/Vpc/Resource", "PrivateNetworkVpc1417EF71"),
        ("PrivateNetwork/Vpc/FlowLog/FlowLog", "PrivateNetworkVpcFlowLogEB647BD7"),
        (
            "InvocationLogging/Configuration/Resource/Default",
            "InvocationLoggingConfigurationF4938977",
        ),
        ("Budgets", "Budgets"),
    ],
)
def test_cdk_logical_id_matches_the_cdk(path: str, logical_id: str) -> None:
    assert cdk_logical_id(path.split("/")) == logical_id


def test_construct_paths_come_from_the_tree_without_metadata(tmp_path: Path) -> None:
    paths = ["LandingZoneKey/Key/Resource", "Guardrail/Guardrail", "KeyArnParameter/Resource"]
    kinds = ["AWS::KMS::Key", "AWS::Bedrock::Guardrail", "AWS::SSM::Parameter"]
    stack = {
        "id": "Governance",
        "name": "bedrock-lz-x-governance",
        "resources": {
            cdk_logical_id(p.split("/")): (k, p, {}) for p, k in zip(paths, kinds, strict=True)
        },
    }
    assembly = load_assembly(write_assembly(tmp_path, [stack], metadata=False))
    assert [r.path for r in assembly.stacks[0].resources] == paths


def test_missing_manifest_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path / "nowhere"), str(tmp_path / "out.svg")]) == 1
    assert "make synth" in capsys.readouterr().err
    assert not (tmp_path / "out.svg").exists()


# --------------------------------------------------------------------------- model


def test_stacks_are_in_dependency_order_then_manifest_order(diagram: Diagram) -> None:
    columns = [[view.stack.id for view in column] for column in diagram.columns]
    assert columns == [["Governance"], ["Audit", "Network"], ["Inference"]]


def test_a_reference_without_a_manifest_dependency_still_orders_the_stacks(
    tmp_path: Path,
) -> None:
    consumer = {**INF, "deps": []}  # references Network and Governance, declares nothing
    diagram = analyze(load_assembly(write_assembly(tmp_path, [consumer, NET, GOV])))
    assert [[v.stack.id for v in c] for c in diagram.columns] == [
        ["Governance"],
        ["Network"],
        ["Inference"],
    ]


def test_constructs_group_resources_by_construct_path(diagram: Diagram) -> None:
    views = {view.stack.id: view for view in diagram.stacks}
    network = views["Network"]
    assert [g.name for g in network.groups] == ["PrivateNetwork"]
    group = network.groups[0]
    assert [(r.title, r.type) for r in group.rows] == [
        ("Vpc", "AWS::EC2::VPC"),
        ("FlowLogs", "AWS::Logs::LogGroup"),
        ("bedrock-runtime", "AWS::EC2::VPCEndpoint"),
        ("execute-api", "AWS::EC2::VPCEndpoint"),
    ]
    vpc = group.rows[0]
    assert vpc.details == ["10.0.0.0/22", f"2\u00a0{X}\u00a0Subnet", f"1\u00a0{X}\u00a0FlowLog"]
    # low-level resources that belong to no row are counted in the construct's footer
    assert group.counted == {"AWS::EC2::SecurityGroup": 3, "AWS::EC2::SecurityGroupIngress": 1}
    assert group.total == 11

    governance = views["Governance"]
    assert [g.name for g in governance.groups] == [
        "LandingZoneKey",
        "Guardrail",
        "ModelAccess",
        "Teams",
    ]
    by_name = {g.name: g for g in governance.groups}
    (policies,) = by_name["ModelAccess"].rows
    assert (policies.count, policies.badge) == (2, f"2 {X} IAM::ManagedPolicy")
    assert policies.details == ["TeamAModelAccess, TeamBoundary"]
    (roles,) = by_name["Teams"].rows
    assert roles.badge == f"2 {X} IAM::Role"
    assert by_name["Teams"].counted == {"AWS::SSM::Parameter": 1}
    assert by_name["Guardrail"].rows[0].details == ["content filters"]
    assert by_name["Guardrail"].counted == {"AWS::Bedrock::GuardrailVersion": 1}
    # a top-level construct with nothing but low-level resources, and CDK helpers
    assert (governance.loose_names, governance.loose) == (
        ["KeyArnParameter"],
        {"AWS::SSM::Parameter": 1},
    )
    assert governance.internals == {"AWS::Lambda::Function": 1}


def test_service_roles_and_their_policies_are_counted_not_drawn(diagram: Diagram) -> None:
    inference = next(v for v in diagram.stacks if v.stack.id == "Inference")
    groups = {g.name: g for g in inference.groups}
    handler = groups["GuardedInference"]
    assert [r.type for r in handler.rows] == ["AWS::Logs::LogGroup", "AWS::Lambda::Function"]
    assert handler.counted == {"AWS::IAM::Role": 1, "AWS::IAM::ManagedPolicy": 1}
    # a policy attached to a team role (another stack, through an export) is drawn
    assert [r.type for r in groups["TeamApiAccess"].rows] == ["AWS::IAM::ManagedPolicy"]
    (api,) = groups["PrivateApi"].rows
    assert api.details[:2] == ["PRIVATE", "POST /v1/converse (AWS_IAM)"]
    assert f"1\u00a0{X}\u00a0Method" in api.details


def test_flows_follow_references_between_resources(diagram: Diagram) -> None:
    assert _flows(diagram) == {
        ("PrivateApi/Api", "GuardedInference/Handler/Function", "invoke", "invokes"),
        ("GuardedInference/Handler/Function", "GuardedInference/Handler/Logs", "logs", "logs"),
        ("GuardedInference/Handler/Function", "Guardrail", "invoke", "uses"),
        # through security groups; the role may call bedrock-runtime, not execute-api
        (
            "GuardedInference/Handler/Function",
            "PrivateNetwork/bedrock-runtime",
            "network",
            "HTTPS 443",
        ),
        ("PrivateNetwork/execute-api", "PrivateApi/Api", "network", "private API endpoint"),
        ("PrivateNetwork/Vpc", "PrivateNetwork/FlowLogs", "logs", "logs"),
        ("InvocationLogging/Configuration", "InvocationLogging/Bucket", "logs", "logs"),
        ("InvocationLogging/Configuration", "InvocationLogging/LogGroup", "logs", "logs"),
        ("Budgets/TeamABudget", "Alerts/Topic", "notify", "notifies"),
        (f"Alarms (2 {X} CloudWatch::Alarm)", "Alerts/Topic", "notify", "notifies"),
        (f"Teams (2 {X} IAM::Role)", "PrivateApi/Api", "access", "execute-api:Invoke"),
    }


def test_a_function_reaches_the_endpoints_its_role_may_call(tmp_path: Path) -> None:
    permissions = INF["resources"]["FnPermissions"]
    widened = (
        permissions[0],
        permissions[1],
        {**permissions[2], "PolicyDocument": _allow(["bedrock:InvokeModel", "execute-api:*"], "*")},
    )
    inference = {**INF, "resources": {**INF["resources"], "FnPermissions": widened}}
    diagram = analyze(load_assembly(write_assembly(tmp_path, [GOV, NET, inference])))
    reached = {
        diagram.rows[f.target].title
        for f in diagram.flows
        if f.kind == "network" and diagram.rows[f.source].type == "AWS::Lambda::Function"
    }
    assert reached == {"bedrock-runtime", "execute-api"}


def test_a_function_with_an_unknown_role_reaches_every_admitting_endpoint(
    tmp_path: Path,
) -> None:
    kind, path, props = INF["resources"]["Fn"]
    imported = {k: v for k, v in props.items() if k != "Role"}  # e.g. a role from elsewhere
    inference = {**INF, "resources": {**INF["resources"], "Fn": (kind, path, imported)}}
    diagram = analyze(load_assembly(write_assembly(tmp_path, [GOV, NET, inference])))
    reached = {
        diagram.rows[f.target].title
        for f in diagram.flows
        if f.kind == "network" and diagram.rows[f.source].type == "AWS::Lambda::Function"
    }
    assert reached == {"bedrock-runtime", "execute-api"}


def test_stack_links_come_from_cross_stack_references_and_dependencies(diagram: Diagram) -> None:
    assert diagram.links == [
        Flow("Governance", "Audit", "deployment order only", "dependency"),
        Flow("Governance", "Network", "deployment order only", "dependency"),
        Flow("Governance", "Inference", "Guardrail, Teams (2 references)", "reference"),
        Flow("Network", "Inference", "PrivateNetwork (2 references)", "reference"),
    ]


def test_title_names_the_environment(diagram: Diagram, tmp_path: Path) -> None:
    assert diagram.title == "Bedrock landing zone architecture · environment test"
    assert "4 stacks" in diagram.subtitle
    assert "us-east-1" in diagram.subtitle
    hyphenated = {**GOV, "name": "bedrock-lz-existing-vpc-governance"}
    assembly = load_assembly(write_assembly(tmp_path, [hyphenated]))
    assert environment_names(assembly) == ["existing-vpc"]


# --------------------------------------------------------------------------- SVG


def test_svg_is_well_formed_with_one_arrow_per_flow(diagram: Diagram) -> None:
    svg = render_svg(diagram)
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}title") is not None
    assert root.findtext(f"{SVG}title") == diagram.title
    arrows = root.findall(f".//{SVG}path[@data-flow]")
    names = [p.get("data-flow") for p in arrows]
    assert names == ["A", "B", "C", "D", *[str(i) for i in range(1, len(diagram.flows) + 1)]]
    for arrow in arrows:
        assert arrow.get("marker-end", "").startswith("url(#arrow-")
    rows = root.findall(f".//{SVG}g[@class='resource']")
    assert len(rows) == len(diagram.rows)
    texts = "".join(t.text or "" for t in root.iter(f"{SVG}text"))
    for expected in ("PrivateNetwork", "bedrock-runtime", f"2 {X} IAM::Role", "CDK helpers"):
        assert expected in texts


def test_svg_escapes_names(tmp_path: Path) -> None:
    evil = "Evil<script>&\"'"
    stack = {
        "id": "Gov<&>",
        "name": "bedrock-lz-a&b-governance",
        "resources": {"Topic": ("AWS::SNS::Topic", f"{evil}/Topic/Resource", {})},
    }
    svg = render_svg(analyze(load_assembly(write_assembly(tmp_path, [stack]))))
    assert "<script>" not in svg
    assert "Evil&lt;script&gt;&amp;&quot;&apos;" in svg
    root = ET.fromstring(svg)  # well-formed despite the names
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert evil in texts
    assert "Gov<&>" in texts


def test_output_is_deterministic_and_independent_of_the_directory(
    assembly_dir: Path, tmp_path: Path
) -> None:
    first = render_svg(analyze(load_assembly(assembly_dir)))
    assert render_svg(analyze(load_assembly(assembly_dir))) == first
    copy = shutil.copytree(assembly_dir, tmp_path / "elsewhere" / "cdk.out")
    assert render_svg(analyze(load_assembly(copy))) == first
    assert str(tmp_path) not in first


def test_an_assembly_without_resources_still_renders(tmp_path: Path) -> None:
    empty = {"id": "Empty", "name": "bedrock-lz-e-empty", "resources": {}}
    diagram = analyze(load_assembly(write_assembly(tmp_path, [empty])))
    root = ET.fromstring(render_svg(diagram))
    assert root.get("width")
    # nothing leads to Amazon Bedrock: no path is drawn, a note says so
    assert diagram.path is not None and diagram.path.nodes == []
    assert not [g for g in root.iter(f"{SVG}g") if g.get("class") == "path-node"]
    texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "No request path to Amazon Bedrock in this assembly" in texts


def test_cli_writes_and_checks(
    assembly_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "docs" / "architecture.svg"
    assert main([str(assembly_dir), str(target)]) == 0
    assert "4 stacks" in capsys.readouterr().out
    assert target.read_text(encoding="utf-8") == render_svg(analyze(load_assembly(assembly_dir)))
    assert main([str(assembly_dir), str(target), "--check"]) == 0
    target.write_text("stale", encoding="utf-8")
    assert main([str(assembly_dir), str(target), "--check"]) == 1
    assert "make diagram" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == "stale"


def test_module_runs_without_the_cdk(assembly_dir: Path, tmp_path: Path) -> None:
    """``python -m bedrock_landing_zone.pictures.architecture`` (the package's ``__main__``)
    reads, lays out and draws with the standard library only."""
    code = (
        "import sys, runpy; sys.argv = ['x', sys.argv[1], sys.argv[2]]\n"
        "try:\n"
        "    runpy.run_module('bedrock_landing_zone.pictures.architecture', run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    assert 'aws_cdk' not in sys.modules and 'jsii' not in sys.modules\n"
        "    raise\n"
    )
    target = tmp_path / "architecture.svg"
    result = subprocess.run(
        [sys.executable, "-c", code, str(assembly_dir), str(target)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert target.read_text(encoding="utf-8") == render_svg(analyze(load_assembly(assembly_dir)))


# --------------------------------------------------------------------------- the landing zone


def test_landing_zone_main_flows_are_drawn(synths: Synths) -> None:
    diagram = analyze(load_assembly(synths["default"].outdir))
    flows = {(diagram.rows[f.source].label, diagram.rows[f.target].label) for f in diagram.flows}
    for expected in [
        ("PrivateApi/Api", "GuardedInference/Handler/Function"),
        ("GuardedInference/Handler/Function", "PrivateNetwork/bedrock-runtime"),
        ("PrivateNetwork/execute-api", "PrivateApi/Api"),
        ("PrivateNetwork/Vpc", "PrivateNetwork/FlowLogs"),
        ("InvocationLogging/Configuration", "InvocationLogging/Bucket"),
        ("InvocationLogging/Configuration", "InvocationLogging/LogGroup"),
    ]:
        assert expected in flows
    assert diagram.title.endswith("environment default")
    assert diagram.columns[0][0].stack.id == "Governance"


def test_committed_architecture_diagram_is_current(synths: Synths) -> None:
    expected = render_svg(analyze(load_assembly(synths["default"].outdir)))
    committed = DOC.read_text(encoding="utf-8") if DOC.is_file() else ""
    if committed != expected:
        pytest.fail(
            f"{DOC.relative_to(ROOT)} is stale or missing: run `make diagram` and commit it",
            pytrace=False,
        )


# --------------------------------------------------------------------------- the request path

ARCH_BOXES = ("bg", "region", "vpc", "node", "stack", "group", "row")
IN_VPC = ("caller", "api-endpoint", "function", "runtime-endpoint")
OUTSIDE_VPC = ("api", "bedrock", "guardrail", "log")


def _path_nodes(root: ET.Element) -> dict[str, tuple[str, Box]]:
    """Drawn request-path nodes: key -> (kind, box)."""
    nodes = {}
    for group in root.iter(f"{SVG}g"):
        if group.get("class") == "path-node":
            rect = group.find(f"{SVG}rect")
            assert rect is not None
            nodes[group.get("data-key", "")] = (group.get("data-kind", ""), box_of(rect))
    return nodes


def _path_arrows(root: ET.Element) -> list[tuple[int, str, str, list[tuple[float, float]]]]:
    """(step, from key, to key, points) of the drawn request-path arrows, by step."""
    arrows = [
        (
            int(p.get("data-step", 0)),
            p.get("data-from", ""),
            p.get("data-to", ""),
            path_points(p.get("d", "")),
        )
        for p in root.iter(f"{SVG}path")
        if p.get("class") == "path-arrow"
    ]
    return sorted(arrows)


def _boundary(root: ET.Element, name: str) -> Box | None:
    for group in root.iter(f"{SVG}g"):
        if group.get("data-boundary") == name:
            rect = group.find(f"{SVG}rect")
            return box_of(rect) if rect is not None else None
    return None


def _kinds_in_order(root: ET.Element) -> list[tuple[str, str]]:
    """(from kind, to kind) of each drawn arrow, in step order, after checking that the arrow
    starts on the outline of its source box and ends on the outline of its target box."""
    nodes = _path_nodes(root)
    pairs = []
    for step, source, target, points in _path_arrows(root):
        (source_kind, source_box), (target_kind, target_box) = nodes[source], nodes[target]
        assert source_box.on_border(*points[0]), f"arrow {step} does not leave {source}"
        assert target_box.on_border(*points[-1]), f"arrow {step} does not reach {target}"
        pairs.append((source_kind, target_kind))
    return pairs


FULL_PATH = [
    ("caller", "api-endpoint"),
    ("api-endpoint", "api"),
    ("api", "function"),
    ("function", "runtime-endpoint"),
    ("runtime-endpoint", "bedrock"),
    ("bedrock", "guardrail"),
    ("bedrock", "log"),
    ("bedrock", "log"),
]


def test_the_request_path_is_derived_from_the_templates(diagram: Diagram) -> None:
    path = diagram.path
    assert path is not None
    assert [n.kind for n in path.nodes] == [
        "caller",
        "api-endpoint",
        "api",
        "function",
        "runtime-endpoint",
        "bedrock",
        "guardrail",
        "log",
        "log",
    ]
    names = {n.kind: n.name for n in path.nodes if n.kind != "log"}
    assert names == {
        "caller": "",
        "api-endpoint": "Network/PrivateNetwork/ExecuteApiEndpoint",
        "api": "Inference/PrivateApi/Api",
        "function": "Inference/GuardedInference/Handler/Function",
        "runtime-endpoint": "Network/PrivateNetwork/BedrockRuntimeEndpoint",
        "bedrock": "",
        "guardrail": "Governance/Guardrail/Guardrail",
    }
    assert [n.name for n in path.of_kind("log")] == [
        "Audit/InvocationLogging/Bucket",
        "Audit/InvocationLogging/LogGroup",
    ]
    caller = path.of_kind("caller")[0]
    assert caller.in_vpc
    assert "security group Network/PrivateNetwork/ClientSecurityGroup" in caller.details
    # the team role reaches the API through an export and a policy on execute-api:Invoke
    assert "IAM roles allowed execute-api:Invoke: Governance/Teams/TeamARole" in caller.details
    assert "POST /v1/converse (AWS_IAM)" in path.of_kind("api")[0].details
    kinds = {n.key: n.kind for n in path.nodes}
    assert [(kinds[s.source], kinds[s.target]) for s in path.steps] == FULL_PATH
    assert [s.label for s in path.steps[:3]] == ["HTTPS 443", "private API", "POST /v1/converse"]
    assert (path.vpc, path.vpc_name) == ("VPC 10.0.0.0/22", "Network/PrivateNetwork/Vpc")
    assert [n.kind for n in path.nodes if n.in_vpc] == list(IN_VPC)
    assert path.notes == []


def test_the_svg_draws_the_request_path_first_with_arrows_in_order(diagram: Diagram) -> None:
    root = ET.fromstring(render_svg(diagram))
    assert _kinds_in_order(root) == FULL_PATH
    nodes = _path_nodes(root)
    first = dict(reversed(list(nodes.values())))
    # left to right in reading order; the API below the VPC, the logs below Amazon Bedrock
    row = ["caller", "api-endpoint", "function", "runtime-endpoint", "bedrock", "guardrail"]
    xs = [first[kind].x for kind in row]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    assert first["api"].y > first["api-endpoint"].bottom
    assert all(box.y > first["bedrock"].bottom for kind, box in nodes.values() if kind == "log")
    # the request path comes before the stacks
    stacks = [box_of(r) for r in root.iter(f"{SVG}rect") if r.get("class") == "stack"]
    assert max(box.bottom for _kind, box in nodes.values()) < min(s.y for s in stacks)
    steps = [g.get("data-step") for g in root.iter(f"{SVG}g") if g.get("class") == "step-number"]
    assert steps == [str(i) for i in range(1, len(FULL_PATH) + 1)] * 2  # on the arrows, listed


def test_the_vpc_is_a_boundary_around_what_is_inside_it(diagram: Diagram) -> None:
    root = ET.fromstring(render_svg(diagram))
    vpc, region = _boundary(root, "vpc"), _boundary(root, "region")
    assert vpc is not None and region is not None
    assert region.contains(vpc)
    texts = [
        t.text
        for g in root.iter(f"{SVG}g")
        if g.get("data-boundary") == "vpc"
        for t in g.iter(f"{SVG}text")
    ]
    assert "VPC 10.0.0.0/22 · Network/PrivateNetwork/Vpc · 2 subnets" in texts
    for key, (kind, box) in _path_nodes(root).items():
        assert region.contains(box), key
        if kind in IN_VPC:
            assert vpc.contains(box), f"{key} is in the VPC but drawn outside it"
        else:
            assert not vpc.overlaps(box), f"{key} is outside the VPC but drawn in it"


def test_without_an_inference_api_the_path_shows_what_exists(tmp_path: Path) -> None:
    diagram = analyze(load_assembly(write_assembly(tmp_path, [AUD, NET, GOV])))
    path = diagram.path
    assert path is not None
    assert [n.kind for n in path.nodes] == [
        "caller",
        "runtime-endpoint",
        "bedrock",
        "guardrail",
        "log",
        "log",
    ]
    caller = path.of_kind("caller")[0]
    assert "IAM roles allowed bedrock:InvokeModel: Governance/Teams/TeamARole" in caller.details
    assert any("No private REST API" in note for note in path.notes)
    svg = render_svg(diagram)
    root = ET.fromstring(svg)
    assert _kinds_in_order(root)[:2] == [
        ("caller", "runtime-endpoint"),
        ("runtime-endpoint", "bedrock"),
    ]
    assert text_problems(svg, ARCH_BOXES) == []


def test_an_api_with_many_routes_lists_them_all(tmp_path: Path) -> None:
    resources = dict(INF["resources"])
    routes = [
        ("GET", "v1/models"),
        ("POST", "v1/invoke"),
        ("POST", "v1/chat/completions"),
        ("POST", "v1/embeddings"),
        ("DELETE", "v1/sessions/{session_id}"),
    ]
    for i, (verb, route) in enumerate(routes):
        kind, _path, props = resources["ApiMethod"]
        resources[f"ApiMethod{i}"] = (
            kind,
            f"PrivateApi/Api/Default/{route}/{verb}/Resource",
            {**props, "HttpMethod": verb},
        )
    inference = {**INF, "resources": resources}
    diagram = analyze(load_assembly(write_assembly(tmp_path, [inference, AUD, NET, GOV])))
    assert diagram.path is not None
    api = diagram.path.of_kind("api")[0]
    for verb, route in [("POST", "v1/converse"), *routes]:
        assert f"{verb} /{route} (AWS_IAM)" in api.details
    assert diagram.path.steps[2].label == "6 routes"
    svg = render_svg(diagram)
    assert text_problems(svg, ARCH_BOXES) == []
    (api_group,) = [g for g in ET.fromstring(svg).iter(f"{SVG}g") if g.get("data-kind") == "api"]
    drawn = "".join(t.text or "" for t in api_group.iter(f"{SVG}text"))
    for verb, route in [("POST", "v1/converse"), *routes]:
        assert f"{verb}/{route}(AWS_IAM)" in drawn.replace(" ", "")  # wrapped, whole


def test_two_functions_behind_the_api_each_get_their_arrows(tmp_path: Path) -> None:
    resources = dict(INF["resources"])
    kind, _path, props = resources["Fn"]
    resources["Summarizer"] = (kind, "Summarizer/Function/Resource", props)
    method, _path, method_props = resources["ApiMethod"]
    integration = {"Uri": {"Fn::Join": ["", ["arn:", att("Summarizer"), "/invocations"]]}}
    resources["SummarizeMethod"] = (
        method,
        "PrivateApi/Api/Default/v1/summarize/POST/Resource",
        {**method_props, "Integration": integration},
    )
    stacks = [{**INF, "resources": resources}, AUD, NET, GOV]
    diagram = analyze(load_assembly(write_assembly(tmp_path, stacks)))
    svg = render_svg(diagram)
    root = ET.fromstring(svg)
    assert _kinds_in_order(root) == [
        *FULL_PATH[:3],
        ("api", "function"),
        ("function", "runtime-endpoint"),
        ("function", "runtime-endpoint"),
        *FULL_PATH[4:],
    ]
    vpc = _boundary(root, "vpc")
    assert vpc is not None
    functions = [box for kind, box in _path_nodes(root).values() if kind == "function"]
    assert len(functions) == 2 and all(vpc.contains(box) for box in functions)
    assert not functions[0].overlaps(functions[1])
    assert text_problems(svg, ARCH_BOXES) == []


def _long_names() -> list[dict[str, Any]]:
    """The fixture with construct names far wider than their boxes."""
    long = "AVeryLongConstructNameThatNoBoxIsWideEnoughFor" * 2
    inference = dict(INF)
    inference["resources"] = {
        logical_id: (kind, path.replace("GuardedInference", long), props)
        for logical_id, (kind, path, props) in INF["resources"].items()
    }
    audit = dict(AUD)
    audit["resources"] = {
        **AUD["resources"],
        **{
            f"Alarm{i}": (
                "AWS::CloudWatch::Alarm",
                f"Alarms/{long}{i}/Resource",
                {"AlarmActions": [ref("Topic")]},
            )
            for i in range(12)
        },
    }
    return [inference, audit, NET, {**GOV, "id": long + "Governance"}]


def test_no_text_is_cut_without_its_full_text_and_none_overflows(
    diagram: Diagram, tmp_path: Path
) -> None:
    assert text_problems(render_svg(diagram), ARCH_BOXES) == []
    stacks = _long_names()
    stacks[0] = {**stacks[0], "deps": ["Network", stacks[3]["id"]]}
    long = analyze(load_assembly(write_assembly(tmp_path, stacks)))
    svg = render_svg(long)
    assert text_problems(svg, ARCH_BOXES) == []
    root = ET.fromstring(svg)
    # every name of the request path is drawn whole (wrapped, never cut)
    assert long.path is not None
    for group in root.iter(f"{SVG}g"):
        if group.get("class") == "path-node":
            node = long.path.node(group.get("data-key", ""))
            drawn = "".join(t.text or "" for t in group.iter(f"{SVG}text"))
            assert node.name.replace(" ", "") in drawn.replace(" ", "")
    # every row title is drawn whole, and shortened details keep their text in a tooltip
    for group in root.iter(f"{SVG}g"):
        if group.get("class") == "resource":
            row = long.rows[group.get("data-key", "")]
            drawn = "".join(t.text or "" for t in group.iter(f"{SVG}text"))
            title = row.badge if row.count > 1 else row.title
            assert title.replace(" ", "") in drawn.replace(" ", "")
    shortened = [t for t in root.iter(f"{SVG}text") if (t.text or "").endswith("\u2026")]
    assert shortened, "the long names should need shortening somewhere"
    assert all(t.find(f"{SVG}title") is not None for t in shortened)


def test_the_text_checks_can_fail() -> None:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="100">'
        '<rect class="bg" x="0" y="0" width="300" height="100"/>'
        '<rect class="row" x="10" y="10" width="120" height="30"/>'
        '<text x="14" y="30" class="meta">cut short…</text>'
        '<text x="14" y="30" class="meta">fine…<title>fine and whole</title></text>'
        '<text x="14" y="30" class="meta">other…<title>unrelated</title></text>'
        '<text x="14" y="30" class="strong">a text much wider than its row</text>'
        "</svg>"
    )
    problems = text_problems(svg, ARCH_BOXES)
    assert len(problems) == 3
    assert "shortened without a tooltip: 'cut short…'" in problems
    assert any("does not hold the whole" in p for p in problems)
    assert any("overflows its row box" in p for p in problems)


def test_the_committed_picture_reads_whole() -> None:
    """docs/architecture.svg: the request path in order inside the VPC, no text cut short."""
    svg = DOC.read_text(encoding="utf-8")
    root = ET.fromstring(svg)
    kinds = _kinds_in_order(root)
    chain = [k for pair in kinds for k in pair]
    order = [
        "caller",
        "api-endpoint",
        "api",
        "function",
        "runtime-endpoint",
        "bedrock",
        "guardrail",
        "log",
    ]
    assert [k for k in order if k in chain] == order
    assert [chain.index(k) for k in order] == sorted(chain.index(k) for k in order)
    assert text_problems(svg, ARCH_BOXES) == []
    vpc = _boundary(root, "vpc")
    assert vpc is not None
    for key, (kind, box) in _path_nodes(root).items():
        assert vpc.contains(box) == (kind in IN_VPC), key
