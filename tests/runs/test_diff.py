"""The run diff: tags, run config, op selection and steps of two runs side by side, on real
instances (SQLite and PostgreSQL), read old (left: the parent) → new (right)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from tests.jobs.flaky import flaky
from tests.runs.test_reexecution import reexecuted

from dagwright import (
    DagwrightInvalidConfigError,
    DagwrightRunNotFoundError,
    Instance,
    Run,
    RunStatus,
)
from dagwright.execution.in_process import execute_job_in_process
from dagwright.runs.diff import DiffState, RunDiff, TagRow, ValueRow, flatten, merged_order

SAME, CHANGED = DiffState.SAME, DiffState.CHANGED
ADDED, REMOVED = DiffState.ADDED, DiffState.REMOVED


def _stored(instance: Instance, run_id: str, **fields: Any) -> Run:
    now = time.time()
    run = Run(run_id, "documented", RunStatus.SUCCESS, created_at=now, **fields)
    return instance.add_run(run)


def _rows(rows: tuple[ValueRow, ...]) -> list[tuple[str, Any, Any, DiffState]]:
    return [(row.key, row.left, row.right, row.state) for row in rows]


def _row(diff: RunDiff, part: str, key: str) -> Any:
    return next(row for row in diff.sections[part] if row.key == key)


def test_tags_added_removed_changed_and_system_tags_in_key_order(any_instance: Instance) -> None:
    old = {"team": "docs", "owner": "ana", "dagwright/partition": "eu", "dagwright/priority": "1"}
    new = {"team": "ml", "env": "prod", "dagwright/partition": "eu", "dagwright/priority": "1"}
    _stored(any_instance, "old", tags=old)
    _stored(any_instance, "new", tags=new)
    diff = any_instance.diff_runs("new", "old")
    assert (diff.left_run_id, diff.right_run_id, diff.left_is_parent) == ("old", "new", False)
    assert _rows(diff.tags) == [
        ("dagwright/partition", "eu", "eu", SAME),
        ("dagwright/priority", "1", "1", SAME),
        ("env", None, "prod", ADDED),
        ("owner", "ana", None, REMOVED),
        ("team", "docs", "ml", CHANGED),
    ]
    assert [row.system for row in diff.tags] == [True, False, False, False, False]  # control tag
    assert isinstance(diff.tags[0], TagRow)
    assert diff.tags[0].to_json() == {
        "key": "dagwright/partition", "left": "eu", "right": "eu", "state": "same",
        "system": True}  # fmt: skip


def test_nested_and_list_config_flatten_to_paths_in_config_order(any_instance: Instance) -> None:
    old_config = {
        "ops": {
            "extract": {"config": {"rows": 3, "region": "eu", "files": ["a.csv", "b.csv"]}},
            "load": {"config": {"table": "sales", "ratio": 1, "flags": {}}},
        }
    }
    new_config = {
        "ops": {
            "extract": {"config": {"rows": 5, "files": ["a.csv", "c.csv", "d.csv"], "new": None}},
            "load": {"config": {"table": "sales", "ratio": 1.0, "flags": {"dry": True}}},
        }
    }
    _stored(any_instance, "old", run_config=old_config)
    _stored(any_instance, "new", run_config=new_config)
    diff = any_instance.diff_runs("new", "old")
    extract, load = "ops.extract.config", "ops.load.config"
    assert _rows(diff.run_config) == [
        (f"{extract}.rows", 3, 5, CHANGED),
        (f"{extract}.region", "eu", None, REMOVED),
        (f"{extract}.files.0", "a.csv", "a.csv", SAME),
        (f"{extract}.files.1", "b.csv", "c.csv", CHANGED),
        (f"{extract}.files.2", None, "d.csv", ADDED),
        (f"{extract}.new", None, None, ADDED),  # a null value: the state tells it from absence
        (f"{load}.table", "sales", "sales", SAME),
        (f"{load}.ratio", 1, 1.0, CHANGED),  # JSON types differ: 1 is not 1.0
        (f"{load}.flags", {}, None, REMOVED),  # an empty mapping is a leaf
        (f"{load}.flags.dry", None, True, ADDED),
    ]


def test_flatten_and_merged_order() -> None:
    assert flatten({}) == {}
    assert flatten({"a": [], "b": [{"c": 1}, 2], "d": {"e": {}}}) == {
        "a": [], "b.0.c": 1, "b.1": 2, "d.e": {}}  # fmt: skip
    assert merged_order(["a", "b", "c"], ["x", "a", "y", "c", "z"]) == [
        "x", "a", "b", "y", "c", "z"]  # fmt: skip
    assert merged_order(["a", "b"], ["x", "b"]) == ["a", "x", "b"]  # a went, x came
    assert merged_order([], ["b", "a"]) == ["b", "a"]


def _failed(instance: Instance, **kwargs: Any) -> Run:
    options: dict[str, Any] = {"run_config": None, "tags": {"team": "docs"}, "op_selection": None}
    options.update(kwargs)
    run = execute_job_in_process(
        flaky, instance=instance, raise_on_error=False, store_outputs=True, partition_key=None,
        **options,
    ).run  # fmt: skip
    assert run.status is RunStatus.FAILURE
    return run


def test_a_reexecution_from_failure_against_its_parent(any_instance: Instance, flag: Path) -> None:
    parent = _failed(any_instance)
    flag.touch()
    child = reexecuted(any_instance, parent.run_id, from_failure=True, tags={"team": "fixed"})
    assert child.status is RunStatus.SUCCESS
    diff = any_instance.diff_runs(child.run_id)  # its parent by default
    assert (diff.left_run_id, diff.right_run_id) == (parent.run_id, child.run_id)
    assert diff.left_is_parent
    assert _rows(diff.summary)[:2] == [
        ("job", "flaky", "flaky", SAME),
        ("status", "FAILURE", "SUCCESS", CHANGED),
    ]
    assert [row.key for row in diff.summary] == ["job", "status", "created_at", "duration"]
    assert _row(diff, "tags", "team").state is CHANGED
    assert _row(diff, "tags", "dagwright/parent_run_id").state is ADDED
    assert _rows(diff.op_selection) == [
        ("op_selection", None, None, SAME),
        ("step_keys_to_execute", None, ["unstable", "after"], CHANGED),
    ]
    steps = [(row.key, row.left, row.right, row.state) for row in diff.steps]
    assert steps == [  # the parent's order: emit, unstable (failed), after (skipped), steady
        ("emit", "success", "reused", CHANGED),
        ("unstable", "failure", "success", CHANGED),
        ("after", "skipped", "success", CHANGED),
        ("steady", "success", "reused", CHANGED),
    ]
    unstable = _row(diff, "steps", "unstable")
    assert unstable.left_duration >= 0 and unstable.right_duration >= 0
    assert _row(diff, "steps", "after").left_duration is None  # skipped: never started
    assert diff.to_json()["steps"][1] == {
        "key": "unstable", "left": "failure", "right": "success",
        "left_duration": unstable.left_duration, "right_duration": unstable.right_duration,
        "state": "changed"}  # fmt: skip


def test_a_failed_step_that_succeeds_on_all_steps_reexecution(
    any_instance: Instance, flag: Path
) -> None:
    parent = _failed(any_instance, op_selection=["emit", "unstable"])
    other = _failed(any_instance)  # of every op: its other steps are only in it
    flag.touch()
    child = reexecuted(any_instance, parent.run_id)
    diff = any_instance.diff_runs(child.run_id)
    steps = [(row.key, row.left, row.right, row.state) for row in diff.steps]
    assert steps == [
        ("emit", "success", "success", SAME),
        ("unstable", "failure", "success", CHANGED),
    ]
    assert _rows(diff.op_selection) == [
        ("op_selection", ["emit", "unstable"], ["emit", "unstable"], SAME),
        ("step_keys_to_execute", None, None, SAME),
    ]
    versus = any_instance.diff_runs(child.run_id, other.run_id)
    assert not versus.left_is_parent
    assert [(row.key, row.left, row.right, row.state) for row in versus.steps] == [
        ("emit", "success", "success", SAME),
        ("unstable", "failure", "success", CHANGED),
        ("after", "skipped", None, REMOVED),
        ("steady", "success", None, REMOVED),
    ]
    assert _row(versus, "op_selection", "op_selection").state is CHANGED


def test_a_run_against_itself_is_all_the_same(any_instance: Instance) -> None:
    run = _failed(any_instance)
    diff = any_instance.diff_runs(run.run_id, run.run_id)
    assert diff.differences == 0 and diff.to_json()["differences"] == 0
    assert all(row.state is SAME for rows in diff.sections.values() for row in rows)
    assert [row.key for row in diff.steps] == ["emit", "unstable", "after", "steady"]


def test_no_parent_and_unknown_runs_are_errors(any_instance: Instance) -> None:
    _stored(any_instance, "orphan")
    with pytest.raises(DagwrightInvalidConfigError, match="run 'orphan' has no parent run"):
        any_instance.diff_runs("orphan")
    with pytest.raises(DagwrightRunNotFoundError) as unknown:
        any_instance.diff_runs("nope", "orphan")
    assert unknown.value.run_id == "nope"
    with pytest.raises(DagwrightRunNotFoundError) as other:
        any_instance.diff_runs("orphan", "nope")
    assert other.value.run_id == "nope"
    _stored(any_instance, "child", parent_run_id="gone", root_run_id="gone")
    with pytest.raises(DagwrightRunNotFoundError, match="'gone'"):
        any_instance.diff_runs("child")  # a deleted parent
    with pytest.raises(DagwrightRunNotFoundError):
        any_instance.diff_runs("orphan", "bad\udc80id")  # an id no run can have
