"""A claim (QUEUED -> STARTING) checks the queue's limits in its own transaction, on
SQLite and PostgreSQL; concurrent claimants on separate connections never overshoot."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest

from dagwright.execution.events import Event, EventType
from dagwright.runs.claims import ClaimLimits, ClaimRefusedError
from dagwright.runs.models import IN_PROGRESS_STATUSES, Run, RunsFilter, RunStatus
from dagwright.storage import Storage


@dataclass(frozen=True)
class Limit:
    key: str
    limit: int
    match_value: str | None = None
    per_unique_value: bool = False


def queue(storage: Storage, count: int, tags: dict[str, str] | None = None) -> list[str]:
    runs = [
        Run(
            run_id=f"r{len(tags or {})}-{n}",
            job_name="job",
            status=RunStatus.NOT_STARTED,
            tags=tags or {},
            created_at=float(n),
        )
        for n in range(count)
    ]
    events = [Event(run.run_id, EventType.RUN_ENQUEUED, 1.0) for run in runs]
    storage.runs.add_runs(runs, events)
    return [run.run_id for run in runs]


def claim(storage: Storage, run_id: str, limits: ClaimLimits | None) -> Run | None:
    return storage.events.store_event(Event(run_id, EventType.RUN_STARTING, 2.0), limits=limits)[1]


def in_progress(storage: Storage, tags: dict[str, str] | None = None) -> int:
    return storage.runs.get_runs_count(RunsFilter(statuses=list(IN_PROGRESS_STATUSES), tags=tags))


def test_the_cap_refuses_a_claim_and_stores_nothing(storage: Storage) -> None:
    limits = ClaimLimits(2)
    first, second, third = queue(storage, 3)
    assert claim(storage, first, limits) is not None
    assert claim(storage, second, limits) is not None
    with pytest.raises(ClaimRefusedError, match=r"max concurrent runs: 2 of 2 in use") as info:
        claim(storage, third, limits)
    assert info.value.reasons == ("max concurrent runs: 2 of 2 in use",)
    refused = storage.runs.get_run(third)
    assert refused is not None and refused.status is RunStatus.QUEUED
    assert [e.event_type for e in storage.events.get_events(third)] == [EventType.RUN_ENQUEUED]
    storage.events.store_event(Event(first, EventType.RUN_CANCELED, 3.0))
    assert claim(storage, third, limits) is not None  # a slot freed up


def test_a_tag_limit_refuses_only_the_runs_that_count_in_it(storage: Storage) -> None:
    limits = ClaimLimits(-1, (Limit("team", 1, match_value="docs"),))
    docs = queue(storage, 2, {"team": "docs"})
    (plain,) = queue(storage, 1)
    claim(storage, docs[0], limits)
    with pytest.raises(ClaimRefusedError, match=r"team=docs: 1 of 1 in use"):
        claim(storage, docs[1], limits)
    assert claim(storage, plain, limits) is not None


def test_without_limits_or_outside_the_queue_nothing_is_counted(storage: Storage) -> None:
    first, second = queue(storage, 2)
    assert claim(storage, first, None) is not None
    assert claim(storage, second, None) is not None  # no run_queue: no limits
    direct = Run(run_id="direct", job_name="job", status=RunStatus.NOT_STARTED, created_at=9.0)
    storage.runs.add_run(direct)
    assert claim(storage, "direct", ClaimLimits(0)) is not None  # not from the queue


def test_concurrent_claimants_never_overshoot(storage: Storage, storage_url: str) -> None:
    limits = ClaimLimits(3, (Limit("team", 1, match_value="docs"),))
    run_ids = queue(storage, 30) + queue(storage, 10, {"team": "docs"})
    claimed: list[str] = []
    start = threading.Barrier(4)

    def claimant(offset: int) -> None:
        mine = Storage.open(storage_url)
        try:
            start.wait()
            for run_id in run_ids[offset:] + run_ids[:offset]:
                try:
                    if claim(mine, run_id, limits) is not None:
                        claimed.append(run_id)
                except ClaimRefusedError:
                    pass
                except Exception as exc:  # claimed by another claimant first
                    assert "cannot go from" in str(exc)
        finally:
            mine.close()

    threads = [threading.Thread(target=claimant, args=(n * 7,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == len(set(claimed)) == 3
    assert in_progress(storage) == 3
    assert in_progress(storage, {"team": "docs"}) <= 1
