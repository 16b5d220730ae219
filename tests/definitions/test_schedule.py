"""Schedules as definitions: options, errors at definition time, calling and evaluating."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from tests.jobs import scheduled, simple

from dagwright import (
    DagwrightDefinitionError,
    DagwrightInvalidTagError,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    SkipReason,
    build_schedule_context,
    schedule,
)


def test_schedule_definition_options() -> None:
    nightly = scheduled.nightly
    assert nightly.name == "nightly" and nightly.job is simple.chain
    assert nightly.execution_timezone == "America/New_York"
    assert nightly.tags == {"source": "schedule", "kind": "nightly"}
    assert nightly.default_status is DefaultScheduleStatus.STOPPED
    plain = ScheduleDefinition(cron_schedule="@daily", job=simple.chain)
    assert plain.name == "chain_schedule" and plain.execution_timezone == "UTC"
    assert plain() == RunRequest()
    assert "chain_schedule" in repr(plain)


def test_a_decorated_schedule_stays_callable() -> None:
    sunday = build_schedule_context(datetime(2026, 1, 4, tzinfo=timezone.utc))
    assert scheduled.hourly(sunday) == SkipReason("no runs on Sundays")
    monday = build_schedule_context(datetime(2026, 1, 5, 5))  # naive: UTC
    assert monday.scheduled_execution_time.tzinfo is timezone.utc
    assert scheduled.hourly(monday) == RunRequest(
        partition_key="2026-01-04", tags={"source": "request"}
    )
    assert scheduled.hourly.description is None
    assert isinstance(build_schedule_context().scheduled_execution_time, datetime)


@pytest.mark.parametrize(
    ("returned", "requests", "skip"),
    [
        (RunRequest(run_key="a"), [RunRequest(run_key="a")], None),
        ([RunRequest(), RunRequest()], [RunRequest()] * 2, None),
        ({"ops": {"x": {}}}, [RunRequest(run_config={"ops": {"x": {}}})], None),
        (SkipReason("quiet"), [], SkipReason("quiet")),
        (None, [], SkipReason("the schedule function returned no run request")),
        ([], [], SkipReason("the schedule function returned no run request")),
        ((r for r in []), [], SkipReason("the schedule function returned no run request")),
        (SkipReason(), [], SkipReason(None)),  # the user's own skip, without a message
    ],
)
def test_evaluate_accepts_what_a_schedule_may_return(
    returned: Any, requests: list[RunRequest], skip: SkipReason | None
) -> None:
    @schedule(cron_schedule="@daily", job=simple.chain)
    def fixed(context: Any) -> Any:
        return returned

    context = fixed.context_at(datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert fixed.evaluate(context) == (requests, skip)


def test_the_context_is_in_the_execution_timezone() -> None:
    context = scheduled.nightly.context_at(datetime(2026, 3, 8, 7, 30, tzinfo=timezone.utc))
    assert context.scheduled_execution_time.isoformat() == "2026-03-08T03:30:00-04:00"


def test_the_next_tick_is_the_next_cron_time_in_the_execution_timezone() -> None:
    def at(*args: int) -> float:
        return datetime(*args, tzinfo=timezone.utc).timestamp()

    nightly = scheduled.nightly  # 02:30 in New York (07:30Z in winter)
    assert nightly.next_tick_after(at(2026, 1, 1)) == at(2026, 1, 1, 7, 30)
    assert nightly.next_tick_after(at(2026, 1, 1, 7, 30)) == at(2026, 1, 2, 7, 30)
    assert nightly.next_tick_after(at(2026, 6, 1)) == at(2026, 6, 1, 6, 30)  # daylight time


def test_a_function_without_context_is_called_without_one() -> None:
    @schedule(cron_schedule="@hourly", job=simple.chain, name="renamed")
    def no_context() -> RunRequest:
        return RunRequest(run_key="k")

    assert no_context.name == "renamed"
    assert no_context() == RunRequest(run_key="k")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"cron_schedule": "nope"}, DagwrightDefinitionError, "schedule 's': invalid cron"),
        ({"execution_timezone": "Nowhere/Town"}, DagwrightDefinitionError, "unknown time zone"),
        ({"tags": {"dagwright/backfill": "x"}}, DagwrightInvalidTagError, r"reserved.*'s'"),
        ({"tags": {"bad key!": "x"}}, DagwrightInvalidTagError, "bad key!"),
        ({"job": "chain"}, DagwrightDefinitionError, "job must be a JobDefinition"),
        ({"run_config": [1]}, DagwrightDefinitionError, "run_config must be a dict"),
        (
            {"run_config": {}, "evaluation_fn": lambda: None},
            DagwrightDefinitionError,
            "run_config or evaluation_fn, not both",
        ),
        ({"name": "has space"}, DagwrightDefinitionError, "must be a Python identifier"),
        ({"default_status": "SOMETIMES"}, ValueError, "SOMETIMES"),
    ],
)
def test_definition_errors_name_the_schedule(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    options: dict[str, Any] = {"name": "s", "cron_schedule": "@daily", "job": simple.chain}
    with pytest.raises(error, match=message):
        ScheduleDefinition(**{**options, **kwargs})


def test_decorator_errors() -> None:
    with pytest.raises(DagwrightDefinitionError, match="needs cron_schedule= and job="):
        schedule(lambda: None)  # type: ignore[call-overload]
    with pytest.raises(DagwrightDefinitionError, match="'f': @schedule needs"):

        @schedule(cron_schedule="@daily")  # type: ignore[call-overload]
        def f() -> None: ...

    with pytest.raises(DagwrightDefinitionError, match="at most one parameter"):

        @schedule(cron_schedule="@daily", job=simple.chain)
        def g(a: int, b: int) -> None: ...
