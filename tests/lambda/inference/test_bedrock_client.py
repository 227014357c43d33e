"""The Converse wrapper: explicit botocore config, timeout caps, deadline-aware retries."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from bedrock_inference.bedrock_client import (
    BedrockCallFailed,
    BedrockRuntime,
    FailureKind,
    make_config,
)
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ReadTimeoutError

from . import FakeClock, options

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
    }


def _runtime(factory: Any, clock: FakeClock, read_timeout_s: float = 50) -> BedrockRuntime:
    return BedrockRuntime(
        factory=factory,
        max_attempts=3,
        connect_timeout_s=2,
        read_timeout_s=read_timeout_s,
        clock=clock,
    )


@pytest.mark.parametrize(
    ("remaining", "expected"),
    [(100, (2, 50)), (50, (2, 50)), (30.7, (2, 30.0)), (1.5, (1.0, 1.0)), (1.0, (1.0, 1.0))],
)
def test_timeouts_are_capped_by_the_time_left(
    remaining: float, expected: tuple[float, float]
) -> None:
    runtime = _runtime(lambda c: None, FakeClock())
    assert runtime.timeouts_for(remaining) == expected


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


def test_a_retry_that_could_outlive_the_deadline_is_not_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    transport = _Transport(clock, seconds_per_attempt=20)  # each attempt uses its full read timeout
    runtime = _real_path_runtime(clock, transport, monkeypatch)
    with pytest.raises(BedrockCallFailed) as info:
        runtime.converse(PARAMS, deadline=clock() + 45)  # room for 2 attempts of 20 s, not 3
    assert transport.attempts == 2
    assert (info.value.kind, info.value.code) == (FailureKind.TIMEOUT, "DeadlineExceeded")


def test_no_call_without_a_second_left() -> None:
    runtime = _runtime(lambda c: pytest.fail("no client needed"), FakeClock())
    with pytest.raises(BedrockCallFailed) as info:
        runtime.converse(PARAMS, deadline=FakeClock()() + 0.5)
    assert info.value.code == "DeadlineExceeded"
