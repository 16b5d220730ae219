"""Waiting with a deadline (tests never sleep blindly): for conditions, runs, processes."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from dagwright import Instance, Run


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    """Poll ``predicate`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"not met within {timeout:g} s: {what or predicate}"
        time.sleep(0.02)


def wait_finished(instance: Instance, run_id: str, timeout: float = 60.0) -> Run:
    """The run once it has ended (SUCCESS, FAILURE or CANCELED)."""
    found: list[Run] = []

    def finished() -> bool:
        run = instance.get_run(run_id)
        assert run is not None, f"run {run_id} not found"
        found[:] = [run]
        return run.status.is_finished

    wait_for(finished, timeout, f"run {run_id} finished")
    return found[0]


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
