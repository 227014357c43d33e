"""The request path of the architecture diagram, read from an assembly: how a request travels,
in the order it uses what the templates hold.

The caller in the VPC (the security group that the first endpoint admits, and the IAM roles
allowed to call), the ``execute-api`` VPC endpoint, the PRIVATE REST API that names it (routes,
stage, resource policy), the functions its methods integrate, the ``bedrock-runtime`` VPC
endpoint they reach through security groups, Amazon Bedrock (the model ids the endpoint policy
allows), the guardrail (referred to by the function or required by policy conditions) and the
destinations of model invocation logging (an S3 bucket and a CloudWatch Logs log group). Only
what the templates hold is in the path: without an inference API the caller goes to the
``bedrock-runtime`` endpoint, and a note says what is missing. SSM parameters that one stack
publishes and another reads are followed (teams find the API and the guardrail that way).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bedrock_landing_zone.pictures.architecture.model import (
    POLICY_TYPES,
    PathNode,
    PathStep,
    RequestPath,
    is_service_role,
    policy_statements,
)
from bedrock_landing_zone.pictures.architecture.resources import (
    GUARDRAIL_POLICIES,
    Analyzer,
    actions_text,
    bucket_facts,
    endpoint_service,
    log_group_facts,
    method_route,
    statement_actions,
)
from bedrock_landing_zone.pictures.assembly import (
    Assembly,
    Resource,
    ResourceIndex,
    as_list,
    as_mapping,
)
from bedrock_landing_zone.pictures.intrinsics import resolve_text
from bedrock_landing_zone.pictures.svg import plural

__all__ = ["PathFinder", "request_path"]

_MODEL_ARN = re.compile(
    r"(?:foundation-model|inference-profile|application-inference-profile|provisioned-model)"
    r"/([^,\s\"*]+)"
)
_SG = "AWS::EC2::SecurityGroup"
_GUARDRAIL = "AWS::Bedrock::Guardrail"


def request_path(assembly: Assembly) -> RequestPath:
    """The request path of an assembly (see ``RequestPath``)."""
    return PathFinder(Analyzer(assembly)).build()


def _node_key(kind: str, res: Resource | None) -> str:
    return f"{kind}:{res.stack}/{res.logical_id}" if res else kind


def _unique(items: Iterable[Resource]) -> list[Resource]:
    seen: dict[tuple[str, str], Resource] = {}
    for item in items:
        seen.setdefault(item.key, item)
    return list(seen.values())


def _and(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


class PathFinder:
    """Builds the request path from the analyzer's index and security groups."""

    def __init__(self, analyzer: Analyzer) -> None:
        self.analyzer = analyzer
        self.assembly = analyzer.assembly
        # Teams find the API and the guardrail through SSM parameters: follow them here.
        self.index = ResourceIndex(analyzer.assembly, through_ssm=True)
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
                actions = [a.lower() for a in statement_actions(statement)]
                if not any(a == "*" or a.startswith(prefix) for a in actions):
                    continue
                owner = self.analyzer.statement_owner(role, statement)
                named = [t for t, _r in self.index.references_in(owner, statement.get("Resource"))]
                if not targets or any(t in targets for t in named):
                    roles.append(role)
                    break
        return roles

    def condition_refs(self, res: Resource, document: Any) -> list[Resource]:
        """Resources referred to in the conditions of a policy document."""
        found = []
        for statement in policy_statements(document):
            found += [t for t, _r in self.index.references_in(res, statement.get("Condition"))]
        return _unique(found)

    # -- the path

    def build(self) -> RequestPath:
        endpoints = self.of_type("AWS::EC2::VPCEndpoint")
        runtime_eps = [e for e in endpoints if endpoint_service(e) == "bedrock-runtime"]
        apis = [
            a
            for a in self.of_type("AWS::ApiGateway::RestApi")
            if "PRIVATE"
            in [
                resolve_text(t)
                for t in as_list(as_mapping(a.properties.get("EndpointConfiguration")).get("Types"))
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
                as_mapping(api.properties.get("EndpointConfiguration")).get("VpcEndpointIds"),
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
            f"The caller sends the request to the {endpoint_service(endpoint)} interface endpoint "
            f"{self.name(endpoint)} ({', '.join(ports)} {source}).",
        )
        return key

    def endpoint_facts(self, endpoint: Resource) -> list[str]:
        props = endpoint.properties
        facts = [endpoint_service(endpoint)]
        facts.append("private DNS" if props.get("PrivateDnsEnabled") is True else "")
        subnets = as_list(props.get("SubnetIds")) if props.get("SubnetIds") else []
        facts.append(f"{len(subnets)} subnets" if subnets else "")
        return facts

    def api(
        self,
        api: Resource,
        methods: Sequence[Resource],
        endpoints: Sequence[Resource],
        previous: Sequence[str],
    ) -> str:
        routes = sorted({method_route(m) for m in methods})
        stages = sorted(
            {
                resolve_text(s.properties.get("StageName"))
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
            as_mapping(api.properties.get("EndpointConfiguration")).get("VpcEndpointIds"),
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
        runtime = resolve_text(props.get("Runtime")) or "container image"
        archs = [resolve_text(a) for a in as_list(props.get("Architectures")) if a is not None]
        size = f"{resolve_text(props['MemorySize'])} MB" if "MemorySize" in props else ""
        details = [" · ".join(x for x in [runtime, *archs, size] if x)]
        if "ReservedConcurrentExecutions" in props:
            details.append(
                f"reserved concurrency {resolve_text(props['ReservedConcurrentExecutions'])}"
            )
        if "Timeout" in props:
            details.append(f"timeout {resolve_text(props['Timeout'])} s")
        vpc = as_mapping(props.get("VpcConfig"))
        if vpc:
            subnets = as_list(vpc.get("SubnetIds")) if vpc.get("SubnetIds") else []
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
            routes = sorted({method_route(m) for m in invoking})
            label = routes[0].split(" (")[0] if len(routes) == 1 else f"{len(routes)} routes"
            kinds = sorted(
                {
                    resolve_text(as_mapping(m.properties.get("Integration")).get("Type"))
                    for m in invoking
                }
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
        models = self.models(policy_statements(endpoint.properties.get("PolicyDocument")))
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
                allowed = f"; its role allows {actions_text(actions)}" if actions else ""
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
                if fn in holders.get(source_key, []) and self.analyzer.may_use(fn, endpoint):
                    return True
        return False

    def bedrock_actions(self, fn: Resource) -> list[str]:
        roles = [r for r, _ref in self.index.references_in(fn, fn.properties.get("Role"))]
        return sorted(
            {
                a
                for role in roles
                for s in self.analyzer.statements(role)
                for a in statement_actions(s)
                if a.lower().startswith("bedrock:")
            }
        )

    def models(self, statements: Iterable[Mapping[str, Any]]) -> list[str]:
        """Model and inference profile ids named in the resources of policy statements."""
        found: list[str] = []
        for statement in statements:
            for value in as_list(statement.get("Resource")):
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
            s for ep in runtime_eps for s in policy_statements(ep.properties.get("PolicyDocument"))
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
            if res.type in POLICY_TYPES:
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
            details = [" · ".join(label for k, label in GUARDRAIL_POLICIES.items() if k in props)]
            details.append(f"{plural(len(versions), 'version')}" if versions else "")
            details.append("KMS" if props.get("KmsKeyArn") else "")
            who = requirers.get(guardrail.key, [])
            named = [w for w in who if w != "policy"]
            count = who.count("policy")
            if count:
                named.append(plural(count, "IAM policy").replace("policys", "policies"))
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
                if target.type == "AWS::S3::Bucket":
                    details = bucket_facts(target.properties)
                    service, where = "Amazon S3 bucket", "the bucket"
                else:
                    details = log_group_facts(target.properties)
                    service, where = "CloudWatch Logs log group", "the log group"
                key = self.add(target, "log", service, [" · ".join(details)])
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
            label = f"VPC {resolve_text(vpc.properties.get('CidrBlock')) or '(IPAM)'}"
            details = [plural(len(subnets), "subnet")] if subnets else []
            return RequestPath(label, self.name(vpc), details, self.nodes, self.steps, self.notes)
        ids = sorted({resolve_text(e.properties.get("VpcId")) for e in endpoints} - {""})
        label = f"VPC {', '.join(ids)}" if ids else "VPC"
        return RequestPath(
            label, "", ["existing VPC, imported by id"], self.nodes, self.steps, self.notes
        )
