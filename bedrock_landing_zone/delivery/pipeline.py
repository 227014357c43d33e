"""The landing zone's CDK pipeline: one ``LandingZoneStage`` per environment and account.

``PipelineStack`` builds an ``aws_cdk.pipelines.CodePipeline`` from a ``PipelinePlan``
(``config/pipelines/<name>.yaml``, see ``bedrock_landing_zone.config.pipeline``):

- **Source**: the repository through a CodeStar/CodeConnections connection
  (``CodePipelineSource.connection``); every push to the branch starts the pipeline.
- **Synth** (a ``CodeBuildStep``, i.e. a ``ShellStep`` with its own role): ``make setup``, then
  ``make test`` (exactly what CI runs) and ``make synth-pipeline`` (this app, with every stage and
  the five cdk-nag packs); ``cdk.out`` is the pipeline's cloud assembly. The pipeline then updates
  itself (self-mutation) and publishes the Lambda assets.
- **Waves** in order; the stages of one wave deploy in parallel (several accounts and regions).
  Each stage is a ``LandingZoneStage`` targeting ``account``/``region``; cross-account deployment
  uses the target's CDK bootstrap roles (``crossAccountKeys``: the artifact bucket has a KMS key
  the target accounts may use).
- A ``ManualApprovalStep`` precedes every stage marked ``production`` (and no other).
- A smoke test follows every stage with an inference API: a ``CodeBuildStep`` that runs
  ``tools/smoke.py`` (SigV4 ``POST /v1/converse`` through the private API, checks a guarded
  answer). The API is private, so this CodeBuild project runs **in the landing zone VPC**: the
  step's ``vpc``, ``subnet_selection`` and ``security_groups`` come from the stage's ``smoke``
  settings. CodeBuild runs in the pipeline's region: for a stage in another region the smoke VPC
  is one in the pipeline's region that reaches the stage's endpoint (peering or Transit Gateway,
  with DNS). The step assumes ``smoke.role_arn``, a team role of the environment, which must
  trust the pipeline account and be allowed ``ssm:GetParameter`` on the API URL parameter.

Before the first deployment (once, with administrator credentials):

- ``cdk bootstrap aws://PIPELINE_ACCOUNT/PIPELINE_REGION``;
- every target ``aws://ACCOUNT/REGION`` (and an organisation stack's management account):
  ``cdk bootstrap --trust PIPELINE_ACCOUNT --cloudformation-execution-policies <policy ARN>
  aws://ACCOUNT/REGION``;
- the connection in ``connection_arn`` must be *available* (complete the handshake in the
  console);
- stages with an explicit account and a new VPC look up availability zones: run
  ``make synth-pipeline`` once with credentials and commit ``cdk.context.json``, so the pipeline
  synthesizes without lookups;
- smoke tests: see ``SmokeTestConfig`` (VPC endpoints ``sts``, ``ssm``, ``logs``, ``kms``,
  ``execute-api`` and the S3 gateway in the smoke VPC; a team role the pipeline may assume).

Compliance: the five packs run over the pipeline stack, CDK's cross-region support stacks and
every stage (``add_compliance_packs`` on the app). What CDK Pipelines creates internally is fixed
where an escape hatch allows it (artifact buckets: server access logs, versioning; key removal
policy) and otherwise acknowledged finding by finding, each with its reason
(``_acknowledge_pipeline_internals``); any wildcard or inline policy not on the known list stays
an open finding and fails synthesis.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import pipelines
from constructs import Construct

from bedrock_landing_zone.base.encryption import LandingZoneKey
from bedrock_landing_zone.base.roles import ManagedPolicyRole
from bedrock_landing_zone.compliance import PACKS, acknowledge, add_compliance_packs, skip_checkov
from bedrock_landing_zone.config.pipeline import (
    PipelinePlan,
    PipelineStageConfig,
    load_pipeline,
)
from bedrock_landing_zone.delivery.landing_zone import LandingZoneStage

__all__ = [
    "SMOKE_SCRIPT",
    "PipelineStack",
    "add_pipeline",
    "default_synth_commands",
]

#: The smoke client, relative to the repository root (the pipeline's source artifact).
SMOKE_SCRIPT = "tools/smoke.py"
#: The packs that map AWS Config rules to controls (their finding ids share rule names).
_CONTROL_PACKS = ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")
assert set(_CONTROL_PACKS) <= set(PACKS)


def default_synth_commands(pipeline_file: str) -> list[str]:
    """What the synth step runs after ``make setup``: CI's tests, then the pipeline's assembly."""
    return ["make test", f"make synth-pipeline PIPELINE={pipeline_file}"]


class PipelineStack(cdk.Stack):
    """The CDK pipeline that deploys the landing zone, wave by wave.

    Example (``app.py``)::

        add_compliance_packs(app)
        add_pipeline(app, root=ROOT, pipeline_file="config/pipelines/main.yaml")

    Args:
        plan: the validated pipeline configuration and its environments (``load_pipeline``).
        synth_commands: commands of the synth step after ``make setup``. Default:
            ``make test`` and ``make synth-pipeline PIPELINE=<plan.source>``.
        compliance_packs: register the five packs on the enclosing app unless it has them (they
            must be there: CDK puts cross-region support stacks at the app's top level).
        cli_version: the CDK CLI version that self-mutation and asset publishing install.
            Default: CDK's default (the latest 2.x); ``add_pipeline`` passes the pin of
            ``package.json``.

    Attributes:
        pipeline: the ``pipelines.CodePipeline`` (built).
        stages: stage name -> ``LandingZoneStage``, in deployment order.
        approvals: stage name -> its ``ManualApprovalStep`` (production stages only).
        smoke_steps: stage name -> its smoke ``CodeBuildStep``.
        synth_step: the synth ``CodeBuildStep``.
        key: the KMS key of the build logs; ``log_group``: the build log group.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        plan: PipelinePlan,
        synth_commands: Sequence[str] | None = None,
        compliance_packs: bool = True,
        cli_version: str | None = None,
        **kwargs: Any,
    ) -> None:
        config = plan.pipeline
        kwargs.setdefault("env", cdk.Environment(account=config.account, region=config.region))
        kwargs.setdefault("stack_name", f"{config.name}-pipeline")
        kwargs.setdefault("description", "Bedrock landing zone: CDK pipeline (all environments)")
        super().__init__(scope, construct_id, **kwargs)
        app = cdk.Stage.of(self)
        if compliance_packs and app is not None:
            add_compliance_packs(app)
        self.plan = plan
        self.key = LandingZoneKey(self, "BuildLogsKey", alias=f"alias/{config.name}/pipeline").key
        self.log_group = logs.LogGroup(
            self,
            "BuildLogs",
            encryption_key=self.key,
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.source = pipelines.CodePipelineSource.connection(
            config.repository,
            config.branch,
            connection_arn=config.connection_arn,
            trigger_on_push=True,
        )
        self.synth_step = pipelines.CodeBuildStep(
            "Synth",
            input=self.source,
            install_commands=["make setup"],
            commands=list(synth_commands or default_synth_commands(plan.source)),
            primary_output_directory="cdk.out",
            role=self._codebuild_role("SynthRole", "synthesizes the landing zone pipeline"),
            # the whole test suite runs here (cfn-lint, checkov, CDK synths): 4 vCPUs, 7 GB
            build_environment=codebuild.BuildEnvironment(compute_type=codebuild.ComputeType.MEDIUM),
            timeout=cdk.Duration.minutes(90),
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name=config.name,
            synth=self.synth_step,
            cli_version=cli_version,
            cross_account_keys=True,
            enable_key_rotation=True,
            role=ManagedPolicyRole(
                self,
                "PipelineRole",
                assumed_by=iam.ServicePrincipal("codepipeline.amazonaws.com"),
                description=f"CodePipeline {config.name}: runs the landing zone pipeline",
            ),
            use_pipeline_role_for_actions=True,
            publish_assets_in_parallel=False,
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(
                    build_image=codebuild.LinuxBuildImage.STANDARD_7_0,
                    compute_type=codebuild.ComputeType.SMALL,
                ),
                logging=codebuild.LoggingOptions(
                    cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=self.log_group)
                ),
            ),
        )
        self.stages: dict[str, LandingZoneStage] = {}
        self.approvals: dict[str, pipelines.ManualApprovalStep] = {}
        self.smoke_steps: dict[str, pipelines.CodeBuildStep] = {}
        for wave_config in config.waves:
            wave = self.pipeline.add_wave(wave_config.name)
            for stage_config in wave_config.stages:
                name = stage_config.stage_name
                stage = LandingZoneStage(
                    self,
                    name,
                    config=plan.environments[stage_config.env],
                    env=cdk.Environment(account=stage_config.account, region=stage_config.region),
                )
                self.stages[name] = stage
                pre: list[pipelines.Step] = []
                if stage_config.production:
                    self.approvals[name] = pipelines.ManualApprovalStep(
                        f"Approve{name}",
                        comment=(
                            f"Deploy landing zone '{stage_config.env}' to production account "
                            f"{stage_config.account} ({stage_config.region})"
                        ),
                    )
                    pre.append(self.approvals[name])
                post: list[pipelines.Step] = []
                if stage_config.smoke is not None:
                    self.smoke_steps[name] = self._smoke_step(stage_config)
                    post.append(self.smoke_steps[name])
                wave.add_stage(stage, pre=pre, post=post)
        self.pipeline.build_pipeline()
        self._harden_artifact_buckets()
        self._acknowledge_pipeline_internals()

    # ----- steps ------------------------------------------------------------------------------

    def _codebuild_role(self, construct_id: str, purpose: str) -> ManagedPolicyRole:
        return ManagedPolicyRole(
            self,
            construct_id,
            assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
            description=f"CodeBuild project of {self.plan.pipeline.name}: {purpose}",
        )

    def _smoke_step(self, stage: PipelineStageConfig) -> pipelines.CodeBuildStep:
        smoke = stage.smoke
        assert smoke is not None
        name = stage.stage_name
        vpc = ec2.Vpc.from_vpc_attributes(
            self,
            f"{name}SmokeVpc",
            vpc_id=smoke.vpc_id,
            availability_zones=list(smoke.availability_zones),
            isolated_subnet_ids=list(smoke.subnet_ids),
        )
        for subnet in vpc.isolated_subnets:
            cdk.Annotations.of(subnet).acknowledge_warning(
                "@aws-cdk/aws-ec2:noSubnetRouteTableId",
                "The smoke CodeBuild project only places network interfaces in these subnets; "
                "nothing here reads or changes their route tables.",
            )
        role = self._codebuild_role(f"{name}SmokeRole", f"smoke-tests stage {name}")
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="AssumeTheSmokeTeamRole",
                actions=["sts:AssumeRole"],
                resources=[smoke.role_arn],
            )
        )
        command = " ".join(
            [
                f"python3 {SMOKE_SCRIPT}",
                f"--env {stage.env}",
                f"--region {stage.region}",
                f"--role-arn {smoke.role_arn}",
                f"--model {smoke.model}",
            ]
        )
        return pipelines.CodeBuildStep(
            f"Smoke{name}",
            input=self.source,
            env={"SMOKE_PROMPT": smoke.prompt, "AWS_STS_REGIONAL_ENDPOINTS": "regional"},
            commands=[f'{command} --prompt "$SMOKE_PROMPT"'],
            role=role,
            vpc=vpc,
            subnet_selection=ec2.SubnetSelection(subnets=vpc.isolated_subnets),
            security_groups=[
                ec2.SecurityGroup.from_security_group_id(
                    self, f"{name}SmokeSecurityGroup{index + 1}", group_id, mutable=False
                )
                for index, group_id in enumerate(smoke.security_group_ids)
            ],
            timeout=cdk.Duration.minutes(10),
        )

    # ----- what CDK Pipelines creates internally ----------------------------------------------

    def _artifact_buckets(self) -> list[s3.IBucket]:
        codepipeline = self.pipeline.pipeline
        buckets = [codepipeline.artifact_bucket]
        buckets += [s.replication_bucket for s in codepipeline.cross_region_support.values()]
        return list({id(b): b for b in buckets}.values())

    def _harden_artifact_buckets(self) -> None:
        """Server access logs and versioning on every artifact bucket; keys kept on removal."""
        for bucket in self._artifact_buckets():
            resource = bucket.node.default_child
            assert isinstance(resource, s3.CfnBucket)
            scope = cdk.Stack.of(bucket)
            if scope.node.try_find_child(f"{bucket.node.id}AccessLogs") is not None:
                continue  # a support stack shared with another pipeline of this app
            log_bucket = s3.Bucket(
                scope,
                f"{bucket.node.id}AccessLogs",
                encryption=s3.BucketEncryption.S3_MANAGED,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                enforce_ssl=True,
                versioned=True,
                object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
                removal_policy=cdk.RemovalPolicy.RETAIN,
                lifecycle_rules=[
                    s3.LifecycleRule(
                        id="ExpireAccessLogs",
                        expiration=cdk.Duration.days(365),
                        noncurrent_version_expiration=cdk.Duration.days(30),
                    )
                ],
            )
            log_bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="S3ServerAccessLogsDelivery",
                    principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
                    actions=["s3:PutObject"],
                    resources=[log_bucket.arn_for_objects("artifacts/*")],
                    conditions={
                        "ArnLike": {"aws:SourceArn": bucket.bucket_arn},
                        "StringEquals": {"aws:SourceAccount": scope.account},
                    },
                )
            )
            resource.logging_configuration = s3.CfnBucket.LoggingConfigurationProperty(
                destination_bucket_name=log_bucket.bucket_name, log_file_prefix="artifacts/"
            )
            resource.versioning_configuration = s3.CfnBucket.VersioningConfigurationProperty(
                status="Enabled"
            )
            if bucket.encryption_key is not None:
                bucket.encryption_key.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
            log_resource = log_bucket.node.default_child
            assert isinstance(log_resource, s3.CfnBucket)
            acknowledge(
                log_resource,
                ["AwsSolutions-S1", *(f"{p}-S3BucketLoggingEnabled" for p in _CONTROL_PACKS)],
                "This is the server access log bucket of the pipeline's artifact bucket; logging "
                "its own access would recurse. It is SSL-only with public access blocked.",
            )
            skip_checkov(
                log_resource,
                {
                    "CKV_AWS_18": "This is the server access log bucket of the pipeline's "
                    "artifact bucket; logging its own access would recurse."
                },
            )
            acknowledge(
                log_resource,
                [f"{p}-S3DefaultEncryptionKMS" for p in _CONTROL_PACKS],
                "S3 server access log delivery supports only SSE-S3 on the target bucket (not "
                "SSE-KMS), so this bucket uses S3-managed keys.",
            )
            for holder in (resource, log_resource):
                acknowledge(
                    holder,
                    [f"{p}-S3BucketReplicationEnabled" for p in _CONTROL_PACKS],
                    "Pipeline artifacts are build outputs that the pipeline re-creates from the "
                    "source repository on every run; replicating them to another region adds a "
                    "second key and bucket and protects nothing that cannot be rebuilt.",
                )

    def _acknowledge_pipeline_internals(self) -> None:
        """Acknowledge, one finding at a time, what CDK Pipelines builds and cannot be fixed."""
        replication_objects = {
            f"AwsSolutions-IAM5[Resource::{_flatten(self.resolve(b.arn_for_objects('*')))}]": (
                "Objects of the pipeline's cross-region replication bucket (artifacts of stages "
                "in another region): object keys are generated per execution."
            )
            for b in self._artifact_buckets()[1:]
        }
        for construct in self.node.find_all():
            if isinstance(construct, iam.CfnPolicy | iam.CfnManagedPolicy):
                _acknowledge_wildcards(construct, replication_objects)
            if isinstance(construct, iam.CfnPolicy):
                _acknowledge_inline_policy(construct)
            if isinstance(construct, codebuild.CfnProject):
                source = self.resolve(construct.source)
                if source.get("type") == "CODEPIPELINE":
                    acknowledge(
                        construct,
                        [
                            f"{p}-CodeBuildProjectSourceRepoUrl"
                            for p in ("HIPAA.Security", "PCI.DSS.321")
                        ],
                        "The project's source is the pipeline artifact (type CODEPIPELINE): it "
                        "has no repository URL or credentials; the repository is read once, by "
                        "the pipeline's CodeConnections source action.",
                    )


# ----- helpers ------------------------------------------------------------------------------

#: Wildcard findings (cdk-nag ``AwsSolutions-IAM5``) that CDK's own grants produce in the
#: pipeline, with the reason each is acceptable. Anything else stays open.
_WILDCARD_REASONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"Action::s3:(Abort|DeleteObject|GetBucket|GetObject|List)\*"),
        "CDK's bucket grant action groups for reading and writing pipeline artifacts; the "
        "statement names only the pipeline's artifact buckets and their objects.",
    ),
    (
        re.compile(r"Action::kms:(GenerateDataKey|ReEncrypt)\*"),
        "CDK's key grant action groups for encrypting and decrypting pipeline artifacts; the "
        "statement names only the pipeline's artifact keys.",
    ),
    (
        re.compile(r"Resource::<\w*ArtifactsBucket\w*\.Arn>/\*"),
        "Objects of the pipeline's own artifact bucket: object keys are generated per execution.",
    ),
    (
        re.compile(r"Resource::arn:[^:]+:codebuild:[^:]+:\d{12}:report-group/<\w+>-\*"),
        "Test report groups of this CodeBuild project only (CodeBuild names them "
        "<project>-<report>); CDK grants them to every project.",
    ),
    (
        re.compile(r"Resource::arn:[^:]+:logs:[^:]+:\d{12}:log-group:/aws/codebuild/<\w+>:\*"),
        "Log streams of this project's default log group /aws/codebuild/<project>: a stream is "
        "created per build.",
    ),
    (
        re.compile(r"Resource::arn:[^:]+:codebuild:[^:]+:\d{12}:report-group/\*"),
        "CDK Pipelines shares one role among its asset-publishing projects, whose names are "
        "generated, so the grant names this account's report groups in the pipeline's region.",
    ),
    (
        re.compile(r"Resource::arn:[^:]+:logs:[^:]+:\d{12}:log-group:/aws/codebuild/\*"),
        "CDK Pipelines shares one role among its asset-publishing projects, whose names are "
        "generated, so the grant names the CodeBuild log groups of this account and region.",
    ),
    (
        re.compile(
            r"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:"
            r"network-interface/\*"
        ),
        "ec2:CreateNetworkInterfacePermission for CodeBuild in the VPC: network interfaces are "
        "created per build; the statement is limited by ec2:Subnet and ec2:AuthorizedService.",
    ),
    (
        re.compile(r"Resource::arn:\*:iam::\d{12}:role/\*"),
        "Self-mutation assumes the CDK bootstrap roles (deploy, file and image publishing) of "
        "the target environments; the statement is limited by the iam:ResourceTag "
        "aws-cdk:bootstrap-role condition.",
    ),
)

#: Statements CDK writes with ``Resource: *`` (the actions have no resource-level permissions
#: or name resources created elsewhere), by their exact action list.
_STAR_RESOURCE_REASONS: dict[frozenset[str], str] = {
    frozenset(
        {
            "ec2:CreateNetworkInterface",
            "ec2:DeleteNetworkInterface",
            "ec2:DescribeDhcpOptions",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcs",
        }
    ): "CodeBuild in a VPC: these EC2 actions do not support resource-level permissions.",
    frozenset({"cloudformation:DescribeStacks", "s3:ListBucket"}): (
        "Self-mutation runs 'cdk deploy' of the pipeline stack, which reads stack status and "
        "the bootstrap bucket location before it assumes the bootstrap roles."
    ),
    frozenset({"codebuild:BatchGetBuilds", "codebuild:StartBuild", "codebuild:StopBuild"}): (
        "The asset-publishing role is also the pipeline action role that starts the "
        "asset-publishing projects, whose generated names CDK cannot reference here."
    ),
    frozenset(
        {"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"}
    ): (
        "The cross-region replication bucket's key lives in CDK's support stack in another "
        "region and cannot be referenced by ARN here; its key policy admits this pipeline only."
    ),
}


def _flatten(value: Any) -> str:
    """A resolved CloudFormation value as cdk-nag prints it in finding ids."""
    if isinstance(value, str):
        return value.replace("${", "<").replace("}", ">")
    if isinstance(value, dict):
        if "Fn::Join" in value:
            delimiter, items = value["Fn::Join"]
            return str(delimiter).join(_flatten(item) for item in items)
        if "Fn::Sub" in value:
            return _flatten(value["Fn::Sub"])
        if "Fn::GetAtt" in value:
            resource, attribute = value["Fn::GetAtt"]
            return f"<{_flatten(resource)}.{_flatten(attribute)}>"
        if "Ref" in value:
            return f"<{_flatten(value['Ref'])}>"
    return str(value)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _acknowledge_wildcards(
    policy: iam.CfnPolicy | iam.CfnManagedPolicy, exact: Mapping[str, str]
) -> None:
    """Acknowledge the wildcards of ``policy`` that CDK's grants produce (``_WILDCARD_REASONS``,
    ``_STAR_RESOURCE_REASONS``) or that ``exact`` (finding id -> reason) names."""
    stack = cdk.Stack.of(policy)
    document = stack.resolve(policy.policy_document)
    by_reason: dict[str, list[str]] = {}
    star_reasons: list[str] = []
    star_unknown = False
    for statement in _as_list(document.get("Statement", [])):
        if statement.get("Effect") != "Allow":
            continue
        actions = [str(a) for a in _as_list(statement.get("Action", []))]
        resources = [_flatten(r) for r in _as_list(statement.get("Resource", []))]
        findings = [f"Action::{a}" for a in actions if "*" in a]
        findings += [f"Resource::{r}" for r in resources if "*" in r and r != "*"]
        for finding in findings:
            finding_id = f"AwsSolutions-IAM5[{finding}]"
            reason = exact.get(finding_id) or next(
                (why for rx, why in _WILDCARD_REASONS if rx.fullmatch(finding)), None
            )
            if reason is not None:
                by_reason.setdefault(reason, []).append(finding_id)
        if "*" in resources:
            reason = _STAR_RESOURCE_REASONS.get(frozenset(actions))
            star_unknown |= reason is None
            if reason is not None and reason not in star_reasons:
                star_reasons.append(reason)
    for reason, findings in by_reason.items():
        acknowledge(policy, sorted(set(findings)), reason)
    if star_reasons and not star_unknown:
        reason = " ".join(star_reasons)
        acknowledge(policy, ["AwsSolutions-IAM5[Resource::*]"], reason)
        skip_checkov(policy, {"CKV_AWS_111": reason})  # write actions on '*', same cause


#: Inline policies that CDK constructs attach themselves (path suffix -> what they are).
_INLINE_POLICIES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r".*/UpdatePipeline/SelfMutation/Role/DefaultPolicy/Resource"), "self-mutation"),
    (re.compile(r".*/Assets/\w+Role/DefaultPolicy/Resource"), "asset-publishing"),
    (re.compile(r".*/Smoke\w+/PolicyDocument/Resource"), "CodeBuild VPC access (smoke test)"),
)


def _acknowledge_inline_policy(policy: iam.CfnPolicy) -> None:
    path = policy.node.path
    what = next((label for rx, label in _INLINE_POLICIES if rx.fullmatch(path)), None)
    if what is None:
        return
    acknowledge(
        policy,
        [f"{p}-IAMNoInlinePolicy" for p in _CONTROL_PACKS],
        f"Inline policy that CDK creates inside its own construct ({what}) with no option to "
        "use a customer-managed policy; every role this stack creates itself keeps its grants "
        "in a customer-managed policy (ManagedPolicyRole).",
    )


def add_pipeline(scope: cdk.App, *, root: Path, pipeline_file: str, **kwargs: Any) -> PipelineStack:
    """Load ``root/pipeline_file`` (and the environments it names, from ``root/config``) and add
    the pipeline stack; the CDK CLI version comes from ``root/package.json`` when it pins one.

    ``pipeline_file`` stays relative: the synth step re-runs ``make synth-pipeline`` with it.
    """
    plan = load_pipeline(root / pipeline_file, root / "config")
    plan = dataclasses.replace(plan, source=pipeline_file)
    package = root / "package.json"
    if package.is_file() and "cli_version" not in kwargs:
        pins = json.loads(package.read_text(encoding="utf-8")).get("devDependencies", {})
        kwargs["cli_version"] = pins.get("aws-cdk")
    return PipelineStack(scope, "Pipeline", plan=plan, **kwargs)
