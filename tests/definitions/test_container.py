"""Tests for dagwright.definitions.container: the Definitions a code location exposes."""

from __future__ import annotations

import re
import sys
from typing import Any

import pytest
from tests.jobs import simple

from dagwright import (
    DagwrightCodeLoadError,
    DagwrightDefinitionError,
    DagwrightNotFoundError,
    Definitions,
    JobDefinition,
    ScheduleDefinition,
    graph,
    op,
    sensor,
)
from dagwright.runs.ticks import InstigatorKind


@op
def emit() -> int:
    return 1


@graph
def pipeline() -> None:
    emit()


def test_jobs_by_name_in_the_order_given() -> None:
    defs = Definitions(jobs=[simple.diamond, simple.chain, simple.loader])
    assert list(defs.jobs) == ["diamond", "chain", "loader"]
    assert defs.jobs["chain"] is simple.chain


@pytest.mark.parametrize(
    "jobs",
    [
        pytest.param([], id="list"),
        pytest.param((), id="tuple"),
        pytest.param(iter([]), id="iterator"),
    ],
)
def test_no_jobs(jobs: Any) -> None:
    defs = Definitions(jobs=jobs)
    assert dict(defs.jobs) == {}
    assert dict(defs.schedules) == {}
    assert dict(defs.sensors) == {}


def test_jobs_may_be_any_iterable() -> None:
    defs = Definitions(jobs=(j for j in [simple.chain, simple.diamond]))
    assert list(defs.jobs) == ["chain", "diamond"]


def test_schedules_and_sensors_by_name_bring_their_jobs() -> None:
    nightly = ScheduleDefinition(name="nightly", cron_schedule="0 3 * * *", job=simple.diamond)

    @sensor(job=simple.loader)
    def watch() -> None:
        return None

    defs = Definitions(jobs=[simple.chain], schedules=(nightly,), sensors=iter([watch]))
    assert dict(defs.schedules) == {"nightly": nightly}
    assert dict(defs.sensors) == {"watch": watch}
    assert list(defs.jobs) == ["chain", "diamond", "loader"]
    assert defs.get_schedule("nightly") is nightly and defs.get_sensor("watch") is watch
    assert dict(defs.instigators(InstigatorKind.SCHEDULE)) == {"nightly": nightly}
    assert dict(defs.instigators(InstigatorKind.SENSOR)) == {"watch": watch}
    assert defs.get_instigator(InstigatorKind.SENSOR, "watch") is watch
    with pytest.raises(DagwrightNotFoundError, match="sensor 'x' not found") as info:
        defs.get_sensor("x")
    assert (info.value.what, info.value.name) == ("sensor", "x")
    with pytest.raises(DagwrightNotFoundError, match="schedule 'x' not found"):
        defs.get_schedule("x")
    with pytest.raises(DagwrightNotFoundError, match="schedule 'watch' not found"):
        defs.get_instigator(InstigatorKind.SCHEDULE, "watch")  # a sensor, not a schedule


@pytest.mark.parametrize(("field", "entry"), [("schedules", "s"), ("sensors", simple.chain)])
def test_schedules_and_sensors_must_be_of_their_kind(field: str, entry: Any) -> None:
    with pytest.raises(DagwrightDefinitionError, match=f"Definitions\\({field}=...\\) takes"):
        Definitions(**{field: [entry]})


def test_a_schedule_whose_job_clashes_with_a_listed_job_is_refused() -> None:
    other = pipeline.to_job(name="chain")
    clash = ScheduleDefinition(name="s", cron_schedule="@daily", job=other)
    with pytest.raises(DagwrightDefinitionError, match=r"two jobs are named 'chain'.*schedule"):
        Definitions(jobs=[simple.chain], schedules=[clash])


def test_two_schedules_with_one_name_are_refused() -> None:
    first = ScheduleDefinition(name="s", cron_schedule="@daily", job=simple.chain)
    second = ScheduleDefinition(name="s", cron_schedule="@hourly", job=simple.chain)
    with pytest.raises(DagwrightDefinitionError, match="two schedules are named 's'"):
        Definitions(schedules=[first, second])


def test_the_same_job_twice_is_kept_once() -> None:
    defs = Definitions(jobs=[simple.chain, simple.chain])
    assert list(defs.jobs) == ["chain"]


def test_two_jobs_with_one_name_are_refused() -> None:
    first = pipeline.to_job(name="same")
    second = pipeline.to_job(name="same")
    with pytest.raises(DagwrightDefinitionError, match="two jobs are named 'same'"):
        Definitions(jobs=[first, second])


def test_two_definitions_with_one_name_are_named_by_file_and_line() -> None:
    line = sys._getframe().f_lineno
    first, second = pipeline.to_job(name="same"), pipeline.to_job(name="same")
    one = ScheduleDefinition(name="s", cron_schedule="@daily", job=simple.chain)
    two = ScheduleDefinition(name="s", cron_schedule="@daily", job=simple.chain)
    with pytest.raises(DagwrightDefinitionError) as caught:
        Definitions(jobs=[first, second])
    assert str(caught.value).count(f"{__file__}:{line + 1}") == 2
    sites = f"one defined at {__file__}:{line + 2}, the other at {__file__}:{line + 3}"
    with pytest.raises(DagwrightDefinitionError, match=re.escape(sites)):
        Definitions(schedules=[one, two])


@pytest.mark.parametrize("entry", [pipeline, emit, "chain", None])
def test_entries_must_be_jobs(entry: Any) -> None:
    with pytest.raises(DagwrightDefinitionError) as info:
        Definitions(jobs=[simple.chain, entry])
    assert type(entry).__name__ in str(info.value)


def test_get_job() -> None:
    defs = Definitions(jobs=[simple.chain, simple.diamond])
    assert defs.get_job("diamond") is simple.diamond
    assert isinstance(defs.get_job("chain"), JobDefinition)


@pytest.mark.parametrize(
    ("jobs", "listed"),
    [
        ([simple.chain, simple.diamond], "jobs: chain, diamond"),
        ([], "jobs: none"),
    ],
)
def test_get_job_of_an_unknown_name_lists_the_jobs(jobs: list[JobDefinition], listed: str) -> None:
    with pytest.raises(DagwrightCodeLoadError) as info:
        Definitions(jobs=jobs).get_job("nope")
    assert "'nope'" in str(info.value)
    assert listed in str(info.value)
