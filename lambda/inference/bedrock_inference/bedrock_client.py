"""bedrock-runtime Converse under a hard deadline, every failure classified.

**Configuration.** botocore ``Config``: ``retries={"mode": "standard", "max_attempts": N}``,
``connect_timeout``, ``read_timeout`` from ``INFERENCE_CONFIG.retry``. In that dict botocore's
``max_attempts`` counts retries, so N=2 allows 3 attempts in all. Standard mode retries
"socket-level failures where no HTTP response was received (connect timeouts, read timeouts,
or server-closed connections), HTTP 500, 502, 503, and 504 responses, and a set of service
error codes" such as ThrottlingException, with exponential back-off and jitter and a retry
quota (AWS SDK for Python developer guide, "Retries"; AWS SDKs and Tools reference guide, "Retry
behavior"). botocore also honours the service's ``x-amz-retry-after`` header (milliseconds) as
the back-off, capped at the computed back-off plus 5 s
(``botocore.retries.standard.ExponentialBackoff``; the SDKs' classifiers check
"x-amz-retry-after headers" first, e.g. the Rust SDK's ``aws_runtime::retries::classifiers``).

**Deadline.** :meth:`BedrockRuntime.converse` takes a deadline (the model's share of the request's
time budget, decided by ``logic``) and never returns after it:

1. *Alarm or watchdog.* The whole botocore call is bounded: the connect, every retry and back-off
   sleep and the *whole* body read, which botocore's ``read_timeout`` does not bound (it bounds
   each socket read, so a body trickled one chunk every 2 s never trips a 25 s read timeout). At
   the deadline the call is abandoned (``TIMEOUT``, ``AttemptDeadlineExceeded``).

   - On the main thread, where Lambda's Python runtime calls the handler (the runtime interface
     client's ``bootstrap.run`` loop calls it directly), the call runs on the caller's thread under
     a one-shot ``ITIMER_REAL`` timer (:class:`_Alarm`). Its ``SIGALRM`` handler raises
     :class:`_DeadlineAlarm` out of whatever the call is blocked in: Python's docs ("signal":
     handlers run in the main thread; a system call interrupted by a signal whose handler raises
     fails with that exception, PEP 475), so a socket connect, read or a back-off sleep ends at
     once, and urllib3 closes a connection that did not end cleanly instead of reusing it. This
     costs two ``setitimer`` calls per call, where handing the call to a worker thread costs two
     thread wake-ups (0.1-0.2 ms of a warm request, ``bench/inference_bench.py``). One limit: a
     name lookup (``getaddrinfo``) is not interrupted, so a hung DNS answer ends the call only
     when the resolver gives up.
   - Anywhere else (another thread: the local server, a thread pool; or ``SIGALRM`` or the timer
     already in use, or a platform without ``setitimer``) the call runs on a worker thread and the
     caller waits until the deadline at most (*watchdog*).
2. *Retries inside the share.* Before every retry (botocore's ``needs-retry`` event, handled here
   ahead of botocore's own handler) the time left is checked. A retry is refused, and the last
   error returned at once so that the fallback can start, only when less than
   :data:`MIN_RETRY_S` would be left, or when the service's ``x-amz-retry-after`` asks for a longer
   wait than the share has left. A retry is never refused merely because less than the read
   timeout is left.
3. *Clean-up.* Socket timeouts are capped at the share (rounded up to whole seconds; clients are
   cached per (connect, read) pair, so a warm container normally reuses one or two), and an
   abandoned call makes no further attempt (checked before every send), so its worker thread ends
   at its next socket timeout at the latest.

**Classification** (:class:`FailureKind`). By Bedrock's error code first, the codes the Converse
API documents with their statuses (Bedrock API reference, Converse, "Errors": AccessDenied 403,
InternalServer 500, ModelError 424, ModelNotReady 429, ModelTimeout 408, ResourceNotFound 404,
ServiceUnavailable 503, Throttling 429, Validation 400; ServiceQuotaExceeded 400 in the service
model). The code arrives in the ``x-amzn-errortype`` header or as ``__type``/``code`` in the JSON
body (botocore's ``RestJSONParser``); without one (a bare 502/503/504 from a proxy or load
balancer) botocore reports the status as the code and the status decides: 429 throttled, 408
timeout, 5xx unavailable. Connection errors are unavailable, socket timeouts are timeouts. A 200
whose body is garbled, empty, or holds no text is ``MALFORMED``. ``FALLBACK_KINDS`` are the kinds
for which the next model of the chain is tried; they are also the breaker's failures.

botocore's DEBUG logs print request and response bodies, i.e. prompts and completions: the
``botocore`` and ``urllib3`` loggers are therefore held at WARNING or above.
"""

from __future__ import annotations

import enum
import logging
import math
import queue
import signal
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Final

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    HTTPClientError,
    ParamValidationError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import ReadTimeoutError as Urllib3ReadTimeoutError

for _name in ("botocore", "urllib3"):
    _lg = logging.getLogger(_name)
    if _lg.getEffectiveLevel() < logging.WARNING:
        _lg.setLevel(logging.WARNING)

SERVICE: Final = "bedrock-runtime"
MIN_ATTEMPT_S = 1.0
"""A model is called only if at least this much time is left before its deadline."""
MIN_RETRY_S = 1.0
"""A retry is started only if at least this much time would be left once its back-off is over."""
RETRY_AFTER_HEADER: Final = "x-amz-retry-after"
"""Milliseconds the service asks the SDK to wait before retrying (botocore honours it)."""
NOT_STARTED: Final = "DeadlineExceeded"
"""Code of a call that was not started: no time left (says nothing about the model)."""
ATTEMPT_DEADLINE: Final = "AttemptDeadlineExceeded"
"""Code of a call abandoned at its deadline (the model did not answer within its share)."""
FILTERED_STOP_REASONS = frozenset({"content_filtered", "guardrail_intervened"})
"""Converse ``stopReason`` values (StopReason enum) for which an answer may hold no text."""
_CLIENT_CACHE_SIZE = 8
_MAX_IDLE_WORKERS = 2


class FailureKind(enum.Enum):
    THROTTLED = "throttled"
    UNAVAILABLE = "unavailable"
    TIMEOUT = "timeout"
    MALFORMED = "malformed"
    ACCESS_DENIED = "access_denied"
    INVALID_REQUEST = "invalid_request"
    MODEL_ERROR = "model_error"
    NOT_FOUND = "not_found"
    OTHER = "other"


FALLBACK_KINDS = frozenset(
    {FailureKind.THROTTLED, FailureKind.UNAVAILABLE, FailureKind.TIMEOUT, FailureKind.MALFORMED}
)

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


def kind_of_status(status: int) -> FailureKind:
    """The kind of an error response that carries no error type Bedrock documents."""
    if status == 429:
        return FailureKind.THROTTLED
    if status == 408:
        return FailureKind.TIMEOUT
    if status >= 500:
        return FailureKind.UNAVAILABLE
    return FailureKind.OTHER


def classify_error(code: str, message: str, status: int) -> BedrockCallFailed:
    kind = _KIND_OF_CODE.get(code)
    if kind is None:
        kind = kind_of_status(status)
        if not code or code.isdigit():
            code = f"HTTP{status}"
    return BedrockCallFailed(kind, code, message[:500])


def classify_exception(exc: BaseException) -> BedrockCallFailed:
    """Every way ``client.converse`` can fail, as a :class:`BedrockCallFailed`."""
    if isinstance(exc, BedrockCallFailed):
        return exc
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return classify_error(str(error.get("Code", "")), str(error.get("Message", "")), status)
    if isinstance(exc, _Stopped):
        return BedrockCallFailed(FailureKind.TIMEOUT, ATTEMPT_DEADLINE, "the time budget ran out")
    if isinstance(
        exc, (ReadTimeoutError, ConnectTimeoutError, Urllib3ReadTimeoutError, TimeoutError)
    ):
        return BedrockCallFailed(FailureKind.TIMEOUT, type(exc).__name__, "timed out")
    if isinstance(exc, (BotocoreConnectionError, HTTPClientError, Urllib3Error, OSError)):
        # refused, reset, closed before or while answering, truncated body
        return BedrockCallFailed(FailureKind.UNAVAILABLE, type(exc).__name__, "connection failed")
    if isinstance(exc, ParamValidationError):
        return BedrockCallFailed(
            FailureKind.INVALID_REQUEST, "ParamValidationError", "the request does not fit Converse"
        )
    if isinstance(exc, BotoCoreError):
        return BedrockCallFailed(FailureKind.OTHER, type(exc).__name__, "SDK error")
    if isinstance(exc, (ValueError, TypeError, KeyError, AttributeError, IndexError)):
        # botocore could not parse the answer (bad UTF-8, a JSON value of the wrong shape)
        return BedrockCallFailed(
            FailureKind.MALFORMED, "UnparseableResponse", "the answer could not be parsed"
        )
    return BedrockCallFailed(FailureKind.OTHER, type(exc).__name__, "unexpected error")


def checked_answer(raw: Any) -> dict[str, Any]:
    """``raw`` if it is a usable Converse answer, else :class:`BedrockCallFailed` (MALFORMED).

    Usable: ``output.message.content`` is a list holding some text, ``stopReason`` a string and
    ``usage.inputTokens``/``outputTokens`` integers (all required in the ConverseResponse shape).
    A garbled 200 body parses to none of these; an empty one to ``{}``. An answer without text
    is usable only when a filter explains it (``FILTERED_STOP_REASONS``): falling back to another
    model would then route around that filter.
    """
    if not isinstance(raw, dict):
        raise BedrockCallFailed(FailureKind.MALFORMED, "MalformedResponse", "no answer object")
    output = raw.get("output")
    message = output.get("message") if isinstance(output, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        raise BedrockCallFailed(
            FailureKind.MALFORMED, "MalformedResponse", "the answer holds no output message"
        )
    usage = raw.get("usage")
    if not (
        isinstance(raw.get("stopReason"), str)
        and isinstance(usage, dict)
        and all(isinstance(usage.get(k), int) for k in ("inputTokens", "outputTokens"))
    ):
        raise BedrockCallFailed(
            FailureKind.MALFORMED, "MalformedResponse", "the answer lacks stopReason or usage"
        )
    texts = (b.get("text") for b in content if isinstance(b, dict))
    if raw["stopReason"] not in FILTERED_STOP_REASONS and not any(
        isinstance(t, str) and t for t in texts
    ):
        raise BedrockCallFailed(FailureKind.MALFORMED, "EmptyResponse", "the answer holds no text")
    return raw


class _Stopped(Exception):
    """Raised in botocore's ``before-send``: the call was abandoned or its time is up."""


class _Call:
    """The state one Converse call shares with the botocore hooks on its worker thread."""

    __slots__ = ("abandoned", "deadline", "last", "waiting")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.abandoned = False
        self.waiting = False  # in a retry back-off
        self.last: BedrockCallFailed | None = None  # the last failed attempt, classified


class _Job:
    """One blocking call handed to a worker. Completion is signalled through a bare lock, held
    from creation until the worker finishes: waiting on it is one C-level acquire with a
    timeout (``threading.Event`` would add a Python ``Condition`` and a lock per wait)."""

    __slots__ = ("_signal", "error", "finished", "fn", "value")

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn: Callable[[], Any] | None = fn
        self.value: Any = None
        self.error: BaseException | None = None
        self.finished = False
        self._signal = threading.Lock()
        self._signal.acquire()

    def finish(self) -> None:
        """On the worker: the value or error is set."""
        self.finished = True
        self._signal.release()

    def wait(self, timeout: float) -> bool:
        """On the caller: True once finished, False if ``timeout`` seconds passed first."""
        return self.finished or self._signal.acquire(timeout=timeout)


class _DeadlineAlarm(BaseException):
    """Raised by ``SIGALRM`` on the main thread at a call's deadline. A ``BaseException``, so that
    no ``except Exception`` in botocore or urllib3 turns it into another error on its way out."""


class _Alarm:
    """The deadline of a call made on the main thread: a one-shot ``ITIMER_REAL`` timer whose
    ``SIGALRM`` handler raises :class:`_DeadlineAlarm` while a call is armed (and ignores a
    signal that comes after, or from elsewhere, when none is).

    Used only where it cannot disturb anyone: on the main thread (Python runs signal handlers
    there only), with ``SIGALRM`` at its default or already this handler (installed on first
    use), and no ``ITIMER_REAL`` timer running, e.g. a test runner's per-test timeout.
    """

    def __init__(self) -> None:
        self._armed = False
        self._supported = hasattr(signal, "setitimer") and hasattr(signal, "SIGALRM")
        self._handler = self._on_alarm  # one bound method: what getsignal() gives back

    def available(self) -> bool:
        """Whether a call on this thread can be bounded by the alarm (installs the handler)."""
        if not self._supported or threading.current_thread() is not threading.main_thread():
            return False
        handler = signal.getsignal(signal.SIGALRM)
        if handler is not self._handler:
            if handler is not signal.SIG_DFL:
                return False  # someone else's
            signal.signal(signal.SIGALRM, self._handler)
        return signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)

    def arm(self, seconds: float) -> None:
        self._armed = True
        # setitimer(0) would disarm instead: a deadline already passed fires at once
        signal.setitimer(signal.ITIMER_REAL, max(seconds, 1e-6))

    def disarm(self) -> None:
        self._armed = False  # first: a signal from here on is ignored
        signal.setitimer(signal.ITIMER_REAL, 0)

    def _on_alarm(self, _signum: int, _frame: object) -> None:
        if self._armed:
            self._armed = False
            raise _DeadlineAlarm


_ALARM = _Alarm()
"""One per process: there is one ``ITIMER_REAL`` timer per process."""


class _Runner:
    """Daemon worker threads for blocking calls, reused while idle (a few are kept).

    A call that is abandoned keeps its thread busy until it ends; the next call then gets a new
    thread, so one stuck connection never delays another request.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0

    def prestart(self) -> None:
        """Have one idle worker ready (none is started if one is idle already)."""
        with self._lock:
            if self._idle:
                return
            self._idle += 1
        self._spawn()

    def submit(self, fn: Callable[[], Any]) -> _Job:
        job = _Job(fn)
        with self._lock:
            spawn = self._idle == 0
            if not spawn:
                self._idle -= 1  # that idle worker is now reserved for this job
        if spawn:
            self._spawn()
        self._jobs.put(job)
        return job

    def _spawn(self) -> None:
        threading.Thread(target=self._work, name="bedrock-call", daemon=True).start()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                assert job.fn is not None
                job.value = job.fn()
            except BaseException as exc:  # handed to the waiting thread, never lost
                job.error = exc
            finally:
                job.fn = None
                job.finish()
            with self._lock:
                if self._idle >= _MAX_IDLE_WORKERS:
                    return
                self._idle += 1


_RUNNER = _Runner()
"""One per process: a Lambda execution environment has one runtime; tests build many."""

ClientFactory = Callable[[Config], Any]
"""Builds a bedrock-runtime client from a botocore Config (tests pass a stubbed one)."""


def boto3_client_factory(region: str) -> ClientFactory:
    def factory(config: Config) -> Any:
        return boto3.client(SERVICE, region_name=region, config=config)

    return factory


def make_config(*, max_attempts: int, connect_timeout_s: float, read_timeout_s: float) -> Config:
    """The client's botocore ``Config``.

    ``parameter_validation=False``: botocore's own check of every call's parameters against the
    service model ("You can disable parameter validation for performance reasons", botocore's
    Config reference) is about a third of a stubbed Converse call's time (0.31 -> 0.20 ms for the
    benchmark's request, ``bench/inference_bench.py``), and it checks what ``models`` and
    ``logic`` already guarantee: the handler builds Converse's parameters
    from a request its shapes accepted. The test suite keeps the check: the property tests run
    botocore's validator over the parameters of every generated request, and the other tests'
    clients validate as botocore does by default. Bedrock still validates on its side
    (``ValidationException``, classified ``INVALID_REQUEST`` like a ``ParamValidationError``).
    """
    return Config(
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=connect_timeout_s,
        read_timeout=read_timeout_s,
        tcp_keepalive=True,
        user_agent_extra="bedrock-landing-zone-inference",
        parameter_validation=False,
    )


def retry_after_s(response: Any) -> float | None:
    """The ``x-amz-retry-after`` wait of an HTTP response, in seconds (None: none or invalid)."""
    if not isinstance(response, tuple) or not response:
        return None
    headers = getattr(response[0], "headers", None)
    value = headers.get(RETRY_AFTER_HEADER) if headers is not None else None
    try:
        seconds = int(value) / 1000 if value is not None else None
    except (TypeError, ValueError):
        return None
    return seconds if seconds is not None and seconds >= 0 else None


class BedrockRuntime:
    """Converse calls against one region, each bounded by its deadline."""

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
        self._runner = _RUNNER
        self._alarm = _ALARM
        self._local = threading.local()

    def warm(self) -> None:
        """Create the default client now (at init, outside any request), and install the alarm's
        handler or, where the alarm cannot be used, start a worker thread."""
        self._client(self._connect_timeout, self._read_timeout)
        if not self._alarm.available():
            self._runner.prestart()

    def timeouts_for(self, budget_s: float) -> tuple[float, float]:
        """(connect, read) socket timeouts for a call that has ``budget_s`` seconds."""
        read = self._read_timeout
        if budget_s < read:
            read = max(MIN_ATTEMPT_S, float(math.ceil(budget_s)))
        return min(self._connect_timeout, read), read

    def converse(self, params: Mapping[str, Any], *, deadline: float) -> dict[str, Any]:
        """Call Converse; return a checked answer by ``deadline`` or raise
        :class:`BedrockCallFailed`."""
        remaining = deadline - self._clock()
        if remaining < MIN_ATTEMPT_S:
            raise BedrockCallFailed(FailureKind.TIMEOUT, NOT_STARTED, "no time left to call")
        client = self._client(*self.timeouts_for(remaining))
        call = _Call(deadline)
        if self._alarm.available():
            return self._converse_here(client, params, call)
        job = self._runner.submit(lambda: self._invoke(client, params, call))
        if not job.wait(max(0.0, deadline - self._clock())):
            call.abandoned = True
            if not job.finished:
                raise _abandoned(call)
        if job.error is not None:
            raise classify_exception(job.error)
        return job.value  # type: ignore[no-any-return]

    def _converse_here(self, client: Any, params: Mapping[str, Any], call: _Call) -> dict[str, Any]:
        """On the main thread: the call runs here, and the alarm ends it at its deadline."""
        try:
            self._alarm.arm(call.deadline - self._clock())
            try:
                return self._invoke(client, params, call)
            finally:
                self._alarm.disarm()
        except _DeadlineAlarm:
            call.abandoned = True
            raise _abandoned(call) from None

    # --- on the worker thread ------------------------------------------------------------------
    def _invoke(self, client: Any, params: Mapping[str, Any], call: _Call) -> dict[str, Any]:
        self._local.call = call
        try:
            raw = client.converse(**params)
        except Exception as exc:
            raise classify_exception(exc) from None
        finally:
            self._local.call = None
        return checked_answer(raw)

    def _before_send(self, **_: Any) -> None:
        """botocore ``before-send`` (every attempt): no attempt for an abandoned call."""
        call: _Call | None = getattr(self._local, "call", None)
        if call is None:
            return
        if call.abandoned or self._clock() >= call.deadline:
            raise _Stopped
        call.waiting = False

    def _needs_retry(
        self, response: Any = None, caught_exception: Any = None, **_: Any
    ) -> bool | None:
        """botocore ``needs-retry``, ahead of botocore's own handler: False vetoes the retry,
        None leaves the decision (and the back-off) to botocore's standard mode.

        botocore's handler still runs after a veto and takes its retry-quota tokens (14, or 5 for
        a throttle, of 500) for a retry that never happens. A veto only happens at the end of a
        model's share, and a model that keeps failing is soon skipped by its breaker, so this
        drains the quota no faster than failing retries would.
        """
        call: _Call | None = getattr(self._local, "call", None)
        if call is None:
            return None
        failure = _attempt_failure(response, caught_exception)
        if failure is None:
            return None  # an answer: nothing to retry
        call.last = failure
        left = call.deadline - self._clock()
        if call.abandoned or left < MIN_RETRY_S:
            return False
        wait = retry_after_s(response)
        if wait is not None and wait > left - MIN_RETRY_S:
            return False  # the service asks for a longer wait than this model has left
        call.waiting = True
        return None

    def _client(self, connect: float, read: float) -> Any:
        key = (connect, read)
        client = self._clients.get(key)
        if client is None:
            client = self._factory(
                make_config(
                    max_attempts=self._max_attempts, connect_timeout_s=connect, read_timeout_s=read
                )
            )
            events = client.meta.events
            # On the operation's own event, so these run before botocore's service-wide handlers.
            events.register(f"before-send.{SERVICE}.Converse", self._before_send)
            events.register(f"needs-retry.{SERVICE}.Converse", self._needs_retry)
            self._clients[key] = client
            while len(self._clients) > _CLIENT_CACHE_SIZE:
                self._clients.popitem(last=False)
        else:
            self._clients.move_to_end(key)
        return client


def _abandoned(call: _Call) -> BedrockCallFailed:
    """The error of a call abandoned at its deadline: the last attempt's when it was cut during a
    back-off (that error stands), else a timeout."""
    if call.waiting and call.last is not None:
        return call.last
    return BedrockCallFailed(
        FailureKind.TIMEOUT, ATTEMPT_DEADLINE, "no answer within the time budget"
    )


def _attempt_failure(response: Any, caught_exception: Any) -> BedrockCallFailed | None:
    if isinstance(caught_exception, BaseException):
        return classify_exception(caught_exception)
    if isinstance(response, tuple) and len(response) == 2:
        http, parsed = response
        error = parsed.get("Error") if isinstance(parsed, dict) else None
        if isinstance(error, dict) and error:
            status = int(getattr(http, "status_code", 0) or 0)
            return classify_error(str(error.get("Code", "")), str(error.get("Message", "")), status)
    return None
