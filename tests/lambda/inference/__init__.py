"""Shared helpers for the inference runtime tests (``from . import ...`` in the test modules).

Importing ``bedrock_inference.handler`` validates the environment, exactly like a Lambda init:
it is imported here once, inside a patched environment that is restored right after.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import botocore.session
from aws_lambda_powertools.utilities.typing import LambdaContext
from bedrock_inference.local import (
    SAMPLE_CONFIG,
    SAMPLE_GUARDRAIL_ID,
    SAMPLE_GUARDRAIL_VERSION,
    converse_answer,
)
from bedrock_inference.logic import InferenceService
from bedrock_inference.models import Settings, load_settings
from bedrock_inference.telemetry import logger
from botocore.config import Config
from botocore.stub import Stubber
from botocore.validate import ParamValidator

EVENTS = Path(__file__).parent / "events"
NAMESPACE = "BedrockLandingZone/Inference"

TEST_CONFIG: dict[str, Any] = copy.deepcopy(SAMPLE_CONFIG)
TEST_CONFIG["models"]["claude-haiku"]["max_output_tokens"] = 2048
TEST_CONFIG["breaker"] = {"failure_threshold": 2, "cooldown_s": 30}
TEST_CONFIG["limits"] = {
    "max_messages": 6,
    "max_total_chars": 2000,
    "max_system_chars": 300,
    "max_body_bytes": 8192,
    "max_stop_sequences": 2,
    "max_stop_sequence_chars": 10,
}


def env_for(config: dict[str, Any]) -> dict[str, str]:
    return {
        "INFERENCE_CONFIG": json.dumps(config),
        "GUARDRAIL_ID": SAMPLE_GUARDRAIL_ID,
        "GUARDRAIL_VERSION": SAMPLE_GUARDRAIL_VERSION,
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
    }


with mock.patch.dict("os.environ", env_for(TEST_CONFIG)):
    from bedrock_inference import handler

SEARCH_ARN = (
    "arn:aws:sts::123456789012:assumed-role/bedrock-lz-default-team-search/alice@example.com"
)
ASSISTANT_ARN = "arn:aws:sts::123456789012:assumed-role/bedrock-lz-default-team-assistant/bob"
GUARDRAIL = {
    "guardrailIdentifier": SAMPLE_GUARDRAIL_ID,
    "guardrailVersion": SAMPLE_GUARDRAIL_VERSION,
    "trace": "disabled",
}
MODEL_IDS = {alias: spec["model_id"] for alias, spec in TEST_CONFIG["models"].items()}


class FakeContext(LambdaContext):
    """A Lambda context whose remaining time is fixed."""

    def __init__(self, remaining_ms: int = 30_000, request_id: str = "lambda-req-1") -> None:
        self._function_name = "bedrock-inference"
        self._function_version = "$LATEST"
        self._invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:inference"
        self._memory_limit_in_mb = 512
        self._aws_request_id = request_id
        self._log_group_name = "/aws/lambda/inference"
        self._log_stream_name = "test"
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        return self.remaining_ms


class FakeClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def load_event(name: str = "converse_ok") -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    return event


def make_event(
    body: Any = None,
    *,
    raw_body: str | None = None,
    user_arn: str | None = SEARCH_ARN,
    method: str = "POST",
    path: str = "/v1/converse",
    base: str = "converse_ok",
) -> dict[str, Any]:
    """The shared fixture event with its body (a JSON-able value, or ``raw_body``) replaced."""
    event = load_event(base)
    if raw_body is not None:
        event["body"] = raw_body
    elif body is not None:
        event["body"] = json.dumps(body)
    event["httpMethod"] = method
    event["path"] = event["resource"] = path
    if user_arn is None:
        del event["requestContext"]["identity"]["userArn"]
    else:
        event["requestContext"]["identity"]["userArn"] = user_arn
    return event


def body(
    model: str = "claude-haiku",
    *texts: str,
    system: str | None = None,
    inference: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A valid request body; ``texts`` alternate user/assistant (default: one user message)."""
    contents = texts or ("What is a landing zone?",)
    out: dict[str, Any] = {
        "model": model,
        "messages": [
            {"role": "user" if i % 2 == 0 else "assistant", "content": text}
            for i, text in enumerate(contents)
        ],
    }
    if system is not None:
        out["system"] = system
    if inference is not None:
        out["inferenceConfig"] = inference
    return out


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def error(self) -> dict[str, Any]:
        error: dict[str, Any] = self.body["error"]
        return error


@dataclass
class Harness:
    """A runtime wired to one stubbed bedrock-runtime client and a fake clock."""

    service: InferenceService
    client: Any
    stubber: Stubber
    clock: FakeClock
    configs: list[Config] = field(default_factory=list)

    def call(self, event: Any, *, remaining_ms: int = 30_000) -> Reply:
        raw = handler.handle(event, FakeContext(remaining_ms), self.service)
        assert set(raw) == {"statusCode", "headers", "body"}
        assert raw["headers"]["Content-Type"] == "application/json"
        return Reply(raw["statusCode"], raw["headers"], json.loads(raw["body"]))

    def answer(
        self,
        text: str = "A landing zone is...",
        *,
        expected_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Stub one Converse answer (optionally checking the request Bedrock receives)."""
        self.stubber.add_response("converse", converse_answer(text, **kwargs), expected_params)

    def fail(self, code: str, status: int = 400, message: str = "stubbed") -> None:
        self.stubber.add_client_error("converse", code, message, status)


def options(config: Config) -> dict[str, Any]:
    """The botocore Config options the runtime sets (botocore-stubs do not declare them)."""
    names = ("connect_timeout", "read_timeout", "retries", "parameter_validation")
    return {name: getattr(config, name) for name in names}


@functools.cache
def _converse_input() -> Any:
    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    return model.operation_model("Converse").input_shape


def converse_param_problems(params: dict[str, Any]) -> str:
    """What botocore's own parameter validation says of Converse ``params`` ("" when nothing):
    the check the runtime's clients switch off (``make_config``), run by the tests instead."""
    report = ParamValidator().validate(params, _converse_input())
    return report.generate_report() if report.has_errors() else ""


def settings_for(config: dict[str, Any] | None = None) -> Settings:
    return load_settings(env_for(config if config is not None else TEST_CONFIG))


def make_harness(config: dict[str, Any] | None = None) -> Harness:
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    clock = FakeClock()
    configs: list[Config] = []

    def factory(config: Config) -> Any:
        configs.append(config)
        return client

    service = handler.build_service(settings_for(config), client_factory=factory, clock=clock)
    stubber = Stubber(client)
    stubber.activate()
    return Harness(service=service, client=client, stubber=stubber, clock=clock, configs=configs)


@dataclass
class Captured:
    """Everything the runtime wrote: structured log lines and EMF metric documents."""

    text: str = ""

    @property
    def documents(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.startswith("{")]

    @property
    def logs(self) -> list[dict[str, Any]]:
        return [doc for doc in self.documents if "_aws" not in doc]

    @property
    def metrics(self) -> list[dict[str, Any]]:
        return [doc for doc in self.documents if "_aws" in doc]

    def metric_values(self) -> dict[str, float]:
        """Metric name → value, over all EMF documents (a later document wins)."""
        values: dict[str, float] = {}
        for doc in self.metrics:
            for definition in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                value = doc[definition["Name"]]
                values[definition["Name"]] = value[0] if isinstance(value, list) else value
        return values


@contextlib.contextmanager
def capture() -> Iterator[Captured]:
    """Capture the Powertools log stream and stdout (EMF) while the block runs."""
    buffer = io.StringIO()
    captured = Captured()
    stream_handler = logger.registered_handler
    assert isinstance(stream_handler, logging.StreamHandler)
    old = stream_handler.setStream(buffer)
    try:
        with contextlib.redirect_stdout(buffer):
            yield captured
    finally:
        if old is not None:
            stream_handler.setStream(old)
        captured.text = buffer.getvalue()
