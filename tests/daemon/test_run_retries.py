"""Automatic retries with real worker processes: FROM_FAILURE, ALL_STEPS, idempotence."""

from __future__ import annotations

import time
from pathlib import Path

from tests.jobs.flaky import flaky
from tests.waiting import wait_finished

from dagwright import EventType, Instance, Run, RunsFilter, RunStatus
from dagwright.daemon.run_retries import RunRetryDaemon


def children_of(instance: Instance, run_id: str) -> list[Run]:
    return instance.get_runs(RunsFilter(tags={"dagwright/parent_run_id": run_id}))


def test_a_failed_run_is_retried_from_failure(instance: Instance, flag: Path) -> None:
    parent = instance.submit_run(flaky, tags={"team": "docs", "dagwright/max_retries": "2"})
    assert wait_finished(instance, parent.run_id).status is RunStatus.FAILURE
    flag.touch()
    daemon = RunRetryDaemon(instance)
    daemon.run_iteration(time.time())
    daemon.run_iteration(time.time())  # a second pass makes no second retry
    (child,) = children_of(instance, parent.run_id)
    ended = wait_finished(instance, child.run_id)
    assert ended.status is RunStatus.SUCCESS
    assert ended.tags["dagwright/retry_number"] == "1"
    assert ended.tags["team"] == "docs"
    assert ended.root_run_id == parent.run_id
    started = [
        e.step_key
        for e in instance.get_events(child.run_id)
        if e.event_type is EventType.STEP_START
    ]
    assert sorted(started) == ["after", "unstable"]  # emit and steady were reused


def test_retries_stop_at_max_retries_and_keep_the_root(instance: Instance) -> None:
    parent = instance.submit_run(
        flaky, tags={"dagwright/max_retries": "2", "dagwright/retry_strategy": "ALL_STEPS"}
    )
    daemon = RunRetryDaemon(instance)
    chain = [wait_finished(instance, parent.run_id)]
    for number in (1, 2):
        daemon.run_iteration(time.time())
        (child,) = children_of(instance, chain[-1].run_id)
        chain.append(wait_finished(instance, child.run_id))
        assert chain[-1].tags["dagwright/retry_number"] == str(number)
        assert chain[-1].root_run_id == parent.run_id
        steps = {
            e.step_key
            for e in instance.get_events(child.run_id)
            if e.event_type is EventType.STEP_START
        }
        assert "emit" in steps  # ALL_STEPS re-runs everything
    daemon.run_iteration(time.time())
    assert children_of(instance, chain[-1].run_id) == []
    assert all(run.status is RunStatus.FAILURE for run in chain)


def test_no_retry_without_max_retries_or_when_disabled(tmp_path: Path, flag: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagwright.yaml").write_text("run_retries:\n  enabled: false\n")
    with Instance.from_home(home) as instance:
        parent = instance.submit_run(flaky, tags={"dagwright/max_retries": "3"})
        wait_finished(instance, parent.run_id)
        RunRetryDaemon(instance).run_iteration(time.time())
        assert children_of(instance, parent.run_id) == []
        plain = instance.submit_run(flaky)
        wait_finished(instance, plain.run_id)
    with Instance.from_home(tmp_path / "other") as instance:
        plain = instance.submit_run(flaky)
        wait_finished(instance, plain.run_id)
        RunRetryDaemon(instance).run_iteration(time.time())
        assert children_of(instance, plain.run_id) == []
