"""Bulk actions in one SQL database: ``bulk_actions`` and their ``bulk_results``.

Starting one stores the ids of the runs its query matches as ``pending`` results with one
``INSERT … SELECT`` (the set is fixed then; no run is loaded into Python); the runner then
reads them in chunks by result id and records each outcome.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Select, bindparam, func, insert, literal, select, update

from dagwright.errors import DagwrightNotFoundError
from dagwright.runs.bulk import Bulk, BulkAction, BulkResult, BulkStatus
from dagwright.storage.engine import Database
from dagwright.storage.schema import bulk_actions, bulk_results

#: The outcome of a run not acted on yet.
PENDING = "pending"


class BulkStorage:
    """Bulk actions and their per-run results."""

    def __init__(self, database: Database) -> None:
        """Use ``database``, whose schema is current."""
        self._db = database

    def start(self, bulk: Bulk, run_ids: Select[Any]) -> Bulk:
        """Store ``bulk`` with the runs ``run_ids`` selects (one ``run_id`` column, in the
        order to act on them) as its pending results, in one transaction.

        Returns:
            The bulk action with its ``count``.
        """
        body = json.dumps({"q": bulk.q, "params": dict(bulk.params)})
        row = {
            "bulk_id": bulk.bulk_id,
            "action": bulk.action.value,
            "status": BulkStatus.RUNNING.value,
            "count": 0,
            "created_at": bulk.created_at,
            "body": body,
        }
        with self._db.write() as conn:
            sid = conn.execute(insert(bulk_actions).returning(bulk_actions.c.id), row).scalar_one()
            ids = run_ids.subquery()
            chosen = select(literal(sid), ids.c.run_id, literal(PENDING))
            columns = ["bulk_sid", "run_id", "outcome"]
            conn.execute(insert(bulk_results).from_select(columns, chosen))
            count = conn.execute(
                select(func.count()).where(bulk_results.c.bulk_sid == sid)
            ).scalar_one()
            conn.execute(update(bulk_actions).where(bulk_actions.c.id == sid).values(count=count))
        return replace(bulk, count=int(count))

    def pending(self, bulk_id: str, *, after: int = 0, limit: int = 500) -> list[tuple[int, str]]:
        """The next ``(result id, run id)`` pairs still pending, after the result ``after``."""
        query = (
            select(bulk_results.c.id, bulk_results.c.run_id)
            .where(
                bulk_results.c.bulk_sid == _sid(bulk_id),
                bulk_results.c.outcome == PENDING,
                bulk_results.c.id > after,
            )
            .order_by(bulk_results.c.id)
            .limit(limit)
        )
        with self._db.read() as conn:
            return [(int(i), str(r)) for i, r in conn.execute(query)]

    def record(self, outcomes: Sequence[tuple[int, str, str | None]]) -> None:
        """Store the outcome (and reason) of each ``(result id, outcome, reason)``."""
        if not outcomes:
            return
        statement = (
            update(bulk_results)
            .where(bulk_results.c.id == _param("rid"))
            .values(outcome=_param("o"), reason=_param("why"))
        )
        rows = [{"rid": rid, "o": outcome, "why": why} for rid, outcome, why in outcomes]
        with self._db.write() as conn:
            conn.execute(statement, rows)

    def finish(self, bulk_id: str) -> None:
        """Mark the bulk action DONE."""
        statement = update(bulk_actions).where(bulk_actions.c.bulk_id == bulk_id)
        with self._db.write() as conn:
            conn.execute(statement.values(status=BulkStatus.DONE.value))

    def get(self, bulk_id: str, *, with_results: bool = True) -> Bulk:
        """The bulk action with its counts (and every run's result, in order).

        Raises:
            DagwrightNotFoundError: no bulk action has this id.
        """
        with self._db.read() as conn:
            row = conn.execute(
                select(bulk_actions).where(bulk_actions.c.bulk_id == bulk_id)
            ).first()
            if row is None:
                raise DagwrightNotFoundError("bulk action", bulk_id)
            sid = row._mapping["id"]
            by_outcome = (
                select(bulk_results.c.outcome, func.count())
                .where(bulk_results.c.bulk_sid == sid)
                .group_by(bulk_results.c.outcome)
            )
            counts = {str(o): int(n) for o, n in conn.execute(by_outcome)}
            results: tuple[BulkResult, ...] = ()
            if with_results:
                query = (
                    select(bulk_results.c.run_id, bulk_results.c.outcome, bulk_results.c.reason)
                    .where(bulk_results.c.bulk_sid == sid)
                    .order_by(bulk_results.c.id)
                )
                results = tuple(BulkResult(*r) for r in conn.execute(query))
        return _bulk(row._mapping, counts, results)


def _sid(bulk_id: str) -> Any:
    return select(bulk_actions.c.id).where(bulk_actions.c.bulk_id == bulk_id).scalar_subquery()


def _param(name: str) -> Any:
    return bindparam(name)


def _bulk(row: Any, counts: dict[str, int], results: tuple[BulkResult, ...]) -> Bulk:
    body = json.loads(row["body"])
    return Bulk(
        bulk_id=row["bulk_id"],
        action=BulkAction(row["action"]),
        q=body["q"],
        params=body["params"],
        status=BulkStatus(row["status"]),
        count=int(row["count"]),
        created_at=float(row["created_at"]),
        done=int(counts.get("done", 0)),
        refused=int(counts.get("refused", 0)),
        results=results,
    )
