"""celery_executor, its options, and the tags it reads, at definition and submit time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tests.jobs import celery_jobs

from dagwright import (
    DagwrightDefinitionError,
    DagwrightInvalidTagError,
    Instance,
    RunsFilter,
    job,
    op,
)
from dagwright.celery import CeleryExecutorDefinition, celery_executor


def test_configured_by_keywords_and_by_dagster_dict() -> None:
    by_keywords = celery_executor.configured(
        broker_url="redis://h:6379/1", default_queue="etl", default_priority=7
    )
    by_dict = celery_executor.configured(
        {"broker": "redis://h:6379/1", "default_queue": "etl", "default_priority": 7}
    )
    assert by_keywords == by_dict
    assert isinstance(by_dict, CeleryExecutorDefinition) and by_dict.name == "celery"
    assert celery_executor.broker_url is None  # the original is unchanged


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"max_concurrent": 2}, "no option 'max_concurrent'"),
        ({"backend": "x"}, "no option 'backend'"),
        ({"default_priority": "high"}, "default_priority must be an integer"),
        ({"default_priority": True}, "default_priority must be an integer"),
        ({"default_queue": "two words"}, "default_queue must be a non-empty string"),
        ({"broker_url": ""}, "broker_url must be a non-empty string"),
    ],
)
def test_bad_options_are_definition_errors(options: dict[str, object], words: str) -> None:
    with pytest.raises(DagwrightDefinitionError, match=words):
        celery_executor.configured(options)


@pytest.mark.parametrize(
    "tags",
    [
        {"dagwright-celery/priority": "soon"},
        {"dagwright-celery/priority": 1.5},
        {"dagwright-celery/queue": ""},
        {"dagwright-celery/run_priority": "x"},
    ],
)
def test_bad_celery_op_tags_fail_at_definition_time(tags: dict[str, object]) -> None:
    with pytest.raises(DagwrightInvalidTagError) as info:

        @op(tags=tags)
        def routed() -> None: ...

    assert info.value.key == next(iter(tags)) and "op 'routed'" in info.value.rule


def test_bad_celery_job_tags_fail_at_definition_time() -> None:
    with pytest.raises(DagwrightInvalidTagError):

        @job(executor_def=celery_executor, tags={"dagwright-celery/run_priority": "top"})
        def tagged() -> None:
            celery_jobs.extract()


@pytest.mark.parametrize(
    "tags", [{"dagwright-celery/run_priority": "x"}, {"dagwright-celery/queue": "a b"}]
)
def test_bad_celery_run_tags_fail_at_submit_and_store_nothing(
    tmp_path: Path, tags: dict[str, str]
) -> None:
    with Instance.from_home(tmp_path / "home") as instance:
        with pytest.raises(DagwrightInvalidTagError) as info:
            instance.submit_run(celery_jobs.two_queues, tags=tags)
        assert info.value.key == next(iter(tags))
        assert instance.get_runs_count(RunsFilter()) == 0


def test_import_dagwright_and_the_executor_do_not_import_celery() -> None:
    code = (
        "import sys, dagwright\n"
        "from dagwright.celery import celery_executor\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('celery', 'kombu')]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
