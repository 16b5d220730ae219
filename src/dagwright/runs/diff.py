"""The diff of two runs, side by side: what changed from the ``left`` run (the older one,
usually the parent) to the ``right`` run (the one asked about), read old → new.

Pure: a function of the two runs, their events and ``now``. Every part keeps its natural
order, differences included: the summary as listed here, tags sorted by key, run config
paths as the config has them, steps in the order they ran (the run page's timeline).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from dagwright.execution.events import Event
from dagwright.runs.models import Run
from dagwright.runs.steps import step_outcomes
from dagwright.tags import is_system_tag


class DiffState(str, Enum):
    """How one row compares: ``added`` is only in the right run, ``removed`` only in the
    left one (for steps too: a step only one of the runs has)."""

    SAME = "same"
    CHANGED = "changed"
    ADDED = "added"
    REMOVED = "removed"


@dataclass(frozen=True)
class ValueRow:
    """One key (a summary field, a run config path, an op selection field) in both runs.

    Attributes:
        key: what is compared (``status``, ``ops.extract.config.rows`` …).
        left: its value in the left run (None where the key is absent: see ``state``).
        right: its value in the right run.
        state: how the two compare (values of different JSON types differ: 1 is not 1.0).
    """

    key: str
    left: Any
    right: Any
    state: DiffState

    def to_json(self) -> dict[str, Any]:
        """``{"key", "left", "right", "state"}``."""
        return {"key": self.key, "left": self.left, "right": self.right, "state": self.state.value}


@dataclass(frozen=True)
class TagRow(ValueRow):
    """One tag key in both runs; ``system``: a ``dagwright/`` system tag (not a control
    tag)."""

    system: bool = False

    def to_json(self) -> dict[str, Any]:
        """``{"key", "left", "right", "state", "system"}``."""
        return {**super().to_json(), "system": self.system}


@dataclass(frozen=True)
class StepRow:
    """One step in both runs: its outcome as the run page shows it (``success``,
    ``failure``, ``skipped``, ``running``, ``reused``; None: not in that run) and how long
    it ran. The state compares the outcomes only."""

    key: str
    left: str | None
    right: str | None
    left_duration: float | None
    right_duration: float | None
    state: DiffState

    def to_json(self) -> dict[str, Any]:
        """``{"key", "left", "right", "left_duration", "right_duration", "state"}``."""
        return {
            "key": self.key,
            "left": self.left,
            "right": self.right,
            "left_duration": self.left_duration,
            "right_duration": self.right_duration,
            "state": self.state.value,
        }


@dataclass(frozen=True)
class RunDiff:
    """Two runs side by side, one part per section.

    Attributes:
        left_run_id: the run compared with (the parent, unless another run was named).
        right_run_id: the run asked about.
        left_is_parent: whether the left run is the right run's parent.
        summary: ``job`` (its reference, ``name@location``), ``status``, ``created_at``,
            ``duration`` (seconds; None: not started).
        tags: every tag key of either run, sorted.
        run_config: the run configs flattened to paths (``ops.extract.config.rows``; list
            items by index, ``ops.load.config.files.0``).
        op_selection: ``op_selection`` and ``step_keys_to_execute`` (None: all).
        steps: every step of either run, in the order they ran.
    """

    left_run_id: str
    right_run_id: str
    left_is_parent: bool
    summary: tuple[ValueRow, ...]
    tags: tuple[TagRow, ...]
    run_config: tuple[ValueRow, ...]
    op_selection: tuple[ValueRow, ...]
    steps: tuple[StepRow, ...]

    @property
    def sections(self) -> dict[str, tuple[ValueRow, ...] | tuple[StepRow, ...]]:
        """The parts by name, in the order pages show them."""
        return {
            "summary": self.summary,
            "tags": self.tags,
            "run_config": self.run_config,
            "op_selection": self.op_selection,
            "steps": self.steps,
        }

    @property
    def differences(self) -> int:
        """How many rows, over every part, are not the same."""
        rows = [row for part in self.sections.values() for row in part]
        return sum(row.state is not DiffState.SAME for row in rows)

    def to_json(self) -> dict[str, Any]:
        """The JSON form of the HTTP API and ``dagwright run diff --json``."""
        parts = {name: [row.to_json() for row in rows] for name, rows in self.sections.items()}
        return {
            "left_run_id": self.left_run_id,
            "right_run_id": self.right_run_id,
            "left_is_parent": self.left_is_parent,
            "differences": self.differences,
            **parts,
        }


def diff_runs(
    left: Run, left_events: Sequence[Event], right: Run, right_events: Sequence[Event], now: float
) -> RunDiff:
    """Compare ``left`` (old) with ``right`` (new); ``now`` ends what still runs."""
    return RunDiff(
        left_run_id=left.run_id,
        right_run_id=right.run_id,
        left_is_parent=right.parent_run_id == left.run_id,
        summary=tuple(_value_rows(_summary(left, now), _summary(right, now))),
        tags=tuple(_tag_rows(left.tags, right.tags)),
        run_config=tuple(_value_rows(flatten(left.run_config), flatten(right.run_config))),
        op_selection=tuple(_value_rows(_selection(left), _selection(right))),
        steps=tuple(_step_rows(left_events, right_events, now)),
    )


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """A JSON value as ``{path: leaf}``: mapping keys and list indexes joined by dots
    (``ops.load.config.files.0``), in the value's order; an empty mapping or list is a
    leaf (the empty value at the top has no paths)."""
    flat: dict[str, Any] = {}
    if isinstance(value, Mapping):
        children: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, (list, tuple)):
        children = enumerate(value)
    else:
        return {prefix: value}
    for key, child in children:
        flat.update(flatten(child, f"{prefix}.{key}" if prefix else str(key)))
    if not flat and prefix:
        flat[prefix] = value
    return flat


def _summary(run: Run, now: float) -> dict[str, Any]:
    started, ended = run.started_at, run.ended_at
    duration = None if started is None else (ended if ended is not None else now) - started
    return {
        "job": run.job_reference,
        "status": run.status.value,
        "created_at": run.created_at,
        "duration": duration,
    }


def _selection(run: Run) -> dict[str, Any]:
    selection, keys = run.op_selection, run.step_keys_to_execute
    return {
        "op_selection": list(selection) if selection is not None else None,
        "step_keys_to_execute": list(keys) if keys is not None else None,
    }


def _same(left: Any, right: Any) -> bool:
    """Equal as JSON values: of one type (``True`` is not ``1``, ``1`` is not ``1.0``)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, (list, tuple)):
        return len(left) == len(right) and all(map(_same, left, right))
    if isinstance(left, Mapping):
        return left.keys() == right.keys() and all(_same(v, right[k]) for k, v in left.items())
    return bool(left == right)


def _state(in_left: bool, in_right: bool, same: bool) -> DiffState:
    if not in_right:
        return DiffState.REMOVED
    if not in_left:
        return DiffState.ADDED
    return DiffState.SAME if same else DiffState.CHANGED


def merged_order(left: Sequence[str], right: Sequence[str]) -> list[str]:
    """Both key orders in one: the left's, with each run of keys only the right has placed
    after the key both have that the right has before it, past the left-only keys that
    follow that one (what went, then what came). Linear in the number of keys."""
    mine, theirs = set(left), set(right)
    arrivals: dict[str | None, list[str]] = {}
    anchor: str | None = None
    for key in right:
        if key in mine:
            anchor = key
        else:
            arrivals.setdefault(anchor, []).append(key)
    order: list[str] = []
    pending = arrivals.get(None, [])
    for key in left:
        if key in theirs:
            order += pending
            pending = arrivals.get(key, [])
        order.append(key)
    return order + pending


def _value_rows(left: Mapping[str, Any], right: Mapping[str, Any]) -> Iterator[ValueRow]:
    for key in merged_order(list(left), list(right)):
        in_left, in_right = key in left, key in right
        same = in_left and in_right and _same(left[key], right[key])
        yield ValueRow(key, left.get(key), right.get(key), _state(in_left, in_right, same))


def _tag_rows(left: Mapping[str, str], right: Mapping[str, str]) -> Iterator[TagRow]:
    for key in sorted(left.keys() | right.keys()):
        in_left, in_right = key in left, key in right
        same = in_left and in_right and left[key] == right[key]
        state = _state(in_left, in_right, same)
        yield TagRow(key, left.get(key), right.get(key), state, is_system_tag(key))


def _step_rows(
    left_events: Sequence[Event], right_events: Sequence[Event], now: float
) -> Iterator[StepRow]:
    left = {step.step_key: step for step in step_outcomes(left_events)}
    right = {step.step_key: step for step in step_outcomes(right_events)}
    for key in merged_order(list(left), list(right)):
        old, new = left.get(key), right.get(key)
        same = old is not None and new is not None and old.outcome == new.outcome
        yield StepRow(
            key,
            old.outcome if old else None,
            new.outcome if new else None,
            old.duration(now) if old else None,
            new.duration(now) if new else None,
            _state(old is not None, new is not None, same),
        )
