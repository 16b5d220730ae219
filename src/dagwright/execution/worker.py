"""The run worker: ``python -m dagwright.execution.worker RUN_ID``.

Started by the process launcher with ``DAGWRIGHT_HOME`` set. It loads the instance and the
job (from the run's code pointer), executes the run's plan with the job's executor (in this
process, or as the coordinator of step processes), writes every event, and exits 0 on
success, 1 on failure. A worker that cannot even load the job ends the run as FAILURE with
``dagwright/failure_reason``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from types import FrameType

from dagwright.definitions.job import JobDefinition
from dagwright.definitions.loader import load_job
from dagwright.errors import (
    DagwrightError,
    DagwrightExecutionError,
    DagwrightRunNotFoundError,
    DagwrightStorageError,
)
from dagwright.execution.executors import CELERY, MULTIPROCESS, max_concurrent_for
from dagwright.execution.in_process import InProcessExecution
from dagwright.execution.logs import FD_CAPTURE
from dagwright.execution.plan import build_plan, resolve_selection
from dagwright.instance import Instance
from dagwright.runs.models import Run
from dagwright.runs.reexecution import prepare_reexecution, resumes_failure
from dagwright.runs.request import PreparedRun, resolve_op_configs
from dagwright.runs.worker_process import (
    STANDBY,
    STORAGE_ERROR_EXIT,
    WORKER_HEARTBEAT_ENV,
    WORKER_OUTPUTS_ENV,
    WORKER_STORAGE_ENV,
    WORKER_STORAGE_OPTIONS_ENV,
    ExitNote,
    exit_note_path,
    heartbeat_interval,
    worker_log_path,
)


def prepare_stored_run(instance: Instance, job: JobDefinition, run: Run) -> PreparedRun:
    """Rebuild the plan and op configs of a run that was validated when it was submitted.

    A re-execution from failure, or an automatic retry from failure, is prepared from its
    parent (a finished run, so every process of the run chooses the same steps and loads
    the same outputs); such a retry runs all steps when the parent left nothing to resume.
    """
    if resumes_failure(run) and run.parent_run_id is not None:
        parent = instance.get_run(run.parent_run_id)
        if parent is None:
            raise DagwrightRunNotFoundError(run.parent_run_id)
        try:
            prepared = prepare_reexecution(
                job,
                parent,
                instance.records.events.get_events(parent.run_id),
                from_failure=True,
                tags=None,
                outputs=instance.outputs,
            )
            return replace(prepared, run=run)
        except DagwrightExecutionError:
            if run.step_keys_to_execute is not None:
                raise
            # a retry whose parent left nothing to resume from runs all its steps
    selected = resolve_selection(job.graph, run.op_selection) if run.op_selection else None
    plan = build_plan(job.graph, selected)
    configs = resolve_op_configs(job, run.run_config, plan.step_keys)
    return PreparedRun(run, plan, configs, partitions_def=job.partitions_def)


def _execution_for(
    instance: Instance, job: JobDefinition, prepared: PreparedRun
) -> InProcessExecution:
    """The execution the job's executor asks for: step processes (multiprocess) or this
    process (in_process, the default)."""
    name = job.executor_def.name if job.executor_def is not None else None
    if name == CELERY:
        from dagwright.celery.executor import CeleryExecution

        return CeleryExecution(instance, prepared, job.executor_def)
    if job.executor_def is None or name != MULTIPROCESS:
        return InProcessExecution(instance, prepared, logs=FD_CAPTURE)
    from dagwright.execution.multiprocess import MultiprocessExecution

    limit = max_concurrent_for(job.executor_def, prepared.run.run_config)
    return MultiprocessExecution(instance, prepared, max_concurrent=limit)


def execute_run(instance: Instance, run_id: str) -> bool:
    """Load and execute a stored run in this process; whether it succeeded."""
    run = instance.get_run(run_id)
    if run is None or run.code_pointer is None:
        raise DagwrightError(f"run {run_id!r} not found or not launchable")
    try:
        job = load_job(run.code_pointer)
        _record_code_version(instance, job, run)
        prepared = prepare_stored_run(instance, job, run)
    except Exception as exc:  # the code or config changed under the run: fail it, clearly
        instance.fail_run(run.run_id, "could not load the job", exc)
        return False
    execution = _execution_for(instance, job, prepared)
    execution.execute()
    return execution.first_error is None and execution.run.status.value == "SUCCESS"


def _record_code_version(instance: Instance, job: JobDefinition, run: Run) -> None:
    """Stamp ``dagwright/git_commit`` of the code this worker loaded, when it is not the
    one recorded at submit (the code changed in between, or a retry)."""
    from dagwright.runs.request import code_version_tags

    tags = code_version_tags(job)
    if tags and any(run.tags.get(key) != value for key, value in tags.items()):
        instance.set_system_tags(run.run_id, tags)


class RunTerminated(BaseException):
    """Raised in the worker's main thread when it receives SIGTERM (``terminate``)."""


def _raise_terminated(signum: int, _frame: FrameType | None) -> None:
    raise RunTerminated(f"run worker received {signal.Signals(signum).name}")


def _beat(instance: Instance, run_id: str, stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        try:
            instance.records.workers.beat(run_id, time.time())
        except Exception as exc:  # a missed beat is not fatal; the next one may succeed
            print(f"heartbeat failed: {exc}", file=sys.stderr)


def _await_run_id(instance: Instance) -> str | None:
    """A standby worker waits for its run id; its output then goes to that run's log."""
    line = sys.stdin.readline().strip()
    if not line or instance.home is None:
        return None
    log = worker_log_path(instance.home, line)
    log.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    return line


def _execute_with_heartbeats(instance: Instance, run_id: str, interval: float) -> int:
    stop = threading.Event()
    beats = threading.Thread(target=_beat, args=(instance, run_id, stop, interval), daemon=True)
    note = ExitNote(exit_note_path(instance.home, run_id)) if instance.home else None
    beats.start()
    try:
        code = 0 if execute_run(instance, run_id) else 1
    except RunTerminated:
        code = 143
    except DagwrightStorageError as exc:  # not even the failure could be written
        _last_words(note, f"storage error: {exc}")
        return STORAGE_ERROR_EXIT
    finally:
        stop.set()
    if note is not None:
        note.discard()
    return code


def _last_words(note: ExitNote | None, cause: str) -> None:
    """Keep why the worker exits: in its exit note (space reserved beforehand, for a full
    disk) and on stderr (its log); the run monitor reads the note."""
    if note is not None:
        note.write(cause)
    with contextlib.suppress(OSError):
        print(f"run worker exited: {cause}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print(f"usage: python -m dagwright.execution.worker RUN_ID|{STANDBY}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _raise_terminated)
    instance, interval = open_worker_instance()
    with instance:
        run_id = _await_run_id(instance) if args[0] == STANDBY else args[0]
        if run_id is None:
            return 0  # the launcher went away without a run for this standby worker
        return _execute_with_heartbeats(instance, run_id, interval)


def open_worker_instance() -> tuple[Instance, float]:
    """The instance of a worker (of a run or a step), and its heartbeat interval.

    A worker started by a launcher gets the
    storage URL and interval in its environment and opens only the driver-level records
    (no settings file, no SQLAlchemy: most of a cold start); one started by hand reads
    ``$DAGWRIGHT_HOME`` like any other command."""
    url = os.environ.get(WORKER_STORAGE_ENV)
    if url is None:
        instance = Instance.get()
        return instance, heartbeat_interval(instance)
    from dagwright.storage.driver import StorageOptions

    interval = float(os.environ.get(WORKER_HEARTBEAT_ENV, "2.5"))
    home, outputs = os.environ["DAGWRIGHT_HOME"], os.environ.get(WORKER_OUTPUTS_ENV)
    options = StorageOptions.from_env(os.environ.get(WORKER_STORAGE_OPTIONS_ENV))
    return Instance.for_run_worker(home, url, options, outputs=outputs), interval


if __name__ == "__main__":
    sys.exit(main())
