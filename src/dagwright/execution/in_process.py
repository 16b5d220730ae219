"""The in-process executor: the steps of a run one after another in this process."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from dagwright.definitions.composition import NodeOutput
from dagwright.errors import (
    DagwrightExecutionError,
    DagwrightInvalidTransitionError,
    DagwrightStorageError,
    DagwrightUserCodeError,
)
from dagwright.execution.context import OpExecutionContext, OpLogger
from dagwright.execution.events import Event, EventType
from dagwright.execution.logs import (
    PYTHON_CAPTURE,
    PendingChunk,
    StepLogCapture,
    StepLogRecorder,
    capture_step_logs,
)
from dagwright.execution.plan import Step
from dagwright.execution.result import ExecuteInProcessResult
from dagwright.execution.step import (
    StepInputError,
    StepOutputError,
    call_op,
    error_info,
    gather_inputs,
    split_outputs,
)
from dagwright.runs.models import Run, RunStatus
from dagwright.runs.reexecution import REUSED_STEPS_KEY
from dagwright.runs.request import PreparedRun, prepare_run

if TYPE_CHECKING:
    from dagwright.definitions.job import JobDefinition
    from dagwright.execution.outputs import OutputStore
    from dagwright.instance import Instance


class RunStorageLost(BaseException):
    """A write of the run's own events failed for good (after the storage's retries).

    A :class:`BaseException`, like an interrupt: it is not the op's error, so it passes
    through op code (``context.log`` raises it) and the step's user-code boundary, and
    the run ends with a storage reason instead of a STEP_FAILURE blaming the op.

    Attributes:
        error: the storage error.
    """

    def __init__(self, error: DagwrightStorageError) -> None:
        super().__init__(str(error))
        self.error = error


class InProcessExecution:
    """Executes one prepared run's plan, writing every event through the instance.

    Args:
        instance: where events (and so status changes) are stored.
        prepared: the run, its plan and op configs, and the outputs to load first.
        store_outputs: put every step output in ``instance.outputs`` once its op returns
            (a step whose output cannot be stored fails); if false, outputs are kept only
            in :attr:`outputs`, for the result. Loaded outputs are always read from
            ``instance.outputs``.
        logs: how each step's stdout and stderr are captured (see
            :mod:`dagwright.execution.logs`): Python's streams by default; None captures
            nothing.
    """

    def __init__(
        self,
        instance: Instance,
        prepared: PreparedRun,
        *,
        store_outputs: bool = True,
        logs: StepLogCapture | None = PYTHON_CAPTURE,
    ) -> None:
        self.instance = instance
        self.logs = logs
        self.prepared = prepared
        self.run = prepared.run
        self.plan = prepared.plan
        self.op_configs = prepared.op_configs
        self.store: OutputStore | None = instance.outputs if store_outputs else None
        self.events: list[Event] = []
        self.outputs: dict[NodeOutput, Any] = {}
        self.first_error: tuple[str, BaseException] | None = None

    def emit(
        self,
        event_type: EventType,
        step_key: str | None = None,
        message: str = "",
        level: str = "INFO",
        data: Mapping[str, Any] | None = None,
        chunks: Sequence[PendingChunk] = (),
    ) -> None:
        """Store an event (and the status change it implies) and keep it for the result;
        ``chunks``: step logs written in the same transaction."""
        event = Event(
            self.run.run_id, event_type, time.time(), step_key, message, level, data or {}
        )
        try:
            stored, run = self.instance.handle_event(event, chunks)
        except DagwrightStorageError as exc:
            raise RunStorageLost(exc) from exc
        self.events.append(stored)
        if run is not None:
            self.run = run

    def _log(self, step_key: str, level: str, message: str) -> None:
        self.emit(EventType.LOG, step_key, message, level)

    def execute(self) -> None:
        """Run every step; end the run in SUCCESS or FAILURE (also when interrupted).

        Raises:
            DagwrightStorageError: the run's events could not be written (after the
                storage's retries); the run was failed with a storage reason if that
                could still be written.
        """
        try:
            self._execute()
        except RunStorageLost as lost:
            self._storage_lost(lost.error)
            raise lost.error from None

    def _storage_lost(self, error: DagwrightStorageError) -> None:
        """Fail the run for a storage error (this write is retried too; if it fails, the
        caller gets the error: a run worker keeps it in its exit note)."""
        reason = f"storage error: {error}"
        with suppress(OSError):  # stderr is the worker's log, which may be on a full disk
            print(f"dagwright: failing run {self.run.run_id}: {reason}", file=sys.stderr)
        self.run = self.instance.fail_run(self.run.run_id, reason)

    def _execute(self) -> None:
        self.emit(EventType.RUN_START, message=f"started run of job {self.run.job_name!r}")
        try:
            if not self._load_reused_outputs():
                return
            not_done = self.execute_steps()
        except RunStorageLost:
            raise
        except BaseException as exc:
            self._interrupted(exc)
            raise
        if not_done:
            self._run_failed(not_done)
        else:
            self.emit(EventType.RUN_SUCCESS, message="all steps succeeded")

    def _run_failed(self, not_done: set[str]) -> None:
        """RUN_FAILURE naming the steps that failed apart from those skipped after them."""
        skipped = sorted(
            key
            for key in not_done
            if any(
                e.event_type is EventType.STEP_SKIPPED and e.step_key == key for e in self.events
            )
        )
        failed = sorted(not_done.difference(skipped))
        message = f"steps failed: {', '.join(failed) or 'none'}"
        if skipped:
            message += f"; skipped: {', '.join(skipped)}"
        self.emit(
            EventType.RUN_FAILURE,
            message=message,
            level="ERROR",
            data={"failed_steps": failed, "skipped_steps": skipped},
        )

    def _interrupted(self, exc: BaseException) -> None:
        """End the run when execution stops half-way: CANCELED if it was being canceled
        (``terminate``), else FAILURE; nothing if another process already ended it."""
        current = self.instance.get_run(self.run.run_id)
        if current is None or current.status.is_finished:
            return
        canceled = current.status is RunStatus.CANCELING
        with suppress(DagwrightInvalidTransitionError):  # the run monitor ended it meanwhile
            self.emit(
                EventType.RUN_CANCELED if canceled else EventType.RUN_FAILURE,
                message="run terminated" if canceled else f"run interrupted: {type(exc).__name__}",
                level="WARNING" if canceled else "ERROR",
                data={"error": error_info(exc)},
            )

    def _load_reused_outputs(self) -> bool:
        """Announce the steps a re-execution reuses and load the outputs it reads from
        them (also storing them under this run); False if the run failed doing so."""
        source = self.prepared.load_from
        if source is None:
            return True
        reused = sorted(self.prepared.reused)
        self.emit(
            EventType.ENGINE,
            message=f"re-executing run {source} from failure: executing "
            f"{', '.join(self.plan.step_keys)}; reusing {', '.join(reused) or 'no step'}",
            data={"parent_run_id": source, REUSED_STEPS_KEY: reused},
        )
        for output in sorted(self.prepared.loaded, key=lambda o: (o.node, o.output)):
            try:
                self.outputs[output] = value = self.instance.outputs.get(source, output)
                if self.store is not None:
                    self.store.put(self.run.run_id, output, value)
            except DagwrightExecutionError as exc:
                self.emit(
                    EventType.RUN_FAILURE,
                    message=f"could not load outputs of run {source}: {exc}",
                    level="ERROR",
                    data={"error": error_info(exc)},
                )
                return False
            self.emit(
                EventType.ENGINE,
                message=f"loaded output {output.output!r} of op {output.node!r} from run {source}",
                data={"node": output.node, "output": output.output, "from_run_id": source},
            )
        return True

    def execute_steps(self) -> set[str]:
        """Run the plan's steps one after another; the keys of those that did not succeed."""
        not_done: set[str] = set()
        for step in self.plan.steps:
            if self.skip_if_blocked(step, not_done) or not self.run_step(step):
                not_done.add(step.key)
        return not_done

    def skip_if_blocked(self, step: Step, not_done: set[str]) -> bool:
        """Write STEP_SKIPPED if an upstream step is in ``not_done``; whether it was."""
        blocked = [key for key in step.upstream if key in not_done]
        if blocked:
            self.emit(
                EventType.STEP_SKIPPED,
                step.key,
                f"skipped: upstream {', '.join(blocked)} did not succeed",
                data={"upstream": blocked},
            )
        return bool(blocked)

    def upstream_values(self, step: Step) -> Mapping[NodeOutput, Any]:
        """The outputs ``step`` may read its inputs from (those produced or loaded here)."""
        return self.outputs

    def _change_tags(self, node: str, add: Mapping[str, object], remove: Sequence[str]) -> Run:
        """An op's tag change: audited as ``op:<node>``; later steps see it too."""
        run_id = self.run.run_id
        actor = f"op:{node}"
        changed = self.instance.update_run_tags(
            run_id, add=add, remove=list(remove), actor=actor, via="op"
        )
        self.run = replace(self.run, tags=changed.tags)
        return self.run

    def run_step(self, step: Step) -> bool:
        """Execute one step (its upstream outputs from :meth:`upstream_values`), writing
        STEP_START, its LOG lines and STEP_SUCCESS or STEP_FAILURE; whether it succeeded."""
        started = time.perf_counter()
        self.emit(EventType.STEP_START, step.key, f"started op {step.node.op.name!r}")
        context = OpExecutionContext(
            self.run,
            step.key,
            self.op_configs.get(step.key),
            OpLogger(step.key, self._log),
            self.prepared.partitions_def,
            self._change_tags,
        )
        failure: Exception | None = None
        with self._captured(step) as recorder:  # the rest is written with the end event
            try:
                inputs = gather_inputs(step, self.upstream_values(step))
                produced = split_outputs(step, call_op(step.node.op, context, inputs))
                if self.store is not None:
                    for output, value in produced.values.items():
                        self.store.put(self.run.run_id, output, value)
            except Exception as exc:  # the user-code boundary: any op error fails the step
                failure = exc
        chunks = recorder.final if recorder is not None else ()
        if failure is not None:
            self._step_failed(step, failure, chunks)
            return False
        self.outputs.update(produced.values)
        duration_ms = round((time.perf_counter() - started) * 1000, 3)
        data: dict[str, Any] = {
            "outputs": [o.output for o in produced.values],
            "duration_ms": duration_ms,
        }
        if produced.metadata:
            data["output_metadata"] = produced.metadata
        message = f"op {step.key!r} succeeded"
        self.emit(EventType.STEP_SUCCESS, step.key, message, data=data, chunks=chunks)
        return True

    def _captured(self, step: Step) -> AbstractContextManager[StepLogRecorder | None]:
        """Capture the step's stdout and stderr as :attr:`logs` asks (or not at all); what
        is left when the step ends is held for its end event."""
        if self.logs is None:
            return nullcontext()
        logs = self.logs
        run_id = self.run.run_id
        return capture_step_logs(
            self.instance, run_id, step.key, fd=logs.fd, echo=logs.echo, hold_final=True
        )

    def _step_failed(self, step: Step, exc: Exception, chunks: Sequence[PendingChunk] = ()) -> None:
        if self.first_error is None:
            self.first_error = (step.key, exc)
        kinds = {StepInputError: "type error", StepOutputError: "output error"}
        kind = kinds.get(type(exc), type(exc).__name__)
        self.emit(
            EventType.STEP_FAILURE,
            step.key,
            f"op {step.key!r} failed: {kind}: {exc}",
            level="ERROR",
            data={"error": error_info(exc)},
            chunks=chunks,
        )


def execute_prepared(
    instance: Instance,
    prepared: PreparedRun,
    *,
    store_outputs: bool = True,
    logs: StepLogCapture | None = PYTHON_CAPTURE,
) -> InProcessExecution:
    """Store a prepared run and execute it here; return the finished execution (see
    :class:`InProcessExecution` for ``store_outputs`` and ``logs``).

    Raises:
        BaseException: only an interrupt (KeyboardInterrupt, SystemExit …), after the run
            is stored as FAILURE; op errors end the run in FAILURE instead.
    """
    # the run's RUN_START, a durable commit, comes before any op runs and syncs this too
    instance.records.runs.add_run(prepared.run, durable=False)
    execution = InProcessExecution(instance, prepared, store_outputs=store_outputs, logs=logs)
    execution.execute()
    return execution


def execute_job_in_process(  # noqa: PLR0913 - execute_in_process's options, and the CLI's
    job: JobDefinition,
    *,
    run_config: Mapping[str, Any] | None,
    tags: Mapping[str, object] | None,
    op_selection: Sequence[str] | None,
    partition_key: str | None,
    instance: Instance | None,
    raise_on_error: bool,
    store_outputs: bool = False,
    logs: StepLogCapture | None = PYTHON_CAPTURE,
) -> ExecuteInProcessResult:
    """Validate, store and execute a run of ``job`` in this process (see
    :meth:`JobDefinition.execute_in_process`).

    Outputs stay in this process, as with an in-memory IO manager, unless
    ``store_outputs`` (``dagwright job execute`` sets it, so that its runs can be
    re-executed from failure); launched runs always store theirs. ``logs``: how each
    step's stdout and stderr are captured (``dagwright job execute`` echoes them).
    """
    prepared = prepare_run(
        job,
        run_config=run_config,
        tags=tags,
        op_selection=op_selection,
        partition_key=partition_key,
    )
    if instance is None:
        from dagwright.instance import Instance

        with Instance.ephemeral() as owned:
            execution = execute_prepared(owned, prepared, store_outputs=False, logs=logs)
    else:
        execution = execute_prepared(instance, prepared, store_outputs=store_outputs, logs=logs)
    if raise_on_error and execution.first_error is not None:
        step_key, exc = execution.first_error
        raise DagwrightUserCodeError(f"op {step_key!r}", exc) from exc
    return ExecuteInProcessResult(execution.run, execution.events, execution.outputs)
