"""The GitHub Actions workflow: valid against GitHub's workflow schema, and shaped as promised.

The schema is the SchemaStore ``github-workflow.json`` that ``check-jsonschema`` vendors (pinned in
requirements-dev.txt), so the test needs no network. The file is read as YAML 1.2 (ruamel.yaml):
YAML 1.1 readers such as PyYAML turn the ``on:`` key into ``True``.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import jsonschema  # type: ignore[import-untyped,unused-ignore]  # no stubs pinned
import pytest
from ruamel.yaml import YAML

from tests.conftest import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def _schema(resource: str) -> dict[str, Any]:
    package = resources.files("check_jsonschema.builtin_schemas")
    return json.loads((package / resource).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    data = YAML(typ="safe", pure=True).load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    return workflow["jobs"][job]["steps"]  # type: ignore[no-any-return]


def _runs(workflow: dict[str, Any], job: str) -> str:
    return "\n".join(str(step.get("run", "")) for step in _steps(workflow, job))


@pytest.mark.parametrize(
    "schema", ["vendor/github-workflows.json", "custom/github-workflows-require-timeout.json"]
)
def test_valid_against_the_github_workflow_schema(workflow: dict[str, Any], schema: str) -> None:
    validator = jsonschema.Draft7Validator(_schema(schema))
    errors = sorted(validator.iter_errors(workflow), key=lambda e: list(e.absolute_path))
    assert [f"{list(e.absolute_path)}: {e.message}" for e in errors] == []


def test_the_schema_catches_a_broken_workflow(workflow: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(workflow))
    broken["jobs"]["test"]["runs-on"] = None
    broken["jobs"]["test"]["stepz"] = broken["jobs"]["test"].pop("steps")
    assert list(
        jsonschema.Draft7Validator(_schema("vendor/github-workflows.json")).iter_errors(broken)
    )


def test_ci_runs_exactly_the_make_targets_of_ci_and_the_readme(workflow: dict[str, Any]) -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^\s*make test\s*$", _runs(workflow, "test"), re.MULTILINE)
    assert 'make synth ENV="$LZ_ENV"' in _runs(workflow, "synth")
    assert workflow["jobs"]["synth"]["strategy"]["matrix"]["env"] == sorted(
        p.stem for p in (ROOT / "config").glob("*.yaml")
    )
    targets = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text("utf-8"), re.M))
    used = set(re.findall(r"\bmake ([a-z][a-z-]*)", WORKFLOW.read_text(encoding="utf-8")))
    assert used <= targets, f"targets missing from the Makefile: {used - targets}"


def test_python_matches_the_project(workflow: dict[str, Any]) -> None:
    requires = re.search(r'requires-python = ">=([\d.]+)"', (ROOT / "pyproject.toml").read_text())
    assert requires is not None
    versions = {
        step["with"]["python-version"]
        for job in workflow["jobs"]
        for step in _steps(workflow, job)
        if str(step.get("uses", "")).startswith("actions/setup-python@")
    }
    assert versions == {requires.group(1)}


def test_deploy_uses_oidc_and_no_long_lived_keys(workflow: dict[str, Any]) -> None:
    assert workflow["permissions"] == {"contents": "read"}, "read-only by default"
    deploy = workflow["jobs"]["deploy"]
    assert deploy["permissions"] == {"contents": "read", "id-token": "write"}
    (configure,) = [
        s
        for s in deploy["steps"]
        if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@")
    ]
    assert configure["with"]["role-to-assume"].startswith("${{ vars.")
    assert "aws-region" in configure["with"]
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(configure["with"])
    text = WORKFLOW.read_text(encoding="utf-8")
    assert not re.search(r"AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|secrets\.AWS_", text)
    others = [j for name, j in workflow["jobs"].items() if name != "deploy"]
    assert all("id-token" not in (j.get("permissions") or {}) for j in others)


def test_deploy_is_gated_on_main_and_an_environment_after_test_and_synth(
    workflow: dict[str, Any],
) -> None:
    deploy = workflow["jobs"]["deploy"]
    assert set(deploy["needs"]) == {"test", "synth"}
    assert "github.ref == 'refs/heads/main'" in deploy["if"]
    assert "github.event_name == 'push'" in deploy["if"]
    assert deploy["environment"] == "production"
    assert deploy["concurrency"]["cancel-in-progress"] is False
    assert workflow["on"]["push"]["branches"] == ["main"]


def test_expressions_never_reach_a_shell_as_code(workflow: dict[str, Any]) -> None:
    """``${{ }}`` inside ``run:`` is script injection; values go through ``env:`` instead."""
    for name in workflow["jobs"]:
        for step in _steps(workflow, name):
            assert "${{" not in str(step.get("run", "")), f"{name}: {step.get('name')}"
