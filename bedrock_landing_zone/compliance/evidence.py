"""Collect the compliance evidence of a synthesized environment (``render`` turns it into Markdown).

Three sources, all read from or run over the cloud assembly that ``make synth`` writes:

* cdk-nag: ``validation-report.json`` lists, per pack, the violations (open findings) and the
  acknowledged violations (with their reasons); CDK leaves out a pack that had neither. The
  report does not say how many rules a pack evaluated, so each pack's rule list is read from the
  installed cdk-nag package itself: the ``applyRule`` calls in the pack's ``checkResource``
  (cdk-nag v3 calls ``checkResource`` on every ``CfnResource`` of every stack, so every rule of a
  pack is evaluated against every resource). A rule's id is ``<pack>-<ruleSuffixOverride>`` or,
  without an override, ``<pack>-<name of the rule function>``, exactly as cdk-nag builds it.
* checkov, over every stack template of the assembly (nested stage assemblies included); each
  skip is listed with the reason recorded in the template (``Metadata.checkov.skip[].comment``).
* cfn-lint, run from the repository root so that it reads ``.cfnlintrc.yaml``, with the
  informational rules included; the ignored rules are listed with the comment above them there.

``build_report`` gathers all three into one ``ComplianceReport``: findings sorted, template
paths relative to the assembly, so the same assembly and tool versions give the same evidence.
``ReportError`` when the inputs cannot be read. Standard library only at import time.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bedrock_landing_zone.compliance.summary import PACK_NAMES

__all__ = [
    "CDK_METADATA_TYPE",
    "TOOL_ENVIRONMENT",
    "CfnLintIgnore",
    "CfnLintMatch",
    "CfnLintResult",
    "CheckovFinding",
    "CheckovResult",
    "ComplianceReport",
    "NagFinding",
    "PackResult",
    "ReportError",
    "StackInfo",
    "ToolOutputs",
    "ToolRunner",
    "base_rule",
    "build_report",
    "cdk_nag_jsii_tarball",
    "find_stacks",
    "load_pack_rules",
    "parse_cfn_lint",
    "parse_cfnlintrc",
    "parse_checkov",
    "parse_pack_rules",
    "parse_validation_report",
    "run_both",
    "run_cfn_lint",
    "run_checkov",
    "run_json",
    "run_tools",
    "split_cfn_lint",
    "split_checkov",
    "stack_environment_name",
    "template_cfn_lint_ignores",
    "template_checkov_skips",
    "tool_environment",
]

#: Template resource type CDK adds for version reporting (CLI synth only); not counted.
CDK_METADATA_TYPE = "AWS::CDK::Metadata"


class ReportError(Exception):
    """The inputs cannot be turned into a report (missing files, tool failure, unknown rule)."""


# --------------------------------------------------------------------------------------------
# cdk-nag: the rules of each pack, read from the installed package's JavaScript
# --------------------------------------------------------------------------------------------

_PACK_NAME_RE = re.compile(r"this\.packName\s*=\s*'([^']+)'")
_REQUIRE_RE = re.compile(r"const (\w+) = require\(\"\.\./rules/([\w-]+)\"\);")
_APPLY_RULE = "this.applyRule({"
_SUFFIX_RE = re.compile(r"^\s*ruleSuffixOverride: '([^']+)',\s*$", re.MULTILINE)
_RULE_RE = re.compile(r"^\s*rule: (\w+)\.(\w+),\s*$", re.MULTILINE)
_INDEX_VAR_RE = re.compile(r"var (\w+) = require\(\"\./([\w-]+)\"\);")
_INDEX_EXPORT_RE = re.compile(
    r"Object\.defineProperty\(exports, \"(\w+)\", \{ enumerable: true, "
    r"get: function \(\) \{ return (\w+)\.default; \} \}\);"
)
_NAME_FROM_FILE = "'name', { value: (0, path_1.parse)(__filename).name }"
_NAME_LITERAL_RE = re.compile(r"'name', \{ value: '(\w+)' \}")
_DEFAULT_FUNCTION_RE = re.compile(r"^exports\.default = (\w+);$", re.MULTILINE)


def _strip_source_map(source: str) -> str:
    return source.split("//# sourceMappingURL=", 1)[0]


def _rule_function_name(module: str, source: str) -> str:
    """``rule.name`` of the function a rule module exports as ``default``."""
    if _NAME_FROM_FILE in source:
        return module.rsplit("/", 1)[-1]
    literal = _NAME_LITERAL_RE.search(source)
    if literal:
        return literal.group(1)
    declared = _DEFAULT_FUNCTION_RE.search(source)
    if declared and f"function {declared.group(1)}(" in source:
        return declared.group(1)
    raise ReportError(f"cdk-nag: cannot tell the name of the rule in {module}.js")


def parse_pack_rules(sources: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """Pack name -> rule ids, in the order ``checkResource`` applies them (duplicates kept).

    ``sources`` maps paths inside the cdk-nag package (``lib/packs/serverless.js``,
    ``lib/rules/lambda/index.js``, ``lib/rules/lambda/LambdaDLQ.js``...) to compiled JavaScript.
    Raises ``ReportError`` when a pack does not have the expected shape, so that a cdk-nag
    upgrade that changes it fails loudly instead of giving wrong counts.
    """
    packs: dict[str, tuple[str, ...]] = {}
    for path in sorted(p for p in sources if re.fullmatch(r"lib/packs/[\w-]+\.js", p)):
        source = _strip_source_map(sources[path])
        name_match = _PACK_NAME_RE.search(source)
        if name_match is None:
            continue  # not a pack (a helper module)
        pack = name_match.group(1)
        modules = dict(_REQUIRE_RE.findall(source))
        blocks = source.split(_APPLY_RULE)[1:]
        if not blocks:
            raise ReportError(f"cdk-nag: {path} applies no rules")
        rule_ids: list[str] = []
        for block in blocks:
            rules = _RULE_RE.findall(block)
            if len(rules) != 1:
                raise ReportError(f"cdk-nag: unexpected applyRule call in {path}")
            suffixes = _SUFFIX_RE.findall(block)
            if suffixes:
                rule_ids.append(f"{pack}-{suffixes[0]}")
                continue
            variable, export = rules[0]
            if variable not in modules:
                raise ReportError(
                    f"cdk-nag: {path} uses {variable}.{export} from an unknown module"
                )
            rule_ids.append(f"{pack}-{_resolve_rule_name(sources, modules[variable], export)}")
        packs[pack] = tuple(rule_ids)
    return packs


def _resolve_rule_name(sources: Mapping[str, str], folder: str, export: str) -> str:
    index_path = f"lib/rules/{folder}/index.js"
    if index_path not in sources:
        raise ReportError(f"cdk-nag: {index_path} not found")
    index = sources[index_path]
    files = dict(_INDEX_VAR_RE.findall(index))
    exports = dict(_INDEX_EXPORT_RE.findall(index))
    if export not in exports or exports[export] not in files:
        raise ReportError(f"cdk-nag: {index_path} does not export {export}")
    module = f"lib/rules/{folder}/{files[exports[export]]}"
    if f"{module}.js" not in sources:
        raise ReportError(f"cdk-nag: {module}.js not found")
    return _rule_function_name(module, sources[f"{module}.js"])


def cdk_nag_jsii_tarball() -> Path:
    """The JavaScript bundle of the installed cdk-nag (found without importing the package)."""
    spec = importlib.util.find_spec("cdk_nag")
    if spec is None or spec.origin is None:
        raise ReportError("cdk-nag is not installed in this Python environment")
    bundles = sorted((Path(spec.origin).parent / "_jsii").glob("cdk-nag@*.jsii.tgz"))
    if len(bundles) != 1:
        raise ReportError(f"expected one cdk-nag jsii bundle, found {len(bundles)}")
    return bundles[0]


def load_pack_rules(tarball: Path) -> dict[str, tuple[str, ...]]:
    """``parse_pack_rules`` over the ``lib/`` JavaScript of a cdk-nag jsii bundle."""
    sources: dict[str, str] = {}
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            name = member.name.removeprefix("package/")
            if member.isfile() and name.startswith("lib/") and name.endswith(".js"):
                extracted = archive.extractfile(member)
                if extracted is not None:
                    sources[name] = extracted.read().decode("utf-8")
    return parse_pack_rules(sources)


def base_rule(rule_name: str) -> str:
    """``AwsSolutions-IAM5[Resource::*]`` -> ``AwsSolutions-IAM5`` (the rule of a finding)."""
    return rule_name.split("[", 1)[0]


# --------------------------------------------------------------------------------------------
# cdk-nag: the validation report
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class NagFinding:
    """One finding on one construct. ``detail`` is the reason (acknowledged) or description."""

    rule: str
    path: str
    severity: str
    detail: str


@dataclass(frozen=True)
class PackResult:
    """One validation plugin. ``rules`` is None for a plugin that is not a known cdk-nag pack."""

    name: str
    rules: tuple[str, ...] | None
    acknowledged: tuple[NagFinding, ...] = ()
    open: tuple[NagFinding, ...] = ()

    @property
    def rules_acknowledged(self) -> frozenset[str]:
        return frozenset(base_rule(f.rule) for f in self.acknowledged)

    @property
    def rules_open(self) -> frozenset[str]:
        return frozenset(base_rule(f.rule) for f in self.open)

    @property
    def rules_passed(self) -> tuple[str, ...]:
        """Rules of the pack with neither an open nor an acknowledged finding."""
        flagged = self.rules_acknowledged | self.rules_open
        return tuple(sorted(set(self.rules or ()) - flagged))


def _findings(violation: Mapping[str, Any], detail: str) -> list[NagFinding]:
    constructs = violation.get("violatingConstructs") or [{}]
    return [
        NagFinding(
            rule=str(violation.get("ruleName", "")),
            path=str(construct.get("constructPath") or "(no construct path)"),
            severity=str(violation.get("severity", "")),
            detail=detail,
        )
        for construct in constructs
    ]


def parse_validation_report(
    report: Mapping[str, Any], pack_rules: Mapping[str, Sequence[str]]
) -> list[PackResult]:
    """One ``PackResult`` per pack of ``PACK_NAMES`` (present or not), then any other plugin.

    Every violation still listed in ``violations`` is open, whatever its severity; every entry
    of ``suppressedViolations`` is acknowledged, with its reason verbatim. Raises
    ``ReportError`` when a finding names a rule that is not in its pack's rule list.
    """
    plugins: dict[str, tuple[list[NagFinding], list[NagFinding]]] = {
        name: ([], []) for name in PACK_NAMES
    }
    for plugin in report.get("pluginReports") or []:
        acknowledged, open_ = plugins.setdefault(str(plugin["pluginName"]), ([], []))
        for violation in plugin.get("violations") or []:
            open_.extend(_findings(violation, str(violation.get("description", ""))))
        for violation in plugin.get("suppressedViolations") or []:
            acknowledged.extend(_findings(violation, str(violation.get("reason", ""))))
    results = []
    for name in [*PACK_NAMES, *sorted(set(plugins) - set(PACK_NAMES))]:
        acknowledged, open_ = plugins[name]
        rules = tuple(sorted(set(pack_rules[name]))) if name in pack_rules else None
        if name in PACK_NAMES and rules is None:
            raise ReportError(f"cdk-nag has no pack named {name}")
        if rules is not None:
            unknown = sorted({base_rule(f.rule) for f in (*acknowledged, *open_)} - set(rules))
            if unknown:
                raise ReportError(f"{name}: findings for rules not in the pack: {unknown}")
        results.append(
            PackResult(
                name=name,
                rules=rules,
                acknowledged=tuple(sorted(set(acknowledged))),
                open=tuple(sorted(set(open_))),
            )
        )
    return results


# --------------------------------------------------------------------------------------------
# The cloud assembly: stacks and templates
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StackInfo:
    """A stack artifact. ``template`` is relative to the assembly root (POSIX separators)."""

    artifact_id: str
    stack_name: str
    environment: str
    template: str
    resources: int


def find_stacks(outdir: Path) -> list[StackInfo]:
    """Every stack of the assembly, nested stage assemblies (``assembly-*``) included."""
    stacks: list[StackInfo] = []
    _collect_stacks(outdir, outdir, stacks)
    return sorted(stacks, key=lambda s: s.template)


def _collect_stacks(root: Path, directory: Path, stacks: list[StackInfo]) -> None:
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        raise ReportError(f"{manifest_path} not found: run `make synth`")
    manifest = _load_json(manifest_path)
    for artifact_id, artifact in sorted(manifest.get("artifacts", {}).items()):
        properties = artifact.get("properties") or {}
        if artifact.get("type") == "cdk:cloud-assembly":
            _collect_stacks(root, directory / properties["directoryName"], stacks)
        elif artifact.get("type") == "aws:cloudformation:stack":
            template = directory / properties["templateFile"]
            resources = _load_json(template).get("Resources") or {}
            stacks.append(
                StackInfo(
                    artifact_id=str(artifact.get("displayName") or artifact_id),
                    stack_name=str(properties.get("stackName") or artifact_id),
                    environment=str(artifact.get("environment", "")),
                    template=template.relative_to(root).as_posix(),
                    resources=sum(
                        1 for r in resources.values() if r.get("Type") != CDK_METADATA_TYPE
                    ),
                )
            )


def stack_environment_name(stack_names: Iterable[str]) -> str | None:
    """The landing zone environment of stacks named ``bedrock-lz-<env>-<unit>``, if all agree."""
    envs = {m.group(1) for n in stack_names if (m := re.fullmatch(r"bedrock-lz-(.+)-[a-z0-9]+", n))}
    return envs.pop() if len(envs) == 1 else None


def _load_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"cannot read {path.name}: {exc}") from None
    if not isinstance(data, dict):
        raise ReportError(f"{path.name}: expected a JSON object")
    return data


# --------------------------------------------------------------------------------------------
# checkov
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class CheckovFinding:
    """A failed or skipped check on one resource (``Type.LogicalId``) of one template."""

    template: str
    resource: str
    check_id: str
    check_name: str
    reason: str = ""


@dataclass(frozen=True)
class CheckovResult:
    passed: int
    failed: tuple[CheckovFinding, ...]
    skipped: tuple[CheckovFinding, ...]
    parsing_errors: tuple[str, ...] = ()
    #: Skips recorded in template metadata that checkov did not report (stale or not applicable).
    unused_skips: tuple[CheckovFinding, ...] = ()
    version: str = ""

    @property
    def unexplained_skips(self) -> tuple[CheckovFinding, ...]:
        return tuple(s for s in self.skipped if not s.reason.strip())


def template_checkov_skips(template: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    """(logical id, check id) -> reason, from ``Metadata.checkov.skip`` of each resource."""
    skips: dict[tuple[str, str], str] = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        checkov = (resource.get("Metadata") or {}).get("checkov") or {}
        for skip in checkov.get("skip") or []:
            skips[(logical_id, str(skip.get("id", "")))] = str(skip.get("comment") or "")
    return skips


def _relative(file_path: str, outdir: Path) -> str:
    path = Path(file_path)
    for base in (outdir.resolve(), outdir):
        try:
            return path.relative_to(base).as_posix()
        except ValueError:
            continue
    return path.name


def parse_checkov(
    output: Any,
    outdir: Path,
    template_skips: Mapping[str, Mapping[tuple[str, str], str]],
) -> CheckovResult:
    """checkov's ``--output json`` (one report or a list of them) -> counts and findings.

    ``template_skips`` maps each template (relative path) to ``template_checkov_skips`` of it:
    a skip's reason is taken from there (what reviewers read in the template), falling back to
    checkov's ``suppress_comment``.
    """
    reports = output if isinstance(output, list) else [output]
    passed = 0
    failed: list[CheckovFinding] = []
    skipped: list[CheckovFinding] = []
    errors: list[str] = []
    version = ""
    for report in reports:
        if not isinstance(report, dict) or "results" not in report:
            continue  # checkov prints a bare summary when it found nothing to scan
        results = report["results"]
        passed += len(results.get("passed_checks") or [])
        version = str((report.get("summary") or {}).get("checkov_version") or version)
        for check in results.get("failed_checks") or []:
            failed.append(_checkov_finding(check, outdir))
        for check in results.get("skipped_checks") or []:
            finding = _checkov_finding(check, outdir)
            logical_id = finding.resource.split(".", 1)[-1]
            recorded = template_skips.get(finding.template, {}).get((logical_id, finding.check_id))
            comment = (check.get("check_result") or {}).get("suppress_comment") or ""
            reason = recorded if recorded is not None else str(comment)
            skipped.append(_replace_reason(finding, reason))
        errors.extend(_relative(str(p), outdir) for p in results.get("parsing_errors") or [])
    reported = {(s.template, s.resource.split(".", 1)[-1], s.check_id) for s in skipped}
    unused = [
        CheckovFinding(template=template, resource=logical_id, check_id=check_id, check_name="")
        for template, skips in template_skips.items()
        for (logical_id, check_id) in skips
        if (template, logical_id, check_id) not in reported
    ]
    return CheckovResult(
        passed=passed,
        failed=tuple(sorted(set(failed))),
        skipped=tuple(sorted(set(skipped))),
        parsing_errors=tuple(sorted(set(errors))),
        unused_skips=tuple(sorted(unused)),
        version=version,
    )


def _checkov_finding(check: Mapping[str, Any], outdir: Path) -> CheckovFinding:
    file_path = str(check.get("file_abs_path") or check.get("file_path") or "")
    return CheckovFinding(
        template=_relative(file_path, outdir),
        resource=str(check.get("resource", "")),
        check_id=str(check.get("check_id", "")),
        check_name=str(check.get("check_name", "")),
    )


def _replace_reason(finding: CheckovFinding, reason: str) -> CheckovFinding:
    return CheckovFinding(
        template=finding.template,
        resource=finding.resource,
        check_id=finding.check_id,
        check_name=finding.check_name,
        reason=reason,
    )


# --------------------------------------------------------------------------------------------
# cfn-lint
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class CfnLintMatch:
    level: str
    rule: str
    template: str
    location: str
    message: str


@dataclass(frozen=True, order=True)
class CfnLintIgnore:
    """A rule cfn-lint is told not to check: repository-wide (``where`` empty) or per resource."""

    rule: str
    where: str
    reason: str


@dataclass(frozen=True)
class CfnLintResult:
    templates: int
    matches: tuple[CfnLintMatch, ...]
    ignored: tuple[CfnLintIgnore, ...]
    version: str = ""

    def count(self, level: str) -> int:
        return sum(1 for m in self.matches if m.level == level)

    @property
    def unexplained_ignores(self) -> tuple[CfnLintIgnore, ...]:
        return tuple(i for i in self.ignored if not i.reason.strip())


def parse_cfn_lint(matches: Sequence[Mapping[str, Any]], outdir: Path) -> list[CfnLintMatch]:
    """cfn-lint's ``--format json`` output -> matches, template paths relative to ``outdir``."""
    parsed = []
    for match in matches:
        start = (match.get("Location") or {}).get("Start") or {}
        path = (match.get("Location") or {}).get("Path") or []
        location = "/".join(str(p) for p in path) or f"line {start.get('LineNumber', '?')}"
        parsed.append(
            CfnLintMatch(
                level=str(match.get("Level", "")),
                rule=str((match.get("Rule") or {}).get("Id", "")),
                template=_relative(str(match.get("Filename") or ""), outdir),
                location=location,
                message=str(match.get("Message", "")),
            )
        )
    return sorted(set(parsed))


def parse_cfnlintrc(text: str) -> list[CfnLintIgnore]:
    """The ``ignore_checks`` of a ``.cfnlintrc.yaml``, each with its reason: the comment lines
    directly above the item (joined with spaces) and any comment after it on the same line."""
    ignores: list[CfnLintIgnore] = []
    in_block = False
    comments: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not in_block:
            key = re.fullmatch(r"ignore_checks:\s*(\[.*\])?\s*(#.*)?", line)
            if key and key.group(1):  # flow style: [A, B]
                items = [i.strip().strip("'\"") for i in key.group(1)[1:-1].split(",")]
                ignores.extend(CfnLintIgnore(rule=i, where="", reason="") for i in items if i)
            in_block = key is not None and not key.group(1)
            comments = []
            continue
        if not stripped:
            continue
        if stripped.startswith("#"):
            comments.append(stripped.lstrip("#").strip())
            continue
        item = re.fullmatch(r"-\s*['\"]?([\w*]+)['\"]?\s*(?:#\s*(.*))?", stripped)
        if item is None:
            break  # the next key
        reason = " ".join(c for c in [*comments, item.group(2) or ""] if c)
        ignores.append(CfnLintIgnore(rule=item.group(1), where="", reason=reason))
        comments = []
    return ignores


def template_cfn_lint_ignores(
    template_path: str, template: Mapping[str, Any]
) -> list[CfnLintIgnore]:
    """``Metadata.cfn-lint.config.ignore_checks`` of the template and of each resource, with the
    reasons ``compliance.ignore_cfn_lint`` records in ``Metadata.bedrock-lz:cfn-lint-reasons``."""
    ignores: list[CfnLintIgnore] = []
    scopes = [("", template), *sorted((template.get("Resources") or {}).items())]
    for logical_id, node in scopes:
        metadata = node.get("Metadata") or {}
        config = (metadata.get("cfn-lint") or {}).get("config") or {}
        reasons = metadata.get("bedrock-lz:cfn-lint-reasons") or {}
        where = f"{template_path} {logical_id}".strip()
        ignores.extend(
            CfnLintIgnore(rule=str(rule), where=where, reason=str(reasons.get(rule, "")))
            for rule in config.get("ignore_checks") or []
        )
    return ignores


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComplianceReport:
    env: str
    versions: Mapping[str, str]
    stacks: tuple[StackInfo, ...]
    packs: tuple[PackResult, ...]
    checkov: CheckovResult
    cfn_lint: CfnLintResult

    @property
    def open_items(self) -> dict[str, int]:
        """What is open, per check (all zero when the environment is clean)."""
        return {
            "cdk-nag open findings": sum(len(p.open) for p in self.packs),
            "checkov failed checks": len(self.checkov.failed),
            "checkov parsing errors": len(self.checkov.parsing_errors),
            "checkov skips without a reason": len(self.checkov.unexplained_skips),
            "cfn-lint matches": len(self.cfn_lint.matches),
            "cfn-lint ignores without a reason": len(self.cfn_lint.unexplained_ignores),
        }

    @property
    def is_clean(self) -> bool:
        return not any(self.open_items.values())


# --------------------------------------------------------------------------------------------
# Running the tools
# --------------------------------------------------------------------------------------------


#: How a tool runs: (its command, the template files the command names, the working directory,
#: the tool's name) -> its JSON output. ``run_json`` runs it; a test session may pass another
#: runner to ``run_tools`` (the suite's cache of the tools' output, tests/lint_cache.py). A
#: runner that starts the tool itself gives it ``tool_environment(tool, os.environ)``.
ToolRunner = Callable[[Sequence[str], Sequence[Path], Path, str], Any]


#: What each tool's process gets in its environment unless the caller's environment sets it.
#: checkov parses the templates and runs its graph checks in a pool of forked processes by
#: default, each sending its parsed templates back pickled; ``CHECKOV_PARALLELIZATION_TYPE``
#: ("fork", "spawn", "thread" or "none": bridgecrewio/checkov pull request #5737; checkov 3.3.30
#: reads it in ``checkov/common/parallelizer/parallel_runner.py``) set to "none" runs them in
#: checkov's own process. For a landing zone's few templates the pool costs more than it saves:
#: over 37 of the suite's landing-zone templates on 2 cores, three interleaved pairs,
#: 18.5-20.8 s of CPU instead of 20.1-23.9 s, and no more wall time (18.4-20.8 s against
#: 18.3-22.0 s), with the same checks, resources and results. A caller with many templates and
#: cores may set the variable itself; its value wins.
TOOL_ENVIRONMENT: Mapping[str, Mapping[str, str]] = {
    "checkov": {"CHECKOV_PARALLELIZATION_TYPE": "none"},
}


def tool_environment(tool: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment ``tool`` runs with: ``environ`` over the tool's ``TOOL_ENVIRONMENT``."""
    return {**TOOL_ENVIRONMENT.get(tool, {}), **environ}


def run_json(command: Sequence[str], templates: Sequence[Path], cwd: Path, tool: str) -> Any:
    """Run ``command`` in ``cwd`` with ``tool_environment(tool, os.environ)`` and parse its
    standard output as JSON (``ReportError`` naming ``tool`` when it cannot run or prints no
    JSON). ``templates`` (what the command names) is part of the ``ToolRunner`` signature for
    runners that key on it; unused here."""
    try:
        result = subprocess.run(  # noqa: S603 - fixed argument lists, no shell
            list(command),
            cwd=cwd,
            env=tool_environment(tool, os.environ),
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ReportError(f"{tool} could not run: {exc}") from None
    try:
        return json.loads(result.stdout)
    except ValueError:
        detail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise ReportError(
            f"{tool} exited {result.returncode} without JSON output: " + " / ".join(detail)
        ) from None


#: How to get each tool, when its path names no file.
_INSTALL_HINTS = {
    "checkov": "run `make setup` in the landing zone repository (checkov has its own venv), "
    "or install checkov and pass --checkov PATH",
    "cfn-lint": "run `make setup` in the landing zone repository, or install cfn-lint and pass "
    "--cfn-lint PATH",
}


def _require(tool: str, path: Path) -> None:
    if not path.is_file():
        raise ReportError(f"{path} not found: {_INSTALL_HINTS[tool]}")


def run_checkov(
    checkov: Path, templates: Sequence[Path], cwd: Path, runner: ToolRunner = run_json
) -> Any:
    _require("checkov", checkov)
    files = [arg for t in templates for arg in ("--file", str(t))]
    command = [str(checkov), "--framework", "cloudformation", "--skip-download", "--compact"]
    return runner([*command, "--output", "json", *files], templates, cwd, "checkov")


def run_cfn_lint(
    cfn_lint: Path, templates: Sequence[Path], cwd: Path, runner: ToolRunner = run_json
) -> Any:
    _require("cfn-lint", cfn_lint)
    command = [str(cfn_lint), "--format", "json", "--include-checks", "I", "--"]
    return runner([*command, *(str(t) for t in templates)], templates, cwd, "cfn-lint")


@dataclass(frozen=True)
class ToolOutputs:
    """checkov's and cfn-lint's JSON output over the templates of one assembly."""

    checkov: Any
    cfn_lint: Any


def _tool_paths(root: Path, checkov: Path | None, cfn_lint: Path | None) -> tuple[Path, Path]:
    return (
        checkov or root / ".venv-checkov" / "bin" / "checkov",
        cfn_lint or Path(sys.executable).with_name("cfn-lint"),
    )


def _owner(path: Any, cwd: Path, parts: Mapping[str, frozenset[str]]) -> set[str]:
    """The parts whose templates include ``path`` (relative to the tools' ``cwd``), or every
    part when none does: what cannot be attributed is reported to all."""
    key = str((cwd / str(path)).resolve()) if path else ""
    owners = {name for name, files in parts.items() if key in files}
    return owners or set(parts)


def _parts(assemblies: Mapping[str, Sequence[Path]], cwd: Path) -> dict[str, frozenset[str]]:
    return {
        name: frozenset(str((cwd / t).resolve()) for t in templates)
        for name, templates in assemblies.items()
    }


#: checkov's summary count of each kind of result.
_CHECKOV_COUNTS = {
    "passed": "passed_checks",
    "failed": "failed_checks",
    "skipped": "skipped_checks",
    "parsing_errors": "parsing_errors",
}


def split_checkov(
    output: Any, assemblies: Mapping[str, Sequence[Path]], cwd: Path
) -> dict[str, list[Any]]:
    """checkov's JSON output over the templates of several assemblies -> each assembly's part:
    every report with only the results and parsing errors of its templates (and what names no
    template of any), its summary's counts recounted. checkov checks each template on its own
    (its graph links resources within a file), so a part is what a run over that assembly's
    templates alone reports."""
    parts = _parts(assemblies, cwd)
    split: dict[str, list[Any]] = {name: [] for name in assemblies}
    for report in output if isinstance(output, list) else [output]:
        if not isinstance(report, dict) or not isinstance(report.get("results"), dict):
            for reports in split.values():  # a bare summary (nothing scanned): to every part
                reports.append(report)
            continue
        results: dict[str, dict[str, Any]] = {name: {} for name in assemblies}
        for kind, entries in report["results"].items():
            for own in results.values():
                own[kind] = [] if isinstance(entries, list) else entries
            if not isinstance(entries, list):
                continue
            for entry in entries:
                path = entry if kind == "parsing_errors" else _checkov_path(entry)
                for name in _owner(path, cwd, parts):
                    results[name][kind].append(entry)
        for name, own in results.items():
            summary = dict(report.get("summary") or {})
            for key, kind in _CHECKOV_COUNTS.items():
                if key in summary:
                    summary[key] = len(own.get(kind) or [])
            split[name].append({**report, "results": own, "summary": summary})
    return split


def _checkov_path(check: Any) -> str:
    if not isinstance(check, Mapping):
        return ""
    return str(check.get("file_abs_path") or check.get("file_path") or "")


def split_cfn_lint(
    output: Any, assemblies: Mapping[str, Sequence[Path]], cwd: Path
) -> dict[str, Any]:
    """cfn-lint's JSON output (a list of matches) over the templates of several assemblies ->
    each assembly's matches (and those that name no template of any). cfn-lint checks each
    template on its own: a part is what a run over that assembly's templates alone reports."""
    if not isinstance(output, list):
        return dict.fromkeys(assemblies, output)
    parts = _parts(assemblies, cwd)
    split: dict[str, list[Any]] = {name: [] for name in assemblies}
    for match in output:
        path = match.get("Filename") if isinstance(match, Mapping) else None
        for name in _owner(path, cwd, parts):
            split[name].append(match)
    return split


def run_tools(
    assemblies: Mapping[str, Sequence[Path]],
    *,
    root: Path,
    checkov: Path | None = None,
    cfn_lint: Path | None = None,
    runner: ToolRunner = run_json,
) -> dict[str, ToolOutputs]:
    """checkov once and cfn-lint once (from ``root``, as ``build_report`` runs them) over the
    templates of several assemblies (name -> its template files), each output split per
    assembly (``split_checkov``, ``split_cfn_lint``): each tool starts once (checkov ~3.5 s,
    cfn-lint ~1.5 s of imports and schemas), and ``build_report(..., tools=...)`` of each
    assembly gets what its own runs would have given. ``runner``: how each tool's command runs
    (``run_json`` by default, ``ToolRunner``)."""
    every = [template for templates in assemblies.values() for template in templates]
    both = run_both(every, root=root, checkov=checkov, cfn_lint=cfn_lint, runner=runner)
    checkov_parts = split_checkov(both.checkov, assemblies, root)
    lint_parts = split_cfn_lint(both.cfn_lint, assemblies, root)
    return {name: ToolOutputs(checkov_parts[name], lint_parts[name]) for name in assemblies}


def run_both(
    templates: Sequence[Path],
    *,
    root: Path,
    checkov: Path | None = None,
    cfn_lint: Path | None = None,
    runner: ToolRunner = run_json,
) -> ToolOutputs:
    """checkov and cfn-lint over ``templates`` (from ``root``), at the same time: two
    processes that share nothing, so the slower one sets the time instead of their sum. Over
    the test suite's 39 templates on an idle 2-core machine: checkov 11.5 s (12.7 s of CPU),
    cfn-lint 10.2 s, both at once 11.4 s; `make report`'s step 7.4 s -> 5.4 s. ``runner`` is
    called from two threads. A tool that cannot run raises its ``ReportError`` after the
    other has finished; a tool that is not there, before either starts (neither runs for
    nothing: cfn-lint over the default environment takes ~4 s of CPU)."""
    checkov_bin, lint_bin = _tool_paths(root, checkov, cfn_lint)
    _require("checkov", checkov_bin)
    _require("cfn-lint", lint_bin)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cfn-lint") as pool:
        lint = pool.submit(run_cfn_lint, lint_bin, templates, root, runner)
        checkov_output = run_checkov(checkov_bin, templates, root, runner)
        return ToolOutputs(checkov_output, lint.result())


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return ""


def build_report(
    outdir: Path,
    *,
    root: Path,
    env: str | None = None,
    checkov: Path | None = None,
    cfn_lint: Path | None = None,
    tools: ToolOutputs | None = None,
) -> ComplianceReport:
    """Read the assembly in ``outdir``, run checkov and cfn-lint over it (from ``root``, the
    repository root holding ``.cfnlintrc.yaml``), and collect everything ``render`` needs.
    ``tools``: their outputs over this assembly's templates from a run over several
    (``run_tools``), instead of running them here."""
    stacks = find_stacks(outdir)
    if not stacks:
        raise ReportError(f"no stacks in {outdir.name}/manifest.json")
    derived = stack_environment_name(s.stack_name for s in stacks)
    if env is not None and derived is not None and env != derived:
        raise ReportError(f"{outdir.name} holds environment {derived!r}, not {env!r}")
    env_name = env or derived or "(unknown)"

    report_path = outdir / "validation-report.json"
    if not report_path.is_file():
        raise ReportError(f"{outdir.name}/validation-report.json not found: run `make synth`")
    tarball = cdk_nag_jsii_tarball()
    packs = parse_validation_report(_load_json(report_path), load_pack_rules(tarball))

    template_paths = [outdir / s.template for s in stacks]
    templates = {s.template: _load_json(outdir / s.template) for s in stacks}
    if tools is None:
        tools = run_both(template_paths, root=root, checkov=checkov, cfn_lint=cfn_lint)
    checkov_output = tools.checkov
    checkov_result = parse_checkov(
        checkov_output,
        outdir,
        {name: template_checkov_skips(t) for name, t in templates.items()},
    )

    lint_output = tools.cfn_lint
    rc_path = root / ".cfnlintrc.yaml"
    ignores = parse_cfnlintrc(rc_path.read_text(encoding="utf-8")) if rc_path.is_file() else []
    for name, template in templates.items():
        ignores.extend(template_cfn_lint_ignores(name, template))
    lint_result = CfnLintResult(
        templates=len(template_paths),
        matches=tuple(parse_cfn_lint(lint_output, outdir)),
        ignored=tuple(sorted(set(ignores), key=lambda i: (i.where != "", i.where, i.rule))),
    )

    tree_path = outdir / "tree.json"
    tree = _load_json(tree_path) if tree_path.is_file() else {}
    cdk_version = ((tree.get("tree") or {}).get("constructInfo") or {}).get("version")
    versions = {
        "aws-cdk-lib": str(cdk_version or _version("aws-cdk-lib")),
        "cdk-nag": _version("cdk-nag") or tarball.name.split("@", 1)[-1].split(".jsii", 1)[0],
        "checkov": checkov_result.version,
        "cfn-lint": _version("cfn-lint"),
    }
    return ComplianceReport(
        env=env_name,
        versions=versions,
        stacks=tuple(stacks),
        packs=tuple(packs),
        checkov=checkov_result,
        cfn_lint=lint_result,
    )
