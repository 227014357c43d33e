"""Service control policies generated from the model allow-list.

Three SCPs, each well inside the 5,120-character limit:

- ``deny-unlisted-models``: no principal in the targets may invoke a model or profile outside the
  allow-list, synchronously, asynchronously or in a batch job (application inference profiles
  stay allowed: Bedrock also authorizes the model behind them, which this same SCP restricts);
- ``deny-ungoverned-paths``: no long-term Bedrock API keys (creating them, or calling either
  endpoint with one; short-term keys too when configured), no ``bedrock-mantle`` endpoint unless
  opted in (then only for allow-listed models), no Marketplace subscription outside the
  allow-list's product ids;
- ``restrict-bedrock-regions``: Bedrock and bedrock-mantle only in the allowed regions, except
  calls routed through an inference profile (cross-region inference picks destination regions
  at request time).

``scp_documents`` is pure (no CDK tokens): the same documents go into the
``AWS::Organizations::Policy`` resources and into ``cdk.out/scp/*.json`` for admins who apply
them by other means.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_organizations as organizations
from constructs import Construct

from bedrock_landing_zone.config import ConfigError, LandingZoneConfig

__all__ = [
    "SCP_SIZE_LIMIT",
    "OrganizationGuardrailPolicy",
    "OrganizationPolicies",
    "bedrock_policy_document",
    "check_scp_sizes",
    "scp_documents",
    "write_scp_files",
]

#: Maximum size of a service control policy document, in characters (AWS Organizations User
#: Guide, "Quotas and service limits for AWS Organizations": SCP 5,120 characters).
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
    governed = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
    return {
        "deny-unlisted-models": _document(
            {
                # invoke, Converse, async (StartAsyncInvoke needs bedrock:InvokeModel: Bedrock
                # API Reference) and batch jobs, on any model outside the allow-list; the job
                # and async-invocation resources themselves are not models
                "Sid": "DenyInferenceOutsideModelAllowList",
                "Effect": "Deny",
                "Action": [*governed, "bedrock:CreateModelInvocationJob"],
                "NotResource": sorted(
                    {
                        *allowed_resources,
                        f"{arn}:*:*:model-invocation-job/*",
                        f"{arn}:*:*:async-invoke/*",
                    }
                ),
            }
        ),
        "deny-ungoverned-paths": _document(*_ungoverned_paths(config, partition)),
        "restrict-bedrock-regions": _document(
            {
                "Sid": "DenyBedrockOutsideAllowedRegions",
                "Effect": "Deny",
                "Action": ["bedrock:*", "bedrock-mantle:*"],
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


def _ungoverned_paths(config: LandingZoneConfig, partition: str) -> list[dict[str, Any]]:
    """API keys, the bedrock-mantle endpoint and Marketplace subscriptions, in one SCP.

    AWS Organizations attaches at most 5 SCPs to a root, OU or account (Organizations quotas),
    FullAWSAccess among them: the landing zone keeps to three.
    """
    options = config.organization_policies
    deny_short_term = options.deny_short_term_api_keys if options else False
    mantle = options.bedrock_mantle if options else False
    statements: list[dict[str, Any]] = [
        {
            # Bedrock User Guide, "Control permissions for Amazon Bedrock API keys"
            "Sid": "DenyCreatingBedrockApiKeys",
            "Effect": "Deny",
            "Action": "iam:CreateServiceSpecificCredential",
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "iam:ServiceSpecificCredentialServiceName": "bedrock.amazonaws.com"
                }
            },
        }
    ]
    # "To fully prevent all API key-based access, you must deny both actions" (same guide)
    bearer = ["bedrock:CallWithBearerToken", "bedrock-mantle:CallWithBearerToken"]
    if deny_short_term:
        statements.append(
            {"Sid": "DenyCallsWithApiKeys", "Effect": "Deny", "Action": bearer, "Resource": "*"}
        )
    else:
        for action, key in zip(
            bearer, ("bedrock:BearerTokenType", "bedrock-mantle:BearerTokenType"), strict=True
        ):
            service = action.split(":", 1)[0]
            statements.append(
                {
                    "Sid": "DenyCallsWithLongTermApiKeys"
                    + ("Mantle" if service == "bedrock-mantle" else ""),
                    "Effect": "Deny",
                    "Action": action,
                    "Resource": "*",
                    "Condition": {"StringEquals": {key: "LONG_TERM"}},
                }
            )
    if mantle:
        # bedrock-mantle has no per-model resource: the model is the bedrock-mantle:Model key
        # of CreateInference and CreateFineTuningJob (Service Authorization Reference, Amazon
        # Bedrock Powered by AWS Mantle). Limited to those two actions, so that calls without
        # the key (ListModels) are not denied by the negated operator.
        statements.append(
            {
                "Sid": "DenyMantleInferenceOutsideModelAllowList",
                "Effect": "Deny",
                "Action": ["bedrock-mantle:CreateInference", "bedrock-mantle:CreateFineTuningJob"],
                "Resource": "*",
                "Condition": {
                    "StringNotEquals": {
                        # the ids as Bedrock names them (which of the two bedrock-mantle uses for
                        # a profile is not documented: both are listed)
                        "bedrock-mantle:Model": sorted(
                            {m.model_id for m in config.models}
                            | {m.foundation_model_id for m in config.models}
                        )
                    }
                },
            }
        )
    else:
        statements.append(
            {
                # no guardrails and no invocation logging on this endpoint: closed unless opted in
                "Sid": "DenyBedrockMantle",
                "Effect": "Deny",
                "Action": "bedrock-mantle:*",
                "Resource": "*",
            }
        )
    products = sorted({m.marketplace_product_id for m in config.models if m.marketplace_product_id})
    subscribe: dict[str, Any] = {
        "Sid": "DenyMarketplaceSubscriptionsOutsideAllowList",
        "Effect": "Deny",
        "Action": "aws-marketplace:Subscribe",
        "Resource": "*",
    }
    if products:
        subscribe["Condition"] = {
            "ForAnyValue:StringNotEquals": {"aws-marketplace:ProductId": products}
        }
    statements.append(subscribe)
    return statements


def _document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def document_size(document: dict[str, Any]) -> int:
    """Characters the policy takes as Organizations stores it (minified JSON)."""
    return len(json.dumps(document, separators=(",", ":")))


def check_scp_sizes(
    config: LandingZoneConfig, documents: Mapping[str, dict[str, Any]] | None = None
) -> None:
    """Refuse SCPs over the AWS Organizations quota (``SCP_SIZE_LIMIT`` characters), naming the
    setting that shortens them. ``documents``: ``scp_documents(config)`` when already rendered.
    Raises ``ConfigError``."""
    options = config.organization_policies
    if options is None:
        return
    for name, document in (documents or scp_documents(config)).items():
        size = document_size(document)
        if size <= SCP_SIZE_LIMIT:
            continue
        if options.allow_list_granularity == "model":
            raise ConfigError(
                f"organization_policies.allow_list_granularity: 'model': the SCP {name} naming "
                f"every allow-listed model is {size:,} characters, over the {SCP_SIZE_LIMIT:,} "
                f"AWS Organizations allows; {_models_that_fit(config)} of the "
                f"{len(config.models)} models fit: set allow_list_granularity: provider, or "
                "shorten the allow-list"
            )
        raise ConfigError(
            f"organization_policies: the SCP {name} is {size:,} characters, over the "
            f"{SCP_SIZE_LIMIT:,} AWS Organizations allows: fewer allowed_regions or providers"
        )


def _models_that_fit(config: LandingZoneConfig) -> int:
    """How many of the allow-list's models (in order) the model-granular SCP can name."""
    fit = 0
    for count in range(1, len(config.models) + 1):
        shorter = config.model_copy(update={"models": config.models[:count]})
        if document_size(scp_documents(shorter)["deny-unlisted-models"]) > SCP_SIZE_LIMIT:
            break
        fit = count
    return fit


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
        documents = scp_documents(config)
        check_scp_sizes(config, documents)
        for name, document in documents.items():
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


#: A guardrail identifier in an Amazon Bedrock policy: the guardrail ARN, ':' and a numeric
#: version (AWS Organizations User Guide, "Amazon Bedrock policy syntax": "Guardrail ARN,
#: followed by :version", not DRAFT). A malformed identifier makes every Bedrock call in the
#: target accounts fail ("Best practices for Amazon Bedrock policies"), so it is checked.
GUARDRAIL_IDENTIFIER = re.compile(
    r"^arn:aws(-[a-z]+)*:bedrock:[a-z0-9-]+:\d{12}:guardrail/[a-z0-9]+:[1-9][0-9]{0,7}$"
)


def bedrock_policy_document(
    *, region: str, identifier: str, excluded_models: list[str]
) -> dict[str, Any]:
    """The Amazon Bedrock policy enforcing ``identifier`` on every model but ``excluded_models``
    in ``region`` (AWS Organizations User Guide, "Amazon Bedrock policy syntax and examples").

    ``identifier`` may be a CDK token (resolved at deploy time); a literal one is checked
    against ``GUARDRAIL_IDENTIFIER``."""
    if not cdk.Token.is_unresolved(identifier) and not GUARDRAIL_IDENTIFIER.match(identifier):
        raise ValueError(
            f"guardrail identifier {identifier!r} is not '<guardrail ARN>:<version>': a "
            "malformed identifier would make every Bedrock call in the organisation fail"
        )
    config: dict[str, Any] = {
        "identifier": {"@@assign": identifier},
        "model_enforcement": {
            "included_models": {"@@assign": ["ALL"]},
            "excluded_models": {"@@assign": sorted(excluded_models)},
        },
    }
    return {"bedrock": {"guardrail_inference": {region: {"landing_zone": config}}}}


class OrganizationGuardrailPolicy(Construct):
    """Organisation-wide guardrail enforcement (opt-in: ``organization_policies.guardrail_
    enforcement``), deployed with the SCPs in the management account.

    - a guardrail with the environment's configuration, owned by the management account (AWS
      requires it there), with a published version and a resource-based policy letting the
      organisation's principals apply it (``aws:PrincipalOrgID``);
    - an ``AWS::Organizations::Policy`` of type ``BEDROCK_POLICY`` naming it as
      ``<ARN>:<version>`` for every model except those that cannot take a guardrail, attached
      to the SCP targets.

    Attributes:
        guardrail: the management account's ``LandingZoneGuardrail``; policy: the ``CfnPolicy``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: LandingZoneConfig) -> None:
        super().__init__(scope, construct_id)
        from bedrock_landing_zone.governance.guardrail import LandingZoneGuardrail  # noqa: PLC0415

        options = config.organization_policies
        if options is None or not config.organization_id:
            raise ValueError("organization_policies.guardrail_enforcement needs organization_id")
        self.guardrail = LandingZoneGuardrail(
            self,
            "Guardrail",
            env_name=f"{config.name}-org",
            config=config.guardrail,
            # an AWS owned key: member accounts apply this guardrail and cannot be granted a
            # key of the management account through Bedrock here
            key=None,
            models=config.models,
            account_enforcement=False,
            share_with_organization=config.organization_id,
            publish_parameters=False,
        )
        document = bedrock_policy_document(
            region=config.region,
            identifier=self.guardrail.ref.identifier,
            excluded_models=[m.foundation_model_id for m in config.models if not m.guardrail],
        )
        self.policy = organizations.CfnPolicy(
            self,
            "BedrockPolicy",
            name=f"bedrock-lz-{config.name}-guardrail-enforcement",
            description=f"Bedrock landing zone ({config.name}): guardrail on every Bedrock call",
            type="BEDROCK_POLICY",
            content=cdk.Stack.of(self).to_json_string(document),
            target_ids=list(options.target_ids),
        )
        self.policy.node.add_dependency(self.guardrail)
