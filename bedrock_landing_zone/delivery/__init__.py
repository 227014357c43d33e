"""Composition: ``add_landing_zone`` and ``LandingZoneStage`` (the stacks of ``stacks/``), the
per-team stacks and the CDK pipeline."""
