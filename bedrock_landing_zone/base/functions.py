"""A Lambda function with the landing zone's defaults: compliant, least privilege, encrypted."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from bedrock_landing_zone.base.assets import LAMBDA_ROOT, PACKAGE_DIR
from bedrock_landing_zone.base.log_groups import retained_log_group
from bedrock_landing_zone.base.roles import ManagedPolicyRole
from bedrock_landing_zone.compliance import acknowledge, nag_form

__all__ = [
    "BYTECODE_TAG",
    "LAMBDA_ROOT",
    "RUNTIME",
    "VPC_NETWORK_INTERFACE_ACTIONS",
    "LandingZoneFunction",
    "resolve_asset",
]


#: The newest Python runtime (cdk-nag's latest-runtime rules accept it).
RUNTIME = lambda_.Runtime.PYTHON_3_14
#: The bytecode tag of RUNTIME's interpreter (``sys.implementation.cache_tag``). Each function
#: ships its modules' bytecode for that interpreter, which its importer loads instead of compiling
#: the source on every cold start: an execution environment's one writable directory is /tmp
#: ("Security Overview of AWS Lambda", "Lambda isolation technologies"), and every new environment
#: starts again from the function's code, so bytecode the runtime compiles is never kept.
#: ``make bytecode`` (tools/lambda_bytecode.mjs) writes it beside each module as
#: ``__pycache__/<module>.cpython-314.pyc``, checked-hash (Python docs, "Cached bytecode
#: invalidation": the importer uses it only while the source's hash matches). Any other
#: interpreter's bytecode (a local run's) stays out of the asset, so the asset is the same on every
#: machine.
BYTECODE_TAG = "cpython-" + RUNTIME.name.removeprefix("python").replace(".", "")
#: What an asset leaves out, in .gitignore syntax (``IgnoreMode.GIT``, for the negation).
_ASSET_EXCLUDE = ["*.pyc", f"!*.{BYTECODE_TAG}.pyc", ".mypy_cache/"]

#: What Lambda does with the *execution role* to place a function in a VPC (Lambda Developer
#: Guide, "Giving Lambda functions access to resources in an Amazon VPC", execution role and
#: user permissions; the same actions as the AWS managed policy AWSLambdaVPCAccessExecutionRole
#: v3, AWS Managed Policy Reference). CDK attaches that managed policy only to roles it creates
#: itself, never to a role passed in, so ``LandingZoneFunction`` grants them explicitly.
VPC_NETWORK_INTERFACE_ACTIONS: tuple[str, ...] = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)


class LandingZoneFunction(Construct):
    """A Python function on arm64 with everything the five packs ask of a Lambda function.

    - its own role (``ManagedPolicyRole``: grants land in a customer-managed policy), with
      write access to its own log group only, ``kms:Decrypt`` on ``key`` (Lambda decrypts the
      encrypted environment with the execution role), and, in a VPC, the network-interface
      permissions Lambda needs, scoped to that VPC (``vpc_network_statements``);
    - a log group encrypted with ``key``, with retention, RETAIN on removal; JSON log format;
    - X-Ray active tracing, environment variables encrypted with ``key``;
    - optional VPC placement, reserved concurrency and SnapStart (``snap_start``: it applies
      to published versions only; the caller publishes one, ``function.current_version`` with
      ``current_version_options``, and invokes it through an alias);
    - ``files``: documents (name -> text) shipped beside the code, for configuration larger
      than the 4 KB the environment allows.

    ``asset`` is the folder of the function's code: an absolute path, or a path relative to
    the file of the code that creates the function (your stack module), then to the current
    working directory (where ``cdk synth`` runs); never to the installed package
    (``resolve_asset``). The error names every path tried.

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
        asset: str | os.PathLike[str],
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
        files: Mapping[str, str] | None = None,
        snap_start: lambda_.SnapStartConf | None = None,
        current_version_options: lambda_.VersionOptions | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        code_dir = resolve_asset(asset, caller=_caller_file())
        if files:
            code_dir = _staged(code_dir, files)
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
                str(code_dir), exclude=_ASSET_EXCLUDE, ignore_mode=cdk.IgnoreMode.GIT
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
            snap_start=snap_start,
            current_version_options=current_version_options,
        )
        self.log_group.grant_write(self.role)
        # Environment variables encrypted with a customer managed key: Lambda decrypts them
        # with the execution role's permissions (Lambda Developer Guide, "Securing Lambda
        # environment variables"; Lambda API KMSAccessDeniedException: "Lambda couldn't decrypt
        # the environment variables because KMS access was denied").
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DecryptOwnEnvironment", actions=["kms:Decrypt"], resources=[key.key_arn]
            )
        )
        if vpc is not None:
            self._grant_vpc_networking(vpc)

    def _grant_vpc_networking(self, vpc: ec2.IVpc) -> None:
        statements = vpc_network_statements(self, vpc)
        for statement in statements:
            self.role.add_to_principal_policy(statement)
        stack = cdk.Stack.of(self)
        wildcards = sorted(
            {
                nag_form(stack, resource)
                for statement in statements
                for resource in statement.resources
                if resource != "*"
            }
        )
        acknowledge(
            self.role.permissions or self.role,
            [f"AwsSolutions-IAM5[Resource::{resource}]" for resource in wildcards],
            "Lambda creates and deletes the function's network interfaces itself, with ids it "
            "picks at run time; every statement is pinned to the function's VPC by ec2:Vpc "
            "(the subnet and security group of a new interface, and every existing interface).",
        )


#: Frames of these modules are skipped when looking for the caller of ``LandingZoneFunction``.
_PLUMBING = ("jsii", "typeguard", "typing_extensions", __name__)


def _caller_file() -> Path | None:
    """The source file of the code that instantiates ``LandingZoneFunction`` (or a subclass of
    it defined elsewhere): the first frame outside this module and the jsii runtime."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if not any(module == p or module.startswith(f"{p}.") for p in _PLUMBING):
            filename = frame.f_code.co_filename
            return None if filename.startswith("<") else Path(filename).resolve()
        frame = frame.f_back
    return None


def resolve_asset(asset: str | os.PathLike[str], *, caller: Path | None = None) -> Path:
    """The folder of a function's code.

    - an absolute path: itself;
    - from the landing zone's own constructs (``caller`` inside this package): the runtime
      code shipped with the package, ``LAMBDA_ROOT / asset`` (``"inference"``);
    - otherwise, relative to the directory of ``caller`` (the file that creates the function,
      like ``Path(__file__).parent / asset``), then to the current working directory (where
      ``cdk synth`` or ``python app.py`` runs). The installed package is never searched, so a
      team's ``asset="lambda/summarizer"`` cannot pick up (or miss in) site-packages.

    Raises ``ValueError`` naming every path tried when none is a directory.
    """
    path = Path(asset)
    if path.is_absolute():
        candidates = [path]
    elif caller is not None and caller.is_relative_to(PACKAGE_DIR):
        candidates = [LAMBDA_ROOT / path]
    else:
        candidates = [caller.parent / path] if caller is not None else []
        candidates.append(Path.cwd() / path)
    tried: list[Path] = []
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
        if candidate not in tried:
            tried.append(candidate)
    raise ValueError(
        f"asset={str(asset)!r}: no folder of runtime code at "
        + " or ".join(str(t) for t in tried)
        + ". Pass an absolute path, e.g. asset=Path(__file__).parent / 'lambda' / 'summarizer'"
    )


def _not_shipped(directory: str, names: list[str]) -> set[str]:
    """``shutil.copytree``'s ignore: what ``_ASSET_EXCLUDE`` leaves out."""
    del directory
    shipped = f".{BYTECODE_TAG}.pyc"
    return {
        name
        for name in names
        if name == ".mypy_cache" or (name.endswith(".pyc") and not name.endswith(shipped))
    }


def _staged(code_dir: Path, files: Mapping[str, str]) -> Path:
    """A copy of ``code_dir`` plus ``files`` (name -> text), for documents that ship with the
    code instead of in environment variables (4 KB in all: Lambda quotas). The copy's content
    decides the asset hash, so the same code and files give the same asset."""
    for name, text in files.items():
        if "/" in name or name.startswith(".") or cdk.Token.is_unresolved(text):
            raise ValueError(f"files: {name!r} must be a plain file name with resolved text")
    staging = Path(tempfile.mkdtemp(prefix="bedrock-lz-asset-"))
    # CDK copies the asset into the cloud assembly when the app synthesizes; the staging copy
    # is only needed until then, so it goes when the process ends (no leftovers in /tmp).
    atexit.register(shutil.rmtree, staging, ignore_errors=True)
    target = staging / code_dir.name
    shutil.copytree(code_dir, target, ignore=_not_shipped)
    for name, text in sorted(files.items()):
        (target / name).write_text(text, encoding="utf-8")
    return target


def vpc_network_statements(scope: Construct, vpc: ec2.IVpc) -> list[iam.PolicyStatement]:
    """Least-privilege network-interface permissions for a Lambda function in ``vpc``.

    Resource types and condition keys per action (Service Authorization Reference, "Actions,
    resources, and condition keys for Amazon EC2"):

    - ``CreateNetworkInterface`` authorizes the new ``network-interface`` (no ``ec2:Vpc`` key:
      it does not exist yet), the ``subnet`` and the ``security-group`` (both carry
      ``ec2:Vpc``); each must be allowed. One statement covers all three with
      ``ArnEqualsIfExists`` on ``ec2:Vpc``: the subnet and security group must be in ``vpc``
      (the key is always present for them), the new interface passes (the key is absent), so
      an interface can only be created in that VPC (IAM User Guide, "IAM JSON policy elements:
      Condition operators", ...IfExists).
    - ``DeleteNetworkInterface`` and ``Assign``/``UnassignPrivateIpAddresses`` authorize an
      existing ``network-interface``, which carries ``ec2:Vpc``: pinned to ``vpc``.
    - ``DescribeNetworkInterfaces`` and ``DescribeSubnets`` have no resource types: ``*`` only
      (the Lambda guide: DescribeNetworkInterfaces "only works if it's allowed on all
      resources").
    """
    stack = cdk.Stack.of(scope)

    def arn(resource: str) -> str:
        return stack.format_arn(service="ec2", resource=resource, resource_name="*")

    vpc_arn = stack.format_arn(service="ec2", resource="vpc", resource_name=vpc.vpc_id)
    in_vpc = {"ArnEquals": {"ec2:Vpc": vpc_arn}}
    return [
        iam.PolicyStatement(
            sid="CreateNetworkInterfaceInOwnVpc",
            actions=["ec2:CreateNetworkInterface"],
            resources=[arn("network-interface"), arn("subnet"), arn("security-group")],
            conditions={"ArnEqualsIfExists": {"ec2:Vpc": vpc_arn}},
        ),
        iam.PolicyStatement(
            sid="ManageNetworkInterfacesOfOwnVpc",
            actions=[
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            resources=[arn("network-interface")],
            conditions=in_vpc,
        ),
        iam.PolicyStatement(
            sid="DescribeNetworkInterfacesAndSubnets",
            actions=["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
            resources=["*"],
        ),
    ]
