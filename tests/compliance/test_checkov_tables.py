"""checkov's JSONPath parsers read the parse tables `make setup` writes into checkov's venv
(tools/checkov_parse_tables.py) instead of building them on every parse."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

CHECKOV_PYTHON = ROOT / ".venv-checkov" / "bin" / "python"

#: In checkov's Python: PLY may not build tables (its table generator raises), yet both of
#: checkov's JSONPath parsers parse what its CloudFormation graph gives them.
_PARSE_WITHOUT_BUILDING = """
import ply.yacc

class NoBuilding:
    def __init__(self, *args, **kwargs):
        raise AssertionError("PLY built the LALR tables: no current table module was found")

ply.yacc.LRGeneratedTable = NoBuilding
from bc_jsonpath_ng import parse
from bc_jsonpath_ng.ext import parse as parse_ext

for parse_one in (parse, parse_ext):
    for _ in range(3):
        found = parse_one("Properties.Cors.AllowOrigins[0]").find(
            {"Properties": {"Cors": {"AllowOrigins": ["https://example.com"]}}}
        )
        assert [m.value for m in found] == ["https://example.com"], found
print("parsed without building tables")
"""

pytestmark = pytest.mark.skipif(
    not CHECKOV_PYTHON.is_file(), reason="checkov's venv is missing: run `make setup`"
)


def _run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHECKOV_PYTHON), "-c", code, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_checkovs_jsonpath_parsers_use_the_written_tables() -> None:
    result = _run(_PARSE_WITHOUT_BUILDING)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "parsed without building tables" in result.stdout


def test_without_the_tables_ply_builds_them_on_every_parse(tmp_path: Path) -> None:
    """The check above can fail: with the table modules hidden (a copy of the two packages
    without them, first on the path), the same parse makes PLY build the tables."""
    site = _run(
        "import bc_jsonpath_ng, pathlib; print(pathlib.Path(bc_jsonpath_ng.__file__).parent)"
    )
    package = Path(site.stdout.strip())
    copy = tmp_path / "bc_jsonpath_ng"
    shutil.copytree(package, copy)
    hidden = sorted(copy.rglob("parser_jsonpath_parsetab.py"))
    assert len(hidden) == 2, "tools/checkov_parse_tables.py writes one table per parser"
    for table in hidden:
        table.unlink()
    result = _run(f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n" + _PARSE_WITHOUT_BUILDING)
    assert result.returncode != 0
    assert "PLY built the LALR tables" in result.stderr
