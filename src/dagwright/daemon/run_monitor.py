"""The run monitor loop: ends runs whose worker died or went silent, kills runs that run
too long."""

from __future__ import annotations

import signal
import time
from typing import TYPE_CHECKING, Final

from dagwright.daemon.base import log
from dagwright.errors import DagwrightError, DagwrightStorageError
from dagwright.execution.events import EventType
from dagwright.runs.launcher import process_alive, process_stopped, signal_worker
from dagwright.runs.models import IN_PROGRESS_STATUSES, Run, RunsFilter, RunStatus, WorkerInfo
from dagwright.runs.monitor import Action, MonitorPolicy, Verdict, verdicts
from dagwright.runs.worker_process import read_exit_note

if TYPE_CHECKING:
    from dagwright.instance import Instance

#: Seconds a write may take for the storage to count as answering promptly: slower, and
#: the storage may have held up the workers' heartbeats too, so silence is judged again.
PROMPT_WRITE_SECONDS: Final = 1.0


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
        home = instance.home
        notes = {  # why a dead worker exited, if it said (a storage error …)
            run_id: note
            for run_id, live in alive.items()
            if live is False and home is not None
            for note in [read_exit_note(home, run_id)]
            if note is not None
        }
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
        runs = self._fail_stuck_launches(runs)
        found = verdicts(runs, workers, alive, now, self.policy, canceling, starting, notes)
        for verdict in found:
            worker = workers.get(verdict.run.run_id)
            if not verdict.silent or self._still_silent(worker):
                self._apply(verdict, worker, now)

    def _fail_stuck_launches(self, runs: list[Run]) -> list[Run]:
        """Fail the runs whose launcher knows they cannot go on (a Kubernetes pod whose
        image cannot be pulled, an OOM kill, a Job failed while the run did not end); the
        other runs, to judge as usual."""
        reason_of = getattr(self._instance.launcher, "failure_reason", None)
        if reason_of is None:
            return runs
        going_on = []
        for run in runs:
            reason = reason_of(run) if run.status is not RunStatus.CANCELING else None
            if reason is None:
                going_on.append(run)
                continue
            log.info("run_monitor: failing run %s (%s): %s", run.run_id, run.job_name, reason)
            self._instance.fail_run(run.run_id, reason)
            self._instance.launcher.terminate(run)
        return going_on

    def _still_silent(self, worker: WorkerInfo | None) -> bool:
        """Whether a worker whose heartbeats stopped is silent for its own reasons: it is
        stopped (it may hold the very lock that blocks everyone: only killing it frees
        it), or a write to its row (waiting on whatever lock held up its heartbeats) goes
        through promptly and finds no newer heartbeat. Otherwise the storage was the
        trouble: judged again on the next pass."""
        if worker is None:
            return False
        if process_stopped(worker):
            return True
        started = time.monotonic()
        try:
            current = self._instance.records.workers.touch(worker.run_id)
        except DagwrightStorageError as exc:
            log.warning(
                "run_monitor: storage trouble, judging run %s later: %s", worker.run_id, exc
            )
            return False
        prompt = time.monotonic() - started <= PROMPT_WRITE_SECONDS
        return prompt and current is not None and current.heartbeat_at == worker.heartbeat_at

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
            self._signal(run, worker, signal.SIGTERM)
        elif verdict.action in (Action.KILL, Action.ABORT):  # a stopped process takes only this
            self._signal(run, worker, signal.SIGKILL)
        if verdict.action is Action.RELAUNCH:
            self._relaunch(run, reason, stale_before=now - self.policy.start_timeout)
        elif verdict.action in (Action.FAIL, Action.TERMINATE, Action.ABORT):
            self._instance.fail_run(run.run_id, reason)
        else:
            self._instance.end_run(run.run_id, EventType.RUN_CANCELED, reason)

    def _signal(self, run: Run, worker: WorkerInfo | None, signum: int) -> None:
        """Signal a local worker; one on another host (a pod) is stopped by its launcher."""
        if not signal_worker(worker, signum) and worker is not None and worker.pid is None:
            self._instance.launcher.terminate(run, force=signum == signal.SIGKILL)

    def _relaunch(self, run: Run, reason: str, *, stale_before: float) -> None:
        try:
            self._instance.launcher.relaunch(run, stale_before=stale_before)
        except DagwrightError as exc:
            self._instance.fail_run(run.run_id, f"{reason}, and it cannot be relaunched: {exc}")
