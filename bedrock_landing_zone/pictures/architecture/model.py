"""The model of the architecture diagram: what is drawn, derived from an assembly by
``diagram.analyze`` and placed by ``layout``. Data and the classification of resource types
only: no reading, no geometry, no SVG.

* Classification: the category (and colour) of each resource type, the types counted rather
  than drawn (``LOW_LEVEL_TYPES``, ``CDK_CUSTOM_TYPES``), those drawn one row per resource
  (``SINGLE_ROW_TYPES``), service roles.
* The stacks section: ``Diagram`` holds columns of ``StackView`` (stacks by dependency level),
  each with ``Group`` boxes (top-level constructs) of ``Row`` (main resources), plus ``Flow``
  arrows between rows and between stacks.
* The request path: ``RequestPath`` of ``PathNode`` and numbered ``PathStep``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from bedrock_landing_zone.pictures.assembly import Resource, Stack, as_mapping

__all__ = [
    "CATEGORIES",
    "CDK_CUSTOM_TYPES",
    "LOW_LEVEL_TYPES",
    "PATH_KINDS",
    "POLICY_TYPES",
    "SINGLE_ROW_TYPES",
    "TIMES",
    "Diagram",
    "Flow",
    "Group",
    "PathNode",
    "PathStep",
    "RequestPath",
    "Row",
    "StackView",
    "category",
    "counts_text",
    "is_internal_group",
    "is_service_role",
    "policy_statements",
    "short_type",
]

# --------------------------------------------------------------------------- classification

CATEGORIES: dict[str, tuple[str, str]] = {
    "ai": ("AI (Amazon Bedrock)", "#01a88d"),
    "compute": ("Compute", "#ed7100"),
    "network": ("Networking", "#8c4fff"),
    "security": ("Security, identity, keys", "#dd344c"),
    "storage": ("Storage", "#7aa116"),
    "integration": ("APIs and messaging", "#c925d1"),
    "observability": ("Logs and monitoring", "#e7157b"),
    "management": ("Management, governance, custom resources", "#4d72f3"),
    "cost": ("Cost management", "#b8860b"),
    "other": ("Other", "#7d8998"),
}

_SERVICE_CATEGORY = {
    "Bedrock": "ai",
    "SageMaker": "ai",
    "Lambda": "compute",
    "ECS": "compute",
    "EC2": "network",
    "ElasticLoadBalancingV2": "network",
    "Route53": "network",
    "IAM": "security",
    "KMS": "security",
    "SecretsManager": "security",
    "WAFv2": "security",
    "S3": "storage",
    "DynamoDB": "storage",
    "ApiGateway": "integration",
    "ApiGatewayV2": "integration",
    "SNS": "integration",
    "SQS": "integration",
    "Events": "integration",
    "StepFunctions": "integration",
    "Logs": "observability",
    "CloudWatch": "observability",
    "XRay": "observability",
    "Synthetics": "observability",
    "SSM": "management",
    "Organizations": "management",
    "CloudFormation": "management",
    "Config": "management",
    "CloudTrail": "management",
    "Budgets": "cost",
    "CE": "cost",
}


def _types(names: Mapping[str, str]) -> frozenset[str]:
    """``{"AWS::EC2": "Subnet Route"}`` -> ``{"AWS::EC2::Subnet", "AWS::EC2::Route"}``."""
    return frozenset(f"{prefix}::{name}" for prefix, text in names.items() for name in text.split())


# Types counted, never drawn as rows.
LOW_LEVEL_TYPES = _types(
    {
        "AWS::ApiGateway": "Account Deployment GatewayResponse Method Model RequestValidator "
        "Resource Stage",
        "AWS::Bedrock": "GuardrailVersion",
        "AWS::EC2": "EIP FlowLog InternetGateway Route RouteTable SecurityGroup "
        "SecurityGroupEgress SecurityGroupIngress Subnet SubnetRouteTableAssociation "
        "VPCGatewayAttachment",
        "AWS::IAM": "InstanceProfile",
        "AWS::KMS": "Alias",
        "AWS::Lambda": "Alias EventInvokeConfig Permission Version",
        "AWS::Logs": "ResourcePolicy",
        "AWS::S3": "BucketPolicy",
        "AWS::SNS": "Subscription TopicPolicy",
        "AWS::SQS": "QueuePolicy",
        "AWS::SSM": "Parameter",
    }
)

# Types with one row per resource (the others: one row per type and construct).
SINGLE_ROW_TYPES = _types(
    {
        "AWS::ApiGateway": "RestApi",
        "AWS::ApiGatewayV2": "Api",
        "AWS::Bedrock": "Guardrail",
        "AWS::CloudWatch": "Dashboard",
        "AWS::DynamoDB": "Table",
        "AWS::EC2": "VPC VPCEndpoint",
        "AWS::KMS": "Key",
        "AWS::Lambda": "Function",
        "AWS::Logs": "LogGroup",
        "AWS::S3": "Bucket",
        "AWS::SNS": "Topic",
        "AWS::SQS": "Queue",
        "AWS::StepFunctions": "StateMachine",
    }
)

# Custom resources that the CDK itself adds (counted, like low-level resources).
CDK_CUSTOM_TYPES = _types(
    {
        "Custom": "AWSCDKOpenIdConnectProvider CDKBucketDeployment CrossRegionExportReader "
        "CrossRegionExportWriter LogRetention S3AutoDeleteObjects S3BucketNotifications "
        "VpcRestrictDefaultSG"
    }
)

TIMES = "\u00d7"  # the multiplication sign of "3 x IAM::Role"
POLICY_TYPES = ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")
_INTERNAL_GROUP = re.compile(r"^(Custom::.*|CDKMetadata|.*[0-9a-f]{32}.*)$")


def short_type(resource_type: str) -> str:
    """``AWS::IAM::ManagedPolicy`` -> ``IAM::ManagedPolicy``; custom types stay as they are."""
    return resource_type.removeprefix("AWS::")


def category(resource_type: str) -> str:
    parts = resource_type.split("::")
    if parts[0] == "Custom":
        return "management"
    return _SERVICE_CATEGORY.get(parts[1], "other") if len(parts) > 1 else "other"


def is_internal_group(name: str) -> bool:
    """Top-level constructs that the CDK adds by itself (providers, singleton functions)."""
    return bool(_INTERNAL_GROUP.match(name))


def _principals(document: Any) -> Iterator[tuple[str, Any]]:
    for statement in policy_statements(document):
        principal = statement.get("Principal")
        if isinstance(principal, dict):
            for kind, value in principal.items():
                yield str(kind), value
        elif principal is not None:
            yield "AWS", principal


def policy_statements(document: Any) -> list[Mapping[str, Any]]:
    """The statements of an IAM policy document (one statement or a list)."""
    statements = as_mapping(document).get("Statement")
    statements = statements if isinstance(statements, list) else [statements]
    return [s for s in statements if isinstance(s, dict)]


def is_service_role(resource: Resource) -> bool:
    """An IAM role that only AWS services assume (a function's or a delivery role)."""
    principals = list(_principals(resource.properties.get("AssumeRolePolicyDocument")))
    return bool(principals) and all(kind == "Service" for kind, _value in principals)


# --------------------------------------------------------------------------- the stacks section


@dataclass
class Row:
    """One drawn row: a main resource, or the resources of one type in one construct."""

    key: str
    stack: str
    group: str
    type: str
    members: list[Resource]
    attached: list[Resource] = field(default_factory=list)  # low-level resources counted here
    title: str = ""
    details: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.members)

    @property
    def badge(self) -> str:
        prefix = f"{self.count} {TIMES} " if self.count > 1 else ""
        return prefix + short_type(self.type)

    @property
    def category(self) -> str:
        return category(self.type)

    @property
    def label(self) -> str:
        """How flows name the row: construct path inside the stack."""
        if self.count > 1:
            return f"{self.group} ({self.badge})"
        return self.group if self.title == self.group else f"{self.group}/{self.title}"


@dataclass
class Group:
    """A top-level construct of a stack, with its rows and counted low-level resources."""

    name: str
    rows: list[Row]
    counted: Counter[str]
    total: int


@dataclass
class StackView:
    stack: Stack
    level: int
    groups: list[Group]
    loose: Counter[str]  # resources of top-level constructs without rows
    loose_names: list[str]
    internals: Counter[str]


@dataclass(frozen=True)
class Flow:
    """An arrow: between rows (flows) or between stacks (cross-stack references)."""

    source: str  # row key, or stack artifact id
    target: str
    label: str
    kind: str


@dataclass
class Diagram:
    title: str
    subtitle: str
    columns: list[list[StackView]]
    rows: dict[str, Row]
    links: list[Flow]  # stack -> stack
    flows: list[Flow]  # row -> row
    path: RequestPath | None = None  # how a request travels (drawn first)

    @property
    def stacks(self) -> list[StackView]:
        return [view for column in self.columns for view in column]


def counts_text(counts: Mapping[str, int]) -> list[str]:
    """``3 x IAM::Role`` per type, with no-break spaces: word wrap keeps each count whole."""
    ordered = sorted(counts.items(), key=lambda i: (-i[1], i[0]))
    return [f"{n}\u00a0{TIMES}\u00a0{short_type(t)}" for t, n in ordered]


# --------------------------------------------------------------------------- the request path

PATH_KINDS = (
    "caller",
    "api-endpoint",
    "api",
    "function",
    "runtime-endpoint",
    "bedrock",
    "guardrail",
    "log",
)


@dataclass
class PathNode:
    """One element of the request path: a resource of the assembly, or the caller or the AWS
    service that the resources lead to."""

    key: str  # unique in the path
    kind: str  # one of PATH_KINDS
    service: str  # what it is ("AWS Lambda function")
    name: str  # where it is defined ("Inference/GuardedInference/Handler/Function"), or ""
    details: list[str]
    in_vpc: bool


@dataclass(frozen=True)
class PathStep:
    """A numbered arrow of the request path, with a short label and the whole story."""

    source: str  # node key
    target: str
    label: str
    text: str


@dataclass
class RequestPath:
    """How a request travels, derived from the templates (what exists, in the order it is used):
    caller -> execute-api VPC endpoint -> private REST API -> function -> bedrock-runtime VPC
    endpoint -> Amazon Bedrock -> guardrail, with the invocation log destinations."""

    vpc: str  # "VPC 10.40.0.0/22", "" when nothing of the path is in a VPC
    vpc_name: str  # the construct path of the VPC, "" when imported
    vpc_details: list[str]
    nodes: list[PathNode]
    steps: list[PathStep]
    notes: list[str]  # what the path lacks in this assembly
    place: list[str] = field(default_factory=list)  # ["account 1111...", "us-east-1"]

    def node(self, key: str) -> PathNode:
        return next(n for n in self.nodes if n.key == key)

    def of_kind(self, kind: str) -> list[PathNode]:
        return [n for n in self.nodes if n.kind == kind]
