"""Model invocation logging: every prompt and completion recorded, encrypted and retained.

Layout (documented in README):

- S3 bucket ``…-invocation-logs``: ``invocation-logs/AWSLogs/<account>/BedrockModelInvocationLogs/``
  (JSON lines per request) and ``large-data/`` (bodies over 100 KB and binary data);
- CloudWatch log group: one stream per model, the same records, for queries and metric filters;
- S3 server access logs of the log bucket in a separate bucket under ``log-bucket/``.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import custom_resources as cr
from constructs import Construct

from bedrock_landing_zone.audit.logging_payload import (
    LARGE_DATA_PREFIX,
    LOG_PREFIX,
    logging_configuration,
)
from bedrock_landing_zone.base.log_groups import retained_log_group
from bedrock_landing_zone.base.roles import ManagedPolicyRole
from bedrock_landing_zone.compliance import (
    acknowledge,
    acknowledge_deploy_time_function,
    skip_checkov,
)
from bedrock_landing_zone.config import InvocationLoggingConfig

__all__ = ["LARGE_DATA_PREFIX", "LOG_PREFIX", "InvocationLogging", "logging_configuration"]

_SINGLETON_ID = "AWS679f53fac002430cb0da5b7982bd2287"


#: The CDK feature flag under which S3 server access logging uses a bucket policy, not an ACL.
_ACCESS_LOGS_BY_BUCKET_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"


class InvocationLogging(Construct):
    """Sets the account's Bedrock model invocation logging (this region) to S3 and CloudWatch.

    Reusable alone: give it a KMS key and a config. It creates

    - ``bucket``: KMS (``key``, bucket key on), versioned, SSL-only, public access blocked, server
      access logs to ``access_log_bucket``, lifecycle to Standard-IA then Glacier Instant
      Retrieval, optional object lock (compliance mode), RETAIN. Its policy admits
      ``bedrock.amazonaws.com`` only for this account (``aws:SourceAccount``) and this account's
      Bedrock resources in this region (``aws:SourceArn``);
    - ``log_group``: KMS, retention from ``log_retention_days``, RETAIN;
    - ``delivery_role``: trusted by Bedrock with the same confused-deputy conditions, allowed to
      write to the log group only;
    - ``configuration``: an ``AwsCustomResource`` calling
      ``PutModelInvocationLoggingConfiguration`` (and ``Delete…`` when the stack is removed:
      logging stops, logs stay).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: InvocationLoggingConfig,
        key: kms.IKey,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        # Server access logs delivered by a bucket policy for logging.s3.amazonaws.com, never by
        # the LogDelivery ACL: the buckets enforce bucket-owner ownership, which disables ACLs
        # (S3 User Guide, "Enabling Amazon S3 server access logging", permissions for log
        # delivery; "Controlling ownership of objects and disabling ACLs"). CDK chooses the
        # policy only under this feature flag (aws-cdk-lib cx-api, "V2 Feature Flags"), which a
        # consuming app's cdk.json may not set; set here, before any child exists, it holds for
        # this construct's buckets whatever the app's context (a plain cdk.App() included).
        self.node.set_context(_ACCESS_LOGS_BY_BUCKET_POLICY, True)
        stack = cdk.Stack.of(self)
        source_arn = f"arn:{stack.partition}:bedrock:{stack.region}:{stack.account}:*"
        confused_deputy = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {"aws:SourceArn": source_arn},
        }

        self.access_log_bucket = s3.Bucket(
            self,
            "AccessLogBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=cdk.RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="AccessLogsToInfrequentAccess",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=cdk.Duration.days(30),
                        )
                    ],
                    noncurrent_version_expiration=cdk.Duration.days(90),
                )
            ],
        )
        acknowledge(
            self.access_log_bucket.node.default_child,  # type: ignore[arg-type]
            [
                "AwsSolutions-S1",
                "NIST.800.53.R5-S3BucketLoggingEnabled",
                "HIPAA.Security-S3BucketLoggingEnabled",
                "PCI.DSS.321-S3BucketLoggingEnabled",
            ],
            "This is the server access log bucket of the invocation-log bucket; logging its own "
            "access would recurse. Access to it is SSL-only and public access is blocked.",
        )
        acknowledge(
            self.access_log_bucket.node.default_child,  # type: ignore[arg-type]
            [
                "NIST.800.53.R5-S3DefaultEncryptionKMS",
                "HIPAA.Security-S3DefaultEncryptionKMS",
                "PCI.DSS.321-S3DefaultEncryptionKMS",
            ],
            "S3 server access log delivery supports only SSE-S3 on the target bucket (SSE-KMS is "
            "not supported by the logging service), so this bucket uses S3-managed keys.",
        )
        skip_checkov(
            self.access_log_bucket.node.default_child,  # type: ignore[arg-type]
            {
                "CKV_AWS_18": "This is the server access log bucket of the invocation-log "
                "bucket; logging its own access would recurse.",
            },
        )

        lifecycle = [
            s3.LifecycleRule(
                id="InvocationLogsToColderStorage",
                transitions=[
                    s3.Transition(
                        storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                        transition_after=cdk.Duration.days(
                            config.transition_to_infrequent_access_days
                        ),
                    ),
                    s3.Transition(
                        storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                        transition_after=cdk.Duration.days(config.transition_to_glacier_days),
                    ),
                ],
                expiration=(
                    cdk.Duration.days(config.expire_after_days)
                    if config.expire_after_days
                    else None
                ),
                noncurrent_version_expiration=cdk.Duration.days(365),
            )
        ]
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix="log-bucket/",
            lifecycle_rules=lifecycle,
            object_lock_enabled=config.object_lock_days is not None or None,
            object_lock_default_retention=(
                s3.ObjectLockRetention.compliance(cdk.Duration.days(config.object_lock_days))
                if config.object_lock_days
                else None
            ),
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        for bucket in (self.bucket, self.access_log_bucket):
            acknowledge(
                bucket.node.default_child,  # type: ignore[arg-type]
                [
                    "NIST.800.53.R5-S3BucketReplicationEnabled",
                    "HIPAA.Security-S3BucketReplicationEnabled",
                    "PCI.DSS.321-S3BucketReplicationEnabled",
                ],
                "Cross-region replication is a disaster-recovery choice made per organisation "
                "(and needs a second region's key and bucket); objects are versioned, retained "
                "on stack removal and optionally object-locked here.",
            )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowBedrockInvocationLogDelivery",
                principals=[iam.ServicePrincipal("bedrock.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[
                    self.bucket.arn_for_objects(f"{LOG_PREFIX}/AWSLogs/{stack.account}/*"),
                    self.bucket.arn_for_objects(f"{LARGE_DATA_PREFIX}/*"),
                ],
                conditions=confused_deputy,
            )
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowBedrockInvocationLogEncryption",
                principals=[iam.ServicePrincipal("bedrock.amazonaws.com")],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],
                conditions=confused_deputy,
            )
        )

        self.log_group = retained_log_group(self, "LogGroup", key=key, days=log_retention_days)
        self.delivery_role = ManagedPolicyRole(
            self,
            "DeliveryRole",
            assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com", conditions=confused_deputy),
            description="Bedrock model invocation logging delivery to CloudWatch Logs",
        )
        self.delivery_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )

        logging_config = logging_configuration(
            config=config,
            bucket_name=self.bucket.bucket_name,
            log_group_name=self.log_group.log_group_name,
            role_arn=self.delivery_role.role_arn,
        )
        physical_id = cr.PhysicalResourceId.of(f"bedrock-invocation-logging-{stack.region}")
        handler_role = ManagedPolicyRole(
            self,
            "ConfigurationHandlerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Sets the account's Bedrock model invocation logging configuration",
        )
        handler_logs = retained_log_group(
            self, "ConfigurationHandlerLogs", key=key, days=log_retention_days
        )
        handler_logs.grant_write(handler_role)
        # the custom resource's own policy would be inline: the role carries the grants instead
        handler_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "bedrock:PutModelInvocationLoggingConfiguration",
                    "bedrock:DeleteModelInvocationLoggingConfiguration",
                ],
                resources=["*"],
            )
        )
        handler_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.delivery_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
            )
        )
        self.configuration = cr.AwsCustomResource(
            self,
            "Configuration",
            resource_type="Custom::BedrockInvocationLogging",
            on_create=cr.AwsSdkCall(
                service="Bedrock",
                action="putModelInvocationLoggingConfiguration",
                parameters={"loggingConfig": logging_config},
                physical_resource_id=physical_id,
            ),
            on_update=cr.AwsSdkCall(
                service="Bedrock",
                action="putModelInvocationLoggingConfiguration",
                parameters={"loggingConfig": logging_config},
                physical_resource_id=physical_id,
            ),
            on_delete=cr.AwsSdkCall(
                service="Bedrock",
                action="deleteModelInvocationLoggingConfiguration",
            ),
            role=handler_role,
            log_group=handler_logs,
            install_latest_aws_sdk=False,
            memory_size=256,
            timeout=cdk.Duration.minutes(2),
        )
        assert self.bucket.policy is not None
        self.configuration.node.add_dependency(self.bucket.policy)
        self._acknowledge_handler(stack, handler_role)

    def _acknowledge_handler(self, stack: cdk.Stack, role: ManagedPolicyRole) -> None:
        acknowledge(
            role.permissions or role,
            ["AwsSolutions-IAM5[Resource::*]"],
            "bedrock:PutModelInvocationLoggingConfiguration and DeleteModelInvocationLogging"
            "Configuration are account-level actions with no resource type, so IAM accepts only "
            "'*' for them; nothing else in this policy uses a wildcard.",
        )
        singleton = stack.node.try_find_child(_SINGLETON_ID)
        if singleton is None:
            return
        function = singleton.node.default_child
        assert isinstance(function, cdk.CfnResource)
        acknowledge_deploy_time_function(
            function, purpose="CDK's AwsCustomResource function sets the logging configuration"
        )
        acknowledge(
            function,
            ["Serverless-LambdaTracing"],
            "CDK's shared AwsCustomResource function makes one control-plane call per "
            "deployment; CloudTrail already records that call, a trace would add nothing.",
        )
