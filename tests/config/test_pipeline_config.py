"""The pipeline configuration: its own rules and its consistency with the environments."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from bedrock_landing_zone.config import ConfigError
from bedrock_landing_zone.config.pipeline import (
    load_pipeline,
    parse_pipeline_config,
    pascal_case,
)
from tests.conftest import CONFIG_DIR, ROOT

EXAMPLE = ROOT / "config" / "pipelines" / "example.yaml"


def _example() -> dict[str, Any]:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _load(tmp_path: Path, data: dict[str, Any]) -> Any:
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return load_pipeline(path, CONFIG_DIR)


def _error(tmp_path: Path, data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, data)
    return str(info.value)


def test_the_example_is_valid_and_consistent_with_the_example_environments() -> None:
    plan = load_pipeline(EXAMPLE, CONFIG_DIR)
    assert [w.name for w in plan.pipeline.waves] == ["Dev", "Prod"]
    assert [s.stage_name for _, s in plan.pipeline.stages()] == ["Dev", "ExistingVpc"]
    assert set(plan.environments) == {"default", "existing-vpc"}
    assert "PLACEHOLDER" in EXAMPLE.read_text(encoding="utf-8")


def test_pipeline_files_are_not_taken_for_environments() -> None:
    assert not list(CONFIG_DIR.glob("pipeline*.yaml")), (
        "every config/*.yaml is an environment (tests/conftest.py, load_config): "
        "pipeline files belong in config/pipelines/"
    )


def test_errors_name_the_file_the_field_the_value_and_what_is_allowed(tmp_path: Path) -> None:
    data = _example()
    data["account"] = 123
    data["regoin"] = "us-east-1"
    data["connection_arn"] = "arn:aws:codestar:us-east-1:123456789012:connection/x"
    data["waves"][0]["stages"][0]["account"] = "12345"
    message = _error(tmp_path, data)
    assert message.startswith(f"Invalid pipeline configuration in {tmp_path / 'pipeline.yaml'}")
    assert "(4 problems)" in message
    assert "account: 123: must be text: put it in quotes in YAML" in message
    assert "unknown key 'regoin' (check the spelling); allowed keys here:" in message
    assert "connection_arn: " in message and "a connection ARN such as" in message
    assert "waves[0].stages[0].account: '12345': does not match the expected format: 12 digits" in (
        message
    )


def test_a_stage_must_deploy_its_environment_as_configured(tmp_path: Path) -> None:
    data = _example()
    prod = data["waves"][1]["stages"][0]
    prod["region"] = "eu-west-1"
    prod["account"] = "999999999999"
    prod["smoke"]["role_arn"] = "arn:aws:iam::999999999999:role/claims"
    message = _error(tmp_path, data)
    assert (
        "waves[1].stages[0].region: 'eu-west-1': environment 'existing-vpc' is configured for "
        "eu-central-1" in message
    )
    assert (
        "waves[1].stages[0].account: '999999999999': environment 'existing-vpc' names account "
        "111111111111" in message
    )


def test_smoke_settings_are_checked_against_the_environment(tmp_path: Path) -> None:
    data = _example()
    dev = data["waves"][0]["stages"][0]
    dev["smoke"]["model"] = "claude-opus"
    dev["smoke"]["role_arn"] = "arn:aws:iam::444444444444:role/search"
    del data["waves"][1]["stages"][0]["smoke"]
    message = _error(tmp_path, data)
    assert "waves[0].stages[0].smoke.model: 'claude-opus': not in the allow-list of 'default'" in (
        message
    )
    assert (
        "smoke.role_arn: 'arn:aws:iam::444444444444:role/search': the role must be in the "
        "stage's account 333333333333" in message
    )
    assert "waves[1].stages[0].smoke: required because" in message


def test_the_smoke_vpc_must_be_in_the_pipeline_region(tmp_path: Path) -> None:
    data = _example()
    data["waves"][1]["stages"][0]["smoke"]["availability_zones"] = [
        "eu-central-1a",
        "eu-central-1b",
    ]
    message = _error(tmp_path, data)
    assert "waves[1].stages[0].smoke.availability_zones:" in message
    assert "must be in the pipeline's region us-east-1" in message


def test_one_zone_per_smoke_subnet(tmp_path: Path) -> None:
    data = _example()
    data["waves"][0]["stages"][0]["smoke"]["availability_zones"] = ["us-east-1a"]
    assert "availability_zones: give one zone per subnet" in _error(tmp_path, data)


def test_stage_names_are_unique_and_not_reserved(tmp_path: Path) -> None:
    data = _example()
    data["waves"][0]["stages"][0]["name"] = "ExistingVpc"
    assert "waves[1].stages[0].name: 'ExistingVpc': stage names must be unique" in _error(
        tmp_path, data
    )
    data = _example()
    del data["waves"][0]["stages"][0]["name"]
    message = _error(tmp_path, data)
    assert "'Default' is reserved by the CDK" in message and "set 'name' on this stage" in message


def test_an_environment_is_deployed_once_per_account(tmp_path: Path) -> None:
    data = _example()
    twin = copy.deepcopy(data["waves"][0]["stages"][0])
    twin["name"] = "DevAgain"
    data["waves"][1]["stages"].append(twin)
    assert "already deployed into this account by an earlier stage" in _error(tmp_path, data)


def test_unknown_or_invalid_environments_are_reported(tmp_path: Path) -> None:
    data = _example()
    data["waves"][0]["stages"][0]["env"] = "staging"
    message = _error(tmp_path, data)
    assert "waves[0].stages[0].env: 'staging': no environment file" in message
    assert "available environments: default, existing-vpc" in message


def test_parse_rejects_a_non_mapping() -> None:
    with pytest.raises(ConfigError, match="must hold a mapping"):
        parse_pipeline_config(["waves"], source="p.yaml")


def test_wave_and_stage_names(tmp_path: Path) -> None:
    assert pascal_case("existing-vpc") == "ExistingVpc"
    data = _example()
    data["waves"][0]["name"] = "dev"
    assert "waves[0].name: 'dev'" in _error(tmp_path, data)
    data = _example()
    data["waves"] = []
    assert "waves: " in _error(tmp_path, data)
