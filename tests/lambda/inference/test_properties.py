"""Property-based: hostile and malformed requests always get a 4xx JSON answer, never a model call.

Each run tries 1,000 generated events (valid bodies broken by one invalidating mutation,
arbitrary text and JSON bodies, broken events: method, path, identity, base64, types) and another
1,000 hostile bodies (duplicate keys, escaped NUL characters, content that is blank after Unicode
normalisation, broken content blocks, truncated JSON, non-JSON content types). A third property
checks the generators' premise: the unmutated bodies are accepted, and API Gateway's request
model (``request_json_schema``, draft 4) accepts them too, so the two validators cannot drift.
"""

from __future__ import annotations

import base64
import copy
import functools
import json
from typing import Any

import jsonschema  # type: ignore[import-untyped,unused-ignore]  # no stubs pinned
from bedrock_inference import handler
from bedrock_inference.local import converse_answer
from bedrock_inference.models import is_blank, request_json_schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import (
    SEARCH_ARN,
    TEST_CONFIG,
    FakeClock,
    FakeContext,
    capture,
    converse_param_problems,
    load_event,
    make_event,
    settings_for,
)
from .media_samples import PDF, document_block, image_block, jpeg, png

ALLOWED = ["claude-haiku", "nova-lite"]  # team "search"
CAPS = {alias: TEST_CONFIG["models"][alias]["max_output_tokens"] for alias in ALLOWED}
LIMITS = TEST_CONFIG["limits"]
KNOWN_KEYS = {"model", "messages", "system", "inferenceConfig", "role", "content"} | {
    "maxTokens",
    "temperature",
    "topP",
    "stopSequences",
}
SCHEMA = jsonschema.Draft4Validator(request_json_schema())
INVISIBLE = "\u200b\u200c\u200d\ufeff\u2060\u00ad\u202e\u3000\u3164\ufe0f\u2800 \t\n"


class _Events:
    def register(self, *_: Any, **__: Any) -> None:
        return None


class _Meta:
    events = _Events()


class CountingClient:
    """Stands in for bedrock-runtime: counts calls, answers with a canned reply."""

    meta = _Meta()

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def converse(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        return converse_answer("ok")


SETTINGS = settings_for()  # immutable (frozen records): parsed once, not once per example


def _service(client: CountingClient) -> Any:
    """A fresh service per example (its breakers and telemetry start anew), on shared settings."""
    return handler.build_service(SETTINGS, client_factory=lambda _config: client, clock=FakeClock())


# --- valid bodies ---------------------------------------------------------------------------------
# U+0000 is refused anywhere; a lone surrogate is not a Unicode string (pydantic refuses it)
chars = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
text = st.text(chars, min_size=1, max_size=40).filter(lambda s: not is_blank(s))

# Every strategy the generators draw from is built once, here, rather than on each draw inside
# the @composite functions (hypothesis validates each new strategy object on its first draw:
# rebuilding them took a third of the generation time). The draws, and their order, are unchanged:
# a given seed generates the very same examples as when the strategies were built in place.
booleans = st.booleans()
images = st.sampled_from([("png", png(3, 4)), ("jpeg", jpeg())])
aliases = st.sampled_from(ALLOWED)
message_counts = st.integers(1, LIMITS["max_messages"])
unit_floats = st.floats(0, 1)
stop_sequences = st.lists(
    st.text(chars, min_size=1, max_size=LIMITS["max_stop_sequence_chars"]),
    max_size=LIMITS["max_stop_sequences"],
)
max_tokens = {alias: st.integers(1, CAPS[alias]) for alias in ALLOWED}


@st.composite
def contents(draw: st.DrawFn, role: str) -> Any:
    """A plain string, or content blocks (attachments in user messages only)."""
    if draw(booleans):
        return draw(text)
    blocks: list[dict[str, Any]] = [{"text": draw(text)}]
    if role == "user" and draw(booleans):
        blocks.append(image_block(*draw(images)))
    if role == "user" and draw(booleans):
        blocks.append(document_block("pdf", PDF))
    return draw(st.permutations(blocks))


role_contents = {role: contents(role) for role in ("user", "assistant")}


@st.composite
def valid_bodies(draw: st.DrawFn) -> dict[str, Any]:
    alias = draw(aliases)
    count = draw(message_counts)
    roles = ["user" if i % 2 == 0 else "assistant" for i in range(count)]
    out: dict[str, Any] = {
        "model": alias,
        "messages": [{"role": role, "content": draw(role_contents[role])} for role in roles],
    }
    if draw(booleans):
        out["system"] = draw(text)
    if draw(booleans):
        params: dict[str, Any] = {}
        if draw(booleans):
            params["maxTokens"] = draw(max_tokens[alias])
        if draw(booleans):
            params["temperature"] = draw(unit_floats)
        if draw(booleans):
            params["topP"] = draw(unit_floats)
        if draw(booleans):
            params["stopSequences"] = draw(stop_sequences)
        out["inferenceConfig"] = params
    return out


valid_body = valid_bodies()


# --- one invalidating mutation of a valid body ----------------------------------------------------
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@functools.cache  # one strategy per kind, not a new one per draw
def not_a(kind: type | tuple[type, ...]) -> st.SearchStrategy[Any]:
    # bool is an int for isinstance; strict validation rejects it anyway
    return json_values.filter(lambda v: not isinstance(v, kind) or isinstance(v, bool))


mutation_kinds = st.integers(0, 20)
required_keys = st.sampled_from(["model", "messages"])
unknown_models = st.text(max_size=70).filter(lambda s: s not in ALLOWED)
not_lists: st.SearchStrategy[Any] = not_a(list).filter(lambda v: v != []) | st.just([])
unknown_roles = st.text(max_size=12).filter(lambda s: s not in {"user", "assistant"})
whitespace = st.text(alphabet=" \t\n\r", max_size=5)
key_places = st.sampled_from(["top", "message", "params"])
unknown_keys = st.text(min_size=1, max_size=10).filter(lambda k: k not in KNOWN_KEYS)
too_many_messages = st.integers(LIMITS["max_messages"] + 1, LIMITS["max_messages"] + 10)
bad_systems = st.text(alphabet=" \n", max_size=3) | st.just("s" * (LIMITS["max_system_chars"] + 1))
bad_max_tokens = {
    alias: st.integers(CAPS[alias] + 1) | st.integers(max_value=0) for alias in ALLOWED
}
unit_keys = st.sampled_from(["temperature", "topP"])
bad_units = (
    st.floats(min_value=1.0001)
    | st.floats(max_value=-0.0001)
    | not_a((int, float)).filter(lambda v: v is not None)
)
bad_stop_sequences = (
    st.lists(
        st.text(min_size=1, max_size=3),
        min_size=LIMITS["max_stop_sequences"] + 1,
        max_size=8,
    )
    | st.lists(st.text(min_size=LIMITS["max_stop_sequence_chars"] + 1), min_size=1, max_size=2)
    | st.just([""])
)
non_null_not_dicts = not_a(dict).filter(lambda v: v is not None)
non_null_not_strs = not_a(str).filter(lambda v: v is not None)
blanks = st.text(alphabet=INVISIBLE, min_size=1, max_size=6)
nul_places = st.sampled_from(["content", "system", "model", "stop"])
nul_tails = st.text(max_size=3)


@st.composite
def invalid_bodies(draw: st.DrawFn) -> dict[str, Any]:
    b = copy.deepcopy(draw(valid_body))
    msgs = b["messages"]
    i = draw(st.integers(0, len(msgs) - 1))
    kind = draw(mutation_kinds)
    if kind == 0:
        del b[draw(required_keys)]
    elif kind == 1:
        b["model"] = draw(unknown_models)
    elif kind == 2:
        b["model"] = draw(not_a(str))
    elif kind == 3:
        b["messages"] = draw(not_lists)
    elif kind == 4:
        msgs[i]["role"] = draw(unknown_roles)
    elif kind == 5:  # break alternation
        msgs[i]["role"] = "assistant" if msgs[i]["role"] == "user" else "user"
    elif kind == 6:
        msgs[i]["content"] = draw(not_a(str))
    elif kind == 7:
        msgs[i]["content"] = draw(whitespace)
    elif kind == 8:
        where = draw(key_places)
        key = draw(unknown_keys)
        target = b if where == "top" else msgs[i] if where == "message" else None
        if target is None:
            target = b.setdefault("inferenceConfig", {})
        target[key] = draw(json_values)
    elif kind == 9:  # too many messages
        extra = draw(too_many_messages)
        b["messages"] = [
            {"role": "user" if n % 2 == 0 else "assistant", "content": "x"} for n in range(extra)
        ]
    elif kind == 10:
        msgs[i]["content"] = "y" * (LIMITS["max_total_chars"] + 1)
    elif kind == 11:
        b["system"] = draw(bad_systems)
    elif kind == 12:
        b["inferenceConfig"] = {"maxTokens": draw(bad_max_tokens[b["model"]])}
    elif kind == 13:
        key = draw(unit_keys)
        value = draw(bad_units)
        b["inferenceConfig"] = {key: value}
    elif kind == 14:
        b["inferenceConfig"] = {"stopSequences": draw(bad_stop_sequences)}
    elif kind == 15:
        b["inferenceConfig"] = draw(non_null_not_dicts)
    elif kind == 16:
        b["system"] = draw(non_null_not_strs)
    elif kind == 18:  # blank after Unicode normalisation, as a string or a text block
        blank = draw(blanks)
        msgs[i]["content"] = blank if draw(booleans) else [{"text": blank}]
    elif kind == 19:  # a NUL character somewhere (json.dumps escapes it as \u0000)
        where = draw(nul_places)
        nul = draw(text) + "\x00" + draw(nul_tails)
        if where == "content":
            msgs[i]["content"] = nul
        elif where == "system":
            b["system"] = nul
        elif where == "model":
            b["model"] = b["model"] + "\x00"
        else:
            b["inferenceConfig"] = {"stopSequences": ["\x00"]}
    elif kind == 20:  # a broken content block
        msgs[0]["content"] = [{"text": "see"}, draw(bad_blocks)]
    else:
        msgs.insert(0, {"role": "assistant", "content": "I start"})
    return b


bad_blocks = st.one_of(
    st.just({}),
    st.just({"text": "a", **image_block()}),
    st.dictionaries(
        st.text(min_size=1, max_size=8).filter(lambda k: k not in {"text", "image", "document"}),
        json_values,
        min_size=1,
        max_size=2,
    ),
    st.builds(
        image_block,
        st.text(max_size=6).filter(lambda f: f not in {"png", "jpeg", "gif", "webp"}),
    ),
    st.builds(
        lambda data: {"image": {"format": "png", "source": {"bytes": data}}},
        st.text(max_size=30),  # rarely valid base64, never a PNG
    ),
    st.builds(lambda raw: image_block("png", raw), st.binary(max_size=40)),
    st.just(image_block("png", png(8001, 1))),
    st.just(image_block("jpeg", png())),
    st.builds(
        lambda name: document_block(name=name),
        st.text(max_size=30).filter(
            lambda n: (
                not n.replace(" ", "").isalnum()
                or "  " in n
                or n != n.strip()
                or not n
                or not n.isascii()
            )
        ),
    ),
    st.builds(
        lambda fmt: document_block(fmt=fmt),
        st.text(max_size=5).filter(
            lambda f: f not in {"pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md"}
        ),
    ),
    st.just(document_block("pdf", b"not a pdf")),
    st.builds(lambda v: {"image": v}, json_values),
    st.builds(lambda v: {"document": v}, json_values),
)


# --- whole requests -------------------------------------------------------------------------------
ROUTE = "/v1/converse"


invalid_body = invalid_bodies()
event_choices = st.integers(0, 9)
text_bodies = st.text(min_size=1, max_size=200)
not_requests = json_values.filter(
    lambda v: not (isinstance(v, dict) and {"model", "messages"} <= set(v))
)
base64_texts = st.text(max_size=80) | st.binary(max_size=80).map(
    lambda b: base64.b64encode(b).decode()
)
wrong_methods = st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "post"])
other_paths = st.text(max_size=30).filter(lambda p: p.rstrip("/") != ROUTE)
odd_arns = (
    st.text(max_size=120)
    | st.just(SEARCH_ARN.replace("team-search", "team-unknown"))
    | st.just("arn:aws:iam::123456789012:user/bedrock-lz-default-team-search")
    | st.just(SEARCH_ARN.rsplit("/", 1)[0])
)
damages = st.sampled_from(["no-context", "context", "identity", "body-type"])
not_objects = json_values.filter(lambda v: not isinstance(v, dict))


@st.composite
def hostile_events(draw: st.DrawFn) -> Any:
    choice = draw(event_choices)
    if choice == 0:  # a broken body in a good event
        return make_event(draw(invalid_body))
    if choice == 1:  # arbitrary text as the body
        return make_event(raw_body=draw(text_bodies))
    if choice == 2:  # arbitrary JSON that is not a request
        value = draw(not_requests)
        return make_event(raw_body=json.dumps(value))
    if choice == 3:  # base64 flag with arbitrary (often invalid) content
        event = make_event(draw(invalid_body))
        raw = draw(base64_texts | st.just(base64.b64encode(event["body"].encode()).decode()))
        event["isBase64Encoded"], event["body"] = True, raw
        return event
    if choice == 4:  # wrong method on the route
        method = draw(wrong_methods)
        return make_event(draw(valid_body), method=method)
    if choice == 5:  # another path
        path = draw(other_paths)
        return make_event(draw(valid_body), path=path)
    if choice == 6:  # unknown or odd callers
        arn = draw(odd_arns)
        return make_event(draw(valid_body), user_arn=arn)
    if choice == 7:  # structural damage to the event
        event = make_event(draw(valid_body))
        damage = draw(damages)
        if damage == "no-context":
            del event["requestContext"]
        elif damage == "context":
            event["requestContext"] = draw(not_a(dict))
        elif damage == "identity":
            event["requestContext"]["identity"] = draw(not_a(dict))
        else:
            event["body"] = draw(non_null_not_strs)
        return event
    if choice == 8:  # oversized bodies
        return make_event(raw_body='{"model": "' + "m" * LIMITS["max_body_bytes"] + '"}')
    return draw(not_objects)  # not even an object


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=hostile_events())
def test_hostile_requests_always_get_a_4xx_json_answer(event: Any) -> None:
    client = CountingClient()
    with capture():
        raw = handler.handle(event, FakeContext(), _service(client))
    assert 400 <= raw["statusCode"] < 500, raw
    assert raw["headers"]["Content-Type"] == "application/json"
    answer = json.loads(raw["body"])
    assert set(answer) == {"error", "requestId"}
    assert set(answer["error"]) == {"code", "field", "message"}
    assert isinstance(answer["error"]["message"], str) and answer["error"]["message"]
    assert "Traceback" not in raw["body"]
    assert client.calls == []


# --- hostile bodies -------------------------------------------------------------------------------
def _with_duplicate(b: dict[str, Any], draw: st.DrawFn) -> str:
    """``b`` as JSON text with one key written twice (the first value differs)."""
    where = draw(key_places)
    decoy = json.dumps(draw(json_values))
    if where == "top" or (where == "params" and "inferenceConfig" not in b):
        key = draw(st.sampled_from(sorted(b)))
        return "{" + json.dumps(key) + ": " + decoy + ", " + json.dumps(b)[1:]
    if where == "params" and isinstance(b["inferenceConfig"], dict) and b["inferenceConfig"]:
        params = b["inferenceConfig"]
        key = draw(st.sampled_from(sorted(params)))
        inner = "{" + json.dumps(key) + ": " + decoy + ", " + json.dumps(params)[1:]
        return json.dumps({**b, "inferenceConfig": "@@"}).replace('"@@"', inner)
    msgs = b["messages"]
    i = draw(st.integers(0, len(msgs) - 1))
    inner = '{"role": ' + decoy + ", " + json.dumps(msgs[i])[1:]
    placeholder = [*msgs[:i], "@@", *msgs[i + 1 :]]
    return json.dumps({**b, "messages": placeholder}).replace('"@@"', inner)


body_kinds = st.integers(0, 6)
not_json_media_types = st.sampled_from(
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
        "application/json; charset=utf-16",
        "multipart/form-data",
    ]
) | st.text(max_size=20).filter(lambda t: "json" not in t.lower())
depths = st.integers(1, 3000)
anything = st.text(st.characters(), min_size=1, max_size=200)  # surrogates and NUL included
no_or_text_media_type = st.none() | st.just("text/plain")


@st.composite
def hostile_bodies(draw: st.DrawFn) -> tuple[str, str | None]:
    """(raw body, Content-Type header or None)."""
    kind = draw(body_kinds)
    if kind == 0:
        return json.dumps(draw(invalid_body)), "application/json"
    if kind == 1:
        return _with_duplicate(draw(valid_body), draw), "application/json"
    if kind == 2:  # a valid body declared as something else than JSON
        media_type = draw(not_json_media_types)
        return json.dumps(draw(valid_body)), media_type
    if kind == 3:  # valid JSON cut short
        whole = json.dumps(draw(valid_body))
        return whole[: draw(st.integers(1, len(whole) - 1))], "application/json"
    if kind == 4:  # an escaped NUL spliced into a valid body's first string value
        whole = json.dumps(draw(valid_body))
        return whole.replace('": "', '": "\\u0000', 1), None
    if kind == 5:  # deep or odd JSON
        depth = draw(depths)
        return "[" * depth + "]" * draw(st.integers(0, depth)), "application/json"
    return draw(anything), draw(no_or_text_media_type)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile=hostile_bodies())
def test_hostile_bodies_always_get_a_4xx_json_answer(hostile: tuple[str, str | None]) -> None:
    raw_body, media_type = hostile
    event = make_event(raw_body=raw_body)
    event["headers"] = {} if media_type is None else {"Content-Type": media_type}
    client = CountingClient()
    with capture():
        raw = handler.handle(event, FakeContext(), _service(client))
    assert 400 <= raw["statusCode"] < 500, raw
    answer = json.loads(raw["body"])
    assert set(answer) == {"error", "requestId"}
    assert set(answer["error"]) == {"code", "field", "message"}
    assert answer["error"]["message"] and answer["error"]["field"]
    assert client.calls == []


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=valid_body)
def test_valid_requests_reach_bedrock_within_the_caps(request: dict[str, Any]) -> None:
    SCHEMA.validate(request)  # API Gateway's model accepts whatever the function accepts
    client = CountingClient()
    with capture():
        raw = handler.handle(make_event(request), FakeContext(), _service(client))
    assert raw["statusCode"] == 200, raw
    (params,) = client.calls
    # what botocore's parameter validation, off in the function's clients, would check
    assert not converse_param_problems(params)
    assert params["inferenceConfig"]["maxTokens"] <= CAPS[request["model"]]
    assert params["guardrailConfig"]["trace"] == "disabled"
    assert set(params["requestMetadata"]) == {"team", "caller", "requestId"}


def test_fixture_event_is_valid_for_the_properties() -> None:
    assert load_event("converse_ok")["requestContext"]["identity"]["userArn"] == SEARCH_ARN
