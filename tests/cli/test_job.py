"""``dagwright job list|show|execute``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

CliRunner = Callable[..., Any]
F = str(Path(__file__).resolve().parents[2] / "examples" / "jobs.py")


def test_job_list_shows_every_job(cli: CliRunner) -> None:
    outcome = cli("job", "list", "-f", F)
    assert outcome.code == 0, outcome.err
    for name in ("my_job_with_metadata", "my_graph", "daily_sales"):
        assert name in outcome.out
    jobs = cli("job", "list", "-f", F, "--json").json()["jobs"]
    assert [j["name"] for j in jobs] == [
        "my_job_with_metadata",
        "my_graph",
        "daily_sales",
        "regional_report",
    ]


def test_job_show_json_has_typed_metadata_tags_and_graph(cli: CliRunner) -> None:
    data = cli("job", "show", "-f", F, "-j", "daily_sales", "--json").json()
    assert data["metadata"]["owner"] == {"type": "text", "value": "analytics"}
    assert data["metadata"]["pii"] == {"type": "bool", "value": False}
    assert data["metadata"]["docs"]["type"] == "url"
    assert data["tags"] == {"team": "analytics", "dagwright/priority": "5"}
    assert [n["name"] for n in data["graph"]["nodes"]] == ["extract", "clean", "report"]
    edge = {"from_node": "extract", "from_output": "result", "to_node": "clean", "to_input": "rows"}
    assert edge in data["graph"]["edges"]  # the API's job JSON (DESIGN §6: --json = the API's)
    text = cli("job", "show", "-f", F, "-j", "daily_sales").out
    assert "owner (text): analytics" in text


def test_job_show_renders_each_metadata_type_for_people(cli: CliRunner) -> None:
    # It printed Python reprs, epoch floats, unindented markdown and a loader module name.
    text = cli("job", "show", "-f", F, "-j", "daily_sales").out
    assert "  pii (bool): false\n" in text
    assert '  sources (json): {"db": "sales", "tables": ["orders", "refunds"]}\n' in text
    assert "  schema (table_schema): id int, amount float\n" in text
    assert "  runbook (md): ## On failure\n      1. Check the *source*\n" in text
    assert "  reviewed (timestamp): 2026-11-01 " in text
    assert f"  defined_by (python_artifact): {F}:extract\n" in text
    assert "partitions: " in text and "(daily from 2026-01-01, UTC)" in text
    assert "__dagwright_file__" not in text


def test_the_file_module_prefix_is_the_loaders() -> None:
    from dagwright import metadata
    from dagwright.definitions import loader

    assert metadata._FILE_MODULE_PREFIX == loader.FILE_MODULE_PREFIX + "."


def test_job_execute_stores_a_run_with_merged_tags(cli: CliRunner) -> None:
    outcome = cli(
        "job",
        "execute",
        "-f",
        F,
        "-j",
        "daily_sales",
        "--partition",
        "2026-01-02",
        "--tags",
        '{"team": "docs", "n": 3}',
        "--tag",
        "who=me",
        "--json",
    )
    assert outcome.code == 0, outcome.err
    run = outcome.json()
    assert run["status"] == "SUCCESS"
    assert run["tags"] == {
        "team": "docs",
        "dagwright/priority": "5",
        "n": "3",
        "who": "me",
        "dagwright/partition": "2026-01-02",
    }
    listed = cli("run", "list", "--tag", "who=me", "--json").json()["runs"]
    assert [r["run_id"] for r in listed] == [run["run_id"]]


def test_job_execute_with_op_selection_and_config(cli: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text("ops:\n  extract:\n    config:\n      rows: 5\n")
    outcome = cli(
        "job",
        "execute",
        "-f",
        F,
        "-j",
        "daily_sales",
        "--op-selection",
        "extract,clean",
        "--config",
        str(config),
        "--partition",
        "2026-01-01",
    )
    assert outcome.code == 0, outcome.err
    assert "op 'extract' succeeded" in outcome.out and "report" not in outcome.out
    (run,) = cli("run", "list", "--json").json()["runs"]
    assert run["tags"]["dagwright/op_selection"] == '["extract", "clean"]'
    assert run["run_config"] == {"ops": {"extract": {"config": {"rows": 5}}}}


def test_the_readmes_example_config_file_runs(cli: CliRunner) -> None:
    config = Path(F).with_name("run.yaml")  # README: --config examples/run.yaml
    outcome = cli("job", "execute", "-f", F, "-j", "daily_sales", "--config", str(config))
    assert outcome.code == 0, outcome.err
    (run,) = cli("run", "list", "--json").json()["runs"]
    assert run["run_config"] == {"ops": {"extract": {"config": {"rows": 5, "region": "us"}}}}


def test_failed_run_exits_1(cli: CliRunner, tmp_path: Path) -> None:
    code = tmp_path / "bad.py"
    code.write_text(
        "from dagwright import op, job\n"
        "@op\ndef explode():\n    raise RuntimeError('no')\n"
        "@job\ndef doomed():\n    explode()\n"
    )
    outcome = cli("job", "execute", "-f", str(code))
    assert outcome.code == 1
    assert "FAILURE" in outcome.out and "RuntimeError: no" in outcome.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["job", "list", "-f", "nowhere.py"], "code file 'nowhere.py' not found"),
        (["job", "list"], "give a code file with -f FILE or a module with -m MODULE"),
        (["job", "list", "-m", "no_such_module_xyz"], "module 'no_such_module_xyz' not found"),
        (["job", "show", "-f", F, "-j", "nope"], "no job named 'nope'"),
        (["job", "show", "-f", F], "several jobs, choose one with -j JOB"),
        (["job", "execute", "-f", F, "-j", "daily_sales", "--tag", "bad key=1"], "bad key"),
        (["job", "execute", "-f", F, "-j", "daily_sales", "--tag", "novalue"], "key=value"),
        (["job", "execute", "-f", F, "-j", "daily_sales", "--tags", "[1]"], "JSON object"),
        (["job", "execute", "-f", F, "-j", "daily_sales", "--tags", "{"], "not JSON"),
        (["job", "execute", "-f", F, "-j", "daily_sales", "--tag", "dagwright/x=1"], "reserved"),
        (
            ["job", "execute", "-f", F, "-j", "daily_sales", "--tag", "dagwright/priority=hi"],
            "integer",
        ),
        (
            ["job", "execute", "-f", F, "-j", "daily_sales", "--partition", "1999-01-01"],
            "1999-01-01",
        ),
        (["job", "execute", "-f", F, "-j", "my_graph", "--partition", "x"], "not partitioned"),
        (["job", "execute", "-f", F, "-j", "daily_sales", "--op-selection", "zzz"], "zzz"),
        (
            ["job", "execute", "-f", F, "-j", "daily_sales", "--config", "missing.yaml"],
            "missing.yaml",
        ),
        (["job", "nope"], "No such command"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_stores_nothing(
    cli: CliRunner, args: list[str], message: str
) -> None:
    outcome = cli(*args)
    assert outcome.code == 2
    assert outcome.err.count("\n") == 1, outcome.err
    assert outcome.err.startswith("Error: ")
    assert message in outcome.err
    assert cli("run", "list", "--json").json()["runs"] == []


def test_python_dash_m_dagwright_works_and_errors_without_traceback(home: Path) -> None:
    env_run = subprocess.run(
        [sys.executable, "-m", "dagwright", "job", "list", "-f", "missing.py"],
        capture_output=True,
        text=True,
        env={"DAGWRIGHT_HOME": str(home), "PATH": ""},
    )
    assert env_run.returncode == 2
    assert env_run.stderr == "Error: code file 'missing.py' not found\n"
    ok = subprocess.run(
        [sys.executable, "-m", "dagwright", "--help"], capture_output=True, text=True
    )
    assert ok.returncode == 0 and "job" in ok.stdout and "run" in ok.stdout


def _wait_finished(cli: CliRunner, run_id: str) -> dict[str, Any]:
    import time

    deadline = time.monotonic() + 60
    while True:
        run: dict[str, Any] = cli("run", "show", run_id, "--json").json()
        if run["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
            return run
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_job_launch_runs_in_a_worker_process(cli: CliRunner) -> None:
    outcome = cli(
        "job",
        "launch",
        "-f",
        F,
        "-j",
        "daily_sales",
        "--partition",
        "2026-01-02",
        "--tag",
        "team=docs",
        "--json",
    )
    assert outcome.code == 0, outcome.err
    launched = outcome.json()
    assert launched["status"] == "STARTING"
    assert launched["code_pointer"]["python_file"] == F
    run = _wait_finished(cli, launched["run_id"])
    assert run["status"] == "SUCCESS"
    assert run["tags"]["dagwright/partition"] == "2026-01-02"
    assert [e["event_type"] for e in run["events"]][-1] == "RUN_SUCCESS"


def test_job_launch_refuses_bad_input(cli: CliRunner) -> None:
    for args, message in [
        (["--tag", "dagwright/priority=soon"], "integer"),
        (["--tag", "dagwright/retry_strategy=NEVER"], "FROM_FAILURE"),
        (["--partition", "not-a-day"], "not-a-day"),
    ]:
        outcome = cli("job", "launch", "-f", F, "-j", "daily_sales", *args)
        assert outcome.code == 2 and message in outcome.err
    assert cli("run", "list", "--json").json()["runs"] == []


def test_queue_and_terminate(cli: CliRunner, home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagwright.yaml").write_text(
        "run_queue:\n  max_concurrent_runs: 0\n  tag_concurrency_limits:\n"
        "    - {key: team, value: docs, limit: 1}\n"
    )
    run_id = cli(
        "job", "launch", "-f", F, "-j", "my_job_with_metadata", "--tag", "team=docs", "--json"
    ).json()["run_id"]
    state = cli("queue", "--json").json()
    assert state["runs"][0]["run_id"] == run_id
    assert state["runs"][0]["blocked_by"] == ["max concurrent runs: 0 of 0 in use"]
    assert state["limits"][0]["description"] == "team=docs: 0 of 1 in use"
    table = cli("queue")
    assert run_id in table.out and "max concurrent runs: 0 of 0" in table.out
    assert cli("run", "terminate", run_id).out.strip() == f"run {run_id} CANCELED"
    again = cli("run", "terminate", run_id)
    assert again.code == 2 and "CANCELED" in again.err


@pytest.mark.parametrize("daemon_runs", [False, True])
def test_job_launch_warns_when_the_run_is_queued_and_no_daemon_runs_the_queue(
    cli: CliRunner, home: Path, daemon_runs: bool
) -> None:
    import time

    from dagwright import Instance

    home.mkdir(parents=True, exist_ok=True)
    (home / "dagwright.yaml").write_text("run_queue:\n  max_concurrent_runs: 0\n")
    if daemon_runs:
        with Instance.from_home(home) as instance:
            instance.storage.workers.beat_daemon("run_queue", "h:1", time.time())
    outcome = cli("job", "launch", "-f", F, "-j", "my_job_with_metadata", "--json")
    assert outcome.code == 0, outcome.err
    assert outcome.json()["status"] == "QUEUED"  # stdout stays pure JSON
    warning = "Warning: no daemon is running the run queue"
    assert (warning in outcome.err) is not daemon_runs, outcome.err


def test_job_launch_does_not_warn_when_the_run_launches_at_once(cli: CliRunner) -> None:
    outcome = cli("job", "launch", "-f", F, "-j", "my_job_with_metadata")
    assert outcome.code == 0 and "STARTING" in outcome.out
    assert "daemon" not in outcome.err
    _wait_finished(cli, outcome.out.split()[1])
