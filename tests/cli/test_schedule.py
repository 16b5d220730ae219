"""``dagwright schedule|sensor list|start|stop|tick`` as a user runs them."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from tests.cli.conftest import CliRunner

M = "tests.jobs.scheduled"


def test_schedule_start_tick_list(cli: CliRunner) -> None:
    listed = cli("schedule", "list", "-m", M, "--json").json()["schedules"]
    assert [(s["name"], s["status"], s["stored"]) for s in listed] == [
        ("nightly", "STOPPED", False),
        ("hourly", "STOPPED", False),
    ]
    assert listed[0]["cron_schedule"] == "30 2 * * *" and listed[0]["job_name"] == "chain"
    assert cli("schedule", "start", "-m", M, "nightly").out == "schedule nightly RUNNING\n"
    outcome = cli("schedule", "tick", "-m", M, "hourly", "--at", "2026-01-04T00:00Z", "--json")
    assert outcome.code == 0
    assert outcome.json()["status"] == "SKIPPED"
    assert outcome.json()["skip_reason"] == "no runs on Sundays"
    table = cli("schedule", "list", "-m", M).out
    assert "nightly" in table and "RUNNING" in table and "SKIPPED" in table
    again = cli("schedule", "list", "-m", M, "--json").json()["schedules"]
    assert again[0]["status"] == "RUNNING" and again[1]["ticks"][0]["status"] == "SKIPPED"
    assert cli("schedule", "stop", "-m", M, "nightly").out == "schedule nightly STOPPED\n"


def test_sensor_tick_failure_exits_1_with_the_traceback(cli: CliRunner) -> None:
    outcome = cli("sensor", "tick", "-m", M, "broken")
    assert outcome.code == 1
    assert "FAILURE: error in sensor 'broken': RuntimeError: the bucket is gone" in outcome.out
    assert "Traceback" in outcome.err
    listed = cli("sensor", "list", "-m", M, "--json").json()["sensors"]
    assert listed[1]["ticks"][0]["error"]["message"].endswith("the bucket is gone")
    assert cli("sensor", "start", "-m", M, "files").out == "sensor files RUNNING\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["schedule", "tick", "-m", M, "nope"], "schedule 'nope' not found"),
        (["sensor", "start", "-m", M, "nightly"], "sensor 'nightly' not found"),
        (["schedule", "tick", "-m", M, "nightly", "--at", "soon"], "'soon' is not an ISO 8601"),
        (["sensor", "tick", "-m", M, "files", "--at", "2026-01-01"], "No such option '--at'"),
        (["schedule", "list"], "give a code file with -f FILE or a module with -m MODULE"),
    ],
)
def test_bad_input_exits_2_and_stores_nothing(
    cli: CliRunner, home: Path, args: list[str], message: str
) -> None:
    outcome = cli(*args)
    assert outcome.code == 2
    assert message in outcome.err and outcome.err.count("\n") == 1
    assert not home.exists()  # refused before the instance (and its database) is made
    assert cli("schedule", "list", "-m", M, "--json").json()["schedules"][0]["ticks"] == []
    assert cli("run", "list", "--json").json()["runs"] == []


def test_tick_at_any_instant_is_the_cron_tick_at_or_before_it(cli: CliRunner) -> None:
    late = cli("schedule", "tick", "-m", M, "hourly", "--at", "2026-01-03T07:13", "--json")
    on_time = cli(
        "schedule", "tick", "-m", M, "hourly", "--at", "2026-01-03T08:00:00+01:00", "--json"
    )
    assert late.code == on_time.code == 0
    assert late.json()["timestamp"] == datetime(2026, 1, 3, 7, tzinfo=timezone.utc).timestamp()
    assert on_time.json()["tick_id"] == late.json()["tick_id"]
    runs = cli("run", "list", "--json").json()["runs"]
    assert [run["tags"]["dagwright/partition"] for run in runs] == ["2026-01-02"]


QUIET = """
from dagwright import job, op, schedule

@op
def noop() -> None:
    pass

@job
def chore() -> None:
    noop()

@schedule(cron_schedule="@daily", job=chore)
def quiet(context):
    return None
"""


def test_a_schedule_that_returns_nothing_shows_why_it_skipped(
    cli: CliRunner, tmp_path: Path
) -> None:
    code = tmp_path / "quiet.py"
    code.write_text(QUIET)
    reason = "the schedule function returned no run request"
    at = "2026-01-04T00:00Z"
    outcome = cli("schedule", "tick", "-f", str(code), "quiet", "--at", at)
    assert outcome.code == 0 and f"SKIPPED: {reason}" in outcome.out
    listed = cli("schedule", "list", "-f", str(code), "--json").json()["schedules"]
    assert listed[0]["ticks"][0]["skip_reason"] == reason
