"""``on_event`` of a CDK ``custom_resources.Provider``: accept Bedrock model access agreements.

ResourceProperties (CloudFormation passes every scalar as a string):

- ``ModelIds``: model ids that need an agreement. Cross-region inference profile ids
  (``us.anthropic...``) are reduced to their foundation model id; duplicates are dropped.
- ``UseCaseForm`` (optional): Anthropic's first-time-use form, an object with ``companyName``,
  ``companyWebsite``, ``intendedUsers``, ``industryOption``, ``useCases`` and, optionally,
  ``otherIndustryOption``. It is submitted once per account: when one is already on file, it is
  left alone.
- ``Region``: where to create the agreements (default: the function's region).

Create and Update are idempotent: for each model, ``GetFoundationModelAvailability``; unless the
agreement is already ``AVAILABLE`` or ``PENDING``, ``ListFoundationModelAgreementOffers`` (public
offer) and ``CreateFoundationModelAgreement``. A failure raises ``ModelAccessError``, whose
message (the deployment's error) names the model, the AWS error code and the fix.

Delete does nothing: agreements and the use-case form are account settings that outlive the stack
(other workloads may rely on them); revoke them in the Bedrock console if needed.

Only the standard library and boto3 (the Lambda runtime's) are used: the asset needs no bundling.
The model access APIs were added to the SDKs on 2025-06-24; an older runtime boto3 is reported.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

__all__ = [
    "REQUIRED_ACTIONS",
    "ModelAccessError",
    "Request",
    "ensure_agreement",
    "ensure_use_case_form",
    "on_event",
    "parse_event",
    "process",
]

#: The IAM actions this handler needs, on ``Resource: "*"`` (these actions have no resource
#: types). Bedrock subscribes to the model's AWS Marketplace product on the caller's behalf while
#: it creates an agreement, so the caller also needs ``aws-marketplace:Subscribe`` and
#: ``aws-marketplace:ViewSubscriptions``. ``aws-marketplace:Unsubscribe`` is not needed: this
#: handler never removes access.
REQUIRED_ACTIONS: Final[list[str]] = [
    "bedrock:GetUseCaseForModelAccess",
    "bedrock:PutUseCaseForModelAccess",
    "bedrock:GetFoundationModelAvailability",
    "bedrock:ListFoundationModelAgreementOffers",
    "bedrock:CreateFoundationModelAgreement",
    "aws-marketplace:Subscribe",
    "aws-marketplace:ViewSubscriptions",
]

#: Fields of Anthropic's first-time-use form, in the order they are sent.
FORM_FIELDS: Final[tuple[str, ...]] = (
    "companyName",
    "companyWebsite",
    "intendedUsers",
    "industryOption",
    "otherIndustryOption",
    "useCases",
)
OPTIONAL_FORM_FIELDS: Final[frozenset[str]] = frozenset({"otherIndustryOption"})
GEOGRAPHY_PREFIXES: Final[frozenset[str]] = frozenset(
    {"us", "us-gov", "eu", "apac", "jp", "au", "ca", "global"}
)
_FORM_BYTES = (10, 16384)  # AcknowledgementFormDataBody length limits (service model)
_MODEL_ID = re.compile(r"^[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63}){1,3}(:[a-z0-9-]{1,63}){0,2}$")
_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra="bedrock-landing-zone-model-access",
)
_DENIED = frozenset({"AccessDeniedException", "AccessDenied"})
_TRANSIENT = frozenset({"ThrottlingException", "InternalServerException", "ServiceUnavailable"})
_ACTION_OF = {
    "GetUseCaseForModelAccess": "bedrock:GetUseCaseForModelAccess",
    "PutUseCaseForModelAccess": "bedrock:PutUseCaseForModelAccess",
    "GetFoundationModelAvailability": "bedrock:GetFoundationModelAvailability",
    "ListFoundationModelAgreementOffers": "bedrock:ListFoundationModelAgreementOffers",
    "CreateFoundationModelAgreement": (
        "bedrock:CreateFoundationModelAgreement (with aws-marketplace:Subscribe and "
        "aws-marketplace:ViewSubscriptions for models sold through AWS Marketplace)"
    ),
}
DELETE_NOTE: Final[str] = (
    "no-op: model access agreements and the use-case form are account settings and stay in "
    "place after the stack is deleted; revoke them in the Amazon Bedrock console if needed"
)

logger = logging.getLogger("model_access")
logger.setLevel(logging.INFO)


class ModelAccessError(Exception):
    """A deployment-stopping problem; the message is what CloudFormation shows."""


@dataclass(frozen=True)
class Request:
    """A validated Create/Update event."""

    request_type: Literal["Create", "Update"]
    region: str
    model_ids: tuple[str, ...]
    use_case_form: Mapping[str, str] | None
    previous_model_ids: tuple[str, ...] = ()

    @property
    def physical_resource_id(self) -> str:
        return f"bedrock-model-access-{self.region}"


# --- Lambda entry point -------------------------------------------------------------------------


def on_event(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Provider ``onEvent``: returns ``PhysicalResourceId`` and ``Data``; raises on error."""
    request_type = event.get("RequestType")
    logger.info(
        "%s %s", request_type, event.get("LogicalResourceId", "(no logical id in the event)")
    )
    if request_type == "Delete":
        logger.info("Delete: %s", DELETE_NOTE)
        return {
            "PhysicalResourceId": event.get("PhysicalResourceId") or "bedrock-model-access",
            "Data": {"Deleted": DELETE_NOTE},
        }
    request = parse_event(event, default_region=os.environ.get("AWS_REGION"))
    return process(request, bedrock_client(request.region))


def bedrock_client(region: str) -> Any:
    """The Bedrock control-plane client (replaced by a Stubber-wrapped client in tests)."""
    return boto3.client("bedrock", region_name=region, config=_CLIENT_CONFIG)


# --- event parsing ------------------------------------------------------------------------------


def parse_event(event: Mapping[str, Any], *, default_region: str | None = None) -> Request:
    """Validate a Create/Update event; a mistake raises ``ModelAccessError`` naming the property."""
    request_type = event.get("RequestType")
    if request_type not in ("Create", "Update"):
        raise ModelAccessError(f"RequestType {request_type!r}: expected Create, Update or Delete")
    properties = event.get("ResourceProperties") or {}
    region = str(properties.get("Region") or default_region or "")
    if not re.fullmatch(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d", region):
        raise ModelAccessError(f"Region {region!r}: give an AWS region name such as us-east-1")
    return Request(
        request_type=request_type,
        region=region,
        model_ids=_model_ids(properties.get("ModelIds")),
        use_case_form=_use_case_form(properties.get("UseCaseForm")),
        previous_model_ids=_previous_model_ids(event) if request_type == "Update" else (),
    )


def foundation_model_id(model_id: str) -> str:
    """``us.anthropic.x-v1:0`` -> ``anthropic.x-v1:0``; a foundation model id is unchanged."""
    head, _, rest = model_id.partition(".")
    return rest if head in GEOGRAPHY_PREFIXES and "." in rest else model_id


def _model_ids(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ModelAccessError(f"ModelIds: expected a list of model id strings, got {value!r}")
    out: dict[str, None] = {}
    for raw in value:
        model_id = foundation_model_id(raw.strip())
        if not _MODEL_ID.fullmatch(model_id):
            raise ModelAccessError(
                f"ModelIds: {raw!r} is not a Bedrock model id (e.g. anthropic.claude-...-v1:0)"
            )
        out[model_id] = None
    return tuple(out)


def _previous_model_ids(event: Mapping[str, Any]) -> tuple[str, ...]:
    """The old ModelIds of an Update, for the log only: never fails the update."""
    try:
        return _model_ids((event.get("OldResourceProperties") or {}).get("ModelIds"))
    except ModelAccessError:
        return ()


def _use_case_form(value: Any) -> dict[str, str] | None:
    if value is None or value == "":
        return None
    if not isinstance(value, Mapping):
        raise ModelAccessError(f"UseCaseForm: expected an object with {', '.join(FORM_FIELDS)}")
    unknown = sorted(set(value) - set(FORM_FIELDS))
    if unknown:
        raise ModelAccessError(
            f"UseCaseForm: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(FORM_FIELDS)}"
        )
    missing = [f for f in FORM_FIELDS if f not in OPTIONAL_FORM_FIELDS and not value.get(f)]
    if missing:
        raise ModelAccessError(f"UseCaseForm: required field(s) missing: {', '.join(missing)}")
    return {f: str(value.get(f) or "") for f in FORM_FIELDS}


def form_data(form: Mapping[str, str]) -> bytes:
    """The form as the JSON bytes ``PutUseCaseForModelAccess`` expects in ``formData``."""
    data = json.dumps({f: form.get(f, "") for f in FORM_FIELDS}, separators=(",", ":")).encode()
    low, high = _FORM_BYTES
    if not low <= len(data) <= high:
        raise ModelAccessError(f"UseCaseForm: {len(data)} bytes, must be {low} to {high}")
    return data


# --- logic --------------------------------------------------------------------------------------


def process(request: Request, bedrock: Any) -> dict[str, Any]:
    """Submit the form (if asked and not on file) and ensure every agreement; return the reply."""
    if not hasattr(bedrock, "create_foundation_model_agreement"):
        raise ModelAccessError(
            f"boto3 {boto3.__version__} in this Lambda runtime predates the Bedrock model access "
            "APIs (2025-06-24): use a newer runtime or bundle a current boto3"
        )
    form_state = (
        ensure_use_case_form(bedrock, request.use_case_form)
        if request.use_case_form is not None
        else "not-requested"
    )
    outcomes: dict[str, list[str]] = {"created": [], "present": [], "pending": []}
    errors: list[str] = []
    for model_id in request.model_ids:
        try:
            outcomes[ensure_agreement(bedrock, model_id, request.region)].append(model_id)
        except ModelAccessError as exc:
            errors.append(str(exc))
    if errors:
        total = len(request.model_ids)
        raise ModelAccessError(
            f"Bedrock model access failed for {len(errors)} of {total} model(s) in "
            f"{request.region}: " + " | ".join(errors)
        )
    not_revoked = [m for m in request.previous_model_ids if m not in request.model_ids]
    if not_revoked:
        logger.info("no longer listed, access left in place: %s", ", ".join(not_revoked))
    data = {
        "Region": request.region,
        "UseCaseForm": form_state,
        "AgreementsCreated": ",".join(outcomes["created"]),
        "AgreementsPresent": ",".join(outcomes["present"]),
        "AgreementsPending": ",".join(outcomes["pending"]),
        "NotRevoked": ",".join(not_revoked),
    }
    logger.info("%s done: %s", request.request_type, json.dumps(data))
    return {"PhysicalResourceId": request.physical_resource_id, "Data": data}


def ensure_use_case_form(bedrock: Any, form: Mapping[str, str]) -> str:
    """Submit Anthropic's use-case form unless one is on file: ``submitted``/``already-on-file``."""
    data = form_data(form)
    try:
        bedrock.get_use_case_for_model_access()
    except ClientError as exc:
        if _code(exc) != "ResourceNotFoundException":
            raise _error("GetUseCaseForModelAccess", "the account's use-case form", exc) from None
    else:
        logger.info("a use-case form is already on file: not submitting the configured one")
        return "already-on-file"
    try:
        bedrock.put_use_case_for_model_access(formData=data)
    except ClientError as exc:
        raise _error("PutUseCaseForModelAccess", "the use-case form (UseCaseForm)", exc) from None
    logger.info("submitted the use-case form (fields: %s)", ", ".join(FORM_FIELDS))
    return "submitted"


def ensure_agreement(bedrock: Any, model_id: str, region: str) -> str:
    """Ensure ``model_id`` has an agreement in ``region``: ``created``/``present``/``pending``."""
    try:
        availability = bedrock.get_foundation_model_availability(modelId=model_id)
    except ClientError as exc:
        raise _error("GetFoundationModelAvailability", f"model {model_id}", exc, region) from None
    if availability.get("regionAvailability") != "AVAILABLE":
        raise ModelAccessError(
            f"model {model_id} is not available in {region}: remove it from the allow-list or "
            "deploy to a region that offers it"
        )
    agreement = availability.get("agreementAvailability") or {}
    status = agreement.get("status")
    if status == "AVAILABLE":
        logger.info("%s: agreement already in place", model_id)
        return "present"
    if status == "PENDING":
        logger.info("%s: agreement pending", model_id)
        return "pending"
    previous_error = agreement.get("errorMessage") if status == "ERROR" else None
    if previous_error:
        logger.info(
            "%s: previous agreement failed (%s); requesting again", model_id, previous_error
        )

    try:
        offers = bedrock.list_foundation_model_agreement_offers(
            modelId=model_id, offerType="PUBLIC"
        ).get("offers", [])
    except ClientError as exc:
        raise _error(
            "ListFoundationModelAgreementOffers", f"model {model_id}", exc, region
        ) from None
    if not offers:
        raise ModelAccessError(
            f"model {model_id} offers no agreement in {region} (no public offer): request access "
            "in the Bedrock console or remove the model from ModelIds"
        )
    offer = offers[0]
    try:
        bedrock.create_foundation_model_agreement(offerToken=offer["offerToken"], modelId=model_id)
    except ClientError as exc:
        if _code(exc) == "ConflictException":  # created meanwhile (another deploy, the console)
            logger.info("%s: agreement already exists (ConflictException)", model_id)
            return "present"
        suffix = f" (the previous attempt failed: {previous_error})" if previous_error else ""
        raise ModelAccessError(
            str(_error("CreateFoundationModelAgreement", f"model {model_id}", exc, region)) + suffix
        ) from None
    logger.info("%s: agreement created (offer %s)", model_id, offer.get("offerId", "?"))
    return "created"


# --- errors -------------------------------------------------------------------------------------


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def _error(operation: str, subject: str, exc: ClientError, region: str = "") -> ModelAccessError:
    """A message naming the subject, the AWS error code and what to do."""
    code = _code(exc)
    message = str(exc.response.get("Error", {}).get("Message", "")).strip()
    where = f" in {region}" if region else ""
    text = f"{operation} for {subject}{where} failed with {code}"
    if message:
        text += f" ({message})"
    if code in _DENIED:
        hint = f"the deploying role lacks {_ACTION_OF[operation]}, or an SCP denies it"
    elif code == "ResourceNotFoundException":
        hint = "check the model id: it does not exist in this region"
    elif code == "ValidationException":
        hint = "the request was rejected: check the value named above"
    elif code in _TRANSIENT:
        hint = "a transient AWS error: retry the deployment"
    else:
        hint = "see the message above"
    return ModelAccessError(f"{text}: {hint}")
