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
from dagwright.jsonvalue import printable
from dagwright.runs.models import Run, RunStatus

#: The body format version written into every record body under ``"v"``.
BODY_VERSION: Final = 1


def dumps(value: Any) -> str:
    """Serialise a JSON-able value compactly.

    Text that UTF-8 cannot hold (a lone surrogate, e.g. in an op's log line or error
    message) is stored with the surrogate written as a ``\\udXXX`` escape, rather than
    losing the record; user input (tags, run config) is refused before it gets here.

    Raises:
        DagwrightStorageError: the value is not JSON orjson can write (a bug upstream:
            every user value is checked by :mod:`dagwright.jsonvalue` first).
    """
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        pass
    try:
        return orjson.dumps(_printable(value, 0)).decode()
    except (orjson.JSONEncodeError, RecursionError) as exc:
        raise DagwrightStorageError(f"a record cannot be stored as JSON: {exc}") from exc


def _printable(value: Any, depth: int) -> Any:
    """``value`` with every string (and key) made valid UTF-8 (see :func:`dumps`)."""
    if depth > _MAX_DEPTH:
        raise RecursionError("nested too deep")
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {
            printable(k) if isinstance(k, str) else k: _printable(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_printable(v, depth + 1) for v in value]
    return value


#: Deeper than orjson writes (254 levels); :func:`_printable` stops there.
_MAX_DEPTH: Final = 256


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
