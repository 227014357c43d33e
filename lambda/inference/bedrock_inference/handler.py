"""Lambda entry point: ``bedrock_inference.handler.lambda_handler``.

API Gateway REST API, Lambda proxy integration, IAM authorization. Routes:

- ``POST /v1/converse``: the landing zone's own API (:mod:`bedrock_inference.models` describes
  the body and the answer).
- ``POST /v1/chat/completions``: OpenAI-compatible; the body is translated into a Converse
  request that takes the same governed path (:mod:`bedrock_inference.openai_compat`), the answer
  is an OpenAI ``chat.completion``.
- ``GET /v1/models``: OpenAI-compatible; the calling team's allow-listed aliases (a ``list`` of
  ``model`` objects). No model is called and no metrics are emitted.

This module only translates: API Gateway event in → ``logic.InferenceService`` → HTTP response
out. ``_HTTP`` below is the one place where a domain error becomes an HTTP status and an error
code, for every route. Every answer is JSON and never a stack trace. An error answer of
``/v1/converse`` (and of an unknown path) is ``{"error": {"code", "field", "message"},
"requestId"}``; of the OpenAI routes, OpenAI's shape ``{"error": {"message", "type", "param",
"code"}}`` with the same ``code``, ``param`` naming the OpenAI field, ``type`` from the status
(``invalid_request_error``, ``permission_error``, ``rate_limit_error``, ``server_error``), and the
request id in the ``x-request-id`` header (where the ``openai`` SDK looks for it):

=====  ======================  ==============================================================
200    (answer)                also when the guardrail intervened: ``guardrail.intervened`` is
                               true and ``message.content`` is the guardrail's blocked message
400    invalid_event           the Lambda event is not an API Gateway proxy event
400    invalid_json            body missing, not base64/UTF-8/JSON, not a JSON object, or an
                               object naming a key twice (``field`` names the key's path)
400    invalid_request         a rule of the API or of ``limits`` (``field`` names the path),
                               including NUL characters anywhere and content that is blank
                               after Unicode normalisation
400    unsupported_parameter   (OpenAI routes) a parameter or value this API does not carry onto
                               Converse: ``stream: true``, ``n`` > 1, tools, ``image_url`` that is
                               not a ``data:`` URL... (``param`` names it)
400    unknown_parameter       (OpenAI routes) a key that is no OpenAI parameter
400    model_rejected_request  Bedrock's ValidationException (its message is passed on)
403    caller_not_recognized   no IAM principal, or its role maps to no team
403    model_not_allowed       the alias is not in the team's allow-list
403    model_access_denied     Bedrock's AccessDeniedException (logged as an operator ERROR)
404    not_found               another path
405    method_not_allowed      another method (``Allow`` names the route's method)
413    payload_too_large       body over ``limits.max_body_bytes``
415    unsupported_media_type  a ``Content-Type`` other than JSON (``application/json`` or
                               ``application/*+json``, UTF-8); no header is accepted as JSON
429    throttled               throttled after retries and fallbacks (``Retry-After``)
500    internal_error          a bug; details only in the logs
502    model_error             ModelErrorException; unavailable (5xx with or without error
                               type, connection errors) or a garbled/empty answer after
                               fallbacks (the message names the model); other errors
503    models_unavailable      every candidate's circuit breaker is open (``Retry-After``)
504    model_timeout           timed out after fallbacks, or no time left in the request's
                               budget (Lambda time left minus ``retry.deadline_margin_s``)
=====  ======================  ==============================================================

Init (once per container, during the Lambda init phase): the environment is validated (a bad
``INFERENCE_CONFIG`` raises :class:`~bedrock_inference.models.ConfigurationError` naming the field,
so the function fails to start instead of failing every request) and the bedrock-runtime client
is created. What not every request needs waits for the first request that does:
:mod:`~bedrock_inference.openai_compat` (first OpenAI route),
:mod:`~bedrock_inference.media` (first attachment), the SSM team directory (only when the config
names one). An init that no request waits for (SnapStart, provisioned concurrency) builds all of
it ahead (:func:`prepare`); after a SnapStart restore, :func:`after_restore` runs.
"""

from __future__ import annotations

import gc

# Init (the imports below, the settings, the bedrock-runtime client) creates about 90,000
# objects that the collector tracks and that live as long as the execution environment. With the
# collector on, Python traverses them again and again while they are being created: one full
# collection during init took ~25 ms on the bench machine. So the collector is off until init
# ends; then every object init made is frozen ("move them to a permanent generation and ignore
# them in all the future collections", Python docs, gc.freeze) and collection resumes for what
# requests allocate, which no longer re-traverses the frozen ones.
_COLLECTOR_WAS_ON = gc.isenabled()
gc.disable()

import base64
import binascii
import json
import os
import random
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from bedrock_inference.bedrock_client import BedrockRuntime, boto3_client_factory
from bedrock_inference.breaker import BreakerRegistry
from bedrock_inference.errors import (
    BedrockAccessDenied,
    BedrockRejected,
    CallerNotRecognized,
    InferenceError,
    MalformedBody,
    MalformedEvent,
    MethodNotAllowed,
    ModelFailed,
    ModelNotAllowed,
    ModelsUnavailable,
    ModelThrottled,
    ModelTimedOut,
    PayloadTooLarge,
    RequestInvalid,
    RouteNotFound,
    TeamDirectoryUnavailable,
    UnknownParameter,
    UnsupportedMediaType,
    UnsupportedParameter,
)
from bedrock_inference.logic import Caller, InferenceService
from bedrock_inference.models import (
    DuplicateKey,
    NulCharacter,
    Settings,
    load_settings,
    parse_json_object,
)
from bedrock_inference.telemetry import RequestTrace, Telemetry, logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from bedrock_inference.bedrock_client import ClientFactory
    from bedrock_inference.teams import TeamDirectory

CONVERSE_ROUTE: Final = "/v1/converse"
#: The OpenAI-compatible routes (the same strings as ``openai_compat``'s, which is imported only
#: when a request takes one of them).
CHAT_COMPLETIONS_ROUTE: Final = "/v1/chat/completions"
MODELS_ROUTE: Final = "/v1/models"
ROUTE = CONVERSE_ROUTE
#: Each route's one method (API Gateway has one method per route, each with IAM authorization).
METHODS: dict[str, str] = {
    CONVERSE_ROUTE: "POST",
    CHAT_COMPLETIONS_ROUTE: "POST",
    MODELS_ROUTE: "GET",
}
OPENAI_ROUTES = frozenset({CHAT_COMPLETIONS_ROUTE, MODELS_ROUTE})
ALLOWED_METHODS = METHODS[CONVERSE_ROUTE]

# The one mapping from domain errors to HTTP: (status, error code).
_HTTP: dict[type[InferenceError], tuple[int, str]] = {
    MalformedEvent: (400, "invalid_event"),
    RouteNotFound: (404, "not_found"),
    MethodNotAllowed: (405, "method_not_allowed"),
    CallerNotRecognized: (403, "caller_not_recognized"),
    PayloadTooLarge: (413, "payload_too_large"),
    UnsupportedMediaType: (415, "unsupported_media_type"),
    MalformedBody: (400, "invalid_json"),
    RequestInvalid: (400, "invalid_request"),
    UnsupportedParameter: (400, "unsupported_parameter"),
    UnknownParameter: (400, "unknown_parameter"),
    ModelNotAllowed: (403, "model_not_allowed"),
    BedrockRejected: (400, "model_rejected_request"),
    BedrockAccessDenied: (403, "model_access_denied"),
    ModelThrottled: (429, "throttled"),
    ModelTimedOut: (504, "model_timeout"),
    ModelFailed: (502, "model_error"),
    ModelsUnavailable: (503, "models_unavailable"),
    TeamDirectoryUnavailable: (503, "team_directory_unavailable"),
}
_INTERNAL = (500, "internal_error")
#: The answer's serializer: ``json.dumps(body, ensure_ascii=False, separators=(",", ":"))``
#: builds this encoder on every call; it holds no state between calls.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def build_service(
    settings: Settings,
    *,
    client_factory: ClientFactory | None = None,
    clock: Callable[[], float] = time.monotonic,
    teams: TeamDirectory | None = None,
) -> InferenceService:
    """Wire the runtime from validated settings (tests pass a stubbed client and a fake clock,
    and a team directory when the config names an SSM one)."""
    config = settings.config
    if teams is None and config.team_directory is not None:
        from bedrock_inference.team_directory import SsmTeamDirectory, boto3_ssm  # noqa: PLC0415

        teams = SsmTeamDirectory(
            config.team_directory,
            client=boto3_ssm(settings.region),
            known_aliases=frozenset(config.models),
            clock=clock,
        )
    bedrock = BedrockRuntime(
        factory=client_factory or boto3_client_factory(settings.region),
        max_attempts=config.retry.max_attempts,
        connect_timeout_s=config.retry.connect_timeout_s,
        read_timeout_s=config.retry.read_timeout_s,
        clock=clock,
    )
    bedrock.warm()
    return InferenceService(
        settings=settings,
        bedrock=bedrock,
        breakers=BreakerRegistry(
            failure_threshold=config.breaker.failure_threshold,
            cooldown_s=config.breaker.cooldown_s,
            clock=clock,
        ),
        telemetry=Telemetry(namespace=settings.metrics_namespace, log_content=config.log_content),
        clock=clock,
        teams=teams,
    )


#: ``AWS_LAMBDA_INITIALIZATION_TYPE`` values of an init that runs before any request is waiting
#: (Lambda Developer Guide, "Defined runtime environment variables": ``on-demand``,
#: ``provisioned-concurrency`` or ``snap-start``): the init then prepares what the first request
#: would otherwise build (see :func:`prepare`).
AHEAD_OF_TIME_INITS = frozenset({"snap-start", "provisioned-concurrency"})


def prepare() -> None:
    """Import now what an on-demand init leaves to the first request that needs it: the OpenAI
    translation and the attachment checks. Run at init when no request waits for it (SnapStart,
    provisioned concurrency), so the snapshot holds them."""
    from bedrock_inference import media, openai_compat  # noqa: F401, PLC0415


def after_restore() -> None:
    """Run in each execution environment resumed from a SnapStart snapshot.

    Every environment restored from one snapshot starts with the same memory, hence the same
    ``random`` state: re-seeded from the OS, so that botocore's retry jitter (standard mode draws
    from ``random``) differs between environments ("Handling uniqueness with Lambda SnapStart").
    Nothing else needs re-creating: init opens no connection (the bedrock-runtime client
    connects on its first call, and "network connections that an AWS SDK establishes
    automatically resume", "Maximize Lambda SnapStart performance"), reads no clock into state
    (breakers and the team directory's refresh start at their first use), and the SDK's
    credentials come from the refreshing provider Lambda sets up for SnapStart functions.
    """
    random.seed()


def _register_after_restore() -> None:
    # snapshot_restore_py ships with Lambda's Python managed runtimes (3.12 and later; Lambda
    # Developer Guide, "Lambda SnapStart runtime hooks for Python"), not with this code.
    try:
        from snapshot_restore_py import (  # type: ignore[import-not-found,unused-ignore]  # noqa: PLC0415
            register_after_restore,
        )
    except ImportError:  # not on a Lambda managed runtime (tests, bedrock-lz serve)
        return
    register_after_restore(after_restore)


def _end_of_init() -> None:
    """Freeze what init made and turn the collector back on (see the top of this module)."""
    gc.freeze()
    if _COLLECTOR_WAS_ON:
        gc.enable()


try:
    SETTINGS = load_settings(os.environ)
    SERVICE = build_service(SETTINGS)
    INITIALIZATION_TYPE = os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
    if INITIALIZATION_TYPE in AHEAD_OF_TIME_INITS:
        prepare()
    if INITIALIZATION_TYPE == "snap-start":
        _register_after_restore()
finally:
    _end_of_init()


@logger.inject_lambda_context(log_event=False, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context, SERVICE)


def handle(event: object, context: LambdaContext, service: InferenceService) -> dict[str, Any]:
    """Answer one API Gateway event. Never raises."""
    request_id = _request_id(event, context)
    route = _route(event) if isinstance(event, dict) else None
    trace = RequestTrace(request_id=request_id, route=route, metered=route != MODELS_ROUTE)
    openai = route in OPENAI_ROUTES
    try:
        answer = _process(event, route, context, service, trace)
        status = 200
        response = _response(200, answer, {"x-request-id": request_id} if openai else None)
    except InferenceError as exc:
        status, code = _status_of(exc)
        trace.error_code = code
        response = _error(status, code, exc, request_id, route)
    except Exception:
        logger.exception("unhandled error", extra={"request_id": request_id})
        status, code = _INTERNAL
        trace.error_code = code
        response = _error(status, code, None, request_id, route)
    service.telemetry.finish(trace, status)
    return response


def _process(
    event: object,
    route: str | None,
    context: LambdaContext,
    service: InferenceService,
    trace: RequestTrace,
) -> Mapping[str, Any]:
    if not isinstance(event, dict):
        raise MalformedEvent("the event is not an API Gateway proxy event")
    if route is None:
        raise RouteNotFound(
            "no such route; use POST /v1/converse, POST /v1/chat/completions or GET /v1/models",
            field="path",
        )
    method = METHODS[route]
    if event.get("httpMethod") != method:
        raise MethodNotAllowed(f"{route} accepts {method} only", field="httpMethod")
    caller = service.identify(_user_arn(event), trace)
    if route == MODELS_ROUTE:
        from bedrock_inference import openai_compat  # noqa: PLC0415 - OpenAI routes only

        return openai_compat.model_list(service.config, caller.models)
    _check_content_type(event)
    payload = _read_body(event, service.config.limits.max_body_bytes)
    remaining_ms = context.get_remaining_time_in_millis()
    if route == CHAT_COMPLETIONS_ROUTE:
        return _chat_completion(service, caller, payload, trace, remaining_ms)
    valid = service.validate(caller, payload, trace)
    return service.converse(caller, valid, trace=trace, remaining_ms=remaining_ms)


def _chat_completion(
    service: InferenceService,
    caller: Caller,
    payload: dict[str, Any],
    trace: RequestTrace,
    remaining_ms: int,
) -> dict[str, Any]:
    """``POST /v1/chat/completions``: translated, then the Converse route's own validation and
    call; errors of the Converse body name the OpenAI field."""
    from bedrock_inference import openai_compat  # noqa: PLC0415 - OpenAI routes only

    translated = openai_compat.translate(payload)
    try:
        valid = service.validate(caller, translated.body, trace)
    except InferenceError as exc:
        exc.field = translated.rename(exc.field)
        exc.message = translated.reword(exc.message)
        raise
    answer = service.converse(caller, valid, trace=trace, remaining_ms=remaining_ms)
    return openai_compat.chat_completion(answer, requested=valid.request.model)


def _route(event: dict[str, Any]) -> str | None:
    """The route of an event: API Gateway's matched ``resource``, else the ``path``."""
    resource = event.get("resource")
    if isinstance(resource, str) and resource in METHODS:
        return resource
    path = event.get("path")
    if isinstance(path, str):
        path = path.rstrip("/")
        if path in METHODS:
            return path
    return None


def _user_arn(event: dict[str, Any]) -> object:
    request_context = event.get("requestContext")
    identity = request_context.get("identity") if isinstance(request_context, dict) else None
    return identity.get("userArn") if isinstance(identity, dict) else None


def _check_content_type(event: dict[str, Any]) -> None:
    """415 unless the body is declared JSON. Behind API Gateway this is the function's job: the
    gateway validates a body against a model only for a matching content type ("If no matching
    content type is found, request validation is not performed", API Gateway developer guide,
    "Request validation for REST APIs")."""
    headers = event.get("headers")
    if not isinstance(headers, dict):
        return
    value = next(
        (v for k, v in headers.items() if isinstance(k, str) and k.lower() == "content-type"),
        None,
    )
    if value is None or (isinstance(value, str) and _is_json_media_type(value)):
        return
    raise UnsupportedMediaType(
        "the body must be JSON: send Content-Type: application/json", field="headers.Content-Type"
    )


def _is_json_media_type(value: str) -> bool:
    media_type, *parameters = value.split(";")
    media_type = media_type.strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        return False
    for parameter in parameters:
        name, _, setting = parameter.partition("=")
        if name.strip().lower() == "charset" and setting.strip().strip('"').lower() not in {
            "utf-8",
            "utf8",
        }:
            return False
    return True


def _read_body(event: dict[str, Any], limit: int) -> dict[str, Any]:
    raw = event.get("body")
    if raw is None or raw == "":
        raise MalformedBody("a JSON body is required", field="body")
    if not isinstance(raw, str):
        raise MalformedBody("the body must be a string", field="body")
    if event.get("isBase64Encoded") is True:
        if len(raw) > (limit + 2) // 3 * 4:
            raise _too_large(limit)
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedBody("the body is not valid base64", field="body") from None
        if len(data) > limit:
            raise _too_large(limit)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedBody("the body is not valid UTF-8", field="body") from None
    else:
        # A code point is at most 4 bytes of UTF-8 (a lone surrogate, 3): a body of at most
        # limit / 4 characters fits without being encoded to count its bytes.
        if len(raw) * 4 > limit and (
            len(raw) > limit or len(raw.encode("utf-8", "surrogatepass")) > limit
        ):
            raise _too_large(limit)
        text = raw
    try:
        return parse_json_object(text)
    except DuplicateKey as exc:
        raise MalformedBody(exc.message, field=exc.field) from None
    except NulCharacter as exc:
        raise RequestInvalid(exc.message, field=exc.field) from None
    except TypeError as exc:
        raise MalformedBody(str(exc), field="body") from None
    except RecursionError:
        raise MalformedBody("the body nests too deeply", field="body") from None
    except ValueError:
        raise MalformedBody("the body is not valid JSON", field="body") from None


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the body may hold at most {limit} bytes", field="body")


def _request_id(event: object, context: LambdaContext) -> str:
    if isinstance(event, dict):
        request_context = event.get("requestContext")
        if isinstance(request_context, dict):
            value = request_context.get("requestId")
            if isinstance(value, str) and 0 < len(value) <= 128:
                return value
    value = getattr(context, "aws_request_id", None)
    return value if isinstance(value, str) and value else "unknown"


def _status_of(exc: InferenceError) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        if cls in _HTTP:
            return _HTTP[cls]
    return _INTERNAL


def _response(
    status: int, body: Mapping[str, Any], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": _JSON.encode(body),
    }


def _error(
    status: int, code: str, exc: InferenceError | None, request_id: str, route: str | None
) -> dict[str, Any]:
    headers: dict[str, str] = {}
    if exc is not None and exc.retry_after_s is not None:
        headers["Retry-After"] = str(exc.retry_after_s)
    if status == 405:
        headers["Allow"] = METHODS.get(route or "", ALLOWED_METHODS)
    message = exc.message if exc else "internal error; see the logs for this requestId"
    field = exc.field if exc else None
    if route in OPENAI_ROUTES:
        headers["x-request-id"] = request_id
        from bedrock_inference import openai_compat  # noqa: PLC0415 - OpenAI routes only

        return _response(status, openai_compat.error_body(status, code, message, field), headers)
    body = {"error": {"code": code, "field": field, "message": message}, "requestId": request_id}
    return _response(status, body, headers)
