"""Governance stack: the landing zone's KMS key."""

from __future__ import annotations

from aws_cdk.assertions import Match

from tests.conftest import Synth


def test_key_rotates_and_is_retained(default: Synth) -> None:
    template = default.template(default.stacks.governance)
    template.resource_count_is("AWS::KMS::Key", 1)
    template.has_resource(
        "AWS::KMS::Key",
        {
            "Properties": {"EnableKeyRotation": True, "PendingWindowInDays": 30},
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )
    template.has_resource_properties(
        "AWS::KMS::Alias", {"AliasName": f"alias/bedrock-lz/{default.config.name}"}
    )


def test_logs_service_may_use_key_only_for_this_accounts_log_groups(default: Synth) -> None:
    template = default.template(default.stacks.governance)
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Sid": "AllowCloudWatchLogsOfThisAccount",
                                "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
                                "Condition": {
                                    "StringLike": {
                                        "kms:EncryptionContext:aws:logs:arn": {
                                            "Fn::Join": [
                                                "",
                                                Match.array_with(
                                                    [Match.string_like_regexp(":log-group:\\*$")]
                                                ),
                                            ]
                                        }
                                    }
                                },
                            }
                        )
                    ]
                )
            }
        },
    )


def test_no_key_policy_statement_grants_other_principals_without_conditions(
    default: Synth,
) -> None:
    template = default.template_json(default.stacks.governance)
    (key,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::KMS::Key"]
    for statement in key["Properties"]["KeyPolicy"]["Statement"]:
        principal = statement["Principal"]
        if "Service" in principal:
            assert "Condition" in statement, statement
        else:  # the account root (IAM-delegated administration), never '*'
            assert principal != "*" and principal.get("AWS") != "*"
