"""Tests for dagwright.runs.models: statuses, the transition table, Run JSON, RunsFilter."""

from __future__ import annotations

import dataclasses
import itertools
import json
from typing import Any

import pytest

from dagwright import CodePointer, DagwrightInvalidTransitionError, Run, RunsFilter, RunStatus
from dagwright.runs.models import (
    ALLOWED_TRANSITIONS,
    FINISHED_STATUSES,
    IN_PROGRESS_STATUSES,
    check_transition,
)

S = RunStatus

ALLOWED = [(old, new) for old, targets in ALLOWED_TRANSITIONS.items() for new in sorted(targets)]
FORBIDDEN = [
    (old, new)
    for old, new in itertools.product(RunStatus, RunStatus)
    if new not in ALLOWED_TRANSITIONS[old]
]


def test_statuses_are_the_documented_strings() -> None:
    assert [status.value for status in RunStatus] == [
        "QUEUED",
        "NOT_STARTED",
        "STARTING",
        "STARTED",
        "SUCCESS",
        "FAILURE",
        "CANCELING",
        "CANCELED",
    ]
    assert all(isinstance(status, str) for status in RunStatus)
    assert RunStatus("SUCCESS") is S.SUCCESS
    assert S.STARTED == "STARTED"


def test_every_status_has_a_row_in_the_table() -> None:
    assert set(ALLOWED_TRANSITIONS) == set(RunStatus)


@pytest.mark.parametrize(("old", "new"), ALLOWED, ids=lambda s: s.value)
def test_allowed_transitions_pass(old: RunStatus, new: RunStatus) -> None:
    check_transition("r1", old, new)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (S.NOT_STARTED, S.QUEUED),
        (S.NOT_STARTED, S.STARTING),
        (S.NOT_STARTED, S.CANCELED),
        (S.QUEUED, S.STARTING),
        (S.QUEUED, S.CANCELED),
        (S.STARTING, S.STARTED),
        (S.STARTED, S.SUCCESS),
        (S.STARTED, S.FAILURE),
        (S.STARTED, S.CANCELING),
        (S.CANCELING, S.CANCELED),
        (S.CANCELING, S.FAILURE),
    ],
    ids=lambda s: s.value,
)
def test_the_usual_life_of_a_run_is_allowed(old: RunStatus, new: RunStatus) -> None:
    assert new in ALLOWED_TRANSITIONS[old]


@pytest.mark.parametrize(("old", "new"), FORBIDDEN, ids=lambda s: s.value)
def test_forbidden_transitions_raise(old: RunStatus, new: RunStatus) -> None:
    with pytest.raises(DagwrightInvalidTransitionError) as info:
        check_transition("r1", old, new)
    error = info.value
    assert (error.run_id, error.from_status, error.to_status) == ("r1", old.value, new.value)
    assert str(error) == f"run 'r1' cannot go from {old.value} to {new.value}"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (S.SUCCESS, S.STARTED),
        (S.FAILURE, S.QUEUED),
        (S.CANCELED, S.CANCELING),
        (S.STARTED, S.STARTING),
        (S.STARTED, S.QUEUED),
        (S.STARTED, S.CANCELED),
        (S.QUEUED, S.NOT_STARTED),
        (S.QUEUED, S.STARTED),
        (S.QUEUED, S.SUCCESS),
        (S.NOT_STARTED, S.SUCCESS),
        (S.CANCELING, S.SUCCESS),
        (S.CANCELING, S.STARTED),
    ],
    ids=lambda s: s.value,
)
def test_some_named_transitions_are_forbidden(old: RunStatus, new: RunStatus) -> None:
    assert (old, new) in FORBIDDEN


@pytest.mark.parametrize("status", list(RunStatus), ids=lambda s: s.value)
def test_no_status_moves_to_itself(status: RunStatus) -> None:
    with pytest.raises(DagwrightInvalidTransitionError):
        check_transition("r1", status, status)


@pytest.mark.parametrize("status", sorted(FINISHED_STATUSES), ids=lambda s: s.value)
def test_finished_statuses_have_no_way_out(status: RunStatus) -> None:
    assert status.is_finished
    assert ALLOWED_TRANSITIONS[status] == frozenset()
    for new in RunStatus:
        with pytest.raises(DagwrightInvalidTransitionError):
            check_transition("r1", status, new)


def test_finished_and_in_progress_statuses() -> None:
    assert {S.SUCCESS, S.FAILURE, S.CANCELED} == FINISHED_STATUSES
    assert {S.STARTING, S.STARTED, S.CANCELING} == IN_PROGRESS_STATUSES
    unfinished = set(RunStatus) - FINISHED_STATUSES
    assert all(not status.is_finished for status in unfinished)


def test_every_unfinished_status_can_end() -> None:
    for status in set(RunStatus) - FINISHED_STATUSES:
        assert ALLOWED_TRANSITIONS[status] & FINISHED_STATUSES


def test_every_status_is_reachable_from_not_started() -> None:
    reached, frontier = {S.NOT_STARTED}, {S.NOT_STARTED}
    while frontier:
        frontier = {new for old in frontier for new in ALLOWED_TRANSITIONS[old]} - reached
        reached |= frontier
    assert reached == set(RunStatus)


# -- Run JSON ---------------------------------------------------------------------------

FULL_RUN = Run(
    run_id="0f8b4c1e-0000-4000-8000-000000000001",
    job_name="etl",
    status=S.FAILURE,
    tags={"team": "data", "dagwright/partition": "2026-01-01", "ü": "✓"},
    run_config={"ops": {"load": {"config": {"limit": 3, "items": [1.5, None, True]}}}},
    op_selection=("load", "save*"),
    parent_run_id="parent",
    root_run_id="root",
    created_at=1767225600.25,
    started_at=1767225601.5,
    ended_at=1767225700.0,
    code_pointer=CodePointer(job_name="etl", module="pkg.jobs", working_directory="/code"),
)

MINIMAL_RUN = Run(run_id="r", job_name="j", status=S.NOT_STARTED)


@pytest.mark.parametrize(
    "run",
    [
        FULL_RUN,
        MINIMAL_RUN,
        dataclasses.replace(MINIMAL_RUN, op_selection=()),
        dataclasses.replace(MINIMAL_RUN, code_pointer=CodePointer("j", python_file="/x.py")),
        *[dataclasses.replace(MINIMAL_RUN, status=status) for status in RunStatus],
    ],
)
def test_run_json_round_trip(run: Run) -> None:
    data = run.to_json()
    assert json.loads(json.dumps(data)) == data
    assert Run.from_json(json.loads(json.dumps(data))) == run


def test_run_json_form() -> None:
    assert FULL_RUN.to_json() == {
        "run_id": "0f8b4c1e-0000-4000-8000-000000000001",
        "job_name": "etl",
        "status": "FAILURE",
        "tags": {"team": "data", "dagwright/partition": "2026-01-01", "ü": "✓"},
        "run_config": {"ops": {"load": {"config": {"limit": 3, "items": [1.5, None, True]}}}},
        "op_selection": ["load", "save*"],
        "parent_run_id": "parent",
        "root_run_id": "root",
        "created_at": 1767225600.25,
        "started_at": 1767225601.5,
        "ended_at": 1767225700.0,
        "code_pointer": {
            "job_name": "etl",
            "python_file": None,
            "module": "pkg.jobs",
            "working_directory": "/code",
            "location_name": None,
        },
        "step_keys_to_execute": None,
    }
    assert MINIMAL_RUN.to_json()["op_selection"] is None
    assert MINIMAL_RUN.to_json()["code_pointer"] is None


def test_run_from_minimal_json_uses_defaults() -> None:
    run = Run.from_json({"run_id": "r", "job_name": "j", "status": "QUEUED"})
    assert run == Run(run_id="r", job_name="j", status=S.QUEUED)


def test_run_from_json_with_an_unknown_status_fails() -> None:
    with pytest.raises(ValueError, match="RUNNING"):
        Run.from_json({"run_id": "r", "job_name": "j", "status": "RUNNING"})


def test_to_json_copies_mutable_fields() -> None:
    data = FULL_RUN.to_json()
    data["tags"]["team"] = "changed"
    data["run_config"]["extra"] = 1
    assert FULL_RUN.tags["team"] == "data"
    assert "extra" not in FULL_RUN.run_config


def test_runs_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        MINIMAL_RUN.status = S.STARTED  # type: ignore[misc]


@pytest.mark.parametrize(
    ("tags", "partition_key"),
    [({}, None), ({"dagwright/partition": "eu"}, "eu"), ({"partition": "eu"}, None)],
)
def test_run_partition_key(tags: dict[str, str], partition_key: str | None) -> None:
    assert dataclasses.replace(MINIMAL_RUN, tags=tags).partition_key == partition_key


@pytest.mark.parametrize(
    "pointer",
    [
        CodePointer("j", python_file="/code/jobs.py"),
        CodePointer("j", module="pkg.jobs"),
        CodePointer("j", module="pkg.jobs", working_directory="/code"),
    ],
)
def test_code_pointer_json_round_trip(pointer: CodePointer) -> None:
    assert CodePointer.from_json(pointer.to_json()) == pointer
    assert CodePointer.from_json({"job_name": "j"}) == CodePointer("j")


# -- RunsFilter -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "items"),
    [
        (None, []),
        ({}, []),
        ({"team": "data"}, [("team", ("data",))]),
        ({"team": ["a", "b"]}, [("team", ("a", "b"))]),
        ({"team": ("a",)}, [("team", ("a",))]),
        ({"team": []}, [("team", ())]),
        ({"team": ""}, [("team", ("",))]),
        (
            {"team": "data", "db": ["pg", "sqlite"], "dagwright/backfill": "b1"},
            [("team", ("data",)), ("db", ("pg", "sqlite")), ("dagwright/backfill", ("b1",))],
        ),
    ],
)
def test_runs_filter_tag_items(tags: Any, items: list[tuple[str, tuple[str, ...]]]) -> None:
    assert RunsFilter(tags=tags).tag_items() == items


def test_runs_filter_defaults_to_everything() -> None:
    empty = RunsFilter()
    assert (empty.run_ids, empty.job_name, empty.statuses, empty.tags) == (None, None, None, None)
    assert (empty.created_after, empty.created_before) == (None, None)
    assert empty.tag_items() == []
