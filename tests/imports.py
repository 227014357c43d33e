"""What a fresh interpreter has imported after some code: the start-up cost checks' one probe."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable

from tests.conftest import ROOT


def packages_loaded(code: str, packages: Iterable[str]) -> list[str]:
    """Run ``code`` in a fresh interpreter from the repository root; which of the top-level
    ``packages`` are in ``sys.modules`` afterwards (sorted; ``code`` may print before)."""
    watched = sorted(set(packages))
    probe = (
        f"{code}\nimport sys\n"
        f"print(*sorted({{m.split('.')[0] for m in sys.modules}} & set({watched!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[-1].split()
