"""Print the JSON Schema of the environment config (``make schema`` writes config/schema.json)."""

from __future__ import annotations

import json
import sys
from typing import Any

from bedrock_landing_zone.config.model import LandingZoneConfig


def json_schema() -> dict[str, Any]:
    """The JSON Schema committed as ``config/schema.json`` (for editors)."""
    schema = LandingZoneConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Bedrock landing zone environment"
    return schema


def render() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
