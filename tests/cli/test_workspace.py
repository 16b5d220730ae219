"""Several code locations on the command line: ``-f``/``-m`` repeat, ``-w workspace.yaml``;
two jobs of one name in two locations are listed, launched and their runs kept apart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.cli.conftest import CliRunner
from tests.waiting import wait_for

EXAMPLE = Path(__file__).resolve().parents[1] / "jobs" / "workspace_example"
W = str(EXAMPLE / "workspace.yaml")
ETL = str(EXAMPLE / "jobs" / "etl.py")
OTHER = str(EXAMPLE / "other.py")


def _finished(cli: CliRunner, run_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    def done() -> bool:
        found[:] = [cli("run", "show", run_id, "--json").json()]
        return found[0]["status"] in ("SUCCESS", "FAILURE", "CANCELED")

    wait_for(done, what=f"run {run_id} finished")
    return found[0]


def test_job_list_shows_each_location(cli: CliRunner) -> None:
    outcome = cli("job", "list", "-w", W, "--json")
    assert outcome.code == 0, outcome.err
    jobs = [(j["reference"], j["name"], j["location"]) for j in outcome.json()["jobs"]]
    assert jobs == [
        ("nightly@etl", "nightly", "etl"),
        ("load_sales", "load_sales", "etl"),
        ("nightly@ml", "nightly", "ml"),
        ("report", "report", "other"),
    ]
    table = cli("job", "list", "-w", W).out
    assert "location" in table.splitlines()[1]
    assert any("nightly@ml" in line and " ml " in line for line in table.splitlines())


def test_f_repeats_one_location_per_file(cli: CliRunner) -> None:
    outcome = cli("job", "list", "-f", ETL, "-f", OTHER, "--json")
    assert outcome.code == 0, outcome.err
    jobs = [(j["reference"], j["location"]) for j in outcome.json()["jobs"]]
    assert jobs == [("nightly", "etl"), ("load_sales", "etl"), ("report", "other")]


def test_f_and_m_together(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLE / "ml")
    outcome = cli("job", "list", "-f", OTHER, "-m", "team_ml.jobs", "--json")
    assert outcome.code == 0, outcome.err
    jobs = [(j["reference"], j["location"]) for j in outcome.json()["jobs"]]
    assert jobs == [("report", "other"), ("nightly", "team_ml.jobs")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["job", "show", "-w", W, "-j", "nightly"], "nightly@etl, nightly@ml"),
        (["job", "launch", "-w", W, "-j", "nightly"], "in several code locations"),
        (["job", "list", "-f", ETL, "-f", ETL], "two code locations are named 'etl'"),
        (["job", "list", "-w", "missing.yaml"], "workspace file not found"),
        (["job", "list", "-f", ETL, "-w", W], "two code locations are named 'etl'"),
        (["job", "show", "-w", W, "-j", "nightly@nowhere"], "no code location named"),
    ],
)
def test_bad_locations_exit_2_with_one_line(cli: CliRunner, args: list[str], message: str) -> None:
    outcome = cli(*args)
    assert outcome.code == 2
    assert outcome.err.count("\n") == 1, outcome.err
    assert message in outcome.err
    assert cli("run", "list", "--json").json()["runs"] == []


def test_same_named_jobs_launch_and_their_runs_stay_apart(cli: CliRunner) -> None:
    ids = {}
    for location in ("etl", "ml"):
        outcome = cli("job", "launch", "-w", W, "-j", f"nightly@{location}", "--json")
        assert outcome.code == 0, outcome.err
        launched = outcome.json()
        assert launched["code_pointer"]["location_name"] == location
        ids[location] = launched["run_id"]
    for location, run_id in ids.items():
        run = _finished(cli, run_id)
        assert run["status"] == "SUCCESS", run
        assert run["tags"]["team"] == location  # each location's own job ran
    for location, run_id in ids.items():
        listed = cli("run", "list", "--location", location, "--json").json()["runs"]
        assert [r["run_id"] for r in listed] == [run_id]
    both = cli("run", "list", "--job", "nightly", "--json").json()["runs"]
    assert {r["run_id"] for r in both} == set(ids.values())
    table = cli("run", "list").out
    assert "nightly@etl" in table and "nightly@ml" in table
    assert "job nightly@ml " in cli("run", "show", ids["ml"]).out


def test_job_show_names_the_location(cli: CliRunner) -> None:
    outcome = cli("job", "show", "-w", W, "-j", "nightly@ml")
    assert outcome.code == 0, outcome.err
    assert "code location: ml" in outcome.out
    assert cli("job", "show", "-w", W, "-j", "nightly@ml", "--json").json()["location"] == "ml"
