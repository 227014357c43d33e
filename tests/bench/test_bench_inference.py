"""The inference section of `make bench` (bench/run.py's render of bench/inference_bench.py's
JSON) on hand-made results: the warm overhead is reported per route beside its goal, with the
watchdog hand-off and the instruction counts when measured, and older results without them still
render."""

from __future__ import annotations

from typing import Any

from bench.run import render_inference


def _results(**warm_extra: Any) -> dict[str, Any]:
    route = {"path": "/v1/converse", "overhead_ms": 0.42, "meets_goal": False}
    return {
        "cold_init": {
            "runs": 9,
            "ratio": 1.4,
            "handler_import_ms": 390.0,
            "baseline_import_ms": 280.0,
            "goal": 1.15,
            "meets_goal": False,
            "ratio_dependencies_only": 1.3,
        },
        "warm_overhead": {
            "requests": 3000,
            "goal_ms": 0.3,
            "routes": {"converse": route},
            **warm_extra,
        },
        "code_asset": {"files": 15, "zip_kib": 65.0, "goal_kib": 256, "meets_goal": True},
    }


def test_the_warm_overhead_is_reported_beside_its_goal() -> None:
    text = "\n".join(render_inference(_results()))
    assert "| Warm overhead per request, `/v1/converse`, median of 3000 | 0.420 ms " in text
    assert "<= 0.3 ms: MISSES goal" in text
    assert "hand-off" not in text and "instructions" not in text


def test_the_hand_off_and_the_instruction_counts_are_reported_when_measured() -> None:
    counted = {
        "calls": 60,
        "stub_per_call": 1_090_000,
        "routes": {
            "converse": {
                "handler_per_request": 2_200_000,
                "overhead_per_request": 1_110_000,
                "overhead_ms_at_stub_rate": 0.254,
            }
        },
    }
    text = "\n".join(
        render_inference(
            _results(watchdog_handoff={"median_ms": 0.021, "p90_ms": 0.03}, instructions=counted)
        )
    )
    assert "watchdog's worker thread and back (a call that does nothing), median | 0.021 ms" in text
    with_alarm = "\n".join(
        render_inference(
            _results(
                deadline_alarm={"median_ms": 0.0021, "p90_ms": 0.003},
                watchdog_handoff={"median_ms": 0.021, "p90_ms": 0.03},
            )
        )
    )
    assert "of which the deadline's alarm on the main thread" in with_alarm
    assert "median | 0.0021 ms |" in with_alarm
    assert "| a call off the main thread pays the watchdog's hand-off instead" in with_alarm
    assert "of which the hand-off" not in with_alarm
    assert (
        "`/v1/converse` | 1.11 M per request over the stubbed call's 1.09 M: 0.254 ms at its rate "
        "| <= 0.3 ms: meets goal |"
    ) in text
