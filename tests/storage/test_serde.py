"""Tests for dagwright.storage.serde: the JSON boundary of stored records."""

from __future__ import annotations

import pytest

from dagwright.errors import DagwrightStorageError
from dagwright.execution.events import Event, EventType
from dagwright.runs.models import Run, RunStatus
from dagwright.storage import Storage
from dagwright.storage.serde import dumps, event_body, event_from_body, loads


def test_text_utf8_cannot_hold_is_stored_escaped() -> None:
    # an op's log line or error message may hold a lone surrogate; the event is kept
    event = Event("r1", EventType.LOG, 1.0, message="bad \ud800 text", data={"\udcff": ["\ud800"]})
    back = event_from_body(event_body(event), 7)
    assert back.message == "bad \\ud800 text"
    assert back.data == {"\\udcff": ["\\ud800"]}


@pytest.mark.parametrize("value", [{"n": 2**64}, {1: "int key"}, {"x": object()}])
def test_values_orjson_cannot_write_are_a_storage_error(value: object) -> None:
    with pytest.raises(DagwrightStorageError, match="cannot be stored as JSON"):
        dumps(value)


def test_plain_values_round_trip() -> None:
    value = {"a": [1, 2.5, None, True, "ü"]}
    assert loads(dumps(value)) == value


def test_an_event_with_a_surrogate_message_is_stored(storage: Storage) -> None:
    storage.runs.add_run(Run("r1", "job", RunStatus.NOT_STARTED, created_at=1.0))
    storage.events.store_event(Event("r1", EventType.LOG, 2.0, message="\ud800"))
    (stored,) = storage.events.get_events("r1")
    assert stored.message == "\\ud800"
