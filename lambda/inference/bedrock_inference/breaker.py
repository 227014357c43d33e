"""Per-model-id circuit breakers, kept in the warm container.

closed --(``failure_threshold`` consecutive failures)--> open
open --(``cooldown_s`` elapsed; the next ``allow()`` is the one trial)--> half-open
half-open --(trial succeeds)--> closed;  half-open --(trial fails)--> open (cool-down restarts)

Three kinds of outcome, one call each per model and request (botocore's retries are inside it):

- **success** (``record_success``): the model answered with a well-formed answer;
- **failure** (``record_failure``): what also triggers a fallback: throttling, unavailability
  (5xx with or without an error type, connection errors), timeouts (the model did not answer
  within its share of the request's time budget) and malformed answers;
- **inconclusive** (``record_inconclusive``): an outcome that says nothing about the model's
  health: Bedrock refused the *request* (ValidationException, AccessDenied, ModelError, unknown
  4xx), or the request's budget had no time left to try. It neither resets the count of
  consecutive failures (a caller sending invalid requests cannot keep a failing model's breaker
  closed) nor adds to it; a half-open trial that ends this way hands the trial to the next call.

A trial whose outcome is never recorded does not wedge the breaker: after another cool-down a new
trial is allowed. The clock is injectable for tests. A Lambda execution environment handles one
request at a time, so there is no locking.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable

Clock = Callable[[], float]


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(self, *, failure_threshold: int, cooldown_s: float, clock: Clock) -> None:
        self._threshold = failure_threshold
        self._cooldown = cooldown_s
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._since = 0.0  # when it opened, or when the half-open trial started

    @property
    def state(self) -> BreakerState:
        return self._state

    def allow(self) -> bool:
        """May a call go through now? Moves open → half-open once the cool-down is over."""
        if self._state is BreakerState.CLOSED:
            return True
        now = self._clock()
        if now - self._since < self._cooldown:
            return False
        self._state = BreakerState.HALF_OPEN
        self._since = now
        return True

    def is_blocking(self) -> bool:
        """Would ``allow()`` refuse now? (No state change; used to plan the time budget.)"""
        if self._state is BreakerState.CLOSED:
            return False
        return self._clock() - self._since < self._cooldown

    def record_success(self) -> None:
        self._state = BreakerState.CLOSED
        self._failures = 0

    def record_inconclusive(self) -> None:
        """An outcome that proves nothing either way: keep the count; free a half-open trial."""
        if self._state is BreakerState.HALF_OPEN:
            self._state = BreakerState.OPEN
            self._since = self._clock() - self._cooldown  # the next allow() is a new trial

    def record_failure(self) -> bool:
        """Count a failure; return True when this failure opened the breaker."""
        if self._state is BreakerState.HALF_OPEN:
            self._open()
            return True
        if self._state is BreakerState.OPEN:
            return False
        self._failures += 1
        if self._failures >= self._threshold:
            self._open()
            return True
        return False

    def retry_after_s(self) -> float:
        """Seconds until a call may go through again (0 when closed)."""
        if self._state is BreakerState.CLOSED:
            return 0.0
        return max(0.0, self._cooldown - (self._clock() - self._since))

    def _open(self) -> None:
        self._state = BreakerState.OPEN
        self._since = self._clock()
        self._failures = 0


class BreakerRegistry:
    """One breaker per Bedrock model id (aliases sharing a model id share its breaker)."""

    def __init__(
        self,
        *,
        failure_threshold: int,
        cooldown_s: float,
        clock: Clock = time.monotonic,
    ) -> None:
        self._threshold = failure_threshold
        self._cooldown = cooldown_s
        self._clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}

    def for_model(self, model_id: str) -> CircuitBreaker:
        breaker = self._breakers.get(model_id)
        if breaker is None:
            breaker = CircuitBreaker(
                failure_threshold=self._threshold, cooldown_s=self._cooldown, clock=self._clock
            )
            self._breakers[model_id] = breaker
        return breaker

    def is_blocking(self, model_id: str) -> bool:
        """Would this model's breaker refuse a call now? (Creates no breaker.)"""
        breaker = self._breakers.get(model_id)
        return breaker is not None and breaker.is_blocking()

    def states(self) -> dict[str, str]:
        return {model_id: b.state.value for model_id, b in self._breakers.items()}
