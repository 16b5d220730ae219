"""Tag analytics in SQL: per-key daily figures kept up to date from the run change feed.

Counting a key's runs afresh on every ask costs one join row per run (seconds at a
million runs), so the figures are kept, per key, from the first ask on:

* ``tag_stats_runs`` — what each run counts for under the key: value, UTC day of
  creation, status and duration bucket (see :mod:`dagwright.runs.tag_stats`);
* ``tag_stats_days`` and ``tag_stats_durations`` — their sums per value and day (and
  bucket): exactly the ``GROUP BY`` of ``tag_stats_runs``, which is what an answer reads;
* ``tag_stats_keys`` — where in the run change feed (``storage/changes.py``) each key
  stands.

An ask first brings its key up to date, in write transactions that hold the key's row
(``FOR UPDATE`` on PostgreSQL; SQLite has one writer at a time): the runs past the key's
place in the run change feed (``(change_seq, id)``, an index range) are put in a work
table, their old shares are taken out of the sums, replaced in ``tag_stats_runs`` from the
runs and tags as they are now, and added back. The sums stay the ``GROUP BY`` of the
shares whatever commits meanwhile (a run changed again is simply done again next time).
On SQLite this goes :data:`SQLITE_CHUNK` runs per transaction, so a first ask at a million
runs never holds the write lock for more than a fraction of a second at a time; PostgreSQL
blocks no writer and does it in one. After runs were deleted (a new epoch of the feed) the
shares of runs that are gone are taken out and every run is gone through again. Writers of
runs pay nothing: nothing here runs on their path.
"""

from __future__ import annotations

import math
from typing import Any, Final

from sqlalchemy import BindParameter, Connection, bindparam, text

from dagwright.runs.tag_stats import (
    BUCKET_BASE,
    DAY,
    FINISHED_STATUSES,
    MIN_SECONDS,
    TagStats,
    value_stats,
)
from dagwright.storage.engine import Database
from dagwright.storage.runs import full_value

_FINISHED: Final = ", ".join(f"'{status}'" for status in FINISHED_STATUSES)
#: The share of a run (``r``) with a tag (``t``) of the key: value, day, status, bucket.
_LN_BASE: Final = repr(math.log(BUCKET_BASE))
_DURATION: Final = "r.ended_at - r.started_at"
_SHARE: Final = (
    f"SELECT t.key, t.run_sid, t.value_idx, CAST(floor(r.created_at / {float(DAY)})"
    f" AS INTEGER), r.status, CASE WHEN r.status IN ({_FINISHED})"
    " AND r.started_at IS NOT NULL AND r.ended_at IS NOT NULL"
    f" THEN CAST(floor(ln(CASE WHEN {_DURATION} < {MIN_SECONDS} THEN {MIN_SECONDS}"
    f" ELSE {_DURATION} END) / {_LN_BASE}) AS INTEGER) END"
)
_INSERT_SHARES: Final = "INSERT INTO tag_stats_runs (key, run_sid, value_idx, day, status, bucket) "
#: Sums of shares (``f``), signed, added into the per-day tables.
_ADD_DAYS: Final = (
    "INSERT INTO tag_stats_days (key, value_idx, day, runs, succeeded, failed, canceled)"
    " SELECT f.key, f.value_idx, f.day, {sign} count(*),"
    " {sign} sum(CASE WHEN f.status = 'SUCCESS' THEN 1 ELSE 0 END),"
    " {sign} sum(CASE WHEN f.status = 'FAILURE' THEN 1 ELSE 0 END),"
    " {sign} sum(CASE WHEN f.status = 'CANCELED' THEN 1 ELSE 0 END)"
    " FROM tag_stats_runs f {where} GROUP BY f.key, f.value_idx, f.day"
    " ON CONFLICT (key, value_idx, day) DO UPDATE SET"
    " runs = tag_stats_days.runs + excluded.runs,"
    " succeeded = tag_stats_days.succeeded + excluded.succeeded,"
    " failed = tag_stats_days.failed + excluded.failed,"
    " canceled = tag_stats_days.canceled + excluded.canceled"
)
_ADD_DURATIONS: Final = (
    "INSERT INTO tag_stats_durations (key, value_idx, day, bucket, runs)"
    " SELECT f.key, f.value_idx, f.day, f.bucket, {sign} count(*)"
    " FROM tag_stats_runs f {where} AND f.bucket IS NOT NULL"
    " GROUP BY f.key, f.value_idx, f.day, f.bucket"
    " ON CONFLICT (key, value_idx, day, bucket) DO UPDATE SET"
    " runs = tag_stats_durations.runs + excluded.runs"
)
#: The shares of the runs in the work table.
_WORKED: Final = "WHERE f.key = :key AND f.run_sid IN (SELECT sid FROM tag_stats_work)"
_WORKED_BARE: Final = _WORKED.replace("f.", "")
#: The work table, one per connection (PostgreSQL empties it at each commit).
_WORK: Final = (
    "CREATE TEMP TABLE IF NOT EXISTS tag_stats_work (sid INTEGER PRIMARY KEY, seq BIGINT NOT NULL)"
)
_EPOCH: Final = text("SELECT epoch FROM run_clock WHERE id = 1")
_STATE: Final = text("SELECT epoch, seq, sid FROM tag_stats_keys WHERE key = :key")
#: The runs after a key's place in the feed, ``(change_seq, id)`` (one index range).
_AFTER: Final = "(change_seq, id) > (:seq, :sid)"
#: Runs caught up with per write transaction on SQLite (one writer at a time there).
SQLITE_CHUNK: Final = 20_000


class TagStatsStorage:
    """Per-key tag analytics (see the module's docstring)."""

    def __init__(self, database: Database) -> None:
        """Use ``database``, whose schema is current."""
        self._db = database

    def get_tag_stats(self, key: str, first_day: int, last_day: int, limit: int) -> TagStats:
        """The figures of ``key`` over the days ``[first_day, last_day)`` for its ``limit``
        values with the most runs there (brought up to date first)."""
        self.refresh(key)
        params = {"key": key, "lo": first_day, "hi": last_day}
        window = "key = :key AND day >= :lo AND day < :hi"
        with self._db.read() as conn:
            totals = conn.execute(
                text(
                    "SELECT value_idx, sum(runs) AS n, sum(succeeded), sum(failed), sum(canceled)"
                    f" FROM tag_stats_days WHERE {window} GROUP BY value_idx"
                    " HAVING sum(runs) > 0 ORDER BY n DESC, value_idx LIMIT :limit"
                ),
                {**params, "limit": limit},
            ).all()
            shown = [row[0] for row in totals]
            more = 0
            if len(shown) == limit:
                count = conn.execute(
                    text(
                        "SELECT count(*) FROM (SELECT value_idx FROM tag_stats_days"
                        f" WHERE {window} GROUP BY value_idx HAVING sum(runs) > 0) v"
                    ),
                    params,
                ).scalar_one()
                more = int(count) - len(shown)
            days: dict[str, list[tuple[int, int, int, int]]] = {v: [] for v in shown}
            histograms: dict[str, list[tuple[int, int]]] = {v: [] for v in shown}
            if shown:
                chosen: BindParameter[Any] = bindparam("values", expanding=True)
                rows = conn.execute(
                    text(
                        "SELECT value_idx, day, runs, succeeded, failed FROM tag_stats_days"
                        f" WHERE {window} AND value_idx IN :values AND runs > 0"
                        " ORDER BY value_idx, day"
                    ).bindparams(chosen),
                    {**params, "values": shown},
                )
                for value, day, n, ok, bad in rows:
                    days[value].append((int(day), int(n), int(ok), int(bad)))
                rows = conn.execute(
                    text(
                        "SELECT value_idx, bucket, sum(runs) FROM tag_stats_durations"
                        f" WHERE {window} AND value_idx IN :values"
                        " GROUP BY value_idx, bucket HAVING sum(runs) > 0"
                        " ORDER BY value_idx, bucket"
                    ).bindparams(chosen),
                    {**params, "values": shown},
                )
                for value, bucket, n in rows:
                    histograms[value].append((int(bucket), int(n)))
            values = tuple(
                value_stats(
                    full_value(conn, key, value_idx),
                    (int(n), int(ok), int(bad), int(canceled)),
                    days[value_idx],
                    histograms[value_idx],
                )
                for value_idx, n, ok, bad, canceled in totals
            )
        return TagStats(key, float(first_day * DAY), float(last_day * DAY), values, more)

    def refresh(self, key: str) -> None:
        """Bring ``key``'s figures up to date with the runs (see the module's docstring);
        nothing is written when no run changed since the last time. On SQLite the work
        is done :data:`SQLITE_CHUNK` runs per write transaction, so that writers of runs
        wait for one chunk at the most, never for a whole build."""
        with self._db.read() as conn:
            state = conn.execute(_STATE, {"key": key}).first()
            if state is not None and not _behind(conn, state, _epoch(conn)):
                return
        while True:
            with self._db.write() as conn:
                more = self._catch_up(conn, key)
            if not more:
                return

    def _catch_up(self, conn: Connection, key: str) -> bool:
        """One chunk of catching up; whether there is more."""
        params: dict[str, Any] = {"key": key}
        conn.execute(
            text("INSERT INTO tag_stats_keys (key, epoch, seq, sid) VALUES (:key, -1, -1, -1)"
                 " ON CONFLICT (key) DO NOTHING"),
            params,
        )  # fmt: skip
        lock = " FOR UPDATE" if self._db.is_postgres else ""
        state = conn.execute(text(f"{_STATE.text}{lock}"), params).one()
        epoch = _epoch(conn)
        if not _behind(conn, state, epoch):
            return False  # another ask did it meanwhile
        known_epoch, seq, sid = (int(v) for v in state)
        on_commit = " ON COMMIT DELETE ROWS" if self._db.is_postgres else ""
        conn.execute(text(_WORK + on_commit))
        conn.execute(text("DELETE FROM tag_stats_work"))
        if known_epoch != epoch:
            # runs were deleted (or this is the first ask): take out the shares of runs
            # that are gone, then go through every run again (on SQLite a delete can make
            # the feed reuse numbers)
            conn.execute(
                text("INSERT INTO tag_stats_work (sid, seq) SELECT f.run_sid, -1"
                     " FROM tag_stats_runs f WHERE f.key = :key AND NOT EXISTS"
                     " (SELECT 1 FROM runs r WHERE r.id = f.run_sid)"),
                params,
            )  # fmt: skip
            self._redo(conn, params)
            conn.execute(text("DELETE FROM tag_stats_work"))
            seq = sid = -1
        limit = "" if self._db.is_postgres else f" LIMIT {SQLITE_CHUNK}"
        taken = conn.execute(
            text("INSERT INTO tag_stats_work (sid, seq) SELECT id, change_seq FROM runs"
                 f" WHERE {_AFTER} ORDER BY change_seq, id{limit}"),
            {"seq": seq, "sid": sid},
        ).rowcount  # fmt: skip
        last = conn.execute(
            text("SELECT seq, sid FROM tag_stats_work ORDER BY seq DESC, sid DESC LIMIT 1")
        ).first()
        if last is not None:
            seq, sid = int(last[0]), int(last[1])
            self._redo(conn, params)
        conn.execute(text("DELETE FROM tag_stats_work"))
        conn.execute(
            text("UPDATE tag_stats_keys SET epoch = :epoch, seq = :seq, sid = :sid"
                 " WHERE key = :key"),
            {**params, "epoch": epoch, "seq": seq, "sid": sid},
        )  # fmt: skip
        return not self._db.is_postgres and taken == SQLITE_CHUNK

    def _redo(self, conn: Connection, params: dict[str, Any]) -> None:
        """Replace the shares of the runs in the work table by what they are now."""
        _add(conn, "-", _WORKED, params)
        conn.execute(text(f"DELETE FROM tag_stats_runs {_WORKED_BARE}"), params)
        conn.execute(text(f"{_INSERT_SHARES}{_SHARE} FROM tag_stats_work w"
                          " JOIN run_tags t ON t.run_sid = w.sid AND t.key = :key"
                          " JOIN runs r ON r.id = w.sid"), params)  # fmt: skip
        _add(conn, "", _WORKED, params)
        conn.execute(text("DELETE FROM tag_stats_days WHERE key = :key AND runs = 0"), params)
        conn.execute(text("DELETE FROM tag_stats_durations WHERE key = :key AND runs = 0"), params)


def _epoch(conn: Connection) -> int:
    """The run change feed's epoch (it moves on when runs are deleted)."""
    return int(conn.execute(_EPOCH).scalar() or 0)


def _behind(conn: Connection, state: Any, epoch: int) -> bool:
    """Whether runs changed (or were deleted: another ``epoch``) since the key's place
    ``state``."""
    if int(state[0]) != epoch:
        return True
    found = conn.execute(
        text(f"SELECT 1 FROM runs WHERE {_AFTER} LIMIT 1"), {"seq": state[1], "sid": state[2]}
    ).first()
    return found is not None


def _add(conn: Connection, sign: str, where: str, params: dict[str, Any]) -> None:
    """Add the sums of the shares ``where`` selects (``sign`` "-": take them out)."""
    conn.execute(text(_ADD_DAYS.format(sign=sign, where=where)), params)
    conn.execute(text(_ADD_DURATIONS.format(sign=sign, where=where)), params)
