"""The run change feed: which runs changed since a process last looked.

Every transaction that writes a run row ticks one counter, the *run clock*, and stamps
the rows it writes with the new value (``runs.change_seq``, indexed). Transactions commit
in clock order, so a reader that has seen every change up to ``seq`` finds all later ones
with ``change_seq > seq`` (one index range), and none is skipped by a writer that commits
late. On PostgreSQL the clock is a one-row table (``run_clock``) whose row lock each
writer takes last and holds to its commit; SQLite runs one write transaction at a time,
so there the clock is the newest stamp plus one. Deleting a run moves the clock's
*epoch* (in ``run_clock``) on: a reader then starts again from a full read.

The run queue reads the feed every pass (:func:`read_changes`), so a pass reads and parses
only the runs that changed since the last one, not the whole queue.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Final

from dagwright.runs.models import Run
from dagwright.storage.driver import DriverDatabase
from dagwright.storage.serde import queue_entry

#: Tick the run clock; returns the new value. Run in the transaction that writes runs,
#: after any lock it takes on an existing run row (so locks are always taken in the
#: same order), and as late as the writes allow: the clock's lock is held to the commit.
_PG_TICK_SQL: Final = (
    "INSERT INTO run_clock (id, seq, epoch) VALUES (1, 1, 0)"
    " ON CONFLICT (id) DO UPDATE SET seq = run_clock.seq + 1 RETURNING seq"
)
#: SQLite runs one write transaction at a time (``BEGIN IMMEDIATE``), so the clock is the
#: newest stamp plus one (one step down an index) and no row is written for it.
_SQLITE_TICK_SQL: Final = "SELECT coalesce(max(change_seq), 0) + 1 FROM runs"
#: Tick the clock and start a new epoch: runs were deleted.
NEW_EPOCH_SQL: Final = (
    "INSERT INTO run_clock (id, seq, epoch) VALUES (1, 1, 1)"
    " ON CONFLICT (id) DO UPDATE SET seq = run_clock.seq + 1, epoch = run_clock.epoch + 1"
)
_PG_CLOCK_SQL: Final = "SELECT seq, epoch FROM run_clock WHERE id = 1"
_SQLITE_CLOCK_SQL: Final = (
    "SELECT (SELECT coalesce(max(change_seq), 0) FROM runs),"
    " (SELECT epoch FROM run_clock WHERE id = 1)"
)

#: Where a reader is in the feed: ``(epoch, seq)``.
Cursor = tuple[int, int]


def tick_sql(postgres: bool) -> str:
    """The statement that ticks the run clock and returns the ``change_seq`` to stamp the
    run rows of the current write transaction with."""
    return _PG_TICK_SQL if postgres else _SQLITE_TICK_SQL


def tick(cursor: Any, postgres: bool) -> int:
    """Tick the run clock in the current write transaction (a DB-API cursor); returns the
    ``change_seq`` to stamp the run rows it writes with."""
    cursor.execute(tick_sql(postgres))
    return int(cursor.fetchone()[0])


@dataclass(frozen=True)
class RunChanges:
    """What :func:`read_changes` found.

    Attributes:
        cursor: where to read from next time.
        complete: ``runs`` holds every run in the statuses asked for (a first read, or a
            new epoch): forget what was known before.
        runs: runs now in one of the statuses asked for, as slim queue entries (id, job,
            status, tags, creation time); with ``complete``, all of them, else those that
            changed.
        left: ids of runs that changed to another status (empty with ``complete``).
    """

    cursor: Cursor
    complete: bool
    runs: list[Run]
    left: list[str]


def read_changes(db: DriverDatabase, since: Cursor | None, statuses: Collection[str]) -> RunChanges:
    """The runs in ``statuses`` that changed after ``since`` (every one of them if
    ``since`` is None or from another epoch), in one read transaction."""
    marks, params = db.in_list("s", sorted(statuses))
    with db.driver_read() as cursor:
        cursor.execute(_PG_CLOCK_SQL if db.is_postgres else _SQLITE_CLOCK_SQL)
        row = cursor.fetchone()
        seq, epoch = (int(row[0] or 0), int(row[1] or 0)) if row else (0, 0)
        if since is None or since[0] != epoch:
            cursor.execute(f"SELECT body FROM runs WHERE status IN ({marks})", params)
            runs = [queue_entry(body) for (body,) in cursor.fetchall()]
            return RunChanges((epoch, seq), True, runs, [])
        if since[1] == seq:
            return RunChanges(since, False, [], [])
        cursor.execute(
            "SELECT run_id, change_seq, CASE WHEN status IN"
            f" ({marks}) THEN body END FROM runs WHERE change_seq > " + db.driver_sql("{since}"),
            {**params, "since": since[1]},
        )
        rows = cursor.fetchall()
    found, left = [], []
    for run_id, change_seq, body in rows:
        seq = max(seq, int(change_seq))
        if body is None:
            left.append(run_id)
        else:
            found.append(queue_entry(body))
    return RunChanges((epoch, seq), False, found, left)
