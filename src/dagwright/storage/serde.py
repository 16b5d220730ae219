"""Fast JSON for the bodies stored in the database (orjson).

Bodies are compact (no spaces) and keep non-ASCII text as is, so a 64 KiB unicode tag
value costs 64 KiB, not six times that. Reading bodies is the cost of every page of runs
and every queue pass, hence orjson (several times the standard library's speed).
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from dagwright.errors import DagwrightStorageError
from dagwright.execution.events import Event
from dagwright.runs.models import Run, RunStatus

#: The body format version written into every record body under ``"v"``.
BODY_VERSION: Final = 1


def dumps(value: Any) -> str:
    """Serialise a JSON-able value compactly."""
    return orjson.dumps(value).decode()


def loads(text: str | bytes) -> Any:
    """Parse a JSON text written by :func:`dumps`."""
    return orjson.loads(text)


def run_body(run: Run) -> str:
    """The stored body of a run: its JSON form plus the body version."""
    data = run.to_json()
    data["v"] = BODY_VERSION
    return dumps(data)


def run_from_body(body: str) -> Run:
    """Inverse of :func:`run_body`.

    Raises:
        DagwrightStorageError: the body was written in a format this version does not know.
    """
    data = loads(body)
    _check_version(data)
    return Run.from_json(data)


#: The fields of a run that the queue does not read, at their defaults (see queue_entry).
_SLIM_DEFAULTS: Final = {
    name: value
    for name, value in Run("", "", RunStatus.QUEUED).__dict__.items()
    if name not in ("run_id", "job_name", "status", "tags", "created_at")
}


def queue_entry(body: str) -> Run:
    """The slim run the queue decides on (id, job, status, tags, creation time).

    A queue pass reads thousands of these, and a frozen dataclass's ``__init__`` (one
    ``object.__setattr__`` per field) costs more than parsing the body, so the record is
    filled in one step; it equals ``Run(run_id, job_name, status, tags=..., created_at=...)``.
    """
    data = loads(body)
    _check_version(data)
    run = object.__new__(Run)
    run.__dict__.update(
        _SLIM_DEFAULTS,
        run_id=data["run_id"],
        job_name=data["job_name"],
        status=RunStatus(data["status"]),
        tags=data.get("tags") or {},
        created_at=data.get("created_at") or 0.0,
    )
    return run


def event_body(event: Event) -> str:
    """The stored body of an event: its JSON form (without storage id) plus the version."""
    data = event.to_json()
    del data["storage_id"]
    data["v"] = BODY_VERSION
    return dumps(data)


def event_from_body(body: str, storage_id: int) -> Event:
    """Inverse of :func:`event_body`, with the storage id put back.

    Raises:
        DagwrightStorageError: the body was written in a format this version does not know.
    """
    data = loads(body)
    _check_version(data)
    data["storage_id"] = storage_id
    return Event.from_json(data)


def _check_version(data: dict[str, Any]) -> None:
    if data.get("v") != BODY_VERSION:
        raise DagwrightStorageError(
            f"a stored record has body version {data.get('v')!r}; this dagwright reads "
            f"version {BODY_VERSION} (upgrade dagwright)"
        )
