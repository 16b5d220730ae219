"""SQL storage for runs, tags and events (SQLite or PostgreSQL).

:class:`Storage` (SQLAlchemy Core, Alembic migrations) is what an instance opens. Its hot
path, :class:`~dagwright.storage.records.RecordStore`, runs on the DB-API driver and is
importable without SQLAlchemy, which a run worker never imports. This package imports
SQLAlchemy only when a :class:`Storage` is opened; the stores live in their modules
(``runs``, ``events``, ``workers``, ``schedules``, ``backfills``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dagwright.storage.records import HEAD_REVISION, RecordStore

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from dagwright.storage.backfills import BackfillStorage
    from dagwright.storage.bulk import BulkStorage
    from dagwright.storage.driver import StorageOptions
    from dagwright.storage.engine import Database
    from dagwright.storage.runs import RunStorage
    from dagwright.storage.schedules import ScheduleStorage
    from dagwright.storage.tag_stats import TagStatsStorage
    from dagwright.storage.views import ViewStorage

__all__ = ["HEAD_REVISION", "RecordStore", "Storage"]


class Storage(RecordStore):
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
        views: saved views of the runs list.
        bulk: bulk actions and their per-run results.
        tag_stats: tag analytics, kept per key.
    """

    def __init__(self, url: str, database: Database) -> None:
        """Wrap a database whose schema is current; use :meth:`open` instead."""
        from dagwright.storage.backfills import BackfillStorage
        from dagwright.storage.bulk import BulkStorage
        from dagwright.storage.runs import RunStorage
        from dagwright.storage.schedules import ScheduleStorage
        from dagwright.storage.tag_stats import TagStatsStorage
        from dagwright.storage.views import ViewStorage

        self.runs: RunStorage = RunStorage(database)
        super().__init__(database, self.runs)
        self.url = url
        self.database: Database = database
        self.engine: Engine = database.engine
        self.schedules: ScheduleStorage = ScheduleStorage(database)
        self.backfills: BackfillStorage = BackfillStorage(database)
        self.views: ViewStorage = ViewStorage(database)
        self.bulk: BulkStorage = BulkStorage(database)
        self.tag_stats: TagStatsStorage = TagStatsStorage(database)

    @classmethod
    def open(cls, url: str, options: StorageOptions | None = None) -> Storage:
        """Connect to ``url`` and bring its schema to this version's head.

        Args:
            url: ``sqlite:///path``, ``sqlite://`` (in memory, private to this object) or
                ``postgresql+psycopg://user@host/db``.
            options: how its connections behave (default: ``StorageOptions()``).

        Raises:
            DagwrightStorageError: the URL is unsupported, the database cannot be reached,
                or its schema is at a revision this version does not know.
        """
        from sqlalchemy.engine import make_url

        from dagwright.storage.driver import StorageOptions, normalize_url
        from dagwright.storage.engine import Database, create_engine_for, is_memory_url
        from dagwright.storage.migrations import create_in_memory, ensure_schema

        url, options = normalize_url(url), options or StorageOptions()
        memory = is_memory_url(make_url(url)) if url.startswith("sqlite") else False
        if memory:
            database = Database.in_memory()
        else:
            database = Database(create_engine_for(url, options), options)
        try:
            if memory:
                create_in_memory(database.driver_connection)
            else:
                ensure_schema(database.engine)
        except BaseException:
            database.close()
            raise
        return cls(url, database)

    def __repr__(self) -> str:
        return f"Storage({self.engine.url.render_as_string(hide_password=True)!r})"
