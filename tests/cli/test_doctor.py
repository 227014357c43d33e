"""doctor: every outcome of every check, with Stubber-wrapped clients (no network, no account).

Each test queues the exact calls ``run_checks`` makes, in order, with the parameters it must
send; ``assert_no_pending_responses`` then proves that no expected call was skipped.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from botocore.exceptions import EndpointConnectionError, NoCredentialsError
from botocore.stub import Stubber

from bedrock_landing_zone.cli import doctor
from bedrock_landing_zone.cli.doctor import CheckResult, Status, run_checks
from bedrock_landing_zone.config import LandingZoneConfig, parse_config

ACCOUNT = "123456789012"
REGION = "us-east-1"
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"  # the AWS documentation's example key
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"
SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
SONNET_FM = "anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "amazon.nova-lite-v1:0"

CONFIG_DATA: dict[str, Any] = {
    "name": "test",
    "region": REGION,
    "tags": {"owner": "platform", "cost_center": "CC-1"},
    "models": [
        {"alias": "claude-sonnet", "model_id": SONNET},
        {"alias": "nova-lite", "model_id": NOVA},
    ],
    "teams": [{"name": "search", "models": ["claude-sonnet", "nova-lite"]}],
    # an account with a new VPC names its zones (synth never looks them up)
    "network": {"vpc": {"new": {"availability_zones": ["us-east-1a", "us-east-1b"]}}},
}


def make_config(**changes: Any) -> LandingZoneConfig:
    data = copy.deepcopy(CONFIG_DATA)
    data.update(changes)
    return parse_config(data, source="test.yaml")


# --- canned responses ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Err:
    """A service error to queue instead of a response."""

    code: str
    message: str = ""
    status: int = 400


Reply = dict[str, Any] | Err


def identity(account: str = ACCOUNT) -> dict[str, Any]:
    return {
        "UserId": "AROAEXAMPLEROLEID:alice",
        "Account": account,
        "Arn": f"arn:aws:sts::{account}:assumed-role/Admin/alice",
    }


def foundation_model(
    model_id: str, name: str, provider: str, types: list[str], lifecycle: str = "ACTIVE"
) -> dict[str, Any]:
    details: dict[str, Any] = {
        "modelArn": f"arn:aws:bedrock:{REGION}::foundation-model/{model_id}",
        "modelId": model_id,
        "modelName": name,
        "providerName": provider,
        "inferenceTypesSupported": types,
        "modelLifecycle": {"status": lifecycle},
    }
    if lifecycle == "LEGACY":
        details["modelLifecycle"]["endOfLifeTime"] = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    return {"modelDetails": details}


def availability(
    model_id: str,
    *,
    agreement: str = "AVAILABLE",
    error: str | None = None,
    authorization: str = "AUTHORIZED",
    entitlement: str = "AVAILABLE",
    region: str = "AVAILABLE",
) -> dict[str, Any]:
    agreement_availability: dict[str, Any] = {"status": agreement}
    if error:
        agreement_availability["errorMessage"] = error
    return {
        "modelId": model_id,
        "agreementAvailability": agreement_availability,
        "authorizationStatus": authorization,
        "entitlementAvailability": entitlement,
        "regionAvailability": region,
    }


def inference_profile(profile_id: str, foundation_id: str) -> dict[str, Any]:
    return {
        "inferenceProfileName": "US Anthropic Claude Sonnet 4.5",
        "inferenceProfileArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{profile_id}",
        "inferenceProfileId": profile_id,
        "models": [
            {"modelArn": f"arn:aws:bedrock:{r}::foundation-model/{foundation_id}"}
            for r in ("us-east-1", "us-east-2", "us-west-2")
        ],
        "status": "ACTIVE",
        "type": "SYSTEM_DEFINED",
    }


def quota(name: str, value: float, code: str = "L-00000001") -> dict[str, Any]:
    return {"ServiceCode": "bedrock", "QuotaName": name, "QuotaCode": code, "Value": value}


DEFAULT_QUOTAS = [
    quota("Cross-Region InvokeModel tokens per minute for Anthropic Claude Sonnet 4.5 V1", 2e6),
    quota("On-demand InvokeModel tokens per minute for Anthropic Claude Sonnet 4.5 V1", 1e6),
    quota("Cross-Region InvokeModel tokens per minute for Anthropic Claude Sonnet 4 V1", 3e6),
    quota("On-demand InvokeModel tokens per minute for Amazon Nova Lite", 4e6),
    quota("On-demand InvokeModel requests per minute for Amazon Nova Lite", 2000),
    quota("Model units per provisioned model for Amazon Nova Lite", 1),
]


def bootstrap_stack(status: str = "UPDATE_COMPLETE", version: str | None = "28") -> dict[str, Any]:
    stack: dict[str, Any] = {
        "StackName": "CDKToolkit",
        "StackStatus": status,
        "CreationTime": dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    }
    if version is not None:
        stack["Outputs"] = [{"OutputKey": "BootstrapVersion", "OutputValue": version}]
    return {"Stacks": [stack]}


@dataclass
class Scenario:
    """One reply per call run_checks makes for CONFIG_DATA; every default is the healthy one."""

    identity: Reply = field(default_factory=identity)
    profile: Reply = field(default_factory=lambda: inference_profile(SONNET, SONNET_FM))
    sonnet_model: Reply = field(
        default_factory=lambda: foundation_model(
            SONNET_FM, "Claude Sonnet 4.5", "Anthropic", ["INFERENCE_PROFILE"]
        )
    )
    sonnet_availability: Reply = field(default_factory=lambda: availability(SONNET_FM))
    nova_model: Reply = field(
        default_factory=lambda: foundation_model(NOVA, "Nova Lite", "Amazon", ["ON_DEMAND"])
    )
    nova_availability: Reply = field(default_factory=lambda: availability(NOVA))
    logging: Reply = field(default_factory=dict)
    quotas: Reply = field(default_factory=lambda: {"Quotas": DEFAULT_QUOTAS})
    bootstrap: Reply = field(default_factory=bootstrap_stack)
    bedrock_offered: bool = True


class Stubs:
    """Real clients of a session with fake credentials, each wrapped in an active Stubber."""

    SERVICES = ("sts", "bedrock", "service-quotas", "cloudformation")

    def __init__(self, session: boto3.session.Session) -> None:
        self.clients = {s: session.client(s, region_name=REGION) for s in self.SERVICES}  # type: ignore[call-overload]
        self.stubbers = {s: Stubber(c) for s, c in self.clients.items()}
        self.requested: list[str] = []

    def factory(self, service: str) -> Any:
        self.requested.append(service)
        return self.clients[service]

    def add(self, service: str, method: str, reply: Reply, params: dict[str, Any]) -> None:
        stubber = self.stubbers[service]
        if isinstance(reply, Err):
            stubber.add_client_error(
                method,
                service_error_code=reply.code,
                service_message=reply.message,
                http_status_code=reply.status,
                expected_params=params,
            )
        else:
            stubber.add_response(method, reply, params)

    def queue(self, scenario: Scenario) -> None:
        """Queue the calls, in order, that run_checks makes for CONFIG_DATA in this scenario."""
        self.add("sts", "get_caller_identity", scenario.identity, {})
        if isinstance(scenario.identity, Err):
            return
        if scenario.bedrock_offered:
            self.add(
                "bedrock", "get_inference_profile", scenario.profile,
                {"inferenceProfileIdentifier": SONNET},
            )  # fmt: skip
            self.add(
                "bedrock", "get_foundation_model", scenario.sonnet_model,
                {"modelIdentifier": SONNET_FM},
            )  # fmt: skip
            if not _stops_model(scenario.sonnet_model):
                self.add(
                    "bedrock", "get_foundation_model_availability", scenario.sonnet_availability,
                    {"modelId": SONNET_FM},
                )  # fmt: skip
            self.add(
                "bedrock", "get_foundation_model", scenario.nova_model, {"modelIdentifier": NOVA}
            )
            if not _stops_model(scenario.nova_model):
                self.add(
                    "bedrock", "get_foundation_model_availability", scenario.nova_availability,
                    {"modelId": NOVA},
                )  # fmt: skip
            self.add("bedrock", "get_model_invocation_logging_configuration", scenario.logging, {})
            self.add(
                "service-quotas", "list_service_quotas", scenario.quotas, {"ServiceCode": "bedrock"}
            )
        self.add(
            "cloudformation", "describe_stacks", scenario.bootstrap, {"StackName": "CDKToolkit"}
        )

    def run(self, config: LandingZoneConfig, session: boto3.session.Session) -> list[CheckResult]:
        for stubber in self.stubbers.values():
            stubber.activate()
        try:
            return run_checks(config, session, client_factory=self.factory)
        finally:
            for stubber in self.stubbers.values():
                stubber.assert_no_pending_responses()
                stubber.deactivate()


def _stops_model(reply: Reply) -> bool:
    return isinstance(reply, Err) and reply.code in (
        "ResourceNotFoundException",
        "ValidationException",
    )


#: botocore's service models (JSON), read once for the module: every test's session would
#: otherwise load and parse the same files again (most of this module's time).
_MODELS = botocore.loaders.create_loader()


@pytest.fixture
def session() -> boto3.session.Session:
    core = botocore.session.get_session()
    core.register_component("data_loader", _MODELS)
    return boto3.session.Session(
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        aws_session_token=SESSION_TOKEN,
        region_name=REGION,
        botocore_session=core,
    )


@pytest.fixture
def stubs(session: boto3.session.Session) -> Iterator[Stubs]:
    yield Stubs(session)


def check(
    scenario: Scenario,
    session: boto3.session.Session,
    stubs: Stubs,
    config: LandingZoneConfig | None = None,
) -> dict[str, CheckResult]:
    stubs.queue(scenario)
    results = stubs.run(config or make_config(), session)
    rows = {r.check: r for r in results}
    assert len(rows) == len(results), "check names must be unique"
    return rows


# --- the healthy account ------------------------------------------------------------------------


def test_all_ok(session: boto3.session.Session, stubs: Stubs) -> None:
    rows = check(Scenario(), session, stubs)

    assert list(rows) == [
        "Credentials",
        "Account",
        "Region",
        "Profile claude-sonnet",
        "Model claude-sonnet",
        "Model nova-lite",
        "Invocation logging",
        "Quota claude-sonnet",
        "Quota nova-lite",
        "CDK bootstrap",
    ]
    assert {r.status for r in rows.values()} == {Status.OK}, rows
    assert doctor.exit_code(rows.values()) == 0
    assert ACCOUNT in rows["Credentials"].detail
    assert "environment-agnostic" in rows["Account"].detail
    assert "us-east-1, us-east-2, us-west-2" in rows["Profile claude-sonnet"].detail
    assert "Anthropic Claude Sonnet 4.5" in rows["Model claude-sonnet"].detail
    assert "agreement AVAILABLE" in rows["Model claude-sonnet"].detail
    assert "not configured" in rows["Invocation logging"].detail
    assert "version 28" in rows["CDK bootstrap"].detail
    # one client per service, created lazily
    assert sorted(stubs.requested) == sorted(Stubs.SERVICES)


def test_quotas_prefer_the_kind_of_id_and_do_not_confuse_versions(
    session: boto3.session.Session, stubs: Stubs
) -> None:
    rows = check(Scenario(), session, stubs)

    sonnet = rows["Quota claude-sonnet"].detail
    assert "Cross-Region InvokeModel tokens per minute for Anthropic Claude Sonnet 4.5 V1" in sonnet
    assert "2,000,000" in sonnet
    assert "On-demand" not in sonnet  # a profile id uses the cross-region quota
    assert "Sonnet 4 V1" not in sonnet  # "Claude Sonnet 4.5" is not "Claude Sonnet 4"
    nova = rows["Quota nova-lite"].detail
    assert "tokens per minute for Amazon Nova Lite = 4,000,000" in nova
    assert "requests per minute for Amazon Nova Lite = 2,000" in nova
    assert "provisioned" not in nova


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "Global cross-Region"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "Cross-Region InvokeModel"),
        ("anthropic.claude-sonnet-4-5-20250929-v1:0", "On-demand"),
    ],
)
def test_matching_quotas_by_kind(model_id: str, expected: str) -> None:
    quotas = [
        quota("Global cross-Region model inference tokens per minute for Claude Sonnet 4.5", 5),
        quota("Cross-Region InvokeModel tokens per minute for Claude Sonnet 4.5", 4),
        quota("On-demand InvokeModel tokens per minute for Claude Sonnet 4.5", 3),
    ]
    matched = doctor.matching_quotas(model_id, "Claude Sonnet 4.5", quotas)
    assert [q["QuotaName"] for q in matched] == [
        q["QuotaName"] for q in quotas if q["QuotaName"].startswith(expected)
    ]


def test_matching_quotas_falls_back_to_any_kind() -> None:
    quotas = [quota("On-demand InvokeModel tokens per minute for Claude Sonnet 4.5", 3)]
    matched = doctor.matching_quotas(SONNET, "Claude Sonnet 4.5", quotas)
    assert matched == quotas


# --- account ------------------------------------------------------------------------------------


def test_account_mismatch_fails_and_names_both_accounts(
    session: boto3.session.Session, stubs: Stubs
) -> None:
    config = make_config(account="111111111111")
    rows = check(Scenario(identity=identity("222222222222")), session, stubs, config)

    account = rows["Account"]
    assert account.status is Status.FAIL
    assert "222222222222" in account.detail and "111111111111" in account.detail
    assert "--profile" in account.detail
    assert rows["CDK bootstrap"].status is Status.OK  # the other checks still ran
    assert doctor.exit_code(rows.values()) == 1


def test_account_match(session: boto3.session.Session, stubs: Stubs) -> None:
    rows = check(Scenario(), session, stubs, make_config(account=ACCOUNT))
    assert rows["Account"] == CheckResult("Account", Status.OK, f"matches config ({ACCOUNT})")


def test_expired_credentials_fail_and_skip_the_rest(
    session: boto3.session.Session, stubs: Stubs
) -> None:
    expired = Err("ExpiredToken", "The security token included in the request is expired", 403)
    rows = check(Scenario(identity=expired), session, stubs)

    assert list(rows) == ["Credentials", "Other checks"]
    assert rows["Credentials"].status is Status.FAIL
    assert "ExpiredToken" in rows["Credentials"].detail
    assert doctor.exit_code(rows.values()) == 1


def test_no_credentials_raises(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """With no credentials anywhere, the real STS client raises before sending anything."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    with pytest.raises(NoCredentialsError):
        run_checks(make_config(), boto3.session.Session(region_name=REGION))


# --- region -------------------------------------------------------------------------------------


def test_region_without_bedrock_fails_and_skips_bedrock_checks(
    session: boto3.session.Session, stubs: Stubs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session, "get_available_regions", lambda *a, **k: ["us-west-2"])
    rows = check(Scenario(bedrock_offered=False), session, stubs)

    assert rows["Region"].status is Status.FAIL
    assert "not offered in us-east-1" in rows["Region"].detail
    assert "Model nova-lite" not in rows
    assert rows["Bedrock checks"].status is Status.WARN
    assert "bedrock" not in stubs.requested
    assert doctor.exit_code(rows.values()) == 1


# --- models -------------------------------------------------------------------------------------


def test_model_not_offered_in_region_fails(session: boto3.session.Session, stubs: Stubs) -> None:
    scenario = Scenario(nova_availability=availability(NOVA, region="NOT_AVAILABLE"))
    rows = check(scenario, session, stubs)

    nova = rows["Model nova-lite"]
    assert nova.status is Status.FAIL
    assert "region NOT_AVAILABLE" in nova.detail
    assert f"not offered in {REGION}" in nova.detail
    assert doctor.exit_code(rows.values()) == 1


def test_agreement_not_accepted_warns_with_the_fix(
    session: boto3.session.Session, stubs: Stubs
) -> None:
    scenario = Scenario(
        sonnet_availability=availability(
            SONNET_FM, agreement="NOT_AVAILABLE", entitlement="NOT_AVAILABLE"
        )
    )
    rows = check(scenario, session, stubs)

    sonnet = rows["Model claude-sonnet"]
    assert sonnet.status is Status.WARN
    assert "agreement NOT_AVAILABLE" in sonnet.detail
    assert "no model agreement yet" in sonnet.detail
    assert "use-case form" in sonnet.detail
    assert "no entitlement yet" in sonnet.detail
    assert doctor.exit_code(rows.values()) == 0  # a deployment still succeeds


def test_agreement_error_fails_with_the_reason(
    session: boto3.session.Session, stubs: Stubs
) -> None:
    scenario = Scenario(
        sonnet_availability=availability(SONNET_FM, agreement="ERROR", error="payment declined")
    )
    rows = check(scenario, session, stubs)

    assert rows["Model claude-sonnet"].status is Status.FAIL
    assert "payment declined" in rows["Model claude-sonnet"].detail


def test_agreement_pending_and_not_authorized_warn(
    session: boto3.session.Session, stubs: Stubs
) -> None:
    scenario = Scenario(
        nova_availability=availability(NOVA, agreement="PENDING", authorization="NOT_AUTHORIZED")
    )
    rows = check(scenario, session, stubs)

    nova = rows["Model nova-lite"]
    assert nova.status is Status.WARN
    assert "being processed" in nova.detail
    assert "not authorized" in nova.detail


def test_foundation_id_of_a_profile_only_model_fails(
    session: boto3.session.Session, stubs: Stubs
) -> None:
    scenario = Scenario(
        nova_model=foundation_model(NOVA, "Nova Lite", "Amazon", ["INFERENCE_PROFILE"])
    )
    rows = check(scenario, session, stubs)

    nova = rows["Model nova-lite"]
    assert nova.status is Status.FAIL
    assert "not invocable on demand" in nova.detail
    assert "inference profile id" in nova.detail


def test_legacy_model_warns(session: boto3.session.Session, stubs: Stubs) -> None:
    scenario = Scenario(
        nova_model=foundation_model(NOVA, "Nova Lite", "Amazon", ["ON_DEMAND"], "LEGACY")
    )
    rows = check(scenario, session, stubs)
    assert rows["Model nova-lite"].status is Status.WARN
    assert "LEGACY, end of life 2026-06-01" in rows["Model nova-lite"].detail


def test_unknown_model_fails(session: boto3.session.Session, stubs: Stubs) -> None:
    missing = Err("ResourceNotFoundException", "The model does not exist", 404)
    rows = check(Scenario(nova_model=missing), session, stubs)

    nova = rows["Model nova-lite"]
    assert nova.status is Status.FAIL
    assert "ResourceNotFoundException" in nova.detail
    assert rows["Quota nova-lite"].status is Status.WARN  # no name, so no quota match


def test_unknown_inference_profile_fails(session: boto3.session.Session, stubs: Stubs) -> None:
    missing = Err("ResourceNotFoundException", "Inference profile not found", 404)
    rows = check(Scenario(profile=missing), session, stubs)

    profile = rows["Profile claude-sonnet"]
    assert profile.status is Status.FAIL
    assert "list-inference-profiles --region us-east-1" in profile.detail


# --- access denied on one API: that row says so, the others still run ---------------------------


def test_access_denied_on_one_api_warns_with_code_and_continues(
    session: boto3.session.Session, stubs: Stubs
) -> None:
    denied = Err("AccessDeniedException", "User is not authorized to perform this action", 403)
    rows = check(Scenario(logging=denied, nova_availability=denied), session, stubs)

    logging = rows["Invocation logging"]
    assert logging.status is Status.WARN
    assert "AccessDeniedException" in logging.detail
    assert "needs bedrock:GetModelInvocationLoggingConfiguration" in logging.detail
    nova = rows["Model nova-lite"]
    assert nova.status is Status.WARN
    assert "needs bedrock:GetFoundationModelAvailability" in nova.detail
    assert rows["Quota claude-sonnet"].status is Status.OK
    assert rows["CDK bootstrap"].status is Status.OK
    assert doctor.exit_code(rows.values()) == 0


def test_access_denied_on_quotas_and_bootstrap(
    session: boto3.session.Session, stubs: Stubs
) -> None:
    denied = Err("AccessDeniedException", "not allowed", 403)
    cfn_denied = Err("AccessDenied", "not allowed", 403)
    rows = check(Scenario(quotas=denied, bootstrap=cfn_denied), session, stubs)

    assert rows["Quotas"].status is Status.WARN
    assert "needs servicequotas:ListServiceQuotas" in rows["Quotas"].detail
    assert "Quota nova-lite" not in rows
    assert rows["CDK bootstrap"].status is Status.WARN
    assert "needs cloudformation:DescribeStacks" in rows["CDK bootstrap"].detail


def test_unreachable_bedrock_endpoint_warns_and_continues(
    session: boto3.session.Session, stubs: Stubs
) -> None:
    class Unreachable:
        def __getattr__(self, name: str) -> Any:
            def call(**_: Any) -> Any:
                raise EndpointConnectionError(
                    endpoint_url="https://bedrock.us-east-1.amazonaws.com"
                )

            return call

    stubs.clients["bedrock"] = Unreachable()
    stubs.add("sts", "get_caller_identity", identity(), {})
    stubs.add("cloudformation", "describe_stacks", bootstrap_stack(), {"StackName": "CDKToolkit"})
    rows = {r.check: r for r in stubs.run(make_config(), session)}

    assert rows["Bedrock checks"].status is Status.WARN
    assert "Could not connect to the endpoint URL" in rows["Bedrock checks"].detail
    assert rows["CDK bootstrap"].status is Status.OK


# --- invocation logging -------------------------------------------------------------------------


def test_logging_already_configured_warns_with_destinations(
    session: boto3.session.Session, stubs: Stubs
) -> None:
    configured = {
        "loggingConfig": {
            "cloudWatchConfig": {
                "logGroupName": "/org/bedrock/invocations",
                "roleArn": f"arn:aws:iam::{ACCOUNT}:role/BedrockLogging",
                "largeDataDeliveryS3Config": {"bucketName": "org-bedrock-large", "keyPrefix": "x/"},
            },
            "s3Config": {"bucketName": "org-bedrock-logs", "keyPrefix": "invocations/"},
            "textDataDeliveryEnabled": True,
        }
    }
    rows = check(Scenario(logging=configured), session, stubs)

    logging = rows["Invocation logging"]
    assert logging.status is Status.WARN
    for part in (
        "/org/bedrock/invocations",
        "role/BedrockLogging",
        "s3://org-bedrock-large/x/",
        "s3://org-bedrock-logs/invocations/",
        "replaces",
    ):
        assert part in logging.detail
    assert doctor.exit_code(rows.values()) == 0


# --- quotas -------------------------------------------------------------------------------------


def test_quota_not_found_warns(session: boto3.session.Session, stubs: Stubs) -> None:
    only_nova = {"Quotas": [q for q in DEFAULT_QUOTAS if "Nova" in q["QuotaName"]]}
    rows = check(Scenario(quotas=only_nova), session, stubs)

    assert rows["Quota claude-sonnet"].status is Status.WARN
    assert "no 'tokens per minute'" in rows["Quota claude-sonnet"].detail
    assert rows["Quota nova-lite"].status is Status.OK


def test_quota_of_zero_warns(session: boto3.session.Session, stubs: Stubs) -> None:
    zero = {"Quotas": [quota("On-demand InvokeModel tokens per minute for Amazon Nova Lite", 0)]}
    rows = check(Scenario(quotas=zero), session, stubs)
    assert rows["Quota nova-lite"].status is Status.WARN
    assert "= 0" in rows["Quota nova-lite"].detail


def test_quotas_are_read_across_pages(session: boto3.session.Session, stubs: Stubs) -> None:
    stubs.queue(Scenario(quotas={"Quotas": DEFAULT_QUOTAS[:2], "NextToken": "page2"}))
    stubs.add(
        "service-quotas",
        "list_service_quotas",
        {"Quotas": DEFAULT_QUOTAS[2:]},
        {"ServiceCode": "bedrock", "NextToken": "page2"},
    )
    rows = {r.check: r for r in stubs.run(make_config(), session)}
    assert rows["Quota claude-sonnet"].status is Status.OK
    assert rows["Quota nova-lite"].status is Status.OK  # found on the second page


# --- CDK bootstrap ------------------------------------------------------------------------------


def test_bootstrap_missing_fails_with_the_command(
    session: boto3.session.Session, stubs: Stubs
) -> None:
    missing = Err("ValidationError", "Stack with id CDKToolkit does not exist")
    rows = check(Scenario(bootstrap=missing), session, stubs)

    bootstrap = rows["CDK bootstrap"]
    assert bootstrap.status is Status.FAIL
    assert f"cdk bootstrap aws://{ACCOUNT}/{REGION}" in bootstrap.detail
    assert doctor.exit_code(rows.values()) == 1


@pytest.mark.parametrize(
    ("stack", "status", "text"),
    [
        (bootstrap_stack(version="5"), Status.FAIL, "version 5 < 6"),
        (bootstrap_stack("ROLLBACK_COMPLETE"), Status.FAIL, "repair or delete"),
        (bootstrap_stack("UPDATE_IN_PROGRESS"), Status.WARN, "wait"),
        (bootstrap_stack(version=None), Status.WARN, "version unknown"),
        (bootstrap_stack("UPDATE_ROLLBACK_COMPLETE", "21"), Status.OK, "version 21"),
    ],
)
def test_bootstrap_states(
    session: boto3.session.Session,
    stubs: Stubs,
    stack: dict[str, Any],
    status: Status,
    text: str,
) -> None:
    rows = check(Scenario(bootstrap=stack), session, stubs)
    assert rows["CDK bootstrap"].status is status
    assert text in rows["CDK bootstrap"].detail


# --- output -------------------------------------------------------------------------------------


def test_table_never_shows_secrets(session: boto3.session.Session, stubs: Stubs) -> None:
    echoed = Err("SignatureDoesNotMatch", f"Credential={ACCESS_KEY}/20260101/us-east-1", 403)
    rows = check(Scenario(identity=echoed), session, stubs)
    table = doctor.format_table(list(rows.values()))

    for secret in (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN):
        assert secret not in table
    assert "Credential=****" in table


def test_format_table_aligns_and_summarizes() -> None:
    results = [
        CheckResult("Credentials", Status.OK, "account 1"),
        CheckResult("CDK bootstrap", Status.FAIL, "missing"),
        CheckResult("Quota x", Status.WARN, "none"),
    ]
    lines = doctor.format_table(results).splitlines()

    assert lines[0].split() == ["CHECK", "STATUS", "DETAIL"]
    assert lines[2].startswith("CDK bootstrap  FAIL    missing")
    assert len({line.index(line.split()[-1]) for line in lines[1:4]}) >= 1
    assert lines[-1] == "1 OK, 1 WARN, 1 FAIL: a deployment would fail: fix the FAIL rows first"
    assert doctor.exit_code(results) == 1
    assert (
        doctor.format_table(results[:1]).splitlines()[-1] == "1 OK, 0 WARN, 0 FAIL: ready to deploy"
    )


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", ("us", SONNET_FM)),
        ("eu.amazon.nova-pro-v1:0", ("eu", "amazon.nova-pro-v1:0")),
        ("apac.amazon.nova-lite-v1:0", ("apac", NOVA)),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", ("global", SONNET_FM)),
        (NOVA, (None, NOVA)),
        ("amazon.titan-embed-text-v2:0", (None, "amazon.titan-embed-text-v2:0")),
    ],
)
def test_split_model_id(model_id: str, expected: tuple[str | None, str]) -> None:
    assert doctor.split_model_id(model_id) == expected


def test_default_client_factory_binds_region_and_timeouts(session: boto3.session.Session) -> None:
    client = doctor.default_client_factory(session, "eu-central-1")("bedrock")
    assert client.meta.region_name == "eu-central-1"
    assert client.meta.config.read_timeout == 20
    assert client.meta.config.retries["mode"] == "standard"
