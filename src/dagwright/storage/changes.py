"""The run change feed: which runs changed since a process last looked.

Every transaction that writes a run row ticks one counter, the *run clock* (a one-row
table), and stamps the rows it writes with the new value (``runs.change_seq``). The
clock's row lock is held to the end of the transaction, so transactions commit in clock
order: a reader that has seen every change up to ``seq`` finds all later ones with
``change_seq > seq`` (one index range), and none is skipped by a writer that commits late.
Deleting a run moves the clock's *epoch* on: a reader then starts again from a full read.

The run queue reads the feed every pass (:func:`read_changes`), so a pass costs what
changed since the last one, not the size of the queue.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Final

from dagwright.runs.models import Run
from dagwright.storage.driver import DriverDatabase
from dagwright.storage.serde import queue_entry

#: Tick the run clock; returns the new value. Run in the transaction that writes runs,
#: after any run row lock it takes (the clock's lock is the last one taken).
TICK_SQL: Final = (
    "INSERT INTO run_clock (id, seq, epoch) VALUES (1, 1, 0)"
    " ON CONFLICT (id) DO UPDATE SET seq = run_clock.seq + 1 RETURNING seq"
)
#: Tick the clock and start a new epoch: runs were deleted.
NEW_EPOCH_SQL: Final = (
    "INSERT INTO run_clock (id, seq, epoch) VALUES (1, 1, 1)"
    " ON CONFLICT (id) DO UPDATE SET seq = run_clock.seq + 1, epoch = run_clock.epoch + 1"
)
_CLOCK_SQL: Final = "SELECT seq, epoch FROM run_clock WHERE id = 1"

#: Where a reader is in the feed: ``(epoch, seq)``.
Cursor = tuple[int, int]


def tick(cursor: Any) -> int:
    """Tick the run clock in the current write transaction; returns the ``change_seq``
    to stamp the run rows it writes with."""
    cursor.execute(TICK_SQL)
    return int(cursor.fetchone()[0])


def new_epoch(cursor: Any) -> None:
    """Tick the run clock and start a new epoch, in a transaction that deletes runs."""
    cursor.execute(NEW_EPOCH_SQL)


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
        cursor.execute(_CLOCK_SQL)
        row = cursor.fetchone()
        seq, epoch = (int(row[0]), int(row[1])) if row else (0, 0)
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
