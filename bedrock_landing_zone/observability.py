"""Dashboards and alarms generated from the model allow-list.

Reusable pieces for other teams: ``ModelDashboardSection`` (the widgets of one model id) and
``ModelAlarms`` (its alarm set). ``LandingZoneObservability`` composes them for every
allow-listed model id *as callers pass it* (the ``ModelId`` dimension: profile ids included),
plus the guardrail, invocation-log delivery, the inference handler and the API, and a composite
"inference degraded" alarm.

Every metric comes from ``metrics_catalog`` (documented metrics only).
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from bedrock_landing_zone.config import LandingZoneConfig, ObservabilityConfig
from bedrock_landing_zone.metrics_catalog import (
    APIGW,
    BEDROCK,
    GUARDRAILS,
    INFERENCE,
    LAMBDA,
    metric,
)
from bedrock_landing_zone.model_access import GuardrailReference

__all__ = [
    "RUNBOOK",
    "LandingZoneObservability",
    "ModelAlarms",
    "ModelDashboardSection",
    "TeamObservability",
]

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
    "inference-degraded": "Inference degraded: one of the model, function or API alarms fired; "
    "open the dashboard and follow that alarm's runbook line.",
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
    horizontal line at ``tokens_per_minute_quota`` when given.

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
    ) -> None:
        super().__init__(scope, construct_id)
        period = period or cdk.Duration.minutes(5)
        dims = {"ModelId": model_id}
        name = label or model_id

        def m(
            metric_name: str, statistic: str = "Sum", metric_label: str | None = None
        ) -> cloudwatch.Metric:
            return metric(
                BEDROCK, metric_name, dims, statistic=statistic, label=metric_label, period=period
            )

        quota = m("EstimatedTPMQuotaUsage", "Maximum", "Estimated TPM quota usage")
        header = (
            f"### {name} · `{model_id}`\n"
            "Volume, latency, tokens, errors and quota of this allow-listed model id (the "
            "`ModelId` dimension is the id callers pass, profile ids included)."
        )
        header += " " + _runbook_link(runbook_url)
        self.rows: list[list[cloudwatch.IWidget]] = [
            [cloudwatch.TextWidget(markdown=header, width=24, height=2)],
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
        period = cdk.Duration.minutes(t.period_minutes)
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
                "EstimatedTPMQuotaUsage", "Maximum", cdk.Duration.minutes(1)
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


class LandingZoneObservability(Construct):
    """The landing zone dashboard, every alarm, and the composite "inference degraded" alarm.

    Attributes:
        dashboard: the ``cloudwatch.Dashboard`` (``bedrock-lz-<env>``).
        model_alarms: alias -> ``ModelAlarms``.
        alarms: every alarm by name (``cloudwatch.IAlarm``), the composite included.
        composite: the "inference degraded" ``cloudwatch.CompositeAlarm``.
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
        period = cdk.Duration.minutes(t.period_minutes)
        action = actions.SnsAction(topic)
        prefix = f"bedrock-lz-{config.name}"
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=prefix,
            default_interval=cdk.Duration.hours(3),
        )
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=(
                    f"# Bedrock landing zone · {config.name}\n"
                    "One section per allow-listed model id, then the guardrail, invocation-log "
                    "delivery, the inference function and its API. Alarms notify the landing "
                    f"zone topic. {_runbook_link(t.runbook_url)}"
                ),
                width=24,
                height=2,
            )
        )
        self.alarms: dict[str, cloudwatch.IAlarm] = {}
        self.model_alarms: dict[str, ModelAlarms] = {}
        degraded: list[cloudwatch.IAlarm] = []
        for model in config.models:
            label = _label(model.alias)
            ModelDashboardSection(
                self,
                f"{label}Section",
                model_id=model.model_id,
                label=model.alias,
                tokens_per_minute_quota=model.tokens_per_minute_quota,
                runbook_url=t.runbook_url,
                period=period,
            ).add_to(self.dashboard)
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
                degraded.append(alarm)

        self._guardrail_section(guardrail, t, prefix, period, topic)
        self._log_delivery(t, prefix, period, action)
        if function is not None:
            degraded.extend(self._handler_section(config, function, t, prefix, period, action))
        if api is not None:
            degraded.extend(self._api_section(api, t, prefix, period, action))

        self.composite = cloudwatch.CompositeAlarm(
            self,
            "InferenceDegraded",
            composite_alarm_name=f"{prefix}-inference-degraded",
            alarm_description=_description("inference-degraded", config.name, t.runbook_url),
            alarm_rule=cloudwatch.AlarmRule.any_of(
                *(cloudwatch.AlarmRule.from_alarm(a, cloudwatch.AlarmState.ALARM) for a in degraded)
            ),
        )
        self.composite.add_alarm_action(action)
        self.composite.add_ok_action(action)
        self.alarms["inference-degraded"] = self.composite
        self.degraded_members = degraded

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

        self.dashboard.add_widgets(
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
        self.dashboard.add_widgets(
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
        self.dashboard.add_widgets(
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

        def per_pair(name: str, statistic: str = "Sum") -> list[cloudwatch.IMetric]:
            # every team/model pair the handler reports, whatever the teams are: the overview
            # does not change when a team is added (team dashboards live in the team stacks)
            documented_metric = metric(INFERENCE, name, {"Team": "-", "Model": "-"})
            seconds = int(period.to_seconds())
            query = f'{{{INFERENCE},Team,Model}} MetricName="{documented_metric.metric_name}"'
            search = f"SEARCH('{query}', '{statistic}', {seconds})"
            return [cloudwatch.MathExpression(expression=search, label="", period=period)]

        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=(
                    "### Inference function and API\nHandler metrics by team and model (tokens, "
                    "estimated cost, fallbacks, breaker openings), then the function and the "
                    f"private API. {_runbook_link(t.runbook_url, 'handler-errors')}"
                ),
                width=24,
                height=2,
            )
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Input tokens by team/model", left=per_pair("InputTokens"), width=6, height=6
            ),
            cloudwatch.GraphWidget(
                title="Output tokens by team/model",
                left=per_pair("OutputTokens"),
                width=6,
                height=6,
            ),
            cloudwatch.GraphWidget(
                title="Estimated cost (USD) by team/model",
                left=per_pair("EstimatedCostUsd"),
                width=6,
                height=6,
            ),
            cloudwatch.GraphWidget(
                title="Fallbacks and breaker openings",
                left=per_pair("Fallbacks"),
                right=[
                    metric(
                        INFERENCE,
                        "CircuitBreakerOpen",
                        {"Model": m.alias},
                        label=f"breaker {m.alias}",
                        period=period,
                    )
                    for m in config.models
                ],
                width=6,
                height=6,
            ),
        )
        self.dashboard.add_widgets(
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

        self.dashboard.add_widgets(
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
    so adding a team adds a dashboard and an alarm in that team's stack only.

    Attributes:
        dashboard: the ``cloudwatch.Dashboard``; alarm: the server-error ``cloudwatch.Alarm``.
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
        period = cdk.Duration.minutes(settings.period_minutes)

        def per_model(name: str) -> list[cloudwatch.IMetric]:
            return [
                metric(INFERENCE, name, {"Team": team, "Model": a}, label=a, period=period)
                for a in aliases
            ]

        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"bedrock-lz-{env_name}-team-{team}",
            default_interval=cdk.Duration.hours(3),
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
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Requests", left=per_model("Invocations"), width=6),
            cloudwatch.GraphWidget(
                title="Client and server errors",
                left=per_model("ClientErrors"),
                right=per_model("ServerErrors"),
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
        errors = cloudwatch.MathExpression(
            expression=" + ".join(f"FILL(e{i}, 0)" for i in range(len(aliases))),
            using_metrics={f"e{i}": m for i, m in enumerate(per_model("ServerErrors"))},
            label="server errors",
            period=period,
        )
        self.alarm = errors.create_alarm(
            self,
            "ServerErrors",
            alarm_name=f"bedrock-lz-{env_name}-team-{team}-server-errors",
            alarm_description=_description("handler-errors", f"Team {team}", settings.runbook_url),
            threshold=settings.handler_errors,
            evaluation_periods=settings.evaluation_periods,
            datapoints_to_alarm=settings.datapoints_to_alarm,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.alarm.add_alarm_action(actions.SnsAction(topic))
