"""Domain exceptions of the inference runtime.

They carry what went wrong (a message, the offending field, a back-off hint), never an HTTP
status: ``handler`` maps each class to exactly one status and error code, in one table.
Messages are safe to return to the caller: they state a rule and never echo prompt text.
"""

from __future__ import annotations


class InferenceError(Exception):
    """Base class: a request that ends without a model answer."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        retry_after_s: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.retry_after_s = retry_after_s


# --- the request never reached the model -------------------------------------------------------
class MalformedEvent(InferenceError):
    """The Lambda event is not an API Gateway REST proxy event."""


class RouteNotFound(InferenceError):
    """No route for this path."""


class MethodNotAllowed(InferenceError):
    """The path exists, the HTTP method does not."""


class CallerNotRecognized(InferenceError):
    """The IAM principal is missing or maps to no team."""


class PayloadTooLarge(InferenceError):
    """The body exceeds ``limits.max_body_bytes``."""


class UnsupportedMediaType(InferenceError):
    """The ``Content-Type`` header names something other than JSON."""


class MalformedBody(InferenceError):
    """The body is not a JSON object (bad base64, bad UTF-8, bad JSON, duplicate keys, wrong
    top-level type)."""


class RequestInvalid(InferenceError):
    """The body is JSON but breaks a rule of the API or of the configured limits."""


class UnsupportedParameter(RequestInvalid):
    """An OpenAI chat-completions parameter (or value) this API does not carry onto Converse,
    such as ``stream: true``, ``n: 2`` or ``tools``."""


class UnknownParameter(RequestInvalid):
    """A key that is no parameter of the OpenAI chat-completions API."""


class ModelNotAllowed(InferenceError):
    """The model alias is not in the caller's team allow-list."""


# --- the model (or Bedrock) answered with an error ------------------------------------------------
class BedrockRejected(InferenceError):
    """Bedrock's ValidationException: the request is well-formed for us but not for the model."""


class BedrockAccessDenied(InferenceError):
    """Bedrock's AccessDeniedException: the landing zone's IAM is wrong (operator error)."""


class ModelThrottled(InferenceError):
    """Every candidate model was throttled (after botocore's retries and all fallbacks)."""


class ModelTimedOut(InferenceError):
    """The last candidate timed out, or the Lambda ran out of time for another attempt."""


class ModelFailed(InferenceError):
    """ModelErrorException, an unavailable/erroring service after all fallbacks, or a malformed
    or empty answer (garbled body, no text)."""


class ModelsUnavailable(InferenceError):
    """Every candidate's circuit breaker is open: nothing was sent to Bedrock."""


class TeamDirectoryUnavailable(InferenceError):
    """The team directory (SSM) could not be read and no earlier copy is cached."""
