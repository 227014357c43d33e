"""Pydantic v2 models of the settings (environment) and the API request; the API response types.

pydantic is not part of the Lambda Python runtime. It *is* part of the AWS-managed
"Powertools for AWS Lambda (Python) v3" layer (``AWSLambdaPowertoolsPythonV3-*``): that layer is
built with the ``[all]`` extras, which include pydantic v2 (powertools-lambda-python,
``layer_v3/layer/layer_stack.py`` builds it with ``include_extras=True``, and the layer canary
imports pydantic to prove it). pydantic-settings is *not* in the layer, so settings are a plain
``BaseModel`` read from ``os.environ`` by :func:`load_settings`.

Environment (all read once per container, at init; a bad value raises :class:`ConfigurationError`
naming the variable and the field):

- ``INFERENCE_CONFIG_FILE`` or ``INFERENCE_CONFIG`` (one is required): the JSON document of
  schema :class:`InferenceConfig`, as a file shipped beside the code (a path relative to
  ``LAMBDA_TASK_ROOT``, where Lambda unpacks the code) or inline. The file is the default: the
  environment holds 4 KB in all (Lambda Developer Guide, "Lambda quotas"), and the model map
  outgrows it at a few dozen models.
- ``GUARDRAIL_ID`` (required): guardrail id or ARN, applied to every Converse call.
- ``GUARDRAIL_VERSION`` (required): a version number or ``DRAFT``.
- ``POWERTOOLS_METRICS_NAMESPACE`` (optional, default ``BedrockLandingZone/Inference``).
- ``AWS_REGION`` (set by Lambda) or ``AWS_DEFAULT_REGION``; default ``us-east-1``.

The request body (``POST /v1/converse``) is :class:`ConverseRequest`; :func:`request_json_schema`
renders it as the JSON Schema (draft 4) an API Gateway request model accepts, so the gateway's
validator and this function cannot drift apart.
"""

# No ``from __future__ import annotations`` here: pydantic would have to turn every field's
# annotation string into a ``typing.ForwardRef`` (each compiled) and evaluate it when a model is
# built; evaluated by Python at class creation, they cost nothing extra at cold start.
import copy
import json
import os
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self, TypedDict

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

# No pydantic plugins in the Lambda: looking them up scans every installed distribution's entry
# points when the first model class is built (~10 ms of cold start in a large environment).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

DEFAULT_METRICS_NAMESPACE = "BedrockLandingZone/Inference"

# Aliases and team names become CloudWatch dimension values and log fields: keep them tame.
_NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"
# IAM role names: [\w+=,.@-]{1,64}
_ROLE_NAME_PATTERN = r"^[\w+=,.@-]{1,64}$"
# From the bedrock-runtime service model (GuardrailConfiguration), without the empty string.
_GUARDRAIL_ID_PATTERN = (
    r"^(([a-z0-9]+)|(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+))$"
)
_GUARDRAIL_VERSION_PATTERN = r"^(([1-9][0-9]{0,7})|(DRAFT))$"

Name = Annotated[str, Field(pattern=_NAME_PATTERN)]
RoleName = Annotated[str, Field(pattern=_ROLE_NAME_PATTERN)]
#: "The regex pattern for an account ID string requires exactly 12 digits" (AWS Organizations
#: API Reference, DescribeAccount, AccountId).
AccountId = Annotated[str, Field(pattern=r"^\d{12}$")]


class ConfigurationError(RuntimeError):
    """The Lambda's environment is wrong. Raised at init, so the function fails to start."""


class _Frozen(BaseModel):
    # python-re: patterns compile with the re module instead of pydantic-core's Rust regex
    # engine, whose per-pattern compile cost ~18 ms of cold start over these models.
    # defer_build: a model's validator is built when the model itself first validates. Init
    # validates InferenceConfig and Settings only; the sections (ModelConfig, LimitsConfig...)
    # are validated as part of them and never build validators of their own unless a section
    # is left out and its default is made.
    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, regex_engine="python-re", defer_build=True
    )


# ------------------------------------------------------------------------------------------------
# INFERENCE_CONFIG
# ------------------------------------------------------------------------------------------------
class ModelConfig(_Frozen):
    """One model alias."""

    model_id: str = Field(min_length=1, max_length=2048)
    """Foundation model id, inference profile id (e.g. ``us.anthropic…``) or ARN."""
    max_output_tokens: int = Field(ge=1, le=1_000_000)
    """Cap for ``inferenceConfig.maxTokens``; also sent when the caller gives none."""
    fallbacks: tuple[Name, ...] = ()
    """Aliases tried in order when this one is throttled, unavailable or times out."""
    input_usd_per_mtok: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    """Price override (USD per million input tokens); default: ``pricing.py``'s table."""
    output_usd_per_mtok: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    """Price override (USD per million output tokens); default: ``pricing.py``'s table."""


class TeamConfig(_Frozen):
    """One team: which aliases it may call, which IAM roles (in which accounts) it is."""

    models: tuple[Name, ...] = Field(min_length=1)
    role_names: tuple[RoleName, ...] = Field(min_length=1)
    accounts: tuple[AccountId, ...] = ()
    """The accounts whose roles of these names are the team. ``GuardedInferenceFunction`` always
    fills it (default: the function's own account), so that with an API open to the
    organisation a role of the same name in another account is not the team. Empty: a role of
    that name in any account the API admits."""


class LimitsConfig(_Frozen):
    max_messages: int = Field(default=40, ge=1, le=10_000)
    max_total_chars: int = Field(default=100_000, ge=1)
    """Sum of the characters of all text (plain-string contents and text blocks)."""
    max_system_chars: int = Field(default=20_000, ge=0)
    max_body_bytes: int = Field(default=262_144, ge=1, le=6_291_456)
    """Request body size. At most 6 MiB: Lambda's synchronous invocation payload limit
    ("For synchronous invocations, the maximum payload size is 6 MB", Lambda API reference,
    Invoke). Images and documents arrive base64-encoded (4/3 of their size) inside the body,
    so raise this to accept them: the default admits about 190 KB of attachments."""
    max_stop_sequences: int = Field(default=4, ge=0, le=2500)
    max_stop_sequence_chars: int = Field(default=100, ge=1)
    # Attachments. Defaults are what the Bedrock API reference documents for Message.content
    # (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Message.html): "You can
    # include up to 20 images. Each image's size, height, and width must be no more than 3.75 MB,
    # 8000 px, and 8000 px, respectively. You can include up to five documents. Each document's
    # size must be no more than 4.5 MB." The user guide ("API restrictions") adds that some models
    # accept more (no image limit of Bedrock's own; PDFs above 4.5 MB for Claude 4+, PDF/DOCX for
    # Nova): raise these per deployment when the configured models allow it.
    # MB is read as 10^6 bytes, the stricter reading.
    max_images: int = Field(default=20, ge=0, le=1000)
    """Images per request."""
    max_image_bytes: int = Field(default=3_750_000, ge=1, le=6_291_456)
    """Decoded size of one image."""
    max_image_dimension_px: int = Field(default=8000, ge=1, le=100_000)
    """Width and height of one image (read from the PNG/JPEG/GIF/WebP header)."""
    max_documents: int = Field(default=5, ge=0, le=1000)
    """Documents per request."""
    max_document_bytes: int = Field(default=4_500_000, ge=1, le=6_291_456)
    """Decoded size of one document."""


class RetryConfig(_Frozen):
    max_attempts: int = Field(default=3, ge=0, le=10)
    """botocore ``retries={"mode": "standard", "max_attempts": N}``. In that dict botocore counts
    *retries after the first attempt* (it stores ``total_max_attempts = N + 1``): 3 means up to
    4 attempts per model before the next fallback is tried."""
    connect_timeout_s: float = Field(default=2, gt=0, le=60, allow_inf_nan=False)
    read_timeout_s: float = Field(default=50, gt=0, le=900, allow_inf_nan=False)
    """botocore's per-socket-read timeout, capped per model by that model's share of the time
    budget. The whole attempt (connect, retries, every read of the body) is bounded by the share
    anyway (see ``bedrock_client``), so this may exceed the budget."""
    deadline_margin_s: float = Field(default=1.0, ge=0, le=60, allow_inf_nan=False)
    """Time kept back from the Lambda's remaining time to answer the caller: the request's time
    budget is ``context.get_remaining_time_in_millis()`` minus this."""
    fallback_reserve_s: float | None = Field(default=None, gt=0, le=900, allow_inf_nan=False)
    """Time kept for each fallback that follows a model. Default (unset): every model still to
    try gets an equal share of the time left, so a slow or failing first model always leaves its
    fallbacks a real attempt. Set: a model may use all but this much per following fallback
    (never less than the equal share). Time a model does not use passes on to the next."""
    throttle_retry_after_s: int = Field(default=2, ge=1, le=3600)
    """``Retry-After`` sent with a 429."""


class BreakerConfig(_Frozen):
    failure_threshold: int = Field(default=5, ge=1, le=1000)
    """Consecutive throttles/unavailability/timeouts of one model id that open its breaker."""
    cooldown_s: float = Field(default=30, gt=0, le=3600, allow_inf_nan=False)
    """Time an open breaker waits before letting one trial call through (half-open)."""


class InferenceConfig(_Frozen):
    """The JSON document of ``INFERENCE_CONFIG_FILE`` (or ``INFERENCE_CONFIG``).

    Teams come from exactly one of ``teams`` (a fixed map: team -> aliases and role names) or
    ``team_directory`` (an SSM path under which each team stack publishes its entry; see
    :mod:`bedrock_inference.team_directory`).
    """

    models: dict[Name, ModelConfig] = Field(min_length=1)
    teams: dict[Name, TeamConfig] = Field(default_factory=dict)
    team_directory: str | None = Field(
        default=None, pattern=r"^/[a-zA-Z0-9_.\-/]{0,1000}/$", max_length=1011
    )
    """SSM path of the team directory (``/bedrock-lz/<env>/teams/``), read at run time."""
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    retry: RetryConfig = Field(default_factory=RetryConfig)
    breaker: BreakerConfig = Field(default_factory=BreakerConfig)
    log_content: bool = False
    """Log prompt and completion text. Off by default: logs carry metadata only."""

    @model_validator(mode="after")
    def _references_resolve(self) -> Self:
        if bool(self.teams) == bool(self.team_directory):
            raise ValueError(
                "teams / team_directory: set exactly one (a fixed team map, or the SSM path of "
                "the team directory)"
            )
        for alias, model in self.models.items():
            for fallback in model.fallbacks:
                if fallback not in self.models:
                    raise ValueError(f"models.{alias}.fallbacks: unknown alias {fallback!r}")
                if fallback == alias:
                    raise ValueError(f"models.{alias}.fallbacks: an alias cannot list itself")
            if len(set(model.fallbacks)) != len(model.fallbacks):
                raise ValueError(f"models.{alias}.fallbacks: duplicate alias")
        owner: dict[str, str] = {}
        for team, spec in self.teams.items():
            for alias in spec.models:
                if alias not in self.models:
                    raise ValueError(f"teams.{team}.models: unknown alias {alias!r}")
            for role in spec.role_names:
                if role in owner:
                    raise ValueError(
                        f"teams.{team}.role_names: role {role!r} already belongs to team "
                        f"{owner[role]!r}; a role maps to one team"
                    )
                owner[role] = team
        return self

    def chain(self, alias: str) -> tuple[str, ...]:
        """The alias followed by its fallbacks, in order."""
        return (alias, *self.models[alias].fallbacks)


class Settings(_Frozen):
    """Everything the runtime reads from its environment."""

    config: InferenceConfig
    guardrail_id: str = Field(pattern=_GUARDRAIL_ID_PATTERN, max_length=2048)
    guardrail_version: str = Field(pattern=_GUARDRAIL_VERSION_PATTERN)
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d+$")
    metrics_namespace: str = Field(min_length=1, max_length=255)


_ENV_OF_FIELD = {
    "guardrail_id": "GUARDRAIL_ID",
    "guardrail_version": "GUARDRAIL_VERSION",
    "region": "AWS_REGION",
    "metrics_namespace": "POWERTOOLS_METRICS_NAMESPACE",
}


def _describe(error: ValidationError, prefix: str) -> str:
    lines = []
    for item in error.errors(include_input=False, include_url=False):
        where = format_loc(item["loc"])
        lines.append(f"{prefix}{where}: {item['msg']}" if where else item["msg"])
    return "; ".join(lines)


def _config_text(env: Mapping[str, str]) -> tuple[str, str]:
    """(where it came from, the JSON text) of the inference config."""
    file = env.get("INFERENCE_CONFIG_FILE")
    if file:
        # Lambda unpacks the code into LAMBDA_TASK_ROOT (Lambda Developer Guide, "Defined
        # runtime environment variables"); a relative path is relative to it.
        path = Path(env.get("LAMBDA_TASK_ROOT") or Path.cwd()) / file
        try:
            return f"INFERENCE_CONFIG_FILE ({path})", path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(
                f"INFERENCE_CONFIG_FILE: cannot read {path}: {exc.strerror or exc}"
            ) from None
    raw = env.get("INFERENCE_CONFIG")
    if not raw:
        raise ConfigurationError(
            "INFERENCE_CONFIG_FILE (or INFERENCE_CONFIG) is not set: it must name the JSON "
            "config shipped with the code (or hold it)"
        )
    return "INFERENCE_CONFIG", raw


def load_settings(env: Mapping[str, str]) -> Settings:
    """Read and validate the environment; raise :class:`ConfigurationError` naming the field."""
    source, raw = _config_text(env)
    try:
        config = InferenceConfig.model_validate_json(raw)
    except ValidationError as exc:
        raise ConfigurationError(f"{source} is invalid: {_describe(exc, '')}") from None
    for name in ("GUARDRAIL_ID", "GUARDRAIL_VERSION"):
        if not env.get(name):
            raise ConfigurationError(f"{name} is not set: every Converse call carries a guardrail")
    try:
        return Settings(
            config=config,
            guardrail_id=env["GUARDRAIL_ID"],
            guardrail_version=env["GUARDRAIL_VERSION"],
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            metrics_namespace=env.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_METRICS_NAMESPACE,
        )
    except ValidationError as exc:
        problems = []
        for item in exc.errors(include_input=False, include_url=False):
            field = str(item["loc"][0]) if item["loc"] else ""
            problems.append(f"{_ENV_OF_FIELD.get(field, field)}: {item['msg']}")
        raise ConfigurationError("invalid environment: " + "; ".join(problems)) from None


def format_loc(loc: tuple[int | str, ...]) -> str:
    """``('messages', 2, 'role')`` → ``messages[2].role``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


# ------------------------------------------------------------------------------------------------
# API: POST /v1/converse
# ------------------------------------------------------------------------------------------------
class _Request(BaseModel):
    # defer_build: nothing validates a request at init; the first request on a model route
    # builds ConverseRequest's validator (its blocks inline, ~2 ms), and GET /v1/models and
    # requests refused before validation never do. ``prepare_request_models`` builds it ahead.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


# Characters that render as nothing, beyond the format (Cf) characters: the combining grapheme
# joiner, Hangul and Khmer fillers, Mongolian free variation selectors, variation selectors and
# the Braille blank.
_INVISIBLE = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e\u180f\u2800\u3164\uffa0"
    + "".join(chr(c) for c in range(0xFE00, 0xFE10))
    + "".join(chr(c) for c in range(0xE0100, 0xE01F0))
)


def is_blank(value: str) -> bool:
    """True when ``value`` shows nothing: empty or only whitespace after NFKC normalisation,
    format characters (Unicode category Cf: zero-width space and joiners, BOM, bidi marks, soft
    hyphen...) and a few other invisible fillers not counted."""
    if value.isascii():
        return not value.strip()
    for char in unicodedata.normalize("NFKC", value):
        if not char.isspace() and char not in _INVISIBLE and unicodedata.category(char) != "Cf":
            return False
    return True


def _visible(value: str) -> str:
    if is_blank(value):
        raise ValueError("must not be blank (whitespace and invisible characters do not count)")
    return value


VisibleText = Annotated[str, Field(min_length=1), AfterValidator(_visible)]

IMAGE_FORMATS = ("png", "jpeg", "gif", "webp")
"""ImageBlock.format (Bedrock API reference, ImageBlock: "Valid Values: png | jpeg | gif |
webp")."""
DOCUMENT_FORMATS = ("pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md")
"""DocumentBlock.format (Bedrock API reference, DocumentBlock: "Valid Values: pdf | csv | doc |
docx | xls | xlsx | html | txt | md")."""
# DocumentBlock.name (Bedrock API reference, DocumentBlock): "The name can only contain the
# following characters: Alphanumeric characters, Whitespace characters (no more than one in a
# row), Hyphens, Parentheses, Square brackets"; "Length Constraints: Minimum length of 1. Maximum
# length of 200." Read strictly: ASCII letters and digits, no leading or trailing whitespace.
DOCUMENT_NAME_PATTERN = r"^[A-Za-z0-9()\[\]-]+(?:\s[A-Za-z0-9()\[\]-]+)*$"


class MediaSource(_Request):
    data: str = Field(
        alias="bytes",
        min_length=1,
        description="The file, base64-encoded (standard alphabet, with padding).",
    )


class ImageBlock(_Request):
    format: Literal["png", "jpeg", "gif", "webp"]
    source: MediaSource


class DocumentBlock(_Request):
    format: Literal["pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md"]
    name: str = Field(min_length=1, max_length=200, pattern=DOCUMENT_NAME_PATTERN)
    source: MediaSource


class ContentBlock(_Request):
    """One Converse ContentBlock: exactly one of ``text``, ``image``, ``document``."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1, "maxProperties": 1})

    text: VisibleText | None = None
    image: ImageBlock | None = None
    document: DocumentBlock | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        given = [v for v in (self.text, self.image, self.document) if v is not None]
        if len(given) != 1:
            raise ValueError("a content block holds exactly one of 'text', 'image', 'document'")
        return self


_ContentInput = (
    Annotated[str, Field(min_length=1)] | Annotated[list[ContentBlock], Field(min_length=1)]
)


class ChatMessage(_Request):
    role: Literal["user", "assistant"]
    content: list[ContentBlock] = Field(min_length=1)
    """A plain string (one text block) or the Converse list of content blocks."""

    @field_validator("content", mode="before", json_schema_input_type=_ContentInput)
    @classmethod
    def _plain_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            if is_blank(value):
                raise ValueError(
                    "content must not be blank (whitespace and invisible characters do not count)"
                )
            return [{"text": value}]
        if not isinstance(value, list):
            raise ValueError("content must be a string or a list of content blocks")
        return value


class InferenceParams(_Request):
    maxTokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    topP: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    stopSequences: list[Annotated[str, Field(min_length=1)]] | None = None


class ConverseRequest(_Request):
    """Body of ``POST /v1/converse``. Shape only; limits that depend on the config are checked
    by ``logic.InferenceService.validate``."""

    model_config = ConfigDict(title="ConverseRequest")

    model: str = Field(min_length=1, max_length=64)
    messages: list[ChatMessage] = Field(min_length=1)
    system: str | None = None
    inferenceConfig: InferenceParams | None = None


def prepare_request_models() -> None:
    """Build the request validator now rather than on the first request (for an init that is
    not on a request's path: a SnapStart snapshot, provisioned concurrency)."""
    ConverseRequest.model_rebuild()


def request_json_schema() -> dict[str, Any]:
    """The request body's JSON Schema, draft 4, as an API Gateway REST API model accepts it.

    API Gateway models use JSON Schema draft 4 (API Gateway developer guide, "Data models for REST
    APIs"). Generated from :class:`ConverseRequest` (pydantic writes draft 2020-12), then made
    draft-4: definitions inlined (no ``$ref``), ``const`` as a one-value ``enum``, numeric
    ``exclusiveMinimum``/``exclusiveMaximum`` as draft 4's boolean flags. Limits that come from
    ``INFERENCE_CONFIG`` (message count, characters, attachment sizes) are not in the schema: the
    function checks them and names the field.
    """
    schema = ConverseRequest.model_json_schema(by_alias=True, mode="validation")
    definitions = schema.pop("$defs", {})
    out = _draft4(schema, definitions)
    assert isinstance(out, dict)
    return {"$schema": "http://json-schema.org/draft-04/schema#", **out}


def _draft4(node: Any, definitions: Mapping[str, Any]) -> Any:
    if isinstance(node, list):
        return [_draft4(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        target = copy.deepcopy(definitions[ref.rsplit("/", 1)[-1]])
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return _draft4({**target, **siblings}, definitions)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "description" and node.get("type") == "object":
            continue  # a class docstring: written for this code's readers, not the API's
        if key == "const":
            out["enum"] = [value]
        elif key in {"exclusiveMinimum", "exclusiveMaximum"} and not isinstance(value, bool):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        elif key == "properties":
            out[key] = {name: _draft4(sub, definitions) for name, sub in value.items()}
        else:
            out[key] = _draft4(value, definitions)
    return out


# The 200 answer is built by this code from Bedrock's (already validated) response: it is typed
# with TypedDicts rather than validated again, which keeps five pydantic schema builds (~10 ms)
# out of every cold start.
class ModelRef(TypedDict):
    alias: str
    modelId: str


class AssistantMessage(TypedDict):
    role: Literal["assistant"]
    content: str


class Usage(TypedDict):
    inputTokens: int
    outputTokens: int
    totalTokens: int


class GuardrailOutcome(TypedDict):
    intervened: bool
    action: Literal["GUARDRAIL_INTERVENED", "NONE"]


class ConverseResponse(TypedDict):
    """Body of a 200 answer."""

    requestId: str
    model: ModelRef
    message: AssistantMessage
    stopReason: str
    usage: Usage
    latencyMs: int
    guardrail: GuardrailOutcome
    fallbacksUsed: int


class BodyRejected(ValueError):
    """A request body that is JSON but may not be used as it is; ``field`` names the place."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class DuplicateKey(BodyRejected):
    """An object names the same key twice (json.loads would silently keep the last one)."""


class NulCharacter(BodyRejected):
    """A string holds U+0000 (it can only arrive escaped: ``\\u0000``)."""


class _DuplicateSeen(ValueError):
    pass


def parse_json_object(text: str) -> dict[str, Any]:
    """Parse a request body; reject NaN/Infinity, duplicate keys, NUL characters and anything
    but a top-level object."""
    try:
        value = _DECODER.decode(text)
    except _DuplicateSeen:
        path, key = _find_duplicate(text)
        raise DuplicateKey(f"the key {key!r} appears twice in one object", path) from None
    if not isinstance(value, dict):
        raise TypeError(f"the body must be a JSON object, not {type(value).__name__}")
    if "\\u0000" in text:  # a raw NUL is already invalid JSON; an escaped one is not
        where = _find_nul(value, "")
        if where is not None:
            raise NulCharacter("NUL characters (U+0000) are not allowed", where or "body")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _DuplicateSeen
    return obj


#: ``json.loads(text, parse_constant=..., object_pairs_hook=...)`` builds this decoder on every
#: call; it holds no state between calls, so one is built once. (``json.loads`` also refuses a
#: leading byte order mark with its own message; the decoder refuses it as invalid JSON, which
#: is a ValueError all the same: the same 400 ``invalid_json``.)
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=_unique_keys)


class _Marked(dict[str, Any]):
    duplicate: str | None = None


def _mark_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = _Marked(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                obj.duplicate = key
                break
            seen.add(key)
    return obj


def _find_duplicate(text: str) -> tuple[str, str]:
    """(path of the object, key) of the first duplicate key, in document order."""
    value = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_mark_duplicates)
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, _Marked):
            if node.duplicate is not None:
                key = node.duplicate
                return (f"{path}.{key}" if path else key), key
            stack.extend((v, f"{path}.{k}" if path else k) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((v, f"{path}[{i}]") for i, v in reversed(list(enumerate(node))))
    return "body", ""  # pragma: no cover - only reached if the two parses disagree


def _find_nul(node: Any, path: str) -> str | None:
    if isinstance(node, str):
        return path if "\x00" in node else None
    if isinstance(node, dict):
        for key, value in node.items():
            child = f"{path}.{key}" if path else key
            if "\x00" in key:
                return path or "body"
            found = _find_nul(value, child)
            if found is not None:
                return found
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found = _find_nul(value, f"{path}[{index}]")
            if found is not None:
                return found
    return None
