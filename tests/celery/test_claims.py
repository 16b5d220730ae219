"""At most one worker executes a step at a time: the claim verdicts (pure) and
claim_step on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dagwright.celery.claims import STALE_AFTER, Claimant, claim_step, claimant_alive, verdict
from dagwright.runs.models import Run, RunStatus
from dagwright.storage import Storage
from dagwright.storage.steps import StepClaim


def _claim(host: str = "h1", pid: int = 10, attempt: int = 1, beat: float = 100.0) -> StepClaim:
    return StepClaim("w@" + host, host, pid, attempt, 90.0, beat)


@pytest.mark.parametrize(
    ("claim", "alive_pids", "now", "expected"),
    [
        (_claim(), {10}, 100.0, "busy"),  # same host, its process is there
        (_claim(), set(), 100.0, "take_over"),  # same host, its process is gone
        (_claim(attempt=2), set(), 100.0, "exhausted"),
        (_claim(host="h2"), set(), 100.0 + STALE_AFTER - 1, "busy"),  # beat lately
        (_claim(host="h2"), {10}, 100.0 + STALE_AFTER, "take_over"),  # no beat for long
        (_claim(host="h2", attempt=2), set(), 100.0 + STALE_AFTER, "exhausted"),
    ],
)
def test_verdict(claim: StepClaim, alive_pids: set[int], now: float, expected: str) -> None:
    assert (
        verdict(claim, host="h1", now=now, attempts=2, alive=lambda pid: pid in alive_pids)
        == expected
    )


def test_claimant_alive_checks_pids_on_this_host() -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert claimant_alive(_claim(pid=os.getpid()), host="h1", now=1e12)
    assert not claimant_alive(_claim(pid=dead.pid), host="h1", now=100.0)


@pytest.fixture
def steps(storage: Storage) -> Storage:
    storage.runs.add_run(Run(run_id="r1", job_name="j", status=RunStatus.STARTED))
    return storage


def test_claim_step_claims_drops_takes_over_and_gives_up(steps: Storage) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    first = Claimant("a@h", "h", dead.pid)
    me = Claimant("b@h", "h", os.getpid())
    store = steps.steps
    assert claim_step(store, "r1", "s", first, now=1.0, attempts=2).outcome == "claimed"
    taken = claim_step(store, "r1", "s", me, now=2.0, attempts=2)
    assert (taken.outcome, taken.attempt) == ("claimed", 2)
    assert taken.previous is not None and taken.previous.worker == "a@h"
    busy = claim_step(store, "r1", "s", first, now=3.0, attempts=2)  # I am alive
    assert (busy.outcome, busy.attempt) == ("busy", 2)
    store.claim("r1", "t", worker="a@h", host="h", pid=dead.pid, now=1.0)
    store.take_over("r1", "t", store.get("r1", "t"), worker="a@h", host="h", pid=dead.pid, now=2.0)  # type: ignore[arg-type]
    assert claim_step(store, "r1", "t", me, now=3.0, attempts=2).outcome == "exhausted"
