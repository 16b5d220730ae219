"""Backfills: one run per partition of a job, submitted through the queue by the daemon.

Status machine (pure, :func:`next_status`)::

    REQUESTED ──(every run ended, all SUCCESS)──────────► COMPLETED
        │      ──(every run ended, some did not succeed)─► FAILED
        │      ──(runs cannot be submitted: code gone)───► FAILED
        └──────(cancel_backfill)─────────────────────────► CANCELED

COMPLETED, FAILED and CANCELED are final. Progress is counted from the runs tagged
``dagwright/backfill=<id>``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from dagwright.errors import DagwrightInvalidPartitionError
from dagwright.runs.models import (
    IN_PROGRESS_STATUSES,
    CodePointer,
    Run,
    RunStatus,
    require_code_pointer,
)
from dagwright.tags import BACKFILL_TAG, normalize_tags

if TYPE_CHECKING:
    from dagwright.definitions.job import JobDefinition


class BackfillStatus(str, Enum):
    """Where a backfill is in its life."""

    REQUESTED = "REQUESTED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"

    @property
    def is_finished(self) -> bool:
        """Whether the backfill can change no more."""
        return self is not BackfillStatus.REQUESTED


@dataclass(frozen=True)
class BackfillProgress:
    """How far a backfill's runs are.

    Attributes:
        requested: partitions asked for (one run each).
        submitted: runs made so far.
        queued: runs waiting (QUEUED or NOT_STARTED).
        running: runs launched and not ended (STARTING, STARTED, CANCELING).
        succeeded, failed, canceled: runs that ended so.
    """

    requested: int
    submitted: int = 0
    queued: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    canceled: int = 0

    @property
    def finished(self) -> int:
        """Runs that have ended."""
        return self.succeeded + self.failed + self.canceled

    @classmethod
    def count(cls, requested: int, by_status: Mapping[RunStatus, int]) -> BackfillProgress:
        """Progress from the number of the backfill's runs in each status (``submitted``
        is how many runs it has: the daemon's cursor moves only once per stored chunk,
        and not at all after a cancel)."""

        def total(*statuses: RunStatus) -> int:
            return sum(by_status.get(s, 0) for s in statuses)

        return cls(
            requested=requested,
            submitted=sum(by_status.values()),
            queued=total(RunStatus.QUEUED, RunStatus.NOT_STARTED),
            running=total(*IN_PROGRESS_STATUSES),
            succeeded=total(RunStatus.SUCCESS),
            failed=total(RunStatus.FAILURE),
            canceled=total(RunStatus.CANCELED),
        )

    def to_json(self) -> dict[str, int]:
        """Every counter by name."""
        return {
            "requested": self.requested,
            "submitted": self.submitted,
            "queued": self.queued,
            "running": self.running,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "canceled": self.canceled,
        }


@dataclass(frozen=True)
class Backfill:
    """A request to run a job once per partition.

    Attributes:
        backfill_id: its id (the value of the ``dagwright/backfill`` tag of its runs).
        job_name: the job.
        partition_keys: the partitions, in submission order.
        tags: user tags of every run.
        status: REQUESTED, COMPLETED, FAILED or CANCELED.
        created_at: when it was launched.
        code_pointer: where the daemon loads the job from.
        submitted: how many partitions have a run (the daemon's cursor).
        error: why it FAILED without its runs failing (code could not load …).
        ended_at: when it reached a final status.
        progress: counts of its runs, filled in when read through the instance.
    """

    backfill_id: str
    job_name: str
    partition_keys: tuple[str, ...]
    tags: Mapping[str, str] = field(default_factory=dict)
    status: BackfillStatus = BackfillStatus.REQUESTED
    created_at: float = 0.0
    code_pointer: CodePointer | None = None
    submitted: int = 0
    error: str | None = None
    ended_at: float | None = None
    progress: BackfillProgress | None = None

    def to_json(self) -> dict[str, Any]:
        """The backfill as the CLI (``--json``) and the HTTP API show it."""
        progress = self.progress or BackfillProgress(len(self.partition_keys), self.submitted)
        return {
            "backfill_id": self.backfill_id,
            "job_name": self.job_name,
            "status": self.status.value,
            "partition_keys": list(self.partition_keys),
            "tags": dict(self.tags),
            "created_at": self.created_at,
            "ended_at": self.ended_at,
            "error": self.error,
            "code_pointer": self.code_pointer.to_json() if self.code_pointer else None,
            "submitted": self.submitted,
            "progress": progress.to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Backfill:
        """Inverse of :meth:`to_json` (progress is not read back: it is counted)."""
        pointer = data.get("code_pointer")
        return cls(
            backfill_id=data["backfill_id"],
            job_name=data["job_name"],
            partition_keys=tuple(data["partition_keys"]),
            tags=dict(data.get("tags") or {}),
            status=BackfillStatus(data["status"]),
            created_at=float(data.get("created_at") or 0.0),
            code_pointer=CodePointer.from_json(pointer) if pointer else None,
            submitted=int(data.get("submitted") or 0),
            error=data.get("error"),
            ended_at=data.get("ended_at"),
        )


def next_status(backfill: Backfill, progress: BackfillProgress) -> BackfillStatus:
    """The status a REQUESTED backfill moves to, given its runs (itself while under way)."""
    if backfill.status is not BackfillStatus.REQUESTED:
        return backfill.status
    if progress.submitted < progress.requested or progress.finished < progress.requested:
        return BackfillStatus.REQUESTED
    if progress.succeeded == progress.requested:
        return BackfillStatus.COMPLETED
    return BackfillStatus.FAILED


def new_backfill(
    job: JobDefinition, partition_keys: Sequence[str] | None, tags: Mapping[str, object] | None
) -> Backfill:
    """Check a backfill request and build the backfill (nothing is stored). Every
    partition's run is prepared once, so any run the daemon would refuse is refused here.

    Raises:
        DagwrightInvalidPartitionError: the job is not partitioned, a key is not one of
            its (completed) partitions, a key repeats, or there are none.
        DagwrightInvalidTagError, DagwrightInvalidConfigError: a run would be refused.
        DagwrightCodeLoadError: the job has no code pointer.
    """
    from dagwright.definitions.loader import code_pointer_for

    keys = _backfill_keys(job, partition_keys)
    pointer = require_code_pointer(job.name, code_pointer_for(job))
    backfill = Backfill(
        backfill_id=uuid.uuid4().hex[:12],
        job_name=job.name,
        partition_keys=tuple(keys),
        tags=normalize_tags(tags),
        created_at=time.time(),
        code_pointer=pointer,
    )
    backfill_runs(job, backfill, keys)
    return backfill


def _backfill_keys(job: JobDefinition, partition_keys: Sequence[str] | None) -> list[str]:
    partitions = job.partitions_def
    if partitions is None:
        raise DagwrightInvalidPartitionError(None, job.name, "the job is not partitioned")
    if isinstance(partition_keys, str):
        raise DagwrightInvalidPartitionError(
            partition_keys, job.name, "partition_keys must be a list of keys, not one str"
        )
    every = partitions.get_partition_keys()
    keys = every if partition_keys is None else list(partition_keys)
    if not keys:
        raise DagwrightInvalidPartitionError(None, job.name, "a backfill needs at least one key")
    known = set(every)
    seen: set[str] = set()
    for key in keys:
        if key not in known:
            partitions.validate_key(key, job.name)
        if key in seen:
            raise DagwrightInvalidPartitionError(key, job.name, "given twice")
        seen.add(key)
    return keys


def backfill_runs(job: JobDefinition, backfill: Backfill, keys: Sequence[str]) -> list[Run]:
    """The validated runs of some of a backfill's partitions (not stored), with
    deterministic ids: preparing them again gives the same ids.

    Raises:
        DagwrightInvalidTagError, DagwrightInvalidConfigError,
        DagwrightInvalidPartitionError: a run would be refused.
    """
    from dagwright.runs.request import RunOrigin, origin_run_id, prepare_run

    system = {BACKFILL_TAG: backfill.backfill_id}
    return [
        prepare_run(
            job,
            tags=backfill.tags,
            partition_key=key,
            origin=RunOrigin(origin_run_id("backfill", backfill.backfill_id, key), system),
        ).run
        for key in keys
    ]
