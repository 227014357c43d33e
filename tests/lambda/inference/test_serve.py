"""``bedrock-lz serve``: real clients against the real handler through the local adapter.

The adapter runs on 127.0.0.1 with an ephemeral port, in a thread. Clients: the ``openai`` SDK
(openai 3, on httpx2), with and without the package's SigV4 auth; ``requests`` signed with
``bedrock_landing_zone.inference.sigv4.sign_headers`` and fake static credentials.
"""

from __future__ import annotations

import contextlib
import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import requests
from bedrock_inference import serve
from bedrock_inference.local import SAMPLE_CONFIG
from botocore.credentials import Credentials

from bedrock_landing_zone.cli import main as cli
from bedrock_landing_zone.inference.sigv4 import sign_headers, sigv4_auth

from . import TEST_CONFIG
from .fake_bedrock import FakeBedrock, answer
from .media_samples import png
from .test_openai_route import data_url

ROLE = SAMPLE_CONFIG["teams"]["search"]["role_names"][0]
CALLER = f"arn:aws:sts::111122223333:assumed-role/{ROLE}/alice"
CREDENTIALS = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "tok")
STUB_TEXT = "Hello from the stubbed model."


@contextlib.contextmanager
def running(**options: Any) -> Iterator[serve.LocalApiServer]:
    server = serve.create_server(
        serve.ServeOptions(**{"caller_arn": CALLER, "port": 0, "quiet": True, **options})
    )
    with server.running():
        yield server


@pytest.fixture(scope="module")
def server() -> Iterator[serve.LocalApiServer]:
    with running() as server:
        yield server


def client(server: serve.LocalApiServer, **kwargs: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, **kwargs)


# --- the openai SDK -------------------------------------------------------------------------------
def test_openai_sdk_chat_completion(server: serve.LocalApiServer) -> None:
    completion = client(server).chat.completions.create(
        model="claude-haiku",
        messages=[
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "What is a landing zone?"},
        ],
        max_completion_tokens=100,
        temperature=0.3,
    )
    assert completion.object == "chat.completion"
    assert completion.model == "claude-haiku"
    assert completion.choices[0].message.content == STUB_TEXT
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (12, 8)
    assert completion._request_id is not None  # from x-request-id
    assert completion.id == f"chatcmpl-{completion._request_id}"
    assert completion.model_extra is not None
    assert completion.model_extra["bedrock"]["guardrail"] == {"intervened": False, "action": "NONE"}


def test_openai_sdk_with_an_image(server: serve.LocalApiServer) -> None:
    completion = client(server).chat.completions.create(
        model="nova-lite",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this image?"},
                    {"type": "image_url", "image_url": {"url": data_url(png(2, 2))}},
                ],
            }
        ],
    )
    assert completion.choices[0].message.content == STUB_TEXT


def test_openai_sdk_models_list(server: serve.LocalApiServer) -> None:
    models = client(server).models.list()
    assert [(m.id, m.owned_by) for m in models] == [
        ("claude-haiku", "anthropic"),
        ("nova-lite", "amazon"),
    ]


def test_openai_sdk_model_not_allowed_is_permission_denied(server: serve.LocalApiServer) -> None:
    with pytest.raises(openai.PermissionDeniedError) as raised:
        client(server).chat.completions.create(
            model="claude-sonnet", messages=[{"role": "user", "content": "hi"}]
        )
    error = raised.value
    assert error.status_code == 403
    assert (error.code, error.param, error.type) == (
        "model_not_allowed",
        "model",
        "permission_error",
    )
    assert "not allowed for team 'search'" in error.message
    assert error.request_id


def test_openai_sdk_streaming_is_a_bad_request(server: serve.LocalApiServer) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client(server).chat.completions.create(
            model="claude-haiku", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    assert (raised.value.code, raised.value.param) == ("unsupported_parameter", "stream")


def test_openai_sdk_sees_throttling_and_guardrails(server: serve.LocalApiServer) -> None:
    sdk = client(server)
    messages: list[Any] = [{"role": "user", "content": "hi"}]
    with pytest.raises(openai.RateLimitError) as raised:
        sdk.chat.completions.create(
            model="claude-haiku",
            messages=messages,
            extra_headers={serve.SCENARIO_HEADER: "throttled"},
        )
    assert raised.value.code == "throttled"
    assert raised.value.response.headers["Retry-After"] == "2"
    blocked = sdk.chat.completions.create(
        model="claude-haiku", messages=messages, extra_headers={serve.SCENARIO_HEADER: "guardrail"}
    )
    assert blocked.choices[0].finish_reason == "content_filter"


def test_openai_sdk_signed_with_sigv4(server: serve.LocalApiServer) -> None:
    """The README's client: the SDK's own HTTP client with the package's SigV4 auth."""
    seen: list[dict[str, str]] = []

    def record(request: Any) -> None:
        seen.append(dict(request.headers))

    auth = sigv4_auth(region="us-east-1", credentials=CREDENTIALS)
    http_client = openai.DefaultHttpxClient(auth=auth, event_hooks={"request": [record]})
    completion = client(server, http_client=http_client).chat.completions.create(
        model="claude-haiku", messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.choices[0].message.content == STUB_TEXT
    (headers,) = seen
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/")
    assert headers["x-amz-security-token"] == "tok"


# --- a SigV4-signed requests call to /v1/converse -------------------------------------------------
def test_signed_requests_call_to_converse(server: serve.LocalApiServer) -> None:
    url = f"{server.url}/v1/converse"
    body = json.dumps(
        {
            "model": "claude-haiku",
            "messages": [{"role": "user", "content": "What is a landing zone?"}],
        }
    ).encode()
    headers = sign_headers(
        "POST",
        url,
        {"Content-Type": "application/json"},
        body,
        region="us-east-1",
        credentials=CREDENTIALS,
    )
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 ")
    response = requests.post(url, data=body, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["message"] == {"role": "assistant", "content": STUB_TEXT}
    assert answer["model"]["alias"] == "claude-haiku"
    assert answer["guardrail"]["intervened"] is False
    # and an error of the Converse route keeps the Converse error shape
    bad = requests.post(url, data=b'{"model": "claude-haiku"}', headers=headers, timeout=10)
    assert bad.status_code == 400
    assert set(bad.json()) == {"error", "requestId"}
    assert bad.json()["error"]["field"] == "messages"


# --- the event the function receives --------------------------------------------------------------
def test_requests_become_api_gateway_proxy_events(server: serve.LocalApiServer) -> None:
    seen: list[dict[str, Any]] = []
    backend = server.backend
    original = backend.invoke

    def spy(event: dict[str, Any], scenario: str) -> dict[str, Any]:
        seen.append(event)
        return {"statusCode": 201, "multiValueHeaders": {"X-Two": ["a", "b"]}, "body": "made"}

    backend.invoke = spy  # type: ignore[method-assign]
    try:
        response = requests.post(
            f"{server.url}/v1/converse?a=1&a=2&b=",
            data="{}",
            headers={"Content-Type": "application/json", "X-Custom": "yes"},
            timeout=10,
        )
        requests.post(f"{server.url}/v1/x", data=b"\xff\xfe", timeout=10)
    finally:
        backend.invoke = original  # type: ignore[method-assign]
    assert (response.status_code, response.text) == (201, "made")
    assert response.raw.headers.getlist("X-Two") == ["a", "b"]
    event = seen[0]
    assert (event["resource"], event["path"], event["httpMethod"]) == (
        "/v1/converse",
        "/v1/converse",
        "POST",
    )
    assert event["headers"]["X-Custom"] == "yes"
    assert event["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert event["queryStringParameters"] == {"a": "2", "b": ""}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [""]}
    assert (event["body"], event["isBase64Encoded"]) == ("{}", False)
    context = event["requestContext"]
    assert (context["path"], context["stage"], context["resourcePath"]) == (
        "/prod/v1/converse",
        "prod",
        "/v1/converse",
    )
    assert context["identity"]["userArn"] == CALLER
    assert context["identity"]["accountId"] == context["accountId"] == "111122223333"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert len(context["requestId"]) == 36
    assert (seen[1]["body"], seen[1]["isBase64Encoded"]) == ("//4=", True)  # not UTF-8


def test_a_failing_handler_is_a_502_as_from_api_gateway(server: serve.LocalApiServer) -> None:
    backend = server.backend
    original = backend.invoke

    def broken(event: dict[str, Any], scenario: str) -> dict[str, Any]:
        return {"body": "no statusCode"}

    backend.invoke = broken  # type: ignore[method-assign]
    try:
        response = requests.get(f"{server.url}/v1/models", timeout=10)
    finally:
        backend.invoke = original  # type: ignore[method-assign]
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}


def test_bodies_over_api_gateways_payload_quota_are_413(server: serve.LocalApiServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.putrequest("POST", "/prod/v1/chat/completions")
    connection.putheader("Content-Length", str(serve.MAX_PAYLOAD_BYTES + 1))
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413
    connection.close()


def test_unknown_paths_and_methods_reach_the_function(server: serve.LocalApiServer) -> None:
    assert requests.get(f"{server.url}/v1/embeddings", timeout=10).status_code == 404
    response = requests.get(f"{server.url}/v1/chat/completions", timeout=10)
    assert (response.status_code, response.headers["Allow"]) == (405, "POST")
    bad = requests.get(f"{server.url}/v1/models", headers={serve.SCENARIO_HEADER: "x"}, timeout=10)
    assert bad.status_code == 400 and serve.SCENARIO_HEADER in bad.json()["message"]


# --- other callers, configs and Bedrocks --------------------------------------------------------
def test_an_unmapped_caller_gets_403_from_every_route() -> None:
    stranger = "arn:aws:sts::111122223333:assumed-role/someone-else/bob"
    with (
        running(caller_arn=stranger) as server,
        pytest.raises(openai.PermissionDeniedError) as raised,
    ):
        client(server).models.list()
    assert raised.value.code == "caller_not_recognized"


def test_a_config_file_and_another_stage(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(TEST_CONFIG), encoding="utf-8")
    caller = "arn:aws:sts::111122223333:assumed-role/bedrock-lz-default-team-assistant/bob"
    with running(caller_arn=caller, config=config, stage="dev") as server:
        assert server.url.endswith("/dev")
        assert [m.id for m in client(server).models.list()] == ["claude-sonnet", "claude-haiku"]


def test_a_fake_bedrock_endpoint_answers_through_botocore() -> None:
    model_id = SAMPLE_CONFIG["models"]["claude-haiku"]["model_id"]
    with FakeBedrock({model_id: [answer("from the fake endpoint")]}) as fake:
        with running(endpoint_url=fake.url) as server:
            completion = client(server).chat.completions.create(
                model="claude-haiku", messages=[{"role": "user", "content": "hi"}]
            )
        assert fake.calls_for(model_id) == 1
    assert completion.choices[0].message.content == "from the fake endpoint"


# --- refusals and the command line ----------------------------------------------------------------
@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "::1", "example.com"])
def test_only_127_0_0_1_is_served(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(serve.UsageError, match=r"binds 127\.0\.0\.1 only"):
        serve.create_server(serve.ServeOptions(caller_arn=CALLER, host=host, port=0))
    assert serve.main(["--caller-arn", CALLER, "--host", host, "--port", "0"]) == 2
    assert "binds 127.0.0.1 only" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--caller-arn", "alice"], "is not an ARN"),
        (
            [
                "--caller-arn",
                CALLER,
                "--endpoint-url",
                "https://bedrock-runtime.us-east-1.amazonaws.com",
            ],
            "never calls real Bedrock",
        ),
        (
            [
                "--caller-arn",
                CALLER,
                "--endpoint-url",
                "http://127.0.0.1:9",
                "--scenario",
                "success",
            ],
            "give one of them",
        ),
        (["--caller-arn", CALLER, "--stage", "a/b"], "--stage"),
        (["--caller-arn", CALLER, "--remaining-ms", "5"], "--remaining-ms"),
        (["--caller-arn", CALLER, "--config", "/nonexistent/config.json"], "config.json"),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert serve.main([*argv, "--port", "0"]) == 2
    assert words in capsys.readouterr().err


def test_a_team_directory_config_is_refused(tmp_path: Path) -> None:
    """The SSM team directory would be read from AWS: serve takes a fixed team map only."""
    config = {k: v for k, v in SAMPLE_CONFIG.items() if k != "teams"}
    config["team_directory"] = "/bedrock-lz/default/teams/"
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(serve.UsageError, match="never calls AWS"):
        serve.create_server(serve.ServeOptions(caller_arn=CALLER, port=0, config=path))


def test_bedrock_lz_serve_is_a_pass_through_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert "serve" in cli.PASS_THROUGH
    with pytest.raises(SystemExit) as done:
        cli.main(["serve", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: bedrock-lz serve ")
    assert "--caller-arn" in out
    assert cli.main(["serve", "--caller-arn", CALLER, "--host", "0.0.0.0"]) == 2
    assert "`bedrock-lz serve` binds 127.0.0.1 only" in capsys.readouterr().err


def test_team_of_a_caller() -> None:
    assert serve.team_of(CALLER, SAMPLE_CONFIG) == "search"
    assert serve.team_of("arn:aws:iam::111122223333:user/x", SAMPLE_CONFIG) is None
