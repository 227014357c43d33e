"""Every metric the dashboards and alarms use, as documented by AWS (or emitted by our handler).

A widget or alarm may only use a metric listed here (``metric()`` refuses others, and a test
checks every metric in the synthesized dashboards and alarms against this table). Sources:

- AWS/Bedrock: Amazon Bedrock User Guide, "Monitor bedrock-runtime inference using CloudWatch
  metrics" (runtime and model invocation logging delivery metrics; dimension ``ModelId``, the id
  exactly as callers pass it, inference profile ids included).
- AWS/Bedrock/Guardrails: Amazon Bedrock User Guide, "Monitor Amazon Bedrock Guardrails using
  CloudWatch metrics" (dimensions ``GuardrailArn``, ``GuardrailVersion``).
- AWS/Lambda: AWS Lambda Developer Guide, "Types of metrics for Lambda functions".
- AWS/ApiGateway: Amazon API Gateway Developer Guide, "Amazon API Gateway dimensions and
  metrics" (REST APIs: ``ApiName``, ``Stage``).
- BedrockLandingZone/Inference: this project's handler (``lambda/inference/bedrock_inference/
  telemetry.py``), dimensions ``Team`` and ``Model``.

Graphs that must not grow with teams or models use a Metrics Insights query (``insights_query``:
``SELECT ... GROUP BY ... ORDER BY ... LIMIT n``) over the same catalog entries: it returns at most
``n`` time series however many metrics match, so the graph stays within CloudWatch's per-graph
metric limit.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch

__all__ = [
    "CATALOG",
    "INSIGHTS_MAX_SERIES",
    "MetricSpec",
    "documented",
    "insights_query",
    "metric",
]

BEDROCK = "AWS/Bedrock"
GUARDRAILS = "AWS/Bedrock/Guardrails"
LAMBDA = "AWS/Lambda"
APIGW = "AWS/ApiGateway"
INFERENCE = "BedrockLandingZone/Inference"


@dataclass(frozen=True)
class MetricSpec:
    namespace: str
    name: str
    dimensions: frozenset[str]
    source: str


def _specs(
    namespace: str, dimensions: tuple[str, ...], source: str, *names: str
) -> list[MetricSpec]:
    return [MetricSpec(namespace, n, frozenset(dimensions), source) for n in names]


_BEDROCK_RUNTIME = "Bedrock User Guide: Monitor bedrock-runtime inference using CloudWatch metrics"
CATALOG: tuple[MetricSpec, ...] = tuple(
    _specs(
        BEDROCK,
        ("ModelId",),
        _BEDROCK_RUNTIME,
        "Invocations",
        "InvocationLatency",
        "InvocationClientErrors",
        "InvocationServerErrors",
        "InvocationThrottles",
        "InputTokenCount",
        "OutputTokenCount",
        "TimeToFirstToken",
        "EstimatedTPMQuotaUsage",
    )
    + _specs(
        BEDROCK,
        (),
        _BEDROCK_RUNTIME + " (model invocation logging delivery)",
        "ModelInvocationLogsCloudWatchDeliverySuccess",
        "ModelInvocationLogsCloudWatchDeliveryFailure",
        "ModelInvocationLogsS3DeliverySuccess",
        "ModelInvocationLogsS3DeliveryFailure",
        "ModelInvocationLargeDataS3DeliverySuccess",
        "ModelInvocationLargeDataS3DeliveryFailure",
    )
    + _specs(
        GUARDRAILS,
        ("GuardrailArn", "GuardrailVersion"),
        "Bedrock User Guide: Monitor Amazon Bedrock Guardrails using CloudWatch metrics",
        "Invocations",
        "InvocationsIntervened",
        "InvocationLatency",
        "InvocationClientErrors",
        "InvocationServerErrors",
        "InvocationThrottles",
        "TextUnitCount",
    )
    + _specs(
        LAMBDA,
        ("FunctionName",),
        "Lambda Developer Guide: Types of metrics for Lambda functions",
        "Invocations",
        "Errors",
        "Throttles",
        "Duration",
        "ConcurrentExecutions",
    )
    + _specs(
        APIGW,
        ("ApiName", "Stage"),
        "API Gateway Developer Guide: Amazon API Gateway dimensions and metrics",
        "Count",
        "4XXError",
        "5XXError",
        "Latency",
        "IntegrationLatency",
    )
    + _specs(
        INFERENCE,
        ("Team", "Model"),
        "lambda/inference/bedrock_inference/telemetry.py (this project)",
        "Invocations",
        "InputTokens",
        "OutputTokens",
        "LatencyMs",
        "Fallbacks",
        "GuardrailInterventions",
        "EstimatedCostUsd",
        "ClientErrors",
        "ServerErrors",
        "Throttles",
    )
    + _specs(
        INFERENCE,
        ("Model",),
        "lambda/inference/bedrock_inference/telemetry.py (this project): breaker openings",
        "CircuitBreakerOpen",
    )
)

_INDEX = {(s.namespace, s.name, s.dimensions): s for s in CATALOG}


def documented(namespace: str, name: str, dimensions: frozenset[str] | set[str]) -> bool:
    """True when the catalog lists this metric with exactly these dimension names."""
    return (namespace, name, frozenset(dimensions)) in _INDEX


@functools.cache
def _five_minutes() -> cdk.Duration:
    """The default period, made once (a ``cdk.Duration`` is an immutable value)."""
    return cdk.Duration.minutes(5)


def metric(
    namespace: str,
    name: str,
    dimensions: Mapping[str, str] | None = None,
    *,
    statistic: str = "Sum",
    label: str | None = None,
    period: cdk.Duration | None = None,
) -> cloudwatch.Metric:
    """A ``cloudwatch.Metric`` for a catalog entry; anything undocumented raises ``ValueError``."""
    dims = dict(dimensions or {})
    if not documented(namespace, name, set(dims)):
        raise ValueError(
            f"{namespace} {name} with dimensions {sorted(dims)} is not a documented metric "
            "(see bedrock_landing_zone/observability/metrics_catalog.py)"
        )
    return cloudwatch.Metric(
        namespace=namespace,
        metric_name=name,
        dimensions_map=dims or None,
        statistic=statistic,
        label=label,
        period=period or _five_minutes(),
    )


# CloudWatch User Guide, "Metrics Insights quotas"
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-metrics-insights-limits.html):
# "A single query can process no more than 10,000 metrics" and "can return no more than 500 time
# series"; "If you use an ORDER BY clause, then all the metrics being processed are sorted, and the
# 500 that have the highest or lowest values ... are returned"; widgets show up to two weeks.
#: At most this many time series come back from one Metrics Insights query.
INSIGHTS_MAX_SERIES = 500
#: A query looks at no more than this many metrics (e.g. 100 teams x 80 models = 8,000 pairs).
INSIGHTS_MAX_METRICS = 10_000
# "Metrics Insights query components and syntax": SELECT FUNCTION(metricName) with FUNCTION one of
# AVG, COUNT, MAX, MIN, SUM; FROM SCHEMA("namespace", key, ...); GROUP BY; ORDER BY FUNCTION();
# LIMIT n (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-metrics-insights-querylanguage.html).
_INSIGHTS_FUNCTIONS = frozenset({"AVG", "COUNT", "MAX", "MIN", "SUM"})
# Same page, "What needs quotation marks or escape characters?": identifiers other than letters,
# digits and underscores (or starting with a digit) are double-quoted.
_PLAIN_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _identifier(text: str) -> str:
    return text if _PLAIN_IDENTIFIER.match(text) else '"' + text.replace('"', '\\"') + '"'


def insights_query(
    namespace: str,
    name: str,
    dimensions: tuple[str, ...],
    *,
    function: str = "SUM",
    group_by: tuple[str, ...] | None = None,
    limit: int = 10,
    label: str = "",
    period: cdk.Duration | None = None,
) -> cloudwatch.MathExpression:
    """The ``limit`` busiest series of a catalog metric, as a Metrics Insights query.

    ``SELECT FUNCTION(name) FROM SCHEMA("namespace", dims...) GROUP BY group_by
    ORDER BY FUNCTION() DESC LIMIT limit`` (``group_by`` defaults to every dimension). The graph
    then shows at most ``limit`` lines whatever the number of teams or models; anything
    undocumented raises ``ValueError`` as ``metric()`` does.
    """
    if not documented(namespace, name, set(dimensions)):
        raise ValueError(
            f"{namespace} {name} with dimensions {sorted(dimensions)} is not a documented metric "
            "(see bedrock_landing_zone/observability/metrics_catalog.py)"
        )
    if function not in _INSIGHTS_FUNCTIONS:
        raise ValueError(f"function must be one of {sorted(_INSIGHTS_FUNCTIONS)}, not {function!r}")
    if not 1 <= limit <= INSIGHTS_MAX_SERIES:
        raise ValueError(f"limit must be 1..{INSIGHTS_MAX_SERIES} (Metrics Insights quota)")
    keys = group_by if group_by is not None else dimensions
    if not set(keys) <= set(dimensions):
        raise ValueError(f"group_by {keys} must be among the dimensions {dimensions}")
    schema = ", ".join([f'"{namespace}"', *map(_identifier, dimensions)])
    # every part is a catalog entry or a checked keyword, not outside input
    query = f"SELECT {function}({_identifier(name)}) FROM SCHEMA({schema})"  # noqa: S608
    if keys:
        query += f" GROUP BY {', '.join(map(_identifier, keys))}"
    query += f" ORDER BY {function}() DESC LIMIT {limit}"
    return cloudwatch.MathExpression(
        expression=query, label=label, period=period or _five_minutes()
    )
