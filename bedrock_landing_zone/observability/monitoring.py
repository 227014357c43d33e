"""Dashboards and alarms generated from the model allow-list, inside CloudWatch's limits.

Reusable pieces for other teams: ``ModelDashboardSection`` (the widgets of one model id) and
``ModelAlarms`` (its alarm set). ``LandingZoneObservability`` composes them for every
allow-listed model id *as callers pass it* (the ``ModelId`` dimension: profile ids included):
an overview dashboard that grows with neither models nor teams, one dashboard per model group
(``model_groups``: a provider's models in chunks of ``observability.models_per_dashboard``),
and composite alarms as a tree (model -> model group -> "inference degraded"). The limits it
keeps to (``WIDGETS_PER_DASHBOARD``, ``METRICS_PER_WIDGET``, ``ALARMS_PER_COMPOSITE_RULE``,
``COMPOSITE_RULE_CHARACTERS``...) are below, each with the AWS document it comes from.

Every metric comes from ``metrics_catalog`` (documented metrics only).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from bedrock_landing_zone.compliance.preflight import (
    ACCOUNT_PLACEHOLDER,
    LONGEST_PARTITION,
    LONGEST_REGION,
)
from bedrock_landing_zone.config import LandingZoneConfig, ModelConfig, ObservabilityConfig
from bedrock_landing_zone.governance.model_access import GuardrailReference
from bedrock_landing_zone.observability.metrics_catalog import (
    APIGW,
    BEDROCK,
    GUARDRAILS,
    INFERENCE,
    LAMBDA,
    insights_query,
    metric,
)

__all__ = [
    "ALARMS_PER_ALARM_WIDGET",
    "ALARMS_PER_COMPOSITE_RULE",
    "COMPOSITE_RULE_CHARACTERS",
    "METRICS_PER_DASHBOARD",
    "METRICS_PER_MATH_ALARM",
    "METRICS_PER_WIDGET",
    "RUNBOOK",
    "WIDGETS_PER_DASHBOARD",
    "LandingZoneObservability",
    "ModelAlarms",
    "ModelDashboardSection",
    "ModelGroup",
    "ModelGroupObservability",
    "TeamObservability",
    "any_of_rule_length",
    "longest_alarm_arn",
    "model_groups",
    "provider_of",
]


# Durations are immutable values: each length is made once per process, since every
# ``cdk.Duration.minutes(...)`` is a round trip to the CDK's Node.js process.
@functools.cache
def _minutes(n: int) -> cdk.Duration:
    return cdk.Duration.minutes(n)


@functools.cache
def _hours(n: int) -> cdk.Duration:
    return cdk.Duration.hours(n)


#: What to do when an alarm fires: the first line of each alarm's description.
RUNBOOK = {
    "throttle-rate": "Throttled above threshold: compare EstimatedTPMQuotaUsage with the quota, "
    "add a fallback or cross-region profile, or request a quota increase.",
    "server-error-rate": "Bedrock server errors: check the AWS Health Dashboard for Bedrock here; "
    "fallbacks should absorb them, otherwise fail over to another profile.",
    "p99-latency": "p99 latency high: compare OutputTokenCount (longer answers) with "
    "TimeToFirstToken (service side); cap maxTokens or move callers to a faster model.",
    "quota-usage": "Token quota nearly used: raise the tokens-per-minute quota in Service Quotas "
    "before callers are throttled, or spread load over a cross-region profile.",
    "guardrail-interventions": "Guardrail interventions above normal: review invocation logs for "
    "abuse or a prompt-injection campaign; contact the owning team.",
    "log-delivery": "Invocation logs not delivered: check the delivery role, bucket policy and key "
    "policy (audit evidence is being lost).",
    "handler-errors": "Inference function errors: read its logs (no prompt text is logged) and "
    "recent deployments; callers get 5XX.",
    "api-5xx": "Inference API 5XX: see the function's errors and Bedrock server errors; callers "
    "are failing.",
    "model-degraded": "Model degraded: one of this model id's alarms (throttle rate, server "
    "errors, p99 latency, quota usage) fired; open its model-group dashboard and follow that "
    "alarm's runbook line.",
    "model-group-degraded": "Model group degraded: a model of this group is degraded; the group "
    "dashboard's model health shows which one.",
    "inference-degraded": "Inference degraded: a model group, the function or the API alarm "
    "fired; the overview's alarm status shows which, then follow it down to the alarm.",
}


#: Where the runbook is when no ``runbook_url`` is configured.
RUNBOOK_IN_REPOSITORY = "docs/runbook.md"


def _runbook(runbook_url: str | None, kind: str = "") -> str:
    """The runbook location (with an anchor), as text."""
    anchor = f"#{kind}" if kind else ""
    return f"{runbook_url or RUNBOOK_IN_REPOSITORY}{anchor}"


def _runbook_link(runbook_url: str | None, kind: str = "") -> str:
    """A markdown link for dashboards, or plain text when there is no URL to link to."""
    if runbook_url:
        return f"[Runbook]({_runbook(runbook_url, kind)})"
    return f"Runbook: {_runbook(None, kind)} in the landing zone repository."


def _description(kind: str, subject: str, runbook_url: str | None) -> str:
    return f"{subject}: {RUNBOOK[kind]} Runbook: {_runbook(runbook_url, kind)}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _label(text: str) -> str:
    return "".join(
        part.capitalize() for part in text.replace(".", "-").replace(":", "-").split("-")
    )


class ModelDashboardSection(Construct):
    """The widgets for one Bedrock model id (as callers pass it), ready to add to a dashboard.

    Example::

        section = ModelDashboardSection(self, "Sonnet", model_id="us.anthropic.claude-...")
        section.add_to(dashboard)

    Rows: a text header; Invocations and throttles; InvocationLatency p50/p90/p99; input and
    output tokens; client and server errors; TimeToFirstToken; EstimatedTPMQuotaUsage with a
    horizontal line at ``tokens_per_minute_quota`` when given. ``explain=False`` keeps the header
    to the model's name and id (a dashboard of many models explains them once).

    Attributes:
        rows: the widget rows (each at most 24 columns wide).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_id: str,
        label: str | None = None,
        tokens_per_minute_quota: int | None = None,
        runbook_url: str | None = None,
        period: cdk.Duration | None = None,
        explain: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        period = period or _minutes(5)
        dims = {"ModelId": model_id}
        name = label or model_id

        def m(
            metric_name: str, statistic: str = "Sum", metric_label: str | None = None
        ) -> cloudwatch.Metric:
            return metric(
                BEDROCK, metric_name, dims, statistic=statistic, label=metric_label, period=period
            )

        quota = m("EstimatedTPMQuotaUsage", "Maximum", "Estimated TPM quota usage")
        header = f"### {name} · `{model_id}`"
        if explain:
            header += (
                "\nVolume, latency, tokens, errors and quota of this allow-listed model id (the "
                "`ModelId` dimension is the id callers pass, profile ids included). "
                + _runbook_link(runbook_url)
            )
        self.rows: list[list[cloudwatch.IWidget]] = [
            [cloudwatch.TextWidget(markdown=header, width=24, height=2 if explain else 1)],
            [
                cloudwatch.GraphWidget(
                    title=f"{name}: invocations and throttles",
                    left=[
                        m("Invocations", metric_label="Invocations"),
                        m("InvocationThrottles", metric_label="Throttles"),
                    ],
                    width=6,
                    height=6,
                ),
                cloudwatch.GraphWidget(
                    title=f"{name}: latency p50/p90/p99 (ms)",
                    left=[
                        m("InvocationLatency", "p50", "p50"),
                        m("InvocationLatency", "p90", "p90"),
                        m("InvocationLatency", "p99", "p99"),
                    ],
                    width=6,
                    height=6,
                ),
                cloudwatch.GraphWidget(
                    title=f"{name}: tokens",
                    left=[
                        m("InputTokenCount", metric_label="Input tokens"),
                        m("OutputTokenCount", metric_label="Output tokens"),
                    ],
                    width=6,
                    height=6,
                ),
                cloudwatch.GraphWidget(
                    title=f"{name}: errors",
                    left=[
                        m("InvocationClientErrors", metric_label="Client errors"),
                        m("InvocationServerErrors", metric_label="Server errors"),
                    ],
                    width=6,
                    height=6,
                ),
            ],
            [
                cloudwatch.GraphWidget(
                    title=f"{name}: time to first token (ms)",
                    left=[m("TimeToFirstToken", "p50", "p50"), m("TimeToFirstToken", "p90", "p90")],
                    width=12,
                    height=5,
                ),
                cloudwatch.GraphWidget(
                    title=f"{name}: tokens-per-minute quota usage",
                    left=[quota],
                    left_annotations=(
                        [
                            cloudwatch.HorizontalAnnotation(
                                value=tokens_per_minute_quota,
                                label=f"Quota {tokens_per_minute_quota:,} TPM",
                                color=cloudwatch.Color.RED,
                            )
                        ]
                        if tokens_per_minute_quota
                        else None
                    ),
                    width=12,
                    height=5,
                ),
            ],
        ]

    def add_to(self, dashboard: cloudwatch.Dashboard) -> None:
        for row in self.rows:
            dashboard.add_widgets(*row)


class ModelAlarms(Construct):
    """The alarm set of one model id: throttle rate, server-error rate, p99 latency, quota usage.

    Thresholds come from ``thresholds`` (``ObservabilityConfig``); the quota alarm exists only
    when ``tokens_per_minute_quota`` is given (it fires at ``quota_usage_percent`` of it). Each
    alarm's description starts with what to do.

    Attributes:
        alarms: kind -> ``cloudwatch.Alarm``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_id: str,
        name_prefix: str,
        thresholds: ObservabilityConfig | None = None,
        tokens_per_minute_quota: int | None = None,
        p99_latency_ms: int | None = None,
        action: cloudwatch.IAlarmAction | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        t = thresholds or ObservabilityConfig()
        period = _minutes(t.period_minutes)
        dims = {"ModelId": model_id}

        def m(
            metric_name: str, statistic: str = "Sum", p: cdk.Duration = period
        ) -> cloudwatch.Metric:
            return metric(BEDROCK, metric_name, dims, statistic=statistic, period=p)

        common: dict[str, Any] = {
            "evaluation_periods": t.evaluation_periods,
            "datapoints_to_alarm": t.datapoints_to_alarm,
            "treat_missing_data": cloudwatch.TreatMissingData.NOT_BREACHING,
        }
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        rate = {
            "throttles": m("InvocationThrottles"),
            "server": m("InvocationServerErrors"),
            "invocations": m("Invocations"),
        }
        self.alarms["throttle-rate"] = cloudwatch.MathExpression(
            expression=(
                "100 * FILL(throttles, 0) / MAX([FILL(invocations, 0) + FILL(throttles, 0), 1])"
            ),
            using_metrics={"throttles": rate["throttles"], "invocations": rate["invocations"]},
            label="Throttle rate (%)",
            period=period,
        ).create_alarm(
            self,
            "ThrottleRate",
            alarm_name=f"{name_prefix}-throttle-rate",
            alarm_description=_description("throttle-rate", model_id, t.runbook_url),
            threshold=t.throttle_rate_percent,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            **common,
        )
        self.alarms["server-error-rate"] = cloudwatch.MathExpression(
            expression="100 * FILL(server, 0) / MAX([FILL(invocations, 0), 1])",
            using_metrics={"server": rate["server"], "invocations": rate["invocations"]},
            label="Server error rate (%)",
            period=period,
        ).create_alarm(
            self,
            "ServerErrorRate",
            alarm_name=f"{name_prefix}-server-error-rate",
            alarm_description=_description("server-error-rate", model_id, t.runbook_url),
            threshold=t.server_error_rate_percent,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            **common,
        )
        self.alarms["p99-latency"] = m("InvocationLatency", "p99").create_alarm(
            self,
            "P99Latency",
            alarm_name=f"{name_prefix}-p99-latency",
            alarm_description=_description("p99-latency", model_id, t.runbook_url),
            threshold=p99_latency_ms or t.p99_latency_ms,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            **common,
        )
        if tokens_per_minute_quota:
            self.alarms["quota-usage"] = m(
                "EstimatedTPMQuotaUsage", "Maximum", _minutes(1)
            ).create_alarm(
                self,
                "QuotaUsage",
                alarm_name=f"{name_prefix}-quota-usage",
                alarm_description=_description("quota-usage", model_id, t.runbook_url),
                threshold=round(tokens_per_minute_quota * t.quota_usage_percent / 100),
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                **common,
            )
        if action is not None:
            for alarm in self.alarms.values():
                alarm.add_alarm_action(action)
                alarm.add_ok_action(action)


# ----- limits ---------------------------------------------------------------------------------

# CloudWatch User Guide, "CloudWatch service quotas", Dashboards
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html): "Up to
# 500 widgets per dashboard. Up to 500 metrics per dashboard widget. Up to 2500 metrics per
# dashboard, across all widgets. These quotas include all metrics retrieved for use in metric math
# functions, even if those metrics are not displayed on the graph." (Not adjustable.) The widget
# count is also in the API Reference, "Dashboard Body Structure and Syntax" ("between 0 and 500
# widget objects").
WIDGETS_PER_DASHBOARD = 500
METRICS_PER_WIDGET = 500
METRICS_PER_DASHBOARD = 2_500
# CloudWatch API Reference, "Dashboard Body Structure and Syntax", alarm status widget
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html):
# "alarms: An array of alarm ARNs to include in the widget. The array can have 1-100 ARNs."
ALARMS_PER_ALARM_WIDGET = 100
# CloudWatch API Reference, PutCompositeAlarm
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html):
# "The rule expression of a composite alarm can include as many as 100 underlying alarms. Any
# single alarm can be included in the rule expressions of as many as 150 composite alarms."
# AlarmRule: "Maximum length of 10240"; the CloudFormation User Guide, AWS::CloudWatch::
# CompositeAlarm (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/
# aws-resource-cloudwatch-compositealarm.html), AlarmRule: "Maximum: 10240".
ALARMS_PER_COMPOSITE_RULE = 100
COMPOSITE_RULE_CHARACTERS = 10_240
# CloudWatch User Guide, alarms, "Limits"
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-limits.html): "Alarms based
# on metric math expressions can reference a maximum of 10 metrics. This is a hard limit that
# cannot be increased."
METRICS_PER_MATH_ALARM = 10


def longest_alarm_arn(name: str) -> str:
    """The longest ARN an alarm called ``name`` can have (12-digit account, longest partition and
    region): what a composite rule's ``ALARM("<arn>")`` costs at most."""
    return f"arn:{LONGEST_PARTITION}:cloudwatch:{LONGEST_REGION}:{ACCOUNT_PLACEHOLDER}:alarm:{name}"


def any_of_rule_length(alarm_names: Sequence[str]) -> int:
    """Characters of ``AlarmRule.any_of(from_alarm(a, ALARM) ...)`` as CloudWatch receives it,
    each ARN at its longest: ``(ALARM("arn") OR ALARM("arn") ...)``."""
    clauses = [f'ALARM("{longest_alarm_arn(n)}")' for n in alarm_names]
    return len("(" + " OR ".join(clauses) + ")")


def literal_alarm_name(alarm: cloudwatch.IAlarm) -> str:
    """The name an alarm of this module was given: its CloudFormation ``AlarmName``. The L2's
    ``alarm_name`` is a token (``${Token[...]}``, 19 characters, whatever the name), so a rule
    measured with it is measured short."""
    resource = alarm.node.default_child
    name = getattr(resource, "alarm_name", None)  # CfnAlarm, CfnCompositeAlarm
    if not isinstance(name, str) or cdk.Token.is_unresolved(name):
        raise ValueError(f"alarm {alarm.node.path} has no literal name to measure its rule with")
    return name


def _check_rule(alarm_name: str, members: Sequence[str], knob: str) -> None:
    """Refuse a composite rule CloudWatch would refuse, naming the knob that drives it."""
    length = any_of_rule_length(members)
    if len(members) > ALARMS_PER_COMPOSITE_RULE or length > COMPOSITE_RULE_CHARACTERS:
        raise ValueError(
            f"composite alarm {alarm_name}: its rule would name {len(members)} alarms in "
            f"{length:,} characters (CloudWatch allows {ALARMS_PER_COMPOSITE_RULE} alarms and "
            f"{COMPOSITE_RULE_CHARACTERS:,} characters): change {knob}"
        )


# ----- model groups ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelGroup:
    """Allow-listed models that share a dashboard and a group composite alarm.

    Attributes:
        name: ``<provider>`` for the first chunk of a provider's models, then ``<provider>-2``,
            ``<provider>-3``... (appending models to the allow-list never renames a group).
        provider: the model provider (``anthropic`` of ``us.anthropic.claude-...``).
        models: the group's models, in allow-list order.
    """

    name: str
    provider: str
    models: tuple[ModelConfig, ...]


def provider_of(model: ModelConfig) -> str:
    """The provider part of a model id, without an inference-profile geography prefix."""
    return model.foundation_model_id.split(".", 1)[0]


def model_groups(models: Sequence[ModelConfig], per_dashboard: int) -> list[ModelGroup]:
    """Models grouped by provider (first-appearance order), each provider cut into chunks of at
    most ``per_dashboard`` models (``observability.models_per_dashboard``)."""
    if per_dashboard < 1:
        raise ValueError("per_dashboard must be at least 1")
    by_provider: dict[str, list[ModelConfig]] = {}
    for model in models:
        by_provider.setdefault(provider_of(model), []).append(model)
    groups = []
    for provider, members in by_provider.items():
        for index, start in enumerate(range(0, len(members), per_dashboard)):
            name = provider if index == 0 else f"{provider}-{index + 1}"
            groups.append(ModelGroup(name, provider, tuple(members[start : start + per_dashboard])))
    return groups


def _alarm_status_widgets(
    title: str, alarms: Sequence[cloudwatch.IAlarm], width: int = 24
) -> list[cloudwatch.IWidget]:
    """Alarm status widgets of at most ``ALARMS_PER_ALARM_WIDGET`` alarms each."""
    chunks = [
        alarms[i : i + ALARMS_PER_ALARM_WIDGET]
        for i in range(0, len(alarms), ALARMS_PER_ALARM_WIDGET)
    ]
    return [
        cloudwatch.AlarmStatusWidget(
            title=title if len(chunks) == 1 else f"{title} ({n + 1}/{len(chunks)})",
            alarms=list(chunk),
            sort_by=cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
            width=width,
            height=min(2 + math.ceil(len(chunk) / 2), 12),
        )
        for n, chunk in enumerate(chunks)
    ]


class ModelGroupObservability(Construct):
    """The dashboard and the group composite alarm of one ``ModelGroup``.

    Dashboard ``<prefix>-models-<group>``: a header, the alarm status of each model's composite,
    then each model's ``ModelDashboardSection`` (7 widgets a model). Composite
    ``<prefix>-models-<group>-degraded``: any of the models' composites (``model_composites``).
    No alarm action of its own: the landing zone composite above it notifies, and so do the
    metric alarms below it.

    Attributes:
        dashboard: the ``cloudwatch.Dashboard``; composite: the ``cloudwatch.CompositeAlarm``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        group: ModelGroup,
        prefix: str,
        model_composites: Sequence[cloudwatch.CompositeAlarm],
        settings: ObservabilityConfig,
        period: cdk.Duration,
        overview: str,
    ) -> None:
        super().__init__(scope, construct_id)
        name = f"{prefix}-models-{group.name}-degraded"
        members = [literal_alarm_name(c) for c in model_composites]
        _check_rule(name, members, "`observability.models_per_dashboard` (models per group)")
        self.composite = cloudwatch.CompositeAlarm(
            self,
            "Degraded",
            composite_alarm_name=name,
            alarm_description=_description(
                "model-group-degraded",
                f"Models {group.name} ({_count(len(group.models), group.provider + ' model')})",
                settings.runbook_url,
            ),
            alarm_rule=cloudwatch.AlarmRule.any_of(
                *(
                    cloudwatch.AlarmRule.from_alarm(c, cloudwatch.AlarmState.ALARM)
                    for c in model_composites
                )
            ),
        )
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"{prefix}-models-{group.name}",
            default_interval=_hours(3),
        )
        aliases = ", ".join(m.alias for m in group.models)
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=(
                    f"# Models · {group.name}\n"
                    f"{_count(len(group.models), 'allow-listed model id')} of {group.provider}: "
                    f"{aliases}. Each row: volume, latency, tokens, errors and quota of one id "
                    "(the `ModelId` dimension is the id callers pass, profile ids included). "
                    f"Landing zone overview: dashboard `{overview}`. "
                    f"{_runbook_link(settings.runbook_url, 'model-group-degraded')}"
                ),
                width=24,
                height=2,
            )
        )
        self.dashboard.add_widgets(
            *_alarm_status_widgets(
                f"Model health ({_count(len(group.models), 'model')})",
                [self.composite, *model_composites],
            )
        )
        self.sections: list[ModelDashboardSection] = []
        for model in group.models:
            section = ModelDashboardSection(
                self,
                f"{_label(model.alias)}Section",
                model_id=model.model_id,
                label=model.alias,
                tokens_per_minute_quota=model.tokens_per_minute_quota,
                runbook_url=settings.runbook_url,
                period=period,
                explain=False,
            )
            section.add_to(self.dashboard)
            self.sections.append(section)


class LandingZoneObservability(Construct):
    """The landing zone's dashboards and alarms, sized to stay inside CloudWatch's limits.

    - Overview dashboard ``bedrock-lz-<env>``: the alarm status of the composite tree, the busiest
      model ids (Metrics Insights top ``observability.overview_top``), the guardrail, invocation
      log delivery, the inference function and its API. Its size depends on neither the number
      of models nor of teams (only the alarm status widget lists one composite per model group).
    - One dashboard per model group (``ModelGroupObservability``; a provider's models in chunks of
      ``observability.models_per_dashboard``) with each model's section.
    - Alarms as a tree: each model's metric alarms (``ModelAlarms``) -> the model's composite
      ``<prefix>-<alias>-model-degraded`` -> the group's ``<prefix>-models-<group>-degraded`` ->
      ``<prefix>-inference-degraded`` (with the function and API alarms). No rule names more
      than 100 alarms or exceeds 10,240 characters (checked here with the longest real ARNs).
      Metric alarms and the landing zone composite notify the topic; the model and group
      composites are there to be read (dashboards, the tree), not to page twice.

    Attributes:
        dashboard: the overview ``cloudwatch.Dashboard`` (``bedrock-lz-<env>``).
        groups: the ``ModelGroup`` list; group_observability: group name ->
            ``ModelGroupObservability`` (dashboard, composite).
        model_alarms: alias -> ``ModelAlarms``; model_composites: alias -> the model's
            ``cloudwatch.CompositeAlarm``.
        alarms: every alarm by name (``cloudwatch.IAlarm``), composites included.
        composite: the "inference degraded" ``cloudwatch.CompositeAlarm`` (the root).
        degraded_members: the alarms the root's rule names.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LandingZoneConfig,
        topic: sns.ITopic,
        guardrail: GuardrailReference,
        function: lambda_.IFunction | None = None,
        api: apigw.RestApi | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        t = config.observability
        period = _minutes(t.period_minutes)
        action = actions.SnsAction(topic)
        prefix = f"bedrock-lz-{config.name}"
        self._rows: list[list[cloudwatch.IWidget]] = []
        self.alarms: dict[str, cloudwatch.IAlarm] = {}
        self.model_alarms: dict[str, ModelAlarms] = {}
        self.model_composites: dict[str, cloudwatch.CompositeAlarm] = {}

        # 1. each model's metric alarms and its composite (construct ids as before: the alarms
        # keep their logical ids, so no alarm is replaced)
        for model in config.models:
            label = _label(model.alias)
            alarms = ModelAlarms(
                self,
                f"{label}Alarms",
                model_id=model.model_id,
                name_prefix=f"{prefix}-{model.alias}",
                thresholds=t,
                tokens_per_minute_quota=model.tokens_per_minute_quota,
                p99_latency_ms=model.p99_latency_alarm_ms,
                action=action,
            )
            self.model_alarms[model.alias] = alarms
            for kind, alarm in alarms.alarms.items():
                self.alarms[f"{model.alias}-{kind}"] = alarm
            name = f"{prefix}-{model.alias}-model-degraded"
            _check_rule(
                name, [literal_alarm_name(a) for a in alarms.alarms.values()], "the model's alarms"
            )
            composite = cloudwatch.CompositeAlarm(
                self,
                f"{label}Degraded",
                composite_alarm_name=name,
                alarm_description=_description("model-degraded", model.model_id, t.runbook_url),
                alarm_rule=cloudwatch.AlarmRule.any_of(
                    *(
                        cloudwatch.AlarmRule.from_alarm(a, cloudwatch.AlarmState.ALARM)
                        for a in alarms.alarms.values()
                    )
                ),
            )
            self.model_composites[model.alias] = composite
            self.alarms[f"{model.alias}-model-degraded"] = composite

        # 2. model groups: a dashboard and a composite each
        self.groups = model_groups(config.models, t.models_per_dashboard)
        self.group_observability: dict[str, ModelGroupObservability] = {}
        for group in self.groups:
            observed = ModelGroupObservability(
                self,
                f"Models{_label(group.name)}",
                group=group,
                prefix=prefix,
                model_composites=[self.model_composites[m.alias] for m in group.models],
                settings=t,
                period=period,
                overview=prefix,
            )
            self.group_observability[group.name] = observed
            self.alarms[f"models-{group.name}-degraded"] = observed.composite

        # 3. the overview: alarm status first, then the busiest model ids, then the sections
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=prefix,
            default_interval=_hours(3),
        )
        degraded: list[cloudwatch.IAlarm] = [g.composite for g in self.group_observability.values()]
        self._guardrail_section(guardrail, t, prefix, period, topic)
        self._log_delivery(t, prefix, period, action)
        if function is not None:
            degraded.extend(self._handler_section(config, function, t, prefix, period, action))
        if api is not None:
            degraded.extend(self._api_section(api, t, prefix, period, action))

        root = f"{prefix}-inference-degraded"
        _check_rule(
            root,
            [literal_alarm_name(a) for a in degraded],
            "`observability.models_per_dashboard` (fewer, larger model groups)",
        )
        self.composite = cloudwatch.CompositeAlarm(
            self,
            "InferenceDegraded",
            composite_alarm_name=root,
            alarm_description=_description("inference-degraded", config.name, t.runbook_url),
            alarm_rule=cloudwatch.AlarmRule.any_of(
                *(cloudwatch.AlarmRule.from_alarm(a, cloudwatch.AlarmState.ALARM) for a in degraded)
            ),
        )
        self.composite.add_alarm_action(action)
        self.composite.add_ok_action(action)
        self.alarms["inference-degraded"] = self.composite
        self.degraded_members = degraded
        self._overview(config, t, prefix, period)

    # ----- the overview -----------------------------------------------------------------------

    def _overview(
        self, config: LandingZoneConfig, t: ObservabilityConfig, prefix: str, period: cdk.Duration
    ) -> None:
        """Widgets in reading order: header, alarm status, busiest model ids, then the sections
        the section methods collected (guardrail, log delivery, function, API)."""
        groups = [
            f"- `{prefix}-models-{g.name}`: {_count(len(g.models), g.provider + ' model')} "
            f"({g.models[0].alias} … {g.models[-1].alias})"
            if len(g.models) > 1
            else f"- `{prefix}-models-{g.name}`: {g.models[0].alias}"
            for g in self.groups
        ]
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=(
                    f"# Bedrock landing zone · {config.name}\n"
                    "Alarm status of the composite tree; the busiest model ids called in this "
                    "region (Metrics Insights top-N, up to two weeks back); the guardrail, "
                    "invocation-log delivery, the inference function and its API. Per-model rows "
                    "are on the model dashboards. Alarms notify the landing zone topic. "
                    f"{_runbook_link(t.runbook_url, 'inference-degraded')}"
                ),
                width=24,
                height=2,
            )
        )
        status: list[cloudwatch.IAlarm] = [self.composite, *self.degraded_members]
        status += [self.alarms["guardrail-interventions"], self.alarms["log-delivery-failures"]]
        widgets = _alarm_status_widgets("Landing zone and model groups", status, width=14)
        height = max(w.height for w in widgets)
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown="### Model dashboards\n" + "\n".join(groups),
                width=10,
                height=max(height, 1 + math.ceil(len(groups) / 1.5)),
            ),
            *widgets,
        )
        top = t.overview_top

        def busiest(name: str, title: str, function: str = "SUM") -> cloudwatch.GraphWidget:
            query = insights_query(
                BEDROCK, name, ("ModelId",), function=function, limit=top, period=period
            )
            return cloudwatch.GraphWidget(title=title, left=[query], width=6, height=6)

        self.dashboard.add_widgets(
            busiest("Invocations", f"Invocations (top {top})"),
            busiest("InvocationThrottles", f"Throttles (top {top})"),
            busiest("InvocationServerErrors", f"Server errors (top {top})"),
            busiest("InvocationLatency", f"Avg latency ms (top {top})", "AVG"),
        )
        for row in self._rows:
            self.dashboard.add_widgets(*row)

    def _add(self, *widgets: cloudwatch.IWidget) -> None:
        """Queue one overview row (the overview is assembled after every alarm exists)."""
        self._rows.append(list(widgets))

    # ----- sections ---------------------------------------------------------------------------

    def _guardrail_section(
        self,
        guardrail: GuardrailReference,
        t: ObservabilityConfig,
        prefix: str,
        period: cdk.Duration,
        topic: sns.ITopic,
    ) -> None:
        dims = {"GuardrailArn": guardrail.arn, "GuardrailVersion": guardrail.version}

        def g(name: str, statistic: str = "Sum", label: str | None = None) -> cloudwatch.Metric:
            return metric(GUARDRAILS, name, dims, statistic=statistic, label=label, period=period)

        self._add(
            cloudwatch.TextWidget(
                markdown=(
                    "### Guardrail\nEvery call carries the landing zone guardrail. A rise in "
                    "interventions above the learned band means abuse or a prompt-injection "
                    f"campaign. {_runbook_link(t.runbook_url, 'guardrail-interventions')}"
                ),
                width=24,
                height=2,
            )
        )
        self._add(
            cloudwatch.GraphWidget(
                title="Guardrail: invocations and interventions",
                left=[
                    g("Invocations", label="Invocations"),
                    g("InvocationsIntervened", label="Intervened"),
                ],
                width=12,
                height=6,
            ),
            cloudwatch.GraphWidget(
                title="Guardrail: latency p50/p99 (ms)",
                left=[g("InvocationLatency", "p50", "p50"), g("InvocationLatency", "p99", "p99")],
                width=12,
                height=6,
            ),
        )
        intervened = g("InvocationsIntervened")
        alarm = cloudwatch.CfnAlarm(
            self,
            "GuardrailInterventionsAnomaly",
            alarm_name=f"{prefix}-guardrail-interventions",
            alarm_description=_description("guardrail-interventions", "Guardrail", t.runbook_url),
            comparison_operator="GreaterThanUpperThreshold",
            evaluation_periods=t.evaluation_periods,
            datapoints_to_alarm=t.datapoints_to_alarm,
            threshold_metric_id="band",
            treat_missing_data="notBreaching",
            metrics=[
                cloudwatch.CfnAlarm.MetricDataQueryProperty(
                    id="intervened",
                    return_data=True,
                    metric_stat=cloudwatch.CfnAlarm.MetricStatProperty(
                        metric=cloudwatch.CfnAlarm.MetricProperty(
                            namespace=GUARDRAILS,
                            metric_name=intervened.metric_name,
                            dimensions=[
                                cloudwatch.CfnAlarm.DimensionProperty(name=k, value=v)
                                for k, v in dims.items()
                            ],
                        ),
                        period=period.to_seconds(),
                        stat="Sum",
                    ),
                ),
                cloudwatch.CfnAlarm.MetricDataQueryProperty(
                    id="band",
                    expression=f"ANOMALY_DETECTION_BAND(intervened, {t.guardrail_anomaly_band})",
                    label="Expected interventions",
                    return_data=True,
                ),
            ],
            alarm_actions=[topic.topic_arn],
            ok_actions=[topic.topic_arn],
        )
        self.alarms["guardrail-interventions"] = cloudwatch.Alarm.from_alarm_arn(
            self, "GuardrailInterventionsRef", alarm.attr_arn
        )

    def _log_delivery(
        self,
        t: ObservabilityConfig,
        prefix: str,
        period: cdk.Duration,
        action: cloudwatch.IAlarmAction,
    ) -> None:
        def d(name: str, label: str) -> cloudwatch.Metric:
            return metric(BEDROCK, name, statistic="Sum", label=label, period=period)

        failures = {
            "cw": d("ModelInvocationLogsCloudWatchDeliveryFailure", "CloudWatch failures"),
            "s3": d("ModelInvocationLogsS3DeliveryFailure", "S3 failures"),
            "large": d("ModelInvocationLargeDataS3DeliveryFailure", "Large data failures"),
        }
        self._add(
            cloudwatch.GraphWidget(
                title="Invocation log delivery: success",
                left=[
                    d("ModelInvocationLogsCloudWatchDeliverySuccess", "CloudWatch"),
                    d("ModelInvocationLogsS3DeliverySuccess", "S3"),
                    d("ModelInvocationLargeDataS3DeliverySuccess", "Large data"),
                ],
                width=12,
                height=5,
            ),
            cloudwatch.GraphWidget(
                title="Invocation log delivery: failures (audit evidence lost)",
                left=list(failures.values()),
                width=12,
                height=5,
            ),
        )
        alarm = cloudwatch.MathExpression(
            expression="FILL(cw, 0) + FILL(s3, 0) + FILL(large, 0)",
            using_metrics=failures,
            label="Log delivery failures",
            period=period,
        ).create_alarm(
            self,
            "LogDeliveryFailures",
            alarm_name=f"{prefix}-log-delivery-failures",
            alarm_description=_description("log-delivery", "Invocation logging", t.runbook_url),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        self.alarms["log-delivery-failures"] = alarm

    def _handler_section(
        self,
        config: LandingZoneConfig,
        function: lambda_.IFunction,
        t: ObservabilityConfig,
        prefix: str,
        period: cdk.Duration,
        action: cloudwatch.IAlarmAction,
    ) -> list[cloudwatch.Alarm]:
        fn = {"FunctionName": function.function_name}

        top = t.overview_top

        def pairs(name: str) -> list[cloudwatch.IMetric]:
            # the busiest team/model pairs the handler reports, whatever the teams and models are:
            # a Metrics Insights query sorts every pair (up to 10,000) and returns `top` series,
            # so the overview neither changes when a team is added nor outgrows its graph limit
            # (per-team detail is in the team stacks' dashboards)
            return [insights_query(INFERENCE, name, ("Team", "Model"), limit=top, period=period)]

        self._add(
            cloudwatch.TextWidget(
                markdown=(
                    f"### Inference function and API\nThe {top} busiest team/model pairs (tokens, "
                    "estimated cost, fallbacks) and models (breaker openings), then the function "
                    f"and the private API. {_runbook_link(t.runbook_url, 'handler-errors')}"
                ),
                width=24,
                height=2,
            )
        )
        self._add(
            cloudwatch.GraphWidget(
                title=f"Input tokens (top {top})", left=pairs("InputTokens"), width=6
            ),
            cloudwatch.GraphWidget(
                title=f"Output tokens (top {top})", left=pairs("OutputTokens"), width=6
            ),
            cloudwatch.GraphWidget(
                title=f"Cost USD (top {top})",
                left=pairs("EstimatedCostUsd"),
                width=6,
            ),
            cloudwatch.GraphWidget(
                title=f"Fallbacks, breakers (top {top})",
                left=pairs("Fallbacks"),
                right=[
                    insights_query(
                        INFERENCE,
                        "CircuitBreakerOpen",
                        ("Model",),
                        function="MAX",
                        limit=top,
                        label="breaker",
                        period=period,
                    )
                ],
                width=6,
            ),
        )
        self._add(
            cloudwatch.GraphWidget(
                title="Function errors and throttles",
                left=[
                    metric(LAMBDA, "Errors", fn, label="Errors", period=period),
                    metric(LAMBDA, "Throttles", fn, label="Throttles", period=period),
                ],
                width=8,
                height=6,
            ),
            cloudwatch.GraphWidget(
                title="Function duration p50/p99 (ms)",
                left=[
                    metric(LAMBDA, "Duration", fn, statistic="p50", label="p50", period=period),
                    metric(LAMBDA, "Duration", fn, statistic="p99", label="p99", period=period),
                ],
                width=8,
                height=6,
            ),
            cloudwatch.GraphWidget(
                title="Function concurrency",
                left=[
                    metric(
                        LAMBDA,
                        "ConcurrentExecutions",
                        fn,
                        statistic="Maximum",
                        label="Concurrent",
                        period=period,
                    )
                ],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(
                        value=config.inference.reserved_concurrency, label="Reserved concurrency"
                    )
                ],
                width=8,
                height=6,
            ),
        )
        errors = metric(LAMBDA, "Errors", fn, period=period).create_alarm(
            self,
            "HandlerErrors",
            alarm_name=f"{prefix}-handler-errors",
            alarm_description=_description("handler-errors", "Inference function", t.runbook_url),
            threshold=t.handler_errors,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=t.evaluation_periods,
            datapoints_to_alarm=t.datapoints_to_alarm,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        errors.add_alarm_action(action)
        errors.add_ok_action(action)
        self.alarms["handler-errors"] = errors
        return [errors]

    def _api_section(
        self,
        api: apigw.RestApi,
        t: ObservabilityConfig,
        prefix: str,
        period: cdk.Duration,
        action: cloudwatch.IAlarmAction,
    ) -> list[cloudwatch.Alarm]:
        dims = {"ApiName": api.rest_api_name, "Stage": api.deployment_stage.stage_name}

        def a(name: str, statistic: str = "Sum", label: str | None = None) -> cloudwatch.Metric:
            return metric(APIGW, name, dims, statistic=statistic, label=label, period=period)

        self._add(
            cloudwatch.GraphWidget(
                title="API requests, 4XX and 5XX",
                left=[
                    a("Count", label="Requests"),
                    a("4XXError", label="4XX"),
                    a("5XXError", label="5XX"),
                ],
                width=12,
                height=6,
            ),
            cloudwatch.GraphWidget(
                title="API latency p50/p99 (ms)",
                left=[
                    a("Latency", "p50", "p50"),
                    a("Latency", "p99", "p99"),
                    a("IntegrationLatency", "p99", "Integration p99"),
                ],
                width=12,
                height=6,
            ),
        )
        alarm = a("5XXError").create_alarm(
            self,
            "Api5xx",
            alarm_name=f"{prefix}-api-5xx",
            alarm_description=_description("api-5xx", "Inference API", t.runbook_url),
            threshold=t.api_5xx,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=t.evaluation_periods,
            datapoints_to_alarm=t.datapoints_to_alarm,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        self.alarms["api-5xx"] = alarm
        return [alarm]


class TeamObservability(Construct):
    """One team's dashboard and alarm (in the team's stack), from the handler's metrics.

    Dashboard ``bedrock-lz-<env>-team-<team>``: per model of the team, requests and errors,
    input and output tokens, estimated cost; one alarm on the team's server errors (5xx answers
    of the inference API to this team), notifying ``topic``. Nothing here names another team,
    so adding a team adds a dashboard and an alarm in that team's stack only. A metric-math
    alarm reads at most 10 metrics: for a team with more than 10 models the alarm is a
    composite (no action of its own) of one notifying alarm per 10 models (``<name>-1``,
    ``<name>-2``...).

    Attributes:
        dashboard: the ``cloudwatch.Dashboard``; alarm: the server-error alarm
            (``cloudwatch.Alarm``, or ``cloudwatch.CompositeAlarm`` beyond 10 models).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        team: str,
        aliases: list[str],
        settings: ObservabilityConfig,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        period = _minutes(settings.period_minutes)

        def per_model(name: str) -> list[cloudwatch.IMetric]:
            return [
                metric(INFERENCE, name, {"Team": team, "Model": a}, label=a, period=period)
                for a in aliases
            ]

        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"bedrock-lz-{env_name}-team-{team}",
            default_interval=_hours(3),
        )
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=(
                    f"### Team {team}\nRequests through the landing zone inference API by model: "
                    f"answers, errors, tokens and estimated cost. "
                    f"{_runbook_link(settings.runbook_url, 'handler-errors')}"
                ),
                width=24,
                height=2,
            )
        )
        # the graph and the alarm read the same metric objects (a metric is an immutable value;
        # each one made is a round trip to the CDK's Node.js process)
        server = per_model("ServerErrors")
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Requests", left=per_model("Invocations"), width=6),
            cloudwatch.GraphWidget(
                title="Client and server errors",
                left=per_model("ClientErrors"),
                right=server,
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="Input / output tokens",
                left=per_model("InputTokens"),
                right=per_model("OutputTokens"),
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="Estimated cost (USD)", left=per_model("EstimatedCostUsd"), width=6
            ),
        )
        # a metric-math alarm reads at most METRICS_PER_MATH_ALARM metrics: a team with more
        # models gets one alarm per block of 10 models (each notifies, as the single alarm of a
        # smaller team does) and a composite of them under the single alarm's name
        name = f"bedrock-lz-{env_name}-team-{team}-server-errors"
        blocks = [
            server[i : i + METRICS_PER_MATH_ALARM]
            for i in range(0, len(server), METRICS_PER_MATH_ALARM)
        ]

        def errors_alarm(
            construct_id: str, alarm_name: str, metrics: Sequence[cloudwatch.IMetric]
        ) -> cloudwatch.Alarm:
            errors = cloudwatch.MathExpression(
                expression=" + ".join(f"FILL(e{i}, 0)" for i in range(len(metrics))),
                using_metrics={f"e{i}": m for i, m in enumerate(metrics)},
                label="server errors",
                period=period,
            )
            return errors.create_alarm(
                self,
                construct_id,
                alarm_name=alarm_name,
                alarm_description=_description(
                    "handler-errors", f"Team {team}", settings.runbook_url
                ),
                threshold=settings.handler_errors,
                evaluation_periods=settings.evaluation_periods,
                datapoints_to_alarm=settings.datapoints_to_alarm,
                comparison_operator=(
                    cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
                ),
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )

        self.alarm: cloudwatch.AlarmBase
        notify = actions.SnsAction(topic)
        if len(blocks) == 1:
            self.alarm = errors_alarm("ServerErrors", name, blocks[0])
            self.alarm.add_alarm_action(notify)
        else:
            parts = [
                errors_alarm(f"ServerErrors{n + 1}", f"{name}-{n + 1}", block)
                for n, block in enumerate(blocks)
            ]
            for part in parts:
                part.add_alarm_action(notify)
            self.alarm = cloudwatch.CompositeAlarm(
                self,
                "ServerErrorsAny",
                composite_alarm_name=name,
                alarm_description=_description(
                    "handler-errors", f"Team {team}", settings.runbook_url
                ),
                alarm_rule=cloudwatch.AlarmRule.any_of(
                    *(
                        cloudwatch.AlarmRule.from_alarm(a, cloudwatch.AlarmState.ALARM)
                        for a in parts
                    )
                ),
            )
