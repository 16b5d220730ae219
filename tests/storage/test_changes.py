"""The run change feed (dagwright.storage.changes), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from tests.waiting import wait_for

from dagwright.execution.events import Event, EventType
from dagwright.runs.models import Run, RunStatus
from dagwright.storage import Storage
from dagwright.storage.changes import Cursor, RunChanges
from dagwright.storage.serde import run_body

S = RunStatus


def new_run(run_id: str, status: RunStatus = S.NOT_STARTED, **tags: str) -> Run:
    return Run(run_id=run_id, job_name="j", status=status, tags=tags, created_at=1.0)


def seen(changes: RunChanges) -> dict[str, object]:
    """What a read shows: a run's status, or "left" for a run that left the statuses."""
    found: dict[str, object] = {run.run_id: run.status for run in changes.runs}
    found.update({run_id: "left" for run_id in changes.left})
    return found


def test_a_first_read_has_every_queued_and_running_run(storage: Storage) -> None:
    storage.runs.add_runs(
        [new_run("q", S.QUEUED, team="docs"), new_run("s", S.STARTED), new_run("done", S.SUCCESS)]
    )
    storage.runs.add_run(new_run("new"))
    first = storage.runs.queue_changes(None)
    assert first.complete and first.left == []
    assert seen(first) == {"q": S.QUEUED, "s": S.STARTED}
    (queued,) = [run for run in first.runs if run.run_id == "q"]
    assert queued == Run("q", "j", S.QUEUED, tags={"team": "docs"}, created_at=1.0)


def test_nothing_changed_reads_nothing(storage: Storage) -> None:
    storage.runs.add_run(new_run("q", S.QUEUED))
    first = storage.runs.queue_changes(None)
    again = storage.runs.queue_changes(first.cursor)
    assert again == RunChanges(first.cursor, False, [], [])


def test_every_write_of_a_run_is_a_change(storage: Storage) -> None:
    """Each way a run row is written shows up once, and only the runs written."""
    storage.runs.add_runs([new_run("a", S.QUEUED), new_run("b", S.QUEUED)])
    cursor = storage.runs.queue_changes(None).cursor

    def changed() -> dict[str, object]:
        nonlocal cursor
        changes = storage.runs.queue_changes(cursor)
        assert not changes.complete and changes.cursor[1] > cursor[1]
        cursor = changes.cursor
        return seen(changes)

    storage.runs.add_run(new_run("c", S.QUEUED))
    assert changed() == {"c": S.QUEUED}
    storage.runs.add_runs([new_run("d", S.QUEUED), new_run("e", S.SUCCESS)])
    assert changed() == {"d": S.QUEUED, "e": "left"}
    storage.runs.add_run_tags("a", {"team": "docs"})
    changes = storage.runs.queue_changes(cursor)
    assert [dict(run.tags) for run in changes.runs] == [{"team": "docs"}]
    cursor = changes.cursor
    storage.runs.remove_run_tags("a", ["team"])
    assert changed() == {"a": S.QUEUED}
    storage.events.store_event(Event("b", EventType.RUN_STARTING, 5.0))
    assert changed() == {"b": S.STARTING}
    storage.events.store_event(Event("b", EventType.RUN_START, 6.0))
    storage.events.store_event(Event("b", EventType.RUN_SUCCESS, 7.0))
    assert changed() == {"b": "left"}
    storage.events.store_event(Event("a", EventType.LOG, 8.0, message="no status"))
    assert storage.runs.queue_changes(cursor) == RunChanges(cursor, False, [], [])


def test_deleting_a_run_starts_over(storage: Storage) -> None:
    storage.runs.add_runs([new_run("a", S.QUEUED), new_run("b", S.QUEUED)])
    first = storage.runs.queue_changes(None)
    storage.runs.delete_run("a")
    after = storage.runs.queue_changes(first.cursor)
    assert after.complete and after.cursor[0] != first.cursor[0]
    assert seen(after) == {"b": S.QUEUED}


def test_a_reader_following_concurrent_writers_misses_nothing(storage: Storage) -> None:
    """Writers in several threads move runs through their statuses while a reader follows
    the feed; the runs it ends up holding are exactly those still in the queue's statuses."""
    n_writers, per_writer = 4, 25
    storage.runs.add_runs(
        [new_run(f"w{w}-{i}", S.QUEUED) for w in range(n_writers) for i in range(per_writer)]
    )
    known: dict[str, object] = {}
    cursor: Cursor | None = None

    def follow() -> None:
        nonlocal cursor
        changes = storage.runs.queue_changes(cursor)
        if changes.complete:
            known.clear()
        known.update(seen(changes))
        cursor = changes.cursor

    def write(w: int) -> None:
        for i in range(per_writer):
            run_id = f"w{w}-{i}"
            storage.events.store_event(Event(run_id, EventType.RUN_STARTING, 1.0))
            if i % 2:
                storage.events.store_event(Event(run_id, EventType.RUN_START, 2.0))
                storage.events.store_event(Event(run_id, EventType.RUN_SUCCESS, 3.0))
            else:
                storage.runs.add_run_tags(run_id, {"n": str(i)})

    writers = [threading.Thread(target=write, args=(w,)) for w in range(n_writers)]
    for thread in writers:
        thread.start()
    while any(thread.is_alive() for thread in writers):
        follow()
    for thread in writers:
        thread.join()
    follow()
    still_in = {run_id: status for run_id, status in known.items() if status != "left"}
    expected = {f"w{w}-{i}": S.STARTING for w in range(n_writers) for i in range(0, per_writer, 2)}
    assert still_in == expected


@pytest.mark.postgres
@pytest.mark.parametrize("storage_url", ["postgres"], indirect=True)
def test_a_writer_that_commits_late_is_not_skipped(storage: Storage) -> None:
    """A transaction that ticked the clock first and commits last: the second writer
    waits for it, so the reader never sees the later change without the earlier one.
    (PostgreSQL only: SQLite runs one write transaction at a time.)"""
    storage.runs.add_runs([new_run("slow", S.QUEUED), new_run("fast", S.QUEUED)])
    start = storage.runs.queue_changes(None).cursor
    slow = storage.engine.connect()
    slow_tx = slow.begin()
    body = run_body(new_run("slow", S.STARTING))
    slow.execute(
        text("UPDATE runs SET status = 'STARTING', body = :body WHERE run_id = 'slow'"),
        {"body": body},
    )
    seq = slow.exec_driver_sql(
        "INSERT INTO run_clock (id, seq, epoch) VALUES (1, 1, 0) ON CONFLICT (id)"
        " DO UPDATE SET seq = run_clock.seq + 1 RETURNING seq"
    ).scalar_one()
    slow.execute(text("UPDATE runs SET change_seq = :seq WHERE run_id = 'slow'"), {"seq": seq})
    fast = threading.Thread(
        target=storage.events.store_event, args=(Event("fast", EventType.RUN_STARTING, 1.0),)
    )
    fast.start()

    def fast_is_waiting() -> bool:
        with storage.engine.connect() as conn:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        return bool(waiting)

    wait_for(fast_is_waiting, what="the second writer waiting for the clock")
    assert storage.runs.queue_changes(start) == RunChanges(start, False, [], [])
    slow_tx.commit()
    slow.close()
    fast.join(timeout=30)
    both = storage.runs.queue_changes(start)
    assert seen(both) == {"slow": S.STARTING, "fast": S.STARTING}
