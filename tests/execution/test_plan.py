"""Tests for dagwright.execution.plan: op selection syntax and execution plans."""

from __future__ import annotations

from typing import Any

import pytest
from tests.jobs import simple

from dagwright import DagwrightInvalidConfigError, NodeOutput, job, op
from dagwright.execution.plan import ExecutionPlan, build_plan, resolve_selection

CHAIN = simple.chain.graph  # emit -> double -> double_2 -> double_3
DIAMOND = simple.diamond.graph  # emit -> double, double_2 -> add


@op
def source() -> int:
    return 1


@op
def left(x: int) -> int:
    return x


@op
def right(x: int) -> int:
    return x


@op
def join(a: int, b: int) -> int:
    return a + b


@op
def sink(x: int) -> int:
    return x


@op
def lonely() -> int:
    return 0


@job
def wide() -> None:
    """source -> left, right -> join -> sink; lonely on its own."""
    value = source()
    sink(join(left(value), right(value)))
    lonely()


WIDE = wide.graph


@pytest.mark.parametrize(
    ("graph", "selection", "expected"),
    [
        (CHAIN, ["double"], {"double"}),
        (CHAIN, ["double", "emit"], {"double", "emit"}),
        (CHAIN, ["*double_2"], {"emit", "double", "double_2"}),
        (CHAIN, ["double*"], {"double", "double_2", "double_3"}),
        (CHAIN, ["*double*"], {"emit", "double", "double_2", "double_3"}),
        (CHAIN, ["+double_3"], {"double_2", "double_3"}),
        (CHAIN, ["++double_3"], {"double", "double_2", "double_3"}),
        (CHAIN, ["+++double_3"], {"emit", "double", "double_2", "double_3"}),
        (CHAIN, ["++++++double_3"], {"emit", "double", "double_2", "double_3"}),
        (CHAIN, ["emit+"], {"emit", "double"}),
        (CHAIN, ["emit++"], {"emit", "double", "double_2"}),
        (CHAIN, ["+double+"], {"emit", "double", "double_2"}),
        (CHAIN, ["*double+"], {"emit", "double", "double_2"}),
        (CHAIN, ["+double_2*"], {"double", "double_2", "double_3"}),
        (CHAIN, ["+emit"], {"emit"}),
        (CHAIN, ["*emit"], {"emit"}),
        (CHAIN, ["double_3+"], {"double_3"}),
        (CHAIN, ["double_3*"], {"double_3"}),
        (CHAIN, [" double "], {"double"}),
        (CHAIN, ["emit", "emit"], {"emit"}),
        (CHAIN, ("double", "emit+"), {"emit", "double"}),
        (DIAMOND, ["*add"], {"emit", "double", "double_2", "add"}),
        (DIAMOND, ["+add"], {"double", "double_2", "add"}),
        (DIAMOND, ["emit+"], {"emit", "double", "double_2"}),
        (DIAMOND, ["emit*"], {"emit", "double", "double_2", "add"}),
        (DIAMOND, ["double+", "+double_2"], {"emit", "double", "double_2", "add"}),
        (WIDE, ["left*"], {"left", "join", "sink"}),
        (WIDE, ["*join"], {"source", "left", "right", "join"}),
        (WIDE, ["++sink"], {"left", "right", "join", "sink"}),
        (WIDE, ["source++"], {"source", "left", "right", "join"}),
        (WIDE, ["*lonely*"], {"lonely"}),
        (WIDE, ["+join+", "lonely"], {"left", "right", "join", "sink", "lonely"}),
    ],
)
def test_resolve_selection(graph: Any, selection: Any, expected: set[str]) -> None:
    assert resolve_selection(graph, selection) == expected


@pytest.mark.parametrize(
    "item",
    [
        "nope",
        "*nope",
        "nope+",
        "Emit",
        "emit_2",
        "",
        "  ",
        "**emit",
        "emit**",
        "*+emit",
        "emit+*",
        "e*mit",
        "+",
        "*",
        "emit double",
        "a+b",
    ],
)
def test_unknown_or_malformed_items_are_refused_listing_the_ops(item: str) -> None:
    with pytest.raises(DagwrightInvalidConfigError) as info:
        resolve_selection(CHAIN, ["emit", item])
    assert info.value.where == "op_selection"
    assert repr(item) in str(info.value)
    assert "ops: emit, double, double_2, double_3" in str(info.value)


@pytest.mark.parametrize("item", [None, 3, ["emit"]])
def test_non_string_items_are_refused(item: Any) -> None:
    with pytest.raises(DagwrightInvalidConfigError, match="matches no op"):
        resolve_selection(CHAIN, [item])


@pytest.mark.parametrize("selection", [[], (), "emit", "emit,double", ""])
def test_selection_must_be_a_non_empty_list(selection: Any) -> None:
    with pytest.raises(DagwrightInvalidConfigError) as info:
        resolve_selection(CHAIN, selection)
    assert info.value.where == "op_selection"
    assert "non-empty list" in info.value.rule


def test_nested_node_names_can_be_selected() -> None:
    from dagwright import graph

    @graph
    def inner(x: Any) -> Any:
        return left(x)

    @job
    def nested() -> None:
        sink(inner(source()))

    assert resolve_selection(nested.graph, ["inner.left+"]) == {"inner.left", "sink"}
    assert resolve_selection(nested.graph, ["+inner.left"]) == {"source", "inner.left"}


# -- plans ------------------------------------------------------------------------------


def test_full_plan_follows_graph_order_with_upstream() -> None:
    plan = build_plan(DIAMOND)
    assert isinstance(plan, ExecutionPlan)
    assert plan.step_keys == ["emit", "double", "double_2", "add"]
    assert {step.key: step.upstream for step in plan.steps} == {
        "emit": (),
        "double": ("emit",),
        "double_2": ("emit",),
        "add": ("double", "double_2"),
    }
    assert all(step.node is DIAMOND.nodes[step.key] for step in plan.steps)


def test_upstream_is_sorted_and_deduplicated() -> None:
    @job
    def twice() -> None:
        value = source()
        join(value, value)

    (_, join_step) = build_plan(twice.graph).steps
    assert join_step.upstream == ("source",)


@pytest.mark.parametrize(
    ("graph", "selected", "keys"),
    [
        (CHAIN, ["emit", "double"], ["emit", "double"]),
        (CHAIN, ["double", "emit"], ["emit", "double"]),
        (
            CHAIN,
            {"double_3", "emit", "double_2", "double"},
            ["emit", "double", "double_2", "double_3"],
        ),
        (CHAIN, ["emit"], ["emit"]),
        (WIDE, ["lonely"], ["lonely"]),
        (WIDE, ["lonely", "source", "right"], ["source", "right", "lonely"]),
        (CHAIN, [], []),
    ],
)
def test_plan_of_a_selection_keeps_graph_order(graph: Any, selected: Any, keys: list[str]) -> None:
    assert build_plan(graph, selected).step_keys == keys


def test_every_step_comes_after_its_upstream() -> None:
    for graph in (CHAIN, DIAMOND, WIDE):
        seen: set[str] = set()
        for step in build_plan(graph).steps:
            assert set(step.upstream) <= seen
            seen.add(step.key)


def test_upstream_only_lists_selected_steps() -> None:
    provided = [NodeOutput("emit", "result")]
    plan = build_plan(CHAIN, ["double", "double_2"], provided)
    assert {step.key: step.upstream for step in plan.steps} == {
        "double": (),
        "double_2": ("double",),
    }


@pytest.mark.parametrize(
    ("graph", "selected", "op_name", "input_name", "source"),
    [
        (CHAIN, ["double"], "double", "x", "emit"),
        (CHAIN, ["emit", "double_3"], "double_3", "x", "double_2"),
        (DIAMOND, ["emit", "double", "add"], "add", "y", "double_2"),
        (WIDE, ["join"], "join", "a", "left"),
    ],
)
def test_selected_op_reading_an_unselected_op_is_refused(
    graph: Any, selected: list[str], op_name: str, input_name: str, source: str
) -> None:
    with pytest.raises(DagwrightInvalidConfigError) as info:
        build_plan(graph, selected)
    assert info.value.where == "op_selection"
    message = str(info.value)
    assert f"op {op_name!r}" in message
    assert f"input {input_name!r}" in message
    assert repr(source) in message


def test_an_unselected_source_is_fine_when_the_input_has_a_default() -> None:
    graph = simple.optional.graph  # emit -> maybe (x defaults to 10), maybe_2
    plan = build_plan(graph, ["maybe"])
    assert plan.step_keys == ["maybe"]
    assert plan.steps[0].upstream == ()


def test_an_unselected_source_is_fine_when_its_output_is_provided() -> None:
    provided = [NodeOutput("double", "result"), NodeOutput("double_2", "result")]
    plan = build_plan(DIAMOND, ["add"], provided)
    assert plan.step_keys == ["add"]
    assert plan.steps[0].upstream == ()


def test_providing_another_output_does_not_help() -> None:
    with pytest.raises(DagwrightInvalidConfigError, match=r"'add'.*'y'.*'double_2'"):
        build_plan(DIAMOND, ["add"], [NodeOutput("double", "result")])


def test_selection_then_plan() -> None:
    selected = resolve_selection(DIAMOND, ["*double_2"])
    assert build_plan(DIAMOND, selected).step_keys == ["emit", "double_2"]
