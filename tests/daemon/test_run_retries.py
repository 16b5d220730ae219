"""Automatic retries with real worker processes: FROM_FAILURE, ALL_STEPS, idempotence."""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.jobs import simple
from tests.jobs.flaky import flaky
from tests.waiting import wait_finished

from dagwright import Definitions, Event, EventType, Instance, Run, RunsFilter, RunStatus
from dagwright.daemon.run_retries import RunRetryDaemon
from dagwright.definitions.loader import FILE_MODULE_PREFIX, code_pointer_for, load_definitions
from dagwright.runs.models import CodePointer


def children_of(instance: Instance, run_id: str) -> list[Run]:
    return instance.get_runs(RunsFilter(tags={"dagwright/parent_run_id": run_id}))


def test_a_failed_run_is_retried_from_failure(instance: Instance, flag: Path) -> None:
    parent = instance.submit_run(flaky, tags={"team": "docs", "dagwright/max_retries": "2"})
    assert wait_finished(instance, parent.run_id).status is RunStatus.FAILURE
    flag.touch()
    daemon = RunRetryDaemon(instance)
    daemon.run_iteration(time.time())
    daemon.run_iteration(time.time())  # a second pass makes no second retry
    (child,) = children_of(instance, parent.run_id)
    ended = wait_finished(instance, child.run_id)
    assert ended.status is RunStatus.SUCCESS
    assert ended.tags["dagwright/retry_number"] == "1"
    assert ended.tags["team"] == "docs"
    assert ended.root_run_id == parent.run_id
    started = [
        e.step_key
        for e in instance.get_events(child.run_id)
        if e.event_type is EventType.STEP_START
    ]
    assert sorted(started) == ["after", "unstable"]  # emit and steady were reused


def test_retries_stop_at_max_retries_and_keep_the_root(instance: Instance) -> None:
    parent = instance.submit_run(
        flaky, tags={"dagwright/max_retries": "2", "dagwright/retry_strategy": "ALL_STEPS"}
    )
    daemon = RunRetryDaemon(instance)
    chain = [wait_finished(instance, parent.run_id)]
    for number in (1, 2):
        daemon.run_iteration(time.time())
        (child,) = children_of(instance, chain[-1].run_id)
        chain.append(wait_finished(instance, child.run_id))
        assert chain[-1].tags["dagwright/retry_number"] == str(number)
        assert chain[-1].root_run_id == parent.run_id
        steps = {
            e.step_key
            for e in instance.get_events(child.run_id)
            if e.event_type is EventType.STEP_START
        }
        assert "emit" in steps  # ALL_STEPS re-runs everything
    daemon.run_iteration(time.time())
    assert children_of(instance, chain[-1].run_id) == []
    assert all(run.status is RunStatus.FAILURE for run in chain)


def test_no_retry_without_max_retries_or_when_disabled(tmp_path: Path, flag: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagwright.yaml").write_text("run_retries:\n  enabled: false\n")
    with Instance.from_home(home) as instance:
        parent = instance.submit_run(flaky, tags={"dagwright/max_retries": "3"})
        wait_finished(instance, parent.run_id)
        RunRetryDaemon(instance).run_iteration(time.time())
        assert children_of(instance, parent.run_id) == []
        plain = instance.submit_run(flaky)
        wait_finished(instance, plain.run_id)
    with Instance.from_home(tmp_path / "other") as instance:
        plain = instance.submit_run(flaky)
        wait_finished(instance, plain.run_id)
        RunRetryDaemon(instance).run_iteration(time.time())
        assert children_of(instance, plain.run_id) == []


# -- on both stores: re-executions by hand, code locations, and planning in the worker ----


@pytest.fixture
def any_instance(
    storage_url: str, tmp_path: Path, flag: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Instance]:
    """An instance with a home on SQLite or PostgreSQL (its run workers inherit the
    database through ``DAGWRIGHT_PG_URL``)."""
    if storage_url.startswith("postgresql"):
        monkeypatch.setenv("DAGWRIGHT_PG_URL", storage_url)
    else:
        monkeypatch.delenv("DAGWRIGHT_PG_URL", raising=False)
    with Instance.from_home(tmp_path / "home") as opened:
        yield opened


def test_a_run_reexecuted_by_hand_is_not_retried(any_instance: Instance) -> None:
    parent = any_instance.submit_run(flaky, tags={"dagwright/max_retries": "2"})
    assert wait_finished(any_instance, parent.run_id).status is RunStatus.FAILURE
    by_hand = any_instance.reexecute(parent.run_id)
    RunRetryDaemon(any_instance).run_iteration(time.time())
    assert [run.run_id for run in children_of(any_instance, parent.run_id)] == [by_hand.run_id]
    wait_finished(any_instance, by_hand.run_id)


def test_a_daemon_with_code_retries_only_runs_of_that_code(any_instance: Instance) -> None:
    """``dagwright daemon -f/-m``: a failed run of other code is not retried, and the run
    says why, once (a restarted daemon reads it again and says nothing more)."""
    parent = any_instance.submit_run(flaky, tags={"dagwright/max_retries": "2"})
    assert wait_finished(any_instance, parent.run_id).status is RunStatus.FAILURE
    other_code = Definitions(jobs=[simple.chain])
    for _ in range(2):  # a restarted daemon
        RunRetryDaemon(any_instance, definitions=other_code).run_iteration(time.time())
    assert children_of(any_instance, parent.run_id) == []
    (refusal,) = [e for e in any_instance.get_events(parent.run_id) if "retry_refused" in e.data]
    assert refusal.event_type is EventType.ENGINE and refusal.level == "WARNING"
    assert "not retried" in refusal.message and "module 'tests.jobs.flaky'" in refusal.message
    assert "module 'tests.jobs.simple'" in refusal.message  # what the daemon has
    RunRetryDaemon(any_instance, definitions=Definitions(jobs=[flaky])).run_iteration(time.time())
    (child,) = children_of(any_instance, parent.run_id)
    wait_finished(any_instance, child.run_id)


RETRIED_CODE = """
import os
from pathlib import Path
from dagwright import job, op

with Path(os.environ["CODELOC_IMPORTS"]).open("a") as imports:
    imports.write(f"{os.getpid()}\\n")

@op
def first() -> int:
    return 1

@op
def second(x: int) -> int:
    if not Path(os.environ["CODELOC_FLAG"]).exists():
        raise RuntimeError("no flag yet")
    return x + 1

@job(tags={"dagwright/max_retries": "1"})
def retried() -> None:
    second(first())
"""


def test_a_daemon_without_code_retries_without_importing_it(
    any_instance: Instance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``dagwright daemon`` with no -f/-m imports no user code: the retry is made from the
    stored run, and its run worker plans the steps from the failure."""
    imports, run_flag = tmp_path / "imports", tmp_path / "run-flag"
    monkeypatch.setenv("CODELOC_IMPORTS", str(imports))
    monkeypatch.setenv("CODELOC_FLAG", str(run_flag))
    code = tmp_path / "codeloc_retried.py"
    code.write_text(RETRIED_CODE)
    job_def = load_definitions(python_file=str(code)).get_job("retried")
    parent = any_instance.submit_run(job_def)
    assert wait_finished(any_instance, parent.run_id).status is RunStatus.FAILURE
    for name in [name for name in sys.modules if name.startswith(FILE_MODULE_PREFIX)]:
        monkeypatch.delitem(sys.modules, name)
    imports.write_text("")
    run_flag.touch()
    RunRetryDaemon(any_instance).run_iteration(time.time())
    (child,) = children_of(any_instance, parent.run_id)
    ended = wait_finished(any_instance, child.run_id)
    assert ended.status is RunStatus.SUCCESS
    assert str(os.getpid()) not in imports.read_text().split()  # only the worker imported it
    started = [
        e.step_key
        for e in any_instance.get_events(child.run_id)
        if e.event_type is EventType.STEP_START
    ]
    assert started == ["second"]  # planned by the worker, from the failure


def test_a_retry_from_failure_with_nothing_to_resume_runs_all_steps(
    any_instance: Instance, flag: Path
) -> None:
    """The parent's output of ``emit`` is gone: the worker falls back to all steps."""
    pointer = flaky_pointer()
    parent = Run(
        str(uuid.uuid4()),
        "flaky",
        RunStatus.FAILURE,
        tags={"dagwright/max_retries": "1"},
        created_at=time.time(),
        ended_at=time.time(),
        code_pointer=pointer,
    )
    any_instance.add_run(parent)
    any_instance.handle_event(
        Event(parent.run_id, EventType.STEP_SUCCESS, time.time(), step_key="emit")
    )
    flag.touch()
    RunRetryDaemon(any_instance).run_iteration(time.time())
    (child,) = children_of(any_instance, parent.run_id)
    assert child.tags["dagwright/retry_strategy"] == "FROM_FAILURE"
    assert wait_finished(any_instance, child.run_id).status is RunStatus.SUCCESS
    started = {
        e.step_key
        for e in any_instance.get_events(child.run_id)
        if e.event_type is EventType.STEP_START
    }
    assert started == {"emit", "unstable", "after", "steady"}


def started_steps(instance: Instance, run_id: str) -> list[str | None]:
    return [e.step_key for e in instance.get_events(run_id) if e.event_type is EventType.STEP_START]


def flaky_pointer() -> CodePointer:
    pointer = code_pointer_for(flaky)
    assert pointer is not None
    return pointer
