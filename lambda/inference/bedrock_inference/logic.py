"""Inference logic: who is calling, is the request allowed, which model answers.

- **Caller**: the IAM principal API Gateway authenticated (``requestContext.identity.userArn``),
  an STS assumed-role ARN; its role name maps to a team through ``teams.<team>.role_names``.
  Anything else (IAM users, unknown roles, no identity) is not a caller.
- **Validation**: shape by the pydantic model :class:`~bedrock_inference.models.ConverseRequest`,
  then the rules that depend on the config: the alias must be in the team's allow-list; roles
  alternate starting with ``user``; message count, total characters, system characters and stop
  sequences within ``limits``; ``maxTokens`` at most the alias's ``max_output_tokens`` (when the
  caller gives none, that cap is sent, so a request can never run unbounded).
- **Guardrail**: every Converse call carries ``guardrailConfig`` (``GUARDRAIL_ID``,
  ``GUARDRAIL_VERSION``, trace disabled). When the guardrail intervenes Bedrock answers with
  ``stopReason: guardrail_intervened`` and the guardrail's configured *blocked message* as the
  assistant text: that is returned as a normal 200 with ``guardrail.intervened = true`` and
  ``guardrail.action = "GUARDRAIL_INTERVENED"``; the caller shows the text as is.
- **Fallback chain**: the requested alias, then its ``fallbacks`` in order (fallback aliases are
  the operator's choice and need not be in the team's allow-list). The next candidate is tried
  when one is throttled, unavailable (ServiceUnavailable, ModelNotReady, InternalServer,
  connection failures) or times out (read/connect timeout, ModelTimeoutException), each after
  botocore's own retries. Any other error ends the request at once. A candidate whose circuit
  breaker is open is skipped. Time left is checked before every candidate.
- **Outcome** when no candidate answers: the last attempted candidate's failure decides
  (throttled → 429 with ``Retry-After``; timeout → 504; unavailable → 502); every candidate
  skipped by an open breaker → 503 with ``Retry-After`` (the shortest remaining cool-down).
- **Telemetry**: see :mod:`bedrock_inference.telemetry`; ``requestMetadata`` carries ``team``,
  ``caller`` and ``requestId`` (sanitized to Bedrock's character set and 256 characters) so the
  model invocation logs can be attributed.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from bedrock_inference.bedrock_client import (
    FALLBACK_KINDS,
    MIN_ATTEMPT_S,
    BedrockCallFailed,
    BedrockRuntime,
    FailureKind,
)
from bedrock_inference.breaker import BreakerRegistry
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
    ConverseRequest,
    ConverseResponse,
    ModelConfig,
    Settings,
    format_loc,
)
from bedrock_inference.pricing import estimate_cost_usd
from bedrock_inference.telemetry import RequestTrace, Telemetry

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


@dataclass(frozen=True, slots=True)
class Caller:
    arn: str
    account_id: str
    role_name: str
    session_name: str
    team: str


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
    ) -> None:
        self.settings = settings
        self.config = settings.config
        self.bedrock = bedrock
        self.breakers = breakers
        self.telemetry = telemetry
        self._clock = clock
        self._team_of_role = {
            role: team for team, spec in self.config.teams.items() for role in spec.role_names
        }
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
        team = self._team_of_role.get(match["role"]) if match else None
        if match is None or team is None:
            raise CallerNotRecognized(
                "the calling IAM role is not mapped to a team", field="requestContext"
            )
        trace.team = team
        return Caller(
            arn=user_arn,
            account_id=match["account"],
            role_name=match["role"],
            session_name=match["session"],
            team=team,
        )

    # --- what ---------------------------------------------------------------------------------
    def validate(
        self, caller: Caller, body: dict[str, Any], trace: RequestTrace
    ) -> ConverseRequest:
        """Shape (pydantic), allow-list, then the configured limits. Raises on the first problem."""
        alias = body.get("model")
        if isinstance(alias, str) and alias in self.config.models:
            trace.requested_alias = alias  # a configured alias: safe as a metric dimension
        try:
            request = ConverseRequest.model_validate(body)
        except ValidationError as exc:
            first = exc.errors(include_input=False, include_url=False)[0]
            raise RequestInvalid(first["msg"], field=format_loc(first["loc"]) or "body") from None

        allowed = self.config.teams[caller.team].models
        if request.model not in allowed:
            raise ModelNotAllowed(
                f"model alias is not allowed for team {caller.team!r}; allowed: "
                + ", ".join(allowed),
                field="model",
            )

        self._check_messages(request)
        self._check_inference_params(request)
        return request

    def _check_messages(self, request: ConverseRequest) -> None:
        limits = self.config.limits
        if len(request.messages) > limits.max_messages:
            raise RequestInvalid(
                f"at most {limits.max_messages} messages are allowed", field="messages"
            )
        expected = "user"
        total = 0
        for index, message in enumerate(request.messages):
            if message.role != expected:
                raise RequestInvalid(
                    f"roles must alternate, starting with 'user': expected {expected!r}",
                    field=f"messages[{index}].role",
                )
            if not message.content.strip():
                raise RequestInvalid(
                    "content must not be blank", field=f"messages[{index}].content"
                )
            expected = "assistant" if expected == "user" else "user"
            total += len(message.content)
        if total > limits.max_total_chars:
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
            if not request.system.strip():
                raise RequestInvalid("the system prompt must not be blank", field="system")

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
        request: ConverseRequest,
        *,
        trace: RequestTrace,
        remaining_ms: int,
    ) -> ConverseResponse:
        retry = self.config.retry
        started = self._clock()
        deadline = started + remaining_ms / 1000 - retry.deadline_margin_s
        chain = self.config.chain(request.model)
        messages = [{"role": m.role, "content": [{"text": m.content}]} for m in request.messages]
        metadata = {
            "team": sanitize_metadata(caller.team),
            "caller": sanitize_metadata(caller.arn),
            "requestId": sanitize_metadata(trace.request_id),
        }
        last: BedrockCallFailed | None = None
        cooldowns: list[float] = []
        for index, alias in enumerate(chain):
            trace.fallbacks_used = index
            if deadline - self._clock() < MIN_ATTEMPT_S:
                last = BedrockCallFailed(
                    FailureKind.TIMEOUT, "DeadlineExceeded", "no time left for another model"
                )
                break
            spec = self.config.models[alias]
            breaker = self.breakers.for_model(spec.model_id)
            if not breaker.allow():
                cooldowns.append(breaker.retry_after_s())
                self.telemetry.attempt_skipped(trace, alias=alias, model_id=spec.model_id)
                continue
            params = self._params(request, spec, messages, metadata)
            try:
                raw = self.bedrock.converse(params, deadline=deadline)
            except BedrockCallFailed as failure:
                self.telemetry.attempt_failed(
                    trace, alias=alias, model_id=spec.model_id, code=failure.code
                )
                if failure.kind not in FALLBACK_KINDS:
                    breaker.record_success()  # Bedrock answered: the service is reachable
                    trace.model_id = spec.model_id
                    raise self._terminal(failure, alias, spec, trace) from None
                if breaker.record_failure():
                    self.telemetry.breaker_opened(trace, alias=alias, model_id=spec.model_id)
                last = failure
                if failure.code == "DeadlineExceeded":
                    break
                continue
            breaker.record_success()
            return self._answer(
                raw, alias=alias, spec=spec, request=request, trace=trace, started=started
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
        if last.kind is FailureKind.TIMEOUT:
            raise ModelTimedOut("the model did not answer in time")
        raise ModelFailed("the model service is unavailable (all fallbacks included)")

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
        request: ConverseRequest,
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
                "system": request.system,
                "messages": [m.model_dump() for m in request.messages],
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
