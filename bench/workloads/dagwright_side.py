"""dagwright's side: the benchmark primitives through dagwright's API (DESIGN.md §2, §4).

Everything the benchmark needs from dagwright is in this file; if an internal name
changes (``instance.storage.runs.add_run`` / ``add_runs``), fix it here only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dagwright import Instance, job, op
from dagwright.runs.models import Run, RunsFilter, RunStatus

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
PARTITION_TAG = "dagwright/partition"


def persistent_instance(home: str) -> Instance:
    """A SQLite-backed instance whose home is ``home``."""
    return Instance.from_home(home)


def execute(job_def: Any, instance: Instance | None = None) -> None:
    """Run ``job_def`` in this process; no instance means the ephemeral in-memory one."""
    result = job_def.execute_in_process(instance=instance)
    assert result.success


def new_run(run_id: str, job_name: str, tags: Mapping[str, str], created_at: float) -> Run:
    """A run record with tags."""
    return Run(
        run_id=run_id,
        job_name=job_name,
        status=RunStatus.NOT_STARTED,
        tags=dict(tags),
        created_at=created_at,
    )


def add_run(instance: Instance, run: Run) -> None:
    """Store one run with its tags (one transaction), straight into run storage."""
    instance.storage.runs.add_run(run)


def add_runs(instance: Instance, runs: Iterable[Run]) -> None:
    """Store many runs with their tags in one bulk insert."""
    instance.storage.runs.add_runs(list(runs))


def query_runs(instance: Instance, tags: Mapping[str, str], limit: int) -> list[Any]:
    """The newest ``limit`` runs carrying all of ``tags``."""
    return list(instance.get_runs(filters=RunsFilter(tags=dict(tags)), limit=limit))
