"""Graphs: ops wired together by a traced body; ``to_job`` turns one into a job."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from dagwright.definitions import composition
from dagwright.definitions.composition import GraphInput, Node, NodeOutput
from dagwright.definitions.op import _check_name
from dagwright.errors import DagwrightDefinitionError

if TYPE_CHECKING:
    from dagwright.definitions.job import JobDefinition
    from dagwright.definitions.partitions import PartitionsDefinition
    from dagwright.execution.executors import ExecutorDefinition


@dataclass(frozen=True)
class Edge:
    """A value flowing from one node's output to another node's input."""

    from_node: str
    from_output: str
    to_node: str
    to_input: str


@dataclass(frozen=True, eq=False)
class GraphDefinition:
    """Ops wired together. Made by :func:`graph` (or by :func:`~dagwright.job`)."""

    name: str
    body: Callable[..., Any]
    nodes: Mapping[str, Node]
    input_names: tuple[str, ...] = ()
    description: str | None = None

    @property
    def edges(self) -> list[Edge]:
        """Every edge between two nodes, in node order."""
        return [
            Edge(src.node, src.output, node.name, input_name)
            for node in self.nodes.values()
            for input_name, src in node.inputs.items()
            if isinstance(src, NodeOutput)
        ]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.alias(self.name)(*args, **kwargs)

    def alias(self, name: str) -> Callable[..., Any]:
        """Use this graph inside another graph body under another name."""
        _check_name(name, "graph alias")

        def invoke(*args: Any, **kwargs: Any) -> Any:
            if not composition.is_composing():
                raise DagwrightDefinitionError(
                    f"graph {self.name!r} can only be called inside a @graph or @job body"
                )
            try:
                inspect.signature(self.body).bind(*args, **kwargs)
            except TypeError as exc:
                raise DagwrightDefinitionError(f"graph {name!r}: {exc}") from None
            return composition.compose_nested(name, self.body, args, kwargs)

        return invoke

    def to_job(
        self,
        name: str | None = None,
        description: str | None = None,
        metadata: Mapping[str, object] | None = None,
        tags: Mapping[str, object] | None = None,
        config: Any = None,
        executor_def: ExecutorDefinition | None = None,
        partitions_def: PartitionsDefinition | None = None,
    ) -> JobDefinition:
        """Make a job of this graph.

        Raises:
            DagwrightDefinitionError: the graph has unconnected inputs, or an option is bad.
        """
        from dagwright.definitions.job import JobDefinition, caller_location

        if self.input_names:
            raise DagwrightDefinitionError(
                f"graph {self.name!r} has inputs ({', '.join(self.input_names)}); "
                "a job's graph cannot have unconnected inputs"
            )
        return JobDefinition.create(
            name=name or self.name,
            graph=self,
            description=description if description is not None else self.description,
            metadata=metadata,
            tags=tags,
            config=config,
            executor_def=executor_def,
            partitions_def=partitions_def,
            defined_in=caller_location(),
        )


def make_graph(
    body: Callable[..., Any], name: str | None = None, description: str | None = None
) -> GraphDefinition:
    """Trace ``body`` into a :class:`GraphDefinition` (what ``@graph`` does)."""
    graph_name = _check_name(name or body.__name__, "graph")
    params = list(inspect.signature(body).parameters)
    nodes = composition.compose(graph_name, body, params)
    for node in nodes.values():
        for src in node.inputs.values():
            if isinstance(src, GraphInput) and src.name not in params:
                raise DagwrightDefinitionError(f"graph {graph_name!r}: unknown input {src.name!r}")
    return GraphDefinition(
        name=graph_name,
        body=body,
        nodes=nodes,
        input_names=tuple(params),
        description=description if description is not None else inspect.getdoc(body),
    )


@overload
def graph(fn: Callable[..., Any], /) -> GraphDefinition: ...


@overload
def graph(
    *, name: str | None = None, description: str | None = None
) -> Callable[[Callable[..., Any]], GraphDefinition]: ...


def graph(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
) -> GraphDefinition | Callable[[Callable[..., Any]], GraphDefinition]:
    """Turn a function whose body calls ops into a graph (``@graph`` or ``@graph(name=)``).

    Raises:
        DagwrightDefinitionError: an op is wired wrongly, or the body calls no op.
    """
    if fn is not None:
        return make_graph(fn)
    return lambda body: make_graph(body, name=name, description=description)
