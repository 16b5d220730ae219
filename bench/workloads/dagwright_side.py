"""dagwright's side: the benchmark primitives through dagwright's API (DESIGN.md §2, §4).

Everything the benchmark needs from dagwright is in this file; if an internal name
changes (``instance.storage.runs.add_run`` / ``add_runs``), fix it here only.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import yaml

from dagwright import Instance, job, op
from dagwright.runs.models import CodePointer, Run, RunsFilter, RunStatus

__all__ = [
    "BACKFILL_TAG",
    "HOME_ENV",
    "PARTITION_TAG",
    "PRIORITY_TAG",
    "add_run",
    "add_runs",
    "cli_launch_argv",
    "count_runs",
    "daemon_argv",
    "execute",
    "instance_at",
    "job",
    "new_run",
    "op",
    "persistent_instance",
    "query_runs",
    "queue_decision_pass",
    "queue_explanation",
    "run_fields",
    "run_status",
    "submitter",
    "write_settings",
    "write_postgres_settings",
    "copy_runs",
]

#: The system tag that names a run's partition.
PARTITION_TAG = "dagwright/partition"
#: The tag that orders the run queue (higher first).
PRIORITY_TAG = "dagwright/priority"
#: The system tag of a backfill's runs (a per-unique-value limit is usual on it).
BACKFILL_TAG = "dagwright/backfill"
#: The environment variable naming the instance home.
HOME_ENV = "DAGWRIGHT_HOME"


def persistent_instance(home: str) -> Instance:
    """A SQLite-backed instance whose home is ``home``."""
    return Instance.from_home(home)


def execute(job_def: Any, instance: Instance | None = None) -> None:
    """Run ``job_def`` in this process; no instance means the ephemeral in-memory one."""
    result = job_def.execute_in_process(instance=instance)
    assert result.success


def new_run(
    run_id: str,
    job_name: str,
    tags: Mapping[str, str],
    created_at: float,
    status: str = "NOT_STARTED",
    **fields: Any,
) -> Run:
    """A run record with tags, in status ``status`` (a ``RunStatus`` name), with
    ``fields`` (from :func:`run_fields`)."""
    return Run(
        run_id=run_id,
        job_name=job_name,
        status=RunStatus[status],
        tags=dict(tags),
        created_at=created_at,
        **fields,
    )


def add_run(instance: Instance, run: Run) -> None:
    """Store one run with its tags (one transaction), straight into run storage."""
    instance.storage.runs.add_run(run)


def add_runs(instance: Instance, runs: Iterable[Run]) -> None:
    """Store many runs with their tags in one bulk insert."""
    instance.storage.runs.add_runs(list(runs))


def write_postgres_settings(home: str, url: str) -> None:
    """Write ``home/dagwright.yaml`` for run storage in the PostgreSQL database at ``url``
    (``postgresql://user@host:port/db``)."""
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    with open(os.path.join(home, "dagwright.yaml"), "w", encoding="utf-8") as f:
        yaml.safe_dump({"storage": {"postgres": {"url": url}}}, f, sort_keys=False)


#: Columns of ``runs`` that :func:`copy_runs` writes (the storage id given explicitly).
_RUN_COLUMNS = (
    "id",
    "run_id",
    "job_name",
    "status",
    "created_at",
    "updated_at",
    "started_at",
    "ended_at",
    "body",
    "change_seq",
)


def copy_runs(
    url: str, runs: Iterable[Run], tags_of: Callable[[int], Mapping[str, str]], n: int
) -> dict[str, float]:
    """Bulk-load ``n`` new runs into an empty dagwright database at ``url`` (its schema
    made by opening an instance on it) with PostgreSQL's ``COPY``: the secondary indexes,
    the unique run id and the foreign keys on it and on the storage id are dropped, the
    rows of ``runs`` (storage ids 1..n) and of their tags (``tags_of(i)`` for run ``i``,
    the same tags) copied in,
    then every index and constraint rebuilt from the schema (``storage/schema.py``), the
    run clock set, and the tables vacuumed and analysed. The rows are the ones
    ``add_runs`` writes (``records.run_row`` / ``records.tag_rows``). Returns the seconds
    of each phase.
    """
    import time

    import psycopg
    from sqlalchemy import ForeignKeyConstraint
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

    from dagwright.storage import schema
    from dagwright.storage.records import run_row
    from dagwright.storage.tag_index import index_form

    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    indexes = [*schema.runs.indexes, *schema.run_tags.indexes]
    # every foreign key on runs, then the unique run id (added back in reverse: they rely on it)
    constraints: list[Any] = [
        c
        for table in schema.metadata.sorted_tables
        for c in table.constraints
        if isinstance(c, ForeignKeyConstraint) and c.referred_table is schema.runs
    ]
    constraints += [c for c in schema.runs.constraints if c.name == "uq_runs_run_id"]
    phases: dict[str, float] = {}
    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SET max_parallel_maintenance_workers = 0")  # a shared machine
        for ddl in [DropConstraint(c) for c in constraints] + [DropIndex(i) for i in indexes]:
            conn.execute(str(ddl.compile(dialect=dialect)))
        columns = ", ".join(_RUN_COLUMNS)
        with conn.transaction(), conn.cursor().copy(f"COPY runs ({columns}) FROM STDIN") as cp:
            for sid, run in enumerate(runs, start=1):
                row = run_row(run, run.created_at, 1)
                cp.write_row((sid, *(row[c] for c in _RUN_COLUMNS[1:])))
        phases["copy_runs_s"] = time.perf_counter() - t0
        tag_copy = 'COPY run_tags (id, run_sid, "key", value, value_idx) FROM STDIN'
        with conn.transaction(), conn.cursor().copy(tag_copy) as cp:
            tag_id = 0
            for i in range(n):
                for key, value in tags_of(i).items():
                    tag_id += 1
                    cp.write_row((tag_id, i + 1, key, value, index_form(value)))
        phases["copy_tags_s"] = time.perf_counter() - t0 - phases["copy_runs_s"]
        t1 = time.perf_counter()
        for ddl in [CreateIndex(i) for i in indexes] + [
            AddConstraint(c) for c in constraints[::-1]
        ]:
            conn.execute(str(ddl.compile(dialect=dialect)))
        conn.execute("SELECT setval(pg_get_serial_sequence('runs', 'id'), %s)", (max(n, 1),))
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('run_tags', 'id'), %s)", (max(tag_id, 1),)
        )
        conn.execute(
            "INSERT INTO run_clock (id, seq, epoch) VALUES (1, 1, 0) ON CONFLICT (id) DO NOTHING"
        )
        phases["indexes_s"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        conn.execute("VACUUM (ANALYZE) runs")
        conn.execute("VACUUM (ANALYZE) run_tags")
        phases["vacuum_s"] = time.perf_counter() - t2
    return phases


#: The Celery executor of the Celery jobs (``workloads/celery_runs.py``); its broker comes
#: from the ``celery:`` section of ``dagwright.yaml``.
CELERY_EXECUTOR_LINE = "from dagwright.celery import celery_executor as EXECUTOR"
#: The queue steps go to (``celery.default_queue``).
CELERY_QUEUE = "dagwright"


def write_celery_settings(home: str, pg_url: str, broker_url: str) -> None:
    """``home/dagwright.yaml`` for runs whose steps go to Celery: PostgreSQL storage, step
    outputs in the database (``outputs: {database: {}}``, so workers on any host read
    them), the broker and default queue; no run queue (runs launch at submit, one run
    worker process each, which sends the steps to Celery)."""
    settings = {
        "storage": {"postgres": {"url": pg_url.replace("postgresql://", "postgresql+psycopg://")}},
        "outputs": {"database": {}},
        "celery": {"broker_url": broker_url, "default_queue": CELERY_QUEUE},
    }
    with open(os.path.join(home, "dagwright.yaml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(settings, f, sort_keys=False)


def celery_worker_argv(home: str, job_file: str, concurrency: int) -> list[str]:
    """``dagwright celery worker -f FILE -q dagwright -c N`` on ``$DAGWRIGHT_HOME``."""
    del home
    return [
        *(_bin("dagwright"), "celery", "worker", "-f", job_file),
        *("-q", CELERY_QUEUE, "-c", str(concurrency)),
    ]


def query_runs(instance: Instance, tags: Mapping[str, str], limit: int) -> list[Any]:
    """The newest ``limit`` runs carrying all of ``tags``."""
    return list(instance.get_runs(filters=RunsFilter(tags=dict(tags)), limit=limit))


# --- submitting, queueing and launching (run_queue, daemon, CLI) ---------------------


def write_settings(
    home: str, max_concurrent_runs: int | None, tag_limits: Sequence[Mapping[str, Any]] = ()
) -> None:
    """Write ``home/dagwright.yaml``: a ``run_queue`` (queued coordinator) with these limits,
    or no queue at all (runs launch when submitted) when ``max_concurrent_runs`` is None.

    ``tag_limits`` are ``{key, value?, limit}`` with ``value`` a string or
    ``{applyLimitPerUniqueValue: true}``, the same shape Dagster's configuration takes.
    """
    settings: dict[str, Any] = {}
    if max_concurrent_runs is not None:
        settings["run_queue"] = {
            "max_concurrent_runs": max_concurrent_runs,
            "tag_concurrency_limits": [dict(limit) for limit in tag_limits],
        }
    with open(os.path.join(home, "dagwright.yaml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(settings, f, sort_keys=False)


def instance_at(home: str) -> Instance:
    """The instance configured by ``home/dagwright.yaml`` (storage in ``home``)."""
    return Instance.from_home(home)


@contextlib.contextmanager
def run_fields(instance: Instance, job_file: str, job_name: str) -> Iterator[dict[str, Any]]:
    """Extra :func:`new_run` fields that make a stored run one the daemon can launch: the
    code pointer a run worker loads the job from (what ``submit_run`` records)."""
    del instance
    yield {"code_pointer": CodePointer(job_name=job_name, python_file=job_file)}


@contextlib.contextmanager
def submitter(
    instance: Instance, job_file: str, job_name: str
) -> Iterator[Callable[[Mapping[str, str]], str]]:
    """A function that submits a run of ``job_name`` from ``job_file`` with tags and
    returns its run id: ``instance.submit_run`` (queued with ``run_queue``, else launched).

    The job is loaded from the file once, as ``dagwright job launch`` does, so that each
    run records a code pointer a run worker can load.
    """
    from dagwright.definitions.loader import load_definitions

    job_def = load_definitions(python_file=job_file).get_job(job_name)
    yield lambda tags: instance.submit_run(job_def, tags=tags).run_id


def run_status(instance: Instance, run_id: str) -> str:
    """The run's status name (``QUEUED``, ``STARTED``, ``SUCCESS`` …)."""
    run = instance.get_run(run_id)
    assert run is not None, run_id
    return run.status.value


def count_runs(instance: Instance, statuses: Sequence[str]) -> int:
    """How many runs are in one of these statuses."""
    return instance.get_runs_count(RunsFilter(statuses=[RunStatus[s] for s in statuses]))


def queue_decision_pass(instance: Instance) -> int:
    """One decision pass of the run queue, launching nothing; returns how many runs it
    would launch.

    ``Instance.get_queue_state()`` is the pass the run queue daemon makes before it
    launches: read the runs that changed since its previous pass from the run change feed
    (all queued and running runs on the first pass), bring its queue index up to date,
    then walk the queue once with the configured cap and tag limits
    (``dagwright.runs.queue_index.QueueIndex``), recording every queued run's verdict.
    """
    return len(instance.get_queue_state().to_launch)


def queue_explanation(instance: Instance) -> int:
    """A pass with its explanation as records: every queued run's position, priority,
    verdict and reasons (what ``dagwright queue`` and the queue page show); returns how
    many runs it explains. Dagster has no counterpart."""
    return len(instance.get_queue_state().runs)


def _bin(name: str) -> str:
    # the console script next to this interpreter (the venv dagwright is installed in)
    return os.path.join(os.path.dirname(sys.executable), name)


def cli_launch_argv(job_file: str, job_name: str) -> list[str]:
    """``dagwright job launch -f FILE -j JOB`` (the instance is ``$DAGWRIGHT_HOME``)."""
    return [_bin("dagwright"), "job", "launch", "-f", job_file, "-j", job_name]


def daemon_argv(job_file: str) -> list[str]:
    """``dagwright daemon``: the run queue and run monitor loops of ``$DAGWRIGHT_HOME``.

    Runs carry their own code pointer, so the daemon needs no code file.
    """
    del job_file
    return [_bin("dagwright"), "daemon"]


# --- backfills and sensors -----------------------------------------------------------------


def backfill_argv(job_file: str, job_name: str) -> list[str]:
    """``dagwright job backfill -f FILE -j JOB --all``: it checks every partition's run and
    stores the backfill; the daemon's backfill loop then submits the runs."""
    return [_bin("dagwright"), "job", "backfill", "-f", job_file, "-j", job_name, "--all"]


def backfill_pass(instance: Instance, job_file: str) -> float:
    """One pass of the daemon's backfill loop (``BackfillDaemon.run_iteration``): it loads
    the job from the backfill's code pointer and stores every run QUEUED, in chunks of 500
    per transaction. Returns its wall time."""
    import time

    from dagwright.daemon.backfills import BackfillDaemon

    started = time.perf_counter()
    BackfillDaemon(instance).run_iteration(time.time())
    return time.perf_counter() - started


@contextlib.contextmanager
def sensor_ticker(instance: Instance, job_file: str) -> Iterator[Callable[[], None]]:
    """A function that runs one pass of the daemon's sensor loop
    (``SensorDaemon.run_iteration``) over the definitions of ``job_file``: the sensor is
    evaluated in process (as dagwright's daemon does), used run keys are skipped with one
    lookup, and the new runs are stored QUEUED in one transaction."""
    import time

    from dagwright.daemon.sensors import SensorDaemon
    from dagwright.definitions.loader import load_definitions

    daemon = SensorDaemon(instance, load_definitions(python_file=job_file))
    yield lambda: daemon.run_iteration(time.time())


# --- the web server ---------------------------------------------------------------------

#: The path polled until the server first answers (the jobs page: the code is loaded).
WEB_READY_PATH = "/jobs"
#: Runs per page of the runs list (the HTML page's fixed size; the API is asked the same).
WEB_PAGE_SIZE = 50


def webserver_argv(job_file: str, port: int) -> list[str]:
    """``dagwright ui -f FILE --port PORT`` on ``$DAGWRIGHT_HOME`` (127.0.0.1)."""
    return [_bin("dagwright"), "ui", "-f", job_file, "--port", str(port)]


def web_requests() -> dict[str, list[tuple[str, str, bytes | None]]]:
    """What each measured view asks the server: ``(method, path, body)`` requests."""
    size = WEB_PAGE_SIZE
    return {
        "runs_tag_html": [("GET", "/runs?tag=team%3Ddocs", None)],
        "runs_tag_api": [("GET", f"/api/v1/runs?tag=team%3Ddocs&limit={size}", None)],
        "runs_html": [("GET", "/runs", None)],
        "runs_api": [("GET", f"/api/v1/runs?limit={size}", None)],
        "tag_keys_values": [("GET", "/api/v1/tags", None), ("GET", "/api/v1/tags/team", None)],
    }


def web_runs_shown(name: str, body: bytes) -> int:
    """How many runs a runs view's answer holds (to check the measured page is full)."""
    if name.endswith("_html"):
        return body.count(b"<tr data-run-id=")
    import json

    return len(json.loads(body)["runs"])
