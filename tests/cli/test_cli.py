"""``python -m bedrock_landing_zone``: arguments, exit codes, clear errors, no CDK import."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import boto3
import pytest

from bedrock_landing_zone.cli import doctor
from bedrock_landing_zone.cli import main as cli
from bedrock_landing_zone.cli.doctor import CheckResult, Status
from bedrock_landing_zone.config import LandingZoneConfig
from tests.conftest import CONFIG_DIR, ROOT, Synth
from tests.imports import packages_loaded

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"


@pytest.fixture
def isolated_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials anywhere: no env vars, no files, no instance metadata."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def fake_credentials(isolated_aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)


class FakeChecks:
    """Stands in for doctor.run_checks; records what it was given."""

    def __init__(self, results: list[CheckResult]) -> None:
        self.results = results
        self.config: LandingZoneConfig | None = None
        self.session: boto3.session.Session | None = None

    def __call__(
        self, config: LandingZoneConfig, session: boto3.session.Session, **_: Any
    ) -> list[CheckResult]:
        self.config = config
        self.session = session
        return self.results


@pytest.fixture
def fake_checks(monkeypatch: pytest.MonkeyPatch) -> FakeChecks:
    fake = FakeChecks([CheckResult("Credentials", Status.OK, "account 123456789012")])
    monkeypatch.setattr(doctor, "run_checks", fake)
    return fake


def run(*argv: str) -> int:
    return cli.main([*argv, "--config-dir", str(CONFIG_DIR)] if argv[:1] == ("doctor",) else argv)


# --- help and usage -----------------------------------------------------------------------------


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in ("doctor", "invoke", "serve", "report", "diagram", "preview"):
        assert f"    {command} " in out, command


@pytest.mark.parametrize("command", ["report", "diagram", "preview"])
def test_assembly_commands_name_themselves_in_their_usage(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main([command, "--help"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: bedrock-lz {command} ")


def test_assembly_commands_refuse_a_missing_assembly_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "cdk.out"
    assert cli.main(["report", str(missing), str(tmp_path / "c.md")]) == 2
    assert cli.main(["diagram", str(missing), str(tmp_path / "a.svg")]) == 1
    assert cli.main(["preview", str(missing), str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("error: ") == 3 and "Traceback" not in err
    assert "run `make synth` first" in err


def test_report_names_the_tools_it_needs_and_how_to_pass_them(
    default: Synth, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Outside the repository (another team's app), checkov and cfn-lint are the caller's."""
    code = cli.main(
        ["report", str(default.outdir), str(tmp_path / "c.md"), "--checkov", str(tmp_path / "no")]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "install checkov and pass --checkov PATH" in err and "Traceback" not in err


def test_diagram_draws_the_committed_picture_from_a_synthesized_environment(
    default: Synth, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`bedrock-lz diagram` is `make diagram`'s module: the session's synth of the default
    environment (the context `cdk synth` gives) draws docs/architecture.svg byte for byte."""
    assert cli.main(["diagram", str(default.outdir), str(tmp_path / "a.svg")]) == 0
    drawn = (tmp_path / "a.svg").read_text(encoding="utf-8")
    assert drawn == (ROOT / "docs" / "architecture.svg").read_text(encoding="utf-8")
    assert "wrote " in capsys.readouterr().out


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "COMMAND" in capsys.readouterr().err


def test_doctor_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["doctor", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for option in ("-c KEY=VALUE", "--env", "--config-dir", "--profile", "--region"):
        assert option in out


# --- choosing the environment -------------------------------------------------------------------


@pytest.mark.usefixtures("fake_credentials")
@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["doctor", "-c", "env=existing-vpc"], "existing-vpc"),
        (["doctor", "--context", "env=existing-vpc", "-c", "other=ignored"], "existing-vpc"),
        (["doctor", "--env", "existing-vpc"], "existing-vpc"),
        (["doctor", "--env", "existing-vpc", "-c", "env=existing-vpc"], "existing-vpc"),
        (["doctor"], "default"),
    ],
)
def test_environment_selection(argv: list[str], env: str, fake_checks: FakeChecks) -> None:
    assert run(*argv) == 0
    assert fake_checks.config is not None
    assert fake_checks.config.name == env


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["doctor", "--env", "default", "-c", "env=existing-vpc"], "disagree"),
        (["doctor", "-c", "env"], "KEY=VALUE"),
        (["doctor", "--region", "mars-1"], "not a region name"),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        run(*argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_unknown_environment_exits_2_without_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run("doctor", "-c", "env=nope") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert "Available environments: default, existing-vpc" in err
    assert "Traceback" not in err


def test_invalid_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "broken.yaml").write_text("name: broken\nregion: us-east\n", encoding="utf-8")
    assert cli.main(["doctor", "--env", "broken", "--config-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Invalid configuration" in err
    assert "region" in err
    assert "Traceback" not in err


# --- credentials --------------------------------------------------------------------------------


@pytest.mark.usefixtures("isolated_aws")
def test_no_credentials_exits_2_with_a_clear_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("doctor") == 2
    err = capsys.readouterr().err
    assert "no usable AWS credentials" in err
    assert "--profile" in err
    assert "Traceback" not in err


@pytest.mark.usefixtures("isolated_aws")
def test_no_credentials_during_the_checks_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Credentials that resolve but then vanish (an SSO cache, say) still give exit status 2."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)

    def vanish(*_: Any, **__: Any) -> list[CheckResult]:
        from botocore.exceptions import NoCredentialsError

        raise NoCredentialsError()

    monkeypatch.setattr(doctor, "run_checks", vanish)
    assert run("doctor") == 2
    assert "Unable to locate credentials" in capsys.readouterr().err


@pytest.mark.usefixtures("isolated_aws")
def test_unknown_profile_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("doctor", "--profile", "nosuch") == 2
    assert "nosuch" in capsys.readouterr().err


@pytest.mark.usefixtures("isolated_aws")
def test_profile_and_region_reach_the_session(
    fake_checks: FakeChecks,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config_file = tmp_path / "aws-config"
    config_file.write_text("[profile lz]\nregion = eu-west-1\n", encoding="utf-8")
    credentials_file = tmp_path / "aws-credentials"
    credentials_file.write_text(
        f"[lz]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config_file))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials_file))

    assert run("doctor", "--profile", "lz") == 0
    assert fake_checks.session is not None
    assert fake_checks.session.profile_name == "lz"
    assert fake_checks.session.region_name == "us-east-1"  # the config's region wins
    out, err = capsys.readouterr()
    assert "profile lz" in out
    assert ACCESS_KEY not in out + err and SECRET_KEY not in out + err


# --- running the checks -------------------------------------------------------------------------


@pytest.mark.usefixtures("fake_credentials")
@pytest.mark.parametrize(
    ("status", "code", "verdict"),
    [
        (Status.OK, 0, "ready to deploy"),
        (Status.WARN, 0, "ready to deploy (review the warnings)"),
        (Status.FAIL, 1, "a deployment would fail"),
    ],
)
def test_exit_status_follows_the_worst_check(
    status: Status,
    code: int,
    verdict: str,
    fake_checks: FakeChecks,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_checks.results = [
        CheckResult("Credentials", Status.OK, "account 123456789012"),
        CheckResult("CDK bootstrap", status, "something"),
    ]
    assert run("doctor", "-c", "env=default") == code
    out, err = capsys.readouterr()
    assert "CHECK" in out and "CDK bootstrap" in out
    assert verdict in out
    for secret in (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN):
        assert secret not in out and secret not in err


@pytest.mark.usefixtures("fake_credentials")
def test_region_override_checks_that_region_and_says_so(
    fake_checks: FakeChecks, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("doctor", "--region", "eu-west-1") == 0
    assert fake_checks.config is not None
    assert fake_checks.config.region == "eu-west-1"
    assert fake_checks.session is not None
    assert fake_checks.session.region_name == "eu-west-1"
    out = capsys.readouterr().out
    assert "Region override" in out
    assert "deploys to us-east-1" in out


# --- invoke -------------------------------------------------------------------------------------


def test_invoke_delegates_every_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def fake_main(argv: list[str]) -> int:
        calls.append(argv)
        return 3

    fake = types.ModuleType("bedrock_inference.local")
    fake.main = fake_main  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bedrock_inference.local", fake)
    monkeypatch.setattr(sys, "path", list(sys.path))

    assert cli.main(["invoke", "--help", "--model", "claude-haiku", "-c", "env=x"]) == 3
    assert calls == [["--help", "--model", "claude-haiku", "-c", "env=x"]]
    assert str(cli.INFERENCE_PACKAGE_DIR) in sys.path


def test_invoke_package_dir_is_the_repositorys_lambda_folder_in_a_source_tree() -> None:
    assert cli.INFERENCE_PACKAGE_DIR == ROOT / "lambda" / "inference"


def test_the_runtime_code_is_found_inside_a_wheels_package_first(tmp_path: Path) -> None:
    from bedrock_landing_zone.base.assets import lambda_root

    package = tmp_path / "site-packages" / "bedrock_landing_zone"
    (package / "lambda" / "inference").mkdir(parents=True)
    (tmp_path / "site-packages" / "lambda" / "inference").mkdir(parents=True)  # someone else's
    assert lambda_root(package) == package / "lambda"
    source = tmp_path / "clone" / "bedrock_landing_zone"
    source.mkdir(parents=True)
    (tmp_path / "clone" / "lambda" / "inference").mkdir(parents=True)
    assert lambda_root(source) == tmp_path / "clone" / "lambda"
    with pytest.raises(RuntimeError, match="reinstall the bedrock-landing-zone wheel"):
        lambda_root(tmp_path / "nowhere" / "bedrock_landing_zone")
    assert cli.INFERENCE_PACKAGE_DIR.resolve() == (ROOT / "lambda" / "inference").resolve()


def test_invoke_without_the_runtime_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "bedrock_inference", None)
    monkeypatch.setitem(sys.modules, "bedrock_inference.local", None)
    monkeypatch.setattr(sys, "path", list(sys.path))
    assert cli.main(["invoke", "--model", "x"]) == 2
    assert "inference runtime is missing" in capsys.readouterr().err


# --- start-up cost ------------------------------------------------------------------------------


def test_cli_does_not_import_the_cdk() -> None:
    code = "import bedrock_landing_zone.cli.main, bedrock_landing_zone.cli.doctor"
    assert packages_loaded(code, ("aws_cdk", "jsii")) == []


def test_help_imports_neither_boto3_nor_the_configuration_models() -> None:
    """`bedrock-lz --help` (and every command but doctor) starts without boto3, botocore or
    pydantic: ~0.4 s of each start."""
    code = (
        "import contextlib, io\n"
        "from bedrock_landing_zone.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
    )
    heavy = ("boto3", "botocore", "pydantic", "aws_cdk", "jsii")
    assert packages_loaded(code, heavy) == []


def test_python_dash_m_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bedrock_landing_zone", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "doctor" in done.stdout
