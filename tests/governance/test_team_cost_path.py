"""Contract between the team stacks and the inference runtime: the team-directory entry each team
stack publishes is the one the function parses, and a team's call goes through that team's own
application inference profile (cost allocation reaches the team's budget).

The entry is read from the synthesized team template, its intrinsics (role ARN, profile ARNs)
resolved to values of the right form, then served to the real handler through a stubbed SSM
``GetParametersByPath``; Bedrock is a stubbed Converse that checks the ``modelId`` it receives.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from typing import Any

import boto3
import pytest
from bedrock_inference.models import load_settings
from bedrock_inference.team_directory import ENTRY_SUFFIX, SsmTeamDirectory
from botocore.stub import ANY, Stubber

from tests.conftest import EXAMPLE_ENVS, Synths
from tests.inference.test_inference import _join

# `lambda` is a keyword: the handler test helpers are imported by name
_helpers = importlib.import_module("tests.lambda.inference")
FakeContext, body = _helpers.FakeContext, _helpers.body
converse_answer, make_event = _helpers.converse_answer, _helpers.make_event
handler_module = _helpers.handler  # imported with a valid environment by the helpers

ACCOUNT = "123456789012"


def _entries(synth: Any, account: str) -> dict[str, tuple[str, str, dict[str, str]]]:
    """team -> (parameter name, entry JSON, alias -> resolved profile ARN), from the templates."""
    region = synth.config.region
    out = {}
    for team, stack in synth.stacks.teams.items():
        template = synth.template_json(stack)
        refs: dict[str, str] = {}
        profiles: dict[str, str] = {}
        for lid, resource in template["Resources"].items():
            if resource["Type"] == "AWS::IAM::Role":
                refs[f"{lid}.Arn"] = f"arn:aws:iam::{account}:role/bedrock-lz-{team}-{lid[:20]}"
            if resource["Type"] == "AWS::Bedrock::ApplicationInferenceProfile":
                suffix = f"{len(profiles):02d}{team}".ljust(12, "0")[:12].lower()
                suffix = re.sub(r"[^a-z0-9]", "0", suffix)
                arn = f"arn:aws:bedrock:{region}:{account}:application-inference-profile/{suffix}"
                refs[f"{lid}.InferenceProfileArn"] = arn
                profiles[resource["Properties"]["InferenceProfileName"]] = arn
        (parameter,) = [
            r["Properties"]
            for r in template["Resources"].values()
            if r["Type"] == "AWS::SSM::Parameter"
            and str(r["Properties"]["Name"]).endswith(ENTRY_SUFFIX)
        ]
        text = _join(parameter["Value"], refs, account, region)
        out[team] = (str(parameter["Name"]), text, profiles)
    return out


def _same(client: Any) -> Any:
    return client


def _ignore_config(client: Any, _config: Any) -> Any:
    return client


def _inference_settings(synth: Any) -> Any:
    template = synth.template_json(synth.stacks.inference)
    (fn,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"].get("Handler") == "bedrock_inference.handler.lambda_handler"
    ]
    variables = fn["Environment"]["Variables"]
    asset = synth.outdir / f"asset.{fn['Code']['S3Key'].removesuffix('.zip')}"
    return load_settings(
        {
            "INFERENCE_CONFIG_FILE": variables["INFERENCE_CONFIG_FILE"],
            "LAMBDA_TASK_ROOT": str(asset),
            "GUARDRAIL_ID": "abcdefghij12",
            "GUARDRAIL_VERSION": "3",
            "AWS_REGION": synth.config.region,
        }
    )


@pytest.mark.parametrize("env", EXAMPLE_ENVS)
def test_every_team_and_alias_calls_through_the_teams_own_profile(synths: Synths, env: str) -> None:
    synth = synths[env]
    if synth.stacks.inference is None:
        pytest.skip("no inference API in this environment")
    account = synth.config.account or ACCOUNT
    settings = _inference_settings(synth)
    entries = _entries(synth, account)
    assert set(entries) == {t.name for t in synth.config.teams}
    directory = settings.config.team_directory
    assert all(name.startswith(directory) for name, _, _ in entries.values())

    checked = 0
    for team in synth.config.teams:
        name, text, _ = entries[team.name]
        entry = json.loads(text)
        role_name = entry["role_arn"].rsplit("/", 1)[-1]
        for alias in team.models:
            if alias not in settings.config.models:
                continue  # a model without guardrail support is not served by the function
            expected_profile = entry["models"][alias]
            ssm = boto3.client("ssm", region_name=synth.config.region)
            ssm_stub = Stubber(ssm)
            ssm_stub.add_response(
                "get_parameters_by_path",
                {
                    "Parameters": [
                        {"Name": n, "Type": "String", "Value": v, "Version": 1}
                        for n, v, _ in entries.values()
                    ]
                },
                {"Path": directory, "Recursive": True},
            )
            bedrock = boto3.client("bedrock-runtime", region_name=synth.config.region)
            bedrock_stub = Stubber(bedrock)
            bedrock_stub.add_response(
                "converse",
                converse_answer("ok"),
                {
                    "modelId": expected_profile,
                    "messages": ANY,
                    "inferenceConfig": ANY,
                    "guardrailConfig": ANY,
                    "requestMetadata": ANY,
                },
            )
            teams = SsmTeamDirectory(
                directory,
                client=functools.partial(_same, ssm),
                known_aliases=frozenset(settings.config.models),
            )
            service = handler_module.build_service(
                settings, client_factory=functools.partial(_ignore_config, bedrock), teams=teams
            )
            caller = f"arn:aws:sts::{account}:assumed-role/{role_name}/alice"
            with ssm_stub, bedrock_stub:
                raw = handler_module.handle(
                    make_event(body(alias, "hello"), user_arn=caller), FakeContext(), service
                )
                bedrock_stub.assert_no_pending_responses()
            assert raw["statusCode"] == 200, (team.name, alias, raw["body"])
            assert name.endswith(f"/{team.name}{ENTRY_SUFFIX}")
            checked += 1
    assert checked >= len(synth.config.teams)
