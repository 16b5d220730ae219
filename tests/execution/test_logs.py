"""Step logs: each step's stdout and stderr captured in process, in run workers and in step
workers, written in chunks while the step runs, capped per step and stream."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.jobs import printing, simple
from tests.waiting import wait_finished, wait_for

from dagwright import DagwrightInvalidConfigError, DagwrightRunNotFoundError, Instance, RunStatus
from dagwright.execution.logs import (
    FLUSH_BYTES,
    StepLogRecorder,
    capture_step_logs,
    follow_step_logs,
    truncation_marker,
)
from dagwright.runs.models import Run
from dagwright.runs.worker_process import worker_log_path
from dagwright.storage import Storage


def _text(instance: Instance, run_id: str, step: str, stream: str) -> str:
    return "".join(c.text for c in instance.get_step_logs(run_id, step, stream))


@pytest.fixture
def ephemeral() -> Iterator[Instance]:
    with Instance.ephemeral() as opened:
        yield opened


def test_execute_in_process_keeps_each_steps_stdout_and_stderr(
    ephemeral: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    result = printing.noisy.execute_in_process(instance=ephemeral, raise_on_error=False)
    assert result.run.status is RunStatus.FAILURE
    run_id = result.run_id
    assert "hello from talk\n" in _text(ephemeral, run_id, "talk", "stdout")
    assert _text(ephemeral, run_id, "talk", "stderr") == "warning from talk\n"
    assert _text(ephemeral, run_id, "shout", "stdout") == "shout got 1\n"
    assert _text(ephemeral, run_id, "shout", "stderr").startswith("shout is failing\n")
    out = capsys.readouterr()
    assert "hello from talk" in out.out and "shout is failing" in out.err  # passed on too


def test_the_logs_of_a_step_are_stored_before_its_end_event(ephemeral: Instance) -> None:
    result = printing.noisy.execute_in_process(instance=ephemeral, raise_on_error=False)
    chunks = ephemeral.get_step_logs(result.run_id, "shout")
    failure = next(e for e in result.all_events if e.step_key == "shout" and e.level == "ERROR")
    assert chunks and all(c.timestamp <= failure.timestamp for c in chunks)


def test_a_step_that_prints_nothing_writes_no_chunk(ephemeral: Instance) -> None:
    result = simple.chain.execute_in_process(instance=ephemeral)
    assert ephemeral.get_step_logs(result.run_id) == []


def test_get_step_logs_refuses_a_bad_stream_and_an_unknown_run(ephemeral: Instance) -> None:
    result = simple.chain.execute_in_process(instance=ephemeral)
    with pytest.raises(DagwrightInvalidConfigError, match="stream"):
        ephemeral.get_step_logs(result.run_id, stream="stdin")
    with pytest.raises(DagwrightRunNotFoundError):
        ephemeral.get_step_logs("no-such-run")


def test_a_launched_run_captures_fd_writes_and_subprocesses(instance: Instance) -> None:
    run = instance.submit_run(printing.noisy)
    assert wait_finished(instance, run.run_id).status is RunStatus.FAILURE
    out = _text(instance, run.run_id, "talk", "stdout")
    for line in ("hello from talk", "raw fd write", "from a subprocess"):
        assert f"{line}\n" in out
    assert _text(instance, run.run_id, "talk", "stderr") == "warning from talk\n"
    assert "shout is failing" in _text(instance, run.run_id, "shout", "stderr")
    assert instance.home is not None  # the worker's own log still has everything
    assert "from a subprocess" in worker_log_path(instance.home, run.run_id).read_text()


def test_step_processes_of_the_multiprocess_executor_capture_their_step(
    instance: Instance,
) -> None:
    run = instance.submit_run(printing.noisy_multi)
    assert wait_finished(instance, run.run_id).status is RunStatus.FAILURE
    assert "from a subprocess\n" in _text(instance, run.run_id, "talk", "stdout")
    assert _text(instance, run.run_id, "shout", "stdout") == "shout got 1\n"


def test_output_is_stored_while_the_step_runs(instance: Instance, tmp_path: Path) -> None:
    release = tmp_path / "release"
    run = instance.submit_run(printing.slow_talker, tags={"release": str(release)})
    wait_for(lambda: _text(instance, run.run_id, "drip", "stdout") == "first line\n")
    current = instance.get_run(run.run_id)
    assert current is not None and not current.status.is_finished
    release.touch()
    assert wait_finished(instance, run.run_id).status is RunStatus.SUCCESS
    assert _text(instance, run.run_id, "drip", "stdout") == "first line\nsecond line\n"


def test_follow_yields_new_output_until_the_run_ends(instance: Instance, tmp_path: Path) -> None:
    release = tmp_path / "release"
    run = instance.submit_run(printing.slow_talker, tags={"release": str(release)})
    texts = []
    for chunk in follow_step_logs(instance, run.run_id, poll_seconds=0.05):
        texts.append(chunk.text)
        release.touch()  # only once the first line was seen
    assert "".join(texts) == "first line\nsecond line\n"


def test_the_cap_of_the_settings_applies_in_a_run_worker(tmp_path: Path) -> None:
    home = tmp_path / "capped"
    home.mkdir()
    (home / "dagwright.yaml").write_text("compute_logs: {max_bytes_per_step: 1000}\n")
    with Instance.from_home(home) as capped:
        run = capped.submit_run(printing.chatty, run_config=_blab(5000))
        assert wait_finished(capped, run.run_id).status is RunStatus.SUCCESS
        chunks = capped.get_step_logs(run.run_id, "blab", "stdout")
    assert "".join(c.text for c in chunks[:-1]) == "x" * 1000
    assert chunks[-1].text == truncation_marker(4000) == "[truncated: 4000 bytes not kept]\n"


def _blab(size: int) -> dict[str, object]:
    return {"ops": {"blab": {"config": {"size": size}}}}


# -- the recorder, on both stores --------------------------------------------------------


def _stored_run(storage: Storage) -> str:
    run = Run(run_id=uuid.uuid4().hex, job_name="job", status=RunStatus.SUCCESS, tags={})
    storage.runs.add_run(run)
    return run.run_id


def test_the_recorder_writes_a_chunk_per_full_buffer_and_keeps_the_cap(storage: Storage) -> None:
    run_id = _stored_run(storage)
    recorder = StepLogRecorder(storage.compute_logs, run_id, "s", max_bytes=FLUSH_BYTES * 2 + 10)
    recorder.write("stdout", b"a" * FLUSH_BYTES)  # full: written at once
    assert [len(c.text) for c in storage.compute_logs.get_chunks(run_id)] == [FLUSH_BYTES]
    recorder.write("stdout", b"b" * (FLUSH_BYTES + 20))
    recorder.write("stdout", b"c" * 100)
    recorder.close()
    chunks = storage.compute_logs.get_chunks(run_id)
    assert [c.seq for c in chunks] == [0, 1, 2]
    assert "".join(c.text for c in chunks[:2]) == "a" * FLUSH_BYTES + "b" * (FLUSH_BYTES + 10)
    assert chunks[2].text == truncation_marker(110)


def test_utf8_split_between_writes_is_kept_whole_and_bad_bytes_replaced(
    storage: Storage,
) -> None:
    run_id = _stored_run(storage)
    recorder = StepLogRecorder(storage.compute_logs, run_id, "s", max_bytes=1000)
    data = "é".encode()
    recorder.write("stderr", data[:1])
    recorder.flush_due()  # not due yet; and a split character would wait anyway
    recorder.write("stderr", data[1:] + b" \xff\n")
    recorder.close()
    assert [c.text for c in storage.compute_logs.get_chunks(run_id)] == ["é \ufffd\n"]


def test_capture_at_fd_level_sees_what_bypasses_python(ephemeral: Instance) -> None:
    result = simple.chain.execute_in_process(instance=ephemeral)
    with capture_step_logs(ephemeral, result.run_id, "extra", max_bytes=100) as recorder:
        os.write(1, b"straight to fd 1\n")
        code = "import sys; sys.stderr.write('from a child\\n')"
        subprocess.run([sys.executable, "-c", code], check=True)
    assert recorder.has_output
    assert _text(ephemeral, result.run_id, "extra", "stdout") == "straight to fd 1\n"
    assert _text(ephemeral, result.run_id, "extra", "stderr") == "from a child\n"


def test_a_process_without_a_stdout_runs_its_step_uncaptured() -> None:
    code = (
        "import os\n"
        "from dagwright import Instance\n"
        "from dagwright.execution.logs import capture_step_logs\n"
        "from tests.jobs import simple\n"
        "with Instance.ephemeral() as instance:\n"
        "    run_id = simple.chain.execute_in_process(instance=instance).run_id\n"
        "    os.close(1)\n"
        "    with capture_step_logs(instance, run_id, 's') as recorder:\n"
        "        ran = True\n"
        "    assert ran and not recorder.has_output\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()


def test_the_output_of_an_interrupted_step_is_kept(ephemeral: Instance) -> None:
    with pytest.raises(KeyboardInterrupt):
        printing.stopped.execute_in_process(instance=ephemeral)
    (run,) = ephemeral.get_runs()
    assert run.status is RunStatus.FAILURE  # no end event carried the chunk: written apart
    assert _text(ephemeral, run.run_id, "interrupted", "stdout") == "before the interrupt\n"
