"""Tests for dagwright.definitions.container: the Definitions a code location exposes."""

from __future__ import annotations

from typing import Any

import pytest
from tests.jobs import simple

from dagwright import (
    DagwrightCodeLoadError,
    DagwrightDefinitionError,
    Definitions,
    JobDefinition,
    graph,
    op,
)


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
    assert defs.schedules == []
    assert defs.sensors == []


def test_jobs_may_be_any_iterable() -> None:
    defs = Definitions(jobs=(j for j in [simple.chain, simple.diamond]))
    assert list(defs.jobs) == ["chain", "diamond"]


def test_schedules_and_sensors_are_kept_as_lists() -> None:
    defs = Definitions(jobs=[simple.chain], schedules=("s",), sensors=iter(["x", "y"]))
    assert defs.schedules == ["s"]
    assert defs.sensors == ["x", "y"]


def test_the_same_job_twice_is_kept_once() -> None:
    defs = Definitions(jobs=[simple.chain, simple.chain])
    assert list(defs.jobs) == ["chain"]


def test_two_jobs_with_one_name_are_refused() -> None:
    first = pipeline.to_job(name="same")
    second = pipeline.to_job(name="same")
    with pytest.raises(DagwrightDefinitionError, match="two jobs are named 'same'"):
        Definitions(jobs=[first, second])


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
