"""The documented public API: every name resolves, importing the package stays light."""

from __future__ import annotations

import subprocess
import sys

import bedrock_landing_zone
from tests.conftest import ROOT


def test_every_public_name_resolves() -> None:
    for name in bedrock_landing_zone.__all__:
        assert getattr(bedrock_landing_zone, name) is not None, name
    assert bedrock_landing_zone.__version__.count(".") == 2  # semantic version


def test_unknown_name_is_an_attribute_error() -> None:
    try:
        bedrock_landing_zone.DoesNotExist  # noqa: B018
    except AttributeError as exc:
        assert "DoesNotExist" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_importing_the_package_does_not_start_the_cdk_runtime() -> None:
    code = (
        "import sys, bedrock_landing_zone, bedrock_landing_zone.config; "
        "print('aws_cdk' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
