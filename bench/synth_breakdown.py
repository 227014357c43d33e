"""Where ``cdk synth -c env=default`` spends its time over the one-resource baseline app.

    .venv/bin/python bench/synth_breakdown.py [--runs N] [--cprofile FILE]

Used by ``bench/run.py`` (section 1), which interleaves these runs with its own; asserts nothing.
The two main kinds are real ``cdk synth`` runs by the project's CLI with this file as the app
(``cdk synth --app "<python> <this file> --child full"``, or ``--child baseline``): the child
does what ``app.py`` (or the baseline app) does, in steps, and notes the wall-clock time
(``time.time()``, comparable with the parent's) and the count of jsii round trips (requests from
Python to the jsii kernel in Node.js) after each step:

- Python: ``import jsii`` (the Python side of the runtime); ``import aws_cdk`` (starts the jsii
  kernel in Node.js, loads the aws-cdk-lib assembly and its dependencies); ``import cdk_nag``;
  the aws_cdk service modules app.py ends up importing (listed by a discovery child first); the
  project's own modules (``import app``);
- the app: ``App`` with its context, the config, ``add_compliance_packs``, ``add_landing_zone``
  (the construct tree, asset staging included), ``app.synth()``, ``clear_stale_outputs``,
  ``write_scp_files``, then the process exit (the baseline waits for jsii to stop its kernel;
  app.py, like this child, tells the kernel to stop and does not wait for it);
- inside ``app.synth()``: probe plugins that only note when they are called are added before,
  between and after the five cdk-nag packs and the preflight plugin (CDK runs the plugins one
  after the other), so each pack is timed inside the real synth. Before the first probe: CDK's
  own work (prepare, templates, asset manifests, tree) and the start of the built-in
  CloudFormation validation engine; after the last: that validation of every template and the
  report;
- the CLI: from its start to the first line of the app's Python, and from the app's exit to the
  CLI's (reading the assembly).

Small children isolate fixed costs: ``python`` (interpreter start alone), ``jsii`` (one round
trip to the kernel: ``JSII_CALLS`` calls that do next to nothing), ``launcher`` (cdk.json's
``app``, the ``node -e`` launcher that finds the venv's Python, run on an empty ``app.py``; the
baseline's cdk.json runs Python directly), ``engine`` (``aws_cdk.CloudFormationValidatePlugin()``
alone: the WebAssembly validation engine CDK starts in every synth, the baseline's too) and
``assets`` (the inference function's code asset: the ``files=`` copy, then CDK's staging and
hashing of it).

Kinds run interleaved, round after round, so that other work on the machine hits all alike;
figures are medians. ``--cprofile FILE`` also runs ``app.py`` once under cProfile (the Python
side only: time spent waiting for Node.js shows as the jsii kernel's ``readline``).
"""

from __future__ import annotations

import argparse
import atexit
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
CDK = ROOT / "node_modules" / ".bin" / "cdk"

#: Kinds of run in each round, in the order they run.
KINDS = ("python", "launcher", "baseline", "full", "engine", "assets", "jsii")

#: jsii round trips the ``jsii`` child times (a static call that does almost nothing in Node.js).
JSII_CALLS = 1000

#: Steps the child notes, in order, with their label in the report.
STEPS: tuple[tuple[str, str], ...] = (
    ("jsii", "`import jsii` (Python side of the runtime)"),
    ("aws_cdk", "`import aws_cdk`: jsii kernel start (Node.js), aws-cdk-lib assembly"),
    ("cdk_nag", "`import cdk_nag` (its assembly)"),
    ("cdk_modules", "aws_cdk service modules the app uses"),
    ("project", "the project's modules (`import app`)"),
    ("app", "`App` and its context"),
    ("config", "config: `config/<env>.yaml` loaded and validated"),
    ("packs", "`add_compliance_packs` (registers the plugins)"),
    ("tree", "construct tree: `add_landing_zone` (asset staging included)"),
    ("synth_cdk", "synth: CDK's own (templates, manifests, tree; validation engine start)"),
    ("AwsSolutions", "synth: cdk-nag AwsSolutions"),
    ("NIST.800.53.R5", "synth: cdk-nag NIST.800.53.R5"),
    ("HIPAA.Security", "synth: cdk-nag HIPAA.Security"),
    ("PCI.DSS.321", "synth: cdk-nag PCI.DSS.321"),
    ("Serverless", "synth: cdk-nag Serverless"),
    ("BedrockLzPreflight", "synth: `PreflightChecks` (bedrock_landing_zone/compliance)"),
    ("synth_after", "synth: built-in CloudFormation validation of every template, report"),
    ("clear_stale_outputs", "app.py: `clear_stale_outputs`"),
    ("write_scp_files", "app.py: `write_scp_files`"),
    ("exit", "exit: jsii stops its kernel (Node.js; app.py does not wait), Python's atexit"),
)
#: The steps the baseline child notes as well.
BASELINE_STEPS = frozenset(
    {"jsii", "aws_cdk", "cdk_modules", "app", "tree", "synth_cdk", "synth_after", "exit"}
)


def log(message: str) -> None:
    print(f"[synth-breakdown] {message}", file=sys.stderr, flush=True)


def python() -> str:
    return str(VENV_PYTHON) if VENV_PYTHON.is_file() else sys.executable


# --------------------------------------------------------------------------------------------
# The child: the app, step by step
# --------------------------------------------------------------------------------------------


class _Marks:
    """(step, wall-clock time, jsii round trips so far), written to ``path`` at process exit."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.start = time.time()
        self.marks: list[tuple[str, float, int]] = []
        self.requests = 0
        self.extra: dict[str, Any] = {"gc_s": 0.0}
        self._gc_started = 0.0
        gc.callbacks.append(self._gc)
        # Registered before jsii registers its kernel shutdown, so it runs after that one.
        atexit.register(self.write)

    def __call__(self, step: str) -> None:
        self.marks.append((step, time.time(), self.requests))

    def _gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.extra["gc_s"] += time.perf_counter() - self._gc_started

    def count_jsii_requests(self) -> None:
        from jsii._kernel.providers import process

        send = process._NodeProcess.send

        def counted(node: Any, request: Any, response_type: Any) -> Any:
            self.requests += 1
            return send(node, request, response_type)

        setattr(process._NodeProcess, "send", counted)  # noqa: B010

    def write(self) -> None:
        self("exit")
        data = {"start": self.start, "marks": self.marks, **self.extra}
        Path(self.path).write_text(json.dumps(data), encoding="utf-8")


def _probe_plugin(label: str, mark: Callable[[str], None]) -> Any:
    """A validation plugin that notes when CDK calls it and reports success."""
    import aws_cdk as cdk
    import jsii

    @jsii.implements(cdk.IPolicyValidationPlugin)
    class Probe:
        @property
        def name(self) -> str:
            return f"bench-probe-{label}"

        @property
        def version(self) -> str | None:
            return None

        @property
        def rule_ids(self) -> list[str] | None:
            return []

        def validate(
            self, context: cdk.IPolicyValidationContext
        ) -> cdk.PolicyValidationPluginReport:
            mark(label)
            return cdk.PolicyValidationPluginReport(success=True, violations=[])

    return Probe()


def _with_probes(mark: Callable[[str], None]) -> None:
    """Every ``add_plugins`` call gets a probe first and one after each plugin, named after the
    plugin it follows; the first probe ends CDK's own part of the synth."""
    import aws_cdk as cdk

    add_plugins = cdk.Validations.add_plugins

    def probed(self: Any, *plugins: Any) -> None:
        interleaved = [_probe_plugin("synth_cdk", mark)]
        for plugin in plugins:
            interleaved += [plugin, _probe_plugin(str(plugin.name), mark)]
        add_plugins(self, *interleaved)

    setattr(cdk.Validations, "add_plugins", probed)  # noqa: B010


def _timed(function: Callable[..., Any], mark: Callable[[str], None], step: str) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        mark(step)
        return result

    return wrapper


def child_full(marks: _Marks, modules: Sequence[str]) -> None:
    """app.py's ``__main__``, step by step (under the CLI: ``cdk.App()`` reads its context),
    with the garbage collector and the kernel's thread pool handled as app.py does when run as a
    script. app.py also imports ``aws_cdk`` and ``cdk_nag`` in a thread while it imports the
    rest (``kernel.import_in_background``); here they are imported one after the other, to time
    each, so the sum of these steps exceeds app.py's own time by that overlap."""
    import importlib

    gc.disable()
    import jsii  # noqa: F401

    marks.count_jsii_requests()
    sys.path.insert(0, str(ROOT))
    from bedrock_landing_zone.delivery import kernel

    kernel.limit_kernel_threads()  # as app.py does when run as a script, before aws_cdk
    marks("jsii")
    import aws_cdk as cdk

    marks("aws_cdk")
    import cdk_nag  # noqa: F401

    marks("cdk_nag")
    for module in modules:
        importlib.import_module(module)
    marks("cdk_modules")
    app: Any = importlib.import_module("app")
    app.skip_jsii_argument_checks()  # as app.py does when run as a script
    gc.freeze()
    gc.enable()
    marks("project")
    _with_probes(marks)
    load_config = app.load_config

    def config_step(*args: Any, **kwargs: Any) -> Any:
        marks("app")
        return load_config(*args, **kwargs)

    app.load_config = _timed(config_step, marks, "config")
    for name, step in (
        ("add_compliance_packs", "packs"),
        ("add_landing_zone", "tree"),
        ("clear_stale_outputs", "clear_stale_outputs"),
        ("write_scp_files", "write_scp_files"),
    ):
        setattr(app, name, _timed(getattr(app, name), marks, step))
    setattr(cdk.App, "synth", _timed(cdk.App.synth, marks, "synth_after"))  # noqa: B010
    app.main([])
    gc.freeze()  # as app.py does after main() (the collection at exit)
    app.exit_without_waiting_for_node()  # as app.py does: the exit handlers run, then it ends


def child_baseline(marks: _Marks) -> None:
    """bench/run.py's ``BASELINE_APP``, step by step, with one probe at the end of CDK's part."""
    import jsii  # noqa: F401

    marks.count_jsii_requests()
    marks("jsii")
    import aws_cdk as cdk

    marks("aws_cdk")
    from aws_cdk import aws_ssm as ssm

    ssm.StringParameter  # noqa: B018 - the lazy module loads on first use
    marks("cdk_modules")
    _with_probes(marks)
    application = cdk.App()
    stack = cdk.Stack(application, "Baseline")
    marks("app")
    ssm.StringParameter(stack, "Parameter", string_value="baseline")
    marks("tree")
    cdk.Validations.of(application).add_plugins()  # just the probe
    application.synth()
    marks("synth_after")


def child_discover(marks: _Marks) -> None:
    """The aws_cdk service modules app.py imports (the full child imports them first)."""
    sys.path.insert(0, str(ROOT))
    import app  # noqa: F401

    marks.extra["modules"] = sorted(
        m
        for m in sys.modules
        if m.startswith("aws_cdk.") and "_jsii" not in m and not m.endswith("._private")
    )


def child_engine(marks: _Marks) -> None:
    import aws_cdk as cdk

    marks("aws_cdk")
    cdk.CloudFormationValidatePlugin()
    marks("engine")


def child_assets(marks: _Marks) -> None:
    """The inference function's code asset: ``LandingZoneFunction``'s ``files=`` copy of the
    code folder, then CDK's staging (copy into the output directory, content hash)."""
    import aws_cdk as cdk
    from aws_cdk import aws_s3_assets as s3_assets

    sys.path.insert(0, str(ROOT))
    from bedrock_landing_zone.base.functions import _ASSET_EXCLUDE, LAMBDA_ROOT, _staged

    s3_assets.Asset  # noqa: B018 - the lazy module loads on first use
    with tempfile.TemporaryDirectory(prefix="bench-assets-") as out:
        stack = cdk.Stack(cdk.App(outdir=out), "Assets")
        marks("setup")
        code = _staged(LAMBDA_ROOT / "inference", {"inference_config.json": "{}\n"})
        marks("copy")
        s3_assets.Asset(
            stack, "Code", path=str(code), exclude=_ASSET_EXCLUDE, ignore_mode=cdk.IgnoreMode.GIT
        )
        marks("stage")
        shutil.rmtree(code.parent, ignore_errors=True)


def child_jsii(marks: _Marks) -> None:
    """The cost of one jsii round trip: ``JSII_CALLS`` static calls that do next to nothing."""
    import aws_cdk as cdk

    cdk.Token.is_unresolved("warm-up")
    marks("setup")
    for _ in range(JSII_CALLS):
        cdk.Token.is_unresolved("x")
    marks("calls")


def run_child(kind: str, output: str, modules: Sequence[str]) -> None:
    marks = _Marks(output)
    children: dict[str, Callable[[], None]] = {
        "python": lambda: None,
        "full": lambda: child_full(marks, modules),
        "baseline": lambda: child_baseline(marks),
        "discover": lambda: child_discover(marks),
        "engine": lambda: child_engine(marks),
        "assets": lambda: child_assets(marks),
        "jsii": lambda: child_jsii(marks),
    }
    children[kind]()


# --------------------------------------------------------------------------------------------
# The parent: runs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    kind: str
    wall_s: float
    steps: dict[str, float]  # step -> seconds ("start": until the child's first line)
    requests: dict[str, int]  # step -> jsii round trips
    gc_s: float = 0.0  # in Python's cyclic garbage collector, all steps together


def _launcher_command() -> str:
    return str(json.loads((ROOT / "cdk.json").read_text(encoding="utf-8"))["app"])


def run_once(kind: str, env: dict[str, str], baseline_dir: Path, modules: Sequence[str]) -> Run:
    """One child of ``kind`` (``KINDS``), timed from outside and, for most, from inside."""
    from bench import orphans  # here: a child runs without the bench package on its path

    with tempfile.TemporaryDirectory(prefix="bench-breakdown-") as tmp:
        marks_file = Path(tmp) / "marks.json"
        child = [python(), str(Path(__file__).resolve()), "--child", kind]
        child += ["--marks", str(marks_file)]
        child_env = dict(env, BENCH_SYNTH_MODULES=",".join(modules))
        cwd, shell = ROOT, False
        command: list[str] | str = child
        if kind in ("full", "baseline"):
            cwd = baseline_dir if kind == "baseline" else ROOT
            extra = ["-c", "env=default"] if kind == "full" else []
            app = " ".join(child)  # the CLI runs it through the shell
            command = [str(CDK), "synth", "--quiet", "--no-notices", "--app", app, *extra]
            command += ["-o", str(Path(tmp) / "out")]
        elif kind == "launcher":  # cdk.json's launcher, starting an empty app.py
            cwd = Path(tmp) / "launcher"
            (cwd / ".venv" / "bin").mkdir(parents=True)
            (cwd / ".venv" / "bin" / "python").symlink_to(python())
            (cwd / "app.py").write_text("", encoding="utf-8")
            command, shell = _launcher_command(), True
        started = time.time()
        done = subprocess.run(
            command,
            cwd=cwd,
            env=child_env,
            shell=shell,
            capture_output=True,
            text=True,
            check=False,
        )
        ended = time.time()
        orphans.reap()  # app.py's Node.js kernel finishes after the CLI (bench/orphans.py)
        if done.returncode != 0 or (kind != "launcher" and not marks_file.is_file()):
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
            raise RuntimeError(f"breakdown child {kind} failed ({done.returncode}):\n{tail}")
        data: dict[str, Any] = (
            json.loads(marks_file.read_text(encoding="utf-8"))
            if marks_file.is_file()
            else {"start": ended, "marks": []}
        )
    steps: dict[str, float] = {"start": data["start"] - started}
    requests: dict[str, int] = {}
    previous_t, previous_n = data["start"], 0
    for step, t, n in data["marks"]:
        steps[step] = steps.get(step, 0.0) + (t - previous_t)
        requests[step] = requests.get(step, 0) + (n - previous_n)
        previous_t, previous_n = t, n
    steps["cli_after"] = ended - previous_t
    return Run(kind, ended - started, steps, requests, float(data.get("gc_s", 0.0)))


def discover_modules(env: dict[str, str]) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="bench-breakdown-") as tmp:
        marks_file = Path(tmp) / "marks.json"
        command = [python(), str(Path(__file__).resolve()), "--child", "discover"]
        subprocess.run(
            [*command, "--marks", str(marks_file)], cwd=ROOT, env=env, check=True, text=True
        )
        modules: list[str] = json.loads(marks_file.read_text(encoding="utf-8"))["modules"]
    return modules


@dataclass
class Breakdown:
    modules: list[str]  # aws_cdk modules app.py imports
    by_kind: dict[str, list[Run]]
    loads: list[float]  # 1-minute load average at the start of each round

    @classmethod
    def empty(cls, modules: list[str]) -> Breakdown:
        return cls(modules, {kind: [] for kind in KINDS}, [])

    def add_round(self, env: dict[str, str], baseline_dir: Path, *, keep: bool = True) -> None:
        """One run of every kind; ``keep=False`` for a warm-up."""
        load = os.getloadavg()[0]
        ran = [run_once(kind, env, baseline_dir, self.modules) for kind in KINDS]
        if keep:
            self.loads.append(load)
            for r in ran:
                self.by_kind[r.kind].append(r)

    @property
    def runs(self) -> int:
        return len(self.loads)

    def median(self, kind: str, step: str) -> float:
        return statistics.median(r.steps.get(step, 0.0) for r in self.by_kind[kind])

    def requests(self, kind: str, step: str) -> int:
        return round(statistics.median(r.requests.get(step, 0) for r in self.by_kind[kind]))

    def wall(self, kind: str) -> float:
        return statistics.median(r.wall_s for r in self.by_kind[kind])

    def gc(self, kind: str) -> float:
        return statistics.median(r.gc_s for r in self.by_kind[kind])

    def steps(self, kind: str) -> list[str]:
        """Every step a run of ``kind`` noted, in ``STEPS`` order, then any other."""
        seen = {step for r in self.by_kind[kind] for step in r.steps}
        known = [step for step, _ in STEPS if step in seen]
        return known + sorted(seen - set(known) - {"start", "cli_after"})


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    label: str
    full_s: float
    baseline_s: float | None  # None: the baseline has no such step
    requests: int | None = None

    @property
    def extra_s(self) -> float:
        return self.full_s - (self.baseline_s or 0.0)


def rows(b: Breakdown) -> list[Row]:
    """The landing zone's synth and the baseline's, step by step, CLI included."""
    python_start = b.median("python", "start")
    launcher = max(b.wall("launcher") - python_start, 0.0)
    out = [
        Row(
            "CLI: Node.js start, CLI modules, until the app runs",
            b.median("full", "start") - python_start,
            b.median("baseline", "start") - python_start,
        ),
        Row("cdk.json's `node -e` launcher (finds the venv's Python)", launcher, 0.0),
        Row("Python interpreter start", python_start, python_start),
    ]
    labels = dict(STEPS)
    for step in b.steps("full"):
        full = b.median("full", step)
        base = b.median("baseline", step) if step in BASELINE_STEPS else None
        label = labels.get(step, f"synth: plugin {step}")
        out.append(Row(label, full, base, b.requests("full", step)))
    out.append(
        Row(
            "CLI: reads the assembly, exits",
            b.median("full", "cli_after"),
            b.median("baseline", "cli_after"),
        )
    )
    return out


def render(b: Breakdown, goal: float) -> list[str]:
    """Markdown lines for bench/results.md (section 1)."""
    table = rows(b)
    full = sum(r.full_s for r in table)
    base = sum(r.baseline_s or 0.0 for r in table)
    top = sorted(table, key=lambda r: -r.extra_s)[:5]
    copy, stage = b.median("assets", "copy"), b.median("assets", "stage")
    engine = b.median("engine", "engine")
    per_call = b.median("jsii", "calls") / JSII_CALLS
    tree_calls = next((r.requests or 0 for r in table if r.label == dict(STEPS)["tree"]), 0)
    load = statistics.median(b.loads)
    out = [
        f"### Breakdown: where the time goes (`bench/synth_breakdown.py`, median of {b.runs} "
        "interleaved rounds)",
        "",
        "Each step timed inside real `cdk synth` runs of both apps (the CLI runs the step-by-step "
        "child as the app; probe plugins between the packs); the CLI's launcher, the validation "
        "engine and Python's start are timed alone. Extra: the landing zone's time minus the "
        f"baseline's. Load average at the rounds' start: median {load:.1f} "
        f"({min(b.loads):.1f}-{max(b.loads):.1f}) on {os.cpu_count()} cores.",
        "",
        "| Step | Landing zone | jsii calls | Baseline | Extra |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in table:
        base_cell = "—" if r.baseline_s is None else f"{r.baseline_s:.2f} s"
        calls = "" if r.requests is None else str(r.requests)
        out.append(f"| {r.label} | {r.full_s:.2f} s | {calls} | {base_cell} | {r.extra_s:+.2f} s |")
    out += [
        f"| **Sum of the steps** | **{full:.2f} s** | {sum(r.requests or 0 for r in table)} "
        f"| **{base:.2f} s** | "
        f"**{full - base:+.2f} s** (ratio {full / base:.2f}, goal <= {goal:g}) |",
        "",
        "Largest extra: " + "; ".join(f"{r.label} {r.extra_s:+.2f} s" for r in top) + ".",
        "",
        "Measured alone, inside those steps: the CloudFormation validation engine's start "
        f"(WebAssembly, `aws_cdk.CloudFormationValidatePlugin()`) {engine:.2f} s, in CDK's own "
        "synth step of both apps; the inference function's code asset "
        f"{copy * 1000:.0f} ms for the `files=` copy of its folder and {stage * 1000:.0f} ms for "
        "CDK's staging (copy into the output directory, content hash), in the construct tree; "
        f"a jsii round trip {per_call * 1000:.2f} ms ({JSII_CALLS} static calls that do next to "
        f"nothing), so the tree's {tree_calls} calls spend about {per_call * tree_calls:.2f} s "
        "going to Node.js and back. "
        f"Python's garbage collector, all steps together: {b.gc('full'):.2f} s (landing zone), "
        f"{b.gc('baseline'):.2f} s (baseline). The app imports {len(b.modules)} aws_cdk modules "
        "(interfaces included).",
        "",
    ]
    return out


# --------------------------------------------------------------------------------------------
# cProfile
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    total_s: float
    own: list[tuple[str, float]]  # (what, seconds its functions spent themselves), all of it
    project: list[tuple[str, float]]  # (project module, cumulative seconds), the largest


#: Own time of these modules / built-ins, by what it is (first match wins).
_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("waiting for Node.js (jsii kernel replies)", ("<method 'readline' of '_io.BufferedReader",)),
    ("sending to Node.js (pipe writes)", ("<method 'flush' of '_io.BufferedWriter",)),
    ("type checks of jsii arguments (typeguard, typing)", ("typeguard", "typing")),
    ("jsii runtime, Python side (with cattrs, json)", ("jsii", "cattrs", "json")),
    (
        "imports: reading, compiling, executing modules",
        (
            "importlib",
            "<built-in method marshal.loads>",
            "<built-in method builtins.compile>",
            "<built-in method builtins.exec>",
            "<built-in method builtins.__build_class__>",
            "zipimport",
        ),
    ),
    ("aws_cdk, constructs, cdk_nag bindings", ("aws_cdk", "constructs", "cdk_nag")),
    ("the project's code (app.py, bedrock_landing_zone)", ("app", "bedrock_landing_zone")),
    ("config parsing (pydantic, yaml)", ("pydantic", "pydantic_core", "yaml")),
)


def _group(module: str) -> str:
    for label, prefixes in _GROUPS:
        if any(module == p or module.startswith((f"{p}.", p)) for p in prefixes):
            return label
    return "other (standard library, built-ins)"


def cprofile(output: Path, env: dict[str, str], top: int = 8) -> Profile:
    """``app.py`` once under cProfile: its time by what it is, and the project's modules by
    cumulative time (calls into a module from outside it, each counted once per call)."""
    import pstats

    with tempfile.TemporaryDirectory(prefix="bench-cprofile-") as tmp:
        command = [python(), "-m", "cProfile", "-o", str(output), "app.py", "-o", tmp]
        subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    stats: dict[Any, Any] = pstats.Stats(str(output)).stats  # type: ignore[attr-defined]
    own: dict[str, float] = {}
    cumulative: dict[str, float] = {}
    for func, (_cc, _nc, tt, _ct, callers) in stats.items():
        module = _module_of(func[0], func[2])
        own[_group(module)] = own.get(_group(module), 0.0) + tt
        if module == "app" or module.startswith("bedrock_landing_zone"):
            for caller, caller_stats in callers.items():
                if _module_of(caller[0], caller[2]) != module:
                    cumulative[module] = cumulative.get(module, 0.0) + caller_stats[3]
    return Profile(
        sum(own.values()),
        sorted(own.items(), key=lambda item: -item[1]),
        sorted(cumulative.items(), key=lambda item: -item[1])[:top],
    )


def _module_of(filename: str, function: str) -> str:
    """``jsii._kernel.providers.process``, ``bedrock_landing_zone.config``, ``app``; built-ins
    by name (``<method 'readline' ...>``)."""
    if filename == "~":
        return function.replace("{", "<").replace("}", ">")
    path = filename.replace(os.sep, "/")
    if path.startswith("<frozen "):
        return path[len("<frozen ") : -1]
    for marker in ("/site-packages/", f"{ROOT.as_posix()}/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            if marker == "/lib/python3":
                path = path.split("/", 1)[1] if "/" in path else path
            break
    parts = path.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) or filename


def render_cprofile(profile: Profile) -> list[str]:
    return [
        "### Python side under cProfile (one run of `python app.py`)",
        "",
        f"{profile.total_s:.1f} s under the profiler, which slows Python down (not Node.js): "
        "compare the rows with each other, not with the tables above.",
        "",
        "| Where the Python process spends its time (own time) | Seconds | Share |",
        "| --- | ---: | ---: |",
        *(
            f"| {what} | {seconds:.2f} s | {100 * seconds / profile.total_s:.0f} % |"
            for what, seconds in profile.own
        ),
        "",
        "| The project's modules, cumulative (Node.js time of their jsii calls included) "
        "| Seconds |",
        "| --- | ---: |",
        *(f"| `{module}` | {seconds:.2f} s |" for module, seconds in profile.project),
        "",
    ]


def main(argv: Iterable[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--cprofile", type=Path, help="also profile app.py once into this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--marks", help=argparse.SUPPRESS)
    args = parser.parse_args(list(argv))
    if args.child:
        modules = [m for m in os.environ.get("BENCH_SYNTH_MODULES", "").split(",") if m]
        run_child(args.child, args.marks, modules)
        return 0
    sys.path.insert(0, str(ROOT))
    from bench import orphans
    from bench.run import GOAL_SYNTH_RATIO, tool_env, write_baseline_app

    orphans.become_subreaper()
    env = tool_env()
    breakdown = Breakdown.empty(discover_modules(env))
    with tempfile.TemporaryDirectory(prefix="bench-baseline-app-") as tmp:
        write_baseline_app(Path(tmp))
        for index in range(args.runs + 1):
            breakdown.add_round(env, Path(tmp), keep=index > 0)
            log(f"round {index}/{args.runs}" + (" (warm-up, discarded)" if not index else ""))
    lines = render(breakdown, GOAL_SYNTH_RATIO)
    if args.cprofile:
        lines += render_cprofile(cprofile(args.cprofile, env))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
