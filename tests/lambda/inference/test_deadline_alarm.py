"""The deadline of a call made on the main thread (``bedrock_client._Alarm``), against a fake
bedrock-runtime on 127.0.0.1 with real botocore, urllib3 and sockets.

Lambda's Python runtime calls the handler on the main thread (the runtime interface client's
``bootstrap.run`` loop), so there a call runs on the caller's thread under a one-shot
``ITIMER_REAL`` timer; elsewhere it runs on a worker thread (``test_faults.py`` runs its scenarios
on a thread pool: the watchdog). Python's docs ("signal"): handlers run in the main thread only,
and a blocking call interrupted by a signal whose handler raises fails with that exception
(PEP 475); ``threading.Lock.acquire`` can be interrupted by signals on POSIX.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import boto3
import pytest
from bedrock_inference import bedrock_client
from bedrock_inference.bedrock_client import (
    ATTEMPT_DEADLINE,
    BedrockCallFailed,
    BedrockRuntime,
    FailureKind,
)
from botocore.config import Config

from .fake_bedrock import ENV, FakeBedrock, answer, error, hang, trickle, unaccepting_endpoint

MODEL = "fake.model-v1"
PARAMS = {"modelId": MODEL, "messages": [{"role": "user", "content": [{"text": "hi"}]}]}
SLACK_S = 0.5
"""How late a call may end after its deadline (the interpreter, a busy machine)."""

pytestmark = pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="POSIX only")


@pytest.fixture(autouse=True)
def _credentials() -> Iterator[None]:
    with mock.patch.dict(os.environ, ENV):
        yield


@pytest.fixture(autouse=True)
def _no_timer_left() -> Iterator[None]:
    """Every test leaves SIGALRM's timer off, whatever happened."""
    yield
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def _runtime(url: str, *, max_attempts: int = 2) -> BedrockRuntime:
    session = boto3.session.Session()

    def factory(config: Config) -> Any:
        return session.client(
            "bedrock-runtime", region_name="us-east-1", endpoint_url=url, config=config
        )

    return BedrockRuntime(
        factory=factory, max_attempts=max_attempts, connect_timeout_s=1, read_timeout_s=25
    )


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    try:
        return call(), time.monotonic() - started
    except BedrockCallFailed as exc:
        return exc, time.monotonic() - started


def _no_worker_thread_used(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_fn: Any) -> Any:
        raise AssertionError("a call on the main thread went to a worker thread")

    monkeypatch.setattr(bedrock_client._RUNNER, "submit", refuse)


@pytest.mark.parametrize(
    ("behaviour", "what"),
    [
        (trickle(0.3), "a body trickled 8 bytes every 0.3 s: each read is quick, the whole is not"),
        (hang(), "headers never come"),
    ],
)
def test_the_alarm_ends_a_blocked_read_at_the_deadline_and_the_next_call_works(
    behaviour: Any, what: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_worker_thread_used(monkeypatch)
    with FakeBedrock({MODEL: [behaviour, answer("next")]}) as fake:
        runtime = _runtime(fake.url)
        failed, elapsed = _timed(lambda: runtime.converse(PARAMS, deadline=time.monotonic() + 1.2))
        assert isinstance(failed, BedrockCallFailed), what
        assert (failed.kind, failed.code) == (FailureKind.TIMEOUT, ATTEMPT_DEADLINE)
        assert 1.2 <= elapsed < 1.2 + SLACK_S
        answered, elapsed = _timed(lambda: runtime.converse(PARAMS, deadline=time.monotonic() + 5))
        assert answered["output"]["message"]["content"][0]["text"] == "next"
        assert elapsed < 1
    assert fake.calls_for(MODEL) == 2  # the cut call made no further attempt


def test_the_alarm_ends_a_connect_that_hangs(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_worker_thread_used(monkeypatch)
    with unaccepting_endpoint() as url:
        runtime = BedrockRuntime(
            factory=lambda config: boto3.client(
                "bedrock-runtime", region_name="us-east-1", endpoint_url=url, config=config
            ),
            max_attempts=0,
            connect_timeout_s=30,  # the socket's own timeout would be far later
            read_timeout_s=30,
        )
        failed, elapsed = _timed(lambda: runtime.converse(PARAMS, deadline=time.monotonic() + 1.1))
    assert isinstance(failed, BedrockCallFailed)
    assert (failed.kind, failed.code) == (FailureKind.TIMEOUT, ATTEMPT_DEADLINE)
    assert 1.1 <= elapsed < 1.1 + SLACK_S


def test_cut_during_a_back_off_the_last_attempts_error_stands(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 503 asks for a 3 s wait (``x-amz-retry-after``, which botocore honours) and the call
    has 1.2 s: with ``MIN_RETRY_S`` lowered so far that the retry rule lets any such wait start
    (however long the first attempt took on a busy machine), the deadline comes during
    botocore's back-off sleep."""
    _no_worker_thread_used(monkeypatch)
    monkeypatch.setattr(bedrock_client, "MIN_RETRY_S", -10.0)
    unavailable = error(503, "ServiceUnavailableException", headers={"x-amz-retry-after": "3000"})
    with FakeBedrock({MODEL: [unavailable, answer("too late")]}) as fake:
        runtime = _runtime(fake.url)
        failed, elapsed = _timed(lambda: runtime.converse(PARAMS, deadline=time.monotonic() + 1.2))
    assert isinstance(failed, BedrockCallFailed)
    assert (failed.kind, failed.code) == (FailureKind.UNAVAILABLE, "ServiceUnavailableException")
    assert 1.2 <= elapsed < 1.2 + SLACK_S
    assert fake.calls_for(MODEL) == 1


def test_an_answer_in_time_leaves_no_timer_and_a_late_signal_is_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _no_worker_thread_used(monkeypatch)
    with FakeBedrock({MODEL: [answer("in time")]}) as fake:
        runtime = _runtime(fake.url)
        answered = runtime.converse(PARAMS, deadline=time.monotonic() + 5)
    assert answered["output"]["message"]["content"][0]["text"] == "in time"
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    os.kill(os.getpid(), signal.SIGALRM)  # a stray SIGALRM while no call is armed
    time.sleep(0.01)  # the handler runs here, and must not raise


def test_the_watchdog_takes_over_where_the_alarm_cannot_be_used() -> None:
    alarm = bedrock_client._ALARM
    assert alarm.available()  # the main thread, SIGALRM free
    seen: list[bool] = []
    worker = threading.Thread(target=lambda: seen.append(alarm.available()))
    worker.start()
    worker.join()
    assert seen == [False]  # Python runs signal handlers on the main thread only

    signal.setitimer(signal.ITIMER_REAL, 60)  # a timer someone else set (a test timeout...)
    try:
        assert not alarm.available()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)

    previous = signal.signal(signal.SIGALRM, lambda *_: None)  # someone else's handler
    try:
        assert not alarm.available()
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert alarm.available()


def test_off_the_main_thread_the_watchdog_bounds_the_call() -> None:
    with FakeBedrock({MODEL: [trickle(0.3)]}) as fake:
        runtime = _runtime(fake.url)
        results: list[tuple[Any, float]] = []
        caller = threading.Thread(
            target=lambda: results.append(
                _timed(lambda: runtime.converse(PARAMS, deadline=time.monotonic() + 1.2))
            )
        )
        caller.start()
        caller.join()
    ((failed, elapsed),) = results
    assert isinstance(failed, BedrockCallFailed)
    assert (failed.kind, failed.code) == (FailureKind.TIMEOUT, ATTEMPT_DEADLINE)
    assert 1.2 <= elapsed < 1.2 + SLACK_S
