"""The local runner (``bedrock-lz invoke``) and the price table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bedrock_inference import pricing
from bedrock_inference.local import SCENARIOS, main

from . import EVENTS, TEST_CONFIG

EXPECTED_STATUS = {
    "success": 200,
    "guardrail": 200,
    "fallback": 200,
    "throttled": 429,
    "timeout": 504,
    "unavailable": 502,
    "access-denied": 403,
    "model-error": 502,
    "validation": 400,
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_local_run_prints_logs_then_the_exact_response(
    scenario: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--event", str(EVENTS / "converse_ok.json"), "--scenario", scenario])
    out = capsys.readouterr().out
    logs, response_text = out.split("== response ==\n")
    assert logs.startswith("== log lines ==\n")
    response = json.loads(response_text)
    assert response["statusCode"] == EXPECTED_STATUS[scenario]
    assert code == (0 if response["statusCode"] == 200 else 1)
    assert '"message":"converse request finished"' in logs
    assert '"CloudWatchMetrics"' in logs
    assert "What is a landing zone?" not in logs  # the fixture's prompt


def test_local_run_with_a_config_file_and_an_invalid_event(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(TEST_CONFIG), encoding="utf-8")
    code = main(["--event", str(EVENTS / "converse_unknown_caller.json"), "--config", str(config)])
    assert code == 1
    assert '"statusCode": 403' in capsys.readouterr().out


def test_local_run_reports_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"models": {}}', encoding="utf-8")
    event = str(EVENTS / "converse_ok.json")
    assert main(["--event", str(tmp_path / "missing.json")]) == 2
    assert main(["--event", event, "--config", str(bad)]) == 2
    assert "INFERENCE_CONFIG is invalid: models" in capsys.readouterr().err


# --- pricing --------------------------------------------------------------------------------------
def test_geographic_profile_pays_the_regional_premium_and_global_does_not() -> None:
    assert pricing.price_for("global.anthropic.claude-sonnet-4-5-20250929-v1:0") == (3.0, 15.0)
    assert pricing.price_for("us.anthropic.claude-sonnet-4-5-20250929-v1:0") == pytest.approx(
        (3.3, 16.5)
    )
    assert pricing.price_for("anthropic.claude-3-5-haiku-20241022-v1:0") == (0.8, 4.0)
    assert pricing.price_for("eu.anthropic.claude-3-5-haiku-20241022-v1:0") == (0.8, 4.0)


def test_cost_estimate_and_overrides() -> None:
    assert pricing.estimate_cost_usd("amazon.nova-lite-v1:0", 1_000_000, 1_000_000) == 0.3
    assert (
        pricing.estimate_cost_usd(
            "arn:aws:bedrock:us-east-1:1:application-inference-profile/x", 5, 5
        )
        is None
    )
    assert pricing.estimate_cost_usd("unknown.model", 10**6, 0, override=(2.0, 4.0)) == 2.0
    assert pricing.estimate_cost_usd("unknown.model", 10**6, 0, override=(2.0, None)) is None


def test_every_price_is_positive() -> None:
    for model_id, price in pricing.PRICES.items():
        assert 0 < price.input_usd_per_mtok <= price.output_usd_per_mtok, model_id
