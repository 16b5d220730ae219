"""Re-execution: ALL_STEPS and FROM_FAILURE children, their tags and lineage, refusals.

The job lives in ``tests/jobs/flaky.py`` (importable, so ``reexecute`` loads it from the
parent's code pointer); ``unstable`` fails until the flag file exists.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from tests.jobs.flaky import flaky, nested_flaky

from dagwright import (
    DagwrightCodeLoadError,
    DagwrightExecutionError,
    DagwrightInvalidTagError,
    DagwrightInvalidTransitionError,
    Event,
    EventType,
    Instance,
    Run,
    RunStatus,
)
from dagwright.definitions.composition import NodeOutput
from dagwright.definitions.job import JobDefinition
from dagwright.execution.in_process import execute_job_in_process
from dagwright.runs.reexecution import KEPT_SYSTEM_TAGS, prepare_reexecution, succeeded_steps
from dagwright.runs.request import prepare_run

EMIT = NodeOutput("emit", "result")


def _started(instance: Instance, run_id: str) -> list[str]:
    return [
        e.step_key or ""
        for e in instance.get_events(run_id)
        if e.event_type is EventType.STEP_START
    ]


def _execute(job_def: JobDefinition, instance: Instance, **kwargs: Any) -> Run:
    """Execute in process and store the outputs, as ``dagwright job execute`` does."""
    options: dict[str, Any] = {
        "run_config": None,
        "tags": None,
        "op_selection": None,
        "partition_key": None,
    }
    options.update(kwargs)
    return execute_job_in_process(
        job_def, instance=instance, raise_on_error=False, store_outputs=True, **options
    ).run


def _reexecution_events(instance: Instance, run_id: str) -> list[Event]:
    """ENGINE events of a re-execution (not the launcher's 'started run worker')."""
    return [
        e
        for e in instance.get_events(run_id)
        if e.event_type is EventType.ENGINE and "pid" not in e.data
    ]


def reexecuted(instance: Instance, run_id: str, **kwargs: Any) -> Run:
    """Re-execute (launched in a worker process) and wait for the child to end."""
    child = instance.reexecute(run_id, **kwargs)
    deadline = time.monotonic() + 60
    while not child.status.is_finished:
        assert time.monotonic() < deadline, f"run {child.run_id} did not finish"
        time.sleep(0.02)
        found = instance.get_run(child.run_id)
        assert found is not None
        child = found
    return child


def _failed_parent(instance: Instance, **kwargs: Any) -> Run:
    run = _execute(flaky, instance, **kwargs)
    assert run.status is RunStatus.FAILURE
    return run


def test_all_steps_reruns_everything(instance: Instance, flag: Path) -> None:
    parent = _failed_parent(instance, run_config={})
    flag.touch()
    child = reexecuted(instance, parent.run_id)
    assert child.status is RunStatus.SUCCESS
    assert child.parent_run_id == child.root_run_id == parent.run_id
    assert sorted(_started(instance, child.run_id)) == ["after", "emit", "steady", "unstable"]
    assert instance.outputs.get(child.run_id, NodeOutput("after", "result")) == 21
    assert not _reexecution_events(instance, child.run_id)


def test_from_failure_reruns_failed_and_skipped_steps_from_stored_outputs(
    any_instance: Instance, flag: Path
) -> None:
    instance = any_instance
    parent = _failed_parent(instance)
    instance.outputs.put(parent.run_id, EMIT, 5)  # proves the child reads the store
    flag.touch()
    child = reexecuted(instance, parent.run_id, from_failure=True)
    assert child.status is RunStatus.SUCCESS
    assert child.parent_run_id == parent.run_id
    assert _started(instance, child.run_id) == ["unstable", "after"]
    engine = _reexecution_events(instance, child.run_id)
    assert engine[0].data["reused_steps"] == ["emit", "steady"]
    assert engine[1].message == f"loaded output 'result' of op 'emit' from run {parent.run_id}"
    assert len(engine) == 2
    assert instance.outputs.get(child.run_id, NodeOutput("after", "result")) == 51
    assert instance.outputs.get(child.run_id, EMIT) == 5  # copied: the child stands alone


def test_a_grandchild_keeps_the_root_and_what_its_parent_reused(instance: Instance) -> None:
    parent = _failed_parent(instance)
    child = reexecuted(instance, parent.run_id, from_failure=True)
    assert child.status is RunStatus.FAILURE
    instance.delete_run(parent.run_id)
    grandchild = reexecuted(instance, child.run_id, from_failure=True)
    assert grandchild.parent_run_id == child.run_id
    assert grandchild.root_run_id == parent.run_id
    assert grandchild.tags["dagwright/root_run_id"] == parent.run_id
    assert grandchild.tags["dagwright/parent_run_id"] == child.run_id
    assert _started(instance, grandchild.run_id) == ["unstable"]
    events = instance.get_events(grandchild.run_id)
    assert succeeded_steps(events) == {"emit", "steady"}
    assert (
        f"re-executing run {child.run_id}"
        in _reexecution_events(instance, grandchild.run_id)[0].message
    )


def test_child_tags(instance: Instance, flag: Path) -> None:
    parent = _failed_parent(
        instance,
        tags={"owner": "ana", "env": "dev", "dagwright/priority": "3"},
        partition_key="eu",
    )
    instance.set_system_tags(
        parent.run_id, {"dagwright/schedule_name": "nightly", "dagwright/backfill": "b1"}
    )
    flag.touch()
    child = reexecuted(instance, parent.run_id, from_failure=True, tags={"env": "prod", "n": 2})
    assert dict(child.tags) == {
        "team": "data",
        "owner": "ana",
        "env": "prod",
        "n": "2",
        "dagwright/priority": "3",
        "dagwright/partition": "eu",
        "dagwright/parent_run_id": parent.run_id,
        "dagwright/root_run_id": parent.run_id,
    }
    assert all(child.tags[key] == parent.tags[key] for key in KEPT_SYSTEM_TAGS & set(parent.tags))
    stored = instance.get_run(child.run_id)
    assert stored is not None and stored.tags == child.tags
    assert stored.parent_run_id == parent.run_id and stored.root_run_id == parent.run_id
    with pytest.raises(DagwrightInvalidTagError, match="reserved"):
        instance.reexecute(parent.run_id, tags={"dagwright/backfill": "b2"})


def test_an_op_selection_parent(instance: Instance, flag: Path) -> None:
    parent = _failed_parent(instance, op_selection=["emit", "unstable+"])
    assert _started(instance, parent.run_id) == ["emit", "unstable"]
    flag.touch()
    child = reexecuted(instance, parent.run_id, from_failure=True)
    assert child.op_selection == ("emit", "unstable+")
    assert child.tags["dagwright/op_selection"] == '["emit", "unstable+"]'
    assert _started(instance, child.run_id) == ["unstable", "after"]
    again = reexecuted(instance, parent.run_id)
    assert _started(instance, again.run_id) == ["emit", "unstable", "after"]


def test_nested_step_keys(instance: Instance, flag: Path) -> None:
    parent = _execute(nested_flaky, instance)
    flag.touch()
    child = reexecuted(instance, parent.run_id, from_failure=True)
    assert child.status is RunStatus.SUCCESS
    assert _started(instance, child.run_id) == ["stage.unstable", "after"]
    assert instance.outputs.get(child.run_id, NodeOutput("stage.unstable", "result")) == 20


def test_refused_while_the_parent_runs(instance: Instance) -> None:
    prepared = prepare_run(flaky)
    run = instance.add_run(prepared.run)
    instance.handle_event(Event(run.run_id, EventType.RUN_START, time.time()))
    for from_failure in (False, True):
        with pytest.raises(DagwrightInvalidTransitionError, match="STARTED to re-executed"):
            instance.reexecute(run.run_id, from_failure=from_failure)


def test_from_failure_is_refused_for_a_run_that_succeeded(instance: Instance, flag: Path) -> None:
    flag.touch()
    parent = _execute(flaky, instance)
    with pytest.raises(DagwrightInvalidTransitionError, match="SUCCESS to re-executed from"):
        instance.reexecute(parent.run_id, from_failure=True)
    assert reexecuted(instance, parent.run_id).status is RunStatus.SUCCESS
    assert instance.get_runs_count() == 2


def test_refused_when_a_needed_output_is_not_stored(instance: Instance) -> None:
    parent = _failed_parent(instance)
    (instance.outputs.root / parent.run_id / "emit" / "result.pkl").unlink()  # type: ignore[attr-defined]
    with pytest.raises(DagwrightExecutionError) as info:
        instance.reexecute(parent.run_id, from_failure=True)
    assert "no stored output 'result' of op 'emit' (needed by op 'unstable')" in str(info.value)
    assert instance.get_runs_count() == 1


def test_refused_when_every_step_succeeded_in_a_failed_run(instance: Instance) -> None:
    parent = _failed_parent(instance)
    events = instance.get_events(parent.run_id)
    done = [Event(parent.run_id, EventType.STEP_SUCCESS, 0.0, key) for key in ("unstable", "after")]
    with pytest.raises(DagwrightExecutionError, match="nothing to re-execute from failure"):
        prepare_reexecution(
            flaky, parent, [*events, *done], from_failure=True, tags=None, outputs=instance.outputs
        )


def test_the_store_is_read_when_executing(instance: Instance) -> None:
    parent = _failed_parent(instance)
    prepared = prepare_reexecution(
        flaky,
        parent,
        instance.get_events(parent.run_id),
        from_failure=True,
        tags=None,
        outputs=instance.outputs,
    )
    assert prepared.loaded == {EMIT} and prepared.load_from == parent.run_id
    assert prepared.reused == {"emit", "steady"}
    assert prepared.plan.step_keys == ["unstable", "after"]
    instance.outputs.delete_run(parent.run_id)
    from dagwright.execution.in_process import execute_prepared

    run = execute_prepared(instance, prepared).run
    assert run.status is RunStatus.FAILURE
    last = instance.get_events(run.run_id)[-1]
    assert "no stored output 'result' of op 'emit'" in last.message
    assert _started(instance, run.run_id) == []


def test_a_run_without_code_pointer_or_of_another_job(instance: Instance) -> None:
    from dataclasses import replace

    parent = _failed_parent(instance)
    lost = replace(parent, run_id="lost", code_pointer=None)
    instance.add_run(lost)
    with pytest.raises(DagwrightCodeLoadError, match="no code pointer"):
        instance.reexecute("lost")
    with pytest.raises(DagwrightCodeLoadError, match="not 'nested_flaky'"):
        prepare_reexecution(
            nested_flaky, parent, [], from_failure=False, tags=None, outputs=instance.outputs
        )
