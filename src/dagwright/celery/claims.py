"""The worker's side of "a step runs at most once at a time": claim it, or learn why not.

A worker about to execute a step claims it in storage (see
:class:`~dagwright.storage.steps.StepStorage`). A step claimed already is executed again
only when its claimant is gone: on the same host, its process no longer exists; on
another host, it has not beaten for :data:`STALE_AFTER` seconds. It is then taken over
(attempt + 1), or failed when it used up its attempts. :func:`claimant_alive` and
:func:`verdict` are pure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from dagwright.runs.launcher import pid_alive  # a zombie claimant counts as dead
from dagwright.storage.steps import StepClaim, StepStorage

#: Seconds between the beats of a worker executing a step.
BEAT_SECONDS: Final = 2.0

#: A claimant on another host that has not beaten for this long is taken for dead.
STALE_AFTER: Final = 5 * BEAT_SECONDS


@dataclass(frozen=True)
class Claimant:
    """The process that wants to execute a step.

    Attributes:
        worker: the Celery worker's name (``name@host``).
        host: the host name.
        pid: the process id.
    """

    worker: str
    host: str
    pid: int


@dataclass(frozen=True)
class ClaimResult:
    """What became of a claim.

    Attributes:
        outcome: ``claimed`` (execute it as ``attempt``), ``busy`` (a live worker has it:
            drop this delivery), ``lost`` (another worker took it over first) or
            ``exhausted`` (its workers died ``attempt`` times: fail it).
        attempt: this claim's attempt, or the last one's.
        previous: the claim found, if any.
    """

    outcome: Literal["claimed", "busy", "lost", "exhausted"]
    attempt: int
    previous: StepClaim | None = None


def claimant_alive(
    claim: StepClaim, *, host: str, now: float, alive: Callable[[int], bool] = pid_alive
) -> bool:
    """Whether the holder of ``claim`` may still be executing the step."""
    if claim.host == host:
        return alive(claim.pid)
    return now - claim.heartbeat_at < STALE_AFTER


def verdict(
    claim: StepClaim, *, host: str, now: float, attempts: int, alive: Callable[[int], bool]
) -> Literal["busy", "take_over", "exhausted"]:
    """What to do about a step claimed already: leave it to its live claimant, take it
    over, or fail it (its claimants died ``attempts`` times)."""
    if claimant_alive(claim, host=host, now=now, alive=alive):
        return "busy"
    return "take_over" if claim.attempt < attempts else "exhausted"


def claim_step(
    steps: StepStorage,
    run_id: str,
    step_key: str,
    me: Claimant,
    *,
    now: float,
    attempts: int,
) -> ClaimResult:
    """Claim a step for ``me`` (see the module docstring)."""
    if steps.claim(run_id, step_key, worker=me.worker, host=me.host, pid=me.pid, now=now):
        return ClaimResult("claimed", 1)
    seen = steps.get(run_id, step_key)
    if seen is None:  # its run was deleted meanwhile
        return ClaimResult("lost", 0)
    decided = verdict(seen, host=me.host, now=now, attempts=attempts, alive=pid_alive)
    if decided == "busy":
        return ClaimResult("busy", seen.attempt, seen)
    if decided == "exhausted":
        return ClaimResult("exhausted", seen.attempt, seen)
    if steps.take_over(run_id, step_key, seen, worker=me.worker, host=me.host, pid=me.pid, now=now):
        return ClaimResult("claimed", seen.attempt + 1, seen)
    return ClaimResult("lost", seen.attempt, seen)
