"""Events a run writes, and which of them change the run's status."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final

from dagwright.runs.models import RunStatus


class EventType(str, Enum):
    """What happened."""

    RUN_ENQUEUED = "RUN_ENQUEUED"
    RUN_STARTING = "RUN_STARTING"
    RUN_START = "RUN_START"
    RUN_SUCCESS = "RUN_SUCCESS"
    RUN_FAILURE = "RUN_FAILURE"
    RUN_CANCELING = "RUN_CANCELING"
    RUN_CANCELED = "RUN_CANCELED"
    STEP_START = "STEP_START"
    STEP_SUCCESS = "STEP_SUCCESS"
    STEP_FAILURE = "STEP_FAILURE"
    STEP_SKIPPED = "STEP_SKIPPED"
    LOG = "LOG"
    ENGINE = "ENGINE"
    TAGS_CHANGED = "TAGS_CHANGED"


#: The run status each run-level event moves its run to.
EVENT_TO_STATUS: Final[Mapping[EventType, RunStatus]] = {
    EventType.RUN_ENQUEUED: RunStatus.QUEUED,
    EventType.RUN_STARTING: RunStatus.STARTING,
    EventType.RUN_START: RunStatus.STARTED,
    EventType.RUN_SUCCESS: RunStatus.SUCCESS,
    EventType.RUN_FAILURE: RunStatus.FAILURE,
    EventType.RUN_CANCELING: RunStatus.CANCELING,
    EventType.RUN_CANCELED: RunStatus.CANCELED,
}

#: Log levels, lowest first.
LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class Event:
    """One thing that happened in a run.

    Attributes:
        run_id: the run.
        event_type: what happened.
        timestamp: when, in seconds since the epoch.
        step_key: the op (step) it concerns, if any.
        message: one human line.
        level: one of :data:`LEVELS`.
        data: JSON-able details (outputs, duration, error and traceback, …).
        storage_id: its position in storage, set once stored (increasing per instance).
    """

    run_id: str
    event_type: EventType
    timestamp: float
    step_key: str | None = None
    message: str = ""
    level: str = "INFO"
    data: Mapping[str, Any] = field(default_factory=dict)
    storage_id: int | None = None

    @property
    def run_status(self) -> RunStatus | None:
        """The status this event moves its run to, or None."""
        return EVENT_TO_STATUS.get(self.event_type)

    def to_json(self) -> dict[str, Any]:
        """The JSON form used by storage and the HTTP API."""
        return {
            "storage_id": self.storage_id,
            "run_id": self.run_id,
            "event_type": self.event_type.value,
            "timestamp": self.timestamp,
            "step_key": self.step_key,
            "message": self.message,
            "level": self.level,
            "data": dict(self.data),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Event:
        """Inverse of :meth:`to_json`."""
        return cls(
            run_id=data["run_id"],
            event_type=EventType(data["event_type"]),
            timestamp=data["timestamp"],
            step_key=data.get("step_key"),
            message=data.get("message", ""),
            level=data.get("level", "INFO"),
            data=data.get("data") or {},
            storage_id=data.get("storage_id"),
        )
