"""Input hygiene and Converse content blocks: every rejection is a 4xx JSON naming the field.

Rules from the Bedrock API reference (Converse request shapes):

- Message.content: "You can include up to 20 images. Each image's size, height, and width must
  be no more than 3.75 MB, 8000 px, and 8000 px, respectively. You can include up to five
  documents. Each document's size must be no more than 4.5 MB. If you include a ContentBlock with
  a document field in the array, you must also include a ContentBlock with a text field. You can
  only include images and documents if the role is user."
- ImageBlock.format: png | jpeg | gif | webp. DocumentBlock.format: pdf | csv | doc | docx | xls |
  xlsx | html | txt | md. DocumentBlock.name: alphanumerics, whitespace (no more than one in a
  row), hyphens, parentheses, square brackets; 1 to 200 characters.
- ImageSource / DocumentSource ``bytes``: base64-encoded binary data in the JSON API.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema  # type: ignore[import-untyped,unused-ignore]  # no stubs pinned
import pytest
from bedrock_inference import media
from bedrock_inference.models import is_blank, request_json_schema

from . import GUARDRAIL, MODEL_IDS, SEARCH_ARN, TEST_CONFIG, capture, make_event, make_harness
from .media_samples import (
    CSV,
    DOC,
    DOCX,
    PDF,
    b64,
    document_block,
    gif,
    image_block,
    jpeg,
    png,
    webp_vp8,
    webp_vp8l,
    webp_vp8x,
)

REQUEST_ID = "6c1f8a9e-1d2b-4c3d-9e8f-0a1b2c3d4e5f"


def _body(*contents: Any, model: str = "nova-lite") -> dict[str, Any]:
    return {
        "model": model,
        "messages": [
            {"role": "user" if i % 2 == 0 else "assistant", "content": c}
            for i, c in enumerate(contents)
        ],
    }


def _reject(payload: Any, *, raw: str | None = None, config: dict[str, Any] | None = None) -> Any:
    h = make_harness(config)
    reply = h.call(make_event(payload, raw_body=raw))
    h.stubber.assert_no_pending_responses()
    assert 400 <= reply.status < 500
    assert set(reply.body) == {"error", "requestId"}
    assert set(reply.error) == {"code", "field", "message"} and reply.error["message"]
    return reply


# --- Content-Type ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/octet-stream",
        "application/json; charset=iso-8859-1",
        "application/jsonp",
        "",
    ],
)
def test_a_non_json_content_type_is_415(value: str) -> None:
    h = make_harness()
    event = make_event(_body("hi"))
    event["headers"] = {"content-type": value}  # header names are case-insensitive
    reply = h.call(event)
    assert (reply.status, reply.error["code"], reply.error["field"]) == (
        415,
        "unsupported_media_type",
        "headers.Content-Type",
    )


@pytest.mark.parametrize(
    "value",
    ["application/json", "Application/JSON; charset=UTF-8", "application/vnd.api+json", None],
)
def test_json_content_types_are_accepted(value: str | None) -> None:
    h = make_harness()
    h.answer()
    event = make_event(_body("hi"))
    event["headers"] = {} if value is None else {"Content-Type": value}
    assert h.call(event).status == 200


def test_the_caller_is_checked_before_the_content_type() -> None:
    h = make_harness()
    event = make_event(_body("hi"), user_arn=None)
    event["headers"]["Content-Type"] = "text/plain"
    assert h.call(event).status == 403


# --- duplicate keys, NUL --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"model": "nova-lite", "model": "claude-haiku", "messages": []}', "model"),
        (
            '{"model": "nova-lite", "messages": [{"role": "user", "role": "assistant", '
            '"content": "x"}]}',
            "messages[0].role",
        ),
        (
            '{"model": "nova-lite", "messages": [{"role": "user", "content": "x"}], '
            '"inferenceConfig": {"maxTokens": 1, "maxTokens": 9999}}',
            "inferenceConfig.maxTokens",
        ),
    ],
)
def test_duplicate_keys_are_a_400_naming_the_key(raw: str, field: str) -> None:
    reply = _reject(None, raw=raw)
    assert (reply.status, reply.error["code"], reply.error["field"]) == (400, "invalid_json", field)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (
            '{"model": "nova-lite", "messages": [{"role": "user", "content": "a\\u0000b"}]}',
            "messages[0].content",
        ),
        (
            '{"model": "nova-lite", "messages": [{"role": "user", "content": "x"}], '
            '"system": "\\u0000"}',
            "system",
        ),
        ('{"model": "nova\\u0000", "messages": [{"role": "user", "content": "x"}]}', "model"),
        (
            '{"model": "nova-lite", "messages": [{"role": "user", "content": [{"text": "ok"}, '
            '{"text": "\\u0000"}]}]}',
            "messages[0].content[1].text",
        ),
        ('{"model": "nova-lite", "k\\u0000": 1}', "body"),
    ],
)
def test_nul_characters_are_a_400_naming_the_field(raw: str, field: str) -> None:
    reply = _reject(None, raw=raw)
    assert (reply.status, reply.error["code"], reply.error["field"]) == (
        400,
        "invalid_request",
        field,
    )


def test_an_escaped_backslash_before_u0000_is_not_a_nul() -> None:
    h = make_harness()
    h.answer()
    raw = '{"model": "nova-lite", "messages": [{"role": "user", "content": "C:\\\\u0000"}]}'
    assert h.call(make_event(raw_body=raw)).status == 200


def test_a_raw_nul_byte_is_invalid_json() -> None:
    reply = _reject(None, raw='{"model": "nova-lite\x00"}')
    assert (reply.status, reply.error["code"]) == (400, "invalid_json")


# --- blank after Unicode normalisation ------------------------------------------------------------
BLANKS = [
    "\u200b\u200c\u200d",  # zero-width space, non-joiner, joiner (Cf)
    "\ufeff\u2060\u00ad",  # BOM, word joiner, soft hyphen (Cf)
    "\u202e\u2066\u2069",  # bidi controls (Cf)
    "\u3000\u2003\u00a0",  # ideographic, em and no-break spaces (NFKC: spaces)
    "\u3164\u115f",  # Hangul fillers
    "\ufe0f\u034f",  # a variation selector, the combining grapheme joiner
    "\u2800",  # Braille blank
    " \t\n",
]


@pytest.mark.parametrize("text", BLANKS)
def test_blank_after_normalisation(text: str) -> None:
    assert is_blank(text)
    reply = _reject(_body(text))
    assert (reply.status, reply.error["field"]) == (400, "messages[0].content")
    assert "blank" in reply.error["message"]


@pytest.mark.parametrize("text", ["a\u200b", "\u200b.", "日本", "\u0301e", "😀"])
def test_visible_text_is_not_blank(text: str) -> None:
    assert not is_blank(text)


def test_a_blank_text_block_or_system_prompt_is_named() -> None:
    reply = _reject(_body([{"text": "fine"}, {"text": "\u200b"}]))
    assert reply.error["field"] == "messages[0].content[1].text"
    reply = _reject({**_body("hi"), "system": "\u200b\ufeff"})
    assert reply.error["field"] == "system"


# --- content blocks that are accepted -------------------------------------------------------------
def _expected(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {
        "modelId": MODEL_IDS["nova-lite"],
        "messages": [{"role": "user", "content": list(blocks)}],
        "inferenceConfig": {"maxTokens": 2048},
        "guardrailConfig": GUARDRAIL,
        "requestMetadata": {"team": "search", "caller": SEARCH_ARN, "requestId": REQUEST_ID},
    }


def test_text_image_and_document_blocks_reach_converse_with_decoded_bytes() -> None:
    h = make_harness()
    h.answer(
        "I see a pixel",
        expected_params=_expected(
            {"text": "What is this?"},
            {"image": {"format": "png", "source": {"bytes": png()}}},
            {
                "document": {
                    "format": "pdf",
                    "name": "Quarterly report (draft)",
                    "source": {"bytes": PDF},
                }
            },
        ),
    )
    reply = h.call(make_event(_body([{"text": "What is this?"}, image_block(), document_block()])))
    h.stubber.assert_no_pending_responses()
    assert reply.status == 200
    assert reply.body["message"]["content"] == "I see a pixel"


@pytest.mark.parametrize(
    ("fmt", "raw"),
    [
        ("png", png(800, 600)),
        ("jpeg", jpeg(8000, 8000)),
        ("gif", gif(1, 1)),
        ("webp", webp_vp8(320, 200)),
        ("webp", webp_vp8l(640, 480)),
        ("webp", webp_vp8x(4000, 3000)),
    ],
)
def test_every_image_format_is_accepted(fmt: str, raw: bytes) -> None:
    h = make_harness()
    h.answer()
    reply = h.call(make_event(_body([{"text": "describe"}, image_block(fmt, raw)])))
    assert reply.status == 200


@pytest.mark.parametrize(
    ("fmt", "raw"),
    [
        ("pdf", PDF),
        ("docx", DOCX),
        ("xlsx", DOCX),
        ("doc", DOC),
        ("xls", DOC),
        ("csv", CSV),
        ("txt", b"plain"),
        ("md", b"# t"),
        ("html", b"<p>x</p>"),
    ],
)
def test_every_document_format_is_accepted(fmt: str, raw: bytes) -> None:
    h = make_harness()
    h.answer()
    reply = h.call(make_event(_body([{"text": "summarise"}, document_block(fmt, raw)])))
    assert reply.status == 200


@pytest.mark.parametrize(
    ("fmt", "raw", "size"),
    [
        ("png", png(123, 45), (123, 45)),
        ("jpeg", jpeg(1920, 1080), (1920, 1080)),
        ("gif", gif(7, 9), (7, 9)),
        ("webp", webp_vp8(300, 200), (300, 200)),
        ("webp", webp_vp8l(16383, 2), (16383, 2)),
        ("webp", webp_vp8x(16777216, 1), (16777216, 1)),
    ],
)
def test_image_sizes_are_read_from_the_header(fmt: str, raw: bytes, size: tuple[int, int]) -> None:
    assert media.image_size(raw, fmt) == size


# --- content blocks that are refused --------------------------------------------------------------
def _limits(**changes: int) -> dict[str, Any]:
    config = copy.deepcopy(TEST_CONFIG)
    config["limits"].update(changes)
    return config


REFUSED: list[tuple[str, dict[str, Any], str, dict[str, Any] | None]] = [
    ("unknown block kind", _body([{"video": {}}]), "messages[0].content[0].video", None),
    ("empty block", _body([{}]), "messages[0].content[0]", None),
    (
        "two kinds in one block",
        _body([{"text": "a", **image_block()}]),
        "messages[0].content[0]",
        None,
    ),
    ("text block not a string", _body([{"text": 5}]), "messages[0].content[0].text", None),
    (
        "image format",
        _body([{"text": "a"}, {"image": {"format": "bmp", "source": {"bytes": b64(png())}}}]),
        "messages[0].content[1].image.format",
        None,
    ),
    (
        "image by S3 location",
        _body(
            [
                {"text": "a"},
                {"image": {"format": "png", "source": {"s3Location": {"uri": "s3://b/k"}}}},
            ]
        ),
        "messages[0].content[1].image.source.bytes",
        None,
    ),
    (
        "image not base64",
        _body([{"text": "a"}, {"image": {"format": "png", "source": {"bytes": "not base64!"}}}]),
        "messages[0].content[1].image.source.bytes",
        None,
    ),
    (
        "image bytes of another format",
        _body([{"text": "a"}, image_block("png", jpeg())]),
        "messages[0].content[1].image.source.bytes",
        None,
    ),
    (
        "image not an image",
        _body([{"text": "a"}, image_block("gif", b"hello")]),
        "messages[0].content[1].image.source.bytes",
        None,
    ),
    (
        "image too wide",
        _body([{"text": "a"}, image_block("png", png(8001, 10))]),
        "messages[0].content[1].image",
        None,
    ),
    (
        "image too tall",
        _body([{"text": "a"}, image_block("jpeg", jpeg(10, 9000))]),
        "messages[0].content[1].image",
        None,
    ),
    (
        "image too large",
        _body([{"text": "a"}, image_block("png", png() + b"\x00" * 100)]),
        "messages[0].content[1].image.source.bytes",
        _limits(max_image_bytes=64),
    ),
    (
        "too many images",
        _body([{"text": "a"}, image_block(), image_block(), image_block()]),
        "messages[0].content[3]",
        _limits(max_images=2),
    ),
    (
        "image in an assistant message",
        _body("q", [{"text": "a"}, image_block()], "q2"),
        "messages[1].content[1]",
        None,
    ),
    ("document without a text block", _body([document_block()]), "messages[0].content", None),
    (
        "document name with a dot",
        _body([{"text": "a"}, document_block(name="report.pdf")]),
        "messages[0].content[1].document.name",
        None,
    ),
    (
        "document name with two spaces",
        _body([{"text": "a"}, document_block(name="a  b")]),
        "messages[0].content[1].document.name",
        None,
    ),
    (
        "document name too long",
        _body([{"text": "a"}, document_block(name="n" * 201)]),
        "messages[0].content[1].document.name",
        None,
    ),
    (
        "document format",
        _body([{"text": "a"}, document_block(fmt="exe")]),
        "messages[0].content[1].document.format",
        None,
    ),
    (
        "document bytes not a pdf",
        _body([{"text": "a"}, document_block("pdf", DOCX)]),
        "messages[0].content[1].document.source.bytes",
        None,
    ),
    (
        "document empty",
        _body(
            [{"text": "a"}, {"document": {"format": "txt", "name": "n", "source": {"bytes": ""}}}]
        ),
        "messages[0].content[1].document.source.bytes",
        None,
    ),
    (
        "document too large",
        _body([{"text": "a"}, document_block("txt", b"x" * 100)]),
        "messages[0].content[1].document.source.bytes",
        _limits(max_document_bytes=99),
    ),
    (
        "too many documents",
        _body([{"text": "a"}, document_block(), document_block()]),
        "messages[0].content[2]",
        _limits(max_documents=1),
    ),
    (
        "document in an assistant message",
        _body("q", [{"text": "a"}, document_block()], "q2"),
        "messages[1].content[1]",
        None,
    ),
]


@pytest.mark.parametrize(
    ("payload", "field", "config"),
    [pytest.param(*case[1:], id=case[0]) for case in REFUSED],
)
def test_refused_content_blocks_name_the_field(
    payload: dict[str, Any], field: str, config: dict[str, Any] | None
) -> None:
    reply = _reject(payload, config=config)
    assert (reply.status, reply.error["code"], reply.error["field"]) == (
        400,
        "invalid_request",
        field,
    )


def test_attachments_are_logged_by_size_only_with_log_content() -> None:
    config = copy.deepcopy(TEST_CONFIG)
    config["log_content"] = True
    h = make_harness(config)
    h.answer("a pixel")
    with capture() as out:
        reply = h.call(make_event(_body([{"text": "look"}, image_block()])))
    assert reply.status == 200
    summary = next(line for line in out.logs if line["message"] == "converse request finished")
    assert summary["content"]["messages"] == [
        {
            "role": "user",
            "content": [
                {"text": "look"},
                {"image": {"format": "png", "source": {"bytes": f"<{len(png())} bytes>"}}},
            ],
        }
    ]
    assert b64(png()) not in out.text


# --- the JSON Schema for API Gateway --------------------------------------------------------------
def _keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in _keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in _keys(v)}
    return set()


def test_the_request_schema_is_draft_4_without_references() -> None:
    schema = request_json_schema()
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    jsonschema.Draft4Validator.check_schema(schema)
    assert not _keys(schema) & {"$ref", "$defs", "definitions", "const", "prefixItems"}
    assert json.loads(json.dumps(schema)) == schema  # plain JSON, ready for a CfnModel
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"model", "messages"}


@pytest.mark.parametrize(
    "payload",
    [
        _body("hi"),
        _body([{"text": "q"}, image_block(), document_block()], "answer", "again"),
        {**_body("hi"), "system": "s", "inferenceConfig": {"maxTokens": 5, "topP": 0.5}},
    ],
)
def test_the_schema_accepts_what_the_function_accepts(payload: dict[str, Any]) -> None:
    jsonschema.Draft4Validator(request_json_schema()).validate(payload)


@pytest.mark.parametrize(
    "payload",
    [
        {"messages": [{"role": "user", "content": "x"}]},
        {**_body("hi"), "stream": True},
        _body([{"text": "a", **image_block()}]),
        _body([{}]),
        _body([{"text": "a"}, {"image": {"format": "bmp", "source": {"bytes": "AA=="}}}]),
        _body([{"text": "a"}, document_block(name="report.pdf")]),
        _body(""),
        _body([]),
        {**_body("hi"), "inferenceConfig": {"temperature": 2}},
    ],
)
def test_the_schema_refuses_what_the_function_refuses_by_shape(payload: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(request_json_schema()).validate(payload)
    assert 400 <= make_harness().call(make_event(payload)).status < 500


@pytest.mark.parametrize("field", ["temperature", "topP", "maxTokens"])
def test_a_number_too_large_for_a_float_is_a_400_naming_the_field(field: str) -> None:
    """JSON has no size limit on integers and json.loads keeps a 400-digit one exact: it must not
    reach a float conversion (OverflowError, a 500)."""
    reply = make_harness().call(make_event({**_body("hi"), "inferenceConfig": {field: 10**400}}))
    assert reply.status == 400, reply.body
    assert reply.body["error"]["field"] == f"inferenceConfig.{field}"
