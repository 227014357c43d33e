"""End to end: ``python -m rehearsal`` deploys, updates and destroys the landing zone on moto.

Runs the real CDK CLI against a local moto server (about 30 s). Skipped only when the pinned
CLI is not installed (``make setup`` installs it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, VALIDATED_IN_SESSION

CDK = ROOT / "node_modules" / ".bin" / "cdk"


@pytest.mark.slow
@pytest.mark.skipif(
    not CDK.exists(), reason="node_modules is missing: `make setup` installs the CDK CLI"
)
def test_rehearsal_deploys_updates_and_destroys_on_moto(node_compile_cache: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "rehearsal"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        # the session's Node.js compile cache (tests/pycache.py) for the rehearsal's six CDK CLI
        # starts (each compiled the CLI's JavaScript anew, ~0.35 s), and no second validation of
        # the default environment, which the session's synth ran (tests/conftest.py): ~3.8 s of
        # CPU per synth
        env={
            **os.environ,
            "NODE_COMPILE_CACHE": str(node_compile_cache),
            **VALIDATED_IN_SESSION,
        },
    )
    try:
        out, _ = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)  # the rehearsal stops moto and the CLI itself
        out, _ = proc.communicate(timeout=30)
        pytest.fail(f"the rehearsal did not finish in 600 s:\n{out[-5000:]}")
    assert proc.returncode == 0, out[-8000:]
    for line in (
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
        "invocation logging reads back",
        "/bedrock-lz/default/kms-key-arn = arn:aws:kms:",
        "kept: KMS key",
        "0 unexpected survivors",
        ", 0 unexpected\n",
        "replaced ",
        "rehearsal passed in",
    ):
        assert line in out, line
