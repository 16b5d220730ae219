"""Tests for dagwright.definitions.graph and .composition: tracing bodies into nodes and edges."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest

from dagwright import (
    DagwrightDefinitionError,
    GraphDefinition,
    JobDefinition,
    NodeOutput,
    Out,
    graph,
    op,
)
from dagwright.definitions import composition
from dagwright.definitions.composition import GraphInput
from dagwright.definitions.graph import Edge


@op
def emit() -> int:
    return 1


@op
def double(x: int) -> int:
    return 2 * x


@op
def add(x: int, y: int) -> int:
    return x + y


@op
def maybe(x: int = 0) -> int:
    return x


@op(out={"left": Out(int), "right": Out(int)})
def two_outputs() -> tuple[int, int]:
    return 1, 2


def _other_emit() -> int:
    return 2


#: A different op that is also called ``emit``.
OTHER_EMIT = op(name="emit")(_other_emit)


def _edges(definition: GraphDefinition) -> set[tuple[str, str, str, str]]:
    return {(e.from_node, e.from_output, e.to_node, e.to_input) for e in definition.edges}


def test_calling_ops_records_nodes_and_edges() -> None:
    @graph
    def pipeline() -> None:
        """Emit and double."""
        double(emit())

    assert isinstance(pipeline, GraphDefinition)
    assert pipeline.name == "pipeline"
    assert pipeline.description == "Emit and double."
    assert list(pipeline.nodes) == ["emit", "double"]
    assert pipeline.nodes["double"].op is double
    assert pipeline.nodes["double"].inputs == {"x": NodeOutput("emit", "result")}
    assert pipeline.nodes["emit"].inputs == {}
    assert pipeline.edges == [Edge("emit", "result", "double", "x")]
    assert pipeline.input_names == ()


def test_inputs_can_be_passed_by_keyword_and_position() -> None:
    @graph
    def mixed() -> None:
        first, second = emit(), emit()
        add(first, y=second)
        add(y=first, x=second)

    assert mixed.nodes["add"].inputs == {
        "x": NodeOutput("emit", "result"),
        "y": NodeOutput("emit_2", "result"),
    }
    assert mixed.nodes["add_2"].inputs == {
        "x": NodeOutput("emit_2", "result"),
        "y": NodeOutput("emit", "result"),
    }


def test_one_output_feeds_several_inputs() -> None:
    @graph
    def fan_out() -> None:
        value = emit()
        add(value, value)
        double(value)

    assert _edges(fan_out) == {
        ("emit", "result", "add", "x"),
        ("emit", "result", "add", "y"),
        ("emit", "result", "double", "x"),
    }


def test_edges_follow_node_order() -> None:
    @graph
    def ordered() -> None:
        value = emit()
        add(double(value), double(value))

    assert ordered.edges == [
        Edge("emit", "result", "double", "x"),
        Edge("emit", "result", "double_2", "x"),
        Edge("double", "result", "add", "x"),
        Edge("double_2", "result", "add", "y"),
    ]


def test_multi_output_op_returns_a_namedtuple_of_handles() -> None:
    seen: list[Any] = []

    @graph
    def split() -> None:
        handles = two_outputs()
        seen.append(handles)
        left, right = handles
        add(left, right)
        double(handles.right)

    (handles,) = seen
    assert handles._fields == ("left", "right")
    assert handles.left == NodeOutput("two_outputs", "left")
    assert handles.right == NodeOutput("two_outputs", "right")
    assert _edges(split) == {
        ("two_outputs", "left", "add", "x"),
        ("two_outputs", "right", "add", "y"),
        ("two_outputs", "right", "double", "x"),
    }


def test_single_output_op_returns_one_handle() -> None:
    seen: list[Any] = []

    @graph
    def single() -> None:
        seen.append(emit())

    assert seen == [NodeOutput("emit", "result")]


@pytest.mark.parametrize("times", [2, 3, 5])
def test_same_op_twice_gets_numbered_aliases(times: int) -> None:
    def body() -> None:
        for _ in range(times):
            emit()

    made = graph(body)
    assert list(made.nodes) == ["emit"] + [f"emit_{n}" for n in range(2, times + 1)]
    assert all(node.op is emit for node in made.nodes.values())


def test_alias_names_a_node() -> None:
    @graph
    def aliased() -> None:
        source = emit.alias("source")()
        double.alias("twice")(source)
        double(source)

    assert list(aliased.nodes) == ["source", "twice", "double"]
    assert aliased.nodes["twice"].op is double
    assert aliased.nodes["twice"].inputs == {"x": NodeOutput("source", "result")}


def test_aliases_and_numbered_names_mix() -> None:
    @graph
    def mixed() -> None:
        emit()
        emit.alias("emit_2")()
        emit()

    assert list(mixed.nodes) == ["emit", "emit_2", "emit_3"]


def test_an_op_with_a_default_input_may_be_left_unconnected() -> None:
    @graph
    def defaults() -> None:
        maybe()
        maybe(emit())

    assert defaults.nodes["maybe"].inputs == {}
    assert defaults.nodes["maybe_2"].inputs == {"x": NodeOutput("emit", "result")}


# -- wiring errors ----------------------------------------------------------------------


def _duplicate_alias() -> None:
    emit.alias("x")()
    emit.alias("x")()


def _two_ops_same_name() -> None:
    emit()
    OTHER_EMIT()


def _unknown_input() -> None:
    double(z=emit())


def _too_many_positional() -> None:
    value = emit()
    double(value, value)


def _positional_to_no_input_op() -> None:
    emit(emit())


def _input_given_twice() -> None:
    value = emit()
    double(value, x=value)


def _unconnected_input() -> None:
    add(emit())


def _int_argument() -> None:
    double(5)


def _string_keyword_argument() -> None:
    add(emit(), y="text")


def _op_as_argument() -> None:
    double(emit)


def _namedtuple_as_argument() -> None:
    double(two_outputs())


def _no_op() -> None:
    pass


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        (_duplicate_alias, ["'x'", "used twice"]),
        (_two_ops_same_name, ["two different ops", "'emit'"]),
        (_unknown_input, ["op 'double'", "no input 'z'", "inputs: x"]),
        (_too_many_positional, ["op 'double'", "takes 1 inputs", "got 2"]),
        (_positional_to_no_input_op, ["op 'emit_2'", "none"]),
        (_input_given_twice, ["op 'double'", "'x' given twice"]),
        (_unconnected_input, ["op 'add'", "input 'y'", "not connected", "no default"]),
        (_int_argument, ["op 'double'", "input 'x'", "output of another op", "int"]),
        (_string_keyword_argument, ["op 'add'", "input 'y'", "str"]),
        (_op_as_argument, ["op 'double'", "input 'x'", "OpDefinition"]),
        (_namedtuple_as_argument, ["op 'double'", "input 'x'", "Outputs"]),
        (_no_op, ["graph '_no_op'", "calls no op"]),
    ],
)
def test_wiring_errors_name_the_op_and_input(
    body: Callable[[], None], fragments: list[str]
) -> None:
    with pytest.raises(DagwrightDefinitionError) as info:
        graph(body)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_a_failed_trace_leaves_no_composition_behind() -> None:
    with pytest.raises(DagwrightDefinitionError):
        graph(_unconnected_input)
    assert not composition.is_composing()
    assert double(4) == 8


def test_an_error_raised_by_the_body_propagates_and_clears_the_stack() -> None:
    def broken() -> None:
        emit()
        raise KeyError("in body")

    with pytest.raises(KeyError, match="in body"):
        graph(broken)
    assert not composition.is_composing()


@pytest.mark.parametrize("name", ["bad name", "1x", "a.b"])
def test_graph_name_must_be_an_identifier(name: str) -> None:
    with pytest.raises(DagwrightDefinitionError) as info:
        graph(name=name)(_positional_to_no_input_op)
    assert repr(name) in str(info.value)


def test_graph_options() -> None:
    @graph(name="renamed", description="explicit")
    def original() -> None:
        """Docstring."""
        emit()

    assert original.name == "renamed"
    assert original.description == "explicit"


# -- graph inputs and nesting -----------------------------------------------------------


@graph
def inner(value: Any) -> Any:
    return double(value)


@graph
def inner_no_inputs() -> None:
    emit()


def test_graph_parameters_become_graph_inputs() -> None:
    assert inner.input_names == ("value",)
    assert inner.nodes["double"].inputs == {"x": GraphInput("value")}
    assert inner.edges == []


def test_nested_graph_nodes_are_prefixed() -> None:
    @graph
    def outer() -> None:
        result = inner(emit())
        double(result)

    assert list(outer.nodes) == ["emit", "inner.double", "double"]
    assert outer.nodes["inner.double"].inputs == {"x": NodeOutput("emit", "result")}
    assert outer.nodes["double"].inputs == {"x": NodeOutput("inner.double", "result")}
    assert outer.input_names == ()


def test_nested_graph_used_twice_gets_a_numbered_prefix() -> None:
    @graph
    def outer() -> None:
        inner_no_inputs()
        inner_no_inputs()
        inner_no_inputs()

    assert list(outer.nodes) == [
        "inner_no_inputs.emit",
        "inner_no_inputs_2.emit",
        "inner_no_inputs_3.emit",
    ]


def test_nested_graph_alias_and_deeper_nesting() -> None:
    @graph
    def middle() -> None:
        inner(emit())

    @graph
    def outer() -> None:
        middle()
        middle.alias("other")()
        inner.alias("direct")(emit())

    assert list(outer.nodes) == [
        "middle.emit",
        "middle.inner.double",
        "other.emit",
        "other.inner.double",
        "emit",
        "direct.double",
    ]
    assert outer.nodes["other.inner.double"].inputs == {"x": NodeOutput("other.emit", "result")}


def test_op_names_in_nested_graph_are_checked_too() -> None:
    @graph
    def uses_other_emit() -> None:
        OTHER_EMIT()

    def outer() -> None:
        emit()
        uses_other_emit()

    with pytest.raises(DagwrightDefinitionError, match="two different ops"):
        graph(outer)


def _nested_missing_input() -> None:
    inner()


def _nested_unknown_keyword() -> None:
    inner(emit(), other=emit())


def _nested_too_many() -> None:
    inner(emit(), emit())


def _nested_non_handle() -> None:
    inner(3)


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        (_nested_missing_input, ["graph 'inner'", "'value'"]),
        (_nested_unknown_keyword, ["graph 'inner'", "'other'"]),
        (_nested_too_many, ["graph 'inner'", "positional"]),
        (_nested_non_handle, ["op 'inner.double'", "input 'x'", "int"]),
    ],
)
def test_nested_graph_call_errors_are_definition_errors(
    body: Callable[[], None], fragments: list[str]
) -> None:
    with pytest.raises(DagwrightDefinitionError) as info:
        graph(body)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_graph_outside_a_body_cannot_be_called() -> None:
    with pytest.raises(DagwrightDefinitionError, match=r"'inner'.*inside a @graph or @job"):
        inner(NodeOutput("x", "result"))


@pytest.mark.parametrize("name", ["bad name", "x.y"])
def test_graph_alias_name_must_be_an_identifier(name: str) -> None:
    with pytest.raises(DagwrightDefinitionError, match="alias"):
        inner.alias(name)


# -- to_job -----------------------------------------------------------------------------


def test_to_job_builds_a_job_defined_in_the_calling_module() -> None:
    @graph
    def pipeline() -> None:
        """Graph doc."""
        double(emit())

    made = pipeline.to_job()
    assert isinstance(made, JobDefinition)
    assert made.name == "pipeline"
    assert made.graph is pipeline
    assert made.description == "Graph doc."
    assert made.metadata == {}
    assert made.tags == {}
    assert made.op_names == ["emit", "double"]
    assert made.defined_in.module == __name__
    assert made.defined_in.file == sys.modules[__name__].__file__


def test_to_job_options() -> None:
    @graph
    def pipeline() -> None:
        emit()

    first = pipeline.to_job(name="first", description="one", tags={"team": "a"})
    second = pipeline.to_job(name="second", tags={"team": "b"})
    assert (first.name, first.description, first.tags) == ("first", "one", {"team": "a"})
    assert (second.name, second.tags) == ("second", {"team": "b"})
    assert first.graph is second.graph


def test_a_graph_with_inputs_cannot_become_a_job() -> None:
    with pytest.raises(DagwrightDefinitionError) as info:
        inner.to_job()
    assert "'inner'" in str(info.value)
    assert "value" in str(info.value)


@pytest.mark.parametrize("name", ["bad name", "1job"])
def test_to_job_name_must_be_an_identifier(name: str) -> None:
    with pytest.raises(DagwrightDefinitionError) as info:
        inner_no_inputs.to_job(name=name)
    assert repr(name) in str(info.value)
