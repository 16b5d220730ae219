"""``context.add_run_tags`` / ``remove_run_tags``: an op tags its own run, audited."""

from __future__ import annotations

import pytest
from tests.jobs import tagging
from tests.waiting import wait_finished

from dagwright import (
    DagwrightInvalidTagError,
    Instance,
    OpExecutionContext,
    RunStatus,
    job,
    op,
)


def _check(instance: Instance, run_id: str) -> None:
    run = instance.get_run(run_id)
    assert run is not None and run.status is RunStatus.SUCCESS
    assert {k: run.tags.get(k) for k in ("rows", "stage", "done")} == {
        "rows": "1200",
        "stage": None,
        "done": "1200",
    }
    history = instance.get_tag_history(run_id)
    assert [(h["actor"], h["via"]) for h in history] == [
        ("op:count_rows", "op"),
        ("op:finish", "op"),
        ("op:finish", "op"),
    ]
    assert history[1]["changes"] == {"stage": {"old": "counted", "new": None}}


def test_in_process(instance: Instance) -> None:
    result = tagging.tagged.execute_in_process(instance=instance)
    assert result.success
    _check(instance, result.run_id)


@pytest.mark.parametrize("job_def", [tagging.tagged, tagging.tagged_multiprocess])
def test_in_a_launched_worker(instance: Instance, job_def: object) -> None:
    run = instance.submit_run(job_def)  # type: ignore[arg-type]
    wait_finished(instance, run.run_id)
    _check(instance, run.run_id)


@op
def bad(context: OpExecutionContext) -> None:
    for tags in ({"dagwright/priority": 3}, {"dagwright/max_retries": 1}, {"dagwright/image": "x"}):
        with pytest.raises(DagwrightInvalidTagError) as caught:
            context.add_run_tags(tags)
        assert caught.value.key == next(iter(tags))
    with pytest.raises(DagwrightInvalidTagError, match="control tag"):
        context.remove_run_tags(["dagwright/max_runtime"])
    with pytest.raises(DagwrightInvalidTagError, match="system tags"):
        context.remove_run_tags(["dagwright/partition"])


@job
def refuses() -> None:
    bad()


def test_control_and_system_tags_are_refused(instance: Instance) -> None:
    result = refuses.execute_in_process(instance=instance)
    assert result.success
    assert instance.get_tag_history(result.run_id) == []
