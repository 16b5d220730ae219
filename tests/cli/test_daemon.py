"""``dagwright daemon -m MODULE`` as a real process: it runs the sensors of that code and
submits backfill runs, then stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import CliRunner
from tests.jobs import scheduled
from tests.waiting import wait_for

from dagwright import Instance, InstigatorKind, InstigatorStatus, RunsFilter, RunStatus


def test_the_daemon_runs_sensors_and_backfills(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagwright.yaml").write_text(
        "run_queue:\n  max_concurrent_runs: 0\nrun_monitoring: {enabled: false}\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "DAGWRIGHT_HOME": str(home),
        scheduled.FILES_ENV: "eu:a,us:b",
        "PYTHONPATH": str(root),
    }
    with Instance.from_home(home) as instance:
        instance.set_instigator_status("files", InstigatorKind.SENSOR, InstigatorStatus.RUNNING)
        backfill_id = instance.launch_backfill(scheduled.regions, ["asia"])
        daemon = subprocess.Popen(
            [sys.executable, "-m", "dagwright", "daemon", "-m", "tests.jobs.scheduled"],
            cwd=root,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for(lambda: instance.get_runs_count() == 3, 30, "sensor and backfill runs")
            sensor_runs = instance.get_runs(RunsFilter(tags={"dagwright/sensor_name": "files"}))
            assert {r.tags["dagwright/run_key"] for r in sensor_runs} == {"eu:a", "us:b"}
            (backfill_run,) = instance.get_runs(
                RunsFilter(tags={"dagwright/backfill": backfill_id})
            )
            assert backfill_run.status is RunStatus.QUEUED
        finally:
            daemon.send_signal(signal.SIGTERM)
            _, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, err
    assert "sensors: files tick: SUCCESS" in err and "backfills:" in err


def _beat_all(home: Path, daemon_id: str, age: float = 0.0) -> None:
    import time

    with Instance.from_home(home) as instance:
        for name in ("run_queue", "run_monitor", "run_retries", "backfills", "tag_stats"):
            host, pid = daemon_id.split(":")
            instance.storage.workers.beat_daemon(
                name, daemon_id, time.time() - age, host=host, pid=int(pid), interval_seconds=1.0
            )


def test_daemon_status_without_a_daemon_exits_1(cli: CliRunner, home: Path) -> None:
    home.mkdir(parents=True)
    (home / "dagwright.yaml").write_text("run_queue:\n  max_concurrent_runs: 2\n")
    outcome = cli("daemon", "status")
    assert outcome.code == 1
    assert "no daemon is running" in outcome.out and "run_queue: missing" in outcome.out
    data = cli("daemon", "status", "--json")
    assert data.code == 1 and data.json()["state"] == "missing"
    assert {loop["name"] for loop in data.json()["loops"]} == {
        "run_queue",
        "run_monitor",
        "run_retries",
        "backfills",
        "tag_stats",
    }


def test_daemon_status_lists_two_daemons_and_exits_0(cli: CliRunner, home: Path) -> None:
    home.mkdir(parents=True)
    (home / "dagwright.yaml").write_text("run_queue:\n  max_concurrent_runs: 2\n")
    _beat_all(home, "alpha:11")
    _beat_all(home, "beta:22")
    outcome = cli("daemon", "status")
    assert outcome.code == 0, outcome.out
    assert "alpha:11" in outcome.out and "beta:22" in outcome.out
    assert "2 daemons running" in outcome.out and "queue claims: limit-checked" in outcome.out
    data = cli("daemon", "status", "--json").json()
    assert data["healthy"] and data["daemons"] == ["alpha:11", "beta:22"]
    (queue,) = [loop for loop in data["loops"] if loop["name"] == "run_queue"]
    assert [(d["host"], d["pid"], d["state"]) for d in queue["daemons"]] == [
        ("alpha", 11, "healthy"),
        ("beta", 22, "healthy"),
    ]
    assert queue["daemons"][0]["heartbeat_iso"][-6] in "+-"


def test_daemon_status_of_a_late_daemon_exits_1(cli: CliRunner, home: Path) -> None:
    home.mkdir(parents=True)
    _beat_all(home, "alpha:11", age=10.0)
    outcome = cli("daemon", "status")
    assert outcome.code == 1 and "late" in outcome.out


def test_a_stopped_daemon_marks_its_loops_stopped(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagwright.yaml").write_text("run_queue:\n  max_concurrent_runs: 0\n")
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DAGWRIGHT_HOME": str(home), "PYTHONPATH": str(root)}
    with Instance.from_home(home) as instance:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "dagwright", "daemon"], cwd=root, env=env, stderr=subprocess.PIPE
        )
        try:
            wait_for(lambda: instance.get_daemon_health().healthy, 30, "every loop beat")
            health = instance.get_daemon_health()
            assert health.daemon_ids == [f"{socket.gethostname()}:{daemon.pid}"]
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.communicate(timeout=30)
        after = instance.get_daemon_health()
    assert daemon.returncode == 0
    assert not after.is_running("run_queue") and after.state.value == "missing"
    assert all(b.stopped for loop in after.loops for b in loop.beats)
