"""Tick and instigator-state records: JSON forms."""

from __future__ import annotations

from dagwright import InstigatorKind, InstigatorState, InstigatorStatus, Tick, TickStatus
from dagwright.runs.ticks import TickError


def test_tick_json_round_trip() -> None:
    tick = Tick(
        7,
        "nightly",
        InstigatorKind.SCHEDULE,
        TickStatus.FAILURE,
        100.0,
        run_ids=("r",),
        run_keys=("k",),
        skipped_run_keys=("old",),
        error=TickError("boom", "Traceback"),
        cursor="c",
        ended_at=101.0,
    )
    data = tick.to_json()
    assert data == {
        "tick_id": 7,
        "name": "nightly",
        "kind": "schedule",
        "status": "FAILURE",
        "timestamp": 100.0,
        "run_ids": ["r"],
        "run_keys": ["k"],
        "skipped_run_keys": ["old"],
        "skip_reason": None,
        "error": {"message": "boom", "traceback": "Traceback"},
        "cursor": "c",
        "ended_at": 101.0,
    }
    assert Tick.from_json(data) == tick


def test_state_json() -> None:
    state = InstigatorState("s", InstigatorKind.SENSOR, InstigatorStatus.RUNNING, cursor="3")
    assert state.to_json()["kind"] == "sensor" and state.to_json()["cursor"] == "3"
