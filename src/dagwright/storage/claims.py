"""The limit check of a claim: count the runs in progress inside the claim's transaction.

:meth:`~dagwright.storage.events.EventStorage.store_event` calls :func:`check_claim` when
a run goes from ``QUEUED`` to ``STARTING`` with limits given, after it has ticked the run
clock. That is what makes the count exact: on SQLite the transaction holds the database's
write lock (``BEGIN IMMEDIATE``); on PostgreSQL every transaction that changes a run's
status holds the clock's row lock to its commit, so once a claim holds it no other status
change is in flight, and its next statement (``READ COMMITTED``: a new snapshot) sees
every one that committed. Two claims are therefore never both counted against one free
slot.

Both counts are index lookups: runs by status (``ix_runs_status_id``), then each such
run's tags by ``(run_sid, key)``.
"""

from __future__ import annotations

from typing import Any

from dagwright.runs.claims import ClaimLimits, ClaimRefusedError
from dagwright.runs.models import IN_PROGRESS_STATUSES, Run
from dagwright.storage.driver import DriverDatabase

_STATUSES = sorted(status.value for status in IN_PROGRESS_STATUSES)


def check_claim(cursor: Any, db: DriverDatabase, run: Run, limits: ClaimLimits) -> None:
    """Refuse to start ``run`` if the cap or a tag limit it counts in is full in storage.

    Raises:
        ClaimRefusedError: a limit is full (nothing has been written yet).
    """
    marks, params = db.in_list("s", _STATUSES)
    cursor.execute(f"SELECT count(*) FROM runs WHERE status IN ({marks})", params)
    in_progress = int(cursor.fetchone()[0])
    tag_use: dict[tuple[str, str], int] = {}
    keys = limits.keys_of(run.tags)
    if keys:
        key_marks, key_params = db.in_list("k", keys)
        cursor.execute(
            'SELECT t."key", t.value, count(*) FROM runs r JOIN run_tags t ON t.run_sid = r.id'
            f' WHERE r.status IN ({marks}) AND t."key" IN ({key_marks})'
            ' GROUP BY t."key", t.value',
            {**params, **key_params},
        )
        tag_use = {(key, value): int(n) for key, value, n in cursor.fetchall()}
    reasons = limits.refusals(run.tags, in_progress, tag_use)
    if reasons:
        raise ClaimRefusedError(run.run_id, reasons)
