"""Saved runs views in one SQL database (the ``run_views`` table)."""

from __future__ import annotations

import json

from sqlalchemy import delete, insert, select, update

from dagwright.errors import DagwrightNotFoundError
from dagwright.runs.views import RunView
from dagwright.storage.engine import Database
from dagwright.storage.schema import run_views


class ViewStorage:
    """Saved views: saved by name (saving a name again replaces it), listed by name."""

    def __init__(self, database: Database) -> None:
        """Use ``database``, whose schema is current."""
        self._db = database

    def save_view(self, view: RunView) -> RunView:
        """Store ``view``, replacing a view of the same name (which keeps its creation
        time).

        Returns:
            The view as stored.
        """
        values = {"q": view.q, "columns": json.dumps(list(view.columns))}
        with self._db.write() as conn:
            found = conn.execute(
                select(run_views.c.created_at).where(run_views.c.name == view.name)
            ).scalar()
            if found is None:
                row = {**values, "name": view.name, "created_at": view.created_at}
                conn.execute(insert(run_views), {**row, "updated_at": view.updated_at})
                return view
            statement = update(run_views).where(run_views.c.name == view.name)
            conn.execute(statement.values(**values, updated_at=view.updated_at))
        return RunView(view.name, view.q, view.columns, float(found), view.updated_at)

    def get_view(self, name: str) -> RunView | None:
        """The view of this name, or None."""
        with self._db.read() as conn:
            row = conn.execute(select(run_views).where(run_views.c.name == name)).first()
        return None if row is None else _view(row)

    def get_views(self) -> list[RunView]:
        """Every view, by name."""
        with self._db.read() as conn:
            rows = conn.execute(select(run_views).order_by(run_views.c.name)).all()
        return [_view(row) for row in rows]

    def delete_view(self, name: str) -> None:
        """Delete a view.

        Raises:
            DagwrightNotFoundError: no view has this name.
        """
        with self._db.write() as conn:
            gone = conn.execute(delete(run_views).where(run_views.c.name == name)).rowcount
        if not gone:
            raise DagwrightNotFoundError("view", name)


def _view(row: object) -> RunView:
    mapping = row._mapping  # type: ignore[attr-defined]
    return RunView(
        mapping["name"],
        mapping["q"],
        tuple(json.loads(mapping["columns"])),
        float(mapping["created_at"]),
        float(mapping["updated_at"]),
    )
