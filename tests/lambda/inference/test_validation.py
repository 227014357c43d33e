"""Validation at the edge: every rejection is a 4xx JSON naming the field and the rule."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from . import load_event, make_event, make_harness

# TEST_CONFIG limits: 6 messages, 2000 characters, system 300, body 8192 bytes,
# 2 stop sequences of at most 10 characters; claude-haiku caps maxTokens at 2048.
U, A = "user", "assistant"


def _msgs(*roles: str, text: str = "hi") -> list[dict[str, Any]]:
    return [{"role": r, "content": text} for r in roles]


CASES: list[tuple[str, Any, int, str, str]] = [
    # (name, body, status, code, field)
    ("model missing", {"messages": _msgs(U)}, 400, "invalid_request", "model"),
    ("model not a string", {"model": 7, "messages": _msgs(U)}, 400, "invalid_request", "model"),
    ("messages missing", {"model": "claude-haiku"}, 400, "invalid_request", "messages"),
    (
        "messages empty",
        {"model": "claude-haiku", "messages": []},
        400,
        "invalid_request",
        "messages",
    ),
    (
        "messages not a list",
        {"model": "claude-haiku", "messages": {"role": U}},
        400,
        "invalid_request",
        "messages",
    ),
    (
        "unknown role",
        {"model": "claude-haiku", "messages": _msgs("system")},
        400,
        "invalid_request",
        "messages[0].role",
    ),
    (
        "starts with assistant",
        {"model": "claude-haiku", "messages": _msgs(A, U)},
        400,
        "invalid_request",
        "messages[0].role",
    ),
    (
        "roles do not alternate",
        {"model": "claude-haiku", "messages": _msgs(U, A, A)},
        400,
        "invalid_request",
        "messages[2].role",
    ),
    (
        "content neither a string nor a list",
        {"model": "claude-haiku", "messages": [{"role": U, "content": 7}]},
        400,
        "invalid_request",
        "messages[0].content",
    ),
    (
        "content an empty list",
        {"model": "claude-haiku", "messages": [{"role": U, "content": []}]},
        400,
        "invalid_request",
        "messages[0].content",
    ),
    (
        "blank content",
        {"model": "claude-haiku", "messages": _msgs(U, A, U, text=" \n ")},
        400,
        "invalid_request",
        "messages[0].content",
    ),
    (
        "extra field in a message",
        {"model": "claude-haiku", "messages": [{"role": U, "content": "x", "name": "n"}]},
        400,
        "invalid_request",
        "messages[0].name",
    ),
    (
        "extra top-level field",
        {"model": "claude-haiku", "messages": _msgs(U), "stream": True},
        400,
        "invalid_request",
        "stream",
    ),
    (
        "too many messages",
        {"model": "claude-haiku", "messages": _msgs(U, A, U, A, U, A, U)},
        400,
        "invalid_request",
        "messages",
    ),
    (
        "too many characters",
        {"model": "claude-haiku", "messages": _msgs(U, A, U, text="x" * 700)},
        400,
        "invalid_request",
        "messages",
    ),
    (
        "system too long",
        {"model": "claude-haiku", "messages": _msgs(U), "system": "s" * 301},
        400,
        "invalid_request",
        "system",
    ),
    (
        "system blank",
        {"model": "claude-haiku", "messages": _msgs(U), "system": "   "},
        400,
        "invalid_request",
        "system",
    ),
    (
        "maxTokens above the model cap",
        {"model": "claude-haiku", "messages": _msgs(U), "inferenceConfig": {"maxTokens": 2049}},
        400,
        "invalid_request",
        "inferenceConfig.maxTokens",
    ),
    (
        "maxTokens zero",
        {"model": "claude-haiku", "messages": _msgs(U), "inferenceConfig": {"maxTokens": 0}},
        400,
        "invalid_request",
        "inferenceConfig.maxTokens",
    ),
    (
        "maxTokens a boolean",
        {"model": "claude-haiku", "messages": _msgs(U), "inferenceConfig": {"maxTokens": True}},
        400,
        "invalid_request",
        "inferenceConfig.maxTokens",
    ),
    (
        "maxTokens a string",
        {"model": "claude-haiku", "messages": _msgs(U), "inferenceConfig": {"maxTokens": "10"}},
        400,
        "invalid_request",
        "inferenceConfig.maxTokens",
    ),
    (
        "temperature out of range",
        {"model": "claude-haiku", "messages": _msgs(U), "inferenceConfig": {"temperature": 1.5}},
        400,
        "invalid_request",
        "inferenceConfig.temperature",
    ),
    (
        "topP negative",
        {"model": "claude-haiku", "messages": _msgs(U), "inferenceConfig": {"topP": -0.1}},
        400,
        "invalid_request",
        "inferenceConfig.topP",
    ),
    (
        "too many stop sequences",
        {
            "model": "claude-haiku",
            "messages": _msgs(U),
            "inferenceConfig": {"stopSequences": ["a", "b", "c"]},
        },
        400,
        "invalid_request",
        "inferenceConfig.stopSequences",
    ),
    (
        "stop sequence too long",
        {
            "model": "claude-haiku",
            "messages": _msgs(U),
            "inferenceConfig": {"stopSequences": ["ok", "x" * 11]},
        },
        400,
        "invalid_request",
        "inferenceConfig.stopSequences[1]",
    ),
    (
        "empty stop sequence",
        {"model": "claude-haiku", "messages": _msgs(U), "inferenceConfig": {"stopSequences": [""]}},
        400,
        "invalid_request",
        "inferenceConfig.stopSequences[0]",
    ),
    (
        "unknown inferenceConfig key",
        {"model": "claude-haiku", "messages": _msgs(U), "inferenceConfig": {"top_k": 5}},
        400,
        "invalid_request",
        "inferenceConfig.top_k",
    ),
    (
        "unknown alias",
        {"model": "gpt-4", "messages": _msgs(U)},
        403,
        "model_not_allowed",
        "model",
    ),
    ("body is a list", [1, 2], 400, "invalid_json", "body"),
    ("body is a string", "hello", 400, "invalid_json", "body"),
    ("body is null", None, 400, "invalid_json", "body"),
]


@pytest.mark.parametrize(
    ("payload", "status", "code", "field"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_invalid_body_is_rejected_before_bedrock(
    payload: Any, status: int, code: str, field: str
) -> None:
    h = make_harness()
    reply = h.call(make_event(raw_body=json.dumps(payload)))
    h.stubber.assert_no_pending_responses()
    assert (reply.status, reply.error["code"], reply.error["field"]) == (status, code, field)
    assert set(reply.body) == {"error", "requestId"}
    assert set(reply.error) == {"code", "field", "message"}
    assert reply.error["message"]


RAW_CASES: list[tuple[str, dict[str, Any], int, str]] = [
    ("not JSON", {"raw_body": "{'model': 1}"}, 400, "invalid_json"),
    (
        "truncated JSON",
        {"raw_body": '{"model": "claude-haiku", "messages": ['},
        400,
        "invalid_json",
    ),
    ("NaN", {"raw_body": '{"model": "x", "inferenceConfig": {"topP": NaN}}'}, 400, "invalid_json"),
    ("Infinity", {"raw_body": '{"temperature": Infinity}'}, 400, "invalid_json"),
    ("deep nesting", {"raw_body": "[" * 100_000}, 413, "payload_too_large"),
    ("nesting within limits", {"raw_body": "[" * 8000 + "]" * 0}, 400, "invalid_json"),
    ("empty body", {"raw_body": ""}, 400, "invalid_json"),
    ("huge body", {"raw_body": '{"x": "' + "a" * 10_000 + '"}'}, 413, "payload_too_large"),
    ("huge multibyte body", {"raw_body": '{"x": "' + "é" * 4_100 + '"}'}, 413, "payload_too_large"),
    ("huge integer", {"raw_body": '{"model": ' + "9" * 5000 + "}"}, 400, "invalid_json"),
]


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [pytest.param(*case[1:], id=case[0]) for case in RAW_CASES],
)
def test_unparseable_body_is_rejected(kwargs: dict[str, Any], status: int, code: str) -> None:
    h = make_harness()
    reply = h.call(make_event(**kwargs))
    assert (reply.status, reply.error["code"], reply.error["field"]) == (status, code, "body")


def test_deeply_nested_json_within_the_size_limit_is_a_400() -> None:
    h = make_harness()
    reply = h.call(make_event(raw_body="[" * 4000 + "]" * 4000))
    assert reply.status == 400  # RecursionError inside json, or "not an object"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not base64!", "invalid_json"),
        (base64.b64encode(b"\xff\xfe\x00").decode(), "invalid_json"),
        (base64.b64encode(b"[1]").decode(), "invalid_json"),
        ("é" * 20, "invalid_json"),
        (base64.b64encode(b"x" * 9000).decode(), "payload_too_large"),
    ],
)
def test_bad_base64_bodies_are_rejected(raw: str, code: str) -> None:
    h = make_harness()
    event = load_event("converse_base64")
    event["body"] = raw
    reply = h.call(event)
    assert reply.error["code"] == code
    assert 400 <= reply.status < 500


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda e: e.update(body=123), id="body not a string"),
        pytest.param(lambda e: e.update(httpMethod=None), id="no method"),
        pytest.param(lambda e: e.pop("path") and e.pop("resource"), id="no path"),
        pytest.param(lambda e: e.update(requestContext="x"), id="requestContext not an object"),
        pytest.param(lambda e: e["requestContext"].update(identity=None), id="identity null"),
        pytest.param(
            lambda e: e["requestContext"]["identity"].update(userArn=42), id="userArn not a string"
        ),
        pytest.param(
            lambda e: e["requestContext"]["identity"].update(userArn=""), id="userArn empty"
        ),
        pytest.param(
            lambda e: e["requestContext"]["identity"].update(
                userArn="arn:aws:sts::123456789012:assumed-role/bedrock-lz-default-team-search"
            ),
            id="assumed-role without session",
        ),
    ],
)
def test_malformed_events_are_4xx(mutate: Any) -> None:
    h = make_harness()
    event = load_event("converse_ok")
    mutate(event)
    reply = h.call(event)
    assert 400 <= reply.status < 500


@pytest.mark.parametrize("event", [None, [], "string", 42])
def test_an_event_that_is_not_an_object_is_a_400(event: Any) -> None:
    h = make_harness()
    reply = h.call(event)
    assert (reply.status, reply.error["code"]) == (400, "invalid_event")
    assert reply.body["requestId"] == "lambda-req-1"  # from the Lambda context


def test_the_caller_is_checked_before_the_body_is_read() -> None:
    h = make_harness()
    reply = h.call(make_event(raw_body="not json", user_arn=None))
    assert reply.status == 403
