"""Event storage, and the one function through which a run's status changes.

:meth:`EventStorage.store_event` writes an event and, when the event moves its run to a new
status, checks the move against the transition table and updates the run row and body in
the same transaction. No other code updates ``runs.status``.

A plain event (no status change) is one ``INSERT``, sent straight through the driver (see
:meth:`Database.driver_write`); the foreign key from ``events.run_id`` to ``runs.run_id``
rejects an event of an unknown run without an extra query.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Final

from sqlalchemy import Connection, bindparam, insert, select, update

from dagwright.errors import DagwrightRunNotFoundError
from dagwright.execution.events import Event
from dagwright.runs.models import Run, RunStatus, check_transition
from dagwright.storage.engine import Database
from dagwright.storage.runs import LOCK_RUN
from dagwright.storage.schema import events, runs
from dagwright.storage.serde import event_body, event_from_body, run_body, run_from_body

_INSERT_EVENT: Final = insert(events).returning(events.c.id)
_UPDATE_RUN: Final = update(runs).where(runs.c.id == bindparam("sid"))
_INSERT_EVENT_SQL: Final = (
    "INSERT INTO events (run_id, event_type, step_key, timestamp, body)"
    " VALUES ({run_id}, {event_type}, {step_key}, {timestamp}, {body})"
)


class EventStorage:
    """Events of runs in one SQL database (SQLite or PostgreSQL)."""

    def __init__(self, database: Database) -> None:
        """Use ``database``, whose schema is current (see :class:`~dagwright.storage.Storage`)."""
        self._db = database
        returning = " RETURNING id" if self._db.is_postgres else ""
        self._insert_sql = self._db.driver_sql(_INSERT_EVENT_SQL) + returning

    def store_event(self, event: Event) -> tuple[Event, Run | None]:
        """Store an event, applying the status change it carries, in one transaction.

        Returns:
            The event with its ``storage_id``, and the updated run if its status changed
            (None for an event that changes no status).

        Raises:
            DagwrightRunNotFoundError: the event's run does not exist.
            DagwrightInvalidTransitionError: the status change is not allowed; nothing is
                stored.
        """
        new_status = event.run_status
        if new_status is None:
            return _with_storage_id(event, self._insert_plain(event)), None
        with self._db.write() as conn:
            run = _change_status(conn, event, new_status)
            storage_id = conn.execute(_INSERT_EVENT, _event_row(event)).scalar_one()
        return _with_storage_id(event, storage_id), run

    def _insert_plain(self, event: Event) -> int:
        """The hot path: one INSERT through the driver; returns the storage id."""
        db = self._db
        with db.driver_write() as cursor:
            try:
                cursor.execute(self._insert_sql, _event_row(event))
            except db.dbapi.IntegrityError as exc:
                raise DagwrightRunNotFoundError(event.run_id) from exc
            return int(cursor.fetchone()[0] if db.is_postgres else cursor.lastrowid)

    def get_events(
        self, run_id: str, *, after: int | None = None, limit: int | None = None
    ) -> list[Event]:
        """A run's events in the order they were stored.

        Args:
            run_id: the run.
            after: only events with a storage id greater than this.
            limit: at most this many.

        Returns:
            The events, each with its ``storage_id``; empty for an unknown run.
        """
        query = select(events.c.id, events.c.body).where(events.c.run_id == run_id)
        if after is not None:
            query = query.where(events.c.id > after)
        query = query.order_by(events.c.id).limit(limit)
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        return [event_from_body(body, sid) for sid, body in rows]


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


def _event_row(event: Event) -> dict[str, Any]:
    return {
        "run_id": event.run_id,
        "event_type": event.event_type.value,
        "step_key": event.step_key,
        "timestamp": event.timestamp,
        "body": event_body(event),
    }


def _change_status(conn: Connection, event: Event, new: RunStatus) -> Run:
    row = conn.execute(LOCK_RUN, {"run_id": event.run_id}).first()
    if row is None:
        raise DagwrightRunNotFoundError(event.run_id)
    run = run_from_body(row[1])
    check_transition(run.run_id, run.status, new)
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
    }
    conn.execute(_UPDATE_RUN, values)
    return updated
