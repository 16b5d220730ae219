"""Sensors: a function of ``context`` evaluated every so often, asking for runs of a job.

It returns or yields ``RunRequest`` (with a ``run_key``: a key that sensor already used is
skipped) or a ``SkipReason``, and keeps its place in ``context.cursor`` /
``context.update_cursor()``. Pure: no storage.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, overload

from dagwright.definitions.job import JobDefinition, user_site
from dagwright.definitions.op import _check_name
from dagwright.definitions.run_request import (
    RunRequest,
    SkipReason,
    collect_requests,
    takes_context,
)
from dagwright.errors import DagwrightDefinitionError

if TYPE_CHECKING:
    from dagwright.instance import Instance

__all__ = [
    "DefaultSensorStatus",
    "SensorDefinition",
    "SensorEvaluationContext",
    "build_sensor_context",
    "sensor",
]

#: How often a sensor is evaluated unless it says otherwise (seconds).
DEFAULT_MINIMUM_INTERVAL_SECONDS = 30


class DefaultSensorStatus(str, Enum):
    """Whether a sensor runs before anyone starts or stops it."""

    RUNNING = "RUNNING"
    STOPPED = "STOPPED"


class SensorEvaluationContext:
    """What a sensor function sees on a tick.

    Attributes:
        cursor: the string the sensor stored with ``update_cursor`` (None at first).
        last_tick_time: when the sensor was last evaluated (aware UTC), if ever.
        instance: the instance the tick runs in (None in unit tests).
    """

    __slots__ = ("_cursor", "instance", "last_tick_time")

    def __init__(
        self,
        cursor: str | None = None,
        last_tick_time: datetime | None = None,
        instance: Instance | None = None,
    ) -> None:
        self._cursor = cursor
        self.last_tick_time = last_tick_time
        self.instance = instance

    @property
    def cursor(self) -> str | None:
        """The sensor's cursor (as updated during this evaluation)."""
        return self._cursor

    def update_cursor(self, cursor: str | None) -> None:
        """Store ``cursor`` for the next evaluation (kept only if the tick succeeds).

        Raises:
            DagwrightDefinitionError: it is not a str (or None).
        """
        if cursor is not None and not isinstance(cursor, str):
            raise DagwrightDefinitionError(
                f"a sensor cursor must be a str, got {type(cursor).__name__}"
            )
        self._cursor = cursor


def build_sensor_context(
    cursor: str | None = None,
    last_tick_time: datetime | None = None,
    instance: Instance | None = None,
) -> SensorEvaluationContext:
    """A context for unit-testing a sensor function."""
    return SensorEvaluationContext(cursor, last_tick_time, instance)


SensorFunction = Callable[..., Any]


class SensorDefinition:
    """A function evaluated every ``minimum_interval_seconds`` that asks for runs of a job.

    Args:
        name: unique among sensors (default: the function's name).
        job: the job its ``RunRequest``s run.
        evaluation_fn: a function of ``context`` returning or yielding ``RunRequest`` or
            ``SkipReason``.
        minimum_interval_seconds: at least this long between evaluations (default 30).
        default_status: ``RUNNING`` or ``STOPPED`` (default) until started or stopped.
        description: shown in the UI.

    Raises:
        DagwrightDefinitionError: an invalid name, job, function or interval.
    """

    def __init__(
        self,
        name: str | None = None,
        *,
        job: JobDefinition,
        evaluation_fn: SensorFunction,
        minimum_interval_seconds: float = DEFAULT_MINIMUM_INTERVAL_SECONDS,
        default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
        description: str | None = None,
    ) -> None:
        self.name = _check_name(name or getattr(evaluation_fn, "__name__", None), "sensor")
        what = f"sensor {self.name!r}"
        if not isinstance(job, JobDefinition):
            raise DagwrightDefinitionError(
                f"{what}: job must be a JobDefinition, got {type(job).__name__}"
            )
        if not callable(evaluation_fn):
            raise DagwrightDefinitionError(f"{what}: needs a function")
        interval = minimum_interval_seconds
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval < 0:
            raise DagwrightDefinitionError(
                f"{what}: minimum_interval_seconds must be a number >= 0, got {interval!r}"
            )
        self.job = job
        self.minimum_interval_seconds = float(interval)
        self.default_status = DefaultSensorStatus(default_status)
        self.description = description
        self._fn = evaluation_fn
        self._fn_takes_context = takes_context(evaluation_fn, what)
        #: ``file:line`` where the sensor was defined (names it in errors).
        self.defined_at = user_site()

    def __call__(self, context: SensorEvaluationContext | None = None) -> Any:
        """Call the sensor's function; returns what it returns (a generator stays one)."""
        if self._fn_takes_context:
            return self._fn(context if context is not None else build_sensor_context())
        return self._fn()

    def evaluate(
        self, context: SensorEvaluationContext
    ) -> tuple[list[RunRequest], SkipReason | None]:
        """Run the function once and check what it gave (a generator is consumed).

        Raises:
            DagwrightDefinitionError: it gave something that is not a request.
            Exception: whatever the user's function raised (the tick records it).
        """
        return collect_requests(self(context), f"sensor {self.name!r}")

    def __repr__(self) -> str:
        return f"SensorDefinition({self.name!r}, job={self.job.name!r})"


@overload
def sensor(fn: SensorFunction, /) -> SensorDefinition: ...


@overload
def sensor(
    *,
    job: JobDefinition,
    name: str | None = None,
    minimum_interval_seconds: float = DEFAULT_MINIMUM_INTERVAL_SECONDS,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
    description: str | None = None,
) -> Callable[[SensorFunction], SensorDefinition]: ...


def sensor(
    fn: SensorFunction | None = None,
    /,
    *,
    job: JobDefinition | None = None,
    name: str | None = None,
    minimum_interval_seconds: float = DEFAULT_MINIMUM_INTERVAL_SECONDS,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
    description: str | None = None,
) -> SensorDefinition | Callable[[SensorFunction], SensorDefinition]:
    """Make a sensor of a function of ``context`` (``@sensor(job=...)``).

    Raises:
        DagwrightDefinitionError: as :class:`SensorDefinition`.
    """
    if fn is not None:
        raise DagwrightDefinitionError("@sensor needs job=")

    def decorate(body: SensorFunction) -> SensorDefinition:
        if job is None:
            raise DagwrightDefinitionError(f"sensor {name or body.__name__!r}: @sensor needs job=")
        return SensorDefinition(
            name or body.__name__,
            job=job,
            evaluation_fn=body,
            minimum_interval_seconds=minimum_interval_seconds,
            default_status=default_status,
            description=description or body.__doc__,
        )

    return decorate
