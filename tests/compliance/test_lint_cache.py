"""tests/lint_cache.py: the session's cache of checkov's and cfn-lint's output.

A fake tool in a venv layout stands in for both (it prints what a real one would use: each
template's path in checkov's three forms and cfn-lint's, its size, its arguments, the
configuration file and an environment variable, and counts its runs). A cold cache runs the
tool; an identical run, even from templates in another directory, is served with the current
paths, exactly what the tool prints for them; a change to any part of the key is a real run; an
output that names a template in a form the cache cannot move, or a failed run, is never stored.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bedrock_landing_zone.compliance.evidence import ReportError, run_json
from tests.lint_cache import (
    LintCache,
    abstract_paths,
    key_material,
    path_forms,
    restore_paths,
    session_cache,
)

FAKE_TOOL = """#!{python}
import json, os, sys
from pathlib import Path

runs = Path(__file__).resolve().parents[2] / "runs.log"
runs.write_text(runs.read_text() + "x" if runs.exists() else "x")
if os.environ.get("FAKE_SETTING") == "broken":
    print("Traceback: the tool broke", file=sys.stderr)
    sys.exit(1)
files = [a for a in sys.argv[1:] if a.endswith(".json")]
args = [a for a in sys.argv[1:] if not a.endswith(".json")]
config = Path(".cfnlintrc.yaml")
home = Path("~/.checkov.yaml").expanduser()
out = []
for f in files:
    absolute = os.path.realpath(f)
    relative = "/" + os.path.relpath(absolute)
    entry = {{
        "file_abs_path": absolute,
        "file_path": relative,
        "repo_file_path": relative.replace("/..", ""),
        "Filename": f,
        "message": "W0000 in " + f + " line 1",
        "size": len(Path(f).read_bytes()),
        "args": args,
        "config": config.read_text() if config.exists() else None,
        "home": home.read_text() if home.exists() else None,
        "setting": os.environ.get("FAKE_SETTING"),
    }}
    if os.environ.get("FAKE_SETTING") == "odd-form":
        entry["odd"] = "file://" + os.path.basename(f)
    out.append(entry)
print(json.dumps(out))
"""


class Setup:
    """A fake tool in ``<tmp>/venv``, a repository (the working directory), a home directory
    and templates written under ``<tmp>/<where>``."""

    def __init__(self, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tmp = tmp
        self.venv = tmp / "venv"
        self.tool = self.venv / "bin" / "faketool"
        self.tool.parent.mkdir(parents=True)
        self.tool.write_text(FAKE_TOOL.format(python=sys.executable), encoding="utf-8")
        self.tool.chmod(self.tool.stat().st_mode | stat.S_IXUSR)
        (self.venv / "pyvenv.cfg").write_text("version = 3.11.0\n", encoding="utf-8")
        site_packages = self.venv / "lib" / "python3.11" / "site-packages"
        self.dist_info = site_packages / "faketool-1.0.dist-info"
        self.dist_info.mkdir(parents=True)
        (self.dist_info / "RECORD").write_text("faketool/__init__.py,sha256=aa,1\n", "utf-8")
        self.cwd = tmp / "repo"
        self.cwd.mkdir()
        self.home = tmp / "home"
        self.home.mkdir()
        monkeypatch.setenv("HOME", str(self.home))
        monkeypatch.delenv("FAKE_SETTING", raising=False)
        self.cache = LintCache(tmp / "cache")
        self.args = ["--format", "json"]

    def templates(self, where: str, contents: dict[str, str] | None = None) -> list[Path]:
        contents = contents or {"Audit.template.json": '{"A": 1}', "Network.template.json": "{}"}
        paths = []
        for name, text in contents.items():
            path = self.tmp / where / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            paths.append(path)
        return paths

    def command(self, templates: list[Path]) -> list[str]:
        return [str(self.tool), *self.args, "--", *(str(t) for t in templates)]

    def lint(self, templates: list[Path], cwd: Path | None = None) -> Any:
        return self.cache(self.command(templates), templates, cwd or self.cwd, "faketool")

    def direct(self, templates: list[Path], cwd: Path | None = None) -> Any:
        """What the tool itself prints (no cache)."""
        return run_json(self.command(templates), templates, cwd or self.cwd, "faketool")

    @property
    def runs(self) -> int:
        """The tool's real runs so far (its own count, direct runs included)."""
        log = self.tmp / "runs.log"
        return len(log.read_text(encoding="utf-8")) if log.exists() else 0


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Setup:
    return Setup(tmp_path, monkeypatch)


def test_a_cold_cache_runs_the_tool_and_gives_its_output(setup: Setup) -> None:
    """A fresh clone (no cache): the tool runs, its output is returned as it printed it."""
    templates = setup.templates("session-1/cdk.out")
    assert setup.lint(templates) == setup.direct(templates)
    assert setup.runs == 2  # one through the cache, one direct
    assert (setup.cache.runs, setup.cache.hits) == (1, 0)
    assert len(list((setup.tmp / "cache").glob("faketool-*.json"))) == 1


def test_an_identical_run_from_another_directory_is_served_with_the_current_paths(
    setup: Setup,
) -> None:
    first = setup.lint(setup.templates("session-1/cdk-out0/default"))
    moved = setup.templates("elsewhere/deeper/session-2/out")  # same names and bytes
    served = setup.lint(moved)
    assert (setup.cache.runs, setup.cache.hits) == (1, 1)
    assert served != first  # the paths moved
    assert served == setup.direct(moved)  # exactly what the tool prints for them
    assert [entry["file_abs_path"] for entry in served] == [str(p) for p in moved]


def _change_template_bytes(s: Setup) -> None:
    s.templates("session-2", {"Audit.template.json": '{"A": 2}', "Network.template.json": "{}"})


def _change_template_name(s: Setup) -> None:
    s.templates("session-2", {"Audit2.template.json": '{"A": 1}', "Network.template.json": "{}"})


def _change_template_order(s: Setup) -> None:
    s.templates("session-2", {"Network.template.json": "{}", "Audit.template.json": '{"A": 1}'})


def _change_argument(s: Setup) -> None:
    s.args = [*s.args, "--include-checks", "I"]


def _change_tool_script(s: Setup) -> None:
    s.tool.write_text(s.tool.read_text(encoding="utf-8") + "# 1.0.1\n", encoding="utf-8")


def _change_installed_distribution(s: Setup) -> None:
    s.dist_info.rename(s.dist_info.with_name("faketool-1.1.dist-info"))


def _change_installed_file(s: Setup) -> None:
    (s.dist_info / "RECORD").write_text("faketool/__init__.py,sha256=bb,1\n", "utf-8")


def _change_interpreter(s: Setup) -> None:
    (s.venv / "pyvenv.cfg").write_text("version = 3.12.0\n", encoding="utf-8")


def _add_config_in_working_directory(s: Setup) -> None:
    (s.cwd / ".cfnlintrc.yaml").write_text("ignore_checks: [W3005]\n", encoding="utf-8")


def _add_config_in_home(s: Setup) -> None:
    (s.home / ".checkov.yaml").write_text("skip-check: CKV_AWS_1\n", encoding="utf-8")


def _change_environment(s: Setup) -> None:
    os.environ["FAKE_SETTING"] = "on"  # restored by the fixture's monkeypatch.delenv


CHANGES: dict[str, Callable[[Setup], None]] = {
    "template bytes": _change_template_bytes,
    "template name": _change_template_name,
    "template order": _change_template_order,
    "argument": _change_argument,
    "tool script": _change_tool_script,
    "installed distribution": _change_installed_distribution,
    "installed file": _change_installed_file,
    "interpreter": _change_interpreter,
    "config in the working directory": _add_config_in_working_directory,
    "config in the home directory": _add_config_in_home,
    "environment": _change_environment,
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_change_to_any_part_of_the_key_is_a_real_run(
    setup: Setup, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SETTING", "off")
    first = setup.templates("session-1")
    setup.lint(first)
    CHANGES[change](setup)
    templates = sorted((setup.tmp / "session-2").glob("*.json")) or setup.templates("session-2")
    if change == "template order":
        templates = [templates[1], templates[0]]
    before = setup.runs
    output = setup.lint(templates)
    assert (setup.cache.runs, setup.cache.hits) == (2, 0), change
    assert setup.runs == before + 1
    assert output == setup.direct(templates)
    setup.lint(templates)  # the new inputs are stored in turn
    assert (setup.cache.runs, setup.cache.hits) == (2, 1)


def test_a_change_of_working_directory_is_a_real_run(setup: Setup) -> None:
    templates = setup.templates("session-1")
    setup.lint(templates)
    other = setup.tmp / "other-repo"
    other.mkdir()
    assert setup.lint(templates, cwd=other) == setup.direct(templates, cwd=other)
    assert (setup.cache.runs, setup.cache.hits) == (2, 0)


def test_templates_inside_the_working_directory_are_a_different_key(setup: Setup) -> None:
    """Outside the working directory checkov's ``..``-less form is the absolute path; inside
    it is not: which forms coincide is part of the key."""
    inside = setup.templates("repo/cdk.out")
    setup.lint(inside)  # stored with checkov's two relative forms as one string
    outside = setup.templates("session-1")
    assert setup.lint(outside) == setup.direct(outside)
    assert setup.lint(inside) == setup.direct(inside)
    assert (setup.cache.runs, setup.cache.hits) == (2, 1)
    assert setup.direct(inside)[0]["repo_file_path"] == "/cdk.out/Audit.template.json"
    assert setup.direct(outside)[0]["repo_file_path"] == "/session-1/Audit.template.json"


def test_pytest_per_test_variables_are_not_part_of_the_key(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "tests/a.py::test_one (call)")
    setup.lint(setup.templates("session-1"))
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "tests/b.py::test_two (call)")
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    setup.lint(setup.templates("session-2"))
    assert (setup.cache.runs, setup.cache.hits) == (1, 1)


def test_the_key_holds_the_environment_the_tool_runs_with(setup: Setup) -> None:
    """checkov runs with its defaults (``evidence.TOOL_ENVIRONMENT``) under the caller's
    variables: the key holds what it ran with, so a caller's own value is another key."""
    templates = setup.templates("session-1")
    command = setup.command(templates)

    def environment(tool: str, environ: dict[str, str]) -> Any:
        material = key_material(command, templates, setup.cwd, tool, environ)
        assert material is not None
        return material["environment"]

    assert environment("checkov", {}) == {"CHECKOV_PARALLELIZATION_TYPE": "none"}
    assert environment("checkov", {"CHECKOV_PARALLELIZATION_TYPE": "fork"}) == {
        "CHECKOV_PARALLELIZATION_TYPE": "fork"
    }
    assert environment("cfn-lint", {}) == {}


def test_the_shells_and_makes_bookkeeping_is_not_part_of_the_key(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLDPWD", "/home/dev")
    monkeypatch.setenv("MAKEFLAGS", "-j2")
    setup.lint(setup.templates("session-1"))
    monkeypatch.setenv("OLDPWD", "/tmp")  # `cd` somewhere and back
    monkeypatch.delenv("MAKEFLAGS")  # pytest run directly, not by make
    setup.lint(setup.templates("session-2"))
    monkeypatch.setenv("PYTHONHASHSEED", "0")  # any other variable still counts
    setup.lint(setup.templates("session-3"))
    assert (setup.cache.runs, setup.cache.hits) == (2, 1)


def test_the_benchs_profiling_folder_is_not_part_of_the_key(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make bench` profiles its first suite run (bench/suite_cpu.py) and times a second one
    without the profile as the cache hit: the variable must not make that second run a miss."""
    monkeypatch.setenv("BENCH_SUITE_CPU_DIR", "/tmp/bench-suite-cpu-1")
    setup.lint(setup.templates("session-1"))
    monkeypatch.delenv("BENCH_SUITE_CPU_DIR")
    setup.lint(setup.templates("session-2"))
    assert (setup.cache.runs, setup.cache.hits) == (1, 1)


def test_an_output_naming_a_template_in_an_unknown_form_is_not_stored(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SETTING", "odd-form")
    templates = setup.templates("session-1")
    assert setup.lint(templates) == setup.direct(templates)
    assert setup.lint(templates) == setup.direct(templates)
    assert (setup.cache.runs, setup.cache.hits) == (2, 0)
    assert list((setup.tmp / "cache").glob("faketool-*.json")) == []


def test_a_failed_run_raises_and_is_not_stored(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SETTING", "broken")
    templates = setup.templates("session-1")
    for _ in range(2):
        with pytest.raises(ReportError, match="faketool exited 1 without JSON output"):
            setup.lint(templates)
    assert setup.runs == 2
    assert list((setup.tmp / "cache").glob("faketool-*.json")) == []


def test_a_tool_outside_a_venv_is_never_cached(setup: Setup) -> None:
    (setup.venv / "pyvenv.cfg").unlink()
    templates = setup.templates("session-1")
    setup.lint(templates)
    setup.lint(templates)
    assert (setup.cache.runs, setup.cache.hits) == (2, 0)


def test_a_stored_entry_with_another_key_is_not_used(setup: Setup) -> None:
    """Guard against a digest collision or a hand-edited entry: the whole key is compared."""
    templates = setup.templates("session-1")
    setup.lint(templates)
    (entry,) = (setup.tmp / "cache").glob("faketool-*.json")
    stored = json.loads(entry.read_text(encoding="utf-8"))
    stored["key"]["cwd"] = "/somewhere/else"
    entry.write_text(json.dumps(stored), encoding="utf-8")
    setup.lint(templates)
    assert (setup.cache.runs, setup.cache.hits) == (2, 0)


def test_paths_round_trip_through_their_placeholders(tmp_path: Path) -> None:
    cwd = tmp_path / "repo"
    templates = [tmp_path / "out" / "A.template.json", tmp_path / "out" / "B.template.json"]
    forms = path_forms(templates[0], cwd)
    assert forms[2] == "/../out/A.template.json" and forms[3] == "/out/A.template.json"
    output = [{"f": forms[i], "g": f"see {forms[1]} line 3"} for i in range(4)]
    abstracted = abstract_paths(output, templates, cwd)
    assert abstracted is not None and "A.template.json" not in json.dumps(abstracted)
    assert restore_paths(abstracted, templates, cwd) == output


def test_the_session_cache_lives_in_the_venv_and_can_be_switched_off(tmp_path: Path) -> None:
    assert session_cache(tmp_path, {}) is None  # no .venv: the tools run every session
    (tmp_path / ".venv").mkdir()
    cache = session_cache(tmp_path, {})
    assert cache is not None and cache.directory == tmp_path / ".venv" / "lint-cache"
    for off in ("off", "0", "no", "false", "OFF"):
        assert session_cache(tmp_path, {"BEDROCK_LZ_LINT_CACHE": off}) is None
