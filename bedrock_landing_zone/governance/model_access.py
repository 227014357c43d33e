"""Model access governance: every Bedrock invoke permission derived from the allow-list.

For each allow-listed model the grant admits ``bedrock:InvokeModel`` (and
``bedrock:InvokeModelWithResponseStream`` only where ``streaming`` is on) on exactly:

- a foundation model: ``arn:<partition>:bedrock:<region>::foundation-model/<model id>``;
- a cross-region inference profile: the profile ARN in this account and region, plus the
  foundation model in any destination region *only* when the request carries
  ``bedrock:InferenceProfileArn`` equal to that profile (the destination is chosen by Bedrock at
  request time, so the region is a wildcard pinned by the condition);
- application inference profiles created for cost allocation (added with
  ``add_application_inference_profile``).

Every allow carries ``bedrock:GuardrailIdentifier == <guardrail ARN>:<version>``, and an explicit
deny refuses the invoke actions on every Bedrock model resource when that key is absent or
different. No statement has ``Resource: *``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from bedrock_landing_zone.compliance import acknowledge, nag_form
from bedrock_landing_zone.config import ModelConfig

__all__ = ["INVOKE", "INVOKE_STREAM", "GuardrailReference", "GuardrailVersions", "ModelAccess"]

INVOKE = "bedrock:InvokeModel"
INVOKE_STREAM = "bedrock:InvokeModelWithResponseStream"
GUARDRAIL_KEY = "bedrock:GuardrailIdentifier"

#: Which guardrail versions a statement accepts:
#: ``"exact"``: only the version this deployment published (``<arn>:<version>``);
#: ``"published"``: any published (numeric) version of the landing zone guardrail, never its
#: working ``DRAFT``. Documents that live in another stack than the guardrail (the
#: ``bedrock-runtime`` endpoint policy, the inference function's role) use ``"published"`` so
#: that no deployment order leaves them naming a version their callers do not send; superseded
#: versions are retained, and the function itself always sends the current one.
GuardrailVersions = Literal["exact", "published"]


@dataclass(frozen=True)
class GuardrailReference:
    """A guardrail and the version callers must use.

    ``arn`` and ``version`` may be tokens (from a ``CfnGuardrail`` or from SSM parameters).
    """

    arn: str
    version: str

    @property
    def identifier(self) -> str:
        """The value of ``bedrock:GuardrailIdentifier`` in requests: ``<arn>:<version>``."""
        if not self.version:
            raise ValueError(
                "this guardrail reference has no version (from_ssm_parameters(pinned=False)): "
                'use guardrail_versions="published"'
            )
        return f"{self.arn}:{self.version}"

    def allow_conditions(self, versions: GuardrailVersions = "exact") -> dict[str, Any]:
        """Conditions an allow statement needs so that only this guardrail passes."""
        if versions == "exact":
            return {"StringEquals": {GUARDRAIL_KEY: self.identifier}}
        return {
            "StringLike": {GUARDRAIL_KEY: f"{self.arn}:*"},
            "StringNotEquals": {GUARDRAIL_KEY: f"{self.arn}:DRAFT"},
        }

    def deny_conditions(self, versions: GuardrailVersions = "exact") -> dict[str, Any]:
        """Conditions of the deny for requests without this guardrail (or with another)."""
        if versions == "exact":
            return {"StringNotEquals": {GUARDRAIL_KEY: self.identifier}}
        return {"StringNotLike": {GUARDRAIL_KEY: f"{self.arn}:*"}}


def _unique(values: Iterable[str]) -> list[str]:
    """``values`` without repeats, in first-seen order (as ``iam.PolicyStatement`` keeps them)."""
    return list(dict.fromkeys(values))


@dataclass(frozen=True)
class _Statement:
    """A policy statement as plain data. ``ModelAccess`` builds its statements this way and
    makes each ``iam.PolicyStatement`` once, when asked for one: every call into the CDK (a jsii
    round trip to Node.js) costs, so a grant or an endpoint policy reads these fields here instead
    of reading them back from the CDK. Actions and resources are deduplicated as
    ``iam.PolicyStatement`` does, so the fields are what the statement would return."""

    sid: str
    actions: list[str]
    resources: list[str] | None = None
    not_resources: list[str] | None = None
    conditions: dict[str, Any] | None = None
    deny: bool = False

    def policy_statement(self) -> iam.PolicyStatement:
        optional: dict[str, Any] = {}
        if self.deny:
            optional["effect"] = iam.Effect.DENY
        if self.resources is not None:
            optional["resources"] = self.resources
        if self.not_resources is not None:
            optional["not_resources"] = self.not_resources
        if self.conditions is not None:
            optional["conditions"] = self.conditions
        return iam.PolicyStatement(sid=self.sid, actions=self.actions, **optional)


class ModelAccess(Construct):
    """Least-privilege Bedrock invoke permissions derived from the model allow-list.

    Example::

        access = ModelAccess(self, "ModelAccess", models=config.models, guardrail=guardrail.ref)
        access.grant_invoke(my_function)                     # every allow-listed model
        access.grant_invoke(my_role, aliases=["nova-lite"])  # a subset

    Args:
        models: the allow-list (``ModelConfig`` entries).
        guardrail: the guardrail every call must carry.
        guardrail_key: the key that encrypts the guardrail; callers get ``kms:Decrypt`` on it
            only through Bedrock (``kms:ViaService``). Default: none.

    Attributes:
        models: the allow-list by alias.
        guardrail: the ``GuardrailReference``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        models: Sequence[ModelConfig],
        guardrail: GuardrailReference,
        guardrail_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not models:
            raise ValueError("models: the allow-list must name at least one model")
        self.models = {m.alias: m for m in models}
        self.guardrail = guardrail
        self._key = guardrail_key
        self._application_profiles: dict[str, dict[str, list[str]]] = {}
        self._stack_env: tuple[str, str, str] | None = None
        self._key_arn: str | None = None
        self._shown_partition: str | None = None
        #: ``managed_policy`` arguments -> the statements made for them (see there)
        self._policy_statements: dict[tuple[Any, ...], list[iam.PolicyStatement]] = {}

    # ----- ARNs -------------------------------------------------------------------------------

    def _env(self) -> tuple[str, str, str]:
        """The stack's partition, region and account (tokens or literals), read once: the ARNs
        below need them again and again, and each read is a round trip to the CDK."""
        if self._stack_env is None:
            stack = cdk.Stack.of(self)
            self._stack_env = (stack.partition, stack.region, stack.account)
        return self._stack_env

    def arn(self, service: str, resource: str, resource_name: str) -> str:
        """``arn:<partition>:<service>:<region>:<account>:<resource>/<resource_name>`` in this
        construct's stack: what ``cdk.Stack.format_arn`` returns for these components (the same
        string, the stack's tokens included), without a round trip to the CDK per ARN."""
        partition, region, account = self._env()
        return f"arn:{partition}:{service}:{region}:{account}:{resource}/{resource_name}"

    def foundation_model_arn(self, model_id: str, region: str | None = None) -> str:
        partition, stack_region, _ = self._env()
        return f"arn:{partition}:bedrock:{region or stack_region}::foundation-model/{model_id}"

    def inference_profile_arn(self, profile_id: str) -> str:
        partition, region, account = self._env()
        return f"arn:{partition}:bedrock:{region}:{account}:inference-profile/{profile_id}"

    def model_arns(self, alias: str, team: str | None = None) -> list[str]:
        """ARNs a caller names when invoking ``alias``: the model or system profile first, then
        application inference profiles (``team``'s only; all teams' when ``team`` is None)."""
        model = self._model(alias)
        direct = (
            self.inference_profile_arn(model.model_id)
            if model.is_inference_profile
            else self.foundation_model_arn(model.model_id)
        )
        by_team = self._application_profiles.get(alias, {})
        teams = [team] if team is not None else sorted(by_team)
        return [direct, *(arn for t in teams for arn in by_team.get(t, []))]

    def add_application_inference_profile(self, alias: str, arn: str, *, team: str) -> None:
        """Admit an application inference profile that wraps ``alias`` for ``team``.

        Grants built afterwards include it: ``team``'s grants, and grants for all teams."""
        self._application_profiles.setdefault(self._model(alias).alias, {}).setdefault(
            team, []
        ).append(arn)
        self._policy_statements.clear()  # statements made before do not name it

    # ----- statements -------------------------------------------------------------------------

    def application_profile_pattern(self) -> str:
        """Every application inference profile of this account and region."""
        partition, region, account = self._env()
        return f"arn:{partition}:bedrock:{region}:{account}:application-inference-profile/*"

    def statements(
        self,
        aliases: Iterable[str] | None = None,
        *,
        team: str | None = None,
        guardrail_versions: GuardrailVersions = "exact",
        profiles_tagged: Mapping[str, str] | None = None,
    ) -> list[iam.PolicyStatement]:
        """The allow and deny statements for ``aliases`` (default: the whole allow-list).

        ``team`` limits application inference profiles to that team's (default: all teams').
        ``guardrail_versions`` says which versions of the guardrail pass (``GuardrailVersions``).
        ``profiles_tagged`` admits, instead of registered profile ARNs, every application
        inference profile carrying these tags (``aws:ResourceTag/<key>``; a value may be a
        policy variable such as ``${aws:PrincipalTag/Team}``). The Service Authorization
        Reference lists ``aws:ResourceTag/${TagKey}`` for the application-inference-profile
        resource of ``bedrock:InvokeModel``; foundation models and system profiles carry no
        tags, so the allow-list still bounds the models reached through any profile: a call
        through a profile is also authorized on the model it wraps. Such statements do not
        grow with the number of teams.
        """
        return [
            s.policy_statement()
            for s in self._statements(
                aliases,
                team=team,
                guardrail_versions=guardrail_versions,
                profiles_tagged=profiles_tagged,
            )
        ]

    def _statements(
        self,
        aliases: Iterable[str] | None = None,
        *,
        team: str | None = None,
        guardrail_versions: GuardrailVersions = "exact",
        profiles_tagged: Mapping[str, str] | None = None,
    ) -> list[_Statement]:
        """``statements`` as plain data."""
        selected = (
            [self._model(a) for a in aliases] if aliases is not None else list(self.models.values())
        )
        if not selected:
            raise ValueError("aliases: name at least one allow-listed model")
        guardrail_condition = self.guardrail.allow_conditions(guardrail_versions)
        tagged = dict(profiles_tagged or {})
        statements: list[_Statement] = []
        unguarded = [m for m in selected if not m.guardrail]
        if unguarded:
            # models Bedrock Guardrails does not support (config: guardrail: false), called
            # directly only: a guardrail condition would make them uncallable
            statements.append(
                _Statement(
                    sid="InvokeModelsWithoutGuardrailSupport",
                    actions=self._actions(any(m.streaming for m in unguarded)),
                    resources=_unique(self.model_arns(m.alias)[0] for m in unguarded),
                )
            )
        selected = [m for m in selected if m.guardrail]
        for streaming in (False, True):
            group = [m for m in selected if m.streaming == streaming]
            if not group:
                continue
            resources = [
                arn
                for m in group
                for arn in (
                    self.model_arns(m.alias)[:1] if tagged else self.model_arns(m.alias, team)
                )
            ]
            statements.append(
                _Statement(
                    sid="InvokeAllowListedModelsWithStreaming"
                    if streaming
                    else "InvokeAllowListedModels",
                    actions=self._actions(streaming),
                    resources=_unique(resources),
                    conditions=dict(guardrail_condition),
                )
            )
        if tagged:
            conditions = {**guardrail_condition}
            conditions["StringEquals"] = {
                **conditions.get("StringEquals", {}),
                **{f"aws:ResourceTag/{key}": value for key, value in sorted(tagged.items())},
            }
            statements.append(
                _Statement(
                    sid="InvokeTaggedApplicationProfiles",
                    actions=self._actions(any(m.streaming for m in selected)),
                    resources=[self.application_profile_pattern()],
                    conditions=conditions,
                )
            )
        # Cross-region destinations: one statement per streaming group, not one per model, so
        # the documents grow by two ARNs per profile model. A destination foundation model may
        # be called only through an allow-listed profile (the condition); which profile does not
        # matter, since Bedrock routes a profile only to its own model (Bedrock User Guide,
        # "Increase throughput with cross-Region inference": a profile names one model).
        for streaming in (False, True):
            group = [m for m in selected if m.is_inference_profile and m.streaming == streaming]
            if not group:
                continue
            if tagged:
                via = [self.model_arns(m.alias)[0] for m in group]
                via.append(self.application_profile_pattern())
                operator = "ArnLike"
            else:
                # the system profile, or an application profile that copies it
                via = [arn for m in group for arn in self.model_arns(m.alias, team)]
                operator = "ArnEquals"
            statements.append(
                _Statement(
                    sid="InvokeThroughProfilesWithStreaming"
                    if streaming
                    else "InvokeThroughProfiles",
                    actions=self._actions(streaming),
                    resources=_unique(
                        self.foundation_model_arn(m.foundation_model_id, region="*") for m in group
                    ),
                    conditions={
                        **guardrail_condition,
                        operator: {"bedrock:InferenceProfileArn": via},
                    },
                )
            )
        statements.extend(self._guardrail_statements(guardrail_versions))
        return statements

    def guardrail_statements(
        self, guardrail_versions: GuardrailVersions = "exact"
    ) -> list[iam.PolicyStatement]:
        """Use the guardrail, and refuse any invoke that does not carry it."""
        return [s.policy_statement() for s in self._guardrail_statements(guardrail_versions)]

    def _guardrail_statements(self, guardrail_versions: GuardrailVersions) -> list[_Statement]:
        partition, region, account = self._env()
        unguarded = sorted(
            f"arn:{partition}:bedrock:*::foundation-model/{m.foundation_model_id}"
            for m in self.models.values()
            if not m.guardrail
        )
        deny = _Statement(
            sid="DenyInvokeWithoutLandingZoneGuardrail",
            deny=True,
            actions=[INVOKE, INVOKE_STREAM],
            conditions=self.guardrail.deny_conditions(guardrail_versions),
            # every model but those that cannot take a guardrail
            not_resources=unguarded or None,
            resources=None
            if unguarded
            else [
                f"arn:{partition}:bedrock:*::foundation-model/*",
                f"arn:{partition}:bedrock:*:{account}:inference-profile/*",
                f"arn:{partition}:bedrock:*:{account}:application-inference-profile/*",
                f"arn:{partition}:bedrock:*:{account}:provisioned-model/*",
                f"arn:{partition}:bedrock:*:{account}:imported-model/*",
            ],
        )
        statements = [
            deny,
            _Statement(
                sid="ApplyLandingZoneGuardrail",
                actions=["bedrock:ApplyGuardrail"],
                resources=[self.guardrail.arn],
            ),
        ]
        if self._key is not None:
            if self._key_arn is None:
                self._key_arn = self._key.key_arn
            statements.append(
                _Statement(
                    sid="DecryptGuardrailThroughBedrock",
                    actions=["kms:Decrypt"],
                    resources=[self._key_arn],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"bedrock.{region}.amazonaws.com"}
                    },
                )
            )
        return statements

    def endpoint_statements(
        self,
        principal_condition: dict[str, dict[str, str]],
        *,
        guardrail_versions: GuardrailVersions = "published",
        profiles_tagged: Mapping[str, str] | None = None,
    ) -> list[iam.PolicyStatement]:
        """A ``bedrock-runtime`` VPC endpoint policy narrowed to the allow-list.

        The endpoint lives in the network stack, deployed apart from the guardrail: by default
        it admits any published version of the landing zone guardrail (``GuardrailVersions``).
        """
        statements = []
        anyone = iam.AnyPrincipal()
        for statement in self._statements(
            guardrail_versions=guardrail_versions, profiles_tagged=profiles_tagged
        ):
            if statement.deny or not statement.sid:
                continue
            conditions = dict(statement.conditions or {})
            merged = {
                **conditions.get("StringEquals", {}),
                **principal_condition.get("StringEquals", {}),
            }
            other = {k: v for k, v in principal_condition.items() if k != "StringEquals"}
            statements.append(
                iam.PolicyStatement(
                    sid=statement.sid,
                    principals=[anyone],
                    actions=statement.actions,
                    resources=statement.resources or [],
                    conditions={**conditions, "StringEquals": merged, **other},
                )
            )
        return statements

    # ----- grants -----------------------------------------------------------------------------

    def grant_invoke(
        self,
        grantee: iam.IGrantable,
        aliases: Iterable[str] | None = None,
        *,
        guardrail_versions: GuardrailVersions = "exact",
        profiles_tagged: Mapping[str, str] | None = None,
    ) -> iam.Grant:
        """Let ``grantee`` invoke ``aliases`` (default: all), through the guardrail only.

        ``guardrail_versions="published"`` for a grantee deployed apart from the guardrail
        that always sends the current version itself (``GuardedInferenceFunction``)."""
        grant: iam.Grant | None = None
        for statement in self._statements(
            aliases, guardrail_versions=guardrail_versions, profiles_tagged=profiles_tagged
        ):
            if statement.deny:
                grantee.grant_principal.add_to_principal_policy(statement.policy_statement())
                continue
            part = iam.Grant.add_to_principal(
                grantee=grantee,
                actions=statement.actions,
                resource_arns=statement.resources or [],
                conditions=statement.conditions or {},
            )
            grant = part if grant is None else grant.combine(part)
        if grant is None:
            raise ValueError("aliases: the grant would allow nothing")
        self._acknowledge_wildcards(grantee, aliases, tagged=bool(profiles_tagged))
        return grant

    def managed_policy(
        self,
        construct_id: str,
        *,
        aliases: Iterable[str] | None = None,
        team: str | None = None,
        description: str | None = None,
        guardrail_versions: GuardrailVersions = "exact",
        profiles_tagged: Mapping[str, str] | None = None,
        scope: Construct | None = None,
        extra_statements: Sequence[iam.PolicyStatement] = (),
    ) -> iam.ManagedPolicy:
        """A customer-managed policy with the grant, for human or federated roles (created in
        ``scope``, default: this construct); ``extra_statements`` follow the grant's (the same
        document as adding them afterwards, without a round trip to the CDK each)."""
        aliases = list(aliases) if aliases is not None else None
        # Policies made with the same arguments (a team's policy and its boundary) share their
        # statement objects: a policy freezes its statements when synthesized and copies them
        # when it merges some, so sharing changes no document, and saves the round trips.
        key = (
            tuple(aliases) if aliases is not None else None,
            team,
            guardrail_versions,
            tuple(sorted(profiles_tagged.items())) if profiles_tagged else None,
        )
        statements = self._policy_statements.get(key)
        if statements is None:
            statements = self.statements(
                aliases,
                team=team,
                guardrail_versions=guardrail_versions,
                profiles_tagged=profiles_tagged,
            )
            self._policy_statements[key] = statements
        policy = iam.ManagedPolicy(
            scope or self,
            construct_id,
            description=description
            or "Invoke allow-listed Bedrock models through the landing zone guardrail",
            statements=[*statements, *extra_statements],
        )
        self.acknowledge_wildcards(policy, aliases, tagged=bool(profiles_tagged))
        return policy

    def acknowledge_wildcards(
        self,
        policy_holder: Construct,
        aliases: Iterable[str] | None = None,
        *,
        tagged: bool = False,
    ) -> None:
        """Acknowledge the only wildcards the grant has: cross-region destination models, and
        (``tagged``) the application inference profiles admitted by their tags."""
        if self._shown_partition is None:
            partition = self._env()[0]
            unresolved = cdk.Token.is_unresolved(partition)
            self._shown_partition = "<AWS::Partition>" if unresolved else partition
        shown = self._shown_partition
        selected = (
            [self._model(a) for a in aliases] if aliases is not None else self.models.values()
        )
        findings = [
            f"AwsSolutions-IAM5[Resource::arn:{shown}:bedrock:*::foundation-model/"
            f"{m.foundation_model_id}]"
            for m in selected
            if m.is_inference_profile
        ]
        if findings:
            acknowledge(
                policy_holder,
                findings,
                "Cross-region inference: Bedrock picks the destination region per request, so the "
                "foundation-model ARN's region is a wildcard; the statement only applies when "
                "bedrock:InferenceProfileArn equals the allow-listed profile and the landing zone "
                "guardrail is attached.",
            )
        if tagged:
            pattern = nag_form(cdk.Stack.of(self), self.application_profile_pattern())
            acknowledge(
                policy_holder,
                [f"AwsSolutions-IAM5[Resource::{pattern}]"],
                "Application inference profiles are admitted by their tags (aws:ResourceTag), "
                "so the statement does not grow with the number of teams; a call through a "
                "profile is also authorized on the model it wraps, which only the allow-list "
                "admits, and only with the landing zone guardrail.",
            )

    def _acknowledge_wildcards(
        self, grantee: iam.IGrantable, aliases: Iterable[str] | None, *, tagged: bool = False
    ) -> None:
        principal = grantee.grant_principal
        if isinstance(principal, Construct):
            holder = getattr(principal, "permissions", None)
            self.acknowledge_wildcards(
                holder if isinstance(holder, Construct) else principal, aliases, tagged=tagged
            )

    # ----- helpers ----------------------------------------------------------------------------

    def _model(self, alias: str) -> ModelConfig:
        try:
            return self.models[alias]
        except KeyError:
            known = ", ".join(sorted(self.models))
            raise ValueError(f"model alias {alias!r} is not in the allow-list ({known})") from None

    @staticmethod
    def _actions(streaming: bool) -> list[str]:
        return [INVOKE, INVOKE_STREAM] if streaming else [INVOKE]
