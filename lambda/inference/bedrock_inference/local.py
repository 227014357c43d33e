"""Run the inference handler locally against a stubbed Bedrock (no AWS account, no network).

    python -m bedrock_inference.local --event EVENT.json [--config CONFIG.json]
                                      [--scenario success|guardrail|fallback|throttled|...]

``main(argv)`` is what ``python -m bedrock_landing_zone invoke`` calls. It reads an API Gateway
REST proxy event, builds the runtime from ``--config`` (an ``INFERENCE_CONFIG`` document; default
:data:`SAMPLE_CONFIG`), queues canned Converse answers on a ``botocore.stub.Stubber`` according to
``--scenario``, calls ``handler.lambda_handler`` in-process and prints the log lines it wrote
(structured logs and EMF metric documents) followed by the exact response.

Exit status: 0 for a 2xx response, 1 for any other response, 2 for a usage or config error.

:func:`load_runtime`, :func:`queue_scenario` and :class:`LocalContext` are also what
``bedrock-lz serve`` (:mod:`bedrock_inference.serve`) runs the handler with.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.stub import Stubber

from bedrock_inference.models import ConfigurationError, Settings, load_settings
from bedrock_inference.telemetry import logger

SAMPLE_CONFIG: dict[str, Any] = {
    "models": {
        "claude-sonnet": {
            "model_id": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "max_output_tokens": 4096,
            "fallbacks": ["claude-haiku"],
        },
        "claude-haiku": {
            "model_id": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            "max_output_tokens": 4096,
            "fallbacks": ["nova-lite"],
        },
        "nova-lite": {"model_id": "amazon.nova-lite-v1:0", "max_output_tokens": 2048},
    },
    "teams": {
        "search": {
            "models": ["claude-haiku", "nova-lite"],
            "role_names": ["bedrock-lz-default-team-search"],
        },
        "assistant": {
            "models": ["claude-sonnet", "claude-haiku"],
            "role_names": ["bedrock-lz-default-team-assistant"],
        },
    },
    "limits": {
        "max_messages": 40,
        "max_total_chars": 100000,
        "max_system_chars": 20000,
        "max_body_bytes": 262144,
    },
    "retry": {"max_attempts": 3, "connect_timeout_s": 2, "read_timeout_s": 50},
    "breaker": {"failure_threshold": 5, "cooldown_s": 30},
    "log_content": False,
}
SAMPLE_GUARDRAIL_ID = "abcdefgh1234"
SAMPLE_GUARDRAIL_VERSION = "1"
BLOCKED_MESSAGE = "Sorry, this request is outside what the assistant may answer."

SCENARIOS = (
    "success",
    "guardrail",
    "fallback",
    "throttled",
    "timeout",
    "unavailable",
    "access-denied",
    "model-error",
    "validation",
)


class LocalContext(LambdaContext):
    """A Lambda context for local runs: fixed identity, a real countdown."""

    def __init__(self, remaining_ms: int = 30_000) -> None:
        self._function_name = "bedrock-inference-local"
        self._function_version = "$LATEST"
        self._invoked_function_arn = (
            "arn:aws:lambda:us-east-1:123456789012:function:bedrock-inference-local"
        )
        self._memory_limit_in_mb = 512
        self._aws_request_id = str(uuid.uuid4())
        self._log_group_name = "/aws/lambda/bedrock-inference-local"
        self._log_stream_name = "local"
        self._deadline = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def converse_answer(
    text: str = "Hello from the stubbed model.",
    *,
    stop_reason: str = "end_turn",
    input_tokens: int = 12,
    output_tokens: int = 8,
) -> dict[str, Any]:
    """A Converse response as bedrock-runtime returns it (valid for ``Stubber``)."""
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop_reason,
        "usage": {
            "inputTokens": input_tokens,
            "outputTokens": output_tokens,
            "totalTokens": input_tokens + output_tokens,
        },
        "metrics": {"latencyMs": 321},
    }


_ERROR_OF_SCENARIO = {
    "throttled": ("ThrottlingException", 429),
    "timeout": ("ModelTimeoutException", 408),
    "unavailable": ("ServiceUnavailableException", 503),
    "access-denied": ("AccessDeniedException", 403),
    "model-error": ("ModelErrorException", 424),
    "validation": ("ValidationException", 400),
}


def queue_scenario(stubber: Any, scenario: str, chain_length: int) -> None:
    """Queue the canned Converse outcomes of ``scenario`` for a chain of ``chain_length``."""
    if scenario == "success":
        stubber.add_response("converse", converse_answer())
    elif scenario == "guardrail":
        stubber.add_response(
            "converse", converse_answer(BLOCKED_MESSAGE, stop_reason="guardrail_intervened")
        )
    elif scenario == "fallback":
        stubber.add_client_error("converse", "ThrottlingException", "Too many requests", 429)
        stubber.add_response("converse", converse_answer("Answered by the fallback model."))
    else:
        code, status = _ERROR_OF_SCENARIO[scenario]
        repeat = chain_length if scenario in {"throttled", "timeout", "unavailable"} else 1
        for _ in range(max(1, repeat)):
            stubber.add_client_error("converse", code, f"stubbed {code}", status)


def chain_length(body: object, config: Mapping[str, Any]) -> int:
    """How many models the request ``body`` (JSON text) may try: its alias and the fallbacks."""
    try:
        alias = json.loads(body if isinstance(body, str) and body else "{}").get("model")
        models = config["models"]
        return 1 + len(models[alias].get("fallbacks", []))
    except (AttributeError, KeyError, TypeError, ValueError):
        return 1


@dataclass(frozen=True)
class LocalRuntime:
    """The inference runtime as a Lambda init would build it, from a local config."""

    settings: Settings
    config: dict[str, Any]
    """The ``INFERENCE_CONFIG`` document."""
    handler: Any
    """The ``bedrock_inference.handler`` module, imported inside the environment it reads."""


def load_runtime(config_path: Path | None) -> LocalRuntime:
    """Validate ``config_path`` (an ``INFERENCE_CONFIG`` JSON file; default
    :data:`SAMPLE_CONFIG`) and the guardrail settings of the environment (``GUARDRAIL_ID``,
    ``GUARDRAIL_VERSION``, ``AWS_REGION``; samples by default), and import the handler the way a
    Lambda init does. Raises ``OSError`` or ``ValueError`` for an unreadable file,
    :class:`ConfigurationError` for an invalid config."""
    config_text = (
        config_path.read_text(encoding="utf-8") if config_path else json.dumps(SAMPLE_CONFIG)
    )
    config_doc = json.loads(config_text)
    env = {
        "INFERENCE_CONFIG": config_text,
        "GUARDRAIL_ID": os.environ.get("GUARDRAIL_ID") or SAMPLE_GUARDRAIL_ID,
        "GUARDRAIL_VERSION": os.environ.get("GUARDRAIL_VERSION") or SAMPLE_GUARDRAIL_VERSION,
        "AWS_REGION": os.environ.get("AWS_REGION") or "us-east-1",
    }
    settings = load_settings(env)
    with _environment(env):  # importing the handler reads the environment, like a Lambda init
        from bedrock_inference import handler  # noqa: PLC0415
    return LocalRuntime(settings=settings, config=config_doc, handler=handler)


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextlib.contextmanager
def _log_stream(stream: IO[str]) -> Iterator[None]:
    """Point the Powertools logger's handler at ``stream`` while the block runs."""
    handler = logger.registered_handler
    if not isinstance(handler, logging.StreamHandler):
        yield
        return
    old = handler.setStream(stream)
    try:
        yield
    finally:
        if old is not None:
            handler.setStream(old)


def main(argv: list[str], prog: str = "invoke") -> int:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run the Bedrock inference handler in-process against a stubbed Bedrock.",
    )
    parser.add_argument("--event", required=True, type=Path, help="API Gateway REST proxy event")
    parser.add_argument("--config", type=Path, help="INFERENCE_CONFIG JSON (default: a sample)")
    parser.add_argument("--scenario", choices=SCENARIOS, default="success")
    parser.add_argument("--remaining-ms", type=int, default=30_000, help="Lambda time left")
    args = parser.parse_args(argv)

    try:
        event = json.loads(args.event.read_text(encoding="utf-8"))
        runtime = load_runtime(args.config)
    except (OSError, ValueError, ConfigurationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    handler = runtime.handler

    client = boto3.client("bedrock-runtime", region_name=runtime.settings.region)
    stubber = Stubber(client)
    body = event.get("body") if isinstance(event, dict) else None
    queue_scenario(stubber, args.scenario, chain_length(body, runtime.config))
    service = handler.build_service(runtime.settings, client_factory=lambda _config: client)

    captured = io.StringIO()
    saved_service = handler.SERVICE
    handler.SERVICE = service
    try:
        with stubber, _log_stream(captured), contextlib.redirect_stdout(captured):
            response: dict[str, Any] = handler.lambda_handler(
                event, LocalContext(args.remaining_ms)
            )
    finally:
        handler.SERVICE = saved_service

    print("== log lines ==")
    print(captured.getvalue(), end="")
    print("== response ==")
    print(json.dumps(response, indent=2, ensure_ascii=False))
    return 0 if 200 <= int(response["statusCode"]) < 300 else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
