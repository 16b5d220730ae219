"""Terminating runs: queued runs at once, running ones through CANCELING, process gone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.jobs import simple, slow
from tests.waiting import process_alive

from dagwright import DagwrightInvalidTransitionError, EventType, Instance, RunStatus
from dagwright.runs.launcher import worker_pid


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    with Instance.from_home(tmp_path / "home") as opened:
        yield opened


def test_terminating_a_running_run_cancels_it_and_stops_its_process(
    instance: Instance, tmp_path: Path
) -> None:
    run = instance.submit_run(slow.slow, tags={"release": str(tmp_path / "never")})
    deadline = time.monotonic() + 30
    while instance.get_run(run.run_id).status is not RunStatus.STARTED:  # type: ignore[union-attr]
        assert time.monotonic() < deadline
        time.sleep(0.02)
    pid = worker_pid(instance, run.run_id)
    assert pid is not None
    ended = instance.terminate(run.run_id)
    assert ended.status is RunStatus.CANCELED
    types = [e.event_type for e in instance.get_events(run.run_id)]
    assert EventType.RUN_CANCELING in types and types[-1] is EventType.RUN_CANCELED
    deadline = time.monotonic() + 10
    while process_alive(pid):
        assert time.monotonic() < deadline, "the worker process is still alive"
        time.sleep(0.02)
    with pytest.raises(DagwrightInvalidTransitionError, match="CANCELED"):
        instance.terminate(run.run_id)


def test_a_queued_run_is_canceled_at_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagwright.yaml").write_text("run_queue: {}\n")
    with Instance.from_home(home) as instance:
        run = instance.submit_run(simple.chain)
        assert instance.terminate(run.run_id).status is RunStatus.CANCELED
        assert instance.get_queue_state().runs == ()


def test_a_worker_ignoring_sigterm_is_killed_after_the_timeout(
    instance: Instance, tmp_path: Path
) -> None:
    code = tmp_path / "stubborn.py"
    code.write_text(
        "import signal, time\n"
        "from dagwright import op, job\n"
        "@op\ndef hold() -> None:\n"
        "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "    time.sleep(60)\n"
        "@job\ndef stubborn():\n    hold()\n"
    )
    from dagwright.definitions.loader import load_definitions

    run = instance.submit_run(load_definitions(python_file=str(code)).get_job("stubborn"))
    deadline = time.monotonic() + 30
    while not [e for e in instance.get_events(run.run_id) if e.event_type is EventType.STEP_START]:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    started = time.monotonic()
    ended = instance.terminate(run.run_id, timeout=0.5)
    assert ended.status is RunStatus.CANCELED
    assert time.monotonic() - started < 10
