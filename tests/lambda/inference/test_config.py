"""INFERENCE_CONFIG and the other environment: a bad value fails init, naming the field."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bedrock_inference.models import ConfigurationError, load_settings

from . import TEST_CONFIG, env_for

LAMBDA_ROOT = Path(__file__).resolve().parents[3] / "lambda" / "inference"


def _error(mutate: Callable[[dict[str, Any]], None]) -> str:
    config = copy.deepcopy(TEST_CONFIG)
    mutate(config)
    with pytest.raises(ConfigurationError) as info:
        load_settings(env_for(config))
    return str(info.value)


def test_the_sample_and_the_issue_example_load() -> None:
    settings = load_settings(env_for(TEST_CONFIG))
    assert settings.config.chain("claude-sonnet") == ("claude-sonnet", "claude-haiku")
    assert settings.metrics_namespace == "BedrockLandingZone/Inference"
    issue_example = {
        "models": {
            "claude-sonnet": {
                "model_id": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "max_output_tokens": 4096,
                "fallbacks": ["claude-haiku"],
            },
            "claude-haiku": {
                "model_id": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
                "max_output_tokens": 4096,
            },
        },
        "teams": {
            "search": {"models": ["claude-haiku"], "role_names": ["bedrock-lz-default-team-search"]}
        },
        "limits": {
            "max_messages": 40,
            "max_total_chars": 100000,
            "max_system_chars": 20000,
            "max_body_bytes": 262144,
        },
        "retry": {"max_attempts": 3, "connect_timeout_s": 2, "read_timeout_s": 50},
        "breaker": {"failure_threshold": 5, "cooldown_s": 30},
        "log_content": False,
    }
    assert load_settings(env_for(issue_example)).config.retry.read_timeout_s == 50


def test_defaults_apply_to_optional_sections() -> None:
    minimal = {"models": TEST_CONFIG["models"], "teams": TEST_CONFIG["teams"]}
    config = load_settings(env_for(minimal)).config
    assert config.limits.max_messages == 40
    assert config.retry.max_attempts == 3
    assert config.breaker.cooldown_s == 30
    assert config.log_content is False


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda c: c["models"]["claude-haiku"].update(max_output_tokens=0),
            "models.claude-haiku.max_output_tokens: Input should be greater than or equal to 1",
        ),
        (
            lambda c: c["models"]["claude-haiku"].update(max_output_tokens="4096"),
            "models.claude-haiku.max_output_tokens: Input should be a valid integer",
        ),
        (lambda c: c["limits"].update(max_mesages=5), "limits.max_mesages: Extra inputs"),
        (lambda c: c["retry"].update(max_attempts=11), "retry.max_attempts"),
        (lambda c: c["breaker"].update(cooldown_s=-1), "breaker.cooldown_s"),
        (lambda c: c.update(log_content="yes"), "log_content: Input should be a valid boolean"),
        (lambda c: c.pop("models"), "models: Field required"),
        (lambda c: c["models"].update({"Bad Alias": c["models"]["nova-lite"]}), "models.Bad Alias"),
        (
            lambda c: c["models"]["nova-lite"].update(fallbacks=["nope"]),
            "models.nova-lite.fallbacks: unknown alias 'nope'",
        ),
        (
            lambda c: c["models"]["nova-lite"].update(fallbacks=["nova-lite"]),
            "models.nova-lite.fallbacks: an alias cannot list itself",
        ),
        (
            lambda c: c["teams"]["search"].update(models=["claude-opus"]),
            "teams.search.models: unknown alias 'claude-opus'",
        ),
        (
            lambda c: c["teams"]["assistant"].update(role_names=["bedrock-lz-default-team-search"]),
            "teams.assistant.role_names: role 'bedrock-lz-default-team-search' already belongs",
        ),
        (lambda c: c["teams"]["search"].update(role_names=[]), "teams.search.role_names"),
        (
            lambda c: c["teams"]["search"].update(role_names=["has space"]),
            "teams.search.role_names[0]: String should match pattern",
        ),
    ],
)
def test_invalid_config_names_the_field(
    mutate: Callable[[dict[str, Any]], None], expected: str
) -> None:
    message = _error(mutate)
    assert message.startswith("INFERENCE_CONFIG is invalid: ")
    assert expected in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"INFERENCE_CONFIG": ""}, "INFERENCE_CONFIG_FILE (or INFERENCE_CONFIG) is not set"),
        ({"INFERENCE_CONFIG": "{not json"}, "INFERENCE_CONFIG is invalid: Invalid JSON"),
        ({"INFERENCE_CONFIG": "[]"}, "INFERENCE_CONFIG is invalid"),
        ({"GUARDRAIL_ID": ""}, "GUARDRAIL_ID is not set"),
        ({"GUARDRAIL_VERSION": ""}, "GUARDRAIL_VERSION is not set"),
        ({"GUARDRAIL_ID": "Not An Id!"}, "GUARDRAIL_ID: String should match pattern"),
        ({"GUARDRAIL_VERSION": "v1"}, "GUARDRAIL_VERSION: String should match pattern"),
        ({"AWS_REGION": "mars"}, "AWS_REGION: String should match pattern"),
    ],
)
def test_invalid_environment_names_the_variable(change: dict[str, str], expected: str) -> None:
    env = {**env_for(TEST_CONFIG), **change}
    with pytest.raises(ConfigurationError) as info:
        load_settings(env)
    assert expected in str(info.value)


def test_guardrail_arn_and_draft_version_are_accepted() -> None:
    env = {
        **env_for(TEST_CONFIG),
        "GUARDRAIL_ID": "arn:aws:bedrock:us-east-1:123456789012:guardrail/abc123def456",
        "GUARDRAIL_VERSION": "DRAFT",
    }
    assert load_settings(env).guardrail_version == "DRAFT"


def test_a_bad_config_fails_the_lambda_init() -> None:
    config = copy.deepcopy(TEST_CONFIG)
    config["retry"]["read_timeout_s"] = 0
    env = {**os.environ, **env_for(config), "PYTHONPATH": str(LAMBDA_ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", "import bedrock_inference.handler"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "ConfigurationError" in result.stderr
    assert "retry.read_timeout_s: Input should be greater than 0" in result.stderr


def test_config_json_round_trips_through_the_environment() -> None:
    # The construct serializes the config with json.dumps: keys and nesting survive as-is.
    assert json.loads(env_for(TEST_CONFIG)["INFERENCE_CONFIG"]) == TEST_CONFIG
