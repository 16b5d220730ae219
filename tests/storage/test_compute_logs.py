"""The compute_logs store on SQLite and PostgreSQL: chunks in, filtered and paged out."""

from __future__ import annotations

import uuid

import pytest

from dagwright import DagwrightRunNotFoundError, RunStatus
from dagwright.runs.models import Run
from dagwright.storage import Storage


def _run(storage: Storage) -> str:
    run = Run(run_id=uuid.uuid4().hex, job_name="job", status=RunStatus.SUCCESS, tags={})
    storage.runs.add_run(run)
    return run.run_id


def _fill(storage: Storage, run_id: str) -> None:
    logs = storage.compute_logs
    logs.append_chunk(run_id, "a", "stdout", 0, 1.0, "a out 0\n")
    logs.append_chunk(run_id, "a", "stderr", 0, 2.0, "a err 0\n")
    logs.append_chunk(run_id, "b", "stdout", 0, 3.0, "b out 0 ünïcode\n")
    logs.append_chunk(run_id, "a", "stdout", 1, 4.0, "a out 1\n")


def test_chunks_come_back_in_order_filtered_by_step_and_stream(storage: Storage) -> None:
    run_id = _run(storage)
    _fill(storage, run_id)
    logs = storage.compute_logs
    every = logs.get_chunks(run_id)
    assert [c.text for c in every] == ["a out 0\n", "a err 0\n", "b out 0 ünïcode\n", "a out 1\n"]
    assert [c.chunk_id for c in every] == sorted(c.chunk_id for c in every)
    a_out = logs.get_chunks(run_id, step_key="a", stream="stdout")
    assert [(c.seq, c.timestamp) for c in a_out] == [(0, 1.0), (1, 4.0)]
    assert [c.text for c in logs.get_chunks(run_id, stream="stderr")] == ["a err 0\n"]


def test_after_and_limit_page_through_the_chunks(storage: Storage) -> None:
    run_id = _run(storage)
    _fill(storage, run_id)
    logs = storage.compute_logs
    first = logs.get_chunks(run_id, limit=2)
    rest = logs.get_chunks(run_id, after=first[-1].chunk_id)
    assert [c.text for c in first + rest] == [c.text for c in logs.get_chunks(run_id)]
    assert logs.get_chunks(run_id, after=rest[-1].chunk_id) == []
    last = logs.last_ids(run_id)
    assert last[("a", "stdout")] == rest[-1].chunk_id and set(last) == {
        ("a", "stdout"),
        ("a", "stderr"),
        ("b", "stdout"),
    }


def test_a_chunk_of_an_unknown_run_is_refused(storage: Storage) -> None:
    with pytest.raises(DagwrightRunNotFoundError):
        storage.compute_logs.append_chunk("nope", "a", "stdout", 0, 1.0, "x")


def test_deleting_a_run_deletes_its_logs_only(storage: Storage) -> None:
    gone, kept = _run(storage), _run(storage)
    _fill(storage, gone)
    _fill(storage, kept)
    storage.runs.delete_run(gone)
    assert storage.compute_logs.get_chunks(gone) == []
    assert storage.compute_logs.last_ids(gone) == {}
    assert len(storage.compute_logs.get_chunks(kept)) == 4


def test_large_text_round_trips(storage: Storage) -> None:
    run_id = _run(storage)
    text = "line\n" * 20_000
    storage.compute_logs.append_chunk(run_id, "a", "stdout", 0, 1.0, text)
    assert storage.compute_logs.get_chunks(run_id)[0].text == text
