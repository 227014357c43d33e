#!/usr/bin/env python3
"""A consumer CDK app, written the way another team writes it after ``pip install
bedrock-landing-zone``: it imports only the package's public API and joins a deployed landing
zone, not this repository.

From the landing zone's SSM parameters it takes the network (VPC, private subnets, the endpoint
client security group) and the key (``PrivateNetwork.from_ssm_parameters``), and the guardrail
(``LandingZoneGuardrail.from_ssm_parameters``). It adds a batch role with a grant, the guarded
inference function, a dashboard, and its own summarizer function (``LandingZoneFunction``, code in
``lambda/summarizer/`` next to this file).

``tests/e2e/consumer/test_clean_consumer.py`` installs the wheel into a fresh venv outside the
repository and runs this file there, with the five cdk-nag packs on: 0 open findings. Values
marked PLACEHOLDER stand for the consuming team's own ids.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from constructs import Construct

from bedrock_landing_zone import (
    GuardedInferenceFunction,
    GuardrailReference,
    LandingZoneFunction,
    LandingZoneGuardrail,
    ManagedPolicyRole,
    ModelAccess,
    ModelConfig,
    ModelDashboardSection,
    NetworkReference,
    PrivateNetwork,
    TeamAccessSpec,
    acknowledge,
    add_compliance_packs,
)

#: The landing-zone environment whose ``/bedrock-lz/<env>/...`` parameters this app reads.
LANDING_ZONE_ENV = "prod"
ACCOUNT = "111122223333"  # PLACEHOLDER: the team's account (the landing zone's)
REGION = "us-east-1"

NOVA_LITE = ModelConfig(alias="nova-lite", model_id="amazon.nova-lite-v1:0")
CLAUDE_HAIKU = ModelConfig(
    alias="claude-haiku", model_id="us.anthropic.claude-haiku-4-5-20251001-v1:0"
)
MODELS = [NOVA_LITE, CLAUDE_HAIKU]


class SearchTeamStack(cdk.Stack):
    """The search team's Bedrock usage inside the landing zone's network."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        network = PrivateNetwork.from_ssm_parameters(self, LANDING_ZONE_ENV)
        guardrail = LandingZoneGuardrail.from_ssm_parameters(self, LANDING_ZONE_ENV)

        # Model access governed by the landing zone's guardrail (resolved at deploy time).
        self.model_access = ModelAccess(
            self, "ModelAccess", models=MODELS, guardrail=guardrail, guardrail_key=network.key
        )
        # The team's own role: a grant, not hand-written IAM.
        self.batch_role = ManagedPolicyRole(
            self,
            "BatchJobRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="Search team batch job: calls nova-lite through the guardrail",
        )
        self.model_access.grant_invoke(self.batch_role, [NOVA_LITE.alias])

        # The guarded inference function (Converse with the guardrail on every call).
        self.inference = GuardedInferenceFunction(
            self,
            "Inference",
            vpc=network.vpc,
            vpc_subnets=network.subnets,
            client_security_group=network.client_security_group,
            model_access=self.model_access,
            models=MODELS,
            teams={
                "search": TeamAccessSpec(
                    models=[m.alias for m in MODELS], role_names=["search-app"]
                )
            },
            key=network.key,
        )
        self.summarizer = self.add_summarizer(network, guardrail)
        self.add_dashboard()

    def add_summarizer(
        self, network: NetworkReference, guardrail: GuardrailReference
    ) -> LandingZoneFunction:
        """The team's own function: its code next to this app, in the landing zone's VPC."""
        summarizer = LandingZoneFunction(
            self,
            "Summarizer",
            asset="lambda/summarizer",
            handler="summarizer.handler",
            description="Search team: summarizes documents with nova-lite through the guardrail",
            key=network.key,
            log_retention_days=365,
            vpc=network.vpc,
            vpc_subnets=network.subnets,
            security_groups=[network.client_security_group],
            reserved_concurrency=5,
            environment={
                "MODEL_ID": NOVA_LITE.model_id,
                "GUARDRAIL_ID": guardrail.arn,
                "GUARDRAIL_VERSION": guardrail.version,
            },
        )
        self.model_access.grant_invoke(summarizer.role, [NOVA_LITE.alias])
        acknowledge(
            summarizer.role.permissions or summarizer.role,
            ["AwsSolutions-IAM5[Resource::*]"],
            "Only actions without resource types use '*': xray:PutTraceSegments and "
            "xray:PutTelemetryRecords (tracing), ec2:DescribeNetworkInterfaces and "
            "ec2:DescribeSubnets (VPC networking); the team's grants name their resources.",
        )
        function = summarizer.function.node.default_child
        assert isinstance(function, cdk.CfnResource)
        acknowledge(
            function,
            [
                # as cdk-nag prints it after "Acknowledge with", and as the rule id alone
                "NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ",
                "HIPAA.Security-LambdaDLQ",
                "Serverless-LambdaDLQ",
            ],
            "Invoked synchronously by the search service, which gets every error back; Lambda "
            "sends only asynchronous invocations to a dead-letter queue.",
        )
        return summarizer

    def add_dashboard(self) -> None:
        """The team's dashboard: one landing-zone section per model it calls."""
        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", default_interval=cdk.Duration.hours(3)
        )
        for construct_id, model in (("NovaLiteSection", NOVA_LITE), ("HaikuSection", CLAUDE_HAIKU)):
            ModelDashboardSection(self, construct_id, model_id=model.model_id).add_to(
                self.dashboard
            )


def main() -> None:
    app = cdk.App()
    add_compliance_packs(app)
    SearchTeamStack(
        app,
        "SearchTeamBedrock",
        env=cdk.Environment(account=ACCOUNT, region=REGION),
        description="Search team: Bedrock access through the landing zone",
    )
    app.synth()


if __name__ == "__main__":
    main()
