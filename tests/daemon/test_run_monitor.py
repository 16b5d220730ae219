"""The run monitor against real worker processes: dead workers, runaway runs."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from tests.jobs import slow
from tests.waiting import process_alive, wait_finished, wait_for

from dagwright import Instance, Run, RunStatus
from dagwright.daemon.run_monitor import RunMonitorDaemon
from dagwright.runs.launcher import worker_pid
from dagwright.runs.monitor import MonitorPolicy


def status_of(instance: Instance, run_id: str) -> RunStatus:
    run = instance.get_run(run_id)
    assert run is not None
    return run.status


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagwright.yaml").write_text("run_monitoring:\n  poll_interval_seconds: 0.2\n")
    with Instance.from_home(home) as opened:
        yield opened


def monitor_until_finished(instance: Instance, run_id: str, timeout: float = 30.0) -> Run:
    monitor = RunMonitorDaemon(instance)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        monitor.run_iteration(time.time())
        run = instance.get_run(run_id)
        assert run is not None
        if run.status.is_finished:
            return run
        time.sleep(monitor.interval_seconds)
    raise AssertionError(f"run {run_id} not finished")


def test_a_killed_worker_fails_its_run_with_a_reason(instance: Instance, tmp_path: Path) -> None:
    run = instance.submit_run(slow.slow, tags={"release": str(tmp_path / "never")})
    wait_for(lambda: status_of(instance, run.run_id) is RunStatus.STARTED)
    pid = worker_pid(instance, run.run_id)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    ended = monitor_until_finished(instance, run.run_id)
    assert ended.status is RunStatus.FAILURE
    assert "run worker died" in ended.tags["dagwright/failure_reason"]


def test_a_worker_that_dies_before_any_event_still_fails(instance: Instance) -> None:
    run = instance.submit_run(slow.crashing)
    ended = monitor_until_finished(instance, run.run_id)
    assert ended.status is RunStatus.FAILURE
    assert "dagwright/failure_reason" in ended.tags


def test_a_worker_that_dies_while_loading_the_code_fails_the_run(
    instance: Instance, tmp_path: Path
) -> None:
    from dagwright.definitions.loader import load_definitions

    code = tmp_path / "dies_on_load.py"
    code.write_text(
        "import os\n"
        f"if os.getpid() != {os.getpid()}:\n"
        "    os._exit(9)  # the worker process dies before writing any event\n"
        "from dagwright import op, job\n"
        "@op\ndef a(): return 1\n@job\ndef doomed(): a()\n"
    )
    doomed = load_definitions(python_file=str(code)).get_job("doomed")
    run = instance.submit_run(doomed)
    ended = monitor_until_finished(instance, run.run_id)
    assert ended.status is RunStatus.FAILURE
    assert "run worker died" in ended.tags["dagwright/failure_reason"]
    assert not [e for e in instance.get_events(run.run_id) if e.event_type.value == "RUN_START"]


def test_a_run_past_its_max_runtime_is_terminated(instance: Instance, tmp_path: Path) -> None:
    run = instance.submit_run(
        slow.slow, tags={"release": str(tmp_path / "never"), "dagwright/max_runtime": "0.5"}
    )
    wait_for(lambda: status_of(instance, run.run_id) is RunStatus.STARTED)
    ended = monitor_until_finished(instance, run.run_id)
    assert ended.status is RunStatus.FAILURE
    assert ended.tags["dagwright/failure_reason"] == "exceeded dagwright/max_runtime of 0.5 s"
    pid = worker_pid(instance, run.run_id)
    assert pid is not None
    wait_for(lambda: not process_alive(pid))


def test_a_run_whose_worker_never_registers_fails_after_the_start_timeout(
    instance: Instance,
) -> None:
    from tests.jobs import simple

    from dagwright import Event, EventType

    run = instance.add_run(Run("lost", "chain", RunStatus.NOT_STARTED, created_at=time.time()))
    instance.handle_event(Event(run.run_id, EventType.RUN_STARTING, time.time()))
    monitor = RunMonitorDaemon(instance, MonitorPolicy(stale_after=1, start_timeout=0.3))
    monitor.run_iteration(time.time())
    assert status_of(instance, "lost") is RunStatus.STARTING
    monitor.run_iteration(time.time() + 1)
    ended = instance.get_run("lost")
    assert ended is not None and ended.status is RunStatus.FAILURE
    assert "no run worker started" in ended.tags["dagwright/failure_reason"]
    assert simple.chain.name == "chain"


def test_a_run_claimed_by_a_launcher_that_died_is_relaunched(instance: Instance) -> None:
    from tests.jobs import simple

    from dagwright import Event, EventType
    from dagwright.definitions.loader import code_pointer_for

    pointer = code_pointer_for(simple.chain)
    claimed = instance.add_run(
        Run("orphan", "chain", RunStatus.NOT_STARTED, created_at=time.time(), code_pointer=pointer)
    )
    instance.handle_event(Event(claimed.run_id, EventType.RUN_STARTING, time.time()))
    monitor = RunMonitorDaemon(instance, MonitorPolicy(stale_after=1, start_timeout=0.3))
    monitor.run_iteration(time.time() + 1)
    assert instance.launcher.relaunch(instance.get_run("orphan")) is False  # type: ignore[arg-type]
    ended = wait_finished(instance, "orphan")
    assert ended.status is RunStatus.SUCCESS
    assert "dagwright/failure_reason" not in ended.tags
    assert any("relaunched run worker" in e.message for e in instance.get_events("orphan"))


def test_a_run_whose_launcher_died_after_recording_its_worker_is_relaunched(
    instance: Instance,
) -> None:
    """The launcher recorded the worker (no pid yet) and died before starting it."""
    from tests.jobs import simple

    from dagwright import Event, EventType
    from dagwright.definitions.loader import code_pointer_for

    pointer = code_pointer_for(simple.chain)
    instance.add_run(
        Run("half", "chain", RunStatus.NOT_STARTED, created_at=time.time(), code_pointer=pointer)
    )
    instance.handle_event(Event("half", EventType.RUN_STARTING, time.time()))
    assert instance.records.workers.claim("half", host="gone", now=time.time())
    monitor = RunMonitorDaemon(instance, MonitorPolicy(stale_after=1, start_timeout=0.3))
    monitor.run_iteration(time.time())  # claimed a moment ago: left alone
    assert instance.records.workers.get("half").host == "gone"  # type: ignore[union-attr]
    monitor.run_iteration(time.time() + 1)
    ended = wait_finished(instance, "half")
    assert ended.status is RunStatus.SUCCESS
    assert any("relaunched run worker" in e.message for e in instance.get_events("half"))


# --------------------------------------------------------------------------------------
# Workers that are dead but not gone (zombies), or alive but silent (stopped), on SQLite
# and PostgreSQL.
# --------------------------------------------------------------------------------------

#: ``prctl`` option: orphaned descendants are re-parented to this process.
PR_SET_CHILD_SUBREAPER = 36
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def monitored(tmp_path: Path, storage_url: str) -> Iterator[Instance]:
    home = tmp_path / "monitored"
    home.mkdir()
    config = "run_monitoring:\n  poll_interval_seconds: 0.2\n"
    if storage_url.startswith("postgresql"):
        config += f"storage:\n  postgres: {{url: '{storage_url}'}}\n"
    (home / "dagwright.yaml").write_text(config)
    with Instance.from_home(home) as opened:
        yield opened


def proc_state(pid: int) -> str:
    """The state letter in ``/proc/PID/stat`` ("" once the process is gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return ""
    return text[text.rfind(")") + 2]


def parent_of(pid: int) -> int:
    """The parent pid in ``/proc/PID/stat``."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return int(text[text.rfind(")") + 2 :].split()[1])


@contextmanager
def orphans_never_reaped() -> Iterator[None]:
    """Make this process adopt its orphaned descendants and never reap them, as a
    container's PID 1 that is not an init does."""
    if not sys.platform.startswith("linux"):
        pytest.skip("needs Linux (prctl PR_SET_CHILD_SUBREAPER)")
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0, os.strerror(ctypes.get_errno())
    try:
        yield
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def launch_with_the_cli(instance: Instance, release: Path) -> str:
    """``dagwright job launch`` (which exits at once, leaving its run worker orphaned)."""
    assert instance.home is not None
    path = os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(ROOT)]))
    env = {**os.environ, "DAGWRIGHT_HOME": str(instance.home), "PYTHONPATH": path}
    args = ["job", "launch", "-m", "tests.jobs.slow", "-j", "slow", "--json"]
    done = subprocess.run(
        [sys.executable, "-m", "dagwright", *args, "--tag", f"release={release}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    run_id: str = json.loads(done.stdout)["run_id"]
    return run_id


def test_a_zombie_worker_fails_its_run_within_two_polls(
    monitored: Instance, tmp_path: Path
) -> None:
    """The CLI that launched the worker exited; the worker's new parent never reaps it;
    killed, it is a zombie, which ``kill(pid, 0)`` still reaches: it must count as dead."""
    with orphans_never_reaped():
        run_id = launch_with_the_cli(monitored, tmp_path / "never")
        wait_for(lambda: status_of(monitored, run_id) is RunStatus.STARTED)
        pid = worker_pid(monitored, run_id)
        assert pid is not None
        try:
            wait_for(lambda: parent_of(pid) == os.getpid(), what="the worker adopted here")
            os.kill(pid, signal.SIGKILL)
            wait_for(lambda: proc_state(pid) == "Z", what="the worker is a zombie")
            os.kill(pid, 0)  # a zombie is still reached by a signal
            monitor = RunMonitorDaemon(monitored)
            for _ in range(2):
                monitor.run_iteration(time.time())
            ended = monitored.get_run(run_id)
            assert ended is not None and ended.status is RunStatus.FAILURE
            assert "run worker died" in ended.tags["dagwright/failure_reason"]
        finally:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with suppress(ChildProcessError):  # not adopted here (the test failed before)
                os.waitpid(pid, 0)


def test_a_stopped_worker_is_killed_and_its_run_failed_once_its_heartbeats_stop(
    monitored: Instance, tmp_path: Path
) -> None:
    """Alive (SIGSTOP) but silent: after ``stale_after`` seconds without a heartbeat the
    run fails and the worker is killed (SIGKILL: a stopped process takes no SIGTERM)."""
    run = monitored.submit_run(slow.slow, tags={"release": str(tmp_path / "never")})
    wait_for(lambda: status_of(monitored, run.run_id) is RunStatus.STARTED)
    pid = worker_pid(monitored, run.run_id)
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_for(lambda: proc_state(pid) == "T", what="the worker is stopped")
        monitor = RunMonitorDaemon(monitored)
        monitor.run_iteration(time.time())
        assert status_of(monitored, run.run_id) is RunStatus.STARTED  # heartbeats are fresh
        monitor.run_iteration(time.time() + monitor.policy.stale_after + 1)
        ended = monitored.get_run(run.run_id)
        assert ended is not None and ended.status is RunStatus.FAILURE
        assert "stopped sending heartbeats" in ended.tags["dagwright/failure_reason"]
        wait_for(lambda: not process_alive(pid), what="the stopped worker killed")
    finally:
        with suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


def test_a_worker_stopped_while_holding_the_stores_lock_is_killed_and_its_run_failed(
    monitored: Instance,
) -> None:
    """The stopped worker holds the lock every write needs: the monitor must not wait for
    the store to answer before it acts (killing the worker is what frees the lock)."""
    run = monitored.submit_run(
        slow.frozen_with_a_lock, tags={"lock_url": str(monitored.storage_url)}
    )
    wait_for(lambda: worker_pid(monitored, run.run_id) is not None)
    pid = worker_pid(monitored, run.run_id)
    assert pid is not None
    try:
        wait_for(lambda: proc_state(pid) == "T", what="the worker stopped itself")
        monitor = RunMonitorDaemon(monitored)
        monitor.run_iteration(time.time() + monitor.policy.stale_after + 1)
        ended = monitored.get_run(run.run_id)
        assert ended is not None and ended.status is RunStatus.FAILURE
        assert "stopped sending heartbeats" in ended.tags["dagwright/failure_reason"]
    finally:
        with suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
