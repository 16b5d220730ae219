"""Backfill records and the pure status machine."""

from __future__ import annotations

import pytest
from tests.jobs import scheduled

from dagwright import Backfill, BackfillProgress, BackfillStatus, RunStatus
from dagwright.runs.backfills import backfill_runs, new_backfill, next_status
from dagwright.runs.request import origin_run_id

REQUESTED = Backfill("b", "j", ("a", "b"))


@pytest.mark.parametrize(
    ("progress", "expected"),
    [
        (BackfillProgress(2, submitted=1, succeeded=1), BackfillStatus.REQUESTED),
        (BackfillProgress(2, submitted=2, succeeded=1, running=1), BackfillStatus.REQUESTED),
        (BackfillProgress(2, submitted=2, succeeded=2), BackfillStatus.COMPLETED),
        (BackfillProgress(2, submitted=2, succeeded=1, failed=1), BackfillStatus.FAILED),
        (BackfillProgress(2, submitted=2, succeeded=1, canceled=1), BackfillStatus.FAILED),
    ],
)
def test_next_status(progress: BackfillProgress, expected: BackfillStatus) -> None:
    assert next_status(REQUESTED, progress) is expected


def test_a_final_status_stays() -> None:
    canceled = Backfill("b", "j", ("a",), status=BackfillStatus.CANCELED)
    assert next_status(canceled, BackfillProgress(1, 1, succeeded=1)) is BackfillStatus.CANCELED
    assert canceled.status.is_finished and not REQUESTED.status.is_finished


def test_progress_counts_statuses() -> None:
    counts = {
        RunStatus.QUEUED: 2,
        RunStatus.NOT_STARTED: 1,
        RunStatus.STARTED: 1,
        RunStatus.CANCELING: 1,
        RunStatus.SUCCESS: 4,
        RunStatus.FAILURE: 1,
    }
    progress = BackfillProgress.count(12, counts)
    assert progress.to_json() == {
        "requested": 12,
        "submitted": 10,
        "queued": 3,
        "running": 2,
        "succeeded": 4,
        "failed": 1,
        "canceled": 0,
    }
    assert progress.finished == 5


def test_json_round_trip_and_deterministic_runs() -> None:
    backfill = new_backfill(scheduled.regions, ["us", "eu"], {"team": "docs"})
    assert Backfill.from_json(backfill.to_json()) == backfill
    assert backfill.to_json()["progress"]["requested"] == 2
    first = backfill_runs(scheduled.regions, backfill, ["us"])
    assert [r.run_id for r in backfill_runs(scheduled.regions, backfill, ["us"])] == [
        r.run_id for r in first
    ]
    assert first[0].run_id == origin_run_id("backfill", backfill.backfill_id, "us")
