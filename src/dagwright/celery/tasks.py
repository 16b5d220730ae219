"""The ``dagwright.execute_step`` task: one step of a run, on a Celery worker.

A task carries ids only: the run id, the step key, the run's code pointer (JSON) and the
queue it was sent to. The worker process opens the instance of ``$DAGWRIGHT_HOME`` and
loads each code location once (cached by code pointer, or the worker's own ``-f``/``-m``
location), then:

1. drops the delivery if the run has ended or is being canceled, or the step ended;
2. claims the step (:mod:`dagwright.celery.claims`): a delivery whose step a live worker
   executes is dropped; a step whose worker died is taken over, or failed with a reason
   naming that worker once it used up ``celery.step_attempts``;
3. executes the step as a step process of the multiprocess executor does (inputs from
   the output store, outputs into it), its events naming the worker and queue, while a
   thread beats the claim and stops the process if the run is canceled.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from dagwright.celery.claims import BEAT_SECONDS, Claimant, ClaimResult, claim_step
from dagwright.celery.config import CeleryConfig
from dagwright.definitions.loader import load_job
from dagwright.definitions.workspace import CodeLocationOrigin, load_workspace
from dagwright.errors import DagwrightExecutionError
from dagwright.execution.events import Event, EventType
from dagwright.execution.step import error_info
from dagwright.execution.step_worker import StepExecution
from dagwright.execution.worker import prepare_stored_run
from dagwright.runs.models import CodePointer, Run, RunStatus

if TYPE_CHECKING:
    from celery import Celery, Task

    from dagwright.definitions.container import Definitions
    from dagwright.definitions.job import JobDefinition
    from dagwright.execution.logs import PendingChunk
    from dagwright.instance import Instance

_STEP_ENDS: Final = frozenset({EventType.STEP_SUCCESS, EventType.STEP_FAILURE})
_STEP_EVENTS: Final = frozenset(
    {EventType.STEP_START, EventType.STEP_SUCCESS, EventType.STEP_FAILURE}
)


@dataclass(frozen=True)
class WorkerLocation:
    """What a ``dagwright celery worker`` was started with.

    Attributes:
        home: ``$DAGWRIGHT_HOME`` of the worker.
        origins: its code locations (``-f``, ``-m``, ``-w``), if any. With none, each
            task's code pointer is loaded.
    """

    home: Path
    origins: tuple[CodeLocationOrigin, ...] = ()


class _ProcessState:
    """Per worker process: the instance (opened after the fork) and the loaded code."""

    def __init__(self) -> None:
        self.location: WorkerLocation | None = None
        self.pid: int | None = None
        self._keeper_pid: int | None = None
        self.instance: Instance | None = None
        self.config = CeleryConfig()
        self.definitions: Definitions | None = None
        self.jobs: dict[str, JobDefinition] = {}
        self._keeper: ClaimKeeper | None = None

    def keeper(self) -> ClaimKeeper:
        """This process's claim keeper (started on first use, after the fork)."""
        instance = self.open()
        if self._keeper is None or self._keeper_pid != os.getpid():
            self._keeper, self._keeper_pid = ClaimKeeper(instance), os.getpid()
        return self._keeper

    def open(self) -> Instance:
        """This process's instance (a forked pool process opens its own connections)."""
        if self.instance is None or self.pid != os.getpid():
            from dagwright.instance import Instance

            assert self.location is not None, "configure() the worker first"
            self.instance = Instance.from_home(self.location.home)
            self.config = CeleryConfig.resolve(self.instance.settings.celery)
            self.pid = os.getpid()
        return self.instance

    def job(self, pointer: CodePointer) -> JobDefinition:
        """The job a pointer names: from the worker's own location when it has one."""
        location = self.location
        if location is not None and location.origins:
            if self.definitions is None:
                self.definitions = load_workspace(location.origins)
            found = self.definitions.jobs_named(pointer.job_name, pointer.location_name)
            return found[0] if found else self.definitions.get_job(pointer.job_name)
        key = json.dumps(pointer.to_json(), sort_keys=True)
        if key not in self.jobs:
            self.jobs[key] = load_job(pointer)
        return self.jobs[key]


_state: Final = _ProcessState()


def configure(location: WorkerLocation, *, preload: bool = False) -> None:
    """Set up this worker (before Celery forks its pool): where its home and code are;
    with ``preload``, load its ``-f``/``-m`` code now, once for every pool process."""
    _state.location = location
    if preload and location.origins:
        _state.definitions = load_workspace(location.origins)


def register(app: Celery) -> None:
    """Register the step task on ``app``."""
    from dagwright.celery.app import STEP_TASK

    app.task(name=STEP_TASK, bind=True, acks_late=True)(execute_step_task)


def execute_step_task(
    task: Task[Any, Any], run_id: str, step_key: str, pointer: Mapping[str, Any], queue: str
) -> str:
    """The task body; returns what became of the delivery (for the worker's log)."""
    me = Claimant(str(task.request.hostname or "celery"), socket.gethostname(), os.getpid())
    instance = _state.open()
    return StepTask(instance, me, queue, _state.config).execute(
        run_id, step_key, CodePointer.from_json(pointer)
    )


class CeleryStepExecution(StepExecution):
    """A step process's execution whose step events also name the worker and queue."""

    worker_data: Mapping[str, Any] = {}

    def emit(
        self,
        event_type: EventType,
        step_key: str | None = None,
        message: str = "",
        level: str = "INFO",
        data: Mapping[str, Any] | None = None,
        chunks: Sequence[PendingChunk] = (),
    ) -> None:
        """Store an event; step starts and ends get the worker's data."""
        if event_type in _STEP_EVENTS:
            data = {**(data or {}), **self.worker_data}
        super().emit(event_type, step_key, message, level, data, chunks)


class StepTask:
    """One delivery of a step task (see the module docstring)."""

    def __init__(self, instance: Instance, me: Claimant, queue: str, config: CeleryConfig) -> None:
        self.instance = instance
        self.me = me
        self.queue = queue
        self.config = config

    def execute(self, run_id: str, step_key: str, pointer: CodePointer) -> str:
        """Drop, fail or execute the step; what happened."""
        run = self.instance.get_run(run_id)
        if run is None or run.status.is_finished or run.status is RunStatus.CANCELING:
            return f"dropped: run {run_id} is {run.status.value if run else 'gone'}"
        if self.instance.records.events.last_event(run_id, _STEP_ENDS, step_key=step_key):
            return f"dropped: step {step_key} of run {run_id} has ended"
        claim = claim_step(
            self.instance.records.steps,
            run_id,
            step_key,
            self.me,
            now=time.time(),
            attempts=self.config.step_attempts,
        )
        if claim.outcome == "exhausted":
            self._fail(run_id, step_key, self._exhausted_reason(claim), claim)
            return "failed: attempts used up"
        if claim.outcome != "claimed":
            return f"dropped: step {step_key} of run {run_id} is {claim.outcome}"
        return self._execute_claimed(run, step_key, pointer, claim)

    def _exhausted_reason(self, claim: ClaimResult) -> str:
        assert claim.previous is not None
        return (
            f"{claim.previous.describe()} died executing it, attempt {claim.attempt} of"
            f" {self.config.step_attempts}"
        )

    def _worker_data(self, claim: ClaimResult) -> dict[str, Any]:
        return {
            "celery_worker": self.me.worker,
            "celery_queue": self.queue,
            "host": self.me.host,
            "pid": self.me.pid,
            "attempt": claim.attempt,
        }

    def _execute_claimed(
        self, run: Run, step_key: str, pointer: CodePointer, claim: ClaimResult
    ) -> str:
        if claim.previous is not None:
            self._emit(
                run.run_id,
                step_key,
                EventType.ENGINE,
                f"{claim.previous.describe()} died executing the step; {self.me.worker} takes"
                f" it over (attempt {claim.attempt} of {self.config.step_attempts})",
                data={"previous_worker": claim.previous.worker, **self._worker_data(claim)},
            )
        keeper = _state.keeper()
        keeper.watch(run.run_id, step_key, claim.attempt)
        try:
            prepared = prepare_stored_run(self.instance, _state.job(pointer), run)
            step = next((s for s in prepared.plan.steps if s.key == step_key), None)
            if step is None:
                raise DagwrightExecutionError(run.run_id, f"the job has no step {step_key!r}")
            execution = CeleryStepExecution(self.instance, prepared)
            execution.worker_data = self._worker_data(claim)
            ok = execution.run_step(step)
        except Exception as exc:  # the job cannot be loaded here: fail the step, clearly
            self._fail(run.run_id, step_key, f"{type(exc).__name__}: {exc}", claim, exc)
            return "failed: could not execute"
        finally:
            keeper.unwatch()
        return "succeeded" if ok else "failed"

    def _fail(
        self,
        run_id: str,
        step_key: str,
        reason: str,
        claim: ClaimResult,
        exc: BaseException | None = None,
    ) -> None:
        error = exc if exc is not None else DagwrightExecutionError(run_id, reason)
        self._emit(
            run_id,
            step_key,
            EventType.STEP_FAILURE,
            f"op {step_key!r} failed: {reason}",
            level="ERROR",
            data={"error": error_info(error), **self._worker_data(claim)},
        )

    def _emit(
        self,
        run_id: str,
        step_key: str,
        event_type: EventType,
        message: str,
        *,
        level: str = "INFO",
        data: Mapping[str, Any],
    ) -> None:
        event = Event(run_id, event_type, time.time(), step_key, message, level, data)
        self.instance.handle_event(event)


class ClaimKeeper:
    """One thread per worker process that, while a step executes, beats its claim and
    stops this process (SIGTERM) once the run is canceled or ended, or the claim was
    taken over. One thread for the life of the process, so its database connection is
    one too (each thread has its own)."""

    def __init__(self, instance: Instance) -> None:
        self._instance = instance
        self._lock = threading.Lock()
        self._watched: tuple[str, str, int] | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="dagwright-claim")
        self._thread.start()

    def watch(self, run_id: str, step_key: str, attempt: int) -> None:
        """Keep the claim of this step (attempt) from now on."""
        with self._lock:
            self._watched = (run_id, step_key, attempt)

    def unwatch(self) -> None:
        """The step ended: keep nothing."""
        with self._lock:
            self._watched = None

    def _run(self) -> None:
        while True:
            time.sleep(BEAT_SECONDS)
            with self._lock:
                watched = self._watched
            if watched is not None:
                with contextlib.suppress(Exception):  # a missed beat is not fatal
                    self._keep(*watched)

    def _keep(self, run_id: str, step_key: str, attempt: int) -> None:
        kept = self._instance.records.steps.beat(run_id, step_key, attempt, time.time())
        run = self._instance.get_run(run_id)
        gone = run is None or run.status.is_finished or run.status is RunStatus.CANCELING
        with self._lock:
            if (gone or not kept) and self._watched == (run_id, step_key, attempt):
                os.kill(os.getpid(), signal.SIGTERM)
