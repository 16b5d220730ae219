"""Schedules: a job run on a cron schedule, in a time zone.

``ScheduleDefinition(...)`` runs its job with fixed config and tags; ``@schedule(...)`` on
a function of ``context`` decides per tick (a ``RunRequest``, several, a run-config dict,
or a ``SkipReason``). The cron and daylight-saving rules are in
:mod:`dagwright.definitions.cron`. Pure: no storage.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from enum import Enum
from typing import TYPE_CHECKING, Any, Final, overload

from dagwright.definitions.cron import CronSchedule
from dagwright.definitions.job import JobDefinition, user_site
from dagwright.definitions.op import _check_name
from dagwright.definitions.run_request import (
    RunRequest,
    SkipReason,
    collect_requests,
    takes_context,
)
from dagwright.errors import DagwrightDefinitionError, DagwrightInvalidTagError
from dagwright.tags import normalize_tags

if TYPE_CHECKING:
    from dagwright.instance import Instance

__all__ = [
    "DefaultScheduleStatus",
    "ScheduleDefinition",
    "ScheduleEvaluationContext",
    "build_schedule_context",
    "schedule",
]

#: The skip reason of a tick whose schedule function returned nothing (no request, no
#: ``SkipReason``).
NO_REQUEST_REASON: Final = "the schedule function returned no run request"


class DefaultScheduleStatus(str, Enum):
    """Whether a schedule runs before anyone starts or stops it."""

    RUNNING = "RUNNING"
    STOPPED = "STOPPED"


class ScheduleEvaluationContext:
    """What a schedule function sees on a tick.

    Attributes:
        scheduled_execution_time: the tick's time, aware, in the schedule's time zone.
        instance: the instance the tick runs in (None in unit tests).
    """

    __slots__ = ("instance", "scheduled_execution_time")

    def __init__(self, scheduled_execution_time: datetime, instance: Instance | None = None):
        self.scheduled_execution_time = scheduled_execution_time
        self.instance = instance


def build_schedule_context(
    scheduled_execution_time: datetime | None = None, instance: Instance | None = None
) -> ScheduleEvaluationContext:
    """A context for unit-testing a schedule function.

    Args:
        scheduled_execution_time: the tick time (default now, UTC); naive means UTC.
        instance: an instance, if the function uses one.
    """
    when = scheduled_execution_time or datetime.now(timezone.utc)
    if when.tzinfo is None or when.utcoffset() is None:
        when = when.replace(tzinfo=timezone.utc)
    return ScheduleEvaluationContext(when, instance)


ScheduleFunction = Callable[..., Any]


class ScheduleDefinition:
    """A job run on a cron schedule.

    Args:
        name: unique among schedules (default: ``<job>_schedule``, or the function name).
        cron_schedule: five-field cron, matched on wall-clock time in ``execution_timezone``.
        job: the job to run.
        run_config: config of each run (default: the job's); not with ``evaluation_fn``.
        tags: tags of each run, merged over the job's.
        execution_timezone: IANA name (default ``UTC``).
        default_status: ``RUNNING`` or ``STOPPED`` (default) until started or stopped.
        description: shown in the UI.
        evaluation_fn: a function of ``context`` deciding each tick (``@schedule``).

    Raises:
        DagwrightDefinitionError: an invalid name, cron schedule, time zone, job or run
            config (or ``DagwrightInvalidTagError`` for a bad tag), naming the schedule.
    """

    def __init__(  # noqa: PLR0913 - one keyword per public schedule option
        self,
        name: str | None = None,
        *,
        cron_schedule: str,
        job: JobDefinition,
        run_config: Mapping[str, Any] | None = None,
        tags: Mapping[str, object] | None = None,
        execution_timezone: str | None = None,
        default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
        description: str | None = None,
        evaluation_fn: ScheduleFunction | None = None,
    ) -> None:
        if not isinstance(job, JobDefinition):
            raise DagwrightDefinitionError(
                f"schedule {name!r}: job must be a JobDefinition, got {type(job).__name__}"
            )
        self.name = _check_name(name or f"{job.name}_schedule", "schedule")
        what = f"schedule {self.name!r}"
        self.job = job
        self.execution_timezone = execution_timezone or "UTC"
        self.cron = CronSchedule(cron_schedule, self.execution_timezone, what)
        self.cron_schedule = cron_schedule
        if run_config is not None and not isinstance(run_config, Mapping):
            raise DagwrightDefinitionError(f"{what}: run_config must be a dict")
        if run_config is not None and evaluation_fn is not None:
            raise DagwrightDefinitionError(
                f"{what}: give run_config or evaluation_fn, not both (the function's "
                "RunRequests carry their run config)"
            )
        self.run_config = run_config
        self.tags = _definition_tags(tags, what)
        self.default_status = DefaultScheduleStatus(default_status)
        self.description = description
        self._fn = evaluation_fn
        self._fn_takes_context = evaluation_fn is not None and takes_context(evaluation_fn, what)
        #: ``file:line`` where the schedule was defined (names it in errors).
        self.defined_at = user_site()

    def next_tick_after(self, now: float) -> float:
        """When the schedule next ticks after ``now`` (its cron in its time zone); both
        are Unix timestamps."""
        return self.cron.next_after(datetime.fromtimestamp(now, tz=timezone.utc)).timestamp()

    def __call__(self, context: ScheduleEvaluationContext | None = None) -> Any:
        """Call the schedule's function (what it returns, as it returns it); a
        ``ScheduleDefinition`` without one returns its ``RunRequest``."""
        if self._fn is None:
            return RunRequest(run_config=self.run_config)
        if self._fn_takes_context:
            return self._fn(context if context is not None else build_schedule_context())
        return self._fn()

    def evaluate(
        self, context: ScheduleEvaluationContext
    ) -> tuple[list[RunRequest], SkipReason | None]:
        """Run the function for one tick and check what it gave.

        Raises:
            DagwrightDefinitionError: it returned something that is not a request.
            Exception: whatever the user's function raised (the tick records it).
        """
        return collect_requests(
            self(context), f"schedule {self.name!r}", config_dicts=True, nothing=NO_REQUEST_REASON
        )

    def context_at(
        self, tick: datetime, instance: Instance | None = None
    ) -> ScheduleEvaluationContext:
        """The context of the tick at instant ``tick``, in the schedule's time zone."""
        return ScheduleEvaluationContext(tick.astimezone(self.cron.tz), instance)

    def __repr__(self) -> str:
        return (
            f"ScheduleDefinition({self.name!r}, cron_schedule={self.cron_schedule!r}, "
            f"job={self.job.name!r}, execution_timezone={self.execution_timezone!r})"
        )


def _definition_tags(tags: Mapping[str, object] | None, what: str) -> dict[str, str]:
    try:
        return normalize_tags(tags)
    except DagwrightInvalidTagError as exc:
        raise DagwrightInvalidTagError(exc.key, f"{exc.rule} ({what})") from None


@overload
def schedule(fn: ScheduleFunction, /) -> ScheduleDefinition: ...


@overload
def schedule(
    *,
    cron_schedule: str,
    job: JobDefinition,
    name: str | None = None,
    tags: Mapping[str, object] | None = None,
    execution_timezone: str | None = None,
    default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
    description: str | None = None,
) -> Callable[[ScheduleFunction], ScheduleDefinition]: ...


def schedule(
    fn: ScheduleFunction | None = None,
    /,
    *,
    cron_schedule: str | None = None,
    job: JobDefinition | None = None,
    name: str | None = None,
    tags: Mapping[str, object] | None = None,
    execution_timezone: str | None = None,
    default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
    description: str | None = None,
) -> ScheduleDefinition | Callable[[ScheduleFunction], ScheduleDefinition]:
    """Make a schedule of a function of ``context`` (``@schedule(cron_schedule=, job=)``).

    The function returns a ``RunRequest``, a list of them, a run-config dict or a
    ``SkipReason``; the definition stays callable with a context.

    Raises:
        DagwrightDefinitionError: as :class:`ScheduleDefinition`.
    """
    if fn is not None:
        raise DagwrightDefinitionError("@schedule needs cron_schedule= and job=")

    def decorate(body: ScheduleFunction) -> ScheduleDefinition:
        if cron_schedule is None or job is None:
            raise DagwrightDefinitionError(
                f"schedule {name or body.__name__!r}: @schedule needs cron_schedule= and job="
            )
        return ScheduleDefinition(
            name or body.__name__,
            cron_schedule=cron_schedule,
            job=job,
            tags=tags,
            execution_timezone=execution_timezone,
            default_status=default_status,
            description=description or body.__doc__,
            evaluation_fn=body,
        )

    return decorate
