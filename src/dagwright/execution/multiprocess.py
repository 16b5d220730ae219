"""The multiprocess executor: each step of a launched run in its own OS process.

The run worker becomes a step coordinator. It writes RUN_START (and loads a re-execution's
reused outputs under this run, as the in-process executor does), then starts
``python -m dagwright.execution.step_worker RUN_ID STEP_KEY`` for each step whose upstream
steps all succeeded, at most ``max_concurrent`` at once. Step processes write their own
step events and store their outputs; the coordinator writes STEP_SKIPPED downstream of a
failure, STEP_FAILURE for a step process that died without ending its step, and ends the
run. Step processes stay in the run worker's process group, so ``terminate`` (which
signals that group) reaches them too; a terminated coordinator also stops and reaps them
before it ends the run.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

from dagwright.errors import (
    DagwrightExecutionError,
    DagwrightInvalidConfigError,
    DagwrightStorageError,
)
from dagwright.execution.events import EventType
from dagwright.execution.in_process import InProcessExecution, RunStorageLost
from dagwright.execution.plan import Step
from dagwright.execution.step import error_info
from dagwright.execution.worker import RunTerminated
from dagwright.runs.models import RunStatus
from dagwright.runs.worker_process import (
    STORAGE_ERROR_EXIT,
    WORKER_STORAGE_ENV,
    WORKER_STORAGE_OPTIONS_ENV,
)

if TYPE_CHECKING:
    from dagwright.instance import Instance
    from dagwright.runs.request import PreparedRun

#: The module a step process runs.
STEP_WORKER_MODULE: Final = "dagwright.execution.step_worker"

#: Seconds step processes get to exit after SIGTERM before they are killed.
STOP_TIMEOUT: Final = 5.0

_STEP_ENDS: Final = frozenset({EventType.STEP_SUCCESS, EventType.STEP_FAILURE})


class StepProcesses:
    """The running step processes of one run; a thread per process reaps it on exit."""

    def __init__(self, run_id: str, home: Path, instance: Instance) -> None:
        self._run_id = run_id
        self._env = {**os.environ, "DAGWRIGHT_HOME": str(home)}
        if instance.storage_url is not None:  # step processes open only the driver records
            self._env[WORKER_STORAGE_ENV] = instance.storage_url
            self._env[WORKER_STORAGE_OPTIONS_ENV] = instance.storage_options.to_env()
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self._exited: queue.Queue[str] = queue.Queue()

    def start(self, step_key: str) -> int:
        """Start the step's process; its pid."""
        process = subprocess.Popen(
            [sys.executable, "-m", STEP_WORKER_MODULE, self._run_id, step_key],
            env=self._env,
            stdin=subprocess.DEVNULL,
        )
        self.running[step_key] = process
        threading.Thread(target=self._reap, args=(step_key, process), daemon=True).start()
        return process.pid

    def _reap(self, step_key: str, process: subprocess.Popen[bytes]) -> None:
        process.wait()
        self._exited.put(step_key)

    def next_exited(self) -> tuple[str, int]:
        """Wait for a step process to exit; its step key and exit code."""
        while True:  # wake up now and then, so that signal handlers run promptly
            try:
                step_key = self._exited.get(timeout=0.5)
            except queue.Empty:
                continue
            returncode = self.running.pop(step_key).returncode
            return step_key, returncode

    def stop_all(self, timeout: float) -> None:
        """SIGTERM every running step process, SIGKILL those left after ``timeout``
        seconds, and reap them all."""
        for process in self.running.values():
            process.terminate()
        deadline = time.monotonic() + timeout
        for process in self.running.values():
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.running.clear()


def _exit_description(returncode: int) -> str:
    if returncode < 0:
        return f"step worker killed by {signal.Signals(-returncode).name}"
    return f"step worker exited with code {returncode}"


class MultiprocessExecution(InProcessExecution):
    """Executes a prepared run's steps in step processes (see the module docstring).

    Args:
        instance: the run's instance; it must have a home (step processes open it).
        prepared: the run and its plan.
        max_concurrent: at most this many step processes at once.
    """

    def __init__(self, instance: Instance, prepared: PreparedRun, *, max_concurrent: int) -> None:
        super().__init__(instance, prepared)
        if instance.home is None:
            raise DagwrightInvalidConfigError(
                "instance", "the multiprocess executor needs an instance with a home"
            )
        self.home = instance.home
        self.max_concurrent = max_concurrent

    def execute_steps(self) -> set[str]:
        """Run the steps in step processes; the keys of those that did not succeed."""
        processes = StepProcesses(self.run.run_id, self.home, self.instance)
        try:
            return self._coordinate(processes)
        except BaseException:
            processes.stop_all(STOP_TIMEOUT)
            raise

    def _coordinate(self, processes: StepProcesses) -> set[str]:
        pending = list(self.plan.steps)
        succeeded: set[str] = set()
        not_done: set[str] = set()
        while pending or processes.running:
            pending = self._start_ready(pending, processes, succeeded, not_done)
            if not processes.running:  # nothing left to wait for (pending is empty too)
                break
            step_key, returncode = processes.next_exited()
            done = succeeded if self._step_succeeded(step_key, returncode) else not_done
            done.add(step_key)
        return not_done

    def _start_ready(
        self, pending: list[Step], processes: StepProcesses, succeeded: set[str], not_done: set[str]
    ) -> list[Step]:
        """Skip the blocked steps and start the ready ones (plan order, up to the limit);
        the steps still waiting."""
        waiting = []
        for step in pending:
            if self.skip_if_blocked(step, not_done):
                not_done.add(step.key)
            elif set(step.upstream) <= succeeded and len(processes.running) < self.max_concurrent:
                pid = processes.start(step.key)
                self.emit(
                    EventType.ENGINE, step.key, f"started step worker, pid {pid}", data={"pid": pid}
                )
            else:
                waiting.append(step)
        return waiting

    def _step_succeeded(self, step_key: str, returncode: int) -> bool:
        """Whether the step process ended its step in success; fail the step if the
        process exited without ending it."""
        # the latest, not those after a cursor: on PostgreSQL, ids may commit out of order
        last = self.instance.records.events.last_event(
            self.run.run_id, _STEP_ENDS, step_key=step_key
        )
        ended = last.event_type if last is not None else None
        if ended is None and returncode == STORAGE_ERROR_EXIT:  # not the op's fault
            error = f"the step worker of {step_key!r} could not write its events"
            raise RunStorageLost(DagwrightStorageError(error, transient=True))
        if ended is None:
            self._check_not_canceling(step_key)
            reason = _exit_description(returncode)
            self.emit(
                EventType.STEP_FAILURE,
                step_key,
                f"op {step_key!r} failed: {reason}",
                level="ERROR",
                data={
                    "error": error_info(DagwrightExecutionError(self.run.run_id, reason)),
                    "exit_code": returncode,
                },
            )
        return ended is EventType.STEP_SUCCESS

    def _check_not_canceling(self, step_key: str) -> None:
        """A step process killed by ``terminate`` (which signals the whole process group)
        ends the run as canceled, even if its exit is seen before this process's SIGTERM."""
        current = self.instance.get_run(self.run.run_id)
        if current is not None and current.status is RunStatus.CANCELING:
            raise RunTerminated(f"step {step_key!r} stopped: the run is being canceled")
