"""Give checkov's venv a larger young generation for Python's garbage collector (`make setup`).

checkov builds a graph of every template's resources and keeps it until it exits; with
Python's default thresholds (700, 10, 10: a young collection every 700 net allocations, a full
one after ten middle ones) its collector walked that graph again and again. Over 37 of the
suite's landing-zone templates, timed with ``gc.callbacks``: 4.0-4.4 s of checkov's CPU went to
collection, 3.3-3.5 s of it in 12 full collections; with a young generation of 20,000 (what
the test session's workers use, tests/conftest.py) 0.9-1.0 s and no full collection. checkov
as `make report` runs it, three interleaved pairs: 18.5-19.1 s of CPU instead of 21.1-26.4 s,
peak memory 291 MB instead of 285 MB, the same checks and results.

Python's ``gc.set_threshold`` tunes when the collector runs, not what it frees. The setting
reaches checkov's process, whoever starts it, through a ``.pth`` file in the venv's
site-packages: "Lines starting with ``import`` (followed by space or tab) are executed" at every
start of that interpreter (Python's ``site`` documentation, which asks such a line to keep its
impact to a minimum: one call). The venv holds checkov and its dependencies only, so nothing
else runs with it. Run with checkov's Python: ``.venv-checkov/bin/python tools/checkov_gc.py``.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

#: Allocations between young-generation collections in checkov's interpreter.
YOUNG_THRESHOLD = 20_000
#: The file written into the venv's site-packages.
PTH_NAME = "bedrock_lz_checkov_gc.pth"
PTH_TEXT = (
    "# bedrock-landing-zone (tools/checkov_gc.py): a larger young generation for checkov's graph\n"
    f"import gc; gc.set_threshold({YOUNG_THRESHOLD}, *gc.get_threshold()[1:])\n"
)


def write_pth(site_packages: Path | None = None) -> Path:
    """Write ``PTH_NAME`` into ``site_packages`` (this interpreter's, by default)."""
    folder = site_packages or Path(sysconfig.get_paths()["purelib"])
    path = folder / PTH_NAME
    path.write_text(PTH_TEXT, encoding="utf-8")
    return path


if __name__ == "__main__":
    write_pth()  # raises (make stops) when the file cannot be written
