"""`make bench` counts the CPU of what a command leaves running (bench/orphans.py).

Under the CDK CLI, app.py ends without waiting for jsii's Node.js kernel, which does all of the
CDK's work: orphaned, its CPU time reached no rusage of the benchmark (the synth section's CPU
cross-check read 0.42 for a ratio of 1.8 in wall time). Each case runs in its own Python
process, since becoming a subreaper changes the process for good.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: A shell that starts a grandchild burning 0.3 s of CPU, and exits at once.
LEAVES_A_BUSY_ORPHAN = (
    f"({sys.executable} -c 'import time\n"
    "end = time.process_time() + 0.3\n"
    "while time.process_time() < end: pass' >/dev/null 2>&1 &); exit 0"
)

MEASURE = """
import json, sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from typing import Any
from bench import orphans
from bench.run import run
adopted = orphans.become_subreaper() if sys.argv[1] == "adopt" else False
ran = run(["sh", "-c", {command!r}], cwd=Path("."), env={{"PATH": "/usr/bin:/bin"}})
print(json.dumps({{"adopted": adopted, "cpu_s": ran.cpu_s, "code": ran.code}}))
"""


def measure(mode: str) -> dict[str, Any]:
    script = MEASURE.format(root=str(ROOT), command=LEAVES_A_BUSY_ORPHAN)
    done = subprocess.run(
        [sys.executable, "-c", script, mode], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_an_adopted_orphan_is_waited_for_and_its_cpu_counted() -> None:
    got = measure("adopt")
    assert got["adopted"] is True
    assert got["code"] == 0
    assert got["cpu_s"] >= 0.25  # the orphan's 0.3 s


def test_without_adoption_the_orphan_is_not_counted() -> None:
    """What the synth section measured before: shows the case above can fail."""
    got = measure("leave")
    assert got["adopted"] is False
    assert got["cpu_s"] < 0.25
