"""Read a synthesized cloud assembly (``cdk.out``): its stacks, their resources and the
references between them. Standard library only (no CDK import).

What is read:

* ``manifest.json``: the stacks (``aws:cloudformation:stack`` artifacts, also those of nested
  ``cdk:cloud-assembly`` artifacts for stages), their CloudFormation names and dependencies, and
  their metadata (``aws:cdk:logicalId`` entries map each logical id to its construct path);
* each stack's ``*.template.json``: resource types, properties and outputs;
* ``tree.json``: the construct tree, used to find construct paths when the metadata has none.

``load_assembly`` gives the ``Assembly`` model; ``find_references`` lists the references in a
template value and ``ResourceIndex`` resolves them to resources, across stacks (outputs,
exports) and, if asked, through SSM parameters that one stack publishes and another reads.
``find_templates`` lists the templates of an assembly directory without reading its manifest
(the dashboard preview reads them one by one).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bedrock_landing_zone.pictures.intrinsics import SUB_VAR, resolve_text

__all__ = [
    "Assembly",
    "AssemblyError",
    "Reference",
    "Resource",
    "ResourceIndex",
    "Stack",
    "as_list",
    "as_mapping",
    "cdk_logical_id",
    "environment_names",
    "find_references",
    "find_templates",
    "load_assembly",
]

# --------------------------------------------------------------------------- stacks and resources


class AssemblyError(ValueError):
    """The directory is not a readable cloud assembly."""


_TRAILING_IDS = ("Resource", "Default")


@dataclass(frozen=True)
class Resource:
    """One CloudFormation resource and where it sits in the construct tree."""

    stack: str  # artifact id of its stack
    logical_id: str
    type: str
    path: str  # construct path inside the stack ("" when unknown)
    properties: Mapping[str, Any]

    @property
    def key(self) -> tuple[str, str]:
        return self.stack, self.logical_id

    @property
    def construct(self) -> str:
        """The path of the construct that owns the resource (``.../Resource`` dropped)."""
        parts = self.path.split("/") if self.path else []
        while len(parts) > 1 and parts[-1] in _TRAILING_IDS:
            parts.pop()
        return "/".join(parts)

    @property
    def group(self) -> str:
        """The top-level construct of the stack that the resource belongs to."""
        return self.path.split("/", 1)[0] if self.path else ""


@dataclass(frozen=True)
class Stack:
    """One stack artifact of the assembly."""

    id: str  # artifact id
    name: str  # CloudFormation stack name
    display: str  # construct path of the stack
    environment: str  # aws://account/region
    dependencies: tuple[str, ...]  # artifact ids of stacks
    resources: tuple[Resource, ...]  # in template order
    outputs: Mapping[str, Any]
    order: int
    parameters: Mapping[str, Any] = field(default_factory=dict)  # the template's Parameters

    @property
    def region(self) -> str:
        return self.environment.rsplit("/", 1)[-1] if self.environment else ""

    def resource(self, logical_id: str) -> Resource | None:
        return next((r for r in self.resources if r.logical_id == logical_id), None)


@dataclass(frozen=True)
class Assembly:
    stacks: tuple[Stack, ...]

    def stack(self, artifact_id: str) -> Stack:
        return next(s for s in self.stacks if s.id == artifact_id)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AssemblyError(f"{path} not found: run `make synth` first") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AssemblyError(f"cannot read {path}: {exc}") from exc


def as_mapping(value: Any) -> Mapping[str, Any]:
    """A template value that should be an object, or ``{}``."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """A template value that may be a list or one item, as a list."""
    return value if isinstance(value, list) else [value]


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _tree_nodes(tree: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Every node of ``tree.json`` by its construct path."""
    nodes: dict[str, Mapping[str, Any]] = {}
    pending = [as_mapping(tree.get("tree"))]
    while pending:
        node = pending.pop()
        path = node.get("path")
        if isinstance(path, str):
            nodes[path] = node
        pending.extend(as_mapping(child) for child in as_mapping(node.get("children")).values())
    return nodes


def _remove_dupes(parts: Sequence[str]) -> list[str]:
    kept: list[str] = []
    for part in parts:
        if not kept or not kept[-1].endswith(part):
            kept.append(part)
    return kept


def cdk_logical_id(parts: Sequence[str]) -> str:
    """The logical id the CDK allocates to a resource at construct path ``parts`` (in its stack).

    Used when the assembly has no ``aws:cdk:logicalId`` metadata (CDK's ``makeUniqueId``).
    """
    parts = [p for p in parts if p != "Default"]
    if len(parts) == 1:
        top = re.sub(r"[^A-Za-z0-9]", "", parts[0])
        if len(top) <= 255:
            return top
    digest = hashlib.md5("/".join(parts).encode(), usedforsecurity=False).hexdigest().upper()[:8]
    human = "".join(re.sub(r"[^A-Za-z0-9]", "", p) for p in _remove_dupes(parts) if p != "Resource")
    return human[:240] + digest


def _logical_paths(
    stack_path: str, metadata: Mapping[str, Any], tree_nodes: Mapping[str, Mapping[str, Any]]
) -> dict[str, str]:
    """Logical id -> construct path inside the stack, from metadata, else from the tree."""
    prefix = stack_path + "/"
    found: dict[str, str] = {}
    for path, entries in sorted(metadata.items()):
        inner = path.lstrip("/")
        if not inner.startswith(prefix) or not isinstance(entries, list):
            continue
        for raw in entries:
            entry = as_mapping(raw)
            if entry.get("type") == "aws:cdk:logicalId" and isinstance(entry.get("data"), str):
                found.setdefault(entry["data"], inner[len(prefix) :])
    if found:
        return found
    for path, node in sorted(tree_nodes.items()):
        attributes = as_mapping(node.get("attributes"))
        if path.startswith(prefix) and "aws:cdk:cloudformation:type" in attributes:
            inner = path[len(prefix) :]
            found.setdefault(cdk_logical_id(inner.split("/")), inner)
    return found


def _stack_artifacts(
    directory: Path, manifest: Mapping[str, Any], prefix: str
) -> Iterator[tuple[Path, str, Mapping[str, Any]]]:
    """(assembly dir, artifact id, artifact) of every stack, nested assemblies included."""
    for artifact_id, raw in as_mapping(manifest.get("artifacts")).items():
        artifact = as_mapping(raw)
        kind = artifact.get("type")
        if kind == "aws:cloudformation:stack":
            yield directory, prefix + artifact_id, artifact
        elif kind == "cdk:cloud-assembly":
            nested = as_mapping(artifact.get("properties")).get("directoryName")
            if isinstance(nested, str) and (directory / nested / "manifest.json").is_file():
                inner = _read_json(directory / nested / "manifest.json")
                yield from _stack_artifacts(directory / nested, as_mapping(inner), prefix)


def load_assembly(cdk_out: Path) -> Assembly:
    """Read the stacks of a cloud assembly directory (``cdk.out``).

    Raises ``AssemblyError`` when ``manifest.json`` or a template cannot be read.
    """
    manifest = as_mapping(_read_json(cdk_out / "manifest.json"))
    tree_file = cdk_out / "tree.json"
    tree_nodes = _tree_nodes(as_mapping(_read_json(tree_file))) if tree_file.is_file() else {}
    artifacts = list(_stack_artifacts(cdk_out, manifest, ""))
    stack_ids = {artifact_id for _dir, artifact_id, _a in artifacts}
    stacks: list[Stack] = []
    for order, (directory, artifact_id, artifact) in enumerate(artifacts):
        props = as_mapping(artifact.get("properties"))
        template_file = props.get("templateFile")
        if not isinstance(template_file, str):
            raise AssemblyError(f"stack {artifact_id} has no templateFile in its manifest")
        template = as_mapping(_read_json(directory / template_file))
        metadata = dict(as_mapping(artifact.get("metadata")))
        extra = artifact.get("additionalMetadataFile")
        if isinstance(extra, str) and (directory / extra).is_file():
            metadata.update(as_mapping(_read_json(directory / extra)))
        display = artifact.get("displayName")
        display = display if isinstance(display, str) else artifact_id
        paths = _logical_paths(display, metadata, tree_nodes)
        resources = []
        for logical_id, raw in as_mapping(template.get("Resources")).items():
            resource = as_mapping(raw)
            kind = resource.get("Type")
            if not isinstance(kind, str) or kind == "AWS::CDK::Metadata":
                continue
            path = paths.get(logical_id)
            if path is None:  # the template's own path metadata, when the CLI adds it
                meta = as_mapping(resource.get("Metadata")).get("aws:cdk:path")
                path = meta.split("/", 1)[1] if isinstance(meta, str) and "/" in meta else ""
                if isinstance(meta, str) and meta.startswith(display + "/"):
                    path = meta[len(display) + 1 :]
            resources.append(
                Resource(
                    stack=artifact_id,
                    logical_id=logical_id,
                    type=kind,
                    path=path,
                    properties=as_mapping(resource.get("Properties")),
                )
            )
        name = props.get("stackName")
        environment = artifact.get("environment")
        stacks.append(
            Stack(
                id=artifact_id,
                name=name if isinstance(name, str) else artifact_id,
                display=display,
                environment=environment if isinstance(environment, str) else "",
                dependencies=tuple(
                    d for d in _strings(artifact.get("dependencies")) if d in stack_ids
                ),
                resources=tuple(resources),
                outputs=as_mapping(template.get("Outputs")),
                order=order,
                parameters=as_mapping(template.get("Parameters")),
            )
        )
    return Assembly(stacks=tuple(stacks))


def environment_names(assembly: Assembly) -> list[str]:
    """The environment names in the stack names ``bedrock-lz-<env>-<unit>`` (team stacks:
    ``bedrock-lz-<env>-team-<team>``), sorted."""
    names = set()
    for stack in assembly.stacks:
        match = re.fullmatch(r"bedrock-lz-(.+?)-team-[a-z0-9-]+", stack.name) or re.fullmatch(
            r"bedrock-lz-(.+)-[A-Za-z0-9]+", stack.name
        )
        if match:
            names.add(match.group(1))
    return sorted(names)


# --------------------------------------------------------------------------- references


@dataclass(frozen=True)
class Reference:
    """A reference in a template value, to a resource or parameter of the same stack, to an
    output of another stack or to an export."""

    kind: str  # "local", "output" or "export"
    name: str  # logical id, output name or export name
    stack_name: str  # for outputs
    where: tuple[str, ...]  # the property keys that lead to the reference


def _sub_refs(arg: Any, where: tuple[str, ...]) -> Iterator[Reference]:
    template, variables = (
        (arg[0], arg[1] if len(arg) > 1 else {}) if isinstance(arg, list) and arg else (arg, {})
    )
    variables = as_mapping(variables)
    if isinstance(template, str):
        for match in SUB_VAR.finditer(template):
            name = match.group(1).split(".", 1)[0]
            if name and not name.startswith(("!", "AWS::")) and name not in variables:
                yield Reference("local", name, "", where)
    yield from find_references(dict(variables), where)


def find_references(value: Any, where: tuple[str, ...] = ()) -> Iterator[Reference]:
    """Every reference in a template value: ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` variables,
    ``Fn::GetStackOutput`` and ``Fn::ImportValue``."""
    if isinstance(value, list):
        for item in value:
            yield from find_references(item, where)
        return
    if not isinstance(value, dict):
        return
    if len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            if isinstance(arg, str) and not arg.startswith("AWS::"):
                yield Reference("local", arg, "", where)
            return
        if key == "Fn::GetAtt":
            target = arg[0] if isinstance(arg, list) and arg else arg
            if isinstance(target, str):
                yield Reference("local", target.split(".", 1)[0], "", where)
            return
        if key == "Fn::Sub":
            yield from _sub_refs(arg, where)
            return
        if key == "Fn::GetStackOutput":
            arg = as_mapping(arg)
            stack_name, output = arg.get("StackName"), arg.get("OutputName")
            if isinstance(stack_name, str) and isinstance(output, str):
                yield Reference("output", output, stack_name, where)
            return
        if key == "Fn::ImportValue":
            yield Reference("export", resolve_text(arg), "", where)
            return
    for key, item in value.items():
        yield from find_references(item, (*where, str(key)))


class ResourceIndex:
    """Resolves references to resources, across stacks too; with ``through_ssm``, also through
    SSM parameters that one stack publishes and another reads."""

    def __init__(self, assembly: Assembly, *, through_ssm: bool = False) -> None:
        self.assembly = assembly
        self.through_ssm = through_ssm
        self.by_key = {r.key: r for s in assembly.stacks for r in s.resources}
        self.by_name = {s.name: s for s in assembly.stacks}
        self.exports: dict[str, tuple[Stack, str]] = {}
        for stack in assembly.stacks:
            for output_name, output in stack.outputs.items():
                export = as_mapping(as_mapping(output).get("Export")).get("Name")
                if export is not None:
                    name = resolve_text(export).replace("${AWS::StackName}", stack.name)
                    self.exports.setdefault(name, (stack, output_name))
        # SSM parameters by name: a stack that reads one (a template parameter of type
        # AWS::SSM::Parameter::Value<...>) refers to what the parameter's value refers to.
        self.ssm: dict[str, Resource] = {}
        for stack in assembly.stacks:
            for res in stack.resources:
                parameter_name = res.properties.get("Name")
                if res.type == "AWS::SSM::Parameter" and isinstance(parameter_name, str):
                    self.ssm.setdefault(parameter_name, res)

    def _output(self, stack: Stack, output_name: str, depth: int) -> list[Resource]:
        value = as_mapping(stack.outputs.get(output_name)).get("Value")
        return [r for ref in find_references(value) for r in self.resolve(stack, ref, depth + 1)]

    def resolve(self, stack: Stack, ref: Reference, depth: int = 0) -> list[Resource]:
        """The resources a reference made in ``stack`` stands for (none for parameters)."""
        if depth > 4:
            return []
        if ref.kind == "local":
            found = self.by_key.get((stack.id, ref.name))
            return [found] if found else self._parameter(stack, ref.name, depth)
        if ref.kind == "output":
            producer = self.by_name.get(ref.stack_name)
            return self._output(producer, ref.name, depth) if producer else []
        exported = self.exports.get(ref.name)
        return self._output(exported[0], exported[1], depth) if exported else []

    def _parameter(self, stack: Stack, name: str, depth: int) -> list[Resource]:
        """What a template parameter read from an SSM parameter of this assembly refers to."""
        parameter = as_mapping(stack.parameters.get(name)) if self.through_ssm else {}
        kind, default = parameter.get("Type"), parameter.get("Default")
        if not (isinstance(kind, str) and kind.startswith("AWS::SSM::Parameter::Value")):
            return []
        holder = self.ssm.get(default) if isinstance(default, str) else None
        if holder is None:
            return []
        owner = self.assembly.stack(holder.stack)
        value = holder.properties.get("Value")
        return [r for ref in find_references(value) for r in self.resolve(owner, ref, depth + 1)]

    def references(self, resource: Resource) -> Iterator[tuple[Resource, Reference]]:
        """(target, reference) for every reference in the resource's properties."""
        return self.references_in(resource, resource.properties)

    def references_in(self, resource: Resource, value: Any) -> Iterator[tuple[Resource, Reference]]:
        """(target, reference) for every reference in ``value``, a part of ``resource``."""
        stack = self.assembly.stack(resource.stack)
        for ref in find_references(value):
            for target in self.resolve(stack, ref):
                yield target, ref


# --------------------------------------------------------------------------- templates alone


def find_templates(cdk_out: Path) -> list[Path]:
    """``*.template.json`` in a cloud assembly and, recursively, its ``assembly-*`` dirs."""
    found = sorted(p for p in cdk_out.glob("*.template.json") if p.is_file())
    for nested in sorted(p for p in cdk_out.glob("assembly-*") if p.is_dir()):
        found += find_templates(nested)
    return found
