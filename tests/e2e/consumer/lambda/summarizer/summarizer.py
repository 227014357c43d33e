"""The search team's summarizer: one Converse call, through the landing zone guardrail.

Runtime code of ``tests/e2e/consumer/app.py`` (its asset folder, next to the app): the
clean-consumer test checks that the synthesized asset is this folder, resolved from the app,
not from the installed package.
"""

from __future__ import annotations

import os
from typing import Any

import boto3

bedrock = boto3.client("bedrock-runtime")


def handler(event: dict[str, Any], context: object) -> dict[str, str]:
    response = bedrock.converse(
        modelId=os.environ["MODEL_ID"],
        system=[{"text": "Summarize the text in three sentences."}],
        messages=[{"role": "user", "content": [{"text": str(event["text"])}]}],
        inferenceConfig={"maxTokens": 512},
        guardrailConfig={
            "guardrailIdentifier": os.environ["GUARDRAIL_ID"],
            "guardrailVersion": os.environ["GUARDRAIL_VERSION"],
        },
    )
    return {
        "summary": str(response["output"]["message"]["content"][0]["text"]),
        "stopReason": str(response["stopReason"]),
    }
