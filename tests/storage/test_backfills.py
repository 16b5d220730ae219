"""Backfill storage on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dagwright import DagwrightNotFoundError
from dagwright.runs.backfills import Backfill, BackfillStatus
from dagwright.runs.models import CodePointer, Run, RunStatus
from dagwright.storage import Storage


def make(backfill_id: str, created_at: float) -> Backfill:
    return Backfill(
        backfill_id=backfill_id,
        job_name="j",
        partition_keys=("a", "b"),
        tags={"team": "docs"},
        created_at=created_at,
        code_pointer=CodePointer("j", module="m"),
    )


def test_round_trip_list_and_update(storage: Storage) -> None:
    store = storage.backfills
    first, second = make("b1", 1.0), make("b2", 2.0)
    store.add_backfill(first)
    store.add_backfill(second)
    assert store.get_backfill("b1") == first
    assert store.get_backfill("nope") is None
    assert [b.backfill_id for b in store.get_backfills()] == ["b2", "b1"]
    assert [b.backfill_id for b in store.get_backfills(limit=1, cursor="b2")] == ["b1"]
    done = replace(first, status=BackfillStatus.CANCELED, submitted=1, ended_at=3.0)
    store.update_backfill(done)
    assert store.get_backfill("b1") == done
    assert store.get_backfills(status=BackfillStatus.CANCELED) == [done]
    with pytest.raises(DagwrightNotFoundError, match="backfill 'zz' not found"):
        store.get_backfills(cursor="zz")


def test_runs_are_counted_by_status(storage: Storage) -> None:
    def run(n: int, status: RunStatus, backfill: str) -> Run:
        return Run(f"r{n}", "j", status, tags={"dagwright/backfill": backfill})

    storage.runs.add_runs(
        [
            run(1, RunStatus.QUEUED, "b1"),
            run(2, RunStatus.QUEUED, "b1"),
            run(3, RunStatus.SUCCESS, "b1"),
            run(4, RunStatus.SUCCESS, "b2"),
        ]
    )
    assert storage.backfills.count_runs_by_status("b1") == {
        RunStatus.QUEUED: 2,
        RunStatus.SUCCESS: 1,
    }
    assert storage.backfills.count_runs_by_status_many(["b1", "b2", "b3"]) == {
        "b1": {RunStatus.QUEUED: 2, RunStatus.SUCCESS: 1},
        "b2": {RunStatus.SUCCESS: 1},
        "b3": {},
    }


def test_progress_counts_the_runs_stored_not_the_daemons_cursor(storage: Storage) -> None:
    """A backfill canceled while its runs were being stored: the daemon's cursor did not
    move, but the runs exist and count as submitted (and as canceled)."""
    storage.backfills.add_backfill(replace(make("b1", 1.0), status=BackfillStatus.CANCELED))
    storage.runs.add_runs([Run("r1", "j", RunStatus.CANCELED, tags={"dagwright/backfill": "b1"})])
    (counted,) = storage.backfills.with_progress([storage.backfills.get_backfill("b1")])  # type: ignore[list-item]
    assert counted.submitted == 0  # the cursor
    assert counted.progress is not None
    assert (counted.progress.submitted, counted.progress.canceled) == (1, 1)
