"""Tests for dagwright.runs.queue_index: the queue kept between passes decides as a fresh
pass does."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from tests.runs.test_queue import DOCS, Limit, P, each, run

from dagwright.runs.models import IN_PROGRESS_STATUSES, Run, RunStatus
from dagwright.runs.queue import decide
from dagwright.runs.queue_index import QueueIndex

CHURN_LIMITS = [
    DOCS,
    Limit("database", 3),
    each("dagwright/backfill", 2),
    each("team", 2),
    Limit("team", 2, "data"),
    Limit("shard", 1, "s0"),
    Limit("shard", 1, "s1"),
]


def churn_run(rng: random.Random, run_id: str, status: RunStatus, at: float) -> Run:
    tags = {"team": rng.choice(["docs", "data", "ml", "infra"])}
    if rng.random() < 0.7:
        tags["database"] = rng.choice(["pg", "mysql"])
    if rng.random() < 0.5:
        tags["dagwright/backfill"] = f"bf{rng.randrange(40)}"  # values come and go
    if rng.random() < 0.5:
        tags["shard"] = f"s{rng.randrange(3)}"
    if rng.random() < 0.3:
        tags[P] = str(rng.randrange(-2, 3))
    return run(run_id, tags, at=at, status=status)


@pytest.mark.parametrize(("seed", "cap"), [(0, 6), (1, -1), (2, 3), (3, 0), (4, 12)])
def test_the_index_decides_as_a_fresh_pass_through_changes(seed: int, cap: int) -> None:
    """Runs arrive, launch, finish, change tags and disappear, in batches small and large;
    after each batch, the index's pass equals a fresh :func:`decide` on the same runs, and
    a second pass with nothing changed equals the first."""
    rng = random.Random(seed)
    index = QueueIndex(cap, CHURN_LIMITS)
    state: dict[str, Run] = {}
    clock = 0.0
    for step in range(60):
        latest: dict[str, Run | None] = {}  # None: deleted
        for _ in range(rng.choice([1, 3, 10, 80])):
            clock += 1
            roll = rng.random()
            if roll < 0.4 or not state:
                status = rng.choice([RunStatus.QUEUED] * 4 + [RunStatus.STARTED])
                new: Run | None = churn_run(rng, f"r{step}-{clock:g}", status, clock)
            else:
                old = state[rng.choice(sorted(state))]
                if roll < 0.6:
                    new = replace(old, status=rng.choice(list(RunStatus)))
                elif roll < 0.8:
                    new = churn_run(rng, old.run_id, old.status, old.created_at)
                else:
                    new = None
            run_id = new.run_id if new else old.run_id
            latest[run_id] = new
            if new is None:
                del state[run_id]
            else:
                state[run_id] = new
        index.remove(run_id for run_id, new in latest.items() if new is None)
        index.update(new for new in latest.values() if new is not None)
        for run_id in list(state):
            if state[run_id].status not in (RunStatus.QUEUED, *IN_PROGRESS_STATUSES):
                del state[run_id]
        queued_now = [r for r in state.values() if r.status is RunStatus.QUEUED]
        expected = decide(queued_now, list(state.values()), cap, CHURN_LIMITS)
        first, again = index.decide(), index.decide()
        assert first == expected, f"step {step}"
        assert again == expected
        assert len(index) == len(queued_now)


def test_the_index_forgets_the_pools_of_values_gone() -> None:
    """Per-value pools of values no run carries any more (finished backfills) do not pile
    up in a long-lived index."""
    index = QueueIndex(-1, [each("dagwright/backfill", 1)])
    for batch in range(40):
        runs = [run(f"b{batch}-{i}", {"dagwright/backfill": f"bf{batch}-{i}"}) for i in range(100)]
        index.update(runs)
        assert len(index.decide().to_launch) == 100
        index.remove(r.run_id for r in runs)
    (counter,) = index._limits.counters
    assert len(counter.pools) <= 2200
