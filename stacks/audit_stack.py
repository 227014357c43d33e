"""Audit: model invocation logging and the alert topic (team budgets: the team stacks)."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from bedrock_landing_zone.audit.alerts import AlertTopic
from bedrock_landing_zone.audit.invocation_logging import InvocationLogging
from bedrock_landing_zone.config import LandingZoneConfig
from bedrock_landing_zone.governance.teams import shared_parameter_names


class AuditStack(cdk.Stack):
    """Composes invocation logging and the alert topic (published for the team stacks).

    Attributes:
        invocation_logging: ``InvocationLogging`` or None when disabled in config.
        alerts: ``AlertTopic`` (alarms and budget notifications).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LandingZoneConfig,
        key: kms.IKey,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.invocation_logging = (
            InvocationLogging(
                self,
                "InvocationLogging",
                config=config.invocation_logging,
                key=key,
                log_retention_days=config.log_retention_days,
            )
            if config.invocation_logging.enabled
            else None
        )
        self.alerts = AlertTopic(self, "Alerts", config=config.alerts, key=key)
        ssm.StringParameter(
            self,
            "AlertTopicArnParameter",
            parameter_name=shared_parameter_names(config.name)["topic_arn"],
            string_value=self.alerts.topic.topic_arn,
            description=f"Bedrock landing zone ({config.name}): alert topic ARN",
        )
