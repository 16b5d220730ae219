"""SQL storage for runs, tags and events (SQLAlchemy Core; SQLite or PostgreSQL).

Importing this package imports SQLAlchemy, so ``dagwright`` itself imports it lazily.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from dagwright.storage.backfills import BackfillStorage
from dagwright.storage.engine import Database, create_engine_for, is_memory_url, normalize_url
from dagwright.storage.events import EventStorage
from dagwright.storage.migrations import HEAD_REVISION, create_in_memory, ensure_schema
from dagwright.storage.runs import RunStorage
from dagwright.storage.schedules import ScheduleStorage
from dagwright.storage.workers import WorkerStorage

__all__ = [
    "HEAD_REVISION",
    "BackfillStorage",
    "ScheduleStorage",
    "EventStorage",
    "RunStorage",
    "WorkerStorage",
    "Storage",
    "create_engine_for",
    "ensure_schema",
]


class Storage:
    """The stores of one database, opened together.

    Attributes:
        url: the SQLAlchemy URL it was opened with (``postgresql://`` normalised).
        dialect: ``"sqlite"`` or ``"postgresql"``.
        engine: the SQLAlchemy engine (for stores added later: queue, schedules …).
        database: the engine's transaction helper, shared by every store.
        runs: runs and their tags.
        events: events, and run status changes.
        workers: the process of each launched run, and daemon heartbeats.
        schedules: schedule and sensor state, ticks, sensor run keys.
        backfills: backfills, and counts of their runs.
    """

    def __init__(self, url: str, database: Database) -> None:
        """Wrap a database whose schema is current; use :meth:`open` instead."""
        self.url = url
        self.database = database
        self.engine: Engine = database.engine
        self.dialect = database.dialect
        self.runs = RunStorage(database)
        self.events = EventStorage(database)
        self.workers = WorkerStorage(database)
        self.schedules = ScheduleStorage(database)
        self.backfills = BackfillStorage(database)

    @classmethod
    def open(cls, url: str) -> Storage:
        """Connect to ``url`` and bring its schema to this version's head.

        Args:
            url: ``sqlite:///path``, ``sqlite://`` (in memory, private to this object) or
                ``postgresql+psycopg://user@host/db``.

        Raises:
            DagwrightStorageError: the URL is unsupported, the database cannot be reached,
                or its schema is at a revision this version does not know.
        """
        url = normalize_url(url)
        memory = is_memory_url(make_url(url)) if url.startswith("sqlite") else False
        database = Database.in_memory() if memory else Database(create_engine_for(url))
        try:
            if memory:
                create_in_memory(database.driver_connection)
            else:
                ensure_schema(database.engine)
        except BaseException:
            database.close()
            raise
        return cls(url, database)

    def close(self) -> None:
        """Close every connection (an in-memory database is gone afterwards)."""
        self.database.close()

    def __repr__(self) -> str:
        return f"Storage({self.engine.url.render_as_string(hide_password=True)!r})"
