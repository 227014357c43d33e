"""Where the runtime code of ``lambda/`` is, without importing the CDK (the CLI uses it too)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["LAMBDA_ROOT", "PACKAGE_DIR", "lambda_root"]

#: The installed (or source) folder of the ``bedrock_landing_zone`` package.
PACKAGE_DIR = Path(__file__).resolve().parents[1]


def lambda_root(package: Path | None = None) -> Path:
    """The folder holding one sub-folder per function (``inference``, ``model_access``): inside
    the installed wheel, which carries the repository's ``lambda/`` as
    ``bedrock_landing_zone/lambda`` (pyproject.toml, package-dir), or beside the package in a
    source tree (the repository, an editable install)."""
    package = package or PACKAGE_DIR
    for candidate in (package / "lambda", package.parent / "lambda"):
        if (candidate / "inference").is_dir():
            return candidate
    raise RuntimeError(
        f"the runtime code (lambda/) is neither in {package} nor beside it: reinstall the "
        "bedrock-landing-zone wheel, or run `make setup` in a clone of the repository"
    )


#: The runtime code shipped with the package.
LAMBDA_ROOT = lambda_root()
