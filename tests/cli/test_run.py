"""``dagwright run list|show|tags|delete|reexecute|diff``, and the queue controls."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

CliRunner = Callable[..., Any]
F = str(Path(__file__).resolve().parents[2] / "examples" / "jobs.py")


def _execute(cli: CliRunner, *tags: str) -> str:
    args = ["job", "execute", "-f", F, "-j", "my_job_with_metadata", "--json"]
    for tag in tags:
        args += ["--tag", tag]
    outcome = cli(*args)
    assert outcome.code == 0, outcome.err
    run_id: str = outcome.json()["run_id"]
    return run_id


def test_run_list_filters_by_tags_status_and_job(cli: CliRunner) -> None:
    docs = _execute(cli, "team=docs", "env=prod")
    ml = _execute(cli, "team=ml", "env=prod")
    _execute(cli, "team=ml", "env=dev")

    def ids(*args: str) -> list[str]:
        return [r["run_id"] for r in cli("run", "list", "--json", *args).json()["runs"]]

    assert ids("--tag", "team=docs") == [docs]
    assert ids("--tag", "team=ml", "--tag", "env=prod") == [ml]
    assert ids("--tag", "team=docs", "--tag", "team=ml", "--tag", "env=prod") == [ml, docs]
    assert len(ids("--status", "success")) == 3
    assert ids("--status", "FAILURE") == []
    assert ids("--job", "daily_sales") == []
    table = cli("run", "list", "--tag", "team=docs")
    assert docs in table.out and "team=docs" in table.out


def test_run_list_pages_with_a_cursor(cli: CliRunner) -> None:
    made = [_execute(cli, f"n={i}") for i in range(5)]
    first = cli("run", "list", "--limit", "2", "--json").json()
    second = cli("run", "list", "--limit", "2", "--cursor", first["cursor"], "--json").json()
    third = cli("run", "list", "--limit", "2", "--cursor", second["cursor"], "--json").json()
    seen = [r["run_id"] for page in (first, second, third) for r in page["runs"]]
    assert seen == list(reversed(made))
    assert third["cursor"] is None


def test_run_show_tags_and_delete(cli: CliRunner) -> None:
    run_id = _execute(cli, "team=docs")
    shown = cli("run", "show", run_id, "--json").json()
    assert shown["status"] == "SUCCESS"
    assert shown["events"][0]["event_type"] == "RUN_START"
    assert "team=docs" in cli("run", "show", run_id).out

    tags = cli("run", "tags", run_id, "--add", "owner=ana", "--remove", "team", "--json").json()
    assert tags == {"foo": "bar", "owner": "ana"}
    assert cli("run", "list", "--tag", "team=docs", "--json").json()["runs"] == []

    assert cli("run", "delete", run_id).code == 0
    missing = cli("run", "show", run_id)
    assert missing.code == 2 and f"run '{run_id}' not found" in missing.err


def test_run_tags_refuses_bad_tags_and_changes_nothing(cli: CliRunner) -> None:
    run_id = _execute(cli, "team=docs")
    bad = cli("run", "tags", run_id, "--add", "ok=1", "--add", "dagwright/backfill=x")
    assert bad.code == 2 and "dagwright/backfill" in bad.err
    assert cli("run", "tags", run_id, "--json").json() == {"foo": "bar", "team": "docs"}
    system = cli("run", "tags", run_id, "--remove", "dagwright/partition")
    assert system.code == 2 and "system tags cannot be removed" in system.err


def test_unknown_run_and_cursor_exit_2(cli: CliRunner) -> None:
    assert cli("run", "delete", "nope").code == 2
    assert cli("run", "tags", "nope", "--add", "a=b").code == 2
    outcome = cli("run", "list", "--cursor", "nope")
    assert outcome.code == 2 and "nope" in outcome.err


def test_run_reexecute_from_failure(cli: CliRunner, tmp_path: Path) -> None:
    import os
    import time

    flag = tmp_path / "flag"
    os.environ["DAGWRIGHT_TEST_FLAKY_FLAG"] = str(flag)
    try:
        failed = cli("job", "execute", "-m", "tests.jobs.flaky", "-j", "flaky", "--json")
        assert failed.code == 1
        parent = failed.json()["run_id"]
        flag.touch()
        outcome = cli("run", "reexecute", parent, "--from-failure", "--tag", "why=fixed", "--json")
        assert outcome.code == 0, outcome.err
        child = outcome.json()
        assert child["parent_run_id"] == parent and child["tags"]["why"] == "fixed"
        deadline = time.monotonic() + 60
        while cli("run", "show", child["run_id"], "--json").json()["status"] != "SUCCESS":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        del os.environ["DAGWRIGHT_TEST_FLAKY_FLAG"]
    refused = cli("run", "reexecute", parent, "--tag", "dagwright/backfill=x")
    assert refused.code == 2 and "reserved" in refused.err


def test_run_diff_lists_the_differences_with_its_parent(
    cli: CliRunner, tmp_path: Path, monkeypatch: Any
) -> None:
    import time

    flag = tmp_path / "flag"
    monkeypatch.setenv("DAGWRIGHT_TEST_FLAKY_FLAG", str(flag))
    failed = cli(
        "job", "execute", "-m", "tests.jobs.flaky", "-j", "flaky", "--tag", "why=x", "--json"
    )
    parent = failed.json()["run_id"]
    flag.touch()
    reexecuted = cli("run", "reexecute", parent, "--from-failure", "--tag", "why=fixed", "--json")
    child = reexecuted.json()["run_id"]
    deadline = time.monotonic() + 60
    while cli("run", "show", child, "--json").json()["status"] != "SUCCESS":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    table = cli("run", "diff", child)
    assert table.code == 0, table.err
    lines = table.out.splitlines()
    assert lines[0].startswith(f"run {child} against {parent} (parent): ")
    why = next(line for line in lines if " why " in line)
    assert "│ x " in why and "│ fixed " in why and "changed" in why
    unstable = next(line for line in lines if " unstable " in line and "steps" in line)
    assert "failure" in unstable and "success" in unstable
    assert "step_keys_to_execute" in table.out and "unstable, after" in table.out
    assert " job " not in table.out  # the same job: only --all lists it
    every = cli("run", "diff", child, "--all")
    assert " job " in every.out and "same" in every.out
    data = cli("run", "diff", child, parent, "--json").json()  # the parent named: the same
    assert data["left_run_id"] == parent and data["left_is_parent"] is True
    steps = {row["key"]: (row["left"], row["right"]) for row in data["steps"]}
    assert steps["unstable"] == ("failure", "success") and steps["emit"] == ("success", "reused")
    itself = cli("run", "diff", parent, parent)
    assert itself.code == 0 and "0 differences" in itself.out and "┃" not in itself.out


def test_run_diff_errors_exit_2_with_one_line(cli: CliRunner) -> None:
    run_id = _execute(cli, "team=docs")
    orphan = cli("run", "diff", run_id)
    assert orphan.code == 2 and orphan.out == ""
    assert orphan.err.strip().count("\n") == 0 and "has no parent run" in orphan.err
    unknown = cli("run", "diff", run_id, "nope")
    assert unknown.code == 2 and "run 'nope' not found" in unknown.err
    assert cli("run", "diff", "nope", "--json").code == 2


def _queued_run(home: Path) -> str:
    from tests.jobs.simple import chain

    from dagwright import Instance

    home.mkdir(parents=True, exist_ok=True)
    (home / "dagwright.yaml").write_text("run_queue:\n  max_concurrent_runs: 1\n")
    with Instance.from_home(home) as instance:
        return instance.submit_run(chain).run_id


def test_run_tags_history_priority_hold_release(cli: CliRunner, home: Path) -> None:
    import getpass

    run_id = _queued_run(home)
    assert cli("run", "tags", run_id, "--add", "owner=ana").code == 0
    assert cli("run", "priority", run_id, "-4").code == 0
    assert cli("run", "hold", run_id).out.strip() == f"run {run_id} held by {getpass.getuser()}"
    assert cli("run", "release", run_id).code == 0
    history = cli("run", "tags", run_id, "--history", "--json").json()["changes"]
    assert [(h["via"], h["actor"]) for h in history] == [("cli", getpass.getuser())] * 4
    assert [h["changes"] for h in history[:2]] == [
        {"owner": {"old": None, "new": "ana"}},
        {"dagwright/priority": {"old": None, "new": "-4"}},
    ]
    assert "+owner=ana" in cli("run", "tags", run_id, "--history").out
    assert cli("run", "terminate", run_id).code == 0
    late = cli("run", "hold", run_id)
    assert late.code == 2 and "only a QUEUED run can be held" in late.err
    assert cli("run", "priority", run_id, "x").code == 2
