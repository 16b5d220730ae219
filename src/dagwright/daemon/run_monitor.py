"""The run monitor loop: ends runs whose worker died, kills runs that run too long."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

from dagwright.daemon.base import log
from dagwright.errors import DagwrightError
from dagwright.execution.events import EventType
from dagwright.runs.launcher import process_alive, signal_worker
from dagwright.runs.models import IN_PROGRESS_STATUSES, Run, RunsFilter, RunStatus, WorkerInfo
from dagwright.runs.monitor import Action, MonitorPolicy, Verdict, verdicts

if TYPE_CHECKING:
    from dagwright.instance import Instance


class RunMonitorDaemon:
    """Checks every run in progress each pass (see :mod:`dagwright.runs.monitor`)."""

    name = "run_monitor"

    def __init__(self, instance: Instance, policy: MonitorPolicy | None = None) -> None:
        self._instance = instance
        poll = instance.settings.run_monitoring.poll_interval_seconds
        self.interval_seconds = poll
        self.policy = policy or MonitorPolicy.for_poll_interval(poll)

    def run_iteration(self, now: float) -> None:
        """Judge every run in progress as of ``now`` and carry the verdicts out."""
        instance = self._instance
        runs = instance.get_runs(RunsFilter(statuses=list(IN_PROGRESS_STATUSES)))
        if not runs:
            return
        workers = instance.storage.workers.get_many([run.run_id for run in runs])
        alive = {run_id: process_alive(worker) for run_id, worker in workers.items()}
        canceling = {
            r.run_id: self._since(r, EventType.RUN_CANCELING)
            for r in runs
            if r.status is RunStatus.CANCELING
        }
        starting = {  # only runs that may need a worker started: rare
            r.run_id: self._since(r, EventType.RUN_STARTING)
            for r in runs
            if r.status is RunStatus.STARTING and r.run_id not in workers
        }
        for verdict in verdicts(runs, workers, alive, now, self.policy, canceling, starting):
            self._apply(verdict, workers.get(verdict.run.run_id), now)

    def _since(self, run: Run, event_type: EventType) -> float:
        """When the run last entered a status (the time of that event)."""
        event = self._instance.records.events.last_event(run.run_id, [event_type])
        return event.timestamp if event is not None else run.created_at

    def _apply(self, verdict: Verdict, worker: WorkerInfo | None, now: float) -> None:
        run, reason = verdict.run, verdict.reason
        log.info(
            "run_monitor: %s run %s (%s): %s",
            verdict.action.value,
            run.run_id,
            run.job_name,
            reason,
        )
        if verdict.action is Action.TERMINATE:
            signal_worker(worker, signal.SIGTERM)
        elif verdict.action is Action.KILL:
            signal_worker(worker, signal.SIGKILL)
        if verdict.action is Action.RELAUNCH:
            self._relaunch(run, reason, stale_before=now - self.policy.start_timeout)
        elif verdict.action in (Action.FAIL, Action.TERMINATE):
            self._instance.fail_run(run.run_id, reason)
        else:
            self._instance.end_run(run.run_id, EventType.RUN_CANCELED, reason)

    def _relaunch(self, run: Run, reason: str, *, stale_before: float) -> None:
        try:
            self._instance.launcher.relaunch(run, stale_before=stale_before)
        except DagwrightError as exc:
            self._instance.fail_run(run.run_id, f"{reason}, and it cannot be relaunched: {exc}")
