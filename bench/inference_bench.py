"""Benchmark of the Bedrock inference Lambda runtime (not a test: it asserts nothing).

    .venv/bin/python bench/inference_bench.py [--runs 9] [--requests 3000]

Measures, and writes to ``bench/results/inference.json``:

1. **Cold init**: importing ``bedrock_inference.handler`` in a fresh interpreter (median of
   ``--runs``), against a bare ``import boto3; boto3.client("bedrock-runtime", ...)`` timed in the
   same way and interleaved with it. Goal: ratio <= 1.15. The asset ships its modules' bytecode
   for the runtime (``make bytecode``: checked-hash cpython-314 pycs, which Lambda's read-only
   ``/var/task`` could never get otherwise); this Python 3.11 cannot read those, so the measured
   copy of the asset gets checked-hash bytecode of its own, and the handler is imported with
   bytecode writing off. Also timed, as ``from_source``: a copy without bytecode, compiled on
   every run (an asset shipped without ``make bytecode``). Site-packages keep their cached
   bytecode, as the Lambda runtime's boto3 and the Powertools layer do. Also timed: the bare
   baseline plus importing the handler's third-party dependencies (Powertools Logger/Metrics),
   to show what of the ratio is the dependencies' and what is this package's.
   **First request**: init defers what not every request needs (the OpenAI translation,
   attachment checks), so the same fresh interpreters then time their first
   request: the handler's on one route each (``POST /v1/converse``, ``POST /v1/chat/completions``,
   ``GET /v1/models``, its own bedrock-runtime client stubbed), the baseline's first stubbed
   ``client.converse``. The ratio of init + first request is the cold start a first caller sees.
   **Instructions**: with valgrind on the PATH, the same runs once more under callgrind
   (deterministic counts, less an empty interpreter's): the ratios as CPU work, which other work
   on a shared machine does not blur as it blurs wall time (``--no-instructions`` skips them).
2. **Warm overhead per request, per route**: ``lambda_handler`` on a valid request of each
   model route (``POST /v1/converse``, and the same request as an OpenAI chat completion on
   ``POST /v1/chat/completions``), its clients made with its own botocore ``Config`` and stubbed
   (``botocore.stub.Stubber``), minus a stubbed ``client.converse`` call alone on a client with
   boto3's defaults (medians over ``--requests``, the routes and the stub timed in turn so that
   drift hits them alike; logs and EMF written to ``/dev/null``). Goal: <= 0.3 ms for each route
   (issue 17). The handler runs on the main thread, as in Lambda, so its Converse call is
   bounded by the deadline's alarm (``bedrock_client._Alarm``). Also measured: the alarm alone
   (its checks and two ``setitimer`` calls); what a call made off the main thread pays instead,
   the hand-off of a call that does nothing to the watchdog's worker thread and back (thread
   scheduling, not this code's work); and, with valgrind, the instructions per request of each
   route and of the stubbed call alone (callgrind, all threads, less a run that only warms up):
   the overhead as CPU work, which a shared machine does not blur.
3. **Code asset size**: ``lambda/inference/`` zipped (deflate) as it ships: the sources and
   their cpython-314 bytecode, without other bytecode and dot-folders such as the
   ``.mypy_cache`` that ``make typecheck`` leaves there. Goal: <= 256 KiB.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ASSET = ROOT / "lambda" / "inference"
RESULTS = ROOT / "bench" / "results" / "inference.json"
EVENT = ROOT / "tests" / "lambda" / "inference" / "events" / "converse_ok.json"
REGION = "us-east-1"
#: An X-Ray trace header of the form Lambda puts in ``_X_AMZN_TRACE_ID`` for an invocation
#: (X-Ray Developer Guide, "Tracing header": Root, Parent, Sampled); a made-up id.
XRAY_TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"

#: The bytecode the asset ships (bedrock_landing_zone/base/functions.py BYTECODE_TAG, not
#: imported here: that module starts the jsii runtime).
SHIPPED_BYTECODE = ".cpython-314.pyc"
GOAL_COLD_RATIO = 1.15
GOAL_WARM_MS = 0.3
GOAL_ZIP_KIB = 256

_TIMED = """
import time
_t = time.perf_counter()
{body}
print(time.perf_counter() - _t)
"""
BASELINE = f'import boto3\nboto3.client("bedrock-runtime", region_name="{REGION}")'
#: Fresh interpreters that also time their first request ("T <seconds>" lines: init, first; the
#: handler's log lines go to stdout too).
_FIRST_BASELINE = f"""
import time
_t = time.perf_counter()
import boto3
client = boto3.client("bedrock-runtime", region_name="{REGION}")
print("T", time.perf_counter() - _t)
from botocore.stub import Stubber
stubber = Stubber(client)
stubber.activate()
stubber.add_response("converse", {{answer}})
_t = time.perf_counter()
client.converse(**{{params}})
print("T", time.perf_counter() - _t)
"""
_FIRST_HANDLER = """
import time
_t = time.perf_counter()
import bedrock_inference.handler as handler
print("T", time.perf_counter() - _t)
import contextlib, io, json
from botocore.stub import Stubber
class Context:  # what Powertools and the handler read of a Lambda context
    function_name = "bedrock-inference-bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bedrock-inference-bench"
    memory_limit_in_mb = 512
    aws_request_id = "bench-first-request"
    log_group_name = "/aws/lambda/bedrock-inference-bench"
    log_stream_name = "bench"
    def __init__(self):
        self._deadline = time.monotonic() + 60
    def get_remaining_time_in_millis(self):
        return int((self._deadline - time.monotonic()) * 1000)
def stubbed(client):
    stubber = Stubber(client)
    stubber.activate()
    stubber.add_response("converse", {answer})
    return client
runtime = handler.SERVICE.bedrock
for client in runtime._clients.values():  # the client init made
    stubbed(client)
# A client the first request makes (socket timeouts capped to its share of the time budget) is
# made as in production, then stubbed (a Stubber's set-up is inside the timing: ~0.1 ms).
make_client = runtime._factory
runtime._factory = lambda config: stubbed(make_client(config))
event = json.loads({event!r})
with contextlib.redirect_stdout(io.StringIO()):
    _t = time.perf_counter()
    response = handler.lambda_handler(event, Context())
    elapsed = time.perf_counter() - _t
assert response["statusCode"] == 200, response
print("T", elapsed)
"""
DEPENDENCIES = BASELINE + (  # the third-party imports of the handler (Powertools)
    "\nfrom aws_lambda_powertools import Logger, Metrics"
    "\nfrom aws_lambda_powertools.metrics import MetricUnit"
    "\nfrom aws_lambda_powertools.utilities.typing import LambdaContext"
)
HANDLER = "import bedrock_inference.handler"


def _env(asset: Path) -> dict[str, str]:
    sys.path.insert(0, str(ASSET))
    from bedrock_inference.local import (
        SAMPLE_CONFIG,
        SAMPLE_GUARDRAIL_ID,
        SAMPLE_GUARDRAIL_VERSION,
    )

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env.update(
        {
            "PYTHONPATH": str(asset),
            "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_REGION": REGION,
            "INFERENCE_CONFIG": json.dumps(SAMPLE_CONFIG),
            "GUARDRAIL_ID": SAMPLE_GUARDRAIL_ID,
            "GUARDRAIL_VERSION": SAMPLE_GUARDRAIL_VERSION,
        }
    )
    return env


def _cache_dependencies(asset: Path, env: dict[str, str], scripts: list[str]) -> None:
    """Run each of ``scripts`` (``python -c``) once, untimed (this also warms the OS file cache),
    with bytecode writing on, so that what they import from site-packages and the standard
    library has cached bytecode, as the Lambda runtime's boto3 and the Powertools layer have
    (under make, in ``PYTHONPYCACHEPREFIX``, where nothing is compiled before a first import);
    then drop the bytecode of ``asset`` itself, which every measured run compiles from source."""
    writing = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for script in scripts:
        subprocess.run(
            [sys.executable, "-c", script], env=writing, capture_output=True, check=False
        )
    prefix = env.get("PYTHONPYCACHEPREFIX")
    if prefix:
        mirror = Path(prefix) / asset.resolve().relative_to(asset.resolve().anchor)
        shutil.rmtree(mirror, ignore_errors=True)
        with contextlib.suppress(OSError):  # the temporary directory's mirror, now empty
            mirror.parent.rmdir()
    for cache in list(asset.rglob("__pycache__")):
        shutil.rmtree(cache)


def _asset_copies(
    tmp: Path, scripts: list[str], extra_env: dict[str, str] | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """The environments of two fresh copies of the asset, after ``_cache_dependencies`` ran
    ``scripts``: ``source``, with no bytecode of its own (compiled on every run, as an asset
    shipped without ``make bytecode``), and ``shipped``, with its modules' bytecode where this
    interpreter looks for it (``PYTHONPYCACHEPREFIX``'s mirror, or ``__pycache__``),
    checked-hash: what the Lambda runtime finds in the shipped asset (``make bytecode`` writes
    the runtime's cpython-314 pycs, which this Python 3.11 cannot read, so the bench compiles its
    own of the same kind)."""
    not_copied = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
    asset, shipped = tmp / "inference", tmp / "shipped" / "inference"
    shutil.copytree(ASSET, asset, ignore=not_copied)
    env = {**_env(asset), **(extra_env or {})}
    _cache_dependencies(asset, env, scripts)
    shutil.copytree(ASSET, shipped, ignore=not_copied)
    shipped_env = {**env, "PYTHONPATH": str(shipped)}
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import compileall, py_compile, sys\n"
            "mode = py_compile.PycInvalidationMode.CHECKED_HASH\n"
            "sys.exit(not compileall.compile_dir(sys.argv[1], quiet=1, invalidation_mode=mode))",
            str(shipped),
        ],
        env=shipped_env,
        check=True,
    )
    return env, shipped_env


def _time_import(body: str, env: dict[str, str]) -> tuple[float, float]:
    """(seconds inside the interpreter, seconds for the whole process) of one fresh run."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _TIMED.format(body=body)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    return float(out.stdout.strip().splitlines()[-1]), wall


def _time_first(script: str, env: dict[str, str]) -> tuple[float, float]:
    """(init, first request) seconds of one fresh interpreter running ``script``."""
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"first-request run failed:\n{out.stderr[-3000:]}")
    times = [float(line[2:]) for line in out.stdout.splitlines() if line.startswith("T ")]
    init, first = times
    return init, first


def _first_scripts() -> dict[str, str]:
    events = route_events()
    models = json.loads(json.dumps(events["converse"]))
    models["httpMethod"] = "GET"
    models["resource"] = models["path"] = ROUTE_PATHS["models"]
    models["requestContext"]["resourcePath"] = ROUTE_PATHS["models"]
    models["body"] = None
    events["models"] = models
    answer = repr(STUB_ANSWER)  # a literal: bedrock_inference.local imports more than the handler
    baseline = _FIRST_BASELINE.replace("{params}", repr(STUB_PARAMS))
    return {
        "baseline": baseline.replace("{answer}", answer),
        **{
            route: _FIRST_HANDLER.format(event=json.dumps(event), answer=answer)
            for route, event in events.items()
        },
    }


def cold_init(runs: int) -> dict[str, Any]:
    """The handler's init and first requests as Lambda runs them (its shipped bytecode loaded,
    ``shipped``) and compiled from source (``source``: an asset without bytecode), against the
    bare client, interleaved."""
    scripts = _first_scripts()
    with tempfile.TemporaryDirectory() as tmp:
        env, shipped_env = _asset_copies(
            Path(tmp),
            [
                *(_TIMED.format(body=b) for b in (BASELINE, DEPENDENCIES, HANDLER)),
                *scripts.values(),
            ],
        )
        envs = {"shipped": shipped_env, "source": env}
        samples: dict[str, list[tuple[float, float]]] = {"baseline": [], "deps": []}
        samples.update({name: [] for name in envs})
        firsts: dict[str, list[tuple[float, float]]] = {"baseline": []}
        firsts.update({f"{name}:{r}": [] for name in envs for r in ROUTE_PATHS})
        for _ in range(runs):  # interleaved, so drift hits all of them alike
            samples["baseline"].append(_time_import(BASELINE, env))
            samples["deps"].append(_time_import(DEPENDENCIES, env))
            firsts["baseline"].append(_time_first(scripts["baseline"], env))
            for name, variant_env in envs.items():
                samples[name].append(_time_import(HANDLER, variant_env))
                for route in ROUTE_PATHS:
                    firsts[f"{name}:{route}"].append(_time_first(scripts[route], variant_env))

    def med(name: str, index: int) -> float:
        return statistics.median(s[index] for s in samples[name]) * 1000

    def first(name: str, index: int) -> float:
        return statistics.median(s[index] for s in firsts[name]) * 1000

    def total(name: str) -> float:
        return statistics.median((s[0] + s[1]) * 1000 for s in firsts[name])

    baseline_total = total("baseline")
    baseline_ms = med("baseline", 0)

    def variant(name: str) -> dict[str, Any]:
        return {
            "handler_import_ms": med(name, 0),
            "handler_process_ms": med(name, 1),
            "ratio": med(name, 0) / baseline_ms,
            "first_request": {
                "baseline_first_call_ms": first("baseline", 1),
                "baseline_init_plus_first_ms": baseline_total,
                "routes": {
                    route: {
                        "path": ROUTE_PATHS[route],
                        "init_ms": first(f"{name}:{route}", 0),
                        "first_request_ms": first(f"{name}:{route}", 1),
                        "init_plus_first_ms": total(f"{name}:{route}"),
                        "ratio": total(f"{name}:{route}") / baseline_total,
                    }
                    for route in ROUTE_PATHS
                },
            },
        }

    result: dict[str, Any] = {
        "runs": runs,
        "baseline_import_ms": baseline_ms,
        "dependencies_import_ms": med("deps", 0),
        "baseline_process_ms": med("baseline", 1),
        **variant("shipped"),
        "from_source": variant("source"),
    }
    result["ratio_dependencies_only"] = (
        result["dependencies_import_ms"] / result["baseline_import_ms"]
    )
    result["ratio_whole_process"] = result["handler_process_ms"] / result["baseline_process_ms"]
    result["goal"] = GOAL_COLD_RATIO
    result["meets_goal"] = result["ratio"] <= GOAL_COLD_RATIO
    return result


def _callgrind(valgrind: str, runs: dict[str, tuple[list[str], dict[str, str]]]) -> dict[str, int]:
    """Instructions of each ``python ARGS...`` run in its environment (callgrind, user space, all
    threads), all at once: a count does not depend on the CPU share."""
    command = [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable]
    running = {
        name: subprocess.Popen(
            [*command, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        for name, (args, env) in runs.items()
    }
    counts: dict[str, int] = {}
    for name, process in running.items():
        _, err = process.communicate()
        collected = [line for line in err.decode().splitlines() if "Collected :" in line]
        if process.returncode != 0 or not collected:
            raise RuntimeError(f"callgrind run {name} failed:\n{err.decode()[-2000:]}")
        counts[name] = int(collected[-1].split()[-1])
    return counts


def cold_instructions() -> dict[str, Any] | None:
    """Instructions (valgrind's callgrind, user space, all threads) of the same fresh-interpreter
    runs, less an empty interpreter's: the cold-init ratios as CPU work, which a machine shared
    with other work does not change the way it changes wall time. None without valgrind."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    scripts = _first_scripts()
    bodies = {
        "empty": "pass",
        "baseline": BASELINE,
        "dependencies": DEPENDENCIES,
        "handler": HANDLER,
        "baseline_first": scripts["baseline"],
        "handler_first_converse": scripts["converse"],
    }
    with tempfile.TemporaryDirectory() as tmp:
        env, shipped_env = _asset_copies(Path(tmp), list(bodies.values()), {"PYTHONHASHSEED": "0"})
        runs = {name: (body, env) for name, body in bodies.items()}
        runs["handler_shipped"] = (HANDLER, shipped_env)
        runs["handler_first_converse_shipped"] = (scripts["converse"], shipped_env)
        # Each run ends with os._exit: the count is init (and the first request), not the
        # interpreter's teardown, which Lambda never runs on a request's path (and which the
        # handler's frozen objects would make look cheaper than it is).
        counts = _callgrind(
            valgrind,
            {
                name: (["-c", f"{body}\nimport os\nos._exit(0)"], run_env)
                for name, (body, run_env) in runs.items()
            },
        )
    net = {name: counts[name] - counts["empty"] for name in runs if name != "empty"}
    return {
        "instructions": counts,
        "ratio": net["handler_shipped"] / net["baseline"],
        "ratio_dependencies_only": net["dependencies"] / net["baseline"],
        "ratio_first_converse": net["handler_first_converse_shipped"] / net["baseline_first"],
        "from_source": {
            "ratio": net["handler"] / net["baseline"],
            "ratio_first_converse": net["handler_first_converse"] / net["baseline_first"],
        },
    }


class _Warm:
    """A warm container in this process: the handler with its bedrock-runtime clients stubbed
    (``botocore.stub.Stubber``), each made with the handler's own botocore ``Config`` as in
    production, and a stubbed client with boto3's defaults for the bare call (the baseline: what
    calling Converse yourself costs)."""

    def __init__(self) -> None:
        from bedrock_inference.local import (
            SAMPLE_CONFIG,
            SAMPLE_GUARDRAIL_ID,
            SAMPLE_GUARDRAIL_VERSION,
            LocalContext,
            converse_answer,
        )

        os.environ.update(
            {
                "AWS_REGION": REGION,
                "INFERENCE_CONFIG": json.dumps(SAMPLE_CONFIG),
                "GUARDRAIL_ID": SAMPLE_GUARDRAIL_ID,
                "GUARDRAIL_VERSION": SAMPLE_GUARDRAIL_VERSION,
                # Set by Lambda in every execution environment (Lambda Developer Guide,
                # "Defined runtime environment variables"); the handler and Powertools read
                # them, and a missing one costs a failed lookup that Lambda would not.
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "_X_AMZN_TRACE_ID": XRAY_TRACE_HEADER,
            }
        )
        import boto3
        from bedrock_inference import handler
        from botocore.stub import Stubber

        self.client = boto3.client("bedrock-runtime", region_name=REGION)
        self.stubber = Stubber(self.client)
        self.stubber.activate()
        self.handler_stubbers: list[Stubber] = []
        self.answer = converse_answer()

        def client_factory(config: Any) -> Any:
            client = boto3.client("bedrock-runtime", region_name=REGION, config=config)
            stubber = Stubber(client)
            stubber.activate()
            stubber.add_response("converse", self.answer)  # made for a call about to be made
            self.handler_stubbers.append(stubber)
            return client

        handler.SERVICE = handler.build_service(handler.SETTINGS, client_factory=client_factory)
        self.handler = handler
        self.new_context = LocalContext
        self.context = LocalContext(60_000)
        self.events = route_events()

    def prime(self) -> None:
        """Queue the stubbed answer of the next call on every client that has none queued, and
        make the next Lambda context (outside the timed part: in Lambda the runtime makes the
        context, not the handler)."""
        for stubber in (self.stubber, *self.handler_stubbers):
            try:
                stubber.assert_no_pending_responses()
            except AssertionError:
                continue  # one answer queued at most
            stubber.add_response("converse", self.answer)
        self.context = self.new_context(60_000)

    def request(self, event: dict[str, Any]) -> None:
        response = self.handler.lambda_handler(event, self.context)
        assert response["statusCode"] == 200, response

    def stub_call(self) -> None:
        self.client.converse(**STUB_PARAMS)

    @contextlib.contextmanager
    def quiet(self) -> Any:
        """Logs and EMF to /dev/null, as the CloudWatch agent takes them in Lambda."""
        from bedrock_inference.telemetry import logger

        stream = logger.registered_handler
        assert isinstance(stream, logging.StreamHandler)
        with Path(os.devnull).open("w", encoding="utf-8") as sink:
            old = stream.setStream(sink)
            try:
                with contextlib.redirect_stdout(sink):
                    yield
            finally:
                if old is not None:
                    stream.setStream(old)


def warm_overhead(requests: int) -> dict[str, Any]:
    warm = _Warm()
    events = warm.events

    def time_handler(event: dict[str, Any]) -> float:
        warm.prime()
        started = time.perf_counter_ns()
        warm.request(event)
        return (time.perf_counter_ns() - started) / 1e6

    def time_stub() -> float:
        warm.prime()
        started = time.perf_counter_ns()
        warm.stub_call()
        return (time.perf_counter_ns() - started) / 1e6

    with warm.quiet():
        for _ in range(min(500, requests)):  # warm-up
            for event in events.values():
                time_handler(event)
            time_stub()
        handler_ms: dict[str, list[float]] = {route: [] for route in events}
        stub_ms: list[float] = []
        for _ in range(requests):
            for route, event in events.items():
                handler_ms[route].append(time_handler(event))
            stub_ms.append(time_stub())
    stub_median = statistics.median(stub_ms)
    routes: dict[str, Any] = {}
    for route, samples in handler_ms.items():
        routes[route] = {
            "path": ROUTE_PATHS[route],
            "handler_median_ms": statistics.median(samples),
            "handler_p90_ms": statistics.quantiles(samples, n=10)[-1],
            "overhead_ms": statistics.median(samples) - stub_median,
        }
        routes[route]["meets_goal"] = routes[route]["overhead_ms"] <= GOAL_WARM_MS
    converse = routes["converse"]
    return {  # the converse route's figures at the top level, as before
        "requests": requests,
        "handler_median_ms": converse["handler_median_ms"],
        "stub_converse_median_ms": stub_median,
        "handler_p90_ms": converse["handler_p90_ms"],
        "overhead_ms": converse["overhead_ms"],
        "goal_ms": GOAL_WARM_MS,
        "meets_goal": all(r["meets_goal"] for r in routes.values()),
        "routes": routes,
    }


def warm_overhead_in_processes(requests: int, processes: int) -> dict[str, Any]:
    """:func:`warm_overhead` in ``processes`` fresh interpreters one after the other, and the
    median of their figures. One process's medians move by up to 0.25 ms from one process to
    the next (where the scheduler puts the watchdog's worker thread, relative to the caller,
    stays put for the process's life), so one process is one sample."""
    env = {**os.environ, "PYTHONPATH": str(ASSET)}
    samples = []
    for _ in range(processes):
        out = subprocess.run(
            [sys.executable, __file__, "--warm-timing", str(requests)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
    result: dict[str, Any] = samples[0]
    result["processes"] = processes
    result["stub_converse_median_ms"] = statistics.median(
        s["stub_converse_median_ms"] for s in samples
    )
    for route, figures in result["routes"].items():
        per_process = [dict(s["routes"][route]) for s in samples]  # copies: figures is [0]'s
        for key in ("handler_median_ms", "handler_p90_ms", "overhead_ms"):
            figures[key] = statistics.median(p[key] for p in per_process)
        figures["overhead_ms_per_process"] = [p["overhead_ms"] for p in per_process]
        figures["meets_goal"] = figures["overhead_ms"] <= GOAL_WARM_MS
    converse = result["routes"]["converse"]
    for key in ("handler_median_ms", "handler_p90_ms", "overhead_ms"):
        result[key] = converse[key]
    result["meets_goal"] = all(r["meets_goal"] for r in result["routes"].values())
    return result


def warm_child(what: str, calls: int) -> None:
    """In a child under callgrind: a warm container, its warm-up, then ``calls`` requests of
    route ``what`` (or ``stub`` calls), each primed alike."""
    warm = _Warm()
    event = warm.events.get(what)
    with warm.quiet():
        for _ in range(50):
            for each in warm.events.values():
                warm.prime()
                warm.request(each)
            warm.prime()
            warm.stub_call()
        for _ in range(calls):
            warm.prime()
            if event is None:
                warm.stub_call()
            else:
                warm.request(event)


def warm_instructions(calls: int, stub_median_ms: float) -> dict[str, Any] | None:
    """Instructions per warm request (callgrind, all threads): each route's requests and the
    bare stubbed call, less a run that only warms up. What the handler adds as CPU work, which
    a shared machine does not blur; it leaves out what costs time without instructions
    (system calls, caches). None without valgrind."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    runs = {"none": ("stub", 0), "stub": ("stub", calls)}
    runs.update({route: (route, calls) for route in route_events()})
    env = {**os.environ, "PYTHONPATH": str(ASSET), "PYTHONHASHSEED": "0"}
    counts = _callgrind(
        valgrind,
        {name: ([__file__, "--warm-child", what, str(n)], env) for name, (what, n) in runs.items()},
    )
    per_call = {name: (counts[name] - counts["none"]) / calls for name in runs if name != "none"}
    stub = per_call["stub"]
    return {
        "calls": calls,
        "stub_per_call": stub,
        "routes": {
            route: {
                "handler_per_request": per_call[route],
                "overhead_per_request": per_call[route] - stub,
                # at the rate the bare stubbed call ran in this process (its median wall time)
                "overhead_ms_at_stub_rate": (per_call[route] - stub) / stub * stub_median_ms,
            }
            for route in route_events()
        },
    }


def _median_and_p90(samples: list[float]) -> dict[str, float]:
    return {
        "median_ms": statistics.median(samples),
        "p90_ms": statistics.quantiles(samples, n=10)[-1],
    }


def deadline_alarm(calls: int = 5000) -> dict[str, float]:
    """Wall time of what bounds a Converse call made on the main thread (``bedrock_client``:
    the alarm's checks, arming it and disarming it): part of the warm overhead above."""
    from bedrock_inference.bedrock_client import _ALARM

    samples = []
    for _ in range(calls):
        started = time.perf_counter_ns()
        assert _ALARM.available()
        _ALARM.arm(30)
        _ALARM.disarm()
        samples.append((time.perf_counter_ns() - started) / 1e6)
    return _median_and_p90(samples)


def watchdog_handoff(calls: int = 5000) -> dict[str, float]:
    """Wall time to hand a call that does nothing to the watchdog's worker thread and get its
    answer back (``bedrock_client``: a Converse call made off the main thread runs on that
    thread so that the caller can stop waiting at the deadline): what such a call pays instead
    of the alarm, thread scheduling rather than this code's work. Not part of the figures
    above (Lambda calls the handler on the main thread)."""
    from bedrock_inference.bedrock_client import _RUNNER

    _RUNNER.prestart()
    samples = []
    for _ in range(calls):
        started = time.perf_counter_ns()
        _RUNNER.submit(lambda: None).wait(5)
        samples.append((time.perf_counter_ns() - started) / 1e6)
    return _median_and_p90(samples)


#: The stubbed Converse answer (``bedrock_inference.local.converse_answer()``).
STUB_ANSWER: dict[str, Any] = {
    "output": {"message": {"role": "assistant", "content": [{"text": "Hello from the stub."}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 12, "outputTokens": 8, "totalTokens": 20},
    "metrics": {"latencyMs": 321},
}
ROUTE_PATHS = {
    "converse": "/v1/converse",
    "chat_completions": "/v1/chat/completions",
    "models": "/v1/models",
}
#: The stubbed Converse call alone: the request the handler makes for the benchmark request.
STUB_PARAMS: dict[str, Any] = {
    "modelId": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
    "messages": [{"role": "user", "content": [{"text": "What is a landing zone?"}]}],
    "system": [{"text": "You answer in one sentence."}],
    "inferenceConfig": {"maxTokens": 512, "temperature": 0.2},
    "guardrailConfig": {
        "guardrailIdentifier": "abcdefgh1234",
        "guardrailVersion": "1",
        "trace": "disabled",
    },
    "requestMetadata": {"team": "search", "caller": "x", "requestId": "y"},
}


def route_events() -> dict[str, dict[str, Any]]:
    """The benchmark request on each model route: the fixture event of POST /v1/converse, and
    the same request as an OpenAI chat completion."""
    converse = json.loads(EVENT.read_text(encoding="utf-8"))
    request = json.loads(converse["body"])
    chat = json.loads(json.dumps(converse))
    chat["resource"] = chat["path"] = ROUTE_PATHS["chat_completions"]
    chat["requestContext"]["resourcePath"] = ROUTE_PATHS["chat_completions"]
    chat["body"] = json.dumps(
        {
            "model": request["model"],
            "messages": [
                {"role": "system", "content": request["system"]},
                *request["messages"],
            ],
            "max_tokens": request["inferenceConfig"]["maxTokens"],
            "temperature": request["inferenceConfig"]["temperature"],
        }
    )
    return {"converse": converse, "chat_completions": chat}


def _is_build_litter(relative: Path) -> bool:
    """Caches that tools leave in the asset folder (the construct excludes them too); the
    runtime's own bytecode (``make bytecode``) ships."""
    return any(part.startswith(".") for part in relative.parts) or (
        relative.suffix == ".pyc" and not relative.name.endswith(SHIPPED_BYTECODE)
    )


def asset_size() -> dict[str, Any]:
    buffer = io.BytesIO()
    files = 0
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(ASSET.rglob("*")):
            relative = path.relative_to(ASSET)
            if path.is_file() and not _is_build_litter(relative):
                archive.write(path, path.relative_to(ASSET).as_posix())
                files += 1
    size = len(buffer.getvalue())
    return {
        "files": files,
        "zip_bytes": size,
        "zip_kib": size / 1024,
        "goal_kib": GOAL_ZIP_KIB,
        "meets_goal": size / 1024 <= GOAL_ZIP_KIB,
    }


def main(argv: list[str]) -> int:
    global ASSET, RESULTS  # one measured runtime per process
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=9, help="cold-start runs (>= 7)")
    parser.add_argument("--requests", type=int, default=3000, help="warm requests to time")
    parser.add_argument(
        "--asset",
        type=Path,
        default=ASSET,
        help="the runtime to measure (default: lambda/inference; e.g. an older commit's copy, "
        "for a before/after comparison)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    parser.add_argument(
        "--no-instructions",
        action="store_true",
        help="skip the instruction counts (valgrind; ~1-2 min; skipped anyway without valgrind)",
    )
    parser.add_argument("--warm-child", nargs=2, metavar=("ROUTE", "CALLS"), help=argparse.SUPPRESS)
    parser.add_argument("--warm-timing", type=int, metavar="REQUESTS", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.warm_timing:
        print(json.dumps(warm_overhead(args.warm_timing)))
        return 0
    if args.warm_child:
        warm_child(args.warm_child[0], int(args.warm_child[1]))
        return 0
    runs = max(7, args.runs)
    ASSET, RESULTS = args.asset.resolve(), args.output.resolve()

    load_before = os.getloadavg()[0]
    cold = cold_init(runs)
    if not args.no_instructions:
        cold["instructions"] = cold_instructions()
    warm = warm_overhead_in_processes(args.requests, processes=3)
    warm["deadline_alarm"] = deadline_alarm()
    warm["watchdog_handoff"] = watchdog_handoff()
    if not args.no_instructions:
        warm["instructions"] = warm_instructions(60, warm["stub_converse_median_ms"])
    size = asset_size()
    report = {
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU",
        # 1-minute load average before / after: above the CPU count, other work shared the
        # CPUs and every figure grew (ratios less than absolute times).
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "cold_init": cold,
        "warm_overhead": warm,
        "code_asset": size,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")

    def verdict(ok: bool) -> str:
        return "meets goal" if ok else "MISSES goal"

    print(f"cold init (median of {runs} fresh interpreters, import time):")
    print(f"  bare boto3 + bedrock-runtime client : {cold['baseline_import_ms']:7.1f} ms")
    print(f"  + Powertools (dependencies only)    : {cold['dependencies_import_ms']:7.1f} ms")
    print(f"  import bedrock_inference.handler    : {cold['handler_import_ms']:7.1f} ms")
    source = cold["from_source"]
    print(
        f"  the same, compiled from source      : {source['handler_import_ms']:7.1f} ms "
        f"(ratio {source['ratio']:.2f}; an asset without its bytecode)"
    )
    print(
        f"  ratio {cold['ratio']:.2f} (goal <= {GOAL_COLD_RATIO}: {verdict(cold['meets_goal'])}); "
        f"dependencies alone {cold['ratio_dependencies_only']:.2f}; "
        f"whole process {cold['ratio_whole_process']:.2f}"
    )
    firsts = cold["first_request"]
    print(
        "first request after init (the baseline: its first stubbed converse call, "
        f"{firsts['baseline_first_call_ms']:.1f} ms; init + first "
        f"{firsts['baseline_init_plus_first_ms']:.1f} ms):"
    )
    for figures in firsts["routes"].values():
        print(
            f"  {figures['path']:<22} init {figures['init_ms']:.1f} ms + first request "
            f"{figures['first_request_ms']:.1f} ms = {figures['init_plus_first_ms']:.1f} ms, "
            f"ratio {figures['ratio']:.2f}"
        )
    counted = cold.get("instructions")
    if counted:
        print(
            f"instructions (callgrind, less an empty interpreter): init ratio "
            f"{counted['ratio']:.3f}, dependencies alone {counted['ratio_dependencies_only']:.3f}, "
            f"init + first converse request {counted['ratio_first_converse']:.3f}; from source: "
            f"init {counted['from_source']['ratio']:.3f}, init + first converse "
            f"{counted['from_source']['ratio_first_converse']:.3f}"
        )
    print(f"load average (1 min) before / after: {report['load_average']}")
    print(
        f"warm request, per route (median of {warm['requests']} per process, median of "
        f"{warm['processes']} processes):"
    )
    for figures in warm["routes"].values():
        print(
            f"  {figures['path']:<22} handler {figures['handler_median_ms']:.3f} ms - stubbed "
            f"converse {warm['stub_converse_median_ms']:.3f} ms = overhead "
            f"{figures['overhead_ms']:.3f} ms (goal <= {GOAL_WARM_MS} ms: "
            f"{verdict(figures['meets_goal'])})"
        )
    alarm, handoff = warm["deadline_alarm"], warm["watchdog_handoff"]
    print(
        f"  of which the deadline's alarm (checks, setitimer twice): {alarm['median_ms']:.4f} ms "
        f"(median, p90 {alarm['p90_ms']:.4f} ms); off the main thread, the hand-off to the "
        f"watchdog thread and back instead: {handoff['median_ms']:.3f} ms "
        f"(median, p90 {handoff['p90_ms']:.3f} ms)"
    )
    counted = warm.get("instructions")
    if counted:
        for route, figures in counted["routes"].items():
            print(
                f"  instructions per request, {ROUTE_PATHS[route]}: handler "
                f"{figures['handler_per_request'] / 1e6:.2f} M, stubbed converse "
                f"{counted['stub_per_call'] / 1e6:.2f} M: overhead "
                f"{figures['overhead_per_request'] / 1e6:.2f} M = "
                f"{figures['overhead_ms_at_stub_rate']:.3f} ms at the stub's rate"
            )
    print(
        f"code asset: {size['zip_kib']:.1f} KiB zipped, {size['files']} files "
        f"(goal <= {GOAL_ZIP_KIB} KiB: {verdict(size['meets_goal'])})"
    )
    print(f"written: {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
