"""The run worker under storage trouble, for real: a database lock held past the lock
timeout, a terminated PostgreSQL backend, a full disk. Storage trouble is never an op
failure: writes are retried, then the run fails with a storage reason."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from tests.jobs import slow
from tests.waiting import process_alive, wait_finished, wait_for

from dagwright import EventType, Instance, Run, RunStatus
from dagwright.daemon.run_monitor import RunMonitorDaemon
from dagwright.runs.launcher import worker_pid
from dagwright.runs.worker_process import exit_note_path, worker_log_path

#: Seconds one statement waits for a lock, and a failed write is retried, in these homes.
LOCK_TIMEOUT = 0.2
WRITE_RETRY = 1.0


def make_home(home: Path, storage_url: str, *, write_retry: float = 30.0) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    store = "sqlite: {}"
    if storage_url.startswith("postgresql"):
        store = f"postgres: {{url: '{storage_url}'}}"
    (home / "dagwright.yaml").write_text(
        f"storage:\n  {store}\n  lock_timeout_seconds: {LOCK_TIMEOUT}\n"
        f"  write_retry_seconds: {write_retry}\n"
        "run_monitoring: {poll_interval_seconds: 0.2}\n"
    )
    return home


def log_text(instance: Instance, run_id: str) -> str:
    assert instance.home is not None
    path = worker_log_path(instance.home, run_id)
    return path.read_text(errors="replace") if path.exists() else ""


def wait_logging(instance: Instance, run_id: str) -> None:
    def logging() -> bool:
        return any(e.event_type is EventType.LOG for e in instance.get_events(run_id))

    wait_for(logging, what="the op logs")


@contextmanager
def locked(instance: Instance) -> Iterator[None]:
    """Another connection holding the lock the run's event writes need: ``BEGIN
    EXCLUSIVE`` on SQLite, ``LOCK TABLE events IN EXCLUSIVE MODE`` on PostgreSQL."""
    storage_url = instance.storage_url
    assert storage_url is not None
    if storage_url.startswith("sqlite"):
        conn: Any = sqlite3.connect(storage_url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
    else:
        conn = psycopg.connect(storage_url.replace("postgresql+psycopg", "postgresql"))
        conn.execute("LOCK TABLE events IN EXCLUSIVE MODE")
    try:
        yield
    finally:
        conn.rollback()
        conn.close()


def test_a_lock_released_within_the_retry_window_is_survived(
    tmp_path: Path, storage_url: str
) -> None:
    home = make_home(tmp_path / "home", storage_url)
    release = tmp_path / "release"
    with Instance.from_home(home) as instance:
        run = instance.submit_run(slow.chatty, tags={"release": str(release)})
        wait_logging(instance, run.run_id)
        with locked(instance):  # held past the lock timeout: the worker's write fails
            wait_for(lambda: "retrying for up to 30 s" in log_text(instance, run.run_id))
        release.touch()
        ended = wait_finished(instance, run.run_id)
    assert ended.status is RunStatus.SUCCESS, log_text(instance, run.run_id)
    assert "dagwright/failure_reason" not in ended.tags


def test_a_lock_held_past_the_retry_window_fails_the_run_for_storage_not_the_op(
    tmp_path: Path, storage_url: str
) -> None:
    home = make_home(tmp_path / "home", storage_url, write_retry=WRITE_RETRY)
    with Instance.from_home(home) as instance:
        run = instance.submit_run(slow.chatty, tags={"release": str(tmp_path / "never")})
        wait_logging(instance, run.run_id)
        with locked(instance):  # until the worker gives up on the op's log line
            wait_for(lambda: "failing run" in log_text(instance, run.run_id))
        ended = wait_finished(instance, run.run_id)
        events = instance.get_events(run.run_id)
    assert ended.status is RunStatus.FAILURE
    reason = ended.tags["dagwright/failure_reason"]
    assert reason.startswith("storage error: ") and "lock" in reason, reason
    assert not [e for e in events if e.event_type is EventType.STEP_FAILURE]


@pytest.mark.postgres
def test_a_terminated_postgres_backend_is_reconnected_and_the_run_completes(
    tmp_path: Path, pg_database_url: str
) -> None:
    home = make_home(tmp_path / "home", pg_database_url)
    release = tmp_path / "release"
    admin = psycopg.connect(pg_database_url.replace("postgresql+psycopg", "postgresql"))
    admin.autocommit = True
    with admin, Instance.from_home(home) as instance:
        run = instance.submit_run(slow.chatty, tags={"release": str(release)})
        wait_logging(instance, run.run_id)
        count = len(instance.get_events(run.run_id))
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
        assert killed is not None and killed[0] >= 1  # the worker's (and this test's)
    with Instance.from_home(home) as instance:  # this test's connections were cut too
        wait_for(lambda: len(instance.get_events(run.run_id)) > count + 5, what="logs again")
        release.touch()
        ended = wait_finished(instance, run.run_id)
    assert ended.status is RunStatus.SUCCESS, log_text(instance, run.run_id)


# --------------------------------------------------------------------------------------
# A full disk: the home on a small tmpfs (mounting needs root).
# --------------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs, unmounted afterwards."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        message = f"cannot mount a small tmpfs (needs root): {done.stderr.strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_ends_the_run_with_the_workers_storage_error(small_disk: Path) -> None:
    """The op logs until the disk is full: the worker can write neither its events nor
    the run's failure, and exits leaving the cause in its exit note (space reserved
    before the run); once the disk has room again the run monitor fails the run with it."""
    home = make_home(small_disk / "home", "sqlite", write_retry=WRITE_RETRY)
    ballast = small_disk / "ballast"
    ballast.write_bytes(b"\0" * 512 * 1024)  # removed to make room afterwards
    with Instance.from_home(home) as instance:
        tags = {"release": str(small_disk / "never"), "pad": "3000"}
        run: Run = instance.submit_run(slow.chatty, tags=tags)
        wait_for(lambda: worker_pid(instance, run.run_id) is not None)
        pid = worker_pid(instance, run.run_id)
        assert pid is not None
        wait_for(lambda: not process_alive(pid), what="the worker gave up")
        note = exit_note_path(home, run.run_id).read_text().strip()
        assert note.startswith("storage error: ") and "full" in note, note
        ballast.unlink()
        RunMonitorDaemon(instance).run_iteration(time.time())
        ended = instance.get_run(run.run_id)
        events = instance.get_events(run.run_id)
    assert ended is not None and ended.status is RunStatus.FAILURE
    assert ended.tags["dagwright/failure_reason"] == f"run worker exited: {note}"
    assert not [e for e in events if e.event_type is EventType.STEP_FAILURE]
