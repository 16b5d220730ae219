"""The sensor loop: each running sensor is evaluated every ``minimum_interval_seconds``.

A sensor's ``RunRequest`` whose ``run_key`` that sensor already used is skipped (the used
keys are stored, so this holds across restarts). A sensor that raises gets a FAILURE tick
with the traceback, keeps its cursor, and the loop goes on.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from dagwright.daemon.base import log
from dagwright.daemon.ticks import error_of, finish, prepare_requests
from dagwright.definitions.run_request import RunRequest
from dagwright.definitions.sensor import SensorEvaluationContext
from dagwright.errors import DagwrightError
from dagwright.runs.request import origin_run_id
from dagwright.runs.ticks import InstigatorKind, InstigatorState, InstigatorStatus, Tick, TickStatus
from dagwright.tags import SENSOR_NAME_TAG

if TYPE_CHECKING:
    from dagwright.definitions.container import Definitions
    from dagwright.definitions.sensor import SensorDefinition
    from dagwright.instance import Instance

_KIND = InstigatorKind.SENSOR


def tick_sensor(
    instance: Instance,
    sensor: SensorDefinition,
    now: float,
    state: InstigatorState | None = None,
) -> Tick:
    """Evaluate ``sensor`` once as of ``now`` and submit the runs it asks for.

    The tick is stored STARTED first; a tick left STARTED by a crash is taken up again
    (same tick id, so runs without a run key get the same ids; runs with one are found by
    their key). The cursor is kept only when the tick does not fail.

    Args:
        state: the sensor's state, if the caller has just read it (else it is read).

    Returns:
        The stored tick: SUCCESS (new runs), SKIPPED (none, or only used run keys) or
        FAILURE (the error and traceback).
    """
    store = instance.storage.schedules
    if state is None:
        state = store.get_state(sensor.name, _KIND) or InstigatorState(
            sensor.name, _KIND, InstigatorStatus(sensor.default_status.value), stored=False
        )
    latest = store.get_ticks(sensor.name, kind=_KIND, limit=1)
    resumed = bool(latest) and latest[0].status is TickStatus.STARTED
    tick = latest[0] if resumed else store.create_tick(sensor.name, _KIND, now)
    last = state.last_tick_at
    context = SensorEvaluationContext(
        state.cursor,
        datetime.fromtimestamp(last, timezone.utc) if last is not None else None,
        instance,
    )
    tick = _evaluate(instance, sensor, tick, context)
    cursor = context.cursor if tick.status is not TickStatus.FAILURE else state.cursor
    store.set_state(replace(state, cursor=cursor, last_tick_at=now), now)
    return tick


def _evaluate(
    instance: Instance, sensor: SensorDefinition, tick: Tick, context: SensorEvaluationContext
) -> Tick:
    where = f"sensor {sensor.name!r}"
    try:
        requests, skip = sensor.evaluate(context)
    except Exception as exc:  # the user-code boundary: any error fails the tick
        return finish(instance, tick, TickStatus.FAILURE, error=error_of(exc, where))
    if skip is not None:
        return finish(
            instance, tick, TickStatus.SKIPPED, skip_reason=skip.skip_message, cursor=context.cursor
        )
    new, used = _new_requests(instance, sensor.name, requests)
    try:
        runs = prepare_requests(
            sensor.job,
            new,
            {},
            {SENSOR_NAME_TAG: sensor.name},
            lambda i, r: (
                origin_run_id("sensor", sensor.name, "key", r.run_key)
                if r.run_key is not None
                else origin_run_id("sensor", sensor.name, "tick", tick.tick_id, i)
            ),
        )
        run_ids = instance.submit_runs(runs, metadata_keys=sensor.job.metadata)
    except DagwrightError as exc:
        return finish(instance, tick, TickStatus.FAILURE, error=error_of(exc, where))
    keyed = {
        r.run_key: run_id for r, run_id in zip(new, run_ids, strict=True) if r.run_key is not None
    }
    instance.storage.schedules.add_run_keys(sensor.name, keyed, tick.timestamp)
    outcome: dict[str, object] = {
        "run_ids": tuple(run_ids),
        "run_keys": tuple(keyed),
        "skipped_run_keys": tuple(used),
        "cursor": context.cursor,
    }
    if not run_ids:
        reason = f"{len(used)} run key(s) already used: {', '.join(used[:5])}"
        return finish(instance, tick, TickStatus.SKIPPED, skip_reason=reason, **outcome)
    return finish(instance, tick, TickStatus.SUCCESS, **outcome)


def _new_requests(
    instance: Instance, sensor_name: str, requests: list[RunRequest]
) -> tuple[list[RunRequest], list[str]]:
    """The requests to run (first of each run key, keys not used before), and the keys
    skipped because the sensor used them already (one lookup for all keys)."""
    keys = [r.run_key for r in requests if r.run_key is not None]
    used_before = instance.storage.schedules.get_used_run_keys(sensor_name, keys)
    new: list[RunRequest] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for request in requests:
        key = request.run_key
        if key is not None and (key in used_before or key in seen):
            skipped.append(key)
            continue
        if key is not None:
            seen.add(key)
        new.append(request)
    return new, skipped


class SensorDaemon:
    """Each pass: evaluate every running sensor whose interval has passed
    (:func:`tick_sensor`); a failing sensor is logged and the others go on."""

    name = "sensors"

    def __init__(
        self, instance: Instance, definitions: Definitions, interval_seconds: float = 1.0
    ) -> None:
        self._instance = instance
        self._definitions = definitions
        self.interval_seconds = interval_seconds

    def run_iteration(self, now: float) -> None:
        """Evaluate the sensors due at ``now`` (seconds since the epoch)."""
        states = self._instance.get_instigator_states(_KIND, definitions=self._definitions)
        for state in states:
            sensor = self._definitions.sensors[state.name]
            if state.status is not InstigatorStatus.RUNNING:
                continue
            last = state.last_tick_at
            if last is not None and now - last < sensor.minimum_interval_seconds:
                continue
            try:
                tick = tick_sensor(self._instance, sensor, now, state)
            except Exception:  # storage trouble: log, and try again next pass
                log.exception("sensors: %s: tick failed", sensor.name)
                continue
            log.info(
                "sensors: %s tick: %s %s",
                sensor.name,
                tick.status.value,
                tick.describe(),
            )
