"""Tracing graph bodies: calling ops inside ``@graph``/``@job`` records nodes and edges."""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dagwright.errors import DagwrightDefinitionError

if TYPE_CHECKING:
    from dagwright.definitions.op import OpDefinition


@dataclass(frozen=True)
class NodeOutput:
    """A handle on one output of a node, passed between ops in a graph body."""

    node: str
    output: str


@dataclass(frozen=True)
class GraphInput:
    """A handle on an input of the graph being composed."""

    name: str


InputSource = NodeOutput | GraphInput


@dataclass(frozen=True)
class Node:
    """One use of an op in a graph, under a unique name, with where its inputs come from."""

    name: str
    op: OpDefinition
    inputs: Mapping[str, InputSource]


@dataclass
class _Composition:
    graph_name: str
    prefix: str = ""
    nodes: dict[str, Node] = field(default_factory=dict)
    op_names: dict[str, OpDefinition] = field(default_factory=dict)


class _Stack(threading.local):
    def __init__(self) -> None:
        self.frames: list[_Composition] = []


_STACK = _Stack()


def is_composing() -> bool:
    """Whether a graph body is being traced in this thread."""
    return bool(_STACK.frames)


def compose(graph_name: str, body: Callable[..., Any], params: list[str]) -> dict[str, Node]:
    """Trace a graph body and return its nodes in the order they were called.

    Raises:
        DagwrightDefinitionError: an op is wired wrongly inside the body.
    """
    frame = _Composition(graph_name)
    _STACK.frames.append(frame)
    try:
        body(*[GraphInput(p) for p in params])
    finally:
        _STACK.frames.pop()
    if not frame.nodes:
        raise DagwrightDefinitionError(f"graph {graph_name!r} calls no op")
    return frame.nodes


def compose_nested(
    prefix: str, body: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Trace a graph body inside the current one, its nodes named ``prefix.node``."""
    frame = _STACK.frames[-1]
    saved = frame.prefix
    unique, number = prefix, 2
    while any(key.startswith(f"{saved}{unique}.") for key in frame.nodes):
        unique, number = f"{prefix}_{number}", number + 1
    frame.prefix = f"{saved}{unique}."
    try:
        return body(*args, **kwargs)
    finally:
        frame.prefix = saved


def _node_name(frame: _Composition, op_def: OpDefinition, name: str) -> str:
    known = frame.op_names.get(op_def.name)
    if known is not None and known is not op_def:
        raise DagwrightDefinitionError(
            f"graph {frame.graph_name!r}: two different ops are named {op_def.name!r}"
        )
    frame.op_names[op_def.name] = op_def
    full = frame.prefix + name
    if full not in frame.nodes:
        return full
    if name != op_def.name:
        raise DagwrightDefinitionError(
            f"graph {frame.graph_name!r}: the alias {name!r} is used twice"
        )
    number = 2
    while f"{full}_{number}" in frame.nodes:
        number += 1
    return f"{full}_{number}"


def _bind_inputs(
    node: str, op_def: OpDefinition, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, InputSource]:
    names = op_def.input_names
    if len(args) > len(names):
        raise DagwrightDefinitionError(
            f"op {node!r} takes {len(names)} inputs ({', '.join(names) or 'none'}), "
            f"got {len(args)} positional arguments"
        )
    bound: dict[str, Any] = dict(zip(names, args, strict=False))
    for key, value in kwargs.items():
        if key not in op_def.ins:
            raise DagwrightDefinitionError(
                f"op {node!r} has no input {key!r} (inputs: {', '.join(names) or 'none'})"
            )
        if key in bound:
            raise DagwrightDefinitionError(f"op {node!r}: input {key!r} given twice")
        bound[key] = value
    for key, value in bound.items():
        if not isinstance(value, (NodeOutput, GraphInput)):
            raise DagwrightDefinitionError(
                f"op {node!r} input {key!r} must be the output of another op, "
                f"not {type(value).__name__}"
            )
    for key, spec in op_def.ins.items():
        if key not in bound and not spec.has_default:
            raise DagwrightDefinitionError(
                f"op {node!r} input {key!r} is not connected and has no default value"
            )
    return bound


def invoke(op_def: OpDefinition, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Record a call of ``op_def`` in the current graph body; return its output handles."""
    frame = _STACK.frames[-1]
    node_name = _node_name(frame, op_def, name)
    inputs = _bind_inputs(node_name, op_def, args, kwargs)
    frame.nodes[node_name] = Node(node_name, op_def, inputs)
    handles = [NodeOutput(node_name, out) for out in op_def.outs]
    if len(handles) == 1:
        return handles[0]
    outputs: Any = namedtuple("Outputs", list(op_def.outs))  # type: ignore[misc]
    return outputs(*handles)
