"""Inference: the guarded function and the private, IAM-authenticated API in front of it."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from bedrock_landing_zone.config import LandingZoneConfig
from bedrock_landing_zone.governance.teams import team_directory
from bedrock_landing_zone.inference.constructs import GuardedInferenceFunction, PrivateInferenceApi

from .governance_stack import GovernanceStack
from .network_stack import NetworkStack


class InferenceStack(cdk.Stack):
    """Composes ``GuardedInferenceFunction`` and ``PrivateInferenceApi``.

    Team roles (team stacks) may call ``POST /v1/converse``; the function maps each caller's
    role ARN to its team through the team directory (SSM, written by the team stacks) and serves
    only that team's models.

    Attributes:
        function: the ``GuardedInferenceFunction``.
        api: the ``PrivateInferenceApi``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LandingZoneConfig,
        governance: GovernanceStack,
        network: NetworkStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        private = network.network
        self.function = GuardedInferenceFunction(
            self,
            "GuardedInference",
            vpc=private.vpc,
            client_security_group=private.client_security_group,
            model_access=governance.model_access,
            # models that cannot take a guardrail cannot serve Converse either: not offered
            models=[m for m in config.models if m.guardrail],
            # teams publish their entries from their own stacks: adding one changes nothing here
            team_directory=team_directory(config.name),
            profiles_tagged={"Environment": config.name},
            key=governance.key,
            settings=config.inference,
            log_retention_days=config.log_retention_days,
        )
        self.api = PrivateInferenceApi(
            self,
            "PrivateApi",
            handler=self.function.invocable,  # the 'live' alias when SnapStart is on
            endpoint=private.endpoints["execute-api"],
            key=governance.key,
            principal_condition=private.principal_condition,
            settings=config.inference,
            log_retention_days=config.log_retention_days,
        )
        prefix = f"/bedrock-lz/{config.name}/inference"
        ssm.StringParameter(
            self,
            "ApiUrlParameter",
            parameter_name=f"{prefix}/api-url",
            string_value=self.api.api.url_for_path("/v1/converse"),
            description="Private inference API: POST here with SigV4 (execute-api)",
        )
        ssm.StringParameter(
            self,
            "ApiIdParameter",
            parameter_name=f"{prefix}/api-id",
            string_value=self.api.api.rest_api_id,
        )
        cdk.CfnOutput(self, "ConverseUrl", value=self.api.api.url_for_path("/v1/converse"))
