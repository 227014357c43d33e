"""The settings (environment) and the API request, validated; the API response types.

Both are described as :mod:`~bedrock_inference.shapes` (strict, every problem named by its path,
pydantic's wording) and kept as immutable objects. The function needs nothing beyond the Lambda
Python runtime's boto3 and Powertools: pydantic is not imported (its import alone is a quarter of
a bare bedrock-runtime client's cold start; :mod:`~bedrock_inference.shapes` says more).

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
renders its shape as the JSON Schema (draft 4) an API Gateway request model accepts, so the
gateway's validator and this function cannot drift apart.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypedDict

from bedrock_inference.errors import RequestInvalid
from bedrock_inference.shapes import (
    Boolean,
    Choice,
    Field,
    Frozen,
    Integer,
    Invalid,
    ListOf,
    MapOf,
    Nullable,
    Number,
    Record,
    Text,
    format_loc,
)

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

NAME = Text(pattern=_NAME_PATTERN)
ROLE_NAME = Text(pattern=_ROLE_NAME_PATTERN)
#: "The regex pattern for an account ID string requires exactly 12 digits" (AWS Organizations
#: API Reference, DescribeAccount, AccountId).
ACCOUNT_ID = Text(pattern=r"^\d{12}$")


class ConfigurationError(RuntimeError):
    """The Lambda's environment is wrong. Raised at init, so the function fails to start."""


# ------------------------------------------------------------------------------------------------
# INFERENCE_CONFIG
# ------------------------------------------------------------------------------------------------
class ModelConfig(Frozen):
    """One model alias."""

    __slots__ = (
        "fallbacks",
        "input_usd_per_mtok",
        "max_output_tokens",
        "model_id",
        "output_usd_per_mtok",
    )
    model_id: str
    """Foundation model id, inference profile id (e.g. ``us.anthropic…``) or ARN."""
    max_output_tokens: int
    """Cap for ``inferenceConfig.maxTokens``; also sent when the caller gives none."""
    fallbacks: tuple[str, ...]
    """Aliases tried in order when this one is throttled, unavailable or times out."""
    input_usd_per_mtok: float | None
    """Price override (USD per million input tokens); default: ``pricing.py``'s table."""
    output_usd_per_mtok: float | None
    """Price override (USD per million output tokens); default: ``pricing.py``'s table."""


_PRICE = Nullable(Number(ge=0))
MODEL_CONFIG = Record(
    ModelConfig,
    {
        "model_id": Field(Text(min_length=1, max_length=2048)),
        "max_output_tokens": Field(Integer(ge=1, le=1_000_000)),
        "fallbacks": Field(ListOf(NAME, as_tuple=True), default=()),
        "input_usd_per_mtok": Field(_PRICE, default=None),
        "output_usd_per_mtok": Field(_PRICE, default=None),
    },
)


class TeamConfig(Frozen):
    """One team: which aliases it may call, which IAM roles (in which accounts) it is.

    ``accounts``: the accounts whose roles of these names are the team. ``GuardedInferenceFunction``
    always fills it (default: the function's own account), so that with an API open to the
    organisation a role of the same name in another account is not the team. Empty: a role of
    that name in any account the API admits."""

    __slots__ = ("accounts", "models", "role_names")
    models: tuple[str, ...]
    role_names: tuple[str, ...]
    accounts: tuple[str, ...]


TEAM_CONFIG = Record(
    TeamConfig,
    {
        "models": Field(ListOf(NAME, min_items=1, as_tuple=True)),
        "role_names": Field(ListOf(ROLE_NAME, min_items=1, as_tuple=True)),
        "accounts": Field(ListOf(ACCOUNT_ID, as_tuple=True), default=()),
    },
)


class LimitsConfig(Frozen):
    """What one request may hold (see ``LIMITS_CONFIG`` for the defaults and their sources)."""

    __slots__ = (
        "max_body_bytes",
        "max_document_bytes",
        "max_documents",
        "max_image_bytes",
        "max_image_dimension_px",
        "max_images",
        "max_messages",
        "max_stop_sequence_chars",
        "max_stop_sequences",
        "max_system_chars",
        "max_total_chars",
    )
    max_messages: int
    max_total_chars: int
    """Sum of the characters of all text (plain-string contents and text blocks)."""
    max_system_chars: int
    max_body_bytes: int
    max_stop_sequences: int
    max_stop_sequence_chars: int
    max_images: int
    """Images per request."""
    max_image_bytes: int
    """Decoded size of one image."""
    max_image_dimension_px: int
    """Width and height of one image (read from the PNG/JPEG/GIF/WebP header)."""
    max_documents: int
    """Documents per request."""
    max_document_bytes: int
    """Decoded size of one document."""


LIMITS_CONFIG = Record(
    LimitsConfig,
    {
        "max_messages": Field(Integer(ge=1, le=10_000), default=40),
        "max_total_chars": Field(Integer(ge=1), default=100_000),
        "max_system_chars": Field(Integer(ge=0), default=20_000),
        # Request body size. At most 6 MiB: Lambda's synchronous invocation payload limit ("For
        # synchronous invocations, the maximum payload size is 6 MB", Lambda API reference,
        # Invoke). Images and documents arrive base64-encoded (4/3 of their size) inside the
        # body, so raise this to accept them: the default admits about 190 KB of attachments.
        "max_body_bytes": Field(Integer(ge=1, le=6_291_456), default=262_144),
        "max_stop_sequences": Field(Integer(ge=0, le=2500), default=4),
        "max_stop_sequence_chars": Field(Integer(ge=1), default=100),
        # Attachments. Defaults are what the Bedrock API reference documents for Message.content
        # (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Message.html): "You
        # can include up to 20 images. Each image's size, height, and width must be no more than
        # 3.75 MB, 8000 px, and 8000 px, respectively. You can include up to five documents. Each
        # document's size must be no more than 4.5 MB." The user guide ("API restrictions") adds
        # that some models accept more (no image limit of Bedrock's own; PDFs above 4.5 MB for
        # Claude 4+, PDF/DOCX for Nova): raise these per deployment when the configured models
        # allow it. MB is read as 10^6 bytes, the stricter reading.
        "max_images": Field(Integer(ge=0, le=1000), default=20),
        "max_image_bytes": Field(Integer(ge=1, le=6_291_456), default=3_750_000),
        "max_image_dimension_px": Field(Integer(ge=1, le=100_000), default=8000),
        "max_documents": Field(Integer(ge=0, le=1000), default=5),
        "max_document_bytes": Field(Integer(ge=1, le=6_291_456), default=4_500_000),
    },
)


class RetryConfig(Frozen):
    """Retries, timeouts and the time budget (see ``RETRY_CONFIG`` for the defaults).

    - ``max_attempts``: botocore ``retries={"mode": "standard", "max_attempts": N}``. In that
      dict botocore counts *retries after the first attempt* (it stores
      ``total_max_attempts = N + 1``): 3 means up to 4 attempts per model before the next
      fallback is tried.
    - ``read_timeout_s``: botocore's per-socket-read timeout, capped per model by that model's
      share of the time budget. The whole attempt (connect, retries, every read of the body) is
      bounded by the share anyway (see ``bedrock_client``), so this may exceed the budget.
    - ``deadline_margin_s``: time kept back from the Lambda's remaining time to answer the
      caller: the request's time budget is ``context.get_remaining_time_in_millis()`` minus this.
    - ``fallback_reserve_s``: time kept for each fallback that follows a model. Unset (the
      default): every model still to try gets an equal share of the time left, so a slow or
      failing first model always leaves its fallbacks a real attempt. Set: a model may use all
      but this much per following fallback (never less than the equal share). Time a model does
      not use passes on to the next.
    - ``throttle_retry_after_s``: ``Retry-After`` sent with a 429.
    """

    __slots__ = (
        "connect_timeout_s",
        "deadline_margin_s",
        "fallback_reserve_s",
        "max_attempts",
        "read_timeout_s",
        "throttle_retry_after_s",
    )
    max_attempts: int
    connect_timeout_s: float
    read_timeout_s: float
    deadline_margin_s: float
    fallback_reserve_s: float | None
    throttle_retry_after_s: int


RETRY_CONFIG = Record(
    RetryConfig,
    {
        "max_attempts": Field(Integer(ge=0, le=10), default=3),
        "connect_timeout_s": Field(Number(gt=0, le=60), default=2),
        "read_timeout_s": Field(Number(gt=0, le=900), default=50),
        "deadline_margin_s": Field(Number(ge=0, le=60), default=1.0),
        "fallback_reserve_s": Field(Nullable(Number(gt=0, le=900)), default=None),
        "throttle_retry_after_s": Field(Integer(ge=1, le=3600), default=2),
    },
)


class BreakerConfig(Frozen):
    """``failure_threshold``: consecutive throttles/unavailability/timeouts of one model id that
    open its breaker. ``cooldown_s``: time an open breaker waits before letting one trial call
    through (half-open)."""

    __slots__ = ("cooldown_s", "failure_threshold")
    failure_threshold: int
    cooldown_s: float


BREAKER_CONFIG = Record(
    BreakerConfig,
    {
        "failure_threshold": Field(Integer(ge=1, le=1000), default=5),
        "cooldown_s": Field(Number(gt=0, le=3600), default=30),
    },
)


class InferenceConfig(Frozen):
    """The JSON document of ``INFERENCE_CONFIG_FILE`` (or ``INFERENCE_CONFIG``).

    Teams come from exactly one of ``teams`` (a fixed map: team -> aliases and role names) or
    ``team_directory`` (the SSM path, ``/bedrock-lz/<env>/teams/``, under which each team stack
    publishes its entry, read at run time; see :mod:`bedrock_inference.team_directory`).
    ``log_content``: log prompt and completion text; off by default, logs carry metadata only.
    """

    __slots__ = ("breaker", "limits", "log_content", "models", "retry", "team_directory", "teams")
    models: dict[str, ModelConfig]
    teams: dict[str, TeamConfig]
    team_directory: str | None
    limits: LimitsConfig
    retry: RetryConfig
    breaker: BreakerConfig
    log_content: bool

    def chain(self, alias: str) -> tuple[str, ...]:
        """The alias followed by its fallbacks, in order."""
        return (alias, *self.models[alias].fallbacks)


def _references_resolve(config: InferenceConfig) -> None:
    if bool(config.teams) == bool(config.team_directory):
        raise ValueError(
            "teams / team_directory: set exactly one (a fixed team map, or the SSM path of "
            "the team directory)"
        )
    for alias, model in config.models.items():
        for fallback in model.fallbacks:
            if fallback not in config.models:
                raise ValueError(f"models.{alias}.fallbacks: unknown alias {fallback!r}")
            if fallback == alias:
                raise ValueError(f"models.{alias}.fallbacks: an alias cannot list itself")
        if len(set(model.fallbacks)) != len(model.fallbacks):
            raise ValueError(f"models.{alias}.fallbacks: duplicate alias")
    owner: dict[str, str] = {}
    for team, spec in config.teams.items():
        for alias in spec.models:
            if alias not in config.models:
                raise ValueError(f"teams.{team}.models: unknown alias {alias!r}")
        for role in spec.role_names:
            if role in owner:
                raise ValueError(
                    f"teams.{team}.role_names: role {role!r} already belongs to team "
                    f"{owner[role]!r}; a role maps to one team"
                )
            owner[role] = team


INFERENCE_CONFIG = Record(
    InferenceConfig,
    {
        "models": Field(MapOf(NAME, MODEL_CONFIG, min_items=1)),
        "teams": Field(MapOf(NAME, TEAM_CONFIG), default_factory=dict),
        "team_directory": Field(
            Nullable(Text(pattern=r"^/[a-zA-Z0-9_.\-/]{0,1000}/$", max_length=1011)),
            default=None,
        ),
        "limits": Field(LIMITS_CONFIG, default_factory=lambda: LIMITS_CONFIG.validate({})),
        "retry": Field(RETRY_CONFIG, default_factory=lambda: RETRY_CONFIG.validate({})),
        "breaker": Field(BREAKER_CONFIG, default_factory=lambda: BREAKER_CONFIG.validate({})),
        "log_content": Field(Boolean(), default=False),
    },
    after=_references_resolve,
)


class Settings(Frozen):
    """Everything the runtime reads from its environment."""

    __slots__ = ("config", "guardrail_id", "guardrail_version", "metrics_namespace", "region")
    config: InferenceConfig
    guardrail_id: str
    guardrail_version: str
    region: str
    metrics_namespace: str


SETTINGS = Record(
    Settings,
    {
        "config": Field(INFERENCE_CONFIG),
        "guardrail_id": Field(Text(pattern=_GUARDRAIL_ID_PATTERN, max_length=2048)),
        "guardrail_version": Field(Text(pattern=_GUARDRAIL_VERSION_PATTERN)),
        "region": Field(Text(pattern=r"^[a-z]{2}(-[a-z]+)+-\d+$")),
        "metrics_namespace": Field(Text(min_length=1, max_length=255)),
    },
)

_ENV_OF_FIELD = {
    "guardrail_id": "GUARDRAIL_ID",
    "guardrail_version": "GUARDRAIL_VERSION",
    "region": "AWS_REGION",
    "metrics_namespace": "POWERTOOLS_METRICS_NAMESPACE",
}


def parse_inference_config(text: str) -> InferenceConfig:
    """The inference config from its JSON text. Raises :class:`~bedrock_inference.shapes.Invalid`
    (every problem, each with its path) or ``ValueError`` (not JSON)."""
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise ValueError(f"Invalid JSON: {exc}") from None
    config: InferenceConfig = INFERENCE_CONFIG.validate(value)
    return config


def _describe(error: Invalid) -> str:
    return "; ".join(
        f"{where}: {p.message}" if (where := format_loc(p.loc)) else p.message
        for p in error.problems
    )


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
        config = parse_inference_config(raw)
    except Invalid as exc:
        raise ConfigurationError(f"{source} is invalid: {_describe(exc)}") from None
    except ValueError as exc:
        raise ConfigurationError(f"{source} is invalid: {exc}") from None
    for name in ("GUARDRAIL_ID", "GUARDRAIL_VERSION"):
        if not env.get(name):
            raise ConfigurationError(f"{name} is not set: every Converse call carries a guardrail")
    try:
        settings: Settings = SETTINGS.validate(
            {
                "config": config,
                "guardrail_id": env["GUARDRAIL_ID"],
                "guardrail_version": env["GUARDRAIL_VERSION"],
                "region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
                "metrics_namespace": env.get("POWERTOOLS_METRICS_NAMESPACE")
                or DEFAULT_METRICS_NAMESPACE,
            }
        )
    except Invalid as exc:
        problems = []
        for problem in exc.problems:
            field = str(problem.loc[0]) if problem.loc else ""
            problems.append(f"{_ENV_OF_FIELD.get(field, field)}: {problem.message}")
        raise ConfigurationError("invalid environment: " + "; ".join(problems)) from None
    return settings


# ------------------------------------------------------------------------------------------------
# API: POST /v1/converse
# ------------------------------------------------------------------------------------------------
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


def _visible(value: str) -> None:
    if is_blank(value):
        raise ValueError("must not be blank (whitespace and invisible characters do not count)")


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


class MediaSource(Frozen):
    """``bytes`` in JSON: the file, base64-encoded (standard alphabet, with padding)."""

    __slots__ = ("data",)
    data: str


class ImageBlock(Frozen):
    __slots__ = ("format", "source")
    format: Literal["png", "jpeg", "gif", "webp"]
    source: MediaSource


class DocumentBlock(Frozen):
    __slots__ = ("format", "name", "source")
    format: Literal["pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md"]
    name: str
    source: MediaSource


class ContentBlock(Frozen):
    """One Converse ContentBlock: exactly one of ``text``, ``image``, ``document``."""

    __slots__ = ("document", "image", "text")
    text: str | None
    image: ImageBlock | None
    document: DocumentBlock | None


class ChatMessage(Frozen):
    """``content``: a plain string (one text block) or the Converse list of content blocks."""

    __slots__ = ("content", "role")
    role: Literal["user", "assistant"]
    content: list[ContentBlock]


class InferenceParams(Frozen):
    __slots__ = ("maxTokens", "stopSequences", "temperature", "topP")
    maxTokens: int | None
    temperature: float | None
    topP: float | None
    stopSequences: list[str] | None


class ConverseRequest(Frozen):
    """Body of ``POST /v1/converse``. Shape only; limits that depend on the config are checked
    by ``logic.InferenceService.validate``."""

    __slots__ = ("inferenceConfig", "messages", "model", "system")
    model: str
    messages: list[ChatMessage]
    system: str | None
    inferenceConfig: InferenceParams | None


def _one_kind(block: ContentBlock) -> None:
    given = [v for v in (block.text, block.image, block.document) if v is not None]
    if len(given) != 1:
        raise ValueError("a content block holds exactly one of 'text', 'image', 'document'")


def _plain_text(value: Any) -> Any:
    if isinstance(value, str):
        if is_blank(value):
            raise ValueError(
                "content must not be blank (whitespace and invisible characters do not count)"
            )
        return [{"text": value}]
    if not isinstance(value, list):
        raise ValueError("content must be a string or a list of content blocks")
    return value


_MEDIA_SOURCE = Record(
    MediaSource,
    {
        "data": Field(
            Text(
                min_length=1,
                description="The file, base64-encoded (standard alphabet, with padding).",
            ),
            alias="bytes",
        )
    },
)
# A block holds exactly one member, given (not null): ``{"text": "hi", "image": null}`` is refused
# at ``image``, as the gateway's schema (``maxProperties: 1``) refuses it.
_CONTENT_BLOCK = Record(
    ContentBlock,
    {
        "text": Field(Text(min_length=1, after=_visible), default=None),
        "image": Field(
            Record(
                ImageBlock,
                {"format": Field(Choice(*IMAGE_FORMATS)), "source": Field(_MEDIA_SOURCE)},
            ),
            default=None,
        ),
        "document": Field(
            Record(
                DocumentBlock,
                {
                    "format": Field(Choice(*DOCUMENT_FORMATS)),
                    "name": Field(
                        Text(min_length=1, max_length=200, pattern=DOCUMENT_NAME_PATTERN)
                    ),
                    "source": Field(_MEDIA_SOURCE),
                },
            ),
            default=None,
        ),
    },
    after=_one_kind,
    schema_extra={"minProperties": 1, "maxProperties": 1},
)
_CONTENT = ListOf(_CONTENT_BLOCK, min_items=1)
_UNIT = Nullable(Number(ge=0, le=1))
CONVERSE_REQUEST = Record(
    ConverseRequest,
    {
        "model": Field(Text(min_length=1, max_length=64)),
        "messages": Field(
            ListOf(
                Record(
                    ChatMessage,
                    {
                        "role": Field(Choice("user", "assistant")),
                        "content": Field(
                            _CONTENT,
                            before=_plain_text,
                            # What callers may send: the plain string that ``_plain_text`` turns
                            # into one text block, or the list.
                            schema=lambda: {
                                "anyOf": [
                                    Text(min_length=1).json_schema(),
                                    _CONTENT.json_schema(),
                                ]
                            },
                        ),
                    },
                ),
                min_items=1,
            )
        ),
        "system": Field(Nullable(Text()), default=None),
        "inferenceConfig": Field(
            Nullable(
                Record(
                    InferenceParams,
                    {
                        "maxTokens": Field(Nullable(Integer(ge=1)), default=None),
                        "temperature": Field(_UNIT, default=None),
                        "topP": Field(_UNIT, default=None),
                        "stopSequences": Field(Nullable(ListOf(Text(min_length=1))), default=None),
                    },
                )
            ),
            default=None,
        ),
    },
    schema_extra={"title": "ConverseRequest"},  # the API Gateway model's name in tests, docs
)


def parse_request(body: Mapping[str, Any]) -> ConverseRequest:
    """The request, or :class:`~bedrock_inference.errors.RequestInvalid` naming the first
    problem and its path."""
    try:
        request: ConverseRequest = CONVERSE_REQUEST.validate(body)
    except Invalid as exc:
        first = exc.problems[0]
        message = first.message.removeprefix("Value error, ")
        raise RequestInvalid(message, field=format_loc(first.loc) or "body") from None
    return request


def request_json_schema() -> dict[str, Any]:
    """The request body's JSON Schema, draft 4, as an API Gateway REST API model accepts it.

    API Gateway models use JSON Schema draft 4 (API Gateway developer guide, "Data models for REST
    APIs"): rendered from the same shapes that validate the body here, no ``$ref`` (every
    definition inline), exclusive bounds as draft 4's boolean flags. Limits that come from
    ``INFERENCE_CONFIG`` (message count, characters, attachment sizes) are not in the schema: the
    function checks them and names the field.
    """
    return {"$schema": "http://json-schema.org/draft-04/schema#", **CONVERSE_REQUEST.json_schema()}


# The 200 answer is built by this code from Bedrock's (already validated) response: it is typed
# with TypedDicts, not validated again.
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
