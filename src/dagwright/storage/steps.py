"""Distributed steps in storage, on the driver: step claims and step outputs.

:class:`StepClaimStorage` makes sure a step of a run executes at most once at a time:
the worker about to execute it inserts a claim row (run id, step key, worker, host, pid,
attempt) or, when the claim there belongs to a worker that is gone, takes it over with
an update conditional on the attempt it read. Both are single statements, so two
workers never both win. :class:`DatabaseOutputStore` keeps pickled step outputs in the
run database (``outputs: {database: {max_bytes: ...}}``).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import Any, Final

from dagwright.definitions.composition import NodeOutput
from dagwright.errors import DagwrightExecutionError, DagwrightRunNotFoundError
from dagwright.execution.outputs import PICKLE_PROTOCOL, missing_output_error
from dagwright.storage.driver import DriverDatabase

_CLAIM_COLUMNS: Final = "worker, host, pid, attempt, claimed_at, heartbeat_at"
_INSERT_CLAIM_SQL: Final = (
    f"INSERT INTO step_claims (run_id, step_key, {_CLAIM_COLUMNS})"
    " VALUES ({run_id}, {step_key}, {worker}, {host}, {pid}, 1, {now}, {now})"
    " ON CONFLICT (run_id, step_key) DO NOTHING"
)
_TAKE_OVER_SQL: Final = (
    "UPDATE step_claims SET worker = {worker}, host = {host}, pid = {pid},"
    " attempt = attempt + 1, claimed_at = {now}, heartbeat_at = {now}"
    " WHERE run_id = {run_id} AND step_key = {step_key} AND attempt = {attempt}"
)
_SELECT_CLAIM_SQL: Final = (
    f"SELECT {_CLAIM_COLUMNS} FROM step_claims"
    " WHERE run_id = {run_id} AND step_key = {step_key}"
)
_BEAT_CLAIM_SQL: Final = (
    "UPDATE step_claims SET heartbeat_at = {now}"
    " WHERE run_id = {run_id} AND step_key = {step_key} AND attempt = {attempt}"
)


@dataclass(frozen=True)
class StepClaim:
    """Who executes (or last executed) a step.

    Attributes:
        worker: the Celery worker's name (``name@host``).
        host: the host name of the process.
        pid: the process executing the step.
        attempt: 1 for the first claim, then one more for each take-over.
        claimed_at: when this attempt was claimed (epoch seconds).
        heartbeat_at: the claimant's latest sign of life.
    """

    worker: str
    host: str
    pid: int
    attempt: int
    claimed_at: float
    heartbeat_at: float

    def describe(self) -> str:
        """The claimant, fit for messages: ``worker (host, pid N)``."""
        return f"worker {self.worker} (host {self.host}, pid {self.pid})"


class StepStorage:
    """Step claims, and which steps of a run ended, in one SQL database."""

    def __init__(self, database: DriverDatabase) -> None:
        """Use ``database``, whose schema is current."""
        self._db = database

    def _write(self, sql: str, params: dict[str, Any]) -> int:
        db = self._db
        with db.driver_write() as cursor:
            try:
                cursor.execute(db.driver_sql(sql), params)
            except db.dbapi.IntegrityError as exc:
                raise DagwrightRunNotFoundError(str(params["run_id"])) from exc
            return int(cursor.rowcount)

    def claim(
        self, run_id: str, step_key: str, *, worker: str, host: str, pid: int, now: float
    ) -> bool:
        """Claim a step nobody has claimed; whether this call did.

        Raises:
            DagwrightRunNotFoundError: no such run.
        """
        params: dict[str, Any] = {"run_id": run_id, "step_key": step_key, "worker": worker}
        params.update(host=host, pid=pid, now=now)
        return self._write(_INSERT_CLAIM_SQL, params) == 1

    def take_over(
        self,
        run_id: str,
        step_key: str,
        seen: StepClaim,
        *,
        worker: str,
        host: str,
        pid: int,
        now: float,
    ) -> bool:
        """Replace the claim ``seen`` (its claimant is gone) with this worker's; whether this
        call did (false when another worker took it over first)."""
        params: dict[str, Any] = {"run_id": run_id, "step_key": step_key, "worker": worker}
        params.update(host=host, pid=pid, now=now, attempt=seen.attempt)
        return self._write(_TAKE_OVER_SQL, params) == 1

    def get(self, run_id: str, step_key: str) -> StepClaim | None:
        """The step's claim, if any."""
        with self._db.driver_read() as cursor:
            params = {"run_id": run_id, "step_key": step_key}
            cursor.execute(self._db.driver_sql(_SELECT_CLAIM_SQL), params)
            row = cursor.fetchone()
        return None if row is None else StepClaim(*row)

    def claims(self, run_id: str) -> dict[str, StepClaim]:
        """The claims of a run's steps, by step key."""
        sql = self._db.driver_sql(
            f"SELECT step_key, {_CLAIM_COLUMNS} FROM step_claims WHERE run_id = {{run_id}}"
        )
        with self._db.driver_read() as cursor:
            cursor.execute(sql, {"run_id": run_id})
            return {row[0]: StepClaim(*row[1:]) for row in cursor.fetchall()}

    def beat(self, run_id: str, step_key: str, attempt: int, now: float) -> bool:
        """Record that the claimant of ``attempt`` is alive; false if it lost the claim."""
        params = {"run_id": run_id, "step_key": step_key, "attempt": attempt, "now": now}
        return self._write(_BEAT_CLAIM_SQL, params) == 1

    def ended_steps(self, run_id: str) -> dict[str, str]:
        """The steps of a run that ended: step key -> ``STEP_SUCCESS`` or ``STEP_FAILURE``
        (the latest, when a step has ended more than once)."""
        sql = self._db.driver_sql(_ENDED_STEPS_SQL)
        with self._db.driver_read() as cursor:
            cursor.execute(sql, {"run_id": run_id})
            return {step_key: event_type for step_key, event_type in cursor.fetchall()}


_ENDED_STEPS_SQL: Final = (
    "SELECT step_key, event_type FROM events WHERE run_id = {run_id}"
    " AND event_type IN ('STEP_SUCCESS', 'STEP_FAILURE') ORDER BY id"
)

_PUT_OUTPUT_SQL: Final = (
    "INSERT INTO step_outputs (run_id, node, output, size, value)"
    " VALUES ({run_id}, {node}, {output}, {size}, {value})"
    " ON CONFLICT (run_id, node, output) DO UPDATE SET size = {size}, value = {value}"
)
_OUTPUT_WHERE: Final = " WHERE run_id = {run_id} AND node = {node} AND output = {output}"


def _describe(output: NodeOutput) -> str:
    return f"output {output.output!r} of op {output.node!r}"


class DatabaseOutputStore:
    """Step outputs pickled into the ``step_outputs`` table (an :class:`OutputStore`).

    Args:
        database: the run database.
        max_bytes: the largest pickled value stored; a larger one is refused.
    """

    def __init__(self, database: DriverDatabase, max_bytes: int) -> None:
        self._db = database
        self.max_bytes = max_bytes

    def _key(self, run_id: str, output: NodeOutput) -> dict[str, Any]:
        return {"run_id": run_id, "node": output.node, "output": output.output}

    def put(self, run_id: str, output: NodeOutput, value: Any) -> None:
        """Pickle ``value`` into the run database.

        Raises:
            DagwrightExecutionError: it cannot be pickled, its pickle is larger than
                ``max_bytes`` (naming op, output and size), or the run does not exist.
        """
        try:
            data = pickle.dumps(value, protocol=PICKLE_PROTOCOL)
        except Exception as exc:  # pickling runs user code (__reduce__ ...): any error
            raise DagwrightExecutionError(
                run_id, f"cannot store {_describe(output)}: {type(exc).__name__}: {exc}"
            ) from exc
        if len(data) > self.max_bytes:
            raise DagwrightExecutionError(
                run_id,
                f"cannot store {_describe(output)}: it is {len(data)} bytes pickled, more"
                f" than outputs.database.max_bytes ({self.max_bytes})",
            )
        db = self._db
        params = {**self._key(run_id, output), "size": len(data), "value": data}
        with db.driver_write() as cursor:
            try:
                cursor.execute(db.driver_sql(_PUT_OUTPUT_SQL), params)
            except db.dbapi.IntegrityError as exc:
                raise DagwrightExecutionError(
                    run_id, f"cannot store {_describe(output)}: run {run_id!r} not found"
                ) from exc

    def _read(self, run_id: str, output: NodeOutput) -> bytes | None:
        sql = self._db.driver_sql("SELECT value FROM step_outputs" + _OUTPUT_WHERE)
        with self._db.driver_read() as cursor:
            cursor.execute(sql, self._key(run_id, output))
            row = cursor.fetchone()
        return None if row is None else bytes(row[0])

    def get(self, run_id: str, output: NodeOutput) -> Any:
        """Unpickle the stored value.

        Raises:
            DagwrightExecutionError: nothing is stored for it, or it cannot be unpickled.
        """
        data = self._read(run_id, output)
        if data is None:
            raise missing_output_error(run_id, output)
        try:
            return pickle.loads(data)
        except Exception as exc:
            raise DagwrightExecutionError(
                run_id, f"cannot load {_describe(output)}: {type(exc).__name__}: {exc}"
            ) from exc

    def has(self, run_id: str, output: NodeOutput) -> bool:
        """Whether a value is stored."""
        sql = self._db.driver_sql("SELECT 1 FROM step_outputs" + _OUTPUT_WHERE)
        with self._db.driver_read() as cursor:
            cursor.execute(sql, self._key(run_id, output))
            return cursor.fetchone() is not None

    def delete_run(self, run_id: str) -> None:
        """Forget every output of the run."""
        sql = self._db.driver_sql("DELETE FROM step_outputs WHERE run_id = {run_id}")
        with self._db.driver_write() as cursor:
            cursor.execute(sql, {"run_id": run_id})
