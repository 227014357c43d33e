"""Where the test suite's CPU goes, per test module: a pytest plugin that `make bench` loads.

``pytest -p bench.suite_cpu`` with ``BENCH_SUITE_CPU_DIR`` set: each process that runs tests
(each pytest-xdist worker, or pytest alone) writes ``<worker>.json`` there at the end of its
session, with every test module's wall time (the sum of its tests' run protocols: setup, call
and teardown) and its CPU time: user + system of

* the process itself (``getrusage(RUSAGE_SELF)``),
* the subprocesses it waited for (``RUSAGE_CHILDREN``: a CLI synth, checkov, the rehearsal, with
  whatever they waited for in turn), and
* its descendants still running (``/proc/<pid>/stat``, Linux, with what their own reaped
  children used): the jsii kernel, the Node.js process that serves a worker's CDK calls for its
  whole life, whose CPU no ``getrusage`` shows until the worker reaps it at exit; and the
  orphans of its subprocesses, which it adopts (``pytest_configure``), such as the kernel of a
  synth run under the CDK CLI.

A module's CPU is the change of those three between its first test's start and the next
module's first test (its module fixtures' teardown included); the live descendants are read
only there, about a hundred times a session, not around every test. A descendant seen running
at one reading and reaped before the next moves its whole CPU into ``RUSAGE_CHILDREN``: what the
earlier reading had counted of it is taken off again. ``bench/run.py`` adds the files up
(``read_profiles``) and renders the table of section 2 of ``bench/results.md``. Without the
variable the plugin records nothing.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bench import orphans

ENV_VAR = "BENCH_SUITE_CPU_DIR"
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _own_cpu() -> tuple[float, float]:
    """(this process, the subprocesses it waited for): user + system seconds."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    waited = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, waited.ru_utime + waited.ru_stime


def _proc_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, user + system seconds) of every process readable in /proc."""
    table: dict[int, tuple[int, float]] = {}
    try:
        entries = list(Path("/proc").iterdir())
    except OSError:
        return table
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue  # gone meanwhile
        # proc(5): "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so the
        # fields are counted from the last ")": state (field 3), ppid (4), ... utime (14), stime
        # (15), and cutime and cstime (16, 17): the CPU of the children it "has waited for".
        # Those count too: a process seen here is reaped later with all four in the rusage
        # (``cpu_between``), and an adopted orphan may be a zombie that no one here reaps before
        # the end, such as the jsii kernel of a synth under the CLI, whose work is done by a
        # Node.js child it waits for (jsii's runtime starts its program in a child process).
        fields = stat[stat.rfind(")") + 2 :].split()
        try:
            ticks = sum(int(f) for f in fields[11:15])
            table[int(entry.name)] = (int(fields[1]), ticks / _TICKS)
        except (IndexError, ValueError):
            continue
    return table


def live_descendants(
    root: int, table: Mapping[int, tuple[int, float]] | None = None
) -> dict[int, float]:
    """pid -> CPU seconds so far (its own and its reaped children's), of every descendant of
    ``root`` that /proc lists (running, or a zombie not yet reaped), ``root`` left out."""
    table = _proc_table() if table is None else table
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found: dict[int, float] = {}
    todo = list(children.get(root, ()))
    while todo:
        pid = todo.pop()
        if pid in found:
            continue
        found[pid] = table[pid][1]
        todo.extend(children.get(pid, ()))
    return found


@dataclass(frozen=True)
class Reading:
    """The three CPU figures a module's share is the change of (see the module docstring)."""

    own: float
    waited: float
    live: Mapping[int, float]


#: Nothing spent yet: the reading at the process's start.
_START = Reading(0.0, 0.0, {})


def read() -> Reading:
    own, waited = _own_cpu()
    return Reading(own, waited, live_descendants(os.getpid()))


def cpu_between(before: Reading, after: Reading) -> float:
    """CPU seconds spent from ``before`` to ``after`` by the process, its waited-for subprocesses
    and its live descendants. A descendant alive at ``before`` and gone at ``after`` was reaped:
    its whole CPU is in ``after.waited``, so what ``before`` counted of it comes off."""
    live = sum(cpu - before.live.get(pid, 0.0) for pid, cpu in after.live.items())
    reaped = sum(cpu for pid, cpu in before.live.items() if pid not in after.live)
    return (after.own - before.own) + (after.waited - before.waited) + live - reaped


@dataclass
class ModuleCpu:
    module: str
    worker: str
    tests: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0


@dataclass
class WorkerProfile:
    """One test process's modules, and its CPU before the first test and in all."""

    worker: str
    modules: list[ModuleCpu] = field(default_factory=list)
    before_tests_cpu_s: float = 0.0  # its start: imports, collection, the session's set-up
    total_cpu_s: float = 0.0  # when it finished, descendants still running included


#: The file name (``<name>.json``) of pytest-xdist's controller, which runs no test.
CONTROLLER = "controller"


def module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def _write(out_dir: Path, profile: WorkerProfile) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{profile.worker}.json"
    path.write_text(json.dumps(asdict(profile), indent=1), encoding="utf-8")


class SuiteCpuPlugin:
    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self.profile = WorkerProfile(self.worker)
        self._current: ModuleCpu | None = None
        self._since: Reading | None = None
        self._by_module: dict[str, ModuleCpu] = {}

    def _close(self, now: Reading) -> None:
        if self._current is not None and self._since is not None:
            self._current.cpu_s += cpu_between(self._since, now)
        self._current = None

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
        module = module_of(item.nodeid)
        entry = self._current
        if entry is None or entry.module != module:
            now = read()
            if self._since is None:
                self.profile.before_tests_cpu_s = cpu_between(_START, now)
            self._close(now)
            entry = self._by_module.get(module)
            if entry is None:
                entry = self._by_module[module] = ModuleCpu(module, self.worker)
                self.profile.modules.append(entry)
            self._current, self._since = entry, now
        started = time.perf_counter()
        yield
        entry.wall_s += time.perf_counter() - started
        entry.tests += 1

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self) -> None:
        now = read()
        self._close(now)
        self.profile.total_cpu_s = cpu_between(_START, now)
        _write(self.out_dir, self.profile)


class ControllerCpu:
    """pytest-xdist's controller runs no test: it starts the workers, receives their reports and
    prints them. Its own CPU, written as ``controller.json`` (no modules) when it is done."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self) -> None:
        own, _ = _own_cpu()  # its children are the workers, which write their own files
        _write(self.out_dir, WorkerProfile(CONTROLLER, total_cpu_s=own))


def pytest_configure(config: pytest.Config) -> None:
    out_dir = os.environ.get(ENV_VAR)
    if not out_dir:
        return
    if not os.environ.get("PYTEST_XDIST_WORKER") and getattr(config.option, "numprocesses", None):
        config.pluginmanager.register(ControllerCpu(Path(out_dir)), "bench-suite-cpu")
        return
    # Adopt orphaned descendants: a synth subprocess (app.py under the CDK CLI) exits without
    # waiting for its jsii kernel, which then stops on its own, so no process here ever waits
    # for it. Re-parented to init, that kernel would leave this process's descendants, and all
    # the CPU of the synth's CDK work every figure here; adopted, it stays a descendant until it
    # ends, and then a zombie that /proc still shows with its CPU time (no one here reaps it
    # before this process exits). Only with the variable set: a measuring run.
    orphans.become_subreaper()
    config.pluginmanager.register(SuiteCpuPlugin(Path(out_dir)), "bench-suite-cpu")


# --- bench/run.py's side ------------------------------------------------------------------------


def read_profiles(out_dir: Path) -> list[WorkerProfile]:
    """The files: ``main.json`` (pytest without xdist), or ``gw<N>.json`` of each worker and
    ``controller.json`` (``CONTROLLER``, no modules)."""
    profiles = []
    for path in sorted(out_dir.glob("*.json")):
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        modules = [ModuleCpu(**m) for m in data.pop("modules")]
        profiles.append(WorkerProfile(modules=modules, **data))
    return profiles


def heaviest(profiles: Iterable[WorkerProfile], top: int) -> tuple[list[ModuleCpu], ModuleCpu]:
    """The ``top`` modules with the most CPU, and the others added up (``module``: their count)."""
    modules = sorted((m for p in profiles for m in p.modules), key=lambda m: (-m.cpu_s, m.module))
    rest = modules[top:]
    others = ModuleCpu(
        module=str(len(rest)),
        worker="",
        tests=sum(m.tests for m in rest),
        wall_s=sum(m.wall_s for m in rest),
        cpu_s=sum(m.cpu_s for m in rest),
    )
    return modules[:top], others
