"""The landing zone's customer-managed KMS key."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

__all__ = ["LandingZoneKey"]


class LandingZoneKey(Construct):
    """A customer-managed KMS key for logs, guardrails and alarms topics.

    - rotation every year (the KMS default period), on;
    - key policy: the account administers the key through IAM (the CDK default, which keeps the
      key manageable); CloudWatch Logs of this account and region may use it only with an
      encryption context naming one of this account's log groups;
    - RETAIN on stack removal and a 30-day deletion window: nothing encrypted with it is orphaned.

    Attributes:
        key: the ``kms.Key``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, alias: str) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.key = kms.Key(
            self,
            "Key",
            alias=alias,
            description="Bedrock landing zone: logs, guardrails and alarm notifications",
            enable_key_rotation=True,
            pending_window=cdk.Duration.days(30),
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        log_groups = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name="*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsOfThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                ],
                resources=["*"],
                conditions={"StringLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
            )
        )

    def allow_service(
        self,
        sid: str,
        service: str,
        *,
        actions: list[str],
        source_arn: str | None = None,
    ) -> None:
        """Let an AWS service use the key on behalf of this account only (confused-deputy safe)."""
        stack = cdk.Stack.of(self)
        conditions: dict[str, dict[str, str]] = {
            "StringEquals": {"aws:SourceAccount": stack.account}
        }
        if source_arn is not None:
            conditions["ArnLike"] = {"aws:SourceArn": source_arn}
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid,
                principals=[iam.ServicePrincipal(service)],
                actions=actions,
                resources=["*"],
                conditions=conditions,
            )
        )
