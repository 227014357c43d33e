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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch

__all__ = ["CATALOG", "MetricSpec", "documented", "metric"]

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
            "(see bedrock_landing_zone/metrics_catalog.py)"
        )
    return cloudwatch.Metric(
        namespace=namespace,
        metric_name=name,
        dimensions_map=dims or None,
        statistic=statistic,
        label=label,
        period=period or cdk.Duration.minutes(5),
    )
