"""``bedrock-lz serve``: the inference API on 127.0.0.1, in front of the real handler.

    bedrock-lz serve --caller-arn arn:aws:sts::111122223333:assumed-role/ROLE/SESSION
                     [--port 8080] [--config CONFIG.json] [--scenario success|throttled|...]
                     [--endpoint-url http://127.0.0.1:PORT] [--stage prod] [--remaining-ms 25000]

Every HTTP request becomes the event API Gateway's REST API sends a Lambda proxy integration
(API Gateway developer guide, "Lambda proxy integrations in API Gateway", input format:
``resource``, ``path``, ``httpMethod``, ``headers``/``multiValueHeaders``, query strings,
``requestContext`` with ``identity``, ``body``, ``isBase64Encoded``) and is answered by
``bedrock_inference.handler.lambda_handler``, whose proxy result (``statusCode``, ``headers``,
``multiValueHeaders``, ``body``, ``isBase64Encoded``) becomes the HTTP response. So the
``openai`` SDK, ``requests`` or ``curl`` can talk to the function exactly as through the private
API: ``base_url="http://127.0.0.1:8080/prod/v1"``.

What differs from the deployed API, on purpose:

- **Identity.** API Gateway derives ``requestContext.identity.userArn`` from the SigV4 signature;
  here every request is ``--caller-arn``, and signatures are not checked (a signed request is
  accepted as it is, so the same client code works against both). Therefore the server binds
  127.0.0.1 only and refuses any other ``--host``.
- **Bedrock.** Stubbed (``botocore.stub.Stubber``) with the canned outcomes of ``--scenario``
  (the ``bedrock-lz invoke`` scenarios; the ``x-bedrock-lz-scenario`` request header picks one
  per request), or a real client pointed at ``--endpoint-url``, which must be a loopback address
  (a fake bedrock-runtime) and is sent fixed fake credentials, never yours.
- **The gateway's own checks** (request models, gateway responses, throttling) do not run: every
  request reaches the function, which answers unknown paths with 404 and other methods with 405
  where API Gateway would answer 403 ``MissingAuthenticationToken`` itself. Bodies above API
  Gateway's 10 MB payload quota ("Quotas for configuring and running a REST API in API
  Gateway") get 413 without reaching the function, as they would be refused before it.
- **One request at a time** reaches the handler, as in one Lambda execution environment; its
  breakers and clients persist between requests like a warm container's.

The configuration plumbing is ``bedrock-lz invoke``'s
(:func:`bedrock_inference.local.load_runtime`): ``--config`` is an ``INFERENCE_CONFIG`` document
(default: the sample config); ``GUARDRAIL_ID``, ``GUARDRAIL_VERSION`` and ``AWS_REGION`` come
from the environment (samples by default).
Standard library HTTP server only; no CDK imports.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
from botocore.stub import Stubber

from bedrock_inference.bedrock_client import SERVICE
from bedrock_inference.local import (
    SCENARIOS,
    LocalContext,
    LocalRuntime,
    chain_length,
    load_runtime,
    queue_scenario,
)
from bedrock_inference.models import ConfigurationError

#: The only hosts the server binds (both mean 127.0.0.1).
ALLOWED_HOSTS = ("127.0.0.1", "localhost")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_PORT = 8080
DEFAULT_STAGE = "prod"
DEFAULT_REMAINING_MS = 25_000  # the deployed function's timeout (inference.timeout_seconds)
#: API Gateway REST API payload quota: 10 MB.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
SCENARIO_HEADER = "x-bedrock-lz-scenario"
#: Sent to a fake ``--endpoint-url`` instead of any real credentials.
FAKE_ACCESS_KEY_ID = "AKIALOCALSERVE000000"
FAKE_SECRET_ACCESS_KEY = "local"  # noqa: S105 - a placeholder, never a secret


class UsageError(ValueError):
    """A command-line value ``serve`` refuses (the message says why and what to give)."""


@dataclass(frozen=True)
class ServeOptions:
    caller_arn: str
    """The IAM principal every request is made as (an STS assumed-role ARN for a team role)."""
    host: str = ALLOWED_HOSTS[0]
    port: int = DEFAULT_PORT
    """0: an ephemeral port (see :attr:`LocalApiServer.url`)."""
    config: Path | None = None
    scenario: str = "success"
    endpoint_url: str | None = None
    stage: str = DEFAULT_STAGE
    remaining_ms: int = DEFAULT_REMAINING_MS
    quiet: bool = False
    """No access log lines on stderr."""


def check_options(options: ServeOptions) -> None:
    """Raise :class:`UsageError` for a host other than 127.0.0.1, a caller that is no ARN, a
    non-loopback endpoint, an unknown scenario or a bad stage name."""
    if options.host not in ALLOWED_HOSTS:
        raise UsageError(
            f"--host {options.host}: `bedrock-lz serve` binds 127.0.0.1 only. It answers every "
            "request as --caller-arn without checking signatures, so it must never be reachable "
            "from another machine."
        )
    if not options.caller_arn.startswith("arn:") or options.caller_arn.count(":") < 5:
        raise UsageError(
            f"--caller-arn {options.caller_arn!r} is not an ARN; give the team role's session, "
            "e.g. arn:aws:sts::111122223333:assumed-role/bedrock-lz-default-team-search/me"
        )
    if options.scenario not in SCENARIOS:
        raise UsageError(f"--scenario {options.scenario!r}: one of {', '.join(SCENARIOS)}")
    if options.endpoint_url is not None:
        parts = urllib.parse.urlsplit(options.endpoint_url)
        if parts.scheme not in {"http", "https"} or parts.hostname not in LOOPBACK_HOSTS:
            raise UsageError(
                f"--endpoint-url {options.endpoint_url}: only a fake bedrock-runtime on this "
                "machine (http://127.0.0.1:PORT): the server never calls real Bedrock"
            )
    if not options.stage or not all(c.isalnum() or c in "-_" for c in options.stage):
        raise UsageError(f"--stage {options.stage!r}: letters, digits, '-' and '_' only")
    if not 1_000 <= options.remaining_ms <= 900_000:
        raise UsageError("--remaining-ms: between 1000 and 900000 (Lambda's 15 minutes)")


def team_of(arn: str, config: Mapping[str, Any]) -> str | None:
    """The team whose ``role_names`` hold the role of an assumed-role ARN (None: no team)."""
    _, _, rest = arn.partition(":assumed-role/")
    role = rest.split("/", 1)[0]
    for team, spec in (config.get("teams") or {}).items():
        if role and role in spec.get("role_names", ()):
            return str(team)
    return None


@dataclass
class _Backend:
    """The handler with its runtime, and how Bedrock is answered."""

    runtime: LocalRuntime
    options: ServeOptions
    service: Any
    client: Any
    stubbed: bool
    lock: threading.Lock = field(default_factory=threading.Lock)

    def invoke(self, event: dict[str, Any], scenario: str) -> dict[str, Any]:
        handler = self.runtime.handler
        with self.lock:  # one request at a time, as in one Lambda execution environment
            stubber = None
            if self.stubbed:
                stubber = Stubber(self.client)
                length = chain_length(event.get("body"), self.runtime.config)
                queue_scenario(stubber, scenario, length)
                stubber.activate()
            saved, handler.SERVICE = handler.SERVICE, self.service
            try:
                response: dict[str, Any] = handler.lambda_handler(
                    event, LocalContext(self.options.remaining_ms)
                )
                return response
            finally:
                handler.SERVICE = saved
                if stubber is not None:
                    stubber.deactivate()  # outcomes a request did not use are dropped with it


class LocalApiServer(ThreadingHTTPServer):
    """The local API: :attr:`url` is what ``base_url`` of a client points at (``.../v1``)."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, options: ServeOptions, backend: _Backend) -> None:
        self.options = options
        self.backend = backend
        super().__init__(("127.0.0.1", options.port), _RequestHandler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/<stage>``: the stage URL, as the private API's."""
        return f"http://127.0.0.1:{self.port}/{self.options.stage}"

    @contextlib.contextmanager
    def running(self) -> Iterator[LocalApiServer]:
        """Serve on a background thread while the block runs."""
        thread = threading.Thread(target=self.serve_forever, name="bedrock-lz-serve", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.shutdown()
            self.server_close()
            thread.join(timeout=5)


def create_server(options: ServeOptions) -> LocalApiServer:
    """Check the options, build the runtime (as a Lambda init would) and bind 127.0.0.1.

    Raises :class:`UsageError`, ``OSError``/``ValueError`` (config file), or
    :class:`~bedrock_inference.models.ConfigurationError`.
    """
    check_options(options)
    runtime = load_runtime(options.config)
    if runtime.settings.config.team_directory is not None:
        raise UsageError(
            "--config names a team_directory (an SSM path): `bedrock-lz serve` never calls AWS; "
            "give a config with a fixed `teams` map"
        )
    region = runtime.settings.region
    if options.endpoint_url is None:
        client = boto3.client(SERVICE, region_name=region)
        service = runtime.handler.build_service(runtime.settings, client_factory=lambda _c: client)
        stubbed = True
    else:
        endpoint = options.endpoint_url

        def factory(config: Any) -> Any:
            return boto3.client(
                SERVICE,
                region_name=region,
                endpoint_url=endpoint,
                config=config,
                aws_access_key_id=FAKE_ACCESS_KEY_ID,
                aws_secret_access_key=FAKE_SECRET_ACCESS_KEY,
            )

        client = None
        service = runtime.handler.build_service(runtime.settings, client_factory=factory)
        stubbed = False
    backend = _Backend(
        runtime=runtime, options=options, service=service, client=client, stubbed=stubbed
    )
    return LocalApiServer(options, backend)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LocalApiServer
    server_version = "bedrock-lz-serve"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_OPTIONS(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.options.quiet:
            super().log_message(format, *args)

    # ---------------------------------------------------------------------------------------------
    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            return
        scenario = self.headers.get(SCENARIO_HEADER) or self.server.options.scenario
        if scenario not in SCENARIOS:
            self._send(
                400,
                {"Content-Type": "application/json"},
                json.dumps(
                    {"message": f"{SCENARIO_HEADER}: one of {', '.join(SCENARIOS)}"}
                ).encode(),
            )
            return
        event = self._event(body)
        try:
            result = self.server.backend.invoke(event, scenario)
            status, headers, payload = _proxy_result(result)
        except Exception:  # API Gateway's answer to a failed or malformed integration response
            self.log_error("the handler failed or returned no valid proxy result")
            status, headers = 502, {"Content-Type": "application/json"}
            payload = b'{"message": "Internal server error"}'
        self._send(status, headers, payload)

    def _read_body(self) -> bytes | None:
        """The request body (chunked or sized); None when an answer was sent instead."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                try:
                    size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                except ValueError:
                    size = -1
                if size < 0:
                    self.close_connection = True
                    self._send(
                        400, {"Content-Type": "application/json"}, b'{"message": "Bad request"}'
                    )
                    return None
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > MAX_PAYLOAD_BYTES:
                    self._too_large()
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self._send(400, {"Content-Type": "application/json"}, b'{"message": "Bad request"}')
            self.close_connection = True
            return None
        if length > MAX_PAYLOAD_BYTES:
            self._too_large()
            return None
        return self.rfile.read(length) if length else b""

    def _too_large(self) -> None:
        self.close_connection = True
        self._send(413, {"Content-Type": "application/json"}, b'{"message": "Request Too Long"}')

    def _event(self, body: bytes) -> dict[str, Any]:
        """The REST API Lambda proxy event of this request."""
        parts = urllib.parse.urlsplit(self.path)
        stage_prefix = f"/{self.server.options.stage}"
        path = parts.path or "/"
        if path == stage_prefix or path.startswith(stage_prefix + "/"):
            path = path[len(stage_prefix) :] or "/"
        headers: dict[str, str] = {}
        multi_headers: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            headers[name] = value
            multi_headers.setdefault(name, []).append(value)
        query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        text: str | None
        encoded = False
        if not body:
            text = None
        else:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text, encoded = base64.b64encode(body).decode("ascii"), True
        now = datetime.now(UTC)
        caller = self.server.options.caller_arn
        account = caller.split(":")[4] if caller.count(":") >= 5 else None
        session = caller.rsplit("/", 1)[-1]
        return {
            "resource": path,
            "path": path,
            "httpMethod": self.command,
            "headers": headers or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
            "multiValueQueryStringParameters": query or None,
            "pathParameters": None,
            "stageVariables": None,
            "requestContext": {
                "resourceId": "local",
                "resourcePath": path,
                "httpMethod": self.command,
                "extendedRequestId": uuid.uuid4().hex[:16],
                "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "path": stage_prefix + path,
                "accountId": account,
                "protocol": self.request_version,
                "stage": self.server.options.stage,
                "domainPrefix": "127",
                "requestTimeEpoch": int(time.time() * 1000),
                "requestId": str(uuid.uuid4()),
                "identity": {
                    "cognitoIdentityPoolId": None,
                    "accountId": account,
                    "cognitoIdentityId": None,
                    "caller": f"AROALOCALSERVE:{session}",
                    "sourceIp": self.client_address[0],
                    "principalOrgId": None,
                    "accessKey": None,
                    "cognitoAuthenticationType": None,
                    "cognitoAuthenticationProvider": None,
                    "userArn": caller,
                    "userAgent": self.headers.get("User-Agent"),
                    "user": f"AROALOCALSERVE:{session}",
                },
                "domainName": self.headers.get("Host") or f"127.0.0.1:{self.server.port}",
                "apiId": "local",
            },
            "body": text,
            "isBase64Encoded": encoded,
        }

    def _send(self, status: int, headers: Mapping[str, str | list[str]], body: bytes) -> None:
        self.send_response(status, _reason(status))
        for name, value in headers.items():
            if name.lower() in {"content-length", "connection", "transfer-encoding"}:
                continue
            for item in value if isinstance(value, list) else [value]:
                self.send_header(name, item)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _proxy_result(result: Any) -> tuple[int, dict[str, str | list[str]], bytes]:
    """(status, headers, body) of a Lambda proxy integration result; raises if malformed."""
    if not isinstance(result, dict):
        raise TypeError("the proxy result is not an object")
    status = int(result["statusCode"])
    headers: dict[str, str | list[str]] = {}
    for name, value in (result.get("multiValueHeaders") or {}).items():
        headers[name] = [str(v) for v in value]
    for name, value in (result.get("headers") or {}).items():
        headers.setdefault(name, str(value))
    body = result.get("body") or ""
    if not isinstance(body, str):
        raise TypeError("the proxy result's body is not a string")
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    return status, headers, payload


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve the inference API on 127.0.0.1: each HTTP request becomes the API "
        "Gateway proxy event the function receives, made as --caller-arn, answered by the "
        "real handler against a stubbed Bedrock (or a fake one at --endpoint-url).",
    )
    parser.add_argument(
        "--caller-arn",
        required=True,
        help="IAM principal of every request, e.g. "
        "arn:aws:sts::111122223333:assumed-role/bedrock-lz-default-team-search/me",
    )
    parser.add_argument("--host", default=ALLOWED_HOSTS[0], help="127.0.0.1 (the only choice)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}; 0: any free"
    )
    parser.add_argument("--config", type=Path, help="INFERENCE_CONFIG JSON (default: a sample)")
    parser.add_argument(
        "--scenario",
        choices=SCENARIOS,
        help=f"stubbed Bedrock outcome (default success; per request: the {SCENARIO_HEADER} "
        "header)",
    )
    parser.add_argument(
        "--endpoint-url", help="a fake bedrock-runtime on this machine instead of the stub"
    )
    parser.add_argument("--stage", default=DEFAULT_STAGE, help="stage in the URL (default prod)")
    parser.add_argument(
        "--remaining-ms",
        type=int,
        default=DEFAULT_REMAINING_MS,
        help="Lambda time left at the start of each request",
    )
    parser.add_argument("--quiet", action="store_true", help="no access log lines")
    return parser


def main(argv: list[str], prog: str = "serve") -> int:
    """Serve until interrupted. Exit status 0, or 2 for a usage or config error."""
    args = _parser(prog).parse_args(argv)
    if args.endpoint_url is not None and args.scenario is not None:
        print(
            f"error: {prog}: --scenario stubs Bedrock and --endpoint-url replaces the stub: "
            "give one of them",
            file=sys.stderr,
        )
        return 2
    options = ServeOptions(
        caller_arn=args.caller_arn,
        host=args.host,
        port=args.port,
        config=args.config,
        scenario=args.scenario or "success",
        endpoint_url=args.endpoint_url,
        stage=args.stage,
        remaining_ms=args.remaining_ms,
        quiet=args.quiet,
    )
    try:
        server = create_server(options)
    except (UsageError, OSError, ValueError, ConfigurationError) as exc:
        print(f"error: {prog}: {exc}", file=sys.stderr)
        return 2
    team = team_of(options.caller_arn, server.backend.runtime.config)
    bedrock = (
        f"fake bedrock-runtime at {options.endpoint_url}"
        if options.endpoint_url
        else f"stubbed Bedrock, scenario {options.scenario!r}"
    )
    print(f"{prog}: {server.url}/v1 ({bedrock})")
    print(f"  caller {options.caller_arn} -> team {team or '(none: every request gets 403)'}")
    print(f"  openai.OpenAI(base_url='{server.url}/v1', api_key='unused')")
    print("  Ctrl-C stops it.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
