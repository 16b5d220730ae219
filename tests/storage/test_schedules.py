"""Schedule and sensor storage (state, ticks, run keys) on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dagwright.runs.ticks import (
    InstigatorKind,
    InstigatorState,
    InstigatorStatus,
    TickError,
    TickStatus,
)
from dagwright.storage import Storage

SCHEDULE, SENSOR = InstigatorKind.SCHEDULE, InstigatorKind.SENSOR


def test_state_round_trip_and_upsert(storage: Storage) -> None:
    store = storage.schedules
    assert store.get_state("s", SCHEDULE) is None
    state = InstigatorState("s", SCHEDULE, InstigatorStatus.RUNNING, last_tick_at=10.0)
    stored = store.set_state(state, now=11.0)
    assert stored == replace(state, updated_at=11.0)
    assert store.get_state("s", SCHEDULE) == stored
    assert store.get_state("s", SENSOR) is None  # kinds are separate
    store.set_state(InstigatorState("s", SENSOR, InstigatorStatus.STOPPED, cursor="c"), 12.0)
    store.set_state(replace(state, status=InstigatorStatus.STOPPED), 13.0)
    assert [(s.kind, s.status) for s in store.get_states()] == [
        (SCHEDULE, InstigatorStatus.STOPPED),
        (SENSOR, InstigatorStatus.STOPPED),
    ]
    assert [s.cursor for s in store.get_states(SENSOR)] == ["c"]


def test_ticks_newest_first_with_a_cursor(storage: Storage) -> None:
    store = storage.schedules
    first = store.create_tick("s", SCHEDULE, 100.0)
    second = store.create_tick("s", SCHEDULE, 200.0)
    store.create_tick("other", SENSOR, 150.0)
    assert first.status is TickStatus.STARTED and second.tick_id > first.tick_id
    failed = replace(
        second, status=TickStatus.FAILURE, error=TickError("boom", "Traceback ..."), ended_at=3.0
    )
    store.update_tick(failed)
    done = replace(first, status=TickStatus.SUCCESS, run_ids=("r1", "r2"), run_keys=("k",))
    store.update_tick(done)
    assert store.get_ticks("s") == [failed, done]
    assert store.get_ticks("s", limit=1) == [failed]
    assert store.get_ticks("s", before=second.tick_id) == [done]
    assert store.get_ticks("s", timestamp=100.0) == [done]
    assert store.get_ticks("s", kind=SENSOR) == []
    assert [t.name for t in store.get_ticks(kind=SENSOR)] == ["other"]
    assert len(store.get_ticks()) == 3


def test_latest_ticks_of_many_names_in_one_query(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = storage.schedules
    made = {name: [store.create_tick(name, SENSOR, float(i)) for i in range(4)] for name in "abc"}
    store.create_tick("a", SCHEDULE, 9.0)  # another kind
    newest = store.get_latest_ticks(SENSOR, ["c", "a", "gone"], 3)
    assert list(newest) == ["c", "a", "gone"]
    assert newest["a"] == made["a"][:0:-1] and newest["c"] == made["c"][:0:-1]
    assert newest["gone"] == []
    assert store.get_latest_ticks(SENSOR, ["a"], 0) == {"a": []}
    assert store.get_latest_ticks(SENSOR, [], 3) == {}
    monkeypatch.setattr("dagwright.storage.schedules._NAMES_PER_QUERY", 2)
    assert store.get_latest_ticks(SENSOR, ["a", "b", "c"], 1) == {
        name: [ticks[-1]] for name, ticks in made.items()
    }


def test_run_keys_are_used_once_per_sensor(storage: Storage) -> None:
    store = storage.schedules
    long_key = "k" * 5000
    store.add_run_keys("watch", {"a": "r1", long_key: "r2"}, now=1.0)
    store.add_run_keys("watch", {"a": "r3", "b": "r4"}, now=2.0)  # "a" keeps its run
    assert store.get_used_run_keys("watch", ["a", "b", "c", long_key]) == {
        "a": "r1",
        "b": "r4",
        long_key: "r2",
    }
    assert store.get_used_run_keys("other", ["a"]) == {}
    many = [f"key-{n}" for n in range(1200)]
    store.add_run_keys("bulk", dict.fromkeys(many, "r"), now=3.0)
    assert len(store.get_used_run_keys("bulk", many)) == 1200
