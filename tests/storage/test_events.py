"""The event storage contract (and run status changes), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dagwright.errors import DagwrightInvalidTransitionError, DagwrightRunNotFoundError
from dagwright.execution.events import Event, EventType
from dagwright.runs.models import Run, RunsFilter, RunStatus
from dagwright.storage import Storage
from dagwright.storage.schema import runs

S = RunStatus
E = EventType


@pytest.fixture
def run(storage: Storage) -> Run:
    new = Run(run_id="r1", job_name="job", status=S.NOT_STARTED, tags={"t": "1"}, created_at=1.0)
    storage.runs.add_run(new)
    return new


def row_of(storage: Storage, run_id: str) -> dict[str, object]:
    columns = (runs.c.status, runs.c.started_at, runs.c.ended_at, runs.c.updated_at)
    with storage.engine.connect() as conn:
        row = conn.execute(select(*columns).where(runs.c.run_id == run_id)).one()
    return dict(row._mapping)


def test_plain_event_is_stored_with_its_storage_id(storage: Storage, run: Run) -> None:
    event = Event(
        "r1",
        E.STEP_SUCCESS,
        12.5,
        step_key="load",
        message="output 'result'",
        level="DEBUG",
        data={"output": "result", "nested": {"n": [1, 2.5, None, "ü"]}},
    )
    stored, changed = storage.events.store_event(event)
    assert changed is None
    assert stored.storage_id is not None
    assert stored == Event(**{**event.__dict__, "storage_id": stored.storage_id})
    assert storage.events.get_events("r1") == [stored]
    assert storage.runs.get_run("r1") == run


def test_storage_ids_increase(storage: Storage, run: Run) -> None:
    stored = [storage.events.store_event(Event("r1", E.LOG, float(n)))[0] for n in range(5)]
    sids = [event.storage_id or 0 for event in stored]
    assert sids == sorted(sids) and len(set(sids)) == 5 and 0 not in sids


def test_event_of_an_unknown_run_raises(storage: Storage) -> None:
    with pytest.raises(DagwrightRunNotFoundError):
        storage.events.store_event(Event("ghost", E.LOG, 1.0))
    with pytest.raises(DagwrightRunNotFoundError):
        storage.events.store_event(Event("ghost", E.RUN_START, 1.0))
    assert storage.events.get_events("ghost") == []


def test_legal_transitions_update_row_and_body(storage: Storage, run: Run) -> None:
    _, starting = storage.events.store_event(Event("r1", E.RUN_STARTING, 10.0))
    assert starting is not None and starting.status is S.STARTING
    assert starting.started_at is None and starting.ended_at is None

    _, started = storage.events.store_event(Event("r1", E.RUN_START, 11.0))
    assert started is not None and started.status is S.STARTED and started.started_at == 11.0
    assert row_of(storage, "r1") == {
        "status": "STARTED",
        "started_at": 11.0,
        "ended_at": None,
        "updated_at": 11.0,
    }

    _, done = storage.events.store_event(Event("r1", E.RUN_SUCCESS, 15.0))
    assert done == Run(
        run_id="r1",
        job_name="job",
        status=S.SUCCESS,
        tags={"t": "1"},
        created_at=1.0,
        started_at=11.0,
        ended_at=15.0,
    )
    assert storage.runs.get_run("r1") == done
    assert row_of(storage, "r1")["ended_at"] == 15.0
    assert storage.runs.get_runs(RunsFilter(statuses=[S.SUCCESS])) == [done]
    assert storage.runs.get_runs(RunsFilter(statuses=[S.SUCCESS], tags={"t": "1"})) == [done]


def test_cancel_before_start_sets_only_ended_at(storage: Storage, run: Run) -> None:
    storage.events.store_event(Event("r1", E.RUN_ENQUEUED, 2.0))
    _, canceled = storage.events.store_event(Event("r1", E.RUN_CANCELED, 3.0))
    assert canceled is not None and canceled.status is S.CANCELED
    assert (canceled.started_at, canceled.ended_at) == (None, 3.0)


@pytest.mark.parametrize(
    ("steps", "illegal"),
    [
        ([], E.RUN_SUCCESS),
        ([E.RUN_START, E.RUN_SUCCESS], E.RUN_FAILURE),
        ([E.RUN_ENQUEUED], E.RUN_ENQUEUED),
        ([E.RUN_START], E.RUN_STARTING),
    ],
)
def test_illegal_transition_raises_and_stores_nothing(
    storage: Storage, run: Run, steps: list[EventType], illegal: EventType
) -> None:
    for n, step in enumerate(steps):
        storage.events.store_event(Event("r1", step, float(n)))
    before_run = storage.runs.get_run("r1")
    before_row = row_of(storage, "r1")
    before_events = storage.events.get_events("r1")
    with pytest.raises(DagwrightInvalidTransitionError) as info:
        storage.events.store_event(Event("r1", illegal, 99.0))
    assert info.value.run_id == "r1"
    assert storage.runs.get_run("r1") == before_run
    assert row_of(storage, "r1") == before_row
    assert storage.events.get_events("r1") == before_events


def test_get_events_after_and_limit(storage: Storage, run: Run) -> None:
    other = Run(run_id="r2", job_name="job", status=S.NOT_STARTED)
    storage.runs.add_run(other)
    mine = []
    for n in range(6):
        mine.append(storage.events.store_event(Event("r1", E.LOG, float(n), message=str(n)))[0])
        storage.events.store_event(Event("r2", E.LOG, float(n)))
    assert storage.events.get_events("r1") == mine
    cursor = mine[2].storage_id
    assert storage.events.get_events("r1", after=cursor) == mine[3:]
    assert storage.events.get_events("r1", after=cursor, limit=2) == mine[3:5]
    assert storage.events.get_events("r1", limit=1) == mine[:1]
    assert storage.events.get_events("r1", after=mine[-1].storage_id) == []
    assert storage.events.get_events("unknown") == []


def test_last_event_of_some_types_and_a_step(storage: Storage, run: Run) -> None:
    for i, (event_type, step) in enumerate(
        [
            (E.RUN_START, None),
            (E.STEP_SUCCESS, "a"),
            (E.STEP_FAILURE, "b"),
            (E.STEP_SUCCESS, "b"),
            (E.ENGINE, None),
        ]
    ):
        storage.events.store_event(Event("r1", event_type, 10.0 + i, step_key=step))
    ends = {E.STEP_SUCCESS, E.STEP_FAILURE}
    last = storage.events.last_event("r1", ends)
    assert last is not None and (last.event_type, last.step_key, last.timestamp) == (
        E.STEP_SUCCESS,
        "b",
        13.0,
    )
    only_a = storage.events.last_event("r1", ends, step_key="a")
    assert only_a is not None and only_a.timestamp == 11.0
    assert storage.events.last_event("r1", [E.RUN_CANCELING]) is None
    assert storage.events.last_event("r1", ends, step_key="zzz") is None
    assert storage.events.last_event("nope", ends) is None


@pytest.mark.parametrize(
    ("event_type", "durable"),
    [
        (EventType.RUN_STARTING, True),
        (EventType.RUN_START, True),
        (EventType.RUN_SUCCESS, True),
        (EventType.RUN_FAILURE, True),
        (EventType.RUN_CANCELING, True),
        (EventType.RUN_CANCELED, True),
        (EventType.STEP_START, True),  # the last write before an op's code runs
        (EventType.STEP_SUCCESS, False),  # synced by the next step's start or the run's end
        (EventType.STEP_FAILURE, False),
        (EventType.STEP_SKIPPED, False),
        (EventType.LOG, False),
        (EventType.ENGINE, False),
    ],
)
def test_status_changes_and_step_starts_are_durable_commits(
    event_type: EventType, durable: bool
) -> None:
    from dagwright.storage.events import is_durable

    assert is_durable(Event("r", event_type, 1.0, step_key="s")) is durable
