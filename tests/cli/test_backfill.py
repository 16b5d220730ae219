"""``dagwright job backfill`` and ``dagwright backfill list|show|cancel``."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.cli.conftest import CliRunner

M = "tests.jobs.scheduled"


@pytest.fixture
def queued(home: Path) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagwright.yaml").write_text("run_queue:\n  max_concurrent_runs: 0\n")
    return home


def test_backfill_a_range_then_list_show_and_cancel(cli: CliRunner, queued: Path) -> None:
    outcome = cli(
        "job", "backfill", "-m", M, "-j", "days", "--from", "2026-01-02", "--to", "2026-01-04",
        "--tag", "team=docs", "--json",
    )  # fmt: skip
    assert outcome.code == 0, outcome.err
    backfill = outcome.json()
    assert backfill["partition_keys"] == ["2026-01-02", "2026-01-03", "2026-01-04"]
    assert backfill["status"] == "REQUESTED" and backfill["tags"] == {"team": "docs"}
    assert backfill["progress"]["requested"] == 3
    listed = cli("backfill", "list", "--json").json()["backfills"]
    assert [b["backfill_id"] for b in listed] == [backfill["backfill_id"]]
    shown = cli("backfill", "show", backfill["backfill_id"]).out
    assert "REQUESTED" in shown and "2026-01-03" in shown
    assert "CANCELED" in cli("backfill", "cancel", backfill["backfill_id"]).out
    assert "CANCELED" in cli("backfill", "list").out


@pytest.mark.parametrize(("keys", "count"), [(["--all"], 3), (["--partitions", "eu,us"], 2)])
def test_launch_says_how_many_partitions(
    cli: CliRunner, queued: Path, keys: list[str], count: int
) -> None:
    outcome = cli("job", "backfill", "-m", M, "-j", "regions", *keys)
    assert outcome.code == 0, outcome.err
    assert f" of regions: {count} partition(s), REQUESTED" in outcome.out


def test_wait_shows_progress_until_the_backfill_ends(cli: CliRunner, queued: Path) -> None:
    import threading

    from tests.waiting import wait_for

    from dagwright import Instance
    from dagwright.daemon.backfills import BackfillDaemon

    def cancel_when_submitted() -> None:
        with Instance.from_home(queued) as instance:
            wait_for(lambda: bool(instance.get_backfills()), 30, "backfill stored")
            BackfillDaemon(instance).run_iteration(0.0)
            instance.cancel_backfill(instance.get_backfills()[0].backfill_id)

    helper = threading.Thread(target=cancel_when_submitted)
    helper.start()
    outcome = cli("job", "backfill", "-m", M, "-j", "regions", "--partitions", "eu,us", "--wait")
    helper.join()
    assert outcome.code == 1  # it did not complete
    assert "backfill" in outcome.out and "CANCELED" in outcome.out


@pytest.mark.parametrize(("beat_seconds_ago", "warned"), [(None, True), (1, False), (120, True)])
def test_wait_warns_once_when_no_daemon_runs_backfills(
    cli: CliRunner, queued: Path, beat_seconds_ago: float | None, warned: bool
) -> None:
    import threading
    import time

    from tests.waiting import wait_for

    from dagwright import Instance

    with Instance.from_home(queued) as instance:
        if beat_seconds_ago is not None:
            beat = time.time() - beat_seconds_ago
            instance.storage.workers.beat_daemon("backfills", "host:1", beat)

    def cancel_when_stored() -> None:
        with Instance.from_home(queued) as instance:
            wait_for(lambda: bool(instance.get_backfills()), 30, "backfill stored")
            instance.cancel_backfill(instance.get_backfills()[0].backfill_id)

    helper = threading.Thread(target=cancel_when_stored)
    helper.start()
    outcome = cli("job", "backfill", "-m", M, "-j", "regions", "--partitions", "eu", "--wait")
    helper.join()
    assert outcome.code == 1
    expected = "Warning: no `dagwright daemon` has run backfills in the last 30 s"
    assert outcome.err.count(expected) == (1 if warned else 0), outcome.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-j", "regions"], "give exactly one of --partitions, --from/--to, --all"),
        (["-j", "regions", "--all", "--partitions", "eu"], "give exactly one of"),
        (["-j", "regions", "--partitions", "eu,mars"], "partition 'mars' of job 'regions'"),
        (["-j", "chain", "--all"], "the job is not partitioned"),
        (["-j", "days", "--from", "2026-01-03", "--to", "2026-01-01"], "comes before"),
        (["-j", "days", "--from", "1999-01-01"], "before the first partition"),
        (["-j", "regions", "--all", "--tags", "[1]"], "must be a JSON object"),
        (["-j", "regions", "--all", "--tag", "dagwright/backfill=x"], "reserved"),
    ],
)
def test_bad_input_exits_2_and_stores_nothing(
    cli: CliRunner, queued: Path, args: list[str], message: str
) -> None:
    outcome = cli("job", "backfill", "-m", M, *args)
    assert outcome.code == 2
    assert message in outcome.err and outcome.err.count("\n") == 1
    assert cli("backfill", "list", "--json").json()["backfills"] == []


def test_unknown_backfill(cli: CliRunner) -> None:
    outcome = cli("backfill", "show", "nope")
    assert outcome.code == 2 and "backfill 'nope' not found" in outcome.err
