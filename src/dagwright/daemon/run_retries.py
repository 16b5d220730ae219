"""The retry loop: a failed run with ``dagwright/max_retries`` left gets a new run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from dagwright.daemon.base import log
from dagwright.errors import DagwrightError
from dagwright.runs.models import RunsFilter, RunStatus
from dagwright.runs.retries import RetryDecision, retry_decision
from dagwright.tags import PARENT_RUN_ID_TAG, RETRY_NUMBER_TAG

if TYPE_CHECKING:
    from dagwright.instance import Instance

#: How far back a starting daemon looks for failures it has not retried yet (seconds).
LOOKBACK_SECONDS: Final = 24 * 3600.0


class RunRetryDaemon:
    """Each pass reads the runs that failed since the last pass and retries those whose
    tags ask for it. Idempotent: a retry that already exists (tagged with the parent and
    its retry number) is not made twice, after a crash or by a second daemon."""

    name = "run_retries"

    def __init__(self, instance: Instance, interval_seconds: float = 1.0) -> None:
        self._instance = instance
        self.interval_seconds = interval_seconds
        self._since: float | None = None

    def run_iteration(self, now: float) -> None:
        """Retry the runs that failed after the previous pass (as of ``now``)."""
        since = now - LOOKBACK_SECONDS if self._since is None else self._since
        settings = self._instance.settings.run_retries
        failed = self._instance.storage.runs.get_runs_ended_after(RunStatus.FAILURE, since)
        for run in failed:
            decision = retry_decision(
                run, enabled=settings.enabled, default_max_retries=settings.max_retries
            )
            if decision is not None and not self._exists(decision):
                self._retry(decision)
        self._since = max([since, *(run.ended_at or since for run in failed)])

    def _exists(self, decision: RetryDecision) -> bool:
        tags = {
            PARENT_RUN_ID_TAG: decision.run.run_id,
            RETRY_NUMBER_TAG: str(decision.retry_number),
        }
        return self._instance.get_runs_count(RunsFilter(tags=tags)) > 0

    def _retry(self, decision: RetryDecision) -> None:
        parent = decision.run
        try:
            child = self._instance.retry(
                parent.run_id,
                retry_number=decision.retry_number,
                from_failure=decision.from_failure,
            )
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
