"""SigV4 signing for HTTP clients teams already use, against the private inference API.

The API authorizes with IAM (``AWS_IAM``): every request is signed with Signature Version 4
for the service ``execute-api`` (API Gateway Developer Guide, "Control access to a REST API
with IAM permissions"; AWS General Reference, "Signature Version 4 signing process"). botocore
does the signing, so credentials come from the usual chain (environment, profile, role).

With the ``openai`` SDK (``pip install "bedrock-landing-zone[client]"``)::

    import openai
    from bedrock_landing_zone.inference.sigv4 import sigv4_auth

    client = openai.OpenAI(
        base_url="https://<api-id>-<vpce-id>.execute-api.<region>.amazonaws.com/prod/v1",
        api_key="unused",  # the SDK requires one; SigV4 replaces it
        http_client=openai.DefaultHttpxClient(auth=sigv4_auth(region="eu-central-1")),
    )

``sigv4_auth`` builds an auth for the HTTP library the ``openai`` SDK uses (``httpx2`` for
openai 3, ``httpx`` before); ``sigv4_auth(region=..., library=httpx)`` for plain httpx.
Only clients import this module; CDK apps never do.
"""

from __future__ import annotations

import importlib
from collections.abc import Generator
from types import ModuleType
from typing import Any

__all__ = ["SERVICE", "sign_headers", "sigv4_auth"]

#: The signing name of API Gateway's invoke endpoint.
SERVICE = "execute-api"
#: Headers the HTTP client may change after signing (connection handling): never signed.
_UNSIGNED = {"connection", "user-agent", "accept-encoding", "content-length", "expect"}


def sign_headers(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    *,
    region: str,
    credentials: Any | None = None,
    service: str = SERVICE,
) -> dict[str, str]:
    """The headers of a request signed with SigV4 (``Authorization``, ``X-Amz-Date``, the
    session token when there is one), computed by botocore."""
    import botocore.session  # noqa: PLC0415
    from botocore.auth import SigV4Auth as BotocoreSigV4  # noqa: PLC0415
    from botocore.awsrequest import AWSRequest  # noqa: PLC0415

    if credentials is None:
        credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        raise RuntimeError(
            "no AWS credentials found for SigV4 signing: configure a profile, a role or the "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY environment variables"
        )
    signed = {k: v for k, v in headers.items() if k.lower() not in _UNSIGNED}
    request = AWSRequest(method=method, url=url, data=body, headers=signed)
    BotocoreSigV4(credentials, service, region).add_auth(request)
    return dict(request.headers.items())


def _http_library() -> ModuleType:
    for name in ("httpx2", "httpx"):  # the one the installed openai SDK uses first
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError(
        "bedrock_landing_zone.inference.sigv4 needs httpx (or httpx2): "
        "pip install 'bedrock-landing-zone[client]'"
    )


def sigv4_auth(
    *, region: str, credentials: Any | None = None, library: ModuleType | None = None
) -> Any:
    """An ``Auth`` of ``library`` (default: httpx2 if installed, else httpx) that signs every
    request with SigV4 for ``execute-api`` and drops any ``Authorization`` it carried (the
    openai SDK's ``Bearer <api_key>``)."""
    http = library or _http_library()

    class SigV4Auth(http.Auth):  # type: ignore[name-defined,misc]
        requires_request_body = True

        def auth_flow(self, request: Any) -> Generator[Any, Any, None]:
            request.headers.pop("Authorization", None)
            signed = sign_headers(
                request.method,
                str(request.url),
                dict(request.headers),
                request.content,
                region=region,
                credentials=credentials,
            )
            for name, value in signed.items():
                request.headers[name] = value
            yield request

    return SigV4Auth()
