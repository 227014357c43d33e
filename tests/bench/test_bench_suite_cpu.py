"""bench/suite_cpu.py: the suite's CPU per test module, the jsii kernel's included."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench import orphans, suite_cpu
from bench.suite_cpu import (
    ENV_VAR,
    ModuleCpu,
    Reading,
    WorkerProfile,
    cpu_between,
    heaviest,
    live_descendants,
    read_profiles,
)
from tests.conftest import ROOT


def test_a_reaped_descendant_counts_once_a_new_one_from_zero() -> None:
    before = Reading(own=1.0, waited=2.0, live={10: 5.0, 11: 1.0})
    # 10 ran on to 5.5 s; 11 was reaped (its whole 1.2 s now among the waited); 12 is new
    after = Reading(own=1.5, waited=2.0 + 1.2 + 0.3, live={10: 5.5, 12: 0.25})
    assert cpu_between(before, after) == pytest.approx(0.5 + 1.5 + 0.5 + 0.25 - 1.0)


def test_descendants_are_the_whole_subtree_and_nothing_else() -> None:
    table = {
        1: (0, 9.0),
        100: (1, 1.0),  # the worker
        101: (100, 2.0),  # its jsii kernel
        102: (101, 3.0),  # the kernel's own child (jsii's runtime starts one)
        103: (100, 0.5),
        200: (1, 7.0),  # another process
    }
    assert live_descendants(100, table) == {101: 2.0, 102: 3.0, 103: 0.5}
    assert live_descendants(103, table) == {}


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_a_running_child_is_found_with_its_cpu() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        found = live_descendants(os.getpid())
        assert child.pid in found and found[child.pid] >= 0.0
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=30)


#: Works 0.25 s of CPU; /proc counts in clock ticks (10 ms here), so the tests allow 0.05 less.
WORK_S = 0.25
_BURN = f"import time\nwhile time.process_time() < {WORK_S}: pass\n"

_SUITE = {
    "test_a_waited.py": f"""
        import subprocess, sys

        def test_runs_a_subprocess_to_its_end():
            subprocess.run([sys.executable, "-c", {_BURN!r}], check=True)
    """,
    "test_b_kernel.py": """
        def test_a_long_lived_child_works_for_this_module(kernel):
            assert kernel.stdout.readline() == "ready\\n"
    """,
    "test_c_orphan.py": f"""
        import subprocess, sys, time

        def test_a_subprocess_leaves_a_child_working(tmp_path):
            # like app.py under the CDK CLI, which exits without waiting for its jsii kernel;
            # the kernel's work is done by a child it waits for (jsii's runtime and its program),
            # here still running when the subprocess has exited
            done = tmp_path / "done"
            work = {_BURN!r}
            kernel = (
                "import subprocess, sys\\n"
                "subprocess.run([sys.executable, '-c', sys.argv[1]], check=True)\\n"
                "open(sys.argv[2], 'w').close()\\n"
            )
            leave = "import subprocess, sys; subprocess.Popen([sys.executable, *sys.argv[1:]])"
            subprocess.run(
                [sys.executable, "-c", leave, "-c", kernel, work, str(done)], check=True
            )
            while not done.exists():
                time.sleep(0.02)
            time.sleep(0.2)  # its exit
    """,
    "test_d_quiet.py": """
        def test_nothing_much():
            pass
    """,
    "conftest.py": f"""
        import subprocess, sys
        import pytest

        @pytest.fixture(scope="session")
        def kernel():
            # like the jsii kernel: works, then waits; reaped when the session ends
            code = {_BURN!r} + "print('ready', flush=True)\\nimport sys\\nsys.stdin.read()\\n"
            child = subprocess.Popen(
                [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                text=True,
            )
            yield child
            child.stdin.close()
            child.wait(timeout=30)

        # every reading the plugin takes, in a log the test shows when it fails
        import json, os
        import bench.suite_cpu

        _read = bench.suite_cpu.read

        def logged_read():
            reading = _read()
            with open(os.environ["READINGS_LOG"], "a") as log:
                log.write(json.dumps([reading.own, reading.waited, reading.live]) + "\\n")
            return reading

        bench.suite_cpu.read = logged_read
    """,
}


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_each_module_gets_the_cpu_of_what_it_ran_and_a_reaped_kernel_counts_once(
    tmp_path: Path,
) -> None:
    """Module a waits for a subprocess; module b's session fixture starts a child that works
    0.25 s of CPU and lives on (the jsii kernel's case) until the session's teardown reaps it in
    module d: b gets that child's CPU, d does not get it again. Module c's subprocess exits
    without waiting for a child that does its work in a grandchild it waits for (app.py under
    the CDK CLI, its jsii kernel, and the kernel's Node.js program): c gets that CPU."""
    suite = tmp_path / "suite"
    suite.mkdir()
    for name, text in _SUITE.items():
        (suite / name).write_text(textwrap.dedent(text), encoding="utf-8")
    out = tmp_path / "profile"
    env = {
        **os.environ,
        ENV_VAR: str(out),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_ADDOPTS", None)
    readings = tmp_path / "readings.jsonl"
    env["READINGS_LOG"] = str(readings)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "bench.suite_cpu",
            "-p",
            "no:cacheprovider",
            "-n",  # one xdist worker, as `make test` runs the suite: the controller's file too
            "1",
            # its own temporary folder: pytest's default one is numbered, and the session that
            # makes one removes the oldest at its end (sessionfinish: 0.8 s of CPU here once,
            # when that was a whole suite's run), which would count in module d
            f"--basetemp={tmp_path / 'basetemp'}",
            str(suite),
        ],
        cwd=suite,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    profiles = {p.worker: p for p in read_profiles(out)}
    assert sorted(profiles) == ["controller", "gw0"]
    assert profiles["controller"].modules == [] and profiles["controller"].total_cpu_s > 0
    profile = profiles["gw0"]
    cpu = {m.module.rsplit("/", 1)[-1]: m.cpu_s for m in profile.modules}
    why = f"{cpu}; own, waited, live at each reading:\n{readings.read_text(encoding='utf-8')}"
    assert sorted(cpu) == [
        "test_a_waited.py",
        "test_b_kernel.py",
        "test_c_orphan.py",
        "test_d_quiet.py",
    ]
    assert all(m.tests == 1 and m.wall_s > 0 for m in profile.modules)
    assert cpu["test_a_waited.py"] >= WORK_S - 0.05, why
    assert cpu["test_b_kernel.py"] >= WORK_S - 0.05, why
    assert cpu["test_c_orphan.py"] >= WORK_S - 0.05, f"an orphan's CPU was lost: {why}"
    assert cpu["test_d_quiet.py"] < WORK_S / 2, f"the kernel's CPU counted again when reaped: {why}"
    in_modules = sum(m.cpu_s for m in profile.modules)
    assert profile.before_tests_cpu_s > 0
    assert profile.before_tests_cpu_s + in_modules <= profile.total_cpu_s + 0.05


class _PluginManager:
    def __init__(self) -> None:
        self.registered: list[str] = []

    def register(self, plugin: object, name: str) -> None:
        self.registered.append(f"{name}: {type(plugin).__name__}")


@pytest.mark.parametrize(
    ("variable", "worker", "numprocesses", "registered", "adopts"),
    [
        (None, None, None, [], False),  # make test, pytest by hand
        (None, "gw0", 2, [], False),
        ("/tmp/profile", None, None, ["bench-suite-cpu: SuiteCpuPlugin"], True),  # no xdist
        ("/tmp/profile", "gw1", 2, ["bench-suite-cpu: SuiteCpuPlugin"], True),
        ("/tmp/profile", None, 2, ["bench-suite-cpu: ControllerCpu"], False),
    ],
)
def test_the_plugin_measures_only_with_its_variable_and_adopts_only_where_tests_run(
    monkeypatch: pytest.MonkeyPatch,
    variable: str | None,
    worker: str | None,
    numprocesses: int | None,
    registered: list[str],
    adopts: bool,
) -> None:
    adopted: list[bool] = []
    monkeypatch.setattr(orphans, "become_subreaper", lambda: adopted.append(True))
    for name, value in ((ENV_VAR, variable), ("PYTEST_XDIST_WORKER", worker)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    manager = _PluginManager()
    config = SimpleNamespace(
        pluginmanager=manager, option=SimpleNamespace(numprocesses=numprocesses)
    )
    suite_cpu.pytest_configure(config)  # type: ignore[arg-type]
    assert manager.registered == registered
    assert adopted == ([True] if adopts else [])


def test_heaviest_lists_the_top_and_adds_up_the_rest() -> None:
    profiles = [
        WorkerProfile(
            "gw0", [ModuleCpu("a", "gw0", 2, 1.0, 5.0), ModuleCpu("b", "gw0", 1, 0.5, 1.0)]
        ),
        WorkerProfile(
            "gw1", [ModuleCpu("c", "gw1", 3, 2.0, 3.0), ModuleCpu("d", "gw1", 4, 0.1, 0.5)]
        ),
    ]
    top, others = heaviest(profiles, 2)
    assert [m.module for m in top] == ["a", "c"]
    assert (others.module, others.tests, others.wall_s, others.cpu_s) == ("2", 5, 0.6, 1.5)


def test_the_suite_section_accounts_for_every_second_of_the_runs_cpu() -> None:
    """The rows add up to the run's CPU (bench/run.py's rusage of the whole pytest command)."""
    from bench.run import PROFILE_ROWS, SuiteResult, render_tests

    modules = [
        ModuleCpu(f"tests/test_{i:02d}.py", f"gw{i % 2}", 1, 1.0, float(i)) for i in range(20)
    ]
    profiles = [
        WorkerProfile("gw0", [m for m in modules if m.worker == "gw0"], 5.0, 5.0 + 90 + 1.0),
        WorkerProfile("gw1", [m for m in modules if m.worker == "gw1"], 6.0, 6.0 + 100 + 2.0),
    ]
    profiles.append(WorkerProfile("controller", [], 0.0, 4.0))
    result = SuiteResult([100.0], [0], "20 passed", [], 2, [], [230.0], profiles=profiles)
    lines = render_tests(result)
    rows = [
        line for line in lines if line.startswith("| ") and not line.startswith(("| Test", "| ---"))
    ]
    cpu = [float(line.split("|")[5]) for line in rows]
    assert len(rows) == PROFILE_ROWS + 5
    assert sum(cpu) == pytest.approx(230.0, abs=0.05 * len(rows))
    assert rows[0].startswith("| `tests/test_19.py` | gw1 | 1 | 1.0 | 19.0 | 8 % |")
    assert "6 other modules" in rows[PROFILE_ROWS]
    # others (0-5), before the tests, after them, the controller, the rest
    assert cpu[-5:] == [15.0, 11.0, 3.0, 4.0, 22.0]
    assert any("allows 120 s of CPU on 2 cores" in line for line in lines)


def test_a_row_that_is_zero_but_for_rounding_reads_zero() -> None:
    """The workers' CPU after their last test is a difference of sums: -0.02 s is 0.0 s."""
    from bench.run import SuiteResult, render_tests

    module = ModuleCpu("tests/test_a.py", "gw0", 1, 1.0, 10.0)
    profiles = [WorkerProfile("gw0", [module], 5.0, 5.0 + 10.0 - 0.02)]
    result = SuiteResult([20.0], [0], "1 passed", [], 1, [], [20.0], profiles=profiles)
    (after,) = [line for line in render_tests(result) if "after their last test" in line]
    assert after.endswith("| 0.0 | 0 % |"), after


def test_the_profile_gives_the_wall_time_each_runs_cpu_allows_against_the_goal() -> None:
    """CPU over the workers' cores: the run's floor if no core ever waited, for the profiled run
    and for the run without the external-tool tests, with the second's verdict."""
    from dataclasses import replace

    from bench.run import Ran, SuiteResult, render_tests

    profiles = [
        WorkerProfile("gw0", [ModuleCpu("tests/test_a.py", "gw0", 1, 1.0, 100.0)], 5.0, 110.0),
        WorkerProfile("gw1", [ModuleCpu("tests/test_b.py", "gw1", 1, 1.0, 150.0)], 5.0, 160.0),
    ]
    result = SuiteResult([170.0], [0], "2 passed", [], 2, [], [283.0], profiles=profiles)
    (line,) = [line for line in render_tests(result) if line.startswith("Where the first run")]
    assert line.endswith("This run's 283 s of CPU need at least 141.5 s of wall time on 2 cores.")

    result = replace(result, in_process=Ran(wall_s=90.0, cpu_s=149.0, code=0, output=""))
    (line,) = [line for line in render_tests(result) if line.startswith("Where the first run")]
    assert line.endswith(
        "the run without the external-tool tests, 149 s of CPU, at least 74.5 s (over the goal)."
    )
    result = replace(result, in_process=Ran(wall_s=50.0, cpu_s=110.0, code=0, output=""))
    (line,) = [line for line in render_tests(result) if line.startswith("Where the first run")]
    assert line.endswith("at least 55.0 s (within the goal).")
