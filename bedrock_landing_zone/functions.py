"""A Lambda function with the landing zone's defaults: compliant, least privilege, encrypted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from bedrock_landing_zone._cdk_util import retained_log_group
from bedrock_landing_zone.roles import ManagedPolicyRole

__all__ = ["LAMBDA_ROOT", "RUNTIME", "LandingZoneFunction"]

#: Runtime code shipped with the package (``bedrock_landing_zone/lambda`` -> ``lambda/``).
LAMBDA_ROOT = Path(__file__).resolve().parent / "lambda"
#: The newest Python runtime (cdk-nag's latest-runtime rules accept it).
RUNTIME = lambda_.Runtime.PYTHON_3_14


class LandingZoneFunction(Construct):
    """A Python function on arm64 with everything the five packs ask of a Lambda function.

    - its own role (``ManagedPolicyRole``: grants land in a customer-managed policy), with
      write access to its own log group only, plus ENI permissions when in a VPC;
    - a log group encrypted with ``key``, with retention, RETAIN on removal; JSON log format;
    - X-Ray active tracing, environment variables encrypted with ``key``;
    - optional VPC placement and reserved concurrency.

    Attributes:
        function: the ``lambda_.Function``.
        role: its ``ManagedPolicyRole``.
        log_group: its ``logs.LogGroup``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        asset: str,
        handler: str,
        description: str,
        key: kms.IKey,
        log_retention_days: int,
        environment: Mapping[str, str] | None = None,
        timeout: cdk.Duration | None = None,
        memory_size: int = 256,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        reserved_concurrency: int | None = None,
        layers: Sequence[lambda_.ILayerVersion] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        code_dir = LAMBDA_ROOT / asset
        if not code_dir.is_dir():
            raise ValueError(f"asset: no runtime code at {code_dir}")
        self.role = ManagedPolicyRole(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=description[:1000],
        )
        self.log_group = retained_log_group(self, "Logs", key=key, days=log_retention_days)
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            code=lambda_.Code.from_asset(
                str(code_dir), exclude=["**/__pycache__", "**/*.pyc", "**/.mypy_cache"]
            ),
            handler=handler,
            description=description[:256],
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            tracing=lambda_.Tracing.ACTIVE,
            environment=dict(environment or {}),
            environment_encryption=key,
            timeout=timeout or cdk.Duration.seconds(30),
            memory_size=memory_size,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            security_groups=list(security_groups) if security_groups else None,
            allow_public_subnet=False,
            reserved_concurrent_executions=reserved_concurrency,
            layers=list(layers) if layers else None,
        )
        self.log_group.grant_write(self.role)
