"""Service control policies generated from the model allow-list.

Three SCPs, each well inside the 5,120-character limit:

- ``deny-unlisted-models``: no principal in the targets may invoke a model or profile outside the
  allow-list (application inference profiles stay allowed: Bedrock also authorizes the model
  behind them, which this same SCP restricts);
- ``deny-long-term-api-keys``: no long-term Bedrock API keys (IAM service-specific credentials
  for Bedrock), and no calls made with one;
- ``restrict-bedrock-regions``: Bedrock only in the allowed regions, except calls routed through
  an inference profile (cross-region inference picks destination regions at request time).

``scp_documents`` is pure (no CDK tokens): the same documents go into the
``AWS::Organizations::Policy`` resources and into ``cdk.out/scp/*.json`` for admins who apply
them by other means.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_organizations as organizations
from constructs import Construct

from bedrock_landing_zone.config import LandingZoneConfig

__all__ = ["SCP_SIZE_LIMIT", "OrganizationPolicies", "scp_documents", "write_scp_files"]

#: Maximum size of a service control policy document, in characters.
SCP_SIZE_LIMIT = 5120

_INVOKE = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]


def partition_of(region: str) -> str:
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws"


def scp_documents(config: LandingZoneConfig) -> dict[str, dict[str, Any]]:
    """Policy name -> SCP document, derived from the allow-list."""
    partition = partition_of(config.region)
    arn = f"arn:{partition}:bedrock"
    allowed_resources: list[str] = []
    by_provider = (
        config.organization_policies is not None
        and config.organization_policies.allow_list_granularity == "provider"
    )
    for model in config.models:
        if by_provider:
            # every model id of the provider (``<provider>.<model>``), and its profiles in the
            # allow-list's geographies only (``<geography>.<provider>.<model>``)
            provider = model.foundation_model_id.split(".", 1)[0]
            allowed_resources.append(f"{arn}:*::foundation-model/{provider}.*")
            if model.is_inference_profile:
                allowed_resources.append(
                    f"{arn}:*:*:inference-profile/{model.geography}.{provider}.*"
                )
            continue
        allowed_resources.append(f"{arn}:*::foundation-model/{model.foundation_model_id}")
        if model.is_inference_profile:
            allowed_resources.append(f"{arn}:*:*:inference-profile/{model.model_id}")
    allowed_resources.append(f"{arn}:*:*:application-inference-profile/*")
    regions = sorted(
        set(config.organization_policies.allowed_regions if config.organization_policies else [])
        or {config.region}
    )
    return {
        "deny-unlisted-models": _document(
            {
                "Sid": "DenyInvokeOutsideModelAllowList",
                "Effect": "Deny",
                "Action": _INVOKE,
                "NotResource": sorted(set(allowed_resources)),
            }
        ),
        "deny-long-term-api-keys": _document(
            {
                "Sid": "DenyCreatingBedrockApiKeys",
                "Effect": "Deny",
                "Action": "iam:CreateServiceSpecificCredential",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "iam:ServiceSpecificCredentialServiceName": "bedrock.amazonaws.com"
                    }
                },
            },
            {
                "Sid": "DenyCallsWithLongTermApiKeys",
                "Effect": "Deny",
                "Action": "bedrock:CallWithBearerToken",
                "Resource": "*",
                "Condition": {"StringEquals": {"bedrock:bearerTokenType": "LONG_TERM"}},
            },
        ),
        "restrict-bedrock-regions": _document(
            {
                "Sid": "DenyBedrockOutsideAllowedRegions",
                "Effect": "Deny",
                "Action": "bedrock:*",
                "Resource": "*",
                "Condition": {
                    "StringNotEquals": {"aws:RequestedRegion": regions},
                    "ArnNotLike": {
                        "bedrock:InferenceProfileArn": [
                            f"{arn}:*:*:inference-profile/*",
                            f"{arn}:*:*:application-inference-profile/*",
                        ]
                    },
                },
            }
        ),
    }


def _document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def document_size(document: dict[str, Any]) -> int:
    """Characters the policy takes as Organizations stores it (minified JSON)."""
    return len(json.dumps(document, separators=(",", ":")))


def write_scp_files(config: LandingZoneConfig, outdir: Path | str) -> list[Path]:
    """Write each SCP to ``<outdir>/scp/<env>-<name>.json``; return the paths."""
    directory = Path(outdir) / "scp"
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in scp_documents(config).items():
        path = directory / f"{config.name}-{name}.json"
        path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written


class OrganizationPolicies(Construct):
    """The SCPs as ``AWS::Organizations::Policy`` resources attached to the configured targets.

    Deploy it in the organisation's management account (or a delegated administrator for
    Organizations policies).

    Attributes:
        policies: policy name -> ``CfnPolicy``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: LandingZoneConfig) -> None:
        super().__init__(scope, construct_id)
        if config.organization_policies is None:
            raise ValueError("organization_policies: set management_account and target_ids")
        self.policies: dict[str, organizations.CfnPolicy] = {}
        for name, document in scp_documents(config).items():
            size = document_size(document)
            if size > SCP_SIZE_LIMIT:
                raise ValueError(
                    f"SCP {name} is {size} characters, over the {SCP_SIZE_LIMIT} limit: "
                    "shorten the model allow-list or split it"
                )
            construct_id = "".join(part.capitalize() for part in name.split("-"))
            self.policies[name] = organizations.CfnPolicy(
                self,
                construct_id,
                name=f"bedrock-lz-{config.name}-{name}",
                description=f"Bedrock landing zone ({config.name}): {name.replace('-', ' ')}",
                type="SERVICE_CONTROL_POLICY",
                content=document,
                target_ids=list(config.organization_policies.target_ids),
            )
        cdk.Tags.of(self).add("bedrock-lz:generated-from", "model-allow-list")
