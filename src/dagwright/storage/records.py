"""The hot path of run storage, straight on the driver (no SQLAlchemy).

:class:`RunRecords` writes and reads single runs: a new run with its tags, a run by id,
tags added to a run. It is what a run worker and every launch need, and
:class:`~dagwright.storage.runs.RunStorage` (listing, filters, counts) extends it.
:class:`RecordStore` bundles it with the event and worker stores: everything a run worker
touches, openable without importing SQLAlchemy (see :mod:`dagwright.storage.driver`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any, Final

from dagwright.errors import DagwrightRunNotFoundError, DagwrightStorageError
from dagwright.runs.models import IN_PROGRESS_STATUSES, Run, RunStatus
from dagwright.runs.tag_history import TagAudit, apply_changes, tag_changes, tag_event
from dagwright.storage.changes import Cursor, RunChanges, read_changes, tick
from dagwright.storage.compute_logs import ComputeLogStorage
from dagwright.storage.driver import DriverDatabase
from dagwright.storage.events import INSERT_EVENT_SQL, EventStorage, event_row, lock_run_sql
from dagwright.storage.serde import run_body, run_from_body
from dagwright.storage.steps import StepStorage
from dagwright.storage.tag_index import index_form
from dagwright.storage.workers import WorkerStorage

#: The newest schema revision (migration); a database at it needs no work. The full
#: :class:`~dagwright.storage.Storage` migrates older ones (``storage/migrations``).
HEAD_REVISION: Final = "0011"

#: What the run queue follows: queued runs, and the runs holding a launch slot.
_QUEUE_STATUSES: Final = frozenset(
    status.value for status in (RunStatus.QUEUED, *IN_PROGRESS_STATUSES)
)

_INSERT_RUN_SQL: Final = (
    "INSERT INTO runs"
    " (run_id, job_name, status, created_at, updated_at, started_at, ended_at, body,"
    " change_seq, location_name)"
    " VALUES ({run_id}, {job_name}, {status}, {created_at}, {updated_at}, {started_at},"
    " {ended_at}, {body}, {change_seq}, {location_name})"
)
_INSERT_TAG_SQL: Final = (
    'INSERT INTO run_tags (run_sid, "key", value, value_idx)'
    " VALUES ({run_sid}, {key}, {value}, {value_idx})"
)
_DELETE_TAG_SQL: Final = 'DELETE FROM run_tags WHERE run_sid = {run_sid} AND "key" = {key}'
_SELECT_BODY_SQL: Final = "SELECT body FROM runs WHERE run_id = {run_id}"
_UPDATE_BODY_SQL: Final = (
    "UPDATE runs SET body = {body}, updated_at = {updated_at}, change_seq = {change_seq}"
    " WHERE id = {sid}"
)


def run_row(run: Run, updated_at: float, change_seq: int) -> dict[str, Any]:
    """The ``runs`` row of a run, written at ``change_seq`` of the run clock."""
    return {
        "run_id": run.run_id,
        "job_name": run.job_name,
        "status": run.status.value,
        "created_at": run.created_at,
        "updated_at": updated_at,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "body": run_body(run),
        "change_seq": change_seq,
        "location_name": run.code_pointer.location_name if run.code_pointer else None,
    }


def tag_rows(run_sid: int, tags: Mapping[str, str]) -> list[dict[str, Any]]:
    """The ``run_tags`` rows of a run's tags."""
    return [
        {"run_sid": run_sid, "key": key, "value": value, "value_idx": index_form(value)}
        for key, value in tags.items()
    ]


class RunRecords:
    """Single runs and their tags, written and read on the driver."""

    def __init__(self, database: DriverDatabase) -> None:
        """Use ``database``, whose schema is current."""
        self._db = db = database
        returning = " RETURNING id" if db.is_postgres else ""
        self._insert_run_sql = db.driver_sql(_INSERT_RUN_SQL) + returning
        self._insert_tag_sql = db.driver_sql(_INSERT_TAG_SQL)
        self._lock_sql = lock_run_sql(db)
        self._insert_event_sql = db.driver_sql(INSERT_EVENT_SQL)

    def add_run(self, run: Run, *, durable: bool = True) -> None:
        """Store a new run and its tags in one transaction (``durable=False``: the caller
        makes a durable commit before anything depends on the run, see
        :meth:`DriverDatabase.driver_write`).

        Raises:
            DagwrightStorageError: a run with this id already exists, or the database failed.
        """
        db = self._db
        with db.driver_write(durable=durable) as cursor:
            try:
                row = run_row(run, run.created_at, tick(cursor, self._db.is_postgres))
                cursor.execute(self._insert_run_sql, row)
            except db.dbapi.IntegrityError as exc:
                raise DagwrightStorageError(f"run id {run.run_id!r} already exists") from exc
            sid = cursor.fetchone()[0] if db.is_postgres else cursor.lastrowid
            if run.tags:
                cursor.executemany(self._insert_tag_sql, tag_rows(sid, run.tags))

    def get_run(self, run_id: str) -> Run | None:
        """The run with this id, or None."""
        with self._db.driver_read() as cursor:
            cursor.execute(self._db.driver_sql(_SELECT_BODY_SQL), {"run_id": run_id})
            row = cursor.fetchone()
        return None if row is None else run_from_body(row[0])

    def add_run_tags(self, run_id: str, tags: Mapping[str, str]) -> Run:
        """Add tags to a run; a key it already has takes the new value.

        Returns:
            The run as stored now.

        Raises:
            DagwrightRunNotFoundError: no run has this id.
            DagwrightStorageError: the database failed (transient errors are retried for
                ``StorageOptions.write_retry`` seconds first).
        """
        return self._db.retrying(lambda: self._add_run_tags(run_id, tags))

    def _add_run_tags(self, run_id: str, tags: Mapping[str, str]) -> Run:
        with self._db.driver_write() as cursor:
            sid, run = self._lock_run(cursor, run_id)
            updated = replace(run, tags={**run.tags, **tags})
            if tags:
                self._delete_tags(cursor, sid, tags.keys())
                cursor.executemany(self._insert_tag_sql, tag_rows(sid, tags))
            self._update_body(cursor, sid, updated)
        return updated

    def remove_run_tags(self, run_id: str, keys: Iterable[str]) -> Run:
        """Remove tags from a run; keys it does not have are ignored.

        Returns:
            The run as stored now.

        Raises:
            DagwrightRunNotFoundError: no run has this id.
        """
        gone = set(keys)
        with self._db.driver_write() as cursor:
            sid, run = self._lock_run(cursor, run_id)
            updated = replace(run, tags={k: v for k, v in run.tags.items() if k not in gone})
            if gone:
                self._delete_tags(cursor, sid, gone)
            self._update_body(cursor, sid, updated)
        return updated

    def update_tags_each(
        self,
        run_ids: Iterable[str],
        add: Mapping[str, str],
        remove: Iterable[str],
        audit: TagAudit,
    ) -> list[str | None]:
        """Add (or change) and remove tags of many runs in one transaction (the tags
        already checked), each change recorded as a ``TAGS_CHANGED`` event as
        :meth:`change_run_tags` records it.

        Returns:
            For each run: None if done, else why not (no such run).
        """
        keys = list(remove)
        refusals: list[str | None] = []
        with self._db.driver_write() as cursor:
            for run_id in run_ids:
                try:
                    sid, run = self._lock_run(cursor, run_id)
                except DagwrightRunNotFoundError as exc:
                    refusals.append(str(exc))
                    continue
                self._write_tag_changes(cursor, sid, run, add, keys, audit)
                refusals.append(None)
        return refusals

    def change_run_tags(
        self,
        run_id: str,
        add: Mapping[str, str],
        remove: Iterable[str],
        audit: TagAudit,
        check: Callable[[Run], None] | None = None,
    ) -> Run:
        """Add and remove tags of a run, and record what really changed as a
        ``TAGS_CHANGED`` event, in one transaction (no event when nothing changes).

        Args:
            run_id: the run.
            add: tags to set (validated).
            remove: keys to remove; keys the run does not have are ignored.
            audit: who changes them, and how.
            check: called with the run as locked, before anything is written; what it
                raises leaves everything as it was (a queued-only rule, for example).

        Returns:
            The run as stored now.

        Raises:
            DagwrightRunNotFoundError: no run has this id.
            DagwrightStorageError: the database failed (after the write retries).
        """
        keys = list(remove)
        return self._db.retrying(lambda: self._change_run_tags(run_id, add, keys, audit, check))

    def _change_run_tags(
        self,
        run_id: str,
        add: Mapping[str, str],
        remove: list[str],
        audit: TagAudit,
        check: Callable[[Run], None] | None,
    ) -> Run:
        with self._db.driver_write() as cursor:
            sid, run = self._lock_run(cursor, run_id)
            if check is not None:
                check(run)
            return self._write_tag_changes(cursor, sid, run, add, remove, audit)

    def _write_tag_changes(
        self,
        cursor: Any,
        sid: int,
        run: Run,
        add: Mapping[str, str],
        remove: list[str],
        audit: TagAudit,
    ) -> Run:
        """Apply what really changes to a locked run's tags and record it (no event when
        nothing changes); the run as it is now."""
        changes = tag_changes(run.tags, add, remove)
        if not changes:
            return run
        updated = replace(run, tags=apply_changes(run.tags, changes))
        self._delete_tags(cursor, sid, changes.keys())
        kept = {key: updated.tags[key] for key in changes if key in updated.tags}
        if kept:
            cursor.executemany(self._insert_tag_sql, tag_rows(sid, kept))
        self._update_body(cursor, sid, updated)
        event = tag_event(run.run_id, audit, changes, time.time())
        cursor.execute(self._insert_event_sql, event_row(event))
        return updated

    def queue_changes(self, since: Cursor | None) -> RunChanges:
        """The queued runs and the runs in progress that changed after ``since`` (all of
        them if None): the run queue's read of the change feed, see
        :func:`~dagwright.storage.changes.read_changes`."""
        return read_changes(self._db, since, _QUEUE_STATUSES)

    def _lock_run(self, cursor: Any, run_id: str) -> tuple[int, Run]:
        cursor.execute(self._lock_sql, {"run_id": run_id})
        row = cursor.fetchone()
        if row is None:
            raise DagwrightRunNotFoundError(run_id)
        return int(row[0]), run_from_body(row[1])

    def _delete_tags(self, cursor: Any, sid: int, keys: Iterable[str]) -> None:
        rows = [{"run_sid": sid, "key": key} for key in keys]
        cursor.executemany(self._db.driver_sql(_DELETE_TAG_SQL), rows)

    def _update_body(self, cursor: Any, sid: int, run: Run) -> None:
        values = {
            "sid": sid,
            "body": run_body(run),
            "updated_at": time.time(),
            "change_seq": tick(cursor, self._db.is_postgres),
        }
        cursor.execute(self._db.driver_sql(_UPDATE_BODY_SQL), values)


class RecordStore:
    """What a run worker needs of storage, without SQLAlchemy: single runs, events
    (with status changes) and heartbeats. :class:`~dagwright.storage.Storage` extends it.

    Attributes:
        database: the driver transactions every store shares.
        runs: single runs and their tags.
        events: events, and run status changes.
        workers: the process of each launched run, and daemon heartbeats.
        steps: step claims of distributed runs (the worker executing each step).
        compute_logs: the stdout and stderr of each step.
    """

    def __init__(self, database: DriverDatabase, runs: RunRecords | None = None) -> None:
        """Use ``database``, whose schema is current (a launcher made sure of it)."""
        self.database = database
        self.dialect = database.dialect
        self.runs = runs or RunRecords(database)
        self.events = EventStorage(database)
        self.workers = WorkerStorage(database)
        self.steps = StepStorage(database)
        self.compute_logs = ComputeLogStorage(database)

    def schema_is_current(self) -> bool:
        """Whether the database is at :data:`HEAD_REVISION` (one ``SELECT``); False for a
        database without dagwright's tables, or at another revision.

        Raises:
            DagwrightStorageError: the database cannot be reached.
        """
        db = self.database
        try:
            with db.driver_read() as cursor:
                cursor.execute("SELECT version_num FROM alembic_version")
                row = cursor.fetchone()
        except DagwrightStorageError as exc:
            if "alembic_version" in str(exc):  # no such table: a new or foreign database
                return False
            raise
        return row is not None and row[0] == HEAD_REVISION

    def close(self) -> None:
        """Close every connection."""
        self.database.close()
