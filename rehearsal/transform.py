"""The rehearsal's one transformation of a synthesized cloud assembly.

moto deploys CloudFormation templates, but not every resource type or intrinsic the landing zone
uses. Rather than letting moto skip what it does not know (a ``GetAtt`` on a skipped resource then
fails ``create_stack``; a custom resource waits for a Lambda run that needs Docker, and hangs),
this module rewrites a *copy* of the assembly, explicitly and only where ``REPLACEMENTS`` and
``GET_STACK_OUTPUT`` say:

1. every resource whose type has a row in ``REPLACEMENTS`` is replaced by that row's stand-in,
   keeping its logical ID, ``DependsOn``, ``Condition``, ``Metadata``, ``DeletionPolicy`` and
   ``UpdateReplacePolicy`` (and recording the original type in ``Metadata``);
2. every ``Ref`` and ``Fn::GetAtt`` (also inside ``Fn::Sub`` strings) that points at a replaced
   resource becomes the row's deterministic fake value (an ``Fn::Sub`` over the pseudo parameters
   when the value is an ARN), so nothing dangles;
3. every ``Fn::GetStackOutput`` (CDK's cross-stack reference; moto 5.2.5 does not implement it
   and would pass the object through as a literal) becomes ``Fn::ImportValue`` of an export that
   is added to the producing stack's output;
4. the few properties in ``ADAPTATIONS`` (types moto does model, but where moto 5.2.5 has a bug
   that stops the resource from being created or updated) are rewritten to the form moto reads;
5. every template parameter of type ``AWS::SSM::Parameter::Value<...>`` whose default names an
   AWS-published public parameter (``/aws/...``, e.g. the Powertools layer ARN) defaults instead
   to the same name under ``PUBLIC_PARAMETER_PREFIX``, which the rehearsal fills in moto
   (``PUBLIC_PARAMETER``: moto neither serves those parameters nor lets anyone create them).

Nothing else changes: types not in the tables are left alone, and the CDK asset manifests keep
their hashes (the template asset is uploaded under its original object key). The module is pure
(no moto, no AWS): ``tests/rehearsal/test_transform.py`` checks each row on small templates.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ADAPTATIONS",
    "CUSTOM_RESOURCE_REQUEST",
    "DROP",
    "EXPORT_NAME",
    "GET_STACK_OUTPUT",
    "PUBLIC_PARAMETER",
    "PUBLIC_PARAMETER_PREFIX",
    "REPLACED_TYPE_KEY",
    "REPLACEMENTS",
    "WAIT_CONDITION_HANDLE",
    "Adaptation",
    "AssemblyStack",
    "Replacement",
    "TransformError",
    "TransformReport",
    "custom_resource_request_name",
    "markdown_table",
    "replacement_for",
    "transform_assembly",
    "transform_template",
    "transform_templates",
]

WAIT_CONDITION_HANDLE = "AWS::CloudFormation::WaitConditionHandle"
CUSTOM_RESOURCE_REQUEST = "AWS::SSM::Parameter"
#: Metadata key recording what a stand-in replaces (ignored by CloudFormation and moto).
REPLACED_TYPE_KEY = "rehearsal:replaces"
#: ``Fn::ImportValue`` name that replaces ``Fn::GetStackOutput``: ``<StackName>:<OutputName>``.
EXPORT_NAME = "{stack}:{output}"
#: The row of the intrinsic rewrite, for the documentation.
GET_STACK_OUTPUT = (
    "Fn::GetStackOutput",
    "Fn::ImportValue of `<StackName>:<OutputName>`, and that Export added to the producing "
    "stack's output",
    "CDK emits Fn::GetStackOutput for cross-stack references; moto 5.2.5 does not implement it "
    "(its template parser passes the object through as a literal value). Export/ImportValue is "
    "the equivalent moto resolves; the stacks are deployed in dependency order either way.",
)

#: Where the rehearsal puts its stand-ins of AWS-published public SSM parameters (``/aws/...``).
PUBLIC_PARAMETER_PREFIX = "/rehearsal/public"
#: The row of the parameter rewrite, for the documentation.
PUBLIC_PARAMETER = (
    "`AWS::SSM::Parameter::Value<...>` parameter defaulting to a public `/aws/...` name",
    f"the same name under `{PUBLIC_PARAMETER_PREFIX}`, created in moto by the rehearsal before "
    "the first deploy (the Powertools layer ARN: a layer of that name published to moto)",
    "AWS publishes these parameters (e.g. `/aws/service/powertools/...`); moto 5.2.5 serves only "
    "a few AMI and region lists under `/aws/` and refuses to create reserved names, so resolving "
    "the default fails create_stack (AttributeError in load_parameters)",
)

_KEPT_ATTRIBUTES = ("DependsOn", "Condition", "Metadata", "DeletionPolicy", "UpdateReplacePolicy")
_ARN = "arn:${AWS::Partition}:"
_REGIONAL = "${AWS::Region}:${AWS::AccountId}"


class TransformError(Exception):
    """The assembly cannot be transformed as the table says (the message names what and where)."""


@dataclass(frozen=True)
class Replacement:
    """One row of the table: a resource type moto cannot deploy, and what stands in for it.

    ``ref`` and ``attributes`` are the fake values of ``Ref`` and of each ``Fn::GetAtt``
    attribute (``"*"``: any attribute). Placeholders: ``<id>`` is ``rehearsal-`` plus the
    lower-cased logical ID, ``<attr>`` the attribute name, ``<Properties.X>`` the resource's
    literal property ``X``. A ``GetAtt`` of an attribute not listed is an error, not a guess.
    """

    resource_type: str
    replaced_by: str
    reason: str
    ref: str
    attributes: Mapping[str, str] = field(default_factory=dict)

    def matches(self, resource_type: str) -> bool:
        if self.resource_type.endswith("::*"):
            return resource_type.startswith(self.resource_type[:-1])
        return resource_type == self.resource_type


_NO_MODEL = "moto 5.2.5 has no CloudFormation model for it (skipped with a warning)"
_CUSTOM_REASON = (
    "Lambda-backed custom resource: moto would invoke the handler in Docker (none here) and "
    "wait for its response, so the deploy hangs. The stand-in stores the request CloudFormation "
    "would send (its properties, resolved by moto) as JSON, so the rehearsal can play the "
    "handler's part for AwsCustomResource calls against moto."
)

REPLACEMENTS: tuple[Replacement, ...] = (
    Replacement(
        "AWS::Bedrock::Guardrail",
        WAIT_CONDITION_HANDLE,
        f"{_NO_MODEL}, nor a guardrail API; its GuardrailId/GuardrailArn feed SSM parameters, "
        "IAM conditions and outputs, and a GetAtt on a skipped resource fails create_stack",
        ref=f"{_ARN}bedrock:{_REGIONAL}:guardrail/<id>",
        attributes={
            "GuardrailArn": f"{_ARN}bedrock:{_REGIONAL}:guardrail/<id>",
            "GuardrailId": "<id>",
            "Version": "DRAFT",
            "Status": "READY",
        },
    ),
    Replacement(
        "AWS::Bedrock::GuardrailVersion",
        WAIT_CONDITION_HANDLE,
        f"{_NO_MODEL}; its Version feeds SSM parameters, IAM conditions and outputs",
        ref=f"{_ARN}bedrock:{_REGIONAL}:guardrail/<id>:1",
        attributes={
            "GuardrailArn": f"{_ARN}bedrock:{_REGIONAL}:guardrail/<id>",
            "GuardrailId": "<id>",
            "Version": "1",
        },
    ),
    Replacement(
        "AWS::Bedrock::ApplicationInferenceProfile",
        WAIT_CONDITION_HANDLE,
        f"{_NO_MODEL}; its InferenceProfileArn feeds IAM policies and outputs",
        ref=f"{_ARN}bedrock:{_REGIONAL}:application-inference-profile/<id>",
        attributes={
            "InferenceProfileArn": f"{_ARN}bedrock:{_REGIONAL}:application-inference-profile/<id>",
            "InferenceProfileId": "<id>",
            "InferenceProfileIdentifier": (
                f"{_ARN}bedrock:{_REGIONAL}:application-inference-profile/<id>"
            ),
            "Status": "ACTIVE",
            "Type": "APPLICATION",
        },
    ),
    Replacement(
        "AWS::Budgets::Budget",
        WAIT_CONDITION_HANDLE,
        f"{_NO_MODEL} (moto's budgets API is not wired to CloudFormation)",
        ref="<id>",
        attributes={"Id": "<id>"},
    ),
    Replacement(
        "AWS::Bedrock::EnforcedGuardrailConfiguration",
        WAIT_CONDITION_HANDLE,
        f"{_NO_MODEL}, nor moto's bedrock API (account-level guardrail enforcement)",
        ref="<id>",
        attributes={"ConfigId": "<id>"},
    ),
    Replacement(
        "AWS::Bedrock::ResourcePolicy",
        WAIT_CONDITION_HANDLE,
        f"{_NO_MODEL}, nor moto's bedrock API (the guardrail's resource-based policy)",
        ref="<id>",
    ),
    Replacement(
        "AWS::CDK::Metadata",
        WAIT_CONDITION_HANDLE,
        f"CDK's version-reporting resource; {_NO_MODEL}",
        ref="<id>",
    ),
    Replacement(
        "AWS::S3::BucketPolicy",
        WAIT_CONDITION_HANDLE,
        f"{_NO_MODEL}; the bucket itself is deployed",
        ref="<id>",
        attributes={"Id": "<id>"},
    ),
    Replacement(
        "AWS::SNS::TopicPolicy",
        WAIT_CONDITION_HANDLE,
        f"{_NO_MODEL}; the topic itself is deployed",
        ref="<id>",
        attributes={"Id": "<id>"},
    ),
    Replacement(
        "AWS::EC2::SecurityGroupEgress",
        WAIT_CONDITION_HANDLE,
        f"{_NO_MODEL}; the security groups and their ingress rules are deployed",
        ref="<id>",
        attributes={"Id": "<id>"},
    ),
    Replacement(
        "AWS::ApiGateway::Account",
        WAIT_CONDITION_HANDLE,
        f"{_NO_MODEL} (a region-wide setting: the CloudWatch role of API Gateway)",
        ref="<id>",
        attributes={"Id": "<id>"},
    ),
    Replacement(
        "AWS::ApiGateway::GatewayResponse",
        WAIT_CONDITION_HANDLE,
        f"{_NO_MODEL}; the API, its resources, methods and deployment are deployed",
        ref="<id>",
        attributes={"Id": "<id>"},
    ),
    Replacement(
        "AWS::ApiGateway::Model",
        WAIT_CONDITION_HANDLE,
        f"{_NO_MODEL}; the API, its resources, methods and deployment are deployed",
        ref="<id>",
    ),
    Replacement(
        "AWS::ApiGateway::RequestValidator",
        WAIT_CONDITION_HANDLE,
        f"{_NO_MODEL}; the API, its resources, methods and deployment are deployed",
        ref="<id>",
        attributes={"RequestValidatorId": "<id>"},
    ),
    Replacement(
        "AWS::ApiGateway::Stage",
        WAIT_CONDITION_HANDLE,
        f"{_NO_MODEL}; Ref (the stage name, in the API URL) keeps the real StageName",
        ref="<Properties.StageName>",
    ),
    Replacement(
        "AWS::CloudWatch::Alarm",
        WAIT_CONDITION_HANDLE,
        f"{_NO_MODEL}; alarms only act in a real account",
        ref="<id>",
        attributes={"Arn": f"{_ARN}cloudwatch:{_REGIONAL}:alarm:<id>"},
    ),
    Replacement(
        "AWS::CloudWatch::CompositeAlarm",
        WAIT_CONDITION_HANDLE,
        f"{_NO_MODEL}; alarms only act in a real account",
        ref="<id>",
        attributes={"Arn": f"{_ARN}cloudwatch:{_REGIONAL}:alarm:<id>"},
    ),
    Replacement(
        "Custom::*",
        CUSTOM_RESOURCE_REQUEST,
        _CUSTOM_REASON,
        ref="<id>",
        attributes={"*": "<id>-<attr>"},
    ),
    Replacement(
        "AWS::CloudFormation::CustomResource",
        CUSTOM_RESOURCE_REQUEST,
        _CUSTOM_REASON,
        ref="<id>",
        attributes={"*": "<id>-<attr>"},
    ),
)


@dataclass(frozen=True)
class Adaptation:
    """One row of the second table: a property of a type moto models, rewritten for a moto bug.

    ``adapt`` gets the property's value and returns the new one, or ``DROP`` to remove the
    property; values it does not recognise (an intrinsic, an already adapted form) come back
    unchanged.
    """

    resource_type: str
    property: str
    change: str
    reason: str
    adapt: Callable[[Any], Any]


#: Returned by ``Adaptation.adapt`` to remove the property.
DROP: Any = object()


def _kms_tags(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    return [
        {"TagKey": t["Key"], "TagValue": t["Value"]}
        if isinstance(t, dict) and set(t) == {"Key", "Value"}
        else t
        for t in value
    ]


def _ssm_tags(value: Any) -> Any:
    if not isinstance(value, dict) or _is_intrinsic(value):
        return value
    return [{"Key": k, "Value": v} for k, v in value.items()]


def _is_intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = str(next(iter(value)))
    return key == "Ref" or key.startswith("Fn::")


def _policy_text(value: Any) -> Any:
    if not isinstance(value, dict) or _is_intrinsic(value):
        return value
    return {"Fn::ToJsonString": value}


def _external_layers(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    kept = [layer for layer in value if not isinstance(layer, str)]
    return kept or DROP


ADAPTATIONS: tuple[Adaptation, ...] = (
    Adaptation(
        "AWS::KMS::Key",
        "Tags",
        "`[{Key, Value}]` -> `[{TagKey, TagValue}]`",
        "moto 5.2.5 hands the CloudFormation tags to its KMS tagger, which expects the KMS API's "
        "TagKey/TagValue: KeyError, the key is not created and every GetAtt on it fails",
        _kms_tags,
    ),
    Adaptation(
        "AWS::KMS::Key",
        "KeyPolicy",
        "JSON object -> `Fn::ToJsonString` of it (a JSON string, as the KMS API takes it)",
        "moto 5.2.5 stores the object as the key's policy and every KMS call on the key then "
        "fails (json.loads of a dict: HTTP 500)",
        _policy_text,
    ),
    Adaptation(
        "AWS::SSM::Parameter",
        "Tags",
        "`{key: value}` -> `[{Key, Value}]`",
        "CloudFormation's SSM parameter Tags is a map; moto 5.2.5 iterates it as a list of "
        "Key/Value pairs: TypeError, the parameter is not created",
        _ssm_tags,
    ),
    Adaptation(
        "AWS::Lambda::Function",
        "Layers",
        "literal layer ARNs (layers published elsewhere, e.g. AWS's Powertools layer) removed",
        "moto 5.2.5 ignores Layers on create but on update looks every ARN up among the layers "
        "published to it by name: ResourceNotFound for a public layer, the update fails. Layers "
        "defined in the same template (Ref) are kept",
        _external_layers,
    ),
)


def replacement_for(resource_type: str) -> Replacement | None:
    """The table row for ``resource_type``, or None (the type is left untouched)."""
    return next((row for row in REPLACEMENTS if row.matches(resource_type)), None)


def custom_resource_request_name(logical_id: str) -> dict[str, Any]:
    """The name of the SSM parameter that stands in for custom resource ``logical_id``."""
    return {"Fn::Sub": f"/rehearsal/${{AWS::StackName}}/{logical_id}"}


@dataclass
class TransformReport:
    """What a transformation changed, for printing and assertions."""

    #: (stack, logical ID, original type, stand-in type)
    replaced: list[tuple[str, str, str, str]] = field(default_factory=list)
    #: (consuming stack, producing stack, output name)
    imports: list[tuple[str, str, str]] = field(default_factory=list)
    #: (stack, logical ID, property)
    adapted: list[tuple[str, str, str]] = field(default_factory=list)
    #: (stack, template parameter, public SSM parameter name it defaulted to)
    public_parameters: list[tuple[str, str, str]] = field(default_factory=list)
    #: resources in the templates transformed (replaced or not)
    resources: int = 0

    def replaced_by_type(self) -> dict[str, int]:
        """How many resources of each original type were replaced, most first."""
        counts: dict[str, int] = {}
        for _, _, old, _ in self.replaced:
            counts[old] = counts.get(old, 0) + 1
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def summary(self) -> str:
        """``replaced N of M resources: <count> <type>, ...``: what moto does not deploy."""
        by_type = ", ".join(f"{n} {t}" for t, n in self.replaced_by_type().items())
        head = f"replaced {len(self.replaced)} of {self.resources} resources"
        return f"{head}: {by_type}" if by_type else head

    def lines(self) -> list[str]:
        """One line per stack and replaced type, adapted property, and producer of imports."""
        counts: dict[str, int] = {}
        for stack, _, old, new in self.replaced:
            key = f"{stack}: {old} -> {new}"
            counts[key] = counts.get(key, 0) + 1
        for stack, _, prop in self.adapted:
            key = f"{stack}: property {prop} adapted"
            counts[key] = counts.get(key, 0) + 1
        for consumer, producer, _ in self.imports:
            key = f"{consumer}: Fn::GetStackOutput of {producer} -> Fn::ImportValue"
            counts[key] = counts.get(key, 0) + 1
        for stack, _, name in self.public_parameters:
            key = f"{stack}: public parameter {name} -> {PUBLIC_PARAMETER_PREFIX}{name}"
            counts[key] = counts.get(key, 0) + 1
        return [f"{key} (x{n})" if n > 1 else key for key, n in counts.items()]

    def details(self) -> list[str]:
        """Every change, one per line."""
        out = [f"{s}: {lid} {old} -> {new}" for s, lid, old, new in self.replaced]
        out += [f"{s}: {lid} property {prop} adapted" for s, lid, prop in self.adapted]
        out += [f"{c}: Fn::GetStackOutput {p}.{o} -> Fn::ImportValue" for c, p, o in self.imports]
        out += [
            f"{s}: parameter {p} default {n} -> {PUBLIC_PARAMETER_PREFIX}{n}"
            for s, p, n in self.public_parameters
        ]
        return out


# --- one template ----------------------------------------------------------------------------


def _fake(template: str, logical_id: str, resource: Mapping[str, Any], attr: str = "") -> Any:
    properties = resource.get("Properties") or {}
    is_sub = "${" in template  # only the table's own text may reference pseudo parameters

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "id":
            text = f"rehearsal-{logical_id.lower()}"
        elif key == "attr":
            text = attr
        else:
            name = key.removeprefix("Properties.")
            literal = properties.get(name)
            if not isinstance(literal, str):
                raise TransformError(
                    f"{logical_id}: the fake value needs the literal property {name!r}, "
                    f"which is {literal!r}"
                )
            text = literal
        return text.replace("${", "${!") if is_sub else text

    text = re.sub(r"<(id|attr|Properties\.[A-Za-z0-9]+)>", value, template)
    return {"Fn::Sub": text} if is_sub else text


def _fake_ref(row: Replacement, logical_id: str, resource: Mapping[str, Any]) -> Any:
    return _fake(row.ref, logical_id, resource)


def _fake_attribute(
    row: Replacement, logical_id: str, resource: Mapping[str, Any], attr: str
) -> Any:
    template = row.attributes.get(attr, row.attributes.get("*"))
    if template is None:
        raise TransformError(
            f"Fn::GetAtt {logical_id}.{attr}: {resource['Type']} is replaced in the rehearsal and "
            f"its table row has no fake value for {attr!r}; add it to REPLACEMENTS in "
            "rehearsal/transform.py"
        )
    return _fake(template, logical_id, resource, attr)


def _as_sub_text(value: Any) -> str:
    """A fake value as text inside an ``Fn::Sub`` template string."""
    if isinstance(value, dict):
        return str(value["Fn::Sub"])
    return str(value).replace("${", "${!")


_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


def _rewrite(node: Any, replaced: Mapping[str, tuple[Replacement, Mapping[str, Any]]]) -> Any:
    """``node`` with every Ref/GetAtt (and Fn::Sub variable) on a replaced resource faked."""
    if isinstance(node, list):
        return [_rewrite(item, replaced) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((key, value),) = node.items()
        if key == "Ref" and isinstance(value, str) and value in replaced:
            row, resource = replaced[value]
            return _fake_ref(row, value, resource)
        if key == "Fn::GetAtt":
            target, attr = _get_att(value)
            if target in replaced:
                row, resource = replaced[target]
                return _fake_attribute(row, target, resource, attr)
        if key == "Fn::Sub":
            return {"Fn::Sub": _rewrite_sub(value, replaced)}
    return {key: _rewrite(value, replaced) for key, value in node.items()}


def _get_att(value: Any) -> tuple[str, str]:
    if isinstance(value, str) and "." in value:
        target, attr = value.split(".", 1)
        return target, attr
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
        return value[0], str(value[1])
    return "", ""


def _rewrite_sub(value: Any, replaced: Mapping[str, tuple[Replacement, Mapping[str, Any]]]) -> Any:
    if isinstance(value, list) and len(value) == 2:
        text, variables = value
        variables = _rewrite(variables, replaced)
        local = set(variables) if isinstance(variables, dict) else set()
        return [_rewrite_sub_text(text, replaced, local), variables]
    if isinstance(value, str):
        return _rewrite_sub_text(value, replaced, set())
    return _rewrite(value, replaced)


def _rewrite_sub_text(
    text: Any, replaced: Mapping[str, tuple[Replacement, Mapping[str, Any]]], local: set[str]
) -> Any:
    if not isinstance(text, str):
        return text

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        target, _, attr = name.partition(".")
        if name in local or target not in replaced:
            return match.group(0)
        row, resource = replaced[target]
        if attr:
            return _as_sub_text(_fake_attribute(row, target, resource, attr))
        return _as_sub_text(_fake_ref(row, target, resource))

    return _SUB_VARIABLE.sub(substitute, text)


def _stand_in(logical_id: str, resource: Mapping[str, Any], row: Replacement) -> dict[str, Any]:
    new: dict[str, Any] = {"Type": row.replaced_by}
    if row.replaced_by == CUSTOM_RESOURCE_REQUEST:
        new["Properties"] = {
            "Name": custom_resource_request_name(logical_id),
            "Type": "String",
            "Description": f"Rehearsal stand-in for {resource['Type']} {logical_id}",
            "Value": {"Fn::ToJsonString": resource.get("Properties") or {}},
        }
    elif row.replaced_by != WAIT_CONDITION_HANDLE:  # pragma: no cover - table invariant
        raise TransformError(f"unknown stand-in {row.replaced_by}")
    for key in _KEPT_ATTRIBUTES:
        if key in resource:
            new[key] = copy.deepcopy(resource[key])
    metadata = new.get("Metadata")
    new["Metadata"] = {**(metadata if isinstance(metadata, dict) else {})}
    new["Metadata"][REPLACED_TYPE_KEY] = resource["Type"]
    return new


def transform_template(
    template: Mapping[str, Any], *, stack: str = "", report: TransformReport | None = None
) -> dict[str, Any]:
    """A transformed deep copy of one template: ``REPLACEMENTS``, ``ADAPTATIONS``, then
    parameter defaults naming public ``/aws/...`` SSM parameters (``PUBLIC_PARAMETER``).

    (``Fn::GetStackOutput`` spans templates: see ``transform_templates``.)
    """
    resources: Mapping[str, Any] = template.get("Resources") or {}
    replaced: dict[str, tuple[Replacement, Mapping[str, Any]]] = {}
    for logical_id, resource in resources.items():
        row = replacement_for(str(resource.get("Type", "")))
        if row is not None:
            replaced[logical_id] = (row, resource)
    if report is not None:
        report.resources += len(resources)
    out: dict[str, Any] = _rewrite(copy.deepcopy(dict(template)), replaced)
    for logical_id, (row, original) in replaced.items():
        out["Resources"][logical_id] = _stand_in(logical_id, out["Resources"][logical_id], row)
        if report is not None:
            report.replaced.append((stack, logical_id, original["Type"], row.replaced_by))
    for logical_id, resource in (out.get("Resources") or {}).items():
        properties = resource.get("Properties")
        if not isinstance(properties, dict):
            continue
        for adaptation in ADAPTATIONS:
            if resource.get("Type") != adaptation.resource_type:
                continue
            if adaptation.property not in properties:
                continue
            before = properties[adaptation.property]
            after = adaptation.adapt(before)
            if after is DROP:
                del properties[adaptation.property]
            elif after == before:
                continue
            else:
                properties[adaptation.property] = after
            if report is not None:
                report.adapted.append((stack, logical_id, adaptation.property))
    for name, parameter in (out.get("Parameters") or {}).items():
        default = parameter.get("Default") if isinstance(parameter, dict) else None
        kind = str(parameter.get("Type", "")) if isinstance(parameter, dict) else ""
        if not kind.startswith("AWS::SSM::Parameter::Value<") or not isinstance(default, str):
            continue
        if not default.startswith("/aws/"):
            continue
        parameter["Default"] = PUBLIC_PARAMETER_PREFIX + default
        if report is not None:
            report.public_parameters.append((stack, name, default))
    return out


# --- several templates: Fn::GetStackOutput ---------------------------------------------------


def _get_stack_outputs(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _get_stack_outputs(item)
    elif isinstance(node, dict):
        if len(node) == 1 and "Fn::GetStackOutput" in node:
            yield node
        else:
            for value in node.values():
                yield from _get_stack_outputs(value)


def transform_templates(
    templates: Mapping[str, Mapping[str, Any]],
    *,
    regions: Mapping[str, str],
    report: TransformReport | None = None,
) -> dict[str, dict[str, Any]]:
    """Transform the templates of one assembly, keyed by stack name (``regions``: stack region).

    Each template gets ``transform_template``; each ``Fn::GetStackOutput`` becomes
    ``Fn::ImportValue`` of ``<StackName>:<OutputName>`` and the producer's output gets that
    ``Export`` (same region and assembly only: anything else is a ``TransformError``).
    """
    out = {name: transform_template(t, stack=name, report=report) for name, t in templates.items()}
    exports: dict[tuple[str, str], str] = {}
    for consumer, template in out.items():
        for node in _get_stack_outputs(template):
            spec = node.pop("Fn::GetStackOutput")
            if not isinstance(spec, dict) or not {"StackName", "OutputName"} <= set(spec):
                raise TransformError(f"{consumer}: unexpected Fn::GetStackOutput {spec!r}")
            producer, output = spec["StackName"], spec["OutputName"]
            if not isinstance(producer, str) or not isinstance(output, str):
                raise TransformError(
                    f"{consumer}: Fn::GetStackOutput needs a literal StackName and OutputName, "
                    f"got {spec!r}"
                )
            if producer not in out:
                raise TransformError(
                    f"{consumer}: Fn::GetStackOutput of stack {producer!r}, which is not in this "
                    "assembly"
                )
            region = spec.get("Region", regions.get(consumer))
            if region != regions.get(producer) or region != regions.get(consumer):
                raise TransformError(
                    f"{consumer}: Fn::GetStackOutput across regions ({region} vs "
                    f"{regions.get(producer)}): moto's exports are per region"
                )
            if "RoleArn" in spec:
                raise TransformError(f"{consumer}: Fn::GetStackOutput with RoleArn (cross-account)")
            outputs = out[producer].get("Outputs") or {}
            if output not in outputs:
                raise TransformError(f"{consumer}: stack {producer} has no output {output!r}")
            name = EXPORT_NAME.format(stack=producer, output=output)
            node["Fn::ImportValue"] = name
            exports[(producer, output)] = name
            if report is not None:
                report.imports.append((consumer, producer, output))
    for (producer, output), name in exports.items():
        declared = out[producer]["Outputs"][output]
        existing = declared.get("Export")
        if existing is not None and existing != {"Name": name}:
            raise TransformError(f"{producer}: output {output} already has an export {existing!r}")
        declared["Export"] = {"Name": name}
    return out


# --- a cloud assembly directory --------------------------------------------------------------


@dataclass(frozen=True)
class AssemblyStack:
    """One stack artifact of a cloud assembly."""

    artifact_id: str
    stack_name: str
    region: str
    template_file: str


def assembly_stacks(directory: Path) -> list[AssemblyStack]:
    """The stack artifacts of the assembly in ``directory``, in manifest (deployment) order."""
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    stacks = []
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        kind = artifact.get("type")
        if kind == "cdk:cloud-assembly":
            raise TransformError(
                f"{artifact_id}: nested cloud assemblies (Stages) are not supported by the "
                "rehearsal; deploy top-level stacks"
            )
        if kind != "aws:cloudformation:stack":
            continue
        props = artifact.get("properties", {})
        region = str(artifact.get("environment", "")).rsplit("/", 1)[-1]
        stacks.append(
            AssemblyStack(
                artifact_id=artifact_id,
                stack_name=props.get("stackName", artifact_id),
                region=region,
                template_file=props["templateFile"],
            )
        )
    return stacks


def transform_assembly(source: Path, destination: Path) -> TransformReport:
    """Copy the assembly ``source`` to ``destination`` (must not exist) and transform it there."""
    shutil.copytree(source, destination, symlinks=True)
    stacks = assembly_stacks(destination)
    templates = {
        s.stack_name: json.loads((destination / s.template_file).read_text(encoding="utf-8"))
        for s in stacks
    }
    report = TransformReport()
    transformed = transform_templates(
        templates, regions={s.stack_name: s.region for s in stacks}, report=report
    )
    for s in stacks:
        (destination / s.template_file).write_text(
            json.dumps(transformed[s.stack_name], indent=1), encoding="utf-8"
        )
    return report


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_table() -> str:
    """The tables as Markdown (``python -m rehearsal --table``; the README shows them)."""
    rows = [
        "| Resource type | Replaced by | Fake `Ref` / `GetAtt` values | Why |",
        "| --- | --- | --- | --- |",
    ]
    for row in REPLACEMENTS:
        fakes = [f"Ref `{row.ref}`"] + [f"{a} `{v}`" for a, v in row.attributes.items()]
        cells = [f"`{row.resource_type}`", f"`{row.replaced_by}`", "; ".join(fakes), row.reason]
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    name, by, why = GET_STACK_OUTPUT
    what, to, because = PUBLIC_PARAMETER
    rows += [
        "",
        "| Intrinsic or parameter | Rewritten to | Why |",
        "| --- | --- | --- |",
        f"| `{name}` | {_cell(by)} | {_cell(why)} |",
        f"| {_cell(what)} | {_cell(to)} | {_cell(because)} |",
        "",
        "| Resource type | Property | Change | Why (moto bug) |",
        "| --- | --- | --- | --- |",
    ]
    for a in ADAPTATIONS:
        cells = [f"`{a.resource_type}`", f"`{a.property}`", a.change, a.reason]
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(rows)
