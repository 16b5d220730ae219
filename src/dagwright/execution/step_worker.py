"""The step worker: ``python -m dagwright.execution.step_worker RUN_ID STEP_KEY``.

Started by the multiprocess executor (see :mod:`dagwright.execution.multiprocess`) with
``DAGWRIGHT_HOME`` set. It loads the job from the run's code pointer and rebuilds the run's
plan as the run worker does, reads the step's inputs from the instance's output store
(under this run's id), executes the one step with the in-process step code (writing
STEP_START, LOG lines and STEP_SUCCESS or STEP_FAILURE, storing its outputs), and exits
0 if the step succeeded, else 1. A worker that cannot even load the job exits 1 without
an event; the executor then fails the step.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from dagwright.definitions.composition import NodeOutput
from dagwright.definitions.loader import load_job
from dagwright.errors import DagwrightError
from dagwright.execution.in_process import InProcessExecution, RunStorageLost
from dagwright.execution.plan import Step
from dagwright.execution.worker import open_worker_instance, prepare_stored_run
from dagwright.instance import Instance
from dagwright.runs.worker_process import STORAGE_ERROR_EXIT


class StepExecution(InProcessExecution):
    """Executes one step of a run whose other steps run in other processes: upstream
    outputs are read from ``instance.outputs`` instead of this process's memory."""

    def upstream_values(self, step: Step) -> Mapping[NodeOutput, Any]:
        """The stored outputs of this run that feed the step.

        Raises:
            DagwrightExecutionError: a stored output cannot be read (fails the step).
        """
        assert self.store is not None
        values: dict[NodeOutput, Any] = {}
        for source in step.node.inputs.values():
            if isinstance(source, NodeOutput) and self.store.has(self.run.run_id, source):
                values[source] = self.store.get(self.run.run_id, source)
        return values


def execute_step(instance: Instance, run_id: str, step_key: str) -> bool:
    """Load a stored run and execute its step ``step_key`` here; whether it succeeded.

    Raises:
        DagwrightError: the run or the step does not exist.
    """
    run = instance.get_run(run_id)
    if run is None or run.code_pointer is None:
        raise DagwrightError(f"run {run_id!r} not found or not launchable")
    prepared = prepare_stored_run(instance, load_job(run.code_pointer), run)
    step = next((s for s in prepared.plan.steps if s.key == step_key), None)
    if step is None:
        raise DagwrightError(f"run {run_id!r} has no step {step_key!r} to execute")
    return StepExecution(instance, prepared).run_step(step)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m dagwright.execution.step_worker RUN_ID STEP_KEY", file=sys.stderr)
        return 2
    with open_worker_instance()[0] as instance:
        try:
            return 0 if execute_step(instance, args[0], args[1]) else 1
        except RunStorageLost as lost:  # the coordinator fails the run for storage
            with contextlib.suppress(OSError):
                print(f"step worker exited: storage error: {lost.error}", file=sys.stderr)
            return STORAGE_ERROR_EXIT


if __name__ == "__main__":
    sys.exit(main())
