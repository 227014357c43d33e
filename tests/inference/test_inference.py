"""Inference stack: private IAM-authenticated API, guarded function, reusable construct."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template
from bedrock_inference.models import load_settings

from bedrock_landing_zone.compliance import add_compliance_packs
from bedrock_landing_zone.governance.guardrail import LandingZoneGuardrail
from bedrock_landing_zone.governance.model_access import ModelAccess
from bedrock_landing_zone.inference.constructs import GuardedInferenceFunction, TeamAccessSpec
from tests.conftest import Synth, Synths, cdk_app, shipped_inference_config
from tests.governance.test_policy_evaluation import _fake, _inline_stack_outputs

ACCOUNT = "111122223333"


def _inference(synth: Synth) -> dict[str, Any]:
    assert synth.stacks.inference is not None
    return synth.template_json(synth.stacks.inference)


def _one(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    (item,) = [(k, r) for k, r in template["Resources"].items() if r["Type"] == kind]
    return item


def test_api_is_private_and_only_reachable_through_the_endpoint(default: Synth) -> None:
    template = _inference(default)
    _, api = _one(template, "AWS::ApiGateway::RestApi")
    props = api["Properties"]
    assert props["EndpointConfiguration"]["Types"] == ["PRIVATE"]
    assert len(props["EndpointConfiguration"]["VpcEndpointIds"]) == 1
    allow, deny = props["Policy"]["Statement"]
    assert allow["Effect"] == "Allow" and deny["Effect"] == "Deny"
    assert "aws:SourceVpce" in allow["Condition"]["StringEquals"]
    assert "aws:PrincipalAccount" in allow["Condition"]["StringEquals"]
    assert "aws:SourceVpce" in deny["Condition"]["StringNotEquals"]
    assert allow["Action"] == deny["Action"] == "execute-api:Invoke"


def test_organisation_wide_api_policy_when_an_org_is_configured(existing_vpc: Synth) -> None:
    _, api = _one(_inference(existing_vpc), "AWS::ApiGateway::RestApi")
    allow = api["Properties"]["Policy"]["Statement"][0]
    assert allow["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == "o-exampleorg1"


def test_converse_method_requires_iam_and_validates_the_body(default: Synth) -> None:
    template = Template.from_json(_inference(default))
    template.has_resource_properties(
        "AWS::ApiGateway::Method",
        {
            "HttpMethod": "POST",
            "AuthorizationType": "AWS_IAM",
            "RequestValidatorId": Match.any_value(),
            "RequestModels": {"application/json": Match.any_value()},
            "Integration": {"Type": "AWS_PROXY", "TimeoutInMillis": 29000},
        },
    )
    template.has_resource_properties(
        "AWS::ApiGateway::RequestValidator", {"ValidateRequestBody": True}
    )
    template.has_resource_properties(
        "AWS::ApiGateway::Model",
        {"Schema": Match.object_like({"required": ["model", "messages"]})},
    )
    template.has_resource_properties("AWS::ApiGateway::Resource", {"PathPart": "converse"})


def test_stage_throttles_traces_and_logs_without_bodies(default: Synth) -> None:
    _, stage = _one(_inference(default), "AWS::ApiGateway::Stage")
    props = stage["Properties"]
    assert props["TracingEnabled"] is True
    (settings,) = props["MethodSettings"]
    assert settings["DataTraceEnabled"] is False
    assert settings["LoggingLevel"] == "INFO"
    assert settings["ThrottlingRateLimit"] == default.config.inference.throttle_rate_per_second
    assert settings["ThrottlingBurstLimit"] == default.config.inference.throttle_burst
    assert json.loads(props["AccessLogSetting"]["Format"])["requestId"] == "$context.requestId"
    log_groups = [
        r for r in _inference(default)["Resources"].values() if r["Type"] == "AWS::Logs::LogGroup"
    ]
    assert log_groups and all("KmsKeyId" in g["Properties"] for g in log_groups)


def test_function_is_arm64_newest_python_in_vpc_with_reserved_concurrency(default: Synth) -> None:
    template = _inference(default)
    functions = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"].get("Handler") == "bedrock_inference.handler.lambda_handler"
    ]
    (fn,) = functions
    assert fn["Runtime"] == "python3.14"
    assert fn["Architectures"] == ["arm64"]
    assert fn["TracingConfig"] == {"Mode": "Active"}
    assert fn["ReservedConcurrentExecutions"] == default.config.inference.reserved_concurrency
    assert fn["Timeout"] == default.config.inference.timeout_seconds == 25
    assert len(fn["VpcConfig"]["SubnetIds"]) == 2
    assert "KmsKeyArn" in fn
    assert len(fn["Layers"]) == 1  # Powertools, see the layer test below
    env = fn["Environment"]["Variables"]
    assert {"INFERENCE_CONFIG_FILE", "GUARDRAIL_ID", "GUARDRAIL_VERSION"} <= set(env)
    assert "INFERENCE_CONFIG" not in env, "the model map ships with the code, not in the 4 KB env"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "BedrockLandingZone/Inference"


@pytest.mark.parametrize("env", ["default", "existing-vpc"])
def test_runtime_accepts_the_environment_the_stack_gives_it(synths: Synths, env: str) -> None:
    """Contract: the deployed env vars pass the handler's own validation (load_settings)."""
    synth = synths[env]
    account = synth.config.account or ACCOUNT
    producer: dict[str, str] = {}
    for path in Path(synth.outdir).glob("*.template.json"):
        template = json.loads(path.read_text(encoding="utf-8"))
        producer.update(_fake(template, account=account, region=synth.config.region))
    template = _inference(synth)
    for lid in template["Resources"]:
        producer.setdefault(lid, lid.lower())
    resolved = _inline_stack_outputs(template, producer)
    (fn,) = [
        r["Properties"]
        for r in resolved["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"].get("Handler") == "bedrock_inference.handler.lambda_handler"
    ]
    variables = {
        k: _join(v, producer, account, synth.config.region)
        for k, v in fn["Environment"]["Variables"].items()
    }
    asset = synth.outdir / f"asset.{fn['Code']['S3Key'].removesuffix('.zip')}"
    settings = load_settings(
        {**variables, "AWS_REGION": synth.config.region, "LAMBDA_TASK_ROOT": str(asset)}
    )
    # models that cannot take a guardrail are not served (Converse always carries one)
    assert set(settings.config.models) == {m.alias for m in synth.config.models if m.guardrail}
    # teams are not in the function's configuration: it reads the team stacks' entries
    assert settings.config.team_directory == f"/bedrock-lz/{synth.config.name}/teams/"
    assert not settings.config.teams
    assert settings.guardrail_version == "7"


def _join(value: Any, refs: dict[str, str], account: str, region: str) -> str:
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return str(sep).join(_join(p, refs, account, region) for p in parts)
    if "Ref" in value:
        pseudo = {"AWS::AccountId": account, "AWS::Region": region, "AWS::Partition": "aws"}
        return str(pseudo.get(value["Ref"]) or refs[value["Ref"]])
    logical_id, attribute = value["Fn::GetAtt"]
    return refs[f"{logical_id}.{attribute}"]


def test_team_roles_may_call_the_api_and_the_ssm_contract(default: Synth) -> None:
    """Each team stack grants its own role POST /v1/converse of the API it finds through SSM;
    the inference stack itself names no team."""
    text = json.dumps(_inference(default)["Resources"])
    assert not [
        t.name
        for t in default.config.teams
        if f"teams/{t.name}" in text or f"team-{t.name}" in text
    ]
    for team, stack in default.stacks.teams.items():
        template = default.template_json(stack)
        statements = [
            s
            for r in template["Resources"].values()
            if r["Type"] == "AWS::IAM::ManagedPolicy"
            for s in r["Properties"]["PolicyDocument"]["Statement"]
            if s["Action"] == "execute-api:Invoke"
        ]
        assert len(statements) == 2, team  # the role's grant and its boundary
        resource = json.dumps(statements[0]["Resource"])
        assert statements[0]["Resource"] == statements[1]["Resource"]
        for route in ("POST/v1/converse", "POST/v1/chat/completions", "GET/v1/models"):
            assert f"/prod/{route}" in resource, (team, route)
        api_id = [
            k
            for k, p in template["Parameters"].items()
            if p.get("Default") == "/bedrock-lz/default/inference/api-id"
        ]
        assert api_id and api_id[0] in resource, team
    names = {
        r["Properties"]["Name"]
        for r in _inference(default)["Resources"].values()
        if r["Type"] == "AWS::SSM::Parameter"
    }
    assert names == {
        "/bedrock-lz/default/inference/api-url",
        "/bedrock-lz/default/inference/api-id",
    }


def test_reusable_construct_in_a_separate_stack_is_compliant(tmp_path: Path) -> None:
    """Another team's stack: imported VPC, guardrail from SSM, its own key and models."""
    from bedrock_landing_zone.config import ModelConfig

    app = cdk_app("default", tmp_path)
    add_compliance_packs(app)
    stack = cdk.Stack(app, "TeamStack", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0123456789abcdef0",
        availability_zones=["us-east-1a", "us-east-1b"],
        isolated_subnet_ids=["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
        isolated_subnet_route_table_ids=["rtb-0123456789abcdef0", "rtb-0123456789abcdef1"],
    )
    clients = ec2.SecurityGroup.from_security_group_id(stack, "Clients", "sg-0123456789abcdef0")
    key = kms.Key(stack, "Key", enable_key_rotation=True, removal_policy=cdk.RemovalPolicy.RETAIN)
    models = [ModelConfig(alias="nova-lite", model_id="amazon.nova-lite-v1:0")]
    access = ModelAccess(
        stack,
        "Access",
        models=models,
        guardrail=LandingZoneGuardrail.from_ssm_parameters(stack, "default"),
    )
    GuardedInferenceFunction(
        stack,
        "Inference",
        vpc=vpc,
        client_security_group=clients,
        model_access=access,
        models=models,
        teams={"search": TeamAccessSpec(models=["nova-lite"], role_names=["search-app"])},
        key=key,
    )
    assembly = app.synth()  # raises on any open cdk-nag finding
    template = assembly.get_stack_by_name("TeamStack").template
    params = [p for p in template["Parameters"].values() if p["Type"].startswith("AWS::SSM")]
    assert {p["Default"] for p in params} >= {
        "/bedrock-lz/default/guardrail/arn",
        "/bedrock-lz/default/guardrail/version",
    }
    report = json.loads((tmp_path / "validation-report.json").read_text(encoding="utf-8"))
    assert all(not p["violations"] for p in report["pluginReports"])
    # the team is its role names in this stack's account only (the API may admit the org)
    (function,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
    ]
    shipped = shipped_inference_config(tmp_path, function["Properties"])
    assert shipped["teams"]["search"] == {
        "models": ["nova-lite"],
        "role_names": ["search-app"],
        "accounts": [ACCOUNT],
    }


def _function_with_team(team: TeamAccessSpec) -> None:
    """A GuardedInferenceFunction serving nova-lite to the team ``search``."""
    from bedrock_landing_zone.config import ModelConfig
    from bedrock_landing_zone.governance.model_access import GuardrailReference

    stack = cdk.Stack(cdk.App(), "S")
    vpc = ec2.Vpc(stack, "Vpc", nat_gateways=0)
    models = [ModelConfig(alias="nova-lite", model_id="amazon.nova-lite-v1:0")]
    access = ModelAccess(stack, "A", models=models, guardrail=GuardrailReference("arn", "1"))
    GuardedInferenceFunction(
        stack,
        "F",
        vpc=vpc,
        client_security_group=ec2.SecurityGroup(stack, "Sg", vpc=vpc),
        model_access=access,
        models=models,
        teams={"search": team},
        key=kms.Key(stack, "K"),
    )


def test_construct_rejects_a_team_account_that_is_not_an_account_id() -> None:
    with pytest.raises(ValueError, match=r"teams.search.accounts: \['prod'\] are not 12-digit"):
        _function_with_team(TeamAccessSpec(models=["nova-lite"], accounts=["prod"]))


def test_construct_rejects_a_team_naming_an_unknown_alias() -> None:
    with pytest.raises(ValueError, match=r"teams.search.models: \['gpt'\] are not in models"):
        _function_with_team(TeamAccessSpec(models=["gpt"]))


@pytest.mark.parametrize("env", ["default", "existing-vpc"])
def test_function_role_invokes_the_allow_list_only_through_the_guardrail(
    synths: Synths, env: str
) -> None:
    from tests.iam_eval.evaluator import Request, evaluate, role_identity_policies

    synth = synths[env]
    account, region = synth.config.account or ACCOUNT, synth.config.region
    producer: dict[str, str] = {}
    for path in Path(synth.outdir).glob("*.template.json"):
        template = json.loads(path.read_text(encoding="utf-8"))
        producer.update(_fake(template, account=account, region=region))
    resolved = _inline_stack_outputs(_inference(synth), producer)
    (role_id,) = [
        k
        for k, r in resolved["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and k.startswith("GuardedInferenceHandlerRole")
    ]
    identity = role_identity_policies(
        resolved, role_id, account=account, region=region, refs=producer
    )
    governance = synth.template_json(synth.stacks.governance)["Resources"]
    (guardrail,) = [
        v
        for k, v in producer.items()
        if k.endswith(".GuardrailArn") and k.split(".")[0] in governance
    ]
    guarded = {"bedrock:GuardrailIdentifier": f"{guardrail}:7"}
    for model in synth.config.models:
        arn = (
            f"arn:aws:bedrock:{region}:{account}:inference-profile/{model.model_id}"
            if model.is_inference_profile
            else f"arn:aws:bedrock:{region}::foundation-model/{model.model_id}"
        )
        if not model.guardrail:  # not served by the function (no guardrail, no Converse)
            assert not evaluate(Request("bedrock:InvokeModel", arn, guarded), identity).allowed
            continue
        assert evaluate(Request("bedrock:InvokeModel", arn, guarded), identity).allowed
        assert evaluate(Request("bedrock:InvokeModel", arn, {}), identity).effect == "ExplicitDeny"
        draft = {"bedrock:GuardrailIdentifier": f"{guardrail}:DRAFT"}
        assert not evaluate(Request("bedrock:InvokeModel", arn, draft), identity).allowed
    outside = f"arn:aws:bedrock:{region}::foundation-model/meta.llama3-70b-instruct-v1:0"
    assert not evaluate(Request("bedrock:InvokeModel", outside, guarded), identity).allowed


def test_powertools_layer_is_resolved_at_deploy_time_for_the_tested_release(
    default: Synth,
) -> None:
    """The layer ARN comes from Powertools' public SSM parameter of the pinned release, for the
    function's own architecture and runtime; no layer version is written into the template."""
    import importlib.metadata
    import re

    from bedrock_landing_zone.inference.constructs import POWERTOOLS_VERSION

    template = _inference(default)
    _, fn = _one(template, "AWS::Lambda::Function")
    props = fn["Properties"]
    ((layer_param,),) = [[layer["Ref"] for layer in props["Layers"]]]
    parameter = template["Parameters"][layer_param]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    arch = {"arm64": "arm64", "x86_64": "x86_64"}[props["Architectures"][0]]
    assert parameter["Default"] == (
        f"/aws/service/powertools/python/{arch}/{props['Runtime']}/{POWERTOOLS_VERSION}"
    )
    assert ":layer:" not in json.dumps(template), "no literal layer ARN in the template"
    pins = (Path(__file__).resolve().parents[2] / "requirements-dev.txt").read_text()
    (pinned,) = re.findall(r"^aws-lambda-powertools==(\S+)$", pins, flags=re.MULTILINE)
    assert pinned == POWERTOOLS_VERSION == importlib.metadata.version("aws-lambda-powertools")


def test_function_answers_before_api_gateway_gives_up(synths: Synths) -> None:
    """The function's timeout stays 3 s or more below API Gateway's 29 s integration timeout
    (API Gateway quotas), so cold start and invoke overhead cannot turn an answer into 504."""
    from bedrock_landing_zone.inference.constructs import INTEGRATION_TIMEOUT_S, TIMEOUT_HEADROOM_S

    for synth in synths:
        template = _inference(synth)
        _, fn = _one(template, "AWS::Lambda::Function")
        methods = [
            r["Properties"]
            for r in template["Resources"].values()
            if r["Type"] == "AWS::ApiGateway::Method"
        ]
        assert len(methods) == 3  # converse, chat completions, models
        for method in methods:
            integration = method["Integration"]["TimeoutInMillis"] / 1000
            assert integration == INTEGRATION_TIMEOUT_S
            assert fn["Properties"]["Timeout"] <= integration - TIMEOUT_HEADROOM_S


def test_a_timeout_without_headroom_is_refused() -> None:
    from bedrock_landing_zone.config import InferenceConfig

    with pytest.raises(ValueError, match="timeout_seconds"):
        InferenceConfig(timeout_seconds=29)


def test_gateway_errors_have_the_functions_error_shape(default: Synth) -> None:
    """API Gateway's own errors (bad body, denied, throttled, timeout, ...) render, once their
    $context variables are substituted, as the JSON the function answers with."""
    template = _inference(default)
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::ApiGateway::GatewayResponse"
    }
    assert {
        "BAD_REQUEST_BODY",
        "ACCESS_DENIED",
        "MISSING_AUTHENTICATION_TOKEN",
        "THROTTLED",
        "INTEGRATION_TIMEOUT",
        "DEFAULT_4XX",
        "DEFAULT_5XX",
    } <= set(responses)
    for kind, props in responses.items():
        assert props["ResponseParameters"] == {
            "gatewayresponse.header.Content-Type": "'application/json'"
        }
        text = props["ResponseTemplates"]["application/json"]
        rendered = text.replace(
            "$context.error.messageString", json.dumps('Invalid "request" body')
        ).replace("$context.requestId", "c0ffee")
        body = json.loads(rendered)
        assert set(body) == {"error", "requestId"}, kind
        error = body["error"]
        # the Converse route's error and OpenAI's in one body (gateway responses are per API)
        assert set(error) == {"code", "field", "message", "type", "param"}, kind
        assert error["code"] and error["field"] == error["param"], kind
        assert error["message"] == 'Invalid "request" body'
    assert responses["BAD_REQUEST_BODY"]["StatusCode"] == "400"
    assert responses["THROTTLED"]["StatusCode"] == "429"
    types = {
        kind: json.loads(
            props["ResponseTemplates"]["application/json"]
            .replace("$context.error.messageString", '""')
            .replace("$context.requestId", "")
        )["error"]["type"]
        for kind, props in responses.items()
    }
    assert types["BAD_REQUEST_BODY"] == types["DEFAULT_4XX"] == "invalid_request_error"
    assert types["ACCESS_DENIED"] == "permission_error"
    assert types["THROTTLED"] == "rate_limit_error"
    assert types["INTEGRATION_TIMEOUT"] == types["DEFAULT_5XX"] == "server_error"


def test_an_openai_sdk_reads_the_gateways_errors(default: Synth) -> None:
    """What the ``openai`` SDK makes of API Gateway's own 429: a RateLimitError with the code."""
    import httpx2  # type: ignore[import-not-found,unused-ignore]  # openai 3's HTTP library
    import openai

    (throttled,) = [
        r["Properties"]
        for r in _inference(default)["Resources"].values()
        if r["Type"] == "AWS::ApiGateway::GatewayResponse"
        and r["Properties"]["ResponseType"] == "THROTTLED"
    ]
    body = (
        throttled["ResponseTemplates"]["application/json"]
        .replace("$context.error.messageString", json.dumps("Too Many Requests"))
        .replace("$context.requestId", "r-1")
    )

    def gateway(request: Any) -> Any:
        return httpx2.Response(429, content=body, headers={"Content-Type": "application/json"})

    client = openai.OpenAI(
        base_url="https://api.example/prod/v1",
        api_key="unused",
        max_retries=0,
        http_client=openai.DefaultHttpxClient(transport=httpx2.MockTransport(gateway)),
    )
    with pytest.raises(openai.RateLimitError) as raised:
        client.models.list()
    assert (raised.value.code, raised.value.type) == ("throttled", "rate_limit_error")
    assert raised.value.message == "Error code: 429 - Too Many Requests"


def _without_nulls(node: Any) -> Any:  # CloudFormation templates drop null values
    if isinstance(node, dict):
        return {k: _without_nulls(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_without_nulls(v) for v in node]
    return node


def _request_models(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Request models by their schema's title."""
    return {
        r["Properties"]["Schema"]["title"]: r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::ApiGateway::Model"
    }


def test_gateway_request_model_is_the_functions_own_schema(default: Synth) -> None:
    from bedrock_inference.models import request_json_schema
    from bedrock_inference.openai_compat import chat_request_json_schema

    models = _request_models(_inference(default))
    assert set(models) == {"ConverseRequest", "ChatCompletionsRequest"}
    model = models["ConverseRequest"]
    assert model["Schema"] == _without_nulls(request_json_schema())
    assert model["Schema"]["$schema"] == "http://json-schema.org/draft-04/schema#"
    chat = models["ChatCompletionsRequest"]
    assert chat["Schema"] == _without_nulls(chat_request_json_schema())
    assert chat["Schema"]["properties"]["model"] == {
        k: v for k, v in model["Schema"]["properties"]["model"].items() if k != "title"
    }


def test_every_route_is_the_same_function_with_iam_auth(default: Synth) -> None:
    """POST /v1/converse and the OpenAI-compatible POST /v1/chat/completions and GET /v1/models:
    one proxy integration of the guarded function, IAM authorization, the request validator,
    and one invoke permission each (scoped to its method)."""
    from bedrock_landing_zone.governance.teams import INFERENCE_API_ROUTES
    from bedrock_landing_zone.inference.constructs import ROUTES

    template = _inference(default)
    resources = template["Resources"]
    fn_id, _ = _one(template, "AWS::Lambda::Function")

    def path_of(resource_id: str) -> str:
        props = resources[resource_id]["Properties"]
        parent = props["ParentId"]
        prefix = path_of(parent["Ref"]) if "Ref" in parent else ""
        return f"{prefix}/{props['PathPart']}"

    routes = {}
    for method in (r["Properties"] for r in resources.values()):
        if "HttpMethod" not in method or "ResourceId" not in method:
            continue
        routes[(method["HttpMethod"], path_of(method["ResourceId"]["Ref"]))] = method
    assert set(routes) == set(ROUTES)
    assert tuple(f"{m}{p}" for m, p in ROUTES) == INFERENCE_API_ROUTES
    models = {  # logical id -> title
        k: r["Properties"]["Schema"]["title"]
        for k, r in resources.items()
        if r["Type"] == "AWS::ApiGateway::Model"
    }
    for (verb, path), method in routes.items():
        assert method["AuthorizationType"] == "AWS_IAM", path
        assert "RequestValidatorId" in method, path
        integration = method["Integration"]
        assert (integration["Type"], integration["IntegrationHttpMethod"]) == ("AWS_PROXY", "POST")
        assert fn_id in json.dumps(integration["Uri"]), path
        body_models = {k: models[v["Ref"]] for k, v in method.get("RequestModels", {}).items()}
        expected = {
            "/v1/converse": {"application/json": "ConverseRequest"},
            "/v1/chat/completions": {"application/json": "ChatCompletionsRequest"},
            "/v1/models": {},
        }[path]
        assert body_models == expected, (verb, path)
    permissions = [
        json.dumps(r["Properties"]["SourceArn"])
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Permission"
    ]
    for verb, path in ROUTES:
        assert [p for p in permissions if f"/{verb}{path}" in p], (verb, path)


# --- Lambda SnapStart (inference.snapstart) ------------------------------------------------------
def _api_targets(template: dict[str, Any]) -> tuple[list[str], list[str]]:
    """What the API's integrations and the invoke permissions name (as JSON text)."""
    resources = template["Resources"].values()
    uris = [
        json.dumps(r["Properties"]["Integration"]["Uri"])
        for r in resources
        if r["Type"] == "AWS::ApiGateway::Method" and "Integration" in r["Properties"]
    ]
    permissions = [
        json.dumps(r["Properties"]["FunctionName"])
        for r in resources
        if r["Type"] == "AWS::Lambda::Permission"
    ]
    return uris, permissions


def test_snapstart_is_off_by_default(default: Synth) -> None:
    assert default.config.inference.snapstart is False
    template = _inference(default)
    fn_id, fn = _one(template, "AWS::Lambda::Function")
    assert "SnapStart" not in fn["Properties"]
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert not kinds & {"AWS::Lambda::Version", "AWS::Lambda::Alias"}
    uris, permissions = _api_targets(template)
    assert len(uris) == 3 and all(fn_id in uri for uri in uris)
    # two per route: the prod stage and API Gateway's test invocations (CDK's LambdaIntegration)
    assert len(permissions) == 6 and all(fn_id in p for p in permissions)


@pytest.fixture(scope="module")
def snapstart(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The default environment with ``inference.snapstart: true``, synthesized with the five
    packs (``app.synth()`` raises on any open finding)."""
    from bedrock_landing_zone.config import load_config
    from bedrock_landing_zone.delivery.landing_zone import add_landing_zone
    from tests.conftest import CONFIG_DIR

    config = load_config("default", CONFIG_DIR)
    config = config.model_copy(
        update={"inference": config.inference.model_copy(update={"snapstart": True})}
    )
    outdir = tmp_path_factory.mktemp("snapstart")
    app = cdk_app("default", outdir)
    add_compliance_packs(app)
    stacks = add_landing_zone(app, config)
    app.synth()
    assert stacks.inference is not None
    template = json.loads(
        (outdir / f"{stacks.inference.artifact_id}.template.json").read_text(encoding="utf-8")
    )
    report = json.loads((outdir / "validation-report.json").read_text(encoding="utf-8"))
    return {"template": template, "report": report}


def test_snapstart_publishes_a_version_the_api_invokes_through_the_live_alias(
    snapstart: dict[str, Any],
) -> None:
    from bedrock_landing_zone.inference.constructs import LIVE_ALIAS

    template = snapstart["template"]
    fn_id, fn = _one(template, "AWS::Lambda::Function")
    assert fn["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert fn["Properties"]["Architectures"] == ["arm64"]
    assert fn["Properties"]["Runtime"] == "python3.14"  # SnapStart: Python 3.12 and later
    assert "VpcConfig" in fn["Properties"]
    version_id, version = _one(template, "AWS::Lambda::Version")
    assert version["Properties"]["FunctionName"] == {"Ref": fn_id}
    assert version["DeletionPolicy"] == "Delete"  # a superseded snapshot is not kept (billed)
    alias_id, alias = _one(template, "AWS::Lambda::Alias")
    assert alias["Properties"]["Name"] == LIVE_ALIAS
    assert alias["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [version_id, "Version"]}
    uris, permissions = _api_targets(template)
    assert len(uris) == 3, "every route"
    for uri in uris:
        assert alias_id in uri, uri
    assert len(permissions) == 6
    for permission in permissions:
        assert alias_id in permission, permission  # API Gateway may invoke the alias only


def test_snapstart_adds_no_open_finding(snapstart: dict[str, Any]) -> None:
    assert all(not p["violations"] for p in snapstart["report"]["pluginReports"])
