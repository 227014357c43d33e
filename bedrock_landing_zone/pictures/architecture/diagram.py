"""The architecture diagram's model of an assembly: ``analyze`` reads the stacks section
(``resources``) and the request path (``request_path``), orders the stacks in columns by
dependency level (a stack is right of every stack it depends on) and adds the arrows between
stacks: lettered cross-stack references (``Fn::GetStackOutput``, ``Fn::ImportValue``),
labelled with the constructs referred to, and manifest dependencies without references.
"""

from __future__ import annotations

from collections.abc import Iterable

from bedrock_landing_zone.pictures.architecture.model import Diagram, Flow, StackView
from bedrock_landing_zone.pictures.architecture.request_path import PathFinder
from bedrock_landing_zone.pictures.architecture.resources import Analyzer
from bedrock_landing_zone.pictures.assembly import (
    Assembly,
    ResourceIndex,
    environment_names,
    find_references,
)

__all__ = ["analyze"]


def _levels(assembly: Assembly, extra: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Dependency level of each stack: 0 without dependencies, else 1 + the deepest one."""
    needs: dict[str, set[str]] = {s.id: set(s.dependencies) for s in assembly.stacks}
    for consumer, producer in extra:
        needs[consumer].add(producer)
    levels: dict[str, int] = {}

    def level(stack_id: str, visiting: frozenset[str]) -> int:
        if stack_id not in levels:
            deps = [d for d in sorted(needs[stack_id]) if d not in visiting and d in needs]
            levels[stack_id] = 1 + max((level(d, visiting | {stack_id}) for d in deps), default=-1)
        return levels[stack_id]

    for stack in assembly.stacks:
        level(stack.id, frozenset())
    return levels


def _links(assembly: Assembly, index: ResourceIndex) -> list[Flow]:
    """Stack -> stack arrows: cross-stack references, then dependencies without any."""
    referred: dict[tuple[str, str], dict[str, int]] = {}
    for stack in assembly.stacks:
        for res in stack.resources:
            for ref in find_references(res.properties):
                if ref.kind == "local":
                    continue
                for target in index.resolve(stack, ref):
                    if target.stack != stack.id:
                        groups = referred.setdefault((target.stack, stack.id), {})
                        name = target.group or target.logical_id
                        groups[name] = groups.get(name, 0) + 1
    links = []
    for (producer, consumer), groups in referred.items():
        count = sum(groups.values())
        label = ", ".join(sorted(groups)) + f" ({count} reference{'s' if count > 1 else ''})"
        links.append(Flow(producer, consumer, label, "reference"))
    for stack in assembly.stacks:
        for dep in stack.dependencies:
            if (dep, stack.id) not in referred:
                links.append(Flow(dep, stack.id, "deployment order only", "dependency"))
    return links


def analyze(assembly: Assembly) -> Diagram:
    """The diagram model of an assembly: columns of stacks, rows, stack links and flows."""
    analyzer = Analyzer(assembly)
    links = _links(assembly, analyzer.index)
    levels = _levels(assembly, ((link.target, link.source) for link in links))
    width = max(levels.values(), default=-1) + 1
    columns: list[list[StackView]] = [[] for _ in range(width)]
    for stack in sorted(assembly.stacks, key=lambda s: s.order):
        columns[levels[stack.id]].append(analyzer.stack_view(stack, levels[stack.id]))
    order = {
        row.key: (view.level, v, g, r)
        for v, view in enumerate(v for c in columns for v in c)
        for g, group in enumerate(view.groups)
        for r, row in enumerate(group.rows)
    }
    flows = sorted(analyzer.flows(), key=lambda f: (order[f.source], order[f.target]))
    stack_order = {view.stack.id: i for i, view in enumerate(v for c in columns for v in c)}
    links.sort(key=lambda f: (stack_order[f.source], stack_order[f.target]))
    envs = environment_names(assembly)
    regions = sorted({s.region for s in assembly.stacks if s.region})
    title = "Bedrock landing zone architecture"
    if envs:
        title += f" · environment {', '.join(envs)}"
    total = sum(len(s.resources) for s in assembly.stacks)
    subtitle = " · ".join(
        [
            f"{len(assembly.stacks)} stack{'s' if len(assembly.stacks) != 1 else ''}",
            f"{total} resources",
            *regions,
            "generated from the synthesized cloud assembly "
            "(manifest.json, *.template.json, tree.json)",
        ]
    )
    path = PathFinder(analyzer).build()
    return Diagram(title, subtitle, columns, analyzer.rows, links, flows, path)
