"""The team directory: who a caller is, what it may call, which profile bills the call.

SSM is a real botocore client behind ``Stubber`` (GetParametersByPath with its real request and
response shapes, pagination by ``NextToken``); Bedrock likewise (Converse).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
import pytest
from bedrock_inference import handler
from bedrock_inference.errors import TeamDirectoryUnavailable
from bedrock_inference.local import converse_answer
from bedrock_inference.team_directory import SsmTeamDirectory, parse_entry
from botocore.stub import ANY, Stubber

from . import (
    GUARDRAIL,
    TEST_CONFIG,
    FakeClock,
    FakeContext,
    body,
    make_event,
    settings_for,
)

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
PATH = "/bedrock-lz/default/teams/"
ALIASES = frozenset(TEST_CONFIG["models"])


def profile(suffix: str) -> str:
    return (
        f"arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/"
        f"{suffix.ljust(12, '0')[:12]}"
    )


def entry(team: str, role: str, models: dict[str, str], account: str = ACCOUNT) -> str:
    return json.dumps(
        {"team": team, "role_arn": f"arn:aws:iam::{account}:role/{role}", "models": models}
    )


SEARCH = entry("search", "bedrock-lz-default-team-search", {"claude-haiku": profile("search1")})
ASSISTANT = entry(
    "assistant",
    "bedrock-lz-default-team-assistant",
    {"claude-sonnet": profile("assist1"), "claude-haiku": profile("assist2")},
)


def page(*values: tuple[str, str], token: str | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "Parameters": [
            {"Name": name, "Type": "String", "Value": value, "Version": 1} for name, value in values
        ]
    }
    if token:
        answer["NextToken"] = token
    return answer


def stubbed_ssm() -> tuple[Any, Stubber]:
    client = boto3.client("ssm", region_name="us-east-1")
    return client, Stubber(client)


def directory(client: Any, clock: FakeClock) -> SsmTeamDirectory:
    return SsmTeamDirectory(
        PATH, client=lambda: client, known_aliases=ALIASES, refresh_s=300, clock=clock
    )


# --- entries -----------------------------------------------------------------------------------


def test_an_entry_names_account_role_and_the_profiles_of_served_aliases() -> None:
    text = entry(
        "search",
        "team/path/bedrock-lz-default-team-search",
        {"claude-haiku": profile("a"), "not-served": profile("b")},
    )
    key, team = parse_entry(text, ALIASES)
    assert key == (ACCOUNT, "bedrock-lz-default-team-search")  # the path is not in the caller ARN
    assert team.name == "search"
    assert team.models == ("claude-haiku",)  # an alias the function does not serve is left out
    assert team.profiles == {"claude-haiku": profile("a")}


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{", "not JSON"),
        ("[]", "not a JSON object"),
        (entry("Search!", "r", {"claude-haiku": profile("a")}), "team"),
        (json.dumps({"team": "search", "role_arn": "r", "models": {}}), "role_arn"),
        (entry("search", "r", {}), "models"),
        (entry("search", "r", {"claude-haiku": "anthropic.claude"}), "models.claude-haiku"),
    ],
)
def test_a_bad_entry_is_refused_naming_the_field(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_entry(text, ALIASES)


# --- reading SSM -------------------------------------------------------------------------------


def test_the_directory_is_read_page_by_page_and_only_entries_count() -> None:
    client, stubber = stubbed_ssm()
    expected = {"Path": PATH, "Recursive": True}
    stubber.add_response(
        "get_parameters_by_path",
        page(
            (f"{PATH}search/role-arn", f"arn:aws:iam::{ACCOUNT}:role/x"),
            (f"{PATH}search/inference-access", SEARCH),
            token="next",
        ),
        expected,
    )
    stubber.add_response(
        "get_parameters_by_path",
        page(
            (f"{PATH}assistant/inference-access", ASSISTANT),
            (f"{PATH}broken/inference-access", "{"),  # logged and skipped, not fatal
        ),
        {**expected, "NextToken": "next"},
    )
    with stubber:
        teams = directory(client, FakeClock())
        search = teams.team_of(ACCOUNT, "bedrock-lz-default-team-search")
        assistant = teams.team_of(ACCOUNT, "bedrock-lz-default-team-assistant")
        stubber.assert_no_pending_responses()
    assert search is not None and search.name == "search"
    assert assistant is not None and set(assistant.models) == {"claude-sonnet", "claude-haiku"}


def test_a_role_of_the_same_name_in_another_account_is_not_the_team() -> None:
    client, stubber = stubbed_ssm()
    stubber.add_response(
        "get_parameters_by_path", page((f"{PATH}search/inference-access", SEARCH)), None
    )
    with stubber:
        teams = directory(client, FakeClock())
        assert teams.team_of(OTHER_ACCOUNT, "bedrock-lz-default-team-search") is None


def test_a_team_added_later_is_found_after_a_rate_limited_refresh() -> None:
    client, stubber = stubbed_ssm()
    clock = FakeClock()
    first = page((f"{PATH}search/inference-access", SEARCH))
    later = page(
        (f"{PATH}search/inference-access", SEARCH),
        (f"{PATH}assistant/inference-access", ASSISTANT),
    )
    stubber.add_response("get_parameters_by_path", first, None)
    with stubber:
        teams = directory(client, clock)
        assert teams.team_of(ACCOUNT, "bedrock-lz-default-team-assistant") is None
        # within miss_refresh_s (30 s) an unknown role does not reach SSM again
        clock.advance(10)
        assert teams.team_of(ACCOUNT, "bedrock-lz-default-team-assistant") is None
        stubber.assert_no_pending_responses()
        stubber.add_response("get_parameters_by_path", later, None)
        clock.advance(25)
        assistant = teams.team_of(ACCOUNT, "bedrock-lz-default-team-assistant")
        stubber.assert_no_pending_responses()
    assert assistant is not None and assistant.name == "assistant"


def test_a_known_team_is_refreshed_every_refresh_interval_only() -> None:
    client, stubber = stubbed_ssm()
    clock = FakeClock()
    removed = page((f"{PATH}assistant/inference-access", ASSISTANT))
    stubber.add_response(
        "get_parameters_by_path", page((f"{PATH}search/inference-access", SEARCH)), None
    )
    with stubber:
        teams = directory(client, clock)
        for _ in range(5):
            assert teams.team_of(ACCOUNT, "bedrock-lz-default-team-search") is not None
            clock.advance(50)
        stubber.add_response("get_parameters_by_path", removed, None)
        clock.advance(60)  # 310 s after the first read: a removed team is gone
        assert teams.team_of(ACCOUNT, "bedrock-lz-default-team-search") is None
        stubber.assert_no_pending_responses()


def test_without_any_copy_an_ssm_failure_is_a_503_never_a_guess() -> None:
    client, stubber = stubbed_ssm()
    stubber.add_client_error("get_parameters_by_path", "AccessDeniedException", "no", 400)
    with stubber, pytest.raises(TeamDirectoryUnavailable):
        directory(client, FakeClock()).team_of(ACCOUNT, "bedrock-lz-default-team-search")


def test_with_a_copy_an_ssm_failure_keeps_the_last_good_directory() -> None:
    client, stubber = stubbed_ssm()
    clock = FakeClock()
    stubber.add_response(
        "get_parameters_by_path", page((f"{PATH}search/inference-access", SEARCH)), None
    )
    stubber.add_client_error("get_parameters_by_path", "ThrottlingException", "slow", 400)
    with stubber:
        teams = directory(client, clock)
        assert teams.team_of(ACCOUNT, "bedrock-lz-default-team-search") is not None
        clock.advance(301)
        team = teams.team_of(ACCOUNT, "bedrock-lz-default-team-search")
        stubber.assert_no_pending_responses()
    assert team is not None and team.name == "search"


# --- the handler with the directory ------------------------------------------------------------


def directory_config() -> dict[str, Any]:
    config = copy.deepcopy(TEST_CONFIG)
    del config["teams"]
    config["team_directory"] = PATH
    return config


def run(user_arn: str, request: dict[str, Any], converse: dict[str, Any] | None) -> Any:
    """One request through the real handler, SSM and Bedrock stubbed; returns the reply."""
    ssm, ssm_stub = stubbed_ssm()
    ssm_stub.add_response(
        "get_parameters_by_path",
        page((f"{PATH}search/inference-access", SEARCH), (f"{PATH}a/inference-access", ASSISTANT)),
        None,
    )
    bedrock = boto3.client("bedrock-runtime", region_name="us-east-1")
    bedrock_stub = Stubber(bedrock)
    if converse is not None:
        bedrock_stub.add_response("converse", converse_answer("ok"), converse)
    settings = settings_for(directory_config())
    teams = SsmTeamDirectory(PATH, client=lambda: ssm, known_aliases=ALIASES)
    service = handler.build_service(settings, client_factory=lambda _c: bedrock, teams=teams)
    with ssm_stub, bedrock_stub:
        raw = handler.handle(make_event(request, user_arn=user_arn), FakeContext(), service)
        bedrock_stub.assert_no_pending_responses()
    return raw["statusCode"], json.loads(raw["body"])


@pytest.mark.parametrize(
    ("role", "alias", "expected_profile"),
    [
        ("bedrock-lz-default-team-search", "claude-haiku", profile("search1")),
        ("bedrock-lz-default-team-assistant", "claude-haiku", profile("assist2")),
        ("bedrock-lz-default-team-assistant", "claude-sonnet", profile("assist1")),
    ],
)
def test_each_team_calls_through_its_own_profile(
    role: str, alias: str, expected_profile: str
) -> None:
    """Cost allocation: the model id sent is the calling team's application inference profile
    for the alias, so the spend carries the team's tags and reaches its budget."""
    expected = {
        "modelId": expected_profile,
        "messages": ANY,
        "inferenceConfig": ANY,
        "guardrailConfig": GUARDRAIL,
        "requestMetadata": ANY,
    }
    status, answer = run(
        f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/alice", body(alias, "hi"), expected
    )
    assert status == 200, answer


def test_an_alias_outside_the_teams_entry_is_refused() -> None:
    status, answer = run(
        f"arn:aws:sts::{ACCOUNT}:assumed-role/bedrock-lz-default-team-search/alice",
        body("claude-sonnet", "hi"),
        None,
    )
    assert status == 403 and answer["error"]["code"] == "model_not_allowed"


def test_a_fixed_team_map_admits_its_role_names_in_its_accounts_only() -> None:
    """StaticTeams (``teams`` in the config, the construct used outside the landing zone): the
    construct lists the function's own account by default; no list means any account."""
    from bedrock_inference.models import parse_inference_config
    from bedrock_inference.teams import StaticTeams

    base: dict[str, Any] = {
        "models": {"m": {"model_id": "amazon.nova-lite-v1:0", "max_output_tokens": 512}},
        "teams": {"search": {"models": ["m"], "role_names": ["search-app"]}},
    }
    listed = copy.deepcopy(base)
    listed["teams"]["search"]["accounts"] = ["123456789012"]
    teams = StaticTeams(parse_inference_config(json.dumps(listed)).teams)
    found = teams.team_of("123456789012", "search-app")
    assert found is not None and found.name == "search"
    assert teams.team_of("210987654321", "search-app") is None
    assert teams.team_of("123456789012", "other-app") is None
    anywhere = StaticTeams(parse_inference_config(json.dumps(base)).teams)
    assert anywhere.team_of("210987654321", "search-app") is not None
    with pytest.raises(ValueError, match="accounts"):
        bad = copy.deepcopy(base)
        bad["teams"]["search"]["accounts"] = ["prod"]
        parse_inference_config(json.dumps(bad))


def test_the_team_role_name_in_another_account_is_not_recognized() -> None:
    status, answer = run(
        f"arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/bedrock-lz-default-team-search/mallory",
        body("claude-haiku", "hi"),
        None,
    )
    assert status == 403 and answer["error"]["code"] == "caller_not_recognized"


def test_a_config_with_a_directory_needs_its_reader_or_builds_one() -> None:
    settings = settings_for(directory_config())
    service = handler.build_service(
        settings, client_factory=lambda _c: boto3.client("bedrock-runtime", region_name="us-east-1")
    )
    assert isinstance(service.teams, SsmTeamDirectory) and service.teams.path == PATH


def test_teams_and_team_directory_are_exclusive() -> None:
    both = {**TEST_CONFIG, "team_directory": PATH}
    with pytest.raises(Exception, match="set exactly one"):
        settings_for(both)
    neither = {k: v for k, v in TEST_CONFIG.items() if k != "teams"}
    with pytest.raises(Exception, match="set exactly one"):
        settings_for(neither)
