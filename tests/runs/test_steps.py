"""What became of each step, from a run's events (shared by the timeline and the run diff)."""

from __future__ import annotations

from dagwright.execution.events import Event, EventType
from dagwright.runs.reexecution import REUSED_STEPS_KEY
from dagwright.runs.steps import StepOutcome, step_outcomes


def _event(kind: EventType, at: float, step: str | None = None, **data: object) -> Event:
    return Event("r", kind, at, step_key=step, data=data)


def test_every_step_the_events_mention_in_the_order_they_showed() -> None:
    events = [
        _event(EventType.RUN_START, 99.0),
        _event(EventType.ENGINE, 99.5, **{REUSED_STEPS_KEY: ["emit"]}),
        _event(EventType.STEP_START, 100.0, "a"),
        _event(EventType.STEP_FAILURE, 101.0, "a"),
        _event(EventType.STEP_SKIPPED, 101.5, "b"),  # never started
        _event(EventType.STEP_START, 102.0, "c"),  # still running
        _event(EventType.STEP_START, 100.5, "d"),  # started before c, written after it
        _event(EventType.STEP_SUCCESS, 103.0, "d"),
    ]
    assert step_outcomes(events) == [
        StepOutcome("emit", "reused", 99.5),
        StepOutcome("a", "failure", 100.0, 100.0, 101.0),
        StepOutcome("d", "success", 100.5, 100.5, 103.0),
        StepOutcome("b", "skipped", 101.5, None, 101.5),
        StepOutcome("c", "running", 102.0, 102.0, None),
    ]


def test_the_latest_end_wins_and_the_first_start_counts() -> None:
    events = [
        _event(EventType.STEP_START, 1.0, "a", celery_worker="wa@h", celery_queue="q1"),
        _event(EventType.STEP_FAILURE, 2.0, "a"),
        _event(EventType.STEP_START, 3.0, "a", celery_worker="wb@h", celery_queue="q2"),
        _event(EventType.STEP_SUCCESS, 4.0, "a"),
    ]
    (step,) = step_outcomes(events)
    assert (step.outcome, step.start, step.end) == ("success", 1.0, 4.0)
    assert (step.worker, step.queue) == ("wb@h", "q2")


def test_durations() -> None:
    assert StepOutcome("a", "success", 1.0, 1.0, 3.5).duration(now=10.0) == 2.5
    assert StepOutcome("a", "running", 1.0, 1.0).duration(now=10.0) == 9.0
    assert StepOutcome("a", "skipped", 1.0, None, 1.0).duration(now=10.0) is None
    assert StepOutcome("a", "reused", 1.0).duration(now=10.0) is None
    assert step_outcomes([_event(EventType.RUN_START, 1.0)]) == []
