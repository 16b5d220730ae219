"""Engines for SQLite and PostgreSQL, and the transactions every store uses.

SQLite runs in WAL mode with ``synchronous=FULL`` (or the level the settings choose),
foreign keys on and a 30 s busy timeout (PostgreSQL: a 30 s ``lock_timeout``). The
driver's own transaction handling is switched off so that dagwright emits ``BEGIN`` itself:
``BEGIN IMMEDIATE`` for writes (the write lock is taken up front, so two writers queue on
the busy timeout instead of failing on a lock upgrade) and a deferred ``BEGIN`` for reads.

In-memory ``sqlite://`` databases share one engine per process (so its dialect and its
compiled-statement cache are shared, and an ephemeral instance costs no compilation); each
:class:`Database` made by :meth:`Database.in_memory` pins a connection of its own (its own
private database) for its lifetime, guarded by a lock.

Driver errors are translated here, at the edge, into :class:`DagwrightStorageError`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Final

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.pool import NullPool

from dagwright.errors import DagwrightStorageError
from dagwright.storage.driver import (
    DEFAULT_OPTIONS,
    DriverDatabase,
    StorageOptions,
    normalize_url,
    pg_options,
    prepare_sqlite,
)

_WRITE_OPTION: Final = "dagwright_write"


def is_memory_url(url: URL) -> bool:
    """Whether a parsed URL names an in-memory SQLite database."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def create_engine_for(url: str, options: StorageOptions = DEFAULT_OPTIONS) -> Engine:
    """Create an engine for a SQLite or PostgreSQL (psycopg 3) URL.

    Args:
        url: ``sqlite:///path``, ``sqlite://`` (in memory) or ``postgresql+psycopg://…``
            (a bare ``postgresql://`` is accepted).
        options: how its connections behave (``synchronous``, lock timeout).

    Returns:
        A configured engine; nothing is connected yet.

    Raises:
        DagwrightStorageError: the URL is malformed or names another database or driver.
    """
    try:
        parsed = make_url(normalize_url(url))
    except ArgumentError as exc:
        raise DagwrightStorageError(f"invalid database url {url!r}: {exc}") from exc
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if (backend, driver) == ("sqlite", "pysqlite"):
        return _sqlite_engine(parsed, options)
    if (backend, driver) == ("postgresql", "psycopg"):
        connect_args = {"options": pg_options(options)}
        return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    raise DagwrightStorageError(
        f"unsupported database url {parsed.render_as_string(hide_password=True)!r}: "
        "use sqlite:///PATH, sqlite:// or postgresql+psycopg://USER@HOST/DB"
    )


def _sqlite_engine(url: URL, options: StorageOptions) -> Engine:
    memory = is_memory_url(url)
    if memory:
        # every connection is a new private database: Database.in_memory pins one
        engine = create_engine(url, poolclass=NullPool, connect_args={"check_same_thread": False})
    else:
        engine = create_engine(url, connect_args={"timeout": options.lock_timeout})

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        prepare_sqlite(dbapi_connection, memory, options)

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def _on_sqlite_begin(conn: Connection) -> None:
    write = conn.get_execution_options().get(_WRITE_OPTION, False)
    # straight to the driver: a full SQLAlchemy execution would double the cost of a
    # short transaction
    conn.connection.driver_connection.execute(  # type: ignore[union-attr]
        "BEGIN IMMEDIATE" if write else "BEGIN"
    )


class Database(DriverDatabase):
    """An engine plus the two kinds of SQLAlchemy transaction the stores use; the driver
    transactions of :class:`DriverDatabase` run on the engine's pool.

    Attributes:
        engine: the SQLAlchemy engine.
        dialect: ``"sqlite"`` or ``"postgresql"``.
        is_postgres: whether the database is PostgreSQL.
    """

    def __init__(self, engine: Engine, options: StorageOptions = DEFAULT_OPTIONS) -> None:
        """Wrap an engine made by :func:`create_engine_for` (with the same ``options``)."""
        super().__init__(engine.url.render_as_string(hide_password=False), options)
        self.engine = engine
        self._writer = engine.execution_options(**{_WRITE_OPTION: True})
        self._lock: threading.RLock | None = None
        self._pinned: Connection | None = None

    @classmethod
    def in_memory(cls) -> Database:
        """A new private in-memory SQLite database, on the process's shared memory engine.

        Raises:
            DagwrightStorageError: SQLite could not open it.
        """
        database = cls(_memory_engine())
        try:
            database._pinned = database.engine.connect()
        except DBAPIError as exc:
            raise database.error(exc) from exc
        database._lock = threading.RLock()
        return database

    @property
    def driver_connection(self) -> Any:
        """The driver connection of an in-memory database (for loading its schema)."""
        assert self._pinned is not None, "only in-memory databases pin a connection"
        return self._pinned.connection.driver_connection

    def close(self) -> None:
        """Close the database: an in-memory one is gone afterwards."""
        if self._pinned is not None:
            self._pinned.close()
        else:
            self.engine.dispose()

    def _guard(self) -> AbstractContextManager[Any]:
        return self._lock if self._lock is not None else nullcontext()

    @contextmanager
    def _pinned_transaction(self, pinned: Connection) -> Iterator[Connection]:
        assert self._lock is not None
        with self._lock:
            if pinned.in_transaction():  # nested in a transaction of this thread
                yield pinned
                return
            with pinned.begin():
                yield pinned

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Connection]:
        try:
            if self._pinned is not None:
                with self._pinned_transaction(self._pinned) as conn:
                    yield conn
            elif write:
                with self._writer.begin() as conn:
                    yield conn
            else:
                with self.engine.connect() as conn:
                    yield conn
        except DBAPIError as exc:
            raise self.error(exc) from exc

    def read(self) -> AbstractContextManager[Connection]:
        """A connection in a read transaction, rolled back at the end.

        Raises:
            DagwrightStorageError: the database failed.
        """
        return self._transaction(write=False)

    def write(self) -> AbstractContextManager[Connection]:
        """A connection in a write transaction, committed unless the block raises.

        On SQLite the transaction starts with ``BEGIN IMMEDIATE``.

        Raises:
            DagwrightStorageError: the database failed.
        """
        return self._transaction(write=True)

    def _acquire(self) -> Any:
        if self._pinned is not None:
            return self.driver_connection
        try:
            return self.engine.raw_connection()
        except DBAPIError as exc:
            raise self.error(exc) from exc

    def _release(self, raw: Any) -> None:
        if self._pinned is None:
            raw.close()  # back to the pool

    def _discard(self, raw: Any) -> None:
        if self._pinned is None:  # an in-memory database lives in its one connection
            raw.invalidate()  # out of the pool for good

    @property
    def dbapi(self) -> Any:
        """The DB-API module of the driver (``sqlite3`` or ``psycopg``)."""
        return self.engine.dialect.loaded_dbapi


_memory_engines: list[Engine] = []


def _memory_engine() -> Engine:
    """The process's one engine for in-memory databases (made on first use)."""
    if not _memory_engines:
        _memory_engines.append(create_engine_for("sqlite://"))
    return _memory_engines[0]
