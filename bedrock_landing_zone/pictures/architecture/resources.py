"""The stacks section of the architecture diagram, read from an assembly: one ``Row`` per main
resource in ``Group`` boxes per top-level construct, low-level resources counted, and the
``Flow`` arrows between rows.

Arrows are derived from the templates, by resource type and the property a reference is in: an
API method's integration invokes a function; a resource sends logs to a log group or bucket it
refers to (flow logs, ``LoggingConfig``, access logs, a logging configuration custom resource);
alarms, budgets and others notify a topic they refer to; CloudWatch alarms and dashboards
monitor what they refer to; a private REST API is reached through the VPC endpoint it names;
anything that refers to a Bedrock resource uses it; a holder of a security group reaches
whatever admits that group (a function reaching a VPC endpoint; for a function, only endpoints
of services its role may call); a role that is not a service role may call what its policies
allow on named resources.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from bedrock_landing_zone.pictures.architecture.model import (
    CDK_CUSTOM_TYPES,
    LOW_LEVEL_TYPES,
    POLICY_TYPES,
    SINGLE_ROW_TYPES,
    Flow,
    Group,
    Row,
    StackView,
    counts_text,
    is_internal_group,
    is_service_role,
    policy_statements,
)
from bedrock_landing_zone.pictures.assembly import (
    Assembly,
    Resource,
    ResourceIndex,
    Stack,
    as_list,
    as_mapping,
)
from bedrock_landing_zone.pictures.intrinsics import resolve_text

__all__ = [
    "GUARDRAIL_POLICIES",
    "Analyzer",
    "actions_text",
    "bucket_facts",
    "endpoint_service",
    "log_group_facts",
    "method_route",
    "statement_actions",
]

# --------------------------------------------------------------------------- rows


def _relative(construct: str, group: str) -> str:
    rest = construct[len(group) + 1 :] if construct.startswith(group + "/") else ""
    return rest or group


def endpoint_service(resource: Resource) -> str:
    """A VPC endpoint's service: ``bedrock-runtime`` for ``com.amazonaws.*.bedrock-runtime``."""
    name = resolve_text(resource.properties.get("ServiceName", ""))
    return name.rsplit(".", 1)[-1] if name else "?"


GUARDRAIL_POLICIES = {  # a guardrail's property -> what it filters
    "ContentPolicyConfig": "content filters",
    "TopicPolicyConfig": "denied topics",
    "WordPolicyConfig": "word filters",
    "SensitiveInformationPolicyConfig": "PII",
    "ContextualGroundingPolicyConfig": "grounding",
    "AutomatedReasoningPolicyConfig": "reasoning",
}


def bucket_facts(props: Mapping[str, Any]) -> list[str]:
    """An S3 bucket's encryption, versioning and object lock."""
    encryption = json.dumps(props.get("BucketEncryption", {}), sort_keys=True)
    facts = ["SSE-KMS"] if "aws:kms" in encryption else ["SSE-S3"] if encryption != "{}" else []
    status = as_mapping(props.get("VersioningConfiguration")).get("Status")
    facts += ["versioned"] if status == "Enabled" else []
    facts += ["object lock"] if props.get("ObjectLockEnabled") is True else []
    return facts


def log_group_facts(props: Mapping[str, Any]) -> list[str]:
    """A log group's retention and encryption."""
    days = props.get("RetentionInDays")
    facts = [f"{resolve_text(days)} days" if days is not None else "kept forever"]
    facts += ["KMS"] if props.get("KmsKeyId") else []
    return facts


def method_route(method: Resource) -> str:
    """``POST /v1/converse (AWS_IAM)`` from a method's construct path and properties."""
    parts = method.construct.split("/")
    route = parts[parts.index("Default") + 1 : -1] if "Default" in parts else []
    verb = resolve_text(method.properties.get("HttpMethod")) or parts[-1]
    auth = resolve_text(method.properties.get("AuthorizationType"))
    return f"{verb} /{'/'.join(route)}" + (f" ({auth})" if auth else "")


def _facts(row: Row) -> list[str]:
    """Type-specific facts about a one-resource row."""
    props = row.members[0].properties
    facts: list[str] = []
    kind = row.type
    if kind == "AWS::EC2::VPC":
        facts.append(resolve_text(props.get("CidrBlock")) or "IPAM")
    elif kind == "AWS::EC2::VPCEndpoint":
        facts.append(resolve_text(props.get("VpcEndpointType")) or "Interface")
        if props.get("PrivateDnsEnabled") is True:
            facts.append("private DNS")
        facts.append(_relative(row.members[0].construct, row.group))
    elif kind == "AWS::Lambda::Function":
        facts += [resolve_text(props.get("Runtime")) or "container image"]
        facts += [resolve_text(a) for a in as_list(props.get("Architectures")) if a is not None]
        facts += [f"{resolve_text(props['MemorySize'])} MB"] if "MemorySize" in props else []
        facts += ["in VPC"] if props.get("VpcConfig") else []
        if "ReservedConcurrentExecutions" in props:
            facts.append(f"reserved {resolve_text(props['ReservedConcurrentExecutions'])}")
    elif kind == "AWS::Logs::LogGroup":
        facts += log_group_facts(props)
    elif kind == "AWS::S3::Bucket":
        facts += bucket_facts(props)
    elif kind == "AWS::KMS::Key":
        facts += ["rotation on"] if props.get("EnableKeyRotation") is True else []
    elif kind == "AWS::SNS::Topic":
        facts += ["KMS"] if props.get("KmsMasterKeyId") else []
    elif kind == "AWS::Bedrock::Guardrail":
        facts += [label for key, label in GUARDRAIL_POLICIES.items() if key in props]
    elif kind == "AWS::ApiGateway::RestApi":
        types = as_mapping(props.get("EndpointConfiguration")).get("Types")
        facts += [resolve_text(t) for t in as_list(types) if t is not None]
        for method in row.attached:
            if method.type == "AWS::ApiGateway::Method":
                facts.append(method_route(method))
    elif kind == "AWS::CloudWatch::Dashboard":
        facts += [resolve_text(props["DashboardName"])] if "DashboardName" in props else []
    return [f for f in facts if f]


def _describe(row: Row) -> None:
    if row.count > 1:
        names = sorted({_relative(m.construct, row.group) for m in row.members})
        row.title = ", ".join(names)
        row.details = [row.title]
    else:
        member = row.members[0]
        row.title = (
            endpoint_service(member)
            if row.type == "AWS::EC2::VPCEndpoint"
            else _relative(member.construct, row.group)
        )
        row.details = _facts(row)
    # attached low-level resources, without the row's own service prefix (EC2::Subnet -> Subnet)
    service = row.type.rsplit("::", 1)[0] + "::"
    attached = Counter(r.type.replace(service, "", 1) for r in row.attached)
    row.details += counts_text(attached)


class Analyzer:
    """The rows and flows of the stacks section, and the facts they rest on (what each role's
    policies allow, which security groups admit which) that the request path uses too."""

    def __init__(self, assembly: Assembly) -> None:
        self.assembly = assembly
        self.index = ResourceIndex(assembly)
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
                if res.type in POLICY_TYPES:
                    for role, _ref in self.index.references_in(res, res.properties.get("Roles")):
                        self.policies_of.setdefault(role.key, []).append(res)
                elif res.type == "AWS::IAM::Role":
                    arns = res.properties.get("ManagedPolicyArns")
                    for policy, _ref in self.index.references_in(res, arns):
                        if policy.type in POLICY_TYPES:
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
            as_mapping(p).get("PolicyDocument") for p in as_list(role.properties.get("Policies"))
        ]
        documents += [
            p.properties.get("PolicyDocument") for p in self.policies_of.get(role.key, [])
        ]
        return [
            s
            for doc in documents
            for s in policy_statements(doc)
            if s.get("Effect", "Allow") == "Allow"
        ]

    # -- rows

    def _is_counted(self, res: Resource) -> bool:
        if res.type in LOW_LEVEL_TYPES or res.type in CDK_CUSTOM_TYPES:
            return True
        if res.type == "AWS::IAM::Role":
            return is_service_role(res)
        if res.type in POLICY_TYPES:
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
                    for raw in as_list(props.get("SecurityGroupIngress")):
                        rule = as_mapping(raw)
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
                        if target != source and self.may_use(source, target):
                            yield source, target, port

    def may_use(self, source: Resource, target: Resource) -> bool:
        """For a function and an endpoint: whether the function's role may call its service."""
        if source.type != "AWS::Lambda::Function" or target.type != "AWS::EC2::VPCEndpoint":
            return True
        roles = [r for r, _ref in self.index.references_in(source, source.properties.get("Role"))]
        if not roles:
            return True  # an imported role: unknown
        service = endpoint_service(target)
        actions = [a for role in roles for s in self.statements(role) for a in statement_actions(s)]
        return any(service in _endpoint_services(action) for action in actions)

    def _access_flows(self) -> Iterator[tuple[Resource, Resource, str]]:
        """Role (not a service role) -> what its policies allow on named resources."""
        for stack in self.assembly.stacks:
            for role in stack.resources:
                if role.type != "AWS::IAM::Role" or is_service_role(role):
                    continue
                for statement in self.statements(role):
                    owner = self.statement_owner(role, statement)
                    targets = self.index.references_in(owner, statement.get("Resource"))
                    for target, _ref in targets:
                        if target.type.split("::")[1:2] not in (["IAM"], ["KMS"], ["SSM"]):
                            for action in statement_actions(statement):
                                yield role, target, action

    def statement_owner(self, role: Resource, statement: Mapping[str, Any]) -> Resource:
        """The resource whose template holds ``statement`` (references resolve there)."""
        for policy in self.policies_of.get(role.key, []):
            if statement in policy_statements(policy.properties.get("PolicyDocument")):
                return policy
        return role


# --------------------------------------------------------------------------- flow rules

_PER_CONSTRUCT = ("observe", "notify")


def _port(props: Mapping[str, Any]) -> str:
    low, high = props.get("FromPort"), props.get("ToPort")
    protocol = resolve_text(props.get("IpProtocol")) or "tcp"
    if low == high == 443 and protocol == "tcp":
        return "HTTPS 443"
    if low is None:
        return protocol
    return f"{protocol} {resolve_text(low)}" + (
        f"-{resolve_text(high)}" if high not in (None, low) else ""
    )


def statement_actions(statement: Mapping[str, Any]) -> list[str]:
    """The actions of an IAM policy statement."""
    return [a for a in as_list(statement.get("Action")) if isinstance(a, str)]


def _label_text(labels: Iterable[str]) -> str:
    """Flow labels joined; IAM actions compressed (``bedrock:A, B``)."""
    actions = [label for label in labels if ":" in label and " " not in label]
    words = sorted(set(labels) - set(actions))
    return ", ".join([*words, actions_text(actions)] if actions else words)


def actions_text(actions: Sequence[str]) -> str:
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
