"""The rehearsal's pure parts (lifecycle, checks, options): no moto server, no CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from rehearsal import RehearsalError
from rehearsal.__main__ import main
from rehearsal.checks import (
    MOTO_INTRINSICS,
    check_moto_coverage,
    contract_parameters,
)
from rehearsal.lifecycle import (
    Assembly,
    ConfigChange,
    CustomResourceRequest,
    _decode,
    provide_public_parameters,
    replay,
    stated_defaults,
)
from rehearsal.moto_main import _JsonFirstYaml, cache_module_list, model_map
from rehearsal.server import ROOT, cli_environment
from rehearsal.transform import PUBLIC_PARAMETER_PREFIX, TransformReport
from tests.imports import packages_loaded


def assembly(templates: dict[str, dict[str, Any]]) -> Assembly:
    return Assembly(Path(), TransformReport(), templates, list(templates))


def test_coverage_accepts_what_moto_models_and_names_what_it_does_not() -> None:
    ok = {
        "Resources": {
            "B": {"Type": "AWS::S3::Bucket"},
            "W": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
        }
    }
    check_moto_coverage(assembly({"s": ok}), model_map())
    bad = {
        "Resources": {
            "A": {"Type": "AWS::Made::Up"},
            "C": {"Type": "Custom::Thing"},
            "Q": {"Type": "AWS::SQS::Queue", "Properties": {"N": {"Fn::Cidr": ["a", 1, 2]}}},
        },
        "Rules": {"R": {"Assertions": [{"Assert": {"Fn::Contains": [[], "x"]}}]}},
    }
    with pytest.raises(RehearsalError) as info:
        check_moto_coverage(assembly({"s": bad}), model_map())
    message = str(info.value)
    for needle in ("AWS::Made::Up", "Custom::Thing", "intrinsic Fn::Cidr", "REPLACEMENTS"):
        assert needle in message
    assert "Fn::Contains" not in message  # Rules are not evaluated by moto
    assert "Fn::GetStackOutput" not in MOTO_INTRINSICS


def test_config_change_edits_only_the_chosen_model(tmp_path: Path) -> None:
    source = ROOT / "config" / "default.yaml"
    target = tmp_path / "default.yaml"
    target.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    before = yaml.safe_load(source.read_text(encoding="utf-8"))
    alias = before["models"][0]["alias"]
    ConfigChange(alias, 8192, 1234).apply(target)
    after = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert after["models"][0]["max_output_tokens"] == 1234
    after["models"][0]["max_output_tokens"] = before["models"][0].get("max_output_tokens")
    assert after == before


def test_contract_lists_every_team_and_the_inference_api() -> None:
    names = contract_parameters(ROOT / "config")
    assert "/bedrock-lz/default/kms-key-arn" in names
    assert "/bedrock-lz/default/guardrail/version" in names
    assert "/bedrock-lz/default/inference/api-url" in names
    assert any(n.endswith("/model-access-policy-arn") for n in names)


def test_decode_turns_aws_custom_resource_booleans_back() -> None:
    assert _decode({"a": "TRUE:BOOLEAN", "b": ["FALSE:BOOLEAN", "x"], "c": 1}) == {
        "a": True,
        "b": [False, "x"],
        "c": 1,
    }


def test_a_custom_resource_that_is_no_sdk_call_is_reported_not_replayed() -> None:
    request = CustomResourceRequest("s", "L", "Custom::VpcRestrictDefaultSG", {"Account": "1"})
    assert "not replayed" in replay(None, request, "Create")  # type: ignore[arg-type]


def test_an_aws_custom_resource_call_is_made_with_boto3_names() -> None:
    calls: list[tuple[str, str, dict[str, Any]]] = []

    class Client:
        def __init__(self, service: str) -> None:
            self.service = service

        def __getattr__(self, action: str) -> Any:
            return lambda **kwargs: calls.append((self.service, action, kwargs))

    create = {
        "service": "Bedrock",
        "action": "putModelInvocationLoggingConfiguration",
        "parameters": {"loggingConfig": {"textDataDeliveryEnabled": "TRUE:BOOLEAN"}},
    }
    request = CustomResourceRequest("s", "L", "Custom::X", {"Create": json.dumps(create)})
    line = replay(Client, request, "Create")  # type: ignore[arg-type]
    assert calls == [
        (
            "bedrock",
            "put_model_invocation_logging_configuration",
            {"loggingConfig": {"textDataDeliveryEnabled": True}},
        )
    ]
    assert "replayed" in line
    assert "no Delete call" in replay(Client, request, "Delete")  # type: ignore[arg-type]


def test_table_option_prints_the_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--table"]) == 0
    assert "| `AWS::Bedrock::Guardrail` |" in capsys.readouterr().out


def test_the_first_deploy_states_every_ssm_typed_default_explicitly() -> None:
    templates: dict[str, dict[str, Any]] = {
        "a": {
            "Parameters": {
                "BootstrapVersion": {
                    "Type": "AWS::SSM::Parameter::Value<String>",
                    "Default": "/cdk-bootstrap/hnb659fds/version",
                },
                "Layer": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/x/layer"},
                "Plain": {"Type": "String", "Default": "v"},
                "NoDefault": {"Type": "AWS::SSM::Parameter::Value<String>"},
            }
        },
        "b": {"Resources": {}},
    }
    assert stated_defaults(assembly(templates)) == ["a:Layer=/x/layer"]


def test_public_parameters_get_a_stand_in_in_moto_or_a_clear_error() -> None:
    import warnings

    import boto3
    from moto import mock_aws

    name = "/aws/service/powertools/python/arm64/python3.14/3.37.0"
    with warnings.catch_warnings(), mock_aws():
        warnings.simplefilter("ignore")
        session = boto3.session.Session(region_name="us-east-1")

        def moto(service: str) -> Any:
            return session.client(service)  # type: ignore[call-overload]

        report = TransformReport(public_parameters=[("s", "P", name), ("t", "Q", name)])
        (line,) = provide_public_parameters(moto, report)  # type: ignore[arg-type]
        value = moto("ssm").get_parameter(Name=PUBLIC_PARAMETER_PREFIX + name)["Parameter"]["Value"]
        assert value in line
        layer_name = value.split(":")[-2]
        (layer,) = moto("lambda").list_layer_versions(LayerName=layer_name)["LayerVersions"]
        assert layer["LayerVersionArn"] == value
        assert layer["CompatibleArchitectures"] == ["arm64"]
        unknown = TransformReport(public_parameters=[("s", "P", "/aws/service/other/thing")])
        with pytest.raises(RehearsalError, match="/aws/service/other/thing"):
            provide_public_parameters(moto, unknown)  # type: ignore[arg-type]


def test_cli_runs_cache_bytecode_in_the_prefix_or_write_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under make (PYTHONPYCACHEPREFIX) the CLI's app runs write bytecode there, so each synth
    does not compile aws-cdk-lib's modules again; without a prefix they write none (no
    __pycache__ in the source tree)."""
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", str(tmp_path / "pycache"))
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("AWS_PROFILE", "real")
    env = cli_environment(5000, "eu-central-1", tmp_path)
    assert env["PYTHONPYCACHEPREFIX"] == str(tmp_path / "pycache")
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert "AWS_PROFILE" not in env
    monkeypatch.delenv("PYTHONPYCACHEPREFIX")
    assert cli_environment(5000, "eu-central-1", tmp_path)["PYTHONDONTWRITEBYTECODE"] == "1"


def test_of_the_callers_cdk_variables_only_cdk_validation_reaches_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDK_VALIDATION", "false")
    monkeypatch.setenv("CDK_DEFAULT_ACCOUNT", "111111111111")
    monkeypatch.setenv("CDK_DEPLOY_REGION", "eu-west-1")
    env = cli_environment(5000, "eu-central-1", tmp_path)
    assert env["CDK_VALIDATION"] == "false"
    assert "CDK_DEFAULT_ACCOUNT" not in env and "CDK_DEPLOY_REGION" not in env
    monkeypatch.delenv("CDK_VALIDATION")
    assert "CDK_VALIDATION" not in cli_environment(5000, "eu-central-1", tmp_path)


def test_moto_main_reads_json_templates_as_pyyaml_does() -> None:
    shim = _JsonFirstYaml(yaml)
    template = json.dumps({"Resources": {"B": {"Type": "AWS::S3::Bucket"}}, "N": [1, 2.5, True]})
    assert shim.load(template, Loader=yaml.Loader) == yaml.load(template, Loader=yaml.Loader)
    assert shim.load("Resources: {B: 1}\n", Loader=yaml.SafeLoader) == {"Resources": {"B": 1}}
    assert shim.SafeLoader is yaml.SafeLoader  # everything else is PyYAML's


def test_the_checks_load_without_the_cdk() -> None:
    """The rehearsal's process builds the expected logging payload from the CDK-free
    ``logging_payload`` module: importing the checks starts no jsii kernel (about 1 s of CPU)."""
    assert (
        packages_loaded("import rehearsal.checks, rehearsal.lifecycle", ("aws_cdk", "jsii")) == []
    )


def test_moto_main_lists_motos_service_folders_once() -> None:
    from moto import backends

    original = backends.list_of_moto_modules
    listed = list(original())
    try:
        assert cache_module_list() == tuple(listed)
        assert "cloudformation" in backends.list_of_moto_modules()
        assert backends.list_of_moto_modules() is backends.list_of_moto_modules()
    finally:
        backends.list_of_moto_modules = original
