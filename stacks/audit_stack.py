"""Audit and cost: model invocation logging, the alert topic, per-team budgets."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from constructs import Construct

from bedrock_landing_zone.alerts import AlertTopic
from bedrock_landing_zone.budgets import TeamBudgets
from bedrock_landing_zone.config import LandingZoneConfig
from bedrock_landing_zone.invocation_logging import InvocationLogging


class AuditStack(cdk.Stack):
    """Composes invocation logging, the alert topic and team budgets.

    Attributes:
        invocation_logging: ``InvocationLogging`` or None when disabled in config.
        alerts: ``AlertTopic`` (alarms and budget notifications).
        budgets: ``TeamBudgets``.
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
        self.budgets = TeamBudgets(self, "Budgets", config=config, topic=self.alerts.topic)
