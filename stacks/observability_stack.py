"""Observability: the landing zone dashboard and alarms, generated from the allow-list."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_sns as sns
from constructs import Construct

from bedrock_landing_zone.config import LandingZoneConfig
from bedrock_landing_zone.governance.teams import shared_parameter_names
from bedrock_landing_zone.observability.monitoring import LandingZoneObservability

from .audit_stack import AuditStack
from .governance_stack import GovernanceStack
from .inference_stack import InferenceStack


class ObservabilityStack(cdk.Stack):
    """Composes ``LandingZoneObservability``; alarms notify the audit stack's alert topic.

    Its template is written without indentation (``suppress_template_indentation``): it grows
    with the allow-list (about 10 KB a model) and CloudFormation takes a template of at most
    1,000,000 bytes ("AWS CloudFormation quotas", template body size in an S3 object,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html);
    indentation alone is a fifth of it. For the same reason every alarm names the alert topic
    by one short parameter (``AlertTopicArn``, the SSM parameter the audit stack publishes for
    the team stacks) rather than a cross-stack reference repeated twice per alarm.

    Attributes:
        observability: the ``LandingZoneObservability`` (dashboards, alarms, composite alarms).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LandingZoneConfig,
        governance: GovernanceStack,
        audit: AuditStack,
        inference: InferenceStack | None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("suppress_template_indentation", True)
        super().__init__(scope, construct_id, **kwargs)
        topic_arn = cdk.CfnParameter(
            self,
            "AlertTopicArn",
            type="AWS::SSM::Parameter::Value<String>",
            default=shared_parameter_names(config.name)["topic_arn"],
            description="The landing zone alert topic (published by the audit stack)",
        )
        self.add_stack_dependency(audit)  # the parameter exists before this stack reads it
        topic = sns.Topic.from_topic_arn(self, "AlertTopic", topic_arn.value_as_string)
        self.observability = LandingZoneObservability(
            self,
            "Observability",
            config=config,
            topic=topic,
            guardrail=governance.guardrail.ref,
            function=inference.function.function if inference else None,
            api=inference.api.api if inference else None,
        )
