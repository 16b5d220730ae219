"""What became of each step of a run, read from its events: the one reading shared by the
run page's timeline and the run diff.

Pure: a function of the events. A step that started and has not ended is ``running``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from dagwright.execution.events import Event, EventType
from dagwright.runs.reexecution import REUSED_STEPS_KEY

#: The outcome each step end event gives its step (the latest one wins).
STEP_ENDS: Final = {
    EventType.STEP_SUCCESS: "success",
    EventType.STEP_FAILURE: "failure",
    EventType.STEP_SKIPPED: "skipped",
}

#: The outcome of a step that started and has not ended.
RUNNING: Final = "running"

#: The outcome of a step a re-execution from failure took from its parent (not executed).
REUSED: Final = "reused"


@dataclass(frozen=True)
class StepOutcome:
    """One step of a run and how it went.

    Attributes:
        step_key: the step.
        outcome: ``success``, ``failure``, ``skipped``, ``running`` or ``reused``.
        at: when the step first showed in the run (its first start, its skip, or the
            announcement that it is reused): the run's order of steps.
        start: its first STEP_START (None: it never started).
        end: its latest end event (None: running, or reused).
        worker: the Celery worker of its latest start ("" for other executors).
        queue: the Celery queue of its latest start ("").
    """

    step_key: str
    outcome: str
    at: float
    start: float | None = None
    end: float | None = None
    worker: str = ""
    queue: str = ""

    def duration(self, now: float) -> float | None:
        """Seconds from its start to its end (to ``now`` while it runs); None if it never
        started."""
        if self.start is None:
            return None
        return (self.end if self.end is not None else now) - self.start


class _Step:
    """A step's facts while the events are read."""

    def __init__(self, at: float) -> None:
        self.at = at
        self.start: float | None = None
        self.end: tuple[float, str] | None = None
        self.placed = ("", "")

    def outcome(self, key: str) -> StepOutcome:
        if self.end is not None:
            outcome, end = self.end[1], self.end[0]
        else:
            outcome, end = (RUNNING if self.start is not None else REUSED), None  # no end
        return StepOutcome(key, outcome, self.at, self.start, end, *self.placed)


def step_outcomes(events: Sequence[Event]) -> list[StepOutcome]:
    """Every step the events mention, in the order they first showed (equal times keep the
    events' order): started, skipped, and reused by a re-execution from failure."""
    steps: dict[str, _Step] = {}
    for event in events:
        if event.event_type is EventType.ENGINE and REUSED_STEPS_KEY in event.data:
            for key in event.data[REUSED_STEPS_KEY]:
                steps.setdefault(str(key), _Step(event.timestamp))
            continue
        key = event.step_key
        if key is None:
            continue
        if event.event_type is EventType.STEP_START:
            step = steps.setdefault(key, _Step(event.timestamp))
            if step.start is None:
                step.start = step.at = event.timestamp
            if "celery_worker" in event.data:
                step.placed = (str(event.data["celery_worker"]), str(event.data["celery_queue"]))
        elif event.event_type in STEP_ENDS:
            step = steps.setdefault(key, _Step(event.timestamp))
            step.end = (event.timestamp, STEP_ENDS[event.event_type])
    ordered = sorted(steps.items(), key=lambda item: item[1].at)
    return [step.outcome(key) for key, step in ordered]
