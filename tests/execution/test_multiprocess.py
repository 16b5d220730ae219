"""The multiprocess executor: the steps of one launched run in parallel step processes.

Runs are launched for real (run worker, step workers); the jobs live in
``tests/jobs/parallel.py``.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import pytest
from tests.jobs import parallel, simple
from tests.waiting import process_alive, wait_finished, wait_for

from dagwright import (
    DagwrightDefinitionError,
    DagwrightInvalidConfigError,
    EventType,
    Instance,
    RunStatus,
    in_process_executor,
    multiprocess_executor,
)
from dagwright.definitions.composition import NodeOutput
from dagwright.execution.executors import max_concurrent_for
from dagwright.runs.launcher import worker_pid
from dagwright.runs.request import prepare_run

WORK = ("work", "work_2", "work_3", "work_4")


def _output(instance: Instance, run_id: str, node: str) -> Any:
    return instance.outputs.get(run_id, NodeOutput(node, "result"))


def _steps(instance: Instance, run_id: str, event_type: EventType) -> set[str]:
    events = instance.get_events(run_id)
    return {e.step_key for e in events if e.event_type is event_type and e.step_key}


def _step_pids(instance: Instance, run_id: str) -> dict[str, int]:
    events = instance.get_events(run_id)
    return {
        e.step_key: e.data["pid"]
        for e in events
        if e.event_type is EventType.ENGINE and e.step_key and "pid" in e.data
    }


def test_steps_run_at_once_in_their_own_processes(instance: Instance, tmp_path: Path) -> None:
    meeting = tmp_path / "meeting"
    meeting.mkdir()
    run = instance.submit_run(parallel.fan_out, tags={"rendezvous": str(meeting)})
    assert wait_finished(instance, run.run_id).status is RunStatus.SUCCESS
    records = [_output(instance, run.run_id, key) for key in WORK]
    assert max(r["start"] for r in records) < min(r["end"] for r in records)  # overlapping
    pids = {r["pid"] for r in records}
    assert len(pids) == 4
    assert worker_pid(instance, run.run_id) not in pids and os.getpid() not in pids
    assert {key: _step_pids(instance, run.run_id)[key] for key in WORK} == {
        key: record["pid"] for key, record in zip(WORK, records, strict=True)
    }
    assert _output(instance, run.run_id, "total") == 4  # outputs crossed processes


def test_run_config_max_concurrent_one_runs_steps_one_by_one(instance: Instance) -> None:
    config = {"execution": {"config": {"max_concurrent": 1}}}
    run = instance.submit_run(parallel.fan_out, run_config=config)
    assert wait_finished(instance, run.run_id).status is RunStatus.SUCCESS
    records = sorted((_output(instance, run.run_id, key) for key in WORK), key=lambda r: r["start"])
    for before, after in itertools.pairwise(records):
        assert before["end"] <= after["start"]
    assert _output(instance, run.run_id, "total") == 4


def test_a_failure_skips_downstream_and_reexecution_resumes_there(
    instance: Instance, flag: Path
) -> None:
    run = instance.submit_run(parallel.fan_out_flaky)
    assert wait_finished(instance, run.run_id).status is RunStatus.FAILURE
    assert _steps(instance, run.run_id, EventType.STEP_FAILURE) == {"unstable"}
    assert _steps(instance, run.run_id, EventType.STEP_SKIPPED) == {"total"}
    assert _steps(instance, run.run_id, EventType.STEP_SUCCESS) == {
        "seed",
        "work",
        "work_2",
        "work_3",
    }
    assert instance.get_events(run.run_id)[-1].event_type is EventType.RUN_FAILURE
    flag.touch()
    child = instance.reexecute(run.run_id, from_failure=True)
    assert wait_finished(instance, child.run_id).status is RunStatus.SUCCESS
    assert _steps(instance, child.run_id, EventType.STEP_START) == {"unstable", "total"}
    assert _output(instance, child.run_id, "total") == 13


def test_a_step_process_that_dies_fails_its_step(instance: Instance) -> None:
    run = instance.submit_run(parallel.fan_out_crashing)
    assert wait_finished(instance, run.run_id).status is RunStatus.FAILURE
    failures = [
        e for e in instance.get_events(run.run_id) if e.event_type is EventType.STEP_FAILURE
    ]
    assert [e.step_key for e in failures] == ["vanish"]
    assert "step worker exited with code 9" in failures[0].message
    assert _steps(instance, run.run_id, EventType.STEP_SUCCESS) == {"seed", "work"}


def test_terminate_stops_every_step_process(instance: Instance, tmp_path: Path) -> None:
    run = instance.submit_run(parallel.fan_out_slow, tags={"release": str(tmp_path / "never")})
    wait_for(lambda: len(_steps(instance, run.run_id, EventType.STEP_START)) == 2, 30, "starts")
    pids = list(_step_pids(instance, run.run_id).values())
    assert len(pids) == 2
    assert instance.terminate(run.run_id).status is RunStatus.CANCELED
    wait_for(lambda: not any(process_alive(pid) for pid in pids), 10, "step processes gone")


def test_execute_in_process_ignores_the_executor() -> None:
    result = parallel.fan_out.execute_in_process()
    assert result.success
    assert result.output_for_node("total") == 4
    assert {result.output_for_node(key)["pid"] for key in WORK} == {os.getpid()}


@pytest.mark.parametrize("bad", [0, -1, True, 2.0, "2"])
def test_configured_refuses_a_bad_max_concurrent(bad: Any) -> None:
    with pytest.raises(DagwrightDefinitionError, match="max_concurrent"):
        multiprocess_executor.configured(max_concurrent=bad)


def test_configured_returns_a_new_executor() -> None:
    assert multiprocess_executor.configured(max_concurrent=3).max_concurrent == 3
    assert multiprocess_executor.configured({"max_concurrent": 2}).max_concurrent == 2
    assert multiprocess_executor.max_concurrent is None
    with pytest.raises(DagwrightDefinitionError, match="'workers'"):
        multiprocess_executor.configured({"workers": 2})
    with pytest.raises(DagwrightDefinitionError, match="'in_process' has no option"):
        in_process_executor.configured(max_concurrent=2)


def test_max_concurrent_comes_from_run_config_then_executor_then_cpus() -> None:
    executor = multiprocess_executor.configured(max_concurrent=4)
    assert max_concurrent_for(executor, {"execution": {"config": {"max_concurrent": 2}}}) == 2
    assert max_concurrent_for(executor, {}) == 4
    assert max_concurrent_for(multiprocess_executor, {}) == (os.cpu_count() or 1)


@pytest.mark.parametrize(
    ("job_name", "execution", "key"),
    [
        ("fan_out", {"config": {"max_concurrent": 0}}, "execution.config.max_concurrent"),
        ("fan_out", {"config": {"workers": 2}}, "execution.config.workers"),
        ("fan_out", {"bogus": {}}, "execution"),
        ("fan_out", [], "execution"),
        ("fan_out", {"config": 3}, "execution.config"),
        ("chain", {"config": {"max_concurrent": 2}}, "execution.config.max_concurrent"),
    ],
)
def test_execution_run_config_is_validated(job_name: str, execution: Any, key: str) -> None:
    job_def = getattr(parallel, job_name, None) or getattr(simple, job_name)
    with pytest.raises(DagwrightInvalidConfigError) as info:
        prepare_run(job_def, run_config={"execution": execution})
    assert info.value.key == key
    assert key in str(info.value)
