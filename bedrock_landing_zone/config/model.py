"""Typed configuration of one landing-zone environment.

One YAML file per environment lives in ``config/``; ``-c env=NAME`` picks ``config/NAME.yaml``.
The models below are the single source of truth: the JSON Schema in ``config/schema.json`` is
generated from them (``make schema``), and every construct receives these objects, never raw dicts.

Validation happens once, at the app edge (``load_config``). A mistake raises ``ConfigError`` whose
message names the file, the field path, the bad value and what is allowed.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

#: Interface endpoint services the network construct knows how to create.
ENDPOINT_SERVICES: tuple[str, ...] = (
    "bedrock-runtime",
    "bedrock",
    "bedrock-agent-runtime",
    "logs",
    "monitoring",
    "kms",
    "sts",
    "ssm",
    "lambda",
    "execute-api",
)
EndpointService = Literal[
    "bedrock-runtime",
    "bedrock",
    "bedrock-agent-runtime",
    "logs",
    "monitoring",
    "kms",
    "sts",
    "ssm",
    "lambda",
    "execute-api",
]

#: Retention periods CloudWatch Logs accepts (days).
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip

AccountId = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")]
OrganizationId = Annotated[str, StringConstraints(pattern=r"^o-[a-z0-9]{10,32}$")]
Alias = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,39}$")]
TeamName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,29}$")]
TagValue = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 _.:/=+\-@]{1,256}$")]
FilterStrength = Literal["NONE", "LOW", "MEDIUM", "HIGH"]
SensitiveAction = Literal["BLOCK", "ANONYMIZE"]
PiiType = Literal[
    "ADDRESS", "AGE", "AWS_ACCESS_KEY", "AWS_SECRET_KEY", "CA_HEALTH_NUMBER",
    "CA_SOCIAL_INSURANCE_NUMBER", "CREDIT_DEBIT_CARD_CVV", "CREDIT_DEBIT_CARD_EXPIRY",
    "CREDIT_DEBIT_CARD_NUMBER", "DRIVER_ID", "EMAIL", "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
    "IP_ADDRESS", "LICENSE_PLATE", "MAC_ADDRESS", "NAME", "PASSWORD", "PHONE", "PIN",
    "SWIFT_CODE", "UK_NATIONAL_HEALTH_SERVICE_NUMBER", "UK_NATIONAL_INSURANCE_NUMBER",
    "UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER", "URL", "USERNAME", "US_BANK_ACCOUNT_NUMBER",
    "US_BANK_ROUTING_NUMBER", "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER", "US_PASSPORT_NUMBER",
    "US_SOCIAL_SECURITY_NUMBER", "VEHICLE_IDENTIFICATION_NUMBER",
]  # fmt: skip
_PRINCIPAL_ARN = (
    r"^arn:aws[a-z-]*:(iam|sts)::\d{12}:(root|role/[\w+=,.@/-]+|assumed-role/[\w+=,.@/-]+)$"
)
_SCP_TARGET = r"^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32}|\d{12})$"
ModelId = Annotated[
    str, StringConstraints(pattern=r"^([a-z]{2,6}\.)?[a-z0-9-]+\.[a-z0-9.\-:]+$", max_length=128)
]
AvailabilityZoneName = Annotated[
    str, StringConstraints(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$")
]


_PATTERN_HINTS: dict[str, str] = {
    r"^\d{12}$": '12 digits, quoted in YAML (e.g. "123456789012")',
    r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$": "an AWS region name such as us-east-1",
    r"^o-[a-z0-9]{10,32}$": "an AWS Organizations id such as o-a1b2c3d4e5",
    r"^[a-z][a-z0-9-]{1,39}$": "lower-case letters, digits and '-', starting with a letter",
    r"^[a-z][a-z0-9-]{1,29}$": "lower-case letters, digits and '-', starting with a letter",
    r"^vpc-[0-9a-f]{8,17}$": "a VPC id such as vpc-0a1b2c3d4e5f67890",
    r"^subnet-[0-9a-f]{8,17}$": "a subnet id such as subnet-0a1b2c3d4e5f67890",
    r"^rtb-[0-9a-f]{8,17}$": "a route table id such as rtb-0a1b2c3d4e5f67890",
    r"^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$": (
        "an availability zone name such as us-east-1a (not a zone id such as use1-az1)"
    ),
}

# --- Rules AWS enforces on the guardrail (the landing zone's guardrail uses the Classic tier) ---
# "Safeguard tiers for guardrails policies", Amazon Bedrock User Guide,
# https://docs.aws.amazon.com/bedrock/latest/userguide/guardrails-tiers.html: denied topics allow
# "Maximum of 200 characters per definition" on the Classic tier (1,000 on the Standard tier), and
# the Classic tier supports English, French and Spanish only (the Standard tier needs a
# cross-Region guardrail profile). The CloudFormation reference agrees on 200:
# "AWS::Bedrock::Guardrail TopicConfig", Definition "Maximum: 200",
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-bedrock-guardrail-topicconfig.html
# (same page: Name pattern ^[0-9a-zA-Z-_ !?.]+$, 1-100; Examples of 1-100 characters).
CLASSIC_TOPIC_DEFINITION_MAX = 200
#: Models one landing zone holds. The observability stack carries about four CloudWatch
#: resources per model (alarms, the model's composite alarm) and CloudFormation takes 500
#: resources and a 1 MB template per stack (AWS CloudFormation User Guide, "Understand
#: CloudFormation quotas"). Measured with bench/scale.py at 100 models: 417 resources (83 %),
#: a 829 KB template (83 %), the bedrock-runtime endpoint policy at 80 % of 20,480 characters;
#: at 130 models synth fails with 547 resources.
MAX_MODELS = 100
#: Letters besides A-Z that French and Spanish text uses (NFC): the Classic tier's languages.
_FRENCH_SPANISH_LETTERS = frozenset("àâæçéèêëîïôœùûüÿÀÂÆÇÉÈÊËÎÏÔŒÙÛÜŸáíñóúÁÍÑÓÚªº")
_CLASSIC_FIX = (
    "the landing zone's guardrail uses the Classic tier, which supports English, French and "
    "Spanish only (Amazon Bedrock User Guide, 'Safeguard tiers for guardrails policies'): write "
    "it in English, French or Spanish, or remove it (the Standard tier, which supports more "
    "languages, is not configurable here yet)"
)


def _classic_language(value: str) -> str:
    """Refuse text written in a script the Classic tier does not support (a script check: it
    cannot tell German written without umlauts from English)."""
    for char in unicodedata.normalize("NFC", value):
        category = unicodedata.category(char)
        foreign_letter = category.startswith("L") and not (
            char.isascii() or char in _FRENCH_SPANISH_LETTERS
        )
        foreign_mark = category.startswith("M") or (category == "Nd" and not char.isascii())
        if foreign_letter or foreign_mark:
            name = unicodedata.name(char, f"U+{ord(char):04X}")
            raise ValueError(
                f"contains {char!r} ({name}), which is not English, French or "
                f"Spanish text: {_CLASSIC_FIX}"
            )
    return value


def _classic_topic_definition(value: str) -> str:
    if len(value) > CLASSIC_TOPIC_DEFINITION_MAX:
        raise ValueError(
            f"is {len(value)} characters; the Classic tier allows "
            f"{CLASSIC_TOPIC_DEFINITION_MAX} characters per denied-topic definition (Amazon "
            "Bedrock User Guide, 'Safeguard tiers for guardrails policies'): shorten it to "
            f"{CLASSIC_TOPIC_DEFINITION_MAX} characters or fewer and move detail into 'examples'"
        )
    return _classic_language(value)


def _classic_texts(values: list[str]) -> list[str]:
    for index, value in enumerate(values):
        try:
            _classic_language(value)
        except ValueError as exc:
            raise _FieldError((index,), value, str(exc)) from None
    return values


# --- Application inference profiles (cost_allocation.py): bedrock-lz-<env>-<team>-<alias> ---
# InferenceProfileName: 1-64 characters, pattern ^([0-9a-zA-Z][ _-]?)+$ (so no "--"); Description:
# 1-200 characters, pattern ^([0-9a-zA-Z:.][ _-]?)+$. Sources: "AWS::Bedrock::ApplicationInference
# Profile", CloudFormation Template Reference,
# https://docs.amazonaws.cn/en_us/AWSCloudFormation/latest/TemplateReference/aws-resource-bedrock-applicationinferenceprofile.md
# (its resource schema, as cfn-lint ships it, holds these patterns and lengths); "InferenceProfile
# Summary", Amazon Bedrock API Reference (inferenceProfileName: length 1-64, the same pattern),
# https://docs.aws.amazon.com/bedrock/latest/APIReference/API_InferenceProfileSummary.html
PROFILE_NAME_MAX = 64
_PROFILE_NAME = re.compile(r"([0-9a-zA-Z][ _-]?)+")
_PROFILE_DESCRIPTION = re.compile(r"([0-9a-zA-Z:.][ _-]?)+")


class ConfigError(ValueError):
    """A configuration file is missing or invalid. The message is meant for humans."""


class _Strict(BaseModel):
    """Base: unknown keys are errors, values are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _check_retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        allowed = ", ".join(str(d) for d in LOG_RETENTION_DAYS)
        raise ValueError(f"{value} is not a CloudWatch Logs retention period; allowed: {allowed}")
    return value


def _network(value: str, field: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(
            f"{value!r} is not a valid IPv4 CIDR block for {field} ({exc}); "
            "write it like 10.40.0.0/22 with no host bits set"
        ) from None


class TagsConfig(_Strict):
    """Tags put on every resource (cost allocation and ownership)."""

    owner: TagValue = Field(description="Team or person that owns this environment.")
    cost_center: TagValue = Field(description="Cost centre that pays for this environment.")
    extra: dict[str, TagValue] = Field(
        default_factory=dict, description="Further tags, key to value."
    )


class NewVpcConfig(_Strict):
    """A new VPC with private isolated subnets only: no NAT gateway, no internet gateway.

    Synth never looks anything up: with an explicit ``account`` the CDK would ask the account for
    its availability zones (a context lookup that needs credentials), and without one it knows
    only two zones (``Fn::GetAZs`` at deploy time), so ``max_azs: 3`` would silently give two
    subnets. ``availability_zones`` names the zones instead; it is required in both cases.
    """

    cidr: str = Field(
        default="10.40.0.0/22", description="IPv4 CIDR of the VPC, /16 to /24 (e.g. 10.40.0.0/22)."
    )
    max_azs: int = Field(
        default=2,
        ge=2,
        le=3,
        description="Availability zones used, 2 or 3 (default: the number of availability_zones).",
    )
    subnet_prefix_length: int = Field(
        default=24, ge=20, le=28, description="Prefix length of each private subnet (one per AZ)."
    )
    availability_zones: Annotated[list[AvailabilityZoneName], Field(min_length=2, max_length=3)] | (
        None
    ) = Field(
        default=None,
        description=(
            "AZ names of the region, one private subnet each (e.g. [us-east-1a, us-east-1b]). "
            "Required with an explicit account or with max_azs: 3, so that synth needs no "
            "credentials and no lookup."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _max_azs_from_zones(cls, data: Any) -> Any:
        if isinstance(data, dict) and "max_azs" not in data:
            zones = data.get("availability_zones")
            if isinstance(zones, list) and 2 <= len(zones) <= 3:
                return {**data, "max_azs": len(zones)}
        return data

    @field_validator("cidr")
    @classmethod
    def _valid_cidr(cls, value: str) -> str:
        net = _network(value, "the VPC")
        if not 16 <= net.prefixlen <= 24:
            raise ValueError(f"{value!r}: a VPC CIDR must be between /16 and /24")
        return value

    @model_validator(mode="after")
    def _subnets_fit(self) -> NewVpcConfig:
        vpc = ipaddress.IPv4Network(self.cidr)
        needed = self.max_azs * 2 ** (32 - self.subnet_prefix_length)
        if self.subnet_prefix_length <= vpc.prefixlen or needed > vpc.num_addresses:
            raise ValueError(
                f"{self.max_azs} subnets of /{self.subnet_prefix_length} "
                f"do not fit in {self.cidr}; "
                "use a larger VPC CIDR or a longer subnet_prefix_length"
            )
        zones = self.availability_zones
        if zones is not None:
            if len(set(zones)) != len(zones):
                raise _FieldError(
                    ("availability_zones",), zones, "must not repeat an availability zone"
                )
            if len(zones) != self.max_azs:
                raise _FieldError(
                    ("availability_zones",),
                    zones,
                    f"lists {len(zones)} zones but max_azs is {self.max_azs}: list one zone per "
                    "subnet, or leave max_azs out (it then follows the list)",
                )
        return self


class ExistingVpcConfig(_Strict):
    """A VPC you already own. Everything is given by id, so synth does no lookups."""

    vpc_id: Annotated[str, StringConstraints(pattern=r"^vpc-[0-9a-f]{8,17}$")]
    cidr: str = Field(description="The VPC's primary IPv4 CIDR.")
    availability_zones: list[
        Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$")]
    ] = Field(min_length=2, max_length=3, description="AZ names, in the same order as the subnets.")
    private_subnet_ids: list[
        Annotated[str, StringConstraints(pattern=r"^subnet-[0-9a-f]{8,17}$")]
    ] = Field(
        min_length=2, max_length=3, description="One private subnet per AZ, where endpoints go."
    )
    private_route_table_ids: list[
        Annotated[str, StringConstraints(pattern=r"^rtb-[0-9a-f]{8,17}$")]
    ] = Field(
        min_length=2,
        max_length=3,
        description="Route table of each private subnet (S3 gateway endpoint).",
    )

    @field_validator("cidr")
    @classmethod
    def _valid_cidr(cls, value: str) -> str:
        _network(value, "the existing VPC")
        return value

    @model_validator(mode="after")
    def _same_lengths(self) -> ExistingVpcConfig:
        counts = {
            len(self.availability_zones),
            len(self.private_subnet_ids),
            len(self.private_route_table_ids),
        }
        if len(counts) != 1:
            raise ValueError(
                "availability_zones, private_subnet_ids and private_route_table_ids must list the "
                "same number of entries (one per AZ)"
            )
        if len(set(self.availability_zones)) != len(self.availability_zones):
            raise ValueError("availability_zones must not repeat an AZ")
        return self


class VpcConfig(_Strict):
    """Exactly one of ``new`` or ``existing``."""

    new: NewVpcConfig | None = None
    existing: ExistingVpcConfig | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> VpcConfig:
        if (self.new is None) == (self.existing is None):
            raise ValueError(
                "set exactly one of 'new' (create a VPC) or 'existing' (bring your own)"
            )
        return self

    @property
    def cidr(self) -> str:
        chosen = self.new or self.existing
        assert chosen is not None
        return chosen.cidr


class NetworkConfig(_Strict):
    """Where inference traffic flows: private subnets and interface endpoints."""

    vpc: VpcConfig = Field(default_factory=lambda: VpcConfig(new=NewVpcConfig()))
    interface_endpoints: list[EndpointService] = Field(
        default_factory=lambda: list[EndpointService](["bedrock-runtime"]),
        description="Interface endpoints to create. Each costs money per AZ-hour: keep it minimal.",
    )
    reserved_cidrs: list[str] = Field(
        default_factory=list,
        description="CIDRs already used elsewhere on your network; the VPC must not overlap them.",
    )
    flow_log_retention_days: int = Field(default=365, description="VPC flow log retention.")

    _retention = field_validator("flow_log_retention_days")(_check_retention)

    @field_validator("interface_endpoints")
    @classmethod
    def _unique_endpoints(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists an endpoint service more than once")
        return value

    @field_validator("reserved_cidrs")
    @classmethod
    def _valid_reserved(cls, value: list[str]) -> list[str]:
        for cidr in value:
            _network(cidr, "reserved_cidrs")
        return value

    @model_validator(mode="after")
    def _no_overlap(self) -> NetworkConfig:
        vpc = ipaddress.IPv4Network(self.vpc.cidr)
        for cidr in self.reserved_cidrs:
            if vpc.overlaps(ipaddress.IPv4Network(cidr)):
                raise ValueError(
                    f"the VPC CIDR {self.vpc.cidr} overlaps reserved CIDR {cidr}; "
                    "choose a VPC CIDR outside every reserved range"
                )
        return self


#: Geography prefix of a cross-region inference profile -> region prefixes it can serve from.
PROFILE_GEOGRAPHIES: dict[str, tuple[str, ...]] = {
    "us": ("us-east-", "us-west-"),
    "us-gov": ("us-gov-",),
    "eu": ("eu-",),
    "apac": ("ap-",),
    "jp": ("ap-northeast-1", "ap-northeast-3"),
    "au": ("ap-southeast-2", "ap-southeast-4"),
    "ca": ("ca-",),
    "global": ("",),
}


#: Foundation models Bedrock Guardrails does not support (Bedrock User Guide, "Supported Regions
#: and models for Amazon Bedrock Guardrails"): embedding, rerank and speech-to-speech models.
#: None of them serves the Converse API either, so the inference API never offers them.
GUARDRAIL_UNSUPPORTED_MODELS: frozenset[str] = frozenset(
    {
        "amazon.titan-embed-text-v1",
        "amazon.titan-embed-text-v2:0",
        "amazon.titan-embed-image-v1",
        "amazon.nova-2-multimodal-embeddings-v1:0",
        "amazon.rerank-v1:0",
        "amazon.nova-2-sonic-v1:0",
        "amazon.nova-2-5-sonic",
        "cohere.embed-english-v3",
        "cohere.embed-multilingual-v3",
        "cohere.embed-v4:0",
        "cohere.rerank-v3-5:0",
    }
)


class ModelConfig(_Strict):
    """One approved foundation model or cross-region inference profile."""

    alias: Alias = Field(description="Short name callers use, e.g. 'claude-sonnet'.")
    model_id: ModelId = Field(
        description=(
            "Foundation model id (anthropic.claude-...) or cross-region inference profile id "
            "(us./eu./apac./global. + model id), exactly as callers pass it to Bedrock."
        )
    )
    streaming: bool = Field(
        default=False,
        description="Also allow InvokeModelWithResponseStream / ConverseStream for this model.",
    )
    max_output_tokens: int = Field(
        default=4096, ge=1, le=200_000, description="Cap on maxTokens a caller may ask for."
    )
    fallbacks: list[Alias] = Field(
        default_factory=list,
        description="Aliases tried in order when this model throttles or is unavailable.",
    )
    tokens_per_minute_quota: int | None = Field(
        default=None,
        ge=1,
        description="The account's tokens-per-minute quota for this model id (for alarms).",
    )
    p99_latency_alarm_ms: int | None = Field(
        default=None, ge=100, description="Override observability.p99_latency_ms for this model."
    )
    guardrail: bool = Field(
        default=True,
        description=(
            "false for a model Bedrock Guardrails does not support (embedding, rerank, speech "
            "models; see GUARDRAIL_UNSUPPORTED_MODELS): it is granted without the guardrail "
            "condition, left out of account enforcement, and not served by the inference API."
        ),
    )
    marketplace_product_id: (
        Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{6,64}$")] | None
    ) = Field(
        default=None,
        description=(
            "AWS Marketplace product id of a third-party model, when accounts must subscribe "
            "to it: the SCP allows aws-marketplace:Subscribe for listed product ids only."
        ),
    )

    @model_validator(mode="after")
    def _guardrail_support(self) -> ModelConfig:
        unsupported = self.foundation_model_id in GUARDRAIL_UNSUPPORTED_MODELS
        if unsupported and self.guardrail:
            raise ValueError(
                f"{self.foundation_model_id} does not support Bedrock Guardrails (Bedrock User "
                "Guide, 'Supported Regions and models for Amazon Bedrock Guardrails'): set "
                "guardrail: false for it, so it is granted without the guardrail condition"
            )
        if not unsupported and not self.guardrail:
            raise ValueError(
                f"{self.foundation_model_id} supports Bedrock Guardrails: guardrail: false is "
                "only for the models listed in GUARDRAIL_UNSUPPORTED_MODELS; remove it"
            )
        return self

    @property
    def geography(self) -> str | None:
        """The inference-profile geography (``us``, ``eu``, ...) or None for a foundation model."""
        prefix = self.model_id.split(".", 1)[0]
        return prefix if prefix in PROFILE_GEOGRAPHIES else None

    @property
    def is_inference_profile(self) -> bool:
        return self.geography is not None

    @property
    def foundation_model_id(self) -> str:
        """The underlying foundation model id (the profile id without its geography prefix)."""
        return self.model_id.split(".", 1)[1] if self.is_inference_profile else self.model_id


class TeamConfig(_Strict):
    """A team that may call models, and which of them."""

    name: TeamName
    models: list[Alias] = Field(
        min_length=1, description="Aliases from 'models' this team may use."
    )
    cost_center: TagValue | None = Field(
        default=None, description="Cost centre for this team's spend (default: the environment's)."
    )
    assumed_by: list[Annotated[str, StringConstraints(pattern=_PRINCIPAL_ARN)]] = Field(
        default_factory=list,
        description=(
            "IAM principal ARNs that may assume the team role (e.g. an SSO permission-set role). "
            "Default: none; IAM administrators of the account may still delegate it."
        ),
    )
    monthly_budget_usd: float | None = Field(
        default=None, gt=0, description="Monthly Bedrock budget of the team (USD)."
    )


class ContentFilters(_Strict):
    """Strength per content category (NONE, LOW, MEDIUM, HIGH), applied to input and output."""

    hate: FilterStrength = "HIGH"
    insults: FilterStrength = "HIGH"
    sexual: FilterStrength = "HIGH"
    violence: FilterStrength = "HIGH"
    misconduct: FilterStrength = "HIGH"
    prompt_attack: FilterStrength = Field(default="HIGH", description="Input only.")


class DeniedTopic(_Strict):
    """A topic the guardrail denies. Classic tier: English, French or Spanish text, a definition
    of at most 200 characters (see ``CLASSIC_TOPIC_DEFINITION_MAX``)."""

    name: Annotated[str, StringConstraints(pattern=r"^[0-9a-zA-Z-_ !?.]{1,100}$")]
    definition: Annotated[str, StringConstraints(min_length=1)] = Field(
        description="What the topic covers: at most 200 characters (Classic guardrail tier)."
    )
    examples: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=5
    )

    _definition = field_validator("definition")(_classic_topic_definition)
    _examples = field_validator("examples")(_classic_texts)


class WordFilters(_Strict):
    managed_profanity: bool = True
    words: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=10000
    )

    _words = field_validator("words")(_classic_texts)


class CustomRegex(_Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    pattern: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    action: SensitiveAction = "BLOCK"
    description: str | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"is not a valid regular expression ({exc})") from None
        return value


class ContextualGrounding(_Strict):
    grounding_threshold: float = Field(default=0.75, ge=0, le=0.99)
    relevance_threshold: float = Field(default=0.75, ge=0, le=0.99)


class GuardrailEnforcement(_Strict):
    """Account-level enforcement (every Bedrock call in the account applies the guardrail).

    On by default: identity policies bind only the principals that carry them; enforcement binds
    every principal of the account (admins, CI roles, agent and knowledge-base service roles).
    Models with ``guardrail: false`` are always excluded."""

    enabled: bool = True
    include_models: list[Alias] = Field(
        default_factory=list, description="Aliases to enforce on; empty means all models."
    )
    exclude_models: list[Alias] = Field(default_factory=list)


_DEFAULT_PII: dict[PiiType, SensitiveAction] = {
    "EMAIL": "ANONYMIZE",
    "PHONE": "ANONYMIZE",
    "US_SOCIAL_SECURITY_NUMBER": "BLOCK",
    "CREDIT_DEBIT_CARD_NUMBER": "BLOCK",
    "AWS_ACCESS_KEY": "BLOCK",
    "AWS_SECRET_KEY": "BLOCK",
    "PASSWORD": "BLOCK",
}


class InvocationLoggingConfig(_Strict):
    """Model invocation logging (account-wide, per region) to S3 and CloudWatch Logs."""

    enabled: bool = True
    text: bool = True
    image: bool = False
    embedding: bool = False
    video: bool = False
    object_lock_days: int | None = Field(
        default=None,
        ge=1,
        le=36500,
        description="Object lock (compliance mode) retention of log objects; none by default.",
    )
    transition_to_infrequent_access_days: int = Field(default=30, ge=30)
    transition_to_glacier_days: int = Field(default=90, ge=60)
    expire_after_days: int | None = Field(
        default=None, ge=1, description="Delete log objects after this many days (never: null)."
    )

    @model_validator(mode="after")
    def _ordered(self) -> InvocationLoggingConfig:
        if self.transition_to_glacier_days <= self.transition_to_infrequent_access_days:
            raise ValueError(
                "transition_to_glacier_days must be later than transition_to_infrequent_access_days"
            )
        if self.expire_after_days is not None:
            if self.expire_after_days <= self.transition_to_glacier_days:
                raise ValueError("expire_after_days must be later than transition_to_glacier_days")
            if self.object_lock_days and self.expire_after_days < self.object_lock_days:
                raise ValueError("expire_after_days must not be shorter than object_lock_days")
        return self


class UseCaseForm(_Strict):
    """Anthropic first-time-use form (submitted once per account)."""

    company_name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    company_website: Annotated[str, StringConstraints(pattern=r"^https://[^\s]+$")]
    intended_users: Literal["0", "1", "2"] = Field(
        default="0", description="0: internal employees, 1: external users, 2: both."
    )
    industry_option: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    other_industry_option: str = ""
    use_cases: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class ModelAccessAutomationConfig(_Strict):
    """Opt-in: accept model agreements and submit the Anthropic form at deploy time."""

    enabled: bool = False
    agreement_models: list[Alias] = Field(
        default_factory=list, description="Aliases whose foundation model needs an agreement."
    )
    use_case_form: UseCaseForm | None = None


class BudgetsConfig(_Strict):
    """Notification thresholds of the per-team monthly budgets (percent of the limit)."""

    actual_thresholds_percent: list[Annotated[float, Field(gt=0, le=1000)]] = Field(
        default_factory=lambda: [50.0, 80.0, 100.0]
    )
    forecast_threshold_percent: float | None = Field(default=100.0, gt=0, le=1000)


class AlertsConfig(_Strict):
    """Where alarms and budget notifications go (an SNS topic encrypted with the key)."""

    emails: list[Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]] = Field(
        default_factory=list
    )
    https_endpoints: list[Annotated[str, StringConstraints(pattern=r"^https://[^\s]+$")]] = Field(
        default_factory=list
    )


class InferenceLimits(_Strict):
    """Request size limits the inference API enforces (each rejection is a 400 naming it)."""

    max_messages: int = Field(default=40, ge=1, le=1000)
    max_total_chars: int = Field(default=100_000, ge=1, le=2_000_000)
    max_system_chars: int = Field(default=20_000, ge=0, le=200_000)


class InferenceConfig(_Strict):
    """The landing zone's inference path: a private, IAM-authenticated API and its function."""

    enabled: bool = Field(
        default=False,
        description="Deploy the inference stack (needs the 'execute-api' interface endpoint).",
    )
    reserved_concurrency: int = Field(default=20, ge=1, le=1000)
    memory_mb: int = Field(default=512, ge=128, le=10240)
    timeout_seconds: int = Field(
        default=25,
        ge=5,
        le=26,
        description=(
            "Function timeout. API Gateway's integration timeout is 29 s (API Gateway quotas); "
            "at most 26 s leaves 3 s for cold start and invocation overhead, so the function "
            "always answers before API Gateway gives up."
        ),
    )
    throttle_rate_per_second: int = Field(default=50, ge=1, le=10000)
    throttle_burst: int = Field(default=100, ge=1, le=5000)
    limits: InferenceLimits = Field(default_factory=InferenceLimits)
    log_content: bool = Field(
        default=False, description="Log prompt and completion text (off: never in logs)."
    )
    snapstart: bool = Field(
        default=False,
        description=(
            "Lambda SnapStart on published versions: the function gets a version and a 'live' "
            "alias, which the API invokes; its init runs when a version is published and new "
            "execution environments resume from that snapshot. Python 3.12+ managed runtimes; "
            "not with provisioned concurrency, EFS or ephemeral storage over 512 MB. Billed per "
            "cached snapshot and per restore (README, inference)."
        ),
    )


class ObservabilityConfig(_Strict):
    """Alarm thresholds (defaults suit most workloads) and the runbook link."""

    period_minutes: Literal[1, 5] = 5
    evaluation_periods: int = Field(default=3, ge=1, le=24)
    datapoints_to_alarm: int = Field(default=2, ge=1, le=24)
    throttle_rate_percent: float = Field(default=5.0, gt=0, le=100)
    server_error_rate_percent: float = Field(default=2.0, gt=0, le=100)
    p99_latency_ms: int = Field(default=60_000, ge=100, le=900_000)
    quota_usage_percent: float = Field(default=80.0, gt=0, le=100)
    guardrail_anomaly_band: float = Field(
        default=3.0, gt=0, le=10, description="Standard deviations of the anomaly band."
    )
    handler_errors: int = Field(default=1, ge=1, description="Lambda errors per period.")
    api_5xx: int = Field(default=1, ge=1, description="API 5XX responses per period.")
    runbook_url: Annotated[str, StringConstraints(pattern=r"^https://[^\s]+$")] | None = Field(
        default=None,
        description="Where your copy of docs/runbook.md is published (alarm and dashboard links).",
    )
    models_per_dashboard: int = Field(
        default=20,
        ge=1,
        le=50,
        description=(
            "Models per model-group dashboard and group composite alarm (a group is one provider, "
            "split into chunks of this size). At 50 a dashboard holds 352 widgets (CloudWatch "
            "allows 500) and a group rule stays under 10,240 characters."
        ),
    )
    overview_top: int = Field(
        default=10,
        ge=1,
        le=100,
        description=(
            "Lines in the overview's busiest-model and busiest team/model graphs (a Metrics "
            "Insights ORDER BY ... LIMIT): the overview does not grow with models or teams."
        ),
    )

    @model_validator(mode="after")
    def _datapoints(self) -> ObservabilityConfig:
        if self.datapoints_to_alarm > self.evaluation_periods:
            raise ValueError("datapoints_to_alarm cannot exceed evaluation_periods")
        return self


class GuardrailConfig(_Strict):
    """The landing zone's Bedrock Guardrail, required on every inference call."""

    content_filters: ContentFilters = Field(default_factory=ContentFilters)
    denied_topics: list[DeniedTopic] = Field(default_factory=list, max_length=30)
    word_filters: WordFilters = Field(default_factory=WordFilters)
    pii: dict[PiiType, SensitiveAction] = Field(
        default_factory=lambda: dict(_DEFAULT_PII),
        description="PII entity type -> BLOCK or ANONYMIZE.",
    )
    regexes: list[CustomRegex] = Field(default_factory=list)
    contextual_grounding: ContextualGrounding | None = Field(default_factory=ContextualGrounding)
    blocked_input_message: Annotated[str, StringConstraints(min_length=1, max_length=500)] = (
        "Sorry, this request is not allowed by the company's AI usage policy."
    )
    blocked_output_message: Annotated[str, StringConstraints(min_length=1, max_length=500)] = (
        "Sorry, the model's answer was withheld by the company's AI usage policy."
    )
    enforcement: GuardrailEnforcement = Field(default_factory=GuardrailEnforcement)

    _messages = field_validator("blocked_input_message", "blocked_output_message")(
        _classic_language
    )


class OrganizationPoliciesConfig(_Strict):
    """Service control policies derived from the allow-list (deployed in the management account)."""

    management_account: AccountId = Field(description="Account that deploys the SCPs.")
    target_ids: list[Annotated[str, StringConstraints(pattern=_SCP_TARGET)]] = Field(
        min_length=1, description="OU ids (ou-...), account ids or the root (r-...) to attach to."
    )
    allowed_regions: list[Region] = Field(
        default_factory=list,
        description="Regions where Bedrock may be called directly (default: the env's region).",
    )
    deny_short_term_api_keys: bool = Field(
        default=False,
        description=(
            "Also deny calls with short-term Bedrock API keys (long-term keys are always "
            "denied, and creating them too)."
        ),
    )
    bedrock_mantle: bool = Field(
        default=False,
        description=(
            "Allow the bedrock-mantle endpoint (OpenAI/Anthropic-compatible APIs) for the "
            "allow-listed models. It does not support Bedrock Guardrails and is not in model "
            "invocation logging (CloudTrail only): off, the SCP denies bedrock-mantle:*."
        ),
    )
    guardrail_enforcement: bool = Field(
        default=False,
        description=(
            "Enforce a guardrail on every Bedrock call in the target accounts through an AWS "
            "Organizations Amazon Bedrock policy. The organization stack then creates that "
            "guardrail (same configuration) in the management account, shared with the "
            "organisation. A wrong identifier makes every Bedrock call in the organisation fail."
        ),
    )
    allow_list_granularity: Literal["model", "provider"] = Field(
        default="model",
        description=(
            "What deny-unlisted-models names: each allow-listed model (exact), or each provider "
            "of the allow-list (model ids under another provider are denied; within a listed "
            "provider, IAM in the accounts decides). An SCP holds 5,120 characters, about 55 "
            "models: larger allow-lists need 'provider'."
        ),
    )


class LandingZoneConfig(_Strict):
    """One environment of the Bedrock landing zone."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,20}$")] = Field(
        description="Environment name; it prefixes stack names (must equal the file name)."
    )
    account: AccountId | None = Field(
        default=None,
        description="12-digit AWS account id. Leave empty for an environment-agnostic synth.",
    )
    region: Region = Field(description="AWS region, e.g. us-east-1.")
    organization_id: OrganizationId | None = Field(
        default=None,
        description="AWS Organizations id; endpoint policies then admit the whole organisation.",
    )
    tags: TagsConfig
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    log_retention_days: int = Field(
        default=365, description="Retention of the landing zone's logs."
    )
    models: list[ModelConfig] = Field(min_length=1, description="The model allow-list.")
    teams: list[TeamConfig] = Field(min_length=1)
    guardrail: GuardrailConfig = Field(default_factory=GuardrailConfig)
    organization_policies: OrganizationPoliciesConfig | None = Field(
        default=None, description="Generate SCPs from the allow-list (management account stack)."
    )
    allow_global_inference: bool = Field(
        default=False,
        description=(
            "Allow 'global.' cross-region inference profiles although organization_policies."
            "allowed_regions limits where Bedrock runs: a global profile may process a request "
            "in any commercial AWS region, outside that list."
        ),
    )
    invocation_logging: InvocationLoggingConfig = Field(default_factory=InvocationLoggingConfig)
    model_access_automation: ModelAccessAutomationConfig = Field(
        default_factory=ModelAccessAutomationConfig
    )
    budgets: BudgetsConfig = Field(default_factory=BudgetsConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    inference: InferenceConfig = Field(default_factory=InferenceConfig)
    observability: ObservabilityConfig = Field(default_factory=ObservabilityConfig)

    _retention = field_validator("log_retention_days")(_check_retention)

    @field_validator("models")
    @classmethod
    def _unique_models(cls, value: list[ModelConfig]) -> list[ModelConfig]:
        if len(value) > MAX_MODELS:
            raise ValueError(
                f"{len(value)} models: at most {MAX_MODELS} fit in one landing zone (the "
                "observability stack holds about four CloudWatch resources per model, and a "
                "CloudFormation stack at most 500 resources and 1 MB); split the allow-list "
                "across environments"
            )
        _no_duplicates((m.alias for m in value), "model alias")
        _no_duplicates((m.model_id for m in value), "model id")
        return value

    @field_validator("teams")
    @classmethod
    def _unique_teams(cls, value: list[TeamConfig]) -> list[TeamConfig]:
        _no_duplicates((t.name for t in value), "team name")
        return value

    @model_validator(mode="after")
    def _teams_use_known_models(self) -> LandingZoneConfig:
        known = {m.alias for m in self.models}
        allowed = ", ".join(sorted(known))
        for index, model in enumerate(self.models):
            geography = model.geography
            if geography is not None and not self.region.startswith(PROFILE_GEOGRAPHIES[geography]):
                raise _FieldError(
                    ("models", index, "model_id"),
                    model.model_id,
                    f"a '{geography}.' inference profile cannot be called from region "
                    f"{self.region}; use the profile of this region's geography or a "
                    "foundation model id",
                )
            regions = (
                self.organization_policies.allowed_regions if self.organization_policies else []
            )
            if geography == "global" and regions and not self.allow_global_inference:
                # Bedrock User Guide, "Increase throughput with cross-Region inference": a
                # global profile routes to any supported commercial region worldwide
                raise _FieldError(
                    ("models", index, "model_id"),
                    model.model_id,
                    "a 'global.' profile may process requests in any commercial AWS region, "
                    f"outside organization_policies.allowed_regions {regions}: use a "
                    "geography profile (us./eu./apac./...) or a foundation model id, or set "
                    "allow_global_inference: true to accept worldwide processing",
                )
            for fallback in model.fallbacks:
                if fallback in known and not self.model_by_alias[fallback].guardrail:
                    raise _FieldError(
                        ("models", index, "fallbacks"),
                        fallback,
                        "a fallback must be a model the inference API serves; this one has "
                        "guardrail: false (no guardrail, no Converse)",
                    )
                if fallback not in known or fallback == model.alias:
                    raise _FieldError(
                        ("models", index, "fallbacks"),
                        fallback,
                        f"a fallback must be another alias of the allow-list: {allowed}",
                    )
        alias_lists = (
            (
                ("guardrail", "enforcement", "include_models"),
                self.guardrail.enforcement.include_models,
            ),
            (
                ("guardrail", "enforcement", "exclude_models"),
                self.guardrail.enforcement.exclude_models,
            ),
            (
                ("model_access_automation", "agreement_models"),
                self.model_access_automation.agreement_models,
            ),
        )
        for loc, aliases in alias_lists:
            for alias in aliases:
                if alias not in known:
                    raise _FieldError(
                        loc, alias, f"unknown model alias; allowed aliases: {allowed}"
                    )
        if self.inference.enabled and "execute-api" not in self.network.interface_endpoints:
            raise _FieldError(
                ("network", "interface_endpoints"),
                list(self.network.interface_endpoints),
                "the inference API is private and reachable only through an execute-api "
                "endpoint: add 'execute-api', or set inference.enabled: false",
            )
        if self.inference.enabled and "ssm" not in self.network.interface_endpoints:
            raise _FieldError(
                ("network", "interface_endpoints"),
                list(self.network.interface_endpoints),
                "the inference function reads the team directory (SSM parameters each team "
                "stack writes) from inside the VPC, which has no internet route: add 'ssm', "
                "or set inference.enabled: false",
            )
        options = self.organization_policies
        if options is not None and options.guardrail_enforcement and not self.organization_id:
            raise _FieldError(
                ("organization_policies", "guardrail_enforcement"),
                True,
                "the organisation's guardrail is shared with the organisation by its id: set "
                "organization_id",
            )
        for index, team in enumerate(self.teams):
            for alias in team.models:
                if alias not in known:
                    raise _FieldError(
                        ("teams", index, "models"),
                        alias,
                        f"team {team.name!r} names model alias {alias!r}, which is not in the "
                        f"allow-list; allowed aliases: {allowed}",
                    )
        return self

    @model_validator(mode="after")
    def _no_fallback_cycle(self) -> LandingZoneConfig:
        graph = {m.alias: m.fallbacks for m in self.models}
        done: set[str] = set()

        def visit(alias: str, path: list[str]) -> list[str] | None:
            if alias in path:
                return [*path[path.index(alias) :], alias]
            if alias in done:
                return None
            for fallback in graph.get(alias, []):
                cycle = visit(fallback, [*path, alias])
                if cycle:
                    return cycle
            done.add(alias)
            return None

        for index, model in enumerate(self.models):
            cycle = visit(model.alias, [])
            if cycle:
                raise _FieldError(
                    ("models", index, "fallbacks"),
                    list(model.fallbacks),
                    f"the fallbacks form a cycle {' -> '.join(cycle)}: a fallback must lead to "
                    "a model of last resort, never back to where it started; remove one of "
                    "these fallbacks",
                )
        return self

    @model_validator(mode="after")
    def _zones_without_lookups(self) -> LandingZoneConfig:
        new = self.network.vpc.new
        if new is None:
            return self
        at = ("network", "vpc", "new")
        example = ", ".join(f"{self.region}{letter}" for letter in "abc"[: new.max_azs])
        if new.availability_zones is None:
            # CDK: an environment-agnostic stack's availabilityZones are two Fn::GetAZs tokens;
            # with an account and region it is a context lookup (credentials), even when the VPC
            # is given availabilityZones (aws/aws-cdk commit c2a22fa, "fix(ec2): non-agnostic
            # stack throws error with availability zones defined in VPC"; CDK Developer Guide,
            # "Environments").
            if self.account is not None:
                raise _FieldError(
                    (*at, "availability_zones"),
                    None,
                    f"required because account is set: the CDK would otherwise look the "
                    f"account's zones up at synth, which needs credentials; list "
                    f"{new.max_azs} zone names of {self.region}, e.g. [{example}] (`aws ec2 "
                    f"describe-availability-zones --region {self.region}` shows them), or "
                    "remove account",
                )
            if new.max_azs > 2:
                raise _FieldError(
                    (*at, "max_azs"),
                    new.max_azs,
                    "without an account the CDK knows only 2 zones (Fn::GetAZs), so this would "
                    f"silently create only 2 subnets; name the zones: availability_zones: "
                    f"[{example}]",
                )
            return self
        for index, zone in enumerate(new.availability_zones):
            if not re.fullmatch(re.escape(self.region) + "[a-z]", zone):
                raise _FieldError(
                    (*at, "availability_zones", index),
                    zone,
                    f"not an availability zone of the region {self.region}: use zone names "
                    f"such as {example}",
                )
        return self

    @model_validator(mode="after")
    def _inference_profile_names(self) -> LandingZoneConfig:
        for index, team in enumerate(self.teams):
            for alias in team.models:
                problem = self._profile_name_problem(team.name, alias)
                if problem:
                    raise _FieldError(("teams", index, "models"), alias, problem)
        return self

    def application_inference_profile_name(self, team: str, alias: str) -> str:
        """The name of the team's application inference profile for ``alias``."""
        return f"bedrock-lz-{self.name}-{team}-{alias}"

    def _profile_name_problem(self, team: str, alias: str) -> str | None:
        name = self.application_inference_profile_name(team, alias)
        parts = (
            ("environment name", self.name),
            ("team name", team),
            ("model alias", alias),
        )
        hyphens = [
            f"{what} {value!r}" for what, value in parts if "--" in value or value.endswith("-")
        ]
        if hyphens:
            return (
                f"its application inference profile name {name!r} would contain '--', which "
                "AWS refuses (AWS::Bedrock::ApplicationInferenceProfile InferenceProfileName: "
                "letters and digits, each followed by at most one '-', '_' or space): remove the "
                f"doubled or trailing '-' from the {' and the '.join(hyphens)}"
            )
        if len(name) > PROFILE_NAME_MAX:
            over = len(name) - PROFILE_NAME_MAX
            return (
                f"its application inference profile name {name!r} "
                "(bedrock-lz-<env>-<team>-<alias>) is "
                f"{len(name)} characters; AWS allows at most {PROFILE_NAME_MAX} "
                "(AWS::Bedrock::ApplicationInferenceProfile InferenceProfileName): shorten the "
                f"environment name {self.name!r}, the team name {team!r} or the model alias "
                f"{alias!r} by at least {over} characters in total"
            )
        description = f"{alias} for team {team} cost allocation"  # as cost_allocation.py sets it
        if not _PROFILE_NAME.fullmatch(name) or not _PROFILE_DESCRIPTION.fullmatch(description):
            return (
                f"its application inference profile name {name!r} does not match the pattern "
                "AWS requires (^([0-9a-zA-Z][ _-]?)+$): use lower-case letters, digits and "
                "single '-' in names"
            )
        return None

    @property
    def model_by_alias(self) -> dict[str, ModelConfig]:
        return {m.alias: m for m in self.models}

    def team_models(self, team: TeamConfig) -> list[ModelConfig]:
        """The allow-list entries a team may use, in allow-list order."""
        return [m for m in self.models if m.alias in team.models]


class _FieldError(ValueError):
    """Raised from a model validator when the error belongs to a nested field."""

    def __init__(self, loc: tuple[str | int, ...], value: Any, message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.value = value
        self.message = message


def _no_duplicates(values: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value!r} appears more than once; each must be unique")
        seen.add(value)
