"""tools/smoke.py against a local stub API (127.0.0.1) and stubbed SSM/STS (botocore Stubber).

The stub server recomputes the SigV4 signature of every request it receives, so the tests prove
the request is signed for ``execute-api`` with the assumed role's credentials, over exactly the
body that was sent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.client import BaseClient
from botocore.credentials import Credentials
from botocore.stub import Stubber

from tools import smoke

REGION = "eu-central-1"
ROLE_ARN = "arn:aws:iam::111111111111:role/bedrock-lz-claims"
ASSUMED = Credentials("ASIAASSUMEDKEY000001", "assumed-secret", "assumed-session-token")
GOOD_ANSWER: dict[str, Any] = {
    "requestId": "f3b1c2d4-0000-4000-8000-000000000001",
    "model": {"alias": "nova-pro", "modelId": "amazon.nova-pro-v1:0"},
    "message": {"role": "assistant", "content": "ready"},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 12, "outputTokens": 1, "totalTokens": 13},
    "latencyMs": 420,
    "guardrail": {"intervened": False, "action": "NONE"},
    "fallbacksUsed": 0,
}


@dataclass
class StubApi:
    """A local stand-in for the private API: records requests, answers with ``status``/``body``."""

    url: str = ""
    status: int = 200
    body: bytes = json.dumps(GOOD_ANSWER).encode()
    requests: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def api() -> Iterator[StubApi]:
    state = StubApi()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            state.requests.append(
                {
                    "path": self.path,
                    "headers": dict(self.headers.items()),
                    "body": self.rfile.read(length),
                }
            )
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/prod/v1/converse"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class Clients:
    """A client factory for ``smoke.main``: pre-built clients with Stubbers, and a call log."""

    stubs: dict[str, tuple[BaseClient, Stubber]]
    calls: list[tuple[str, str, str | None]] = field(default_factory=list)  # access key used

    def __call__(self, service: str, region: str, credentials: Credentials | None) -> BaseClient:
        self.calls.append((service, region, credentials.access_key if credentials else None))
        return self.stubs[service][0]

    def stub(self, service: str) -> Stubber:
        return self.stubs[service][1]


@pytest.fixture(scope="module")
def botocore_session() -> botocore.session.Session:
    """One session for the module's clients: its loader parses the endpoint data and each
    service's model once (a session per test parsed them again, ~75 ms each)."""
    return botocore.session.get_session()


@pytest.fixture
def clients(botocore_session: botocore.session.Session) -> Iterator[Clients]:
    stubs = {}
    for service in ("sts", "ssm"):
        client = botocore_session.create_client(
            service,
            region_name=REGION,
            aws_access_key_id="AKIAAMBIENT000000001",
            aws_secret_access_key="ambient-secret",
        )
        stubs[service] = (client, Stubber(client))
    factory = Clients(stubs=stubs)
    for _, stubber in stubs.values():
        stubber.activate()
    yield factory
    for _, stubber in stubs.values():
        stubber.deactivate()


def _expect_assume_role(clients: Clients) -> None:
    clients.stub("sts").add_response(
        "assume_role",
        {
            "Credentials": {
                "AccessKeyId": ASSUMED.access_key,
                "SecretAccessKey": ASSUMED.secret_key,
                "SessionToken": ASSUMED.token,
                "Expiration": datetime(2030, 1, 1, tzinfo=UTC),
            }
        },
        {"RoleArn": ROLE_ARN, "RoleSessionName": "bedrock-lz-smoke"},
    )


def _expect_parameter(clients: Clients, env: str, url: str) -> None:
    clients.stub("ssm").add_response(
        "get_parameter",
        {"Parameter": {"Name": smoke.api_url_parameter(env), "Type": "String", "Value": url}},
        {"Name": f"/bedrock-lz/{env}/inference/api-url"},
    )


def _run(clients: Clients, *extra: str, env: str = "existing-vpc") -> int:
    return smoke.main(
        ["--env", env, "--region", REGION, "--model", "nova-pro", *extra],
        clients=clients,
        ambient_credentials=lambda: Credentials("AKIAAMBIENT000000001", "ambient-secret"),
    )


def _assert_signed_by(request: dict[str, Any], url: str, credentials: Credentials) -> None:
    headers = request["headers"]
    authorization = headers["Authorization"]
    scope = authorization.split("Credential=", 1)[1].split(",", 1)[0]
    access_key, _, region, service, terminator = scope.split("/")
    assert (access_key, region, service, terminator) == (
        credentials.access_key,
        REGION,
        "execute-api",
        "aws4_request",
    )
    signed = authorization.split("SignedHeaders=", 1)[1].split(",", 1)[0].split(";")
    assert {"host", "x-amz-date", "content-type"} <= set(signed)
    if credentials.token:
        assert "x-amz-security-token" in signed
        assert headers["X-Amz-Security-Token"] == credentials.token
    lower = {k.lower(): v for k, v in headers.items()}
    replay = AWSRequest(
        method="POST", url=url, data=request["body"], headers={h: lower[h] for h in signed}
    )
    replay.context["timestamp"] = lower["x-amz-date"]
    auth = SigV4Auth(credentials, "execute-api", REGION)
    expected = auth.signature(auth.string_to_sign(replay, auth.canonical_request(replay)), replay)
    assert authorization.endswith(f"Signature={expected}"), "signature does not match the request"


def test_guarded_answer_through_the_assumed_team_role(
    api: StubApi, clients: Clients, capsys: pytest.CaptureFixture[str]
) -> None:
    _expect_assume_role(clients)
    _expect_parameter(clients, "existing-vpc", api.url)

    assert _run(clients, "--role-arn", ROLE_ARN, "--prompt", "Say ready") == 0

    clients.stub("sts").assert_no_pending_responses()
    clients.stub("ssm").assert_no_pending_responses()
    assert clients.calls == [("sts", REGION, None), ("ssm", REGION, ASSUMED.access_key)]
    (request,) = api.requests
    assert request["path"] == "/prod/v1/converse"
    assert json.loads(request["body"]) == {
        "model": "nova-pro",
        "messages": [{"role": "user", "content": "Say ready"}],
        "inferenceConfig": {"maxTokens": 64},
    }
    _assert_signed_by(request, api.url, ASSUMED)
    out = capsys.readouterr().out
    assert "smoke: ok env=existing-vpc model=nova-pro" in out
    assert GOOD_ANSWER["requestId"] in out and "guardrail=NONE" in out


def test_ambient_credentials_without_a_role(api: StubApi, clients: Clients) -> None:
    _expect_parameter(clients, "default", api.url)
    assert _run(clients, env="default") == 0
    (request,) = api.requests
    _assert_signed_by(request, api.url, Credentials("AKIAAMBIENT000000001", "ambient-secret"))
    assert "X-Amz-Security-Token" not in request["headers"]


def test_an_intervened_guardrail_is_still_a_guarded_answer(api: StubApi, clients: Clients) -> None:
    blocked = {
        **GOOD_ANSWER,
        "message": {"role": "assistant", "content": "Sorry, I can't help with that."},
        "guardrail": {"intervened": True, "action": "GUARDRAIL_INTERVENED"},
    }
    api.body = json.dumps(blocked).encode()
    _expect_parameter(clients, "default", api.url)
    assert _run(clients, env="default") == 0


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (403, b'{"message":"User is not authorized"}', "HTTP 403 (expected 200)"),
        (502, b'{"error":"bad gateway"}', "HTTP 502 (expected 200)"),
        (200, b"<html>not json</html>", "the body is not JSON"),
        (200, b"[1, 2]", "not a JSON object"),
    ],
)
def test_failed_calls_exit_1_and_say_why(
    api: StubApi,
    clients: Clients,
    capsys: pytest.CaptureFixture[str],
    status: int,
    body: bytes,
    expected: str,
) -> None:
    api.status, api.body = status, body
    _expect_parameter(clients, "default", api.url)
    assert _run(clients, env="default") == 1
    assert expected in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"guardrail": None}, "missing fields: guardrail"),
        ({"requestId": None, "message": None}, "missing fields: requestId, message"),
        ({"guardrail": {"intervened": "no", "action": "NONE"}}, "guardrail: expected"),
        ({"guardrail": {"intervened": False, "action": "BLOCKED"}}, "guardrail: expected"),
        ({"model": {"alias": "claude-sonnet", "modelId": "x"}}, "model: expected alias 'nova-pro'"),
        ({"message": {"role": "user", "content": "hi"}}, "message: expected an assistant"),
        ({"requestId": ""}, "requestId: expected a non-empty string"),
    ],
)
def test_check_answer_names_each_problem(change: dict[str, Any], expected: str) -> None:
    answer = {k: v for k, v in {**GOOD_ANSWER, **change}.items() if v is not None}
    problems = smoke.check_answer(smoke.Response(200, json.dumps(answer).encode()), "nova-pro")
    assert any(expected in p for p in problems), problems


def test_check_answer_accepts_the_handler_contract() -> None:
    assert (
        smoke.check_answer(smoke.Response(200, json.dumps(GOOD_ANSWER).encode()), "nova-pro") == []
    )


def test_missing_parameter_exits_2_naming_it(
    clients: Clients, capsys: pytest.CaptureFixture[str]
) -> None:
    clients.stub("ssm").add_client_error(
        "get_parameter", service_error_code="ParameterNotFound", http_status_code=400
    )
    assert _run(clients, env="default") == 2
    assert "/bedrock-lz/default/inference/api-url" in capsys.readouterr().err


def test_assume_role_denied_exits_2(clients: Clients, capsys: pytest.CaptureFixture[str]) -> None:
    clients.stub("sts").add_client_error(
        "assume_role", service_error_code="AccessDenied", http_status_code=403
    )
    assert _run(clients, "--role-arn", ROLE_ARN) == 2
    assert f"cannot assume {ROLE_ARN}" in capsys.readouterr().err


@pytest.mark.parametrize(
    "url", ["http://example.com/prod/v1/converse", "ftp://127.0.0.1/x", "not a url"]
)
def test_signed_requests_go_over_https_only(
    clients: Clients, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    _expect_parameter(clients, "default", url)
    assert _run(clients, env="default") == 2
    assert "must be https" in capsys.readouterr().err


def test_unreachable_api_exits_2_with_the_vpc_hint(
    clients: Clients, capsys: pytest.CaptureFixture[str]
) -> None:
    _expect_parameter(clients, "default", "http://127.0.0.1:9/prod/v1/converse")
    assert _run(clients, "--timeout", "2", env="default") == 2
    assert "inside the landing zone VPC" in capsys.readouterr().err


def test_parameter_name_is_the_inference_stack_contract() -> None:
    # the inference stack publishes exactly this name (tests/inference/test_inference.py)
    assert smoke.api_url_parameter("default") == "/bedrock-lz/default/inference/api-url"
