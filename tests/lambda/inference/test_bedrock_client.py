"""The Converse wrapper: explicit botocore config, deadline-bounded calls, classification.

The fault tests against a real HTTP server are in ``test_faults.py``; these use a fake clock and
botocore's ``before-send`` hook in place of the network.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import boto3
import pytest
from bedrock_inference.bedrock_client import (
    ATTEMPT_DEADLINE,
    MIN_RETRY_S,
    NOT_STARTED,
    BedrockCallFailed,
    BedrockRuntime,
    FailureKind,
    checked_answer,
    classify_error,
    classify_exception,
    make_config,
)
from bedrock_inference.local import converse_answer
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import (
    ConnectionClosedError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)
from urllib3.exceptions import ProtocolError

from . import FakeClock, converse_param_problems, options

PARAMS = {
    "modelId": "amazon.nova-lite-v1:0",
    "messages": [{"role": "user", "content": [{"text": "hi"}]}],
}
ENDPOINT = "https://bedrock-runtime.us-east-1.amazonaws.com"


def test_config_is_explicit() -> None:
    config = make_config(max_attempts=4, connect_timeout_s=2, read_timeout_s=50)
    assert options(config) == {
        "retries": {"mode": "standard", "max_attempts": 4},
        "connect_timeout": 2,
        "read_timeout": 50,
        "parameter_validation": False,  # what the tests check instead: converse_param_problems
    }


def test_the_suites_parameter_check_finds_what_botocore_would_refuse() -> None:
    assert not converse_param_problems(PARAMS)
    bad = {"messages": PARAMS["messages"], "inferenceConfig": {"maxTokens": "512"}}
    problems = converse_param_problems(bad)
    assert "inferenceConfig.maxTokens" in problems
    assert 'Missing required parameter in input: "modelId"' in problems


def _runtime(
    factory: Any, clock: Any, read_timeout_s: float = 50, max_attempts: int = 3
) -> BedrockRuntime:
    return BedrockRuntime(
        factory=factory,
        max_attempts=max_attempts,
        connect_timeout_s=2,
        read_timeout_s=read_timeout_s,
        clock=clock,
    )


@pytest.mark.parametrize(
    ("budget", "expected"),
    [
        (100, (2, 50)),
        (50, (2, 50)),
        (30.7, (2, 31.0)),  # rounded up: the watchdog, not the socket, ends the call on time
        (1.5, (2, 2.0)),
        (1.0, (1.0, 1.0)),
        (0.2, (1.0, 1.0)),
    ],
)
def test_socket_timeouts_are_capped_by_the_call_budget(
    budget: float, expected: tuple[float, float]
) -> None:
    runtime = _runtime(lambda c: None, FakeClock())
    assert runtime.timeouts_for(budget) == expected


def test_clients_are_cached_per_timeout_pair() -> None:
    made: list[Config] = []

    def factory(config: Config) -> Any:
        made.append(config)
        return boto3.client("bedrock-runtime", region_name="us-east-1", config=config)

    runtime = _runtime(factory, FakeClock())
    runtime.warm()
    runtime.warm()
    assert len(made) == 1
    for i in range(12):
        runtime._client(1.0, float(i + 1))
    assert len(runtime._clients) == 8  # bounded


class _Transport:
    """Replaces the HTTP layer (botocore ``before-send``): every attempt times out."""

    def __init__(self, clock: FakeClock, seconds_per_attempt: float) -> None:
        self.clock = clock
        self.seconds = seconds_per_attempt
        self.attempts = 0

    def __call__(self, **_: Any) -> None:
        self.attempts += 1
        self.clock.advance(self.seconds)
        raise ReadTimeoutError(endpoint_url=ENDPOINT)


def _real_path_runtime(
    clock: FakeClock, transport: _Transport, monkeypatch: pytest.MonkeyPatch
) -> BedrockRuntime:
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda _s: None)  # no back-off waits

    def factory(config: Config) -> Any:
        client = boto3.client(
            "bedrock-runtime",
            region_name="us-east-1",
            config=config.merge(Config(signature_version=UNSIGNED)),
        )
        client.meta.events.register_last("before-send.bedrock-runtime.Converse", transport)
        return client

    return _runtime(factory, clock, read_timeout_s=20)


def test_botocore_retries_read_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    transport = _Transport(clock, seconds_per_attempt=1)
    runtime = _real_path_runtime(clock, transport, monkeypatch)
    with pytest.raises(BedrockCallFailed) as info:
        runtime.converse(PARAMS, deadline=clock() + 100)
    assert transport.attempts == 4  # botocore's max_attempts=3 in `retries` means 3 retries
    assert (info.value.kind, info.value.code) == (FailureKind.TIMEOUT, "ReadTimeoutError")


def test_a_retry_starts_with_less_time_left_than_the_read_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 14: with a 20 s read timeout and 10 s of budget, the old deadline check refused
    every retry. Now a retry starts whenever at least MIN_RETRY_S is left."""
    clock = FakeClock()
    transport = _Transport(clock, seconds_per_attempt=4)
    runtime = _real_path_runtime(clock, transport, monkeypatch)
    with pytest.raises(BedrockCallFailed) as info:
        runtime.converse(PARAMS, deadline=clock() + 10)
    # attempt 1: 0-4 s (6 s left), 2: 4-8 s (2 s left), 3: 8-12 s; no time for a 4th
    assert transport.attempts == 3
    # the real error is reported, not a refusal of ours
    assert (info.value.kind, info.value.code) == (FailureKind.TIMEOUT, "ReadTimeoutError")


def test_no_retry_without_a_real_attempt_left(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    transport = _Transport(clock, seconds_per_attempt=4)
    runtime = _real_path_runtime(clock, transport, monkeypatch)
    with pytest.raises(BedrockCallFailed):
        runtime.converse(PARAMS, deadline=clock() + 4 + MIN_RETRY_S - 0.01)
    assert transport.attempts == 1


def test_no_call_without_a_second_left() -> None:
    runtime = _runtime(lambda c: pytest.fail("no client needed"), FakeClock())
    with pytest.raises(BedrockCallFailed) as info:
        runtime.converse(PARAMS, deadline=FakeClock()() + 0.5)
    assert info.value.code == NOT_STARTED


class _BlockingClient:
    """A client whose converse blocks until released (the watchdog must not wait for it)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0
        self.meta = boto3.client("bedrock-runtime", region_name="us-east-1").meta

    def converse(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls == 1:
            self.release.wait(10)
        return converse_answer("second call")


@pytest.mark.parametrize("where", ["main thread: alarm", "another thread: watchdog"])
def test_a_call_ends_at_its_deadline_and_the_next_call_is_not_held_up(where: str) -> None:
    client = _BlockingClient()
    runtime = _runtime(lambda _c: client, time.monotonic)
    outcome: list[tuple[BaseException | None, float, Any]] = []

    def calls() -> None:
        started = time.monotonic()
        try:
            runtime.converse(PARAMS, deadline=started + 1.2)
            first: BaseException | None = None
        except BedrockCallFailed as exc:
            first = exc
        elapsed = time.monotonic() - started
        # the watchdog's first worker is still stuck: the second call gets another one
        outcome.append((first, elapsed, runtime.converse(PARAMS, deadline=time.monotonic() + 2)))

    if where.startswith("main"):
        calls()
    else:
        caller = threading.Thread(target=calls)
        caller.start()
        caller.join()
    client.release.set()
    ((first, elapsed, answer),) = outcome
    assert isinstance(first, BedrockCallFailed)
    assert (first.kind, first.code) == (FailureKind.TIMEOUT, ATTEMPT_DEADLINE)
    assert 1.15 <= elapsed < 1.6
    assert answer["output"]["message"]["content"][0]["text"] == "second call"


@pytest.mark.parametrize(
    ("code", "status", "kind", "reported"),
    [
        ("ThrottlingException", 429, FailureKind.THROTTLED, "ThrottlingException"),
        ("ServiceUnavailableException", 503, FailureKind.UNAVAILABLE, None),
        ("ModelNotReadyException", 429, FailureKind.UNAVAILABLE, None),
        ("InternalServerException", 500, FailureKind.UNAVAILABLE, None),
        ("ModelTimeoutException", 408, FailureKind.TIMEOUT, None),
        ("ValidationException", 400, FailureKind.INVALID_REQUEST, None),
        ("AccessDeniedException", 403, FailureKind.ACCESS_DENIED, None),
        ("ModelErrorException", 424, FailureKind.MODEL_ERROR, None),
        ("ResourceNotFoundException", 404, FailureKind.NOT_FOUND, None),
        # no error type: botocore reports the status as the code; the status decides
        ("502", 502, FailureKind.UNAVAILABLE, "HTTP502"),
        ("503", 503, FailureKind.UNAVAILABLE, "HTTP503"),
        ("504", 504, FailureKind.UNAVAILABLE, "HTTP504"),
        ("", 500, FailureKind.UNAVAILABLE, "HTTP500"),
        ("429", 429, FailureKind.THROTTLED, "HTTP429"),
        ("408", 408, FailureKind.TIMEOUT, "HTTP408"),
        ("418", 418, FailureKind.OTHER, "HTTP418"),
        ("SomethingNewException", 503, FailureKind.UNAVAILABLE, "SomethingNewException"),
        ("SomethingNewException", 400, FailureKind.OTHER, "SomethingNewException"),
    ],
)
def test_every_error_response_is_classified(
    code: str, status: int, kind: FailureKind, reported: str | None
) -> None:
    failure = classify_error(code, "message", status)
    assert failure.kind is kind
    assert failure.code == (reported or code)


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (EndpointConnectionError(endpoint_url=ENDPOINT), FailureKind.UNAVAILABLE),
        (ConnectionClosedError(endpoint_url=ENDPOINT), FailureKind.UNAVAILABLE),
        (ProtocolError("Connection broken: IncompleteRead"), FailureKind.UNAVAILABLE),
        (ConnectionResetError(), FailureKind.UNAVAILABLE),
        (TimeoutError(), FailureKind.TIMEOUT),
        (ParamValidationError(report="x"), FailureKind.INVALID_REQUEST),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"), FailureKind.MALFORMED),
        (TypeError("parser"), FailureKind.MALFORMED),
        (RuntimeError("?"), FailureKind.OTHER),
    ],
)
def test_every_exception_is_classified(exc: Exception, kind: FailureKind) -> None:
    assert classify_exception(exc).kind is kind


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ({}, "MalformedResponse"),  # an empty 200 body parses to {}
        ({"ResponseMetadata": {}}, "MalformedResponse"),
        ({"output": {"message": {"content": "x"}}}, "MalformedResponse"),
        ({**converse_answer(), "usage": {}}, "MalformedResponse"),
        ({**converse_answer(), "stopReason": None}, "MalformedResponse"),
        (
            {**converse_answer(), "output": {"message": {"role": "assistant", "content": []}}},
            "EmptyResponse",
        ),
        (converse_answer(""), "EmptyResponse"),
    ],
)
def test_unusable_answers_are_malformed(raw: dict[str, Any], code: str) -> None:
    with pytest.raises(BedrockCallFailed) as info:
        checked_answer(raw)
    assert (info.value.kind, info.value.code) == (FailureKind.MALFORMED, code)


@pytest.mark.parametrize("stop_reason", ["content_filtered", "guardrail_intervened"])
def test_a_filtered_answer_may_be_empty(stop_reason: str) -> None:
    """An empty answer that a filter explains is passed on: no fallback around the filter."""
    raw = converse_answer("", stop_reason=stop_reason)
    assert checked_answer(raw) is raw


def test_a_usable_answer_passes() -> None:
    raw = converse_answer("fine")
    assert checked_answer(raw) is raw
