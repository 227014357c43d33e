"""Logs carry metadata but no text by default; metrics keep the dashboard contract."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
    AmazonCloudWatchEMFProvider,
)
from bedrock_inference import telemetry
from bedrock_inference.logic import sanitize_metadata
from bedrock_inference.telemetry import RequestTrace, Telemetry

from . import (
    GUARDRAIL,
    MODEL_IDS,
    NAMESPACE,
    SEARCH_ARN,
    TEST_CONFIG,
    body,
    capture,
    make_event,
    make_harness,
)

PROMPT = "PROMPT-6f1c: my salary is 123456"
SYSTEM = "SYSTEM-0b7e: be terse"
COMPLETION = "COMPLETION-9a2d: here is the secret"
SECRETS = (PROMPT, SYSTEM, COMPLETION, "6f1c", "0b7e", "9a2d")


def _run(config: dict[str, Any] | None, *outcomes: tuple[str, Any]) -> tuple[int, str]:
    h = make_harness(config)
    for kind, value in outcomes:
        if kind == "answer":
            h.answer(value)
        else:
            h.fail(*value)
    with capture() as out:
        reply = h.call(make_event(body("claude-haiku", PROMPT, system=SYSTEM)))
    return reply.status, out.text


@pytest.mark.parametrize(
    "outcomes",
    [
        [("answer", COMPLETION)],
        [("fail", ("ThrottlingException", 429)), ("answer", COMPLETION)],
        [("fail", ("ThrottlingException", 429)), ("fail", ("ThrottlingException", 429))],
        [("fail", ("ValidationException", 400, "bad input"))],
        [("fail", ("AccessDeniedException", 403))],
    ],
    ids=["success", "fallback", "throttled", "bedrock-validation", "access-denied"],
)
def test_logs_and_metrics_hold_no_prompt_or_completion_by_default(outcomes: Any) -> None:
    _, text = _run(None, *outcomes)
    assert text  # something was logged
    for secret in SECRETS:
        assert secret not in text


def test_rejected_requests_do_not_log_their_content_either() -> None:
    h = make_harness()
    bad = body("claude-haiku", PROMPT, PROMPT)  # two user turns... made invalid below
    bad["messages"][1]["role"] = "user"
    with capture() as out:
        reply = h.call(make_event(bad))
    assert reply.status == 400
    assert "6f1c" not in out.text
    assert "6f1c" not in json.dumps(reply.body)


def test_log_content_true_logs_prompt_and_completion() -> None:
    config = copy.deepcopy(TEST_CONFIG)
    config["log_content"] = True
    status, text = _run(config, ("answer", COMPLETION))
    assert status == 200
    summary = next(json.loads(line) for line in text.splitlines() if "request finished" in line)
    assert summary["content"] == {
        "system": SYSTEM,
        "messages": [{"role": "user", "content": PROMPT}],
        "completion": COMPLETION,
    }


def test_summary_log_has_the_operational_fields() -> None:
    h = make_harness()
    h.answer("x", input_tokens=30, output_tokens=10)
    with capture() as out:
        h.call(make_event(body()))
    (summary,) = [line for line in out.logs if line["message"] == "converse request finished"]
    assert summary["level"] == "INFO"
    assert {
        key: summary[key]
        for key in (
            "request_id",
            "team",
            "caller",
            "model_alias_requested",
            "model_alias",
            "model_id",
            "input_tokens",
            "output_tokens",
            "stop_reason",
            "fallbacks_used",
            "status",
        )
    } == {
        "request_id": "6c1f8a9e-1d2b-4c3d-9e8f-0a1b2c3d4e5f",
        "team": "search",
        "caller": SEARCH_ARN,
        "model_alias_requested": "claude-haiku",
        "model_alias": "claude-haiku",
        "model_id": MODEL_IDS["claude-haiku"],
        "input_tokens": 30,
        "output_tokens": 10,
        "stop_reason": "end_turn",
        "fallbacks_used": 0,
        "status": 200,
    }
    assert "latency_ms" in summary


def test_request_metadata_and_guardrail_are_sent_on_every_attempt() -> None:
    h = make_harness()
    expected = {
        "messages": [{"role": "user", "content": [{"text": "What is a landing zone?"}]}],
        "guardrailConfig": GUARDRAIL,
        "requestMetadata": {
            "team": "search",
            "caller": SEARCH_ARN,
            "requestId": "6c1f8a9e-1d2b-4c3d-9e8f-0a1b2c3d4e5f",
        },
    }
    h.stubber.add_client_error(
        "converse",
        "ThrottlingException",
        "slow down",
        429,
        expected_params={
            **expected,
            "modelId": MODEL_IDS["claude-haiku"],
            "inferenceConfig": {"maxTokens": 2048},
        },
    )
    h.answer(
        "ok",
        input_tokens=1,
        output_tokens=1,
        expected_params={
            **expected,
            "modelId": MODEL_IDS["nova-lite"],
            "inferenceConfig": {"maxTokens": 2048},
        },
    )
    assert h.call(make_event(body())).status == 200
    h.stubber.assert_no_pending_responses()


def test_request_metadata_values_are_sanitized() -> None:
    assert (
        sanitize_metadata("arn:aws:sts::1:assumed-role/r/a@b.c")
        == "arn:aws:sts::1:assumed-role/r/a@b.c"
    )
    assert sanitize_metadata("a\nb<c>{d}é") == "a_b_c__d__"
    assert len(sanitize_metadata("x" * 1000)) == 256


def test_hostile_request_id_is_sanitized_in_request_metadata() -> None:
    h = make_harness()
    event = make_event(body())
    event["requestContext"]["requestId"] = "id\n<script>"
    h.answer(
        "ok",
        input_tokens=1,
        output_tokens=1,
        expected_params={
            "modelId": MODEL_IDS["claude-haiku"],
            "messages": [{"role": "user", "content": [{"text": "What is a landing zone?"}]}],
            "inferenceConfig": {"maxTokens": 2048},
            "guardrailConfig": GUARDRAIL,
            "requestMetadata": {"team": "search", "caller": SEARCH_ARN, "requestId": "id__script_"},
        },
    )
    assert h.call(event).status == 200


# --- metrics contract -----------------------------------------------------------------------------
def test_metric_names_are_the_dashboard_contract() -> None:
    assert telemetry.METRIC_NAMES == (
        "Invocations",
        "InputTokens",
        "OutputTokens",
        "LatencyMs",
        "Fallbacks",
        "GuardrailInterventions",
        "EstimatedCostUsd",
        "CircuitBreakerOpen",
        "ClientErrors",
        "ServerErrors",
        "Throttles",
    )
    assert (telemetry.DIMENSION_TEAM, telemetry.DIMENSION_MODEL) == ("Team", "Model")


def test_success_emits_one_emf_document_with_team_and_model_only() -> None:
    h = make_harness()
    h.answer("x", input_tokens=1000, output_tokens=500)
    with capture() as out:
        h.call(make_event(body()))
    (doc,) = out.metrics
    directive = doc["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == NAMESPACE
    assert directive["Dimensions"] == [["Team", "Model"]]
    assert (doc["Team"], doc["Model"]) == ("search", "claude-haiku")
    values = out.metric_values()
    assert values == {
        "Invocations": 1,
        "ClientErrors": 0,
        "Throttles": 0,
        "ServerErrors": 0,
        "Fallbacks": 0,
        "InputTokens": 1000,
        "OutputTokens": 500,
        "LatencyMs": 0,
        "GuardrailInterventions": 0,
        # us. profile of Claude Haiku 4.5: $1.10 / $5.50 per million tokens
        "EstimatedCostUsd": pytest.approx(0.0011 + 0.00275),
    }
    units = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    assert units["LatencyMs"] == "Milliseconds"
    assert units["InputTokens"] == "Count"


def test_no_service_dimension_even_with_a_service_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "inference")
    tele = Telemetry(namespace=NAMESPACE, log_content=False)
    with capture() as out:
        tele.finish(RequestTrace(request_id="r", team="search", requested_alias="nova-lite"), 400)
        tele.breaker_opened(
            RequestTrace(request_id="r", team="search"), alias="nova-lite", model_id="m"
        )
    assert [d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] for d in out.metrics] == [
        [["Team", "Model"]],
        [["Team", "Model"]],
    ]


@pytest.mark.parametrize(
    ("event_kwargs", "status", "team", "model", "counters"),
    [
        ({"body": body("gpt-5")}, 403, "search", "unknown", (1, 0, 0)),
        ({"body": body("claude-sonnet")}, 403, "search", "claude-sonnet", (1, 0, 0)),
        ({"body": body(), "user_arn": "arn:aws:sts::1:x"}, 403, "unknown", "unknown", (1, 0, 0)),
        ({"raw_body": "nope"}, 400, "search", "unknown", (1, 0, 0)),
        ({"body": {"model": "nova-lite", "messages": 1}}, 400, "search", "nova-lite", (1, 0, 0)),
        ({"body": {"model": ["nova-lite"]}}, 400, "search", "unknown", (1, 0, 0)),
    ],
)
def test_error_dimensions_only_take_configured_values(
    event_kwargs: dict[str, Any], status: int, team: str, model: str, counters: tuple[float, ...]
) -> None:
    h = make_harness()
    with capture() as out:
        reply = h.call(make_event(**event_kwargs))
    assert reply.status == status
    (doc,) = out.metrics
    assert (doc["Team"], doc["Model"]) == (team, model)
    values = out.metric_values()
    assert (values["ClientErrors"], values["Throttles"], values["ServerErrors"]) == counters
    assert "InputTokens" not in values


def test_telemetry_failure_never_breaks_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    h = make_harness()
    h.answer()

    def broken(*_: Any, **__: Any) -> None:
        raise ValueError("metrics backend exploded")

    monkeypatch.setattr(h.service.telemetry.metrics.provider, "serialize_metric_set", broken)
    with capture() as out:
        reply = h.call(make_event(body()))
    assert reply.status == 200
    assert any(line["message"] == "telemetry failed" for line in out.logs)


@pytest.mark.parametrize("status", [200, 400, 429, 503])
def test_the_request_document_is_what_powertools_add_metric_and_flush_write(status: int) -> None:
    """Each request fills in values for metric definitions validated once at init; the document
    is the one ten ``add_metric`` calls and ``flush_metrics`` would print (timestamp aside)."""
    tele = Telemetry(namespace=NAMESPACE, log_content=False)
    trace = RequestTrace(
        request_id="r",
        team="search",
        answered_alias="claude-haiku",
        fallbacks_used=1,
        input_tokens=30,
        output_tokens=10,
        latency_ms=12,
        guardrail_intervened=True,
        estimated_cost_usd=0.25,
    )
    with capture() as ours:
        tele.finish(trace, status)
    reference = AmazonCloudWatchEMFProvider(namespace=NAMESPACE, service="")
    reference.add_dimension(name="Team", value="search")
    reference.add_dimension(name="Model", value="claude-haiku")
    for name, value in tele.request_metrics(trace, status).items():
        reference.add_metric(name=name, unit=telemetry.REQUEST_METRIC_UNITS[name], value=value)
    with capture() as theirs:
        reference.flush_metrics()
    (doc,), (expected,) = ours.metrics, theirs.metrics
    doc["_aws"].pop("Timestamp")
    expected["_aws"].pop("Timestamp")
    assert doc == expected
    assert ("InputTokens" in doc) is (status == 200)


def test_metrics_disabled_by_powertools_setting_print_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    tele = Telemetry(namespace=NAMESPACE, log_content=False)
    with capture() as out:
        tele.finish(RequestTrace(request_id="r", team="search"), 200)
    assert out.metrics == []
    assert out.logs  # the summary line still is written


@pytest.mark.parametrize("message", ["converse request finished", '{"looks": "like JSON"}', "42"])
def test_a_log_message_is_kept_as_written(message: str) -> None:
    """The Logger's ``json_deserializer`` keeps messages as written: Powertools' default would
    try ``json.loads`` on every line (a failed parse for this code's sentences) and would turn a
    JSON-looking message into an object."""
    with capture() as out:
        telemetry.logger.info(message, extra={"request_id": "r-1"})
    line = json.loads(out.text.strip().splitlines()[-1])
    assert line["message"] == message
    assert line["request_id"] == "r-1"
