"""Dagster's side: the benchmark primitives through Dagster's public API (dagster 1.13)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter, job, op

__all__ = [
    "PARTITION_TAG",
    "add_run",
    "add_runs",
    "execute",
    "job",
    "new_run",
    "op",
    "persistent_instance",
    "query_runs",
]

#: The system tag that names a run's partition.
PARTITION_TAG = "dagster/partition"


def persistent_instance(home: str) -> DagsterInstance:
    """A SQLite-backed instance whose home (runs, event logs, schedules) is ``home``."""
    return DagsterInstance.local_temp(home)


def execute(job_def: Any, instance: DagsterInstance | None = None) -> None:
    """Run ``job_def`` in this process; no instance means Dagster's ephemeral in-memory one."""
    result = job_def.execute_in_process(instance=instance)
    assert result.success


def new_run(run_id: str, job_name: str, tags: Mapping[str, str], created_at: float) -> DagsterRun:
    """A run record with tags. Dagster stamps its own creation time, so ``created_at`` is unused."""
    del created_at
    return DagsterRun(
        job_name=job_name, run_id=run_id, status=DagsterRunStatus.NOT_STARTED, tags=dict(tags)
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


def query_runs(instance: DagsterInstance, tags: Mapping[str, str], limit: int) -> list[Any]:
    """The newest ``limit`` runs carrying all of ``tags``."""
    return list(instance.get_runs(filters=RunsFilter(tags=dict(tags)), limit=limit))
