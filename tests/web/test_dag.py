"""The layered layout of the job graph picture."""

from __future__ import annotations

from dagwright.web.dag import GAP_X, NODE_W, layers, layout, order_layers


def test_layers_are_longest_paths_from_sources() -> None:
    names = ["a", "b", "c", "d"]
    edges = [("a", "b"), ("b", "c"), ("a", "c"), ("a", "d")]
    assert layers(names, edges) == {"a": 0, "b": 1, "c": 2, "d": 1}


def test_every_edge_points_right_and_no_nodes_overlap() -> None:
    names = ["src", "x1", "x2", "x3", "join", "tail"]
    edges = [("src", "x1"), ("src", "x2"), ("src", "x3"), ("x1", "join"), ("x3", "join"),
             ("join", "tail")]  # fmt: skip
    placed = layout(names, edges)
    at = {node.name: node for node in placed.nodes}
    for source, target in edges:
        assert at[target].x - at[source].x >= NODE_W + GAP_X
    boxes = {(node.x, node.y) for node in placed.nodes}
    assert len(boxes) == len(names)
    assert all(0 <= n.x <= placed.width and 0 <= n.y <= placed.height for n in placed.nodes)
    assert [e.path.startswith("M") for e in placed.edges] == [True] * len(edges)


def test_barycentre_sweeps_uncross_two_chains() -> None:
    # a1 -> b2 and a2 -> b1 cross in graph order; ordering by barycentre uncrosses them
    names = ["a1", "a2", "b1", "b2"]
    columns = order_layers(names, [("a1", "b2"), ("a2", "b1")], {"a1": 0, "a2": 0, "b1": 1,
                                                                  "b2": 1})  # fmt: skip
    first, second = columns
    assert second.index("b2") < second.index("b1") or first.index("a2") < first.index("a1")


def test_empty_and_single_node_graphs() -> None:
    assert layout([], []).nodes == ()
    (only,) = layout(["a"], []).nodes
    assert only.name == "a"
