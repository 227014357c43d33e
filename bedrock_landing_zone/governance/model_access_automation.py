"""Opt-in: accept model agreements and submit the Anthropic use-case form at deploy time."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import custom_resources as cr
from constructs import Construct

from bedrock_landing_zone.base.functions import LandingZoneFunction
from bedrock_landing_zone.base.log_groups import retained_log_group
from bedrock_landing_zone.base.roles import ManagedPolicyRole
from bedrock_landing_zone.compliance import acknowledge, acknowledge_deploy_time_function
from bedrock_landing_zone.config import ModelAccessAutomationConfig, ModelConfig

__all__ = ["REQUIRED_ACTIONS", "ModelAccessAutomation"]

#: What the handler calls (lambda/model_access/model_access_handler/handler.py keeps the same
#: list; a test checks they agree). None of these actions has a resource type.
REQUIRED_ACTIONS = [
    "bedrock:GetUseCaseForModelAccess",
    "bedrock:PutUseCaseForModelAccess",
    "bedrock:GetFoundationModelAvailability",
    "bedrock:ListFoundationModelAgreementOffers",
    "bedrock:CreateFoundationModelAgreement",
    "aws-marketplace:Subscribe",
    "aws-marketplace:ViewSubscriptions",
]


class ModelAccessAutomation(Construct):
    """A custom resource that makes allow-listed models callable in this account and region.

    On create and update it submits the Anthropic first-time-use form (once per account) and
    creates the foundation model agreements (public offer) that ``agreement_models`` need.
    A failure fails the deployment with a message naming the model, the error and the fix.
    On delete nothing is revoked (account settings outlive the stack).

    Attributes:
        handler: the ``LandingZoneFunction`` running ``model_access_handler.handler.on_event``.
        resource: the ``cdk.CustomResource``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: ModelAccessAutomationConfig,
        models: Sequence[ModelConfig],
        key: kms.IKey,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        by_alias = {m.alias: m for m in models}
        self.handler = LandingZoneFunction(
            self,
            "Handler",
            asset="model_access",
            handler="model_access_handler.handler.on_event",
            description="Bedrock landing zone: model access agreements and use-case form",
            key=key,
            log_retention_days=log_retention_days,
            timeout=cdk.Duration.minutes(5),
        )
        self.handler.role.add_to_principal_policy(
            iam.PolicyStatement(actions=REQUIRED_ACTIONS, resources=["*"])
        )
        self._framework_role = framework_role = ManagedPolicyRole(
            self,
            "ProviderRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="CDK custom resource provider framework for model access automation",
        )
        framework_logs = retained_log_group(self, "ProviderLogs", key=key, days=log_retention_days)
        # A role passed to the provider gets no AWSLambdaBasicExecutionRole from CDK: the
        # framework function writes its log streams and decrypts its environment (encrypted
        # with ``key``) with this role (Lambda Developer Guide, "Defining Lambda function
        # permissions with an execution role"; "Securing Lambda environment variables").
        framework_logs.grant_write(framework_role)
        framework_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DecryptOwnEnvironment", actions=["kms:Decrypt"], resources=[key.key_arn]
            )
        )
        provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.handler.function,
            framework_on_event_role=framework_role,
            log_group=framework_logs,
            provider_function_env_encryption=key,
        )
        form = config.use_case_form
        self.resource = cdk.CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type="Custom::BedrockModelAccess",
            properties={
                "ModelIds": sorted(
                    {by_alias[a].foundation_model_id for a in config.agreement_models}
                ),
                "Region": cdk.Stack.of(self).region,
                **(
                    {
                        "UseCaseForm": {
                            "companyName": form.company_name,
                            "companyWebsite": form.company_website,
                            "intendedUsers": form.intended_users,
                            "industryOption": form.industry_option,
                            "otherIndustryOption": form.other_industry_option,
                            "useCases": form.use_cases,
                        }
                    }
                    if form
                    else {}
                ),
            },
        )
        self._acknowledge(provider)

    def _acknowledge(self, provider: cr.Provider) -> None:
        acknowledge(
            self.handler.role.permissions or self.handler.role,
            ["AwsSolutions-IAM5[Resource::*]"],
            "The Bedrock model-access and AWS Marketplace subscription actions have no resource "
            "types, so IAM only accepts '*' for them; the actions are listed one by one.",
        )
        framework = provider.node.find_child("framework-onEvent")
        framework_function = framework.node.default_child
        assert isinstance(framework_function, cdk.CfnResource)
        acknowledge(
            framework_function,
            ["Serverless-LambdaDefaultMemorySize", "Serverless-LambdaTracing"],
            "CDK's provider framework function only relays the CloudFormation event to the "
            "handler (which has explicit memory and active tracing); neither is configurable "
            "on it.",
        )
        handler_resource = self.handler.function.node.default_child
        assert isinstance(handler_resource, cdk.CfnResource)
        handler_id = cdk.Stack.of(self).get_logical_id(handler_resource)
        acknowledge(
            self._framework_role.permissions or self._framework_role,
            [f"AwsSolutions-IAM5[Resource::<{handler_id}.Arn>:*]"],
            "The provider framework may invoke the handler function and its versions (ARN:*), "
            "nothing else; the wildcard is the version qualifier of that one function.",
        )
        for function in (self.handler.function, framework):
            target = function.node.default_child
            assert isinstance(target, cdk.CfnResource)
            acknowledge_deploy_time_function(
                target, purpose="it accepts Bedrock model agreements and the use-case form"
            )
