"""Structured logs and CloudWatch metrics (embedded metric format) of the inference runtime.

Metric names below are a contract with the dashboards and alarms: change them together.
Namespace: ``POWERTOOLS_METRICS_NAMESPACE`` (default ``BedrockLandingZone/Inference``).
Dimensions, always exactly these two (no Powertools ``service`` dimension):

- ``Team``: the caller's team from the config, or ``unknown`` (unrecognized caller);
- ``Model``: the alias of the model that answered; for a request without an answer, the
  requested alias when it is a configured alias; otherwise ``unknown``. Values only ever come
  from the config, so a hostile caller cannot create new metric streams.

One EMF document per request (except ``GET /v1/models``, which calls no model) carries
``Invocations`` (1), ``ClientErrors`` (1 for a 4xx other than 429), ``Throttles`` (1 for a 429),
``ServerErrors`` (1 for a 5xx), ``Fallbacks`` (candidates passed over before the answer or the
final error) and, for a 200 only, ``InputTokens``, ``OutputTokens``, ``LatencyMs`` (time spent
calling Bedrock, fallbacks included), ``GuardrailInterventions`` (0/1) and ``EstimatedCostUsd``
(when the model has a price).
Error counters are emitted as 0 too, so ``Sum(ClientErrors)/Sum(Invocations)`` is a rate.
``CircuitBreakerOpen`` (1) is a separate document emitted when a breaker opens, with ``Model``
set to the alias whose breaker opened.

Logs: one summary line per request (INFO, WARNING for a 5xx) with request id, route, team, caller,
aliases, model id, tokens, latency, stop reason, fallback count, status and error code; one
WARNING per failed attempt; ERROR when Bedrock denies access (the landing zone's IAM is wrong).
Prompt and completion text are logged only when the config sets ``log_content: true``.
The X-Ray SDK is not imported (no Powertools Tracer): it would add ~100 ms to every cold start.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
    AmazonCloudWatchEMFProvider,
)

SERVICE_NAME = os.environ.get("POWERTOOLS_SERVICE_NAME") or "bedrock-inference"

# --- metric names (dashboards use these exact strings) -------------------------------------------
INVOCATIONS = "Invocations"
INPUT_TOKENS = "InputTokens"
OUTPUT_TOKENS = "OutputTokens"
LATENCY_MS = "LatencyMs"
FALLBACKS = "Fallbacks"
GUARDRAIL_INTERVENTIONS = "GuardrailInterventions"
ESTIMATED_COST_USD = "EstimatedCostUsd"
CIRCUIT_BREAKER_OPEN = "CircuitBreakerOpen"
CLIENT_ERRORS = "ClientErrors"
SERVER_ERRORS = "ServerErrors"
THROTTLES = "Throttles"

METRIC_NAMES = (
    INVOCATIONS,
    INPUT_TOKENS,
    OUTPUT_TOKENS,
    LATENCY_MS,
    FALLBACKS,
    GUARDRAIL_INTERVENTIONS,
    ESTIMATED_COST_USD,
    CIRCUIT_BREAKER_OPEN,
    CLIENT_ERRORS,
    SERVER_ERRORS,
    THROTTLES,
)

#: The unit of each metric of the per-request document.
REQUEST_METRIC_UNITS: dict[str, MetricUnit] = {
    INVOCATIONS: MetricUnit.Count,
    CLIENT_ERRORS: MetricUnit.Count,
    THROTTLES: MetricUnit.Count,
    SERVER_ERRORS: MetricUnit.Count,
    FALLBACKS: MetricUnit.Count,
    INPUT_TOKENS: MetricUnit.Count,
    OUTPUT_TOKENS: MetricUnit.Count,
    LATENCY_MS: MetricUnit.Milliseconds,
    GUARDRAIL_INTERVENTIONS: MetricUnit.Count,
    ESTIMATED_COST_USD: MetricUnit.NoUnit,
}

# --- dimensions -----------------------------------------------------------------------------------
DIMENSION_TEAM = "Team"
DIMENSION_MODEL = "Model"
UNKNOWN = "unknown"


def _message_as_written(message: Any) -> Any:
    """The Logger's ``json_deserializer``: a log message is kept as this code wrote it.

    Powertools' formatter passes every ``str`` message to its ``json_deserializer`` (default
    ``json.loads``) in case it is a JSON document. This code's messages are fixed sentences, so
    that was a failed parse, and a ``JSONDecodeError`` raised and caught, on every line: about a
    sixth of the summary line's cost. The parameter is part of ``Logger``'s documented
    signature ("json_deserializer: function to deserialize str, bytes, bytearray containing a
    JSON document to a Python obj").
    """
    return message


logger = Logger(service=SERVICE_NAME, json_deserializer=_message_as_written)


@dataclass
class RequestTrace:
    """What one request did, filled in as it goes; never holds text unless ``log_content``."""

    request_id: str
    route: str | None = None  # a known route only (never a caller-chosen path)
    metered: bool = True  # False: a request that calls no model (GET /v1/models) emits no metrics
    team: str | None = None
    caller: str | None = None
    requested_alias: str | None = None  # set only once known to be a configured alias
    answered_alias: str | None = None
    model_id: str | None = None
    fallbacks_used: int = 0
    attempts: list[dict[str, str]] = field(default_factory=list)
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_ms: int | None = None
    stop_reason: str | None = None
    guardrail_intervened: bool | None = None
    estimated_cost_usd: float | None = None
    error_code: str | None = None
    content: dict[str, Any] | None = None  # prompt/completion, only with log_content

    @property
    def model_dimension(self) -> str:
        return self.answered_alias or self.requested_alias or UNKNOWN


class Telemetry:
    """Emits the per-request summary log and metrics, and the breaker-open metric."""

    def __init__(self, *, namespace: str, log_content: bool, log: Logger = logger) -> None:
        self.namespace = namespace
        self.log_content = log_content
        self.logger = log
        # service="" keeps Powertools from adding a "service" dimension from the environment.
        self.metrics = Metrics(namespace=namespace, service="")
        # The request document's metric names and units are constants: Powertools' add_metric
        # validates them here, once, and each request only fills in values (ten add_metric
        # calls, each re-validating its name and unit, were half of the telemetry's cost).
        probe = AmazonCloudWatchEMFProvider(namespace=namespace, service="")
        for name, unit in REQUEST_METRIC_UNITS.items():
            probe.add_metric(name=name, unit=unit, value=0)
        self._definitions: dict[str, tuple[str, int]] = {
            name: (entry["Unit"], entry["StorageResolution"])
            for name, entry in probe.metric_set.items()
        }

    def attempt_failed(self, trace: RequestTrace, *, alias: str, model_id: str, code: str) -> None:
        trace.attempts.append({"alias": alias, "model_id": model_id, "outcome": code})
        self.logger.warning(
            "model attempt failed",
            extra={
                "request_id": trace.request_id,
                "alias": alias,
                "model_id": model_id,
                "error_code": code,
            },
        )

    def attempt_skipped(self, trace: RequestTrace, *, alias: str, model_id: str) -> None:
        trace.attempts.append({"alias": alias, "model_id": model_id, "outcome": "BreakerOpen"})

    def access_denied(self, trace: RequestTrace, *, alias: str, model_id: str) -> None:
        self.logger.error(
            "operator error: Bedrock denied InvokeModel to the inference function; the landing "
            "zone's IAM policy (or the model access / guardrail permissions) is wrong",
            extra={
                "request_id": trace.request_id,
                "alias": alias,
                "model_id": model_id,
                "error_code": "AccessDeniedException",
                "team": trace.team,
            },
        )

    def breaker_opened(self, trace: RequestTrace, *, alias: str, model_id: str) -> None:
        self.logger.warning(
            "circuit breaker opened",
            extra={"request_id": trace.request_id, "alias": alias, "model_id": model_id},
        )
        emf = AmazonCloudWatchEMFProvider(namespace=self.namespace, service="")
        emf.add_dimension(name=DIMENSION_TEAM, value=trace.team or UNKNOWN)
        emf.add_dimension(name=DIMENSION_MODEL, value=alias)
        emf.add_metric(name=CIRCUIT_BREAKER_OPEN, unit=MetricUnit.Count, value=1)
        emf.flush_metrics()

    def finish(self, trace: RequestTrace, status: int) -> None:
        """Write the summary log line and the request's metrics. Never raises."""
        try:
            self._log_summary(trace, status)
            if trace.metered:
                self._emit_metrics(trace, status)
        except Exception:  # telemetry must never turn an answer into an error
            self.metrics.clear_metrics()
            self.logger.exception("telemetry failed", extra={"request_id": trace.request_id})

    def _log_summary(self, trace: RequestTrace, status: int) -> None:
        fields: dict[str, Any] = {
            "request_id": trace.request_id,
            "route": trace.route,
            "status": status,
            "team": trace.team,
            "caller": trace.caller,
            "model_alias_requested": trace.requested_alias,
            "model_alias": trace.answered_alias,
            "model_id": trace.model_id,
            "input_tokens": trace.input_tokens,
            "output_tokens": trace.output_tokens,
            "latency_ms": trace.latency_ms,
            "stop_reason": trace.stop_reason,
            "fallbacks_used": trace.fallbacks_used,
            "guardrail_intervened": trace.guardrail_intervened,
            "estimated_cost_usd": trace.estimated_cost_usd,
            "error_code": trace.error_code,
        }
        if trace.attempts:
            fields["attempts"] = trace.attempts
        if self.log_content and trace.content is not None:
            fields["content"] = trace.content
        if status >= 500:
            self.logger.warning("converse request finished", extra=fields)
        else:
            self.logger.info("converse request finished", extra=fields)

    def request_metrics(self, trace: RequestTrace, status: int) -> dict[str, float]:
        """The request document's metric values (a 200 adds tokens, latency, guardrail, cost)."""
        client_error = 400 <= status < 500 and status != 429
        values: dict[str, float] = {
            INVOCATIONS: 1,
            CLIENT_ERRORS: int(client_error),
            THROTTLES: int(status == 429),
            SERVER_ERRORS: int(status >= 500),
            FALLBACKS: trace.fallbacks_used,
        }
        if status == 200:
            values[INPUT_TOKENS] = trace.input_tokens or 0
            values[OUTPUT_TOKENS] = trace.output_tokens or 0
            values[LATENCY_MS] = trace.latency_ms or 0
            values[GUARDRAIL_INTERVENTIONS] = int(bool(trace.guardrail_intervened))
            if trace.estimated_cost_usd is not None:
                values[ESTIMATED_COST_USD] = trace.estimated_cost_usd
        return values

    def _emit_metrics(self, trace: RequestTrace, status: int) -> None:
        """One EMF document, serialized by Powertools' EMF provider and printed as its
        ``flush_metrics`` prints it (``POWERTOOLS_METRICS_DISABLED`` honoured)."""
        definitions = self._definitions
        metric_set = {}
        for name, value in self.request_metrics(trace, status).items():
            unit, resolution = definitions[name]
            metric_set[name] = {"Unit": unit, "StorageResolution": resolution, "Value": [value]}
        document = self.metrics.provider.serialize_metric_set(
            metrics=metric_set,
            dimensions={
                DIMENSION_TEAM: trace.team or UNKNOWN,
                DIMENSION_MODEL: trace.model_dimension,
            },
            metadata={},
        )
        if not is_metrics_disabled():
            print(json.dumps(document, separators=(",", ":")))
