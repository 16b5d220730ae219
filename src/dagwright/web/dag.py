"""Lay out a job's graph for its SVG picture: a small layered (Sugiyama-style) layout.

1. Layers: a node's layer is the length of the longest path reaching it (sources are 0),
   so every edge points from a lower layer to a higher one.
2. Order within a layer: start in graph order, then sweep a few times, down and up,
   sorting each layer by the mean position of its neighbours in the layer before
   (barycentre heuristic), which removes most edge crossings of typical pipelines.
3. Coordinates: layers are columns left to right, nodes stacked in each column and
   centred vertically; edges are cubic curves from a node's right side to the next
   node's left side.

Pure: a function of node names and edges, so it is tested without a browser.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

#: Node box size and the gaps between columns and rows, in SVG pixels.
NODE_W: Final = 180
NODE_H: Final = 36
GAP_X: Final = 60
GAP_Y: Final = 16
MARGIN: Final = 8
#: Down-and-up barycentre sweeps.
SWEEPS: Final = 4


@dataclass(frozen=True)
class PlacedNode:
    """A node's box."""

    name: str
    x: float
    y: float


@dataclass(frozen=True)
class PlacedEdge:
    """An edge's curve (``path`` is an SVG path ``d``)."""

    source: str
    target: str
    path: str


@dataclass(frozen=True)
class DagLayout:
    """The whole picture."""

    width: float
    height: float
    nodes: tuple[PlacedNode, ...]
    edges: tuple[PlacedEdge, ...]
    node_w: int = NODE_W
    node_h: int = NODE_H


def layers(names: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Each node's layer: the longest path from a source (names in topological order)."""
    preds: dict[str, list[str]] = {name: [] for name in names}
    for source, target in edges:
        preds[target].append(source)
    layer: dict[str, int] = {}
    for name in names:
        layer[name] = 1 + max((layer[p] for p in preds[name] if p in layer), default=-1)
    return layer


def _neighbours(
    names: Sequence[str], edges: Sequence[tuple[str, str]]
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    up: dict[str, list[str]] = {name: [] for name in names}
    down: dict[str, list[str]] = {name: [] for name in names}
    for source, target in edges:
        up[target].append(source)
        down[source].append(target)
    return up, down


def order_layers(
    names: Sequence[str], edges: Sequence[tuple[str, str]], layer: dict[str, int]
) -> list[list[str]]:
    """The nodes of each layer in drawing order (barycentre sweeps)."""
    columns: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for name in names:
        columns[layer[name]].append(name)
    up, down = _neighbours(names, edges)
    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        indices = range(1, len(columns)) if downward else range(len(columns) - 2, -1, -1)
        for i in indices:
            ref = columns[i - 1] if downward else columns[i + 1]
            pos = {name: p for p, name in enumerate(ref)}
            links = up if downward else down
            columns[i] = _by_barycentre(columns[i], links, pos)
    return columns


def _by_barycentre(
    column: list[str], links: dict[str, list[str]], pos: dict[str, int]
) -> list[str]:
    def key(item: tuple[int, str]) -> float:
        index, name = item
        linked = [pos[n] for n in links[name] if n in pos]
        return sum(linked) / len(linked) if linked else float(index)

    return [name for _, name in sorted(enumerate(column), key=key)]


def layout(names: Sequence[str], edges: Sequence[tuple[str, str]]) -> DagLayout:
    """Place ``names`` (in topological order) and ``edges`` ((source, target) pairs)."""
    unique = list(dict.fromkeys((s, t) for s, t in edges))
    columns = order_layers(names, unique, layers(names, unique))
    tallest = max((len(c) for c in columns), default=0)
    height = tallest * (NODE_H + GAP_Y) - GAP_Y + 2 * MARGIN
    width = len(columns) * (NODE_W + GAP_X) - GAP_X + 2 * MARGIN
    placed: dict[str, PlacedNode] = {}
    for i, column in enumerate(columns):
        top = (height - (len(column) * (NODE_H + GAP_Y) - GAP_Y)) / 2
        for j, name in enumerate(column):
            placed[name] = PlacedNode(
                name, MARGIN + i * (NODE_W + GAP_X), top + j * (NODE_H + GAP_Y)
            )
    curves = tuple(_curve(placed[s], placed[t]) for s, t in unique)
    return DagLayout(max(width, 0), max(height, 0), tuple(placed[n] for n in names), curves)


def _curve(source: PlacedNode, target: PlacedNode) -> PlacedEdge:
    x1, y1 = source.x + NODE_W, source.y + NODE_H / 2
    x2, y2 = target.x, target.y + NODE_H / 2
    mid = (x1 + x2) / 2
    path = f"M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
    return PlacedEdge(source.name, target.name, path)
