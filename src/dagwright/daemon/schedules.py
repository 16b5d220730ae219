"""The scheduler loop: each running schedule gets a tick when its cron time comes.

Missed ticks (the daemon was down, or slower than the schedule): only the **latest** due
tick is evaluated, once; earlier missed ones are dropped. A schedule started (or first
seen running) ticks from then on, never for times before. See ``docs/decisions.md``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from dagwright.daemon.base import log
from dagwright.daemon.ticks import error_of, finish, prepare_requests
from dagwright.errors import DagwrightError
from dagwright.runs.request import origin_run_id
from dagwright.runs.ticks import InstigatorKind, InstigatorState, InstigatorStatus, Tick, TickStatus
from dagwright.tags import SCHEDULE_NAME_TAG

if TYPE_CHECKING:
    from dagwright.definitions.container import Definitions
    from dagwright.definitions.schedule import ScheduleDefinition
    from dagwright.instance import Instance

_KIND = InstigatorKind.SCHEDULE


def tick_schedule(instance: Instance, schedule: ScheduleDefinition, at: datetime) -> Tick:
    """Evaluate ``schedule`` for its tick at instant ``at`` and submit the runs it asks for.

    Idempotent: a tick at that time that already finished is returned as it is; one left
    STARTED (a crash) is evaluated again, and its runs, with ids derived from the
    schedule, the time and the request, are not made twice.

    Returns:
        The stored tick: SUCCESS (with its run ids), SKIPPED or FAILURE (with the error).
    """
    timestamp = at.timestamp()
    store = instance.storage.schedules
    earlier = store.get_ticks(schedule.name, kind=_KIND, limit=1, timestamp=timestamp)
    if earlier and earlier[0].status is not TickStatus.STARTED:
        return earlier[0]
    tick = earlier[0] if earlier else store.create_tick(schedule.name, _KIND, timestamp)
    where = f"schedule {schedule.name!r}"
    try:
        requests, skip = schedule.evaluate(schedule.context_at(at, instance))
    except Exception as exc:  # the user-code boundary: any error fails the tick
        return finish(instance, tick, TickStatus.FAILURE, error=error_of(exc, where))
    if skip is not None:
        return finish(instance, tick, TickStatus.SKIPPED, skip_reason=skip.skip_message)
    try:
        runs = prepare_requests(
            schedule.job,
            requests,
            schedule.tags,
            {SCHEDULE_NAME_TAG: schedule.name},
            lambda i, r: origin_run_id("schedule", schedule.name, timestamp, r.run_key or i),
        )
        run_ids = instance.submit_runs(runs, metadata_keys=schedule.job.metadata)
    except DagwrightError as exc:
        return finish(instance, tick, TickStatus.FAILURE, error=error_of(exc, where))
    keys = tuple(r.run_key for r in requests if r.run_key is not None)
    return finish(instance, tick, TickStatus.SUCCESS, run_ids=tuple(run_ids), run_keys=keys)


class ScheduleDaemon:
    """Each pass: for every running schedule whose latest due tick is newer than the one
    it last evaluated, evaluate that tick (:func:`tick_schedule`)."""

    name = "schedules"

    def __init__(
        self, instance: Instance, definitions: Definitions, interval_seconds: float = 1.0
    ) -> None:
        self._instance = instance
        self._definitions = definitions
        self.interval_seconds = interval_seconds

    def run_iteration(self, now: float) -> None:
        """Evaluate the ticks due at ``now`` (seconds since the epoch)."""
        states = self._instance.get_instigator_states(_KIND, definitions=self._definitions)
        for state in states:
            if state.status is not InstigatorStatus.RUNNING:
                continue
            schedule = self._definitions.schedules[state.name]
            try:
                self._step(schedule, state, now)
            except Exception:  # one schedule's trouble must not stop the others
                log.exception("schedules: %s: tick failed", schedule.name)

    def _step(self, schedule: ScheduleDefinition, state: InstigatorState, now: float) -> None:
        store = self._instance.storage.schedules
        if state.last_tick_at is None:  # first seen running: tick from now on
            store.set_state(replace(state, last_tick_at=now), now)
            return
        due = schedule.cron.latest_at(datetime.fromtimestamp(now, timezone.utc))
        if due.timestamp() <= state.last_tick_at:
            return
        tick = tick_schedule(self._instance, schedule, due)
        log.info(
            "schedules: %s tick %s: %s %s",
            schedule.name,
            due.isoformat(),
            tick.status.value,
            tick.describe(),
        )
        store.set_state(replace(state, last_tick_at=due.timestamp()), now)
