"""Run monitoring policy: pure verdicts on runs in progress, given their workers and ``now``.

The run monitor daemon gathers the facts (runs in progress, their registered workers,
whether each worker's process is alive, the exit note a dead one left) and carries the
verdicts out; deciding is here.

Rules, for a run in STARTING, STARTED or CANCELING:

* a worker that is known dead (on this host: its process is gone or a zombie) ends the
  run: FAILURE (``worker died``, or ``worker exited: <its exit note>`` when it left one,
  e.g. a storage error), or CANCELED for a run being canceled;
* a worker whose heartbeat is older than ``stale_after`` seconds (``start_timeout`` while
  the run is STARTING) is taken for dead, wherever it runs: on another host (whose process
  cannot be checked) the host was lost; on this host the process lives but is stuck (or
  stopped), and is killed (``ABORT``) before the run is failed;
* a STARTING run with no registered worker after ``start_timeout`` seconds was claimed by
  a launcher that died before starting its worker: it is relaunched (never lost);
* a STARTED run past its ``dagwright/max_runtime`` is terminated and failed;
* a CANCELING run whose worker still lives ``kill_after`` seconds after the cancel began
  is killed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from dagwright.runs.models import Run, RunStatus, WorkerInfo
from dagwright.tags import MAX_RUNTIME_TAG


class Action(str, Enum):
    """What the monitor does to a run."""

    FAIL = "FAIL"  # mark it FAILURE (its worker is gone)
    CANCEL = "CANCEL"  # mark it CANCELED (it was being canceled and its worker is gone)
    TERMINATE = "TERMINATE"  # stop its worker and mark it FAILURE (it ran too long)
    KILL = "KILL"  # SIGKILL a worker that ignored the cancel, then mark it CANCELED
    RELAUNCH = "RELAUNCH"  # start the worker its launcher never started (it died first)
    ABORT = "ABORT"  # SIGKILL a live worker that stopped sending heartbeats, mark it FAILURE


@dataclass(frozen=True)
class Verdict:
    """One decision of the monitor, with the reason shown to users."""

    run: Run
    action: Action
    reason: str
    #: The verdict rests on the worker's heartbeats having stopped (the daemon makes sure
    #: the storage itself did not hold them up before it acts).
    silent: bool = False


@dataclass(frozen=True)
class MonitorPolicy:
    """The monitor's time limits, in seconds."""

    stale_after: float
    start_timeout: float
    kill_after: float = 10.0

    @classmethod
    def for_poll_interval(cls, poll_interval: float) -> MonitorPolicy:
        """Limits for a monitor polling every ``poll_interval`` seconds.

        A local worker's death is seen on the next pass (its process is checked); a
        worker (heartbeats every ``poll_interval / 2`` s, at most 5 s) that stops sending
        heartbeats is taken for lost, or stuck, after ``max(2 × poll_interval, 10)``
        seconds of silence: at least 4 missed heartbeats, and at least 10 s so that a
        busy machine does not lose runs.
        """
        return cls(
            stale_after=max(2 * poll_interval, 10.0), start_timeout=max(30.0, 4 * poll_interval)
        )


def _max_runtime(run: Run) -> float | None:
    value = run.tags.get(MAX_RUNTIME_TAG)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _worker_gone(
    run: Run,
    worker: WorkerInfo | None,
    alive: bool | None,
    now: float,
    policy: MonitorPolicy,
    starting_since: float | None,
    note: str | None,
) -> str | None:
    if run.status is RunStatus.STARTING and (worker is None or worker.pid is None):
        # no worker started yet (a recorded worker without a pid is a claim)
        if worker is not None:
            since = worker.heartbeat_at
        else:
            since = run.created_at if starting_since is None else starting_since
        if now - since > policy.start_timeout:
            return f"no run worker started within {policy.start_timeout:g} s"
        return None
    if worker is None:
        return None
    if alive is False:
        if note:
            return f"run worker exited: {note}"
        return "run worker died (its process exited without ending the run)"
    return _silence(run, worker, now, policy)


def _silence(run: Run, worker: WorkerInfo, now: float, policy: MonitorPolicy) -> str | None:
    """Why a worker that may live (or runs elsewhere) is taken for lost, if it is."""
    silent = now - worker.heartbeat_at
    limit = policy.start_timeout if run.status is RunStatus.STARTING else policy.stale_after
    if silent > limit:
        return f"run worker stopped sending heartbeats for {silent:.0f} s"
    return None


def verdict_for(
    run: Run,
    worker: WorkerInfo | None,
    alive: bool | None,
    now: float,
    policy: MonitorPolicy,
    canceling_since: float | None = None,
    starting_since: float | None = None,
    note: str | None = None,
) -> Verdict | None:
    """The monitor's decision for one run in progress, or None to leave it be.

    Args:
        run: a run in STARTING, STARTED or CANCELING.
        worker: its registered worker, if any.
        alive: whether the worker's process is alive (None: unknown, e.g. another host).
        now: the time of the pass.
        policy: time limits.
        canceling_since: when the run entered CANCELING (for CANCELING runs).
        starting_since: when the run entered STARTING (for STARTING runs without a worker:
            a run that waited long in the queue is not taken for lost the moment it is
            claimed; default: its creation time).
        note: the exit note of a dead worker (why it exited), if it left one.
    """
    gone = _worker_gone(run, worker, alive, now, policy, starting_since, note)
    never_started = worker is None or worker.pid is None
    if never_started and gone is not None and run.status is RunStatus.STARTING:
        return Verdict(run, Action.RELAUNCH, gone)
    silent = gone is not None and alive is not False
    if run.status is RunStatus.CANCELING:
        if gone is not None:
            return Verdict(run, Action.KILL if alive else Action.CANCEL, gone, silent)
        if canceling_since is not None and now - canceling_since > policy.kill_after:
            return Verdict(
                run, Action.KILL, f"run worker ignored the cancel for {policy.kill_after:g} s"
            )
        return None
    if gone is not None:
        return Verdict(run, Action.ABORT if alive else Action.FAIL, gone, silent)
    limit = _max_runtime(run)
    started = run.started_at
    if run.status is RunStatus.STARTED and limit is not None and started is not None:
        ran = now - started
        if ran > limit:
            return Verdict(run, Action.TERMINATE, f"exceeded dagwright/max_runtime of {limit:g} s")
    return None


def verdicts(
    runs: Iterable[Run],
    workers: Mapping[str, WorkerInfo],
    alive: Mapping[str, bool | None],
    now: float,
    policy: MonitorPolicy,
    canceling_since: Mapping[str, float] | None = None,
    starting_since: Mapping[str, float] | None = None,
    notes: Mapping[str, str] | None = None,
) -> list[Verdict]:
    """The monitor's decisions for every run in progress (``notes``: the exit notes of
    dead workers, by run id)."""
    canceling, starting, notes = canceling_since or {}, starting_since or {}, notes or {}
    found = []
    for run in runs:
        run_id = run.run_id
        verdict = verdict_for(
            run,
            workers.get(run_id),
            alive.get(run_id),
            now,
            policy,
            canceling.get(run_id),
            starting.get(run_id),
            notes.get(run_id),
        )
        if verdict is not None:
            found.append(verdict)
    return found
