"""README's offline `cdk diff` recipe, run as written with the real CDK CLI and no credentials.

The recipe is the README block marked ``<!-- docs-test: diff-recipe -->``. It runs in one shell,
its comment line ``# ...change ...`` replaced by a change (the inference function's reserved
concurrency, 20 -> 10), in a copy of the repository's entry points (app.py, cdk.json, config/)
with the project's .venv and node_modules, so the working tree's cdk.out and build/ are not
touched. Two synths and one CLI start per changed stack.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import CONFIG_DIR, ROOT, VALIDATED_IN_SESSION
from tests.docs.markdown import Block, blocks
from tests.pycache import share_bytecode

pytestmark = pytest.mark.slow

_CHANGE = re.compile(r"^#\s*\.\.\.\s*change\b.*\n", re.MULTILINE)


def _recipe() -> Block:
    (recipe,) = [b for b in blocks(ROOT / "README.md") if b.kind == "diff-recipe"]
    return recipe


def _run(script: str, cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{script}\n--- output\n{output[-4000:]}"
    return output


def _stack_sections(output: str) -> dict[str, str]:
    """``cdk diff`` output split per stack: stack id -> what it printed."""
    parts = re.split(r"^Stack (\S+) \(", output, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_the_recipe_splits_before_and_after_the_change() -> None:
    before, after = _CHANGE.split(_recipe().code)
    assert "cdk.out/*.template.json build/baseline/" in before, "the baseline leaves cdk.out"
    assert "--template" in after and "cdk.out/" not in after.split("--template", 1)[1]


def test_diff_against_a_baseline_outside_cdk_out_shows_the_change(
    tmp_path: Path, node_compile_cache: Path
) -> None:
    cdk_cli = ROOT / "node_modules" / ".bin" / "cdk"
    assert cdk_cli.exists(), "run `make setup` (npm ci installs the pinned CDK CLI)"
    repo = tmp_path / "repo"
    (repo / "config").mkdir(parents=True)
    for name in ("app.py", "cdk.json", "cdk.context.json"):
        shutil.copy(ROOT / name, repo / name)
    for link in (".venv", "node_modules"):
        (repo / link).symlink_to(ROOT / link)
    prod = (CONFIG_DIR / "default.yaml").read_text(encoding="utf-8")
    prod = prod.replace("name: default", "name: prod", 1)
    assert "reserved_concurrency: 20" in prod
    (repo / "config" / "prod.yaml").write_text(prod, encoding="utf-8")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    env.update(
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        CDK_DISABLE_CLI_TELEMETRY="true",
        CDK_DISABLE_VERSION_CHECK="true",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="1",
        # nine CLI starts (two synths, one diff per stack): ~0.2 s CPU of each was compiling
        # the CLI's JavaScript again (tests/pycache.py)
        NODE_COMPILE_CACHE=str(node_compile_cache),
    )
    # both synths' templates are the default environment's under another name: validated by
    # the session's own synth (tests/conftest.py), ~3.8 s of CPU each here
    env.update(VALIDATED_IN_SESSION)
    # both synths run the app as repo/.venv/bin/python (cdk.json's launcher): aws-cdk-lib's
    # bytecode from the project's cache, not compiled again for this path (~5 s CPU;
    # tests/pycache.py)
    share_bytecode(repo.resolve() / ".venv", ROOT / ".venv", env)
    # the recipe as written, its "change" comment replaced by the change, in one shell
    before, after = _CHANGE.split(_recipe().code)
    change = "sed -i 's/reserved_concurrency: 20/reserved_concurrency: 10/' config/prod.yaml\n"
    output = _run(before + change + after, repo, env)
    baseline = repo / "build" / "baseline"
    stacks = sorted(p.name.removesuffix(".template.json") for p in baseline.glob("*.json"))
    assert "Inference" in stacks and "Governance" in stacks
    assert "reserved_concurrency: 10" in (repo / "config" / "prod.yaml").read_text("utf-8")

    sections = _stack_sections(output)
    inference = sections["Inference"]
    assert re.search(r"ReservedConcurrentExecutions\s+├─ \[-\] 20\s+└─ \[\+\] 10", inference)
    # the observability dashboard draws the reserved concurrency as a line; nothing else moves:
    # the loop diffs those two stacks only, each with differences, and skips the others, whose
    # templates are byte for byte their baselines
    assert sorted(sections) == ["Inference", "Observability"], output[-3000:]
    assert not any("There were no differences" in text for text in sections.values())
    unchanged = [s for s in stacks if s not in sections]
    assert len(unchanged) == len(stacks) - 2
    for stack in unchanged:
        name = f"{stack}.template.json"
        assert (baseline / name).read_bytes() == (repo / "cdk.out" / name).read_bytes(), stack
    assert '"ReservedConcurrentExecutions": 20' in (baseline / "Inference.template.json").read_text(
        "utf-8"
    ), "the baseline was overwritten"
