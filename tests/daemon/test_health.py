"""Tests for dagwright.daemon.health: each loop's state from its heartbeats (pure)."""

from __future__ import annotations

import pytest

from dagwright.daemon.health import LoopState, daemon_health, expected_loops, iso_local
from dagwright.settings import Settings
from dagwright.storage.workers import DaemonHeartbeat

NOW = 1_000_000.0
ALL = ["run_queue", "run_monitor", "run_retries", "backfills", "tag_stats"]


def beat(
    name: str, age: float, interval: float = 1.0, daemon: str = "h:1", stopped: bool = False
) -> DaemonHeartbeat:
    host, pid = daemon.split(":")
    return DaemonHeartbeat(
        name, daemon, NOW - age, host, int(pid), interval, NOW if stopped else None
    )


def fresh(daemon: str = "h:1") -> list[DaemonHeartbeat]:
    return [beat(name, 0.5, daemon=daemon) for name in ALL]


@pytest.mark.parametrize(
    ("age", "interval", "state"),
    [
        pytest.param(0.0, 1.0, LoopState.HEALTHY, id="just-beat"),
        pytest.param(4.9, 1.0, LoopState.HEALTHY, id="floor-of-5s"),
        pytest.param(5.1, 1.0, LoopState.LATE, id="late-after-the-floor"),
        pytest.param(14.9, 5.0, LoopState.HEALTHY, id="3-intervals"),
        pytest.param(15.1, 5.0, LoopState.LATE, id="over-3-intervals"),
        pytest.param(29.9, 1.0, LoopState.LATE, id="missing-floor-30s"),
        pytest.param(30.1, 1.0, LoopState.MISSING, id="missing"),
        pytest.param(49.9, 5.0, LoopState.LATE, id="10-intervals"),
        pytest.param(50.1, 5.0, LoopState.MISSING, id="over-10-intervals"),
    ],
)
def test_a_loop_state_follows_its_age_in_intervals(
    age: float, interval: float, state: LoopState
) -> None:
    beats = [*fresh(), beat("run_queue", age, interval, daemon="h:2")]
    beats = [b for b in beats if not (b.name == "run_queue" and b.daemon_id == "h:1")]
    health = daemon_health(beats, ALL, NOW)
    loop = health.loop("run_queue")
    assert loop is not None and loop.state is state
    assert health.state is state
    assert health.healthy is (state is LoopState.HEALTHY)
    assert health.is_running("run_queue") is (state is not LoopState.MISSING)


def test_no_heartbeat_at_all_is_missing_and_says_no_daemon_runs() -> None:
    health = daemon_health([], ALL, NOW)
    assert health.state is LoopState.MISSING and health.daemon_ids == []
    assert [loop.name for loop in health.loops] == sorted(ALL)
    assert not health.is_running("run_queue")
    assert health.summary().startswith("no daemon is running")
    assert "run_queue: missing" in health.problems()


def test_two_daemons_are_both_listed_and_the_healthier_one_counts() -> None:
    beats = [*fresh("h:1"), beat("run_queue", 100.0, daemon="h:2")]
    health = daemon_health(beats, ALL, NOW)
    assert health.healthy
    assert health.daemon_ids == ["h:1"]  # h:2's only loop is missing
    loop = health.loop("run_queue")
    assert loop is not None
    assert [(b.daemon_id, b.state) for b in loop.beats] == [
        ("h:1", LoopState.HEALTHY),
        ("h:2", LoopState.MISSING),
    ]
    both = daemon_health([*fresh("h:1"), *fresh("h:2")], ALL, NOW)
    assert both.daemon_ids == ["h:1", "h:2"] and "2 daemons running" in both.summary()


def test_a_cleanly_stopped_daemon_is_missing_at_once() -> None:
    beats = [beat(name, 0.1, stopped=True) for name in ALL]
    health = daemon_health(beats, ALL, NOW)
    assert health.state is LoopState.MISSING
    assert all(b.stopped for loop in health.loops for b in loop.beats)


def test_loops_beyond_the_settings_are_expected_while_their_daemon_has_not_stopped() -> None:
    running = daemon_health([*fresh(), beat("schedules", 100.0)], ALL, NOW)
    schedules = running.loop("schedules")
    assert schedules is not None and schedules.expected
    assert running.state is LoopState.MISSING
    stopped = daemon_health([*fresh(), beat("schedules", 100.0, stopped=True)], ALL, NOW)
    assert stopped.healthy and not stopped.is_running("schedules")
    assert [loop.name for loop in stopped.loops][-1] == "schedules"  # not expected: last


def test_expected_loops_follow_the_settings() -> None:
    assert expected_loops(Settings()) == ["run_monitor", "run_retries", "backfills", "tag_stats"]
    queued = Settings.model_validate(
        {"run_queue": {"max_concurrent_runs": 1}, "run_retries": {"enabled": False}}
    )
    assert expected_loops(queued) == ["run_queue", "run_monitor", "backfills", "tag_stats"]


def test_json_has_each_daemon_with_its_time_zone() -> None:
    data = daemon_health(fresh(), ALL, NOW).to_json()
    assert data["state"] == "healthy" and data["daemons"] == ["h:1"]
    assert data["claims"] == "limit-checked"
    (queue,) = [loop for loop in data["loops"] if loop["name"] == "run_queue"]
    (one,) = queue["daemons"]
    assert one["host"] == "h" and one["pid"] == 1 and one["age_seconds"] == 0.5
    assert one["heartbeat_iso"] == iso_local(NOW - 0.5)
    assert one["heartbeat_iso"][-6] in "+-"  # an offset, e.g. +00:00
