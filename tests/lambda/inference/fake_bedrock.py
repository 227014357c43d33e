"""A fake bedrock-runtime on 127.0.0.1, so that botocore's real retries, timeouts and parsing run.

Converse's wire format (botocore's service model ``bedrock-runtime/2023-09-30``, protocol
rest-json): ``POST /model/{modelId}/converse`` with a JSON body; the answer is JSON with
``output.message.content[].text``, ``stopReason``, ``usage`` and ``metrics``; an error carries its
type in the ``x-amzn-errortype`` header (``Type:namespace``) and ``{"message": ...}`` in the body.

Each model id has a script: a list of behaviours used in turn for its requests, the last one
repeating. Behaviours that wait (hang, trickle, delays) end when the server stops, so no thread
outlives the test.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bedrock_inference.local import converse_answer

Behaviour = Callable[["_Handler"], None]
ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeBedrock


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.request_body = self.rfile.read(length)
        parts = urllib.parse.urlsplit(self.path).path.split("/")
        if len(parts) != 4 or parts[1] != "model" or parts[3] != "converse":
            self.send_json(404, {"message": "no such route"}, error_type="UnknownOperation")
            return
        model_id = urllib.parse.unquote(parts[2])
        self.server.fake.next_behaviour(model_id)(self)

    # --- helpers for behaviours ------------------------------------------------------------------
    @property
    def stopping(self) -> threading.Event:
        return self.server.fake.stopping

    def send_json(
        self,
        status: int,
        payload: Any,
        *,
        error_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_raw(
            status,
            json.dumps(payload).encode(),
            headers={
                **({"x-amzn-errortype": f"{error_type}:{ERROR_NAMESPACE}"} if error_type else {}),
                **(headers or {}),
            },
        )

    def send_raw(
        self,
        status: int,
        body: bytes,
        *,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", "fake-request-id")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()


#: What a client of the fake needs in its environment: made-up credentials, no AWS config,
#: no instance metadata, no proxy for 127.0.0.1.
ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}


@dataclass
class FakeBedrock:
    """``with FakeBedrock({model_id: [behaviour, ...]}) as fake: fake.url``"""

    script: Mapping[str, Sequence[Behaviour]]
    stopping: threading.Event = field(default_factory=threading.Event)
    calls: list[tuple[str, float]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _used: dict[str, int] = field(default_factory=dict)
    _server: _Server | None = None

    def __enter__(self) -> FakeBedrock:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def calls_for(self, model_id: str) -> int:
        return sum(1 for called, _ in self.calls if called == model_id)

    def next_behaviour(self, model_id: str) -> Behaviour:
        with self._lock:
            self.calls.append((model_id, time.monotonic()))
            steps = self.script.get(model_id) or [error(404, "ResourceNotFoundException")]
            used = self._used.get(model_id, 0)
            self._used[model_id] = used + 1
            return steps[min(used, len(steps) - 1)]


# --- behaviours -----------------------------------------------------------------------------------
def answer(text: str = "answered by the fake", *, after_s: float = 0) -> Behaviour:
    def run(h: _Handler) -> None:
        if after_s and h.stopping.wait(after_s):
            return
        h.send_json(200, converse_answer(text))

    return run


def error(
    status: int,
    error_type: str | None = None,
    *,
    after_s: float = 0,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> Behaviour:
    """An error answer; without ``error_type`` a bare status with ``body`` (default: empty)."""

    def run(h: _Handler) -> None:
        if after_s and h.stopping.wait(after_s):
            return
        if error_type is not None:
            h.send_json(
                status, {"message": f"fake {error_type}"}, error_type=error_type, headers=headers
            )
        else:
            h.send_raw(status, body or b"", content_type="text/html", headers=headers)

    return run


def hang() -> Behaviour:
    """Read the request, never answer (until the server stops)."""

    def run(h: _Handler) -> None:
        h.stopping.wait()
        h.close_connection = True

    return run


def trickle(every_s: float = 2.0, chunk: int = 8) -> Behaviour:
    """A 200 whose headers come at once and whose body comes ``chunk`` bytes every ``every_s``."""

    def run(h: _Handler) -> None:
        body = json.dumps(converse_answer("trickled " * 20)).encode()
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.flush()
        for start in range(0, len(body), chunk):
            h.wfile.write(body[start : start + chunk])
            h.wfile.flush()
            if h.stopping.wait(every_s):
                break
        h.close_connection = True

    return run


def garbled() -> Behaviour:
    """A 200 whose body is truncated JSON."""

    def run(h: _Handler) -> None:
        h.send_raw(200, b'{"output": {"message": {"role": "assistant", "content": [{"text": "tru')

    return run


def garbage() -> Behaviour:
    """A 200 whose body is binary noise (not even UTF-8)."""

    def run(h: _Handler) -> None:
        h.send_raw(200, b"\xff\xfe\x00\x9c binary \x80 noise")

    return run


def empty() -> Behaviour:
    """A 200 with an empty body."""

    def run(h: _Handler) -> None:
        h.send_raw(200, b"")

    return run


def drop() -> Behaviour:
    """Close the connection without answering."""

    def run(h: _Handler) -> None:
        h.close_connection = True
        with contextlib.suppress(OSError):
            h.connection.shutdown(socket.SHUT_RDWR)

    return run


# --- endpoints that fail below HTTP ---------------------------------------------------------------
@contextlib.contextmanager
def unaccepting_endpoint() -> Iterator[str]:
    """A port whose accept queue is full: TCP connects hang (the SYN is dropped) until timeout."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    host, port = listener.getsockname()
    filler = socket.create_connection((host, port), timeout=2)  # takes the only queue slot
    try:
        yield f"http://{host}:{port}"
    finally:
        filler.close()
        listener.close()


def refused_endpoint() -> str:
    """A local port nobody listens on: connects are refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        host, port = probe.getsockname()
    return f"http://{host}:{port}"
