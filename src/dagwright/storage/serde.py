"""Fast JSON for the bodies stored in the database.

Bodies are compact (no spaces) and keep non-ASCII text as is, so a 64 KiB unicode tag
value costs 64 KiB, not six times that.
"""

from __future__ import annotations

import json
from typing import Any, Final

from dagwright.errors import DagwrightStorageError
from dagwright.execution.events import Event
from dagwright.runs.models import Run

#: The body format version written into every record body under ``"v"``.
BODY_VERSION: Final = 1

_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_DECODER: Final = json.JSONDecoder()


def dumps(value: Any) -> str:
    """Serialise a JSON-able value compactly."""
    return _ENCODER.encode(value)


def loads(text: str) -> Any:
    """Parse a JSON text written by :func:`dumps`."""
    return _DECODER.decode(text)


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
