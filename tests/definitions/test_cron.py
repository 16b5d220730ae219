"""Cron arithmetic in a time zone and its daylight-saving rule (table-driven, pure)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from dagwright import DagwrightDefinitionError
from dagwright.definitions.cron import CronSchedule, parse_instant

UTC = timezone.utc
NY = "America/New_York"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def ticks_between(cron: CronSchedule, start: datetime, end: datetime) -> list[datetime]:
    """Every tick in ``(start, end]``, oldest first (by repeated ``next_after``)."""
    ticks: list[datetime] = []
    while (current := cron.next_after(ticks[-1] if ticks else start)) <= end:
        ticks.append(current)
    return ticks


def day_ticks(cron: CronSchedule, day: int, month: int) -> list[str]:
    start, end = utc(2026, month, day, 4), utc(2026, month, day + 1, 4)  # NY midnight-ish
    return [t.astimezone(cron.tz).strftime("%H:%M%z") for t in ticks_between(cron, start, end)]


@pytest.mark.parametrize(
    ("expression", "month", "day", "expected"),
    [
        # spring forward (2026-03-08, 02:00 EST -> 03:00 EDT): a 02:30 schedule runs once
        ("30 2 * * *", 3, 8, ["03:30-0400"]),
        ("30 2 * * *", 3, 7, ["02:30-0500"]),
        # every 30 minutes: 02:00 and 02:30 land on 03:00 and 03:30, each instant once
        ("*/30 1-3 * * *", 3, 8, ["01:00-0500", "01:30-0500", "03:00-0400", "03:30-0400"]),
        # fall back (2026-11-01, 02:00 EDT -> 01:00 EST): 01:30 happens twice, runs once
        ("30 1 * * *", 11, 1, ["01:30-0400"]),
        ("30 2 * * *", 11, 1, ["02:30-0500"]),
        # hourly on fall-back day: the repeated 01:00 runs once (the first time)
        ("0 1-3 * * *", 11, 1, ["01:00-0400", "02:00-0500", "03:00-0500"]),
    ],
)
def test_dst_rule(expression: str, month: int, day: int, expected: list[str]) -> None:
    assert day_ticks(CronSchedule(expression, NY, "s"), day, month) == expected


def test_next_and_latest_tick() -> None:
    cron = CronSchedule("0 3 * * *", "UTC", "s")
    assert cron.next_after(utc(2026, 1, 1, 3)) == utc(2026, 1, 2, 3)
    assert cron.next_after(datetime(2026, 1, 1, 2)) == utc(2026, 1, 1, 3)  # naive = UTC
    assert cron.latest_at(utc(2026, 1, 1, 3)) == utc(2026, 1, 1, 3)
    assert cron.latest_at(utc(2026, 1, 5, 2, 59)) == utc(2026, 1, 4, 3)
    assert ticks_between(cron, utc(2026, 1, 1), utc(2026, 1, 3, 3)) == [
        utc(2026, 1, 1, 3),
        utc(2026, 1, 2, 3),
        utc(2026, 1, 3, 3),
    ]


def test_latest_tick_after_a_long_downtime_is_cheap() -> None:
    cron = CronSchedule("* * * * *", "UTC", "s")
    assert cron.latest_at(utc(2030, 6, 1, 12, 0, 30)) == utc(2030, 6, 1, 12, 0)


def test_macros() -> None:
    assert CronSchedule("@daily", "UTC", "s").next_after(utc(2026, 1, 1, 5)) == utc(2026, 1, 2)


@pytest.mark.parametrize(
    ("expression", "tz", "message"),
    [
        ("not cron", "UTC", "schedule 'x': invalid cron schedule 'not cron'"),
        ("61 * * * *", "UTC", "invalid cron schedule"),
        ("* * * * * *", "UTC", "more than five fields"),
        ("0 0 30 2 *", "UTC", "never matches"),
        ("0 0 * * *", "Mars/Olympus", "schedule 'x': unknown time zone 'Mars/Olympus'"),
        ("0 0 * * *", "", "unknown time zone"),
    ],
)
def test_bad_input(expression: str, tz: str, message: str) -> None:
    with pytest.raises(DagwrightDefinitionError, match=message.replace("(", r"\(")):
        CronSchedule(expression, tz, "schedule 'x'")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-03T07:13Z", utc(2026, 1, 3, 7, 13)),
        ("2026-01-03T06:00:00+01:00", utc(2026, 1, 3, 5)),
        ("2026-01-03T07:13", utc(2026, 1, 3, 12, 13)),  # no offset: wall clock in New York
        ("2026-01-03", utc(2026, 1, 3, 5)),
        ("2026-01-03-07:00", utc(2026, 1, 3, 12)),
        (date(2026, 1, 3), utc(2026, 1, 3, 5)),
        (datetime(2026, 11, 1, 1, 30), utc(2026, 11, 1, 5, 30)),  # repeated hour: the first
    ],
)
def test_parse_instant(value: object, expected: datetime) -> None:
    parsed = parse_instant(value, ZoneInfo(NY))
    assert parsed == expected and parsed.tzinfo is UTC


def test_parse_instant_errors() -> None:
    with pytest.raises(ValueError, match="'soon' is not an ISO 8601 time"):
        parse_instant("soon", UTC)
    with pytest.raises(TypeError, match="must be a str or datetime, got int"):
        parse_instant(3, UTC)
