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
import logging
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
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
#: The environment variable Lambda sets to the invocation's X-Ray trace header.
XRAY_TRACE_ID_ENV = "_X_AMZN_TRACE_ID"
_ENCODED_CACHE_SIZE = 1024


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


#: The ``LogRecord`` attributes and Powertools' own keys that are not copied into a line as
#: extra keys (Powertools' ``RESERVED_LOG_ATTRS``; a test checks this formatter's lines against
#: Powertools' own, so a difference fails there).
_RESERVED_LOG_ATTRS = frozenset(
    {
        "name",
        "msg",
        "args",
        "level",
        "levelname",
        "levelno",
        "pathname",
        "filename",
        "module",
        "exc_info",
        "exc_text",
        "stack_info",
        "lineno",
        "funcName",
        "created",
        "msecs",
        "relativeCreated",
        "thread",
        "threadName",
        "processName",
        "process",
        "asctime",
        "location",
        "timestamp",
    }
)


class LineFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, with a cheaper path for the common line.

    A line with no exception, no ``%`` arguments, a ``str`` message and the default timestamp
    format is built here with the same keys, order and values as
    ``LambdaPowertoolsFormatter.format`` builds it, for about half the work: no copy of the
    record's attributes, a set (not a tuple scan) for the reserved attribute names, and the
    timestamp's date and time formatted once per second (only the milliseconds change within
    one). Every other line goes through Powertools' own ``format``. Passed to ``Logger`` as its
    ``logger_formatter`` (Powertools' documented "bring your own formatter"); the tests compare
    its lines with Powertools' formatter's over varied records.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._second: tuple[int, str, str] = (-1, "", "")
        if kwargs.get("json_serializer") is None:
            # Powertools' default serializer is json.dumps with these options, which builds a
            # JSONEncoder on every call: this one is built once.
            self.json_serializer = json.JSONEncoder(
                default=self.json_default,
                separators=(",", ":"),
                indent=self.json_indent,
                ensure_ascii=False,
            ).encode

    def format(self, record: logging.LogRecord) -> str:
        if (
            record.exc_info
            or record.args
            or type(record.msg) is not str
            or self.datefmt
            or self.use_rfc3339_iso8601
        ):
            return super().format(record)
        attributes = record.__dict__
        record.asctime = self._timestamp(record)
        line: dict[str, Any] = {}
        reserved = _RESERVED_LOG_ATTRS
        for keys in (self.log_format, self.thread_safe_get_current_keys()):
            for key, value in keys.items():
                if value and key in reserved:
                    if not isinstance(value, str):
                        return super().format(record)  # Powertools' own error
                    line[key] = value % attributes
                else:
                    line[key] = value
        for key, value in attributes.items():
            if key not in reserved:
                line[key] = value
        message: Any = record.msg
        try:  # noqa: SIM105 - contextlib.suppress costs a context manager per line
            message = self.json_deserializer(message)
        except (json.JSONDecodeError, TypeError, ValueError):
            pass
        line["message"] = message
        line["exception"] = line.get("exception")
        line["exception_name"] = line.get("exception_name")
        line["exception_notes"] = line.get("exception_notes")
        if self.serialize_stacktrace:
            line["stack_trace"] = None  # no exception: none to serialize
        line["xray_trace_id"] = self._trace_id()
        return self.serialize({k: v for k, v in line.items() if v is not None})

    def _timestamp(self, record: logging.LogRecord) -> str:
        """``formatTime`` of Powertools' default format (``%Y-%m-%d %H:%M:%S,%F%z``, ``%F``: the
        record's milliseconds): what comes before and after ``%F`` is formatted once per second
        (none of its directives is finer than a second)."""
        second, head, tail = self._second
        if second != int(record.created):
            form = self.default_time_format
            before, marker, after = form.partition(self.custom_ms_time_directive)
            if not marker or "%%" in form or marker in after:
                return self.formatTime(record)  # a format this shortcut does not split
            moment = self.converter(record.created)
            second = int(record.created)
            head, tail = time.strftime(before, moment), time.strftime(after, moment)
            self._second = (second, head, tail)
        return f"{head}{int(record.msecs):03d}{tail}"

    def _trace_id(self) -> str | None:
        """The X-Ray trace id, as Powertools' formatter reads it for each line (Lambda sets
        ``_X_AMZN_TRACE_ID`` per invocation), unless the logger's ``xray_trace_id`` key is
        set to None."""
        if self.log_format.get("xray_trace_id", "") is None:
            return None
        value = os.environ.get(XRAY_TRACE_ID_ENV)
        return value.split(";")[0].replace("Root=", "") if value else None


logger = Logger(
    service=SERVICE_NAME,
    logger_formatter=LineFormatter(json_deserializer=_message_as_written),
)


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
        # POWERTOOLS_METRICS_DISABLED (and POWERTOOLS_DEV), read once: a function's environment
        # variables are part of its version-specific configuration ("Working with Lambda
        # environment variables", Lambda developer guide), so they do not change during an
        # execution environment's life. Powertools reads them at each flush.
        self._metrics_disabled = is_metrics_disabled()
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
        # The request document's text, per set of metric names (3 in all), taken from the
        # document Powertools serializes: each request only writes in the timestamp, the two
        # dimension values and the metric values (see _emf_line).
        self._emf_templates: dict[tuple[str, ...], str] = {}
        self._encoded: dict[str, str] = {}

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
        """One EMF document, as Powertools' EMF provider serializes it and ``flush_metrics``
        prints it (``POWERTOOLS_METRICS_DISABLED`` honoured, as read at init), written from a
        template."""
        line = self._emf_line(
            self.request_metrics(trace, status), trace.team or UNKNOWN, trace.model_dimension
        )
        if not self._metrics_disabled:
            print(line)

    def powertools_document(
        self, values: dict[str, float], team: str, model: str
    ) -> dict[str, Any]:
        """The request document as Powertools' EMF provider serializes it (the reference the
        template is taken from, and that the tests compare it with)."""
        definitions = self._definitions
        metric_set = {}
        for name, value in values.items():
            unit, resolution = definitions[name]
            metric_set[name] = {"Unit": unit, "StorageResolution": resolution, "Value": [value]}
        return dict(
            self.metrics.provider.serialize_metric_set(
                metrics=metric_set,
                dimensions={DIMENSION_TEAM: team, DIMENSION_MODEL: model},
                metadata={},
            )
        )

    def _emf_line(self, values: dict[str, float], team: str, model: str) -> str:
        """The request document's JSON text (``json.dumps`` of :meth:`powertools_document`,
        compact separators), without building and serializing the document on each request.

        The EMF specification ("Specification: Embedded metric format", CloudWatch user guide):
        the log event "MUST be a valid JSON object"; ``_aws.Timestamp`` is "the number of
        milliseconds after Jan 1, 1970 00:00:00 UTC" (Powertools takes it from the clock at
        serialization, as here); each metric's value is a member of the root node named after
        the metric (Powertools writes a one-element array). Only these vary per request: the
        rest of the text is a constant per set of metric names.
        """
        names = tuple(values)
        template = self._emf_templates.get(names)
        if template is None:
            template = self._emf_templates[names] = self._emf_template(names)
        numbers = []
        for value in values.values():
            if type(value) is int or (type(value) is float and math.isfinite(value)):
                numbers.append(repr(value))  # what json.dumps writes for these
            else:
                numbers.append(json.dumps(value))
        return template % (
            int(time.time() * 1000),
            self._json_string(team),
            self._json_string(model),
            *numbers,
        )

    def _emf_template(self, names: tuple[str, ...]) -> str:
        """A ``%`` template of the document Powertools serializes for ``names``: made from its
        own output, with markers where the per-request values go."""
        document = self.powertools_document(dict.fromkeys(names, 0), "\x00TEAM", "\x00MODEL")
        document["_aws"]["Timestamp"] = 0
        text = json.dumps(document, separators=(",", ":")).replace("%", "%%")
        head, _, rest = text.partition('"Timestamp":0,')
        text = head + '"Timestamp":%d,' + rest
        text = text.replace(json.dumps("\x00TEAM"), "%s", 1)
        text = text.replace(json.dumps("\x00MODEL"), "%s", 1)
        for name in names:
            key = json.dumps(name).replace("%", "%%")
            if text.count(key + ":[0]") != 1:  # pragma: no cover - Powertools changed its output
                raise ValueError(f"no single member {key} in the EMF document: {text}")
            text = text.replace(key + ":[0]", key + ":[%s]")
        return text

    def _json_string(self, value: str) -> str:
        """``json.dumps(value)``, remembered: dimension values only ever come from the config."""
        encoded = self._encoded.get(value)
        if encoded is None:
            if len(self._encoded) >= _ENCODED_CACHE_SIZE:
                self._encoded.clear()
            encoded = self._encoded[value] = json.dumps(value)
        return encoded
