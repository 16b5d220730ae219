"""Run workers (the process executing each launched run, and its heartbeat) and daemon
heartbeats."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from dagwright.errors import DagwrightRunNotFoundError
from dagwright.runs.models import WorkerInfo
from dagwright.storage.driver import DriverDatabase, chunked

_REGISTER_SQL: Final = (
    "INSERT INTO run_workers (run_id, pid, host, started_at, heartbeat_at)"
    " VALUES ({run_id}, {pid}, {host}, {now}, {now})"
    " ON CONFLICT (run_id) DO UPDATE SET pid = {pid}, host = {host}, started_at = {now},"
    " heartbeat_at = {now}"
)
#: Record a worker (no pid yet) for a run; a claim older than ``stale_before`` whose
#: claimant never recorded a pid (it died before starting the worker) is taken over.
_CLAIM_SQL: Final = (
    "INSERT INTO run_workers (run_id, pid, host, started_at, heartbeat_at)"
    " VALUES ({run_id}, NULL, {host}, {now}, {now}) ON CONFLICT (run_id) DO UPDATE"
    " SET host = {host}, started_at = {now}, heartbeat_at = {now}"
    " WHERE run_workers.pid IS NULL AND run_workers.heartbeat_at < {stale_before}"
)
_BEAT_SQL: Final = "UPDATE run_workers SET heartbeat_at = {now} WHERE run_id = {run_id}"
_TOUCH_SQL: Final = "UPDATE run_workers SET heartbeat_at = heartbeat_at WHERE run_id = {run_id}"
_WORKER_COLUMNS: Final = "run_id, pid, host, started_at, heartbeat_at"
_SELECT_WORKER_SQL: Final = f"SELECT {_WORKER_COLUMNS} FROM run_workers WHERE run_id = {{run_id}}"
_HEARTBEAT_COLUMNS: Final = "name, daemon_id, heartbeat_at, host, pid, interval_seconds, stopped_at"
_SELECT_HEARTBEATS_SQL: Final = (
    f"SELECT {_HEARTBEAT_COLUMNS} FROM daemon_heartbeats ORDER BY name, heartbeat_at DESC"
)
_DAEMON_BEAT_SQL: Final = (
    "INSERT INTO daemon_heartbeats"
    " (name, daemon_id, host, pid, interval_seconds, heartbeat_at, stopped_at)"
    " VALUES ({name}, {daemon_id}, {host}, {pid}, {interval}, {now}, NULL)"
    " ON CONFLICT (name, daemon_id) DO UPDATE SET host = {host}, pid = {pid},"
    " interval_seconds = {interval}, heartbeat_at = {now}, stopped_at = NULL"
)
_DAEMON_STOPPED_SQL: Final = (
    "UPDATE daemon_heartbeats SET stopped_at = {now} WHERE daemon_id = {daemon_id}"
)
_FORGET_DAEMONS_SQL: Final = "DELETE FROM daemon_heartbeats WHERE heartbeat_at < {before}"


@dataclass(frozen=True)
class DaemonHeartbeat:
    """The latest pass of one loop of one daemon.

    Attributes:
        name: the loop (``run_queue``, ``backfills`` …).
        daemon_id: the daemon process, ``host:pid``.
        heartbeat_at: when its latest pass ended (seconds since the epoch, UTC).
        host: the daemon's host, if recorded.
        pid: the daemon's process id, if recorded.
        interval_seconds: how often the loop passes, if recorded.
        stopped_at: when the daemon stopped cleanly (None: it has not).
    """

    name: str
    daemon_id: str
    heartbeat_at: float
    host: str | None = None
    pid: int | None = None
    interval_seconds: float | None = None
    stopped_at: float | None = None


class WorkerStorage:
    """Run workers and daemon heartbeats in one SQL database."""

    def __init__(self, database: DriverDatabase) -> None:
        """Use ``database``, whose schema is current."""
        self._db = database

    def register(self, run_id: str, *, pid: int | None, host: str, now: float) -> None:
        """Record (or replace) the process executing a run.

        Raises:
            DagwrightRunNotFoundError: no such run.
        """
        self._write_for_run(_REGISTER_SQL, {"run_id": run_id, "pid": pid, "host": host, "now": now})

    def claim(
        self, run_id: str, *, host: str, now: float, stale_before: float | None = None
    ) -> bool:
        """Record a worker (pid not known yet) for a run that has none; whether this call
        did (false when a worker is already recorded). With ``stale_before``, a claim made
        before then that never got a pid (its claimant died before starting the worker)
        is taken over. Two callers never both succeed.

        Raises:
            DagwrightRunNotFoundError: no such run.
        """
        before = float("-inf") if stale_before is None else stale_before
        params = {"run_id": run_id, "host": host, "now": now, "stale_before": before}
        return self._write_for_run(_CLAIM_SQL, params) == 1

    def _write_for_run(self, sql: str, params: dict[str, object]) -> int:
        """Run one statement on ``run_workers``; how many rows it wrote. The foreign key to
        ``runs`` turns an unknown run into :class:`DagwrightRunNotFoundError`."""
        db = self._db
        with db.driver_write() as cursor:
            try:
                cursor.execute(db.driver_sql(sql), params)
            except db.dbapi.IntegrityError as exc:
                raise DagwrightRunNotFoundError(str(params["run_id"])) from exc
            return int(cursor.rowcount)

    def beat(self, run_id: str, now: float) -> None:
        """Record that a run's worker is alive at ``now`` (not waiting for the disk: a
        heartbeat lost in an OS crash is as good as the next one)."""
        with self._db.driver_write(durable=False) as cursor:
            cursor.execute(self._db.driver_sql(_BEAT_SQL), {"run_id": run_id, "now": now})

    def touch(self, run_id: str) -> WorkerInfo | None:
        """Write a run's worker row without changing it, and read it back: the write waits
        on the locks the worker's heartbeats wait on (the run monitor's probe)."""
        db = self._db
        with db.driver_write() as cursor:
            cursor.execute(db.driver_sql(_TOUCH_SQL), {"run_id": run_id})
            cursor.execute(db.driver_sql(_SELECT_WORKER_SQL), {"run_id": run_id})
            row = cursor.fetchone()
        return WorkerInfo(*row) if row is not None else None

    def get(self, run_id: str) -> WorkerInfo | None:
        """The worker of a run, if one was registered."""
        with self._db.driver_read() as cursor:
            cursor.execute(self._db.driver_sql(_SELECT_WORKER_SQL), {"run_id": run_id})
            row = cursor.fetchone()
        return WorkerInfo(*row) if row is not None else None

    def get_many(self, run_ids: Sequence[str]) -> dict[str, WorkerInfo]:
        """The registered workers of these runs, by run id."""
        if not run_ids:
            return {}
        found: dict[str, WorkerInfo] = {}
        with self._db.driver_read() as cursor:
            for chunk in chunked(run_ids):
                marks, params = self._db.in_list("r", chunk)
                sql = f"SELECT {_WORKER_COLUMNS} FROM run_workers WHERE run_id IN ({marks})"
                cursor.execute(sql, params)
                found.update((row[0], WorkerInfo(*row)) for row in cursor.fetchall())
        return found

    def beat_daemon(
        self,
        name: str,
        daemon_id: str,
        now: float,
        *,
        host: str | None = None,
        pid: int | None = None,
        interval_seconds: float | None = None,
    ) -> None:
        """Record a pass of the loop ``name`` of the daemon ``daemon_id``."""
        params = {
            "name": name,
            "daemon_id": daemon_id,
            "host": host,
            "pid": pid,
            "interval": interval_seconds,
            "now": now,
        }
        with self._db.driver_write(durable=False) as cursor:  # a missed beat is redone
            cursor.execute(self._db.driver_sql(_DAEMON_BEAT_SQL), params)

    def stop_daemon(self, daemon_id: str, now: float) -> None:
        """Record that the daemon ``daemon_id`` stopped cleanly (its loops no longer run)."""
        with self._db.driver_write() as cursor:
            params = {"daemon_id": daemon_id, "now": now}
            cursor.execute(self._db.driver_sql(_DAEMON_STOPPED_SQL), params)

    def forget_daemons(self, before: float) -> None:
        """Drop the heartbeats of loops that last passed before ``before``."""
        with self._db.driver_write() as cursor:
            cursor.execute(self._db.driver_sql(_FORGET_DAEMONS_SQL), {"before": before})

    def daemon_heartbeats(self) -> list[DaemonHeartbeat]:
        """The latest heartbeat of every loop of every daemon, by loop name, newest first."""
        with self._db.driver_read() as cursor:
            cursor.execute(_SELECT_HEARTBEATS_SQL)
            return [DaemonHeartbeat(*row) for row in cursor.fetchall()]
