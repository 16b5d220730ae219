"""Partitions of a job: a fixed list of keys, or the completed days or hours of a calendar.

A run of one partition carries its key in the ``dagwright/partition`` tag; a definition
lists its keys and checks a key without listing them.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import ClassVar, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dagwright.definitions.cron import parse_instant
from dagwright.errors import DagwrightDefinitionError, DagwrightInvalidPartitionError
from dagwright.jsonvalue import storable

__all__ = [
    "DailyPartitionsDefinition",
    "HourlyPartitionsDefinition",
    "PartitionsDefinition",
    "StaticPartitionsDefinition",
    "TimeWindowPartitionsDefinition",
]

_UTC = timezone.utc

#: How many keys a ``StaticPartitionsDefinition`` repr shows before it abbreviates.
REPR_MAX_KEYS = 10

#: The end of a listing that no later window can change (the end date has passed).
_FOREVER = datetime.max


class PartitionsDefinition(abc.ABC):
    """The partition keys a job may run with.

    Subclasses say why a key is not a partition (``_problem``) and what identifies them
    (``_identity``); checking, validation, equality and hashing follow from those.
    """

    @abc.abstractmethod
    def get_partition_keys(self, current_time: datetime | None = None) -> list[str]:
        """Return every partition key in order.

        Args:
            current_time: the time to list at (time partitions list only completed
                windows); defaults to now; a naive datetime is taken as UTC.
        """

    @abc.abstractmethod
    def _problem(self, key: str, current_time: datetime | None) -> str | None:
        """Return why ``key`` is not a partition, or ``None`` if it is one."""

    @abc.abstractmethod
    def _identity(self) -> tuple[object, ...]:
        """Return the values that make two definitions equal."""

    @abc.abstractmethod
    def describe(self) -> str:
        """What the partitions are, for people (``daily from 2026-01-01, UTC``)."""

    def has_partition_key(self, key: str, current_time: datetime | None = None) -> bool:
        """Return whether ``key`` is a partition (at ``current_time``, default now)."""
        return isinstance(key, str) and self._problem(key, current_time) is None

    def validate_key(self, key: str, job_name: str, current_time: datetime | None = None) -> None:
        """Check that ``key`` is a partition of ``job_name`` (at ``current_time``).

        Raises:
            DagwrightInvalidPartitionError: naming the key, the job and the rule.
        """
        if not isinstance(key, str):
            raise DagwrightInvalidPartitionError(
                repr(key), job_name, f"a partition key must be a str, got {type(key).__name__}"
            )
        problem = self._problem(key, current_time)
        if problem is not None:
            raise DagwrightInvalidPartitionError(key, job_name, problem)

    def time_window_for_key(self, key: str) -> tuple[datetime, datetime] | None:
        """Return the ``[start, end)`` window of a time partition; ``None`` for other kinds."""
        return None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PartitionsDefinition) or type(other) is not type(self):
            return NotImplemented
        return self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._identity()))


class StaticPartitionsDefinition(PartitionsDefinition):
    """A fixed, ordered list of partition keys.

    Args:
        keys: at least one non-empty str, no duplicates; the order is kept.

    Raises:
        DagwrightDefinitionError: the keys break one of those rules.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        self._keys = _static_keys(keys)
        self._key_set = frozenset(self._keys)

    @property
    def keys(self) -> tuple[str, ...]:
        """The partition keys, in order."""
        return self._keys

    def get_partition_keys(self, current_time: datetime | None = None) -> list[str]:
        """Return the keys in order; ``current_time`` is ignored."""
        return list(self._keys)

    def _problem(self, key: str, current_time: datetime | None) -> str | None:
        if key in self._key_set:
            return None
        return f"not one of the {len(self._keys)} partitions of {self!r}"

    def _identity(self) -> tuple[object, ...]:
        return self._keys

    def describe(self) -> str:
        """``static: a, b, c`` (the first keys, then how many more)."""
        shown = ", ".join(self._keys[:REPR_MAX_KEYS])
        more = len(self._keys) - REPR_MAX_KEYS
        return f"static: {shown}" + (f", and {more} more" if more > 0 else "")

    def __repr__(self) -> str:
        shown = list(self._keys[:REPR_MAX_KEYS])
        if len(self._keys) <= REPR_MAX_KEYS:
            return f"{type(self).__name__}({shown!r})"
        more = len(self._keys) - REPR_MAX_KEYS
        return f"{type(self).__name__}({str(shown)[:-1]}, ... {more} more])"


def _static_keys(keys: object) -> tuple[str, ...]:
    if isinstance(keys, str) or not isinstance(keys, Sequence):
        raise DagwrightDefinitionError(
            f"static partition keys must be a list of str, got {type(keys).__name__}"
        )
    if not keys:
        raise DagwrightDefinitionError("a StaticPartitionsDefinition needs at least one key")
    for key in keys:
        if not isinstance(key, str) or not key:
            raise DagwrightDefinitionError(f"static partition key {key!r} is not a non-empty str")
        if not storable(key):  # it becomes the value of the tag dagwright/partition
            raise DagwrightDefinitionError(
                f"static partition key {key!r}: valid Unicode without NUL characters"
            )
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise DagwrightDefinitionError(f"duplicate static partition keys {duplicates}")
    return tuple(keys)


class TimeWindowPartitionsDefinition(PartitionsDefinition):
    """Consecutive calendar windows (days, hours) of a timezone; only completed ones count.

    Keys label a window by its local wall-clock start. The window of a key holds every real
    instant whose local time falls in that day or hour, so around daylight-saving changes:

    * spring forward: a wall-clock hour that does not exist (02:00 in New York on
      2026-03-08) has no partition, and that day is 23 hours long;
    * fall back: the repeated wall-clock hour is **one** partition two real hours long
      (``2026-11-01-01:00`` in New York runs 05:00Z–07:00Z), and that day is 25 hours.

    So every real instant after the start belongs to exactly one partition, keys are unique
    and keep their format. Windows are found by converting each local label to UTC with
    the offset in force at that wall-clock time (PEP 495 ``fold=0``) and compared in UTC.

    Args:
        start_date: the first window is the one holding this time. A str is ``YYYY-MM-DD``,
            ``YYYY-MM-DD-HH:MM`` or ISO 8601; a naive time is wall-clock time in ``timezone``.
        end_date: exclusive; only windows that start before it are partitions.
        timezone: an IANA timezone name.

    Raises:
        DagwrightDefinitionError: an unknown timezone, an unreadable date, or an end date
            not after the start.
    """

    #: The word in rules and reprs ("daily", "hourly").
    cadence: ClassVar[str]
    #: The length of a window in wall-clock time.
    step: ClassVar[timedelta]
    #: The ``strftime`` format of keys, and how it is shown to users.
    key_format: ClassVar[str]
    key_pattern: ClassVar[str]

    def __init__(
        self,
        start_date: str | datetime,
        end_date: str | datetime | None = None,
        timezone: str = "UTC",
    ) -> None:
        self._tz = _zone(timezone)
        start = _instant(start_date, self._tz, "start_date")
        self._start = self._floor(self._local(start).replace(tzinfo=None))
        self._end = None if end_date is None else _instant(end_date, self._tz, "end_date")
        if self._end is not None and self._end <= self._utc(self._start):
            raise DagwrightDefinitionError(
                f"{type(self).__name__}: end_date {end_date!s} is not after start_date "
                f"{start_date!s}"
            )
        self._listing: _Listing | None = None

    @abc.abstractmethod
    def _floor(self, label: datetime) -> datetime:
        """Return the start of the window label holding naive local time ``label``."""

    @property
    def timezone(self) -> str:
        """The IANA timezone name."""
        return self._tz.key

    @property
    def start(self) -> datetime:
        """The start of the first window, an aware UTC datetime."""
        return self._utc(self._start).replace(tzinfo=_UTC)

    @property
    def end(self) -> datetime | None:
        """The exclusive end date, an aware UTC datetime; ``None`` if open."""
        return None if self._end is None else self._end.replace(tzinfo=_UTC)

    def get_partition_keys(self, current_time: datetime | None = None) -> list[str]:
        """Return the keys of completed windows from the start, oldest first.

        The latest listing is kept until the next window completes, then extended by the
        new windows: listing an hourly definition of some years (tens of thousands of
        keys) on every request costs a copy, not a walk from the start.

        Args:
            current_time: defaults to now; a naive datetime is taken as UTC.
        """
        now = _now(current_time)
        kept = self._listing
        if kept is not None and kept.since <= now < kept.until:
            return list(kept.keys)
        if kept is not None and now >= kept.until:
            listing = self._list(now, kept.keys, kept.label, kept.start)
        else:
            listing = self._list(now, (), self._start, self._utc(self._start))
        if kept is None or listing.since >= kept.since:
            self._listing = listing
        return list(listing.keys)

    def _list(
        self, now: datetime, keys: tuple[str, ...], label: datetime, start: datetime
    ) -> _Listing:
        """Extend ``keys`` with the windows complete at ``now`` from the one labelled
        ``label`` (starting at instant ``start``) on."""
        new: list[str] = []
        until = _FOREVER
        while self._end is None or start < self._end:
            following = label + self.step
            end = self._utc(following)
            if end > now:
                until = end
                break
            if start < end:
                new.append(self._key(label))
            label, start = following, end
        return _Listing(keys + tuple(new), start, until, label, start)

    def time_window_for_key(self, key: str) -> tuple[datetime, datetime] | None:
        """Return the ``[start, end)`` window of ``key`` as aware UTC datetimes.

        UTC, because aware datetimes in one zone compare and subtract by wall clock in
        Python (a 25-hour day would measure 24 hours); convert for display with
        ``.astimezone(ZoneInfo(definition.timezone))``.

        Returns:
            The window, complete or not; ``None`` if ``key`` names no window of this
            definition (malformed, before the start, at or after the end, or a
            wall-clock hour that does not exist).
        """
        label = self._parse_key(key)
        if label is None or self._range_problem(label) is not None:
            return None
        start, end = self._window(label)
        return start.replace(tzinfo=_UTC), end.replace(tzinfo=_UTC)

    def _problem(self, key: str, current_time: datetime | None) -> str | None:
        label = self._parse_key(key)
        if label is None:
            return f"not a {self.cadence} partition key; expected {self.key_pattern}"
        reason = self._range_problem(label)
        if reason is None:
            now = _now(current_time)
            if self._window(label)[1] > now:
                reason = f"not complete at {now.isoformat()}Z"
        if reason is None:
            return None
        until = "" if self._end is None else f" until {self._describe_end()}"
        first = self._key(self._start)
        return f"not a completed {self.cadence} partition from {first}{until} ({reason})"

    def _range_problem(self, label: datetime) -> str | None:
        start, end = self._window(label)
        if label < self._start:
            return "before the first partition"
        if self._end is not None and start >= self._end:
            return "at or after the end date"
        if start >= end:
            return f"that wall-clock time does not exist in {self.timezone}"
        return None

    def _parse_key(self, key: str) -> datetime | None:
        try:
            label = datetime.strptime(key, self.key_format)
        except (TypeError, ValueError):
            return None
        if self._key(label) != key or self._floor(label) != label:
            return None
        return label

    def _window(self, label: datetime) -> tuple[datetime, datetime]:
        return self._utc(label), self._utc(label + self.step)

    # Instants inside a definition are naive UTC datetimes: converting a label with the
    # zone's offset is many times faster than aware conversion, which matters when listing
    # half a million hours.
    def _utc(self, label: datetime) -> datetime:
        return label - (self._tz.utcoffset(label) or timedelta(0))

    def _local(self, instant: datetime) -> datetime:
        return instant.replace(tzinfo=_UTC).astimezone(self._tz)

    @abc.abstractmethod
    def _key(self, label: datetime) -> str:
        """Return the key of the window starting at local time ``label``."""

    def _describe_end(self) -> str:
        assert self._end is not None
        local = self._local(self._end).replace(tzinfo=None)
        aligned = self._floor(local) == local and self._utc(local) == self._end
        return self._key(local) if aligned else self._local(self._end).isoformat()

    def _identity(self) -> tuple[object, ...]:
        return (self._start, self._end, self.timezone)

    def describe(self) -> str:
        """``daily from 2026-01-01 to 2026-02-01, Europe/Paris`` (no end: open-ended)."""
        until = "" if self._end is None else f" to {self._describe_end()}"
        return f"{self.cadence} from {self._key(self._start)}{until}, {self.timezone}"

    def __repr__(self) -> str:
        end = None if self._end is None else self._describe_end()
        return (
            f"{type(self).__name__}(start_date={self._key(self._start)!r}, "
            f"end_date={end!r}, timezone={self.timezone!r})"
        )


class _Listing(NamedTuple):
    """The keys of the windows complete at any instant in ``[since, until)``, and the
    first window after them (its label and start instant) to list on from. Instants are
    naive UTC."""

    keys: tuple[str, ...]
    since: datetime
    until: datetime
    label: datetime
    start: datetime


class DailyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per completed local calendar day; keys are ``YYYY-MM-DD``.

    See :class:`TimeWindowPartitionsDefinition` for the arguments and the DST rule.
    """

    cadence = "daily"
    step = timedelta(days=1)
    key_format = "%Y-%m-%d"
    key_pattern = "YYYY-MM-DD"

    def _floor(self, label: datetime) -> datetime:
        return label.replace(hour=0, minute=0, second=0, microsecond=0)

    def _key(self, label: datetime) -> str:
        return label.date().isoformat()


class HourlyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per completed local wall-clock hour; keys are ``YYYY-MM-DD-HH:MM``.

    See :class:`TimeWindowPartitionsDefinition` for the arguments and the DST rule (a
    skipped hour has no partition; a repeated hour is one two-hour partition).
    """

    cadence = "hourly"
    step = timedelta(hours=1)
    key_format = "%Y-%m-%d-%H:%M"
    key_pattern = "YYYY-MM-DD-HH:MM"

    def _floor(self, label: datetime) -> datetime:
        return label.replace(minute=0, second=0, microsecond=0)

    def _key(self, label: datetime) -> str:
        return label.isoformat(sep="-", timespec="minutes")


def _zone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise DagwrightDefinitionError(f"unknown timezone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise DagwrightDefinitionError(f"unknown timezone {name!r}") from error


def _instant(value: object, tz: ZoneInfo, what: str) -> datetime:
    """Return ``value`` as a naive UTC datetime (read by :func:`parse_instant`)."""
    try:
        return parse_instant(value, tz).replace(tzinfo=None)
    except (TypeError, ValueError) as error:
        raise DagwrightDefinitionError(f"{what} {error}") from None


def _now(current_time: datetime | None) -> datetime:
    """Return ``current_time`` (default now) as a naive UTC datetime; naive input is UTC."""
    if current_time is None:
        return datetime.now(_UTC).replace(tzinfo=None)
    if current_time.tzinfo is None or current_time.utcoffset() is None:
        return current_time
    return current_time.astimezone(_UTC).replace(tzinfo=None)
