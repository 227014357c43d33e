"""Inference logic: who is calling, is the request allowed, which model answers.

- **Caller**: the IAM principal API Gateway authenticated (``requestContext.identity.userArn``),
  an STS assumed-role ARN; its account and role name map to a team through the team directory
  (:mod:`bedrock_inference.team_directory`: the landing zone's SSM directory, or the fixed
  ``teams`` map). Anything else (IAM users, unknown roles, no identity) is not a caller.
- **Cost**: a team's call goes through the team's application inference profile for the alias
  (when the directory names one), so its spend carries the team's tags and reaches its budget;
  fallbacks the team has a profile for use that profile too, others the model's own id.
- **Validation**: shape by :class:`~bedrock_inference.models.ConverseRequest`'s strict shape
  (a message's ``content`` is a string or the Converse list of text / image / document blocks;
  text that is blank after Unicode normalisation is refused), then the rules that depend on the
  config: the alias must be in the team's allow-list; roles alternate starting with ``user``;
  message count, total characters, system characters and stop sequences within ``limits``;
  attachments only in user messages, a document only beside a text block, image and document
  counts and sizes within ``limits``, each file's bytes valid base64 whose signature matches its
  ``format``, image width and height within ``limits.max_image_dimension_px``; ``maxTokens`` at
  most the alias's ``max_output_tokens`` (when the caller gives none, that cap is sent, so a
  request can never run unbounded).
- **Guardrail**: every Converse call carries ``guardrailConfig`` (``GUARDRAIL_ID``,
  ``GUARDRAIL_VERSION``, trace disabled). When the guardrail intervenes Bedrock answers with
  ``stopReason: guardrail_intervened`` and the guardrail's configured *blocked message* as the
  assistant text: that is returned as a normal 200 with ``guardrail.intervened = true`` and
  ``guardrail.action = "GUARDRAIL_INTERVENED"``; the caller shows the text as is.
- **Time budget**: one per request: the Lambda's remaining time minus ``retry.deadline_margin_s``.
  Each candidate gets a share of what is left: an equal share among the candidates still to try
  (those whose breaker is not open), or, with ``retry.fallback_reserve_s``, all but that much per
  following candidate; what a candidate does not use passes on. Its call, botocore's retries
  included, never outlives its share (see :mod:`bedrock_inference.bedrock_client`), so a slow or
  failing first model always leaves the fallback a real attempt.
- **Fallback chain**: the requested alias, then its ``fallbacks`` in order (fallback aliases are
  the operator's choice and need not be in the team's allow-list). The next candidate is tried
  when one is throttled, unavailable (ServiceUnavailable, ModelNotReady, InternalServer, a 5xx
  without error type, connection failures), times out (socket timeouts, ModelTimeoutException,
  no answer within its share) or answers with a garbled or empty body, each after botocore's own
  retries. Any other error ends the request at once. A candidate whose circuit breaker is open is
  skipped. No candidate is started with less than a second left.
- **Breakers** count per model id: an answer is a success; the fallback outcomes above are
  failures; anything else (Bedrock refusing the request, no time left to try) is inconclusive and
  leaves the count alone (see :mod:`bedrock_inference.breaker`).
- **Outcome** when no candidate answers: the last attempted candidate's failure decides
  (throttled → 429 with ``Retry-After``; timeout → 504; unavailable or malformed answer → 502,
  naming the model); every candidate skipped by an open breaker → 503 with ``Retry-After`` (the
  shortest remaining cool-down).
- **Telemetry**: see :mod:`bedrock_inference.telemetry`; ``requestMetadata`` carries ``team``,
  ``caller`` and ``requestId`` (sanitized to Bedrock's character set and 256 characters) so the
  model invocation logs can be attributed.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bedrock_inference.bedrock_client import (
    FALLBACK_KINDS,
    MIN_ATTEMPT_S,
    NOT_STARTED,
    BedrockCallFailed,
    BedrockRuntime,
    FailureKind,
)
from bedrock_inference.breaker import BreakerRegistry, CircuitBreaker
from bedrock_inference.errors import (
    BedrockAccessDenied,
    BedrockRejected,
    CallerNotRecognized,
    InferenceError,
    ModelFailed,
    ModelNotAllowed,
    ModelsUnavailable,
    ModelThrottled,
    ModelTimedOut,
    RequestInvalid,
)
from bedrock_inference.models import (
    ChatMessage,
    ConverseRequest,
    ConverseResponse,
    ModelConfig,
    Settings,
    is_blank,
    parse_request,
)
from bedrock_inference.pricing import estimate_cost_usd
from bedrock_inference.teams import StaticTeams
from bedrock_inference.telemetry import RequestTrace, Telemetry

if TYPE_CHECKING:
    from bedrock_inference.teams import TeamDirectory

_ASSUMED_ROLE_ARN = re.compile(
    r"^arn:aws(?:-[a-z]+)*:sts::(?P<account>\d{12}):assumed-role/"
    r"(?P<role>[\w+=,.@-]{1,64})/(?P<session>[\w+=,.@-]{1,64})$"
)
# requestMetadata values: [a-zA-Z0-9\s:_@$#=/+,-.]{0,256} (bedrock-runtime service model);
# whitespace is narrowed to a plain space.
_METADATA_UNSAFE = re.compile(r"[^a-zA-Z0-9 :_@$#=/+,.\-]")
GUARDRAIL_INTERVENED = "guardrail_intervened"


def sanitize_metadata(value: str) -> str:
    """Make a string acceptable as a Converse ``requestMetadata`` value."""
    return _METADATA_UNSAFE.sub("_", value)[:256]


def loggable(message: dict[str, Any]) -> dict[str, Any]:
    """A Converse message for the logs (``log_content``): attachments as their size only; a
    message of one text block as its text."""
    blocks = message["content"]
    if len(blocks) == 1 and "text" in blocks[0]:
        return {"role": message["role"], "content": blocks[0]["text"]}
    shown: list[dict[str, Any]] = []
    for block in blocks:
        if "text" in block:
            shown.append({"text": block["text"]})
        else:
            kind = "image" if "image" in block else "document"
            item = dict(block[kind])
            item["source"] = {"bytes": f"<{len(item['source']['bytes'])} bytes>"}
            shown.append({kind: item})
    return {"role": message["role"], "content": shown}


@dataclass(frozen=True, slots=True)
class ValidRequest:
    """A request that passed every check, with its messages ready for Converse (attachments
    decoded to bytes)."""

    request: ConverseRequest
    messages: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Caller:
    arn: str
    account_id: str
    role_name: str
    session_name: str
    team: str
    models: tuple[str, ...] = ()
    """Aliases the caller's team may call."""
    profiles: Mapping[str, str] = field(default_factory=dict)
    """Alias -> the team's application inference profile ARN."""

    def model_id(self, alias: str, spec: ModelConfig) -> str:
        """What Converse is called with for ``alias``: the team's profile, else the model."""
        return self.profiles.get(alias, spec.model_id)


class InferenceService:
    """Everything between a parsed HTTP request and a Converse answer."""

    def __init__(
        self,
        *,
        settings: Settings,
        bedrock: BedrockRuntime,
        breakers: BreakerRegistry,
        telemetry: Telemetry,
        clock: Callable[[], float] = time.monotonic,
        teams: TeamDirectory | None = None,
    ) -> None:
        self.settings = settings
        self.config = settings.config
        self.bedrock = bedrock
        self.breakers = breakers
        self.telemetry = telemetry
        self._clock = clock
        if teams is None:
            if self.config.team_directory is not None:
                raise ValueError(
                    "teams: the config names a team_directory; pass its reader "
                    "(team_directory.SsmTeamDirectory)"
                )
            teams = StaticTeams(self.config.teams)
        self.teams = teams
        self._guardrail = {
            "guardrailIdentifier": settings.guardrail_id,
            "guardrailVersion": settings.guardrail_version,
            "trace": "disabled",
        }

    # --- who ----------------------------------------------------------------------------------
    def identify(self, user_arn: object, trace: RequestTrace) -> Caller:
        if not isinstance(user_arn, str) or not user_arn:
            raise CallerNotRecognized(
                "the request carries no IAM principal", field="requestContext"
            )
        trace.caller = user_arn[:2048]  # logged, so operators can see who was turned away
        match = _ASSUMED_ROLE_ARN.match(user_arn)
        team = self.teams.team_of(match["account"], match["role"]) if match else None
        if match is None or team is None:
            raise CallerNotRecognized(
                "the calling IAM role is not mapped to a team", field="requestContext"
            )
        trace.team = team.name
        return Caller(
            arn=user_arn,
            account_id=match["account"],
            role_name=match["role"],
            session_name=match["session"],
            team=team.name,
            models=team.models,
            profiles=team.profiles,
        )

    # --- what ---------------------------------------------------------------------------------
    def validate(self, caller: Caller, body: dict[str, Any], trace: RequestTrace) -> ValidRequest:
        """Shape (``models.parse_request``), allow-list, then the configured limits. Raises on
        the first problem."""
        alias = body.get("model")
        if isinstance(alias, str) and alias in self.config.models:
            trace.requested_alias = alias  # a configured alias: safe as a metric dimension
        request = parse_request(body)

        allowed = caller.models
        if request.model not in allowed:
            raise ModelNotAllowed(
                f"model alias is not allowed for team {caller.team!r}; allowed: "
                + ", ".join(allowed),
                field="model",
            )

        messages = self._check_messages(request)
        self._check_inference_params(request)
        return ValidRequest(request=request, messages=messages)

    def _check_messages(self, request: ConverseRequest) -> list[dict[str, Any]]:
        limits = self.config.limits
        if len(request.messages) > limits.max_messages:
            raise RequestInvalid(
                f"at most {limits.max_messages} messages are allowed", field="messages"
            )
        expected = "user"
        counts = {"chars": 0, "images": 0, "documents": 0}
        out: list[dict[str, Any]] = []
        for index, message in enumerate(request.messages):
            if message.role != expected:
                raise RequestInvalid(
                    f"roles must alternate, starting with 'user': expected {expected!r}",
                    field=f"messages[{index}].role",
                )
            expected = "assistant" if expected == "user" else "user"
            out.append({"role": message.role, "content": self._blocks(message, index, counts)})
        if counts["chars"] > limits.max_total_chars:
            raise RequestInvalid(
                f"the messages may hold at most {limits.max_total_chars} characters in total",
                field="messages",
            )
        if request.system is not None:
            if len(request.system) > limits.max_system_chars:
                raise RequestInvalid(
                    f"the system prompt may hold at most {limits.max_system_chars} characters",
                    field="system",
                )
            if is_blank(request.system):
                raise RequestInvalid("the system prompt must not be blank", field="system")
        return out

    def _blocks(
        self, message: ChatMessage, index: int, counts: dict[str, int]
    ) -> list[dict[str, Any]]:
        """Converse content blocks of one message, attachments decoded and checked."""
        limits = self.config.limits
        blocks: list[dict[str, Any]] = []
        has_text = has_document = False
        for position, block in enumerate(message.content):
            where = f"messages[{index}].content[{position}]"
            if block.text is not None:
                counts["chars"] += len(block.text)
                has_text = True
                blocks.append({"text": block.text})
                continue
            # Bedrock API reference, Message: "You can only include images and documents if the
            # role is user."
            if message.role != "user":
                raise RequestInvalid(
                    "images and documents are allowed in user messages only", field=where
                )
            # Imported on the first attachment: a text-only function never loads it.
            from bedrock_inference import media  # noqa: PLC0415

            if block.image is not None:
                counts["images"] += 1
                if counts["images"] > limits.max_images:
                    raise RequestInvalid(
                        f"at most {limits.max_images} images are allowed per request", field=where
                    )
                image = block.image
                try:
                    raw = media.decode(
                        image.source.data, limit=limits.max_image_bytes, what="image"
                    )
                    width, height = media.image_size(raw, image.format)
                except media.MediaError as exc:
                    raise RequestInvalid(str(exc), field=f"{where}.image.source.bytes") from None
                side = limits.max_image_dimension_px
                if width > side or height > side:
                    raise RequestInvalid(
                        f"an image may be at most {side} x {side} pixels, not {width} x {height}",
                        field=f"{where}.image",
                    )
                blocks.append({"image": {"format": image.format, "source": {"bytes": raw}}})
            elif block.document is not None:
                counts["documents"] += 1
                if counts["documents"] > limits.max_documents:
                    raise RequestInvalid(
                        f"at most {limits.max_documents} documents are allowed per request",
                        field=where,
                    )
                document = block.document
                try:
                    raw = media.decode(
                        document.source.data, limit=limits.max_document_bytes, what="document"
                    )
                    media.check_document(raw, document.format)
                except media.MediaError as exc:
                    raise RequestInvalid(str(exc), field=f"{where}.document.source.bytes") from None
                has_document = True
                blocks.append(
                    {
                        "document": {
                            "format": document.format,
                            "name": document.name,
                            "source": {"bytes": raw},
                        }
                    }
                )
        # Bedrock API reference, Message: "If you include a ContentBlock with a document field in
        # the array, you must also include a ContentBlock with a text field."
        if has_document and not has_text:
            raise RequestInvalid(
                "a message with a document must also hold a text block",
                field=f"messages[{index}].content",
            )
        return blocks

    def _check_inference_params(self, request: ConverseRequest) -> None:
        params = request.inferenceConfig
        if params is None:
            return
        limits = self.config.limits
        cap = self.config.models[request.model].max_output_tokens
        if params.maxTokens is not None and params.maxTokens > cap:
            raise RequestInvalid(
                f"maxTokens must be at most {cap} for model {request.model!r}",
                field="inferenceConfig.maxTokens",
            )
        stops = params.stopSequences or []
        if len(stops) > limits.max_stop_sequences:
            raise RequestInvalid(
                f"at most {limits.max_stop_sequences} stop sequences are allowed",
                field="inferenceConfig.stopSequences",
            )
        for index, stop in enumerate(stops):
            if len(stop) > limits.max_stop_sequence_chars:
                raise RequestInvalid(
                    f"a stop sequence may hold at most {limits.max_stop_sequence_chars} characters",
                    field=f"inferenceConfig.stopSequences[{index}]",
                )

    # --- which model answers ------------------------------------------------------------------
    def converse(
        self,
        caller: Caller,
        valid: ValidRequest,
        *,
        trace: RequestTrace,
        remaining_ms: int,
    ) -> ConverseResponse:
        request = valid.request
        retry = self.config.retry
        started = self._clock()
        # Lambda context: get_remaining_time_in_millis "Returns the number of milliseconds left
        # before the execution times out" (Lambda developer guide, Python context object).
        deadline = started + remaining_ms / 1000 - retry.deadline_margin_s
        chain = self.config.chain(request.model)
        metadata = {
            "team": sanitize_metadata(caller.team),
            "caller": sanitize_metadata(caller.arn),
            "requestId": sanitize_metadata(trace.request_id),
        }
        last: BedrockCallFailed | None = None
        last_alias: str | None = None
        cooldowns: list[float] = []
        for index, alias in enumerate(chain):
            trace.fallbacks_used = index
            left = deadline - self._clock()
            if left < MIN_ATTEMPT_S:
                if last is None:  # else the failure that used the time up decides
                    last = BedrockCallFailed(
                        FailureKind.TIMEOUT, NOT_STARTED, "no time left for another model"
                    )
                break
            spec = self.config.models[alias]
            breaker = self.breakers.for_model(spec.model_id)
            if not breaker.allow():
                cooldowns.append(breaker.retry_after_s())
                self.telemetry.attempt_skipped(trace, alias=alias, model_id=spec.model_id)
                continue
            share = self._share(left, chain[index + 1 :])
            params = self._params(request, spec, valid.messages, metadata)
            params["modelId"] = caller.model_id(alias, spec)
            try:
                raw = self.bedrock.converse(params, deadline=self._clock() + share)
            except BedrockCallFailed as failure:
                self.telemetry.attempt_failed(
                    trace, alias=alias, model_id=spec.model_id, code=failure.code
                )
                self._record(breaker, failure, trace, alias, spec)
                if failure.kind not in FALLBACK_KINDS:
                    trace.model_id = spec.model_id
                    raise self._terminal(failure, alias, spec, trace) from None
                last, last_alias = failure, alias
                continue
            breaker.record_success()
            return self._answer(
                raw, alias=alias, spec=spec, valid=valid, trace=trace, started=started
            )

        if last is None:
            wait = math.ceil(min(cooldowns)) if cooldowns else 1
            raise ModelsUnavailable(
                "every model for this alias is paused after repeated failures (circuit breaker "
                "open); retry later",
                retry_after_s=max(1, wait),
            )
        if last.kind is FailureKind.THROTTLED:
            raise ModelThrottled(
                "the model is throttled (all fallbacks included); retry later",
                retry_after_s=retry.throttle_retry_after_s,
            )
        if last_alias is None:
            raise ModelTimedOut("no time was left to call a model")
        if last.kind is FailureKind.TIMEOUT:
            raise ModelTimedOut(
                f"model {last_alias!r} did not answer in time (all fallbacks included)"
            )
        if last.kind is FailureKind.MALFORMED:
            raise ModelFailed(
                f"model {last_alias!r} returned a malformed or empty answer "
                "(all fallbacks included)"
            )
        raise ModelFailed(f"model {last_alias!r} is unavailable (all fallbacks included)")

    def _share(self, left: float, following: tuple[str, ...]) -> float:
        """Seconds the next candidate may use of the ``left`` seconds, given the candidates that
        could still follow it (those whose breaker would let a call through)."""
        models = self.config.models
        later = sum(1 for a in following if not self.breakers.is_blocking(models[a].model_id))
        if later == 0:
            return left
        share = left / (later + 1)
        reserve = self.config.retry.fallback_reserve_s
        if reserve is not None:
            share = max(share, left - later * reserve)
        return max(share, min(left, MIN_ATTEMPT_S))

    def _record(
        self,
        breaker: CircuitBreaker,
        failure: BedrockCallFailed,
        trace: RequestTrace,
        alias: str,
        spec: ModelConfig,
    ) -> None:
        if failure.kind in FALLBACK_KINDS and failure.code != NOT_STARTED:
            if breaker.record_failure():
                self.telemetry.breaker_opened(trace, alias=alias, model_id=spec.model_id)
        else:
            breaker.record_inconclusive()

    def _params(
        self,
        request: ConverseRequest,
        spec: ModelConfig,
        messages: list[dict[str, Any]],
        metadata: dict[str, str],
    ) -> dict[str, Any]:
        given = request.inferenceConfig
        cap = spec.max_output_tokens
        inference: dict[str, Any] = {
            "maxTokens": min(given.maxTokens, cap) if given and given.maxTokens else cap
        }
        if given is not None:
            if given.temperature is not None:
                inference["temperature"] = given.temperature
            if given.topP is not None:
                inference["topP"] = given.topP
            if given.stopSequences:
                inference["stopSequences"] = given.stopSequences
        params: dict[str, Any] = {
            "modelId": spec.model_id,
            "messages": messages,
            "inferenceConfig": inference,
            "guardrailConfig": self._guardrail,
            "requestMetadata": metadata,
        }
        if request.system:
            params["system"] = [{"text": request.system}]
        return params

    def _terminal(
        self, failure: BedrockCallFailed, alias: str, spec: ModelConfig, trace: RequestTrace
    ) -> InferenceError:
        if failure.kind is FailureKind.ACCESS_DENIED:
            self.telemetry.access_denied(trace, alias=alias, model_id=spec.model_id)
            return BedrockAccessDenied(
                "the platform is not permitted to invoke this model; the platform team has been "
                "alerted"
            )
        if failure.kind is FailureKind.INVALID_REQUEST:
            return BedrockRejected(f"the model rejected the request: {failure.message}")
        if failure.kind is FailureKind.NOT_FOUND:
            self.telemetry.logger.error(
                "operator error: the configured model id was not found",
                extra={"request_id": trace.request_id, "alias": alias, "model_id": spec.model_id},
            )
            return ModelFailed("the configured model is not available")
        if failure.kind is FailureKind.MODEL_ERROR:
            return ModelFailed("the model failed to process the request")
        return ModelFailed("the model service returned an unexpected error")

    def _answer(
        self,
        raw: dict[str, Any],
        *,
        alias: str,
        spec: ModelConfig,
        valid: ValidRequest,
        trace: RequestTrace,
        started: float,
    ) -> ConverseResponse:
        blocks = raw.get("output", {}).get("message", {}).get("content", [])
        text = "".join(b["text"] for b in blocks if isinstance(b, dict) and "text" in b)
        usage = raw.get("usage", {})
        input_tokens = int(usage.get("inputTokens", 0))
        output_tokens = int(usage.get("outputTokens", 0))
        total_tokens = int(usage.get("totalTokens", input_tokens + output_tokens))
        stop_reason = str(raw.get("stopReason", "unknown"))
        intervened = stop_reason == GUARDRAIL_INTERVENED
        latency_ms = round((self._clock() - started) * 1000)

        trace.answered_alias, trace.model_id = alias, spec.model_id
        trace.input_tokens, trace.output_tokens = input_tokens, output_tokens
        trace.latency_ms, trace.stop_reason = latency_ms, stop_reason
        trace.guardrail_intervened = intervened
        trace.estimated_cost_usd = estimate_cost_usd(
            spec.model_id,
            input_tokens,
            output_tokens,
            override=(spec.input_usd_per_mtok, spec.output_usd_per_mtok),
        )
        if self.config.log_content:
            trace.content = {
                "system": valid.request.system,
                "messages": [loggable(m) for m in valid.messages],
                "completion": text,
            }
        return {
            "requestId": trace.request_id,
            "model": {"alias": alias, "modelId": spec.model_id},
            "message": {"role": "assistant", "content": text},
            "stopReason": stop_reason,
            "usage": {
                "inputTokens": input_tokens,
                "outputTokens": output_tokens,
                "totalTokens": total_tokens,
            },
            "latencyMs": latency_ms,
            "guardrail": {
                "intervened": intervened,
                "action": "GUARDRAIL_INTERVENED" if intervened else "NONE",
            },
            "fallbacksUsed": trace.fallbacks_used,
        }
