"""Runs with chosen creation times, outcomes and durations, for the tag analytics tests."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from dagwright import Instance
from dagwright.execution.events import Event, EventType
from dagwright.runs.models import Run, RunStatus

_END = {
    RunStatus.SUCCESS: EventType.RUN_SUCCESS,
    RunStatus.FAILURE: EventType.RUN_FAILURE,
    RunStatus.CANCELED: EventType.RUN_CANCELED,
}


def add_run(
    instance: Instance,
    tags: Mapping[str, str],
    *,
    created: float,
    status: RunStatus = RunStatus.SUCCESS,
    seconds: float = 10.0,
    job: str = "job",
) -> str:
    """Store a run created at ``created`` that ended with ``status`` after ``seconds``
    (QUEUED: left waiting; STARTED: left running); returns its id."""
    run_id = uuid.uuid4().hex
    instance.add_run(Run(run_id, job, RunStatus.QUEUED, dict(tags), created_at=created))
    if status == RunStatus.QUEUED:
        return run_id
    instance.handle_event(Event(run_id, EventType.RUN_STARTING, created + 1))
    instance.handle_event(Event(run_id, EventType.RUN_START, created + 1))
    if status == RunStatus.CANCELED:
        instance.handle_event(Event(run_id, EventType.RUN_CANCELING, created + 1 + seconds))
    if status in _END:
        instance.handle_event(Event(run_id, _END[status], created + 1 + seconds))
    return run_id
