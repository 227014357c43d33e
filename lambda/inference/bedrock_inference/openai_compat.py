"""The OpenAI-compatible routes, on the same governed Converse path as ``POST /v1/converse``.

- ``POST /v1/chat/completions``: an OpenAI chat-completions body is *translated* into the body of
  ``POST /v1/converse`` (:class:`~bedrock_inference.models.ConverseRequest`), which then goes
  through ``InferenceService.validate`` and ``InferenceService.converse`` unchanged: the team's
  allow-list, the configured limits, the attachment checks, the guardrail on every call, the
  fallback chain, the circuit breakers, the time budget, telemetry and the logging rules. Errors
  raised there name Converse fields; :meth:`Translated.rename` names the OpenAI field instead.
- ``GET /v1/models``: the calling team's allow-listed aliases, in the config's order.

Nothing here calls Bedrock or decides anything about access: this module only translates.

**Request** (OpenAI name → Converse; every other OpenAI parameter is refused unless it is null):

- ``model`` → ``model``: an alias of the team's allow-list.
- ``messages[]`` with role ``system`` or ``developer`` → ``system``: only before the first other
  message (Converse takes one system prompt per conversation), none blank; several are joined
  with a blank line. Roles ``user``/``assistant`` → ``messages[]`` under Converse's rules
  (alternating, first ``user``); ``tool``/``function`` are refused (no tool use).
- ``content``: a string as it is; a list of parts, each as one content block: ``text`` → a text
  block, ``image_url`` → an image block from a ``data:image/<png|jpeg|gif|webp>;base64,`` URL
  only (the function fetches nothing; ``detail`` ``auto`` only).
- ``max_completion_tokens`` or ``max_tokens`` (one of them) → ``inferenceConfig.maxTokens``;
  ``temperature`` → ``temperature`` and ``top_p`` → ``topP``, each from 0 to 1 (Bedrock's
  range); ``stop`` (a string or a list) → ``stopSequences``.
- Accepted at their neutral value (or null) only: ``stream: false`` (no streaming), ``n: 1``,
  ``logprobs: false``, ``presence_penalty``/``frequency_penalty`` 0, ``store: false``.
- Accepted (a string) and not used: ``user``, ``safety_identifier``; the caller is the IAM role.

Refused with ``unsupported_parameter`` (400): ``stream: true``, ``n`` > 1, tools and functions,
``response_format``, ``seed``, ``logit_bias``, audio, other content-part types (files, audio,
refusals), participant names (``name``) and the other parameters of the OpenAI API. A key that is
no OpenAI parameter at all is ``unknown_parameter`` (400). Both name the field in ``param``.

**Answer**: ``chat.completion`` with one choice; ``usage`` from Converse's ``usage``
(``inputTokens`` → ``prompt_tokens``, ``outputTokens`` → ``completion_tokens``); ``model`` is the
alias that answered (a fallback's, if one did); ``finish_reason`` from Converse's ``stopReason``
(:data:`FINISH_REASONS`). A guardrail intervention is a 200 whose content is the guardrail's
blocked message, with ``finish_reason: content_filter``. The extra ``bedrock`` object carries what
OpenAI's shape has no place for (request id, model id, stop reason, guardrail, fallbacks).

**Errors**: ``{"error": {"message", "type", "param", "code"}}``, the status and ``code`` from the
same table as the Converse route (``handler``), ``type`` from the status (:func:`error_type`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from bedrock_inference.errors import RequestInvalid, UnknownParameter, UnsupportedParameter
from bedrock_inference.models import (
    ConverseResponse,
    InferenceConfig,
    is_blank,
    request_json_schema,
)

CHAT_COMPLETIONS_ROUTE: Final = "/v1/chat/completions"
MODELS_ROUTE: Final = "/v1/models"

# Converse stopReason (Bedrock API reference, Converse, "Response Elements": end_turn | tool_use
# | max_tokens | stop_sequence | guardrail_intervened | content_filtered |
# malformed_model_output | malformed_tool_use | model_context_window_exceeded) -> OpenAI
# finish_reason (stop | length | tool_calls | content_filter | function_call). Anything else,
# including a value Bedrock adds later, is "stop".
FINISH_REASONS: Final[Mapping[str, str]] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}

#: Parameters carried onto Converse.
_MAPPED = frozenset(
    {"model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop"}
)
#: Parameters accepted at the value that means "nothing to do" (or null) only.
_NEUTRAL: Final[Mapping[str, tuple[Any, str]]] = {
    "stream": (False, "streaming is not supported: leave 'stream' out or set it to false"),
    "n": (1, "only one choice is generated: leave 'n' out or set it to 1"),
    "logprobs": (False, "log probabilities are not available through Converse"),
    "presence_penalty": (0.0, "Converse has no presence penalty: leave it out or set it to 0"),
    "frequency_penalty": (0.0, "Converse has no frequency penalty: leave it out or set it to 0"),
    "store": (False, "completions are not stored: leave 'store' out or set it to false"),
}
#: Accepted (a string or null) and not used: the caller is the IAM role that signed the request.
_IGNORED = frozenset({"user", "safety_identifier"})
#: The other parameters of the OpenAI chat-completions API (openai-python 3.x,
#: ``CompletionCreateParamsBase``): refused unless null, with ``unsupported_parameter``.
_UNSUPPORTED = frozenset(
    {
        "audio",
        "function_call",
        "functions",
        "logit_bias",
        "metadata",
        "modalities",
        "moderation",
        "parallel_tool_calls",
        "prediction",
        "prompt_cache_key",
        "prompt_cache_options",
        "prompt_cache_retention",
        "reasoning_effort",
        "response_format",
        "seed",
        "service_tier",
        "stream_options",
        "tool_choice",
        "tools",
        "top_logprobs",
        "verbosity",
        "web_search_options",
    }
)
_SYSTEM_ROLES = frozenset({"system", "developer"})
_CHAT_ROLES = frozenset({"user", "assistant"})
#: Message keys of the OpenAI API that Converse cannot carry (null accepted).
_UNSUPPORTED_MESSAGE_KEYS: Final[Mapping[str, str]] = {
    "name": "participant names are not supported",
    "tool_calls": "tool use is not supported",
    "function_call": "function calling is not supported",
    "audio": "audio is not supported",
    "refusal": "assistant refusals cannot be sent back",
    "tool_call_id": "tool use is not supported",
}
_UNSUPPORTED_PART_TYPES: Final[Mapping[str, str]] = {
    "file": "file parts are not supported here: send documents to POST /v1/converse",
    "input_audio": "audio is not supported",
    "refusal": "refusal parts cannot be sent back",
}
# data:[<media type>][;base64],<data> (RFC 2397). Only base64 images of the formats Converse's
# ImageBlock takes ("Valid Values: png | jpeg | gif | webp", Bedrock API reference, ImageBlock).
_DATA_URL = re.compile(  # media types are case-insensitive (RFC 2045); the data is not
    r"^data:image/(?P<subtype>[a-z0-9.+-]+);base64,(?P<data>.*)$", re.DOTALL | re.IGNORECASE
)
_IMAGE_FORMATS: Final[Mapping[str, str]] = {
    "png": "png",
    "jpeg": "jpeg",
    "jpg": "jpeg",
    "gif": "gif",
    "webp": "webp",
}
_CONVERSE_MESSAGE = re.compile(r"^messages\[(\d+)\](.*)$", re.DOTALL)
_CONVERSE_BLOCK = re.compile(r"^\.content\[(\d+)\](.*)$", re.DOTALL)
_CONVERSE_STOP = re.compile(r"^inferenceConfig\.stopSequences\[(\d+)\](.*)$", re.DOTALL)
_BLOCK_FIELDS: Final[Mapping[str, str]] = {
    ".image": ".image_url",
    ".image.format": ".image_url.url",
    ".image.source": ".image_url.url",
    ".image.source.bytes": ".image_url.url",
}
_GEOGRAPHIES = frozenset({"us", "us-gov", "eu", "apac", "jp", "au", "ca", "global"})


@dataclass(frozen=True, slots=True)
class Translated:
    """A chat-completions body as the body of ``POST /v1/converse``, and where each Converse
    field came from (to name the OpenAI field in errors)."""

    body: dict[str, Any]
    message_index: tuple[int, ...]
    """OpenAI index of each Converse message."""
    plain_content: tuple[bool, ...]
    """Whether each Converse message's content was a plain string."""
    system_index: int | None
    max_tokens_key: str
    stop_is_string: bool

    def rename(self, field: str | None) -> str | None:
        """The OpenAI name of a field of the Converse body (other names pass unchanged)."""
        if field is None:
            return None
        if field.startswith("system"):
            return "messages" if self.system_index is None else self._content(self.system_index)
        match = _CONVERSE_MESSAGE.match(field)
        if match is not None:
            index, rest = int(match[1]), match[2]
            if index >= len(self.message_index):
                return "messages"
            where = f"messages[{self.message_index[index]}]"
            block = _CONVERSE_BLOCK.match(rest)
            if block is None:
                return where + rest
            if self.plain_content[index]:
                return where + ".content"
            return f"{where}.content[{block[1]}]" + _BLOCK_FIELDS.get(block[2], block[2])
        if field == "inferenceConfig.maxTokens":
            return self.max_tokens_key
        if field == "inferenceConfig.temperature":
            return "temperature"
        if field == "inferenceConfig.topP":
            return "top_p"
        stop = _CONVERSE_STOP.match(field)
        if stop is not None:
            return "stop" if self.stop_is_string else f"stop[{stop[1]}]{stop[2]}"
        if field.startswith("inferenceConfig"):
            return "stop" if field == "inferenceConfig.stopSequences" else "body"
        return field

    def reword(self, message: str) -> str:
        """A Converse rule's message in OpenAI's words."""
        return message.replace("maxTokens", self.max_tokens_key)

    def _content(self, index: int) -> str:
        return f"messages[{index}].content"


def translate(body: Mapping[str, Any]) -> Translated:
    """The Converse body of a chat-completions body; raises on what cannot be carried over.

    Shape checks that ``ConverseRequest`` makes anyway (types of ``model``, the numbers, the stop
    strings, blank text) are left to it; this function checks the structure it must understand
    to translate, and the parameters Converse has no place for.
    """
    for key, value in body.items():
        _check_parameter(key, value)
    if "model" not in body:
        raise RequestInvalid("'model' is required: one of GET /v1/models", field="model")
    if "messages" not in body:
        raise RequestInvalid("'messages' is required", field="messages")
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        raise RequestInvalid("'messages' must be a non-empty list of messages", field="messages")

    system: list[str] = []
    system_index: int | None = None
    converse_messages: list[dict[str, Any]] = []
    message_index: list[int] = []
    plain: list[bool] = []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        role = _role(message, where)
        if role in _SYSTEM_ROLES:
            if converse_messages:
                raise RequestInvalid(
                    f"a {role} message must come before the user and assistant messages "
                    "(Converse takes one system prompt for the whole conversation)",
                    field=f"{where}.role",
                )
            system_index = index if system_index is None else system_index
            text = _system_text(message.get("content"), f"{where}.content")
            if is_blank(text):  # as the Converse route's system prompt
                raise RequestInvalid(
                    f"a {role} message must not be blank (whitespace and invisible characters "
                    "do not count)",
                    field=f"{where}.content",
                )
            system.append(text)
            continue
        content = message.get("content")
        if isinstance(content, list):
            content = [_block(part, f"{where}.content[{k}]") for k, part in enumerate(content)]
        elif content is None:
            raise RequestInvalid("'content' is required", field=f"{where}.content")
        converse_messages.append({"role": role, "content": content})
        message_index.append(index)
        plain.append(not isinstance(content, list))
    if not converse_messages:
        raise RequestInvalid("at least one user message is required", field="messages")

    converse: dict[str, Any] = {"model": body["model"], "messages": converse_messages}
    if system:
        converse["system"] = "\n\n".join(system)
    params, max_tokens_key, stop_is_string = _inference(body)
    if params:
        converse["inferenceConfig"] = params
    return Translated(
        body=converse,
        message_index=tuple(message_index),
        plain_content=tuple(plain),
        system_index=system_index,
        max_tokens_key=max_tokens_key,
        stop_is_string=stop_is_string,
    )


def _check_parameter(key: str, value: Any) -> None:
    if key in _MAPPED:
        return
    if key in _NEUTRAL:
        neutral, why = _NEUTRAL[key]
        if value is not None and not _is_neutral(value, neutral):
            raise UnsupportedParameter(why, field=key)
    elif key in _IGNORED:
        if value is not None and not isinstance(value, str):
            raise RequestInvalid(f"'{key}' must be a string", field=key)
    elif key in _UNSUPPORTED:
        if value is not None:
            raise UnsupportedParameter(
                f"'{key}' is not supported by this API (Converse with the landing zone's "
                "guardrail, text and images only)",
                field=key,
            )
    else:
        raise UnknownParameter(f"unknown parameter {key[:64]!r}", field=key[:256] or "body")


def _is_neutral(value: Any, neutral: Any) -> bool:
    if isinstance(neutral, bool):
        return value is neutral
    if isinstance(neutral, int):  # a count: an integer only
        return type(value) is int and value == neutral
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == neutral


def _role(message: Any, where: str) -> str:
    if not isinstance(message, dict):
        raise RequestInvalid("a message must be an object", field=where)
    for key, value in message.items():
        if key in {"role", "content"}:
            continue
        if key in _UNSUPPORTED_MESSAGE_KEYS:
            if value is not None:
                raise UnsupportedParameter(
                    f"'{key}': {_UNSUPPORTED_MESSAGE_KEYS[key]}", field=f"{where}.{key}"
                )
        else:
            raise UnknownParameter(
                f"unknown message field {key[:64]!r}", field=f"{where}.{key[:256]}"
            )
    role = message.get("role")
    if not isinstance(role, str):
        raise RequestInvalid(
            "'role' is required: 'system', 'developer', 'user' or 'assistant'",
            field=f"{where}.role",
        )
    if role in _SYSTEM_ROLES or role in _CHAT_ROLES:
        return role
    if role in {"tool", "function"}:
        raise UnsupportedParameter(
            f"role {role!r} is not supported: this API has no tool use", field=f"{where}.role"
        )
    raise RequestInvalid(
        "'role' must be one of 'system', 'developer', 'user', 'assistant'", field=f"{where}.role"
    )


def _system_text(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list) and content:
        texts = []
        for k, part in enumerate(content):
            block = _block(part, f"{where}[{k}]")
            if "text" not in block:
                raise RequestInvalid(
                    "a system message holds text parts only", field=f"{where}[{k}].type"
                )
            texts.append(block["text"])
        if all(isinstance(t, str) for t in texts):
            return "\n".join(texts)
        bad = next(k for k, t in enumerate(texts) if not isinstance(t, str))
        raise RequestInvalid("'text' must be a string", field=f"{where}[{bad}].text")
    raise RequestInvalid(
        "the content of a system message must be a string or a non-empty list of text parts",
        field=where,
    )


def _block(part: Any, where: str) -> dict[str, Any]:
    """One OpenAI content part as one Converse content block."""
    if not isinstance(part, dict):
        raise RequestInvalid("a content part must be an object", field=where)
    kind = part.get("type")
    if kind == "text":
        _only_keys(part, ("type", "text"), where)
        if "text" not in part:
            raise RequestInvalid("a text part needs 'text'", field=f"{where}.text")
        return {"text": part["text"]}
    if kind == "image_url":
        _only_keys(part, ("type", "image_url"), where)
        return {"image": _image(part.get("image_url"), f"{where}.image_url")}
    if isinstance(kind, str) and kind in _UNSUPPORTED_PART_TYPES:
        raise UnsupportedParameter(_UNSUPPORTED_PART_TYPES[kind], field=f"{where}.type")
    raise RequestInvalid(
        "a content part's 'type' must be 'text' or 'image_url'", field=f"{where}.type"
    )


def _only_keys(part: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key, value in part.items():
        if key in allowed:
            continue
        if key == "prompt_cache_breakpoint":
            if value is not None:
                raise UnsupportedParameter(
                    "prompt cache breakpoints are not supported", field=f"{where}.{key}"
                )
            continue
        raise UnknownParameter(
            f"unknown content part field {key[:64]!r}", field=f"{where}.{key[:256]}"
        )


def _image(image_url: Any, where: str) -> dict[str, Any]:
    if not isinstance(image_url, dict):
        raise RequestInvalid("'image_url' must be an object with 'url'", field=where)
    for key, value in image_url.items():
        if key == "detail":
            if value not in (None, "auto"):
                raise UnsupportedParameter(
                    "'detail' other than 'auto' is not supported: Bedrock decides the "
                    "resolution the model sees",
                    field=f"{where}.detail",
                )
        elif key != "url":
            raise UnknownParameter(
                f"unknown image_url field {key[:64]!r}", field=f"{where}.{key[:256]}"
            )
    url = image_url.get("url")
    if not isinstance(url, str) or not url:
        raise RequestInvalid("'url' must be a data: URL of the image", field=f"{where}.url")
    match = _DATA_URL.match(url)
    if match is None:
        if url[:8].lower().startswith(("http://", "https://")):
            raise UnsupportedParameter(
                "image URLs are not fetched: send the image inline as "
                "data:image/<png|jpeg|gif|webp>;base64,<data>",
                field=f"{where}.url",
            )
        raise RequestInvalid(
            "'url' must be data:image/<png|jpeg|gif|webp>;base64,<data>", field=f"{where}.url"
        )
    image_format = _IMAGE_FORMATS.get(match["subtype"].lower())
    if image_format is None:
        raise RequestInvalid(
            "the image must be PNG, JPEG, GIF or WebP (Bedrock's image formats)",
            field=f"{where}.url",
        )
    # the base64 data, its size, its signature and the image's dimensions are checked by
    # InferenceService.validate, as for a Converse image block
    return {"format": image_format, "source": {"bytes": match["data"]}}


def _inference(body: Mapping[str, Any]) -> tuple[dict[str, Any], str, bool]:
    """``inferenceConfig``, the name the caller used for the token cap, and whether ``stop``
    was one string."""
    params: dict[str, Any] = {}
    given = [k for k in ("max_completion_tokens", "max_tokens") if body.get(k) is not None]
    if len(given) == 2:
        raise RequestInvalid(
            "give 'max_completion_tokens' or 'max_tokens', not both", field="max_tokens"
        )
    key = given[0] if given else "max_completion_tokens"
    if given:
        params["maxTokens"] = body[key]
    temperature = body.get("temperature")
    if temperature is not None:
        # InferenceConfiguration.temperature: "Valid Range: Minimum value of 0. Maximum value of
        # 1." (Bedrock API reference); OpenAI's goes to 2, so values above 1 are refused rather
        # than rescaled.
        number = isinstance(temperature, (int, float)) and not isinstance(temperature, bool)
        if number and temperature > 1:
            raise RequestInvalid(
                "'temperature' must be between 0 and 1 (Bedrock's range; OpenAI's goes to 2)",
                field="temperature",
            )
        params["temperature"] = temperature
    if body.get("top_p") is not None:
        params["topP"] = body["top_p"]
    stop = body.get("stop")
    if stop is not None:
        params["stopSequences"] = [stop] if isinstance(stop, str) else stop
    return params, key, isinstance(stop, str)


# --- answers --------------------------------------------------------------------------------------
def chat_completion(answer: ConverseResponse, *, requested: str) -> dict[str, Any]:
    """The OpenAI ``chat.completion`` of a Converse answer."""
    usage = answer["usage"]
    return {
        "id": f"chatcmpl-{answer['requestId']}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": answer["model"]["alias"],
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": answer["message"]["content"],
                    "refusal": None,
                },
                "finish_reason": FINISH_REASONS.get(answer["stopReason"], "stop"),
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": usage["inputTokens"],
            "completion_tokens": usage["outputTokens"],
            "total_tokens": usage["totalTokens"],
        },
        "system_fingerprint": None,
        "bedrock": {
            "requestId": answer["requestId"],
            "requestedModel": requested,
            "modelId": answer["model"]["modelId"],
            "stopReason": answer["stopReason"],
            "guardrail": answer["guardrail"],
            "fallbacksUsed": answer["fallbacksUsed"],
            "latencyMs": answer["latencyMs"],
        },
    }


def model_list(config: InferenceConfig, aliases: Sequence[str]) -> dict[str, Any]:
    """The OpenAI ``list`` of ``aliases`` (the caller's allow-list, in its order)."""
    return {
        "object": "list",
        "data": [
            {
                "id": alias,
                "object": "model",
                "created": 0,
                "owned_by": provider(config.models[alias].model_id),
            }
            for alias in aliases
            if alias in config.models
        ],
    }


def provider(model_id: str) -> str:
    """The provider named in a model id, inference profile id or ARN (``bedrock`` for an
    application inference profile, whose id names none)."""
    name = model_id.rsplit("/", 1)[-1] if model_id.startswith("arn:") else model_id
    parts = name.split(".")
    if len(parts) > 2 and parts[0] in _GEOGRAPHIES:
        parts = parts[1:]
    return parts[0] if len(parts) > 1 and parts[0] else "bedrock"


def error_type(status: int) -> str:
    """OpenAI's error ``type`` for an HTTP status."""
    if status == 401:
        return "authentication_error"
    if status == 403:
        return "permission_error"
    if status == 429:
        return "rate_limit_error"
    if status >= 500:
        return "server_error"
    return "invalid_request_error"


def error_body(status: int, code: str, message: str, param: str | None) -> dict[str, Any]:
    """``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": error_type(status), "param": param, "code": code}}


def chat_request_json_schema() -> dict[str, Any]:
    """The envelope API Gateway checks before the function runs (JSON Schema draft 4).

    Only what every acceptable body has: an object with ``model`` (the same string rule as the
    Converse route's) and a non-empty ``messages`` list of objects with a string ``role``. Other
    keys are let through on purpose: the function names an unsupported or unknown parameter in
    its answer, which API Gateway's validator does not (its ``BAD_REQUEST_BODY`` response cannot
    carry ``$context.error.validationErrorString`` safely; see ``PrivateInferenceApi``).
    """
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": "ChatCompletionsRequest",
        "type": "object",
        "required": ["model", "messages"],
        "properties": {
            "model": _converse_model_schema(),
            "messages": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["role"],
                    "properties": {"role": {"type": "string"}},
                },
            },
        },
    }


def _converse_model_schema() -> dict[str, Any]:
    """``model``'s rule in the Converse route's request model (the alias string)."""
    model = request_json_schema()["properties"]["model"]
    return {k: v for k, v in model.items() if k in {"type", "minLength", "maxLength"}}
