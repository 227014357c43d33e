"""Fault injection against a fake bedrock-runtime on 127.0.0.1 (``fake_bedrock.py``).

The real handler, botocore's real retries (standard mode, ``max_attempts`` 2: three tries per
model), socket timeouts and response parsing run; only the server is fake. Every scenario runs
once, all of them concurrently (each with its own server, client and breakers), so the module
costs about as long as its slowest scenario. Each request's wall time is measured against its time
budget: the Lambda's remaining time minus ``retry.deadline_margin_s``.

What the scenarios encode (sources):

- Retried by botocore's standard mode: connect and read timeouts, closed connections, HTTP 500,
  502, 503 and 504, throttling codes such as ThrottlingException (AWS SDK for Python developer
  guide, "Retries"); ``x-amz-retry-after`` (milliseconds) sets the back-off (AWS SDKs and Tools
  reference guide, "Retry behavior"; botocore ``ExponentialBackoff``).
- Converse errors and their statuses (Bedrock API reference, Converse, "Errors"):
  ThrottlingException 429, ServiceUnavailableException 503, ...; the type travels in the
  ``x-amzn-errortype`` header of a rest-json error (botocore ``RestJSONParser``).
- API Gateway's REST integration timeout is 29 s by default (API Gateway quotas; raising it is
  possible for Regional and private REST APIs since 2024-06): the ``issue-14`` scenario uses
  that budget with issue 14's settings (3 tries, 25 s read timeout).
"""

from __future__ import annotations

import copy
import json
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import boto3
import pytest
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
    AmazonCloudWatchEMFProvider,
)
from bedrock_inference import handler
from bedrock_inference.local import LocalContext
from botocore.config import Config

from . import NAMESPACE, TEST_CONFIG, body, capture, make_event, settings_for
from .fake_bedrock import (
    ENV,
    Behaviour,
    FakeBedrock,
    answer,
    drop,
    empty,
    error,
    garbage,
    garbled,
    hang,
    refused_endpoint,
    trickle,
    unaccepting_endpoint,
)

PRIMARY, FALLBACK = "fake.primary-v1", "fake.fallback-v1"
MARGIN_S = 0.5
TOLERANCE_S = 0.3
"""Scheduling slack allowed past the budget (threads wake up late on a busy machine)."""

CONFIG: dict[str, Any] = copy.deepcopy(TEST_CONFIG)
CONFIG["models"] = {
    "primary": {"model_id": PRIMARY, "max_output_tokens": 256, "fallbacks": ["fallback"]},
    "fallback": {"model_id": FALLBACK, "max_output_tokens": 256},
}
CONFIG["teams"] = {
    "search": {"models": ["primary"], "role_names": ["bedrock-lz-default-team-search"]},
}
CONFIG["retry"] = {
    "max_attempts": 2,
    "connect_timeout_s": 1,
    "read_timeout_s": 25,
    "deadline_margin_s": MARGIN_S,
}
CONFIG["breaker"] = {"failure_threshold": 50, "cooldown_s": 30}


@dataclass(frozen=True)
class Fault:
    name: str
    remaining_ms: int
    primary: list[Behaviour] = field(default_factory=list)
    fallback: list[Behaviour] = field(default_factory=lambda: [answer("from the fallback")])
    endpoint: str = "fake"  # or "unaccepting", "refused"
    status: int = 200
    answered_by: str | None = "fallback"
    code: str | None = None
    primary_calls: int | None = None

    @property
    def budget_s(self) -> float:
        return self.remaining_ms / 1000 - MARGIN_S


FAULTS = [
    Fault(
        "issue-14: 29 s budget, 503 after 2 s on the primary",
        29_000,
        [error(503, "ServiceUnavailableException", after_s=2)],
        primary_calls=3,  # botocore's retries are no longer refused: 3 tries, then the fallback
    ),
    Fault(
        "503 after 2 s, fallback healthy",
        6000,
        [error(503, "ServiceUnavailableException", after_s=2)],
    ),
    Fault(
        "503 after 1 s retried within the share, fallback healthy",
        6000,
        [error(503, "ServiceUnavailableException", after_s=1)],
        primary_calls=2,
    ),
    Fault("hang, fallback healthy", 5000, [hang()]),
    Fault(
        "hang everywhere",
        4000,
        [hang()],
        [hang()],
        status=504,
        answered_by=None,
        code="model_timeout",
    ),
    Fault("trickle (a chunk every 2 s), fallback healthy", 6000, [trickle(2.0)]),
    Fault(
        "trickle everywhere",
        5000,
        [trickle(2.0)],
        [trickle(2.0)],
        status=504,
        answered_by=None,
        code="model_timeout",
    ),
    Fault(
        "429 with x-amz-retry-after 3000 ms, fallback healthy",
        6000,
        [error(429, "ThrottlingException", headers={"x-amz-retry-after": "3000"})],
        primary_calls=1,  # the service asks for a longer wait than the share has: fall back now
    ),
    Fault(
        "429 with x-amz-retry-after 300 ms everywhere",
        5000,
        [error(429, "ThrottlingException", headers={"x-amz-retry-after": "300"})],
        [error(429, "ThrottlingException", headers={"x-amz-retry-after": "300"})],
        status=429,
        answered_by=None,
        code="throttled",
    ),
    Fault("garbled 200 body, fallback healthy", 4000, [garbled()]),
    Fault(
        "garbled 200 body everywhere",
        4000,
        [garbled()],
        [garbled()],
        status=502,
        answered_by=None,
        code="model_error",
    ),
    Fault(
        "binary 200 body everywhere",
        4000,
        [garbage()],
        [garbage()],
        status=502,
        answered_by=None,
        code="model_error",
    ),
    Fault(
        "empty 200 body everywhere",
        4000,
        [empty()],
        [empty()],
        status=502,
        answered_by=None,
        code="model_error",
    ),
    Fault("plain 502 without error type, fallback healthy", 4000, [error(502)]),
    Fault(
        "plain 503 (HTML) everywhere",
        4000,
        [error(503, body=b"<html>busy</html>")],
        [error(503, body=b"<html>busy</html>")],
        status=502,
        answered_by=None,
        code="model_error",
    ),
    Fault(
        "plain 504 everywhere",
        4000,
        [error(504)],
        [error(504)],
        status=502,
        answered_by=None,
        code="model_error",
    ),
    Fault(
        "connection closed without an answer everywhere",
        4000,
        [drop()],
        [drop()],
        status=502,
        answered_by=None,
        code="model_error",
    ),
    Fault(
        "slow connect (accept queue full)",
        4000,
        endpoint="unaccepting",
        status=504,
        answered_by=None,
        code="model_timeout",
    ),
    Fault(
        "connection refused",
        4000,
        endpoint="refused",
        status=502,
        answered_by=None,
        code="model_error",
    ),
    Fault(
        "slow but healthy primary (answers after 1.5 s)",
        5000,
        [answer("from the primary", after_s=1.5)],
        answered_by="primary",
    ),
]


@dataclass
class Outcome:
    fault: Fault
    status: int
    body: dict[str, Any]
    elapsed_s: float
    primary_calls: int | None


_SESSION_LOCK = threading.Lock()


def _service(session: boto3.session.Session, url: str) -> Any:
    def factory(config: Config) -> Any:
        with _SESSION_LOCK:  # a boto3 session is not thread-safe; its clients are
            return session.client(
                "bedrock-runtime", region_name="us-east-1", endpoint_url=url, config=config
            )

    service = handler.build_service(settings_for(CONFIG), client_factory=factory)
    # Powertools' Metrics objects share one metric set per process: give each concurrent request
    # its own provider, as each Lambda execution environment has its own process.
    service.telemetry.metrics = Metrics(
        namespace=NAMESPACE,
        service="",
        provider=AmazonCloudWatchEMFProvider(namespace=NAMESPACE, service=""),
    )
    return service


def _run(fault: Fault, stack: ExitStack, session: boto3.session.Session) -> Any:
    fake: FakeBedrock | None = None
    if fault.endpoint == "unaccepting":
        url = stack.enter_context(unaccepting_endpoint())
    elif fault.endpoint == "refused":
        url = refused_endpoint()
    else:
        fake = stack.enter_context(FakeBedrock({PRIMARY: fault.primary, FALLBACK: fault.fallback}))
        url = fake.url
    service = _service(session, url)

    def call() -> Outcome:
        context = LocalContext(fault.remaining_ms)
        started = time.monotonic()
        raw = handler.handle(make_event(body("primary")), context, service)
        elapsed = time.monotonic() - started
        calls = fake.calls_for(PRIMARY) if fake is not None else None
        return Outcome(fault, raw["statusCode"], json.loads(raw["body"]), elapsed, calls)

    return call


@pytest.fixture(scope="module")
def outcomes() -> Iterator[tuple[dict[str, Outcome], str]]:
    with mock.patch.dict(os.environ, ENV), ExitStack() as stack:
        session = boto3.session.Session()
        # One request first, untimed: what a request path imports on its first use (botocore's
        # parsers and retry handlers, the handler's deferred validator) is loaded, and compiled
        # when this process is the first to import it, before any budget runs; otherwise the
        # concurrent scenarios' first requests pay for it under the GIL, and a primary that
        # answers in 1.5 s of a 4.5 s budget could lose its attempt to that.
        warm_up = _run(
            Fault("warm-up", 5000, [answer("warm")], answered_by="primary"), stack, session
        )
        with capture():
            assert warm_up().status == 200
        calls = [_run(fault, stack, session) for fault in FAULTS]
        with capture() as out, ThreadPoolExecutor(max_workers=len(calls)) as pool:
            results = list(pool.map(lambda c: c(), calls))
        yield {r.fault.name: r for r in results}, out.text


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_no_request_outlives_its_budget_and_the_fallback_answers_when_it_can(
    fault: Fault, outcomes: tuple[dict[str, Outcome], str]
) -> None:
    outcome = outcomes[0][fault.name]
    assert outcome.elapsed_s <= fault.budget_s + TOLERANCE_S, outcome
    assert outcome.status == fault.status, outcome.body
    if fault.answered_by is not None:
        assert outcome.body["model"]["alias"] == fault.answered_by
        assert outcome.body["message"]["content"]
    else:
        assert outcome.body["error"]["code"] == fault.code
    if fault.primary_calls is not None:
        assert outcome.primary_calls == fault.primary_calls


def test_a_502_names_the_model(outcomes: tuple[dict[str, Outcome], str]) -> None:
    for name in (
        "garbled 200 body everywhere",
        "empty 200 body everywhere",
        "plain 504 everywhere",
    ):
        message = outcomes[0][name].body["error"]["message"]
        assert "'fallback'" in message, message


def test_faults_leave_no_traceback_in_the_logs(outcomes: tuple[dict[str, Outcome], str]) -> None:
    text = outcomes[1]
    assert "converse request finished" in text
    assert "Traceback" not in text
    assert '"level":"ERROR"' not in text


def test_report(outcomes: tuple[dict[str, Outcome], str]) -> None:
    """Printed with ``pytest -s``: elapsed time against budget per fault."""
    lines = [f"{'fault':58} {'budget':>7} {'elapsed':>8}  outcome"]
    for fault in FAULTS:
        o = outcomes[0][fault.name]
        what = o.body.get("model", {}).get("alias") or o.body.get("error", {}).get("code")
        lines.append(
            f"{fault.name:58} {fault.budget_s:6.2f}s {o.elapsed_s:7.2f}s  {o.status} {what}"
        )
    print("\n" + "\n".join(lines))
