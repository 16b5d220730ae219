"""The scheduler loop, driven with injected ``now``, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest
from tests.jobs import scheduled, simple

from dagwright import (
    Definitions,
    Instance,
    InstigatorKind,
    InstigatorState,
    InstigatorStatus,
    RunRequest,
    RunsFilter,
    RunStatus,
    TickStatus,
    schedule,
)
from dagwright.daemon.schedules import ScheduleDaemon, tick_schedule

SCHEDULE = InstigatorKind.SCHEDULE


def ts(*parts: int) -> float:
    return datetime(*parts, tzinfo=timezone.utc).timestamp()  # type: ignore[misc]


def running(instance: Instance, name: str, last_tick_at: float | None) -> None:
    state = InstigatorState(name, SCHEDULE, InstigatorStatus.RUNNING, last_tick_at=last_tick_at)
    instance.storage.schedules.set_state(state, now=0.0)


def test_a_due_tick_makes_a_queued_run_with_merged_tags(queued_instance: Instance) -> None:
    daemon = ScheduleDaemon(queued_instance, scheduled.defs)
    running(queued_instance, "nightly", ts(2026, 3, 7, 8))
    daemon.run_iteration(ts(2026, 3, 8, 7, 29))  # 02:30 EST that day is 07:30Z: not yet
    assert queued_instance.get_ticks("nightly") == []
    daemon.run_iteration(ts(2026, 3, 8, 7, 31))
    (tick,) = queued_instance.get_ticks("nightly", kind=SCHEDULE)
    assert tick.status is TickStatus.SUCCESS and tick.timestamp == ts(2026, 3, 8, 7, 30)
    run = queued_instance.get_run(tick.run_ids[0])
    assert run is not None and run.status is RunStatus.QUEUED and run.job_name == "chain"
    assert run.tags == {
        "source": "schedule",
        "kind": "nightly",
        "dagwright/schedule_name": "nightly",
    }
    assert run.code_pointer is not None
    daemon.run_iteration(ts(2026, 3, 8, 9))  # the same tick is not evaluated again
    assert len(queued_instance.get_ticks("nightly")) == 1
    state = queued_instance.storage.schedules.get_state("nightly", SCHEDULE)
    assert state is not None and state.last_tick_at == ts(2026, 3, 8, 7, 30)


def test_request_tags_win_over_schedule_and_job_tags(queued_instance: Instance) -> None:
    tick = tick_schedule(
        queued_instance, scheduled.hourly, datetime(2026, 1, 5, 5, tzinfo=timezone.utc)
    )
    run = queued_instance.get_run(tick.run_ids[0])
    assert run is not None
    assert run.tags == {
        "team": "data",  # job
        "source": "request",  # job < schedule < request
        "dagwright/partition": "2026-01-04",
        "dagwright/schedule_name": "hourly",
    }
    assert run.run_config == {"ops": {"stamp": {"config": {"day": "2026-01-04"}}}}


def test_after_downtime_only_the_latest_missed_tick_runs(queued_instance: Instance) -> None:
    running(queued_instance, "hourly", ts(2026, 1, 5, 0, 30))
    ScheduleDaemon(queued_instance, scheduled.defs).run_iteration(ts(2026, 1, 7, 12, 5))
    (tick,) = queued_instance.get_ticks("hourly")
    assert tick.timestamp == ts(2026, 1, 7, 12)
    assert queued_instance.get_runs_count() == 1


def test_a_schedule_first_seen_running_ticks_from_then_on(queued_instance: Instance) -> None:
    @schedule(cron_schedule="* * * * *", job=scheduled.regions, default_status="RUNNING")  # type: ignore[arg-type]
    def every_minute() -> RunRequest:
        return RunRequest(partition_key="eu")

    daemon = ScheduleDaemon(queued_instance, Definitions(schedules=[every_minute]))
    daemon.run_iteration(ts(2026, 1, 1, 0, 0, 30))
    assert queued_instance.get_ticks("every_minute") == []
    daemon.run_iteration(ts(2026, 1, 1, 0, 1, 30))
    assert [t.status for t in queued_instance.get_ticks("every_minute")] == [TickStatus.SUCCESS]
    states = queued_instance.get_instigator_states(SCHEDULE)
    assert [(s.name, s.status) for s in states] == [("every_minute", InstigatorStatus.RUNNING)]


def test_stopped_schedules_do_not_tick(queued_instance: Instance) -> None:
    queued_instance.set_instigator_status("nightly", SCHEDULE, InstigatorStatus.STOPPED)
    ScheduleDaemon(queued_instance, scheduled.defs).run_iteration(ts(2030, 1, 1))
    assert queued_instance.get_ticks() == []


def test_a_tick_evaluated_again_after_a_crash_makes_no_duplicates(
    queued_instance: Instance,
) -> None:
    at = datetime(2026, 1, 6, 5, tzinfo=timezone.utc)
    first = tick_schedule(queued_instance, scheduled.hourly, at)
    # as if the daemon died after submitting, before finishing the tick
    queued_instance.storage.schedules.update_tick(replace(first, status=TickStatus.STARTED))
    again = tick_schedule(queued_instance, scheduled.hourly, at)
    assert again.tick_id == first.tick_id and again.run_ids == first.run_ids
    assert again.status is TickStatus.SUCCESS
    assert queued_instance.get_runs_count() == 1
    assert tick_schedule(queued_instance, scheduled.hourly, at) == again  # finished: as is


def test_user_errors_fail_the_tick_and_other_schedules_go_on(queued_instance: Instance) -> None:
    @schedule(cron_schedule="0 * * * *", job=scheduled.regions)
    def broken() -> RunRequest:
        raise ValueError("no config today")

    @schedule(cron_schedule="0 * * * *", job=scheduled.regions)
    def wrong_key() -> list[RunRequest]:
        return [RunRequest(partition_key="eu"), RunRequest(partition_key="mars")]

    defs = Definitions(schedules=[broken, wrong_key, scheduled.hourly])
    for name in ("broken", "wrong_key", "hourly"):
        running(queued_instance, name, ts(2026, 1, 5, 0, 30))
    ScheduleDaemon(queued_instance, defs).run_iteration(ts(2026, 1, 5, 1, 1))
    (failed,) = queued_instance.get_ticks("broken")
    assert failed.status is TickStatus.FAILURE and failed.error is not None
    assert "ValueError: no config today" in failed.error.message
    assert "Traceback" in (failed.error.traceback or "")
    (refused,) = queued_instance.get_ticks("wrong_key")
    assert refused.status is TickStatus.FAILURE and refused.error is not None
    assert "partition 'mars' of job 'regions'" in refused.error.message
    assert [t.status for t in queued_instance.get_ticks("hourly")] == [TickStatus.SUCCESS]
    # nothing half-created: the good request of the refused tick made no run
    assert queued_instance.get_runs(RunsFilter(job_name="regions")) == []


@pytest.mark.parametrize("returned", [None, []], ids=["none", "empty-list"])
def test_a_schedule_that_returns_nothing_skips_with_a_reason(
    queued_instance: Instance, returned: list[RunRequest] | None
) -> None:
    @schedule(cron_schedule="@daily", job=simple.chain, name="quiet")
    def quiet() -> list[RunRequest] | None:
        return returned

    tick = tick_schedule(queued_instance, quiet, datetime(2026, 1, 2, tzinfo=timezone.utc))
    assert tick.status is TickStatus.SKIPPED
    (stored,) = queued_instance.get_ticks("quiet", kind=SCHEDULE)
    assert stored.skip_reason == "the schedule function returned no run request"
    assert stored.describe() == "the schedule function returned no run request"


def test_a_schedule_of_a_workspace_location_makes_runs_of_that_location(
    queued_instance: Instance,
) -> None:
    from pathlib import Path

    from dagwright.definitions.workspace import load_workspace
    from dagwright.definitions.workspace_file import read_workspace_file

    example = Path(__file__).parents[1] / "jobs" / "workspace_example" / "workspace.yaml"
    workspace = load_workspace(read_workspace_file(example))
    running(queued_instance, "nightly_training", ts(2026, 1, 1))
    ScheduleDaemon(queued_instance, workspace).run_iteration(ts(2026, 1, 1, 3, 1))
    (tick,) = queued_instance.get_ticks("nightly_training")
    run = queued_instance.get_run(tick.run_ids[0])
    assert run is not None and run.job_name == "nightly" and run.location_name == "ml"
    assert run.tags["team"] == "ml"
    assert queued_instance.get_runs(RunsFilter(location_name="etl")) == []
