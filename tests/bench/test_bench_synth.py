"""The synth-time breakdown of `make bench` (bench/synth_breakdown.py) on hand-made runs (no synth).

What these tests pin down: each step's extra time is the landing zone's minus the baseline's; the
CLI's part excludes Python's start, measured alone; the launcher counts for the landing zone only
(the baseline's cdk.json runs Python directly); a plugin the table does not know still gets a
row; the report states the goal; a skipped synth section keeps its breakdown; synth runs with the
bytecode cache `make synth` uses.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.run import ROOT, keep_skipped_sections, tool_env
from bench.synth_breakdown import KINDS, Breakdown, Run, _group, _module_of, render, rows


def run(kind: str, wall: float, **steps: float) -> Run:
    return Run(kind, wall, dict(steps), dict.fromkeys(steps, 2), gc_s=0.01)


def breakdown() -> Breakdown:
    b = Breakdown.empty(["aws_cdk.aws_ssm"])
    for _ in range(3):
        b.loads.append(1.5)
        b.by_kind["python"].append(run("python", 0.1, start=0.1))
        b.by_kind["launcher"].append(run("launcher", 0.15))
        b.by_kind["engine"].append(run("engine", 2.0, aws_cdk=0.6, engine=1.5))
        b.by_kind["assets"].append(run("assets", 1.0, setup=0.5, copy=0.01, stage=0.05))
        b.by_kind["jsii"].append(run("jsii", 1.0, setup=0.5, calls=0.4))
        b.by_kind["baseline"].append(
            run("baseline", 4.0, start=1.1, aws_cdk=0.6, synth_cdk=1.8, exit=0.1, cli_after=0.2)
        )
        b.by_kind["full"].append(
            run(
                "full",
                6.0,
                start=1.2,
                aws_cdk=0.6,
                packs=0.02,
                tree=1.0,
                synth_cdk=2.5,
                AwsSolutions=0.4,
                SomeOtherPlugin=0.05,
                exit=0.1,
                cli_after=0.3,
            )
        )
    return b


def test_every_kind_is_measured_each_round() -> None:
    assert set(Breakdown.empty([]).by_kind) == set(KINDS)


def test_rows_compare_each_step_with_the_baseline() -> None:
    table = {r.label: r for r in rows(breakdown())}
    cli = table["CLI: Node.js start, CLI modules, until the app runs"]
    assert (cli.full_s, cli.baseline_s) == pytest.approx((1.1, 1.0))
    launcher = table["cdk.json's `node -e` launcher (finds the venv's Python)"]
    assert (launcher.full_s, launcher.baseline_s) == pytest.approx((0.05, 0.0))
    synth = next(r for r in table.values() if r.label.startswith("synth: CDK's own"))
    assert synth.extra_s == pytest.approx(0.7)
    assert synth.requests == 2
    packs = next(r for r in table.values() if r.label.startswith("`add_compliance_packs`"))
    assert packs.baseline_s is None  # no packs in the baseline: no such step
    assert packs.extra_s == pytest.approx(0.02)
    tree = next(r for r in table.values() if r.label.startswith("construct tree"))
    assert (tree.baseline_s, tree.extra_s) == pytest.approx((0.0, 1.0))


def test_a_plugin_the_table_does_not_name_still_gets_a_row() -> None:
    labels = [r.label for r in rows(breakdown())]
    assert "synth: plugin SomeOtherPlugin" in labels
    assert labels.index("synth: cdk-nag AwsSolutions") < labels.index(
        "synth: plugin SomeOtherPlugin"
    )


def test_report_sums_the_steps_and_states_the_goal() -> None:
    text = "\n".join(render(breakdown(), 1.5))
    full = 1.1 + 0.05 + 0.1 + 0.6 + 0.02 + 1.0 + 2.5 + 0.4 + 0.05 + 0.1 + 0.3
    base = 1.0 + 0.1 + 0.6 + 1.8 + 0.1 + 0.2
    assert f"**{full:.2f} s**" in text
    assert f"**{base:.2f} s**" in text
    assert f"ratio {full / base:.2f}, goal <= 1.5" in text
    assert "1.50 s" in text  # the validation engine, measured alone
    assert "10 ms for the `files=` copy" in text
    assert "a jsii round trip 0.40 ms" in text
    assert "the tree's 2 calls spend about 0.00 s" in text


@pytest.mark.parametrize(
    ("filename", "function", "module"),
    [
        ("/x/.venv/lib/python3.11/site-packages/jsii/_kernel/__init__.py", "f", "jsii._kernel"),
        (str(Path(__file__).resolve().parents[2] / "app.py"), "main", "app"),
        ("~", "<method 'readline' of '_io.BufferedReader' objects>", "<method 'readline'"),
        ("<frozen importlib._bootstrap>", "_load", "importlib._bootstrap"),
        ("/usr/lib/python3.11/json/decoder.py", "decode", "json.decoder"),
    ],
)
def test_profile_rows_are_named_by_module(filename: str, function: str, module: str) -> None:
    assert _module_of(filename, function).startswith(module)


def test_profile_groups_waiting_for_node_and_the_project() -> None:
    assert _group("<method 'readline' of '_io.BufferedReader' objects>").startswith("waiting")
    assert _group("bedrock_landing_zone.config") == _group("app")
    assert _group("typeguard").startswith("type checks")
    assert _group("shutil").startswith("other")


def test_the_bench_runs_with_makes_bytecode_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("PATH", "/bin")
    env = tool_env()
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["PYTHONPYCACHEPREFIX"].endswith(".venv/pycache")
    assert env["PATH"].endswith("/bin")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "export PYTHONPYCACHEPREFIX := $(CURDIR)/$(VENV)/pycache" in makefile


def test_a_skipped_synth_section_keeps_its_breakdown() -> None:
    previous = (
        "# Benchmark results\n\n## 1. `cdk synth` time\n\n**Ratio 1.60**\n\n"
        "### Breakdown: where the time goes\n\n| Step |\n\n## 2. Test suite\n\nold\n"
    )
    report = (
        "# Benchmark results\n\n## 1. `cdk synth` time\n\nSkipped (`--skip-synth`).\n\n"
        "## 2. Test suite\n\nnew\n"
    )
    merged = keep_skipped_sections(report, previous)
    assert "**Ratio 1.60**" in merged
    assert "### Breakdown: where the time goes" in merged
    assert "new" in merged


def test_the_suite_section_reads_pytests_durations_report() -> None:
    from bench.run import slowest_tests

    lines = [
        "============================= slowest 10 durations =============================",
        "32.46s call     tests/rehearsal/test_lifecycle.py::test_rehearsal_deploys",
        "10.25s setup    tests/e2e/consumer/test_clean_consumer.py::test_consumer",
        "6.52s setup    tests/lambda/inference/test_faults.py::test_budget[issue-14: 29 s budget]",
        "(3 durations < 0.005s hidden.  Use -vv to show these durations.)",
        "1 failed, 2 passed in 5.00s",
    ]
    assert slowest_tests(lines) == [
        (32.46, "call tests/rehearsal/test_lifecycle.py::test_rehearsal_deploys"),
        (10.25, "setup tests/e2e/consumer/test_clean_consumer.py::test_consumer"),
        # a parametrized id with spaces is a test like any other
        (6.52, "setup tests/lambda/inference/test_faults.py::test_budget[issue-14: 29 s budget]"),
    ]


def test_the_ratio_against_a_baseline_with_the_apps_node_option_is_reported_beside_it() -> None:
    from bench.run import TUNED_BASELINE_APP, SynthResult, render_synth

    assert TUNED_BASELINE_APP.startswith(
        "from bedrock_landing_zone.delivery.kernel import limit_kernel_threads\n"
        "limit_kernel_threads()\nimport aws_cdk"
    )  # the option is set in the app, before aws_cdk starts the kernel, as app.py does
    result = SynthResult(
        3, [6.0] * 3, [4.5] * 3, [9.0] * 3, [6.0] * 3, [1.0] * 3, None, None, [4.1] * 3, [5.0] * 3
    )
    text = "\n".join(render_synth(result))
    assert "**Ratio 1.33** (goal <= 1.5: meets goal)." in text
    assert "| One SSM parameter, its jsii kernel with the landing zone's Node.js option" in text
    assert "**ratio 1.46** wall (goal <= 1.5: meets goal), 1.80 in CPU time." in text
    plain = SynthResult(3, [6.0] * 3, [4.5] * 3, [9.0] * 3, [6.0] * 3, [1.0] * 3)
    assert "landing zone's Node.js option" not in "\n".join(render_synth(plain))


def test_the_machine_speed_probe_is_the_median_of_its_rounds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import subprocess

    from bench import run as bench_run

    codes: list[str] = []
    readings = iter(["0.50\n", "0.90\n", "0.40\n"])

    def fake_run(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        codes.append(command[-1])
        return subprocess.CompletedProcess(command, 0, next(readings), "")

    monkeypatch.setattr(subprocess, "run", fake_run)  # what bench.run calls
    assert bench_run.machine_speed(loops=1234, rounds=3) == 0.50
    assert len(codes) == 3 and all("range(1234)" in code for code in codes)


def test_the_machine_speed_probe_runs_in_a_new_interpreter() -> None:
    from bench.run import machine_speed

    reading = machine_speed(loops=1000, rounds=1)  # a real interpreter, a few milliseconds
    assert isinstance(reading, float) and reading >= 0.0


def test_the_suite_section_prints_the_probe_beside_the_runs() -> None:
    from bench.run import SuiteResult, render_tests

    speed = [("before run 1", 0.41), ("before the run again", 0.46), ("after it", 0.52)]
    result = SuiteResult([100.0], [0], "20 passed", [], 2, [], [230.0], speed=speed)
    (line,) = [line for line in render_tests(result) if line.startswith("Machine speed")]
    assert "before run 1 0.41 s, before the run again 0.46 s, after it 0.52 s" in line
    without = SuiteResult([100.0], [0], "20 passed", [], 2, [], [230.0])
    assert not any(line.startswith("Machine speed") for line in render_tests(without))


def test_the_suite_section_prints_the_run_without_external_tools_beside_the_goal() -> None:
    from bench.run import IN_PROCESS_ARGS, Ran, SuiteResult, last_line, left_out, render_tests

    assert IN_PROCESS_ARGS == ("-m", "not slow")  # pyproject.toml's marker
    output = "....\n== 1854 passed, 24 deselected in 102.98s (0:01:42) ==\n"
    assert last_line(output) == "1854 passed, 24 deselected in 102.98s (0:01:42)"
    verdicts = (
        (103.0, "The goal would be missed even with every one of them left out."),
        (55.0, "With every one of them left out, the goal would be met."),
    )
    for wall, verdict in verdicts:
        result = SuiteResult(
            [190.0],
            [0],
            "1878 passed, 2 warnings in 183.00s",
            [],
            2,
            [],
            [335.0],
            in_process=Ran(wall, 174.4, 0, output),
            in_process_summary=last_line(output),
        )
        (line,) = [line for line in render_tests(result) if line.startswith("Without the tests")]
        assert line.startswith("Without the tests that run an external tool (`-m 'not slow'`")
        assert "the wheel; 24 of 1,878 tests left out; same workers)" in line
        assert f"**{wall:.1f} s** wall, 174 s CPU; exit 0" in line
        assert "`1854 passed, 24 deselected in 102.98s (0:01:42)`" in line
        assert line.endswith(verdict)
    plain = SuiteResult([190.0], [0], "1878 passed", [], 2, [], [335.0])
    assert not any(line.startswith("Without the tests") for line in render_tests(plain))
    assert left_out("1878 passed", "interrupted") == ""  # no count: nothing claimed
    # every outcome counts, not only the passed tests
    assert left_out("1 failed, 1875 passed, 2 skipped", "1848 passed, 2 errors") == (
        "28 of 1,878 tests left out; "  # passed only: 27 of 1,875
    )
