"""The five cdk-nag v3 packs on an app; acknowledgments that name the resource and the reason."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import aws_cdk as cdk
from cdk_nag import (
    AwsSolutionsChecks,
    HIPAASecurityChecks,
    NIST80053R5Checks,
    PCIDSS321Checks,
    ServerlessChecks,
)
from constructs import IConstruct

from bedrock_landing_zone.compliance.preflight import PreflightChecks

__all__ = [
    "PACKS",
    "PreflightChecks",
    "acknowledge",
    "acknowledge_deploy_time_function",
    "acknowledgment_id",
    "add_compliance_packs",
    "has_compliance_packs",
    "ignore_cfn_lint",
    "nag_form",
    "skip_checkov",
]

_MARKER = "bedrock-lz:compliance-packs"

#: Pack name (the prefix of every finding id) -> pack class.
PACKS: dict[str, type[Any]] = {
    "AwsSolutions": AwsSolutionsChecks,
    "NIST.800.53.R5": NIST80053R5Checks,
    "HIPAA.Security": HIPAASecurityChecks,
    "PCI.DSS.321": PCIDSS321Checks,
    "Serverless": ServerlessChecks,
}


def add_compliance_packs(scope: cdk.Stage) -> None:
    """Run all five packs and the preflight plugin over every stack of ``scope`` (an ``App``
    or a ``Stage``).

    Plugins on a scope check every stack below it, nested stages included. Any unacknowledged
    finding fails synthesis, and so does any AWS limit a template exceeds (``PreflightChecks``).
    Calling it again below a scope that already has them is a no-op, so a ``LandingZoneStage``
    inside an app that registered the packs is not checked twice.
    """
    if has_compliance_packs(scope):
        return
    scope.node.add_metadata(_MARKER, sorted(PACKS))
    cdk.Validations.of(scope).add_plugins(
        *(pack(scope) for pack in PACKS.values()), PreflightChecks()
    )


def has_compliance_packs(scope: IConstruct) -> bool:
    """True when ``scope`` or one of its ancestors registered the packs."""
    return any(entry.type == _MARKER for node in scope.node.scopes for entry in node.node.metadata)


def acknowledge(construct: IConstruct, findings: Iterable[str], reason: str) -> None:
    """Acknowledge specific findings on one construct, with a reason a reviewer can check.

    ``findings`` are rule ids, e.g. ``AwsSolutions-IAM5[Resource::*]`` or
    ``NIST.800.53.R5-LambdaConcurrency``, or exactly what cdk-nag prints after "Acknowledge
    with", ``AwsSolutions::AwsSolutions-IAM5[Resource::*]``. The pack prefix (``Pack::``) is
    added here when missing, so the validation report lists each one as suppressed, with the
    reason (the audit trail).
    """
    if len(reason.strip()) < 20:
        raise ValueError("an acknowledgment needs a real reason (20 characters or more)")
    acknowledgments = [
        cdk.Acknowledgment(id=acknowledgment_id(finding), reason=reason) for finding in findings
    ]
    if acknowledgments:  # all in one call: two jsii round trips, not two per finding
        cdk.Validations.of(construct).acknowledge(*acknowledgments)


def acknowledgment_id(finding: str) -> str:
    """``Pack::Pack-Rule[finding]`` for a rule id with or without its ``Pack::`` prefix."""
    finding = finding.strip()
    prefix, sep, rule = finding.partition("::")
    if sep and prefix in PACKS:
        if not rule.startswith(f"{prefix}-"):
            raise ValueError(
                f"{finding!r}: after {prefix}:: cdk-nag prints the rule id, which starts with "
                f"{prefix}- (e.g. {prefix}::{prefix}-IAM5[Resource::*]); or drop {prefix}:: "
                f"and pass the rule id alone"
            )
        return finding
    pack = next((name for name in PACKS if finding.startswith(f"{name}-")), None)
    if pack is None:
        raise ValueError(
            f"{finding!r} does not start with a known pack name ({', '.join(PACKS)}): pass "
            "the id from cdk-nag's 'Acknowledge with' line, e.g. "
            "AwsSolutions::AwsSolutions-IAM5[Resource::*], or the rule id alone, e.g. "
            "AwsSolutions-IAM5[Resource::*]"
        )
    return f"{pack}::{finding}"


def skip_checkov(resource: cdk.CfnResource, reasons: Mapping[str, str]) -> None:
    """Record checkov skips on one resource, each with its reason, in the template metadata.

    checkov reads ``Metadata.checkov.skip`` (id + comment); the reason stays in the template for
    reviewers and for ``make report``.
    """
    _require_reasons(reasons)
    existing = resource.get_metadata("checkov") or {"skip": []}
    existing["skip"].extend({"id": rule, "comment": why} for rule, why in sorted(reasons.items()))
    resource.add_metadata("checkov", existing)


def ignore_cfn_lint(resource: cdk.CfnResource, reasons: Mapping[str, str]) -> None:
    """Ignore cfn-lint rules on one resource (``Metadata.cfn-lint``), reasons kept alongside."""
    _require_reasons(reasons)
    config = resource.get_metadata("cfn-lint") or {"config": {"ignore_checks": []}}
    config["config"]["ignore_checks"].extend(sorted(reasons))
    resource.add_metadata("cfn-lint", config)
    recorded = resource.get_metadata("bedrock-lz:cfn-lint-reasons") or {}
    recorded.update(reasons)
    resource.add_metadata("bedrock-lz:cfn-lint-reasons", recorded)


def _require_reasons(reasons: Mapping[str, str]) -> None:
    for rule, why in reasons.items():
        if len(why.strip()) < 20:
            raise ValueError(f"{rule}: a skip needs a real reason (20 characters or more)")


def acknowledge_deploy_time_function(function: cdk.CfnResource, *, purpose: str) -> None:
    """Accept the findings that do not fit a function CloudFormation calls while deploying.

    Such a function (a custom resource handler, CDK's own or ours) runs once per deployment,
    synchronously, to call a control-plane API; ``purpose`` says which. The same reasons go to
    cdk-nag (acknowledgments) and checkov (skips in template metadata).
    """
    outside_vpc = (
        f"Deploy-time only: {purpose}. It calls control-plane APIs that the landing zone VPC "
        "deliberately has no endpoints for, and handles no inference data."
    )
    concurrency = (
        "Invoked only by CloudFormation during deployments of this stack; reserved concurrency "
        "would take capacity from the account pool and protect nothing."
    )
    dlq = (
        "Invoked synchronously for a CloudFormation custom resource; a failure fails the "
        "deployment and shows in stack events, there is no asynchronous event to dead-letter."
    )
    rules = {
        "LambdaInsideVPC": outside_vpc,
        "LambdaConcurrency": concurrency,
        "LambdaDLQ": dlq,
    }
    for rule, reason in rules.items():
        acknowledge(
            function,
            [f"{pack}-{rule}" for pack in ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")],
            reason,
        )
    acknowledge(function, ["Serverless-LambdaDLQ"], dlq)
    skip_checkov(
        function, {"CKV_AWS_115": concurrency, "CKV_AWS_116": dlq, "CKV_AWS_117": outside_vpc}
    )


def nag_form(stack: cdk.Stack, value: str) -> str:
    """A string as cdk-nag prints it in finding ids: pseudo parameters as ``<AWS::Region>``,
    other references as ``<LogicalId.Attribute>``."""
    resolved = stack.resolve(value)
    if isinstance(resolved, str):
        return resolved
    parts = resolved["Fn::Join"][1] if "Fn::Join" in resolved else [resolved]
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif "Ref" in part:
            out.append(f"<{part['Ref']}>")
        else:
            logical_id, attribute = part["Fn::GetAtt"]
            out.append(f"<{logical_id}.{attribute}>")
    return "".join(out)
