"""Pydantic v2 models of the settings (environment) and the API request; the API response types.

pydantic is not part of the Lambda Python runtime. It *is* part of the AWS-managed
"Powertools for AWS Lambda (Python) v3" layer (``AWSLambdaPowertoolsPythonV3-*``): that layer is
built with the ``[all]`` extras, which include pydantic v2 (powertools-lambda-python,
``layer_v3/layer/layer_stack.py`` builds it with ``include_extras=True``, and the layer canary
imports pydantic to prove it). pydantic-settings is *not* in the layer, so settings are a plain
``BaseModel`` read from ``os.environ`` by :func:`load_settings`.

Environment (all read once per container, at init; a bad value raises :class:`ConfigurationError`
naming the variable and the field):

- ``INFERENCE_CONFIG`` (required): JSON, schema :class:`InferenceConfig`.
- ``GUARDRAIL_ID`` (required): guardrail id or ARN, applied to every Converse call.
- ``GUARDRAIL_VERSION`` (required): a version number or ``DRAFT``.
- ``POWERTOOLS_METRICS_NAMESPACE`` (optional, default ``BedrockLandingZone/Inference``).
- ``AWS_REGION`` (set by Lambda) or ``AWS_DEFAULT_REGION``; default ``us-east-1``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self, TypedDict

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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


class ConfigurationError(RuntimeError):
    """The Lambda's environment is wrong. Raised at init, so the function fails to start."""


class _Frozen(BaseModel):
    # python-re: patterns compile with the re module instead of pydantic-core's Rust regex
    # engine, whose per-pattern compile cost ~18 ms of cold start over these models.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, regex_engine="python-re")


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
    """One team: which aliases it may call, which IAM roles it is."""

    models: tuple[Name, ...] = Field(min_length=1)
    role_names: tuple[RoleName, ...] = Field(min_length=1)


class LimitsConfig(_Frozen):
    max_messages: int = Field(default=40, ge=1, le=10_000)
    max_total_chars: int = Field(default=100_000, ge=1)
    """Sum of the characters of all message contents."""
    max_system_chars: int = Field(default=20_000, ge=0)
    max_body_bytes: int = Field(default=262_144, ge=1, le=6_291_456)
    max_stop_sequences: int = Field(default=4, ge=0, le=2500)
    max_stop_sequence_chars: int = Field(default=100, ge=1)


class RetryConfig(_Frozen):
    max_attempts: int = Field(default=3, ge=0, le=10)
    """botocore ``retries={"mode": "standard", "max_attempts": N}``. In that dict botocore counts
    *retries after the first attempt* (it stores ``total_max_attempts = N + 1``): 3 means up to
    4 attempts per model before the next fallback is tried."""
    connect_timeout_s: float = Field(default=2, gt=0, le=60, allow_inf_nan=False)
    read_timeout_s: float = Field(default=50, gt=0, le=900, allow_inf_nan=False)
    """Capped per request by the Lambda's remaining time minus ``deadline_margin_s``."""
    deadline_margin_s: float = Field(default=1.0, ge=0, le=60, allow_inf_nan=False)
    """Time kept back from the Lambda's remaining time to answer the caller."""
    throttle_retry_after_s: int = Field(default=2, ge=1, le=3600)
    """``Retry-After`` sent with a 429."""


class BreakerConfig(_Frozen):
    failure_threshold: int = Field(default=5, ge=1, le=1000)
    """Consecutive throttles/unavailability/timeouts of one model id that open its breaker."""
    cooldown_s: float = Field(default=30, gt=0, le=3600, allow_inf_nan=False)
    """Time an open breaker waits before letting one trial call through (half-open)."""


class InferenceConfig(_Frozen):
    """The JSON document in ``INFERENCE_CONFIG``."""

    models: dict[Name, ModelConfig] = Field(min_length=1)
    teams: dict[Name, TeamConfig] = Field(min_length=1)
    limits: LimitsConfig = LimitsConfig()
    retry: RetryConfig = RetryConfig()
    breaker: BreakerConfig = BreakerConfig()
    log_content: bool = False
    """Log prompt and completion text. Off by default: logs carry metadata only."""

    @model_validator(mode="after")
    def _references_resolve(self) -> Self:
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


def load_settings(env: Mapping[str, str]) -> Settings:
    """Read and validate the environment; raise :class:`ConfigurationError` naming the field."""
    raw = env.get("INFERENCE_CONFIG")
    if not raw:
        raise ConfigurationError("INFERENCE_CONFIG is not set: it must hold the JSON config")
    try:
        config = InferenceConfig.model_validate_json(raw)
    except ValidationError as exc:
        raise ConfigurationError(f"INFERENCE_CONFIG is invalid: {_describe(exc, '')}") from None
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
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ChatMessage(_Request):
    role: Literal["user", "assistant"]
    content: str = Field(min_length=1)


class InferenceParams(_Request):
    maxTokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    topP: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    stopSequences: list[Annotated[str, Field(min_length=1)]] | None = None


class ConverseRequest(_Request):
    """Body of ``POST /v1/converse``. Shape only; limits that depend on the config are checked
    by ``logic.validate_request``."""

    model: str = Field(min_length=1, max_length=64)
    messages: list[ChatMessage] = Field(min_length=1)
    system: str | None = None
    inferenceConfig: InferenceParams | None = None


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


def parse_json_object(text: str) -> dict[str, Any]:
    """Parse a request body; reject NaN/Infinity and anything but a top-level object."""
    value = json.loads(text, parse_constant=_reject_constant)
    if not isinstance(value, dict):
        raise TypeError(f"the body must be a JSON object, not {type(value).__name__}")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")
