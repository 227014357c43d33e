"""The model invocation logging configuration the landing zone sends Bedrock, as plain data.

Kept apart from ``invocation_logging.py`` (the construct) so that what only needs the payload,
such as the offline rehearsal's read-back check, gets it without importing the CDK (which
starts a jsii kernel).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bedrock_landing_zone.config import InvocationLoggingConfig

__all__ = ["LARGE_DATA_PREFIX", "LOG_PREFIX", "logging_configuration"]

LOG_PREFIX = "invocation-logs"
LARGE_DATA_PREFIX = "large-data"


def logging_configuration(
    *,
    config: InvocationLoggingConfig,
    bucket_name: str,
    log_group_name: str,
    role_arn: str,
) -> dict[str, Any]:
    """The ``loggingConfig`` sent to ``PutModelInvocationLoggingConfiguration``.

    Pure function: the custom resource sends exactly this, and the moto round-trip test checks it.
    """
    return {
        "cloudWatchConfig": {
            "logGroupName": log_group_name,
            "roleArn": role_arn,
            "largeDataDeliveryS3Config": {
                "bucketName": bucket_name,
                "keyPrefix": LARGE_DATA_PREFIX,
            },
        },
        "s3Config": {"bucketName": bucket_name, "keyPrefix": LOG_PREFIX},
        "textDataDeliveryEnabled": config.text,
        "imageDataDeliveryEnabled": config.image,
        "embeddingDataDeliveryEnabled": config.embedding,
        "videoDataDeliveryEnabled": config.video,
    }
