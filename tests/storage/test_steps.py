"""Step claims and database step outputs, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from dagwright.definitions.composition import NodeOutput
from dagwright.errors import DagwrightExecutionError, DagwrightRunNotFoundError
from dagwright.execution.events import Event, EventType
from dagwright.runs.models import Run, RunStatus
from dagwright.storage import Storage
from dagwright.storage.steps import DatabaseOutputStore

OUT = NodeOutput("extract", "result")
ME = {"worker": "w1@h", "host": "h", "pid": 10}


@pytest.fixture
def run(storage: Storage) -> Run:
    new = Run(run_id="r1", job_name="job", status=RunStatus.STARTED, created_at=1.0)
    storage.runs.add_run(new)
    return new


def test_the_first_claim_wins_and_a_second_does_not(storage: Storage, run: Run) -> None:
    steps = storage.steps
    assert steps.claim("r1", "a", **ME, now=5.0)
    assert not steps.claim("r1", "a", worker="w2@h", host="h", pid=11, now=6.0)
    claim = steps.get("r1", "a")
    assert claim is not None
    assert (claim.worker, claim.host, claim.pid, claim.attempt, claim.heartbeat_at) == (
        "w1@h",
        "h",
        10,
        1,
        5.0,
    )
    assert claim.describe() == "worker w1@h (host h, pid 10)"
    assert steps.claim("r1", "b", **ME, now=5.0)  # another step: its own claim
    assert set(steps.claims("r1")) == {"a", "b"}


def test_a_take_over_is_conditional_on_the_attempt_seen(storage: Storage, run: Run) -> None:
    steps = storage.steps
    steps.claim("r1", "a", **ME, now=5.0)
    seen = steps.get("r1", "a")
    assert seen is not None
    assert steps.take_over("r1", "a", seen, worker="w2@h", host="h", pid=11, now=7.0)
    assert not steps.take_over("r1", "a", seen, worker="w3@h", host="h", pid=12, now=8.0)
    now = steps.get("r1", "a")
    assert now is not None and (now.worker, now.attempt) == ("w2@h", 2)
    assert not steps.beat("r1", "a", 1, 9.0)  # the first claimant lost it
    assert steps.beat("r1", "a", 2, 9.0)
    assert steps.get("r1", "a").heartbeat_at == 9.0  # type: ignore[union-attr]


def test_a_claim_of_an_unknown_run_is_refused(storage: Storage) -> None:
    with pytest.raises(DagwrightRunNotFoundError):
        storage.steps.claim("nope", "a", **ME, now=1.0)


def test_ended_steps_are_read_from_the_events(storage: Storage, run: Run) -> None:
    for step, kind in [("a", EventType.STEP_START), ("a", EventType.STEP_SUCCESS)]:
        storage.events.store_event(Event("r1", kind, 2.0, step))
    storage.events.store_event(Event("r1", EventType.STEP_FAILURE, 3.0, "b"))
    storage.events.store_event(Event("r1", EventType.STEP_START, 3.0, "c"))
    assert storage.steps.ended_steps("r1") == {"a": "STEP_SUCCESS", "b": "STEP_FAILURE"}


def test_database_outputs_round_trip_and_go_with_their_run(storage: Storage, run: Run) -> None:
    store = DatabaseOutputStore(storage.database, max_bytes=10_000)
    assert not store.has("r1", OUT)
    store.put("r1", OUT, {"rows": [1, 2]})
    store.put("r1", OUT, {"rows": [1, 2, 3]})  # replaced
    assert store.has("r1", OUT) and store.get("r1", OUT) == {"rows": [1, 2, 3]}
    store.put("r1", NodeOutput("load", "result"), b"\x00\xff")
    assert store.get("r1", NodeOutput("load", "result")) == b"\x00\xff"
    store.delete_run("r1")
    assert not store.has("r1", OUT)
    store.put("r1", OUT, 1)
    storage.runs.delete_run("r1")
    assert not store.has("r1", OUT)  # deleted with the run


def test_a_database_output_past_the_cap_names_op_output_and_size(
    storage: Storage, run: Run
) -> None:
    store = DatabaseOutputStore(storage.database, max_bytes=100)
    with pytest.raises(DagwrightExecutionError) as info:
        store.put("r1", OUT, b"x" * 500)
    message = str(info.value)
    assert "output 'result' of op 'extract'" in message and "max_bytes (100)" in message
    assert "is 5" in message  # the pickled size, about 530 bytes
    assert not store.has("r1", OUT)


def test_missing_and_unpicklable_database_outputs(storage: Storage, run: Run) -> None:
    store = DatabaseOutputStore(storage.database, max_bytes=100)
    with pytest.raises(DagwrightExecutionError, match="has no stored output 'result'"):
        store.get("r1", OUT)
    with pytest.raises(DagwrightExecutionError, match="cannot store output 'result'"):
        store.put("r1", OUT, lambda: 1)
    with pytest.raises(DagwrightExecutionError, match="not found"):
        store.put("other", OUT, 1)
