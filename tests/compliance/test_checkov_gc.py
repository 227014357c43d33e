"""checkov's interpreter runs with the larger young generation `make setup` gives its venv
(tools/checkov_gc.py), and only checkov's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tools.checkov_gc import PTH_NAME, YOUNG_THRESHOLD, write_pth

CHECKOV_PYTHON = ROOT / ".venv-checkov" / "bin" / "python"
_THRESHOLD = "import gc; print(gc.get_threshold()[0])"


def _threshold(python: Path | str, code: str = _THRESHOLD) -> int:
    result = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return int(result.stdout.strip())


@pytest.mark.skipif(not CHECKOV_PYTHON.is_file(), reason="checkov's venv is missing: `make setup`")
def test_checkovs_interpreter_starts_with_the_larger_young_generation() -> None:
    assert _threshold(CHECKOV_PYTHON) == YOUNG_THRESHOLD
    assert _threshold(sys.executable) == 700  # the project's own venv keeps Python's default


@pytest.mark.parametrize("written", [True, False], ids=["with-the-file", "without"])
def test_the_pth_file_sets_the_threshold_of_an_interpreter_that_reads_its_folder(
    tmp_path: Path, written: bool
) -> None:
    """The mechanism, in a folder read as site-packages (``site.addsitedir``, what ``site`` does
    with the venv's): with the file the threshold is set, without it Python's default stays."""
    if written:
        assert write_pth(tmp_path) == tmp_path / PTH_NAME
    code = f"import site; site.addsitedir({str(tmp_path)!r}); " + _THRESHOLD
    assert _threshold(sys.executable, code) == (YOUNG_THRESHOLD if written else 700)
