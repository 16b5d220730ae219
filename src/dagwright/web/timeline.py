"""The per-op timeline (Gantt) of a run, from its step events: one bar per step.

Pure: a function of the events and ``now`` (for steps still running).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from dagwright.execution.events import Event, EventType

#: Bar height, gap and the width of the drawing area, in SVG pixels.
BAR_H: Final = 18
BAR_GAP: Final = 6
WIDTH: Final = 720
LABEL_W: Final = 180

_ENDS: Final = {
    EventType.STEP_SUCCESS: "success",
    EventType.STEP_FAILURE: "failure",
    EventType.STEP_SKIPPED: "skipped",
}


@dataclass(frozen=True)
class Bar:
    """One step's bar: where it starts, how wide it is, how it ended, and where it ran
    (``worker`` and ``queue``: the Celery worker and queue of its latest start, or "")."""

    step_key: str
    start: float
    end: float
    outcome: str
    x: float
    width: float
    y: float
    worker: str = ""
    queue: str = ""


@dataclass(frozen=True)
class Timeline:
    """The bars of a run's steps, in start order, and the time span they cover."""

    bars: tuple[Bar, ...]
    start: float
    end: float
    height: float
    width: int = WIDTH
    label_w: int = LABEL_W
    bar_h: int = BAR_H


def timeline(events: Sequence[Event], now: float) -> Timeline:
    """The bars of every step that started (running steps end at ``now``)."""
    starts: dict[str, float] = {}
    ends: dict[str, tuple[float, str]] = {}
    placed: dict[str, tuple[str, str]] = {}
    for event in events:
        key = event.step_key
        if key is None:
            continue
        if event.event_type is EventType.STEP_START:
            starts.setdefault(key, event.timestamp)
            if "celery_worker" in event.data:
                placed[key] = (str(event.data["celery_worker"]), str(event.data["celery_queue"]))
        elif event.event_type in _ENDS:
            ends[key] = (event.timestamp, _ENDS[event.event_type])
    if not starts:
        return Timeline((), now, now, 0)
    begin = min(starts.values())
    finish = max(ends.get(k, (now, ""))[0] for k in starts)
    span = max(finish - begin, 1e-3)
    scale = (WIDTH - LABEL_W) / span
    bars = []
    for i, (key, start) in enumerate(sorted(starts.items(), key=lambda item: item[1])):
        end, outcome = ends.get(key, (now, "running"))
        x = LABEL_W + (start - begin) * scale
        width, y = max((end - start) * scale, 2.0), i * (BAR_H + BAR_GAP)
        bars.append(Bar(key, start, end, outcome, x, width, y, *placed.get(key, ("", ""))))
    return Timeline(tuple(bars), begin, finish, len(bars) * (BAR_H + BAR_GAP))
