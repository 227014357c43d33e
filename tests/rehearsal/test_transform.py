"""The rehearsal's transformation: each table row applied, unknown types untouched, nothing else.

Small hand-written templates, no synthesis: fast and exact.
"""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rehearsal.transform import (
    ADAPTATIONS,
    CUSTOM_RESOURCE_REQUEST,
    PUBLIC_PARAMETER_PREFIX,
    REPLACED_TYPE_KEY,
    REPLACEMENTS,
    WAIT_CONDITION_HANDLE,
    Replacement,
    TransformError,
    TransformReport,
    custom_resource_request_name,
    markdown_table,
    replacement_for,
    transform_assembly,
    transform_template,
    transform_templates,
)

ROOT = Path(__file__).resolve().parents[2]


def concrete_type(row: Replacement) -> str:
    return "Custom::Thing" if row.resource_type == "Custom::*" else row.resource_type


def attribute_of(row: Replacement) -> str | None:
    names = [a for a in row.attributes if a != "*"]
    if names:
        return names[0]
    return "SomeOutput" if "*" in row.attributes else None


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every leaf of a JSON document with its path."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths(value, (*prefix, index))
    else:
        yield prefix, node


def changed_paths(before: Any, after: Any) -> set[tuple[Any, ...]]:
    old, new = dict(paths(before)), dict(paths(after))
    return {p for p in set(old) | set(new) if old.get(p, object()) != new.get(p, object())}


def template_with(row: Replacement) -> dict[str, Any]:
    resource_type = concrete_type(row)
    properties: dict[str, Any] = {"StageName": "prod"} if "Stage" in resource_type else {}
    if row.replaced_by == CUSTOM_RESOURCE_REQUEST:
        properties = {
            "ServiceToken": {"Fn::GetAtt": ["Handler", "Arn"]},
            "Create": {"Fn::Join": ["", ['{"bucket":"', {"Ref": "Bucket"}, '"}']]},
        }
    consumer: dict[str, Any] = {"Ref": {"Ref": "Target"}, "Sub": {"Fn::Sub": "x-${Target}-y"}}
    attribute = attribute_of(row)
    if attribute:
        consumer["GetAtt"] = {"Fn::GetAtt": ["Target", attribute]}
        consumer["GetAttString"] = {"Fn::GetAtt": f"Target.{attribute}"}
        consumer["SubAttr"] = {"Fn::Sub": ["${Target." + attribute + "}/${!Literal}", {}]}
    return {
        "Resources": {
            "Target": {
                "Type": resource_type,
                "Properties": properties,
                "DependsOn": ["Bucket"],
                "Condition": "Always",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Metadata": {"aws:cdk:path": "Stack/Target/Resource"},
            },
            "Bucket": {"Type": "AWS::S3::Bucket"},
            "Handler": {"Type": "AWS::Lambda::Function", "Properties": {"Runtime": "x"}},
            "Consumer": {"Type": "AWS::SQS::Queue", "Properties": consumer},
        },
        "Conditions": {"Always": {"Fn::Equals": ["a", "a"]}},
        "Outputs": {"Out": {"Value": {"Ref": "Target"}}},
    }


def fake(row: Replacement, template: str, attr: str = "") -> Any:
    text = (
        template.replace("<id>", "rehearsal-target")
        .replace("<attr>", attr)
        .replace("<Properties.StageName>", "prod")
    )
    return {"Fn::Sub": text} if "${" in text else text


def sub_text(value: Any) -> str:
    return str(value["Fn::Sub"]) if isinstance(value, dict) else str(value)


# --- the replacement table, row by row -------------------------------------------------------


@pytest.mark.parametrize("row", REPLACEMENTS, ids=lambda r: r.resource_type)
def test_each_row_replaces_the_resource_and_keeps_its_identity(row: Replacement) -> None:
    original = template_with(row)
    out = transform_template(original)
    target = out["Resources"]["Target"]
    assert target["Type"] == row.replaced_by
    for key in ("DependsOn", "Condition", "DeletionPolicy", "UpdateReplacePolicy"):
        assert target[key] == original["Resources"]["Target"][key]
    assert target["Metadata"] == {
        "aws:cdk:path": "Stack/Target/Resource",
        REPLACED_TYPE_KEY: concrete_type(row),
    }
    if row.replaced_by == WAIT_CONDITION_HANDLE:
        assert "Properties" not in target
    else:
        assert target["Properties"] == {
            "Name": custom_resource_request_name("Target"),
            "Type": "String",
            "Description": f"Rehearsal stand-in for {concrete_type(row)} Target",
            "Value": {"Fn::ToJsonString": original["Resources"]["Target"]["Properties"]},
        }


@pytest.mark.parametrize("row", REPLACEMENTS, ids=lambda r: r.resource_type)
def test_each_row_fakes_ref_and_getatt_deterministically(row: Replacement) -> None:
    out = transform_template(template_with(row))
    consumer = out["Resources"]["Consumer"]["Properties"]
    assert consumer["Ref"] == fake(row, row.ref)
    assert consumer["Sub"] == {"Fn::Sub": f"x-{sub_text(fake(row, row.ref))}-y"}
    assert out["Outputs"]["Out"]["Value"] == fake(row, row.ref)
    attribute = attribute_of(row)
    if attribute:
        template = row.attributes.get(attribute, row.attributes.get("*", ""))
        expected = fake(row, template, attribute)
        assert consumer["GetAtt"] == expected
        assert consumer["GetAttString"] == expected
        assert consumer["SubAttr"] == {"Fn::Sub": [f"{sub_text(expected)}/${{!Literal}}", {}]}
    assert transform_template(template_with(row)) == out  # deterministic


@pytest.mark.parametrize("row", REPLACEMENTS, ids=lambda r: r.resource_type)
def test_each_row_changes_only_the_resource_and_the_references_to_it(row: Replacement) -> None:
    original = template_with(row)
    out = transform_template(original)
    changed = changed_paths(original, out)
    allowed_roots = {
        ("Resources", "Target"),
        ("Resources", "Consumer", "Properties"),
        ("Outputs", "Out", "Value"),
    }
    assert changed
    assert all(any(p[: len(root)] == root for root in allowed_roots) for p in changed)
    # the other resources and the conditions are exactly as they were
    for key in ("Bucket", "Handler"):
        assert out["Resources"][key] == original["Resources"][key]
    assert out["Conditions"] == original["Conditions"]


def test_rows_cover_custom_resources_by_prefix() -> None:
    assert replacement_for("Custom::BedrockInvocationLogging") is not None
    assert replacement_for("AWS::CloudFormation::CustomResource") is not None
    assert replacement_for("Customer::Thing") is None
    assert replacement_for("AWS::S3::Bucket") is None


def test_unknown_types_are_untouched() -> None:
    template = {
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"Name": {"Ref": "Topic"}}},
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
            "Odd": {"Type": "AWS::Made::Up", "Properties": {"X": {"Fn::GetAtt": ["Topic", "A"]}}},
        },
        "Outputs": {"Q": {"Value": {"Fn::GetAtt": ["Odd", "Arn"]}}},
    }
    original = copy.deepcopy(template)
    report = TransformReport()
    assert transform_template(template, report=report) == original
    assert template == original  # the input is not modified
    assert report.replaced == [] and report.adapted == []


def test_the_input_is_never_modified() -> None:
    row = replacement_for("AWS::Bedrock::Guardrail")
    assert row is not None
    template = template_with(row)
    original = copy.deepcopy(template)
    transform_template(template)
    assert template == original


def test_an_attribute_not_in_the_table_is_an_error_not_a_guess() -> None:
    template = {
        "Resources": {
            "G": {"Type": "AWS::Bedrock::Guardrail", "Properties": {}},
            "P": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {"Value": {"Fn::GetAtt": ["G", "X"]}},
            },
        }
    }
    with pytest.raises(TransformError, match=r"G\.X.*add it to REPLACEMENTS"):
        transform_template(template)


def test_a_stage_ref_needs_its_literal_stage_name() -> None:
    template = {
        "Resources": {
            "S": {"Type": "AWS::ApiGateway::Stage", "Properties": {"StageName": {"Ref": "P"}}},
            "O": {"Type": "AWS::SQS::Queue", "Properties": {"Name": {"Ref": "S"}}},
        }
    }
    with pytest.raises(TransformError, match="StageName"):
        transform_template(template)


def test_sub_variables_shadowing_a_replaced_resource_are_left_alone() -> None:
    template = {
        "Resources": {
            "G": {"Type": "AWS::Bedrock::Guardrail", "Properties": {}},
            "Q": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"N": {"Fn::Sub": ["${G}-${G.GuardrailId}", {"G": "local"}]}},
            },
        }
    }
    out = transform_template(template)
    assert out["Resources"]["Q"]["Properties"]["N"] == {
        "Fn::Sub": ["${G}-rehearsal-g", {"G": "local"}]
    }


def test_a_plain_fake_value_inside_sub_cannot_start_a_substitution() -> None:
    template = {
        "Resources": {
            "S": {"Type": "AWS::ApiGateway::Stage", "Properties": {"StageName": "a${b}"}},
            "Q": {"Type": "AWS::SQS::Queue", "Properties": {"N": {"Fn::Sub": "/${S}/"}}},
        }
    }
    out = transform_template(template)
    assert out["Resources"]["Q"]["Properties"]["N"] == {"Fn::Sub": "/a${!b}/"}


def test_references_to_replaced_resources_from_a_custom_resource_are_faked_too() -> None:
    template = {
        "Resources": {
            "G": {"Type": "AWS::Bedrock::Guardrail", "Properties": {}},
            "C": {
                "Type": "Custom::Thing",
                "Properties": {"ServiceToken": "arn", "Id": {"Fn::GetAtt": ["G", "GuardrailId"]}},
            },
        }
    }
    out = transform_template(template)
    value = out["Resources"]["C"]["Properties"]["Value"]
    assert value == {"Fn::ToJsonString": {"ServiceToken": "arn", "Id": "rehearsal-g"}}


# --- what the rehearsal reports ----------------------------------------------------------------


def test_the_report_counts_replaced_resources_of_all_resources_by_type() -> None:
    template = {
        "Resources": {
            "A1": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}},
            "A2": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}},
            "G": {"Type": "AWS::Bedrock::Guardrail", "Properties": {}},
            "B": {"Type": "AWS::S3::Bucket"},
            "T": {"Type": "AWS::SNS::Topic"},
        }
    }
    report = TransformReport()
    transform_templates(
        {"one": template, "two": {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}},
        regions={"one": "r", "two": "r"},
        report=report,
    )
    assert report.resources == 6
    assert report.replaced_by_type() == {"AWS::CloudWatch::Alarm": 2, "AWS::Bedrock::Guardrail": 1}
    assert report.summary() == (
        "replaced 3 of 6 resources: 2 AWS::CloudWatch::Alarm, 1 AWS::Bedrock::Guardrail"
    )
    assert TransformReport(resources=2).summary() == "replaced 0 of 2 resources"


# --- public SSM parameters ---------------------------------------------------------------------


def test_public_parameter_defaults_move_under_the_rehearsal_prefix_others_stay() -> None:
    template = {
        "Parameters": {
            "Layer": {
                "Type": "AWS::SSM::Parameter::Value<String>",
                "Default": "/aws/service/powertools/python/arm64/python3.14/3.37.0",
            },
            "Own": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/bedrock-lz/x"},
            "Plain": {"Type": "String", "Default": "/aws/service/not-ssm-typed"},
        },
        "Resources": {"B": {"Type": "AWS::S3::Bucket"}},
    }
    report = TransformReport()
    out = transform_template(template, stack="s", report=report)
    assert out["Parameters"]["Layer"]["Default"] == (
        f"{PUBLIC_PARAMETER_PREFIX}/aws/service/powertools/python/arm64/python3.14/3.37.0"
    )
    assert out["Parameters"]["Own"] == template["Parameters"]["Own"]
    assert out["Parameters"]["Plain"] == template["Parameters"]["Plain"]
    assert report.public_parameters == [
        ("s", "Layer", "/aws/service/powertools/python/arm64/python3.14/3.37.0")
    ]
    assert changed_paths(template, out) == {("Parameters", "Layer", "Default")}


# --- Fn::GetStackOutput ----------------------------------------------------------------------


def producer_and_consumer(region: str = "us-east-1") -> dict[str, dict[str, Any]]:
    return {
        "producer": {
            "Resources": {"Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": "p"}}},
            "Outputs": {"KeyArn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}}},
        },
        "consumer": {
            "Resources": {
                "Logs": {
                    "Type": "AWS::Logs::LogGroup",
                    "Properties": {
                        "KmsKeyId": {
                            "Fn::GetStackOutput": {
                                "StackName": "producer",
                                "Region": region,
                                "OutputName": "KeyArn",
                            }
                        }
                    },
                }
            }
        },
    }


def test_get_stack_output_becomes_import_value_of_an_added_export() -> None:
    templates = producer_and_consumer()
    report = TransformReport()
    out = transform_templates(
        templates, regions={"producer": "us-east-1", "consumer": "us-east-1"}, report=report
    )
    assert out["consumer"]["Resources"]["Logs"]["Properties"]["KmsKeyId"] == {
        "Fn::ImportValue": "producer:KeyArn"
    }
    assert out["producer"]["Outputs"]["KeyArn"] == {
        "Value": {"Fn::GetAtt": ["Key", "Arn"]},
        "Export": {"Name": "producer:KeyArn"},
    }
    assert report.imports == [("consumer", "producer", "KeyArn")]
    changed = changed_paths(templates, out)
    assert {p[:3] for p in changed} == {
        ("consumer", "Resources", "Logs"),
        ("producer", "Outputs", "KeyArn"),
    }


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: t.pop("producer"), "not in this assembly"),
        (lambda t: t["producer"].pop("Outputs"), "no output"),
    ],
)
def test_get_stack_output_that_cannot_be_rewritten_is_an_error(mutate: Any, message: str) -> None:
    templates = producer_and_consumer()
    mutate(templates)
    with pytest.raises(TransformError, match=message):
        transform_templates(templates, regions=dict.fromkeys(templates, "us-east-1"))


def test_get_stack_output_across_regions_is_an_error() -> None:
    templates = producer_and_consumer(region="eu-west-1")
    with pytest.raises(TransformError, match="across regions"):
        transform_templates(templates, regions=dict.fromkeys(templates, "us-east-1"))


# --- the adaptation table --------------------------------------------------------------------


def adapt(resource_type: str, properties: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    report = TransformReport()
    template = {"Resources": {"R": {"Type": resource_type, "Properties": properties}}}
    out = transform_template(template, report=report)
    return out["Resources"]["R"]["Properties"], [p for _, _, p in report.adapted]


def test_kms_key_tags_and_policy_are_adapted() -> None:
    policy = {"Statement": [{"Resource": "*", "Principal": {"AWS": {"Fn::Join": ["", ["a"]]}}}]}
    properties, adapted = adapt(
        "AWS::KMS::Key",
        {"Tags": [{"Key": "Owner", "Value": "x"}], "KeyPolicy": policy, "EnableKeyRotation": True},
    )
    assert properties == {
        "Tags": [{"TagKey": "Owner", "TagValue": "x"}],
        "KeyPolicy": {"Fn::ToJsonString": policy},
        "EnableKeyRotation": True,
    }
    assert sorted(adapted) == ["KeyPolicy", "Tags"]


def test_ssm_parameter_tags_become_a_list() -> None:
    properties, adapted = adapt(
        "AWS::SSM::Parameter", {"Name": "/a", "Tags": {"Owner": "x", "CostCenter": "y"}}
    )
    assert properties["Tags"] == [
        {"Key": "Owner", "Value": "x"},
        {"Key": "CostCenter", "Value": "y"},
    ]
    assert properties["Name"] == "/a"
    assert adapted == ["Tags"]


def test_lambda_layers_from_elsewhere_are_dropped_own_layers_kept() -> None:
    mine = {"Ref": "MyLayer"}
    properties, _ = adapt("AWS::Lambda::Function", {"Layers": ["arn:aws:lambda:x", mine]})
    assert properties == {"Layers": [mine]}
    properties, adapted = adapt("AWS::Lambda::Function", {"Layers": ["arn:aws:lambda:x"]})
    assert properties == {}
    assert adapted == ["Layers"]


@pytest.mark.parametrize(
    ("resource_type", "properties"),
    [
        ("AWS::KMS::Key", {"KeyPolicy": {"Ref": "Policy"}, "Tags": {"Ref": "T"}}),
        ("AWS::KMS::Key", {"KeyPolicy": {"Fn::ToJsonString": {}}, "Tags": [{"TagKey": "a"}]}),
        ("AWS::SSM::Parameter", {"Tags": [{"Key": "a", "Value": "b"}]}),
        ("AWS::SSM::Parameter", {"Tags": {"Fn::If": ["C", {}, {}]}}),
        ("AWS::Lambda::Function", {"Layers": [{"Ref": "L"}]}),
        ("AWS::SQS::Queue", {"Tags": {"a": "b"}, "Layers": ["arn"]}),
    ],
)
def test_adaptations_leave_other_forms_and_types_alone(
    resource_type: str, properties: dict[str, Any]
) -> None:
    out, adapted = adapt(resource_type, copy.deepcopy(properties))
    assert out == properties
    assert adapted == []


# --- the table is justified ------------------------------------------------------------------


def moto_models() -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from moto.cloudformation.parsing import get_model_map

    return dict(get_model_map())


def test_the_table_replaces_only_what_moto_cannot_deploy() -> None:
    models = moto_models()
    for row in REPLACEMENTS:
        if row.replaced_by == CUSTOM_RESOURCE_REQUEST:
            continue  # moto "models" custom resources by invoking their Lambda: Docker, a hang
        assert row.resource_type not in models, f"moto models {row.resource_type}: drop its row"
    for stand_in in {row.replaced_by for row in REPLACEMENTS} - {WAIT_CONDITION_HANDLE}:
        assert stand_in in models
    for adaptation in ADAPTATIONS:
        assert adaptation.resource_type in models


def _skipped_by_moto(session: Any, resource_type: str) -> bool:
    """Deploy one resource of ``resource_type`` to moto's CloudFormation: is it created?"""
    from moto import mock_aws

    template = {
        "Resources": {
            "Probe": {"Type": resource_type, "Properties": {}},
            "Anchor": {"Type": WAIT_CONDITION_HANDLE},
        }
    }
    with warnings.catch_warnings(), mock_aws():
        warnings.simplefilter("ignore")
        cloudformation = session.client("cloudformation")
        cloudformation.create_stack(StackName="probe", TemplateBody=json.dumps(template))
        summaries = cloudformation.list_stack_resources(StackName="probe")
        created = {s["LogicalResourceId"] for s in summaries["StackResourceSummaries"]}
    return "Probe" not in created


@pytest.mark.parametrize(
    "row",
    [r for r in REPLACEMENTS if r.replaced_by == WAIT_CONDITION_HANDLE],
    ids=lambda r: r.resource_type,
)
def test_moto_really_cannot_create_each_replaced_type(moto_session: Any, row: Replacement) -> None:
    """Tried against moto: a type it could create must not be replaced (lower the count)."""
    assert _skipped_by_moto(moto_session, row.resource_type), (
        f"moto 5.2.5 creates {row.resource_type}: drop its row from REPLACEMENTS"
    )


def test_the_readme_shows_the_current_tables() -> None:
    readme = (ROOT / "rehearsal" / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme, "update rehearsal/README.md: python -m rehearsal --table"


# --- a whole assembly directory --------------------------------------------------------------


def test_transform_assembly_rewrites_a_copy_of_the_templates_only(tmp_path: Path) -> None:
    source = tmp_path / "cdk.out"
    source.mkdir()
    templates = producer_and_consumer()
    templates["producer"]["Resources"]["G"] = {"Type": "AWS::Bedrock::Guardrail"}
    manifest = {
        "version": "55.0.0",
        "artifacts": {
            name.title(): {
                "type": "aws:cloudformation:stack",
                "environment": "aws://unknown-account/us-east-1",
                "properties": {"templateFile": f"{name}.template.json", "stackName": name},
            }
            for name in templates
        },
    }
    (source / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    for name, template in templates.items():
        (source / f"{name}.template.json").write_text(json.dumps(template), encoding="utf-8")
    (source / "asset.abc").mkdir()
    (source / "asset.abc" / "index.py").write_text("x = 1\n", encoding="utf-8")
    before = {p.name: p.read_bytes() for p in source.rglob("*") if p.is_file()}

    report = transform_assembly(source, tmp_path / "out")

    assert {p.name: p.read_bytes() for p in source.rglob("*") if p.is_file()} == before
    out = tmp_path / "out"
    assert (out / "asset.abc" / "index.py").read_text(encoding="utf-8") == "x = 1\n"
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8")) == manifest
    producer = json.loads((out / "producer.template.json").read_text(encoding="utf-8"))
    assert producer["Resources"]["G"]["Type"] == WAIT_CONDITION_HANDLE
    assert producer["Outputs"]["KeyArn"]["Export"] == {"Name": "producer:KeyArn"}
    assert report.replaced == [("producer", "G", "AWS::Bedrock::Guardrail", WAIT_CONDITION_HANDLE)]
    assert report.lines() == [
        "producer: AWS::Bedrock::Guardrail -> AWS::CloudFormation::WaitConditionHandle",
        "consumer: Fn::GetStackOutput of producer -> Fn::ImportValue",
    ]


def test_nested_assemblies_are_refused(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    manifest = {"artifacts": {"Stage": {"type": "cdk:cloud-assembly", "properties": {}}}}
    (tmp_path / "src" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(TransformError, match="nested cloud assemblies"):
        transform_assembly(tmp_path / "src", tmp_path / "out")
