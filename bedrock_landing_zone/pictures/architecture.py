"""Draw the architecture of a synthesized CDK app as one SVG picture.

The picture is generated from the cloud assembly, never drawn by hand, so it cannot drift from
the code::

    python -m bedrock_landing_zone.pictures.architecture cdk.out docs/architecture.svg

What is read:

* ``manifest.json``: the stacks (``aws:cloudformation:stack`` artifacts, also those of nested
  ``cdk:cloud-assembly`` artifacts for stages), their CloudFormation names and dependencies, and
  their metadata (``aws:cdk:logicalId`` entries map each logical id to its construct path);
* each stack's ``*.template.json``: resource types, properties and the references between them;
* ``tree.json``: the construct tree, used to find construct paths when the metadata has none.

What is drawn first is the request path (``RequestPath``), in the order a request uses it: the
caller in the VPC (the security group that the first endpoint admits, and the IAM roles allowed to
call), the ``execute-api`` VPC endpoint, the PRIVATE REST API that names it (routes, stage,
resource policy), the functions its methods integrate, the ``bedrock-runtime`` VPC endpoint they
reach through security groups, Amazon Bedrock (the model ids the endpoint policy allows), the
guardrail (referred to by the function or required by policy conditions) and the destinations of
model invocation logging (an S3 bucket and a CloudWatch Logs log group). The VPC is drawn as a
boundary around what is in it; numbered arrows link the steps and a numbered list tells each
step. Only what the templates hold is drawn: without an inference API the caller goes to the
``bedrock-runtime`` endpoint, and a note says what is missing. SSM parameters that one stack
publishes and another reads are followed (teams find the API and the guardrail that way).

Below it, the stacks and their supporting resources: one box per stack, in columns by dependency
level (a stack is right of every stack it depends on). Inside a stack, one box per top-level
construct (``Network/PrivateNetwork``, ``Governance/Guardrail``...). Inside those, one row per
main resource (a VPC, an endpoint, a function, a bucket, a log group...) or per resource type
when a construct has several of a kind ("3 x IAM::ManagedPolicy", drawn with a multiplication
sign). Low-level resources (security group rules, permissions, SSM parameters, bucket
policies, service roles...) are counted, not drawn: on the row of the construct they belong to,
or in the construct's footer. Helpers that the CDK adds by itself (custom resource providers,
singleton functions) are counted in the stack's footer.

Arrows are derived from the templates, by resource type and the property a reference is in:

* lettered grey arrows: cross-stack references (``Fn::GetStackOutput``, ``Fn::ImportValue``),
  labelled with the constructs referred to, and manifest dependencies without references;
* numbered arrows: flows. An API method's integration invokes a function; a resource sends logs
  to a log group or bucket it refers to (flow logs, ``LoggingConfig``, access logs, a logging
  configuration custom resource); alarms, budgets and others notify a topic they refer to;
  CloudWatch alarms and dashboards monitor what they refer to; a private REST API is reached
  through the VPC endpoint it names; anything that refers to a Bedrock resource uses it; a
  holder of a security group reaches whatever admits that group (a function reaching a VPC
  endpoint; for a function, only endpoints of services its role may call); a role that is not a
  service role may call what its policies allow on named resources.

No text is cut short: names wrap; where there is no room for all of a text, what is drawn ends
with an ellipsis and keeps the whole text in an SVG ``<title>`` tooltip (``svg_text``).

The output is deterministic: the same assembly gives byte-identical SVG (no timestamps, no
paths of the input directory, stable ordering). Standard library only (no CDK import).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bedrock_landing_zone.pictures.dashboard_preview import resolve_text
from bedrock_landing_zone.pictures.svg import esc as _esc
from bedrock_landing_zone.pictures.svg import num as _n
from bedrock_landing_zone.pictures.svg import text_element, text_width, wrap, wrap_lines

__all__ = [
    "CATEGORIES",
    "CDK_CUSTOM_TYPES",
    "LOW_LEVEL_TYPES",
    "PATH_KINDS",
    "SINGLE_ROW_TYPES",
    "TIMES",
    "Assembly",
    "AssemblyError",
    "Diagram",
    "Flow",
    "Group",
    "PathNode",
    "PathStep",
    "RequestPath",
    "Resource",
    "Row",
    "Stack",
    "StackView",
    "analyze",
    "category",
    "cdk_logical_id",
    "environment_names",
    "is_internal_group",
    "is_service_role",
    "load_assembly",
    "main",
    "render_svg",
    "request_path",
    "short_type",
]

# --------------------------------------------------------------------------- assembly


class AssemblyError(ValueError):
    """The directory is not a readable cloud assembly."""


_TRAILING_IDS = ("Resource", "Default")


@dataclass(frozen=True)
class Resource:
    """One CloudFormation resource and where it sits in the construct tree."""

    stack: str  # artifact id of its stack
    logical_id: str
    type: str
    path: str  # construct path inside the stack ("" when unknown)
    properties: Mapping[str, Any]

    @property
    def key(self) -> tuple[str, str]:
        return self.stack, self.logical_id

    @property
    def construct(self) -> str:
        """The path of the construct that owns the resource (``.../Resource`` dropped)."""
        parts = self.path.split("/") if self.path else []
        while len(parts) > 1 and parts[-1] in _TRAILING_IDS:
            parts.pop()
        return "/".join(parts)

    @property
    def group(self) -> str:
        """The top-level construct of the stack that the resource belongs to."""
        return self.path.split("/", 1)[0] if self.path else ""


@dataclass(frozen=True)
class Stack:
    """One stack artifact of the assembly."""

    id: str  # artifact id
    name: str  # CloudFormation stack name
    display: str  # construct path of the stack
    environment: str  # aws://account/region
    dependencies: tuple[str, ...]  # artifact ids of stacks
    resources: tuple[Resource, ...]  # in template order
    outputs: Mapping[str, Any]
    order: int
    parameters: Mapping[str, Any] = field(default_factory=dict)  # the template's Parameters

    @property
    def region(self) -> str:
        return self.environment.rsplit("/", 1)[-1] if self.environment else ""

    def resource(self, logical_id: str) -> Resource | None:
        return next((r for r in self.resources if r.logical_id == logical_id), None)


@dataclass(frozen=True)
class Assembly:
    stacks: tuple[Stack, ...]

    def stack(self, artifact_id: str) -> Stack:
        return next(s for s in self.stacks if s.id == artifact_id)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AssemblyError(f"{path} not found: run `make synth` first") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AssemblyError(f"cannot read {path}: {exc}") from exc


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _tree_nodes(tree: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Every node of ``tree.json`` by its construct path."""
    nodes: dict[str, Mapping[str, Any]] = {}
    pending = [_mapping(tree.get("tree"))]
    while pending:
        node = pending.pop()
        path = node.get("path")
        if isinstance(path, str):
            nodes[path] = node
        pending.extend(_mapping(child) for child in _mapping(node.get("children")).values())
    return nodes


def _remove_dupes(parts: Sequence[str]) -> list[str]:
    kept: list[str] = []
    for part in parts:
        if not kept or not kept[-1].endswith(part):
            kept.append(part)
    return kept


def cdk_logical_id(parts: Sequence[str]) -> str:
    """The logical id the CDK allocates to a resource at construct path ``parts`` (in its stack).

    Used when the assembly has no ``aws:cdk:logicalId`` metadata (CDK's ``makeUniqueId``).
    """
    parts = [p for p in parts if p != "Default"]
    if len(parts) == 1:
        top = re.sub(r"[^A-Za-z0-9]", "", parts[0])
        if len(top) <= 255:
            return top
    digest = hashlib.md5("/".join(parts).encode(), usedforsecurity=False).hexdigest().upper()[:8]
    human = "".join(re.sub(r"[^A-Za-z0-9]", "", p) for p in _remove_dupes(parts) if p != "Resource")
    return human[:240] + digest


def _logical_paths(
    stack_path: str, metadata: Mapping[str, Any], tree_nodes: Mapping[str, Mapping[str, Any]]
) -> dict[str, str]:
    """Logical id -> construct path inside the stack, from metadata, else from the tree."""
    prefix = stack_path + "/"
    found: dict[str, str] = {}
    for path, entries in sorted(metadata.items()):
        inner = path.lstrip("/")
        if not inner.startswith(prefix) or not isinstance(entries, list):
            continue
        for raw in entries:
            entry = _mapping(raw)
            if entry.get("type") == "aws:cdk:logicalId" and isinstance(entry.get("data"), str):
                found.setdefault(entry["data"], inner[len(prefix) :])
    if found:
        return found
    for path, node in sorted(tree_nodes.items()):
        attributes = _mapping(node.get("attributes"))
        if path.startswith(prefix) and "aws:cdk:cloudformation:type" in attributes:
            inner = path[len(prefix) :]
            found.setdefault(cdk_logical_id(inner.split("/")), inner)
    return found


def _stack_artifacts(
    directory: Path, manifest: Mapping[str, Any], prefix: str
) -> Iterator[tuple[Path, str, Mapping[str, Any]]]:
    """(assembly dir, artifact id, artifact) of every stack, nested assemblies included."""
    for artifact_id, raw in _mapping(manifest.get("artifacts")).items():
        artifact = _mapping(raw)
        kind = artifact.get("type")
        if kind == "aws:cloudformation:stack":
            yield directory, prefix + artifact_id, artifact
        elif kind == "cdk:cloud-assembly":
            nested = _mapping(artifact.get("properties")).get("directoryName")
            if isinstance(nested, str) and (directory / nested / "manifest.json").is_file():
                inner = _read_json(directory / nested / "manifest.json")
                yield from _stack_artifacts(directory / nested, _mapping(inner), prefix)


def load_assembly(cdk_out: Path) -> Assembly:
    """Read the stacks of a cloud assembly directory (``cdk.out``).

    Raises ``AssemblyError`` when ``manifest.json`` or a template cannot be read.
    """
    manifest = _mapping(_read_json(cdk_out / "manifest.json"))
    tree_file = cdk_out / "tree.json"
    tree_nodes = _tree_nodes(_mapping(_read_json(tree_file))) if tree_file.is_file() else {}
    artifacts = list(_stack_artifacts(cdk_out, manifest, ""))
    stack_ids = {artifact_id for _dir, artifact_id, _a in artifacts}
    stacks: list[Stack] = []
    for order, (directory, artifact_id, artifact) in enumerate(artifacts):
        props = _mapping(artifact.get("properties"))
        template_file = props.get("templateFile")
        if not isinstance(template_file, str):
            raise AssemblyError(f"stack {artifact_id} has no templateFile in its manifest")
        template = _mapping(_read_json(directory / template_file))
        metadata = dict(_mapping(artifact.get("metadata")))
        extra = artifact.get("additionalMetadataFile")
        if isinstance(extra, str) and (directory / extra).is_file():
            metadata.update(_mapping(_read_json(directory / extra)))
        display = artifact.get("displayName")
        display = display if isinstance(display, str) else artifact_id
        paths = _logical_paths(display, metadata, tree_nodes)
        resources = []
        for logical_id, raw in _mapping(template.get("Resources")).items():
            resource = _mapping(raw)
            kind = resource.get("Type")
            if not isinstance(kind, str) or kind == "AWS::CDK::Metadata":
                continue
            path = paths.get(logical_id)
            if path is None:  # the template's own path metadata, when the CLI adds it
                meta = _mapping(resource.get("Metadata")).get("aws:cdk:path")
                path = meta.split("/", 1)[1] if isinstance(meta, str) and "/" in meta else ""
                if isinstance(meta, str) and meta.startswith(display + "/"):
                    path = meta[len(display) + 1 :]
            resources.append(
                Resource(
                    stack=artifact_id,
                    logical_id=logical_id,
                    type=kind,
                    path=path,
                    properties=_mapping(resource.get("Properties")),
                )
            )
        name = props.get("stackName")
        environment = artifact.get("environment")
        stacks.append(
            Stack(
                id=artifact_id,
                name=name if isinstance(name, str) else artifact_id,
                display=display,
                environment=environment if isinstance(environment, str) else "",
                dependencies=tuple(
                    d for d in _strings(artifact.get("dependencies")) if d in stack_ids
                ),
                resources=tuple(resources),
                outputs=_mapping(template.get("Outputs")),
                order=order,
                parameters=_mapping(template.get("Parameters")),
            )
        )
    return Assembly(stacks=tuple(stacks))


def environment_names(assembly: Assembly) -> list[str]:
    """The environment names in the stack names ``bedrock-lz-<env>-<unit>`` (team stacks:
    ``bedrock-lz-<env>-team-<team>``), sorted."""
    names = set()
    for stack in assembly.stacks:
        match = re.fullmatch(r"bedrock-lz-(.+?)-team-[a-z0-9-]+", stack.name) or re.fullmatch(
            r"bedrock-lz-(.+)-[A-Za-z0-9]+", stack.name
        )
        if match:
            names.add(match.group(1))
    return sorted(names)


# --------------------------------------------------------------------------- references

_SUB_VAR = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class _Ref:
    kind: str  # "local", "output" or "export"
    name: str  # logical id, output name or export name
    stack_name: str  # for outputs
    where: tuple[str, ...]  # the property keys that lead to the reference


def _sub_refs(arg: Any, where: tuple[str, ...]) -> Iterator[_Ref]:
    template, variables = (
        (arg[0], arg[1] if len(arg) > 1 else {}) if isinstance(arg, list) and arg else (arg, {})
    )
    variables = _mapping(variables)
    if isinstance(template, str):
        for match in _SUB_VAR.finditer(template):
            name = match.group(1).split(".", 1)[0]
            if name and not name.startswith(("!", "AWS::")) and name not in variables:
                yield _Ref("local", name, "", where)
    yield from _refs(dict(variables), where)


def _refs(value: Any, where: tuple[str, ...] = ()) -> Iterator[_Ref]:
    """Every reference in a template value: ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` variables,
    ``Fn::GetStackOutput`` and ``Fn::ImportValue``."""
    if isinstance(value, list):
        for item in value:
            yield from _refs(item, where)
        return
    if not isinstance(value, dict):
        return
    if len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            if isinstance(arg, str) and not arg.startswith("AWS::"):
                yield _Ref("local", arg, "", where)
            return
        if key == "Fn::GetAtt":
            target = arg[0] if isinstance(arg, list) and arg else arg
            if isinstance(target, str):
                yield _Ref("local", target.split(".", 1)[0], "", where)
            return
        if key == "Fn::Sub":
            yield from _sub_refs(arg, where)
            return
        if key == "Fn::GetStackOutput":
            arg = _mapping(arg)
            stack_name, output = arg.get("StackName"), arg.get("OutputName")
            if isinstance(stack_name, str) and isinstance(output, str):
                yield _Ref("output", output, stack_name, where)
            return
        if key == "Fn::ImportValue":
            yield _Ref("export", resolve_text(arg), "", where)
            return
    for key, item in value.items():
        yield from _refs(item, (*where, str(key)))


class _Index:
    """Resolves references to resources, across stacks too; with ``through_ssm``, also through
    SSM parameters that one stack publishes and another reads."""

    def __init__(self, assembly: Assembly, *, through_ssm: bool = False) -> None:
        self.assembly = assembly
        self.through_ssm = through_ssm
        self.by_key = {r.key: r for s in assembly.stacks for r in s.resources}
        self.by_name = {s.name: s for s in assembly.stacks}
        self.exports: dict[str, tuple[Stack, str]] = {}
        for stack in assembly.stacks:
            for output_name, output in stack.outputs.items():
                export = _mapping(_mapping(output).get("Export")).get("Name")
                if export is not None:
                    name = resolve_text(export).replace("${AWS::StackName}", stack.name)
                    self.exports.setdefault(name, (stack, output_name))
        # SSM parameters by name: a stack that reads one (a template parameter of type
        # AWS::SSM::Parameter::Value<...>) refers to what the parameter's value refers to.
        self.ssm: dict[str, Resource] = {}
        for stack in assembly.stacks:
            for res in stack.resources:
                parameter_name = res.properties.get("Name")
                if res.type == "AWS::SSM::Parameter" and isinstance(parameter_name, str):
                    self.ssm.setdefault(parameter_name, res)

    def _output(self, stack: Stack, output_name: str, depth: int) -> list[Resource]:
        value = _mapping(stack.outputs.get(output_name)).get("Value")
        return [r for ref in _refs(value) for r in self.resolve(stack, ref, depth + 1)]

    def resolve(self, stack: Stack, ref: _Ref, depth: int = 0) -> list[Resource]:
        """The resources a reference made in ``stack`` stands for (none for parameters)."""
        if depth > 4:
            return []
        if ref.kind == "local":
            found = self.by_key.get((stack.id, ref.name))
            return [found] if found else self._parameter(stack, ref.name, depth)
        if ref.kind == "output":
            producer = self.by_name.get(ref.stack_name)
            return self._output(producer, ref.name, depth) if producer else []
        exported = self.exports.get(ref.name)
        return self._output(exported[0], exported[1], depth) if exported else []

    def _parameter(self, stack: Stack, name: str, depth: int) -> list[Resource]:
        """What a template parameter read from an SSM parameter of this assembly refers to."""
        parameter = _mapping(stack.parameters.get(name)) if self.through_ssm else {}
        kind, default = parameter.get("Type"), parameter.get("Default")
        if not (isinstance(kind, str) and kind.startswith("AWS::SSM::Parameter::Value")):
            return []
        holder = self.ssm.get(default) if isinstance(default, str) else None
        if holder is None:
            return []
        owner = self.assembly.stack(holder.stack)
        value = holder.properties.get("Value")
        return [r for ref in _refs(value) for r in self.resolve(owner, ref, depth + 1)]

    def references(self, resource: Resource) -> Iterator[tuple[Resource, _Ref]]:
        """(target, reference) for every reference in the resource's properties."""
        return self.references_in(resource, resource.properties)

    def references_in(self, resource: Resource, value: Any) -> Iterator[tuple[Resource, _Ref]]:
        """(target, reference) for every reference in ``value``, a part of ``resource``."""
        stack = self.assembly.stack(resource.stack)
        for ref in _refs(value):
            for target in self.resolve(stack, ref):
                yield target, ref


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
_POLICY_TYPES = ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")
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
    for statement in _statement_list(document):
        principal = statement.get("Principal")
        if isinstance(principal, dict):
            for kind, value in principal.items():
                yield str(kind), value
        elif principal is not None:
            yield "AWS", principal


def _statement_list(document: Any) -> list[Mapping[str, Any]]:
    statements = _mapping(document).get("Statement")
    statements = statements if isinstance(statements, list) else [statements]
    return [s for s in statements if isinstance(s, dict)]


def is_service_role(resource: Resource) -> bool:
    """An IAM role that only AWS services assume (a function's or a delivery role)."""
    principals = list(_principals(resource.properties.get("AssumeRolePolicyDocument")))
    return bool(principals) and all(kind == "Service" for kind, _value in principals)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --------------------------------------------------------------------------- diagram model


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


def _counts_text(counts: Mapping[str, int]) -> list[str]:
    """``3 x IAM::Role`` per type, with no-break spaces: word wrap keeps each count whole."""
    ordered = sorted(counts.items(), key=lambda i: (-i[1], i[0]))
    return [f"{n}\u00a0{TIMES}\u00a0{short_type(t)}" for t, n in ordered]


def _relative(construct: str, group: str) -> str:
    rest = construct[len(group) + 1 :] if construct.startswith(group + "/") else ""
    return rest or group


def _endpoint_service(resource: Resource) -> str:
    name = resolve_text(resource.properties.get("ServiceName", ""))
    return name.rsplit(".", 1)[-1] if name else "?"


def _text(value: Any) -> str:
    return resolve_text(value) if value is not None else ""


def _facts(row: Row) -> list[str]:
    """Type-specific facts about a one-resource row."""
    props = row.members[0].properties
    facts: list[str] = []
    kind = row.type
    if kind == "AWS::EC2::VPC":
        facts.append(_text(props.get("CidrBlock")) or "IPAM")
    elif kind == "AWS::EC2::VPCEndpoint":
        facts.append(_text(props.get("VpcEndpointType")) or "Interface")
        if props.get("PrivateDnsEnabled") is True:
            facts.append("private DNS")
        facts.append(_relative(row.members[0].construct, row.group))
    elif kind == "AWS::Lambda::Function":
        facts += [_text(props.get("Runtime")) or "container image"]
        facts += [_text(a) for a in _as_list(props.get("Architectures")) if a is not None]
        facts += [f"{_text(props['MemorySize'])} MB"] if "MemorySize" in props else []
        facts += ["in VPC"] if props.get("VpcConfig") else []
        if "ReservedConcurrentExecutions" in props:
            facts.append(f"reserved {_text(props['ReservedConcurrentExecutions'])}")
    elif kind == "AWS::Logs::LogGroup":
        days = props.get("RetentionInDays")
        facts.append(f"{_text(days)} days" if days is not None else "kept forever")
        facts += ["KMS"] if props.get("KmsKeyId") else []
    elif kind == "AWS::S3::Bucket":
        encryption = json.dumps(props.get("BucketEncryption", {}), sort_keys=True)
        facts += (
            ["SSE-KMS"] if "aws:kms" in encryption else ["SSE-S3"] if encryption != "{}" else []
        )
        status = _mapping(props.get("VersioningConfiguration")).get("Status")
        facts += ["versioned"] if status == "Enabled" else []
        facts += ["object lock"] if props.get("ObjectLockEnabled") is True else []
    elif kind == "AWS::KMS::Key":
        facts += ["rotation on"] if props.get("EnableKeyRotation") is True else []
    elif kind == "AWS::SNS::Topic":
        facts += ["KMS"] if props.get("KmsMasterKeyId") else []
    elif kind == "AWS::Bedrock::Guardrail":
        policies = {
            "ContentPolicyConfig": "content filters",
            "TopicPolicyConfig": "denied topics",
            "WordPolicyConfig": "word filters",
            "SensitiveInformationPolicyConfig": "PII",
            "ContextualGroundingPolicyConfig": "grounding",
            "AutomatedReasoningPolicyConfig": "reasoning",
        }
        facts += [label for key, label in policies.items() if key in props]
    elif kind == "AWS::ApiGateway::RestApi":
        types = _mapping(props.get("EndpointConfiguration")).get("Types")
        facts += [_text(t) for t in _as_list(types) if t is not None]
        for method in row.attached:
            if method.type == "AWS::ApiGateway::Method":
                parts = method.construct.split("/")
                route = parts[parts.index("Default") + 1 : -1] if "Default" in parts else []
                verb = _text(method.properties.get("HttpMethod")) or parts[-1]
                auth = _text(method.properties.get("AuthorizationType"))
                facts.append(f"{verb} /{'/'.join(route)}" + (f" ({auth})" if auth else ""))
    elif kind == "AWS::CloudWatch::Dashboard":
        facts += [_text(props["DashboardName"])] if "DashboardName" in props else []
    return [f for f in facts if f]


def _describe(row: Row) -> None:
    if row.count > 1:
        names = sorted({_relative(m.construct, row.group) for m in row.members})
        row.title = ", ".join(names)
        row.details = [row.title]
    else:
        member = row.members[0]
        row.title = (
            _endpoint_service(member)
            if row.type == "AWS::EC2::VPCEndpoint"
            else _relative(member.construct, row.group)
        )
        row.details = _facts(row)
    # attached low-level resources, without the row's own service prefix (EC2::Subnet -> Subnet)
    service = row.type.rsplit("::", 1)[0] + "::"
    attached = Counter(r.type.replace(service, "", 1) for r in row.attached)
    row.details += _counts_text(attached)


class _Analyzer:
    def __init__(self, assembly: Assembly) -> None:
        self.assembly = assembly
        self.index = _Index(assembly)
        self.rows: dict[str, Row] = {}
        self.row_of: dict[tuple[str, str], str] = {}  # resource key -> row key
        self.policies_of: dict[tuple[str, str], list[Resource]] = {}  # role -> its policies
        self._groups: (
            tuple[
                dict[tuple[str, str], list[tuple[tuple[str, str], str]]],
                dict[tuple[str, str], list[Resource]],
            ]
            | None
        ) = None
        self._attach_policies()

    # -- IAM helpers

    def _attach_policies(self) -> None:
        for stack in self.assembly.stacks:
            for res in stack.resources:
                if res.type in _POLICY_TYPES:
                    for role, _ref in self.index.references_in(res, res.properties.get("Roles")):
                        self.policies_of.setdefault(role.key, []).append(res)
                elif res.type == "AWS::IAM::Role":
                    arns = res.properties.get("ManagedPolicyArns")
                    for policy, _ref in self.index.references_in(res, arns):
                        if policy.type in _POLICY_TYPES:
                            self.policies_of.setdefault(res.key, []).append(policy)

    def _roles_of_policy(self, policy: Resource) -> list[Resource]:
        return sorted(
            (
                self.index.by_key[key]
                for key, policies in self.policies_of.items()
                if policy in policies
            ),
            key=lambda r: r.key,
        )

    def statements(self, role: Resource) -> list[Mapping[str, Any]]:
        """Allow statements of a role: inline policies and attached policies."""
        documents = [
            _mapping(p).get("PolicyDocument") for p in _as_list(role.properties.get("Policies"))
        ]
        documents += [
            p.properties.get("PolicyDocument") for p in self.policies_of.get(role.key, [])
        ]
        return [
            s
            for doc in documents
            for s in _statement_list(doc)
            if s.get("Effect", "Allow") == "Allow"
        ]

    # -- rows

    def _is_counted(self, res: Resource) -> bool:
        if res.type in LOW_LEVEL_TYPES or res.type in CDK_CUSTOM_TYPES:
            return True
        if res.type == "AWS::IAM::Role":
            return is_service_role(res)
        if res.type in _POLICY_TYPES:
            roles = self._roles_of_policy(res)
            return bool(roles) and all(is_service_role(r) for r in roles)
        return False

    def stack_view(self, stack: Stack, level: int) -> StackView:
        groups: dict[str, list[Resource]] = {}
        internals: Counter[str] = Counter()
        for res in stack.resources:
            name = res.group or "(no construct path)"
            if is_internal_group(name):
                internals[res.type] += 1
            else:
                groups.setdefault(name, []).append(res)
        views: list[Group] = []
        loose: Counter[str] = Counter()
        loose_names: list[str] = []
        for name, members in groups.items():
            group = self._group(stack, name, members)
            if group.rows:
                views.append(group)
            else:
                loose.update(group.counted)
                loose_names.append(name)
        return StackView(stack, level, views, loose, loose_names, internals)

    def _group(self, stack: Stack, name: str, members: list[Resource]) -> Group:
        rows: dict[str, Row] = {}
        counted: list[Resource] = []
        for res in members:
            if self._is_counted(res):
                counted.append(res)
                continue
            single = res.type in SINGLE_ROW_TYPES or res.type.startswith("Custom::")
            key = (
                f"{stack.id}/{res.construct or res.logical_id}"
                if single
                else (f"{stack.id}/{name}/{res.type}")
            )
            while key in rows and single:  # two resources of one construct
                key += "'"
            rows.setdefault(key, Row(key, stack.id, name, res.type, [])).members.append(res)
        by_construct = {m.construct: row for row in rows.values() for m in row.members}
        footer: Counter[str] = Counter()
        for res in counted:
            parts = res.construct.split("/")
            owner = next(
                (
                    by_construct["/".join(parts[:i])]
                    for i in range(len(parts), 1, -1)
                    if "/".join(parts[:i]) in by_construct
                ),
                None,
            )
            if owner is not None:
                owner.attached.append(res)
                self.row_of[res.key] = owner.key
            else:
                footer[res.type] += 1
                if len(rows) == 1:  # flows from or to it are the construct's
                    self.row_of[res.key] = next(iter(rows))
        for row in rows.values():
            _describe(row)
            self.rows[row.key] = row
            for member in row.members:
                self.row_of[member.key] = row.key
        return Group(name, list(rows.values()), footer, len(members))

    # -- flows

    def flows(self) -> list[Flow]:
        found: dict[tuple[str, str], tuple[int, str, set[str]]] = {}

        def add(source: Resource, target: Resource, rule: tuple[int, str, str]) -> None:
            src, dst = self.row_of.get(source.key), self.row_of.get(target.key)
            if src is None or dst is None or src == dst:
                return
            rank, kind, label = rule
            old = found.get((src, dst))
            if old is None or rank < old[0]:
                found[(src, dst)] = (rank, kind, {label} | (old[2] if old else set()))
            else:
                old[2].add(label)

        for stack in self.assembly.stacks:
            for res in stack.resources:
                for target, ref in self.index.references(res):
                    rule = _reference_rule(res, target, ref.where)
                    if rule is not None:
                        if rule[3]:
                            add(target, res, rule[:3])
                        else:
                            add(res, target, rule[:3])
        for source, target, label in self._network_flows():
            add(source, target, (1, "network", label))
        for source, target, label in self._access_flows():
            add(source, target, (2, "access", label))
        # Monitoring and notifications: one arrow per construct and target (a dashboard and
        # its alarms watch the same function), from the construct's first row.
        position = {key: i for i, key in enumerate(self.rows)}
        merged: dict[tuple[str, ...], tuple[str, str, str, set[str]]] = {}
        for (src, dst), (_rank, kind, labels) in sorted(
            found.items(), key=lambda item: (position[item[0][0]], position[item[0][1]])
        ):
            row = self.rows[src]
            key = (row.stack, row.group, dst, kind) if kind in _PER_CONSTRUCT else (src, dst)
            if key in merged:
                merged[key][3].update(labels)
            else:
                merged[key] = (src, dst, kind, set(labels))
        return [
            Flow(src, dst, _label_text(labels), kind) for src, dst, kind, labels in merged.values()
        ]

    def security_groups(
        self,
    ) -> tuple[
        dict[tuple[str, str], list[tuple[tuple[str, str], str]]],
        dict[tuple[str, str], list[Resource]],
    ]:
        """(group -> [(admitted source group, port)], group -> resources that hold it)."""
        if self._groups is not None:
            return self._groups
        admits: dict[tuple[str, str], list[tuple[tuple[str, str], str]]] = {}
        holders: dict[tuple[str, str], list[Resource]] = {}
        for stack in self.assembly.stacks:
            for res in stack.resources:
                props = res.properties
                if res.type == "AWS::EC2::SecurityGroupIngress":
                    groups = [t for t, _r in self.index.references_in(res, props.get("GroupId"))]
                    source_id = props.get("SourceSecurityGroupId")
                    sources = list(self.index.references_in(res, source_id))
                    for group in groups:
                        for source, _r in sources:
                            admits.setdefault(group.key, []).append((source.key, _port(props)))
                elif res.type == "AWS::EC2::SecurityGroup":
                    for raw in _as_list(props.get("SecurityGroupIngress")):
                        rule = _mapping(raw)
                        for source, _r in self.index.references_in(
                            res, rule.get("SourceSecurityGroupId")
                        ):
                            admits.setdefault(res.key, []).append((source.key, _port(rule)))
                elif not res.type.startswith("AWS::EC2::SecurityGroup"):
                    for target, ref in self.index.references(res):
                        if target.type == "AWS::EC2::SecurityGroup" and any(
                            "SecurityGroup" in w for w in ref.where
                        ):
                            holders.setdefault(target.key, []).append(res)
        self._groups = (admits, holders)
        return self._groups

    def _network_flows(self) -> Iterator[tuple[Resource, Resource, str]]:
        """Holder of security group X -> holder of group Y when Y admits X."""
        admits, holders = self.security_groups()
        for group_key, rules in sorted(admits.items()):
            for source_group, port in rules:
                for source in holders.get(source_group, []):
                    for target in holders.get(group_key, []):
                        if target != source and self._may_use(source, target):
                            yield source, target, port

    def _may_use(self, source: Resource, target: Resource) -> bool:
        """For a function and an endpoint: whether the function's role may call its service."""
        if source.type != "AWS::Lambda::Function" or target.type != "AWS::EC2::VPCEndpoint":
            return True
        roles = [r for r, _ref in self.index.references_in(source, source.properties.get("Role"))]
        if not roles:
            return True  # an imported role: unknown
        service = _endpoint_service(target)
        actions = [a for role in roles for s in self.statements(role) for a in _actions(s)]
        return any(service in _endpoint_services(action) for action in actions)

    def _access_flows(self) -> Iterator[tuple[Resource, Resource, str]]:
        """Role (not a service role) -> what its policies allow on named resources."""
        for stack in self.assembly.stacks:
            for role in stack.resources:
                if role.type != "AWS::IAM::Role" or is_service_role(role):
                    continue
                for statement in self.statements(role):
                    owner = self._statement_owner(role, statement)
                    targets = self.index.references_in(owner, statement.get("Resource"))
                    for target, _ref in targets:
                        if target.type.split("::")[1:2] not in (["IAM"], ["KMS"], ["SSM"]):
                            for action in _actions(statement):
                                yield role, target, action

    def _statement_owner(self, role: Resource, statement: Mapping[str, Any]) -> Resource:
        """The resource whose template holds ``statement`` (references resolve there)."""
        for policy in self.policies_of.get(role.key, []):
            if statement in _statement_list(policy.properties.get("PolicyDocument")):
                return policy
        return role


_PER_CONSTRUCT = ("observe", "notify")


def _port(props: Mapping[str, Any]) -> str:
    low, high = props.get("FromPort"), props.get("ToPort")
    protocol = _text(props.get("IpProtocol")) or "tcp"
    if low == high == 443 and protocol == "tcp":
        return "HTTPS 443"
    if low is None:
        return protocol
    return f"{protocol} {_text(low)}" + (f"-{_text(high)}" if high not in (None, low) else "")


def _actions(statement: Mapping[str, Any]) -> list[str]:
    return [a for a in _as_list(statement.get("Action")) if isinstance(a, str)]


def _label_text(labels: Iterable[str]) -> str:
    """Flow labels joined; IAM actions compressed (``bedrock:A, B``)."""
    actions = [label for label in labels if ":" in label and " " not in label]
    words = sorted(set(labels) - set(actions))
    return ", ".join([*words, _actions_text(actions)] if actions else words)


def _actions_text(actions: Sequence[str]) -> str:
    """``bedrock:InvokeModel, bedrock:X`` -> ``bedrock:InvokeModel, X`` (sorted, one prefix)."""
    parts: list[str] = []
    previous = ""
    for action in sorted(set(actions)):
        prefix, _, name = action.partition(":")
        parts.append(name if prefix == previous and name else action)
        previous = prefix
    return ", ".join(parts) or "allowed"


_BEDROCK_ENDPOINTS = {"bedrock", "bedrock-runtime", "bedrock-agent", "bedrock-agent-runtime"}
_ACTION_ENDPOINT = {"cloudwatch": "monitoring", "states": "states", "sts": "sts"}


def _endpoint_services(action: str) -> set[str]:
    """The VPC endpoint services (``bedrock-runtime``...) an IAM action is called through."""
    prefix, _, name = action.partition(":")
    prefix = prefix.lower()
    if action == "*":
        return {"*"} | _BEDROCK_ENDPOINTS | set(_ACTION_ENDPOINT.values())
    if prefix == "bedrock":
        if "*" in name:
            return set(_BEDROCK_ENDPOINTS)
        runtime = ("InvokeModel", "Converse", "ApplyGuardrail", "CountTokens", "StartAsyncInvoke")
        if name.startswith(runtime):
            return {"bedrock-runtime"}
        if name.startswith(
            ("Retrieve", "InvokeAgent", "InvokeInlineAgent", "InvokeFlow", "Rerank")
        ):
            return {"bedrock-agent-runtime"}
        return {"bedrock", "bedrock-agent"}
    return {_ACTION_ENDPOINT.get(prefix, prefix)}


_STRUCTURAL_SOURCES = (
    "AWS::IAM::",
    "AWS::SSM::Parameter",
    "AWS::Lambda::Permission",
    "AWS::KMS::",
    "AWS::EC2::SecurityGroup",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
)
_IGNORED_PROPERTIES = ("Tags", "ServiceToken", "Role", "KmsKeyArn", "KmsKeyId", "KmsMasterKeyId")


def _reference_rule(
    source: Resource, target: Resource, where: tuple[str, ...]
) -> tuple[int, str, str, bool] | None:
    """(rank, kind, label, reverse) of the flow that a reference stands for, or None."""
    if source.type.startswith(_STRUCTURAL_SOURCES) or source.key == target.key:
        return None
    if any(w in _IGNORED_PROPERTIES or "Policy" in w for w in where):
        return None
    path = "/".join(where).lower()
    kind = target.type
    if source.type == "AWS::ApiGateway::Method" and kind == "AWS::Lambda::Function":
        return (0, "invoke", "invokes", False) if "integration" in path else None
    if source.type.startswith("AWS::ApiGateway::") and kind == "AWS::EC2::VPCEndpoint":
        return 1, "network", "private API endpoint", True
    if source.type in ("AWS::Events::Rule", "AWS::Scheduler::Schedule") or (
        source.type == "AWS::SNS::Subscription" and kind == "AWS::Lambda::Function"
    ):
        return 0, "invoke", "triggers", False
    if source.type.startswith("AWS::CloudWatch::") and kind != "AWS::SNS::Topic":
        return 4, "observe", "monitors", False
    if source.type in ("AWS::Logs::MetricFilter", "AWS::Logs::SubscriptionFilter"):
        return (4, "observe", "filters", True) if kind == "AWS::Logs::LogGroup" else None
    if kind in ("AWS::Logs::LogGroup", "AWS::S3::Bucket"):
        logging = "log" in path or "log" in source.type.lower()
        return (3, "logs", "logs", False) if logging else (0, "invoke", "uses", False)
    if kind == "AWS::SNS::Topic":
        return 4, "notify", "notifies", False
    if kind == "AWS::SQS::Queue" and ("deadletter" in path or "redrive" in path):
        return 4, "notify", "dead letters", False
    if kind.startswith("AWS::Bedrock::"):
        return 0, "invoke", "uses", False
    return None


def _levels(assembly: Assembly, extra: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Dependency level of each stack: 0 without dependencies, else 1 + the deepest one."""
    needs: dict[str, set[str]] = {s.id: set(s.dependencies) for s in assembly.stacks}
    for consumer, producer in extra:
        needs[consumer].add(producer)
    levels: dict[str, int] = {}

    def level(stack_id: str, visiting: frozenset[str]) -> int:
        if stack_id not in levels:
            deps = [d for d in sorted(needs[stack_id]) if d not in visiting and d in needs]
            levels[stack_id] = 1 + max((level(d, visiting | {stack_id}) for d in deps), default=-1)
        return levels[stack_id]

    for stack in assembly.stacks:
        level(stack.id, frozenset())
    return levels


def _links(assembly: Assembly, index: _Index) -> list[Flow]:
    """Stack -> stack arrows: cross-stack references, then dependencies without any."""
    referred: dict[tuple[str, str], dict[str, int]] = {}
    for stack in assembly.stacks:
        for res in stack.resources:
            for ref in _refs(res.properties):
                if ref.kind == "local":
                    continue
                for target in index.resolve(stack, ref):
                    if target.stack != stack.id:
                        groups = referred.setdefault((target.stack, stack.id), {})
                        name = target.group or target.logical_id
                        groups[name] = groups.get(name, 0) + 1
    links = []
    for (producer, consumer), groups in referred.items():
        count = sum(groups.values())
        label = ", ".join(sorted(groups)) + f" ({count} reference{'s' if count > 1 else ''})"
        links.append(Flow(producer, consumer, label, "reference"))
    for stack in assembly.stacks:
        for dep in stack.dependencies:
            if (dep, stack.id) not in referred:
                links.append(Flow(dep, stack.id, "deployment order only", "dependency"))
    return links


def analyze(assembly: Assembly) -> Diagram:
    """The diagram model of an assembly: columns of stacks, rows, stack links and flows."""
    analyzer = _Analyzer(assembly)
    links = _links(assembly, analyzer.index)
    levels = _levels(assembly, ((link.target, link.source) for link in links))
    width = max(levels.values(), default=-1) + 1
    columns: list[list[StackView]] = [[] for _ in range(width)]
    for stack in sorted(assembly.stacks, key=lambda s: s.order):
        columns[levels[stack.id]].append(analyzer.stack_view(stack, levels[stack.id]))
    order = {
        row.key: (view.level, v, g, r)
        for v, view in enumerate(v for c in columns for v in c)
        for g, group in enumerate(view.groups)
        for r, row in enumerate(group.rows)
    }
    flows = sorted(analyzer.flows(), key=lambda f: (order[f.source], order[f.target]))
    stack_order = {view.stack.id: i for i, view in enumerate(v for c in columns for v in c)}
    links.sort(key=lambda f: (stack_order[f.source], stack_order[f.target]))
    envs = environment_names(assembly)
    regions = sorted({s.region for s in assembly.stacks if s.region})
    title = "Bedrock landing zone architecture"
    if envs:
        title += f" · environment {', '.join(envs)}"
    total = sum(len(s.resources) for s in assembly.stacks)
    subtitle = " · ".join(
        [
            f"{len(assembly.stacks)} stack{'s' if len(assembly.stacks) != 1 else ''}",
            f"{total} resources",
            *regions,
            "generated from the synthesized cloud assembly "
            "(manifest.json, *.template.json, tree.json)",
        ]
    )
    path = _PathFinder(analyzer).build()
    return Diagram(title, subtitle, columns, analyzer.rows, links, flows, path)


# --------------------------------------------------------------------------- request path

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


_MODEL_ARN = re.compile(
    r"(?:foundation-model|inference-profile|application-inference-profile|provisioned-model)"
    r"/([^,\s\"*]+)"
)
_GUARDRAIL_POLICIES = {
    "ContentPolicyConfig": "content filters",
    "TopicPolicyConfig": "denied topics",
    "WordPolicyConfig": "word filters",
    "SensitiveInformationPolicyConfig": "PII",
    "ContextualGroundingPolicyConfig": "grounding",
    "AutomatedReasoningPolicyConfig": "reasoning",
}


def _unique(items: Iterable[Resource]) -> list[Resource]:
    seen: dict[tuple[str, str], Resource] = {}
    for item in items:
        seen.setdefault(item.key, item)
    return list(seen.values())


def _method_route(method: Resource) -> str:
    """``POST /v1/converse (AWS_IAM)`` from a method's construct path and properties."""
    parts = method.construct.split("/")
    route = parts[parts.index("Default") + 1 : -1] if "Default" in parts else []
    verb = _text(method.properties.get("HttpMethod")) or parts[-1]
    auth = _text(method.properties.get("AuthorizationType"))
    return f"{verb} /{'/'.join(route)}" + (f" ({auth})" if auth else "")


def _and(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


class _PathFinder:
    """Builds the request path from the analyzer's index and security groups."""

    def __init__(self, analyzer: _Analyzer) -> None:
        self.analyzer = analyzer
        self.assembly = analyzer.assembly
        # Teams find the API and the guardrail through SSM parameters: follow them here.
        self.index = _Index(analyzer.assembly, through_ssm=True)
        self.resources = [r for s in self.assembly.stacks for r in s.resources]
        self.nodes: list[PathNode] = []
        self.steps: list[PathStep] = []
        self.notes: list[str] = []
        self.res_of: dict[str, Resource] = {}  # node key -> its resource

    # -- helpers

    def name(self, res: Resource) -> str:
        return f"{self.assembly.stack(res.stack).display}/{res.construct or res.logical_id}"

    def of_type(self, kind: str) -> list[Resource]:
        return [r for r in self.resources if r.type == kind]

    def refs(self, res: Resource, value: Any, kind: str) -> list[Resource]:
        return _unique(t for t, _r in self.index.references_in(res, value) if t.type == kind)

    def add(self, res: Resource | None, kind: str, service: str, details: list[str]) -> str:
        key = _node_key(kind, res)
        if any(n.key == key for n in self.nodes):
            return key
        in_vpc = kind in ("caller", "api-endpoint", "function", "runtime-endpoint")
        if kind == "function" and res is not None and not res.properties.get("VpcConfig"):
            in_vpc = False
        name = self.name(res) if res else ""
        self.nodes.append(PathNode(key, kind, service, name, [d for d in details if d], in_vpc))
        if res is not None:
            self.res_of[key] = res
        return key

    def kind_of(self, key: str) -> str:
        return next(n.kind for n in self.nodes if n.key == key)

    def step(self, source: str, target: str, label: str, text: str) -> None:
        self.steps.append(PathStep(source, target, label, text))

    def admitted(self, endpoint: Resource) -> list[tuple[Resource, str]]:
        """(source security group, port) that the endpoint's security groups admit."""
        admits, _holders = self.analyzer.security_groups()
        groups = self.refs(endpoint, endpoint.properties.get("SecurityGroupIds"), _SG)
        found: list[tuple[Resource, str]] = []
        for group in groups:
            for source_key, port in admits.get(group.key, []):
                source = self.index.by_key.get(source_key)
                if source is not None and all(source != f for f, _p in found):
                    found.append((source, port))
        return found

    def roles_allowed(self, prefix: str, targets: Sequence[Resource]) -> list[Resource]:
        """Roles (not service roles) whose policies allow ``prefix`` actions; with ``targets``,
        on one of them."""
        roles = []
        for role in self.of_type("AWS::IAM::Role"):
            if is_service_role(role):
                continue
            for statement in self.analyzer.statements(role):
                actions = [a.lower() for a in _actions(statement)]
                if not any(a == "*" or a.startswith(prefix) for a in actions):
                    continue
                owner = self.analyzer._statement_owner(role, statement)
                named = [t for t, _r in self.index.references_in(owner, statement.get("Resource"))]
                if not targets or any(t in targets for t in named):
                    roles.append(role)
                    break
        return roles

    def condition_refs(self, res: Resource, document: Any) -> list[Resource]:
        """Resources referred to in the conditions of a policy document."""
        found = []
        for statement in _statement_list(document):
            found += [t for t, _r in self.index.references_in(res, statement.get("Condition"))]
        return _unique(found)

    # -- the path

    def build(self) -> RequestPath:
        endpoints = self.of_type("AWS::EC2::VPCEndpoint")
        runtime_eps = [e for e in endpoints if _endpoint_service(e) == "bedrock-runtime"]
        apis = [
            a
            for a in self.of_type("AWS::ApiGateway::RestApi")
            if "PRIVATE"
            in [
                _text(t)
                for t in _as_list(_mapping(a.properties.get("EndpointConfiguration")).get("Types"))
            ]
        ]
        methods = {
            api.key: [
                m
                for m in self.of_type("AWS::ApiGateway::Method")
                if api in self.refs(m, m.properties.get("RestApiId"), api.type)
            ]
            for api in apis
        }
        api_eps = _unique(
            e
            for api in apis
            for e in self.refs(
                api,
                _mapping(api.properties.get("EndpointConfiguration")).get("VpcEndpointIds"),
                "AWS::EC2::VPCEndpoint",
            )
        )
        functions = _unique(
            f
            for api in apis
            for m in methods[api.key]
            for f in self.refs(m, m.properties.get("Integration"), "AWS::Lambda::Function")
        )
        if not (apis or runtime_eps or self.of_type(_GUARDRAIL)):
            self.notes.append(
                "No request path to Amazon Bedrock in this assembly: no private REST API, no "
                "bedrock-runtime VPC endpoint and no guardrail."
            )
            return self.result()
        if not apis:
            self.notes.append(
                "No private REST API in this assembly: callers use Amazon Bedrock directly."
            )
        if not runtime_eps:
            self.notes.append(
                "No bedrock-runtime VPC endpoint in this assembly: calls go to the public endpoint."
            )

        caller = self.caller(api_eps if apis else runtime_eps, apis)
        previous = [caller]
        if api_eps:
            keys = [self.api_endpoint(ep, caller) for ep in api_eps]
            previous = keys
        api_keys = [self.api(api, methods[api.key], api_eps, previous) for api in apis]
        previous = api_keys or previous
        function_keys = [self.function(fn, apis, methods) for fn in functions]
        previous = function_keys or previous
        runtime_keys = [self.runtime_endpoint(ep, previous) for ep in runtime_eps]
        if runtime_keys:  # a function that reaches none calls Bedrock's public endpoint
            reached = {s.source for s in self.steps if s.target in runtime_keys}
            previous = runtime_keys + [k for k in function_keys if k not in reached]
        else:
            previous = function_keys or [caller]
        bedrock = self.bedrock(runtime_eps, functions, previous)
        self.guardrails(bedrock, runtime_eps, functions)
        self.logs(bedrock)
        return self.result()

    def caller(self, first_hop: Sequence[Resource], apis: Sequence[Resource]) -> str:
        groups = _unique(g for ep in first_hop for g, _port in self.admitted(ep))
        details = [f"security group {self.name(g)}" for g in groups]
        if apis:
            roles = self.roles_allowed("execute-api:", apis)
            what = "execute-api:Invoke"
        else:
            roles = self.roles_allowed("bedrock:invoke", [])
            what = "bedrock:InvokeModel"
        if roles:
            details.append(f"IAM roles allowed {what}: {', '.join(self.name(r) for r in roles)}")
        in_vpc = bool(first_hop)
        service = "Caller in the VPC" if in_vpc else "Caller"
        key = self.add(None, "caller", service, details)
        self.nodes[-1].in_vpc = in_vpc
        return key

    def api_endpoint(self, endpoint: Resource, caller: str) -> str:
        key = self.add(
            endpoint, "api-endpoint", "VPC endpoint (interface)", self.endpoint_facts(endpoint)
        )
        ports = sorted({port for _g, port in self.admitted(endpoint)}) or ["HTTPS"]
        groups = [self.name(g) for g, _p in self.admitted(endpoint)]
        source = f"from security group {_and(groups)}" if groups else "from the VPC"
        self.step(
            caller,
            key,
            ", ".join(ports),
            f"The caller sends the request to the {_endpoint_service(endpoint)} interface endpoint "
            f"{self.name(endpoint)} ({', '.join(ports)} {source}).",
        )
        return key

    def endpoint_facts(self, endpoint: Resource) -> list[str]:
        props = endpoint.properties
        facts = [_endpoint_service(endpoint)]
        facts.append("private DNS" if props.get("PrivateDnsEnabled") is True else "")
        subnets = _as_list(props.get("SubnetIds")) if props.get("SubnetIds") else []
        facts.append(f"{len(subnets)} subnets" if subnets else "")
        return facts

    def api(
        self,
        api: Resource,
        methods: Sequence[Resource],
        endpoints: Sequence[Resource],
        previous: Sequence[str],
    ) -> str:
        routes = sorted({_method_route(m) for m in methods})
        stages = sorted(
            {
                _text(s.properties.get("StageName"))
                for s in self.of_type("AWS::ApiGateway::Stage")
                if api in self.refs(s, s.properties.get("RestApiId"), api.type)
            }
            - {""}
        )
        policy_eps = [
            e for e in self.condition_refs(api, api.properties.get("Policy")) if e in endpoints
        ]
        details = ["PRIVATE REST API", *routes]
        details.append(f"stage {', '.join(stages)}" if stages else "")
        details.append("resource policy: aws:SourceVpce" if policy_eps else "")
        key = self.add(api, "api", "Amazon API Gateway", details)
        named = self.refs(
            api,
            _mapping(api.properties.get("EndpointConfiguration")).get("VpcEndpointIds"),
            "AWS::EC2::VPCEndpoint",
        )
        for source in previous:
            if self.kind_of(source) == "api-endpoint" and self.res_of[source] not in named:
                continue
            policy = (
                "; its resource policy denies requests that come any other way (aws:SourceVpce)"
                if policy_eps
                else ""
            )
            self.step(
                source,
                key,
                "private API",
                f"The endpoint forwards it to the private REST API {self.name(api)}, which names "
                f"the endpoint (EndpointConfiguration.VpcEndpointIds){policy}.",
            )
        return key

    def function(
        self,
        fn: Resource,
        apis: Sequence[Resource],
        methods: Mapping[tuple[str, str], list[Resource]],
    ) -> str:
        props = fn.properties
        runtime = _text(props.get("Runtime")) or "container image"
        archs = [_text(a) for a in _as_list(props.get("Architectures")) if a is not None]
        size = f"{_text(props['MemorySize'])} MB" if "MemorySize" in props else ""
        details = [" · ".join(x for x in [runtime, *archs, size] if x)]
        if "ReservedConcurrentExecutions" in props:
            details.append(f"reserved concurrency {_text(props['ReservedConcurrentExecutions'])}")
        if "Timeout" in props:
            details.append(f"timeout {_text(props['Timeout'])} s")
        vpc = _mapping(props.get("VpcConfig"))
        if vpc:
            subnets = _as_list(vpc.get("SubnetIds")) if vpc.get("SubnetIds") else []
            details.append(f"in the VPC ({len(subnets)} subnets)" if subnets else "in the VPC")
        key = self.add(fn, "function", "AWS Lambda function", details)
        for api in apis:
            invoking = [
                m
                for m in methods[api.key]
                if fn in self.refs(m, m.properties.get("Integration"), fn.type)
            ]
            if not invoking:
                continue
            routes = sorted({_method_route(m) for m in invoking})
            label = routes[0].split(" (")[0] if len(routes) == 1 else f"{len(routes)} routes"
            kinds = sorted(
                {_text(_mapping(m.properties.get("Integration")).get("Type")) for m in invoking}
                - {""}
            )
            integration = f" ({', '.join(kinds)} integration)" if kinds else ""
            self.step(
                _node_key("api", api),
                key,
                label,
                f"The API invokes the function{integration} for {_and(routes)}.",
            )
        return key

    def runtime_endpoint(self, endpoint: Resource, previous: Sequence[str]) -> str:
        facts = self.endpoint_facts(endpoint)
        models = self.models(_statement_list(endpoint.properties.get("PolicyDocument")))
        guarded = [
            g
            for g in self.condition_refs(endpoint, endpoint.properties.get("PolicyDocument"))
            if g.type == _GUARDRAIL
        ]
        if models:
            facts.append(
                f"policy: {len(models)} models" + (", guardrail required" if guarded else "")
            )
        key = self.add(endpoint, "runtime-endpoint", "VPC endpoint (interface)", facts)
        admitted = self.admitted(endpoint)
        for source in previous:
            res = self.res_of.get(source)
            port = ", ".join(sorted({p for _g, p in admitted})) or "HTTPS"
            if self.kind_of(source) == "function" and res is not None:
                if not self.reaches(res, endpoint):
                    continue
                actions = self.bedrock_actions(res)
                allowed = f"; its role allows {_actions_text(actions)}" if actions else ""
                text = (
                    "The function calls Amazon Bedrock through the bedrock-runtime interface "
                    f"endpoint {self.name(endpoint)} ({port}, admitted by its security group"
                    f"{allowed})."
                )
            elif self.kind_of(source) == "caller":
                text = (
                    "The caller calls Amazon Bedrock through the bedrock-runtime interface "
                    f"endpoint {self.name(endpoint)} ({port})."
                )
            else:
                continue
            self.step(source, key, port, text)
        return key

    def reaches(self, fn: Resource, endpoint: Resource) -> bool:
        admits, holders = self.analyzer.security_groups()
        for group in self.refs(endpoint, endpoint.properties.get("SecurityGroupIds"), _SG):
            for source_key, _port in admits.get(group.key, []):
                if fn in holders.get(source_key, []) and self.analyzer._may_use(fn, endpoint):
                    return True
        return False

    def bedrock_actions(self, fn: Resource) -> list[str]:
        roles = [r for r, _ref in self.index.references_in(fn, fn.properties.get("Role"))]
        return sorted(
            {
                a
                for role in roles
                for s in self.analyzer.statements(role)
                for a in _actions(s)
                if a.lower().startswith("bedrock:")
            }
        )

    def models(self, statements: Iterable[Mapping[str, Any]]) -> list[str]:
        """Model and inference profile ids named in the resources of policy statements."""
        found: list[str] = []
        for statement in statements:
            for value in _as_list(statement.get("Resource")):
                for model in _MODEL_ARN.findall(resolve_text(value)):
                    if "${" not in model and model not in found:
                        found.append(model)
        return found

    def bedrock(
        self,
        runtime_eps: Sequence[Resource],
        functions: Sequence[Resource],
        previous: Sequence[str],
    ) -> str:
        source = "the endpoint policy"
        models = self.models(
            s for ep in runtime_eps for s in _statement_list(ep.properties.get("PolicyDocument"))
        )
        if not models:
            source = "the function's role"
            models = self.models(
                s
                for fn in functions
                for role, _ref in self.index.references_in(fn, fn.properties.get("Role"))
                for s in self.analyzer.statements(role)
            )
        details = ["bedrock-runtime (AWS service)"]
        if models:
            details += [f"model ids allowed by {source}:", *(f"\u2022\u00a0{m}" for m in models)]
        key = self.add(None, "bedrock", "Amazon Bedrock", details)
        for source_key in previous:
            if self.kind_of(source_key) == "runtime-endpoint":
                self.step(
                    source_key,
                    key,
                    "PrivateLink",
                    "The endpoint carries the call to Amazon Bedrock over AWS PrivateLink, without "
                    "leaving the AWS network"
                    + (f"; its policy allows {len(models)} models" if models else "")
                    + ".",
                )
            else:
                who = "The function" if self.kind_of(source_key) == "function" else "The caller"
                self.step(
                    source_key,
                    key,
                    "HTTPS",
                    f"{who} calls the public Amazon Bedrock endpoint (it reaches no "
                    "bedrock-runtime VPC endpoint of this assembly).",
                )
        return key

    def guardrails(
        self, bedrock: str, runtime_eps: Sequence[Resource], functions: Sequence[Resource]
    ) -> None:
        all_guardrails = self.of_type(_GUARDRAIL)
        requirers: dict[tuple[str, str], list[str]] = {}
        for ep in runtime_eps:
            for g in self.condition_refs(ep, ep.properties.get("PolicyDocument")):
                requirers.setdefault(g.key, []).append("the bedrock-runtime endpoint policy")
        for res in self.resources:
            if res.type in _POLICY_TYPES:
                for g in self.condition_refs(res, res.properties.get("PolicyDocument")):
                    if g.type == _GUARDRAIL:
                        requirers.setdefault(g.key, []).append("policy")
        used = _unique(
            g
            for fn in functions
            for g in self.refs(fn, fn.properties.get("Environment"), _GUARDRAIL)
        )
        guardrails = (
            _unique([*used, *(g for g in all_guardrails if g.key in requirers)]) or all_guardrails
        )
        if not guardrails:
            self.notes.append("No Amazon Bedrock guardrail in this assembly.")
        for guardrail in guardrails:
            props = guardrail.properties
            versions = [
                v
                for v in self.of_type("AWS::Bedrock::GuardrailVersion")
                if guardrail in self.refs(v, v.properties, _GUARDRAIL)
            ]
            details = [" · ".join(label for k, label in _GUARDRAIL_POLICIES.items() if k in props)]
            details.append(f"{_plural(len(versions), 'version')}" if versions else "")
            details.append("KMS" if props.get("KmsKeyArn") else "")
            who = requirers.get(guardrail.key, [])
            named = [w for w in who if w != "policy"]
            count = who.count("policy")
            if count:
                named.append(_plural(count, "IAM policy").replace("policys", "policies"))
            details.append(
                f"required by {_and(sorted(set(named), key=named.index))}" if named else ""
            )
            key = self.add(guardrail, "guardrail", "Amazon Bedrock Guardrails", details)
            condition = (
                f" ({_and(named)} allow calls only with it: bedrock:GuardrailIdentifier)"
                if named
                else ""
            )
            used_by = " The function passes it with every call." if guardrail in used else ""
            self.step(
                bedrock,
                key,
                "applies",
                f"Amazon Bedrock applies the guardrail {self.name(guardrail)} to the prompt and to "
                f"the answer{condition}.{used_by}",
            )

    def logs(self, bedrock: str) -> None:
        configs = [
            r
            for r in self.resources
            if r.type.startswith(("Custom::", "AWS::Bedrock::", "AWS::CloudFormation::Custom"))
            and (
                "InvocationLogging" in r.type
                or "putmodelinvocationloggingconfiguration" in json.dumps(r.properties).lower()
            )
        ]
        if not configs:
            self.notes.append("No model invocation logging configuration in this assembly.")
        for config in configs:
            targets = _unique(
                t
                for t, _r in self.index.references(config)
                if t.type in ("AWS::S3::Bucket", "AWS::Logs::LogGroup")
            )
            for target in sorted(targets, key=lambda t: t.type != "AWS::S3::Bucket"):
                props = target.properties
                if target.type == "AWS::S3::Bucket":
                    encryption = json.dumps(props.get("BucketEncryption", {}), sort_keys=True)
                    details = [
                        "SSE-KMS"
                        if "aws:kms" in encryption
                        else "SSE-S3"
                        if encryption != "{}"
                        else "",
                        "versioned"
                        if _mapping(props.get("VersioningConfiguration")).get("Status") == "Enabled"
                        else "",
                        "object lock" if props.get("ObjectLockEnabled") is True else "",
                    ]
                    service, where = "Amazon S3 bucket", "the bucket"
                else:
                    days = props.get("RetentionInDays")
                    details = [
                        f"{_text(days)} days" if days is not None else "kept forever",
                        "KMS" if props.get("KmsKeyId") else "",
                    ]
                    service, where = "CloudWatch Logs log group", "the log group"
                key = self.add(target, "log", service, [" · ".join(d for d in details if d)])
                self.step(
                    bedrock,
                    key,
                    "invocation logs",
                    f"Model invocation logging ({self.name(config)}) writes each request and "
                    f"response to {where} {self.name(target)}.",
                )

    def result(self) -> RequestPath:
        path = self.vpc()
        accounts = sorted(
            {
                s.environment.split("/")[2]
                for s in self.assembly.stacks
                if s.environment.count("/") == 3
            }
            - {"unknown-account"}
        )
        regions = sorted({s.region for s in self.assembly.stacks if s.region} - {"unknown-region"})
        owners = [f"account{'s' if len(accounts) > 1 else ''} {', '.join(accounts)}"]
        path.place = [*(owners if accounts else []), ", ".join(regions)]
        path.place = [p for p in path.place if p]
        return path

    def vpc(self) -> RequestPath:
        vpcs = self.of_type("AWS::EC2::VPC")
        in_vpc = [n for n in self.nodes if n.in_vpc]
        if not in_vpc:
            return RequestPath("", "", [], self.nodes, self.steps, self.notes)
        endpoints = [self.res_of[n.key] for n in self.nodes if n.kind.endswith("endpoint")]
        vpc_refs = (
            _unique(
                v
                for e in endpoints
                for v in self.refs(e, e.properties.get("VpcId"), "AWS::EC2::VPC")
            )
            or vpcs[:1]
        )
        if vpc_refs:
            vpc = vpc_refs[0]
            subnets = [
                s
                for s in self.of_type("AWS::EC2::Subnet")
                if vpc in self.refs(s, s.properties.get("VpcId"), vpc.type)
            ]
            label = f"VPC {_text(vpc.properties.get('CidrBlock')) or '(IPAM)'}"
            details = [_plural(len(subnets), "subnet")] if subnets else []
            return RequestPath(label, self.name(vpc), details, self.nodes, self.steps, self.notes)
        ids = sorted({_text(e.properties.get("VpcId")) for e in endpoints} - {""})
        label = f"VPC {', '.join(ids)}" if ids else "VPC"
        return RequestPath(
            label, "", ["existing VPC, imported by id"], self.nodes, self.steps, self.notes
        )


_SG = "AWS::EC2::SecurityGroup"


def _node_key(kind: str, res: Resource | None) -> str:
    return f"{kind}:{res.stack}/{res.logical_id}" if res else kind


_GUARDRAIL = "AWS::Bedrock::Guardrail"


def request_path(assembly: Assembly) -> RequestPath:
    """The request path of an assembly (see ``RequestPath``)."""
    return _PathFinder(_Analyzer(assembly)).build()


# --------------------------------------------------------------------------- layout

MARGIN = 24
HEADER_H = 78
GROUP_W = 300
STACK_HEAD = 46
STACK_PAD = 10
GROUP_HEAD = 24
GROUP_GAP = 10
ROW_INSET = 8
ROW_GAP = 5
LINE = 13  # detail and footer line step
LANE = 14  # distance between parallel arrows
CHANNEL_PAD = 16
STREET_BASE = 18
STREET_LANE = 12
MAX_DETAIL_LINES = 3

KIND_STYLE: dict[str, tuple[str, str]] = {
    "reference": ("#7d8998", "cross-stack reference (GetStackOutput / ImportValue)"),
    "dependency": ("#aab7b8", "stack dependency without references (manifest)"),
    "invoke": ("#0972d3", "invokes / uses"),
    "network": ("#8c4fff", "network path (security groups, VPC endpoints)"),
    "access": ("#dd344c", "IAM access (a role's policies allow it)"),
    "logs": ("#037f0c", "sends logs to"),
    "notify": ("#d45b07", "notifies (one arrow per construct and target)"),
    "observe": ("#0099a8", "monitors (one arrow per construct and target)"),
}

FONT_FAMILY = "DejaVu Sans, Verdana, Arial, Helvetica, sans-serif"
# Text classes are those of ``svg_text.TEXT_CLASSES`` (same sizes), so that they measure right.
_STYLE = (
    f"text{{font-family:{FONT_FAMILY}}}"
    ".bg{fill:#f2f3f3}"
    ".stack{fill:#ffffff;stroke:#879596;stroke-width:1.2}"
    ".group{fill:#fafafa;stroke:#c6cbd1;stroke-width:1}"
    ".row{fill:#ffffff;stroke:#d5dbdb;stroke-width:1}"
    ".node{fill:#ffffff;stroke-width:1.5}"
    ".region{fill:#ffffff;stroke:#00a4a6;stroke-width:1.5;stroke-dasharray:6 4}"
    ".vpc{fill:#f6f1ff;stroke:#8c4fff;stroke-width:2}"
    ".path-arrow{fill:none;stroke:#232f3e;stroke-width:2}"
    ".h1{font-size:18px;font-weight:bold;fill:#16191f}"
    ".h2{font-size:15px;font-weight:bold;fill:#16191f}"
    ".sub{font-size:11px;fill:#5f6b7a}"
    ".title{font-size:13px;font-weight:bold;fill:#16191f}"
    ".strong{font-size:11px;font-weight:bold;fill:#16191f}"
    ".meta{font-size:10px;fill:#5f6b7a}"
    ".badge{font-size:10px;fill:#5f6b7a}"
    ".body{font-size:11px;fill:#16191f}"
    ".head{font-size:12px;font-weight:bold;fill:#16191f}"
    ".num{font-size:9px;font-weight:bold;fill:#ffffff}"
    ".icon{font-size:11px;font-weight:bold;fill:#ffffff}"
    ".step{font-size:11px;font-weight:bold;fill:#ffffff}"
    ".edge{fill:none;stroke-width:1.6}"
    ".link{fill:none;stroke-width:2.5}"
)


def _width(text: str, css: str) -> float:
    return text_width(text, css)


def _wrap(text: str, max_px: float, css: str, max_lines: int) -> tuple[list[str], str | None]:
    """(lines, full text when the last line had to be shortened, else None)."""
    lines, cut = wrap_lines(text, max_px, css, max_lines)
    return lines, text if cut else None


@dataclass
class _RowBox:
    row: Row
    y: float  # relative to the stack box
    h: float
    title: list[str]  # lines
    badge: str  # beside the title; "" when it went to the details
    details: list[str]
    details_full: str | None = None  # the whole details when the last line is shortened


@dataclass
class _GroupBox:
    group: Group
    y: float
    h: float
    rows: list[_RowBox]
    footer: list[tuple[str, str | None]]  # (line, full text when shortened)


@dataclass
class _StackBox:
    view: StackView
    column: int
    h: float
    groups: list[_GroupBox]
    footer: list[tuple[str, str | None]]  # (line, full text when shortened)
    gutter: float = 0.0  # width left of the group boxes for arrows inside the stack
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0


_ROW_TEXT_W = GROUP_W - 2 * ROW_INSET - 16


def _row_box(row: Row) -> _RowBox:
    """A row: its name (wrapped) with the resource type right of it, or, when both do not fit
    on one line, the type first in the details."""
    title, badge = (row.badge, "") if row.count > 1 else (row.title, row.badge)
    details = list(row.details)
    if _width(title, "strong") + _width(badge, "badge") > _ROW_TEXT_W - 10:
        details, badge = ([badge, *details] if badge else details), ""
    title_lines = wrap(title, _ROW_TEXT_W, "strong")
    lines, full = (
        _wrap(" · ".join(details), _ROW_TEXT_W, "meta", MAX_DETAIL_LINES) if details else ([], None)
    )
    height = 22 + LINE * (len(lines) + len(title_lines) - 1)
    return _RowBox(row, 0.0, height, title_lines, badge, lines, full)


def _footer(counts: Mapping[str, int], prefix: str, width: float) -> list[tuple[str, str | None]]:
    """Footer lines, each with the full text for a tooltip when it is the shortened last one."""
    if not counts:
        return []
    lines, full = _wrap(prefix + ", ".join(_counts_text(counts)), width, "meta", 4)
    return [(line, full if i == len(lines) - 1 else None) for i, line in enumerate(lines)]


def _stack_box(view: StackView, column: int) -> _StackBox:
    y = float(STACK_HEAD)
    groups = []
    for group in view.groups:
        rows = []
        gy = float(GROUP_HEAD)
        for row in group.rows:
            box = _row_box(row)
            box.y = gy
            rows.append(box)
            gy += box.h + ROW_GAP
        counted = _footer(group.counted, "+ ", GROUP_W - 2 * ROW_INSET)
        gy += LINE * len(counted) + (4 if counted else 0) + 3
        groups.append(_GroupBox(group, y, gy, rows, counted))
        y += gy + GROUP_GAP
    footer: list[tuple[str, str | None]] = []
    if view.loose:
        names = ", ".join(view.loose_names)
        footer += _footer(view.loose, f"{names}: ", GROUP_W)
    if view.internals:
        footer += _footer(view.internals, "CDK helpers: ", GROUP_W)
    y += LINE * len(footer) + (2 if footer else -GROUP_GAP + STACK_PAD)
    return _StackBox(view, column, y, groups, footer)


@dataclass
class _Edge:
    flow: Flow
    index: int
    source: tuple[str, str]  # (row key or stack id, side "L"/"R")
    target: tuple[str, str]
    src_col: int
    dst_col: int
    same_stack: bool
    is_link: bool
    streets: list[tuple[int, int]] = field(default_factory=list)  # (column, gap) crossed
    y0: float = 0.0
    y1: float = 0.0
    points: list[tuple[float, float]] = field(default_factory=list)


def _assign_lanes(
    intervals: Sequence[tuple[float, float, int]], gap: float = 6.0
) -> dict[int, int]:
    """Greedy lanes for vertical segments: shorter ones first, so that they lie innermost."""
    lanes: list[list[tuple[float, float]]] = []
    result: dict[int, int] = {}
    for low, high, ident in sorted(intervals, key=lambda i: (i[1] - i[0], i[0], i[2])):
        for number, used in enumerate(lanes):
            if all(high + gap < a or low - gap > b for a, b in used):
                used.append((low, high))
                result[ident] = number
                break
        else:
            lanes.append([(low, high)])
            result[ident] = len(lanes) - 1
    return result


class _Layout:
    def __init__(self, diagram: Diagram, top: float = HEADER_H) -> None:
        self.diagram = diagram
        self.top = top
        self.boxes: list[list[_StackBox]] = [
            [_stack_box(view, c) for view in column] for c, column in enumerate(diagram.columns)
        ]
        self.stack_box = {b.view.stack.id: b for col in self.boxes for b in col}
        self.row_place: dict[str, tuple[_StackBox, _GroupBox, _RowBox]] = {
            rb.row.key: (sb, gb, rb)
            for sb in self.stack_box.values()
            for gb in sb.groups
            for rb in gb.rows
        }
        self.edges = self._edges()
        self.street_lanes: dict[tuple[int, int], int] = {}
        self._place_vertically()
        self._choose_streets()
        self._place_vertically()
        self._anchor()
        self._gutters()
        self._channels()
        self._route()

    # -- structure

    def _edges(self) -> list[_Edge]:
        """Arrows leave and enter on the sides that face each other."""
        edges = []
        ends = [(link, True) for link in self.diagram.links]
        ends += [(flow, False) for flow in self.diagram.flows]
        counters = {True: 0, False: 0}
        for flow, is_link in ends:
            if is_link:
                a, b = self.stack_box[flow.source], self.stack_box[flow.target]
            else:
                a, b = self.row_place[flow.source][0], self.row_place[flow.target][0]
            same_stack = a is b and not is_link
            if same_stack:
                sides = ("L", "L")
            elif a.column == b.column:
                sides = ("R", "R")
            else:
                sides = ("R", "L") if a.column < b.column else ("L", "R")
            edges.append(
                _Edge(
                    flow,
                    counters[is_link],
                    (flow.source, sides[0]),
                    (flow.target, sides[1]),
                    a.column,
                    b.column,
                    same_stack,
                    is_link,
                )
            )
            counters[is_link] += 1
        return edges

    def _end_y(self, end: str, is_link: bool) -> float:
        if is_link:
            box = self.stack_box[end]
            return box.y + 23
        sb, gb, rb = self.row_place[end]
        return sb.y + gb.y + rb.y + 11

    def _place_vertically(self) -> None:
        self.street_y: dict[tuple[int, int], float] = {}
        self.height = 0.0
        for c, column in enumerate(self.boxes):
            y = float(self.top)
            for gap in range(len(column) + 1):
                lanes = self.street_lanes.get((c, gap), 0)
                self.street_y[(c, gap)] = y + 10
                y += STREET_BASE + max(lanes - 1, 0) * STREET_LANE
                if gap < len(column):
                    column[gap].y = y
                    y += column[gap].h
            self.height = max(self.height, y)

    def _choose_streets(self) -> None:
        """Spanning arrows cross the columns in between through the gaps between stacks."""
        for edge in self.edges:
            step = 1 if edge.dst_col > edge.src_col else -1
            y = self._end_y(edge.source[0], edge.is_link)
            goal = self._end_y(edge.target[0], edge.is_link)
            for c in range(edge.src_col + step, edge.dst_col, step):
                gaps = range(len(self.boxes[c]) + 1)
                best = min(
                    gaps,
                    key=lambda g: (
                        abs(self.street_y[(c, g)] - y) + abs(self.street_y[(c, g)] - goal),
                        g,
                    ),
                )
                edge.streets.append((c, best))
                self.street_lanes[(c, best)] = self.street_lanes.get((c, best), 0) + 1
                y = self.street_y[(c, best)]

    def _anchor(self) -> None:
        """Spread the arrow ends that meet one side of one row (or stack header)."""
        ends: dict[tuple[str, str], list[tuple[float, int, int]]] = {}
        for e, edge in enumerate(self.edges):
            for which, (end, side), (other, _s) in (
                (0, edge.source, edge.target),
                (1, edge.target, edge.source),
            ):
                other_y = self._end_y(other, edge.is_link)
                ends.setdefault((end, side), []).append((other_y, e, which))
        for (end, _side), items in ends.items():
            items.sort()
            is_link = self.edges[items[0][1]].is_link
            base = self._end_y(end, is_link)
            step = 11.0 if is_link else 5.0
            for k, (_oy, e, which) in enumerate(items):
                y = base + (k - (len(items) - 1) / 2) * step
                if which == 0:
                    self.edges[e].y0 = y
                else:
                    self.edges[e].y1 = y

    def _gutters(self) -> None:
        self.gutter_lane: dict[int, int] = {}
        for box in self.stack_box.values():
            inner = [
                (min(e.y0, e.y1), max(e.y0, e.y1), e_id)
                for e_id, e in enumerate(self.edges)
                if e.same_stack and self.row_place[e.flow.source][0] is box
            ]
            lanes = _assign_lanes(inner)
            self.gutter_lane.update(lanes)
            count = max(lanes.values(), default=-1) + 1
            box.gutter = 10 + count * LANE
        self.col_w = [
            max((b.gutter for b in col), default=0) + GROUP_W + STACK_PAD for col in self.boxes
        ]
        for c, column in enumerate(self.boxes):
            for box in column:
                box.gutter = self.col_w[c] - GROUP_W - STACK_PAD
                box.w = self.col_w[c]

    def _vertical_segments(self, edge: _Edge) -> list[tuple[int, float, float]]:
        """(channel, y from, y to) of a cross-stack arrow; channel c is left of column c."""
        if edge.same_stack:
            return []
        if edge.src_col == edge.dst_col:
            return [(edge.src_col + 1, edge.y0, edge.y1)]
        step = 1 if edge.dst_col > edge.src_col else -1
        segments = []
        y = edge.y0
        channel = edge.src_col + (1 if step > 0 else 0)
        for c, gap in edge.streets:
            street = self._street_lane_y(edge, c, gap)
            segments.append((channel, y, street))
            y = street
            channel += step
        segments.append((channel, y, edge.y1))
        return segments

    def _street_lane_y(self, edge: _Edge, column: int, gap: int) -> float:
        users = [e for e in self.edges if (column, gap) in e.streets]
        return self.street_y[(column, gap)] + users.index(edge) * STREET_LANE

    def _channels(self) -> None:
        count = len(self.boxes) + 1
        per_channel: dict[int, list[tuple[float, float, int]]] = {c: [] for c in range(count)}
        self.segment_lane: dict[tuple[int, int], int] = {}
        for e_id, edge in enumerate(self.edges):
            for channel, a, b in self._vertical_segments(edge):
                per_channel[channel].append((min(a, b), max(a, b), e_id))
        widths = []
        for channel in range(count):
            lanes = _assign_lanes(per_channel[channel], gap=4.0)
            for e_id, lane in lanes.items():
                self.segment_lane[(channel, e_id)] = lane
            n = max(lanes.values(), default=-1) + 1
            widths.append(
                2 * CHANNEL_PAD + max(n - 1, 0) * LANE
                if n
                else (MARGIN if channel in (0, count - 1) else 2 * CHANNEL_PAD)
            )
        self.channel_x: list[float] = []
        x = 0.0
        for c in range(count):
            self.channel_x.append(x)
            x += widths[c]
            if c < len(self.boxes):
                for box in self.boxes[c]:
                    box.x = x
                x += self.col_w[c]
        self.width = x

    def _lane_x(self, channel: int, e_id: int) -> float:
        return self.channel_x[channel] + CHANNEL_PAD + self.segment_lane[(channel, e_id)] * LANE

    def _side_x(self, end: str, side: str, is_link: bool) -> float:
        if is_link:
            box = self.stack_box[end]
            return box.x if side == "L" else box.x + box.w
        sb, _gb, _rb = self.row_place[end]
        left = sb.x + sb.gutter + ROW_INSET
        return left if side == "L" else left + GROUP_W - 2 * ROW_INSET

    def _route(self) -> None:
        for e_id, edge in enumerate(self.edges):
            x0 = self._side_x(edge.source[0], edge.source[1], edge.is_link)
            x1 = self._side_x(edge.target[0], edge.target[1], edge.is_link)
            points = [(x0, edge.y0)]
            if edge.same_stack:
                box = self.row_place[edge.flow.source][0]
                lane_x = box.x + box.gutter - 8 - self.gutter_lane[e_id] * LANE
                points += [(lane_x, edge.y0), (lane_x, edge.y1)]
            else:
                for channel, a, b in self._vertical_segments(edge):
                    lane_x = self._lane_x(channel, e_id)
                    points += [(lane_x, a), (lane_x, b)]
            points.append((x1, edge.y1))
            edge.points = points


# --------------------------------------------------------------------------- drawing


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _text_el(
    x: float,
    y: float,
    text: str,
    css: str,
    anchor: str = "",
    *,
    max_px: float | None = None,
    full: str | None = None,
) -> str:
    """A text element; shortened to ``max_px`` (or given as a part of ``full``), it keeps the
    full text in a ``<title>`` tooltip."""
    return text_element(x, y, text, css, max_px=max_px, anchor=anchor, full=full)


def _rect(x: float, y: float, w: float, h: float, attrs: str) -> str:
    return f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" {attrs}/>'


def _badge(x: float, y: float, text: str, colour: str, square: bool) -> list[str]:
    w = max(15.0, _width(text, "badge") + 6)
    shape = (
        _rect(x - w / 2, y - 7.5, w, 15, f'rx="3" fill="{colour}"')
        if square
        else _rect(x - w / 2, y - 7.5, w, 15, f'rx="7.5" fill="{colour}"')
    )
    return [shape, _text_el(x, y + 3.2, text, "num", "middle")]


def _longest_mid(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    best = max(
        range(len(points) - 1),
        key=lambda i: (
            abs(points[i + 1][0] - points[i][0]) + abs(points[i + 1][1] - points[i][1]),
            -i,
        ),
    )
    (ax, ay), (bx, by) = points[best], points[best + 1]
    return (ax + bx) / 2, (ay + by) / 2


def _letter(index: int) -> str:
    text = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        text = chr(65 + rest) + text
    return text


def _draw_stack(out: list[str], box: _StackBox) -> None:
    stack = box.view.stack
    out.append(f'<g class="stack-box" data-stack="{_esc(stack.id)}">')
    out.append(_rect(box.x, box.y, box.w, box.h, 'class="stack" rx="6"'))
    gx = box.x + box.gutter
    out.append(_text_el(gx, box.y + 20, stack.display, "title", max_px=GROUP_W))
    info = f"{stack.name} · {_plural(len(stack.resources), 'resource')}"
    out.append(_text_el(gx, box.y + 35, info, "meta", max_px=GROUP_W))
    for group in box.groups:
        _draw_group(out, box, group)
    y = box.y + box.h - STACK_PAD - LINE * len(box.footer) + 9
    for line, full in box.footer:
        out.append(_text_el(gx, y, line, "meta", full=full))
        y += LINE
    out.append("</g>")


def _draw_group(out: list[str], box: _StackBox, group: _GroupBox) -> None:
    x, y = box.x + box.gutter, box.y + group.y
    out.append(
        f'<g class="construct" data-path="{_esc(box.view.stack.display + "/" + group.group.name)}">'
    )
    out.append(_rect(x, y, GROUP_W, group.h, 'class="group" rx="4"'))
    count = _plural(group.group.total, "resource")
    out.append(_text_el(x + GROUP_W - ROW_INSET, y + 16, count, "badge", "end"))
    name_w = GROUP_W - 2 * ROW_INSET - _width(count, "badge") - 6
    out.append(_text_el(x + ROW_INSET, y + 16, group.group.name, "head", max_px=name_w))
    for rb in group.rows:
        _draw_row(out, x + ROW_INSET, y + rb.y, rb)
    fy = y + group.h - 7 - LINE * len(group.footer) + 10
    for line, full in group.footer:
        out.append(_text_el(x + ROW_INSET, fy, line, "meta", full=full))
        fy += LINE
    out.append("</g>")


def _draw_row(out: list[str], x: float, y: float, rb: _RowBox) -> None:
    w = GROUP_W - 2 * ROW_INSET
    colour = CATEGORIES[rb.row.category][1]
    out.append(
        f'<g class="resource" data-key="{_esc(rb.row.key)}" data-type="{_esc(rb.row.type)}" '
        f'data-count="{rb.row.count}">'
    )
    out.append(_rect(x, y, w, rb.h, 'class="row" rx="3"'))
    out.append(_rect(x, y, 4, rb.h, f'fill="{colour}"'))
    ly = y + 15
    for line in rb.title:
        out.append(_text_el(x + 11, ly, line, "strong"))
        ly += LINE
    if rb.badge:
        out.append(_text_el(x + w - 6, y + 15, rb.badge, "badge", "end"))
    for i, line in enumerate(rb.details):
        last = i == len(rb.details) - 1
        out.append(_text_el(x + 11, ly, line, "meta", full=rb.details_full if last else None))
        ly += LINE
    out.append("</g>")


def _draw_edges(out: list[str], layout: _Layout) -> None:
    badges: list[str] = []
    for edge in sorted(layout.edges, key=lambda e: (not e.is_link, e.index)):
        colour = KIND_STYLE[edge.flow.kind][0]
        d = "M" + " L".join(f"{_n(x)} {_n(y)}" for x, y in edge.points)
        css = "link" if edge.is_link else "edge"
        dash = ' stroke-dasharray="6 4"' if edge.flow.kind == "dependency" else ""
        name = _letter(edge.index) if edge.is_link else str(edge.index + 1)
        out.append(
            f'<path class="{css}" data-flow="{name}" d="{d}" stroke="{colour}"{dash} '
            f'marker-end="url(#arrow-{edge.flow.kind})"/>'
        )
        mx, my = _longest_mid(edge.points)
        badges += _badge(mx, my, name, colour, edge.is_link)
    out += badges


def _legend(layout: _Layout, top: float, width: float) -> tuple[list[str], float]:
    diagram = layout.diagram
    out: list[str] = []
    usable = width - 2 * MARGIN

    def section(title: str, entries: list[tuple[str, str, str, bool]], y: float) -> float:
        """Entries in up to 3 columns, each wrapped to its column (nothing is cut)."""
        if not entries:
            return y
        out.append(_text_el(MARGIN, y + 12, title, "head"))
        y += 22
        longest = max(_width(text, "body") for _name, _colour, text, _square in entries) + 40
        columns = max(1, min(int(usable // longest), 3))
        col_w = usable / columns
        per_column = -(-len(entries) // columns)
        bottom = y
        for col in range(columns):
            ly = y
            for name, colour, text, square in entries[col * per_column : (col + 1) * per_column]:
                x = MARGIN + col * col_w
                out.extend(_badge(x + 10, ly + 8, name, colour, square))
                for part in wrap(text, col_w - 32, "body"):
                    out.append(_text_el(x + 24, ly + 12, part, "body"))
                    ly += 15
                ly += 3
            bottom = max(bottom, ly)
        return bottom + 10

    def end_name(end: str, is_link: bool) -> str:
        if is_link:
            return layout.stack_box[end].view.stack.display
        row = diagram.rows[end]
        return f"{layout.stack_box[row.stack].view.stack.display}/{row.label}"

    links = [
        (
            _letter(i),
            KIND_STYLE[link.kind][0],
            f"{end_name(link.source, True)} → {end_name(link.target, True)}: {link.label}",
            True,
        )
        for i, link in enumerate(diagram.links)
    ]
    flows = [
        (
            str(i + 1),
            KIND_STYLE[flow.kind][0],
            f"{end_name(flow.source, False)} → {end_name(flow.target, False)}: {flow.label}",
            False,
        )
        for i, flow in enumerate(diagram.flows)
    ]
    y = section("Cross-stack references and dependencies", links, top)
    y = section("Flows derived from the templates", flows, y)

    out.append(_text_el(MARGIN, y + 12, "Legend", "head"))
    y += 22
    used_categories = sorted(
        {row.category for row in diagram.rows.values()}, key=lambda c: list(CATEGORIES).index(c)
    )
    items: list[tuple[str, str]] = [("swatch:" + c, CATEGORIES[c][0]) for c in used_categories]
    kinds = sorted(
        {f.kind for f in diagram.flows} | {f.kind for f in diagram.links},
        key=lambda k: list(KIND_STYLE).index(k),
    )
    items += [("line:" + k, KIND_STYLE[k][1]) for k in kinds]
    legend_columns = max(1, int(usable // 380))
    per_column = -(-len(items) // legend_columns)
    item_w = usable / legend_columns
    for i, (mark, text) in enumerate(items):
        col, line = divmod(i, per_column)
        x, ly = MARGIN + col * item_w, y + line * 18
        kind, _, name = mark.partition(":")
        if kind == "swatch":
            out.append(_rect(x, ly + 2, 22, 12, f'rx="2" fill="{CATEGORIES[name][1]}"'))
        else:
            colour = KIND_STYLE[name][0]
            dash = ' stroke-dasharray="6 4"' if name == "dependency" else ""
            width = 2.5 if name in ("reference", "dependency") else 1.6
            out.append(
                f'<path d="M{_n(x)} {_n(ly + 8)} L{_n(x + 22)} {_n(ly + 8)}" fill="none" '
                f'stroke="{colour}" stroke-width="{width}"{dash} marker-end="url(#arrow-{name})"/>'
            )
        out.append(_text_el(x + 32, ly + 12, text, "body", max_px=item_w - 40))
    y += per_column * 18 + 6
    notes = [
        "Boxes: stacks (dependency order, left to right) > top-level constructs > main resources "
        f"(N {TIMES} Type: several resources of one type in one construct).",
        "Grey text: low-level resources counted, not drawn (security group rules, permissions, "
        "SSM parameters, policies of service roles and the like); CDK helpers are counted per "
        "stack.",
    ]
    for note in notes:
        for text_line in wrap(note, usable, "meta"):
            out.append(_text_el(MARGIN, y + 10, text_line, "meta"))
            y += LINE
    return out, y + MARGIN


# --------------------------------------------------------------------------- request path drawing

NODE_W = 204
NODE_PAD = 10
ICON = 34
PATH_GAP = 104  # between the columns of the path: room for an arrow and its label
NODE_GAP = 16  # between nodes stacked in one column
NODE_MAX_LINES = 18  # detail lines of a node; the rest in a tooltip
VPC_PAD = 22
ROW_BETWEEN = 64  # between the VPC and the row below it
REGION_PAD = 22
STEP_R = 10  # radius of a step number

# Kind -> (colour, icon text); icons "" are drawn as shapes.
PATH_STYLE: dict[str, tuple[str, str]] = {
    "caller": ("#545b64", ""),
    "api-endpoint": ("#8c4fff", "VPCE"),
    "api": ("#e7157b", "API"),
    "function": ("#ed7100", "\u03bb"),
    "runtime-endpoint": ("#8c4fff", "VPCE"),
    "bedrock": ("#01a88d", "AI"),
    "guardrail": ("#dd344c", ""),
    "log": ("#e7157b", "LOGS"),
}
_S3_STYLE = ("#7aa116", "S3")
_ROW0_KINDS = ("caller", "api-endpoint", "function", "runtime-endpoint", "bedrock", "guardrail")


def _node_style(node: PathNode) -> tuple[str, str]:
    return _S3_STYLE if node.service.startswith("Amazon S3") else PATH_STYLE[node.kind]


@dataclass
class _NodeBox:
    node: PathNode
    lines: list[tuple[float, float, str, str, str | None]]  # (dx, dy, text, css, tooltip)
    h: float
    x: float = 0.0
    y: float = 0.0
    row: int = 0

    @property
    def w(self) -> float:
        return NODE_W

    @property
    def anchor(self) -> float:
        """The y of horizontal arrows: the middle of the icon."""
        return self.y + NODE_PAD + ICON / 2

    @property
    def cx(self) -> float:
        return self.x + NODE_W / 2


def _node_box(node: PathNode) -> _NodeBox:
    """A node's text, laid out: what it is and its name right of the icon, details below."""
    lines: list[tuple[float, float, str, str, str | None]] = []
    text_x = NODE_PAD + ICON + 8
    head_w = NODE_W - text_x - NODE_PAD
    y = NODE_PAD + 11.0
    for part in wrap(node.service, head_w, "strong"):
        lines.append((text_x, y, part, "strong", None))
        y += 14
    for part in wrap(node.name, head_w, "meta") if node.name else []:
        lines.append((text_x, y, part, "meta", None))
        y += 13
    y = max(y, NODE_PAD + ICON + 4.0) + 10
    wrapped = [_wrap(detail, NODE_W - 2 * NODE_PAD, "meta", 4) for detail in node.details]
    total = sum(len(parts) for parts, _full in wrapped)
    budget = NODE_MAX_LINES if total <= NODE_MAX_LINES else NODE_MAX_LINES - 1
    shown = used = 0
    for parts, full in wrapped:
        used += len(parts)
        if used > budget:
            break
        for i, part in enumerate(parts):
            lines.append((NODE_PAD, y, part, "meta", full if i == len(parts) - 1 else None))
            y += 13
        shown += 1
    if shown < len(node.details):  # the rest in the tooltip of a "+n more" line
        rest = node.details[shown:]
        lines.append((NODE_PAD, y, f"+{len(rest)} more", "meta", "\n".join(rest)))
        y += 13
    return _NodeBox(node, lines, y - 4 + NODE_PAD)


@dataclass
class _Arrow:
    number: int
    step: PathStep
    points: list[tuple[float, float]]
    label_at: tuple[float, float]  # the step number's centre
    vertical: bool  # the label goes right of the number (else above it)
    room: float  # the width the label may take
    labelled: bool = True  # False: the number only


class _PathLayout:
    """Where the request path's boxes go: the path left to right in the VPC (row 0), the API and
    anything else outside the VPC that the path dips into below it (row 1), Amazon Bedrock and
    the guardrail right of the VPC and the log destinations below them."""

    def __init__(self, path: RequestPath, top: float, left: float) -> None:
        self.path = path
        self.boxes = {n.key: _node_box(n) for n in path.nodes}
        self.region_label = " · ".join(["AWS Cloud", *path.place])
        self.vpc_lines = self._vpc_label()
        columns: list[list[_NodeBox]] = []
        below: dict[int, list[_NodeBox]] = {}  # column -> boxes in row 1 under it
        has_vpc = bool(path.vpc)
        for kind in _ROW0_KINDS:
            boxes = [self.boxes[n.key] for n in path.of_kind(kind)]
            above = [b for b in boxes if b.node.in_vpc or not has_vpc or kind in _OUTSIDE]
            under = [b for b in boxes if b not in above]
            if boxes:  # a column, even if all of it is below the VPC (a function outside it)
                columns.append(above)
            for box in under:
                below.setdefault(len(columns) - 1, []).append(box)
            if kind == "api-endpoint" or (kind == "caller" and not path.of_kind("api-endpoint")):
                for api in path.of_kind("api"):  # under the hop before the function
                    below.setdefault(max(len(columns) - 1, 0), []).append(self.boxes[api.key])
        self.columns = columns
        self.below = below
        self.logs = [self.boxes[n.key] for n in path.of_kind("log")]
        self._place(top, left)

    def _vpc_label(self) -> list[str]:
        path = self.path
        text = " · ".join(x for x in [path.vpc, path.vpc_name, *path.vpc_details] if x)
        return wrap(text, 3 * NODE_W, "head") if text else []

    def _place(self, top: float, left: float) -> None:
        self.region = [left, top, 0.0, 0.0]
        vpc_top = top + 40
        row0 = vpc_top + (22 + 17 * len(self.vpc_lines) if self.vpc_lines else 0)
        x = left + REGION_PAD
        self.vpc: list[float] | None = None
        inside_any = False
        self.col_x: list[float] = []
        for column in self.columns:
            inside = bool(self.path.vpc) and all(b.node.in_vpc for b in column)
            if inside and self.vpc is None:
                self.vpc = [x, vpc_top, 0.0, 0.0]
                x += VPC_PAD
                inside_any = True
            if not inside and inside_any and self.vpc is not None and self.vpc[2] == 0:
                self.vpc[2] = x - PATH_GAP + VPC_PAD - self.vpc[0]
                x += 2 * VPC_PAD
            y = row0
            self.col_x.append(x)
            for box in column:
                box.x, box.y, box.row = x, y, 0
                y += box.h + NODE_GAP
            x += NODE_W + PATH_GAP
        if self.vpc is not None and self.vpc[2] == 0:
            self.vpc[2] = x - PATH_GAP + VPC_PAD - self.vpc[0]
        row0_bottom = max((b.y + b.h for c in self.columns for b in c), default=row0)
        if self.vpc is not None:
            in_vpc = [b.y + b.h for c in self.columns for b in c if b.node.in_vpc]
            self.vpc[3] = max(in_vpc, default=row0 + ICON) + VPC_PAD - vpc_top
            row0_bottom = max(row0_bottom, self.vpc[1] + self.vpc[3])
        right = x - PATH_GAP
        bottom = row0_bottom
        for col, boxes in sorted(self.below.items()):
            x0 = self.col_x[col]
            y = self._below(x0, x0 + NODE_W)
            for box in boxes:
                box.x, box.y, box.row = x0, y, 1
                y += box.h + NODE_GAP
                bottom = max(bottom, box.y + box.h)
        bedrock = [b for c in self.columns for b in c if b.node.kind == "bedrock"]
        lx = bedrock[0].x if bedrock else left + REGION_PAD
        y = self._below(lx, lx + len(self.logs) * (NODE_W + 28))
        for box in self.logs:
            box.x, box.y, box.row = lx, y, 1
            lx += NODE_W + 28
            right = max(right, box.x + box.w)
            bottom = max(bottom, box.y + box.h)
        self.region[2] = right + REGION_PAD - left
        self.region[3] = bottom + REGION_PAD - top
        self.width = self.region[2]
        self.bottom = top + self.region[3]
        self._arrows()

    def _below(self, x0: float, x1: float) -> float:
        """The top of row 1 between ``x0`` and ``x1``: below what is above it there."""
        above = [b.y + b.h for c in self.columns for b in c if b.x < x1 and b.x + b.w > x0]
        if self.vpc is not None and self.vpc[0] < x1 and self.vpc[0] + self.vpc[2] > x0:
            above.append(self.vpc[1] + self.vpc[3])
        return max(above, default=self.region[1] + 40) + ROW_BETWEEN

    # -- arrows

    def _arrows(self) -> None:
        self.arrows: list[_Arrow] = []
        lanes: dict[str, int] = {}
        ups: dict[str, int] = {}
        kinds = Counter((s.source, self.boxes[s.target].node.kind) for s in self.path.steps)
        level = {  # a source with an arrow along its own row: rising arrows start one lane down
            s.source
            for s in self.path.steps
            if self.boxes[s.source].row == self.boxes[s.target].row == 1
        }
        for number, step in enumerate(self.path.steps, 1):
            src, dst = self.boxes[step.source], self.boxes[step.target]
            if src.row == dst.row:
                points, label, vertical = self._across(src, dst, lanes)
            elif src.row < dst.row:
                points, label, vertical = self._down(src, dst)
            else:
                lane = ups.get(step.source, 1 if step.source in level else 0)
                ups[step.source] = lane + 1
                points, label, vertical = self._up(src, dst, lane)
            arrow = _Arrow(number, step, points, label, vertical, _room(points, label))
            # arrows from one box to several of a kind: numbers only (the list tells them)
            arrow.labelled = vertical or kinds[(step.source, dst.node.kind)] < 2
            self.arrows.append(arrow)

    def _across(
        self, src: _NodeBox, dst: _NodeBox, lanes: dict[str, int]
    ) -> tuple[list[tuple[float, float]], tuple[float, float], bool]:
        x0, x1 = src.x + src.w, dst.x
        y0, y1 = src.anchor, dst.anchor
        if abs(y0 - y1) < 0.5:
            mid = ((x0 + x1) / 2, y0)
            return [(x0, y0), (x1, y1)], mid, False
        lane = lanes.get(src.node.key, 0)
        lanes[src.node.key] = lane + 1
        xm = x1 - 26 - lane * 10
        return [(x0, y0), (xm, y0), (xm, y1), (x1, y1)], ((x0 + xm) / 2, y0), False

    def _down(
        self, src: _NodeBox, dst: _NodeBox
    ) -> tuple[list[tuple[float, float]], tuple[float, float], bool]:
        if src.x <= dst.cx <= src.x + src.w:
            x = dst.cx
            top = src.y + src.h
            if self.vpc is not None and top < self.vpc[1] + self.vpc[3] < dst.y:
                top = self.vpc[1] + self.vpc[3]  # the number below the VPC's outline
            return [(x, src.y + src.h), (x, dst.y)], (x, (top + dst.y) / 2), True
        bus = dst.y - 26
        x0 = src.cx
        points = [(x0, src.y + src.h), (x0, bus), (dst.cx, bus), (dst.cx, dst.y)]
        return points, (dst.cx, (bus + dst.y) / 2 - 2), True

    def _up(
        self, src: _NodeBox, dst: _NodeBox, lane: int
    ) -> tuple[list[tuple[float, float]], tuple[float, float], bool]:
        """From a box below the VPC back up into it: right, then up into the box's bottom (the
        last box of its column) or its left side; each arrow from one box in its own lane."""
        column = next((c for c in self.columns if dst in c), [dst])
        y0 = src.anchor + lane * 24
        under = [  # boxes below the target: then in from its left side
            b
            for b in self.boxes.values()
            if b.row == 1 and b is not src and b.x < dst.x + dst.w and b.x + b.w > dst.x
        ]
        if dst is column[-1] and not under:
            x = dst.cx
            points = [(src.x + src.w, y0), (x, y0), (x, dst.y + dst.h)]
            return points, ((src.x + src.w + x) / 2, y0), False
        xm = dst.x - 26 - lane * 10
        y1 = dst.anchor + 10  # below an arrow that comes in along the row
        points = [(src.x + src.w, y0), (xm, y0), (xm, y1), (dst.x, y1)]
        return points, ((src.x + src.w + xm) / 2, y0), False


_OUTSIDE = ("caller", "bedrock", "guardrail")  # in row 0 wherever they are


def _room(points: Sequence[tuple[float, float]], at: tuple[float, float]) -> float:
    """The length of the horizontal segment that ``at`` is on, less a margin (a label above
    it may be that wide)."""
    for (ax, ay), (bx, by) in itertools.pairwise(points):
        if abs(ay - by) < 0.5 and abs(ay - at[1]) < 0.5 and min(ax, bx) <= at[0] <= max(ax, bx):
            return max(abs(bx - ax) - 16, 40.0)
    return NODE_W / 2 - STEP_R - 14


def _draw_icon(out: list[str], box: _NodeBox) -> None:
    colour, text = _node_style(box.node)
    x, y = box.x + NODE_PAD, box.y + NODE_PAD
    out.append(_rect(x, y, ICON, ICON, f'rx="5" fill="{colour}"'))
    cx, cy = x + ICON / 2, y + ICON / 2
    if box.node.kind == "caller":  # a person
        out.append(f'<circle cx="{_n(cx)}" cy="{_n(cy - 6)}" r="5.5" fill="#ffffff"/>')
        out.append(
            f'<path d="M{_n(cx - 10)} {_n(cy + 12)} Q{_n(cx - 10)} {_n(cy + 1)} {_n(cx)} '
            f'{_n(cy + 1)} Q{_n(cx + 10)} {_n(cy + 1)} {_n(cx + 10)} {_n(cy + 12)} Z" '
            'fill="#ffffff"/>'
        )
    elif box.node.kind == "guardrail":  # a shield
        out.append(
            f'<path d="M{_n(cx)} {_n(cy - 11)} L{_n(cx + 9)} {_n(cy - 7)} L{_n(cx + 9)} '
            f"{_n(cy + 1)} Q{_n(cx + 9)} {_n(cy + 8)} {_n(cx)} {_n(cy + 12)} Q{_n(cx - 9)} "
            f'{_n(cy + 8)} {_n(cx - 9)} {_n(cy + 1)} L{_n(cx - 9)} {_n(cy - 7)} Z" '
            'fill="none" stroke="#ffffff" stroke-width="2"/>'
        )
    else:
        size = 15 if len(text) == 1 else 11 if len(text) <= 3 else 9
        out.append(
            f'<text x="{_n(cx)}" y="{_n(cy + size * 0.36)}" class="icon" text-anchor="middle" '
            f'style="font-size:{size}px">{_esc(text)}</text>'
        )


def _draw_node(out: list[str], box: _NodeBox) -> None:
    colour, _text = _node_style(box.node)
    node = box.node
    out.append(
        f'<g class="path-node" data-kind="{_esc(node.kind)}" data-key="{_esc(node.key)}" '
        f'data-in-vpc="{str(node.in_vpc).lower()}">'
    )
    out.append(_rect(box.x, box.y, box.w, box.h, f'class="node" rx="6" stroke="{colour}"'))
    _draw_icon(out, box)
    for dx, dy, text, css, full in box.lines:
        out.append(_text_el(box.x + dx, box.y + dy, text, css, full=full))
    out.append("</g>")


def _step_badge(out: list[str], x: float, y: float, number: int) -> None:
    out.append(f'<g class="step-number" data-step="{number}">')
    out.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{STEP_R}" fill="#232f3e"/>')
    out.append(_text_el(x, y + 4, str(number), "step", "middle"))
    out.append("</g>")


def _draw_arrow(out: list[str], arrow: _Arrow) -> None:
    d = "M" + " L".join(f"{_n(x)} {_n(y)}" for x, y in arrow.points)
    step = arrow.step
    out.append(
        f'<path class="path-arrow" data-step="{arrow.number}" data-from="{_esc(step.source)}" '
        f'data-to="{_esc(step.target)}" d="{d}" marker-end="url(#arrow-path)"/>'
    )


def _draw_arrow_label(out: list[str], arrow: _Arrow) -> None:
    x, y = arrow.label_at
    _step_badge(out, x, y, arrow.number)
    label = arrow.step.label
    if not label or not arrow.labelled:
        return
    if arrow.vertical:  # right of the number
        parts, full = _wrap(label, NODE_W / 2 - STEP_R - 14, "meta", 2)
        ly = y + 3.5 - (len(parts) - 1) * 6.5
        for i, part in enumerate(parts):
            tip = full if i == len(parts) - 1 else None
            out.append(_text_el(x + STEP_R + 5, ly, part, "meta", full=tip))
            ly += 13
        return
    parts, full = _wrap(label, arrow.room, "meta", 2)  # above the number
    ly = y - STEP_R - 5 - (len(parts) - 1) * 13
    for i, part in enumerate(parts):
        tip = full if i == len(parts) - 1 else None
        out.append(_text_el(x, ly, part, "meta", "middle", full=tip))
        ly += 13


def _draw_path(path: RequestPath, top: float, width: float) -> tuple[list[str], float, float]:
    """The request path section from ``top``: (elements, width used, bottom)."""
    out = [_text_el(MARGIN, top + 16, "Request path", "h2")]
    if not path.nodes:
        y = top + 30
        for note in path.notes:
            for part in wrap(note, width - 2 * MARGIN, "body"):
                out.append(_text_el(MARGIN, y + 12, part, "body"))
                y += 15
        return out, 0.0, y + 8
    layout = _PathLayout(path, top + 30, MARGIN)
    rx, ry, rw, rh = layout.region
    out.append('<g class="boundary" data-boundary="region">')
    out.append(_rect(rx, ry, rw, rh, 'class="region" rx="8"'))
    out.append(_text_el(rx + 12, ry + 20, layout.region_label, "head"))
    out.append("</g>")
    if layout.vpc is not None:
        vx, vy, vw, vh = layout.vpc
        out.append('<g class="boundary" data-boundary="vpc">')
        out.append(_rect(vx, vy, vw, vh, 'class="vpc" rx="6"'))
        ly = vy + 18
        for line in layout.vpc_lines:
            out.append(_text_el(vx + 12, ly, line, "head"))
            ly += 17
        out.append("</g>")
    for arrow in layout.arrows:
        _draw_arrow(out, arrow)
    for box in layout.boxes.values():
        _draw_node(out, box)
    for arrow in layout.arrows:
        _draw_arrow_label(out, arrow)
    y = layout.bottom + 18
    usable = max(width, layout.width + MARGIN) - 2 * MARGIN
    out.append(_text_el(MARGIN, y + 12, "Step by step (derived from the templates)", "head"))
    y += 24
    for arrow in layout.arrows:
        _step_badge(out, MARGIN + STEP_R, y + 8, arrow.number)
        for part in wrap(arrow.step.text, usable - 2 * STEP_R - 10, "body"):
            out.append(_text_el(MARGIN + 2 * STEP_R + 10, y + 12, part, "body"))
            y += 15
        y += 6
    for note in path.notes:
        for part in wrap(note, usable, "meta"):
            out.append(_text_el(MARGIN, y + 10, part, "meta"))
            y += LINE
    return out, layout.width + MARGIN, y + 8


def render_svg(diagram: Diagram) -> str:
    """The SVG picture of a diagram (deterministic): the request path first, then the stacks
    with their supporting resources, then the legend."""
    path = diagram.path or RequestPath("", "", [], [], [], [])
    probe = _Layout(diagram, 0.0)  # the widths do not depend on where the stacks start
    path_width = _PathLayout(path, 0.0, MARGIN).width + 2 * MARGIN if path.nodes else 0.0
    width = max(probe.width, path_width, 900.0)
    head: list[str] = [_text_el(MARGIN, 34, diagram.title, "h1", max_px=width - 2 * MARGIN)]
    y = 54.0
    for line in wrap(diagram.subtitle, width - 2 * MARGIN, "sub"):
        head.append(_text_el(MARGIN, y, line, "sub"))
        y += 15
    body, _path_w, y = _draw_path(path, y + 8, width)
    body.append(_text_el(MARGIN, y + 22, "Stacks and supporting resources", "h2"))
    explain = (
        "Every stack of the assembly with its constructs and main resources: keys, SSM parameters, "
        "roles, team stacks, observability. Lettered arrows: references between stacks; numbered "
        "arrows: flows between resources (listed below)."
    )
    y += 30
    for line in wrap(explain, width - 2 * MARGIN, "meta"):
        body.append(_text_el(MARGIN, y + 10, line, "meta"))
        y += LINE
    layout = _Layout(diagram, y - STREET_BASE + 14)
    for column in layout.boxes:
        for box in column:
            _draw_stack(body, box)
    _draw_edges(body, layout)
    legend, height = _legend(layout, layout.height + 8, width)
    markers = "".join(
        f'<marker id="arrow-{kind}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" '
        f'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto">'
        f'<path d="M0 0 L10 5 L0 10 z" fill="{colour}"/></marker>'
        for kind, (colour, _text) in [*KIND_STYLE.items(), ("path", ("#232f3e", ""))]
    )
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}">',
        f"<title>{_esc(diagram.title)}</title>",
        f"<style>{_STYLE}</style>",
        f"<defs>{markers}</defs>",
        _rect(0, 0, width, height, 'class="bg"'),
        *head,
        *body,
        *legend,
        "</svg>",
    ]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: ``python -m bedrock_landing_zone.pictures.architecture <cdk.out dir> <output.svg>``.

    With ``--check``, exit 1 when the file differs from what would be written (and write
    nothing). ``argv`` excludes the program name.
    """
    parser = argparse.ArgumentParser(
        prog="python -m bedrock_landing_zone.pictures.architecture",
        description="Draw the architecture of a synthesized CDK app as one SVG file.",
    )
    parser.add_argument("cdk_out", type=Path, help="cloud assembly directory (cdk.out)")
    parser.add_argument("output", type=Path, help="SVG file to write")
    parser.add_argument("--check", action="store_true", help="only compare with the existing file")
    args = parser.parse_args(argv)
    cdk_out: Path = args.cdk_out
    output: Path = args.output
    try:
        assembly = load_assembly(cdk_out)
    except AssemblyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not assembly.stacks:
        print(f"error: no stacks in {cdk_out / 'manifest.json'}", file=sys.stderr)
        return 1
    diagram = analyze(assembly)
    svg = render_svg(diagram)
    if args.check:
        current = output.read_text(encoding="utf-8") if output.is_file() else ""
        if current != svg:
            print(f"error: {output} is stale: run `make diagram`", file=sys.stderr)
            return 1
        print(f"{output} is up to date")
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(svg, encoding="utf-8", newline="\n")
    print(
        f"wrote {output} ({len(assembly.stacks)} stacks, {len(diagram.rows)} rows, "
        f"{len(diagram.flows)} flows, {len(diagram.links)} stack links)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
