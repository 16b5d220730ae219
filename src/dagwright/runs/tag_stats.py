"""Tag analytics (DESIGN §11): for each value of one tag key, how many runs, how many
succeeded and failed, the median and 95th percentile duration, and the same per day.

The figures are kept in storage per key (``storage/tag_stats.py``) by UTC day and by
duration *bucket*: bucket ``b`` holds the finished runs whose duration ``d`` (seconds,
at least :data:`MIN_SECONDS`) has ``floor(ln d / ln BUCKET_BASE) == b``. A percentile is
the nearest-rank bucket's geometric middle, so it is within 1 % of the exact nearest-rank
duration (the bucket is 2 % wide). This module holds the answer's types, the window and
the percentiles; storage does the counting in SQL.

The window is whole UTC days: ``since`` is taken back to its day's midnight and ``until``
forward to the next midnight (exclusive; a midnight ``until`` stays). The default is the
30 days ending with today. A run counts on the day it was created.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from dagwright.errors import DagwrightInvalidConfigError

#: Ratio between the bounds of one duration bucket.
BUCKET_BASE: Final = 1.02
#: Durations below this (seconds; a zero or a clock step backwards) count as this.
MIN_SECONDS: Final = 0.001
#: Seconds in a day.
DAY: Final = 86_400
#: The default window, in days.
DEFAULT_DAYS: Final = 30
#: The most values one answer lists (the rest are counted in ``more_values``).
MAX_VALUES: Final = 1000
#: Statuses whose runs are finished: the success rate and durations are over them.
FINISHED_STATUSES: Final = ("SUCCESS", "FAILURE", "CANCELED")


def bucket_of(seconds: float) -> int:
    """The duration bucket of a run that took ``seconds`` (what storage computes in SQL)."""
    return math.floor(math.log(max(seconds, MIN_SECONDS)) / math.log(BUCKET_BASE))


def bucket_seconds(bucket: int) -> float:
    """The duration a bucket stands for: the geometric middle of its bounds."""
    return float(BUCKET_BASE ** (bucket + 0.5))


def percentile(histogram: Sequence[tuple[int, int]], fraction: float) -> float | None:
    """The nearest-rank ``fraction`` percentile of ``(bucket, runs)`` pairs sorted by
    bucket, in seconds; None for an empty histogram."""
    total = sum(runs for _, runs in histogram)
    if total <= 0:
        return None
    rank, seen = max(1, math.ceil(fraction * total)), 0
    for bucket, runs in histogram:
        seen += runs
        if seen >= rank:
            return bucket_seconds(bucket)
    return bucket_seconds(histogram[-1][0])


@dataclass(frozen=True)
class DayStats:
    """The runs of one value on one UTC day (``day``: an ISO date)."""

    day: str
    runs: int
    succeeded: int
    failed: int

    def to_json(self) -> dict[str, Any]:
        """``{"day", "runs", "succeeded", "failed"}``."""
        return {
            "day": self.day,
            "runs": self.runs,
            "succeeded": self.succeeded,
            "failed": self.failed,
        }


@dataclass(frozen=True)
class TagValueStats:
    """The figures of one value of the key over the window.

    Attributes:
        value: the tag value.
        runs: runs created in the window carrying it, in any status.
        succeeded, failed, canceled: those of them that ended so.
        success_rate: ``succeeded`` over the finished runs (0–1), None when none finished.
        p50_seconds, p95_seconds: duration percentiles of the finished runs that started
            (within 1 %), None when there are none.
        by_day: the days of the window with runs, oldest first.
    """

    value: str
    runs: int
    succeeded: int
    failed: int
    canceled: int
    success_rate: float | None
    p50_seconds: float | None
    p95_seconds: float | None
    by_day: tuple[DayStats, ...]

    def to_json(self) -> dict[str, Any]:
        """The value's entry of DESIGN §11's answer."""
        return {
            "value": self.value,
            "runs": self.runs,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "canceled": self.canceled,
            "success_rate": self.success_rate,
            "p50_seconds": self.p50_seconds,
            "p95_seconds": self.p95_seconds,
            "by_day": [day.to_json() for day in self.by_day],
        }


@dataclass(frozen=True)
class TagStats:
    """Tag analytics of one key over a window of whole UTC days.

    Attributes:
        key: the tag key.
        since, until: the window, epoch seconds of midnights UTC (``until`` exclusive).
        values: the values with the most runs in the window, most first (ties by value).
        more_values: how many other values had runs in the window.
    """

    key: str
    since: float
    until: float
    values: tuple[TagValueStats, ...]
    more_values: int

    @property
    def days(self) -> list[str]:
        """Every day of the window, as ISO dates, oldest first."""
        first = int(self.since // DAY)
        return [day_iso(day) for day in range(first, int(self.until // DAY))]

    def to_json(self) -> dict[str, Any]:
        """DESIGN §11's answer, with the window as ISO date-times (UTC)."""
        return {
            "key": self.key,
            "since": iso(self.since),
            "until": iso(self.until),
            "values": [value.to_json() for value in self.values],
            "more_values": self.more_values,
        }


def iso(seconds: float) -> str:
    """Epoch seconds as an ISO 8601 date-time in UTC (``2026-12-01T00:00:00Z``)."""
    moment = dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
    return moment.isoformat().replace("+00:00", "Z")


def day_iso(day: int) -> str:
    """A day number (days since the epoch) as an ISO date."""
    return (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()


def parse_moment(text: str | float | dt.datetime | None, field: str) -> float | None:
    """A window bound given as epoch seconds, an ISO 8601 date (midnight UTC) or
    date-time (UTC unless it names a zone), or a datetime; None stays None.

    Raises:
        DagwrightInvalidConfigError: the text is neither (``key`` names ``field``).
    """
    if text is None or text == "":
        return None
    if isinstance(text, dt.datetime):
        moment = text if text.tzinfo else text.replace(tzinfo=dt.timezone.utc)
        return moment.timestamp()
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return _finite(float(text), field)
    if isinstance(text, str):
        try:
            return _finite(float(text), field)
        except ValueError:
            pass
        try:
            moment = dt.datetime.fromisoformat(text.strip().replace("z", "Z"))
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.timezone.utc)
            return moment.timestamp()
    raise DagwrightInvalidConfigError(
        "tag stats", "expected epoch seconds or an ISO 8601 date or date-time", field
    )


def _finite(seconds: float, field: str) -> float:
    if not math.isfinite(seconds) or abs(seconds) > 1e11:
        raise DagwrightInvalidConfigError("tag stats", "a time out of range", field)
    return seconds


def window_days(
    since: float | None, until: float | None, now: float | None = None
) -> tuple[int, int]:
    """The window ``[first, last)`` as day numbers: see the module's docstring.

    Raises:
        DagwrightInvalidConfigError: ``since`` is after ``until``.
    """
    if until is None:
        last = int((time.time() if now is None else now) // DAY) + 1
    else:
        last = math.ceil(until / DAY)
    first = last - DEFAULT_DAYS if since is None else math.floor(since / DAY)
    if first >= last:
        raise DagwrightInvalidConfigError("tag stats", "since must be before until", "since")
    return first, last


def value_stats(
    value: str,
    totals: tuple[int, int, int, int],
    days: Iterable[tuple[int, int, int, int]],
    histogram: Sequence[tuple[int, int]],
) -> TagValueStats:
    """One value's figures from its counts ``(runs, succeeded, failed, canceled)``, its
    ``(day, runs, succeeded, failed)`` rows and its ``(bucket, runs)`` histogram."""
    runs, succeeded, failed, canceled = totals
    finished = succeeded + failed + canceled
    return TagValueStats(
        value=value,
        runs=runs,
        succeeded=succeeded,
        failed=failed,
        canceled=canceled,
        success_rate=succeeded / finished if finished else None,
        p50_seconds=percentile(histogram, 0.50),
        p95_seconds=percentile(histogram, 0.95),
        by_day=tuple(DayStats(day_iso(day), n, ok, bad) for day, n, ok, bad in days),
    )
