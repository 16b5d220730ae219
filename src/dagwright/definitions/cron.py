"""Cron arithmetic in a time zone, with one rule for daylight-saving changes.

Cron expressions are matched on **wall-clock** time in the schedule's time zone (croniter
walks naive local times); each matching wall-clock time becomes one real instant:

* a wall-clock time that exists once is that instant;
* fall back (a repeated wall-clock hour): the **first** occurrence (PEP 495 ``fold=0``),
  so a 01:30 schedule runs once, not twice;
* spring forward (a wall-clock time that does not exist, 02:30 in New York on
  2026-03-08): converted with the offset in force just before the gap (``fold=0``), which
  lands as far after the gap's start as the time was: 02:30 EST = 03:30 EDT. The schedule
  runs once that day, not zero times. Should two wall-clock times land on one instant,
  they are one tick.

Instants are aware UTC datetimes; :func:`parse_instant` reads one from text (for
``schedule tick --at`` and the time partitions' start and end). Pure functions of their
arguments; no clock is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dagwright.errors import DagwrightDefinitionError

__all__ = ["CronSchedule", "parse_instant", "zone"]

_UTC = timezone.utc
#: Wider than any daylight-saving shift: how far candidates are read around an instant.
_SLACK = timedelta(hours=3)
#: Formats :func:`parse_instant` tries before ISO 8601.
_FORMATS = ("%Y-%m-%d", "%Y-%m-%d-%H:%M")


def zone(name: object, what: str) -> ZoneInfo:
    """The IANA time zone ``name``.

    Raises:
        DagwrightDefinitionError: it is not a known time zone (the message names ``what``).
    """
    if not isinstance(name, str) or not name:
        raise DagwrightDefinitionError(f"{what}: unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DagwrightDefinitionError(f"{what}: unknown time zone {name!r}") from exc


def parse_instant(value: object, tz: tzinfo) -> datetime:
    """The instant ``value`` names, as an aware UTC datetime.

    A str is ``YYYY-MM-DD``, ``YYYY-MM-DD-HH:MM`` or ISO 8601 (a trailing ``Z`` is UTC); a
    ``date`` is its midnight. A time without an offset is wall-clock time in ``tz``.

    Raises:
        ValueError: a str in none of these forms (the message quotes it).
        TypeError: neither a str nor a date.
    """
    if isinstance(value, str):
        value = _parse(value)
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise TypeError(f"must be a str or datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(_UTC)


def _parse(text: str) -> datetime:
    for fmt in _FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            pass
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO 8601 time, YYYY-MM-DD or YYYY-MM-DD-HH:MM"
        ) from None


class CronSchedule:
    """A cron expression in a time zone.

    Args:
        expression: five-field cron (``"30 2 * * *"``), or ``@daily``/``@hourly``/….
        timezone: IANA name; wall-clock times are matched there.
        what: names the owner in errors (``"schedule 'nightly'"``).

    Raises:
        DagwrightDefinitionError: the expression or the time zone is invalid.
    """

    def __init__(self, expression: str, timezone: str, what: str) -> None:
        from croniter import croniter

        self.expression = expression
        self.tz = zone(timezone, what)
        if not isinstance(expression, str) or not croniter.is_valid(expression):
            raise DagwrightDefinitionError(f"{what}: invalid cron schedule {expression!r}")
        if len(expression.split()) > 5:
            raise DagwrightDefinitionError(
                f"{what}: cron schedule {expression!r} has more than five fields (no seconds)"
            )
        try:
            self.next_after(datetime(2000, 1, 1, tzinfo=_UTC))
        except Exception as exc:  # croniter finds no match at all (e.g. 30 February)
            raise DagwrightDefinitionError(
                f"{what}: cron schedule {expression!r} never matches"
            ) from exc

    def to_utc(self, wall: datetime) -> datetime:
        """The instant of a naive wall-clock time (the DST rule of this module)."""
        return wall.replace(tzinfo=self.tz, fold=0).astimezone(_UTC)

    def _walls(self, start: datetime, forward: bool) -> Iterator[datetime]:
        from croniter import croniter

        it = croniter(self.expression, start)
        step = it.get_next if forward else it.get_prev
        while True:
            yield step(datetime)

    def _wall(self, instant: datetime) -> datetime:
        return _aware(instant).astimezone(self.tz).replace(tzinfo=None)

    def next_after(self, instant: datetime) -> datetime:
        """The first tick strictly after ``instant`` (naive = UTC)."""
        after = _aware(instant)
        best: datetime | None = None
        best_wall = None
        for wall in self._walls(self._wall(after) - _SLACK, forward=True):
            if best_wall is not None and wall > best_wall + _SLACK:
                break
            tick = self.to_utc(wall)
            if tick > after and (best is None or tick < best):
                best, best_wall = tick, wall
        assert best is not None
        return best

    def latest_at(self, instant: datetime) -> datetime:
        """The last tick at or before ``instant`` (naive = UTC)."""
        until = _aware(instant)
        best: datetime | None = None
        best_wall = None
        for wall in self._walls(self._wall(until) + _SLACK, forward=False):
            if best_wall is not None and wall < best_wall - _SLACK:
                break
            tick = self.to_utc(wall)
            if tick <= until and (best is None or tick > best):
                best, best_wall = tick, wall
        assert best is not None
        return best


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        return instant.replace(tzinfo=_UTC)
    return instant.astimezone(_UTC)
