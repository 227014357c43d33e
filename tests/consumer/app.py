#!/usr/bin/env python3
"""A consumer CDK app, written the way another team writes it after ``pip install
bedrock-landing-zone``: it imports only the package's public API and runs beside the landing zone
(its VPC, its guardrail published in SSM), not inside this repository.

``tests/consumer/test_clean_consumer.py`` installs the wheel into a fresh venv outside the
repository and runs this file there, with the five cdk-nag packs on. Values marked PLACEHOLDER
stand for the consuming team's own ids.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from bedrock_landing_zone import (
    GuardedInferenceFunction,
    LandingZoneGuardrail,
    LandingZoneKey,
    ManagedPolicyRole,
    ModelAccess,
    ModelConfig,
    ModelDashboardSection,
    TeamAccessSpec,
    add_compliance_packs,
)

#: The landing-zone environment whose guardrail this app uses (``/bedrock-lz/<env>/guardrail/*``).
LANDING_ZONE_ENV = "prod"
ACCOUNT = "111122223333"  # PLACEHOLDER: the team's account
REGION = "us-east-1"

NOVA_LITE = ModelConfig(alias="nova-lite", model_id="amazon.nova-lite-v1:0")
CLAUDE_HAIKU = ModelConfig(
    alias="claude-haiku", model_id="us.anthropic.claude-haiku-4-5-20251001-v1:0"
)
MODELS = [NOVA_LITE, CLAUDE_HAIKU]


class SearchTeamStack(cdk.Stack):
    """The search team's Bedrock usage: a batch role and a guarded inference function."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # The landing zone's VPC and endpoint-client security group, by id (no lookups).
        vpc = ec2.Vpc.from_vpc_attributes(
            self,
            "LandingZoneVpc",
            vpc_id="vpc-0123456789abcdef0",  # PLACEHOLDER
            availability_zones=[f"{REGION}a", f"{REGION}b"],
            isolated_subnet_ids=["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
            isolated_subnet_route_table_ids=["rtb-0123456789abcdef0", "rtb-0123456789abcdef1"],
        )
        endpoint_clients = ec2.SecurityGroup.from_security_group_id(
            self,
            "EndpointClients",
            "sg-0123456789abcdef0",
            mutable=False,  # PLACEHOLDER
        )
        key = LandingZoneKey(self, "Key", alias="alias/search-team/bedrock").key

        # Model access governed by the landing zone's guardrail (resolved at deploy time).
        self.model_access = ModelAccess(
            self,
            "ModelAccess",
            models=MODELS,
            guardrail=LandingZoneGuardrail.from_ssm_parameters(self, LANDING_ZONE_ENV),
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
            vpc=vpc,
            client_security_group=endpoint_clients,
            model_access=self.model_access,
            models=MODELS,
            teams={
                "search": TeamAccessSpec(
                    models=[m.alias for m in MODELS], role_names=["search-app"]
                )
            },
            key=key,
        )
        self.add_dashboard()

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
