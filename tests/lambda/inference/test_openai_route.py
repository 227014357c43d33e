"""The OpenAI-compatible routes: POST /v1/chat/completions and GET /v1/models.

Unit tests of the translation (request, answer, errors), then the property that matters most:
the chat route is the same governed Converse call as POST /v1/converse (guardrail, team metadata,
caps, fallbacks), and hostile bodies only ever get a 4xx in OpenAI's error shape.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema  # type: ignore[import-untyped,unused-ignore]  # no stubs pinned
import openai
import pytest
from bedrock_inference import handler, openai_compat
from bedrock_inference.errors import RequestInvalid, UnknownParameter, UnsupportedParameter
from bedrock_inference.models import is_blank
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import (
    ASSISTANT_ARN,
    GUARDRAIL,
    MODEL_IDS,
    SEARCH_ARN,
    TEST_CONFIG,
    FakeContext,
    body,
    capture,
    converse_param_problems,
    make_event,
    make_harness,
)
from .media_samples import b64, gif, jpeg, png
from .test_properties import INVISIBLE, CountingClient, _service, json_values

CHAT = "/v1/chat/completions"
MODELS = "/v1/models"
REQUEST_ID = "6c1f8a9e-1d2b-4c3d-9e8f-0a1b2c3d4e5f"  # requestContext.requestId of the fixture
ALLOWED = ["claude-haiku", "nova-lite"]  # team "search"
CAPS = {alias: TEST_CONFIG["models"][alias]["max_output_tokens"] for alias in ALLOWED}
LIMITS = TEST_CONFIG["limits"]
ERROR_TYPES = {"invalid_request_error", "permission_error", "rate_limit_error", "server_error"}
CHAT_SCHEMA = jsonschema.Draft4Validator(openai_compat.chat_request_json_schema())


def chat(model: str = "claude-haiku", *messages: dict[str, Any], **params: Any) -> dict[str, Any]:
    """A chat-completions body (default: one user message)."""
    return {
        "model": model,
        "messages": list(messages) or [{"role": "user", "content": "What is a landing zone?"}],
        **params,
    }


def data_url(raw: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{b64(raw)}"


def models_event(user_arn: str | None = SEARCH_ARN, method: str = "GET") -> dict[str, Any]:
    event = make_event(path=MODELS, method=method, user_arn=user_arn)
    event["body"] = None
    return event


def openai_error(reply: Any) -> dict[str, Any]:
    """The OpenAI error object of a reply, after checking the shape."""
    assert set(reply.body) == {"error"}, reply.body
    error: dict[str, Any] = reply.body["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str) and error["message"]
    assert error["type"] in ERROR_TYPES
    assert reply.headers["x-request-id"] == REQUEST_ID
    return error


# --- request translation --------------------------------------------------------------------------
def test_system_and_developer_messages_become_the_system_prompt() -> None:
    translated = openai_compat.translate(
        chat(
            "claude-haiku",
            {"role": "system", "content": "Be terse."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": [{"type": "text", "text": "Bonjour"}]},
            {"role": "user", "content": "Why?"},
        )
    )
    assert translated.body == {
        "model": "claude-haiku",
        "system": "Be terse.\n\nAnswer in French.",
        "messages": [
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": [{"text": "Bonjour"}]},
            {"role": "user", "content": "Why?"},
        ],
    }
    assert translated.message_index == (2, 3, 4)


def test_parameters_map_onto_the_inference_config() -> None:
    translated = openai_compat.translate(
        chat(
            max_completion_tokens=100,
            temperature=0.5,
            top_p=0.9,
            stop="END",
            stream=False,
            n=1,
            presence_penalty=0,
            frequency_penalty=0.0,
            logprobs=False,
            store=False,
            user="alice",
            safety_identifier=None,
            tools=None,
        )
    )
    assert translated.body["inferenceConfig"] == {
        "maxTokens": 100,
        "temperature": 0.5,
        "topP": 0.9,
        "stopSequences": ["END"],
    }
    assert openai_compat.translate(chat(max_tokens=7, stop=["a", "b"])).body["inferenceConfig"] == {
        "maxTokens": 7,
        "stopSequences": ["a", "b"],
    }
    assert "inferenceConfig" not in openai_compat.translate(chat()).body


@pytest.mark.parametrize(
    ("media_type", "raw", "fmt"),
    [
        ("image/png", png(2, 3), "png"),
        ("image/jpeg", jpeg(), "jpeg"),
        ("image/jpg", jpeg(), "jpeg"),
        ("IMAGE/GIF", gif(), "gif"),
        ("image/webp", b"RIFF", "webp"),
    ],
)
def test_image_data_urls_become_image_blocks(media_type: str, raw: bytes, fmt: str) -> None:
    part = {"type": "image_url", "image_url": {"url": data_url(raw, media_type), "detail": "auto"}}
    translated = openai_compat.translate(
        chat("nova-lite", {"role": "user", "content": [{"type": "text", "text": "see"}, part]})
    )
    assert translated.body["messages"][0]["content"][1] == {
        "image": {"format": fmt, "source": {"bytes": b64(raw)}}
    }


def _user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


REFUSED: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("stream", chat(stream=True), UnsupportedParameter, "stream"),
    ("n", chat(n=2), UnsupportedParameter, "n"),
    ("n as float", chat(n=1.0), UnsupportedParameter, "n"),
    ("logprobs", chat(logprobs=True), UnsupportedParameter, "logprobs"),
    ("penalty", chat(presence_penalty=0.5), UnsupportedParameter, "presence_penalty"),
    ("store", chat(store=True), UnsupportedParameter, "store"),
    ("tools", chat(tools=[{"type": "function"}]), UnsupportedParameter, "tools"),
    (
        "format",
        chat(response_format={"type": "json_object"}),
        UnsupportedParameter,
        "response_format",
    ),
    ("seed", chat(seed=1), UnsupportedParameter, "seed"),
    ("unknown", chat(temprature=0.1), UnknownParameter, "temprature"),
    ("unknown null", chat(foo=None), UnknownParameter, "foo"),
    ("user type", chat(user=5), RequestInvalid, "user"),
    ("no model", {"messages": [_user("hi")]}, RequestInvalid, "model"),
    ("no messages", {"model": "nova-lite"}, RequestInvalid, "messages"),
    ("empty messages", chat(messages=[]), RequestInvalid, "messages"),
    ("messages type", {"model": "nova-lite", "messages": "hi"}, RequestInvalid, "messages"),
    ("message type", chat("nova-lite", "hi"), RequestInvalid, "messages[0]"),  # type: ignore[arg-type]
    (
        "tool role",
        chat("nova-lite", {"role": "tool", "content": "x"}),
        UnsupportedParameter,
        "messages[0].role",
    ),
    (
        "bad role",
        chat("nova-lite", {"role": "robot", "content": "x"}),
        RequestInvalid,
        "messages[0].role",
    ),
    (
        "role type",
        chat("nova-lite", {"role": ["user"], "content": "x"}),
        RequestInvalid,
        "messages[0].role",
    ),
    ("no role", chat("nova-lite", {"content": "x"}), RequestInvalid, "messages[0].role"),
    (
        "name",
        chat("nova-lite", {"role": "user", "content": "x", "name": "bob"}),
        UnsupportedParameter,
        "messages[0].name",
    ),
    (
        "tool calls",
        chat("nova-lite", _user("x"), {"role": "assistant", "content": "y", "tool_calls": []}),
        UnsupportedParameter,
        "messages[1].tool_calls",
    ),
    (
        "message key",
        chat("nova-lite", {"role": "user", "content": "x", "mood": 1}),
        UnknownParameter,
        "messages[0].mood",
    ),
    (
        "late system",
        chat("nova-lite", _user("x"), {"role": "system", "content": "s"}),
        RequestInvalid,
        "messages[1].role",
    ),
    (
        "only system",
        chat("nova-lite", {"role": "system", "content": "s"}),
        RequestInvalid,
        "messages",
    ),
    ("no content", chat("nova-lite", {"role": "user"}), RequestInvalid, "messages[0].content"),
    (
        "null content",
        chat("nova-lite", {"role": "user", "content": None}),
        RequestInvalid,
        "messages[0].content",
    ),
    (
        "system image",
        chat(
            "nova-lite",
            {
                "role": "system",
                "content": [{"type": "image_url", "image_url": {"url": data_url(png())}}],
            },
            _user("x"),
        ),
        RequestInvalid,
        "messages[0].content[0].type",
    ),
    (
        "system text type",
        chat("nova-lite", {"role": "system", "content": [{"type": "text", "text": 3}]}, _user("x")),
        RequestInvalid,
        "messages[0].content[0].text",
    ),
    (
        "system content",
        chat("nova-lite", {"role": "system", "content": 3}, _user("x")),
        RequestInvalid,
        "messages[0].content",
    ),
    ("part type", chat("nova-lite", _user(["hi"])), RequestInvalid, "messages[0].content[0]"),
    (
        "part kind",
        chat("nova-lite", _user([{"type": "video"}])),
        RequestInvalid,
        "messages[0].content[0].type",
    ),
    (
        "file part",
        chat("nova-lite", _user([{"type": "file", "file": {}}])),
        UnsupportedParameter,
        "messages[0].content[0].type",
    ),
    (
        "audio part",
        chat("nova-lite", _user([{"type": "input_audio"}])),
        UnsupportedParameter,
        "messages[0].content[0].type",
    ),
    (
        "part key",
        chat("nova-lite", _user([{"type": "text", "text": "x", "x": 1}])),
        UnknownParameter,
        "messages[0].content[0].x",
    ),
    (
        "cache",
        chat(
            "nova-lite",
            _user([{"type": "text", "text": "x", "prompt_cache_breakpoint": {"mode": "explicit"}}]),
        ),
        UnsupportedParameter,
        "messages[0].content[0].prompt_cache_breakpoint",
    ),
    (
        "no text",
        chat("nova-lite", _user([{"type": "text"}])),
        RequestInvalid,
        "messages[0].content[0].text",
    ),
    (
        "https image",
        chat(
            "nova-lite",
            _user([{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]),
        ),
        UnsupportedParameter,
        "messages[0].content[0].image_url.url",
    ),
    (
        "not base64",
        chat(
            "nova-lite", _user([{"type": "image_url", "image_url": {"url": "data:image/png,abc"}}])
        ),
        RequestInvalid,
        "messages[0].content[0].image_url.url",
    ),
    (
        "svg",
        chat(
            "nova-lite",
            _user(
                [{"type": "image_url", "image_url": {"url": "data:image/svg+xml;base64,PHN2Zz4="}}]
            ),
        ),
        RequestInvalid,
        "messages[0].content[0].image_url.url",
    ),
    (
        "detail",
        chat(
            "nova-lite",
            _user([{"type": "image_url", "image_url": {"url": data_url(png()), "detail": "high"}}]),
        ),
        UnsupportedParameter,
        "messages[0].content[0].image_url.detail",
    ),
    (
        "image_url key",
        chat(
            "nova-lite",
            _user([{"type": "image_url", "image_url": {"url": data_url(png()), "x": 1}}]),
        ),
        UnknownParameter,
        "messages[0].content[0].image_url.x",
    ),
    (
        "image_url type",
        chat(
            "nova-lite", _user([{"type": "image_url", "image_url": "data:image/png;base64,AA=="}])
        ),
        RequestInvalid,
        "messages[0].content[0].image_url",
    ),
    ("both caps", chat(max_tokens=1, max_completion_tokens=1), RequestInvalid, "max_tokens"),
    ("hot", chat(temperature=1.5), RequestInvalid, "temperature"),
]


@pytest.mark.parametrize(
    ("payload", "error", "param"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
def test_what_cannot_be_carried_over_is_refused_naming_the_field(
    payload: dict[str, Any], error: type[Exception], param: str
) -> None:
    with pytest.raises(error) as raised:
        openai_compat.translate(payload)
    assert type(raised.value) is error
    assert raised.value.field == param  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("model_id", "owner"),
    [
        ("us.anthropic.claude-haiku-4-5-20251001-v1:0", "anthropic"),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic"),
        ("amazon.nova-lite-v1:0", "amazon"),
        ("eu.meta.llama3-2-3b-instruct-v1:0", "meta"),
        ("arn:aws:bedrock:us-east-1::foundation-model/mistral.mistral-large-2402-v1:0", "mistral"),
        ("arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/a1b2c3", "bedrock"),
    ],
)
def test_models_are_owned_by_their_provider(model_id: str, owner: str) -> None:
    assert openai_compat.provider(model_id) == owner


# --- the same governed Converse call --------------------------------------------------------------
def test_the_chat_route_makes_the_same_converse_call_as_the_converse_route() -> None:
    """Guardrail, team metadata, cap and system prompt: exactly what /v1/converse sends."""
    expected = {
        "modelId": MODEL_IDS["claude-haiku"],
        "messages": [
            {"role": "user", "content": [{"text": "Hi"}]},
            {"role": "assistant", "content": [{"text": "Hello"}]},
            {"role": "user", "content": [{"text": "What is a landing zone?"}]},
        ],
        "system": [{"text": "You answer in one sentence."}],
        "inferenceConfig": {"maxTokens": 512, "temperature": 0.2, "stopSequences": ["END"]},
        "guardrailConfig": GUARDRAIL,
        "requestMetadata": {"team": "search", "caller": SEARCH_ARN, "requestId": REQUEST_ID},
    }
    converse = make_harness()
    converse.answer(expected_params=expected)
    reply = converse.call(
        make_event(
            body(
                "claude-haiku",
                "Hi",
                "Hello",
                "What is a landing zone?",
                system="You answer in one sentence.",
                inference={"maxTokens": 512, "temperature": 0.2, "stopSequences": ["END"]},
            )
        )
    )
    assert reply.status == 200
    openai_route = make_harness()
    openai_route.answer(expected_params=expected)
    reply = openai_route.call(
        make_event(
            chat(
                "claude-haiku",
                {"role": "system", "content": "You answer in one sentence."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello"},
                {"role": "user", "content": [{"type": "text", "text": "What is a landing zone?"}]},
                max_tokens=512,
                temperature=0.2,
                stop="END",
            ),
            path=CHAT,
        )
    )
    assert reply.status == 200, reply.body
    openai_route.stubber.assert_no_pending_responses()


def test_without_a_cap_the_alias_cap_is_sent() -> None:
    h = make_harness()
    h.answer(
        expected_params={
            "modelId": MODEL_IDS["nova-lite"],
            "messages": [{"role": "user", "content": [{"text": "What is a landing zone?"}]}],
            "inferenceConfig": {"maxTokens": CAPS["nova-lite"]},
            "guardrailConfig": GUARDRAIL,
            "requestMetadata": {"team": "search", "caller": SEARCH_ARN, "requestId": REQUEST_ID},
        }
    )
    assert h.call(make_event(chat("nova-lite"), path=CHAT)).status == 200


def test_an_image_reaches_bedrock_decoded() -> None:
    h = make_harness()
    raw = png(4, 5)
    h.answer(
        expected_params={
            "modelId": MODEL_IDS["nova-lite"],
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"text": "What is this?"},
                        {"image": {"format": "png", "source": {"bytes": raw}}},
                    ],
                }
            ],
            "inferenceConfig": {"maxTokens": CAPS["nova-lite"]},
            "guardrailConfig": GUARDRAIL,
            "requestMetadata": {"team": "search", "caller": SEARCH_ARN, "requestId": REQUEST_ID},
        }
    )
    content = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": data_url(raw)}},
    ]
    assert h.call(make_event(chat("nova-lite", _user(content)), path=CHAT)).status == 200


# --- the answer -----------------------------------------------------------------------------------
def test_the_answer_is_an_openai_chat_completion() -> None:
    h = make_harness()
    h.answer("A landing zone is...", input_tokens=21, output_tokens=7)
    reply = h.call(make_event(chat(max_completion_tokens=64), path=CHAT))
    assert reply.status == 200
    assert reply.headers["x-request-id"] == REQUEST_ID
    completion = openai.types.chat.ChatCompletion.model_validate(reply.body)  # the SDK's model
    assert completion.id == f"chatcmpl-{REQUEST_ID}"
    assert completion.object == "chat.completion"
    assert completion.model == "claude-haiku"
    (choice,) = completion.choices
    assert (choice.index, choice.finish_reason) == (0, "stop")
    assert choice.message.role == "assistant"
    assert choice.message.content == "A landing zone is..."
    assert completion.usage is not None
    assert (
        completion.usage.prompt_tokens,
        completion.usage.completion_tokens,
        completion.usage.total_tokens,
    ) == (21, 7, 28)
    assert reply.body["bedrock"] == {
        "requestId": REQUEST_ID,
        "requestedModel": "claude-haiku",
        "modelId": MODEL_IDS["claude-haiku"],
        "stopReason": "end_turn",
        "guardrail": {"intervened": False, "action": "NONE"},
        "fallbacksUsed": 0,
        "latencyMs": 0,
    }


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("guardrail_intervened", "content_filter"),
        ("content_filtered", "content_filter"),
        ("tool_use", "stop"),
    ],
)
def test_finish_reason_follows_the_stop_reason(stop_reason: str, finish_reason: str) -> None:
    h = make_harness()
    h.answer("Blocked." if "filter" in finish_reason else "text", stop_reason=stop_reason)
    reply = h.call(make_event(chat(), path=CHAT))
    assert reply.status == 200
    assert reply.body["choices"][0]["finish_reason"] == finish_reason
    intervened = stop_reason == "guardrail_intervened"
    assert reply.body["bedrock"]["guardrail"]["intervened"] is intervened


def test_a_fallback_answer_names_the_alias_that_answered() -> None:
    h = make_harness()
    h.fail("ThrottlingException", 429)
    h.answer("from nova")
    reply = h.call(make_event(chat("claude-haiku"), path=CHAT))
    assert reply.status == 200
    assert reply.body["model"] == "nova-lite"
    assert reply.body["bedrock"]["requestedModel"] == "claude-haiku"
    assert reply.body["bedrock"]["fallbacksUsed"] == 1


# --- errors in OpenAI's shape, named in OpenAI's terms --------------------------------------------
CONVERSE_RULES: list[tuple[str, dict[str, Any], str, str]] = [
    ("cap", chat(max_tokens=CAPS["claude-haiku"] + 1), "max_tokens", "max_tokens must be at most"),
    (
        "cap, new name",
        chat(max_completion_tokens=10**6),
        "max_completion_tokens",
        "max_completion_tokens must be at most",
    ),
    ("zero cap", chat(max_tokens=0), "max_tokens", "greater than or equal to 1"),
    ("cap type", chat(max_tokens="9"), "max_tokens", "integer"),
    ("cold", chat(temperature=-0.1), "temperature", "greater than or equal to 0"),
    ("top_p", chat(top_p=2), "top_p", "less than or equal to 1"),
    ("stop item", chat(stop=["ok", ""]), "stop[1]", "at least 1 character"),
    ("stop length", chat(stop="x" * (LIMITS["max_stop_sequence_chars"] + 1)), "stop", "at most"),
    ("stops", chat(stop=["a", "b", "c"]), "stop", "stop sequences"),
    ("stop type", chat(stop=5), "stop", "array"),
    ("model type", {**chat(), "model": ["claude-haiku"]}, "model", "string"),
    (
        "alternation",
        chat("nova-lite", {"role": "system", "content": "s"}, _user("a"), _user("b")),
        "messages[2].role",
        "alternate",
    ),
    (
        "first role",
        chat("nova-lite", {"role": "assistant", "content": "a"}),
        "messages[0].role",
        "alternate",
    ),
    (
        "blank text",
        chat(
            "nova-lite",
            {"role": "system", "content": "s"},
            _user([{"type": "text", "text": INVISIBLE}]),
        ),
        "messages[1].content[0].text",
        "blank",
    ),
    (
        "blank string",
        chat("nova-lite", {"role": "system", "content": "s"}, _user(" \u200b")),
        "messages[1].content",
        "blank",
    ),
    ("empty parts", chat("nova-lite", _user([])), "messages[0].content", "at least 1"),
    (
        "text type",
        chat("nova-lite", _user([{"type": "text", "text": 1}])),
        "messages[0].content[0].text",
        "string",
    ),
    ("content type", chat("nova-lite", _user(1)), "messages[0].content", "string or a list"),
    (
        "blank system",
        chat("nova-lite", {"role": "system", "content": " "}, _user("a")),
        "messages[0].content",
        "blank",
    ),
    (
        "long system",
        chat("nova-lite", {"role": "system", "content": "s" * 301}, _user("a")),
        "messages[0].content",
        "at most",
    ),
    (
        "total",
        chat("nova-lite", _user("y" * (LIMITS["max_total_chars"] + 1))),
        "messages",
        "characters",
    ),
    (
        "count",
        chat(
            "nova-lite",
            *[
                {"role": ("user", "assistant")[i % 2], "content": "m"}
                for i in range(LIMITS["max_messages"] + 1)
            ],
        ),
        "messages",
        "messages are allowed",
    ),
    (
        "image bytes",
        chat(
            "nova-lite",
            _user(
                [
                    {"type": "text", "text": "x"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,@@"}},
                ]
            ),
        ),
        "messages[0].content[1].image_url.url",
        "base64",
    ),
    (
        "image kind",
        chat(
            "nova-lite",
            _user(
                [
                    {"type": "text", "text": "x"},
                    {"type": "image_url", "image_url": {"url": data_url(jpeg())}},
                ]
            ),
        ),
        "messages[0].content[1].image_url.url",
        "png",
    ),
    (
        "image size",
        chat(
            "nova-lite",
            _user(
                [
                    {"type": "text", "text": "x"},
                    {"type": "image_url", "image_url": {"url": data_url(png(8001, 1))}},
                ]
            ),
        ),
        "messages[0].content[1].image_url",
        "8000",
    ),
    (
        "assistant image",
        chat(
            "nova-lite",
            _user("x"),
            {
                "role": "assistant",
                "content": [{"type": "image_url", "image_url": {"url": data_url(png())}}],
            },
        ),
        "messages[1].content[0]",
        "user messages only",
    ),
]


@pytest.mark.parametrize(
    ("payload", "param", "words"),
    [case[1:] for case in CONVERSE_RULES],
    ids=[case[0] for case in CONVERSE_RULES],
)
def test_converse_rules_name_the_openai_field(
    payload: dict[str, Any], param: str, words: str
) -> None:
    h = make_harness()
    reply = h.call(make_event(payload, path=CHAT))
    assert reply.status == 400, reply.body
    error = openai_error(reply)
    assert (error["param"], error["code"], error["type"]) == (
        param,
        "invalid_request",
        "invalid_request_error",
    )
    assert words in error["message"]
    h.stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("payload", "code", "param"),
    [
        (chat(stream=True), "unsupported_parameter", "stream"),
        (chat(n=3), "unsupported_parameter", "n"),
        (chat(tools=[]), "unsupported_parameter", "tools"),
        (chat(nonsense=1), "unknown_parameter", "nonsense"),
    ],
)
def test_unsupported_and_unknown_parameters_are_400s(
    payload: dict[str, Any], code: str, param: str
) -> None:
    reply = make_harness().call(make_event(payload, path=CHAT))
    assert reply.status == 400
    error = openai_error(reply)
    assert (error["code"], error["param"], error["type"]) == (code, param, "invalid_request_error")


def test_a_model_outside_the_allow_list_is_403_permission_error() -> None:
    reply = make_harness().call(make_event(chat("claude-sonnet"), path=CHAT))
    assert reply.status == 403
    error = openai_error(reply)
    assert (error["code"], error["param"], error["type"]) == (
        "model_not_allowed",
        "model",
        "permission_error",
    )


def test_an_unknown_caller_is_403() -> None:
    reply = make_harness().call(make_event(chat(), path=CHAT, user_arn=None))
    assert reply.status == 403
    assert openai_error(reply)["code"] == "caller_not_recognized"


@pytest.mark.parametrize(
    ("code", "status", "answer", "error_code", "error_type"),
    [
        ("ThrottlingException", 429, 429, "throttled", "rate_limit_error"),
        ("ModelTimeoutException", 408, 504, "model_timeout", "server_error"),
        ("ServiceUnavailableException", 503, 502, "model_error", "server_error"),
        ("ValidationException", 400, 400, "model_rejected_request", "invalid_request_error"),
        ("AccessDeniedException", 403, 403, "model_access_denied", "permission_error"),
    ],
)
def test_bedrock_failures_keep_their_status_in_openai_shape(
    code: str, status: int, answer: int, error_code: str, error_type: str
) -> None:
    h = make_harness()
    for _ in range(2):  # claude-haiku, then its fallback nova-lite
        h.fail(code, status)
    with capture():
        reply = h.call(make_event(chat(), path=CHAT))
    assert reply.status == answer
    error = openai_error(reply)
    assert (error["code"], error["type"]) == (error_code, error_type)
    if answer == 429:
        assert reply.headers["Retry-After"] == "2"


def test_breakers_are_shared_with_the_converse_route() -> None:
    """Two failures of each model on one route open the breakers for both routes (threshold 2)."""
    h = make_harness()
    for _ in range(4):
        h.fail("ServiceUnavailableException", 503)
    with capture():
        h.call(make_event(body("claude-haiku")))
        h.call(make_event(chat("claude-haiku"), path=CHAT))
        reply = h.call(make_event(chat("claude-haiku"), path=CHAT))
    assert reply.status == 503
    assert openai_error(reply)["code"] == "models_unavailable"
    assert "Retry-After" in reply.headers


def test_body_problems_are_openai_errors_too() -> None:
    h = make_harness()
    event = make_event(raw_body='{"model": "nova-lite", "model": "claude-haiku"}', path=CHAT)
    error = openai_error(h.call(event))
    assert (error["code"], error["param"]) == ("invalid_json", "model")
    event = make_event(chat(), path=CHAT)
    event["headers"] = {"Content-Type": "text/plain"}
    reply = h.call(event)
    assert reply.status == 415
    assert openai_error(reply)["code"] == "unsupported_media_type"
    event = make_event(raw_body='{"model": "nova-lite", "messages": "\\u0000"}', path=CHAT)
    assert openai_error(h.call(event))["param"] == "messages"


def test_wrong_method_is_405_naming_the_method_of_the_route() -> None:
    h = make_harness()
    reply = h.call(make_event(chat(), path=CHAT, method="GET"))
    assert (reply.status, reply.headers["Allow"]) == (405, "POST")
    assert openai_error(reply)["code"] == "method_not_allowed"
    reply = h.call(models_event(method="POST"))
    assert (reply.status, reply.headers["Allow"]) == (405, "GET")


def test_an_unhandled_error_is_a_500_in_openai_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(openai_compat, "translate", boom)
    with capture():
        reply = make_harness().call(make_event(chat(), path=CHAT))
    assert reply.status == 500
    error = openai_error(reply)
    assert (error["code"], error["type"], error["param"]) == (
        "internal_error",
        "server_error",
        None,
    )
    assert "bug" not in json.dumps(reply.body)


# --- GET /v1/models -------------------------------------------------------------------------------
def test_models_lists_the_callers_allow_list() -> None:
    h = make_harness()
    with capture() as out:
        reply = h.call(models_event())
    assert reply.status == 200
    assert reply.headers["x-request-id"] == REQUEST_ID
    assert reply.body["object"] == "list"
    models = [openai.types.Model.model_validate(item) for item in reply.body["data"]]
    assert [(m.id, m.owned_by, m.object) for m in models] == [
        ("claude-haiku", "anthropic", "model"),
        ("nova-lite", "amazon", "model"),
    ]
    (summary,) = [line for line in out.logs if line["message"] == "converse request finished"]
    assert (summary["route"], summary["team"], summary["status"]) == (MODELS, "search", 200)
    assert out.metrics == []  # a listing calls no model: no Invocations
    reply = h.call(models_event(user_arn=ASSISTANT_ARN))
    assert [m["id"] for m in reply.body["data"]] == ["claude-sonnet", "claude-haiku"]


def test_models_needs_a_known_caller() -> None:
    reply = make_harness().call(models_event(user_arn=SEARCH_ARN.replace("search", "nobody")))
    assert reply.status == 403
    error = openai_error(reply)
    assert (error["code"], error["type"]) == ("caller_not_recognized", "permission_error")


def test_chat_requests_are_metered_and_logged_with_their_route() -> None:
    h = make_harness()
    h.answer()
    with capture() as out:
        h.call(make_event(chat(), path=CHAT))
    (summary,) = [line for line in out.logs if line["message"] == "converse request finished"]
    assert summary["route"] == CHAT
    assert out.metric_values()["Invocations"] == 1
    assert "What is a landing zone?" not in out.text  # no content in the logs by default


# --- properties -----------------------------------------------------------------------------------
chars = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
text = st.text(chars, min_size=1, max_size=40).filter(lambda s: not is_blank(s))
short = st.text(chars, min_size=1, max_size=15).filter(lambda s: not is_blank(s))

# Every strategy the generators draw from is built once, here, rather than on each draw inside
# the @composite functions (hypothesis validates each new strategy object on its first draw:
# rebuilding them took a third of the generation time). The draws, and their order, are unchanged:
# a given seed generates the very same examples as when the strategies were built in place.
booleans = st.booleans()
images = st.sampled_from([(png(3, 4), "image/png"), (jpeg(), "image/jpeg"), (gif(), "image/gif")])
details = st.sampled_from([None, "auto"])
aliases = st.sampled_from(ALLOWED)
system_counts = st.integers(0, 2)
system_roles = st.sampled_from(["system", "developer"])
system_contents = short | st.lists(
    short.map(lambda t: {"type": "text", "text": t}), min_size=1, max_size=2
)
message_counts = st.integers(1, LIMITS["max_messages"])
cap_keys = st.sampled_from(["max_tokens", "max_completion_tokens", None])
caps = {alias: st.integers(1, CAPS[alias]) | st.none() for alias in ALLOWED}
unit_or_none = st.floats(0, 1) | st.none()
stop = st.text(chars, min_size=1, max_size=LIMITS["max_stop_sequence_chars"])
stops = stop | st.lists(stop, max_size=LIMITS["max_stop_sequences"]) | st.none()
NEUTRAL_VALUES = {"stream": False, "n": 1, "logprobs": False, "presence_penalty": 0}
neutral_or_none = {key: st.sampled_from([neutral, None]) for key, neutral in NEUTRAL_VALUES.items()}
users = st.text(chars, max_size=20)
unsupported_keys = st.sampled_from(sorted(openai_compat._UNSUPPORTED))


@st.composite
def user_contents(draw: st.DrawFn) -> Any:
    if draw(booleans):
        return draw(text)
    parts: list[dict[str, Any]] = [{"type": "text", "text": draw(text)}]
    if draw(booleans):
        raw, media_type = draw(images)
        detail = draw(details)
        image_url = {"url": data_url(raw, media_type)}
        if detail is not None or draw(booleans):
            image_url["detail"] = detail  # type: ignore[assignment]
        parts.append({"type": "image_url", "image_url": image_url})
    return draw(st.permutations(parts))


user_content = user_contents()


@st.composite
def valid_chats(draw: st.DrawFn) -> dict[str, Any]:
    alias = draw(aliases)
    messages: list[dict[str, Any]] = []
    for _ in range(draw(system_counts)):  # within max_system_chars by construction
        role = draw(system_roles)
        messages.append({"role": role, "content": draw(system_contents)})
    count = draw(message_counts)
    for i in range(count):
        if i % 2 == 0:
            messages.append({"role": "user", "content": draw(user_content)})
        else:
            # built per draw on purpose: the just's label follows its value, and a static
            # stand-in would change how hypothesis mutates examples (a seed's examples differ)
            content = draw(text | st.just([{"type": "text", "text": draw(text)}]))
            messages.append({"role": "assistant", "content": content})
    out: dict[str, Any] = {"model": alias, "messages": messages}
    cap = draw(cap_keys)
    if cap is not None:
        out[cap] = draw(caps[alias])
    for key in ("temperature", "top_p"):
        if draw(booleans):
            out[key] = draw(unit_or_none)
    if draw(booleans):
        out["stop"] = draw(stops)
    for key in NEUTRAL_VALUES:
        if draw(booleans):
            out[key] = draw(neutral_or_none[key])
    if draw(booleans):
        out["user"] = draw(users)
    if draw(booleans):
        out[draw(unsupported_keys)] = None
    return out


valid_chat = valid_chats()


UNSUPPORTED_VALUES: dict[str, Any] = {
    "stream": st.just(True),
    "n": st.integers(2, 10) | st.integers(max_value=0) | st.floats(1.5, 3),
    "logprobs": st.just(True),
    "presence_penalty": st.floats(0.1, 2),
    "frequency_penalty": st.floats(-2, -0.1),
    "store": st.just(True),
    "tools": st.just([{"type": "function", "function": {"name": "f"}}]),
    "tool_choice": st.just("auto"),
    "response_format": st.just({"type": "json_object"}),
    "seed": st.integers(),
    "logit_bias": st.just({"50256": -100}),
    "stream_options": st.just({"include_usage": True}),
    "reasoning_effort": st.just("low"),
    "modalities": st.just(["text", "audio"]),
}
CHAT_KEYS = set(openai_compat._MAPPED | set(openai_compat._NEUTRAL) | openai_compat._IGNORED)
CHAT_KEYS |= openai_compat._UNSUPPORTED
KNOWN_KEYS = CHAT_KEYS | {"role", "content"} | set(openai_compat._UNSUPPORTED_MESSAGE_KEYS)


mutation_kinds = st.integers(0, 24)
unsupported_value_keys = st.sampled_from(sorted(UNSUPPORTED_VALUES))
unknown_keys = st.text(min_size=1, max_size=10).filter(lambda k: k not in KNOWN_KEYS)
key_places = st.sampled_from(["top", "message"])
required_keys = st.sampled_from(["model", "messages"])
bad_models = st.text(max_size=70).filter(lambda s: s not in ALLOWED) | json_values.filter(
    lambda v: not isinstance(v, str)
)
bad_message_lists: st.SearchStrategy[Any] = json_values.filter(
    lambda v: not isinstance(v, list)
) | st.just([])


def _roles_other_than(role: str) -> st.SearchStrategy[Any]:
    return (st.sampled_from(["tool", "function", "robot", "", "USER"]) | json_values).filter(
        lambda r: r != role
    )


# the role to change is always "user" or "assistant": one strategy for each
other_roles = {role: _roles_other_than(role) for role in ("user", "assistant")}
late_roles = st.sampled_from(["system", "developer"])
bad_contents: st.SearchStrategy[Any] = json_values.filter(
    lambda v: not isinstance(v, (str, list))
) | st.just([])
blanks = st.text(alphabet=INVISIBLE, min_size=1, max_size=6)
message_keys = st.sampled_from(["name", "tool_calls", "function_call", "audio", "refusal"])
non_null_values = json_values.filter(lambda v: v is not None)
cap_names = st.sampled_from(["max_tokens", "max_completion_tokens"])
bad_caps = {
    alias: st.integers(CAPS[alias] + 1)
    | st.integers(max_value=0)
    | json_values.filter(lambda v: not isinstance(v, int) or isinstance(v, bool)).filter(
        lambda v: v is not None
    )
    for alias in ALLOWED
}
unit_names = st.sampled_from(["temperature", "top_p"])
bad_units = (
    st.floats(min_value=1.0001)
    | st.floats(max_value=-0.0001)
    | json_values.filter(lambda v: not isinstance(v, (int, float)) or isinstance(v, bool)).filter(
        lambda v: v is not None
    )
)
bad_stops = (
    st.lists(
        st.text(min_size=1, max_size=3),
        min_size=LIMITS["max_stop_sequences"] + 1,
        max_size=8,
    )
    | st.text(min_size=LIMITS["max_stop_sequence_chars"] + 1)
    | st.just("")
    | st.just([""])
    | json_values.filter(lambda v: not isinstance(v, (str, list)) and v is not None)
)
bad_systems = (
    st.just(" ")
    | st.just("s" * (LIMITS["max_system_chars"] + 1))
    | json_values.filter(lambda v: not isinstance(v, str))
)
too_many_messages = st.integers(LIMITS["max_messages"] + 1, LIMITS["max_messages"] + 5)
bad_users = json_values.filter(lambda v: v is not None and not isinstance(v, str))
not_messages = json_values.filter(lambda v: not isinstance(v, dict))
model_suffixes = st.sampled_from(["\x00", " ", "-x"])


@st.composite
def invalid_chats(draw: st.DrawFn) -> Any:
    b = copy.deepcopy(draw(valid_chat))
    msgs = b["messages"]
    chat_index = [i for i, m in enumerate(msgs) if m["role"] in {"user", "assistant"}]
    i = draw(st.sampled_from(chat_index))
    kind = draw(mutation_kinds)
    if kind == 0:
        key = draw(unsupported_value_keys)
        b[key] = draw(UNSUPPORTED_VALUES[key])
    elif kind == 1:  # unknown key somewhere
        key = draw(unknown_keys)
        where = draw(key_places)
        (b if where == "top" else msgs[i])[key] = draw(json_values)
    elif kind == 2:
        del b[draw(required_keys)]
    elif kind == 3:
        b["model"] = draw(bad_models)
    elif kind == 4:
        b["messages"] = draw(bad_message_lists)
    elif kind == 5:
        msgs[i]["role"] = draw(other_roles[msgs[i]["role"]])
    elif kind == 6:  # break alternation
        msgs[i]["role"] = "assistant" if msgs[i]["role"] == "user" else "user"
    elif kind == 7:
        msgs.append({"role": draw(late_roles), "content": "late"})
    elif kind == 8:
        msgs[i]["content"] = draw(bad_contents)
    elif kind == 9:  # blank after Unicode normalisation
        blank = draw(blanks)
        msgs[i]["content"] = blank if draw(booleans) else [{"type": "text", "text": blank}]
    elif kind == 10:  # a broken part
        msgs[i]["content"] = [{"type": "text", "text": "see"}, draw(bad_parts)]
    elif kind == 11:
        msgs[i][draw(message_keys)] = draw(non_null_values)
    elif kind == 12:
        b[draw(cap_names)] = draw(bad_caps[b["model"]])
    elif kind == 13:
        b["max_tokens"] = b["max_completion_tokens"] = 1
    elif kind == 14:
        b[draw(unit_names)] = draw(bad_units)
    elif kind == 15:
        b["stop"] = draw(bad_stops)
    elif kind == 16:  # only system messages
        b["messages"] = [{"role": "system", "content": draw(text)}]
    elif kind == 17:
        b["messages"].insert(0, {"role": "system", "content": draw(bad_systems)})
    elif kind == 18:  # a NUL character somewhere (json.dumps escapes it as \u0000)
        msgs[i]["content"] = draw(text) + "\x00"
    elif kind == 19:  # too many messages
        extra = draw(too_many_messages)
        b["messages"] = [
            {"role": ("user", "assistant")[n % 2], "content": "x"} for n in range(extra)
        ]
    elif kind == 20:
        msgs[i]["content"] = "y" * (LIMITS["max_total_chars"] + 1)
    elif kind == 21:
        b["user"] = draw(bad_users)
    elif kind == 22:  # an image in an assistant message, or a first assistant message
        if draw(booleans):
            msgs.insert(0, {"role": "assistant", "content": "I start"})
        else:
            msgs.extend(
                [
                    {
                        "role": "assistant",
                        "content": [{"type": "image_url", "image_url": {"url": data_url(png())}}],
                    }
                ]
            )
            if msgs[-2]["role"] == "assistant":
                msgs.insert(len(msgs) - 1, {"role": "user", "content": "ok"})
    elif kind == 23:
        msgs[i] = draw(not_messages)
    else:
        b["model"] = b["model"] + draw(model_suffixes)
    return b


bad_parts = st.one_of(
    st.just({}),
    st.dictionaries(st.text(max_size=8), json_values, max_size=3).filter(
        lambda d: d.get("type") not in {"text", "image_url"}
    ),
    st.sampled_from(
        [
            {"type": "file", "file": {"file_data": "x"}},
            {"type": "input_audio", "input_audio": {}},
            {"type": "refusal", "refusal": "no"},
        ]
    ),
    st.builds(
        lambda t: {"type": "text", "text": t}, json_values.filter(lambda v: not isinstance(v, str))
    ),
    st.builds(lambda url: {"type": "image_url", "image_url": {"url": url}}, st.text(max_size=40)),
    st.builds(
        lambda data: {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}},
        st.text(max_size=30),
    ),
    st.builds(
        lambda raw: {"type": "image_url", "image_url": {"url": data_url(raw)}},
        st.binary(max_size=40),
    ),
    st.sampled_from(
        [
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            {"type": "image_url", "image_url": {"url": data_url(png(8001, 2))}},
            {"type": "image_url", "image_url": {"url": data_url(png(), "image/jpeg")}},
            {"type": "image_url", "image_url": {"url": data_url(png(), "image/tiff")}},
            {"type": "image_url", "image_url": {"url": data_url(png()), "detail": "high"}},
            {"type": "image_url", "image_url": {"url": data_url(png()), "extra": 1}},
            {"type": "image_url", "image_url": data_url(png())},
            {"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}},
        ]
    ),
    st.builds(lambda v: {"type": "image_url", "image_url": v}, json_values),
)


def _duplicate_key(b: dict[str, Any], draw: st.DrawFn) -> str:
    key = draw(st.sampled_from(sorted(b)))
    return "{" + json.dumps(key) + ": " + json.dumps(draw(json_values)) + ", " + json.dumps(b)[1:]


invalid_chat = invalid_chats()
chat_body_kinds = st.integers(0, 7)
not_json_media_types = st.sampled_from(
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
    ]
) | st.text(max_size=20).filter(lambda t: "json" not in t.lower())
depths = st.integers(1, 3000)
not_requests = json_values.filter(
    lambda v: not (isinstance(v, dict) and {"model", "messages"} <= set(v))
)
anything = st.text(st.characters(), min_size=1, max_size=200)
no_or_text_media_type = st.none() | st.just("text/plain")


@st.composite
def hostile_chat_bodies(draw: st.DrawFn) -> tuple[str, str | None]:
    """(raw body, Content-Type header or None)."""
    kind = draw(chat_body_kinds)
    if kind <= 1:
        return json.dumps(draw(invalid_chat)), "application/json"
    if kind == 2:
        return _duplicate_key(draw(valid_chat), draw), "application/json"
    if kind == 3:  # a valid body declared as something else than JSON
        media_type = draw(not_json_media_types)
        return json.dumps(draw(valid_chat)), media_type
    if kind == 4:  # valid JSON cut short
        whole = json.dumps(draw(valid_chat))
        return whole[: draw(st.integers(1, len(whole) - 1))], "application/json"
    if kind == 5:  # deep nesting, in a parameter or in a message
        depth = draw(depths)
        nested = "[" * depth + "1" + "]" * depth  # never a list of strings
        return json.dumps({**draw(valid_chat), "stop": "@@"}).replace('"@@"', nested), None
    if kind == 6:  # arbitrary JSON that is not a request
        value = draw(not_requests)
        return json.dumps(value), "application/json"
    return draw(anything), draw(no_or_text_media_type)


def _chat_event(raw_body: str, media_type: str | None) -> dict[str, Any]:
    event = make_event(raw_body=raw_body, path=CHAT)
    event["headers"] = {} if media_type is None else {"Content-Type": media_type}
    return event


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile=hostile_chat_bodies())
def test_hostile_chat_bodies_always_get_a_4xx_in_openai_error_shape(
    hostile: tuple[str, str | None],
) -> None:
    client = CountingClient()
    with capture():
        raw = handler.handle(_chat_event(*hostile), FakeContext(), _service(client))
    assert 400 <= raw["statusCode"] < 500, raw
    assert raw["headers"]["Content-Type"] == "application/json"
    assert raw["headers"]["x-request-id"] == REQUEST_ID
    answer = json.loads(raw["body"])
    assert set(answer) == {"error"}, answer
    error = answer["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str) and error["message"]
    assert error["type"] in {"invalid_request_error", "permission_error"}
    assert isinstance(error["code"], str) and error["code"]
    assert error["param"] is None or isinstance(error["param"], str)
    assert "Traceback" not in raw["body"]
    assert client.calls == []


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=valid_chat)
def test_valid_chats_reach_bedrock_once_within_the_caps(request: dict[str, Any]) -> None:
    CHAT_SCHEMA.validate(request)  # API Gateway's envelope accepts whatever the function accepts
    client = CountingClient()
    with capture():
        raw = handler.handle(make_event(request, path=CHAT), FakeContext(), _service(client))
    assert raw["statusCode"] == 200, raw
    (params,) = client.calls
    # what botocore's parameter validation, off in the function's clients, would check
    assert not converse_param_problems(params)
    assert params["inferenceConfig"]["maxTokens"] <= CAPS[request["model"]]
    assert params["guardrailConfig"]["trace"] == "disabled"
    assert set(params["requestMetadata"]) == {"team", "caller", "requestId"}
    completion = openai.types.chat.ChatCompletion.model_validate(json.loads(raw["body"]))
    assert completion.choices[0].message.content == "ok"


def test_the_gateway_envelope_refuses_what_is_not_a_chat_request() -> None:
    for bad in (
        {},
        {"model": "m"},
        {"model": "", "messages": [{"role": "user"}]},
        chat(messages=[]),
    ):
        assert not CHAT_SCHEMA.is_valid(bad)
    assert CHAT_SCHEMA.is_valid(chat(stream=True, tools=[]))  # left to the function, which names it
