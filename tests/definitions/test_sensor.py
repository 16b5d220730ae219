"""Sensors as definitions: options, cursor, calling and evaluating."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from tests.jobs import scheduled, simple

from dagwright import (
    DagwrightDefinitionError,
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    build_sensor_context,
    sensor,
)


def test_a_decorated_sensor_stays_callable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(scheduled.FILES_ENV, "eu:a,us:b")
    context = build_sensor_context(cursor="0")
    assert context.cursor == "0"
    produced = scheduled.files(context)
    assert isinstance(produced, Iterator)  # a generator stays one
    assert [r.run_key for r in produced] == ["eu:a", "us:b"]
    assert context.cursor == "2"
    assert scheduled.files.minimum_interval_seconds == 10
    assert scheduled.files.default_status is DefaultSensorStatus.STOPPED
    assert scheduled.files.job.name == "regions"


def test_evaluate_collects_yielded_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(scheduled.FILES_ENV, "asia:c")
    requests, skip = scheduled.files.evaluate(build_sensor_context())
    assert skip is None
    assert requests == [RunRequest(run_key="asia:c", partition_key="asia", tags={"file": "asia:c"})]
    monkeypatch.setenv(scheduled.FILES_ENV, "")
    assert scheduled.files.evaluate(build_sensor_context()) == ([], SkipReason(None))


@pytest.mark.parametrize(
    ("produced", "message"),
    [
        ("a string", "sensor 'odd' returned str"),
        ({"ops": {}}, "sensor 'odd' returned a dict"),
        ([RunRequest(), 3], "sensor 'odd' yielded int"),
        ([RunRequest(), SkipReason("x")], "both RunRequests and a SkipReason"),
    ],
)
def test_a_sensor_giving_something_else_is_an_error(produced: Any, message: str) -> None:
    @sensor(job=simple.chain)
    def odd(context: SensorEvaluationContext) -> Any:
        return produced

    with pytest.raises(DagwrightDefinitionError, match=message):
        odd.evaluate(build_sensor_context())


def test_update_cursor_takes_a_str() -> None:
    with pytest.raises(DagwrightDefinitionError, match="cursor must be a str"):
        build_sensor_context().update_cursor(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"job": None}, "job must be a JobDefinition"),
        ({"minimum_interval_seconds": -1}, "minimum_interval_seconds must be a number >= 0"),
        ({"minimum_interval_seconds": True}, "minimum_interval_seconds"),
        ({"evaluation_fn": "x", "name": "n"}, "needs a function"),
    ],
)
def test_definition_errors_name_the_sensor(kwargs: dict[str, Any], message: str) -> None:
    def watch() -> None:
        return None

    options: dict[str, Any] = {"job": simple.chain, "evaluation_fn": watch}
    with pytest.raises(DagwrightDefinitionError, match=message):
        SensorDefinition(**{**options, **kwargs})


def test_decorator_needs_a_job() -> None:
    with pytest.raises(DagwrightDefinitionError, match="@sensor needs job="):
        sensor(lambda: None)  # type: ignore[call-overload]
    with pytest.raises(DagwrightDefinitionError, match="'w': @sensor needs job="):

        @sensor()  # type: ignore[call-overload]
        def w() -> None: ...


def test_a_sensor_without_context() -> None:
    @sensor(job=simple.chain, default_status=DefaultSensorStatus.RUNNING)
    def plain() -> RunRequest:
        return RunRequest(run_key=os.name)

    assert plain() == RunRequest(run_key=os.name)
    assert plain.default_status is DefaultSensorStatus.RUNNING
