"""Backfills: launching (and refusing), the backfill loop, progress, the per-backfill
queue limit, cancel, and completion; on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest
from tests.jobs import scheduled, simple

from dagwright import (
    BackfillStatus,
    DagwrightCodeLoadError,
    DagwrightInvalidPartitionError,
    DagwrightInvalidTagError,
    DagwrightInvalidTransitionError,
    DagwrightNotFoundError,
    Event,
    EventType,
    Instance,
    RunsFilter,
    RunStatus,
)
from dagwright.daemon.backfills import BackfillDaemon
from dagwright.runs.models import CodePointer


def finish(instance: Instance, run_id: str, success: bool) -> None:
    end = EventType.RUN_SUCCESS if success else EventType.RUN_FAILURE
    for event_type in (EventType.RUN_STARTING, EventType.RUN_START, end):
        instance.handle_event(Event(run_id, event_type, time.time()))


def test_one_queued_run_per_partition(queued_instance: Instance) -> None:
    backfill_id = queued_instance.launch_backfill(scheduled.regions, tags={"team": "docs"})
    backfill = queued_instance.get_backfill(backfill_id)
    assert backfill is not None and backfill.status is BackfillStatus.REQUESTED
    assert backfill.partition_keys == ("eu", "us", "asia")
    assert queued_instance.get_runs_count() == 0  # the daemon submits them
    BackfillDaemon(queued_instance).run_iteration(time.time())
    runs = queued_instance.get_runs(RunsFilter(tags={"dagwright/backfill": backfill_id}))
    assert sorted(r.tags["dagwright/partition"] for r in runs) == ["asia", "eu", "us"]
    assert {r.status for r in runs} == {RunStatus.QUEUED}
    assert runs[0].tags == {
        "source": "job",
        "team": "docs",
        "dagwright/partition": runs[0].partition_key,
        "dagwright/backfill": backfill_id,
    }
    events = queued_instance.get_events(runs[0].run_id)
    assert [e.event_type for e in events] == [EventType.RUN_ENQUEUED]
    progress = queued_instance.get_backfill(backfill_id).progress  # type: ignore[union-attr]
    assert progress is not None and (progress.submitted, progress.queued) == (3, 3)


def test_a_repeated_pass_makes_no_duplicates(queued_instance: Instance) -> None:
    backfill_id = queued_instance.launch_backfill(scheduled.days, ["2026-01-01", "2026-01-02"])
    daemon = BackfillDaemon(queued_instance)
    daemon.run_iteration(time.time())
    # as if the daemon died after storing the runs, before moving its cursor
    backfill = queued_instance.storage.backfills.get_backfill(backfill_id)
    assert backfill is not None
    queued_instance.storage.backfills.update_backfill(replace(backfill, submitted=0))
    daemon.run_iteration(time.time())
    assert queued_instance.get_runs_count() == 2
    run = queued_instance.get_runs(RunsFilter(tags={"dagwright/partition": "2026-01-02"}))[0]
    assert run.run_config == {"ops": {"stamp": {"config": {"day": "2026-01-02"}}}}


def test_the_per_backfill_limit_holds_each_backfill_to_one_run(
    queued_instance: Instance,
) -> None:
    first = queued_instance.launch_backfill(scheduled.regions)
    second = queued_instance.launch_backfill(scheduled.regions, ["eu", "us"])
    BackfillDaemon(queued_instance).run_iteration(time.time())
    decision = queued_instance.get_queue_state()
    launching = [s.run.tags["dagwright/backfill"] for s in decision.runs if s.launch]
    assert sorted(launching) == sorted([first, second])
    waiting = [s for s in decision.runs if not s.launch]
    assert len(waiting) == 3
    assert all("dagwright/backfill=" in " ".join(s.blocked_by) for s in waiting)
    # once one run of a backfill is in progress, the rest of that backfill waits for it
    (eu_run,) = queued_instance.get_runs(
        RunsFilter(tags={"dagwright/backfill": first, "dagwright/partition": "eu"})
    )
    queued_instance.handle_event(Event(eu_run.run_id, EventType.RUN_STARTING, time.time()))
    decision = queued_instance.get_queue_state()
    held = [s for s in decision.runs if s.run.tags["dagwright/backfill"] == first]
    assert held and not any(s.launch for s in held)
    assert any(f"dagwright/backfill={first}" in b for s in held for b in s.blocked_by)


def test_cancel_stops_submission_and_cancels_queued_runs(queued_instance: Instance) -> None:
    daemon = BackfillDaemon(queued_instance)
    unsubmitted = queued_instance.launch_backfill(scheduled.regions)
    canceled = queued_instance.cancel_backfill(unsubmitted)
    daemon.run_iteration(time.time())
    assert canceled.status is BackfillStatus.CANCELED and canceled.ended_at is not None
    assert queued_instance.get_runs_count() == 0
    submitted = queued_instance.launch_backfill(scheduled.regions)
    daemon.run_iteration(time.time())
    (started,) = queued_instance.get_runs(RunsFilter(tags={"dagwright/partition": "eu"}))
    queued_instance.handle_event(Event(started.run_id, EventType.RUN_STARTING, time.time()))
    after = queued_instance.cancel_backfill(submitted)
    assert after.progress is not None
    assert (after.progress.canceled, after.progress.running) == (2, 1)
    assert queued_instance.cancel_backfill(submitted).status is BackfillStatus.CANCELED
    with pytest.raises(DagwrightNotFoundError, match="backfill 'nope' not found"):
        queued_instance.cancel_backfill("nope")


def test_status_follows_the_runs(queued_instance: Instance) -> None:
    daemon = BackfillDaemon(queued_instance)
    good = queued_instance.launch_backfill(scheduled.regions, ["eu", "us"])
    bad = queued_instance.launch_backfill(scheduled.regions, ["asia"])
    daemon.run_iteration(time.time())
    for run in queued_instance.get_runs():
        finish(queued_instance, run.run_id, success=run.partition_key != "asia")
    daemon.run_iteration(time.time())
    done = queued_instance.get_backfill(good)
    assert done is not None and done.status is BackfillStatus.COMPLETED
    assert done.progress is not None and done.progress.succeeded == 2
    failed = queued_instance.get_backfill(bad)
    assert failed is not None and failed.status is BackfillStatus.FAILED
    with pytest.raises(DagwrightInvalidTransitionError, match=r"backfill .* from COMPLETED"):
        queued_instance.cancel_backfill(good)
    listed = queued_instance.get_backfills(status=BackfillStatus.COMPLETED)
    assert [b.backfill_id for b in listed] == [good]
    assert [b.backfill_id for b in queued_instance.get_backfills(limit=1, cursor=bad)] == [good]


def test_a_backfill_whose_code_is_gone_fails(queued_instance: Instance) -> None:
    backfill_id = queued_instance.launch_backfill(scheduled.regions)
    stored = queued_instance.storage.backfills.get_backfill(backfill_id)
    assert stored is not None
    gone = replace(stored, code_pointer=CodePointer("regions", module="tests.jobs.no_such"))
    queued_instance.storage.backfills.update_backfill(gone)
    BackfillDaemon(queued_instance).run_iteration(time.time())
    failed = queued_instance.get_backfill(backfill_id)
    assert failed is not None and failed.status is BackfillStatus.FAILED
    assert failed.error is not None and "tests.jobs.no_such" in failed.error
    assert failed.to_json()["error"] == failed.error


@pytest.mark.parametrize(
    ("job", "keys", "tags", "error", "message"),
    [
        (simple.chain, None, None, DagwrightInvalidPartitionError, "not partitioned"),
        (scheduled.regions, ["eu", "mars"], None, DagwrightInvalidPartitionError, "'mars'"),
        (scheduled.regions, ["eu", "eu"], None, DagwrightInvalidPartitionError, "given twice"),
        (scheduled.regions, [], None, DagwrightInvalidPartitionError, "at least one"),
        (scheduled.regions, "eu", None, DagwrightInvalidPartitionError, "not one str"),
        (scheduled.days, ["2099-01-01"], None, DagwrightInvalidPartitionError, "not complete"),
        (
            scheduled.regions,
            None,
            {"dagwright/backfill": "x"},
            DagwrightInvalidTagError,
            "reserved",
        ),
        ("regions", None, None, DagwrightCodeLoadError, "pass definitions="),
    ],
)
def test_bad_backfills_are_refused_and_nothing_is_stored(
    queued_instance: Instance, job: Any, keys: Any, tags: Any, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        queued_instance.launch_backfill(job, keys, tags=tags)
    assert queued_instance.get_backfills() == []


def test_a_job_by_name(queued_instance: Instance) -> None:
    backfill_id = queued_instance.launch_backfill("regions", ["us"], definitions=scheduled.defs)
    backfill = queued_instance.get_backfill(backfill_id)
    assert backfill is not None and backfill.to_json()["progress"]["requested"] == 1


def test_a_cancel_landing_while_a_chunk_is_stored_is_not_undone(
    queued_instance: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon's progress write must not put a CANCELED backfill back to REQUESTED; the
    runs its chunk stored after the cancel are canceled too."""
    backfill_id = queued_instance.launch_backfill(scheduled.regions)
    submit_runs = queued_instance.submit_runs

    def cancel_then_submit(runs: Any, **options: Any) -> list[str]:
        queued_instance.cancel_backfill(backfill_id)  # a user, while the chunk is in flight
        return submit_runs(runs, **options)

    monkeypatch.setattr(queued_instance, "submit_runs", cancel_then_submit)
    BackfillDaemon(queued_instance).run_iteration(time.time())
    backfill = queued_instance.get_backfill(backfill_id)
    assert backfill is not None and backfill.status is BackfillStatus.CANCELED
    runs = queued_instance.get_runs(RunsFilter(tags={"dagwright/backfill": backfill_id}))
    assert len(runs) == 3 and {r.status for r in runs} == {RunStatus.CANCELED}
    BackfillDaemon(queued_instance).run_iteration(time.time())  # nothing more happens
    assert queued_instance.get_backfill(backfill_id).status is BackfillStatus.CANCELED  # type: ignore[union-attr]
