"""The per-op timeline of a run."""

from __future__ import annotations

from dagwright.execution.events import Event, EventType
from dagwright.web.timeline import LABEL_W, WIDTH, timeline


def _event(kind: EventType, at: float, step: str | None) -> Event:
    return Event("r", kind, at, step_key=step)


def test_bars_span_the_steps_and_show_their_outcome() -> None:
    events = [
        _event(EventType.RUN_START, 99.0, None),
        _event(EventType.STEP_START, 100.0, "a"),
        _event(EventType.STEP_SUCCESS, 101.0, "a"),
        _event(EventType.STEP_START, 101.0, "b"),
        _event(EventType.STEP_FAILURE, 104.0, "b"),
        _event(EventType.STEP_START, 102.0, "c"),
        _event(EventType.STEP_SKIPPED, 103.0, "d"),  # never started: no bar
    ]
    result = timeline(events, now=200.0)
    assert [(b.step_key, b.outcome) for b in result.bars] == [
        ("a", "success"), ("b", "failure"), ("c", "running")]  # fmt: skip
    assert (result.start, result.end) == (100.0, 200.0)  # c still runs: the end is now
    a, b, c = result.bars
    assert a.x == LABEL_W and c.x + c.width <= WIDTH + 1e-6
    assert b.y > a.y


def test_no_steps_no_bars() -> None:
    assert timeline([_event(EventType.RUN_START, 1.0, None)], now=5.0).bars == ()


def test_a_celery_step_bar_names_its_latest_worker_and_queue() -> None:
    first = {"celery_worker": "wa@h", "celery_queue": "gpu"}
    again = {"celery_worker": "wb@h", "celery_queue": "gpu"}
    events = [
        Event("r", EventType.STEP_START, 100.0, "a", data=first),
        Event("r", EventType.STEP_START, 102.0, "a", data=again),  # taken over
        _event(EventType.STEP_SUCCESS, 103.0, "a"),
        _event(EventType.STEP_START, 100.0, "b"),  # not a celery step
    ]
    a, b = timeline(events, now=200.0).bars
    assert (a.worker, a.queue, a.start) == ("wb@h", "gpu", 100.0)
    assert (b.worker, b.queue) == ("", "")
