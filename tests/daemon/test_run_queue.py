"""The run queue loop with real stores and real worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.jobs import simple
from tests.waiting import wait_for

from dagwright import EventType, Instance, RunsFilter, RunStatus
from dagwright.daemon.run_queue import RunQueueDaemon
from dagwright.runs.models import IN_PROGRESS_STATUSES

QUEUE = """
run_queue:
  max_concurrent_runs: {cap}
  dequeue_interval_seconds: 0.1
  tag_concurrency_limits:
    - {{key: team, value: docs, limit: 1}}
    - {{key: database, limit: 1}}
run_monitoring:
  poll_interval_seconds: 0.2
"""


def make_home(tmp_path: Path, storage_url: str, cap: int) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    config = QUEUE.format(cap=cap)
    if storage_url.startswith("postgresql"):
        config += f"storage:\n  postgres:\n    url: {storage_url}\n"
    (home / "dagwright.yaml").write_text(config)
    return home


@pytest.fixture
def home(tmp_path: Path, storage_url: str) -> Path:
    return make_home(tmp_path, storage_url, cap=2)


@pytest.fixture
def instance(home: Path) -> Iterator[Instance]:
    with Instance.from_home(home) as opened:
        yield opened


def launches(instance: Instance, run_id: str) -> int:
    return sum(e.event_type is EventType.RUN_STARTING for e in instance.get_events(run_id))


def test_one_pass_launches_what_the_limits_allow(instance: Instance) -> None:
    docs_1 = instance.submit_run(simple.chain, tags={"team": "docs"})
    docs_2 = instance.submit_run(simple.chain, tags={"team": "docs"})
    urgent = instance.submit_run(simple.chain, tags={"dagwright/priority": "5", "database": "a"})
    other = instance.submit_run(simple.chain, tags={"team": "ml"})
    state = instance.get_queue_state()
    assert [s.run.run_id for s in state.runs] == [
        urgent.run_id,
        docs_1.run_id,
        docs_2.run_id,
        other.run_id,
    ]
    assert state.state_of(docs_2.run_id).blocked_by == (  # type: ignore[union-attr]
        "max concurrent runs: 2 of 2 in use",
        "team=docs: 1 of 1 in use",
    )
    RunQueueDaemon(instance).run_iteration(time.time())
    statuses = {r.run_id: r.status for r in instance.get_runs()}
    assert statuses[urgent.run_id] is RunStatus.STARTING or statuses[urgent.run_id].is_finished
    assert statuses[docs_1.run_id] is not RunStatus.QUEUED
    assert statuses[docs_2.run_id] is RunStatus.QUEUED
    assert statuses[other.run_id] is RunStatus.QUEUED


def test_a_long_lived_instance_follows_every_change_to_the_queue(
    home: Path, instance: Instance
) -> None:
    """The instance keeps its queue between passes and reads only what changed; after
    each kind of change its pass equals that of an instance that reads everything."""

    def agrees() -> None:
        with Instance.from_home(home) as fresh:
            assert instance.get_queue_state() == fresh.get_queue_state()

    runs = [instance.submit_run(simple.chain, tags={"team": "docs"}) for _ in range(3)]
    runs += [instance.submit_run(simple.chain, tags={"database": "a"}) for _ in range(2)]
    agrees()
    instance.add_run_tags(runs[2].run_id, {"dagwright/priority": "9"})
    agrees()
    assert instance.get_queue_state().runs[0].run.run_id == runs[2].run_id
    instance.remove_run_tags(runs[0].run_id, ["team"])
    agrees()
    instance.terminate(runs[1].run_id)  # a queued run is canceled at once
    agrees()
    instance.delete_run(runs[3].run_id)
    agrees()
    RunQueueDaemon(instance).run_iteration(time.time())
    agrees()
    # the launched runs end in their own processes: wait until they have (a run ending
    # between the two reads of agrees() would make them differ for a moment)
    in_progress = RunsFilter(statuses=list(IN_PROGRESS_STATUSES))
    wait_for(lambda: not instance.get_runs(in_progress), what="launched runs ended")
    agrees()


def test_two_daemons_never_launch_a_run_twice(home: Path, instance: Instance) -> None:
    runs = [instance.submit_run(simple.chain, tags={"n": str(i)}) for i in range(6)]
    others = [Instance.from_home(home) for _ in range(2)]
    daemons = [RunQueueDaemon(other) for other in others]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def drain(daemon: RunQueueDaemon) -> None:
        try:
            barrier.wait()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                daemon.run_iteration(time.time())
                if not instance.get_runs(RunsFilter(statuses=[RunStatus.QUEUED])):
                    return
                time.sleep(0.05)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=drain, args=(d,)) for d in daemons]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    wait_for(lambda: all(instance.get_run(r.run_id).status.is_finished for r in runs))  # type: ignore[union-attr]
    for run in runs:
        assert launches(instance, run.run_id) == 1
        assert instance.get_run(run.run_id).status is RunStatus.SUCCESS  # type: ignore[union-attr]
    for other in others:
        other.close()


def _daemon(home: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "dagwright", "daemon"],
        env={**os.environ, "DAGWRIGHT_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_the_daemon_process_drains_the_queue_and_stops_on_sigterm(
    home: Path, instance: Instance
) -> None:
    runs = [instance.submit_run(simple.chain, tags={"team": "docs"}) for _ in range(3)]
    daemon = _daemon(home)
    try:
        wait_for(lambda: all(instance.get_run(r.run_id).status.is_finished for r in runs))  # type: ignore[union-attr]
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, _ = daemon.communicate(timeout=30)
    assert daemon.returncode == 0
    assert "run_queue: launched run" in out and "stopped" in out
    assert all(launches(instance, r.run_id) == 1 for r in runs)
    beats = {b.name for b in instance.storage.workers.daemon_heartbeats()}
    assert beats == {"run_queue", "run_monitor", "run_retries", "backfills", "tag_stats"}


def test_a_killed_daemon_loses_no_run(home: Path, instance: Instance) -> None:
    runs = [instance.submit_run(simple.chain) for _ in range(4)]
    first = _daemon(home)
    wait_for(lambda: instance.get_runs_count(RunsFilter(statuses=[RunStatus.QUEUED])) < 4)
    first.kill()  # mid-work: no clean shutdown
    first.communicate(timeout=30)
    second = _daemon(home)
    try:
        wait_for(lambda: all(instance.get_run(r.run_id).status.is_finished for r in runs))  # type: ignore[union-attr]
    finally:
        second.send_signal(signal.SIGTERM)
        second.communicate(timeout=30)
    for run in runs:
        assert launches(instance, run.run_id) == 1
        assert instance.get_run(run.run_id).status is RunStatus.SUCCESS  # type: ignore[union-attr]
