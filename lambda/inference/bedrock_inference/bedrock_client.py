"""bedrock-runtime Converse with explicit retries, timeouts and a deadline.

- botocore ``Config``: ``retries={"mode": "standard", "max_attempts": N}``, ``connect_timeout``,
  ``read_timeout`` from ``INFERENCE_CONFIG.retry``. Standard mode retries throttling, not-ready,
  unavailable, internal errors and transport timeouts (with jittered back-off). In this dict
  botocore's ``max_attempts`` counts retries, so N=3 allows 4 attempts in all.
- Per call, the read (and connect) timeout is capped by the time left before the deadline (the
  Lambda's remaining time minus a margin): clients are cached per (connect, read) timeout pair,
  so a warm container normally reuses one client.
- Before every attempt (botocore's ``before-send`` event, so retries included) the deadline is
  checked: an attempt that could outlive the Lambda is not started; the call fails as a timeout.
- Every failure is classified into a :class:`FailureKind`; ``FALLBACK_KINDS`` are the ones
  for which the next model of the fallback chain is tried.

botocore's DEBUG logs print request and response bodies, i.e. prompts and completions: the
``botocore`` and ``urllib3`` loggers are therefore held at WARNING or above.
"""

from __future__ import annotations

import enum
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Final, cast

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

for _name in ("botocore", "urllib3"):
    _lg = logging.getLogger(_name)
    if _lg.getEffectiveLevel() < logging.WARNING:
        _lg.setLevel(logging.WARNING)

SERVICE: Final = "bedrock-runtime"
MIN_ATTEMPT_S = 1.0
"""A call is started only if at least this much time is left before the deadline."""
_DEADLINE_SLACK_S = 0.25
"""A (re)try may start with up to this much less time left than its read timeout; the
deadline margin (``retry.deadline_margin_s``) absorbs it."""
_CLIENT_CACHE_SIZE = 8


class FailureKind(enum.Enum):
    THROTTLED = "throttled"
    UNAVAILABLE = "unavailable"
    TIMEOUT = "timeout"
    ACCESS_DENIED = "access_denied"
    INVALID_REQUEST = "invalid_request"
    MODEL_ERROR = "model_error"
    NOT_FOUND = "not_found"
    OTHER = "other"


FALLBACK_KINDS = frozenset({FailureKind.THROTTLED, FailureKind.UNAVAILABLE, FailureKind.TIMEOUT})

_KIND_OF_CODE: dict[str, FailureKind] = {
    "ThrottlingException": FailureKind.THROTTLED,
    "ServiceQuotaExceededException": FailureKind.THROTTLED,
    "ModelNotReadyException": FailureKind.UNAVAILABLE,
    "ServiceUnavailableException": FailureKind.UNAVAILABLE,
    "InternalServerException": FailureKind.UNAVAILABLE,
    "ModelTimeoutException": FailureKind.TIMEOUT,
    "AccessDeniedException": FailureKind.ACCESS_DENIED,
    "ValidationException": FailureKind.INVALID_REQUEST,
    "ModelErrorException": FailureKind.MODEL_ERROR,
    "ResourceNotFoundException": FailureKind.NOT_FOUND,
}


class BedrockCallFailed(Exception):
    """A Converse call that produced no answer, classified."""

    def __init__(self, kind: FailureKind, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.kind = kind
        self.code = code
        self.message = message


class _DeadlineExceeded(Exception):
    pass


ClientFactory = Callable[[Config], Any]
"""Builds a bedrock-runtime client from a botocore Config (tests pass a stubbed one)."""


def boto3_client_factory(region: str) -> ClientFactory:
    def factory(config: Config) -> Any:
        return boto3.client(SERVICE, region_name=region, config=config)

    return factory


def make_config(*, max_attempts: int, connect_timeout_s: float, read_timeout_s: float) -> Config:
    return Config(
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=connect_timeout_s,
        read_timeout=read_timeout_s,
        tcp_keepalive=True,
        user_agent_extra="bedrock-landing-zone-inference",
    )


class BedrockRuntime:
    """Converse calls against one region, deadline-aware."""

    def __init__(
        self,
        *,
        factory: ClientFactory,
        max_attempts: int,
        connect_timeout_s: float,
        read_timeout_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._factory = factory
        self._max_attempts = max_attempts
        self._connect_timeout = connect_timeout_s
        self._read_timeout = read_timeout_s
        self._clock = clock
        self._clients: OrderedDict[tuple[float, float], Any] = OrderedDict()
        self._deadline: float | None = None
        self._attempt_budget = 0.0

    def warm(self) -> None:
        """Create the default client now (call at init, outside any request)."""
        self._client(self._connect_timeout, self._read_timeout)

    def timeouts_for(self, remaining_s: float) -> tuple[float, float]:
        """(connect, read) timeouts for a call with ``remaining_s`` left before the deadline."""
        read = self._read_timeout
        if remaining_s < read:
            read = max(MIN_ATTEMPT_S, float(math.floor(remaining_s)))
        return min(self._connect_timeout, read), read

    def converse(self, params: Mapping[str, Any], *, deadline: float) -> dict[str, Any]:
        """Call Converse; raise :class:`BedrockCallFailed` for every failure."""
        remaining = deadline - self._clock()
        if remaining < MIN_ATTEMPT_S:
            raise BedrockCallFailed(
                FailureKind.TIMEOUT, "DeadlineExceeded", "no time left for another attempt"
            )
        connect, read = self.timeouts_for(remaining)
        client = self._client(connect, read)
        self._deadline, self._attempt_budget = deadline, read
        try:
            return cast(dict[str, Any], client.converse(**params))
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "Unknown"))
            message = str(error.get("Message", ""))[:500]
            kind = _KIND_OF_CODE.get(code, FailureKind.OTHER)
            raise BedrockCallFailed(kind, code, message) from None
        except _DeadlineExceeded:
            raise BedrockCallFailed(
                FailureKind.TIMEOUT, "DeadlineExceeded", "no time left for another attempt"
            ) from None
        except (ReadTimeoutError, ConnectTimeoutError) as exc:
            raise BedrockCallFailed(FailureKind.TIMEOUT, type(exc).__name__, "timed out") from None
        except (EndpointConnectionError, ConnectionClosedError) as exc:
            raise BedrockCallFailed(
                FailureKind.UNAVAILABLE, type(exc).__name__, "connection failed"
            ) from None
        except BotoCoreError as exc:
            raise BedrockCallFailed(FailureKind.OTHER, type(exc).__name__, "SDK error") from None
        finally:
            self._deadline = None

    # --- internals -------------------------------------------------------------------------------
    def _client(self, connect: float, read: float) -> Any:
        key = (connect, read)
        client = self._clients.get(key)
        if client is None:
            client = self._factory(
                make_config(
                    max_attempts=self._max_attempts, connect_timeout_s=connect, read_timeout_s=read
                )
            )
            client.meta.events.register(f"before-send.{SERVICE}.Converse", self._check_deadline)
            self._clients[key] = client
            while len(self._clients) > _CLIENT_CACHE_SIZE:
                self._clients.popitem(last=False)
        else:
            self._clients.move_to_end(key)
        return client

    def _check_deadline(self, **_: Any) -> None:
        """botocore ``before-send`` hook: refuse an attempt that could outlive the deadline."""
        left = None if self._deadline is None else self._deadline - self._clock()
        if left is not None and left < self._attempt_budget - _DEADLINE_SLACK_S:
            raise _DeadlineExceeded
