"""The stacks' lifecycle on moto: synthesize, bootstrap, deploy, update, destroy.

The real, pinned CDK CLI does each step (``Lifecycle``): it deploys the stacks in the
assembly's order and waits for each; every run is bounded (``TIMEOUTS``). Around it, the
rehearsal plays the parts moto cannot: the replies of Lambda-backed custom resources
(``replay``), the AWS-published public SSM parameters (``provide_public_parameters``), and the
deletions moto has no handler for (``fill_delete_gaps``).
"""

from __future__ import annotations

import io
import json
import re
import shlex
import shutil
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from botocore import xform_name

from rehearsal import Clock, RehearsalError
from rehearsal.server import ACCOUNT, PYTHON, ROOT, TIMEOUTS, Moto, start_job
from rehearsal.survivors import MOTO_DELETE_GAPS, Deployed
from rehearsal.transform import (
    CUSTOM_RESOURCE_REQUEST,
    PUBLIC_PARAMETER_PREFIX,
    REPLACED_TYPE_KEY,
    TransformReport,
    assembly_stacks,
    transform_assembly,
)

ENV_NAME = "default"
CDK = ROOT / "node_modules" / ".bin" / "cdk"
BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"


# --- assemblies and stacks -------------------------------------------------------------------


@dataclass
class Assembly:
    """A transformed cloud assembly and its templates, keyed by stack name."""

    directory: Path
    report: TransformReport
    templates: dict[str, dict[str, Any]]
    order: list[str]  # deployment order (manifest order)

    @classmethod
    def load(cls, directory: Path, report: TransformReport) -> Assembly:
        stacks = assembly_stacks(directory)
        templates = {
            s.stack_name: json.loads((directory / s.template_file).read_text(encoding="utf-8"))
            for s in stacks
        }
        return cls(directory, report, templates, [s.stack_name for s in stacks])

    def resources(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for stack in self.order:
            for logical_id, resource in self.templates[stack].get("Resources", {}).items():
                yield stack, logical_id, resource

    def by_path(self, suffix: str) -> tuple[str, str]:
        hits = [
            (stack, lid)
            for stack, lid, r in self.resources()
            if str((r.get("Metadata") or {}).get("aws:cdk:path", "")).endswith(suffix)
        ]
        if len(hits) != 1:
            raise RehearsalError(f"expected one resource at *{suffix}, found {hits}")
        return hits[0]


def stated_defaults(assembly: Assembly) -> list[str]:
    """``STACK:KEY=DEFAULT`` for each SSM-typed template parameter with a default (except
    ``BootstrapVersion``, stated for all stacks at once): what ``cdk deploy --parameters``
    takes to pass a parameter's own default explicitly (a no-op for CloudFormation)."""
    out = []
    for stack in assembly.order:
        for key, parameter in (assembly.templates[stack].get("Parameters") or {}).items():
            kind = str(parameter.get("Type", ""))
            if key == "BootstrapVersion" or not kind.startswith("AWS::SSM::Parameter::Value<"):
                continue
            if isinstance(parameter.get("Default"), str):
                out.append(f"{stack}:{key}={parameter['Default']}")
    return out


def physical_ids(cloudformation: Any, stack: str) -> dict[str, str]:
    """Logical ID -> physical ID of a deployed stack (stand-ins moto does not list are absent)."""
    summaries = cloudformation.list_stack_resources(StackName=stack)["StackResourceSummaries"]
    return {
        str(r["LogicalResourceId"]): str(r.get("PhysicalResourceId") or "")
        for r in summaries
        if r.get("LogicalResourceId")
    }


# --- the configuration change (update path) --------------------------------------------------


@dataclass(frozen=True)
class ConfigChange:
    """The value changed between the two deployments: one model's ``max_output_tokens``.

    Chosen because moto applies it end to end (the inference function's environment is
    updated in place); see README for the changes moto accepts but does not apply.
    """

    alias: str
    before: int
    after: int

    def describe(self) -> str:
        return f"models[{self.alias}].max_output_tokens {self.before} -> {self.after}"

    def apply(self, config_file: Path) -> None:
        data = yaml.safe_load(config_file.read_text(encoding="utf-8"))
        for model in data["models"]:
            if model["alias"] == self.alias:
                model["max_output_tokens"] = self.after
        config_file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


# --- custom resources: the rehearsal plays the handler's part --------------------------------


@dataclass
class CustomResourceRequest:
    """The properties CloudFormation would send a replaced custom resource's handler."""

    stack: str
    logical_id: str
    resource_type: str
    properties: dict[str, Any]

    def call(self, kind: str) -> dict[str, Any] | None:
        raw = self.properties.get(kind)
        call = json.loads(raw) if isinstance(raw, str) else raw
        if isinstance(call, dict) and "service" in call and "action" in call:
            return call
        return None


def read_requests(moto: Moto, assembly: Assembly) -> list[CustomResourceRequest]:
    requests = []
    for stack, lid, r in assembly.resources():
        replaced = (r.get("Metadata") or {}).get(REPLACED_TYPE_KEY)
        if r.get("Type") != CUSTOM_RESOURCE_REQUEST or not replaced:
            continue
        name = f"/rehearsal/{stack}/{lid}"
        value = moto("ssm").get_parameter(Name=name)["Parameter"]["Value"]
        requests.append(CustomResourceRequest(stack, lid, str(replaced), json.loads(value)))
    return requests


def _decode(value: Any) -> Any:
    """AwsCustomResource's encoded values (``'TRUE:BOOLEAN'``) as the SDK call receives them."""
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if value == "TRUE:BOOLEAN":
        return True
    if value == "FALSE:BOOLEAN":
        return False
    return value


def replay(moto: Moto, request: CustomResourceRequest, kind: str) -> str:
    """Make the SDK call an ``AwsCustomResource`` handler would make for ``kind`` (Create...)."""
    label = f"{request.stack} {request.logical_id} ({request.resource_type})"
    if not any(request.call(k) for k in ("Create", "Update", "Delete")):
        return f"{label}: not an AwsCustomResource SDK call; recorded, not replayed"
    call = request.call(kind)
    if call is None:
        return f"{label}: no {kind} call"
    service = str(call["service"]).removeprefix("@aws-sdk/client-").lower()
    action = xform_name(str(call["action"]).removesuffix("Command"))
    try:
        getattr(moto(service), action)(**_decode(call.get("parameters") or {}))
    except Exception as exc:
        raise RehearsalError(f"{label}: replaying {kind} {service}.{action} failed: {exc}") from exc
    return f"{label}: {kind} -> {service}.{action} replayed against moto"


# --- AWS-published public SSM parameters --------------------------------------------------------

#: The Powertools for AWS Lambda (Python) layer ARN AWS publishes per architecture, Python and
#: release (FIELD-NOTES; the landing zone resolves it at deploy time).
POWERTOOLS_LAYER_PARAMETER = re.compile(
    r"^/aws/service/powertools/python/(?P<arch>arm64|x86_64)/python(?P<python>[0-9.]+)/"
    r"(?P<version>[^/]+)$"
)


def _layer_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("python/rehearsal_layer.txt", "a stand-in layer published to moto\n")
    return buffer.getvalue()


def provide_public_parameters(moto: Moto, report: TransformReport) -> list[str]:
    """Create, in moto, what the rewritten public parameter defaults name (``PUBLIC_PARAMETER``).

    A Powertools layer parameter gets the ARN of a layer published to moto under a name saying
    what it stands for, so the functions are created (and updated) with a layer that exists.
    Any other public parameter is an error naming it: add its stand-in here.
    """
    lines = []
    for name in sorted({n for _, _, n in report.public_parameters}):
        match = POWERTOOLS_LAYER_PARAMETER.match(name)
        if match is None:
            raise RehearsalError(
                f"public SSM parameter {name}: the rehearsal has no stand-in value for it; add "
                "one to provide_public_parameters in rehearsal/lifecycle.py"
            )
        arch, python, version = match["arch"], match["python"], match["version"]
        layer = f"rehearsal-powertools-python-{arch}-python{python}-{version}".replace(".", "_")
        arn = moto("lambda").publish_layer_version(
            LayerName=layer, Content={"ZipFile": _layer_zip()}, CompatibleArchitectures=[arch]
        )["LayerVersionArn"]
        moto("ssm").put_parameter(
            Name=PUBLIC_PARAMETER_PREFIX + name, Value=arn, Type="String", Overwrite=True
        )
        lines.append(f"{PUBLIC_PARAMETER_PREFIX}{name} = {arn} (a layer published to moto)")
    return lines


# --- what moto would not delete (rehearsal/survivors.py) ------------------------------------------


def fill_delete_gaps(clock: Clock, moto: Moto, resources: Sequence[Deployed]) -> None:
    """Delete, through the service APIs, what moto would not (``MOTO_DELETE_GAPS``)."""
    counts: dict[str, int] = {}
    for r in reversed(resources):
        gap = MOTO_DELETE_GAPS.get(r.resource_type)
        if gap is None or r.retained:
            continue
        gap[1](moto, r)
        counts[r.resource_type] = counts.get(r.resource_type, 0) + 1
    for resource_type, count in counts.items():
        clock.info(f"deleted {count} {resource_type} ahead: {MOTO_DELETE_GAPS[resource_type][0]}")


# --- the CDK CLI -----------------------------------------------------------------------------


class Lifecycle:
    """The CDK CLI's runs in ``work``, with ``env`` (``cli_environment``: moto, nothing real)."""

    def __init__(self, work: Path, env: Mapping[str, str], change: ConfigChange) -> None:
        self.work = work
        self.env = env
        self.change = change

    def cdk(self, what: str, *args: str, timeout_key: str, cwd: Path | None = None) -> str:
        job = start_job(
            what,
            [str(CDK), *args, "--no-notices"],
            env=self.env,
            cwd=cwd or self.work,
            timeout=TIMEOUTS[timeout_key],
        )
        return job.result()

    def synthesize(self, meanwhile: Callable[[], object] = lambda: None) -> tuple[Path, Path, Path]:
        """The default environment as it is, and with ``self.change`` (in parallel); runs
        ``meanwhile`` once both have started (a synth needs no AWS: moto may still start)."""
        initial, updated = self.work / "synth-initial", self.work / "synth-update"
        app = self.work / "changed-app"
        app.mkdir()
        shutil.copy2(ROOT / "app.py", app / "app.py")
        shutil.copytree(ROOT / "config", app / "config")
        self.change.apply(app / "config" / f"{ENV_NAME}.yaml")
        synth = ["synth", "-c", f"env={ENV_NAME}", "--quiet", "--no-notices"]
        jobs = [
            start_job(
                "cdk synth (as configured)",
                [str(CDK), *synth, "-o", str(initial)],
                env=self.env,
                cwd=ROOT,
                timeout=TIMEOUTS["synth"],
            ),
            start_job(
                f"cdk synth ({self.change.describe()})",
                [
                    str(CDK),
                    *synth,
                    "--app",
                    f"{shlex.quote(str(PYTHON))} {shlex.quote(str(app / 'app.py'))}",
                    "-o",
                    str(updated),
                ],
                env={**self.env, "PYTHONPATH": str(ROOT)},
                cwd=ROOT,
                timeout=TIMEOUTS["synth"],
            ),
        ]
        meanwhile()
        for job in jobs:
            job.result()
        return initial, updated, app / "config"

    def transform(self, source: Path, name: str) -> Assembly:
        """A transformed copy of the assembly in ``source`` (``rehearsal/transform.py``)."""
        destination = self.work / name
        report = transform_assembly(source, destination)
        return Assembly.load(destination, report)

    def bootstrap(self, region: str) -> None:
        self.cdk(
            "cdk bootstrap",
            "bootstrap",
            f"aws://{ACCOUNT}/{region}",
            timeout_key="bootstrap",
        )

    def deploy(self, assembly: Assembly, what: str, *extra: str) -> None:
        self.cdk(
            what,
            "deploy",
            "--all",
            "--app",
            str(assembly.directory),
            "--require-approval",
            "never",
            "--method",
            "direct",
            *extra,
            timeout_key="deploy",
        )

    def create(self, assembly: Assembly) -> None:
        """The first ``cdk deploy --all``."""
        # moto forgets defaulted parameters, so the update's UsePreviousValue would fail: state
        # the templates' own defaults explicitly on the first deployment.
        parameters = [f"BootstrapVersion={BOOTSTRAP_VERSION_PARAMETER}"]
        parameters += stated_defaults(assembly)
        self.deploy(
            assembly,
            "cdk deploy (create)",
            *(arg for value in parameters for arg in ("--parameters", value)),
        )

    def update(self, assembly: Assembly) -> None:
        """``cdk deploy --all`` of the changed assembly."""
        self.deploy(assembly, "cdk deploy (update)")

    def destroy(self, assembly: Assembly) -> None:
        self.cdk(
            "cdk destroy",
            "destroy",
            "--all",
            "--force",
            "--app",
            str(assembly.directory),
            timeout_key="destroy",
        )
