"""Jobs that take their time, for monitoring and termination tests (run in worker processes)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from dagwright import OpExecutionContext, job, op

#: Seconds a slow op waits at most.
LIMIT = 60.0


@op
def wait_for_release(context: OpExecutionContext) -> str:
    """Wait until the file named by the run's ``release`` tag exists (or LIMIT passes)."""
    release = context.get_tag("release")
    deadline = time.monotonic() + LIMIT
    while time.monotonic() < deadline:
        if release and Path(release).exists():
            return "released"
        time.sleep(0.02)
    return "timed out"


@op
def after(value: str) -> str:
    return value + " then done"


@job
def slow() -> None:
    after(wait_for_release())


@op
def vanish() -> None:
    """Die like an OOM kill: no exception, no event, just gone."""
    os._exit(9)


@job
def crashing() -> None:
    vanish()


@op
def log_until_released(context: OpExecutionContext) -> str:
    """Log a line every 20 ms (padded by the run's ``pad`` tag, in bytes) until the file
    named by the ``release`` tag exists (or LIMIT passes)."""
    release = context.get_tag("release")
    pad = "x" * int(context.get_tag("pad") or 0)
    deadline = time.monotonic() + LIMIT
    while time.monotonic() < deadline:
        if release and Path(release).exists():
            return "released"
        context.log.info(f"still logging {pad}")
        time.sleep(0.02)
    return "timed out"


@job
def chatty() -> None:
    after(log_until_released())


@op
def stop_holding_a_lock(context: OpExecutionContext) -> None:
    """Take the lock every writer of the run's store needs (from the ``lock_url`` tag),
    then stop this process (SIGSTOP) while holding it."""
    import signal

    url = context.get_tag("lock_url") or ""
    if url.startswith("sqlite:///"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
    else:
        import psycopg

        conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1))  # type: ignore[assignment]
        conn.execute("LOCK TABLE events, runs IN EXCLUSIVE MODE")
    os.kill(os.getpid(), signal.SIGSTOP)
    conn.close()


@job
def frozen_with_a_lock() -> None:
    stop_holding_a_lock()
