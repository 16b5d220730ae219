"""``Definitions``: what a code file exposes (jobs, schedules, sensors)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from dagwright.definitions.job import JobDefinition
from dagwright.errors import (
    DagwrightCodeLoadError,
    DagwrightDefinitionError,
    DagwrightNotFoundError,
)

if TYPE_CHECKING:
    from dagwright.definitions.schedule import ScheduleDefinition
    from dagwright.definitions.sensor import SensorDefinition
    from dagwright.runs.ticks import InstigatorKind


T = TypeVar("T")


class Definitions:
    """The jobs, schedules and sensors of one code location.

    The job of every schedule and sensor is included in ``jobs`` even if it was not
    listed there.

    Raises:
        DagwrightDefinitionError: an entry of the wrong kind, two jobs (or two schedules,
            or two sensors) sharing a name, or a schedule or sensor whose job differs from
            the listed job of that name.
    """

    def __init__(
        self,
        jobs: Iterable[JobDefinition] = (),
        schedules: Iterable[ScheduleDefinition] = (),
        sensors: Iterable[SensorDefinition] = (),
    ) -> None:
        from dagwright.definitions.schedule import ScheduleDefinition
        from dagwright.definitions.sensor import SensorDefinition

        self._jobs: dict[str, JobDefinition] = {}
        for job_def in jobs:
            if not isinstance(job_def, JobDefinition):
                raise DagwrightDefinitionError(
                    f"Definitions(jobs=...) takes jobs, not {type(job_def).__name__}"
                )
            self._add_job(job_def, "jobs")
        self._schedules: dict[str, ScheduleDefinition] = _by_name(
            schedules, ScheduleDefinition, "schedules"
        )
        self._sensors: dict[str, SensorDefinition] = _by_name(sensors, SensorDefinition, "sensors")
        for name, schedule_def in self._schedules.items():
            self._add_job(schedule_def.job, f"schedule {name!r}")
        for name, sensor_def in self._sensors.items():
            self._add_job(sensor_def.job, f"sensor {name!r}")

    def _add_job(self, job_def: JobDefinition, source: str) -> None:
        known = self._jobs.get(job_def.name)
        if known is not None and known is not job_def:
            raise DagwrightDefinitionError(
                f"two jobs are named {job_def.name!r}: one defined at {known.defined_in.site}, "
                f"the other at {job_def.defined_in.site} (from {source}); job names must be "
                "unique in a code location"
            )
        self._jobs[job_def.name] = job_def

    @property
    def jobs(self) -> Mapping[str, JobDefinition]:
        """Jobs by name, in the order given (then those of schedules and sensors)."""
        return self._jobs

    @property
    def schedules(self) -> Mapping[str, ScheduleDefinition]:
        """Schedules by name, in the order given."""
        return self._schedules

    @property
    def sensors(self) -> Mapping[str, SensorDefinition]:
        """Sensors by name, in the order given."""
        return self._sensors

    def get_job(self, name: str) -> JobDefinition:
        """The job with this name.

        Raises:
            DagwrightCodeLoadError: there is none; the message lists the jobs that exist.
        """
        return _get(self._jobs, name, "job")

    def jobs_named(self, name: str, location_name: str | None = None) -> list[JobDefinition]:
        """The jobs called ``name`` (at most one here; a workspace may hold several, those
        of ``location_name`` first)."""
        job_def = self._jobs.get(name)
        return [job_def] if job_def is not None else []

    def reference(self, job_def: JobDefinition) -> str:
        """How ``job_def`` is addressed here (``jobs`` key): its name (a workspace says
        ``name@location`` when the name is in several locations)."""
        return job_def.name

    def instigators(
        self, kind: InstigatorKind
    ) -> Mapping[str, ScheduleDefinition | SensorDefinition]:
        """The schedules or the sensors by name, in the order given."""
        from dagwright.runs.ticks import InstigatorKind  # loaded already: the caller has a kind

        return self._schedules if kind is InstigatorKind.SCHEDULE else self._sensors

    def get_instigator(
        self, kind: InstigatorKind, name: str
    ) -> ScheduleDefinition | SensorDefinition:
        """The schedule or sensor (as ``kind`` says) with this name.

        Raises:
            DagwrightNotFoundError: there is none (``what`` is the kind).
        """
        return _find(self.instigators(kind), kind.value, name)

    def get_schedule(self, name: str) -> ScheduleDefinition:
        """The schedule with this name.

        Raises:
            DagwrightNotFoundError: there is none.
        """
        return _find(self._schedules, "schedule", name)

    def get_sensor(self, name: str) -> SensorDefinition:
        """The sensor with this name.

        Raises:
            DagwrightNotFoundError: there is none.
        """
        return _find(self._sensors, "sensor", name)


def _by_name(items: Iterable[object], kind: type, what: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in items:
        if not isinstance(item, kind):
            raise DagwrightDefinitionError(
                f"Definitions({what}=...) takes {kind.__name__}, not {type(item).__name__}"
            )
        name = item.name  # type: ignore[attr-defined]
        if name in found and found[name] is not item:
            raise DagwrightDefinitionError(
                f"two {what} are named {name!r}: one defined at {_site(found[name])}, the "
                f"other at {_site(item)}; {what[:-1]} names must be unique in a code location"
            )
        found[name] = item
    return found


def _site(item: object) -> str:
    return str(getattr(item, "defined_at", "<unknown>"))


def _get(items: Mapping[str, T], name: str, what: str) -> T:
    try:
        return items[name]
    except KeyError:
        known = ", ".join(items) or "none"
        raise DagwrightCodeLoadError(f"no {what} named {name!r} ({what}s: {known})") from None


def _find(items: Mapping[str, T], what: str, name: str) -> T:
    try:
        return items[name]
    except KeyError:
        raise DagwrightNotFoundError(what, name) from None
