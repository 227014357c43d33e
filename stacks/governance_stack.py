"""Governance: key, guardrail, model access grants, team roles and their boundary."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from bedrock_landing_zone.base.encryption import LandingZoneKey
from bedrock_landing_zone.config import LandingZoneConfig
from bedrock_landing_zone.governance.guardrail import LandingZoneGuardrail
from bedrock_landing_zone.governance.model_access import ModelAccess
from bedrock_landing_zone.governance.model_access_automation import ModelAccessAutomation
from bedrock_landing_zone.governance.teams import shared_parameter_names


class GovernanceStack(cdk.Stack):
    """Everything that decides who may call which model, and how.

    Attributes:
        key: the landing zone's KMS key.
        guardrail: the ``LandingZoneGuardrail``.
        model_access: the ``ModelAccess`` grants derived from the allow-list.
        model_access_automation: opt-in ``ModelAccessAutomation`` or None.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: LandingZoneConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.landing_zone_key = LandingZoneKey(
            self, "LandingZoneKey", alias=f"alias/bedrock-lz/{config.name}"
        )
        self.key = self.landing_zone_key.key
        self.guardrail = LandingZoneGuardrail(
            self,
            "Guardrail",
            env_name=config.name,
            config=config.guardrail,
            key=self.key,
            models=config.models,
        )
        self.model_access = ModelAccess(
            self,
            "ModelAccess",
            models=config.models,
            guardrail=self.guardrail.ref,
            guardrail_key=self.key,
        )
        self.model_access_automation = (
            ModelAccessAutomation(
                self,
                "ModelAccessAutomation",
                config=config.model_access_automation,
                models=config.models,
                key=self.key,
                log_retention_days=config.log_retention_days,
            )
            if config.model_access_automation.enabled
            else None
        )
        ssm.StringParameter(
            self,
            "KeyArnParameter",
            parameter_name=shared_parameter_names(config.name)["key_arn"],
            string_value=self.key.key_arn,
            description=f"Bedrock landing zone ({config.name}): KMS key ARN",
        )

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Shortcut: every allow-listed model, through the guardrail."""
        return self.model_access.grant_invoke(grantee)
