"""The run queue loop: launch queued runs in priority order, within the limits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dagwright.daemon.base import log
from dagwright.errors import DagwrightError, DagwrightInvalidTransitionError
from dagwright.runs.claims import ClaimRefusedError
from dagwright.runs.models import RunStatus

if TYPE_CHECKING:
    from dagwright.instance import Instance


class RunQueueDaemon:
    """Each pass: decide (``dagwright.runs.queue.decide``) and launch the admitted runs.

    A run another daemon claimed first is skipped (its ``RUN_STARTING`` is refused by the
    transition table), and so is a run whose claim finds a limit full in storage (another
    daemon launched runs since this pass read the queue: see :mod:`dagwright.runs.claims`);
    it stays queued for a later pass. A run that cannot be launched at all is failed with
    the reason.
    """

    name = "run_queue"

    def __init__(self, instance: Instance) -> None:
        settings = instance.settings.run_queue
        if settings is None:
            raise DagwrightError("run_queue is not configured in dagwright.yaml")
        self._instance = instance
        self.interval_seconds = settings.dequeue_interval_seconds

    def run_iteration(self, now: float) -> None:
        """One pass over the queue as of ``now``."""
        decision = self._instance.get_queue_state()
        for entry in decision.to_launch:
            run = self._instance.get_run(entry.run_id)
            if run is None or run.status is not RunStatus.QUEUED:
                continue  # deleted or canceled since the pass read it
            try:
                self._instance.launcher.launch(run)
            except ClaimRefusedError as exc:
                log.info("run_queue: run %s waits: %s", run.run_id, "; ".join(exc.reasons))
                continue
            except DagwrightInvalidTransitionError:
                log.info("run_queue: run %s was claimed by another daemon", run.run_id)
                continue
            except DagwrightError as exc:
                log.warning("run_queue: run %s cannot be launched: %s", run.run_id, exc)
                self._instance.fail_run(run.run_id, f"could not launch: {exc}")
                continue
            state = decision.state_of(run.run_id)
            position = state.position if state else "?"
            log.info(
                "run_queue: launched run %s (%s), queue position %s",
                run.run_id,
                run.job_name,
                position,
            )
