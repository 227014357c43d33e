"""``python -m bedrock_landing_zone``: the ``bedrock-lz`` command (``bedrock_landing_zone.cli``)."""

from __future__ import annotations

import sys

from bedrock_landing_zone.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
