"""Event storage, and the one function through which a run's status changes.

:meth:`EventStorage.store_event` writes an event and, when the event moves its run to a new
status, checks the move against the transition table and updates the run row and body in
the same transaction. No other code updates ``runs.status``.

Events are written straight through the driver (see :meth:`Database.driver_write`), the
hottest path of a run: a plain event is one ``INSERT`` (the foreign key from
``events.run_id`` to ``runs.run_id`` rejects an event of an unknown run without an extra
query); a status change reads the run row (locked on PostgreSQL), updates it and inserts
the event in one transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Any, Final

from dagwright.errors import DagwrightInvalidTransitionError, DagwrightRunNotFoundError
from dagwright.execution.events import Event, EventType
from dagwright.execution.logs import PendingChunk
from dagwright.runs.claims import ClaimLimits, ClaimRefusedError
from dagwright.runs.models import Run, RunStatus, check_transition
from dagwright.storage.changes import tick
from dagwright.storage.claims import check_claim
from dagwright.storage.compute_logs import insert_chunks
from dagwright.storage.driver import DriverDatabase
from dagwright.storage.serde import event_body, event_from_body, run_body, run_from_body
from dagwright.tags import HELD_BY_TAG

_LOCK_RUN_SQL: Final = "SELECT id, body FROM runs WHERE run_id = {run_id}"
_SELECT_EVENTS_SQL: Final = "SELECT id, body FROM events WHERE run_id = {run_id}"
_UPDATE_RUN_SQL: Final = (
    "UPDATE runs SET status = {status}, updated_at = {updated_at}, started_at = {started_at},"
    " ended_at = {ended_at}, body = {body}, change_seq = {change_seq} WHERE id = {sid}"
)
INSERT_EVENT_SQL: Final = (
    "INSERT INTO events (run_id, event_type, step_key, timestamp, body)"
    " VALUES ({run_id}, {event_type}, {step_key}, {timestamp}, {body})"
)


def is_durable(event: Event) -> bool:
    """Whether the event's commit must reach the disk before the writer goes on: a status
    change of its run, and the start of a step (the last write before an op's code runs).
    Other events (logs, step ends, engine notes) ride on the next durable commit, which
    comes before any more user code runs or the run ends: an OS crash never loses an
    outcome that would make an op run again."""
    return event.run_status is not None or event.event_type is EventType.STEP_START


def lock_run_sql(db: DriverDatabase) -> str:
    """Read a run's row (storage id, body) locked for an update: ``FOR NO KEY UPDATE`` on
    PostgreSQL; a SQLite write transaction holds the database lock already."""
    lock = " FOR NO KEY UPDATE" if db.is_postgres else ""
    return db.driver_sql(_LOCK_RUN_SQL) + lock


class EventStorage:
    """Events of runs in one SQL database (SQLite or PostgreSQL)."""

    def __init__(self, database: DriverDatabase) -> None:
        """Use ``database``, whose schema is current (see :class:`~dagwright.storage.Storage`)."""
        self._db = database
        db = self._db
        returning = " RETURNING id" if db.is_postgres else ""
        self._insert_sql = db.driver_sql(INSERT_EVENT_SQL) + returning
        self._lock_sql = lock_run_sql(db)
        self._update_sql = db.driver_sql(_UPDATE_RUN_SQL)

    def store_event(
        self,
        event: Event,
        chunks: Sequence[PendingChunk] = (),
        *,
        limits: ClaimLimits | None = None,
    ) -> tuple[Event, Run | None]:
        """Store an event, applying the status change it carries, in one transaction
        (with ``chunks``: the step logs still to write when a step ends).

        Args:
            event: the event.
            limits: the run queue's limits; a ``RUN_STARTING`` of a ``QUEUED`` run (a
                claim) is then checked against the runs in progress in storage, in this
                transaction (:mod:`dagwright.storage.claims`).

        Returns:
            The event with its ``storage_id``, and the updated run if its status changed
            (None for an event that changes no status).

        A transient storage error (lock timeout, lost connection, full disk) is retried
        for ``StorageOptions.write_retry`` seconds.

        Raises:
            DagwrightRunNotFoundError: the event's run does not exist.
            DagwrightInvalidTransitionError: the status change is not allowed; nothing is
                stored. :class:`~dagwright.runs.claims.ClaimRefusedError` when a limit is
                full.
            DagwrightStorageError: the database failed (after the retries).
        """
        return self._db.retrying(lambda: self._store_event(event, chunks, limits))

    def _store_event(
        self, event: Event, chunks: Sequence[PendingChunk], limits: ClaimLimits | None
    ) -> tuple[Event, Run | None]:
        new_status = event.run_status
        run = None
        with self._db.driver_write(durable=is_durable(event)) as cursor:
            if new_status is not None:
                run = self._change_status(cursor, event, new_status, limits)
            storage_id = self._insert(cursor, event)  # an unknown run fails here
            if chunks:
                insert_chunks(self._db, cursor, event.run_id, chunks)
        return _with_storage_id(event, storage_id), run

    def store_events_each(self, events: Sequence[Event]) -> list[str | None]:
        """Store run-level events of many runs in one transaction, each applying its
        status change; an event whose change is not allowed (or whose run is gone) is
        skipped and the others are stored.

        Returns:
            For each event: None if stored, else why it was not.
        """
        refusals: list[str | None] = []
        with self._db.driver_write() as cursor:
            for event in events:
                try:
                    if event.run_status is not None:
                        self._change_status(cursor, event, event.run_status, None)
                    self._insert(cursor, event)
                except (DagwrightInvalidTransitionError, DagwrightRunNotFoundError) as exc:
                    refusals.append(str(exc))
                else:
                    refusals.append(None)
        return refusals

    def _insert(self, cursor: Any, event: Event) -> int:
        db = self._db
        try:
            cursor.execute(self._insert_sql, event_row(event))
        except db.dbapi.IntegrityError as exc:
            raise DagwrightRunNotFoundError(event.run_id) from exc
        return int(cursor.fetchone()[0] if db.is_postgres else cursor.lastrowid)

    def _change_status(
        self, cursor: Any, event: Event, new: RunStatus, limits: ClaimLimits | None
    ) -> Run:
        cursor.execute(self._lock_sql, {"run_id": event.run_id})
        row = cursor.fetchone()
        if row is None:
            raise DagwrightRunNotFoundError(event.run_id)
        run = run_from_body(row[1])
        check_transition(run.run_id, run.status, new)
        change_seq = tick(cursor, self._db.is_postgres)  # PostgreSQL: holds the clock's lock
        if limits is not None and run.status is RunStatus.QUEUED and new is RunStatus.STARTING:
            held = run.tags.get(HELD_BY_TAG)
            if held is not None:  # held after the pass read the queue
                raise ClaimRefusedError(run.run_id, [f"held by {held}"])
            check_claim(cursor, self._db, run, limits)
        now = event.timestamp
        updated = replace(
            run,
            status=new,
            started_at=now if new is RunStatus.STARTED else run.started_at,
            ended_at=now if new.is_finished else run.ended_at,
        )
        values = {
            "sid": row[0],
            "status": new.value,
            "updated_at": now,
            "started_at": updated.started_at,
            "ended_at": updated.ended_at,
            "body": run_body(updated),
            "change_seq": change_seq,
        }
        cursor.execute(self._update_sql, values)
        return updated

    def get_events(
        self,
        run_id: str,
        *,
        after: int | None = None,
        limit: int | None = None,
        event_types: Collection[EventType] = (),
    ) -> list[Event]:
        """A run's events in the order they were stored.

        Args:
            run_id: the run.
            after: only events with a storage id greater than this.
            limit: at most this many.
            event_types: only events of these types (all when empty).

        Returns:
            The events, each with its ``storage_id``; empty for an unknown run.
        """
        db = self._db
        sql = db.driver_sql(_SELECT_EVENTS_SQL)
        params: dict[str, Any] = {"run_id": run_id}
        if event_types:
            marks, types = db.in_list("t", [event_type.value for event_type in event_types])
            sql += f" AND event_type IN ({marks})"
            params.update(types)
        if after is not None:
            sql += self._db.driver_sql(" AND id > {after}")
            params["after"] = after
        sql += " ORDER BY id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._db.driver_read() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return [event_from_body(body, sid) for sid, body in rows]

    def last_event(
        self, run_id: str, event_types: Collection[EventType], *, step_key: str | None = None
    ) -> Event | None:
        """A run's latest event of one of these types (and of this step, if given): one
        backward step of the ``(run_id, id)`` index, not a read of the whole log."""
        db = self._db
        marks, types = db.in_list("t", [event_type.value for event_type in event_types])
        params: dict[str, Any] = {"run_id": run_id, **types}
        sql = db.driver_sql(_SELECT_EVENTS_SQL) + f" AND event_type IN ({marks})"
        if step_key is not None:
            sql += db.driver_sql(" AND step_key = {step_key}")
            params["step_key"] = step_key
        with db.driver_read() as cursor:
            cursor.execute(sql + " ORDER BY id DESC LIMIT 1", params)
            row = cursor.fetchone()
        return None if row is None else event_from_body(row[1], row[0])


def _with_storage_id(event: Event, storage_id: int) -> Event:
    # dataclasses.replace costs several times a direct construction on this hot path
    return Event(
        event.run_id,
        event.event_type,
        event.timestamp,
        event.step_key,
        event.message,
        event.level,
        event.data,
        storage_id,
    )


def event_row(event: Event) -> dict[str, Any]:
    """The ``events`` row of a new event."""
    return {
        "run_id": event.run_id,
        "event_type": event.event_type.value,
        "step_key": event.step_key,
        "timestamp": event.timestamp,
        "body": event_body(event),
    }
