"""The backfill loop: submit the runs of requested backfills, and close finished ones.

Each pass, for every REQUESTED backfill, oldest first: the partitions without a run get
one (prepared and stored in chunks, each chunk in one transaction, already QUEUED with a
queue), with ids derived from the backfill and the key, so a pass repeated after a crash
makes no duplicates; then, once every run has ended, the backfill becomes COMPLETED or
FAILED (``runs.backfills.next_status``). Every write of the loop is conditional on the
backfill still being REQUESTED, so a cancel landing mid-pass is never undone; the chunk
that finds it canceled cancels the runs it stored.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Final

from dagwright.daemon.base import log
from dagwright.errors import DagwrightError
from dagwright.runs.backfills import Backfill, BackfillStatus, backfill_runs
from dagwright.runs.backfills import next_status as backfill_next_status

if TYPE_CHECKING:
    from dagwright.definitions.job import JobDefinition
    from dagwright.instance import Instance

#: Runs stored per transaction.
CHUNK: Final = 500


class BackfillDaemon:
    """Submits backfill runs through the run coordinator and finishes backfills."""

    name = "backfills"

    def __init__(self, instance: Instance, interval_seconds: float = 1.0) -> None:
        self._instance = instance
        self.interval_seconds = interval_seconds

    def run_iteration(self, now: float) -> None:
        """One pass over the REQUESTED backfills as of ``now``."""
        store = self._instance.storage.backfills
        submitted = []
        for backfill in reversed(store.get_backfills(status=BackfillStatus.REQUESTED)):
            if backfill.submitted >= len(backfill.partition_keys):
                submitted.append(backfill)
                continue
            try:
                self._submit(backfill, now)
            except Exception:  # one backfill's trouble must not stop the others
                log.exception("backfills: %s: pass failed", backfill.backfill_id)
        for backfill in store.with_progress(submitted) if submitted else ():
            try:
                self._check_done(backfill, now)
            except Exception:
                log.exception("backfills: %s: pass failed", backfill.backfill_id)

    def _submit(self, backfill: Backfill, now: float) -> None:
        job = self._load(backfill, now)
        if job is None:
            return
        store = self._instance.storage.backfills
        while backfill.submitted < len(backfill.partition_keys):
            keys = backfill.partition_keys[backfill.submitted : backfill.submitted + CHUNK]
            try:
                runs = backfill_runs(job, backfill, keys)
                self._instance.submit_runs(runs, metadata_keys=job.metadata)
            except DagwrightError as exc:
                self._fail(backfill, f"cannot submit runs: {exc}", now)
                return
            backfill = replace(backfill, submitted=backfill.submitted + len(keys))
            if not store.update_backfill(backfill, only_from=BackfillStatus.REQUESTED):
                # canceled while this chunk was stored: cancel what it stored, stop
                self._instance.cancel_waiting_runs(backfill.backfill_id)
                return
            log.info(
                "backfills: %s: submitted %d of %d runs",
                backfill.backfill_id,
                backfill.submitted,
                len(backfill.partition_keys),
            )

    def _load(self, backfill: Backfill, now: float) -> JobDefinition | None:
        from dagwright.definitions.loader import load_job

        if backfill.code_pointer is None:
            self._fail(backfill, "no code pointer", now)
            return None
        try:
            return load_job(backfill.code_pointer)
        except DagwrightError as exc:
            self._fail(backfill, f"cannot load job {backfill.job_name!r}: {exc}", now)
            return None

    def _fail(self, backfill: Backfill, error: str, now: float) -> None:
        failed = replace(backfill, status=BackfillStatus.FAILED, error=error, ended_at=now)
        store = self._instance.storage.backfills
        if store.update_backfill(failed, only_from=BackfillStatus.REQUESTED):
            log.warning("backfills: %s FAILED: %s", backfill.backfill_id, error)
        else:  # e.g. its runs could not be launched because a cancel had landed
            log.info("backfills: %s: canceled meanwhile", backfill.backfill_id)

    def _check_done(self, backfill: Backfill, now: float) -> None:
        """Close a backfill whose runs are all submitted (``backfill`` has its progress)
        once they have all ended."""
        store = self._instance.storage.backfills
        assert backfill.progress is not None
        status = backfill_next_status(backfill, backfill.progress)
        if status is not backfill.status:
            ended = replace(backfill, status=status, ended_at=now, progress=None)
            if not store.update_backfill(ended, only_from=BackfillStatus.REQUESTED):
                return  # canceled meanwhile
            log.info("backfills: %s %s", backfill.backfill_id, status.value)
