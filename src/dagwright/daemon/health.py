"""Daemon health: is every loop the settings call for passing, and who runs it.

A pure function of the stored heartbeats (one per loop of each daemon), the loops the
settings expect and ``now`` (:func:`daemon_health`). Surfaces (the page header, the
daemon page, ``dagwright daemon status``, ``GET /api/v1/daemon``) show its result and the
places where a user waits on a daemon ask :meth:`DaemonHealth.is_running`.

A loop of a daemon is

- ``healthy`` when its latest pass ended at most :data:`LATE_AFTER_INTERVALS` intervals
  ago (at least :data:`LATE_FLOOR_SECONDS`);
- ``late`` when older, up to :data:`MISSING_AFTER_INTERVALS` intervals (at least
  :data:`MISSING_FLOOR_SECONDS`): a long pass, or a daemon that has just died;
- ``missing`` when older still, when its daemon stopped cleanly, or when an expected loop
  has no heartbeat at all.

A loop is as healthy as its healthiest daemon, and the whole as its least healthy
expected loop. Expected: the loops the settings turn on (``run_queue`` when configured,
``run_monitor``, ``run_retries``, ``backfills``), and any other loop (``schedules``,
``sensors``: a daemon runs them only when started with code) with a heartbeat of a daemon
that did not stop cleanly. Heartbeats older than a day are dropped when a daemon starts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from dagwright.settings import Settings
    from dagwright.storage.workers import DaemonHeartbeat

#: A loop is late once its latest pass is this many intervals old.
LATE_AFTER_INTERVALS: Final = 3
#: ... but never sooner than this (seconds): a one-second queue loop under load is not late.
LATE_FLOOR_SECONDS: Final = 5.0
#: A loop is missing once its latest pass is this many intervals old.
MISSING_AFTER_INTERVALS: Final = 10
#: ... but never sooner than this (seconds).
MISSING_FLOOR_SECONDS: Final = 30.0
#: The interval assumed for a heartbeat that did not record one (seconds).
DEFAULT_INTERVAL: Final = 1.0
#: What a page says about queue claims when several daemons run.
CLAIMS_NOTE: Final = (
    "each claim is checked against the run queue's limits in storage, so every daemon "
    "launches and none goes over a limit (no leader)"
)


class LoopState(str, Enum):
    """How a loop (of one daemon, or overall) is doing."""

    HEALTHY = "healthy"
    LATE = "late"
    MISSING = "missing"


_RANK: Final = {LoopState.HEALTHY: 0, LoopState.LATE: 1, LoopState.MISSING: 2}


@dataclass(frozen=True)
class LoopBeat:
    """One loop of one daemon, judged at ``now``.

    Attributes:
        name: the loop.
        daemon_id: the daemon (``host:pid``).
        host: its host, if recorded.
        pid: its process id, if recorded.
        heartbeat_at: when its latest pass ended (epoch seconds, UTC).
        interval_seconds: how often it passes.
        age: seconds since ``heartbeat_at``.
        state: healthy, late or missing.
        stopped: its daemon stopped cleanly.
    """

    name: str
    daemon_id: str
    host: str | None
    pid: int | None
    heartbeat_at: float
    interval_seconds: float
    age: float
    state: LoopState
    stopped: bool

    def to_json(self) -> dict[str, Any]:
        """The loop as the API shows it (``heartbeat_iso`` in the server's time zone)."""
        return {
            "name": self.name,
            "daemon_id": self.daemon_id,
            "host": self.host,
            "pid": self.pid,
            "heartbeat_at": self.heartbeat_at,
            "heartbeat_iso": iso_local(self.heartbeat_at),
            "interval_seconds": self.interval_seconds,
            "age_seconds": round(self.age, 3),
            "state": self.state.value,
            "stopped": self.stopped,
        }


@dataclass(frozen=True)
class LoopHealth:
    """One expected (or seen) loop overall: its best daemon's state, and every daemon's beat."""

    name: str
    expected: bool
    state: LoopState
    beats: tuple[LoopBeat, ...]


@dataclass(frozen=True)
class DaemonHealth:
    """The health of the daemons of one home at ``now``.

    Attributes:
        now: when it was judged.
        state: the least healthy expected loop's state.
        loops: every expected or seen loop, expected ones first, by name.
    """

    now: float
    state: LoopState
    loops: tuple[LoopHealth, ...]

    @property
    def healthy(self) -> bool:
        """Whether every expected loop is healthy."""
        return self.state is LoopState.HEALTHY

    @property
    def daemon_ids(self) -> list[str]:
        """The daemons with a loop that is not missing, sorted."""
        return sorted(
            {
                b.daemon_id
                for loop in self.loops
                for b in loop.beats
                if b.state is not LoopState.MISSING
            }
        )

    def loop(self, name: str) -> LoopHealth | None:
        """The loop ``name``, if expected or seen."""
        return next((loop for loop in self.loops if loop.name == name), None)

    def is_running(self, name: str) -> bool:
        """Whether some daemon runs the loop ``name`` (healthy or late, not missing)."""
        loop = self.loop(name)
        return loop is not None and loop.state is not LoopState.MISSING

    def problems(self) -> list[str]:
        """One line per expected loop that is not healthy, e.g. ``"run_queue: missing"``."""
        return [
            f"{loop.name}: {loop.state.value}"
            for loop in self.loops
            if loop.expected and loop.state is not LoopState.HEALTHY
        ]

    def summary(self) -> str:
        """One line for a tooltip or a terminal: the state, the daemons, what is wrong."""
        daemons = self.daemon_ids
        if not daemons:
            return "no daemon is running (`dagwright daemon`): " + ", ".join(self.problems())
        who = f"{len(daemons)} daemon{'s' if len(daemons) != 1 else ''} running"
        if self.healthy:
            return f"daemon healthy: {who} ({', '.join(daemons)})"
        return f"daemon {self.state.value}: {who}; " + ", ".join(self.problems())

    def to_json(self) -> dict[str, Any]:
        """What ``GET /api/v1/daemon`` and ``dagwright daemon status --json`` print."""
        return {
            "state": self.state.value,
            "healthy": self.healthy,
            "now": self.now,
            "daemons": self.daemon_ids,
            "claims": "limit-checked",
            "claims_note": CLAIMS_NOTE,
            "loops": [
                {
                    "name": loop.name,
                    "expected": loop.expected,
                    "state": loop.state.value,
                    "daemons": [beat.to_json() for beat in loop.beats],
                }
                for loop in self.loops
            ],
        }


def expected_loops(settings: Settings) -> list[str]:
    """The loops ``dagwright daemon`` runs on a home with these settings (without code)."""
    loops = ["run_queue"] if settings.run_queue is not None else []
    if settings.run_monitoring.enabled:
        loops.append("run_monitor")
    if settings.run_retries.enabled:
        loops.append("run_retries")
    return [*loops, "backfills", "tag_stats"]


def judge(beat: DaemonHeartbeat, now: float) -> LoopBeat:
    """One heartbeat's state at ``now``."""
    interval = beat.interval_seconds or DEFAULT_INTERVAL
    age = max(0.0, now - beat.heartbeat_at)
    stopped = beat.stopped_at is not None
    if stopped or age > max(MISSING_AFTER_INTERVALS * interval, MISSING_FLOOR_SECONDS):
        state = LoopState.MISSING
    elif age > max(LATE_AFTER_INTERVALS * interval, LATE_FLOOR_SECONDS):
        state = LoopState.LATE
    else:
        state = LoopState.HEALTHY
    return LoopBeat(
        beat.name,
        beat.daemon_id,
        beat.host,
        beat.pid,
        beat.heartbeat_at,
        interval,
        age,
        state,
        stopped,
    )


def daemon_health(
    beats: Iterable[DaemonHeartbeat], expected: Sequence[str], now: float
) -> DaemonHealth:
    """Judge the stored heartbeats at ``now`` against the loops the settings expect."""
    by_loop: dict[str, list[LoopBeat]] = {name: [] for name in expected}
    for beat in beats:
        by_loop.setdefault(beat.name, []).append(judge(beat, now))
    loops = []
    for name, judged in by_loop.items():
        judged.sort(key=lambda b: (_RANK[b.state], b.daemon_id))
        state = judged[0].state if judged else LoopState.MISSING
        wanted = name in expected or any(not b.stopped for b in judged)
        loops.append(LoopHealth(name, wanted, state, tuple(judged)))
    loops.sort(key=lambda loop: (not loop.expected, loop.name))
    worst = max((loop.state for loop in loops if loop.expected), key=_RANK.__getitem__)
    return DaemonHealth(now, worst, tuple(loops))


def iso_local(timestamp: float) -> str:
    """An epoch timestamp as ISO 8601 in this machine's time zone, with its offset."""
    return datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="seconds")
