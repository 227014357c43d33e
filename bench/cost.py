"""Fixed monthly cost of a synthesized landing zone, read from its CloudFormation templates.

Every resource of every stack is put in exactly one of five classes:

- ``fixed``: a charge for existing, whatever the traffic (interface endpoint AZ-hours, KMS keys,
  alarms, dashboards, secrets, advanced parameters, web ACLs, NAT gateways, public IPv4, ...).
  Priced from ``bench/pricing.py`` and summed into the environment's fixed total.
- ``usage``: billed only by use (log ingestion and storage, flow-log delivery, Lambda, API
  requests, S3, Bedrock tokens and guardrail text units, ...). Listed, never summed.
- ``free``: no charge of its own (IAM, subnets, security groups, aliases, policies, ...).
- ``unpriced``: a fixed charge this table cannot price (for example an interface endpoint whose
  subnets are a token, a provisioned-throughput model, an API cache). Listed, never summed.
- ``unclassified``: a resource type this module does not know. Listed so that the report shows
  the gap instead of silently calling it free.

A resource can add more than one line: an interface endpoint is fixed (per AZ-hour) *and* usage
(data processed). Prices are list prices without any free tier; see ``bench/pricing.py``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bench.pricing import HOURS_PER_MONTH, PRICE_REGION, PRICES_AS_OF, price

Kind = Literal["fixed", "usage", "free", "unpriced", "unclassified"]
Template = Mapping[str, Any]


@dataclass(frozen=True)
class Line:
    """One cost line of one resource."""

    stack: str
    logical_id: str
    resource_type: str
    kind: Kind
    item: str
    quantity: float = 0.0
    price_key: str | None = None
    note: str = ""

    @property
    def unit_monthly_usd(self) -> float:
        return price(self.price_key).monthly_usd if self.price_key else 0.0

    @property
    def monthly_usd(self) -> float:
        return self.quantity * self.unit_monthly_usd if self.kind == "fixed" else 0.0


# Billed by use only: what the bill depends on.
USAGE_DIMENSIONS: dict[str, str] = {
    "AWS::Logs::LogGroup": "ingestion per GB and storage per GB-month",
    "AWS::EC2::FlowLog": "vended-log delivery per GB into its destination",
    "AWS::Lambda::Function": "requests and GB-seconds",
    "AWS::ApiGateway::RestApi": "API calls per million",
    "AWS::ApiGatewayV2::Api": "API calls or messages per million",
    "AWS::S3::Bucket": "storage per GB-month and requests",
    "AWS::SNS::Topic": "publishes and deliveries",
    "AWS::SNS::Subscription": "deliveries (email, HTTP, SMS, ...)",
    "AWS::SQS::Queue": "requests",
    "AWS::Bedrock::Guardrail": "text units evaluated per policy",
    "AWS::Bedrock::ApplicationInferenceProfile": "model input and output tokens",
    "AWS::Bedrock::EnforcedGuardrailConfiguration": "text units evaluated by the guardrail",
    "AWS::Events::Rule": "custom events published (AWS service events are free)",
    "AWS::Logs::MetricFilter": "a custom metric per-metric-month while it reports",
    "AWS::Logs::SubscriptionFilter": "delivery to its destination",
    "AWS::StepFunctions::StateMachine": "state transitions",
    "AWS::KinesisFirehose::DeliveryStream": "ingestion per GB",
    "AWS::CloudFormation::CustomResource": "its provider Lambda runs on deploy, update, delete",
}

# No charge of their own.
FREE_TYPES: frozenset[str] = frozenset(
    {
        "AWS::CDK::Metadata",
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::InstanceProfile",
        "AWS::IAM::ServiceLinkedRole",
        "AWS::EC2::VPC",
        "AWS::EC2::Subnet",
        "AWS::EC2::RouteTable",
        "AWS::EC2::Route",
        "AWS::EC2::SubnetRouteTableAssociation",
        "AWS::EC2::SecurityGroup",
        "AWS::EC2::SecurityGroupIngress",
        "AWS::EC2::SecurityGroupEgress",
        "AWS::EC2::NetworkAcl",
        "AWS::EC2::NetworkAclEntry",
        "AWS::EC2::SubnetNetworkAclAssociation",
        "AWS::EC2::InternetGateway",
        "AWS::EC2::VPCGatewayAttachment",
        "AWS::KMS::Alias",
        "AWS::S3::BucketPolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::SQS::QueuePolicy",
        "AWS::Lambda::Permission",
        "AWS::Lambda::EventSourceMapping",
        "AWS::Lambda::LayerVersion",
        "AWS::Lambda::LayerVersionPermission",
        "AWS::ApiGateway::Account",
        "AWS::ApiGateway::Deployment",
        "AWS::ApiGateway::Method",
        "AWS::ApiGateway::Model",
        "AWS::ApiGateway::RequestValidator",
        "AWS::ApiGateway::Resource",
        "AWS::ApiGateway::Authorizer",
        "AWS::ApiGateway::GatewayResponse",
        "AWS::ApiGateway::BasePathMapping",
        "AWS::Bedrock::GuardrailVersion",
        # a policy document on a guardrail (CloudFormation reference: "Adds a resource policy
        # for a Bedrock resource", ResourceArn a guardrail or guardrail profile): its use is
        # billed through the guardrail's text units
        "AWS::Bedrock::ResourcePolicy",
        "AWS::Organizations::Policy",
        "AWS::CloudWatch::AnomalyDetector",  # billed through the alarm that uses its band
        "AWS::Logs::ResourcePolicy",
        "AWS::Budgets::Budget",  # no actions: see NOTES
    }
)

# Fixed charges that this table does not price, with the reason.
UNPRICED_TYPES: dict[str, str] = {
    "AWS::Bedrock::ProvisionedModelThroughput": "hourly per model unit, price depends on model",
    "AWS::Budgets::BudgetsAction": "action-enabled budgets beyond the first two are charged daily",
    "AWS::CloudWatch::InsightRule": "Contributor Insights rule-month plus events matched",
    "AWS::DynamoDB::Table": "provisioned capacity is fixed, on-demand is usage: not modelled",
}

NOTES: tuple[str, ...] = (
    "Prices are us-east-1 list prices of "
    f"{PRICES_AS_OF}, {HOURS_PER_MONTH} hours a month, without free tiers.",
    "KMS keys with rotation on cost $1 more per month after the first rotation and $2 more "
    "from the second (year 3 onwards: $3 per key); the totals use the year-1 price.",
    "AWS Budgets without actions are listed as free (current AWS Budgets pricing, confirmed by "
    "secondary sources only); an older AWS Billing user-guide page priced active budgets beyond "
    "the first two at $0.02/day ($0.60/month) each.",
    "Standard SSM parameters, gateway endpoints (S3, DynamoDB) and the private hosted zones that "
    "interface endpoints create for private DNS have no charge.",
)


@dataclass(frozen=True)
class _Base:
    stack: str
    logical_id: str
    resource_type: str

    def line(
        self,
        kind: Kind,
        item: str,
        *,
        quantity: float = 0.0,
        price_key: str | None = None,
        note: str = "",
    ) -> Line:
        return Line(
            self.stack, self.logical_id, self.resource_type, kind, item, quantity, price_key, note
        )


def _fixed(base: _Base, item: str, key: str, quantity: float = 1, note: str = "") -> Line:
    return base.line("fixed", item, quantity=quantity, price_key=key, note=note)


def _render(value: Any) -> str:
    """A readable string for a template value that may be an intrinsic function."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and len(value) == 1:
        ((name, args),) = value.items()
        if name == "Ref" and isinstance(args, str):
            return "${" + args + "}"
        if name == "Fn::Join" and isinstance(args, list) and len(args) == 2:
            separator, parts = args
            if isinstance(separator, str) and isinstance(parts, list):
                return separator.join(_render(part) for part in parts)
        if name == "Fn::Sub":
            return _render(args[0] if isinstance(args, list) and args else args)
    return "<token>"


_SERVICE = re.compile(r"^com\.amazonaws\.[^.]+\.(?P<service>.+)$")


def service_label(service_name: Any) -> str:
    """``com.amazonaws.us-east-1.bedrock-runtime`` -> ``bedrock-runtime``."""
    rendered = _render(service_name)
    match = _SERVICE.match(rendered)
    return match.group("service") if match else rendered


def interface_endpoint_azs(properties: Mapping[str, Any]) -> int | None:
    """Number of AZs an interface endpoint is provisioned in: one per subnet.

    AWS allows one subnet per AZ per endpoint, so the subnet count is the AZ count. ``None`` when
    ``SubnetIds`` is absent or a token (a list parameter, ``Fn::Split``, an import): uncountable.
    """
    subnets = properties.get("SubnetIds")
    if isinstance(subnets, list):
        return len(subnets)
    return None


def _vpc_endpoint(base: _Base, properties: Mapping[str, Any]) -> list[Line]:
    endpoint_type = properties.get("VpcEndpointType", "Gateway")  # CloudFormation's default
    label = service_label(properties.get("ServiceName"))
    if endpoint_type == "Gateway":
        return [base.line("free", f"Gateway endpoint {label}")]
    if endpoint_type != "Interface":
        return [base.line("unpriced", f"{endpoint_type} endpoint {label}", note="not in table")]
    azs = interface_endpoint_azs(properties)
    usage = base.line("usage", "Interface endpoint", note="data processed per GB")
    if azs is None:
        note = "SubnetIds absent or a token: AZ count unknown"
        return [base.line("unpriced", f"Interface endpoint {label}", note=note), usage]
    fixed = base.line(
        "fixed",
        f"Interface endpoint {label}, {azs} AZs",
        quantity=azs,
        price_key="interface_endpoint",
    )
    return [fixed, usage]


def _periods(properties: Mapping[str, Any]) -> list[Any]:
    metrics = properties.get("Metrics")
    if not isinstance(metrics, list):
        return [properties.get("Period")]
    periods: list[Any] = []
    for query in metrics:
        if isinstance(query, Mapping):
            stat = query.get("MetricStat")
            periods.append(stat.get("Period") if isinstance(stat, Mapping) else query.get("Period"))
    return periods


def alarm_kind(properties: Mapping[str, Any]) -> tuple[str, int]:
    """(price key or ``"metrics_insights"``, quantity) of an ``AWS::CloudWatch::Alarm``.

    - anomaly detection: ``ThresholdMetricId`` set, or an ``ANOMALY_DETECTION_BAND`` expression;
      priced per alarm.
    - Metrics Insights query alarm: an expression that is a ``SELECT`` query; billed per metric
      the query analyses, which a template does not tell.
    - otherwise a metric alarm, priced per alarm metric: 1 for a single-metric alarm, else the
      number of ``MetricStat`` entries a metric-math alarm reads.

    High resolution: any period below 60 s.
    """
    metrics = properties.get("Metrics")
    queries = [q for q in metrics if isinstance(q, Mapping)] if isinstance(metrics, list) else []
    expressions = [q["Expression"] for q in queries if isinstance(q.get("Expression"), str)]
    high = any(isinstance(p, int | float) and p < 60 for p in _periods(properties))
    resolution = "high_resolution" if high else "standard"
    if any(e.lstrip().upper().startswith("SELECT") for e in expressions):
        return "metrics_insights", 1
    if "ThresholdMetricId" in properties or any(
        "ANOMALY_DETECTION_BAND" in e.upper() for e in expressions
    ):
        return f"alarm_anomaly_{resolution}", 1
    metric_stats = sum(1 for q in queries if "MetricStat" in q)
    return f"alarm_{resolution}", max(1, metric_stats)


def classify(stack: str, logical_id: str, resource: Mapping[str, Any]) -> list[Line]:
    """The cost lines of one template resource."""
    resource_type = str(resource.get("Type", ""))
    raw = resource.get("Properties")
    props: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    base = _Base(stack, logical_id, resource_type)

    if resource_type == "AWS::EC2::VPCEndpoint":
        return _vpc_endpoint(base, props)
    if resource_type in {"AWS::KMS::Key", "AWS::KMS::ReplicaKey"}:
        rotation = props.get("EnableKeyRotation") is True
        note = "rotation on: +$1/month after each of the first two rotations" if rotation else ""
        return [
            _fixed(base, "KMS key (customer managed)", "kms_key", note=note),
            base.line("usage", "KMS key", note="requests per 10,000"),
        ]
    if resource_type == "AWS::CloudWatch::Alarm":
        key, quantity = alarm_kind(props)
        if key == "metrics_insights":
            return [base.line("unpriced", "Metrics Insights query alarm", note="per metric")]
        label = {
            "alarm_standard": "Alarm, standard resolution",
            "alarm_high_resolution": "Alarm, high resolution",
            "alarm_anomaly_standard": "Anomaly-detection alarm, standard resolution",
            "alarm_anomaly_high_resolution": "Anomaly-detection alarm, high resolution",
        }[key]
        if quantity > 1:
            label += f" ({quantity} metrics)"
        return [_fixed(base, label, key, quantity)]
    if resource_type == "AWS::CloudWatch::CompositeAlarm":
        return [_fixed(base, "Composite alarm", "alarm_composite")]
    if resource_type == "AWS::CloudWatch::Dashboard":
        return [_fixed(base, "Dashboard", "dashboard")]
    if resource_type == "AWS::SecretsManager::Secret":
        return [
            _fixed(base, "Secrets Manager secret", "secret"),
            base.line("usage", "Secrets Manager secret", note="API calls per 10,000"),
        ]
    if resource_type == "AWS::SSM::Parameter":
        if props.get("Tier") == "Advanced" or "Policies" in props:
            return [_fixed(base, "SSM parameter, advanced tier", "ssm_advanced_parameter")]
        return [base.line("free", "SSM parameter, standard tier")]
    if resource_type == "AWS::WAFv2::WebACL":
        rules = props.get("Rules", [])
        lines = [_fixed(base, "WAF web ACL", "waf_web_acl")]
        if isinstance(rules, list) and rules:
            lines.append(_fixed(base, f"WAF rules ({len(rules)})", "waf_rule", len(rules)))
        elif not isinstance(rules, list):
            lines.append(base.line("unpriced", "WAF rules", note="Rules is a token"))
        lines.append(base.line("usage", "WAF web ACL", note="requests per million"))
        return lines
    if resource_type == "AWS::EC2::NatGateway":
        return [
            _fixed(base, "NAT gateway", "nat_gateway"),
            base.line("usage", "NAT gateway", note="data processed per GB"),
        ]
    if resource_type == "AWS::EC2::EIP":
        return [_fixed(base, "Public IPv4 address", "public_ipv4")]
    if resource_type in {
        "AWS::EC2::TransitGatewayAttachment",
        "AWS::EC2::TransitGatewayVpcAttachment",
    }:
        return [_fixed(base, "Transit gateway attachment", "transit_gateway_attachment")]
    if resource_type == "AWS::Route53::HostedZone":
        return [_fixed(base, "Route 53 hosted zone", "hosted_zone")]
    if resource_type == "AWS::ApiGateway::Stage" and props.get("CacheClusterEnabled") is True:
        return [base.line("unpriced", "API Gateway cache", note="hourly by cache size")]
    if resource_type in {"AWS::Lambda::Alias", "AWS::Lambda::Version"}:
        if "ProvisionedConcurrencyConfig" in props:
            return [base.line("unpriced", "Provisioned concurrency", note="GB-s while configured")]
        return [base.line("free", resource_type)]
    if resource_type == "AWS::ApiGateway::Stage":
        return [base.line("free", resource_type)]
    if resource_type in UNPRICED_TYPES:
        return [base.line("unpriced", resource_type, note=UNPRICED_TYPES[resource_type])]
    if resource_type.startswith("Custom::"):
        note = USAGE_DIMENSIONS["AWS::CloudFormation::CustomResource"]
        return [base.line("usage", "Custom resource", note=note)]
    if resource_type in USAGE_DIMENSIONS:
        return [base.line("usage", resource_type, note=USAGE_DIMENSIONS[resource_type])]
    if resource_type in FREE_TYPES:
        return [base.line("free", resource_type)]
    return [base.line("unclassified", resource_type or "<no Type>")]


def estimate_template(stack: str, template: Template) -> list[Line]:
    """Every cost line of one template, in template order."""
    resources = template.get("Resources", {})
    lines: list[Line] = []
    if isinstance(resources, Mapping):
        for logical_id, resource in resources.items():
            if isinstance(resource, Mapping):
                lines.extend(classify(stack, str(logical_id), resource))
    return lines


def iter_stack_templates(assembly: Path) -> Iterator[tuple[str, Template]]:
    """(stack name, template) of every stack in a cloud assembly, nested stages included."""
    manifest = json.loads((assembly / "manifest.json").read_text(encoding="utf-8"))
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        properties = artifact.get("properties", {})
        if artifact.get("type") == "aws:cloudformation:stack":
            name = str(properties.get("stackName", artifact_id))
            path = assembly / properties["templateFile"]
            yield name, json.loads(path.read_text(encoding="utf-8"))
        elif artifact.get("type") == "cdk:cloud-assembly":
            yield from iter_stack_templates(assembly / properties["directoryName"])


@dataclass(frozen=True)
class EnvironmentCost:
    name: str
    region: str
    lines: list[Line] = field(default_factory=list)

    def of(self, kind: Kind) -> list[Line]:
        return [line for line in self.lines if line.kind == kind]

    @property
    def fixed_total_usd(self) -> float:
        return sum(line.monthly_usd for line in self.of("fixed"))


def estimate_environment(
    name: str, region: str, templates: Sequence[tuple[str, Template]]
) -> EnvironmentCost:
    lines = [line for stack, template in templates for line in estimate_template(stack, template)]
    return EnvironmentCost(name, region, lines)


def estimate_assembly(name: str, region: str, assembly: Path) -> EnvironmentCost:
    return estimate_environment(name, region, list(iter_stack_templates(assembly)))


def usd(amount: float) -> str:
    return f"${amount:,.2f}"


def _grouped(lines: Sequence[Line]) -> list[tuple[str, str, int]]:
    """(item, note, count) per distinct (item, note), in first-seen order."""
    counts = Counter((line.item, line.note) for line in lines)
    return [(item, note, count) for (item, note), count in counts.items()]


def render_environment(env: EnvironmentCost) -> list[str]:
    """Markdown for one environment: fixed lines and total, then the lines not in the total."""
    out = [f"#### `{env.name}` (deploys to {env.region})", ""]
    if env.region != PRICE_REGION:
        out += [
            f"> Priced at {PRICE_REGION} list prices; {env.region} prices differ.",
            "",
        ]
    out += [
        "| Stack | Resource | Item | Qty | Unit price / month | Monthly |",
        "| --- | --- | --- | ---: | ---: | ---: |",
    ]
    for line in env.of("fixed"):
        unit = price(line.price_key).unit if line.price_key else ""
        qty = f"{line.quantity:g}"
        out.append(
            f"| {line.stack} | `{line.logical_id}` | {line.item} | {qty} | "
            f"{usd(line.unit_monthly_usd)} per {unit} | {usd(line.monthly_usd)} |"
        )
    out += [f"| **Total fixed** | | | | | **{usd(env.fixed_total_usd)}** |", ""]
    notes = sorted({line.note for line in env.of("fixed") if line.note})
    out += [f"- Note: {note}" for note in notes]
    sections: tuple[tuple[Kind, str], ...] = (
        ("unpriced", "Fixed but not priced (not in the total)"),
        ("unclassified", "**Unclassified resource types (extend bench/cost.py)**"),
    )
    for kind, title in sections:
        group = _grouped(env.of(kind))
        if group:
            out.append(f"- {title}: " + "; ".join(_describe(g) for g in group))
    out.append("- Usage-based (not in the total):")
    out += [f"  - {_describe(group)}" for group in _grouped(env.of("usage"))] or ["  - none"]
    free = Counter(line.item for line in env.of("free"))
    out.append("- No charge: " + (", ".join(f"{item} ({n})" for item, n in free.items()) or "none"))
    out.append("")
    return out


def _describe(group: tuple[str, str, int]) -> str:
    item, note, count = group
    return f"{item} ({count})" + (f": {note}" if note else "")
