"""mypy reads only the aws_cdk modules this repository needs, and still checks what it checked.

pyproject.toml skips ``aws_cdk.*`` (mypy's ``follow_imports = "skip"``: the module becomes ``Any``)
except the modules tools/mypy_cdk.py lists: the ones the repository imports and every module their
types name. A module missing from that list would silently turn its types into ``Any``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from tools import mypy_cdk

ROOT = Path(__file__).resolve().parents[1]
CDK_ROOT = mypy_cdk._cdk_root()


def test_the_list_is_current() -> None:
    have = mypy_cdk.listed(mypy_cdk.PYPROJECT.read_text(encoding="utf-8"))
    want = mypy_cdk.wanted()
    assert have == want, (
        f"missing: {sorted(set(want) - set(have))}, no longer needed: "
        f"{sorted(set(have) - set(want))}; fix: python3 tools/mypy_cdk.py --write"
    )


def test_pyproject_skips_aws_cdk_but_follows_the_listed_modules() -> None:
    config = tomllib.loads(mypy_cdk.PYPROJECT.read_text(encoding="utf-8"))["tool"]["mypy"]
    by_setting = {
        override["follow_imports"]: override["module"]
        for override in config["overrides"]
        if "follow_imports" in override
    }
    assert by_setting["skip"] == ["aws_cdk.*"]
    listed = mypy_cdk.listed(mypy_cdk.PYPROJECT.read_text(encoding="utf-8"))
    assert by_setting["normal"] == listed
    assert {"aws_cdk", "aws_cdk.aws_iam", "aws_cdk.aws_lambda"} <= set(listed)


def test_a_new_import_makes_the_check_fail_and_names_the_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "app.py").write_text("from aws_cdk import aws_dynamodb\n", encoding="utf-8")
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        f'module = [\n{mypy_cdk.BEGIN}  "aws_cdk",\n{mypy_cdk.END}]\n', encoding="utf-8"
    )
    monkeypatch.setattr(mypy_cdk, "PYPROJECT", pyproject)
    monkeypatch.setattr(mypy_cdk, "ROOT", tmp_path)

    assert mypy_cdk.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "aws_cdk.aws_dynamodb" in err and "--write" in err

    assert mypy_cdk.main(["--write"]) == 0
    assert "aws_cdk.aws_dynamodb" in mypy_cdk.listed(pyproject.read_text(encoding="utf-8"))
    assert mypy_cdk.main(["--check"]) == 0


def test_the_closure_follows_type_imports_not_the_list_of_every_module() -> None:
    modules = mypy_cdk.closure(["aws_cdk.aws_iam"], CDK_ROOT)
    # aws_iam's types name aws_cdk's core and the base interfaces of aws_cdk.interfaces
    assert {"aws_cdk", "aws_cdk.interfaces.aws_iam"} <= modules
    # the core lists every module under TYPE_CHECKING (`from . import x as x`): not followed
    assert "aws_cdk.aws_quicksight" not in modules
    assert len(modules) < 60


def test_import_forms_are_all_seen(tmp_path: Path) -> None:
    source = tmp_path / "forms.py"
    source.write_text(
        textwrap.dedent(
            """\
            import aws_cdk.aws_sqs
            from aws_cdk import aws_sns as sns, Duration
            from aws_cdk.aws_kms import Key

            def later() -> None:
                from aws_cdk import aws_ssm
            """
        ),
        encoding="utf-8",
    )
    assert mypy_cdk.direct_imports([source], CDK_ROOT) == {
        "aws_cdk",
        "aws_cdk.aws_sqs",
        "aws_cdk.aws_sns",
        "aws_cdk.aws_kms",
        "aws_cdk.aws_ssm",
    }


def test_mypy_with_this_config_still_rejects_a_wrong_cdk_type(tmp_path: Path) -> None:
    """IRole's base interfaces live in aws_cdk.interfaces.aws_iam: with only the imported modules
    followed, IRole was Any-based and this assignment passed. Uses the repository's mypy cache
    (warm after `make typecheck`)."""
    bad = tmp_path / "bad_types.py"
    bad.write_text(
        textwrap.dedent(
            """\
            from aws_cdk import aws_ec2, aws_iam

            def wrong(vpc: aws_ec2.IVpc) -> aws_iam.IRole:
                return vpc
            """
        ),
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'Incompatible return value type (got "IVpc", expected "IRole")' in result.stdout
