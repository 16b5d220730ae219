"""Bring a database to the schema of this dagwright version.

:func:`ensure_schema` is called every time storage is opened, so its common case is fast:

* an in-memory SQLite database (the ephemeral instance) is loaded from the serialised
  image of an empty database, built once per process from :mod:`dagwright.storage.schema`;
* a database already at :data:`HEAD_REVISION` costs one ``SELECT`` of
  ``alembic_version`` and never imports Alembic;
* anything else takes a lock (``BEGIN IMMEDIATE`` on SQLite, a transaction-scoped advisory
  lock on PostgreSQL), reads the revision again, and then creates a fresh database from
  the schema and stamps it (identical to running every migration; a test checks that),
  upgrades an older one with Alembic, or refuses a revision it does not know.

Two processes opening a fresh home at once therefore create the schema once.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Connection, Dialect, Engine, select, text
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import CreateIndex, CreateTable

from dagwright.errors import DagwrightStorageError
from dagwright.storage.driver import DriverUrl
from dagwright.storage.engine import Database
from dagwright.storage.records import HEAD_REVISION
from dagwright.storage.schema import alembic_metadata, alembic_version, metadata

if TYPE_CHECKING:
    from alembic.config import Config


#: Where the Alembic environment (``env.py``) and ``versions/`` live.
MIGRATIONS_DIR: Final = Path(__file__).parent

#: Key of the PostgreSQL advisory lock held while the schema changes.
_PG_LOCK_KEY: Final = 0x64616777  # "dagw"


def ensure_schema(engine: Engine) -> None:
    """Create or upgrade the database behind ``engine`` to :data:`HEAD_REVISION`.

    Raises:
        DagwrightStorageError: the database cannot be reached, is at a revision this
            version does not know, or holds foreign tables in the way.
    """
    try:
        if read_revision(engine) != HEAD_REVISION:
            _migrate_locked(engine)
    except DBAPIError as exc:
        raise Database(engine).error(exc, "cannot open the database") from exc


def read_revision(engine: Engine) -> str | None:
    """The revision the database is stamped with, or None (no table, or no row).

    Raises:
        DBAPIError: the database cannot be reached.
    """
    with engine.connect() as conn:
        try:
            return conn.execute(select(alembic_version.c.version_num)).scalar()
        except DBAPIError as exc:
            if _is_missing_table(exc):
                return None
            raise


def _is_missing_table(exc: DBAPIError) -> bool:
    message = str(exc.orig).lower()
    return "no such table" in message or "does not exist" in message


_ddl_cache: dict[str, tuple[str, ...]] = {}


def _schema_ddl(dialect: Dialect) -> tuple[str, ...]:
    """CREATE statements for every table and index plus the stamp, compiled once per dialect."""
    statements = _ddl_cache.get(dialect.name)
    if statements is None:
        statements = _ddl_cache[dialect.name] = _compile_ddl(dialect)
    return statements


def _compile_ddl(dialect: Dialect) -> tuple[str, ...]:
    statements: list[str] = []
    for meta in (metadata, alembic_metadata):
        for table in meta.sorted_tables:
            statements.append(str(CreateTable(table).compile(dialect=dialect)).strip())
            statements.extend(
                str(CreateIndex(index).compile(dialect=dialect)).strip()
                for index in sorted(table.indexes, key=lambda ix: str(ix.name))
            )
    stamp = f"INSERT INTO alembic_version (version_num) VALUES ('{HEAD_REVISION}')"
    return (*statements, stamp)


_memory_image: list[bytes] = []


def create_in_memory(driver: Any) -> None:
    """Load the schema into a fresh in-memory SQLite database (a ``sqlite3`` connection).

    The first call per process builds an empty database from the DDL and keeps its
    serialised image; later calls load that image with ``deserialize`` (~30 µs instead of
    ~800 µs of DDL parsing). Python builds without ``deserialize`` run the DDL each time.
    """
    dialect = sqlite_dialect()
    if hasattr(driver, "deserialize"):
        driver.deserialize(_empty_image(dialect))
    else:  # pragma: no cover - Python 3.10
        driver.executescript(_memory_script(dialect))


def _memory_script(dialect: Dialect) -> str:
    return "BEGIN;\n" + ";\n".join(_schema_ddl(dialect)) + ";\nCOMMIT;"


def _empty_image(dialect: Dialect) -> bytes:
    if not _memory_image:
        with closing(sqlite3.connect(":memory:", isolation_level=None)) as conn:
            conn.executescript(_memory_script(dialect))
            _memory_image.append(conn.serialize())  # type: ignore[attr-defined,unused-ignore]
    return _memory_image[0]


def _migrate_locked(engine: Engine) -> None:
    writer = engine.execution_options(dagwright_write=True)
    with writer.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        has_version = conn.dialect.has_table(conn, "alembic_version")
        revision = (
            conn.execute(select(alembic_version.c.version_num)).scalar() if has_version else None
        )
        if revision == HEAD_REVISION:
            return
        if not has_version:
            _create_fresh(conn)
        else:
            _upgrade(conn, revision)


def _create_fresh(conn: Connection) -> None:
    if conn.dialect.has_table(conn, "runs"):
        raise DagwrightStorageError(
            f"{_where(conn)} has a 'runs' table but no alembic_version: "
            "it was not made by dagwright"
        )
    for statement in _schema_ddl(conn.dialect):
        conn.exec_driver_sql(statement)


def _upgrade(conn: Connection, revision: str | None) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    config = alembic_config(conn)
    if revision is not None:
        try:
            ScriptDirectory.from_config(config).get_revision(revision)
        except CommandError as exc:
            raise DagwrightStorageError(
                f"{_where(conn)} is at schema revision {revision!r}, which "
                f"this version of dagwright does not know (its newest is {HEAD_REVISION!r}); "
                "upgrade dagwright"
            ) from exc
    command.upgrade(config, "head")


def _where(conn: Connection) -> str:
    return DriverUrl.parse(conn.engine.url.render_as_string(hide_password=False)).describe()


def alembic_config(conn: Connection) -> Config:
    """An Alembic ``Config`` for our migrations that runs on ``conn`` (imports Alembic)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = conn
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the Alembic migrations up to ``revision`` (imports Alembic).

    Used by tests and tools; :func:`ensure_schema` is what storage calls.
    """
    from alembic import command

    with engine.execution_options(dagwright_write=True).begin() as conn:
        command.upgrade(alembic_config(conn), revision)
