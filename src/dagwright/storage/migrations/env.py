"""Alembic environment for dagwright's schema.

dagwright runs migrations programmatically and hands over an open connection in
``config.attributes["connection"]`` (see :mod:`dagwright.storage.migrations`). For
developers generating a new revision with the ``alembic`` command line, pass the database
with ``-x url=sqlite:///path/to/dagwright.db``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from dagwright.storage.engine import create_engine_for
from dagwright.storage.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("pass the database with: alembic -x url=sqlite:///PATH ...")
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


_main()
