"""Dagster's side: the benchmark primitives through Dagster's public API (dagster 1.13)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import yaml
from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter, job, op

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
    "run_fields",
    "run_status",
    "submitter",
    "write_settings",
    "write_postgres_settings",
]

#: The system tag that names a run's partition.
PARTITION_TAG = "dagster/partition"
#: The tag that orders the run queue (higher first).
PRIORITY_TAG = "dagster/priority"
#: The system tag of a backfill's runs.
BACKFILL_TAG = "dagster/backfill"
#: The environment variable naming the instance home.
HOME_ENV = "DAGSTER_HOME"


def persistent_instance(home: str) -> DagsterInstance:
    """A SQLite-backed instance whose home (runs, event logs, schedules) is ``home``."""
    return DagsterInstance.local_temp(home)


def execute(job_def: Any, instance: DagsterInstance | None = None) -> None:
    """Run ``job_def`` in this process; no instance means Dagster's ephemeral in-memory one."""
    result = job_def.execute_in_process(instance=instance)
    assert result.success


def new_run(
    run_id: str,
    job_name: str,
    tags: Mapping[str, str],
    created_at: float,
    status: str = "NOT_STARTED",
    **fields: Any,
) -> DagsterRun:
    """A run record with tags, in status ``status`` (a ``DagsterRunStatus`` name), with
    ``fields`` (from :func:`run_fields`). Dagster stamps its own creation time, so
    ``created_at`` is unused."""
    del created_at
    return DagsterRun(
        job_name=job_name,
        run_id=run_id,
        status=DagsterRunStatus[status],
        tags=dict(tags),
        **fields,
    )


def add_run(instance: DagsterInstance, run: DagsterRun) -> None:
    """Store one run with its tags.

    ``DagsterInstance.add_run`` is the public method that writes a run record and its tags
    to run storage; ``create_run_for_job`` would also build job and plan snapshots, which
    is more than "store a run with tags" (and dagwright's figure does not do it either).
    """
    instance.add_run(run)


def add_runs(instance: DagsterInstance, runs: Iterable[DagsterRun]) -> None:
    """Store many runs. Dagster has no bulk insert: one ``add_run`` (one transaction) each."""
    for run in runs:
        instance.add_run(run)


def _pg(url: str) -> str:
    """A ``postgresql://`` URL with the driver dagster-postgres uses named (psycopg2:
    SQLAlchemy 2.1 would pick psycopg 3 for a bare ``postgresql://``)."""
    return url.replace("postgresql://", "postgresql+psycopg2://", 1)


def write_postgres_settings(home: str, url: str) -> None:
    """Write ``home/dagster.yaml`` for run, event log and schedule storage in the
    PostgreSQL database at ``url`` (``postgresql://user@host:port/db``; dagster-postgres).
    Telemetry is off."""
    settings = {
        "storage": {"postgres": {"postgres_url": _pg(url)}},
        "telemetry": {"enabled": False},
    }
    with open(os.path.join(home, "dagster.yaml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(settings, f, sort_keys=False)


#: The Celery executor of the Celery jobs (``workloads/celery_runs.py``): dagster-celery's,
#: its broker and result backend the Redis database in ``$BENCH_CELERY_BROKER``.
CELERY_EXECUTOR_LINE = """from dagster_celery import celery_executor

BROKER = {"env": "BENCH_CELERY_BROKER"}
EXECUTOR = celery_executor.configured({"broker": BROKER, "backend": BROKER})"""
#: The queue dagster-celery's steps go to by default.
CELERY_QUEUE = "dagster"


def write_celery_settings(home: str, pg_url: str, broker_url: str) -> None:
    """Settings for runs whose steps go to Celery: ``home/dagster.yaml`` with PostgreSQL
    storage (run, event log and schedule storage; dagster-postgres) and runs launched at
    submit (``DefaultRunCoordinator``, the default launcher), and ``home/celery.yaml``,
    the executor config its workers are started with (``dagster-celery worker start -y``:
    the same broker and result backend as the job's executor)."""
    settings = {
        "storage": {"postgres": {"postgres_url": _pg(pg_url)}},
        "run_coordinator": {
            "module": "dagster.core.run_coordinator",
            "class": "DefaultRunCoordinator",
        },
        "telemetry": {"enabled": False},
    }
    with open(os.path.join(home, "dagster.yaml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(settings, f, sort_keys=False)
    worker = {"execution": {"config": {"broker": broker_url, "backend": broker_url}}}
    with open(os.path.join(home, "celery.yaml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(worker, f, sort_keys=False)


def celery_worker_argv(home: str, job_file: str, concurrency: int) -> list[str]:
    """``dagster-celery worker start -A dagster_celery.app -y celery.yaml -q dagster -- -c
    N``: one Celery worker (prefork pool of ``concurrency`` processes, prefetch 1, as
    dagster-celery starts it) on the default queue. Each task names its job's file, so the
    worker needs no code argument."""
    del job_file
    config = os.path.join(home, "celery.yaml")
    return [
        *(_bin("dagster-celery"), "worker", "start", "-A", "dagster_celery.app"),
        *("-y", config, "-q", CELERY_QUEUE, "--", "-c", str(concurrency)),
    ]


def query_runs(instance: DagsterInstance, tags: Mapping[str, str], limit: int) -> list[Any]:
    """The newest ``limit`` runs carrying all of ``tags``."""
    return list(instance.get_runs(filters=RunsFilter(tags=dict(tags)), limit=limit))


# --- submitting, queueing and launching (run coordinator, daemon, CLI) ---------------


def write_settings(
    home: str, max_concurrent_runs: int | None, tag_limits: Sequence[Mapping[str, Any]] = ()
) -> None:
    """Write ``home/dagster.yaml``: the ``QueuedRunCoordinator`` with these limits, or, when
    ``max_concurrent_runs`` is None, the ``DefaultRunCoordinator`` (runs launch when
    submitted; set explicitly, since an instance without ``run_coordinator`` queues runs in
    Dagster 1.13). The run launcher is the default one (``DefaultRunLauncher``: a process
    per run, started by the code location's gRPC server). Telemetry is off.
    """
    coordinator: dict[str, Any] = {
        "module": "dagster.core.run_coordinator",
        "class": "DefaultRunCoordinator",
    }
    if max_concurrent_runs is not None:
        coordinator = {
            "module": "dagster.core.run_coordinator",
            "class": "QueuedRunCoordinator",
            "config": {
                "max_concurrent_runs": max_concurrent_runs,
                "tag_concurrency_limits": [dict(limit) for limit in tag_limits],
            },
        }
    settings = {"run_coordinator": coordinator, "telemetry": {"enabled": False}}
    with open(os.path.join(home, "dagster.yaml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(settings, f, sort_keys=False)


def instance_at(home: str) -> DagsterInstance:
    """The instance configured by ``home/dagster.yaml`` (storage in ``home``)."""
    return DagsterInstance.from_config(home)


@contextlib.contextmanager
def _remote_job(instance: DagsterInstance, job_file: str, job_name: str, in_process: bool) -> Any:
    """The workspace of ``job_file`` and the remote representation of ``job_name`` in it,
    loaded as ``dagster job launch -f FILE`` loads them (a gRPC code server unless
    ``in_process``)."""
    from dagster import __version__
    from dagster._cli.workspace.cli_target import (
        get_code_location_from_workspace,
        get_remote_job_from_remote_repo,
        get_remote_repository_from_code_location,
        get_workspace_from_cli_opts,
    )
    from dagster_shared.cli import WorkspaceOpts

    opts = WorkspaceOpts(python_file=(job_file,))
    with get_workspace_from_cli_opts(
        instance, __version__, opts, allow_in_process=in_process, log_level="WARNING"
    ) as workspace:
        location = get_code_location_from_workspace(workspace, None)
        repo = get_remote_repository_from_code_location(location, None)
        yield workspace, get_remote_job_from_remote_repo(repo, job_name)


@contextlib.contextmanager
def run_fields(instance: DagsterInstance, job_file: str, job_name: str) -> Iterator[dict[str, Any]]:
    """Extra :func:`new_run` fields that make a stored run one the queue daemon can launch:
    the origins of its code location (Dagster refuses a QUEUED run without them)."""
    with _remote_job(instance, job_file, job_name, in_process=True) as (_, remote_job):
        yield {
            "remote_job_origin": remote_job.get_remote_origin(),
            "job_code_origin": remote_job.get_python_origin(),
        }


@contextlib.contextmanager
def submitter(
    instance: DagsterInstance, job_file: str, job_name: str
) -> Iterator[Callable[[Mapping[str, str]], str]]:
    """A function that submits a run of ``job_name`` from ``job_file`` with tags and
    returns its run id.

    Dagster's submit path needs a workspace: ``DagsterInstance.submit_run(run_id,
    workspace)`` hands the run to the configured run coordinator, and the run must carry
    the origins of its code location (``remote_job_origin``, ``job_code_origin``) so the
    daemon and the launcher can find the job. Outside GraphQL (the webserver's
    ``launchRun``), the public route is the one ``dagster job launch`` takes: a workspace
    loaded from the code file, the job's remote representation from its code location,
    then a run made with the job and execution plan snapshots and ``submit_run``. Here the
    run is made with ``DagsterInstance.create_run_for_job`` (public; it builds the same
    snapshots from the job definition in this process). The workspace is set up once (as
    the webserver or a long-lived session would); each submit pays for
    ``create_run_for_job`` + ``submit_run``. With the default coordinator the code
    location is a gRPC server, because ``DefaultRunLauncher`` launches runs through it;
    with the queued coordinator nothing launches at submit, so it is loaded in process.
    """
    from dagster._core.run_coordinator import QueuedRunCoordinator

    queued = isinstance(instance.run_coordinator, QueuedRunCoordinator)
    with _remote_job(instance, job_file, job_name, in_process=queued) as (workspace, remote):
        remote_origin = remote.get_remote_origin()
        code_origin = remote.get_python_origin()
        job_def = getattr(_load_file(job_file), job_name)

        def submit(tags: Mapping[str, str]) -> str:
            run = instance.create_run_for_job(
                job_def,
                tags=dict(tags),
                remote_job_origin=remote_origin,
                job_code_origin=code_origin,
            )
            return instance.submit_run(run.run_id, workspace).run_id

        yield submit


def _load_file(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("bench_job_file", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_status(instance: DagsterInstance, run_id: str) -> str:
    """The run's status name (``QUEUED``, ``STARTED``, ``SUCCESS`` …)."""
    run = instance.get_run_by_id(run_id)
    assert run is not None, run_id
    return run.status.value


def count_runs(instance: DagsterInstance, statuses: Sequence[str]) -> int:
    """How many runs are in one of these statuses."""
    return instance.get_runs_count(RunsFilter(statuses=[DagsterRunStatus[s] for s in statuses]))


def queue_decision_pass(instance: DagsterInstance) -> int:
    """One decision pass of the queued run coordinator daemon, launching nothing; returns
    how many runs it would launch.

    ``QueuedRunCoordinatorDaemon.run_iteration(workspace_process_context)`` is the daemon's
    pass: it reads the instance's concurrency config, picks the runs to dequeue, then
    launches them. With no free slot it returns before looking at the queue at all (so
    that would time nothing), and with free slots it launches. So this times the decision
    part of the pass alone, the daemon's own method that ``run_iteration`` calls:
    ``get_concurrency_config()`` then ``_get_runs_to_dequeue`` (pages of 100 queued runs,
    priority sort, tag concurrency counters; Dagster's defaults, which include op
    concurrency pool checks). It is a private method: the only way to run the decision
    without launching. No code location is involved.
    """
    from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import (
        QueuedRunCoordinatorDaemon,
    )

    daemon = QueuedRunCoordinatorDaemon(interval_seconds=1)
    config = instance.get_concurrency_config()
    return len(daemon._get_runs_to_dequeue(instance, config, fixed_iteration_time=None))


def _bin(name: str) -> str:
    return os.path.join(os.path.dirname(sys.executable), name)


def cli_launch_argv(job_file: str, job_name: str) -> list[str]:
    """``dagster job launch -f FILE -j JOB`` (the instance is ``$DAGSTER_HOME``)."""
    return [_bin("dagster"), "job", "launch", "-f", job_file, "-j", job_name]


def daemon_argv(job_file: str) -> list[str]:
    """``dagster-daemon run -f FILE``: every daemon the instance configures, including the
    queued run coordinator daemon, with the code file as its workspace (a gRPC code server
    it starts and stops itself)."""
    return [_bin("dagster-daemon"), "run", "-f", job_file]


# --- backfills and sensors -----------------------------------------------------------------


def backfill_argv(job_file: str, job_name: str) -> list[str]:
    """``dagster job backfill -f FILE -j JOB --all --noprompt``: it creates the backfill and
    submits one run per partition itself (to the queued coordinator: each run QUEUED)."""
    return [
        _bin("dagster"),
        "job",
        "backfill",
        "-f",
        job_file,
        "-j",
        job_name,
        "--all",
        "--noprompt",
    ]


def backfill_pass(instance: DagsterInstance, job_file: str) -> float:
    """dagwright's backfill needs a daemon pass after the command; Dagster's CLI submits
    the runs itself, so there is nothing more to time."""
    return 0.0


@contextlib.contextmanager
def sensor_ticker(instance: DagsterInstance, job_file: str) -> Iterator[Callable[[], None]]:
    """A function that runs one iteration of Dagster's sensor daemon
    (``execute_sensor_iteration``, synchronously) over the workspace of ``job_file``: the
    sensor is evaluated in its code server (gRPC, as the daemon does), the run keys it
    already used are skipped, and the new runs are submitted to the queue."""
    import logging

    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import PythonFileTarget
    from dagster._daemon.sensor import execute_sensor_iteration

    target = PythonFileTarget(
        python_file=job_file,
        attribute=None,
        working_directory=os.path.dirname(job_file),
        location_name=None,
    )
    logger = logging.getLogger("bench.sensor")
    with WorkspaceProcessContext(instance, target) as context:

        def tick() -> None:
            for _ in execute_sensor_iteration(context, logger, None, None):
                pass

        yield tick


# --- the web server ---------------------------------------------------------------------

#: The path polled until the server first answers.
WEB_READY_PATH = "/server_info"
#: Runs per page of Dagster's Runs page (its UI asks the runs feed for 30 at a time).
WEB_PAGE_SIZE = 30

#: The Runs page's query in Dagster 1.13's UI (``RunsFeedRootQuery``), with the run fields
#: of its table entry fragment inlined (the backfill branch keeps its scalar fields).
RUNS_FEED_QUERY = """
query RunsFeedRootQuery($limit: Int!, $cursor: String, $filter: RunsFilter, $view: RunsFeedView!) {
  runsFeedOrError(limit: $limit, cursor: $cursor, filter: $filter, view: $view) {
    ... on RunsFeedConnection {
      cursor
      hasMore
      results {
        id
        __typename
        runStatus
        creationTime
        startTime
        endTime
        tags { key value }
        jobName
        ... on Run {
          repositoryOrigin { id repositoryLocationName repositoryName }
          assetSelectionPreview: assetSelection(limit: 25) { ... on AssetKey { path } }
          assetSelectionCount
          assetCheckSelectionPreview: assetCheckSelection(limit: 25) { name assetKey { path } }
          assetCheckSelectionCount
          hasReExecutePermission
          hasTerminatePermission
          hasDeletePermission
          canTerminate
          mode
          status
          pipelineName
          pipelineSnapshotId
          hasRunMetricsEnabled
        }
        ... on PartitionBackfill {
          backfillStatus: status
          partitionSetName
          assetSelection { path }
          hasCancelPermission
          hasResumePermission
          isAssetBackfill
          numPartitions
        }
      }
    }
    ... on PythonError { message stack }
  }
}
"""
#: The tag filter's typeahead queries of the same UI.
TAG_KEYS_QUERY = "query RunTagKeysQuery { runTagKeysOrError { ... on RunTagKeys { keys } } }"
TAG_VALUES_QUERY = """
query RunTagValuesQuery($tagKeys: [String!]!) {
  runTagsOrError(tagKeys: $tagKeys) { ... on RunTags { tags { key values } } }
}
"""


def webserver_argv(job_file: str, port: int) -> list[str]:
    """``dagster-webserver -f FILE -h 127.0.0.1 -p PORT`` on ``$DAGSTER_HOME``."""
    return [_bin("dagster-webserver"), "-f", job_file, "-h", "127.0.0.1", "-p", str(port)]


def _graphql(query: str, variables: dict[str, Any]) -> tuple[str, str, bytes]:
    import json

    return ("POST", "/graphql", json.dumps({"query": query, "variables": variables}).encode())


def web_requests() -> dict[str, list[tuple[str, str, bytes | None]]]:
    """What each measured view asks the server: ``(method, path, body)`` requests."""
    feed = {"limit": WEB_PAGE_SIZE, "view": "ROOTS"}
    tagged = {**feed, "filter": {"tags": [{"key": "team", "value": "docs"}]}}
    return {
        "runs_tag": [_graphql(RUNS_FEED_QUERY, tagged)],
        "runs": [_graphql(RUNS_FEED_QUERY, {**feed, "filter": {}})],
        "tag_keys_values": [
            _graphql(TAG_KEYS_QUERY, {}),
            _graphql(TAG_VALUES_QUERY, {"tagKeys": ["team"]}),
        ],
    }


def web_runs_shown(name: str, body: bytes) -> int:
    """How many runs a runs view's answer holds (to check the measured page is full)."""
    import json

    data = json.loads(body)["data"]["runsFeedOrError"]
    if "results" not in data:
        raise RuntimeError(f"runs feed error: {str(data)[:300]}")
    return len(data["results"])
