"""The landing zone's Bedrock Guardrail, its published version and (opt-in) enforcement."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_kms as kms
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from bedrock_landing_zone.config import GuardrailConfig, ModelConfig
from bedrock_landing_zone.governance.model_access import GuardrailReference

__all__ = ["LandingZoneGuardrail", "guardrail_parameter_names"]

_CONTENT_TYPES = {
    "hate": "HATE",
    "insults": "INSULTS",
    "sexual": "SEXUAL",
    "violence": "VIOLENCE",
    "misconduct": "MISCONDUCT",
}


def guardrail_parameter_names(env_name: str) -> dict[str, str]:
    """SSM parameter names under which the guardrail is published (a public contract)."""
    prefix = f"/bedrock-lz/{env_name}/guardrail"
    return {"id": f"{prefix}/id", "arn": f"{prefix}/arn", "version": f"{prefix}/version"}


class LandingZoneGuardrail(Construct):
    """A Bedrock Guardrail from config, encrypted with the landing-zone key, with a version.

    - content filters (hate, insults, sexual, violence, misconduct on input and output; prompt
      attack on input), denied topics, managed profanity and custom words, PII per type (block
      or anonymize), custom regexes, contextual grounding thresholds, blocked messages;
    - a published version whose logical id is derived from the configuration, so any change to
      the guardrail publishes a new version (and callers' IAM conditions follow it); superseded
      versions are retained, so stacks not yet redeployed keep working (prune old versions by
      hand once every stack of the environment is deployed);
    - account-level enforcement (on by default) for included/excluded allow-listed models,
      with the guardrail's resource-based policy; models that cannot take a guardrail are
      always excluded;
    - SSM parameters ``/bedrock-lz/<env>/guardrail/{id,arn,version}`` for other teams' apps.

    Attributes:
        guardrail: the ``CfnGuardrail``.
        version: the ``CfnGuardrailVersion``.
        ref: ``GuardrailReference`` (ARN and version) for grants.
        enforcement: the ``CfnEnforcedGuardrailConfiguration`` or None.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        config: GuardrailConfig,
        key: kms.IKey | None,
        models: Sequence[ModelConfig],
        account_enforcement: bool | None = None,
        share_with_organization: str | None = None,
        publish_parameters: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        filters = config.content_filters
        content = [
            bedrock.CfnGuardrail.ContentFilterConfigProperty(
                type=cfn_type,
                input_strength=getattr(filters, field),
                output_strength=getattr(filters, field),
            )
            for field, cfn_type in _CONTENT_TYPES.items()
        ]
        content.append(
            bedrock.CfnGuardrail.ContentFilterConfigProperty(
                type="PROMPT_ATTACK", input_strength=filters.prompt_attack, output_strength="NONE"
            )
        )
        self.guardrail = bedrock.CfnGuardrail(
            self,
            "Guardrail",
            name=f"bedrock-lz-{env_name}",
            description=f"Bedrock landing zone guardrail ({env_name}), required on every call",
            blocked_input_messaging=config.blocked_input_message,
            blocked_outputs_messaging=config.blocked_output_message,
            kms_key_arn=key.key_arn if key is not None else None,
            content_policy_config=bedrock.CfnGuardrail.ContentPolicyConfigProperty(
                filters_config=content
            ),
            topic_policy_config=(
                bedrock.CfnGuardrail.TopicPolicyConfigProperty(
                    topics_config=[
                        bedrock.CfnGuardrail.TopicConfigProperty(
                            name=topic.name,
                            definition=topic.definition,
                            examples=list(topic.examples) or None,
                            type="DENY",
                        )
                        for topic in config.denied_topics
                    ]
                )
                if config.denied_topics
                else None
            ),
            word_policy_config=(
                bedrock.CfnGuardrail.WordPolicyConfigProperty(
                    managed_word_lists_config=(
                        [bedrock.CfnGuardrail.ManagedWordsConfigProperty(type="PROFANITY")]
                        if config.word_filters.managed_profanity
                        else None
                    ),
                    words_config=[
                        bedrock.CfnGuardrail.WordConfigProperty(text=word)
                        for word in config.word_filters.words
                    ]
                    or None,
                )
                if config.word_filters.managed_profanity or config.word_filters.words
                else None
            ),
            sensitive_information_policy_config=(
                bedrock.CfnGuardrail.SensitiveInformationPolicyConfigProperty(
                    pii_entities_config=[
                        bedrock.CfnGuardrail.PiiEntityConfigProperty(type=pii, action=action)
                        for pii, action in sorted(config.pii.items())
                    ]
                    or None,
                    regexes_config=[
                        bedrock.CfnGuardrail.RegexConfigProperty(
                            name=regex.name,
                            pattern=regex.pattern,
                            action=regex.action,
                            description=regex.description,
                        )
                        for regex in config.regexes
                    ]
                    or None,
                )
                if config.pii or config.regexes
                else None
            ),
            contextual_grounding_policy_config=(
                bedrock.CfnGuardrail.ContextualGroundingPolicyConfigProperty(
                    filters_config=[
                        bedrock.CfnGuardrail.ContextualGroundingFilterConfigProperty(
                            type="GROUNDING",
                            threshold=config.contextual_grounding.grounding_threshold,
                        ),
                        bedrock.CfnGuardrail.ContextualGroundingFilterConfigProperty(
                            type="RELEVANCE",
                            threshold=config.contextual_grounding.relevance_threshold,
                        ),
                    ]
                )
                if config.contextual_grounding
                else None
            ),
        )
        fingerprint = hashlib.sha256(
            config.model_dump_json(exclude={"enforcement"}).encode()
        ).hexdigest()[:10]
        self.version = bedrock.CfnGuardrailVersion(
            self,
            f"Version{fingerprint}",
            guardrail_identifier=self.guardrail.attr_guardrail_id,
            description=f"Landing zone guardrail, configuration {fingerprint}",
        )
        # A configuration change publishes a new version under a new logical id; CloudFormation
        # then removes the old one from the stack. Retained, it keeps serving callers (the
        # endpoint policy and the inference function in other stacks) that still send it until
        # their stacks are deployed (CloudFormation User Guide, "DeletionPolicy attribute" and
        # "UpdateReplacePolicy attribute").
        self.version.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        self.ref = GuardrailReference(
            arn=self.guardrail.attr_guardrail_arn, version=self.version.attr_version
        )

        self.enforcement: bedrock.CfnEnforcedGuardrailConfiguration | None = None
        enforce = config.enforcement.enabled if account_enforcement is None else account_enforcement
        stack = cdk.Stack.of(self)
        # The guardrail's resource-based policy (Bedrock User Guide, "Resource-based policies
        # for guardrails": recommended with account-level enforcement, required for
        # organisation-level): the account's principals, or the organisation's, may apply it.
        if enforce or share_with_organization:
            principal: dict[str, Any] = (
                {"AWS": "*"}
                if share_with_organization
                else {"AWS": f"arn:{stack.partition}:iam::{stack.account}:root"}
            )
            statement: dict[str, Any] = {
                "Sid": "ApplyTheLandingZoneGuardrail",
                "Effect": "Allow",
                "Principal": principal,
                "Action": ["bedrock:ApplyGuardrail", "bedrock:GetGuardrail"],
                "Resource": self.guardrail.attr_guardrail_arn,
            }
            if share_with_organization:
                statement["Condition"] = {
                    "StringEquals": {"aws:PrincipalOrgID": share_with_organization}
                }
            self.resource_policy = bedrock.CfnResourcePolicy(
                self,
                "ResourcePolicy",
                resource_arn=self.guardrail.attr_guardrail_arn,
                policy_document={"Version": "2012-10-17", "Statement": [statement]},
            )
        if enforce:
            by_alias = {m.alias: m for m in models}
            # "ALL": every model (the value AWS documents for model_enforcement.included_models,
            # AWS Organizations User Guide, "Amazon Bedrock policy syntax and examples")
            included = sorted(
                {by_alias[a].foundation_model_id for a in config.enforcement.include_models}
            ) or ["ALL"]
            # models that cannot take a guardrail are always excluded: enforced, every call to
            # them would fail (Bedrock User Guide, guardrails-supported)
            excluded = sorted(
                {by_alias[a].foundation_model_id for a in config.enforcement.exclude_models}
                | {m.foundation_model_id for m in models if not m.guardrail}
            )
            self.enforcement = bedrock.CfnEnforcedGuardrailConfiguration(
                self,
                "AccountEnforcement",
                guardrail_identifier=self.guardrail.attr_guardrail_arn,
                guardrail_version=self.version.attr_version,
                model_enforcement=bedrock.CfnEnforcedGuardrailConfiguration.ModelEnforcementProperty(
                    included_models=included, excluded_models=excluded
                ),
            )

        if not publish_parameters:
            return
        names = guardrail_parameter_names(env_name)
        for key_name, value, label in (
            ("id", self.guardrail.attr_guardrail_id, "IdParameter"),
            ("arn", self.guardrail.attr_guardrail_arn, "ArnParameter"),
            ("version", self.version.attr_version, "VersionParameter"),
        ):
            ssm.StringParameter(
                self,
                label,
                parameter_name=names[key_name],
                string_value=value,
                description=f"Bedrock landing zone ({env_name}): guardrail {key_name}",
            )

    @staticmethod
    def from_ssm_parameters(
        scope: Construct, env_name: str, *, pinned: bool = True
    ) -> GuardrailReference:
        """Reference another app's landing-zone guardrail through its SSM parameters.

        Each value is a CloudFormation parameter of type ``AWS::SSM::Parameter::Value<String>``
        whose default is the parameter name: CloudFormation reads the current value from
        Parameter Store when the stack is created or updated (CloudFormation User Guide,
        "Specify existing resources at runtime with CloudFormation-supplied parameter types";
        the stack's ``ResolvedValue``, CloudFormation API Reference "Parameter"). No lookup at
        synth, no stack exports. A stack that pins the version keeps the one it was deployed
        with until its next deployment; the landing zone retains superseded versions, so it
        keeps working meanwhile. ``pinned=False`` reads the ARN only, for grants that accept any
        published version (``guardrail_versions="published"``).
        """
        names = guardrail_parameter_names(env_name)
        return GuardrailReference(
            arn=ssm.StringParameter.value_for_string_parameter(scope, names["arn"]),
            version=(
                ssm.StringParameter.value_for_string_parameter(scope, names["version"])
                if pinned
                else ""
            ),
        )
