"""``python -m bedrock_landing_zone.pictures.architecture <cdk.out dir> <output.svg>``."""

from bedrock_landing_zone.pictures.architecture.cli import main

raise SystemExit(main())
