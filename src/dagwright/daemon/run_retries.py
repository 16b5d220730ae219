"""The retry loop: a failed run with ``dagwright/max_retries`` left gets a new run."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from dagwright.daemon.base import log
from dagwright.errors import DagwrightCodeLocationError, DagwrightError
from dagwright.execution.events import Event, EventType
from dagwright.runs.models import Run, RunsFilter, RunStatus
from dagwright.runs.retries import RetryDecision, retry_decision
from dagwright.tags import PARENT_RUN_ID_TAG

if TYPE_CHECKING:
    from dagwright.definitions.container import Definitions
    from dagwright.instance import Instance

#: How far back a starting daemon looks for failures it has not retried yet (seconds).
LOOKBACK_SECONDS: Final = 24 * 3600.0

#: Key of the ENGINE event data in which the loop says why it did not retry a run.
RETRY_REFUSED_KEY: Final = "retry_refused"

#: Failed runs whose children are looked up in one statement.
_CHUNK: Final = 500


class RunRetryDaemon:
    """Each pass reads the runs that failed since the last pass and retries those whose
    tags ask for it. A run that has a child already (an earlier retry, after a crash or by
    a second daemon, or a re-execution by hand) is not retried. Nothing is imported: a
    retry is made from the stored run. With ``definitions`` (the daemon's ``-f``/``-m``),
    runs of other code locations are not retried; the run gets an ENGINE event saying so."""

    name = "run_retries"

    def __init__(
        self,
        instance: Instance,
        interval_seconds: float = 1.0,
        definitions: Definitions | None = None,
    ) -> None:
        self._instance = instance
        self.interval_seconds = interval_seconds
        self._definitions = definitions
        self._since: float | None = None

    def run_iteration(self, now: float) -> None:
        """Retry the runs that failed after the previous pass (as of ``now``)."""
        since = now - LOOKBACK_SECONDS if self._since is None else self._since
        settings = self._instance.settings.run_retries
        failed = self._instance.storage.runs.get_runs_ended_after(RunStatus.FAILURE, since)
        reexecuted = self._reexecuted(failed) if settings.enabled else set()
        for run in failed:
            decision = retry_decision(
                run,
                enabled=settings.enabled,
                default_max_retries=settings.max_retries,
                reexecuted=run.run_id in reexecuted,
            )
            if decision is not None:
                self._retry(decision)
        self._since = max([since, *(run.ended_at or since for run in failed)])

    def _reexecuted(self, runs: Sequence[Run]) -> set[str]:
        """The ids of the runs that have a child (a retry or a re-execution)."""
        ids = [run.run_id for run in runs]
        found: set[str] = set()
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            children = self._instance.get_runs(RunsFilter(tags={PARENT_RUN_ID_TAG: chunk}))
            found.update(child.tags[PARENT_RUN_ID_TAG] for child in children)
        return found

    def _retry(self, decision: RetryDecision) -> None:
        parent = decision.run
        try:
            child = self._instance.retry(
                parent.run_id,
                retry_number=decision.retry_number,
                from_failure=decision.from_failure,
                definitions=self._definitions,
            )
        except DagwrightCodeLocationError as exc:
            self._refused(parent, exc)
            return
        except DagwrightError as exc:
            log.warning("run_retries: cannot retry run %s: %s", parent.run_id, exc)
            return
        strategy = "from failure" if decision.from_failure else "all steps"
        log.info(
            "run_retries: run %s failed; retry %d is run %s (%s)",
            parent.run_id,
            decision.retry_number,
            child.run_id,
            strategy,
        )

    def _refused(self, parent: Run, exc: DagwrightCodeLocationError) -> None:
        """Say once, on the run itself, why it was not retried (a restarted daemon that
        reads the run again does not say it twice)."""
        log.warning("run_retries: not retrying run %s: %s", parent.run_id, exc)
        events = self._instance.get_events(parent.run_id)
        if any(RETRY_REFUSED_KEY in event.data for event in events):
            return
        self._instance.handle_event(
            Event(
                parent.run_id,
                EventType.ENGINE,
                time.time(),
                message=f"not retried: {exc}",
                level="WARNING",
                data={RETRY_REFUSED_KEY: exc.location},
            )
        )
