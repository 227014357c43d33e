"""Circuit breakers: the state machine, then through the handler (injected clock, no sleeps)."""

from __future__ import annotations

from bedrock_inference.breaker import BreakerRegistry, BreakerState, CircuitBreaker

from . import MODEL_IDS, FakeClock, Harness, body, capture, make_event, make_harness


def _state(b: CircuitBreaker) -> BreakerState:
    return b.state  # a call, so that mypy does not pin the property across state changes


def _breaker(clock: FakeClock, threshold: int = 3) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=threshold, cooldown_s=30, clock=clock)


def test_opens_after_threshold_consecutive_failures() -> None:
    clock = FakeClock()
    b = _breaker(clock)
    assert [b.record_failure() for _ in range(3)] == [False, False, True]
    assert _state(b) is BreakerState.OPEN
    assert not b.allow()
    assert b.retry_after_s() == 30


def test_a_success_resets_the_count() -> None:
    b = _breaker(FakeClock())
    b.record_failure()
    b.record_failure()
    b.record_success()
    assert not b.record_failure()
    assert _state(b) is BreakerState.CLOSED


def test_half_open_after_cooldown_allows_exactly_one_trial() -> None:
    clock = FakeClock()
    b = _breaker(clock, threshold=1)
    b.record_failure()
    clock.advance(29.9)
    assert not b.allow()
    assert b.retry_after_s() > 0
    clock.advance(0.1)
    assert b.allow()
    assert _state(b) is BreakerState.HALF_OPEN
    assert not b.allow()  # the trial is in flight: nobody else


def test_trial_success_closes_and_trial_failure_reopens() -> None:
    clock = FakeClock()
    b = _breaker(clock, threshold=1)
    b.record_failure()
    clock.advance(30)
    assert b.allow()
    b.record_success()
    assert _state(b) is BreakerState.CLOSED
    b.record_failure()
    clock.advance(30)
    assert b.allow()
    assert b.record_failure() is True
    assert _state(b) is BreakerState.OPEN
    assert b.retry_after_s() == 30  # the cool-down restarts


def test_a_trial_that_never_reports_does_not_wedge_the_breaker() -> None:
    clock = FakeClock()
    b = _breaker(clock, threshold=1)
    b.record_failure()
    clock.advance(30)
    assert b.allow()
    clock.advance(30)
    assert b.allow()


def test_registry_keeps_one_breaker_per_model_id() -> None:
    registry = BreakerRegistry(failure_threshold=1, cooldown_s=5, clock=FakeClock())
    assert registry.for_model("a") is registry.for_model("a")
    registry.for_model("a").record_failure()
    assert registry.states() == {"a": "open"}
    assert registry.for_model("b").allow()


# --- through the handler: threshold 2, cool-down 30 s, chain claude-haiku → nova-lite -------------
def _throttle_both(h: Harness) -> int:
    h.fail("ThrottlingException", 429)
    h.fail("ThrottlingException", 429)
    status = h.call(make_event(body("claude-haiku"))).status
    h.stubber.assert_no_pending_responses()
    return status


def test_open_breakers_everywhere_give_503_without_calling_bedrock() -> None:
    h = make_harness()
    with capture() as out:
        assert [_throttle_both(h), _throttle_both(h)] == [429, 429]
    opened = [doc for doc in out.metrics if "CircuitBreakerOpen" in doc]
    assert [(d["Team"], d["Model"]) for d in opened] == [
        ("search", "claude-haiku"),
        ("search", "nova-lite"),
    ]
    assert opened[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Team", "Model"]]

    h.clock.advance(10)
    with capture() as out:
        reply = h.call(make_event(body("claude-haiku")))
    h.stubber.assert_no_pending_responses()  # nothing was queued, nothing was called
    assert reply.status == 503
    assert reply.error["code"] == "models_unavailable"
    assert reply.headers["Retry-After"] == "20"
    assert out.metric_values()["ServerErrors"] == 1
    assert [a["outcome"] for a in out.logs[-1]["attempts"]] == ["BreakerOpen", "BreakerOpen"]


def test_half_open_trial_success_closes_the_breaker() -> None:
    h = make_harness()
    _throttle_both(h)
    _throttle_both(h)
    h.clock.advance(30)
    h.answer("back")
    reply = h.call(make_event(body("claude-haiku")))
    assert reply.status == 200
    assert reply.body["model"]["alias"] == "claude-haiku"
    assert h.service.breakers.for_model(MODEL_IDS["claude-haiku"]).state is BreakerState.CLOSED


def test_half_open_trial_failure_reopens_and_falls_back() -> None:
    h = make_harness()
    _throttle_both(h)
    _throttle_both(h)
    h.clock.advance(30)
    h.fail("ServiceUnavailableException", 503)  # claude-haiku's trial
    h.answer("nova's trial")  # nova-lite's trial
    reply = h.call(make_event(body("claude-haiku")))
    assert reply.status == 200
    assert reply.body["model"]["alias"] == "nova-lite"
    states = h.service.breakers.states()
    assert states[MODEL_IDS["claude-haiku"]] == "open"
    assert states[MODEL_IDS["nova-lite"]] == "closed"


def test_open_primary_is_skipped_for_the_fallback() -> None:
    h = make_harness()
    breaker = h.service.breakers.for_model(MODEL_IDS["claude-haiku"])
    breaker.record_failure()
    breaker.record_failure()
    h.answer("from nova")
    reply = h.call(make_event(body("claude-haiku")))
    h.stubber.assert_no_pending_responses()
    assert reply.status == 200
    assert reply.body["model"]["alias"] == "nova-lite"
    assert reply.body["fallbacksUsed"] == 1


def test_non_transient_errors_keep_the_breaker_closed() -> None:
    h = make_harness()
    for _ in range(3):
        h.fail("ValidationException", 400)
        assert h.call(make_event(body("nova-lite"))).status == 400
    assert h.service.breakers.for_model(MODEL_IDS["nova-lite"]).state is BreakerState.CLOSED


# --- inconclusive outcomes: Bedrock refusing the request says nothing about the model -------------
def test_an_inconclusive_outcome_keeps_the_count() -> None:
    b = _breaker(FakeClock(), threshold=2)
    b.record_failure()
    b.record_inconclusive()
    assert b.record_failure() is True  # the second consecutive failure still opens it


def test_an_inconclusive_half_open_trial_hands_the_trial_on() -> None:
    clock = FakeClock()
    b = _breaker(clock, threshold=1)
    b.record_failure()
    clock.advance(30)
    assert b.allow()
    b.record_inconclusive()
    assert _state(b) is BreakerState.OPEN
    assert b.allow()  # the next call is the new trial, without another cool-down
    assert _state(b) is BreakerState.HALF_OPEN


def test_a_validation_exception_does_not_reset_the_breaker() -> None:
    """Issue 14: interleaved invalid requests must not keep a failing model's breaker closed."""
    h = make_harness()  # threshold 2; chain claude-haiku -> nova-lite
    haiku = h.service.breakers.for_model(MODEL_IDS["claude-haiku"])
    h.fail("ThrottlingException", 429)
    h.answer("nova")
    assert h.call(make_event(body("claude-haiku"))).status == 200
    h.fail("ValidationException", 400, "bad input")
    assert h.call(make_event(body("claude-haiku"))).status == 400
    assert _state(haiku) is BreakerState.CLOSED
    h.fail("ThrottlingException", 429)
    h.answer("nova")
    assert h.call(make_event(body("claude-haiku"))).status == 200
    h.stubber.assert_no_pending_responses()
    assert _state(haiku) is BreakerState.OPEN


def test_empty_answers_count_as_failures_and_fall_back() -> None:
    h = make_harness()
    for _ in range(2):
        h.answer("")  # a 200 without text
        h.answer("from nova")
        reply = h.call(make_event(body("claude-haiku")))
        assert (reply.status, reply.body["model"]["alias"]) == (200, "nova-lite")
    h.stubber.assert_no_pending_responses()
    assert h.service.breakers.states()[MODEL_IDS["claude-haiku"]] == "open"


def test_breaker_open_fallbacks_do_not_shrink_the_primary_share() -> None:
    h = make_harness()
    nova = h.service.breakers.for_model(MODEL_IDS["nova-lite"])
    assert h.service._share(20.0, ("nova-lite",)) == 10.0  # an equal share with the fallback
    nova.record_failure()
    nova.record_failure()  # open: it would be skipped, so the primary may use all the time
    assert h.service._share(20.0, ("nova-lite",)) == 20.0
