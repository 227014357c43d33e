"""Config validation: every mistake stops synth with one message naming file, field, value, rule."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bedrock_landing_zone.config import ConfigError, load_config, parse_config
from bedrock_landing_zone.config_schema import render
from tests.conftest import CONFIG_DIR, EXAMPLE_ENVS

BASE: dict[str, Any] = yaml.safe_load((CONFIG_DIR / "default.yaml").read_text(encoding="utf-8"))
EXISTING_VPC: dict[str, Any] = yaml.safe_load(
    (CONFIG_DIR / "existing-vpc.yaml").read_text(encoding="utf-8")
)["network"]["vpc"]["existing"]


def _error(mutate: Any) -> str:
    data = copy.deepcopy(BASE)
    mutate(data)
    with pytest.raises(ConfigError) as info:
        parse_config(data, source="config/test.yaml")
    return str(info.value)


@pytest.mark.parametrize("env", EXAMPLE_ENVS)
def test_every_example_environment_is_valid(env: str) -> None:
    config = load_config(env, CONFIG_DIR)
    assert config.name == env


def test_at_least_a_new_vpc_and_an_existing_vpc_example() -> None:
    configs = [load_config(env, CONFIG_DIR) for env in EXAMPLE_ENVS]
    assert any(c.network.vpc.new for c in configs)
    assert any(c.network.vpc.existing for c in configs)
    assert load_config("default", CONFIG_DIR).account is None  # needs no account


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        pytest.param(
            lambda d: d["network"].update(interface_endpiont=["logs"]),
            [
                "config/test.yaml",
                "network",
                "unknown key 'interface_endpiont'",
                "interface_endpoints",
            ],
            id="unknown-key",
        ),
        pytest.param(
            lambda d: d.update(region="us-east"),
            ["region: 'us-east'", "an AWS region name such as us-east-1"],
            id="malformed-region",
        ),
        pytest.param(
            lambda d: d["network"]["vpc"]["new"].update(cidr="10.40.0.1/22"),
            ["network.vpc.new.cidr: '10.40.0.1/22'", "not a valid IPv4 CIDR", "host bits"],
            id="invalid-cidr",
        ),
        pytest.param(
            lambda d: d["network"].update(reserved_cidrs=["10.40.2.0/24"]),
            ["network", "overlaps reserved CIDR 10.40.2.0/24"],
            id="overlapping-cidr",
        ),
        pytest.param(
            lambda d: d["network"]["vpc"]["new"].update(max_azs=4),
            ["network.vpc.new.max_azs: 4", "less than or equal to 3"],
            id="az-count-too-high",
        ),
        pytest.param(
            lambda d: d["network"]["vpc"]["new"].update(max_azs=1),
            ["network.vpc.new.max_azs: 1", "greater than or equal to 2"],
            id="az-count-too-low",
        ),
        pytest.param(
            lambda d: d["network"].update(interface_endpoints=["bedrock-runtime", "sagemaker"]),
            ["network.interface_endpoints[1]: 'sagemaker'", "'bedrock-runtime'", "'execute-api'"],
            id="unknown-endpoint-service",
        ),
        pytest.param(
            lambda d: d.update(models=[]),
            ["models: []", "at least 1 item"],
            id="empty-model-allow-list",
        ),
        pytest.param(
            lambda d: d["teams"].append({"name": "search", "models": ["nova-lite"]}),
            ["teams", "team name 'search' appears more than once"],
            id="duplicate-team",
        ),
        pytest.param(
            lambda d: d.update(account="12345678901"),
            ["account: '12345678901'", "12 digits, quoted in YAML"],
            id="bad-account-id",
        ),
        pytest.param(
            lambda d: d["teams"][0]["models"].append("gpt-5"),
            ["teams[0].models: 'gpt-5'", "not in the allow-list", "claude-haiku"],
            id="team-names-unlisted-model",
        ),
        pytest.param(
            lambda d: d.update(log_retention_days=100),
            ["log_retention_days: 100", "not a CloudWatch Logs retention period", "365"],
            id="bad-retention",
        ),
        pytest.param(
            lambda d: d["network"]["vpc"].update(existing=EXISTING_VPC),
            ["network.vpc", "set exactly one of 'new'"],
            id="new-and-existing-vpc",
        ),
        pytest.param(
            lambda d: d["network"]["vpc"]["new"].update(cidr="10.40.0.0/24", max_azs=3),
            ["3 subnets of /24 do not fit in 10.40.0.0/24"],
            id="subnets-do-not-fit",
        ),
        pytest.param(
            lambda d: d.pop("tags"),
            ["tags: required but missing"],
            id="missing-required",
        ),
    ],
)
def test_config_mistake_gives_one_clear_message(mutate: Any, expected: list[str]) -> None:
    message = _error(mutate)
    assert message.startswith("Invalid configuration in config/test.yaml")
    for fragment in expected:
        assert fragment in message, f"{fragment!r} missing from:\n{message}"
    assert "Traceback" not in message
    assert "pydantic" not in message.lower()  # no library URLs or internals


def test_existing_vpc_lists_must_line_up() -> None:
    data = yaml.safe_load((CONFIG_DIR / "existing-vpc.yaml").read_text(encoding="utf-8"))
    data["network"]["vpc"]["existing"]["private_subnet_ids"].pop()
    with pytest.raises(ConfigError, match="same number of entries"):
        parse_config(data, source="x.yaml")


def test_missing_environment_lists_available_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"Available environments: .*default"):
        load_config("nope", CONFIG_DIR)


def test_name_must_match_file(tmp_path: Path) -> None:
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(BASE), encoding="utf-8")
    with pytest.raises(ConfigError, match="must equal the file name 'other'"):
        load_config("other", tmp_path)


def test_not_yaml_is_reported_with_file(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.yaml: not valid YAML"):
        load_config("broken", tmp_path)


def test_committed_schema_is_current() -> None:
    committed = (CONFIG_DIR / "schema.json").read_text(encoding="utf-8")
    assert committed == render(), "config/schema.json is stale: run `make schema`"


def test_schema_rejects_unknown_keys_for_editors() -> None:
    schema = json.loads(render())
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) >= {"name", "region", "tags", "models", "teams"}


def test_unquoted_account_number_is_explained() -> None:
    message = _error(lambda d: d.update(account=123456789012))
    assert "account: 123456789012: must be text: put it in quotes" in message
