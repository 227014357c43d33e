"""Config validation: every mistake stops synth with one message naming file, field, value, rule."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bedrock_landing_zone.config import ConfigError, load_config, parse_config
from bedrock_landing_zone.config.schema import render
from tests.conftest import CONFIG_DIR, EXAMPLE_ENVS, Synths

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
            lambda d: d.update(
                models=[
                    {"alias": f"m{i}", "model_id": f"amazon.nova-lite-v{i}:0"} for i in range(101)
                ]
            ),
            ["models: ", "101 models: at most 100 fit in one landing zone", "500 resources"],
            id="too-many-models",
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


# --- issue 11, item 5: config accepts what AWS rejects ------------------------------------------

TOPIC = {
    "name": "Investment advice",
    "definition": "Recommendations about buying, selling or holding specific securities.",
    "examples": ["Should I buy shares of this company?"],
}


def _with_topic(data: dict[str, Any], **changes: Any) -> None:
    data.setdefault("guardrail", {})["denied_topics"] = [{**TOPIC, **changes}]


def test_denied_topic_definition_over_the_classic_limit_is_refused() -> None:
    message = _error(lambda d: _with_topic(d, definition="x" * 201))
    assert "guardrail.denied_topics[0].definition" in message
    assert "201 characters" in message
    assert "Classic tier allows 200" in message
    assert "shorten" in message
    assert "x" * 100 not in message  # a long value is abbreviated, not dumped


def test_denied_topic_definition_at_the_classic_limit_is_accepted() -> None:
    data = copy.deepcopy(BASE)
    _with_topic(data, definition="x" * 200)
    parse_config(data, source="config/test.yaml")


@pytest.mark.parametrize(
    ("mutate", "field", "character"),
    [
        pytest.param(
            lambda d: _with_topic(d, definition="Ratschläge für Wertpapiere und Fonds."),
            "guardrail.denied_topics[0].definition",
            "'ä'",
            id="german-definition",
        ),
        pytest.param(
            lambda d: _with_topic(d, examples=["この会社の株を買うべきですか?"]),
            "guardrail.denied_topics[0].examples[0]",
            "'こ'",
            id="japanese-example",
        ),
        pytest.param(
            lambda d: d.setdefault("guardrail", {}).update(
                word_filters={"words": ["проект-соловей"]}
            ),
            "guardrail.word_filters.words[0]",
            "'п'",
            id="cyrillic-word",
        ),
        pytest.param(
            lambda d: d.setdefault("guardrail", {}).update(
                blocked_input_message="Diese Anfrage ist nicht erlaubt (Richtlinie ß)."
            ),
            "guardrail.blocked_input_message",
            "'ß'",
            id="german-blocked-message",
        ),
        pytest.param(
            lambda d: d.setdefault("guardrail", {}).update(
                blocked_output_message="عذرا، تم حجب الإجابة"
            ),
            "guardrail.blocked_output_message",
            "'ع'",
            id="arabic-blocked-message",
        ),
    ],
)
def test_text_the_classic_tier_does_not_support_is_refused(
    mutate: Any, field: str, character: str
) -> None:
    message = _error(mutate)
    assert field in message, message
    assert character in message, message
    assert "English, French or Spanish" in message
    assert "Classic tier" in message


def test_french_and_spanish_text_is_accepted_on_the_classic_tier() -> None:
    data = copy.deepcopy(BASE)
    _with_topic(
        data,
        definition="Conseils d'investissement : acheter, vendre ou conserver des titres précis.",
        examples=["¿Debería comprar acciones de esta compañía?", "Où placer mon épargne ?"],
    )
    data["guardrail"]["blocked_input_message"] = "Désolé, cette demande n'est pas autorisée."
    data["guardrail"]["blocked_output_message"] = (
        "Lo sentimos, la respuesta fue retenida — «política»."
    )
    data["guardrail"]["word_filters"] = {"words": ["proyecto-ruiseñor", "œuvre"]}
    parse_config(data, source="config/test.yaml")


def test_inference_profile_name_over_64_characters_names_team_alias_and_fix() -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["models"][2]["alias"] = "amazon-nova-lite-text-and-image-model"
        d["teams"][0]["name"] = "enterprise-search-ranking"
        d["teams"][0]["models"] = ["claude-haiku", "amazon-nova-lite-text-and-image-model"]
        d["models"][1]["fallbacks"] = []

    message = _error(mutate)
    assert "teams[0].models: 'amazon-nova-lite-text-and-image-model'" in message
    assert "bedrock-lz-default-enterprise-search-ranking-amazon-nova-lite-text-and-image-model" in (
        message
    )
    assert "82 characters" in message
    assert "at most 64" in message
    assert "shorten" in message and "by at least 18" in message


@pytest.mark.parametrize(
    ("mutate", "part"),
    [
        pytest.param(
            lambda d: d["teams"][0].update(name="search--eu"), "team name 'search--eu'", id="team"
        ),
        pytest.param(
            lambda d: d["teams"][0].update(name="search-"), "team name 'search-'", id="end"
        ),
        pytest.param(
            lambda d: (
                d["models"][2].update(alias="nova--lite"),
                d["models"][1].update(fallbacks=["nova--lite"]),
                d["teams"][0].update(models=["claude-haiku", "nova--lite"]),
            ),
            "model alias 'nova--lite'",
            id="alias",
        ),
    ],
)
def test_inference_profile_name_with_double_hyphen_is_refused(mutate: Any, part: str) -> None:
    message = _error(mutate)
    assert "teams[0].models" in message
    assert "'--'" in message
    assert part in message, message


def test_new_vpc_with_three_azs_needs_zone_names() -> None:
    message = _error(lambda d: d["network"]["vpc"]["new"].update(max_azs=3))
    assert "network.vpc.new.max_azs: 3" in message
    assert "only 2" in message
    assert "availability_zones" in message and "us-east-1c" in message


def test_account_with_new_vpc_needs_zone_names() -> None:
    message = _error(lambda d: d.update(account="123456789012"))
    assert "network.vpc.new.availability_zones: required" in message
    assert "credentials" in message
    assert "us-east-1a" in message


@pytest.mark.parametrize(
    ("zones", "max_azs", "expected"),
    [
        pytest.param(["eu-west-1a", "eu-west-1b"], None, "'eu-west-1a'", id="other-region"),
        pytest.param(["use1-az1", "use1-az2"], None, "not a zone id", id="zone-ids"),
        pytest.param(["us-east-1a", "us-east-1a"], None, "must not repeat", id="repeated"),
        pytest.param(["us-east-1a", "us-east-1b"], 3, "lists 2 zones but max_azs is 3", id="count"),
    ],
)
def test_availability_zone_names_are_checked(
    zones: list[str], max_azs: int | None, expected: str
) -> None:
    def mutate(d: dict[str, Any]) -> None:
        new = d["network"]["vpc"]["new"]
        new["availability_zones"] = zones
        new.pop("max_azs", None)
        if max_azs is not None:
            new["max_azs"] = max_azs

    message = _error(mutate)
    assert "network.vpc.new" in message
    assert expected in message, message


def test_max_azs_follows_the_zone_list() -> None:
    data = copy.deepcopy(BASE)
    new = data["network"]["vpc"]["new"]
    new.pop("max_azs")
    new["availability_zones"] = ["us-east-1a", "us-east-1b", "us-east-1c"]
    data["account"] = "123456789012"
    config = parse_config(data, source="config/test.yaml")
    assert config.network.vpc.new is not None
    assert config.network.vpc.new.max_azs == 3
    assert config.network.vpc.new.availability_zones == ["us-east-1a", "us-east-1b", "us-east-1c"]


def test_fallback_cycle_is_refused_naming_the_cycle() -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["models"][2]["fallbacks"] = ["claude-sonnet"]  # sonnet -> haiku -> nova-lite -> sonnet

    message = _error(mutate)
    assert "models[0].fallbacks" in message
    assert "claude-sonnet -> claude-haiku -> nova-lite -> claude-sonnet" in message
    assert "remove one" in message


def _write(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")


def test_duplicate_yaml_key_is_refused_naming_key_line_and_file(tmp_path: Path) -> None:
    text = yaml.safe_dump({**BASE, "name": "dup"}, sort_keys=False)
    text += "teams:\n  - name: late\n    models: [nova-lite]\n"
    _write(tmp_path, "dup", text)
    first = next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith("teams:"))
    last = len(text.splitlines()) - 2
    with pytest.raises(ConfigError) as info:
        load_config("dup", tmp_path)
    message = str(info.value)
    assert str(tmp_path / "dup.yaml") in message
    assert f"line {last}: duplicate key 'teams'" in message
    assert f"first at line {first}" in message
    assert "silently" in message


def test_duplicate_nested_yaml_key_is_refused(tmp_path: Path) -> None:
    text = yaml.safe_dump({**BASE, "name": "nested"}, sort_keys=False)
    text = text.replace("  owner: platform-team\n", "  owner: platform-team\n  owner: other\n")
    _write(tmp_path, "nested", text)
    with pytest.raises(ConfigError, match=r"duplicate key 'owner'"):
        load_config("nested", tmp_path)


def test_yaml_merge_keys_still_work(tmp_path: Path) -> None:
    data = {**BASE, "name": "merge"}
    data.pop("teams")
    text = yaml.safe_dump(data, sort_keys=False)
    text += (
        "teams:\n"
        "  - &search\n"
        "    name: search\n"
        "    models: [claude-haiku, nova-lite]\n"
        "  - <<: *search\n"
        "    name: search-eu\n"  # an explicit key overrides the merged one: not a duplicate
    )
    _write(tmp_path, "merge", text)
    config = load_config("merge", tmp_path)
    assert [(t.name, t.models) for t in config.teams] == [
        ("search", ["claude-haiku", "nova-lite"]),
        ("search-eu", ["claude-haiku", "nova-lite"]),
    ]


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_empty_file_says_what_a_minimal_file_needs(tmp_path: Path, text: str) -> None:
    _write(tmp_path, "empty", text)
    with pytest.raises(ConfigError) as info:
        load_config("empty", tmp_path)
    message = str(info.value)
    assert str(tmp_path / "empty.yaml") in message
    assert "is empty" in message
    for key in ("name", "region", "tags", "models", "teams"):
        assert key in message
    assert "config/default.yaml" in message


def test_config_checks_the_profile_names_the_templates_use(synths: Synths) -> None:
    """The names the config validates are the names cost allocation deploys."""
    for synth in synths:
        deployed = {
            r["Properties"]["InferenceProfileName"]
            for stack in synth.stacks.all()
            for r in synth.template_json(stack)["Resources"].values()
            if r["Type"] == "AWS::Bedrock::ApplicationInferenceProfile"
        }
        config = synth.config
        assert deployed == {
            config.application_inference_profile_name(team.name, alias)
            for team in config.teams
            for alias in team.models
            if config.model_by_alias[alias].guardrail  # unguarded models: called directly
        }


def test_global_profile_under_a_region_list_needs_an_explicit_yes() -> None:
    data = yaml.safe_load((CONFIG_DIR / "default.yaml").read_text(encoding="utf-8"))
    data["models"][0]["model_id"] = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
    parse_config(data, source="no-region-list.yaml")  # no region list: nothing to protect
    data["organization_policies"] = {
        "management_account": "222222222222",
        "target_ids": ["ou-abcd-11111111"],
        "allowed_regions": ["us-east-1"],
    }
    with pytest.raises(ConfigError, match=r"models\[0\].model_id.*allow_global_inference: true"):
        parse_config(data, source="eu-only.yaml")
    data["allow_global_inference"] = True
    parse_config(data, source="accepted.yaml")
