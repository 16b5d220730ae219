"""Run coordinators: what happens to a run once it is submitted.

Without ``run_queue`` in ``dagwright.yaml`` a run is launched at once; with it, the run is
``QUEUED`` and the daemon's run queue launches it when the limits allow.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from dagwright.execution.events import Event, EventType
from dagwright.runs.models import Run

if TYPE_CHECKING:
    from dagwright.instance import Instance


class RunCoordinator(Protocol):
    """Takes submitted runs (stored, ``NOT_STARTED``) and sees that they get launched."""

    def submit(self, run: Run) -> Run:
        """Hand over a stored run; returns it in its new status."""
        ...

    def submit_many(self, runs: Sequence[Run]) -> list[Run]:
        """Store new (``NOT_STARTED``) runs and hand them over: the runs of a backfill or a
        tick. Returns them in their new status."""
        ...


class ImmediateRunCoordinator:
    """Launches every run as soon as it is submitted (no ``run_queue`` configured)."""

    def __init__(self, instance: Instance) -> None:
        self._instance = instance

    def submit(self, run: Run) -> Run:
        """Launch the run now."""
        return self._instance.launcher.launch(run)

    def submit_many(self, runs: Sequence[Run]) -> list[Run]:
        """Store the runs in one transaction, then launch each."""
        self._instance.storage.runs.add_runs(runs)
        return [self.submit(run) for run in runs]


class QueuedRunCoordinator:
    """Puts every run in the queue; the daemon launches it when the limits allow."""

    def __init__(self, instance: Instance) -> None:
        self._instance = instance

    def submit(self, run: Run) -> Run:
        """Move the run to ``QUEUED``."""
        _, queued = self._instance.handle_event(
            Event(run.run_id, EventType.RUN_ENQUEUED, time.time(), message="run queued")
        )
        assert queued is not None
        return queued

    def submit_many(self, runs: Sequence[Run]) -> list[Run]:
        """Store the runs already ``QUEUED``, each with its ``RUN_ENQUEUED`` event, in one
        transaction (a 1,000-partition backfill is queued in one write)."""
        now = time.time()
        events = [
            Event(run.run_id, EventType.RUN_ENQUEUED, now, message="run queued") for run in runs
        ]
        return self._instance.storage.runs.add_runs(runs, events)
