"""Driver-level transactions, without SQLAlchemy: the hot path of storage.

A run worker is a short-lived process; importing SQLAlchemy would cost it several times
what the run itself does. Everything a worker needs (read its run, write its events and
status changes, add a tag, beat) is therefore written as plain SQL with ``{name}``
placeholders and executed on the DB-API driver (``sqlite3`` or ``psycopg``) through
:class:`DriverDatabase`. :class:`~dagwright.storage.engine.Database` extends it with a
SQLAlchemy engine for everything else, and runs these same statements on its own pool, so
each statement exists once.

SQLite connections get the settings described in :mod:`dagwright.storage.engine` (WAL,
``synchronous=FULL`` unless :class:`StorageOptions` says otherwise, foreign keys, busy
timeout, ``BEGIN IMMEDIATE`` for writes); PostgreSQL connections get a ``lock_timeout``.

Errors are translated into :class:`DagwrightStorageError`; those a later attempt may not
meet (a lock held too long, a lost connection, a full disk) are marked ``transient``, a
connection that failed so is dropped, and :meth:`DriverDatabase.retrying` repeats a write
that failed so, with backoff, for ``StorageOptions.write_retry`` seconds.
"""

from __future__ import annotations

import functools
import json
import math
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass
from typing import Any, Final, TypeVar
from urllib.parse import unquote, urlsplit

from dagwright.errors import DagwrightStorageError

#: How long a statement waits by default for a lock another connection holds (SQLite's
#: busy timeout, PostgreSQL's ``lock_timeout``) before failing.
BUSY_TIMEOUT_SECONDS: Final = 30.0

#: The values of SQLite's ``synchronous`` pragma a home may choose.
SYNCHRONOUS_LEVELS: Final = ("OFF", "NORMAL", "FULL", "EXTRA")

#: SQLite result codes (the low byte) of errors a later attempt may not meet: busy,
#: locked, I/O error, disk full, protocol (a WAL lock race).
_SQLITE_TRANSIENT: Final = frozenset({5, 6, 10, 13, 15})
#: Longest pause between two attempts of a write.
_MAX_BACKOFF: Final = 2.0


@dataclass(frozen=True)
class StorageOptions:
    """How the connections to one database behave (the ``storage`` settings, resolved).

    Attributes:
        sqlite_synchronous: SQLite's ``synchronous`` pragma: ``FULL`` (default) syncs the
            WAL at every commit, so a committed transaction survives an OS crash or power
            loss; ``NORMAL`` syncs only at checkpoints (faster commits; the last ones may
            be lost in a crash, never corrupted); ``OFF``, ``EXTRA`` as in SQLite.
        lock_timeout: seconds a statement waits for a lock another connection holds
            (SQLite's busy timeout, PostgreSQL's ``lock_timeout``).
        write_retry: seconds a write that failed on a transient error is retried, with
            backoff, before the error is raised (0: no retry).
    """

    sqlite_synchronous: str = "FULL"
    lock_timeout: float = BUSY_TIMEOUT_SECONDS
    write_retry: float = 30.0

    def to_env(self) -> str:
        """The options as one string, for a worker's environment (see :meth:`from_env`)."""
        return json.dumps([self.sqlite_synchronous, self.lock_timeout, self.write_retry])

    @classmethod
    def from_env(cls, text: str | None) -> StorageOptions:
        """Options written by :meth:`to_env` (None: the defaults)."""
        if not text:
            return cls()
        synchronous, lock_timeout, write_retry = json.loads(text)
        return cls(str(synchronous), float(lock_timeout), float(write_retry))


_PG_SCHEMES: Final = ("postgresql+psycopg", "postgresql", "postgres")


#: The URL of a PostgreSQL database, as SQLAlchemy is given it (psycopg 3).
PG_PREFIX: Final = "postgresql+psycopg://"


def normalize_url(url: str) -> str:
    """Rewrite a ``postgresql://`` or ``postgres://`` URL to name psycopg 3 (``PG_PREFIX``);
    any other URL is returned as is."""
    scheme, sep, rest = url.partition("://")
    return PG_PREFIX + rest if sep and scheme in _PG_SCHEMES else url


@dataclass(frozen=True)
class DriverUrl:
    """A storage URL as the driver needs it.

    Attributes:
        is_postgres: PostgreSQL (psycopg 3) rather than SQLite.
        target: the SQLite file path (``""`` in memory) or the libpq connection URL.
    """

    is_postgres: bool
    target: str

    @classmethod
    def parse(cls, url: str) -> DriverUrl:
        """Read ``sqlite:///PATH``, ``sqlite://`` or ``postgresql[+psycopg]://…``.

        Raises:
            DagwrightStorageError: any other URL.
        """
        scheme, sep, rest = url.partition("://")
        if sep and scheme == "sqlite":
            path = unquote(urlsplit("sqlite://" + rest).path)
            return cls(False, "" if path in ("", "/", "/:memory:") else path[1:])
        if sep and scheme in _PG_SCHEMES:
            return cls(True, "postgresql://" + rest)
        raise DagwrightStorageError(
            f"unsupported database url {scheme + sep if sep else url!r}…: "
            "use sqlite:///PATH, sqlite:// or postgresql+psycopg://USER@HOST/DB"
        )

    def describe(self) -> str:
        """Where the database is, fit for messages (password hidden)."""
        if not self.is_postgres:
            return f"sqlite at {self.target or ':memory:'}"
        parts = urlsplit(self.target)
        where = f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"
        return f"postgresql at {where}"


#: The options of a database nobody configured.
DEFAULT_OPTIONS: Final = StorageOptions()


def sqlite_pragmas(memory: bool, options: StorageOptions = DEFAULT_OPTIONS) -> tuple[str, ...]:
    """What every SQLite connection runs when it opens."""
    if options.sqlite_synchronous not in SYNCHRONOUS_LEVELS:
        raise DagwrightStorageError(f"unknown sqlite synchronous {options.sqlite_synchronous!r}")
    timeout_ms = int(options.lock_timeout * 1000)
    common = (f"PRAGMA busy_timeout = {timeout_ms}", "PRAGMA foreign_keys = ON")
    return common if memory else (*common, f"PRAGMA synchronous = {options.sqlite_synchronous}")


def prepare_sqlite(
    connection: Any, memory: bool, options: StorageOptions = DEFAULT_OPTIONS
) -> None:
    """Set up a new SQLite driver connection: dagwright emits ``BEGIN`` itself."""
    connection.isolation_level = None
    if not _sqlite_has_math():
        # the tag analytics' duration buckets use ln() and floor(), which some builds
        # of SQLite leave out
        connection.create_function("ln", 1, math.log, deterministic=True)
        connection.create_function("floor", 1, math.floor, deterministic=True)
    cursor = connection.cursor()
    for pragma in sqlite_pragmas(memory, options):
        cursor.execute(pragma)
    if not memory:
        enable_wal(cursor)
    cursor.close()


@functools.cache
def _sqlite_has_math() -> bool:
    """Whether this process's SQLite has its math functions built in."""
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("SELECT ln(2), floor(1.5)")
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()
    return True


def enable_wal(cursor: Any) -> None:
    """Switch the file to WAL (persistent: done once per file, then only checked).

    The switch needs the database to itself and SQLite does not wait for it through the
    busy timeout, so two processes opening a fresh file at once retry here.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


class DriverDatabase:
    """Driver transactions on one database; a connection per thread, opened on first use.

    Attributes:
        is_postgres: whether the database is PostgreSQL.
        dialect: ``"sqlite"`` or ``"postgresql"``.
    """

    def __init__(self, url: str, options: StorageOptions = DEFAULT_OPTIONS) -> None:
        """Prepare to connect to ``url`` (nothing is connected yet).

        Raises:
            DagwrightStorageError: the URL is not a SQLite or PostgreSQL URL.
        """
        self._url = DriverUrl.parse(url)
        self.options = options
        self._reached = False  # a failure to connect is transient once the database answered
        self.is_postgres = self._url.is_postgres
        self.dialect = "postgresql" if self.is_postgres else "sqlite"
        self._local = threading.local()
        self._opened: list[Any] = []
        self._opened_lock = threading.Lock()

    def close(self) -> None:
        """Close every connection this object opened."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            with suppress(Exception):
                connection.close()

    def driver_write(self, *, durable: bool = True) -> AbstractContextManager[Any]:
        """A DB-API cursor in a write transaction, committed unless the block raises.

        On SQLite the transaction starts with ``BEGIN IMMEDIATE``. Write the SQL with
        :meth:`driver_sql`. Driver errors other than the driver's ``IntegrityError`` (which
        the caller handles) become :class:`DagwrightStorageError`.

        ``durable=False`` (a log line, a heartbeat) commits without waiting for the disk
        on a SQLite file set to sync every commit: the transaction is visible at once and
        survives a crash of the process; an OS crash may lose it unless a durable commit
        followed (which syncs everything written before it).
        """
        return self._driver_transaction(write=True, relaxed=not durable and self._relaxable)

    @property
    def _relaxable(self) -> bool:
        """Whether commits here wait for the disk and a commit may be spared that."""
        level = self.options.sqlite_synchronous
        return not self.is_postgres and bool(self._url.target) and level in ("FULL", "EXTRA")

    def driver_read(self) -> AbstractContextManager[Any]:
        """A DB-API cursor in a read transaction."""
        return self._driver_transaction(write=False)

    @contextmanager
    def _driver_transaction(self, *, write: bool, relaxed: bool = False) -> Iterator[Any]:
        with self._guard():
            raw = self._acquire()
            try:
                cursor = raw.cursor()
                if relaxed:  # back to the home's level in the finally below
                    cursor.execute("PRAGMA synchronous = NORMAL")
                if not self.is_postgres:
                    cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                yield cursor
                raw.commit()
            except BaseException as exc:
                with suppress(Exception):
                    raw.rollback()
                if isinstance(exc, self.dbapi.Error) and not isinstance(
                    exc, self.dbapi.IntegrityError
                ):
                    error = self.error(exc)
                    if error.transient:  # the connection may be dead: the next try opens one
                        self._discard(raw)
                        raw = None
                    raise error from exc
                raise
            finally:
                if raw is not None and relaxed:
                    raw = self._restore_synchronous(raw)
                if raw is not None:
                    self._release(raw)

    def _restore_synchronous(self, raw: Any) -> Any:
        """Set a connection back to the home's ``synchronous`` after a relaxed commit; a
        connection that cannot be is dropped (None), never left relaxed."""
        try:
            raw.execute(f"PRAGMA synchronous = {self.options.sqlite_synchronous}")
        except Exception:
            self._discard(raw)
            return None
        return raw

    def retrying(self, write: Callable[[], _T]) -> _T:
        """``write()``, called again with backoff while it fails on a transient storage
        error, for up to ``options.write_retry`` seconds; then its error is raised.

        Only for a write that is one transaction: a failed attempt left nothing behind.
        """
        deadline = time.monotonic() + self.options.write_retry
        delay = 0.05
        while True:
            try:
                return write()
            except DagwrightStorageError as exc:
                if not exc.transient or time.monotonic() + delay > deadline:
                    raise
                if delay == 0.05:  # said once per write, on its first failure
                    _warn(f"{exc}; retrying for up to {self.options.write_retry:g} s")
            time.sleep(delay)
            delay = min(delay * 2, _MAX_BACKOFF)

    def _discard(self, raw: Any) -> None:
        """Drop a connection that failed (this thread opens a new one on next use)."""
        if getattr(self._local, "connection", None) is raw:
            self._local.connection = None
        with self._opened_lock:
            if raw in self._opened:
                self._opened.remove(raw)
        with suppress(Exception):
            raw.close()

    def _guard(self) -> AbstractContextManager[Any]:
        """Held around a driver transaction (a lock where a connection is shared)."""
        return _NO_GUARD

    def _acquire(self) -> Any:
        """A driver connection for one transaction, on this thread."""
        raw = getattr(self._local, "connection", None)
        if raw is None:
            raw = self._local.connection = self._connect()
        return raw

    def _release(self, raw: Any) -> None:
        """Give back what :meth:`_acquire` returned (a per-thread connection stays open)."""

    def _connect(self) -> Any:
        options = self.options
        try:
            if self.is_postgres:
                import psycopg

                raw: Any = psycopg.connect(self._url.target, options=pg_options(options))
            else:
                raw = sqlite3.connect(
                    self._url.target or ":memory:",
                    timeout=options.lock_timeout,
                    check_same_thread=False,
                )
                prepare_sqlite(raw, not self._url.target, options)
        except Exception as exc:
            error = self.error(exc, "cannot open the database")
            error.transient = self._reached and error.transient
            raise error from exc
        self._reached = True
        with self._opened_lock:
            self._opened.append(raw)
        return raw

    @property
    def dbapi(self) -> Any:
        """The DB-API module of the driver (``sqlite3`` or ``psycopg``)."""
        if self.is_postgres:
            import psycopg

            return psycopg
        return sqlite3

    def driver_sql(self, template: str) -> str:
        """SQL for the driver: ``{name}`` placeholders in the driver's style."""
        key = (self.is_postgres, template)
        sql = _driver_sql.get(key)
        if sql is None:
            style = "%({})s" if self.is_postgres else ":{}"
            names = re.findall(r"\{(\w+)\}", template)
            sql = _driver_sql[key] = template.format(**{name: style.format(name) for name in names})
        return sql

    def in_list(self, name: str, values: Sequence[object]) -> tuple[str, dict[str, object]]:
        """``(marks, params)`` for ``IN ({marks})``: one placeholder per value, named
        ``name0``, ``name1``…, in the driver's style."""
        params = {f"{name}{i}": value for i, value in enumerate(values)}
        return ", ".join(self.driver_sql(f"{{{key}}}") for key in params), params

    def describe(self) -> str:
        """Where the database is, fit for messages (password hidden)."""
        return self._url.describe()

    def error(self, exc: Exception, doing: str = "database error") -> DagwrightStorageError:
        """Translate a driver error into a :class:`DagwrightStorageError` (``transient``
        when a later attempt may not meet it)."""
        orig = getattr(exc, "orig", None) or exc
        message = f"{doing} on {self.describe()}: {str(orig).strip()}"
        return DagwrightStorageError(message, transient=self._is_transient(orig))

    def _is_transient(self, exc: BaseException) -> bool:
        if self.is_postgres:  # lost connection, lock or statement timeout, disk full …
            return isinstance(exc, self.dbapi.OperationalError)
        code = getattr(exc, "sqlite_errorcode", None)
        return isinstance(exc, sqlite3.OperationalError) and (
            (code is None and "locked" in str(exc)) or (code or 0) & 0xFF in _SQLITE_TRANSIENT
        )


def _warn(message: str) -> None:
    """Log storage trouble (``dagwright.storage``; on stderr where logging is not set up,
    as in a run worker, whose stderr is its log). ``logging`` loads only then."""
    import logging

    logging.getLogger("dagwright.storage").warning("%s", message)


def pg_options(options: StorageOptions) -> str:
    """The libpq ``options`` of a PostgreSQL connection: its ``lock_timeout``."""
    return f"-c lock_timeout={int(options.lock_timeout * 1000)}"


_NO_GUARD: Final = nullcontext()

_T = TypeVar("_T")

#: Values per ``IN (...)`` list: SQLite caps the parameters of a statement.
IN_LIST_CHUNK: Final = 500


def chunked(values: Sequence[_T], size: int = IN_LIST_CHUNK) -> Iterator[Sequence[_T]]:
    """``values`` in slices of at most ``size``, for ``IN`` lists."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


#: Driver SQL by (is PostgreSQL, template), shared by every database of the process.
_driver_sql: dict[tuple[bool, str], str] = {}
