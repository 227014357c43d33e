"""resolve_longest: every intrinsic becomes the longest value it can take in a real account."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from bedrock_landing_zone.compliance.preflight import (
    ACCOUNT_PLACEHOLDER,
    GENERATED_NAME_LENGTH,
    LONGEST_PARTITION,
    LONGEST_REGION,
    LONGEST_URL_SUFFIX,
    UNKNOWN_VALUE_LENGTH,
    StackFacts,
    policy_characters,
    resolve_longest,
)

UNKNOWN = "x" * UNKNOWN_VALUE_LENGTH

RESOURCES: dict[str, Any] = {
    "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
    "NamedRole": {
        "Type": "AWS::IAM::Role",
        "Properties": {"RoleName": "team-role", "Path": "/lz/"},
    },
    "Policy": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {}},
    "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}},
    "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
    "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}},
    "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "jobs"}},
    "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {}},
    "Guardrail": {"Type": "AWS::Bedrock::Guardrail", "Properties": {}},
    "GuardrailVersion": {"Type": "AWS::Bedrock::GuardrailVersion", "Properties": {}},
    "Profile": {"Type": "AWS::Bedrock::ApplicationInferenceProfile", "Properties": {}},
    "Param": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/lz/dev/api-url"}},
    "Thing": {"Type": "AWS::Foo::Widget", "Properties": {}},
    "Custom": {"Type": "Custom::Anything", "Properties": {}},
}
TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "Size": {"Type": "String", "AllowedValues": ["s", "medium", "xl"]},
        "Short": {"Type": "String", "MaxLength": 7},
        "Layer": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/aws/service/x"},
        "Subnets": {"Type": "List<AWS::EC2::Subnet::Id>"},
    },
    "Mappings": {"Sizes": {"dev": {"Cpu": "256"}, "prod": {"Cpu": "4096-long"}}},
    "Resources": RESOURCES,
    "Outputs": {"RoleArn": {"Value": {"Fn::GetAtt": ["NamedRole", "Arn"]}}},
}
#: A stack that knows its name, account and region (as the assembly manifest tells).
STACK = StackFacts(
    template=TEMPLATE, stack_name="lz-dev-governance", region="eu-central-1", account="111111111111"
)
#: An environment-agnostic stack.
AGNOSTIC = StackFacts(template=TEMPLATE, stack_name="lz-dev-governance")


def resolve(value: Any, stack: StackFacts = STACK, **stacks: StackFacts) -> Any:
    return resolve_longest(value, stack, stacks)


# ----- pseudo parameters --------------------------------------------------------------------


def test_pseudo_parameters_of_a_stack_with_an_environment() -> None:
    assert resolve({"Ref": "AWS::AccountId"}) == "111111111111"
    assert resolve({"Ref": "AWS::Region"}) == "eu-central-1"
    assert resolve({"Ref": "AWS::Partition"}) == "aws"
    assert resolve({"Ref": "AWS::URLSuffix"}) == "amazonaws.com"
    assert resolve({"Ref": "AWS::StackName"}) == "lz-dev-governance"
    stack_id = resolve({"Ref": "AWS::StackId"})
    assert stack_id.startswith("arn:aws:cloudformation:eu-central-1:111111111111:stack/lz-dev-")


def test_pseudo_parameters_of_an_environment_agnostic_stack_are_the_longest() -> None:
    assert resolve({"Ref": "AWS::AccountId"}, AGNOSTIC) == ACCOUNT_PLACEHOLDER
    assert len(ACCOUNT_PLACEHOLDER) == 12
    assert resolve({"Ref": "AWS::Region"}, AGNOSTIC) == LONGEST_REGION
    assert len(LONGEST_REGION) == 15  # us-isof-south-1; ap-southeast-1 has 14
    assert resolve({"Ref": "AWS::Partition"}, AGNOSTIC) == LONGEST_PARTITION == "aws-us-gov"
    assert resolve({"Ref": "AWS::URLSuffix"}, AGNOSTIC) == LONGEST_URL_SUFFIX
    nameless = StackFacts(template=TEMPLATE)
    assert len(resolve({"Ref": "AWS::StackName"}, nameless)) == 128


@pytest.mark.parametrize(
    ("region", "partition", "suffix"),
    [
        ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
        ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
        ("us-isob-east-1", "aws-iso-b", "sc2s.sgov.gov"),
        ("eusc-de-east-1", "aws-eusc", "amazonaws.eu"),
        ("ap-southeast-2", "aws", "amazonaws.com"),
    ],
)
def test_a_concrete_region_decides_partition_and_url_suffix(
    region: str, partition: str, suffix: str
) -> None:
    stack = StackFacts(template=TEMPLATE, region=region)
    assert resolve({"Ref": "AWS::Partition"}, stack) == partition
    assert resolve({"Ref": "AWS::URLSuffix"}, stack) == suffix


def test_no_value_drops_the_key_or_element() -> None:
    value = {"A": {"Ref": "AWS::NoValue"}, "B": ["x", {"Ref": "AWS::NoValue"}]}
    assert resolve(value) == {"B": ["x"]}


# ----- parameters and resources ---------------------------------------------------------------


def test_parameters_take_their_longest_allowed_value_else_a_pessimistic_one() -> None:
    assert resolve({"Ref": "Size"}) == "medium"
    assert resolve({"Ref": "Short"}) == "x" * 7
    assert resolve({"Ref": "Layer"}) == UNKNOWN  # an SSM value: unknown at synth
    assert resolve({"Ref": "Subnets"}) == [UNKNOWN]


def test_ref_to_a_resource_is_its_name_or_a_generated_name_of_the_longest_length() -> None:
    assert resolve({"Ref": "NamedRole"}) == "team-role"
    assert len(resolve({"Ref": "Role"})) == 64  # IAM role names: at most 64
    assert len(resolve({"Ref": "Fn"})) == GENERATED_NAME_LENGTH
    assert len(resolve({"Ref": "Bucket"})) == 63  # bucket names: at most 63
    assert resolve({"Ref": "Queue"}) == "https://sqs.eu-central-1.amazonaws.com/111111111111/jobs"


def test_a_generated_name_is_as_long_as_stack_and_logical_id_make_it() -> None:
    """CloudFormation names a resource <stack>-<logical id>-<13 random>, cut to the limit."""
    long_stack = StackFacts(template=TEMPLATE, stack_name="s" * 120)
    arn = resolve({"Ref": "Policy"}, long_stack)
    assert arn == f"arn:aws-us-gov:iam::{ACCOUNT_PLACEHOLDER}:policy/" + "x" * 128  # capped
    assert resolve({"Ref": "Policy"}, StackFacts(template=TEMPLATE, stack_name="s" * 80)) == (
        f"arn:aws-us-gov:iam::{ACCOUNT_PLACEHOLDER}:policy/" + "x" * (80 + len("Policy") + 15)
    )
    short = resolve({"Ref": "Policy"})  # at least 64
    assert short == "arn:aws:iam::111111111111:policy/" + "x" * 64


def test_ref_in_the_type_s_id_format() -> None:
    assert resolve({"Ref": "Key"}) == "ffffffff-ffff-ffff-ffff-ffffffffffff"
    assert resolve({"Ref": "Vpc"}) == "vpc-" + "f" * 17
    assert resolve({"Ref": "Profile"}) == (
        "arn:aws:bedrock:eu-central-1:111111111111:application-inference-profile/" + "z" * 12
    )


def test_get_att_builds_the_arn_of_the_type() -> None:
    assert resolve({"Fn::GetAtt": ["NamedRole", "Arn"]}) == (
        "arn:aws:iam::111111111111:role/lz/team-role"
    )
    assert resolve({"Fn::GetAtt": "Role.Arn"}) == "arn:aws:iam::111111111111:role/" + "x" * 64
    assert resolve({"Fn::GetAtt": ["Fn", "Arn"]}) == (
        "arn:aws:lambda:eu-central-1:111111111111:function:" + "x" * 64
    )
    assert resolve({"Fn::GetAtt": ["Key", "Arn"]}) == (
        "arn:aws:kms:eu-central-1:111111111111:key/ffffffff-ffff-ffff-ffff-ffffffffffff"
    )
    assert resolve({"Fn::GetAtt": ["Guardrail", "GuardrailArn"]}) == (
        "arn:aws:bedrock:eu-central-1:111111111111:guardrail/" + "z" * 12
    )
    assert resolve({"Fn::GetAtt": ["GuardrailVersion", "Version"]}) == "99999999"
    assert resolve({"Fn::GetAtt": ["Param", "Arn"]}) == (
        "arn:aws:ssm:eu-central-1:111111111111:parameter/lz/dev/api-url"
    )
    assert resolve({"Fn::GetAtt": ["Bucket", "RegionalDomainName"]}) == (
        "x" * 63 + ".s3.eu-central-1.amazonaws.com"
    )


def test_unknown_types_and_custom_resources_are_pessimistic() -> None:
    assert resolve({"Fn::GetAtt": ["Thing", "Arn"]}) == (
        "arn:aws:foo:eu-central-1:111111111111:widget/" + "x" * 64
    )
    assert resolve({"Fn::GetAtt": ["Thing", "Colour"]}) == "x" * 64
    assert resolve({"Ref": "Custom"}) == UNKNOWN
    assert resolve({"Fn::GetAtt": ["Custom", "Anything"]}) == UNKNOWN
    assert resolve({"Ref": "Missing"}) == UNKNOWN


# ----- functions ------------------------------------------------------------------------------


def test_join_and_sub() -> None:
    join = {"Fn::Join": [":", ["arn", {"Ref": "AWS::Partition"}, {"Ref": "AWS::Region"}]]}
    assert resolve(join) == "arn:aws:eu-central-1"
    sub = {"Fn::Sub": "${AWS::Region}/${NamedRole}/${NamedRole.Arn}/${!Literal}"}
    assert resolve(sub) == (
        "eu-central-1/team-role/arn:aws:iam::111111111111:role/lz/team-role/${Literal}"
    )
    with_vars = {"Fn::Sub": ["${A}-${AWS::AccountId}", {"A": {"Ref": "Size"}}]}
    assert resolve(with_vars) == "medium-111111111111"


def test_select_split_and_get_azs() -> None:
    assert resolve({"Fn::Select": [1, ["a", "bb", "c"]]}) == "bb"
    azs = resolve({"Fn::GetAZs": ""})
    assert azs[0] == "eu-central-1a" and len(azs) == 6
    assert resolve({"Fn::Select": [0, {"Fn::GetAZs": ""}]}) == "eu-central-1a"
    # an index nothing tells: the longest element
    assert resolve({"Fn::Select": [{"Ref": "Size"}, ["a", "bbbb", "c"]]}) == "bbbb"
    assert resolve({"Fn::Split": [",", "a,b,c"]}) == ["a", "b", "c"]
    assert resolve({"Fn::Select": [2, {"Fn::Split": ["/", "x/y/z"]}]}) == "z"


def test_if_takes_the_longer_branch() -> None:
    assert resolve({"Fn::If": ["IsProd", "short", "much-longer"]}) == "much-longer"
    assert resolve({"Fn::If": ["IsProd", {"Ref": "AWS::NoValue"}, "kept"]}) == "kept"
    assert resolve({"A": {"Fn::If": ["C", {"Ref": "AWS::NoValue"}, {"Ref": "AWS::NoValue"}]}}) == {}


def test_find_in_map_base64_and_to_json_string() -> None:
    assert resolve({"Fn::FindInMap": ["Sizes", "dev", "Cpu"]}) == "256"
    # a key nothing tells: the longest value of the mapping
    assert resolve({"Fn::FindInMap": ["Sizes", {"Ref": "Size"}, "Cpu"]}) == "4096-long"
    encoded = resolve({"Fn::Base64": {"Ref": "AWS::Region"}})
    assert base64.b64decode(encoded) == b"eu-central-1"
    assert resolve({"Fn::ToJsonString": {"a": {"Ref": "AWS::Region"}}}) == '{"a":"eu-central-1"}'
    assert resolve({"Fn::Length": [1, 2, 3]}) == 3


def test_dynamic_references_are_pessimistic() -> None:
    value = "prefix-{{resolve:ssm:/lz/dev/api-url}}-{{resolve:secretsmanager:s:SecretString:k}}"
    assert resolve(value) == f"prefix-{UNKNOWN}-{UNKNOWN}"


# ----- other stacks ---------------------------------------------------------------------------


def test_get_stack_output_reads_the_producing_stack() -> None:
    consumer = StackFacts(template={}, stack_name="lz-dev-inference", region="eu-central-1")
    value = {"Fn::GetStackOutput": {"StackName": "lz-dev-governance", "OutputName": "RoleArn"}}
    resolved = resolve_longest(value, consumer, {"lz-dev-governance": STACK})
    assert resolved == "arn:aws:iam::111111111111:role/lz/team-role"
    assert resolve_longest(value, consumer, {}) == UNKNOWN  # another app's stack


def test_import_value_finds_the_export() -> None:
    producer = StackFacts(
        template={
            "Resources": RESOURCES,
            "Outputs": {
                "Out": {
                    "Value": {"Fn::GetAtt": ["Fn", "Arn"]},
                    "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-fn"}},
                }
            },
        },
        stack_name="producer",
        region="eu-central-1",
        account="111111111111",
    )
    consumer = StackFacts(template={}, stack_name="consumer")
    stacks = {"producer": producer}
    resolved = resolve_longest({"Fn::ImportValue": "producer-fn"}, consumer, stacks)
    assert resolved == "arn:aws:lambda:eu-central-1:111111111111:function:" + "x" * 64
    assert resolve_longest({"Fn::ImportValue": "other-app"}, consumer, stacks) == UNKNOWN


def test_ssm_values_published_by_another_stack_of_the_assembly_are_read() -> None:
    """Stacks that share values through SSM (parameters resolved at deploy time)."""
    publisher = StackFacts(
        template={
            "Resources": {
                **RESOURCES,
                "Published": {
                    "Type": "AWS::SSM::Parameter",
                    "Properties": {
                        "Name": "/lz/dev/guardrail-arn",
                        "Value": {"Fn::GetAtt": ["Guardrail", "GuardrailArn"]},
                    },
                },
            }
        },
        stack_name="lz-dev-governance",
        region="eu-central-1",
        account="111111111111",
    )
    consumer = StackFacts(
        template={
            "Parameters": {
                "Guardrail": {
                    "Type": "AWS::SSM::Parameter::Value<String>",
                    "Default": "/lz/dev/guardrail-arn",
                },
                "Elsewhere": {
                    "Type": "AWS::SSM::Parameter::Value<String>",
                    "Default": "/aws/service/powertools/python/arm64/python3.14/3.37.0",
                },
            }
        },
        stack_name="lz-dev-team-a",
    )
    stacks = {"lz-dev-governance": publisher}
    arn = "arn:aws:bedrock:eu-central-1:111111111111:guardrail/" + "z" * 12
    assert resolve_longest({"Ref": "Guardrail"}, consumer, stacks) == arn
    assert (
        resolve_longest("{{resolve:ssm:/lz/dev/guardrail-arn}}:1", consumer, stacks) == arn + ":1"
    )
    assert resolve_longest("{{resolve:ssm:/lz/dev/guardrail-arn:3}}", consumer, stacks) == arn
    assert resolve_longest({"Ref": "Elsewhere"}, consumer, stacks) == UNKNOWN  # AWS's own


def test_self_reference_does_not_loop() -> None:
    looping = StackFacts(
        template={
            "Outputs": {
                "O": {"Value": {"Fn::GetStackOutput": {"StackName": "loop", "OutputName": "O"}}}
            }
        },
        stack_name="loop",
    )
    value = {"Fn::GetStackOutput": {"StackName": "loop", "OutputName": "O"}}
    assert resolve_longest(value, looping, {"loop": looping}) == UNKNOWN


# ----- measuring ------------------------------------------------------------------------------


def test_policy_characters_do_not_count_whitespace() -> None:
    compact = '{"Version":"2012-10-17","Statement":[]}'
    assert policy_characters({"Version": "2012-10-17", "Statement": []}) == len(compact)
    assert policy_characters('{\n  "Version": "2012-10-17",\n  "Statement": []\n}') == len(compact)
