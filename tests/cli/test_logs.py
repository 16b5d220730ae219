"""``dagwright run logs`` and what ``dagwright job execute`` echoes while it runs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.waiting import wait_for

from dagwright import Instance

CliRunner = Callable[..., Any]
PRINTING = "tests.jobs.printing"


def _execute_noisy(cli: CliRunner) -> Any:
    outcome = cli("job", "execute", "-m", PRINTING, "-j", "noisy")
    assert outcome.code == 1, outcome.err
    return outcome


def test_job_execute_echoes_step_output_and_info_log_lines(cli: CliRunner) -> None:
    outcome = _execute_noisy(cli)
    assert "talk | hello from talk\n" in outcome.out
    assert "shout | shout got 1\n" in outcome.out
    assert "talk | warning from talk\n" in outcome.err
    assert "shout | shout is failing\n" in outcome.err
    info = next(line for line in outcome.err.splitlines() if "about to fail" in line)
    assert "INFO" in info and "shout: about to fail" in info


def test_job_execute_json_keeps_stdout_for_the_run(cli: CliRunner) -> None:
    outcome = cli("job", "execute", "-m", PRINTING, "-j", "noisy", "--json")
    assert outcome.json()["status"] == "FAILURE"
    assert "talk | hello from talk" in outcome.err


def _run_id(outcome: Any) -> str:
    return str(outcome.out.splitlines()[-1].split()[1])


def test_run_logs_prints_stdout_or_stderr_of_a_step_or_all(cli: CliRunner) -> None:
    run_id = _run_id(_execute_noisy(cli))
    every = cli("run", "logs", run_id)
    assert every.code == 0, every.err
    assert every.out == "talk | hello from talk\nshout | shout got 1\n"
    one = cli("run", "logs", run_id, "--step", "shout", "--stderr")
    assert one.out.startswith("shout is failing\n")
    chunks = cli("run", "logs", run_id, "--step", "talk", "--json").json()["chunks"]
    assert [c["text"] for c in chunks] == ["hello from talk\n"]
    assert set(chunks[0]) == {"id", "step_key", "stream", "seq", "timestamp", "text"}
    finished = cli("run", "logs", run_id, "--follow")
    assert (finished.code, finished.out) == (0, every.out)


def test_run_logs_of_an_unknown_run_exits_2(cli: CliRunner) -> None:
    outcome = cli("run", "logs", "no-such-run")
    assert outcome.code == 2 and "no-such-run" in outcome.err and outcome.out == ""


def test_run_logs_follow_prints_until_the_run_ends(
    cli: CliRunner, home: Path, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    launched = cli(
        "job", "launch", "-m", PRINTING, "-j", "slow_talker", "--tag", f"release={release}"
    )
    run_id = _run_id(launched)

    def release_after_first_line() -> None:
        with Instance.from_home(home) as instance:
            wait_for(lambda: bool(instance.get_step_logs(run_id, "drip")))
        release.touch()

    helper = threading.Thread(target=release_after_first_line)
    helper.start()
    outcome = cli("run", "logs", run_id, "--step", "drip", "--follow")
    helper.join()
    assert (outcome.code, outcome.out) == (0, "first line\nsecond line\n")
