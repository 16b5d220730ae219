"""``dagwright daemon -m MODULE`` as a real process: it runs the sensors of that code and
submits backfill runs, then stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

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
