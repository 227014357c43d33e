"""Preflight: the limits AWS enforces at deploy time, checked at synth.

``PreflightChecks`` is a CDK validation plugin (like the cdk-nag packs): it reads every
synthesized template of the app or stage it is registered on and fails synthesis when a
resource would be refused by CloudFormation or the service behind it: a policy too long, too
many resources in a stack, a name over its service's length limit, and so on (``LIMITS``).

Sizes are measured on the template as AWS would see it: every intrinsic function is replaced by
the *longest real value* it can take (``resolve_longest``): a 12-digit account, the stack's
region (else the longest region name), physical ids in the format the resource type generates,
cross-stack values (stack outputs, SSM parameters) read from the producing stack of the same
assembly. A finding names the
resource (logical id and construct path), the limit, the measured value and the configuration
knob that drives it (``Knob``; ``LANDING_ZONE_KNOBS`` for the landing zone's own constructs).

Register it with ``add_compliance_packs(app)`` (it runs wherever the packs run), or alone::

    cdk.Validations.of(app).add_plugins(PreflightChecks())
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii

__all__ = [
    "LANDING_ZONE_KNOBS",
    "LIMITS",
    "Knob",
    "Limit",
    "Measurement",
    "PreflightChecks",
    "StackFacts",
    "load_assembly",
    "measure",
    "policy_characters",
    "resolve_longest",
]

PLUGIN_NAME = "BedrockLzPreflight"
PLUGIN_VERSION = "1.0.0"

# --------------------------------------------------------------------------------------------
# Limits. Each number carries the AWS document it was read in.
# --------------------------------------------------------------------------------------------

_IAM_QUOTAS = (
    "IAM User Guide, 'IAM and AWS STS quotas' "
    "(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html)"
)
_CFN_QUOTAS = (
    "CloudFormation User Guide, 'AWS CloudFormation quotas' "
    "(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html)"
)
_PUT_COMPOSITE_ALARM = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html"
)
_ORG_QUOTAS = (
    "AWS Organizations User Guide, 'Quotas and service limits for AWS Organizations' "
    "(https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html)"
)


@dataclass(frozen=True)
class Limit:
    """One limit AWS enforces at deploy time.

    ``adjustable`` limits are default quotas that can be raised (Service Quotas); pass the raised
    value to ``PreflightChecks(quotas=...)``. The others are fixed.
    """

    rule: str
    what: str
    maximum: int
    unit: str
    source: str
    adjustable: bool = False
    #: Measured on values (intrinsics resolved), not by counting entries.
    resolved: bool = True


def _limit(rule: str, what: str, maximum: int, unit: str, source: str, **kw: bool) -> Limit:
    return Limit(rule, what, maximum, unit, source, **kw)


LIMITS: dict[str, Limit] = {
    limit.rule: limit
    for limit in (
        # IAM User Guide, "IAM and AWS STS quotas": "Managed policy size: 6,144 characters";
        # "IAM doesn't count white space when calculating the size of a policy".
        _limit(
            "IAMManagedPolicySize",
            "IAM managed policy document",
            6_144,
            "characters (whitespace not counted)",
            _IAM_QUOTAS,
        ),
        # Same page, adjustable quotas: "Role trust policy length: 2048 characters" (default,
        # raisable to 4096).
        _limit(
            "IAMRoleTrustPolicySize",
            "IAM role trust policy",
            2_048,
            "characters (whitespace not counted)",
            _IAM_QUOTAS,
            adjustable=True,
        ),
        # Same page: "the total aggregate policy size (the sum size of all inline policies)" of
        # a role "cannot exceed 10,240 characters"; whitespace not counted.
        _limit(
            "IAMRoleInlinePoliciesSize",
            "inline policies of an IAM role, in aggregate",
            10_240,
            "characters (whitespace not counted)",
            _IAM_QUOTAS,
        ),
        # Same page, adjustable quotas: "Managed policies attached to an IAM role: 10" (default).
        _limit(
            "IAMManagedPoliciesPerRole",
            "managed policies attached to an IAM role",
            10,
            "policies (a permissions boundary is not counted)",
            _IAM_QUOTAS,
            adjustable=True,
            resolved=False,
        ),
        # Same page, "IAM and STS character quotas": role name 64, policy name 128.
        _limit("IAMRoleName", "IAM role name", 64, "characters", _IAM_QUOTAS),
        _limit("IAMPolicyName", "IAM policy name", 128, "characters", _IAM_QUOTAS),
        # Organizations quotas, "Maximum size of a policy document": service control policies
        # 5,120 characters (whitespace sent through the API counts); the other types below.
        _limit(
            "OrganizationsPolicySize",
            "AWS Organizations policy document",
            5_120,
            "characters",
            _ORG_QUOTAS,
        ),
        # VPC User Guide / PrivateLink, "Control access to VPC endpoints using endpoint
        # policies": "The size of an endpoint policy cannot exceed 20,480 characters, including
        # white space." (https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html)
        _limit(
            "VpcEndpointPolicySize",
            "VPC endpoint policy",
            20_480,
            "characters (whitespace counted)",
            "AWS PrivateLink Guide, 'Control access to VPC endpoints using endpoint policies' "
            "(https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html)",
        ),
        # Lambda Developer Guide, "Lambda quotas": "Function environment variables: 4 KB, for all
        # environment variables associated with the function, in aggregate". Lambda measures the
        # JSON of the map ("String measured: {...}" in its InvalidParameterValueException).
        _limit(
            "LambdaEnvironmentSize",
            "Lambda environment variables, in aggregate",
            4_096,
            "bytes (the JSON of the variables map)",
            "Lambda Developer Guide, 'Lambda quotas' "
            "(https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html)",
        ),
        # Lambda API Reference, CreateFunction FunctionName: "If you specify only the function
        # name, it is limited to 64 characters in length."
        _limit(
            "LambdaFunctionName",
            "Lambda function name",
            64,
            "characters",
            "Lambda API Reference, CreateFunction (FunctionName) "
            "(https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html)",
        ),
        # CloudFormation quotas: resources 500, outputs 200, parameters 200, mappings 200,
        # mapping attributes 200, template body in an S3 object 1 MB (cfn-lint counts
        # 1,000,000 bytes), template description 1,024 bytes, stack name 128 characters.
        _limit(
            "StackResources", "resources in a stack", 500, "resources", _CFN_QUOTAS, resolved=False
        ),
        _limit("StackOutputs", "outputs in a stack", 200, "outputs", _CFN_QUOTAS, resolved=False),
        _limit(
            "StackParameters",
            "parameters in a stack",
            200,
            "parameters",
            _CFN_QUOTAS,
            resolved=False,
        ),
        _limit(
            "StackMappings", "mappings in a stack", 200, "mappings", _CFN_QUOTAS, resolved=False
        ),
        _limit(
            "StackMappingAttributes",
            "attributes of one mapping",
            200,
            "attributes",
            _CFN_QUOTAS,
            resolved=False,
        ),
        _limit(
            "TemplateSize",
            "template body (uploaded to S3)",
            1_000_000,
            "bytes",
            _CFN_QUOTAS,
            resolved=False,
        ),
        _limit(
            "TemplateDescription",
            "template description",
            1_024,
            "bytes",
            _CFN_QUOTAS,
            resolved=False,
        ),
        _limit("StackName", "stack name", 128, "characters", _CFN_QUOTAS, resolved=False),
        # CloudWatch API Reference, "Dashboard Body Structure and Syntax": "It can include an
        # array of between 0 and 500 widget objects".
        _limit(
            "DashboardWidgets",
            "widgets on a CloudWatch dashboard",
            500,
            "widgets",
            "CloudWatch API Reference, 'Dashboard Body Structure and Syntax' (https://docs.aws."
            "amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html)",
            resolved=False,
        ),
        # CloudWatch API Reference, PutDashboard DashboardName: "The maximum length is 255".
        _limit(
            "DashboardName",
            "CloudWatch dashboard name",
            255,
            "characters",
            "CloudWatch API Reference, PutDashboard (DashboardName) "
            "(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html)",
        ),
        # CloudWatch API Reference, PutCompositeAlarm: AlarmRule "Maximum length of 10240";
        # "The rule expression of a composite alarm can include as many as 100 underlying
        # alarms".
        _limit(
            "CompositeAlarmRuleSize",
            "composite alarm rule",
            10_240,
            "characters",
            f"CloudWatch API Reference, PutCompositeAlarm (AlarmRule) ({_PUT_COMPOSITE_ALARM})",
        ),
        _limit(
            "CompositeAlarmRuleAlarms",
            "alarms referenced by a composite alarm rule",
            100,
            "alarms",
            f"CloudWatch API Reference, PutCompositeAlarm ({_PUT_COMPOSITE_ALARM})",
            resolved=False,
        ),
        # CloudWatch API Reference, PutMetricAlarm / PutCompositeAlarm AlarmName: 1-255.
        _limit(
            "AlarmName",
            "CloudWatch alarm name",
            255,
            "characters",
            "CloudWatch API Reference, PutMetricAlarm (AlarmName) (https://docs.aws.amazon.com/"
            "AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html)",
        ),
        # Amazon Bedrock API Reference, CreateInferenceProfile inferenceProfileName: length 1-64.
        _limit(
            "BedrockInferenceProfileName",
            "Bedrock application inference profile name",
            64,
            "characters",
            "Amazon Bedrock API Reference, CreateInferenceProfile (inferenceProfileName) "
            "(https://docs.aws.amazon.com/bedrock/latest/APIReference/API_CreateInferenceProfile.html)",
        ),
        # Systems Manager API Reference, PutParameter Name / AWS::SSM::Parameter Name: "The
        # maximum length for a parameter name, including the full length of the parameter ARN,
        # is 1011 characters" (the API's 2048 includes 1037 characters reserved by the service).
        _limit(
            "SSMParameterName",
            "SSM parameter name (counted as its full ARN)",
            1_011,
            "characters",
            "AWS Systems Manager API Reference, PutParameter (Name) "
            "(https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html)",
        ),
        # CloudWatch Logs API Reference, CreateLogGroup: "Log group names can be between 1 and
        # 512 characters long."
        _limit(
            "LogGroupName",
            "CloudWatch Logs log group name",
            512,
            "characters",
            "CloudWatch Logs API Reference, CreateLogGroup (logGroupName) (https://docs.aws.amazon."
            "com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html)",
        ),
    )
}

#: Organizations quotas, "Maximum size of a policy document", per policy type (characters).
ORGANIZATIONS_POLICY_SIZES: dict[str, int] = {
    "SERVICE_CONTROL_POLICY": 5_120,
    "RESOURCE_CONTROL_POLICY": 5_120,
    "DECLARATIVE_POLICY_EC2": 10_000,
    "BACKUP_POLICY": 10_000,
    "TAG_POLICY": 10_000,
    "CHATBOT_POLICY": 10_000,
    "AISERVICES_OPT_OUT_POLICY": 2_500,
    "SECURITYHUB_POLICY": 10_000,
}

# --------------------------------------------------------------------------------------------
# The longest real values of what a template does not know. (botocore's partitions.json lists
# the regions and partitions; the CloudFormation "Pseudo parameters reference" lists the
# pseudo parameters.)
# --------------------------------------------------------------------------------------------

#: 12 digits, as every AWS account id.
ACCOUNT_PLACEHOLDER = "123456789012"
#: The longest region name (us-isof-south-1, 15 characters; ap-southeast-1 and others have 14).
LONGEST_REGION = "us-isof-south-1"
#: Region prefix -> partition and URL suffix; the default is the commercial partition.
_PARTITIONS: tuple[tuple[str, str, str], ...] = (
    ("cn-", "aws-cn", "amazonaws.com.cn"),
    ("us-gov-", "aws-us-gov", "amazonaws.com"),
    ("us-isob-", "aws-iso-b", "sc2s.sgov.gov"),
    ("us-isof-", "aws-iso-f", "csp.hci.ic.gov"),
    ("us-iso-", "aws-iso", "c2s.ic.gov"),
    ("eu-isoe-", "aws-iso-e", "cloud.adc-e.uk"),
    ("eusc-", "aws-eusc", "amazonaws.eu"),
)
LONGEST_PARTITION = "aws-us-gov"
LONGEST_URL_SUFFIX = "amazonaws.com.cn"
#: Names CloudFormation generates (``<stack>-<logical id>-<13 random>``, cut to the service's
#: limit) are taken as at least this long.
GENERATED_NAME_LENGTH = 64
#: A value nothing in the assembly tells: an import from another app, an SSM or Secrets Manager
#: dynamic reference, a custom resource attribute, a parameter without allowed values.
UNKNOWN_VALUE_LENGTH = 256
_MAX_DEPTH = 40


def _fill(length: int, char: str = "x") -> str:
    return char * max(length, 0)


_UNKNOWN = _fill(UNKNOWN_VALUE_LENGTH)
_UUID = "ffffffff-ffff-ffff-ffff-ffffffffffff"
_HEX17 = _fill(17, "f")


class _NoValue:
    """``Ref: AWS::NoValue``: the property (or list element) is dropped."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


@dataclass(frozen=True)
class _Kind:
    """What CloudFormation returns for a resource type.

    ``ref`` and the values of ``attributes`` are ``"name"``, ``"arn"`` or a template with
    ``{partition} {region} {account} {urlsuffix} {name} {path}``.
    """

    name_property: str | None = None
    name_max: int = GENERATED_NAME_LENGTH
    ref: str = "name"
    arn: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)


_ID12 = _fill(12, "z")
_ID10 = _fill(10, "z")
_KINDS: dict[str, _Kind] = {
    "AWS::IAM::Role": _Kind(
        "RoleName",
        64,
        "name",
        "arn:{partition}:iam::{account}:role{path}{name}",
        {"RoleId": "AROA" + _fill(17, "X")},
    ),
    "AWS::IAM::ManagedPolicy": _Kind(
        "ManagedPolicyName",
        128,
        "arn",
        "arn:{partition}:iam::{account}:policy{path}{name}",
        {"PolicyArn": "arn", "PolicyId": "ANPA" + _fill(17, "X")},
    ),
    "AWS::IAM::Policy": _Kind("PolicyName", 128),
    "AWS::IAM::InstanceProfile": _Kind(
        "InstanceProfileName",
        128,
        "name",
        "arn:{partition}:iam::{account}:instance-profile{path}{name}",
    ),
    "AWS::Lambda::Function": _Kind(
        "FunctionName", 64, "name", "arn:{partition}:lambda:{region}:{account}:function:{name}"
    ),
    "AWS::Logs::LogGroup": _Kind(
        "LogGroupName", 512, "name", "arn:{partition}:logs:{region}:{account}:log-group:{name}:*"
    ),
    "AWS::S3::Bucket": _Kind(
        "BucketName",
        63,
        "name",
        "arn:{partition}:s3:::{name}",
        {
            "DomainName": "{name}.s3.{urlsuffix}",
            "RegionalDomainName": "{name}.s3.{region}.{urlsuffix}",
            "DualStackDomainName": "{name}.s3.dualstack.{region}.{urlsuffix}",
            "WebsiteURL": "http://{name}.s3-website.{region}.{urlsuffix}",
        },
    ),
    "AWS::SNS::Topic": _Kind(
        "TopicName",
        256,
        "arn",
        "arn:{partition}:sns:{region}:{account}:{name}",
        {"TopicArn": "arn", "TopicName": "name"},
    ),
    "AWS::SQS::Queue": _Kind(
        "QueueName",
        80,
        "https://sqs.{region}.{urlsuffix}/{account}/{name}",
        "arn:{partition}:sqs:{region}:{account}:{name}",
        {"QueueUrl": "https://sqs.{region}.{urlsuffix}/{account}/{name}", "QueueName": "name"},
    ),
    "AWS::KMS::Key": _Kind(
        None, 36, _UUID, "arn:{partition}:kms:{region}:{account}:key/" + _UUID, {"KeyId": _UUID}
    ),
    "AWS::KMS::Alias": _Kind("AliasName", 256),
    "AWS::SSM::Parameter": _Kind(
        "Name", 1011, "name", "arn:{partition}:ssm:{region}:{account}:parameter/{name}"
    ),
    "AWS::EC2::VPC": _Kind(
        None,
        ref="vpc-" + _HEX17,
        attributes={
            "VpcId": "vpc-" + _HEX17,
            "CidrBlock": "255.255.255.255/32",
            "DefaultSecurityGroup": "sg-" + _HEX17,
            "DefaultNetworkAcl": "acl-" + _HEX17,
        },
    ),
    "AWS::EC2::Subnet": _Kind(
        None,
        ref="subnet-" + _HEX17,
        attributes={
            "SubnetId": "subnet-" + _HEX17,
            "AvailabilityZone": "{region}f",
            "VpcId": "vpc-" + _HEX17,
            "CidrBlock": "255.255.255.255/32",
        },
    ),
    "AWS::EC2::SecurityGroup": _Kind(
        None,
        ref="sg-" + _HEX17,
        attributes={"GroupId": "sg-" + _HEX17, "VpcId": "vpc-" + _HEX17},
    ),
    "AWS::EC2::RouteTable": _Kind(None, ref="rtb-" + _HEX17),
    "AWS::EC2::VPCEndpoint": _Kind(None, ref="vpce-" + _HEX17, attributes={"Id": "vpce-" + _HEX17}),
    "AWS::EC2::FlowLog": _Kind(None, ref="fl-" + _HEX17),
    "AWS::ApiGateway::RestApi": _Kind(
        None, ref=_ID10, attributes={"RestApiId": _ID10, "RootResourceId": _ID10}
    ),
    "AWS::ApiGateway::Resource": _Kind(None, ref=_ID10, attributes={"ResourceId": _ID10}),
    "AWS::ApiGateway::Deployment": _Kind(None, ref=_ID10, attributes={"DeploymentId": _ID10}),
    "AWS::ApiGateway::Stage": _Kind("StageName", 128),
    # Bedrock generates 12-character lower-case ids for guardrails and application inference
    # profiles (the API allows up to 64); a guardrail version is 1-8 digits.
    "AWS::Bedrock::Guardrail": _Kind(
        None,
        ref="arn",
        arn="arn:{partition}:bedrock:{region}:{account}:guardrail/" + _ID12,
        attributes={"GuardrailArn": "arn", "GuardrailId": _ID12, "Version": "DRAFT"},
    ),
    "AWS::Bedrock::GuardrailVersion": _Kind(
        None,
        ref="arn:{partition}:bedrock:{region}:{account}:guardrail/" + _ID12 + "|99999999",
        attributes={
            "Version": "99999999",
            "GuardrailId": _ID12,
            "GuardrailArn": "arn:{partition}:bedrock:{region}:{account}:guardrail/" + _ID12,
        },
    ),
    "AWS::Bedrock::ApplicationInferenceProfile": _Kind(
        None,
        ref="arn",
        arn="arn:{partition}:bedrock:{region}:{account}:application-inference-profile/" + _ID12,
        attributes={
            "InferenceProfileArn": "arn",
            "InferenceProfileIdentifier": "arn",
            "InferenceProfileId": _ID12,
        },
    ),
    "AWS::CloudWatch::Alarm": _Kind(
        "AlarmName", 255, "name", "arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}"
    ),
    "AWS::CloudWatch::CompositeAlarm": _Kind(
        "AlarmName", 255, "name", "arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}"
    ),
    "AWS::CloudWatch::Dashboard": _Kind("DashboardName", 255),
    "AWS::Events::Rule": _Kind(
        "Name", 64, "name", "arn:{partition}:events:{region}:{account}:rule/{name}"
    ),
}

# --------------------------------------------------------------------------------------------
# The resolver
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StackFacts:
    """What the resolver knows about one stack: its template and where it deploys.

    ``region``/``account`` are None for an environment-agnostic stack; ``paths`` maps logical
    ids to construct paths (from the template or the assembly metadata).
    """

    template: Mapping[str, Any]
    stack_name: str | None = None
    region: str | None = None
    account: str | None = None
    template_path: str = ""
    display_name: str = ""
    paths: Mapping[str, str] = field(default_factory=dict)

    @property
    def resources(self) -> Mapping[str, Any]:
        value = self.template.get("Resources")
        return value if isinstance(value, Mapping) else {}

    # Cached: the resolver asks for them at every ARN and pseudo parameter it builds.
    @cached_property
    def partition(self) -> str:
        if self.region is None:
            return LONGEST_PARTITION
        return next((p for prefix, p, _ in _PARTITIONS if self.region.startswith(prefix)), "aws")

    @cached_property
    def url_suffix(self) -> str:
        if self.region is None:
            return LONGEST_URL_SUFFIX
        return next(
            (s for prefix, _, s in _PARTITIONS if self.region.startswith(prefix)), "amazonaws.com"
        )

    def path_of(self, logical_id: str) -> str | None:
        resource = self.resources.get(logical_id)
        if isinstance(resource, Mapping):
            path = (resource.get("Metadata") or {}).get("aws:cdk:path")
            if isinstance(path, str):
                return path
        return self.paths.get(logical_id)


def resolve_longest(
    value: Any, stack: StackFacts, stacks: Mapping[str, StackFacts] | None = None
) -> Any:
    """``value`` (a template fragment) with every intrinsic replaced by its longest real value.

    - ``Ref AWS::AccountId`` -> the stack's account, else 12 digits; ``AWS::Region`` -> the
      stack's region, else the longest region name; ``AWS::Partition`` / ``AWS::URLSuffix`` ->
      the region's, else the longest; ``AWS::StackName`` -> the stack name, else 128 characters.
    - ``Ref`` / ``Fn::GetAtt`` of a resource -> its explicit name, else a generated name of the
      longest length CloudFormation produces (at least 64 characters, capped at the service's
      limit), or an id / ARN in the resource type's format.
    - ``Fn::GetStackOutput`` / ``Fn::ImportValue`` -> the producing stack's output when it is in
      ``stacks`` (keyed by stack name); an SSM parameter (``AWS::SSM::Parameter::Value`` or
      ``{{resolve:ssm:...}}``) -> the value a stack of ``stacks`` publishes under that name.
      Anything else unknown (another app's value, Secrets Manager, custom resource attributes,
      parameters without allowed values or a maximum length) -> a pessimistic 256 characters.
    - ``Fn::Join``, ``Fn::Sub``, ``Fn::Select``, ``Fn::Split``, ``Fn::FindInMap``,
      ``Fn::Base64``, ``Fn::GetAZs``, ``Fn::Cidr``, ``Fn::ToJsonString``, ``Fn::Length`` are
      evaluated; ``Fn::If`` takes the longer branch.

    Pure: it reads nothing but its arguments.
    """
    return _Resolver(stack, stacks or {}).resolve(value, 0)


_DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:(ssm|ssm-secure|secretsmanager):([^}]*)\}\}")
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _published_parameters(stacks: Iterable[StackFacts]) -> dict[str, tuple[StackFacts, Any]]:
    """SSM parameter name -> (the stack that publishes it, its value), over the assembly."""
    out: dict[str, tuple[StackFacts, Any]] = {}
    for stack in stacks:
        for resource in stack.resources.values():
            if isinstance(resource, Mapping) and resource.get("Type") == "AWS::SSM::Parameter":
                properties = resource.get("Properties") or {}
                name = properties.get("Name")
                if isinstance(name, str) and "Value" in properties:
                    out[name] = (stack, properties["Value"])
    return out


class _Resolver:
    def __init__(
        self,
        stack: StackFacts,
        stacks: Mapping[str, StackFacts],
        published: Mapping[str, tuple[StackFacts, Any]] | None = None,
    ) -> None:
        self.stack = stack
        self.stacks = stacks
        if published is None:
            published = _published_parameters([stack, *stacks.values()])
        self.published = published

    def other(self, stack: StackFacts) -> _Resolver:
        return _Resolver(stack, self.stacks, self.published)

    def ssm_value(self, name: str, depth: int) -> str:
        """The value of an SSM parameter another stack of the assembly publishes."""
        found = self.published.get(name)
        if found is None:
            return _UNKNOWN
        producer, value = found
        return self.other(producer).text(value, depth + 1)

    def dynamic_references(self, text: str, depth: int) -> str:
        def replace(match: re.Match[str]) -> str:
            service, reference = match.group(1), match.group(2)
            if service != "ssm" or reference.startswith("arn:"):
                return _UNKNOWN
            name, _, version = reference.rpartition(":")
            return self.ssm_value(name if version.isdigit() else reference, depth)

        return _DYNAMIC_REFERENCE.sub(replace, text)

    # ----- structure ------------------------------------------------------------------------

    def resolve(self, value: Any, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            return _UNKNOWN
        if isinstance(value, str):
            return self.dynamic_references(value, depth) if "{{resolve:" in value else value
        if isinstance(value, list):
            items = (self.resolve(v, depth + 1) for v in value)
            return [v for v in items if v is not NO_VALUE]
        if isinstance(value, Mapping):
            if len(value) == 1:
                (key, argument), *_ = value.items()
                handler = _INTRINSICS.get(key)
                if handler is not None:
                    return handler(self, argument, depth + 1)
            resolved = {k: self.resolve(v, depth + 1) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not NO_VALUE}
        return value

    def text(self, value: Any, depth: int) -> str:
        """A resolved scalar as a string (as CloudFormation joins it)."""
        resolved = self.resolve(value, depth)
        if isinstance(resolved, str):
            return resolved
        if resolved is NO_VALUE or resolved is None:
            return ""
        if isinstance(resolved, bool):
            return "true" if resolved else "false"
        if isinstance(resolved, (int, float)):
            return str(resolved)
        if isinstance(resolved, list):
            return ",".join(self.text(v, depth + 1) for v in resolved)
        return _compact(resolved)

    def items(self, value: Any, depth: int) -> list[Any]:
        resolved = self.resolve(value, depth)
        if isinstance(resolved, list):
            return resolved
        if isinstance(resolved, str):
            return resolved.split(",")
        return [resolved]

    # ----- pseudo parameters, parameters, resources -------------------------------------------

    @property
    def region(self) -> str:
        return self.stack.region or LONGEST_REGION

    @property
    def account(self) -> str:
        return self.stack.account or ACCOUNT_PLACEHOLDER

    @property
    def stack_name(self) -> str:
        return self.stack.stack_name or _fill(128)

    def fields(self, name: str = "", path: str = "/") -> dict[str, str]:
        return {
            "partition": self.stack.partition,
            "region": self.region,
            "account": self.account,
            "urlsuffix": self.stack.url_suffix,
            "name": name,
            "path": path,
        }

    def stack_id(self) -> str:
        return (
            f"arn:{self.stack.partition}:cloudformation:{self.region}:{self.account}:"
            f"stack/{self.stack_name}/{_UUID}"
        )

    def ref(self, argument: Any, depth: int) -> Any:
        name = self.text(argument, depth)
        pseudo = _PSEUDO_PARAMETERS.get(name)
        if pseudo is not None:
            return pseudo(self)
        if name == "AWS::NoValue":
            return NO_VALUE
        if name == "AWS::NotificationARNs":
            return [_UNKNOWN]
        parameters = self.stack.template.get("Parameters") or {}
        if name in parameters:
            return self.parameter(parameters[name], depth)
        resource = self.stack.resources.get(name)
        if isinstance(resource, Mapping):
            return self.resource_ref(name, resource, depth)
        return _UNKNOWN

    def parameter(self, declaration: Mapping[str, Any], depth: int) -> Any:
        kind = str(declaration.get("Type", "String"))
        allowed = declaration.get("AllowedValues")
        default = declaration.get("Default")
        if kind == "AWS::SSM::Parameter::Value<String>" and isinstance(default, str):
            value: Any = self.ssm_value(default, depth)  # published by a stack of the assembly?
        elif isinstance(allowed, list) and allowed:
            value = max((str(v) for v in allowed), key=len)
        elif isinstance(declaration.get("MaxLength"), (int, str)):
            value = _fill(int(declaration["MaxLength"]))
        else:
            value = _UNKNOWN
        if kind.startswith("List<") or kind == "CommaDelimitedList":
            return [value]
        return value

    def physical_name(self, logical_id: str, resource: Mapping[str, Any], depth: int) -> str:
        kind = _KINDS.get(str(resource.get("Type")), _Kind())
        properties = resource.get("Properties") or {}
        if kind.name_property and kind.name_property in properties:
            return self.text(properties[kind.name_property], depth)
        generated = len(self.stack_name) + len(logical_id) + 15  # <stack>-<id>-<13 random>
        return _fill(min(kind.name_max, max(GENERATED_NAME_LENGTH, generated)))

    def arn_of(self, logical_id: str, resource: Mapping[str, Any], depth: int) -> str:
        resource_type = str(resource.get("Type"))
        kind = _KINDS.get(resource_type)
        name = self.physical_name(logical_id, resource, depth)
        if kind is None or kind.arn is None:
            parts = resource_type.split("::")
            service = parts[1].lower() if len(parts) > 1 else "service"
            noun = parts[2].lower() if len(parts) > 2 else "resource"
            return (
                f"arn:{self.stack.partition}:{service}:{self.region}:{self.account}:{noun}/{name}"
            )
        properties = resource.get("Properties") or {}
        path = self.text(properties["Path"], depth) if "Path" in properties else "/"
        if kind.name_property == "Name" and resource_type == "AWS::SSM::Parameter":
            name = name.lstrip("/")
        return kind.arn.format(**self.fields(name, path))

    def shaped(self, shape: str, logical_id: str, resource: Mapping[str, Any], depth: int) -> str:
        if shape == "name":
            return self.physical_name(logical_id, resource, depth)
        if shape == "arn":
            return self.arn_of(logical_id, resource, depth)
        name = self.physical_name(logical_id, resource, depth) if "{name}" in shape else ""
        return shape.format(**self.fields(name))

    def resource_ref(self, logical_id: str, resource: Mapping[str, Any], depth: int) -> Any:
        resource_type = str(resource.get("Type"))
        if _is_custom(resource_type):
            return _UNKNOWN
        kind = _KINDS.get(resource_type, _Kind())
        return self.shaped(kind.ref, logical_id, resource, depth)

    def get_att(self, argument: Any, depth: int) -> Any:
        if isinstance(argument, str):
            logical_id, _, attribute = argument.partition(".")
        elif isinstance(argument, list) and len(argument) == 2:
            logical_id, attribute = self.text(argument[0], depth), self.text(argument[1], depth)
        else:
            return _UNKNOWN
        resource = self.stack.resources.get(logical_id)
        if not isinstance(resource, Mapping):
            return _UNKNOWN
        resource_type = str(resource.get("Type"))
        if _is_custom(resource_type) or resource_type == "AWS::CloudFormation::Stack":
            return _UNKNOWN
        kind = _KINDS.get(resource_type, _Kind())
        shape = kind.attributes.get(attribute)
        if shape is None:
            if attribute == "Arn" or attribute.endswith("Arn"):
                shape = "arn"
            elif attribute.endswith("Name"):
                shape = "name"
            elif attribute.endswith(("Id", "Ids")) and kind.ref not in ("name", "arn"):
                shape = kind.ref
            else:
                return _fill(GENERATED_NAME_LENGTH)
        return self.shaped(shape, logical_id, resource, depth)

    # ----- other stacks -----------------------------------------------------------------------

    def output_of(self, stack_name: str, output: str, depth: int) -> Any:
        producer = self.stacks.get(stack_name)
        if producer is None:
            return _UNKNOWN
        outputs = producer.template.get("Outputs") or {}
        declaration = outputs.get(output)
        if not isinstance(declaration, Mapping) or "Value" not in declaration:
            return _UNKNOWN
        return self.other(producer).resolve(declaration["Value"], depth)

    def get_stack_output(self, argument: Any, depth: int) -> Any:
        if not isinstance(argument, Mapping):
            return _UNKNOWN
        return self.output_of(
            self.text(argument.get("StackName"), depth),
            self.text(argument.get("OutputName"), depth),
            depth,
        )

    def import_value(self, argument: Any, depth: int) -> Any:
        export = self.text(argument, depth)
        for producer in self.stacks.values():
            for name, declaration in (producer.template.get("Outputs") or {}).items():
                exported = (declaration or {}).get("Export", {}).get("Name")
                if exported is None:
                    continue
                if self.other(producer).text(exported, depth) == export:
                    return self.output_of(producer.stack_name or "", name, depth)
        return _UNKNOWN

    # ----- functions --------------------------------------------------------------------------

    def join(self, argument: Any, depth: int) -> Any:
        if not isinstance(argument, list) or len(argument) != 2:
            return _UNKNOWN
        separator = self.text(argument[0], depth)
        return separator.join(self.text(v, depth) for v in self.items(argument[1], depth))

    def sub(self, argument: Any, depth: int) -> Any:
        if isinstance(argument, list) and argument:
            template, variables = argument[0], (argument[1] if len(argument) > 1 else {})
        else:
            template, variables = argument, {}
        template = self.text(template, depth)
        values = {k: self.text(v, depth) for k, v in (variables or {}).items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in values:
                return values[name]
            if "." in name and not name.startswith("AWS::"):
                return self.text({"Fn::GetAtt": name}, depth)
            return self.text({"Ref": name}, depth)

        return _SUB_VARIABLE.sub(replace, template)

    def select(self, argument: Any, depth: int) -> Any:
        if not isinstance(argument, list) or len(argument) != 2:
            return _UNKNOWN
        options = self.items(argument[1], depth)
        if not options:
            return ""
        index = self.resolve(argument[0], depth)
        try:
            return options[int(index)]
        except (TypeError, ValueError, IndexError):
            return max(options, key=lambda v: len(_compact(v)))

    def split(self, argument: Any, depth: int) -> Any:
        if not isinstance(argument, list) or len(argument) != 2:
            return [_UNKNOWN]
        return self.text(argument[1], depth).split(self.text(argument[0], depth))

    def if_(self, argument: Any, depth: int) -> Any:
        if not isinstance(argument, list) or len(argument) != 3:
            return _UNKNOWN
        branches = [self.resolve(argument[1], depth), self.resolve(argument[2], depth)]
        return max(branches, key=lambda v: -1 if v is NO_VALUE else len(_compact(v)))

    def find_in_map(self, argument: Any, depth: int) -> Any:
        if not isinstance(argument, list) or len(argument) < 3:
            return _UNKNOWN
        mapping = (self.stack.template.get("Mappings") or {}).get(self.text(argument[0], depth))
        if not isinstance(mapping, Mapping):
            return _UNKNOWN
        top, second = self.text(argument[1], depth), self.text(argument[2], depth)
        entry = mapping.get(top)
        if isinstance(entry, Mapping) and second in entry:
            return self.resolve(entry[second], depth)
        candidates = [
            self.resolve(v, depth)
            for level in mapping.values()
            if isinstance(level, Mapping)
            for v in level.values()
        ]
        return max(candidates, key=lambda v: len(_compact(v))) if candidates else _UNKNOWN

    def get_azs(self, argument: Any, depth: int) -> Any:
        region = self.text(argument, depth) or self.region
        return [f"{region}{letter}" for letter in "abcdef"]

    def cidr(self, argument: Any, depth: int) -> Any:
        count = self.resolve(argument[1], depth) if isinstance(argument, list) else 1
        try:
            return ["255.255.255.255/32"] * max(int(count), 1)
        except (TypeError, ValueError):
            return ["255.255.255.255/32"]

    def base64(self, argument: Any, depth: int) -> Any:
        return base64.b64encode(self.text(argument, depth).encode("utf-8")).decode("ascii")

    def to_json_string(self, argument: Any, depth: int) -> Any:
        return _compact(self.resolve(argument, depth))

    def length(self, argument: Any, depth: int) -> Any:
        return len(self.items(argument, depth))


#: Pseudo parameter -> its longest real value (built only for the one a ``Ref`` names).
_PSEUDO_PARAMETERS: dict[str, Callable[[_Resolver], str]] = {
    "AWS::AccountId": lambda r: r.account,
    "AWS::Region": lambda r: r.region,
    "AWS::Partition": lambda r: r.stack.partition,
    "AWS::URLSuffix": lambda r: r.stack.url_suffix,
    "AWS::StackName": lambda r: r.stack_name,
    "AWS::StackId": _Resolver.stack_id,
}

_INTRINSICS: dict[str, Callable[[_Resolver, Any, int], Any]] = {
    "Ref": _Resolver.ref,
    "Fn::GetAtt": _Resolver.get_att,
    "Fn::GetStackOutput": _Resolver.get_stack_output,
    "Fn::ImportValue": _Resolver.import_value,
    "Fn::Join": _Resolver.join,
    "Fn::Sub": _Resolver.sub,
    "Fn::Select": _Resolver.select,
    "Fn::Split": _Resolver.split,
    "Fn::If": _Resolver.if_,
    "Fn::FindInMap": _Resolver.find_in_map,
    "Fn::GetAZs": _Resolver.get_azs,
    "Fn::Cidr": _Resolver.cidr,
    "Fn::Base64": _Resolver.base64,
    "Fn::ToJsonString": _Resolver.to_json_string,
    "Fn::Length": _Resolver.length,
}


def _is_custom(resource_type: str) -> bool:
    return resource_type.startswith("Custom::") or resource_type == (
        "AWS::CloudFormation::CustomResource"
    )


def _compact(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is NO_VALUE:
        return ""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


_WHITESPACE = re.compile(r"\s+")


def policy_characters(document: Any) -> int:
    """Characters of a (resolved) policy document as IAM counts them: whitespace excluded."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return len(_WHITESPACE.sub("", document))
    return len(_WHITESPACE.sub("", _compact(document)))


def _document_characters(document: Any) -> int:
    """Characters of a (resolved) document sent as JSON, whitespace included."""
    return len(document) if isinstance(document, str) else len(_compact(document))


# --------------------------------------------------------------------------------------------
# The assembly
# --------------------------------------------------------------------------------------------


def load_assembly(template_paths: Iterable[str | Path]) -> list[StackFacts]:
    """The stacks of ``template_paths`` with what the cloud assembly says about them.

    Stack name, account and region come from the ``manifest.json`` next to each template (the
    validation plugin runs after the assembly is written); construct paths from the template's
    ``aws:cdk:path`` metadata or the assembly's ``aws:cdk:logicalId`` metadata.
    """
    manifests: dict[Path, dict[str, dict[str, Any]]] = {}
    stacks = []
    for raw in template_paths:
        path = Path(raw)
        template = json.loads(path.read_text(encoding="utf-8"))
        directory = path.parent
        if directory not in manifests:
            manifests[directory] = _stack_artifacts(directory)
        artifact = manifests[directory].get(path.name, {})
        stacks.append(
            StackFacts(
                template=template,
                stack_name=artifact.get("stack_name"),
                region=artifact.get("region"),
                account=artifact.get("account"),
                template_path=str(path),
                display_name=str(artifact.get("display_name") or path.name),
                paths=artifact.get("paths") or {},
            )
        )
    return stacks


def _stack_artifacts(directory: Path) -> dict[str, dict[str, Any]]:
    """Template file name -> stack name, account, region, display name, logical id paths."""
    manifest_file = directory / "manifest.json"
    if not manifest_file.is_file():
        return {}
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    out: dict[str, dict[str, Any]] = {}
    for artifact_id, artifact in (manifest.get("artifacts") or {}).items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        properties = artifact.get("properties") or {}
        template_file = properties.get("templateFile")
        if not template_file:
            continue
        environment = str(artifact.get("environment", "aws://unknown-account/unknown-region"))
        account, _, region = environment.removeprefix("aws://").partition("/")
        metadata = dict(artifact.get("metadata") or {})
        extra = artifact.get("additionalMetadataFile")
        if extra and (directory / extra).is_file():
            metadata.update(json.loads((directory / extra).read_text(encoding="utf-8")))
        paths = {
            str(entry["data"]): construct_path.lstrip("/")
            for construct_path, entries in metadata.items()
            for entry in entries or []
            if isinstance(entry, Mapping) and entry.get("type") == "aws:cdk:logicalId"
        }
        out[str(template_file)] = {
            "stack_name": properties.get("stackName") or artifact_id,
            "account": None if account.startswith("unknown") or not account else account,
            "region": None if region.startswith("unknown") or not region else region,
            "display_name": artifact.get("displayName") or artifact_id,
            "paths": paths,
        }
    return out


# --------------------------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    """One measured value against one limit, for one resource (or the stack itself)."""

    limit: Limit
    value: int
    maximum: int
    stack: StackFacts
    logical_id: str | None = None
    resource_type: str | None = None
    location: str = ""
    detail: str = ""

    @property
    def exceeded(self) -> bool:
        return self.value > self.maximum

    @property
    def percent(self) -> float:
        return 100.0 * self.value / self.maximum

    @property
    def construct_path(self) -> str | None:
        if self.logical_id is None:
            return self.stack.display_name
        return self.stack.path_of(self.logical_id)


def measure(
    stacks: Sequence[StackFacts], quotas: Mapping[str, int] | None = None
) -> list[Measurement]:
    """Every limit of ``LIMITS`` measured on every stack of ``stacks`` (exceeded or not)."""
    by_name = {s.stack_name: s for s in stacks if s.stack_name}
    published = _published_parameters(stacks)
    out: list[Measurement] = []
    inline: dict[tuple[str, str], list[int]] = {}
    attached: dict[tuple[str, str], int] = {}
    for stack in stacks:
        resolver = _Resolver(stack, by_name, published)
        record = _Recorder(stack, out, quotas or {})
        record.stack_level(Path(stack.template_path) if stack.template_path else None)
        for logical_id, resource in stack.resources.items():
            if not isinstance(resource, Mapping):
                continue
            _measure_resource(record, resolver, logical_id, resource, inline, attached)
    for stack in stacks:
        record = _Recorder(stack, out, quotas or {})
        for logical_id, resource in stack.resources.items():
            if isinstance(resource, Mapping) and resource.get("Type") == "AWS::IAM::Role":
                key = (stack.template_path, logical_id)
                name = (resource.get("Properties") or {}).get("RoleName")
                named = ("(role name)", name) if isinstance(name, str) else None
                sizes = inline.get(key, []) + (inline.get(named, []) if named else [])
                if named:
                    attached[key] = attached.get(key, 0) + attached.get(named, 0)
                if sizes:
                    record.add(
                        "IAMRoleInlinePoliciesSize",
                        sum(sizes),
                        logical_id,
                        resource,
                        "Properties/Policies",
                        f"{len(sizes)} inline policies",
                    )
                record.add(
                    "IAMManagedPoliciesPerRole",
                    attached.get(key, 0),
                    logical_id,
                    resource,
                    "Properties/ManagedPolicyArns",
                )
    return out


@dataclass
class _Recorder:
    stack: StackFacts
    out: list[Measurement]
    quotas: Mapping[str, int]

    def add(
        self,
        rule: str,
        value: int,
        logical_id: str | None = None,
        resource: Mapping[str, Any] | None = None,
        location: str = "",
        detail: str = "",
        maximum: int | None = None,
    ) -> None:
        limit = LIMITS[rule]
        self.out.append(
            Measurement(
                limit=limit,
                value=value,
                maximum=maximum or self.quotas.get(rule, limit.maximum),
                stack=self.stack,
                logical_id=logical_id,
                resource_type=str(resource.get("Type")) if resource is not None else None,
                location=location,
                detail=detail,
            )
        )

    def stack_level(self, template_file: Path | None) -> None:
        template = self.stack.template
        for rule, section in (
            ("StackResources", "Resources"),
            ("StackOutputs", "Outputs"),
            ("StackParameters", "Parameters"),
            ("StackMappings", "Mappings"),
        ):
            self.add(rule, len(template.get(section) or {}), location=section)
        for name, mapping in (template.get("Mappings") or {}).items():
            self.add(
                "StackMappingAttributes",
                len(mapping or {}),
                location=f"Mappings/{name}",
                detail=f"mapping {name}",
            )
        if template_file is not None and template_file.is_file():
            self.add("TemplateSize", template_file.stat().st_size, location="(template file)")
        description = template.get("Description")
        if isinstance(description, str):
            self.add(
                "TemplateDescription", len(description.encode("utf-8")), location="Description"
            )
        if self.stack.stack_name:
            self.add("StackName", len(self.stack.stack_name), location="(stack name)")


_NAME_RULES: dict[str, tuple[tuple[str, str], ...]] = {
    "AWS::IAM::Role": (("RoleName", "IAMRoleName"),),
    "AWS::IAM::ManagedPolicy": (("ManagedPolicyName", "IAMPolicyName"),),
    "AWS::IAM::Policy": (("PolicyName", "IAMPolicyName"),),
    "AWS::IAM::RolePolicy": (("PolicyName", "IAMPolicyName"),),
    "AWS::Lambda::Function": (("FunctionName", "LambdaFunctionName"),),
    "AWS::Bedrock::ApplicationInferenceProfile": (
        ("InferenceProfileName", "BedrockInferenceProfileName"),
    ),
    "AWS::CloudWatch::Alarm": (("AlarmName", "AlarmName"),),
    "AWS::CloudWatch::CompositeAlarm": (("AlarmName", "AlarmName"),),
    "AWS::CloudWatch::Dashboard": (("DashboardName", "DashboardName"),),
    "AWS::Logs::LogGroup": (("LogGroupName", "LogGroupName"),),
}

_ALARM_FUNCTION = re.compile(r"\b(?:ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*([^()\"]+?)\s*\)")
_QUOTED = re.compile(r'"([^"]*)"')


def _measure_resource(
    record: _Recorder,
    resolver: _Resolver,
    logical_id: str,
    resource: Mapping[str, Any],
    inline: dict[tuple[str, str], list[int]],
    attached: dict[tuple[str, str], int],
) -> None:
    resource_type = str(resource.get("Type"))
    properties = resource.get("Properties") or {}
    if not isinstance(properties, Mapping):
        return

    def resolved(name: str) -> Any:
        return resolver.resolve(properties.get(name), 0)

    def add(rule: str, value: int, location: str, detail: str = "", **kw: Any) -> None:
        record.add(rule, value, logical_id, resource, location, detail, **kw)

    for prop, rule in _NAME_RULES.get(resource_type, ()):
        if prop in properties:
            add(rule, len(resolver.text(properties[prop], 0)), f"Properties/{prop}")
    template_path = record.stack.template_path

    if resource_type == "AWS::IAM::ManagedPolicy" and "PolicyDocument" in properties:
        add(
            "IAMManagedPolicySize",
            policy_characters(resolved("PolicyDocument")),
            "Properties/PolicyDocument",
        )
        for role in _role_keys(resolver, record.stack, properties.get("Roles")):
            attached[role] = attached.get(role, 0) + 1
    elif resource_type == "AWS::IAM::Role":
        if "AssumeRolePolicyDocument" in properties:
            add(
                "IAMRoleTrustPolicySize",
                policy_characters(resolved("AssumeRolePolicyDocument")),
                "Properties/AssumeRolePolicyDocument",
            )
        key = (template_path, logical_id)
        for policy in resolved("Policies") or []:
            if isinstance(policy, Mapping):
                inline.setdefault(key, []).append(policy_characters(policy.get("PolicyDocument")))
        managed = resolved("ManagedPolicyArns")
        attached[key] = attached.get(key, 0) + (len(managed) if isinstance(managed, list) else 0)
    elif resource_type in ("AWS::IAM::Policy", "AWS::IAM::RolePolicy"):
        size = policy_characters(resolved("PolicyDocument"))
        roles = (
            properties.get("Roles")
            if resource_type == "AWS::IAM::Policy"
            else [properties.get("RoleName")]
        )
        for role in _role_keys(resolver, record.stack, roles):
            inline.setdefault(role, []).append(size)
    elif resource_type == "AWS::Organizations::Policy":
        policy_type = resolver.text(properties.get("Type"), 0)
        maximum = ORGANIZATIONS_POLICY_SIZES.get(policy_type)
        if maximum is not None:
            add(
                "OrganizationsPolicySize",
                _document_characters(resolved("Content")),
                "Properties/Content",
                policy_type,
                maximum=maximum,
            )
    elif resource_type == "AWS::EC2::VPCEndpoint" and "PolicyDocument" in properties:
        add(
            "VpcEndpointPolicySize",
            _document_characters(resolved("PolicyDocument")),
            "Properties/PolicyDocument",
        )
    elif resource_type == "AWS::Lambda::Function":
        environment = resolved("Environment")
        variables = environment.get("Variables") if isinstance(environment, Mapping) else None
        if isinstance(variables, Mapping):
            size = len(_compact(dict(variables)).encode("utf-8"))
            add("LambdaEnvironmentSize", size, "Properties/Environment/Variables")
    elif resource_type == "AWS::CloudWatch::Dashboard":
        body = resolver.text(properties.get("DashboardBody"), 0)
        add("DashboardWidgets", _widget_count(body), "Properties/DashboardBody")
    elif resource_type == "AWS::CloudWatch::CompositeAlarm":
        rule = resolver.text(properties.get("AlarmRule"), 0)
        add("CompositeAlarmRuleSize", len(rule), "Properties/AlarmRule")
        add("CompositeAlarmRuleAlarms", _alarm_count(rule), "Properties/AlarmRule")
    elif resource_type == "AWS::SSM::Parameter" and "Name" in properties:
        arn = resolver.arn_of(logical_id, resource, 0)
        add("SSMParameterName", len(arn), "Properties/Name", f"as ARN {arn[:60]}...")


def _role_keys(resolver: _Resolver, stack: StackFacts, roles: Any) -> list[tuple[str, str]]:
    """The roles a policy attaches to: same-template roles by logical id, others by name."""
    keys = []
    for role in roles if isinstance(roles, list) else []:
        if isinstance(role, Mapping) and isinstance(role.get("Ref"), str):
            keys.append((stack.template_path, role["Ref"]))
        else:
            keys.append(("(role name)", resolver.text(role, 0)))
    return keys


def _widget_count(body: str) -> int:
    try:
        parsed = json.loads(body)
    except ValueError:
        return body.count('"type":')
    widgets = parsed.get("widgets") if isinstance(parsed, Mapping) else None
    return len(widgets) if isinstance(widgets, list) else 0


def _alarm_count(rule: str) -> int:
    """Distinct alarms a rule names: quoted names/ARNs and unquoted state-function arguments."""
    quoted = set(_QUOTED.findall(rule))
    unquoted = {m.strip() for m in _ALARM_FUNCTION.findall(rule)}
    return len(quoted | unquoted)


# --------------------------------------------------------------------------------------------
# Config knobs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Knob:
    """What drives a measured value: a regular expression on the construct path (and optionally
    the rules it applies to) -> the configuration to change."""

    path: str
    text: str
    rules: frozenset[str] = frozenset()

    def matches(self, rule: str, construct_path: str) -> bool:
        return (not self.rules or rule in self.rules) and re.search(
            self.path, construct_path
        ) is not None


_STACK_RULES = frozenset({"StackResources", "StackOutputs", "StackParameters", "TemplateSize"})

#: The landing zone's own constructs, by construct path (first match wins).
LANDING_ZONE_KNOBS: tuple[Knob, ...] = (
    Knob(
        r"^Team[A-Za-z0-9]*/Access/ModelAccess/",  # a team's own stack: policy and boundary
        "this team's `teams[].models` (each model adds its ARNs and the team's application "
        "inference profile for it): fewer models for the team, or split the team",
    ),
    Knob(
        r"/GuardedInference/Handler/Function/",
        "the function's environment (the model map ships beside the code): the "
        "POWERTOOLS_* and guardrail variables, or a construct's own `environment`",
        frozenset({"LambdaEnvironmentSize"}),
    ),
    Knob(
        r"/GuardedInference/ModelAccess[0-9]+/",
        "`models` (the inference function's grants come in policies of 12 models each; "
        "long model ids or many cross-region profiles in one chunk)",
    ),
    Knob(
        r"/GuardedInference/Handler/Role/",
        "`models` (the inference function's grants come in policies of 12 models each, every "
        "one attached to this role): fewer `models`, or raise the quota",
        frozenset({"IAMManagedPoliciesPerRole"}),
    ),
    Knob(
        r"/GuardedInference/Handler/Role/",
        "the inference function's own permissions (logs, tracing, VPC networking, team "
        "directory); model grants are in its ModelAccess<N> policies",
    ),
    Knob(
        r"/PrivateNetwork/BedrockRuntimeEndpoint/",
        "`models` (the bedrock-runtime endpoint policy admits every allow-listed model; team "
        "profiles are admitted by tag): fewer `models`",
    ),
    Knob(
        r"/ServiceControlPolicies/DenyUnlistedModels",
        "`models` (the SCP lists every allow-listed model id): fewer models, or "
        "`organization_policies.allow_list_granularity: provider`",
    ),
    Knob(
        r"/ServiceControlPolicies/RestrictBedrockRegions",
        "`organization_policies.allowed_regions`",
    ),
    Knob(
        r"/CostAllocation/",
        "`name`, `teams[].name` and `models[].alias`: application inference profiles are named "
        "bedrock-lz-<env>-<team>-<alias>; shorten one of them",
        frozenset({"BedrockInferenceProfileName"}),
    ),
    Knob(
        r"/Observability/Dashboard/", "`models` (each allow-listed model adds a dashboard section)"
    ),
    Knob(
        r"/Observability/[A-Za-z]+Degraded/",
        "`models` (each allow-listed model adds its alarms to the composite rule)",
    ),
    Knob(
        r"(^|/)Team[A-Za-z0-9]*$",
        "this team's `teams[].models` (a profile per model in the team's stack)",
        _STACK_RULES,
    ),
    Knob(
        r"(^|/)Observability$",
        "`models` (each allow-listed model adds its alarms and dashboard widgets)",
        _STACK_RULES,
    ),
    Knob(r"", "`name` (stacks are named bedrock-lz-<env>-<unit>)", frozenset({"StackName"})),
    Knob(
        r"",
        "the environment `name` (it prefixes the landing zone's physical names), or the "
        "construct that sets this name",
        frozenset(
            {
                "IAMRoleName",
                "IAMPolicyName",
                "LambdaFunctionName",
                "AlarmName",
                "DashboardName",
                "SSMParameterName",
                "LogGroupName",
            }
        ),
    ),
)


def knob_for(measurement: Measurement, knobs: Sequence[Knob]) -> str:
    path = measurement.construct_path or ""
    for knob in knobs:
        if knob.matches(measurement.limit.rule, path):
            return knob.text
    where = path or measurement.stack.display_name
    return f"no configuration knob is known for it: change the construct at {where}"


# --------------------------------------------------------------------------------------------
# The plugin
# --------------------------------------------------------------------------------------------


def describe(measurement: Measurement, knob: str) -> str:
    """The finding: the resource, the limit, the measured value and the knob."""
    limit = measurement.limit
    if measurement.logical_id is None:
        resource = f"stack {measurement.stack.stack_name} ({measurement.stack.display_name})"
    else:
        path = measurement.construct_path
        resource = (
            f"{measurement.resource_type} {measurement.logical_id}"
            + (f" ({path})" if path else "")
            + f" in stack {measurement.stack.stack_name}"
        )
    detail = f", {measurement.detail}" if measurement.detail else ""
    adjustable = (
        " This is a default quota: once raised in Service Quotas, pass the new value to "
        f"PreflightChecks(quotas={{'{limit.rule}': N}})."
        if limit.adjustable
        else ""
    )
    how = (
        " Measured with every intrinsic resolved to its longest real value."
        if limit.resolved
        else ""
    )
    return (
        f"{limit.what[0].upper()}{limit.what[1:]} over the AWS limit: {resource} measures "
        f"{measurement.value:,} {limit.unit} at {measurement.location}{detail}; the limit is "
        f"{measurement.maximum:,} ({limit.source}).{how} Driven by: {knob}.{adjustable}"
    )


@jsii.implements(cdk.IPolicyValidationPlugin)
class PreflightChecks:
    """A validation plugin that fails synth when a template exceeds a limit of ``LIMITS``.

    Example::

        cdk.Validations.of(app).add_plugins(PreflightChecks())   # add_compliance_packs does this

    Args:
        quotas: raised values of adjustable quotas, by rule
            (e.g. ``{"IAMRoleTrustPolicySize": 4096}``). Default: AWS's default quotas.
        knobs: extra ``Knob`` entries (your own constructs), tried before
            ``LANDING_ZONE_KNOBS``.

    A finding is fatal: AWS would refuse the deployment, so CDK does not let it be acknowledged;
    change the knob it names (or, for an adjustable quota, pass the raised value).
    """

    def __init__(
        self, *, quotas: Mapping[str, int] | None = None, knobs: Sequence[Knob] = ()
    ) -> None:
        for rule in quotas or {}:
            if rule not in LIMITS or not LIMITS[rule].adjustable:
                adjustable = sorted(r for r, limit in LIMITS.items() if limit.adjustable)
                raise ValueError(
                    f"quotas: {rule!r} is not an adjustable quota; adjustable: {adjustable}"
                )
        self._quotas = dict(quotas or {})
        self._knobs = (*knobs, *LANDING_ZONE_KNOBS)

    @property
    def name(self) -> str:
        return PLUGIN_NAME

    @property
    def version(self) -> str | None:
        return PLUGIN_VERSION

    @property
    def rule_ids(self) -> list[str] | None:
        return sorted(LIMITS)

    def measure(self, stacks: Sequence[StackFacts]) -> list[Measurement]:
        """Every measurement of ``stacks``, against this plugin's quotas."""
        return measure(stacks, self._quotas)

    def measurements(self, template_paths: Iterable[str | Path]) -> list[Measurement]:
        """Every measurement of the templates (for reports and tests)."""
        return self.measure(load_assembly(template_paths))

    def violations(self, measurements: Iterable[Measurement]) -> Iterator[cdk.PolicyViolation]:
        for m in measurements:
            if not m.exceeded:
                continue
            knob = knob_for(m, self._knobs)
            yield cdk.PolicyViolation(
                rule_name=m.limit.rule,
                description=describe(m, knob),
                fix=knob,
                severity="fatal",  # AWS refuses the deploy: not acknowledgeable
                violating_resources=[
                    cdk.PolicyViolatingResource(
                        resource_logical_id=m.logical_id,
                        construct_path=m.construct_path,
                        template_path=m.stack.template_path,
                        locations=[m.location],
                    )
                ],
            )

    def validate(self, context: cdk.IPolicyValidationContext) -> cdk.PolicyValidationPluginReport:
        violations = list(self.violations(self.measurements(context.template_paths)))
        return cdk.PolicyValidationPluginReport(
            success=not violations, violations=violations, plugin_version=PLUGIN_VERSION
        )
