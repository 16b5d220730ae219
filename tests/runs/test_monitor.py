"""The monitor's pure verdicts, table-driven."""

from __future__ import annotations

import pytest

from dagwright.runs.models import Run, RunStatus, WorkerInfo
from dagwright.runs.monitor import Action, MonitorPolicy, verdict_for, verdicts

POLICY = MonitorPolicy(stale_after=5.0, start_timeout=30.0, kill_after=10.0)
NOW = 1_000.0


def run(
    status: RunStatus, *, started: float | None = 900.0, created: float = 800.0, **tags: str
) -> Run:
    return Run("r", "j", status, tags=tags, created_at=created, started_at=started)


def worker(beat: float = NOW - 1) -> WorkerInfo:
    return WorkerInfo("r", 42, "host", 850.0, beat)


@pytest.mark.parametrize(
    ("the_run", "the_worker", "alive", "since", "expected", "reason"),
    [
        (run(RunStatus.STARTED), worker(), True, None, None, None),
        (run(RunStatus.STARTED), worker(), None, None, None, None),
        (run(RunStatus.STARTED), worker(), False, None, Action.FAIL, "run worker died"),
        (run(RunStatus.STARTED), worker(NOW - 6), None, None, Action.FAIL, "heartbeats for 6 s"),
        (run(RunStatus.STARTED), worker(NOW - 4), None, None, None, None),
        # alive but silent (stopped, stuck): killed and failed, like a lost host
        (run(RunStatus.STARTED), worker(NOW - 6), True, None, Action.ABORT, "heartbeats for 6 s"),
        (run(RunStatus.STARTED), worker(NOW - 4), True, None, None, None),
        (run(RunStatus.CANCELING), worker(NOW - 6), True, NOW - 1, Action.KILL, "heartbeats"),
        (run(RunStatus.STARTING, started=None), worker(NOW - 20), None, None, None, None),
        (
            run(RunStatus.STARTING, started=None),
            worker(NOW - 31),
            None,
            None,
            Action.FAIL,
            "heartbeats for 31 s",
        ),
        (run(RunStatus.STARTING, started=None, created=NOW - 5), None, None, None, None, None),
        (
            run(RunStatus.STARTING, started=None, created=NOW - 31),
            None,
            None,
            None,
            Action.RELAUNCH,
            "no run worker started within 30 s",
        ),
        (run(RunStatus.STARTING, started=None), worker(), False, None, Action.FAIL, "died"),
        (
            run(RunStatus.STARTED, **{"dagwright/max_runtime": "50"}),
            worker(),
            True,
            None,
            Action.TERMINATE,
            "exceeded dagwright/max_runtime of 50 s",
        ),
        (
            run(RunStatus.STARTED, **{"dagwright/max_runtime": "150"}),
            worker(),
            True,
            None,
            None,
            None,
        ),
        (
            run(RunStatus.STARTED, **{"dagwright/max_runtime": "0.5"}),
            worker(),
            False,
            None,
            Action.FAIL,
            "died",
        ),
        (run(RunStatus.CANCELING), worker(), False, NOW - 1, Action.CANCEL, "died"),
        (run(RunStatus.CANCELING), worker(), True, NOW - 1, None, None),
        (run(RunStatus.CANCELING), worker(), True, NOW - 11, Action.KILL, "ignored the cancel"),
        (run(RunStatus.CANCELING), worker(NOW - 60), None, NOW - 60, Action.CANCEL, "heartbeats"),
    ],
)
def test_verdicts(
    the_run: Run,
    the_worker: WorkerInfo | None,
    alive: bool | None,
    since: float | None,
    expected: Action | None,
    reason: str | None,
) -> None:
    verdict = verdict_for(the_run, the_worker, alive, NOW, POLICY, since)
    if expected is None:
        assert verdict is None
    else:
        assert verdict is not None and verdict.action is expected
        assert reason is not None and reason in verdict.reason


def test_policy_limits_follow_the_poll_interval() -> None:
    assert MonitorPolicy.for_poll_interval(5.0).stale_after == 10.0
    assert MonitorPolicy.for_poll_interval(20.0).stale_after == 40.0
    assert MonitorPolicy.for_poll_interval(0.1).start_timeout == 30.0


def test_verdicts_over_many_runs() -> None:
    runs = [Run(f"r{i}", "j", RunStatus.STARTED, started_at=900.0) for i in range(3)]
    workers = {f"r{i}": WorkerInfo(f"r{i}", i, "h", 850.0, NOW - 1) for i in range(3)}
    found = verdicts(runs, workers, {"r0": True, "r1": False, "r2": None}, NOW, POLICY)
    assert [(v.run.run_id, v.action) for v in found] == [("r1", Action.FAIL)]


def test_a_run_long_queued_is_given_the_start_timeout_from_when_it_was_claimed() -> None:
    """Created long ago (it waited in the queue) but claimed a moment ago: its launcher is
    still starting the worker, so nothing is done; the timeout counts from the claim."""
    queued_long = run(RunStatus.STARTING, started=None, created=NOW - 600)
    assert verdict_for(queued_long, None, None, NOW, POLICY, starting_since=NOW - 1) is None
    late = verdict_for(queued_long, None, None, NOW, POLICY, starting_since=NOW - 31)
    assert late is not None and late.action is Action.RELAUNCH
    (found,) = verdicts([queued_long], {}, {}, NOW, POLICY, starting_since={"r": NOW - 31})
    assert found.action is Action.RELAUNCH
    assert verdicts([queued_long], {}, {}, NOW, POLICY, starting_since={"r": NOW - 1}) == []


def test_a_claim_never_started_is_relaunched_after_the_start_timeout() -> None:
    """A worker recorded without a pid is a claim whose claimant died before starting it."""
    starting = run(RunStatus.STARTING, started=None)
    claim = WorkerInfo("r", None, "host", NOW - 31, NOW - 31)
    found = verdict_for(starting, claim, None, NOW, POLICY)
    assert found is not None and found.action is Action.RELAUNCH
    assert found.reason == "no run worker started within 30 s"
    fresh = WorkerInfo("r", None, "host", NOW - 1, NOW - 1)
    assert verdict_for(starting, fresh, None, NOW, POLICY) is None


def test_a_dead_worker_that_left_an_exit_note_is_failed_with_it() -> None:
    note = "storage error: database or disk is full"
    found = verdict_for(run(RunStatus.STARTED), worker(), False, NOW, POLICY, note=note)
    assert found is not None and found.action is Action.FAIL and not found.silent
    assert found.reason == f"run worker exited: {note}"
    (listed,) = verdicts(
        [run(RunStatus.STARTED)], {"r": worker()}, {"r": False}, NOW, POLICY, notes={"r": note}
    )
    assert listed.reason == found.reason


def test_only_verdicts_on_silence_are_marked_silent() -> None:
    stale = verdict_for(run(RunStatus.STARTED), worker(NOW - 60), None, NOW, POLICY)
    assert stale is not None and stale.action is Action.FAIL and stale.silent
    dead = verdict_for(run(RunStatus.STARTED), worker(NOW - 60), False, NOW, POLICY)
    assert dead is not None and not dead.silent
