"""Execution plans: which steps a run executes, in which order, and op selection."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from dagwright.definitions.composition import Node, NodeOutput
from dagwright.definitions.graph import GraphDefinition
from dagwright.errors import DagwrightInvalidConfigError

_SELECTION_RE = re.compile(r"^(\*|\+*)([^*+\s]+)(\*|\+*)$")


@dataclass(frozen=True)
class Step:
    """One node to execute, and the steps of this plan whose outputs it reads."""

    key: str
    node: Node
    upstream: tuple[str, ...]


@dataclass(frozen=True)
class ExecutionPlan:
    """The steps of a run in a valid execution order (every step after its upstream)."""

    steps: tuple[Step, ...]

    @property
    def step_keys(self) -> list[str]:
        """Step keys in execution order."""
        return [step.key for step in self.steps]


def _neighbours(graph: GraphDefinition) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    ups: dict[str, set[str]] = {name: set() for name in graph.nodes}
    downs: dict[str, set[str]] = {name: set() for name in graph.nodes}
    for edge in graph.edges:
        ups[edge.to_node].add(edge.from_node)
        downs[edge.from_node].add(edge.to_node)
    return ups, downs


def _walk(start: str, links: Mapping[str, set[str]], depth: int | None) -> set[str]:
    seen: set[str] = set()
    frontier = {start}
    level = 0
    while frontier and (depth is None or level < depth):
        frontier = {n for node in frontier for n in links[node]} - seen
        seen |= frontier
        level += 1
    return seen


def _depth(marks: str) -> int | None:
    return None if marks == "*" else len(marks)


def resolve_selection(graph: GraphDefinition, selection: Sequence[str]) -> set[str]:
    """Expand a Dagster-style op selection into node names.

    ``name`` selects a node; ``*name`` adds all its ancestors, ``+name`` its parents (one
    ``+`` per level); ``name*`` and ``name+`` do the same downstream.

    Raises:
        DagwrightInvalidConfigError: an item is malformed or matches no node.
    """
    if isinstance(selection, str) or not isinstance(selection, Iterable) or not selection:
        raise DagwrightInvalidConfigError("op_selection", "must be a non-empty list of op names")
    ups, downs = _neighbours(graph)
    selected: set[str] = set()
    for item in selection:
        match = _SELECTION_RE.match(item.strip()) if isinstance(item, str) else None
        if match is None or match.group(2) not in graph.nodes:
            known = ", ".join(graph.nodes)
            raise DagwrightInvalidConfigError(
                "op_selection", f"{item!r} matches no op (ops: {known})"
            )
        before, name, after = match.groups()
        selected.add(name)
        if before:
            selected |= _walk(name, ups, _depth(before))
        if after:
            selected |= _walk(name, downs, _depth(after))
    return selected


def build_plan(
    graph: GraphDefinition,
    selected: Iterable[str] | None = None,
    provided: Iterable[NodeOutput] = (),
) -> ExecutionPlan:
    """Plan the execution of ``selected`` nodes (all if None).

    Args:
        graph: the job's graph.
        selected: node names to execute.
        provided: outputs of unselected nodes that are available anyway (re-execution).

    Raises:
        DagwrightInvalidConfigError: a selected op reads an output nobody provides.
    """
    chosen = set(graph.nodes) if selected is None else set(selected)
    available = set(provided)
    steps = []
    for name, node in graph.nodes.items():
        if name not in chosen:
            continue
        upstream = set()
        for input_name, source in node.inputs.items():
            if not isinstance(source, NodeOutput):
                continue
            if source.node in chosen:
                upstream.add(source.node)
            elif source not in available and not node.op.ins[input_name].has_default:
                raise DagwrightInvalidConfigError(
                    "op_selection",
                    f"op {name!r} needs input {input_name!r} from {source.node!r}, "
                    "which is not selected",
                )
        steps.append(Step(name, node, tuple(sorted(upstream))))
    return ExecutionPlan(tuple(steps))
