"""Step logs (stdout and stderr of each step) in the run database, as chunks.

Written on the driver (no SQLAlchemy), as events are: run workers, step workers and Celery
workers write their steps' chunks while the steps run. A chunk names its run (deleting the
run deletes its chunks), step, stream and its number within that step and stream; its
storage id orders the chunks and is the cursor of a reader following a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from dagwright.errors import DagwrightRunNotFoundError
from dagwright.execution.logs import LogChunk, PendingChunk
from dagwright.storage.driver import DriverDatabase

_INSERT_SQL: Final = (
    "INSERT INTO compute_logs (run_id, step_key, stream, seq, timestamp, text)"
    " VALUES ({run_id}, {step_key}, {stream}, {seq}, {timestamp}, {text})"
)
_SELECT_SQL: Final = (
    "SELECT id, run_id, step_key, stream, seq, timestamp, text FROM compute_logs"
    " WHERE run_id = {run_id}"
)
_LAST_IDS_SQL: Final = (
    "SELECT step_key, stream, MAX(id) FROM compute_logs WHERE run_id = {run_id}"
    " GROUP BY step_key, stream"
)


def insert_chunks(
    db: DriverDatabase, cursor: Any, run_id: str, chunks: Sequence[PendingChunk]
) -> None:
    """Insert chunks in the caller's transaction (the step's end event's: see
    :meth:`~dagwright.storage.events.EventStorage.store_event`)."""
    rows = [
        {
            "run_id": run_id,
            "step_key": c.step_key,
            "stream": c.stream,
            "seq": c.seq,
            "timestamp": c.timestamp,
            "text": c.text,
        }
        for c in chunks
    ]
    cursor.executemany(db.driver_sql(_INSERT_SQL), rows)


class ComputeLogStorage:
    """The chunks of every step's stdout and stderr in one SQL database."""

    def __init__(self, database: DriverDatabase) -> None:
        """Use ``database``, whose schema is current."""
        self._db = database
        self._insert_sql = database.driver_sql(_INSERT_SQL)

    def append_chunk(
        self, run_id: str, step_key: str, stream: str, seq: int, timestamp: float, text: str
    ) -> None:
        """Store one chunk (one ``INSERT``).

        Raises:
            DagwrightRunNotFoundError: the run does not exist.
            DagwrightStorageError: the database failed.
        """
        row = {
            "run_id": run_id,
            "step_key": step_key,
            "stream": stream,
            "seq": seq,
            "timestamp": timestamp,
            "text": text,
        }
        db = self._db
        with db.driver_write() as cursor:
            try:
                cursor.execute(self._insert_sql, row)
            except db.dbapi.IntegrityError as exc:
                raise DagwrightRunNotFoundError(run_id) from exc

    def get_chunks(
        self,
        run_id: str,
        *,
        step_key: str | None = None,
        stream: str | None = None,
        after: int | None = None,
        limit: int | None = None,
    ) -> list[LogChunk]:
        """A run's chunks in the order they were stored, optionally of one step and stream,
        after the chunk id ``after`` (exclusive), at most ``limit``; empty for an unknown run."""
        db = self._db
        sql = db.driver_sql(_SELECT_SQL)
        params: dict[str, Any] = {"run_id": run_id}
        for column, value in (("step_key", step_key), ("stream", stream)):
            if value is not None:
                sql += db.driver_sql(f" AND {column} = {{{column}}}")
                params[column] = value
        if after is not None:
            sql += db.driver_sql(" AND id > {after}")
            params["after"] = after
        sql += " ORDER BY id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with db.driver_read() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return [LogChunk(int(r[0]), r[1], r[2], r[3], int(r[4]), float(r[5]), r[6]) for r in rows]

    def last_ids(self, run_id: str) -> dict[tuple[str, str], int]:
        """The id of the latest chunk of each ``(step_key, stream)`` of a run that wrote any.

        A step's chunks are written one after another, so a reader that keeps a cursor per
        step misses none, even where ids of concurrent steps commit out of order.
        """
        with self._db.driver_read() as cursor:
            cursor.execute(self._db.driver_sql(_LAST_IDS_SQL), {"run_id": run_id})
            rows = cursor.fetchall()
        return {(r[0], r[1]): int(r[2]) for r in rows}
