#!/usr/bin/env python3
"""Smoke test of a deployed landing zone: one guarded Converse call through the private API.

    python3 tools/smoke.py --env prod --region eu-central-1 --model claude-haiku \\
        [--role-arn arn:aws:iam::111111111111:role/<team role>] [--prompt TEXT] [--timeout 30]

1. With ``--role-arn``, assume that role (a team role of the environment: the inference function
   serves callers by team role); otherwise use the ambient credentials.
2. Read the API URL from the SSM parameter ``/bedrock-lz/<env>/inference/api-url``.
3. ``POST`` ``{"model", "messages"}`` to it, signed with SigV4 (service ``execute-api``).
4. Require HTTP 200 and a guarded answer: ``requestId``, ``model`` (the alias asked for),
   ``message`` (an assistant message) and ``guardrail`` (``intervened`` and ``action``).

The API is private: run this where its ``execute-api`` VPC endpoint resolves (the pipeline's smoke
step runs in the landing zone VPC). It needs only botocore (the CodeBuild standard images ship
it with boto3), no network access beyond AWS endpoints.

Exit status: 0 the answer is guarded and well formed; 1 a check failed; 2 the test could not run
(bad arguments, missing parameter, no credentials).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError, ClientError

__all__ = [
    "GUARDRAIL_ACTIONS",
    "SmokeError",
    "api_url_parameter",
    "check_answer",
    "main",
    "read_api_url",
    "signed_request",
]

GUARDRAIL_ACTIONS = frozenset({"GUARDRAIL_INTERVENED", "NONE"})
MAX_BODY_BYTES = 1_000_000

#: Creates a botocore client: (service, region, credentials or None for the ambient ones).
ClientFactory = Callable[[str, str, Credentials | None], Any]


class StsClient(Protocol):
    def assume_role(self, *, RoleArn: str, RoleSessionName: str) -> Mapping[str, Any]: ...


class SsmClient(Protocol):
    def get_parameter(self, *, Name: str) -> Mapping[str, Any]: ...


class SmokeError(Exception):
    """The smoke test could not run (exit status 2)."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes


def api_url_parameter(env: str) -> str:
    """The SSM parameter the inference stack publishes its URL under (a public contract)."""
    return f"/bedrock-lz/{env}/inference/api-url"


def assume_role(sts: StsClient, role_arn: str) -> Credentials:
    try:
        answer = sts.assume_role(RoleArn=role_arn, RoleSessionName="bedrock-lz-smoke")
    except (ClientError, BotoCoreError) as exc:
        raise SmokeError(f"cannot assume {role_arn}: {exc}") from None
    creds = answer["Credentials"]
    return Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


def read_api_url(ssm: SsmClient, env: str) -> str:
    name = api_url_parameter(env)
    try:
        value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except (ClientError, BotoCoreError) as exc:
        raise SmokeError(
            f"cannot read SSM parameter {name}: {exc} (is the inference stack of {env!r} "
            "deployed, and may this role read the parameter?)"
        ) from None
    url = str(value).strip()
    _require_secure(url)
    return url


def _require_secure(url: str) -> None:
    """Signed requests go over HTTPS only (plain HTTP is accepted for loopback test servers)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname:
        try:
            if ipaddress.ip_address(parts.hostname).is_loopback:
                return
        except ValueError:
            pass
    raise SmokeError(f"refusing to send a signed request to {url!r}: the API URL must be https")


def signed_request(
    url: str, body: bytes, credentials: Credentials, region: str
) -> urllib.request.Request:
    """A ``POST`` of ``body`` to ``url`` signed with SigV4 for ``execute-api`` in ``region``."""
    _require_secure(url)
    aws_request = AWSRequest(
        method="POST", url=url, data=body, headers={"Content-Type": "application/json"}
    )
    SigV4Auth(credentials, "execute-api", region).add_auth(aws_request)
    return urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url, data=body, headers=dict(aws_request.headers.items()), method="POST"
    )


def send(request: urllib.request.Request, timeout: float) -> Response:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return Response(status=answer.status, body=answer.read(MAX_BODY_BYTES))
    except urllib.error.HTTPError as exc:
        return Response(status=exc.code, body=exc.read(MAX_BODY_BYTES))
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise SmokeError(
            f"cannot reach {request.full_url}: {exc} (the API is private: run this inside the "
            "landing zone VPC, where its execute-api endpoint resolves)"
        ) from None


def check_answer(response: Response, model: str) -> list[str]:
    """Problems with the answer; empty when it is a well-formed, guarded 200 answer."""
    excerpt = response.body[:300].decode("utf-8", "replace")
    if response.status != 200:
        return [f"HTTP {response.status} (expected 200): {excerpt}"]
    try:
        answer: Any = json.loads(response.body)
    except ValueError:
        return [f"the body is not JSON: {excerpt}"]
    if not isinstance(answer, dict):
        return [f"the body is not a JSON object: {excerpt}"]
    problems = []
    missing = [k for k in ("requestId", "model", "message", "guardrail") if k not in answer]
    if missing:
        problems.append(f"missing fields: {', '.join(missing)}")
    if "requestId" in answer and not (isinstance(answer["requestId"], str) and answer["requestId"]):
        problems.append("requestId: expected a non-empty string")
    served = answer.get("model")
    if "model" in answer and not (isinstance(served, dict) and served.get("alias") == model):
        problems.append(f"model: expected alias {model!r}, got {served!r}")
    message = answer.get("message")
    if "message" in answer and not (
        isinstance(message, dict)
        and message.get("role") == "assistant"
        and isinstance(message.get("content"), str)
    ):
        problems.append(f"message: expected an assistant message, got {message!r}")
    guardrail = answer.get("guardrail")
    if "guardrail" in answer and not (
        isinstance(guardrail, dict)
        and isinstance(guardrail.get("intervened"), bool)
        and guardrail.get("action") in GUARDRAIL_ACTIONS
    ):
        problems.append(
            f"guardrail: expected intervened (bool) and action in {sorted(GUARDRAIL_ACTIONS)}, "
            f"got {guardrail!r}"
        )
    return problems


def _default_clients(service: str, region: str, credentials: Credentials | None) -> Any:
    session = botocore.session.get_session()
    if credentials is None:
        return session.create_client(service, region_name=region)
    return session.create_client(
        service,
        region_name=region,
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        aws_session_token=credentials.token,
    )


def _ambient_credentials() -> Credentials:
    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        raise SmokeError("no AWS credentials found (environment, profile or instance role)")
    frozen = credentials.get_frozen_credentials()
    if not frozen.access_key or not frozen.secret_key:
        raise SmokeError("the AWS credentials found are incomplete")
    return Credentials(frozen.access_key, frozen.secret_key, frozen.token)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", required=True, help="landing zone environment name")
    parser.add_argument("--region", required=True, help="the environment's region")
    parser.add_argument("--model", required=True, help="model alias to call (the team's)")
    parser.add_argument("--role-arn", help="team role to assume first (default: ambient)")
    parser.add_argument("--prompt", default="Reply with the single word: ready.")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=35.0, help="seconds (API max is 29)")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    clients: ClientFactory = _default_clients,
    ambient_credentials: Callable[[], Credentials] = _ambient_credentials,
) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.role_arn:
            credentials = assume_role(clients("sts", args.region, None), args.role_arn)
        else:
            credentials = ambient_credentials()
        url = read_api_url(clients("ssm", args.region, credentials), args.env)
        body = json.dumps(
            {
                "model": args.model,
                "messages": [{"role": "user", "content": args.prompt}],
                "inferenceConfig": {"maxTokens": args.max_tokens},
            }
        ).encode()
        response = send(signed_request(url, body, credentials, args.region), args.timeout)
    except SmokeError as exc:
        print(f"smoke: error: {exc}", file=sys.stderr)
        return 2
    problems = check_answer(response, args.model)
    if problems:
        print(f"smoke: FAILED {url}", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    answer = json.loads(response.body)
    print(
        f"smoke: ok env={args.env} model={args.model} requestId={answer['requestId']} "
        f"guardrail={answer['guardrail']['action']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
