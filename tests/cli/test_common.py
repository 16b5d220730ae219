"""Formatting helpers shared by the commands."""

from __future__ import annotations

import pytest

from dagwright.cli.common import format_time
from dagwright.web.render import duration


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "-"),
        (0.0017, "2 ms"),
        (0.85, "850 ms"),
        (2.345, "2.3 s"),
        (59.4, "59.4 s"),
        (245, "4 min 05 s"),
        (3600 * 2 + 185, "2 h 03 min"),
    ],
)
def test_durations_are_shown_for_people(seconds: float | None, shown: str) -> None:
    # run list used to print every sub-10 ms run as 0.00s
    assert duration(seconds) == shown


def test_times_say_their_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        assert format_time(0) == "1970-01-01 00:00:00 UTC"
        assert format_time(None) == "-"
    finally:
        monkeypatch.undo()
        time.tzset()
