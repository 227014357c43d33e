"""The hardened inference path: a guarded Lambda function behind a private, IAM-authenticated API.

``GuardedInferenceFunction`` is the reusable unit another team drops into its own stack (ten
lines: a VPC, a ``ModelAccess`` grant and a guardrail). ``PrivateInferenceApi`` puts a private
REST API in front of it, reachable only through an ``execute-api`` interface endpoint.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from bedrock_landing_zone.base.functions import LAMBDA_ROOT, RUNTIME, LandingZoneFunction
from bedrock_landing_zone.base.log_groups import retained_log_group
from bedrock_landing_zone.base.roles import ManagedPolicyRole
from bedrock_landing_zone.compliance import acknowledge, nag_form, skip_checkov
from bedrock_landing_zone.config import InferenceConfig, ModelConfig
from bedrock_landing_zone.governance.model_access import ModelAccess

__all__ = [
    "METRICS_NAMESPACE",
    "POWERTOOLS_VERSION",
    "GuardedInferenceFunction",
    "PrivateInferenceApi",
    "TeamAccessSpec",
]

#: Namespace of the handler's metrics (``lambda/inference/bedrock_inference/telemetry.py``).
METRICS_NAMESPACE = "BedrockLandingZone/Inference"
#: The Powertools for AWS Lambda (Python) release the handler is tested with: the same pin as
#: ``aws-lambda-powertools`` in requirements-dev.txt (a test keeps them equal).
POWERTOOLS_VERSION = "3.37.0"
#: The inference configuration's file name in the code asset (relative to LAMBDA_TASK_ROOT).
CONFIG_FILE = "inference_config.json"
#: API Gateway's own error responses -> (status, error code, field): the same codes as the
#: function's (lambda/inference/bedrock_inference/handler.py). Status None keeps API Gateway's.
#: Gateway responses belong to the REST API, not to a resource (API Gateway Developer Guide,
#: "Gateway responses for REST APIs in API Gateway"), so one body serves every route: the
#: Converse route's error shape plus OpenAI's ``type`` and ``param`` (see _gateway_responses).
GATEWAY_RESPONSES: tuple[tuple[apigw.ResponseType, str | None, str, str | None], ...] = (
    (apigw.ResponseType.BAD_REQUEST_BODY, "400", "invalid_request", "body"),
    (
        apigw.ResponseType.UNSUPPORTED_MEDIA_TYPE,
        "415",
        "unsupported_media_type",
        "headers.Content-Type",
    ),
    (apigw.ResponseType.REQUEST_TOO_LARGE, "413", "payload_too_large", "body"),
    (apigw.ResponseType.ACCESS_DENIED, "403", "caller_not_recognized", None),
    (apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, "403", "not_found", None),
    (apigw.ResponseType.INVALID_SIGNATURE, "403", "invalid_signature", None),
    (apigw.ResponseType.EXPIRED_TOKEN, "403", "expired_token", None),
    (apigw.ResponseType.THROTTLED, "429", "throttled", None),
    (apigw.ResponseType.INTEGRATION_TIMEOUT, "504", "model_timeout", None),
    (apigw.ResponseType.DEFAULT_4_XX, None, "client_error", None),
    (apigw.ResponseType.DEFAULT_5_XX, None, "internal_error", None),
)
#: API Gateway's REST integration timeout (API Gateway Developer Guide, "Amazon API Gateway
#: quotas": 50 ms - 29 s by default) and the headroom the function keeps below it.
INTEGRATION_TIMEOUT_S = 29
TIMEOUT_HEADROOM_S = 3
#: Allow-listed models per managed policy of the inference function's role.
MODELS_PER_POLICY = 12
#: The alias API Gateway invokes when SnapStart is on (``inference.snapstart``).
LIVE_ALIAS = "live"
CONVERSE_PATH = "/v1/converse"
CHAT_COMPLETIONS_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
#: Every route of the API and its method: the landing zone's Converse route and the
#: OpenAI-compatible ones, all answered by the same function (see its handler module).
ROUTES: tuple[tuple[str, str], ...] = (
    ("POST", CONVERSE_PATH),
    ("POST", CHAT_COMPLETIONS_PATH),
    ("GET", MODELS_PATH),
)
#: OpenAI's error ``type`` of an API Gateway error, by status (the function's mapping:
#: bedrock_inference.openai_compat.error_type).
_OPENAI_ERROR_TYPES = {"403": "permission_error", "429": "rate_limit_error"}


def powertools_layer_parameter(version: str = POWERTOOLS_VERSION, *, arch: str = "arm64") -> str:
    """The public SSM parameter that holds the Powertools layer ARN for ``version``.

    Powertools publishes, in every region it supports, one parameter per architecture, Python
    runtime and release: ``/aws/service/powertools/python/<arm64|x86_64>/python3.x/<version>``
    (Powertools for AWS Lambda (Python) documentation, "Lambda Layer"; its release workflow
    ``update_ssm.yml`` writes them). Resolving it at deploy time means the template never
    names a layer version that does not exist, and the layer matches the tested library.
    """
    return f"/aws/service/powertools/python/{arch}/{RUNTIME.name}/{version}"


@dataclass(frozen=True)
class TeamAccessSpec:
    """Which IAM roles belong to a team, and which aliases the team may call.

    ``accounts``: the accounts whose roles of these names are the team; default, the function's
    own account. An API admitted to the organisation (``aws:PrincipalOrgID``) would otherwise
    give the team's models to a role of the same name in any member account.
    """

    models: Sequence[str]
    role_names: Sequence[str] = field(default_factory=list)
    accounts: Sequence[str] = field(default_factory=list)


def _runtime_on_path() -> None:
    root = str(LAMBDA_ROOT / "inference")
    if root not in sys.path:
        sys.path.append(root)


def converse_request_schema() -> dict[str, Any]:
    """The function's request model as API Gateway's JSON Schema (from its own code)."""
    _runtime_on_path()
    from bedrock_inference.models import request_json_schema  # noqa: PLC0415

    return request_json_schema()


def chat_completions_request_schema() -> dict[str, Any]:
    """The envelope of ``POST /v1/chat/completions`` as API Gateway's JSON Schema (from the
    function's own code: ``bedrock_inference.openai_compat``)."""
    _runtime_on_path()
    from bedrock_inference.openai_compat import chat_request_json_schema  # noqa: PLC0415

    return chat_request_json_schema()


class GuardedInferenceFunction(Construct):
    """The inference handler (``lambda/inference``) with its grant, network and settings.

    Example (another team's stack)::

        access = ModelAccess(self, "Access", models=models,
                             guardrail=LandingZoneGuardrail.from_ssm_parameters(self, "prod"))
        fn = GuardedInferenceFunction(
            self, "Inference", vpc=vpc, client_security_group=endpoint_clients,
            model_access=access, models=models,
            teams={"search": TeamAccessSpec(models=["claude-haiku"], role_names=["search-app"])},
            key=key,
        )

    Creates a Python function on arm64 (newest runtime) in ``vpc``'s private subnets with
    ``client_security_group`` (HTTPS to the VPC endpoints), reserved concurrency, active
    tracing, a KMS-encrypted log group with retention, the AWS-managed Powertools layer of the
    stack's region, and ``model_access.grant_invoke`` on exactly the models it serves. The
    guardrail id and version and the allow-list reach it through environment variables.

    With ``settings.snapstart``, Lambda SnapStart on published versions: a version of the
    current code and configuration and the ``live`` alias pointing at it; give
    ``invocable`` (the alias) to whatever invokes the function. Default: no SnapStart, no
    version, ``invocable`` is the function itself.

    Attributes:
        function: the ``lambda_.Function``.
        invocable: what callers invoke: the ``live`` alias with SnapStart, else ``function``.
        alias: the ``live`` alias (None without SnapStart).
        role: its ``ManagedPolicyRole``.
        log_group: its log group.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        client_security_group: ec2.ISecurityGroup,
        model_access: ModelAccess,
        models: Sequence[ModelConfig],
        key: kms.IKey,
        teams: Mapping[str, TeamAccessSpec] | None = None,
        team_directory: str | None = None,
        profiles_tagged: Mapping[str, str] | None = None,
        settings: InferenceConfig | None = None,
        log_retention_days: int = 365,
        vpc_subnets: ec2.SubnetSelection | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = settings or InferenceConfig()
        teams = dict(teams or {})
        if bool(teams) == bool(team_directory):
            raise ValueError(
                "set exactly one of teams (a fixed team map) or team_directory (an SSM path "
                "under which each team publishes its entry, e.g. teams.team_directory(env))"
            )
        if team_directory is not None and not (
            team_directory.startswith("/") and team_directory.endswith("/")
        ):
            raise ValueError(f"team_directory: {team_directory!r} must start and end with '/'")
        unguarded = sorted(m.alias for m in models if not m.guardrail)
        if unguarded:
            raise ValueError(
                f"models: {unguarded} cannot take a guardrail (embedding, rerank or speech "
                "models) and serve no Converse call: leave them out of the inference function"
            )
        known = {m.alias for m in models}
        for team, spec in teams.items():
            unknown = sorted(set(spec.models) - known)
            if unknown:
                raise ValueError(f"teams.{team}.models: {unknown} are not in models")
            # an account ID is exactly 12 digits (AWS Organizations API Reference,
            # DescribeAccount, AccountId)
            malformed = [
                a
                for a in spec.accounts
                if not cdk.Token.is_unresolved(a) and not re.fullmatch(r"\d{12}", a)
            ]
            if malformed:
                raise ValueError(
                    f"teams.{team}.accounts: {malformed} are not 12-digit account ids (leave "
                    "accounts empty for the function's own account)"
                )
        stack = cdk.Stack.of(self)
        timeout = settings.timeout_seconds
        if timeout > INTEGRATION_TIMEOUT_S - TIMEOUT_HEADROOM_S:
            raise ValueError(
                f"settings.timeout_seconds: {timeout} s leaves less than {TIMEOUT_HEADROOM_S} s "
                f"below API Gateway's {INTEGRATION_TIMEOUT_S} s integration timeout; use at most "
                f"{INTEGRATION_TIMEOUT_S - TIMEOUT_HEADROOM_S}"
            )
        inference_config = {
            "models": {
                m.alias: {
                    "model_id": m.model_id,
                    "max_output_tokens": m.max_output_tokens,
                    "fallbacks": list(m.fallbacks),
                }
                for m in models
            },
            "teams": {
                team: {
                    "models": list(spec.models),
                    "role_names": list(spec.role_names),
                    "accounts": list(spec.accounts) or [stack.account],
                }
                for team, spec in teams.items()
            },
            **({"team_directory": team_directory} if team_directory else {}),
            "limits": settings.limits.model_dump(),
            "retry": {
                "max_attempts": 2,
                "connect_timeout_s": 2,
                "read_timeout_s": max(timeout - 4, 1),
            },
            "log_content": settings.log_content,
        }
        powertools = lambda_.LayerVersion.from_layer_version_arn(
            self,
            "Powertools",
            ssm.StringParameter.value_for_string_parameter(self, powertools_layer_parameter()),
        )
        # The model and team map ships as a document beside the code (the environment holds 4 KB
        # in all, Lambda Developer Guide "Lambda quotas"), unless it holds deploy-time values.
        config_text = json.dumps(inference_config, sort_keys=True, separators=(",", ":"))
        if cdk.Token.is_unresolved(config_text):
            files: dict[str, str] = {}
            config_variables = {"INFERENCE_CONFIG": stack.to_json_string(inference_config)}
        else:
            files = {CONFIG_FILE: config_text}
            config_variables = {"INFERENCE_CONFIG_FILE": CONFIG_FILE}
        self._unit = LandingZoneFunction(
            self,
            "Handler",
            asset="inference",
            files=files,
            handler="bedrock_inference.handler.lambda_handler",
            description="Bedrock landing zone: guarded inference (Converse with guardrail)",
            key=key,
            log_retention_days=log_retention_days,
            environment={
                **config_variables,
                "GUARDRAIL_ID": model_access.guardrail.arn,
                "GUARDRAIL_VERSION": model_access.guardrail.version,
                "POWERTOOLS_SERVICE_NAME": "bedrock-inference",
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
            timeout=cdk.Duration.seconds(timeout),
            memory_size=settings.memory_mb,
            vpc=vpc,
            vpc_subnets=vpc_subnets
            or ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            security_groups=[client_security_group],
            reserved_concurrency=settings.reserved_concurrency,
            layers=[powertools],
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if settings.snapstart else None,
            # A superseded version is deleted once the alias has moved on: each published version
            # keeps a cached snapshot, billed for Python while the version exists.
            current_version_options=lambda_.VersionOptions(
                removal_policy=cdk.RemovalPolicy.DESTROY,
                description="Guarded inference: the version SnapStart snapshots ('live' alias)",
            )
            if settings.snapstart
            else None,
        )
        self.function = self._unit.function
        self.role = self._unit.role
        self.log_group = self._unit.log_group
        self.alias: lambda_.Alias | None = None
        self.invocable: lambda_.IFunction = self.function
        if settings.snapstart:
            self.alias = self._published_alias()
            self.invocable = self.alias
        # The role and the GUARDRAIL_VERSION variable change in one stack update, but not at
        # one instant: the role accepts any published version of the landing zone guardrail
        # (superseded versions are retained), the code always sends the configured one.
        # Grants in chunks of MODELS_PER_POLICY models, one managed policy each, so no policy
        # nears IAM's 6,144 characters at 50-80 models (the preflight plugin measures them;
        # a role takes 10 managed policies by default, IAM User Guide "IAM and AWS STS quotas").
        aliases = [m.alias for m in models]
        self.model_policies = []
        for index in range(0, len(aliases), MODELS_PER_POLICY):
            policy = model_access.managed_policy(
                f"ModelAccess{index // MODELS_PER_POLICY + 1}",
                aliases=aliases[index : index + MODELS_PER_POLICY],
                description="Guarded inference function: invoke its models with the guardrail",
                guardrail_versions="published",
                profiles_tagged=profiles_tagged,
                scope=self,
            )
            policy.attach_to_role(self.role)
            self.model_policies.append(policy)
        if team_directory is not None:
            # the team directory is read at init and refreshed (each team stack writes its entry)
            path = team_directory.strip("/")
            self.role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="ReadTheTeamDirectory",
                    actions=["ssm:GetParametersByPath", "ssm:GetParameter"],
                    resources=[
                        stack.format_arn(service="ssm", resource="parameter", resource_name=name)
                        for name in (path, f"{path}/*")
                    ],
                )
            )
            acknowledge(
                self.role.permissions or self.role,
                [
                    "AwsSolutions-IAM5[Resource::"
                    + nag_form(
                        stack,
                        stack.format_arn(
                            service="ssm", resource="parameter", resource_name=f"{path}/*"
                        ),
                    )
                    + "]"
                ],
                "The team directory: each team stack publishes its entry under this path, so "
                "the function reads the path (names of teams added later are not known here).",
            )
        acknowledge(
            self.role.permissions or self.role,
            ["AwsSolutions-IAM5[Resource::*]"],
            "Only actions without resource types use '*': xray:PutTraceSegments and "
            "xray:PutTelemetryRecords (active tracing), ec2:DescribeNetworkInterfaces and "
            "ec2:DescribeSubnets (Lambda's VPC networking); IAM accepts no narrower resource.",
        )
        function_resource = self.function.node.default_child
        assert isinstance(function_resource, cdk.CfnResource)
        acknowledge(
            function_resource,
            [
                "NIST.800.53.R5-LambdaDLQ",
                "HIPAA.Security-LambdaDLQ",
                "PCI.DSS.321-LambdaDLQ",
                "Serverless-LambdaDLQ",
            ],
            "Invoked synchronously by API Gateway: every failure is returned to the caller as "
            "an HTTP error and logged; there is no asynchronous event to dead-letter.",
        )
        skip_checkov(
            function_resource,
            {
                "CKV_AWS_116": "Invoked synchronously by API Gateway: failures return to the "
                "caller as HTTP errors; there is no asynchronous event to dead-letter.",
            },
        )

    def _published_alias(self) -> lambda_.Alias:
        """SnapStart applies to published versions only, never to ``$LATEST`` (Lambda Developer
        Guide, "Improving startup performance with Lambda SnapStart": "You can use SnapStart only
        on published function versions and aliases that point to versions"): a version of the
        current code and configuration (a new one on every change, which Lambda initializes and
        snapshots when it is published) and the ``live`` alias pointing at it, which callers
        invoke (superseded versions are deleted: see ``current_version_options``)."""
        alias = lambda_.Alias(
            self, "Live", alias_name=LIVE_ALIAS, version=self.function.current_version
        )
        cdk.Annotations.of(self.function).acknowledge_warning(
            "@aws-cdk/aws-lambda:snapStartRequirePublish",
            "A version of the current code and configuration is published with the function "
            "(current_version) and the API invokes it through the 'live' alias.",
        )
        return alias

    # ----- alarms-ready metrics --------------------------------------------------------------

    def metric(self, name: str, *, statistic: str = "Sum", **dimensions: str) -> cloudwatch.Metric:
        """A handler metric (``Invocations``, ``InputTokens``, ...) of the landing zone."""
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=name,
            dimensions_map=dict(dimensions) or None,
            statistic=statistic,
            period=cdk.Duration.minutes(1),
        )

    def metric_errors(self) -> cloudwatch.Metric:
        return self.function.metric_errors(period=cdk.Duration.minutes(1))

    def metric_throttles(self) -> cloudwatch.Metric:
        return self.function.metric_throttles(period=cdk.Duration.minutes(1))


class PrivateInferenceApi(Construct):
    """``POST /v1/converse``, and the OpenAI-compatible ``POST /v1/chat/completions`` and
    ``GET /v1/models``, on a PRIVATE REST API, reachable only through ``endpoint``.

    - resource policy: allow ``execute-api:Invoke`` through ``endpoint`` for principals of this
      account (or organisation), deny everything that does not come through it;
    - IAM (SigV4) authorization; the caller's role decides the team (the function maps role
      names to teams), never a header;
    - request models (JSON schema, generated from the function's code) and a validator, stage
      throttling, X-Ray tracing, execution logs without request or response bodies, JSON access
      logs in a KMS-encrypted log group;
    - every route: the same Lambda proxy integration, IAM authorization; API Gateway's own
      errors in the function's JSON error shape, with OpenAI's ``type`` and ``param`` too.

    Attributes:
        api: the ``apigw.RestApi``.
        stage: the ``prod`` stage.
        method: ``POST /v1/converse``; ``chat_completions_method``, ``models_method``: the
            OpenAI-compatible routes.
        converse_arn: the ``execute-api`` ARN of ``POST /v1/converse``; ``route_arns``: the
            ARNs of every route (what ``grant_invoke`` grants).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: lambda_.IFunction,
        endpoint: ec2.IInterfaceVpcEndpoint,
        key: kms.IKey,
        principal_condition: Mapping[str, Mapping[str, str]],
        settings: InferenceConfig | None = None,
        log_retention_days: int = 365,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = settings or InferenceConfig()
        self.access_logs = retained_log_group(self, "AccessLogs", key=key, days=log_retention_days)
        policy = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="InvokeThroughTheLandingZoneEndpoint",
                    principals=[iam.AnyPrincipal()],
                    actions=["execute-api:Invoke"],
                    resources=["execute-api:/*"],
                    conditions={
                        **{
                            k: dict(v)
                            for k, v in principal_condition.items()
                            if k != "StringEquals"
                        },
                        "StringEquals": {
                            **principal_condition.get("StringEquals", {}),
                            "aws:SourceVpce": endpoint.vpc_endpoint_id,
                        },
                    },
                ),
                iam.PolicyStatement(
                    sid="DenyAnyOtherPath",
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=["execute-api:Invoke"],
                    resources=["execute-api:/*"],
                    conditions={"StringNotEquals": {"aws:SourceVpce": endpoint.vpc_endpoint_id}},
                ),
            ]
        )
        self.api = apigw.RestApi(
            self,
            "Api",
            description="Bedrock landing zone: guarded inference (private, SigV4)",
            endpoint_configuration=apigw.EndpointConfiguration(
                types=[apigw.EndpointType.PRIVATE], vpc_endpoints=[endpoint]
            ),
            policy=policy,
            cloud_watch_role=False,
            deploy_options=apigw.StageOptions(
                stage_name="prod",
                tracing_enabled=True,
                logging_level=apigw.MethodLoggingLevel.INFO,
                data_trace_enabled=False,  # never log request or response bodies
                metrics_enabled=True,
                throttling_rate_limit=settings.throttle_rate_per_second,
                throttling_burst_limit=settings.throttle_burst,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
            ),
            disable_execute_api_endpoint=False,
        )
        # The request model is rendered from the shapes that validate the body in the function
        # (bedrock_inference.models), as draft-4 JSON Schema (what API Gateway models take: API
        # Gateway Developer Guide, "Data models for REST APIs"), so the two cannot drift apart.
        cfn_model = apigw.CfnModel(
            self,
            "ConverseRequest",
            rest_api_id=self.api.rest_api_id,
            content_type="application/json",
            description="POST /v1/converse request body (bedrock_inference.models)",
            schema=converse_request_schema(),
        )
        body = apigw.Model.from_model_name(self, "ConverseRequestModel", cfn_model.ref)
        validator = apigw.RequestValidator(
            self,
            "Validator",
            rest_api=self.api,
            validate_request_body=True,
            validate_request_parameters=True,
        )
        integration = apigw.LambdaIntegration(
            handler, proxy=True, timeout=cdk.Duration.seconds(INTEGRATION_TIMEOUT_S)
        )
        v1 = self.api.root.add_resource("v1")
        converse = v1.add_resource("converse")
        self.method = converse.add_method(
            "POST",
            integration,
            authorization_type=apigw.AuthorizationType.IAM,
            request_validator=validator,
            request_models={"application/json": body},
        )
        self.method.node.add_dependency(cfn_model)
        # The OpenAI-compatible routes: the same function and integration. The request model
        # of chat completions is an envelope only (model, messages[].role): the function names
        # an unsupported or unknown parameter in OpenAI's error shape, API Gateway's validator
        # could not (see _gateway_responses). A GET carries no body to validate.
        chat_model = apigw.CfnModel(
            self,
            "ChatCompletionsRequest",
            rest_api_id=self.api.rest_api_id,
            content_type="application/json",
            description="POST /v1/chat/completions request body (bedrock_inference.openai_compat)",
            schema=chat_completions_request_schema(),
        )
        self.chat_completions_method = (
            v1.add_resource("chat")
            .add_resource("completions")
            .add_method(
                "POST",
                integration,
                authorization_type=apigw.AuthorizationType.IAM,
                request_validator=validator,
                request_models={
                    "application/json": apigw.Model.from_model_name(
                        self, "ChatCompletionsRequestModel", chat_model.ref
                    )
                },
            )
        )
        self.chat_completions_method.node.add_dependency(chat_model)
        self.models_method = v1.add_resource("models").add_method(
            "GET",
            integration,
            authorization_type=apigw.AuthorizationType.IAM,
            request_validator=validator,
        )
        self._gateway_responses()
        self.stage = self.api.deployment_stage
        self.converse_arn = self.api.arn_for_execute_api("POST", CONVERSE_PATH, "prod")
        self.route_arns = [
            self.api.arn_for_execute_api(method, path, "prod") for method, path in ROUTES
        ]
        self._account_logging_role()
        self._acknowledge()

    def _gateway_responses(self) -> None:
        """API Gateway's own errors in the function's JSON error shape.

        Gateway response templates take simple ``$context`` substitutions only (API Gateway
        Developer Guide, "Gateway responses for REST APIs"); ``$context.error.messageString`` is
        already a quoted JSON string ("API Gateway mapping template and access logging variable
        reference"). ``validationErrorString`` is not quoted and may hold quotes, so it is not
        put into the JSON: the function's own validation names the field.

        The body is the Converse route's error (``code``, ``field``, ``message``, ``requestId``)
        and also OpenAI's (``type``, ``param``), since one gateway response serves every route of
        the API: an ``openai`` SDK client reads ``error.type``/``code``/``param``/``message``.
        """
        for response_type, status, code, name in GATEWAY_RESPONSES:
            error_type = _OPENAI_ERROR_TYPES.get(status or "") or (
                "server_error"
                if (status or "").startswith("5") or response_type.response_type.endswith("5XX")
                else "invalid_request_error"
            )
            param = f'"{name}"' if name else "null"
            body = (
                '{"error":{"code":"'
                + code
                + f'","field":{param},"type":"{error_type}","param":{param},'
                + '"message":$context.error.messageString},"requestId":"$context.requestId"}'
            )
            self.api.add_gateway_response(
                f"Gateway{response_type.response_type.title().replace('_', '')}",
                type=response_type,
                status_code=status,
                response_headers={"Content-Type": "'application/json'"},
                templates={"application/json": body},
            )

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` call every route (``POST /v1/converse`` and the OpenAI-compatible
        ``POST /v1/chat/completions`` and ``GET /v1/models``)."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["execute-api:Invoke"], resource_arns=self.route_arns
        )

    def _account_logging_role(self) -> None:
        """API Gateway execution logs need the account's CloudWatch role (account-wide)."""
        stack = cdk.Stack.of(self)
        log_groups = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name="API-Gateway-Execution-Logs_*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        role = ManagedPolicyRole(
            self,
            "ExecutionLogsRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description="API Gateway account setting: write execution logs to CloudWatch Logs",
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:DescribeLogStreams",
                    "logs:PutLogEvents",
                    "logs:PutRetentionPolicy",
                ],
                resources=[log_groups],
            )
        )
        account = apigw.CfnAccount(self, "AccountSettings", cloud_watch_role_arn=role.role_arn)
        self.api.node.add_dependency(account)
        acknowledge(
            role.permissions or role,
            [f"AwsSolutions-IAM5[Resource::{nag_form(stack, log_groups)}]"],
            "API Gateway names execution log groups API-Gateway-Execution-Logs_<api id>/<stage>; "
            "the wildcard is that prefix only, nothing else in the account.",
        )

    def _acknowledge(self) -> None:
        stage = self.stage.node.default_child
        assert isinstance(stage, cdk.CfnResource)
        acknowledge(
            stage,
            [
                "AwsSolutions-APIG3",
                "NIST.800.53.R5-APIGWAssociatedWithWAF",
                "PCI.DSS.321-APIGWAssociatedWithWAF",
            ],
            "Private API: reachable only through the landing zone's execute-api VPC endpoint, "
            "by SigV4-signed principals of this account or organisation; there is no public "
            "traffic for a web ACL to filter.",
        )
        acknowledge(
            stage,
            [
                "NIST.800.53.R5-APIGWCacheEnabledAndEncrypted",
                "HIPAA.Security-APIGWCacheEnabledAndEncrypted",
                "PCI.DSS.321-APIGWCacheEnabledAndEncrypted",
            ],
            "Every response is a fresh, per-caller model answer that may contain confidential "
            "data: caching would serve one caller's answer to another, so the cache is off.",
        )
        acknowledge(
            stage,
            [
                "NIST.800.53.R5-APIGWSSLEnabled",
                "HIPAA.Security-APIGWSSLEnabled",
                "PCI.DSS.321-APIGWSSLEnabled",
            ],
            "The only integration is a Lambda proxy (invoked over the AWS API, TLS by AWS); a "
            "client certificate applies to HTTP back ends, of which there are none.",
        )
        for method in (self.method, self.chat_completions_method, self.models_method):
            acknowledge(
                method.node.default_child,  # type: ignore[arg-type]
                ["AwsSolutions-COG4"],
                "Callers are AWS principals (team roles) authenticated with SigV4 (IAM "
                "authorization); a Cognito user pool is for end-user identities, which this "
                "service-to-service API does not have.",
            )
        skip_checkov(
            stage,
            {
                "CKV_AWS_120": "Caching is off on purpose: each response is a per-caller model "
                "answer that must never be served to another caller.",
            },
        )
