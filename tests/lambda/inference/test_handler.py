"""Every outcome of POST /v1/converse, each against a Stubber-backed bedrock-runtime client."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

from . import (
    ASSISTANT_ARN,
    GUARDRAIL,
    MODEL_IDS,
    SEARCH_ARN,
    Harness,
    body,
    capture,
    load_event,
    make_event,
    make_harness,
    options,
)

REQUEST_ID = "6c1f8a9e-1d2b-4c3d-9e8f-0a1b2c3d4e5f"  # requestContext.requestId of the fixture


def _raise_on_call(h: Harness, exc: Exception, *, takes_s: float = 0) -> None:
    """Make the next Converse call fail with a transport error, ahead of the Stubber's hooks."""
    state = {"armed": True}

    def hook(**_: Any) -> None:
        if state["armed"]:
            state["armed"] = False
            h.clock.advance(takes_s)
            raise exc

    h.client.meta.events.register_first("provide-client-params.bedrock-runtime.Converse", hook)


def _read_timeout() -> Exception:
    return ReadTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com")


def _connect_timeout() -> Exception:
    return ConnectTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com")


# --- success --------------------------------------------------------------------------------------
def test_success_sends_guardrail_metadata_and_capped_params_and_returns_the_answer() -> None:
    h = make_harness()
    h.answer(
        "A set of...",
        input_tokens=21,
        output_tokens=7,
        expected_params={
            "modelId": MODEL_IDS["claude-haiku"],
            "messages": [{"role": "user", "content": [{"text": "What is a landing zone?"}]}],
            "system": [{"text": "You answer in one sentence."}],
            "inferenceConfig": {"maxTokens": 512, "temperature": 0.2},
            "guardrailConfig": GUARDRAIL,
            "requestMetadata": {"team": "search", "caller": SEARCH_ARN, "requestId": REQUEST_ID},
        },
    )
    reply = h.call(load_event("converse_ok"))
    h.stubber.assert_no_pending_responses()
    assert reply.status == 200
    assert reply.body == {
        "requestId": REQUEST_ID,
        "model": {"alias": "claude-haiku", "modelId": MODEL_IDS["claude-haiku"]},
        "message": {"role": "assistant", "content": "A set of..."},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 21, "outputTokens": 7, "totalTokens": 28},
        "latencyMs": 0,
        "guardrail": {"intervened": False, "action": "NONE"},
        "fallbacksUsed": 0,
    }


def test_max_tokens_defaults_to_the_model_cap_and_multi_turn_is_forwarded() -> None:
    h = make_harness()
    h.answer(
        "ok",
        stop_reason="max_tokens",
        input_tokens=1,
        output_tokens=2,
        expected_params={
            "modelId": MODEL_IDS["claude-sonnet"],
            "messages": [
                {"role": "user", "content": [{"text": "q1"}]},
                {"role": "assistant", "content": [{"text": "a1"}]},
                {"role": "user", "content": [{"text": "q2"}]},
            ],
            "inferenceConfig": {"maxTokens": 4096, "topP": 0.9, "stopSequences": ["END"]},
            "guardrailConfig": GUARDRAIL,
            "requestMetadata": {
                "team": "assistant",
                "caller": ASSISTANT_ARN,
                "requestId": REQUEST_ID,
            },
        },
    )
    event = make_event(
        body("claude-sonnet", "q1", "a1", "q2", inference={"topP": 0.9, "stopSequences": ["END"]}),
        user_arn=ASSISTANT_ARN,
    )
    reply = h.call(event)
    assert reply.status == 200
    assert reply.body["stopReason"] == "max_tokens"


def test_guardrail_intervention_is_a_200_carrying_the_blocked_message() -> None:
    h = make_harness()
    h.answer("Sorry, I cannot help with that.", stop_reason="guardrail_intervened")
    with capture() as out:
        reply = h.call(make_event(body()))
    assert reply.status == 200
    assert reply.body["guardrail"] == {"intervened": True, "action": "GUARDRAIL_INTERVENED"}
    assert reply.body["message"]["content"] == "Sorry, I cannot help with that."
    assert reply.body["stopReason"] == "guardrail_intervened"
    assert out.metric_values()["GuardrailInterventions"] == 1


def test_base64_encoded_body_is_decoded() -> None:
    h = make_harness()
    h.answer("decoded")
    reply = h.call(load_event("converse_base64"))
    assert reply.status == 200
    assert reply.body["message"]["content"] == "decoded"


# --- a single candidate (nova-lite has no fallbacks): each Bedrock error class --------------------
@pytest.mark.parametrize(
    ("code", "http", "status", "error_code", "retry_after"),
    [
        ("ThrottlingException", 429, 429, "throttled", "2"),
        ("AccessDeniedException", 403, 403, "model_access_denied", None),
        ("ValidationException", 400, 400, "model_rejected_request", None),
        ("ModelTimeoutException", 408, 504, "model_timeout", None),
        ("ModelErrorException", 424, 502, "model_error", None),
        ("ServiceUnavailableException", 503, 502, "model_error", None),
        ("ModelNotReadyException", 429, 502, "model_error", None),
        ("InternalServerException", 500, 502, "model_error", None),
        ("ResourceNotFoundException", 404, 502, "model_error", None),
        ("SomethingNewException", 400, 502, "model_error", None),
    ],
)
def test_bedrock_error_maps_to_status(
    code: str, http: int, status: int, error_code: str, retry_after: str | None
) -> None:
    h = make_harness()
    h.fail(code, http, "the model says no")
    reply = h.call(make_event(body("nova-lite")))
    h.stubber.assert_no_pending_responses()
    assert reply.status == status
    assert reply.error["code"] == error_code
    assert reply.body["requestId"] == REQUEST_ID
    assert reply.headers.get("Retry-After") == retry_after


def test_bedrock_validation_message_is_passed_on() -> None:
    h = make_harness()
    h.fail("ValidationException", 400, "Input is too long for requested model.")
    reply = h.call(make_event(body("nova-lite")))
    assert reply.error["message"].endswith("Input is too long for requested model.")


def test_access_denied_is_logged_as_an_operator_error() -> None:
    h = make_harness()
    h.fail("AccessDeniedException", 403)
    with capture() as out:
        reply = h.call(make_event(body("nova-lite")))
    assert reply.status == 403
    errors = [line for line in out.logs if line["level"] == "ERROR"]
    assert len(errors) == 1
    assert errors[0]["message"].startswith("operator error")
    assert errors[0]["model_id"] == MODEL_IDS["nova-lite"]


@pytest.mark.parametrize("transport_error", [_read_timeout, _connect_timeout])
def test_transport_timeout_is_504(transport_error: Any) -> None:
    h = make_harness()
    _raise_on_call(h, transport_error())
    reply = h.call(make_event(body("nova-lite")))
    assert reply.status == 504
    assert reply.error["code"] == "model_timeout"


# --- fallback chain (claude-haiku → nova-lite) ----------------------------------------------------
@pytest.mark.parametrize(
    "fail",
    [
        ("ThrottlingException", 429),
        ("ModelNotReadyException", 429),
        ("ServiceUnavailableException", 503),
        ("InternalServerException", 500),
        ("ModelTimeoutException", 408),
        "read-timeout",
    ],
)
def test_fallback_answers_when_the_primary_fails_transiently(fail: Any) -> None:
    h = make_harness()
    if fail == "read-timeout":
        _raise_on_call(h, _read_timeout())
    else:
        h.fail(*fail)
    h.answer(
        "from nova",
        input_tokens=3,
        output_tokens=4,
        expected_params={
            "modelId": MODEL_IDS["nova-lite"],
            "messages": [{"role": "user", "content": [{"text": "What is a landing zone?"}]}],
            "inferenceConfig": {"maxTokens": 2048},
            "guardrailConfig": GUARDRAIL,
            "requestMetadata": {"team": "search", "caller": SEARCH_ARN, "requestId": REQUEST_ID},
        },
    )
    with capture() as out:
        reply = h.call(make_event(body("claude-haiku")))
    h.stubber.assert_no_pending_responses()
    assert reply.status == 200
    assert reply.body["model"] == {"alias": "nova-lite", "modelId": MODEL_IDS["nova-lite"]}
    assert reply.body["fallbacksUsed"] == 1
    doc = out.metrics[-1]
    assert (doc["Team"], doc["Model"]) == ("search", "nova-lite")
    assert out.metric_values()["Fallbacks"] == 1


def test_fallback_max_tokens_is_clamped_to_the_fallback_cap() -> None:
    h = make_harness()
    h.fail("ThrottlingException", 429)
    h.answer(
        "haiku",
        input_tokens=1,
        output_tokens=1,
        expected_params={
            "modelId": MODEL_IDS["claude-haiku"],
            "messages": [{"role": "user", "content": [{"text": "What is a landing zone?"}]}],
            "inferenceConfig": {"maxTokens": 2048},
            "guardrailConfig": GUARDRAIL,
            "requestMetadata": {
                "team": "assistant",
                "caller": ASSISTANT_ARN,
                "requestId": REQUEST_ID,
            },
        },
    )
    event = make_event(body("claude-sonnet", inference={"maxTokens": 4000}), user_arn=ASSISTANT_ARN)
    reply = h.call(event)
    assert reply.status == 200
    assert reply.body["model"]["alias"] == "claude-haiku"


@pytest.mark.parametrize(
    "code",
    ["ModelErrorException", "ValidationException", "AccessDeniedException"],
)
def test_non_transient_errors_do_not_fall_back(code: str) -> None:
    h = make_harness()
    h.fail(code, 400)
    reply = h.call(make_event(body("claude-haiku")))
    h.stubber.assert_no_pending_responses()  # nova-lite was never called
    assert reply.status in {400, 403, 502}


def test_fallback_exhausted_by_throttling_is_429_with_retry_after() -> None:
    h = make_harness()
    h.fail("ThrottlingException", 429)
    h.fail("ThrottlingException", 429)
    with capture() as out:
        reply = h.call(make_event(body("claude-haiku")))
    h.stubber.assert_no_pending_responses()
    assert reply.status == 429
    assert reply.headers["Retry-After"] == "2"
    assert reply.error == {
        "code": "throttled",
        "field": None,
        "message": "the model is throttled (all fallbacks included); retry later",
    }
    values = out.metric_values()
    assert (values["Throttles"], values["ClientErrors"], values["ServerErrors"]) == (1, 0, 0)
    assert values["Fallbacks"] == 1
    summary = out.logs[-1]
    assert [a["outcome"] for a in summary["attempts"]] == ["ThrottlingException"] * 2


def test_fallback_exhausted_the_last_failure_decides() -> None:
    h = make_harness()
    h.fail("ThrottlingException", 429)
    h.fail("ModelTimeoutException", 408)
    reply = h.call(make_event(body("claude-haiku")))
    assert reply.status == 504


# --- time budget ----------------------------------------------------------------------------------
def test_no_call_is_started_without_time_left() -> None:
    h = make_harness()
    reply = h.call(make_event(body("claude-haiku")), remaining_ms=1500)  # 1.5 s - 1 s margin
    h.stubber.assert_no_pending_responses()
    assert reply.status == 504
    assert reply.error["code"] == "model_timeout"


def test_no_fallback_is_started_once_the_time_is_used_up() -> None:
    h = make_harness()
    _raise_on_call(h, _read_timeout(), takes_s=28.5)  # of 30 s, with a 1 s margin
    reply = h.call(make_event(body("claude-haiku")), remaining_ms=30_000)
    h.stubber.assert_no_pending_responses()
    assert reply.status == 504
    assert reply.body["requestId"] == REQUEST_ID
    # the fallback was neither called nor blamed
    assert MODEL_IDS["nova-lite"] not in h.service.breakers.states()


def test_read_timeout_is_capped_by_the_remaining_lambda_time() -> None:
    h = make_harness()
    h.answer()
    reply = h.call(make_event(body("nova-lite")), remaining_ms=10_000)
    assert reply.status == 200
    # init created the default client (50 s); this request needed one capped at 10 - 1 = 9 s
    assert [options(c)["read_timeout"] for c in h.configs] == [50, 9.0]
    assert options(h.configs[-1])["connect_timeout"] == 2
    assert options(h.configs[-1])["retries"] == {"mode": "standard", "max_attempts": 3}


# --- who may call what ----------------------------------------------------------------------------
def test_alias_not_allowed_for_the_team_is_403_without_a_call() -> None:
    h = make_harness()
    reply = h.call(make_event(body("claude-sonnet")))  # team search: claude-haiku, nova-lite
    h.stubber.assert_no_pending_responses()
    assert reply.status == 403
    assert reply.error["code"] == "model_not_allowed"
    assert reply.error["field"] == "model"
    assert "claude-haiku, nova-lite" in reply.error["message"]


@pytest.mark.parametrize(
    "event_name",
    ["converse_unknown_caller", "converse_iam_user", "converse_no_request_context"],
)
def test_unrecognized_caller_is_403(event_name: str) -> None:
    h = make_harness()
    reply = h.call(load_event(event_name))
    assert reply.status == 403
    assert reply.error["code"] == "caller_not_recognized"
    assert reply.error["field"] == "requestContext"


def test_role_from_another_partition_maps_by_name() -> None:
    h = make_harness()
    h.answer()
    arn = SEARCH_ARN.replace("arn:aws:", "arn:aws-us-gov:")
    assert h.call(make_event(body(), user_arn=arn)).status == 200


def test_wrong_method_is_405_with_allow_header() -> None:
    h = make_harness()
    reply = h.call(load_event("converse_wrong_method"))
    assert reply.status == 405
    assert reply.headers["Allow"] == "POST"
    assert reply.error["code"] == "method_not_allowed"


def test_unknown_path_is_404() -> None:
    h = make_harness()
    reply = h.call(make_event(body(), path="/v1/embeddings"))
    assert reply.status == 404
    assert reply.error["code"] == "not_found"


def test_trailing_slash_on_a_proxy_resource_still_routes() -> None:
    h = make_harness()
    h.answer()
    event = make_event(body())
    event["resource"], event["path"] = "/{proxy+}", "/v1/converse/"
    assert h.call(event).status == 200


def test_unexpected_exception_is_a_500_json_without_details(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = make_harness()

    def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(h.service, "converse", boom)
    with capture() as out:
        reply = h.call(make_event(body()))
    assert reply.status == 500
    assert reply.error["code"] == "internal_error"
    assert "secret" not in reply.error["message"]
    assert out.metric_values()["ServerErrors"] == 1


def test_lambda_handler_entry_point_uses_the_module_runtime(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bedrock_inference import handler

    from . import FakeContext

    h = make_harness()
    h.answer("via lambda_handler")
    monkeypatch.setattr(handler, "SERVICE", h.service)
    raw = handler.lambda_handler(load_event("converse_ok"), FakeContext())
    assert raw["statusCode"] == 200
    assert "via lambda_handler" in raw["body"]


def test_every_domain_error_has_an_http_mapping() -> None:
    from bedrock_inference import errors, handler

    domain = {
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.InferenceError)
    } - {errors.InferenceError}
    assert domain == set(handler._HTTP)
    assert all(400 <= status < 600 for status, _ in handler._HTTP.values())


@pytest.mark.parametrize(
    ("reserve", "left", "following", "share"),
    [
        (None, 28.0, 1, 14.0),  # equal shares: the fallback keeps a real attempt
        (None, 27.0, 2, 9.0),
        (None, 28.0, 0, 28.0),  # the last candidate gets all that is left
        (8.0, 28.0, 1, 20.0),  # reserve 8 s for the one fallback
        (8.0, 28.0, 2, 12.0),
        (20.0, 28.0, 1, 14.0),  # never less than the equal share
        (None, 1.5, 1, 1.0),  # never less than a real attempt while there is one
    ],
)
def test_each_candidate_gets_its_share_of_the_budget(
    reserve: float | None, left: float, following: int, share: float
) -> None:
    import copy

    from . import TEST_CONFIG

    config = copy.deepcopy(TEST_CONFIG)
    config["models"]["claude-sonnet"]["fallbacks"] = ["claude-haiku", "nova-lite"]
    if reserve is not None:
        config["retry"]["fallback_reserve_s"] = reserve
    h = make_harness(config)
    chain = ("claude-haiku", "nova-lite")[:following]
    assert h.service._share(left, chain) == pytest.approx(share)


def test_the_time_left_is_shared_down_the_chain() -> None:
    """A primary that uses its whole share (a read timeout at the end of it) leaves the fallback
    the other half; a primary that fails at once leaves it nearly everything."""
    h = make_harness()
    deadlines: list[float] = []
    real_converse = h.service.bedrock.converse

    def spy(params: Any, *, deadline: float) -> Any:
        deadlines.append(deadline - h.clock())
        return real_converse(params, deadline=deadline)

    h.service.bedrock.converse = spy  # type: ignore[method-assign]
    _raise_on_call(h, _read_timeout(), takes_s=14.5)
    h.answer("from nova")
    reply = h.call(make_event(body("claude-haiku")), remaining_ms=30_000)
    assert reply.status == 200
    assert deadlines == pytest.approx([14.5, 14.5])  # (30 - 1 margin) / 2, then the rest
