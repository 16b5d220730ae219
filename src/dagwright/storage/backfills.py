"""Backfill storage: the ``backfills`` row with its JSON body, and counts of a backfill's
runs by status (an index walk on its ``dagwright/backfill`` tag)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import func, insert, select, update

from dagwright.errors import DagwrightNotFoundError
from dagwright.runs.backfills import Backfill, BackfillProgress, BackfillStatus
from dagwright.runs.models import RunStatus
from dagwright.storage.engine import Database
from dagwright.storage.schema import backfills, run_tags, runs
from dagwright.storage.serde import BODY_VERSION, dumps, loads
from dagwright.storage.tag_index import index_form
from dagwright.tags import BACKFILL_TAG


class BackfillStorage:
    """Backfills in one SQL database."""

    def __init__(self, database: Database) -> None:
        """Use ``database``, whose schema is current."""
        self._db = database

    def add_backfill(self, backfill: Backfill) -> None:
        """Store a new backfill."""
        row = {
            "backfill_id": backfill.backfill_id,
            "job_name": backfill.job_name,
            "status": backfill.status.value,
            "created_at": backfill.created_at,
            "body": _body(backfill),
        }
        with self._db.write() as conn:
            conn.execute(insert(backfills), row)

    def update_backfill(
        self, backfill: Backfill, *, only_from: BackfillStatus | None = None
    ) -> bool:
        """Store a backfill's new status, progress or error; with ``only_from``, only if
        the stored backfill is still in that status (so a daemon's write never undoes a
        cancel that landed meanwhile). Returns whether it was stored."""
        values = {"status": backfill.status.value, "body": _body(backfill)}
        query = update(backfills).where(backfills.c.backfill_id == backfill.backfill_id)
        if only_from is not None:
            query = query.where(backfills.c.status == only_from.value)
        with self._db.write() as conn:
            return conn.execute(query.values(values)).rowcount == 1

    def get_backfill(self, backfill_id: str) -> Backfill | None:
        """The backfill with this id, or None."""
        with self._db.read() as conn:
            body = conn.execute(
                select(backfills.c.body).where(backfills.c.backfill_id == backfill_id)
            ).scalar()
        return None if body is None else _backfill(body)

    def get_backfills(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        status: BackfillStatus | None = None,
    ) -> list[Backfill]:
        """Backfills, newest first.

        Args:
            limit: at most this many.
            cursor: the ``backfill_id`` of the last backfill of the previous page.
            status: only backfills in this status.

        Raises:
            DagwrightNotFoundError: the cursor names no backfill.
        """
        query = select(backfills.c.body)
        if status is not None:
            query = query.where(backfills.c.status == status.value)
        with self._db.read() as conn:
            if cursor is not None:
                sid = conn.execute(
                    select(backfills.c.id).where(backfills.c.backfill_id == cursor)
                ).scalar()
                if sid is None:
                    raise DagwrightNotFoundError("backfill", cursor)
                query = query.where(backfills.c.id < sid)
            bodies = conn.execute(query.order_by(backfills.c.id.desc()).limit(limit)).scalars()
            return [_backfill(body) for body in bodies]

    def count_runs_by_status(self, backfill_id: str) -> dict[RunStatus, int]:
        """How many runs of the backfill are in each status."""
        return self.count_runs_by_status_many([backfill_id])[backfill_id]

    def count_runs_by_status_many(
        self, backfill_ids: Sequence[str]
    ) -> dict[str, dict[RunStatus, int]]:
        """:meth:`count_runs_by_status` of several backfills, in one query."""
        forms = {index_form(backfill_id): backfill_id for backfill_id in backfill_ids}
        counts: dict[str, dict[RunStatus, int]] = {backfill_id: {} for backfill_id in backfill_ids}
        if not forms:
            return counts
        query = (
            select(run_tags.c.value_idx, runs.c.status, func.count())
            .select_from(run_tags.join(runs, runs.c.id == run_tags.c.run_sid))
            .where(run_tags.c.key == BACKFILL_TAG, run_tags.c.value_idx.in_(list(forms)))
            .group_by(run_tags.c.value_idx, runs.c.status)
        )
        with self._db.read() as conn:
            for form, status, n in conn.execute(query):
                counts[forms[form]][RunStatus(status)] = int(n)
        return counts

    def with_progress(self, found: Sequence[Backfill]) -> list[Backfill]:
        """The backfills with their ``progress`` counted from their runs (one query)."""
        counts = self.count_runs_by_status_many([backfill.backfill_id for backfill in found])
        return [
            replace(
                backfill,
                progress=BackfillProgress.count(
                    len(backfill.partition_keys), counts[backfill.backfill_id]
                ),
            )
            for backfill in found
        ]


def _body(backfill: Backfill) -> str:
    data = backfill.to_json()
    del data["progress"]
    data["v"] = BODY_VERSION
    return dumps(data)


def _backfill(body: str) -> Backfill:
    return Backfill.from_json(loads(body))
