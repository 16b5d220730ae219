"""Records of schedules and sensors at work: their stored state and their ticks.

Frozen data with a ``to_json()`` that the CLI's ``--json`` prints and the HTTP API
returns. Timestamps are float seconds since the epoch (UTC).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from dagwright.definitions.schedule import ScheduleDefinition
    from dagwright.definitions.sensor import SensorDefinition


class InstigatorKind(str, Enum):
    """What makes runs on its own: a schedule or a sensor."""

    SCHEDULE = "schedule"
    SENSOR = "sensor"


class InstigatorStatus(str, Enum):
    """Whether the daemon evaluates a schedule or sensor (set by start/stop)."""

    RUNNING = "RUNNING"
    STOPPED = "STOPPED"


class TickStatus(str, Enum):
    """The outcome of one evaluation. ``STARTED``: being evaluated (or interrupted)."""

    STARTED = "STARTED"
    SUCCESS = "SUCCESS"
    SKIPPED = "SKIPPED"
    FAILURE = "FAILURE"


@dataclass(frozen=True)
class TickError:
    """Why a tick failed: a one-line message and, for user code, the traceback."""

    message: str
    traceback: str | None = None

    def to_json(self) -> dict[str, Any]:
        """``{"message", "traceback"}``."""
        return {"message": self.message, "traceback": self.traceback}


@dataclass(frozen=True)
class Tick:
    """One evaluation of a schedule or sensor.

    Attributes:
        tick_id: storage id; newer ticks have larger ids (the ``before`` cursor).
        name: the schedule's or sensor's name.
        kind: schedule or sensor.
        status: STARTED, SUCCESS, SKIPPED or FAILURE.
        timestamp: a schedule's scheduled time, or when a sensor was evaluated.
        run_ids: the runs it submitted (or found submitted by an earlier attempt).
        run_keys: the run keys of those runs (sensors).
        skipped_run_keys: run keys the sensor asked for that were used before.
        skip_reason: why no run was asked for.
        error: why it failed.
        cursor: the sensor's cursor after the tick.
        ended_at: when it finished (None while STARTED).
    """

    tick_id: int
    name: str
    kind: InstigatorKind
    status: TickStatus
    timestamp: float
    run_ids: tuple[str, ...] = ()
    run_keys: tuple[str, ...] = ()
    skipped_run_keys: tuple[str, ...] = ()
    skip_reason: str | None = None
    error: TickError | None = None
    cursor: str | None = None
    ended_at: float | None = None

    def describe(self) -> str:
        """Its outcome in a few words: the runs, why it skipped, or its error."""
        if self.status is TickStatus.SUCCESS:
            return f"{len(self.run_ids)} run(s): {', '.join(self.run_ids)}"
        if self.status is TickStatus.SKIPPED:
            return self.skip_reason or "no run requested"
        if self.status is TickStatus.FAILURE and self.error is not None:
            return self.error.message
        return str(self.status.value)

    def to_json(self) -> dict[str, Any]:
        """The tick as the CLI (``--json``) and the HTTP API show it."""
        return {
            "tick_id": self.tick_id,
            "name": self.name,
            "kind": self.kind.value,
            "status": self.status.value,
            "timestamp": self.timestamp,
            "run_ids": list(self.run_ids),
            "run_keys": list(self.run_keys),
            "skipped_run_keys": list(self.skipped_run_keys),
            "skip_reason": self.skip_reason,
            "error": self.error.to_json() if self.error is not None else None,
            "cursor": self.cursor,
            "ended_at": self.ended_at,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Tick:
        """Inverse of :meth:`to_json`."""
        error = data.get("error")
        return cls(
            tick_id=int(data["tick_id"]),
            name=data["name"],
            kind=InstigatorKind(data["kind"]),
            status=TickStatus(data["status"]),
            timestamp=float(data["timestamp"]),
            run_ids=tuple(data.get("run_ids") or ()),
            run_keys=tuple(data.get("run_keys") or ()),
            skipped_run_keys=tuple(data.get("skipped_run_keys") or ()),
            skip_reason=data.get("skip_reason"),
            error=TickError(error["message"], error.get("traceback")) if error else None,
            cursor=data.get("cursor"),
            ended_at=data.get("ended_at"),
        )


@dataclass(frozen=True)
class InstigatorState:
    """The stored state of a schedule or sensor.

    Attributes:
        name: the schedule's or sensor's name.
        kind: schedule or sensor.
        status: RUNNING or STOPPED (persisted by start/stop; before that, the
            definition's default status).
        cursor: a sensor's cursor.
        last_tick_at: a schedule's last evaluated scheduled time, or when a sensor was
            last evaluated; None if never.
        updated_at: when the state last changed.
        stored: whether the state is in storage (False: derived from a definition).
    """

    name: str
    kind: InstigatorKind
    status: InstigatorStatus
    cursor: str | None = None
    last_tick_at: float | None = None
    updated_at: float | None = None
    stored: bool = True

    def to_json(self) -> dict[str, Any]:
        """The state as the CLI (``--json``) and the HTTP API show it."""
        return {
            "name": self.name,
            "kind": self.kind.value,
            "status": self.status.value,
            "cursor": self.cursor,
            "last_tick_at": self.last_tick_at,
            "updated_at": self.updated_at,
            "stored": self.stored,
        }


@dataclass(frozen=True)
class Instigator:
    """A schedule or sensor of the loaded code with its state and newest ticks
    (:meth:`dagwright.Instance.get_instigators`).

    Attributes:
        definition: the schedule or sensor.
        state: its stored state (or the one its ``default_status`` gives).
        ticks: its newest ticks, newest first.
    """

    definition: ScheduleDefinition | SensorDefinition
    state: InstigatorState
    ticks: list[Tick]

    def to_json(self, now: float) -> dict[str, Any]:
        """As ``schedule|sensor list --json`` prints it (see :func:`instigator_json`)."""
        return instigator_json(self.definition, self.state, self.ticks, now)


#: How many of its latest ticks a schedule's or sensor's JSON includes (API and CLI alike).
RECENT_TICKS: Final = 10


def instigator_json(
    defined: ScheduleDefinition | SensorDefinition,
    state: InstigatorState,
    ticks: Sequence[Tick],
    now: float,
) -> dict[str, Any]:
    """A schedule or sensor with its state and recent ticks, as ``schedule|sensor list
    --json`` prints it and the HTTP API returns it: the state's fields, then the
    definition's (a schedule: cron, time zone, tags and the next tick after ``now``; a
    sensor: its minimum interval), then ``ticks``, newest first."""
    from dagwright.definitions.schedule import ScheduleDefinition

    data: dict[str, Any] = {
        **state.to_json(),
        "job_name": defined.job.name,
        "location": defined.job.location_name,
    }
    # "last tick" is the newest stored tick; the state's mark is how far the daemon has
    # evaluated (set when a schedule is started, before any tick ran)
    data["evaluated_through"] = state.last_tick_at
    data["last_tick_at"] = ticks[0].timestamp if ticks else None
    data["description"] = defined.description
    if isinstance(defined, ScheduleDefinition):
        data["cron_schedule"] = defined.cron_schedule
        data["execution_timezone"] = defined.execution_timezone
        data["tags"] = dict(defined.tags)
        data["next_tick_at"] = defined.next_tick_after(now)
    else:
        data["minimum_interval_seconds"] = defined.minimum_interval_seconds
    data["default_status"] = defined.default_status.value
    data["ticks"] = [tick.to_json() for tick in ticks]
    return data
