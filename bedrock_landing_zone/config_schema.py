"""Print the JSON Schema of the environment config (``make schema`` writes config/schema.json)."""

from __future__ import annotations

import json
import sys

from bedrock_landing_zone.config import json_schema


def render() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
