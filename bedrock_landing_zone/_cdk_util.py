"""Small helpers shared by the constructs."""

from __future__ import annotations

from aws_cdk import aws_logs as logs

from bedrock_landing_zone.config import LOG_RETENTION_DAYS

# CDK's enum members are listed in the same ascending order as LOG_RETENTION_DAYS.
_RETENTION = dict(
    zip(LOG_RETENTION_DAYS, [m for m in logs.RetentionDays if m.name != "INFINITE"], strict=True)
)


def retention(days: int) -> logs.RetentionDays:
    """The ``RetentionDays`` member for a validated number of days."""
    return _RETENTION[days]
