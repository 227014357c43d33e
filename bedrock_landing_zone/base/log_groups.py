"""Small helpers shared by the constructs."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from bedrock_landing_zone.config import LOG_RETENTION_DAYS

# CDK's enum members are listed in the same ascending order as LOG_RETENTION_DAYS.
_RETENTION = dict(
    zip(LOG_RETENTION_DAYS, [m for m in logs.RetentionDays if m.name != "INFINITE"], strict=True)
)


def retention(days: int) -> logs.RetentionDays:
    """The ``RetentionDays`` member for a validated number of days."""
    return _RETENTION[days]


def retained_log_group(
    scope: Construct, construct_id: str, *, key: kms.IKey, days: int
) -> logs.LogGroup:
    """A log group encrypted with ``key``, with ``days`` retention, kept on stack removal."""
    return logs.LogGroup(
        scope,
        construct_id,
        encryption_key=key,
        retention=retention(days),
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
