"""The sensor loop, driven with injected ``now``, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from tests.jobs import scheduled

from dagwright import (
    Definitions,
    Instance,
    InstigatorKind,
    InstigatorState,
    InstigatorStatus,
    RunRequest,
    RunStatus,
    SensorEvaluationContext,
    SkipReason,
    TickStatus,
    sensor,
)
from dagwright.daemon.sensors import SensorDaemon, tick_sensor

SENSOR = InstigatorKind.SENSOR


@pytest.fixture
def files(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    return monkeypatch


def see(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    monkeypatch.setenv(scheduled.FILES_ENV, ",".join(names))


def test_used_run_keys_are_skipped_across_restarts(
    queued_instance: Instance, queued_home: Path, files: pytest.MonkeyPatch
) -> None:
    queued_instance.set_instigator_status("files", SENSOR, InstigatorStatus.RUNNING)
    see(files, "eu:a", "us:b")
    SensorDaemon(queued_instance, scheduled.defs).run_iteration(1000.0)
    (tick,) = queued_instance.get_ticks("files")
    assert tick.status is TickStatus.SUCCESS and tick.run_keys == ("eu:a", "us:b")
    run = queued_instance.get_run(tick.run_ids[0])
    assert run is not None and run.status is RunStatus.QUEUED
    assert run.tags == {
        "source": "job",
        "file": "eu:a",
        "dagwright/partition": "eu",
        "dagwright/sensor_name": "files",
        "dagwright/run_key": "eu:a",
    }
    see(files, "eu:a", "us:b", "asia:c", "asia:c")
    with Instance.from_home(queued_home) as restarted:  # a new daemon process
        daemon = SensorDaemon(restarted, scheduled.defs)
        daemon.run_iteration(1005.0)  # minimum interval (10 s) not passed
        assert len(restarted.get_ticks("files")) == 1
        daemon.run_iteration(1010.0)
        newest = restarted.get_ticks("files")[0]
        assert newest.run_keys == ("asia:c",)
        assert newest.skipped_run_keys == ("eu:a", "us:b", "asia:c")
        daemon.run_iteration(1020.0)
        skipped = restarted.get_ticks("files")[0]
        assert skipped.status is TickStatus.SKIPPED
        assert skipped.skip_reason == "4 run key(s) already used: eu:a, us:b, asia:c, asia:c"
        assert restarted.get_runs_count() == 3
        state = restarted.storage.schedules.get_state("files", SENSOR)
        assert state is not None and state.cursor == "4" and state.last_tick_at == 1020.0


def test_a_sensor_that_raises_fails_its_tick_and_the_loop_goes_on(
    queued_instance: Instance, files: pytest.MonkeyPatch
) -> None:
    queued_instance.set_instigator_status("broken", SENSOR, InstigatorStatus.RUNNING)
    queued_instance.set_instigator_status("files", SENSOR, InstigatorStatus.RUNNING)
    see(files, "eu:x")
    SensorDaemon(queued_instance, scheduled.defs).run_iteration(50.0)
    (failed,) = queued_instance.get_ticks("broken")
    assert failed.status is TickStatus.FAILURE and failed.error is not None
    assert failed.error.message == ("error in sensor 'broken': RuntimeError: the bucket is gone")
    assert 'raise RuntimeError("the bucket is gone")' in (failed.error.traceback or "")
    assert [t.status for t in queued_instance.get_ticks("files")] == [TickStatus.SUCCESS]


def test_cursor_is_kept_only_when_the_tick_does_not_fail(queued_instance: Instance) -> None:
    calls: list[str | None] = []

    @sensor(job=scheduled.regions, minimum_interval_seconds=0)
    def picky(context):  # type: ignore[no-untyped-def]
        calls.append(context.cursor)
        context.update_cursor(f"{len(calls)}")
        if len(calls) == 2:
            yield "not a request"
        yield RunRequest(partition_key="eu")

    for now in (1.0, 2.0, 3.0):
        tick_sensor(queued_instance, picky, now)
    assert calls == [None, "1", "1"]
    statuses = [t.status for t in queued_instance.get_ticks("picky")]
    assert statuses == [TickStatus.SUCCESS, TickStatus.FAILURE, TickStatus.SUCCESS]
    failed = queued_instance.get_ticks("picky")[1]
    assert failed.error is not None and "yielded str" in failed.error.message


def test_a_tick_left_started_by_a_crash_is_taken_up_again(queued_instance: Instance) -> None:
    @sensor(job=scheduled.regions)
    def twice() -> list[RunRequest]:
        return [RunRequest(partition_key="eu"), RunRequest(partition_key="us")]

    first = tick_sensor(queued_instance, twice, 1.0)
    queued_instance.storage.schedules.update_tick(replace(first, status=TickStatus.STARTED))
    again = tick_sensor(queued_instance, twice, 2.0)
    assert again.tick_id == first.tick_id and again.run_ids == first.run_ids
    assert queued_instance.get_runs_count() == 2
    third = tick_sensor(queued_instance, twice, 3.0)  # a new tick: new runs (no run keys)
    assert third.tick_id != first.tick_id and queued_instance.get_runs_count() == 4


def test_tick_sensor_uses_the_state_it_is_given(queued_instance: Instance) -> None:
    seen: list[str | None] = []

    @sensor(job=scheduled.regions)
    def echo(context: SensorEvaluationContext) -> SkipReason:
        seen.append(context.cursor)
        return SkipReason("quiet")

    given = InstigatorState("echo", SENSOR, InstigatorStatus.RUNNING, cursor="given")
    tick_sensor(queued_instance, echo, 5.0, given)  # the daemon passes the state it read
    assert seen == ["given"]
    stored = queued_instance.storage.schedules.get_state("echo", SENSOR)
    assert stored == replace(given, last_tick_at=5.0, updated_at=5.0)


def test_states_from_definitions(queued_instance: Instance) -> None:
    defs = Definitions(sensors=[scheduled.files, scheduled.broken])
    queued_instance.set_instigator_status("broken", SENSOR, InstigatorStatus.RUNNING)
    states = queued_instance.get_instigator_states(SENSOR, definitions=defs)
    assert [(s.name, s.status.value, s.stored) for s in states] == [
        ("files", "STOPPED", False),
        ("broken", "RUNNING", True),
    ]
    assert states[0].to_json() == {
        "name": "files",
        "kind": "sensor",
        "status": "STOPPED",
        "cursor": None,
        "last_tick_at": None,
        "updated_at": None,
        "stored": False,
    }
    SensorDaemon(queued_instance, defs).run_iteration(10.0)
    assert queued_instance.get_ticks("files") == []  # stopped
