"""What the rehearsal checks and reports after each step; ``RehearsalError`` when one fails.

- after the transformation: moto models every resource type and intrinsic left;
- after each deploy: every stack's status, the model invocation logging configuration, the SSM
  contract, and ``max_output_tokens`` where the inference function reads it (the update path);
- around ``cdk destroy``: data written into every retained resource reads back afterwards
  (nothing lost), and nothing else outlived its stack (``rehearsal/survivors.py``).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from bedrock_landing_zone.audit.logging_payload import logging_configuration
from bedrock_landing_zone.config import load_config
from rehearsal import Clock, RehearsalError
from rehearsal.lifecycle import ENV_NAME, Assembly, ConfigChange, physical_ids
from rehearsal.server import ACCOUNT, Moto
from rehearsal.survivors import (
    MOTO_RECREATES,
    SURVIVOR_PROBES,
    Deployed,
    Found,
    check_survivors,
    deployed_from,
    inventory,
    missing_probes,
)
from rehearsal.transform import REPLACED_TYPE_KEY, WAIT_CONDITION_HANDLE

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


# --- what moto can deploy --------------------------------------------------------------------


def _intrinsics(node: Any) -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from _intrinsics(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("Fn::"):
                yield key
            yield from _intrinsics(value)


def check_moto_coverage(assembly: Assembly, models: Mapping[str, bool]) -> None:
    """Fail unless moto models every resource type and intrinsic left after the transformation.

    ``models``: the resource types moto models, as the running server lists them
    (``MotoServer.modelled``, ``rehearsal/moto_main.py``'s ``model_map``)."""
    modelled = set(models) | {WAIT_CONDITION_HANDLE}
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


def diff_resources(before: Assembly, after: Assembly, models: Mapping[str, bool]) -> list[str]:
    """Human-readable resource changes between two assemblies (with moto's update support:
    ``models`` as in ``check_moto_coverage``)."""
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
                applied = models.get(new[lid]["Type"], False)
                note = "moto applies it" if applied else "moto accepts it but does not apply it"
                lines.append(f"{stack}: {lid} modified ({new[lid]['Type']}: {note})")
    return lines


# --- stacks ----------------------------------------------------------------------------------


def stack_status(cloudformation: Any, name: str) -> str:
    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return "(gone)"
        raise
    return str(stacks[0]["StackStatus"]) if stacks else "(gone)"


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


# --- model invocation logging ----------------------------------------------------------------

#: Paths (``aws:cdk:path`` suffixes) of the invocation logging construct's resources.
LOGGING_BUCKET = "/InvocationLogging/Bucket/Resource"
LOGGING_LOG_GROUP = "/InvocationLogging/LogGroup/Resource"
LOGGING_ROLE = "/InvocationLogging/DeliveryRole/Resource"


def check_invocation_logging(
    clock: Clock, moto: Moto, assembly: Assembly, config_dir: Path
) -> None:
    """The logging configuration in moto equals what ``logging_configuration`` builds."""
    config = load_config(ENV_NAME, config_dir)
    if not config.invocation_logging.enabled:
        clock.info("invocation logging is disabled in the config: nothing to check")
        return
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


def check_invocation_logging_off(clock: Clock, moto: Moto, *, enabled: bool) -> None:
    """After destroy (and the replayed ``Delete`` call) no logging configuration is left."""
    if enabled:
        logging = moto("bedrock").get_model_invocation_logging_configuration()
        if logging.get("loggingConfig"):
            raise RehearsalError("invocation logging is still configured after destroy")
        clock.info("invocation logging is off after the Delete call; its bucket, logs stay")


# --- the SSM contract ------------------------------------------------------------------------


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


# --- the update path -------------------------------------------------------------------------


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


def check_max_output_tokens(
    moto: Moto, assembly: Assembly, change: ConfigChange, *, updated: bool
) -> None:
    """Every inference function reads ``change.before``, or ``change.after`` once ``updated``."""
    tokens = inference_max_output_tokens(moto, assembly, change.alias)
    if not updated and set(tokens) != {change.before}:
        raise RehearsalError(f"max_output_tokens before the update: {tokens}")
    if updated and set(tokens) != {change.after}:
        raise RehearsalError(f"the update did not land: max_output_tokens is {tokens}")


# --- nothing lost ----------------------------------------------------------------------------

MARKER = b"written by the deploy rehearsal before cdk destroy"
MARKER_KEY = "rehearsal/nothing-lost.txt"


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
                f"{self.resource_type}; add one to Retained in rehearsal/checks.py"
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


# --- nothing else left (rehearsal/survivors.py) ----------------------------------------------


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


def check_probes(deployed: Sequence[Deployed]) -> None:
    """Before destroy: the survivor check can ask moto about every deployed type."""
    missing = missing_probes(deployed)
    if missing:
        raise RehearsalError(
            "the survivor check cannot ask moto about these types: "
            + "; ".join(missing)
            + ". Add a probe to SURVIVOR_PROBES in rehearsal/survivors.py."
        )


def probe(moto: Moto) -> Callable[[Deployed], bool]:
    """``exists`` for ``check_survivors``: the type's probe against moto."""

    def exists(r: Deployed) -> bool:
        try:
            return SURVIVOR_PROBES[r.resource_type](moto, r)
        except (ClientError, ValueError) as exc:
            raise RehearsalError(f"asking moto about {r.label()} failed: {exc}") from exc

    return exists


def check_nothing_else_left(
    clock: Clock,
    moto: Moto,
    deployed: Sequence[Deployed],
    assembly: Assembly,
    baseline: Mapping[tuple[str, str], Found],
    region: str,
) -> None:
    """After destroy: what is left is retained on purpose or re-created by moto, and no more.

    ``deployed``: every resource the stacks held; ``baseline``: what moto held before the
    first deploy (``inventory``).
    """
    after = inventory(moto)
    survivors = check_survivors(
        deployed,
        probe(moto),
        templates=assembly.templates,
        leftovers=[found for key, found in after.items() if key not in baseline],
        pseudo={
            "AWS::Region": region,
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
