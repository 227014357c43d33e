"""docs/compliance.md: collecting the evidence (``evidence``) and rendering it (``render``) on
small hand-made inputs, the cdk-nag rule lists against what cdk-nag really applies, the CLI's
exit codes (``report``), and the committed file is current."""

from __future__ import annotations

import difflib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from bedrock_landing_zone.compliance import evidence as ev
from bedrock_landing_zone.compliance import render as rd
from bedrock_landing_zone.compliance import report as cr
from bedrock_landing_zone.compliance.summary import PACK_NAMES
from tests.conftest import ROOT, ComplianceReports, Synths
from tests.imports import packages_loaded

COMMITTED = ROOT / "docs" / "compliance.md"

#: The context keys the CDK CLI adds to cdk.json's context for `cdk synth` (read from the
#: CDK_CONTEXT_JSON it passes to the app). With them, an in-process synth writes the same bytes.
CLI_CONTEXT: dict[str, Any] = {
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:version-reporting": True,
    "aws:cdk:bundling-stacks": ["**"],
}

# --------------------------------------------------------------------------------------------
# cdk-nag rule lists
# --------------------------------------------------------------------------------------------

_PACK_JS = """\
const nag_pack_1 = require("../nag-pack");
const lambda_1 = require("../rules/lambda");
const sqs_1 = require("../rules/sqs");
class TinyChecks extends nag_pack_1.NagPack {
    constructor(scope, props) {
        super(scope, props);
        this.packName = 'Tiny';
    }
    checkResource(node) {
        this.applyRule({
            info: 'rule: not.this, inside a string',
            explanation: 'x',
            level: nag_rules_1.NagMessageLevel.ERROR,
            rule: lambda_1.LambdaDLQ,
            node: node,
        });
        this.applyRule({
            ruleSuffixOverride: 'T2',
            info: 'y',
            level: nag_rules_1.NagMessageLevel.WARN,
            rule: lambda_1.LambdaTracing,
            node: node,
        });
        this.applyRule({
            info: 'z',
            level: nag_rules_1.NagMessageLevel.ERROR,
            rule: sqs_1.SQSRedrivePolicy,
            node: node,
        });
        this.applyRule({
            info: 'w',
            level: nag_rules_1.NagMessageLevel.ERROR,
            rule: sqs_1.Throttle,
            node: node,
        });
    }
}
//# sourceMappingURL=data:application/json;base64,this.applyRule({
"""

_LAMBDA_INDEX = """\
var LambdaDLQ_1 = require("./LambdaDLQ");
Object.defineProperty(exports, "LambdaDLQ", { enumerable: true, get: function () { return LambdaDLQ_1.default; } });
var LambdaTracing_1 = require("./LambdaTracing");
Object.defineProperty(exports, "LambdaTracing", { enumerable: true, get: function () { return LambdaTracing_1.default; } });
"""  # noqa: E501

_SQS_INDEX = """\
var SQSRedrivePolicy_1 = require("./SQSRedrivePolicy");
Object.defineProperty(exports, "SQSRedrivePolicy", { enumerable: true, get: function () { return SQSRedrivePolicy_1.default; } });
var Throttling_1 = require("./Throttling");
Object.defineProperty(exports, "Throttle", { enumerable: true, get: function () { return Throttling_1.default; } });
"""  # noqa: E501


def _tiny_package() -> dict[str, str]:
    return {
        "lib/packs/tiny.js": _PACK_JS,
        "lib/packs/helpers.js": "exports.x = 1;\n",
        "lib/rules/lambda/index.js": _LAMBDA_INDEX,
        "lib/rules/lambda/LambdaDLQ.js": (
            "exports.default = Object.defineProperty((node) => {}, "
            "'name', { value: (0, path_1.parse)(__filename).name });\n"
        ),
        "lib/rules/lambda/LambdaTracing.js": "exports.default = () => {};\n",
        "lib/rules/sqs/index.js": _SQS_INDEX,
        "lib/rules/sqs/SQSRedrivePolicy.js": (
            "exports.default = SQSRedrivePolicy;\nfunction SQSRedrivePolicy(node) {}\n"
        ),
        "lib/rules/sqs/Throttling.js": (
            "exports.default = Object.defineProperty((node) => {}, "
            "'name', { value: 'DefaultThrottling' });\n"
        ),
    }


def test_parse_pack_rules_builds_ids_as_cdk_nag_does() -> None:
    # override > name from the file > declared function name > literal name; helpers skipped
    assert ev.parse_pack_rules(_tiny_package()) == {
        "Tiny": ("Tiny-LambdaDLQ", "Tiny-T2", "Tiny-SQSRedrivePolicy", "Tiny-DefaultThrottling")
    }


def test_parse_pack_rules_fails_loudly_on_an_unknown_shape() -> None:
    package = _tiny_package()
    package["lib/rules/sqs/SQSRedrivePolicy.js"] = "module.exports = something;\n"
    with pytest.raises(ev.ReportError, match="cannot tell the name"):
        ev.parse_pack_rules(package)
    package = _tiny_package()
    package["lib/packs/tiny.js"] = _PACK_JS.replace("rule: lambda_1.LambdaDLQ,", "rule: f,")
    with pytest.raises(ev.ReportError, match="unexpected applyRule"):
        ev.parse_pack_rules(package)
    package = _tiny_package()
    del package["lib/rules/sqs/index.js"]
    with pytest.raises(ev.ReportError, match=r"index\.js not found"):
        ev.parse_pack_rules(package)


def test_installed_cdk_nag_has_the_five_packs() -> None:
    rules = ev.load_pack_rules(ev.cdk_nag_jsii_tarball())
    assert set(PACK_NAMES) <= set(rules)
    for pack in PACK_NAMES:
        assert len(rules[pack]) == len(set(rules[pack])) > 10
        assert all(r.startswith(f"{pack}-") for r in rules[pack])
    assert {"AwsSolutions-IAM5", "AwsSolutions-SQS4"} <= set(rules["AwsSolutions"])
    assert "Serverless-LambdaDLQ" in rules["Serverless"]
    assert "NIST.800.53.R5-LambdaConcurrency" in rules["NIST.800.53.R5"]


@pytest.mark.parametrize("pack", PACK_NAMES)
def test_rule_lists_are_what_cdk_nag_applies_to_each_resource(pack: str) -> None:
    """Spy on the pack's applyRule at run time: one call per rule of the list, per resource,
    the suffix overrides in the same order, and every finding's rule in the list."""
    import aws_cdk as cdk
    from aws_cdk import aws_s3 as s3
    from aws_cdk import aws_sqs as sqs

    from bedrock_landing_zone.compliance import PACKS

    calls: list[tuple[str, str | None]] = []

    base: Any = PACKS[pack]

    class Spy(base):  # type: ignore[misc]
        def _apply_rule(self, params: Any) -> None:
            calls.append((params.node.node.path, params.rule_suffix_override))
            super()._apply_rule(params)

    stack = cdk.Stack(cdk.App(), "S")
    sqs.CfnQueue(stack, "Queue")
    s3.CfnBucket(stack, "Bucket")
    report = Spy().validate_scope(stack)

    rules = ev.load_pack_rules(ev.cdk_nag_jsii_tarball())[pack]
    for path in ("S/Queue", "S/Bucket"):
        suffixes = [suffix for p, suffix in calls if p == path]
        applied = [f"{pack}-{s}" if s else r for s, r in zip(suffixes, rules, strict=True)]
        assert applied == list(rules)
    found = {ev.base_rule(v.rule_name) for v in report.violations}
    assert found, "the bare queue and bucket break some rules of every pack"
    assert found <= set(rules)


# --------------------------------------------------------------------------------------------
# validation-report.json
# --------------------------------------------------------------------------------------------

RULES = {
    "AwsSolutions": ("AwsSolutions-IAM5", "AwsSolutions-S1", "AwsSolutions-SQS4"),
    "NIST.800.53.R5": ("NIST.800.53.R5-LambdaDLQ",),
    "HIPAA.Security": ("HIPAA.Security-LambdaDLQ",),
    "PCI.DSS.321": ("PCI.DSS.321-LambdaDLQ",),
    "Serverless": ("Serverless-LambdaDLQ", "Serverless-LambdaTracing"),
}


def _construct(path: str) -> dict[str, Any]:
    return {"constructPath": path, "constructFqn": "x", "stackTraces": ["/abs/trace.py"]}


REPORT: dict[str, Any] = {
    "version": "55.0.0",
    "pluginReports": [
        {
            "pluginName": "AwsSolutions",
            "conclusion": "failure",
            "violations": [
                {
                    "ruleName": "AwsSolutions-SQS4",
                    "description": "The SQS queue does not require requests to use SSL.",
                    "severity": "error",
                    "violatingConstructs": [_construct("S/Q2/Resource"), _construct("S/Q1")],
                }
            ],
            "suppressedViolations": [
                {
                    "ruleName": "AwsSolutions-IAM5[Resource::*]",
                    "severity": "error",
                    "violatingConstructs": [_construct("S/Role/Policy/Resource")],
                    "acknowledgedId": "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                    "reason": "xray:PutTraceSegments has no resource type | so '*' it is",
                    "acknowledgedAt": "S/Role/Policy",
                }
            ],
        },
        {
            "pluginName": "Serverless",
            "conclusion": "success",
            "violations": [
                {
                    "ruleName": "Serverless-LambdaTracing",
                    "description": "No X-Ray tracing.",
                    "severity": "warning",
                    "violatingConstructs": [_construct("S/Fn/Resource")],
                }
            ],
            "suppressedViolations": None,
        },
        {
            "pluginName": "Construct Annotations",
            "conclusion": "success",
            "violations": [],
            "suppressedViolations": [
                {
                    "ruleName": "@aws-cdk/core:someWarning",
                    "severity": "warning",
                    "violatingConstructs": [_construct("S")],
                    "reason": "known and accepted for this test",
                }
            ],
        },
    ],
}


def _packs(report: dict[str, Any] = REPORT) -> dict[str, ev.PackResult]:
    return {p.name: p for p in ev.parse_validation_report(report, RULES)}


def test_validation_report_per_pack() -> None:
    packs = _packs()
    assert list(packs) == [*PACK_NAMES, "Construct Annotations"]

    aws = packs["AwsSolutions"]
    assert aws.rules == ("AwsSolutions-IAM5", "AwsSolutions-S1", "AwsSolutions-SQS4")
    assert [(f.rule, f.path) for f in aws.open] == [
        ("AwsSolutions-SQS4", "S/Q1"),
        ("AwsSolutions-SQS4", "S/Q2/Resource"),
    ]
    assert aws.acknowledged == (
        ev.NagFinding(
            rule="AwsSolutions-IAM5[Resource::*]",
            path="S/Role/Policy/Resource",
            severity="error",
            detail="xray:PutTraceSegments has no resource type | so '*' it is",
        ),
    )
    assert aws.rules_passed == ("AwsSolutions-S1",)

    # CDK leaves out a pack with neither violations nor acknowledgments: all its rules passed
    assert packs["NIST.800.53.R5"].rules_passed == ("NIST.800.53.R5-LambdaDLQ",)
    assert not packs["NIST.800.53.R5"].open and not packs["NIST.800.53.R5"].acknowledged
    # a warning still listed as a violation is open
    assert [f.severity for f in packs["Serverless"].open] == ["warning"]
    assert packs["Serverless"].rules_passed == ("Serverless-LambdaDLQ",)
    # another plugin: findings, no rule list
    assert packs["Construct Annotations"].rules is None
    assert len(packs["Construct Annotations"].acknowledged) == 1


def test_validation_report_finding_outside_the_rule_list_is_an_error() -> None:
    report = json.loads(json.dumps(REPORT))
    report["pluginReports"][0]["violations"][0]["ruleName"] = "AwsSolutions-NEW1"
    with pytest.raises(ev.ReportError, match="AwsSolutions-NEW1"):
        ev.parse_validation_report(report, RULES)
    with pytest.raises(ev.ReportError, match="no pack named Serverless"):
        ev.parse_validation_report(REPORT, {k: v for k, v in RULES.items() if k != "Serverless"})


# --------------------------------------------------------------------------------------------
# The assembly, checkov, cfn-lint
# --------------------------------------------------------------------------------------------


def _stack_artifact(name: str, template: str, env: str = "default") -> dict[str, Any]:
    return {
        "type": "aws:cloudformation:stack",
        "environment": "aws://unknown-account/us-east-1",
        "properties": {"templateFile": template, "stackName": f"bedrock-lz-{env}-{name.lower()}"},
        "displayName": name,
    }


TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Metadata": {
                "checkov": {
                    "skip": [
                        {"id": "CKV_AWS_116", "comment": "synchronous, nothing to dead-letter"},
                        {"id": "CKV_AWS_173", "comment": "no environment variables at all"},
                    ]
                },
                "cfn-lint": {"config": {"ignore_checks": ["W3011"]}},
                "bedrock-lz:cfn-lint-reasons": {"W3011": "retained on purpose, see ADR 7"},
            },
        },
        "CDKMetadata": {"Type": "AWS::CDK::Metadata"},
    }
}


def _assembly(tmp_path: Path, report: dict[str, Any] | None = None) -> Path:
    """A cloud assembly with one top-level stack and one stack in a nested stage assembly."""
    out = tmp_path / "cdk.out"
    nested = out / "assembly-Prod"
    nested.mkdir(parents=True)
    (out / "manifest.json").write_text(
        json.dumps(
            {
                "artifacts": {
                    "Governance": _stack_artifact("Governance", "Governance.template.json"),
                    "assembly-Prod": {
                        "type": "cdk:cloud-assembly",
                        "properties": {"directoryName": "assembly-Prod"},
                    },
                    "Tree": {"type": "cdk:tree", "properties": {"file": "tree.json"}},
                }
            }
        )
    )
    (nested / "manifest.json").write_text(
        json.dumps(
            {"artifacts": {"ProdNetwork": _stack_artifact("Network", "ProdNetwork.template.json")}}
        )
    )
    (out / "Governance.template.json").write_text(json.dumps({"Resources": {"K": {"Type": "X"}}}))
    (nested / "ProdNetwork.template.json").write_text(json.dumps(TEMPLATE))
    (out / "tree.json").write_text(
        json.dumps({"tree": {"constructInfo": {"fqn": "aws-cdk-lib.App", "version": "2.999.0"}}})
    )
    (out / "validation-report.json").write_text(json.dumps(report or {"pluginReports": []}))
    return out


def test_find_stacks_walks_nested_assemblies(tmp_path: Path) -> None:
    stacks = ev.find_stacks(_assembly(tmp_path))
    assert [(s.artifact_id, s.template, s.resources) for s in stacks] == [
        ("Governance", "Governance.template.json", 1),
        ("Network", "assembly-Prod/ProdNetwork.template.json", 1),  # CDKMetadata not counted
    ]
    assert ev.stack_environment_name(s.stack_name for s in stacks) == "default"
    assert ev.stack_environment_name(["bedrock-lz-existing-vpc-network"]) == "existing-vpc"
    assert ev.stack_environment_name(["bedrock-lz-a-x", "bedrock-lz-b-x"]) is None


def test_checkov_counts_and_skip_reasons_from_template_metadata(tmp_path: Path) -> None:
    out = tmp_path / "cdk.out"
    tpl = "assembly-Prod/ProdNetwork.template.json"
    fn = "AWS::Lambda::Function.Fn"
    output = {
        "check_type": "cloudformation",
        "results": {
            "passed_checks": [{"check_id": "CKV_AWS_45"}] * 3,
            "failed_checks": [
                {
                    "check_id": "CKV_AWS_117",
                    "check_name": "Lambda inside a VPC",
                    "file_abs_path": str(out / tpl),
                    "resource": fn,
                }
            ],
            "skipped_checks": [
                {
                    "check_id": "CKV_AWS_116",
                    "check_name": "DLQ",
                    "file_abs_path": str(out.resolve() / tpl),
                    "resource": fn,
                    "check_result": {"result": "SKIPPED", "suppress_comment": "ignored"},
                },
                {
                    "check_id": "CKV_AWS_999",
                    "check_name": "skipped by other means",
                    "file_path": "/elsewhere/x.template.json",
                    "resource": "AWS::S3::Bucket.B",
                    "check_result": {"result": "SKIPPED"},
                },
            ],
            "parsing_errors": [],
        },
        "summary": {"passed": 3, "failed": 1, "skipped": 2, "checkov_version": "9.9.9"},
    }
    result = ev.parse_checkov(
        [output], out, {tpl: ev.template_checkov_skips(TEMPLATE), "Governance.template.json": {}}
    )
    assert result.passed == 3
    assert result.version == "9.9.9"
    assert [(f.template, f.resource, f.check_id) for f in result.failed] == [
        (tpl, fn, "CKV_AWS_117")
    ]
    assert [(f.template, f.check_id, f.reason) for f in result.skipped] == [
        (tpl, "CKV_AWS_116", "synchronous, nothing to dead-letter"),  # the template's words
        ("x.template.json", "CKV_AWS_999", ""),  # no absolute path, no reason
    ]
    assert [f.check_id for f in result.unexplained_skips] == ["CKV_AWS_999"]
    # recorded in the template but not reported by checkov (e.g. the check no longer applies)
    assert [(f.resource, f.check_id) for f in result.unused_skips] == [("Fn", "CKV_AWS_173")]


def test_cfn_lint_matches_and_ignores(tmp_path: Path) -> None:
    out = tmp_path / "cdk.out"
    matches = ev.parse_cfn_lint(
        [
            {
                "Filename": str(out / "Governance.template.json"),
                "Level": "Warning",
                "Location": {"Path": ["Resources", "K", "Properties"], "Start": {}},
                "Message": "m",
                "Rule": {"Id": "W1001"},
            },
            {
                "Filename": str(out / "Governance.template.json"),
                "Level": "Informational",
                "Location": {"Path": [], "Start": {"LineNumber": 3}},
                "Message": "i",
                "Rule": {"Id": "I1022"},
            },
        ],
        out,
    )
    assert [(m.level, m.rule, m.template, m.location) for m in matches] == [
        ("Informational", "I1022", "Governance.template.json", "line 3"),
        ("Warning", "W1001", "Governance.template.json", "Resources/K/Properties"),
    ]
    assert ev.template_cfn_lint_ignores("a/T.template.json", TEMPLATE) == [
        ev.CfnLintIgnore("W3011", "a/T.template.json Fn", "retained on purpose, see ADR 7")
    ]


def _check(check_id: str, path: Path | str) -> dict[str, Any]:
    return {"check_id": check_id, "resource": "AWS::S3::Bucket.B", "file_abs_path": str(path)}


def test_one_checkov_run_split_per_assembly_is_what_each_run_would_report(tmp_path: Path) -> None:
    """``run_tools`` runs checkov once over several assemblies: each gets its templates'
    results; what names no template of any goes to every one (it would fail them all)."""
    a, b = tmp_path / "a" / "A.template.json", tmp_path / "b" / "B.template.json"
    output: dict[str, Any] = {
        "check_type": "cloudformation",
        "results": {
            "passed_checks": [_check("CKV_1", a), _check("CKV_2", b), _check("CKV_3", b)],
            "failed_checks": [_check("CKV_4", tmp_path / "a" / ".." / "b" / "B.template.json")],
            "skipped_checks": [_check("CKV_5", "")],  # no file: every part
            "parsing_errors": [str(a)],
        },
        "summary": {"passed": 3, "failed": 1, "skipped": 1, "checkov_version": "9.9.9"},
    }
    parts = ev.split_checkov(output, {"a": [a], "b": [b]}, tmp_path)
    passed = {
        name: [c["check_id"] for c in r["results"]["passed_checks"]] for name, (r,) in parts.items()
    }
    assert passed == {"a": ["CKV_1"], "b": ["CKV_2", "CKV_3"]}
    (part_a,), (part_b,) = parts["a"], parts["b"]
    assert part_b["results"]["failed_checks"] == output["results"]["failed_checks"]
    assert part_a["results"]["failed_checks"] == []
    assert part_a["results"]["skipped_checks"] == part_b["results"]["skipped_checks"] != []
    assert (part_a["results"]["parsing_errors"], part_b["results"]["parsing_errors"]) == (
        [str(a)],
        [],
    )
    assert part_b["summary"] == {
        "passed": 2,
        "failed": 1,
        "skipped": 1,
        "checkov_version": "9.9.9",
    }
    # relative paths are the tools' working directory's; a bare summary goes to every part
    relative = ev.split_checkov(
        [{"results": {"passed_checks": [_check("CKV_1", "a/A.template.json")]}}, {"passed": 0}],
        {"a": [a], "b": [b]},
        tmp_path,
    )
    assert [len(r["results"]["passed_checks"]) for r in (relative["a"][0], relative["b"][0])] == [
        1,
        0,
    ]
    assert relative["a"][1] == relative["b"][1] == {"passed": 0}


def test_one_cfn_lint_run_split_per_assembly(tmp_path: Path) -> None:
    a, b = tmp_path / "a" / "A.template.json", tmp_path / "b" / "B.template.json"
    matches = [
        {"Filename": str(a), "Rule": {"Id": "W1"}},
        {"Filename": "b/B.template.json", "Rule": {"Id": "E2"}},  # relative to the tools' cwd
        {"Rule": {"Id": "E0000"}},  # no file: every part
    ]
    parts = ev.split_cfn_lint(matches, {"a": [a], "b": [b]}, tmp_path)
    assert {n: [m["Rule"]["Id"] for m in p] for n, p in parts.items()} == {
        "a": ["W1", "E0000"],
        "b": ["E2", "E0000"],
    }
    assert ev.split_cfn_lint({"not": "a list"}, {"a": [a]}, tmp_path) == {"a": {"not": "a list"}}


def _tool_outputs(templates: list[Path]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What checkov and cfn-lint print over ``templates``: a pass and a skip, a warning each."""
    checkov = {
        "results": {
            "passed_checks": [_check("CKV_1", t) for t in templates],
            "failed_checks": [],
            "skipped_checks": [
                {**_check("CKV_AWS_116", t), "resource": "AWS::Lambda::Function.Fn"}
                for t in templates
            ],
            "parsing_errors": [],
        },
        "summary": {"checkov_version": "9.9.9"},
    }
    lint = [
        {"Filename": str(t), "Level": "Warning", "Rule": {"Id": "W1"}, "Message": "m"}
        for t in templates
    ]
    return checkov, lint


def test_build_report_over_shared_tool_outputs_equals_its_own_run(tmp_path: Path) -> None:
    """``run_tools`` starts each tool once for several assemblies; the report built from an
    assembly's part equals the one ``build_report`` makes by running the tools itself."""
    out = _assembly(tmp_path / "one")
    other = tmp_path / "two" / "Other.template.json"
    other.parent.mkdir()
    other.write_text("{}")
    templates = [out / s.template for s in ev.find_stacks(out)]

    checkov_both, lint_both = _tool_outputs([*templates, other])
    parts = ev.run_tools(
        {"one": templates, "two": [other]},
        root=tmp_path,
        checkov=_fake_tool(tmp_path / "checkov-both", checkov_both),
        cfn_lint=_fake_tool(tmp_path / "cfn-lint-both", lint_both),
    )
    checkov_one, lint_one = _tool_outputs(templates)
    alone = ev.build_report(
        out,
        root=tmp_path,
        checkov=_fake_tool(tmp_path / "checkov-one", checkov_one),
        cfn_lint=_fake_tool(tmp_path / "cfn-lint-one", lint_one),
    )

    assert ev.build_report(out, root=tmp_path, tools=parts["one"]) == alone
    assert alone.checkov.passed == 2 and len(alone.cfn_lint.matches) == 2
    assert parts["two"].cfn_lint == lint_both[-1:]


def _waiting_tool(path: Path, output: Any, mine: Path, other: Path) -> Path:
    """A tool that marks ``mine``, then waits (10 s at most) for ``other`` before it prints
    ``output``: two of them finish only when both run at the same time."""
    path.write_text(
        f"#!{sys.executable}\nimport json, pathlib, sys, time\n"
        f"pathlib.Path({str(mine)!r}).touch()\n"
        "deadline = time.monotonic() + 10\n"
        f"while not pathlib.Path({str(other)!r}).exists():\n"
        "    if time.monotonic() > deadline:\n"
        "        sys.exit('the other tool never started')\n"
        "    time.sleep(0.01)\n"
        f"print({json.dumps(output)!r})\n"
    )
    path.chmod(0o755)
    return path


def test_checkov_and_cfn_lint_run_at_the_same_time(tmp_path: Path) -> None:
    """``run_both`` (what ``run_tools`` and ``build_report`` use) starts cfn-lint beside
    checkov: each fake tool waits for the other to have started, so one after the other
    neither would print its JSON (``ReportError``)."""
    template = tmp_path / "A.template.json"
    template.write_text("{}")
    checkov_out, lint_out = _tool_outputs([template])
    marks = tmp_path / "checkov.started", tmp_path / "cfn-lint.started"
    both = ev.run_both(
        [template],
        root=tmp_path,
        checkov=_waiting_tool(tmp_path / "checkov", checkov_out, *marks),
        cfn_lint=_waiting_tool(tmp_path / "cfn-lint", lint_out, *reversed(marks)),
    )
    assert both == ev.ToolOutputs(checkov_out, lint_out)


@pytest.mark.parametrize("broken", ["checkov", "cfn-lint"])
def test_either_tool_failing_fails_the_run_naming_it(tmp_path: Path, broken: str) -> None:
    template = tmp_path / "A.template.json"
    template.write_text("{}")
    checkov_out, lint_out = _tool_outputs([template])
    tools = {
        "checkov": _fake_tool(tmp_path / "checkov", checkov_out),
        "cfn-lint": _fake_tool(tmp_path / "cfn-lint", lint_out),
    }
    tools[broken].write_text(f"#!{sys.executable}\nimport sys\nsys.exit('no JSON')\n")
    with pytest.raises(ev.ReportError, match=rf"^{broken} exited 1 without JSON output: no JSON"):
        ev.run_both([template], root=tmp_path, checkov=tools["checkov"], cfn_lint=tools["cfn-lint"])


def _environment_tool(path: Path) -> Path:
    """A tool that prints, as its JSON output, the variables it got that start with CHECKOV_."""
    path.write_text(
        f"#!{sys.executable}\nimport json, os\n"
        "print(json.dumps({k: v for k, v in os.environ.items() if k.startswith('CHECKOV_')}))\n"
    )
    path.chmod(0o755)
    return path


@pytest.mark.parametrize(
    ("callers", "expected"),
    [
        ({}, {"CHECKOV_PARALLELIZATION_TYPE": "none"}),
        ({"CHECKOV_PARALLELIZATION_TYPE": "fork"}, {"CHECKOV_PARALLELIZATION_TYPE": "fork"}),
    ],
    ids=["default", "callers-own"],
)
def test_checkov_runs_in_its_own_process_unless_the_caller_says_otherwise(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    callers: dict[str, str],
    expected: dict[str, str],
) -> None:
    """checkov's pool of forked parsers costs more than it saves over a few templates
    (``evidence.TOOL_ENVIRONMENT``); a caller's own CHECKOV_PARALLELIZATION_TYPE wins. cfn-lint
    gets no checkov variable."""
    for name in [k for k in os.environ if k.startswith("CHECKOV_")]:
        monkeypatch.delenv(name)
    for name, value in callers.items():
        monkeypatch.setenv(name, value)
    template = tmp_path / "A.template.json"
    template.write_text("{}")
    tool = _environment_tool(tmp_path / "tool")
    assert ev.run_checkov(tool, [template], tmp_path) == expected
    assert ev.run_cfn_lint(tool, [template], tmp_path) == callers


@pytest.mark.parametrize("missing", ["checkov", "cfn-lint"])
def test_a_missing_tool_fails_the_run_before_either_tool_starts(
    tmp_path: Path, missing: str
) -> None:
    """Without checkov (another team's app), the user hears so at once: cfn-lint does not run
    first over every template for a report that cannot be written."""
    template = tmp_path / "A.template.json"
    template.write_text("{}")
    tools = {name: _fake_tool(tmp_path / name, []) for name in ("checkov", "cfn-lint")}
    tools[missing] = tmp_path / "not-installed" / missing
    started: list[str] = []

    def runner(command: Sequence[str], templates: Sequence[Path], cwd: Path, tool: str) -> Any:
        started.append(tool)
        return []

    with pytest.raises(ev.ReportError, match=rf"not-installed/{missing} not found: .*--{missing}"):
        ev.run_both(
            [template],
            root=tmp_path,
            checkov=tools["checkov"],
            cfn_lint=tools["cfn-lint"],
            runner=runner,
        )
    assert started == []


def test_cfnlintrc_ignores_with_the_comments_above_them() -> None:
    text = """\
# file header, not a reason
regions: [us-east-1]
ignore_checks:
  # W3005: redundant DependsOn
  # added by CDK itself.
  - W3005
  - E3012  # inline reason
  - W1234
include_checks:
  - I
"""
    assert ev.parse_cfnlintrc(text) == [
        ev.CfnLintIgnore("W3005", "", "W3005: redundant DependsOn added by CDK itself."),
        ev.CfnLintIgnore("E3012", "", "inline reason"),
        ev.CfnLintIgnore("W1234", "", ""),
    ]
    assert ev.parse_cfnlintrc("ignore_checks: [W1, 'E2']\n") == [
        ev.CfnLintIgnore("W1", "", ""),
        ev.CfnLintIgnore("E2", "", ""),
    ]
    repo = ev.parse_cfnlintrc((ROOT / ".cfnlintrc.yaml").read_text(encoding="utf-8"))
    assert repo and all(len(i.reason) >= 20 for i in repo)


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def _report(**changes: Any) -> ev.ComplianceReport:
    packs = _packs()
    clean = {
        name: ev.PackResult(name=p.name, rules=p.rules, acknowledged=p.acknowledged)
        for name, p in packs.items()
        if p.rules is not None
    }
    fields: dict[str, Any] = {
        "env": "default",
        "versions": {"aws-cdk-lib": "2.1.0", "cdk-nag": "3.0.0", "checkov": "3.3", "cfn-lint": ""},
        "stacks": (
            ev.StackInfo("Governance", "bedrock-lz-default-governance", "aws://x/y", "G", 1),
        ),
        "packs": tuple(clean.values()),
        "checkov": ev.CheckovResult(
            passed=5,
            failed=(),
            skipped=(
                ev.CheckovFinding("G", "AWS::Lambda::Function.Fn", "CKV_AWS_116", "DLQ", "r"),
            ),
        ),
        "cfn_lint": ev.CfnLintResult(
            templates=1, matches=(), ignored=(ev.CfnLintIgnore("W3005", "", "because <CDK>"),)
        ),
    }
    fields.update(changes)
    return ev.ComplianceReport(**fields)


def test_render_clean_report() -> None:
    report = _report()
    assert report.is_clean
    text = rd.render(report)
    assert text == rd.render(_report()), "deterministic"
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert "**Status: clean, nothing open.**" in text
    assert (
        "| cdk-nag `AwsSolutions` | 3 rules | 2 rules | 1 finding (1 rule) | 0 findings |" in text
    )
    assert (
        "| cdk-nag `Serverless` | 2 rules | 2 rules | 0 findings (0 rules) | 0 findings |" in text
    )
    assert "| checkov | 6 check results | 5 check results | 1 skip | 0 failed |" in text
    assert (
        "| cfn-lint | 1 template | — | 1 rule ignored | 0 errors, 0 warnings, 0 informational |"
        in (text)
    )
    # the reason verbatim once rendered: Markdown specials escaped, table pipes too
    assert (
        "| `AwsSolutions-IAM5[Resource::*]` | `S/Role/Policy/Resource` "
        "| xray:PutTraceSegments has no resource type \\| so '\\*' it is |"
    ) in text
    assert "because \\<CDK\\>" in text
    assert "| cfn-lint | (unknown) |" in text
    assert "Nothing is open." in text


def test_render_lists_every_open_item() -> None:
    report = _report(
        packs=tuple(_packs().values()),
        checkov=ev.CheckovResult(
            passed=1,
            failed=(ev.CheckovFinding("G", "AWS::S3::Bucket.B", "CKV_AWS_18", "logging"),),
            skipped=(ev.CheckovFinding("G", "AWS::S3::Bucket.B", "CKV_AWS_21", "versioning"),),
        ),
        cfn_lint=ev.CfnLintResult(
            templates=1,
            matches=(ev.CfnLintMatch("Error", "E3002", "G", "Resources/B", "bad"),),
            ignored=(ev.CfnLintIgnore("W1", "", ""),),
        ),
    )
    assert report.open_items == {
        "cdk-nag open findings": 3,
        "checkov failed checks": 1,
        "checkov parsing errors": 0,
        "checkov skips without a reason": 1,
        "cfn-lint matches": 1,
        "cfn-lint ignores without a reason": 1,
    }
    text = rd.render(report)
    assert "**Status: OPEN FINDINGS.**" in text
    assert "| `AwsSolutions-SQS4` | `S/Q1` | error | The SQS queue does not require" in text
    assert "| `Serverless-LambdaTracing` | `S/Fn/Resource` | warning | No X-Ray tracing. |" in text
    assert "| `CKV_AWS_18` | `G` | `AWS::S3::Bucket.B` | logging |" in text
    assert "| Error | `E3002` | `G` | `Resources/B` | bad |" in text
    assert "(no reason recorded)" in text
    assert "### Construct Annotations" in text


def test_text_and_code_escaping() -> None:
    assert rd._text("a|b *c* <d> [e](f) _g_ \\") == "a\\|b \\*c\\* \\<d\\> \\[e\\](f) \\_g\\_ \\\\"
    assert rd._text("one\ntwo") == "one<br>two"
    assert rd._code("a|b") == "`a&#124;b`"
    assert rd._code("x`y") == "``x`y``"


# --------------------------------------------------------------------------------------------
# The CLI
# --------------------------------------------------------------------------------------------


def _fake_tool(path: Path, output: Any) -> Path:
    path.write_text(f"#!{sys.executable}\nimport sys\nprint({json.dumps(output)!r})\nsys.exit(1)\n")
    path.chmod(0o755)
    return path


def _run_main(tmp_path: Path, report: dict[str, Any], checkov_out: Any, lint_out: Any) -> int:
    out = _assembly(tmp_path, report)
    checkov = _fake_tool(tmp_path / "checkov", checkov_out)
    lint = _fake_tool(tmp_path / "cfn-lint", lint_out)
    argv = [str(out), str(tmp_path / "docs" / "compliance.md"), "--root", str(tmp_path)]
    return cr.main([*argv, "--checkov", str(checkov), "--cfn-lint", str(lint)])


CHECKOV_CLEAN: dict[str, Any] = {
    "results": {"passed_checks": [{}], "skipped_checks": []},
    "summary": {},
}


def test_cli_exits_0_when_nothing_is_open(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".cfnlintrc.yaml").write_text("ignore_checks:\n  # a good reason\n  - W3005\n")
    assert _run_main(tmp_path, {"pluginReports": []}, CHECKOV_CLEAN, []) == 0
    assert "nothing open" in capsys.readouterr().out
    text = (tmp_path / "docs" / "compliance.md").read_text(encoding="utf-8")
    assert "| aws-cdk-lib | `2.999.0` |" in text  # the version that synthesized, from tree.json
    assert "`assembly-Prod/ProdNetwork.template.json`" in text
    assert str(tmp_path) not in text, "no absolute paths"


def test_cli_writes_the_file_and_exits_1_when_something_is_open(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = {
        "pluginReports": [
            {
                "pluginName": "Serverless",
                "violations": [
                    {
                        "ruleName": "Serverless-LambdaDLQ",
                        "description": "no DLQ",
                        "severity": "error",
                        "violatingConstructs": [_construct("Network/Fn/Resource")],
                    }
                ],
            }
        ]
    }
    assert _run_main(tmp_path, report, CHECKOV_CLEAN, []) == 1
    text = (tmp_path / "docs" / "compliance.md").read_text(encoding="utf-8")
    assert "| `Serverless-LambdaDLQ` | `Network/Fn/Resource` | error | no DLQ |" in text
    assert "cdk-nag open findings: 1" in capsys.readouterr().err


def test_cli_exits_2_on_a_rule_the_pack_does_not_have(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = {
        "pluginReports": [
            {
                "pluginName": "AwsSolutions",
                "violations": [{"ruleName": "AwsSolutions-NOPE1", "violatingConstructs": []}],
            }
        ]
    }
    assert _run_main(tmp_path, report, CHECKOV_CLEAN, []) == 2
    assert "AwsSolutions-NOPE1" in capsys.readouterr().err
    assert not (tmp_path / "docs" / "compliance.md").exists()


def test_cli_exits_2_when_a_tool_gives_no_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _assembly(tmp_path)
    checkov = tmp_path / "checkov"
    checkov.write_text(f"#!{sys.executable}\nimport sys\nsys.exit('boom')\n")
    checkov.chmod(0o755)
    lint = _fake_tool(tmp_path / "cfn-lint", [])  # the real one: ~2 s of CPU, beside the point
    argv = [str(out), str(tmp_path / "c.md"), "--root", str(tmp_path), "--checkov", str(checkov)]
    assert cr.main([*argv, "--cfn-lint", str(lint)]) == 2
    assert "checkov exited 1 without JSON output: boom" in capsys.readouterr().err


def test_cli_bad_inputs_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cr.main([str(tmp_path / "missing"), str(tmp_path / "x.md")]) == 2
    assert "run `make synth`" in capsys.readouterr().err
    out = _assembly(tmp_path)
    assert cr.main([str(out), str(tmp_path / "x.md"), "--env", "prod"]) == 2
    assert "holds environment 'default', not 'prod'" in capsys.readouterr().err
    assert not (tmp_path / "x.md").exists()


@pytest.mark.parametrize("module", ["evidence", "render", "report"])
def test_module_imports_no_cdk(module: str) -> None:
    code = f"import bedrock_landing_zone.compliance.{module}"
    assert packages_loaded(code, ("aws_cdk", "cdk_nag", "jsii")) == []


# --------------------------------------------------------------------------------------------
# The committed report
# --------------------------------------------------------------------------------------------


def test_committed_compliance_report_is_current(
    synths: Synths, compliance_reports: ComplianceReports
) -> None:
    """Regenerated from the session's synth of the default environment, which has the context
    `cdk synth` gives the app (path metadata, which cfn-lint uses to recognise CDK templates)."""
    template = json.loads(
        next(synths["default"].outdir.glob("*.template.json")).read_text(encoding="utf-8")
    )
    assert any("aws:cdk:path" in (r.get("Metadata") or {}) for r in template["Resources"].values())
    report = compliance_reports["default"]
    expected = rd.render(report)
    committed = COMMITTED.read_text(encoding="utf-8") if COMMITTED.is_file() else ""
    if committed != expected:
        diff = "".join(
            list(
                difflib.unified_diff(
                    committed.splitlines(keepends=True),
                    expected.splitlines(keepends=True),
                    "docs/compliance.md (committed)",
                    "regenerated",
                )
            )[:60]
        )
        pytest.fail(f"docs/compliance.md is out of date: run `make report`\n{diff}")
    assert report.is_clean, report.open_items
    assert str(ROOT) not in committed and str(synths["default"].outdir) not in committed
