"""The landing zone's alert topic: alarms and budget notifications go here."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from bedrock_landing_zone.compliance import acknowledge
from bedrock_landing_zone.config import AlertsConfig

__all__ = ["AlertTopic"]


class AlertTopic(Construct):
    """An SNS topic encrypted with the landing-zone key, SSL-only, with subscriptions from config.

    CloudWatch alarms and AWS Budgets of this account may publish to it (``aws:SourceAccount``)
    and use the key for that only.

    Attributes:
        topic: the ``sns.Topic``.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: AlertsConfig, key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        account = cdk.Stack.of(self).account
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="Bedrock landing zone alerts",
            master_key=key,
            enforce_ssl=True,
        )
        services = ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlarmsAndBudgetsOfThisAccount",
                principals=[iam.ServicePrincipal(s) for s in services],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            )
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlarmsAndBudgetsToEncryptAlerts",
                principals=[iam.ServicePrincipal(s) for s in services],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            )
        )
        self.dead_letter_queue: sqs.Queue | None = None
        if config.emails or config.https_endpoints:
            # notifications SNS could not deliver are kept 14 days for investigation
            self.dead_letter_queue = sqs.Queue(
                self,
                "UndeliveredAlerts",
                encryption=sqs.QueueEncryption.KMS,
                encryption_master_key=key,
                enforce_ssl=True,
                retention_period=cdk.Duration.days(14),
            )
            acknowledge(
                self.dead_letter_queue.node.default_child,  # type: ignore[arg-type]
                ["AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"],
                "This queue is itself the dead-letter queue of the alert topic's subscriptions "
                "(SNS redrive policy); a dead-letter queue of a dead-letter queue adds nothing.",
            )
        for email in config.emails:
            self.topic.add_subscription(
                subscriptions.EmailSubscription(email, dead_letter_queue=self.dead_letter_queue)
            )
        for url in config.https_endpoints:
            self.topic.add_subscription(
                subscriptions.UrlSubscription(url, dead_letter_queue=self.dead_letter_queue)
            )
