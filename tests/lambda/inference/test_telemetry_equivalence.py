"""The runtime's own log formatter and EMF template write what Powertools writes.

``telemetry.LineFormatter`` (a cheaper path through Powertools' JSON formatter) and the EMF
template (``Telemetry._emf_line``) replace library code paths on every request for speed. These
tests compare their output with the library's, text for text, across varied lines and documents:
if Powertools changes what it writes, they fail.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
    AmazonCloudWatchEMFProvider,
)
from bedrock_inference import handler, telemetry
from bedrock_inference.telemetry import LineFormatter, RequestTrace, Telemetry, logger

from . import NAMESPACE, SEARCH_ARN, FakeContext, body, capture, make_event, make_harness


class _Records(logging.Handler):
    """Keeps every record the runtime's logger emits."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    handler = _Records()
    std = logging.getLogger(logger.name)  # the logging.Logger under Powertools' Logger
    std.addHandler(handler)
    try:
        yield handler.records
    finally:
        std.removeHandler(handler)


def _powertools_twin(ours: LineFormatter) -> LambdaPowertoolsFormatter:
    """Powertools' own formatter, configured and keyed like ``ours``."""
    assert ours.json_deserializer is telemetry._message_as_written
    theirs = LambdaPowertoolsFormatter(
        json_deserializer=telemetry._message_as_written,
        serialize_stacktrace=ours.serialize_stacktrace,
    )
    theirs.log_format = dict(ours.log_format)
    return theirs


def _assert_same_lines(records: list[logging.LogRecord]) -> None:
    ours = logger.registered_formatter
    assert isinstance(ours, LineFormatter)
    theirs = _powertools_twin(ours)
    assert records
    for record in records:
        expected = theirs.format(logging.makeLogRecord(dict(record.__dict__)))
        assert ours.format(logging.makeLogRecord(dict(record.__dict__))) == expected


def _trace(**changes: Any) -> RequestTrace:
    trace = RequestTrace(
        request_id="req-1",
        route="/v1/converse",
        team="search",
        caller=SEARCH_ARN,
        requested_alias="claude-haiku",
        answered_alias="claude-haiku",
        model_id="us.anthropic.claude-haiku-4-5-20251001-v1:0",
        fallbacks_used=1,
        input_tokens=30,
        output_tokens=10,
        latency_ms=12,
        stop_reason="end_turn",
        guardrail_intervened=False,
        estimated_cost_usd=5.72e-05,
    )
    for name, value in changes.items():
        setattr(trace, name, value)
    return trace


TRACES = {
    "success": _trace(),
    "no-cost": _trace(estimated_cost_usd=None),
    "guardrail": _trace(guardrail_intervened=True, stop_reason="guardrail_intervened"),
    "rejected": RequestTrace(request_id="req-2", route="/v1/chat/completions", error_code="x"),
    "no-route": RequestTrace(request_id="req-3"),
    "attempts": _trace(attempts=[{"alias": "a", "model_id": "m", "outcome": "Throttling"}]),
    "content": _trace(content={"system": "s", "messages": [], "completion": "ünï"}),
    "odd-text": _trace(team='te"am\\\u2028', caller="caller\nwith\tcontrol\x01", latency_ms=0),
}


@pytest.mark.parametrize("status", [200, 400, 403, 429, 500, 503])
@pytest.mark.parametrize("case", sorted(TRACES))
def test_summary_lines_are_powertools_lines(
    records: list[logging.LogRecord], case: str, status: int
) -> None:
    tele = Telemetry(namespace=NAMESPACE, log_content=case == "content")
    with capture():
        tele.finish(TRACES[case], status)
    _assert_same_lines(records)


def test_lines_of_a_handled_request_are_powertools_lines(
    records: list[logging.LogRecord], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside the Powertools decorator (Lambda context keys, cold start), a failed attempt's
    WARNING, with and without an X-Ray trace header."""
    h = make_harness()
    monkeypatch.setattr(handler, "SERVICE", h.service)
    h.fail("ThrottlingException", 429)
    h.answer()
    with capture():
        handler.lambda_handler(make_event(body()), FakeContext())
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
    h.answer()
    with capture():
        telemetry_handler = h.service.telemetry
        telemetry_handler.finish(_trace(), 200)
        logger.info("with context", extra={"request_id": "r"})
    _assert_same_lines(records)
    assert any(r.levelno == logging.WARNING for r in records)


def test_other_lines_are_powertools_lines(records: list[logging.LogRecord]) -> None:
    """Arguments, a JSON-looking or non-str message, exceptions, extra keys that shadow
    Powertools' own (``exception``, ``stack_trace``), keys appended to the logger."""
    with capture():
        logger.info("plain")
        logger.info("with %s", "arguments")
        logger.info('{"looks": "like JSON"}')
        logger.info({"a": "dict message"})
        logger.info("shadowing", extra={"exception": "mine", "stack_trace": "mine too"})
        logger.warning("none values", extra={"a": None, "b": 0, "c": False, "d": ""})
        logger.info("not JSON-able", extra={"when": object()})
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed", extra={"request_id": "r"})
        logger.append_keys(tenant="t-1")
        try:
            logger.info("appended key")
        finally:
            logger.remove_keys(["tenant"])
        logger.thread_safe_append_keys(worker="w-1")
        try:
            logger.info("thread-safe key")
        finally:
            logger.thread_safe_clear_keys()
    _assert_same_lines(records)


@pytest.mark.parametrize("utc", [False, True])
@pytest.mark.parametrize(
    "form", [LambdaPowertoolsFormatter.default_time_format, "%H:%M %%F %F", "%F %S.%F", "%S"]
)
def test_the_timestamp_is_powertools_timestamp_across_seconds(utc: bool, form: str) -> None:
    """Local time and UTC; other default formats (a format the shortcut does not split is
    left to Powertools' formatTime)."""
    ours = LineFormatter(json_deserializer=lambda m: m, utc=utc)
    theirs = LambdaPowertoolsFormatter(utc=utc)
    ours.default_time_format = theirs.default_time_format = form
    for created in (1_796_562_721.674, 1_796_562_721.999, 1_796_562_722.0, 1_796_562_722.0009):
        record = logging.makeLogRecord({"msg": "m", "created": created})
        record.msecs = (created - int(created)) * 1000
        assert ours._timestamp(record) == theirs.formatTime(record)


def test_the_handler_still_uses_the_line_formatter(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(logger.registered_formatter, LineFormatter)
    h = make_harness()
    monkeypatch.setattr(handler, "SERVICE", h.service)
    h.answer()
    with capture() as out:
        handler.lambda_handler(make_event(body()), FakeContext())
    (line,) = [log for log in out.logs if log["message"] == "converse request finished"]
    assert line["function_request_id"] == "lambda-req-1"


# --- EMF ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 400, 403, 429, 500, 502, 503, 504])
@pytest.mark.parametrize("case", sorted(TRACES))
def test_emf_lines_are_powertools_documents(case: str, status: int) -> None:
    """The template's text is ``json.dumps`` of what Powertools' provider serializes (and what
    ``add_metric`` + ``flush_metrics`` would print), timestamp aside."""
    tele = Telemetry(namespace=NAMESPACE, log_content=False)
    trace = TRACES[case]
    values = tele.request_metrics(trace, status)
    team, model = trace.team or telemetry.UNKNOWN, trace.model_dimension
    line = tele._emf_line(values, team, model)
    document = json.loads(line)
    reference = tele.powertools_document(values, team, model)
    reference["_aws"]["Timestamp"] = document["_aws"]["Timestamp"]
    assert line == json.dumps(reference, separators=(",", ":"))

    flushed = AmazonCloudWatchEMFProvider(namespace=NAMESPACE, service="")
    flushed.add_dimension(name="Team", value=team)
    flushed.add_dimension(name="Model", value=model)
    for name, value in values.items():
        flushed.add_metric(name=name, unit=telemetry.REQUEST_METRIC_UNITS[name], value=value)
    with capture() as out:
        flushed.flush_metrics()
    (expected,) = out.metrics
    expected["_aws"]["Timestamp"] = document["_aws"]["Timestamp"]
    assert document == expected


@pytest.mark.parametrize(
    "value", [0, 7, 10**12, 0.25, 5.72e-05, 1e-12, 123456.789, True, float("inf")]
)
def test_emf_values_are_written_as_json_writes_them(value: float) -> None:
    tele = Telemetry(namespace=NAMESPACE, log_content=False)
    values = {"Invocations": 1, "EstimatedCostUsd": value}
    line = tele._emf_line(values, "search", "claude-haiku")
    reference = tele.powertools_document(values, "search", "claude-haiku")
    reference["_aws"]["Timestamp"] = json.loads(line)["_aws"]["Timestamp"]
    assert line == json.dumps(reference, separators=(",", ":"))


def test_emf_timestamp_is_now_in_epoch_milliseconds() -> None:
    tele = Telemetry(namespace="Name%With/Percent", log_content=False)
    before = int(time.time() * 1000)
    document = json.loads(tele._emf_line({"Invocations": 1}, "t%s", "m%d"))
    after = int(time.time() * 1000)
    assert before <= document["_aws"]["Timestamp"] <= after
    assert (document["Team"], document["Model"]) == ("t%s", "m%d")
    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Name%With/Percent"


@pytest.mark.parametrize(
    ("env", "printed"),
    [
        ({}, True),
        ({"POWERTOOLS_METRICS_DISABLED": "true"}, False),
        ({"POWERTOOLS_DEV": "true"}, False),
        ({"POWERTOOLS_DEV": "true", "POWERTOOLS_METRICS_DISABLED": "false"}, True),
    ],
)
def test_metrics_switches_are_powertools_own(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], printed: bool
) -> None:
    """The switches are read once, at init (a function's environment is fixed for an execution
    environment), with Powertools' own rules (``is_metrics_disabled``)."""
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    tele = Telemetry(namespace=NAMESPACE, log_content=False)
    with capture() as out:
        tele.finish(_trace(), 200)
    assert bool(out.metrics) is printed
    assert out.logs
