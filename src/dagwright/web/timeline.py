"""The per-op timeline (Gantt) of a run, from its step events: one bar per step that started.

Pure: a function of the events and ``now`` (for steps still running).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from dagwright.execution.events import Event
from dagwright.runs.steps import step_outcomes

#: Bar height, gap and the width of the drawing area, in SVG pixels.
BAR_H: Final = 18
BAR_GAP: Final = 6
WIDTH: Final = 720
LABEL_W: Final = 180


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
    """The bars of every step that started (running steps end at ``now``), with the
    outcomes of :func:`~dagwright.runs.steps.step_outcomes`."""
    started = [step for step in step_outcomes(events) if step.start is not None]
    if not started:
        return Timeline((), now, now, 0)
    begin = min(step.at for step in started)
    finish = max(step.end if step.end is not None else now for step in started)
    span = max(finish - begin, 1e-3)
    scale = (WIDTH - LABEL_W) / span
    bars = []
    for i, step in enumerate(started):
        end = step.end if step.end is not None else now
        x = LABEL_W + (step.at - begin) * scale
        width, y = max((end - step.at) * scale, 2.0), i * (BAR_H + BAR_GAP)
        outcome = step.outcome
        bars.append(Bar(step.step_key, step.at, end, outcome, x, width, y, step.worker, step.queue))
    return Timeline(tuple(bars), begin, finish, len(bars) * (BAR_H + BAR_GAP))
