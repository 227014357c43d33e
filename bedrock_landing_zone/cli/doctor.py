"""``doctor``: a read-only readiness check of an AWS account for one landing-zone environment.

Run it from a laptop before the first deploy::

    python -m bedrock_landing_zone doctor -c env=default [--profile NAME] [--region REGION]

Every check calls read-only APIs only and becomes one row (check, status, detail):

- **FAIL**: a deployment would fail, or the environment cannot work as configured (wrong
  account, Bedrock or a model not offered in the region, unknown inference profile, a model
  that cannot be invoked on demand, no CDK bootstrap stack).
- **WARN**: something to look at that does not stop a deployment (no model agreement yet,
  invocation logging already configured and about to be replaced, quotas not found, an API the
  caller may not read).
- **OK**: nothing to do.

``run_checks(config, session)`` is the testable core: all clients come from a client factory
(default: ``session.client(service, region_name=config.region)``), so tests pass clients wrapped
in ``botocore.stub.Stubber``. Nothing here imports the CDK.

IAM actions the caller needs (all read-only): ``sts:GetCallerIdentity`` (always allowed),
``bedrock:GetFoundationModel``, ``bedrock:GetFoundationModelAvailability``,
``bedrock:GetInferenceProfile``, ``bedrock:GetModelInvocationLoggingConfiguration``,
``servicequotas:ListServiceQuotas``, ``cloudformation:DescribeStacks``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    UnknownRegionError,
)

from bedrock_landing_zone.config import LandingZoneConfig, ModelConfig

__all__ = [
    "BOOTSTRAP_STACK",
    "GEOGRAPHY_PREFIXES",
    "MIN_BOOTSTRAP_VERSION",
    "READ_ACTIONS",
    "CheckResult",
    "ClientFactory",
    "Status",
    "default_client_factory",
    "exit_code",
    "format_table",
    "matching_quotas",
    "run_checks",
    "split_model_id",
]

#: Prefixes of system-defined cross-region inference profile ids (``us.anthropic.claude-...``).
GEOGRAPHY_PREFIXES = frozenset({"us", "us-gov", "eu", "apac", "jp", "au", "ca", "global"})
#: The stack `cdk bootstrap` creates (default toolkit stack name).
BOOTSTRAP_STACK = "CDKToolkit"
#: The synthesized stacks declare ``requiresBootstrapStackVersion: 6`` (cdk.out/manifest.json).
MIN_BOOTSTRAP_VERSION = 6
#: Every action doctor calls, for a least-privilege policy of the person who runs it.
READ_ACTIONS: tuple[str, ...] = (
    "sts:GetCallerIdentity",
    "bedrock:GetFoundationModel",
    "bedrock:GetFoundationModelAvailability",
    "bedrock:GetInferenceProfile",
    "bedrock:GetModelInvocationLoggingConfiguration",
    "servicequotas:ListServiceQuotas",
    "cloudformation:DescribeStacks",
)

_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=5,
    read_timeout=20,
    user_agent_extra="bedrock-landing-zone-doctor",
)
_NETWORK_ERRORS = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError)
_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
_AUTH_ERROR_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "AccessDenied",
        "AccessDeniedException",
    }
)
_BOOTSTRAP_OK = frozenset(
    {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"}
)


class Status(enum.StrEnum):
    """Outcome of one check; the order is the severity."""

    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


_SEVERITY = {Status.OK: 0, Status.WARN: 1, Status.FAIL: 2}


@dataclass(frozen=True)
class CheckResult:
    """One row of the doctor table."""

    check: str
    status: Status
    detail: str


#: Returns a client for a service name (``"bedrock"``, ``"sts"``...), already bound to a region.
ClientFactory = Callable[[str], Any]


def default_client_factory(session: boto3.session.Session, region: str) -> ClientFactory:
    """Clients from ``session`` in ``region`` with short timeouts and standard retries."""

    def factory(service: str) -> Any:
        return session.client(service, region_name=region, config=_CLIENT_CONFIG)  # type: ignore[call-overload]

    return factory


def split_model_id(model_id: str) -> tuple[str | None, str]:
    """``us.anthropic.x-v1:0`` -> ``("us", "anthropic.x-v1:0")``; a model id -> ``(None, id)``."""
    head, _, rest = model_id.partition(".")
    if head in GEOGRAPHY_PREFIXES and "." in rest:
        return head, rest
    return None, model_id


def run_checks(
    config: LandingZoneConfig,
    session: boto3.session.Session,
    *,
    client_factory: ClientFactory | None = None,
) -> list[CheckResult]:
    """Run every check for ``config`` and return the rows, in a stable order.

    Credential problems that make every call fail (``NoCredentialsError``, an expired SSO token)
    propagate to the caller; an API error of one check (``AccessDenied``...) becomes that check's
    row and the other checks still run.
    """
    factory = client_factory or default_client_factory(session, config.region)
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = factory(service)
        return clients[service]

    results: list[CheckResult] = []
    account = _check_identity(client("sts"), config, results)
    if account is None:
        results.append(
            CheckResult("Other checks", Status.WARN, "skipped: fix the credentials first")
        )
        return _scrubbed(results)

    if _check_region(session, config.region, results):
        try:
            bedrock = client("bedrock")
            names: dict[str, str | None] = {}
            for model in config.models:
                names[model.alias] = _check_model(bedrock, model, config.region, results)
            _check_logging(bedrock, config.region, results)
            _check_quotas(client("service-quotas"), config.models, names, results)
        except _NETWORK_ERRORS as exc:
            results.append(CheckResult("Bedrock checks", Status.WARN, f"stopped: {exc}"))
    else:
        results.append(
            CheckResult("Bedrock checks", Status.WARN, "skipped: Bedrock is not in this region")
        )
    try:
        _check_bootstrap(client("cloudformation"), account, config.region, results)
    except _NETWORK_ERRORS as exc:
        results.append(CheckResult("CDK bootstrap", Status.WARN, f"not checked: {exc}"))
    return _scrubbed(results)


def exit_code(results: Iterable[CheckResult]) -> int:
    """1 when any check failed (a deployment would fail), else 0."""
    return 1 if any(r.status is Status.FAIL for r in results) else 0


def format_table(results: list[CheckResult]) -> str:
    """The rows as an aligned text table, followed by a one-line summary."""
    headers = ("CHECK", "STATUS", "DETAIL")
    width_check = max([len(headers[0]), *(len(r.check) for r in results)])
    width_status = max(len(headers[1]), *(len(s.value) for s in Status))
    lines = [f"{headers[0]:<{width_check}}  {headers[1]:<{width_status}}  {headers[2]}"]
    lines += [
        f"{r.check:<{width_check}}  {r.status.value:<{width_status}}  {r.detail}" for r in results
    ]
    counts = {s: sum(1 for r in results if r.status is s) for s in Status}
    verdict = (
        "a deployment would fail: fix the FAIL rows first"
        if counts[Status.FAIL]
        else "ready to deploy" + (" (review the warnings)" if counts[Status.WARN] else "")
    )
    lines.append("")
    lines.append(
        f"{counts[Status.OK]} OK, {counts[Status.WARN]} WARN, {counts[Status.FAIL]} FAIL: {verdict}"
    )
    return "\n".join(lines)


# --- checks -------------------------------------------------------------------------------------


def _check_identity(sts: Any, config: LandingZoneConfig, out: list[CheckResult]) -> str | None:
    """Credentials and account rows; returns the account id, or None when the credentials fail."""
    try:
        identity = sts.get_caller_identity()
    except ClientError as exc:
        out.append(
            CheckResult("Credentials", Status.FAIL, f"{_describe(exc)}; refresh or fix credentials")
        )
        return None
    except _NETWORK_ERRORS as exc:
        out.append(CheckResult("Credentials", Status.FAIL, f"cannot reach AWS STS: {exc}"))
        return None
    account = str(identity["Account"])
    out.append(CheckResult("Credentials", Status.OK, f"account {account} as {identity['Arn']}"))
    if config.account is None:
        out.append(
            CheckResult(
                "Account",
                Status.OK,
                f"config names no account (environment-agnostic): deploys to {account}",
            )
        )
    elif config.account == account:
        out.append(CheckResult("Account", Status.OK, f"matches config ({account})"))
    else:
        out.append(
            CheckResult(
                "Account",
                Status.FAIL,
                f"credentials are for {account} but config {config.name!r} deploys to "
                f"{config.account}: choose the right --profile",
            )
        )
    return account


def _check_region(session: boto3.session.Session, region: str, out: list[CheckResult]) -> bool:
    try:
        partition = session.get_partition_for_region(region)
    except UnknownRegionError:  # botocore's endpoint data does not know the region
        partition = "aws"
    offered = session.get_available_regions("bedrock", partition_name=partition)
    if region in offered:
        out.append(CheckResult("Region", Status.OK, f"Amazon Bedrock is offered in {region}"))
        return True
    out.append(
        CheckResult(
            "Region",
            Status.FAIL,
            f"Amazon Bedrock is not offered in {region} (per botocore's endpoint data; upgrade "
            f"boto3 if it launched recently); regions in {partition}: {', '.join(offered)}",
        )
    )
    return False


def _check_model(
    bedrock: Any, model: ModelConfig, region: str, out: list[CheckResult]
) -> str | None:
    """Profile and model rows for one allow-listed model; returns the model's display name."""
    geography, foundation_id = split_model_id(model.model_id)
    if geography is not None:
        out.append(_check_profile(bedrock, model, region))

    problems: list[tuple[Status, str]] = []
    facts: list[str] = []
    name: str | None = None
    try:
        details = bedrock.get_foundation_model(modelIdentifier=foundation_id)["modelDetails"]
    except ClientError as exc:
        if _code(exc) in ("ResourceNotFoundException", "ValidationException"):
            out.append(
                CheckResult(
                    f"Model {model.alias}",
                    Status.FAIL,
                    f"{foundation_id}: {_describe(exc)}; check the model id and region {region}",
                )
            )
            return None
        problems.append((Status.WARN, f"{_describe(exc, 'bedrock:GetFoundationModel')}"))
    else:
        name = details.get("modelName")
        facts.append(f"{details.get('providerName', '?')} {name or '?'}")
        types = details.get("inferenceTypesSupported") or []
        if geography is None and types and "ON_DEMAND" not in types:
            problems.append(
                (
                    Status.FAIL,
                    f"not invocable on demand in {region} (supports {', '.join(types)}): "
                    "use a cross-region inference profile id (us./eu./apac./global. + id)",
                )
            )
        lifecycle = details.get("modelLifecycle") or {}
        if lifecycle.get("status") == "LEGACY":
            end = lifecycle.get("endOfLifeTime")
            when = f", end of life {end:%Y-%m-%d}" if end else ""
            problems.append((Status.WARN, f"model is LEGACY{when}: plan a successor"))

    try:
        availability = bedrock.get_foundation_model_availability(modelId=foundation_id)
    except ClientError as exc:
        problems.append((Status.WARN, _describe(exc, "bedrock:GetFoundationModelAvailability")))
    else:
        agreement = availability["agreementAvailability"]
        facts.append(
            f"agreement {agreement['status']}, authorization {availability['authorizationStatus']}"
            f", entitlement {availability['entitlementAvailability']}"
            f", region {availability['regionAvailability']}"
        )
        problems += _availability_problems(availability, region)

    status = _worst(s for s, _ in problems)
    detail = f"{foundation_id}"
    if facts:
        detail += f" ({'; '.join(facts)})"
    if problems:
        detail += ": " + "; ".join(message for _, message in problems)
    out.append(CheckResult(f"Model {model.alias}", status, detail))
    return name


def _availability_problems(availability: dict[str, Any], region: str) -> list[tuple[Status, str]]:
    problems: list[tuple[Status, str]] = []
    agreement = availability["agreementAvailability"]
    if availability["regionAvailability"] != "AVAILABLE":
        problems.append((Status.FAIL, f"not offered in {region}: pick another model or region"))
    if agreement["status"] == "ERROR":
        problems.append(
            (
                Status.FAIL,
                f"model agreement failed: {agreement.get('errorMessage') or 'no reason given'} "
                "(check the account's payment method and AWS Marketplace permissions)",
            )
        )
    elif agreement["status"] == "PENDING":
        problems.append(
            (Status.WARN, "model agreement is being processed: re-run in a few minutes")
        )
    elif agreement["status"] != "AVAILABLE":
        problems.append(
            (
                Status.WARN,
                "no model agreement yet: enable the landing zone's model-access automation, "
                "accept it in the Bedrock console, or let the first invocation subscribe (needs "
                "aws-marketplace:Subscribe; Anthropic models also need the use-case form)",
            )
        )
    if availability["authorizationStatus"] != "AUTHORIZED":
        problems.append(
            (Status.WARN, "not authorized: check IAM policies and SCPs that deny this model")
        )
    if availability["entitlementAvailability"] != "AVAILABLE":
        problems.append((Status.WARN, "no entitlement yet (AWS Marketplace subscription missing)"))
    return problems


def _check_profile(bedrock: Any, model: ModelConfig, region: str) -> CheckResult:
    check = f"Profile {model.alias}"
    try:
        profile = bedrock.get_inference_profile(inferenceProfileIdentifier=model.model_id)
    except ClientError as exc:
        if _code(exc) in ("ResourceNotFoundException", "ValidationException"):
            return CheckResult(
                check,
                Status.FAIL,
                f"{model.model_id}: {_describe(exc)}; list the profiles with "
                f"`aws bedrock list-inference-profiles --region {region}`",
            )
        return CheckResult(
            check, Status.WARN, f"{model.model_id}: {_describe(exc, 'bedrock:GetInferenceProfile')}"
        )
    regions = sorted({_arn_region(m.get("modelArn", "")) for m in profile.get("models", [])} - {""})
    routes = f"routes to {', '.join(regions)}" if regions else "no destination regions listed"
    if profile.get("status") != "ACTIVE":
        return CheckResult(check, Status.FAIL, f"{model.model_id} is {profile.get('status')}")
    return CheckResult(check, Status.OK, f"{model.model_id} ACTIVE, {routes}")


def _check_logging(bedrock: Any, region: str, out: list[CheckResult]) -> None:
    check = "Invocation logging"
    try:
        response = bedrock.get_model_invocation_logging_configuration()
    except ClientError as exc:
        out.append(
            CheckResult(
                check, Status.WARN, _describe(exc, "bedrock:GetModelInvocationLoggingConfiguration")
            )
        )
        return
    destinations = _logging_destinations(response.get("loggingConfig") or {})
    if not destinations:
        out.append(
            CheckResult(check, Status.OK, f"not configured in {region}: the landing zone sets it")
        )
        return
    out.append(
        CheckResult(
            check,
            Status.WARN,
            f"already configured in {region} -> {'; '.join(destinations)}. A landing zone "
            "deploy replaces this per-account, per-region setting (ignore if it is its own)",
        )
    )


def _logging_destinations(config: dict[str, Any]) -> list[str]:
    out: list[str] = []
    cloudwatch = config.get("cloudWatchConfig")
    if cloudwatch:
        text = (
            f"CloudWatch Logs {cloudwatch.get('logGroupName')} (role {cloudwatch.get('roleArn')})"
        )
        large = cloudwatch.get("largeDataDeliveryS3Config")
        if large:
            text += f", large data to {_s3_url(large)}"
        out.append(text)
    s3 = config.get("s3Config")
    if s3:
        out.append(f"S3 {_s3_url(s3)}")
    return out


def _check_quotas(
    quotas_client: Any,
    models: list[ModelConfig],
    names: dict[str, str | None],
    out: list[CheckResult],
) -> None:
    try:
        quotas = [
            quota
            for page in quotas_client.get_paginator("list_service_quotas").paginate(
                ServiceCode="bedrock"
            )
            for quota in page.get("Quotas", [])
        ]
    except ClientError as exc:
        out.append(
            CheckResult("Quotas", Status.WARN, _describe(exc, "servicequotas:ListServiceQuotas"))
        )
        return
    for model in models:
        out.append(_quota_row(model, names.get(model.alias), quotas))


def _quota_row(model: ModelConfig, name: str | None, quotas: list[dict[str, Any]]) -> CheckResult:
    check = f"Quota {model.alias}"
    if not name:
        return CheckResult(check, Status.WARN, "model name unknown, so its quotas were not matched")
    matched = matching_quotas(model.model_id, name, quotas)
    if not matched:
        return CheckResult(
            check,
            Status.WARN,
            f"no 'tokens per minute' or 'requests per minute' quota found for {name!r}: check "
            "the Service Quotas console (Amazon Bedrock)",
        )
    shown = "; ".join(f"{q['QuotaName']} = {q.get('Value', 0):,.0f}" for q in matched)
    if any(not q.get("Value") for q in matched):
        return CheckResult(
            check, Status.WARN, f"{shown}: a quota of 0 blocks inference; request more"
        )
    return CheckResult(check, Status.OK, shown)


def matching_quotas(model_id: str, name: str, quotas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-minute token/request quotas of the model ``name``, preferring ``model_id``'s kind.

    ``Claude Sonnet 4`` matches ``...for Anthropic Claude Sonnet 4 V1`` but not ``... 4.5``. A
    ``global.`` profile prefers "Global cross-Region" quotas, another profile "Cross-Region", a
    foundation model "On-demand"; when none of the preferred kind exists, all matches are shown.
    """
    pattern = re.compile(rf"(?<![\w.]){re.escape(name)}(?![\w.])", re.IGNORECASE)
    matched = [
        q
        for q in quotas
        if pattern.search(q.get("QuotaName", ""))
        and re.search(r"(tokens|requests) per minute", q.get("QuotaName", ""), re.IGNORECASE)
    ]
    geography, _ = split_model_id(model_id)

    def kind(quota: dict[str, Any]) -> str:
        text = quota.get("QuotaName", "").lower()
        if "global cross-region" in text:
            return "global"
        if "cross-region" in text:
            return "cross-region"
        return "on-demand"

    wanted = (
        "on-demand" if geography is None else "global" if geography == "global" else "cross-region"
    )
    preferred = [q for q in matched if kind(q) == wanted]
    return sorted(preferred or matched, key=lambda q: str(q.get("QuotaName", "")))


def _check_bootstrap(cfn: Any, account: str, region: str, out: list[CheckResult]) -> None:
    check = "CDK bootstrap"
    command = f"cdk bootstrap aws://{account}/{region}"
    try:
        stacks = cfn.describe_stacks(StackName=BOOTSTRAP_STACK)["Stacks"]
    except ClientError as exc:
        if _code(exc) == "ValidationError" and "does not exist" in str(exc):
            detail = f"no {BOOTSTRAP_STACK} stack in {region}: run `{command}`"
            out.append(CheckResult(check, Status.FAIL, detail))
        else:
            out.append(
                CheckResult(check, Status.WARN, _describe(exc, "cloudformation:DescribeStacks"))
            )
        return
    if not stacks:
        out.append(CheckResult(check, Status.FAIL, f"no {BOOTSTRAP_STACK} stack: run `{command}`"))
        return
    out.append(CheckResult(check, *_bootstrap_state(stacks[0], command)))


def _bootstrap_state(stack: dict[str, Any], command: str) -> tuple[Status, str]:
    status = str(stack["StackStatus"])
    outputs = {o.get("OutputKey"): o.get("OutputValue") for o in stack.get("Outputs", [])}
    version = str(outputs.get("BootstrapVersion") or "")
    prefix = f"{BOOTSTRAP_STACK} {status}"
    if status.endswith("_IN_PROGRESS"):
        return Status.WARN, f"{prefix}: wait for it to finish and re-run"
    if status not in _BOOTSTRAP_OK:
        return Status.FAIL, f"{prefix}: repair or delete it, then run `{command}`"
    if not version.isdigit():
        return Status.WARN, f"{prefix}, bootstrap version unknown (no BootstrapVersion output)"
    if int(version) < MIN_BOOTSTRAP_VERSION:
        return (
            Status.FAIL,
            f"{prefix}, version {version} < {MIN_BOOTSTRAP_VERSION} required: run `{command}`",
        )
    return Status.OK, f"{prefix}, version {version}"


# --- helpers ------------------------------------------------------------------------------------


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def _describe(exc: ClientError, action: str | None = None) -> str:
    """``AccessDeniedException: <message>`` plus, for a denial, the IAM action to grant."""
    code = _code(exc)
    message = str(exc.response.get("Error", {}).get("Message", "")).strip()
    text = f"{code}: {message}" if message else code
    if action and code in _AUTH_ERROR_CODES:
        text += f" (needs {action})"
    return text


def _worst(statuses: Iterable[Status]) -> Status:
    return max(statuses, key=_SEVERITY.__getitem__, default=Status.OK)


def _arn_region(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 else ""


def _s3_url(s3: dict[str, Any]) -> str:
    prefix = s3.get("keyPrefix") or ""
    return f"s3://{s3.get('bucketName')}/{prefix}"


def _scrubbed(results: list[CheckResult]) -> list[CheckResult]:
    """Mask anything shaped like an access key id that an AWS error message may echo."""
    return [CheckResult(r.check, r.status, _ACCESS_KEY_ID.sub("****", r.detail)) for r in results]
