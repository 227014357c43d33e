"""Model access custom resource: every path, with a Stubber-wrapped Bedrock client.

The Stubber checks each request against botocore's service model (names, required parameters,
types) and each canned response against the output shape, so these tests also pin the API shapes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from model_access_handler import handler  # type: ignore[import-not-found,unused-ignore]

REGION = "us-east-1"
SONNET = "anthropic.claude-sonnet-4-5-20250929-v1:0"
HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0"
NOVA = "amazon.nova-lite-v1:0"
FORM: dict[str, str] = {
    "companyName": "Example Corp",
    "companyWebsite": "https://example.com",
    "intendedUsers": "0",
    "industryOption": "Financial Services",
    "otherIndustryOption": "",
    "useCases": "Internal assistants and document search",
}
FORM_BYTES = (
    b'{"companyName":"Example Corp","companyWebsite":"https://example.com","intendedUsers":"0",'
    b'"industryOption":"Financial Services","otherIndustryOption":"",'
    b'"useCases":"Internal assistants and document search"}'
)


def event(request_type: str = "Create", **properties: Any) -> dict[str, Any]:
    """A Provider framework event, as CloudFormation sends it."""
    props: dict[str, Any] = {
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider",
        "ModelIds": [SONNET],
        "Region": REGION,
    }
    props.update(properties)
    body: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": props["ServiceToken"],
        "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/lz/1",
        "RequestId": "7a1b2c3d",
        "LogicalResourceId": "ModelAccess",
        "ResourceType": "Custom::BedrockModelAccess",
        "ResourceProperties": props,
    }
    if request_type != "Create":
        body["PhysicalResourceId"] = f"bedrock-model-access-{REGION}"
    return body


def availability(
    model_id: str, status: str = "NOT_AVAILABLE", region: str = "AVAILABLE", error: str = ""
) -> dict[str, Any]:
    agreement: dict[str, Any] = {"status": status}
    if error:
        agreement["errorMessage"] = error
    return {
        "modelId": model_id,
        "agreementAvailability": agreement,
        "authorizationStatus": "AUTHORIZED",
        "entitlementAvailability": "AVAILABLE" if status == "AVAILABLE" else "NOT_AVAILABLE",
        "regionAvailability": region,
    }


def offers(model_id: str, *tokens: str) -> dict[str, Any]:
    return {
        "modelId": model_id,
        "offers": [
            {
                "offerId": f"offer-{i}",
                "offerToken": token,
                "termDetails": {
                    "usageBasedPricingTerm": {"rateCard": []},
                    "legalTerm": {"url": "https://example.com/eula"},
                    "supportTerm": {"refundPolicyDescription": "none"},
                },
            }
            for i, token in enumerate(tokens)
        ],
    }


class Bedrock:
    """A real Bedrock client whose calls are answered by a Stubber, in queue order."""

    def __init__(self) -> None:
        self.client = boto3.client(
            "bedrock",
            region_name=REGION,
            aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
            aws_secret_access_key="fake-secret",
        )
        self.stubber = Stubber(self.client)
        self.operations: list[str] = []
        self.client.meta.events.register(
            "before-parameter-build.bedrock", lambda model, **_: self.operations.append(model.name)
        )

    def ok(self, method: str, response: dict[str, Any], params: dict[str, Any]) -> None:
        self.stubber.add_response(method, response, params)

    def error(self, method: str, code: str, params: dict[str, Any], status: int = 400) -> None:
        self.stubber.add_client_error(
            method,
            service_error_code=code,
            service_message=f"{code} from the stub",
            http_status_code=status,
            expected_params=params,
        )

    # the usual calls, with the parameters the handler must send
    def form_missing(self) -> None:
        self.error("get_use_case_for_model_access", "ResourceNotFoundException", {}, 404)

    def form_on_file(self) -> None:
        self.ok("get_use_case_for_model_access", {"formData": FORM_BYTES}, {})

    def form_put(self) -> None:
        self.ok("put_use_case_for_model_access", {}, {"formData": FORM_BYTES})

    def availability(self, model_id: str, **kwargs: Any) -> None:
        self.ok(
            "get_foundation_model_availability",
            availability(model_id, **kwargs),
            {"modelId": model_id},
        )

    def offers(self, model_id: str, *tokens: str) -> None:
        self.ok(
            "list_foundation_model_agreement_offers",
            offers(model_id, *tokens),
            {"modelId": model_id, "offerType": "PUBLIC"},
        )

    def create(self, model_id: str, token: str) -> None:
        self.ok(
            "create_foundation_model_agreement",
            {"modelId": model_id},
            {"offerToken": token, "modelId": model_id},
        )


@pytest.fixture
def bedrock() -> Iterator[Bedrock]:
    stub = Bedrock()
    with stub.stubber:
        yield stub
        stub.stubber.assert_no_pending_responses()


@pytest.fixture
def patched(bedrock: Bedrock, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """on_event uses the stubbed client; returns the regions it was asked for."""
    regions: list[str] = []

    def factory(region: str) -> Any:
        regions.append(region)
        return bedrock.client

    monkeypatch.setattr(handler, "bedrock_client", factory)
    return regions


def run(evt: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = handler.on_event(evt, None)
    return reply


# --- create -------------------------------------------------------------------------------------


def test_create_submits_the_form_and_creates_missing_agreements(
    bedrock: Bedrock, patched: list[str]
) -> None:
    bedrock.form_missing()
    bedrock.form_put()
    bedrock.availability(SONNET)
    bedrock.offers(SONNET, "token-sonnet", "token-other")
    bedrock.create(SONNET, "token-sonnet")  # the first public offer
    bedrock.availability(NOVA, status="AVAILABLE")

    reply = run(event(ModelIds=[SONNET, NOVA], UseCaseForm=FORM))

    assert reply == {
        "PhysicalResourceId": "bedrock-model-access-us-east-1",
        "Data": {
            "Region": REGION,
            "UseCaseForm": "submitted",
            "AgreementsCreated": SONNET,
            "AgreementsPresent": NOVA,
            "AgreementsPending": "",
            "NotRevoked": "",
        },
    }
    assert patched == [REGION]


def test_form_already_on_file_is_not_submitted_again(bedrock: Bedrock, patched: list[str]) -> None:
    bedrock.form_on_file()
    bedrock.availability(SONNET, status="AVAILABLE")

    reply = run(event(UseCaseForm=FORM))

    assert reply["Data"]["UseCaseForm"] == "already-on-file"
    assert "PutUseCaseForModelAccess" not in bedrock.operations


def test_without_a_form_the_use_case_apis_are_not_called(
    bedrock: Bedrock, patched: list[str]
) -> None:
    bedrock.availability(SONNET, status="AVAILABLE")

    reply = run(event())

    assert reply["Data"]["UseCaseForm"] == "not-requested"
    assert bedrock.operations == ["GetFoundationModelAvailability"]


def test_agreement_already_present_is_left_alone(bedrock: Bedrock, patched: list[str]) -> None:
    bedrock.availability(SONNET, status="AVAILABLE")
    reply = run(event())
    assert reply["Data"]["AgreementsPresent"] == SONNET
    assert reply["Data"]["AgreementsCreated"] == ""


def test_pending_agreement_is_not_requested_twice(bedrock: Bedrock, patched: list[str]) -> None:
    bedrock.availability(SONNET, status="PENDING")
    reply = run(event())
    assert reply["Data"]["AgreementsPending"] == SONNET
    assert "CreateFoundationModelAgreement" not in bedrock.operations


def test_failed_agreement_is_requested_again(bedrock: Bedrock, patched: list[str]) -> None:
    bedrock.availability(SONNET, status="ERROR", error="payment method declined")
    bedrock.offers(SONNET, "token")
    bedrock.create(SONNET, "token")
    assert run(event())["Data"]["AgreementsCreated"] == SONNET


def test_failed_agreement_failing_again_reports_both_reasons(
    bedrock: Bedrock, patched: list[str]
) -> None:
    bedrock.availability(SONNET, status="ERROR", error="payment method declined")
    bedrock.offers(SONNET, "token")
    bedrock.error(
        "create_foundation_model_agreement",
        "ValidationException",
        {"offerToken": "token", "modelId": SONNET},
    )
    with pytest.raises(handler.ModelAccessError) as info:
        run(event())
    assert "ValidationException" in str(info.value)
    assert "payment method declined" in str(info.value)


def test_inference_profile_ids_become_one_foundation_model(
    bedrock: Bedrock, patched: list[str]
) -> None:
    bedrock.availability(SONNET, status="AVAILABLE")
    bedrock.availability(NOVA, status="AVAILABLE")
    reply = run(event(ModelIds=[f"us.{SONNET}", f"eu.{SONNET}", f"global.{SONNET}", NOVA]))
    assert reply["Data"]["AgreementsPresent"] == f"{SONNET},{NOVA}"


def test_conflict_on_create_means_someone_else_created_it(
    bedrock: Bedrock, patched: list[str]
) -> None:
    bedrock.availability(SONNET)
    bedrock.offers(SONNET, "token")
    bedrock.error(
        "create_foundation_model_agreement",
        "ConflictException",
        {"offerToken": "token", "modelId": SONNET},
    )
    assert run(event())["Data"]["AgreementsPresent"] == SONNET


def test_region_defaults_to_the_functions_region(
    bedrock: Bedrock, patched: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    evt = event()
    del evt["ResourceProperties"]["Region"]
    bedrock.availability(SONNET, status="AVAILABLE")
    assert run(evt)["PhysicalResourceId"] == "bedrock-model-access-us-east-1"


# --- failures become clear deployment errors ----------------------------------------------------


def test_no_offer_names_the_model_and_region(bedrock: Bedrock, patched: list[str]) -> None:
    bedrock.availability(SONNET)
    bedrock.offers(SONNET)

    with pytest.raises(handler.ModelAccessError) as info:
        run(event())

    message = str(info.value)
    assert f"model {SONNET} offers no agreement in us-east-1" in message
    assert "CreateFoundationModelAgreement" not in bedrock.operations


def test_access_denied_names_the_missing_permission(bedrock: Bedrock, patched: list[str]) -> None:
    bedrock.availability(SONNET)
    bedrock.offers(SONNET, "token")
    bedrock.error(
        "create_foundation_model_agreement",
        "AccessDeniedException",
        {"offerToken": "token", "modelId": SONNET},
        403,
    )

    with pytest.raises(handler.ModelAccessError) as info:
        run(event())

    message = str(info.value)
    for part in (
        SONNET,
        "AccessDeniedException",
        "the deploying role lacks bedrock:CreateFoundationModelAgreement",
        "aws-marketplace:Subscribe",
        "us-east-1",
    ):
        assert part in message


def test_access_denied_on_the_form(bedrock: Bedrock, patched: list[str]) -> None:
    bedrock.form_missing()
    bedrock.error(
        "put_use_case_for_model_access", "AccessDeniedException", {"formData": FORM_BYTES}
    )

    with pytest.raises(handler.ModelAccessError) as info:
        run(event(UseCaseForm=FORM))

    assert "lacks bedrock:PutUseCaseForModelAccess" in str(info.value)
    assert "GetFoundationModelAvailability" not in bedrock.operations  # the form comes first


def test_unreadable_form_status_stops(bedrock: Bedrock, patched: list[str]) -> None:
    bedrock.error("get_use_case_for_model_access", "AccessDeniedException", {}, 403)
    with pytest.raises(handler.ModelAccessError) as info:
        run(event(UseCaseForm=FORM))
    assert "lacks bedrock:GetUseCaseForModelAccess" in str(info.value)


def test_model_not_offered_in_the_region(bedrock: Bedrock, patched: list[str]) -> None:
    bedrock.availability(SONNET, region="NOT_AVAILABLE")
    with pytest.raises(handler.ModelAccessError) as info:
        run(event())
    assert f"model {SONNET} is not available in us-east-1" in str(info.value)


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        ("ResourceNotFoundException", "check the model id"),
        ("ThrottlingException", "retry the deployment"),
        ("AccessDeniedException", "lacks bedrock:GetFoundationModelAvailability"),
    ],
)
def test_availability_errors(bedrock: Bedrock, patched: list[str], code: str, hint: str) -> None:
    bedrock.error("get_foundation_model_availability", code, {"modelId": SONNET})
    with pytest.raises(handler.ModelAccessError) as info:
        run(event())
    assert code in str(info.value)
    assert hint in str(info.value)


def test_one_failing_model_does_not_hide_the_others(bedrock: Bedrock, patched: list[str]) -> None:
    bedrock.availability(SONNET)
    bedrock.offers(SONNET)  # no offer: fails
    bedrock.availability(HAIKU)
    bedrock.offers(HAIKU, "token-haiku")
    bedrock.create(HAIKU, "token-haiku")  # still created

    with pytest.raises(handler.ModelAccessError) as info:
        run(event(ModelIds=[SONNET, HAIKU]))

    assert "failed for 1 of 2 model(s) in us-east-1" in str(info.value)
    assert bedrock.operations[-1] == "CreateFoundationModelAgreement"


def test_old_runtime_boto3_is_reported() -> None:
    request = handler.parse_event(event())
    with pytest.raises(handler.ModelAccessError, match="predates the Bedrock model access APIs"):
        handler.process(request, object())


# --- update and delete --------------------------------------------------------------------------


def test_update_ensures_the_new_list_and_revokes_nothing(
    bedrock: Bedrock, patched: list[str]
) -> None:
    bedrock.availability(NOVA)
    bedrock.offers(NOVA, "token-nova")
    bedrock.create(NOVA, "token-nova")
    evt = event("Update", ModelIds=[NOVA])
    evt["OldResourceProperties"] = {"ModelIds": [f"us.{SONNET}", NOVA], "Region": REGION}

    reply = run(evt)

    assert reply["PhysicalResourceId"] == "bedrock-model-access-us-east-1"
    assert reply["Data"]["AgreementsCreated"] == NOVA
    assert reply["Data"]["NotRevoked"] == SONNET
    assert "DeleteFoundationModelAgreement" not in bedrock.operations


def test_update_tolerates_malformed_old_properties(bedrock: Bedrock, patched: list[str]) -> None:
    bedrock.availability(SONNET, status="AVAILABLE")
    evt = event("Update")
    evt["OldResourceProperties"] = {"ModelIds": "not-a-list"}
    assert run(evt)["Data"]["NotRevoked"] == ""


@pytest.mark.parametrize(
    "properties",
    [{"ModelIds": [SONNET], "Region": REGION}, {"ModelIds": "garbage", "UseCaseForm": 3}],
)
def test_delete_is_a_no_op_that_says_so(
    properties: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_client(region: str) -> Any:
        raise AssertionError("Delete must not call AWS")

    monkeypatch.setattr(handler, "bedrock_client", no_client)
    evt = event("Delete")
    evt["ResourceProperties"] = properties

    reply = run(evt)

    assert reply["PhysicalResourceId"] == "bedrock-model-access-us-east-1"
    assert "stay in place" in reply["Data"]["Deleted"]
    assert "no-op" in reply["Data"]["Deleted"]


# --- event validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ModelIds": "anthropic.claude"}, "ModelIds: expected a list"),
        ({"ModelIds": ["Not A Model"]}, "is not a Bedrock model id"),
        ({"Region": "moon-1"}, "Region 'moon-1'"),
        ({"UseCaseForm": "yes"}, "UseCaseForm: expected an object"),
        ({"UseCaseForm": {**FORM, "companySize": "10"}}, "unknown field(s) companySize"),
        ({"UseCaseForm": {**FORM, "useCases": ""}}, "required field(s) missing: useCases"),
    ],
)
def test_invalid_properties_fail_before_any_call(
    changes: dict[str, Any], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    with pytest.raises(handler.ModelAccessError) as info:
        handler.parse_event(event(**changes))
    assert message in str(info.value)


def test_unknown_request_type() -> None:
    with pytest.raises(handler.ModelAccessError, match="RequestType"):
        handler.parse_event(event("Replace"))


def test_form_data_is_compact_json_in_field_order() -> None:
    without_optional = {k: v for k, v in FORM.items() if k != "otherIndustryOption"}
    form = handler.parse_event(event(UseCaseForm=without_optional)).use_case_form
    assert form is not None
    data = handler.form_data(form)
    assert data == FORM_BYTES
    assert list(json.loads(data)) == list(handler.FORM_FIELDS)


def test_form_too_large_is_rejected() -> None:
    with pytest.raises(handler.ModelAccessError, match="must be 10 to 16384"):
        handler.form_data({**FORM, "useCases": "x" * 20_000})


# --- permissions --------------------------------------------------------------------------------


def test_required_actions_cover_every_call_and_nothing_else(
    bedrock: Bedrock, patched: list[str]
) -> None:
    bedrock.form_missing()
    bedrock.form_put()
    bedrock.availability(SONNET)
    bedrock.offers(SONNET, "token")
    bedrock.create(SONNET, "token")
    run(event(UseCaseForm=FORM))

    called = {f"bedrock:{op}" for op in bedrock.operations}
    bedrock_actions = {a for a in handler.REQUIRED_ACTIONS if a.startswith("bedrock:")}
    assert called == bedrock_actions
    marketplace = {a for a in handler.REQUIRED_ACTIONS if not a.startswith("bedrock:")}
    assert marketplace == {"aws-marketplace:Subscribe", "aws-marketplace:ViewSubscriptions"}


def test_required_actions_exist_in_the_service_authorization_reference() -> None:
    """parliament ships the AWS Service Authorization Reference as JSON."""
    text = resources.files("parliament").joinpath("iam_definition.json").read_text("utf-8")
    known = {
        f"{service['prefix']}:{privilege['privilege']}"
        for service in json.loads(text)
        for privilege in service["privileges"]
    }
    assert set(handler.REQUIRED_ACTIONS) <= known, set(handler.REQUIRED_ACTIONS) - known
    assert len(handler.REQUIRED_ACTIONS) == len(set(handler.REQUIRED_ACTIONS))
