"""SigV4 signing for httpx and the openai SDK (no network: httpx's MockTransport)."""

from __future__ import annotations

import importlib
import json
import re
from typing import Any

import httpx
import openai
from botocore.credentials import Credentials

from bedrock_landing_zone.inference.sigv4 import sigv4_auth

CREDENTIALS = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "tok")
URL = "https://abc123-vpce-0a1b.execute-api.eu-central-1.amazonaws.com/prod/v1"
SIGNATURE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/\d{8}/eu-central-1/execute-api/"
    r"aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$"
)


def _capture(http: Any = httpx) -> tuple[list[Any], Any]:
    seen: list[Any] = []

    def handler(request: Any) -> Any:
        seen.append(request)
        body = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": "claude-haiku",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "hi"},
                    "finish_reason": "stop",
                }
            ],
        }
        return http.Response(200, json=body)

    return seen, http.MockTransport(handler)


def test_requests_are_signed_for_execute_api_with_the_body() -> None:
    seen, transport = _capture()
    auth = sigv4_auth(region="eu-central-1", credentials=CREDENTIALS, library=httpx)
    client = httpx.Client(auth=auth, transport=transport)
    client.post(f"{URL}/converse", json={"model": "m"}, headers={"Authorization": "Bearer x"})
    (request,) = seen
    match = SIGNATURE.match(request.headers["Authorization"])
    assert match, request.headers["Authorization"]
    assert {"host", "x-amz-date", "x-amz-security-token"} <= set(match.group(1).split(";"))
    assert request.headers["X-Amz-Security-Token"] == "tok"
    assert "x-amz-content-sha256" not in match.group(1) or request.headers["X-Amz-Content-SHA256"]


def test_the_openai_sdk_sends_signed_requests_and_no_bearer_key() -> None:
    http = importlib.import_module("httpx2")  # what openai 3 is built on
    seen, transport = _capture(http)
    auth = sigv4_auth(region="eu-central-1", credentials=CREDENTIALS)
    client = openai.OpenAI(
        base_url=URL,
        api_key="unused",
        http_client=openai.DefaultHttpxClient(auth=auth, transport=transport),
    )
    answer = client.chat.completions.create(
        model="claude-haiku", messages=[{"role": "user", "content": "hello"}]
    )
    assert answer.choices[0].message.content == "hi"
    (request,) = seen
    assert request.url.path == "/prod/v1/chat/completions"
    assert SIGNATURE.match(request.headers["Authorization"])
    assert "unused" not in request.headers["Authorization"]
    assert json.loads(request.content)["model"] == "claude-haiku"
