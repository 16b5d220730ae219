"""The tag analytics pages (DESIGN §11): ``/tag-stats`` lists the tag keys (and picks one
with a form), ``/tag-stats/{key}`` shows, for each value of the key, its runs, successes,
failures, success rate, p50/p95 duration and runs per day over a window of whole UTC days.

Each route: parse → one ``Instance`` call → render, like ``views``. The window comes from
``since`` and ``until`` (what :meth:`~dagwright.Instance.get_tag_stats` takes: ISO 8601
dates or date-times, or epoch seconds; ``until`` excluded) or from ``days`` (the last N
days ending today, or ending before ``until``); ``limit`` caps the values shown. Bad
parameters are a 422 page naming the field. The pictures are :mod:`dagwright.web.charts`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from dagwright.errors import DagwrightInvalidConfigError
from dagwright.runs.query import quote
from dagwright.runs.tag_stats import (
    DAY,
    DEFAULT_DAYS,
    MAX_VALUES,
    TagStats,
    TagValueStats,
    day_iso,
    parse_moment,
    window_days,
)
from dagwright.tags import is_system_tag, validate_tag_key
from dagwright.web import charts
from dagwright.web.context import WebContext
from dagwright.web.errors import ApiError, from_dagwright, parse_whole
from dagwright.web.query import RunsQuery
from dagwright.web.render import is_hidden_key, tag_stats_url
from dagwright.web.views import Routes, page, param, see_other

ROUTES = Routes()

#: The windows offered as links, in days.
PRESETS: Final = (7, 30, 90, 365)
#: The longest window the page shows, in days (about ten years).
MAX_DAYS: Final = 3660
#: Values shown unless ``limit`` says otherwise.
DEFAULT_LIMIT: Final = 20


@dataclass(frozen=True)
class StatsQuery:
    """What ``/tag-stats/{key}`` was asked: the window's bounds as given (``""``: not
    given), ``days`` (None: not given) and ``limit``."""

    since: str = ""
    until: str = ""
    days: int | None = None
    limit: int = DEFAULT_LIMIT

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> StatsQuery:
        """Read the query parameters.

        Raises:
            ApiError: ``days`` or ``limit`` is not a whole number (``days`` also: out of
                range, or given with ``since``).
        """
        days = parse_whole(params.get("days"), "days", "a whole number", digits=6)
        if days is not None and not 1 <= days <= MAX_DAYS:
            raise ApiError(422, "invalid_request", "days", f"a whole number from 1 to {MAX_DAYS}")
        since = params.get("since", "").strip()
        if days is not None and since:
            raise ApiError(422, "invalid_request", "days", "give days or since, not both")
        limit = parse_whole(params.get("limit"), "limit", "a whole number", digits=6)
        until = params.get("until", "").strip()
        return cls(since, until, days, DEFAULT_LIMIT if limit is None else limit)

    def bounds(self) -> tuple[str | float | None, str | float | None]:
        """``since`` and ``until`` for :meth:`~dagwright.Instance.get_tag_stats`.

        Raises:
            DagwrightInvalidConfigError: ``until`` is not a time (``key`` ``until``).
        """
        if self.days is None:
            return self.since or None, self.until or None
        _, last = window_days(None, parse_moment(self.until, "until"))
        return float((last - self.days) * DAY), float(last * DAY)

    def is_preset(self, days: int) -> bool:
        """Whether this window is the last ``days`` days (the default: 30)."""
        if self.until:
            return False
        return self.days == days or (self.days is None and not self.since and days == DEFAULT_DAYS)

    def url(self, key: str, **changes: Any) -> str:
        """This page's URL for ``key`` with ``changes`` (``days``, ``limit`` …) applied; a
        preset window drops ``since`` and ``until``."""
        fields: dict[str, Any] = {"since": self.since, "until": self.until, "days": self.days}
        if "days" in changes:
            fields = {"since": "", "until": ""}
        fields["limit"] = self.limit
        fields.update(changes)
        params = [(name, str(value)) for name, value in fields.items() if value]
        params = [(n, v) for n, v in params if not (n == "limit" and v == str(DEFAULT_LIMIT))]
        return tag_stats_url(key) + ("?" + urlencode(params) if params else "")


def runs_url(key: str, value: str, first: str, before: str) -> str:
    """The runs page showing the runs with ``key=value`` created from day ``first`` to
    before day ``before`` (ISO dates): what a value's row counts."""
    term = f"{quote(key, key=True)}:{quote(value)}"
    return RunsQuery(q=f"{term} created>{first} created<{before}").url()


@dataclass(frozen=True)
class ValueRow:
    """One value's row and chart: its figures, the link to its runs and its pictures."""

    stats: TagValueStats
    runs_url: str
    chart: Markup
    rate: Markup
    durations: Markup


def value_rows(stats: TagStats, days: list[str]) -> list[ValueRow]:
    """The rows of the page (``days``: the window's, ``stats.days``), the durations on one
    scale: the longest p95 shown."""
    before = day_iso(int(stats.until // DAY))
    longest = max((v.p95_seconds or 0.0 for v in stats.values), default=0.0)
    rows = []
    for value in stats.values:
        chart = charts.day_chart(days, value.by_day)
        link = _day_link(stats.key, value.value)
        rows.append(
            ValueRow(
                value,
                runs_url(stats.key, value.value, days[0], before),
                charts.day_chart_svg(chart, f"{stats.key}={value.value}", link),
                charts.rate_bar_svg(value),
                charts.durations_svg(value, longest),
            )
        )
    return rows


def _day_link(key: str, value: str) -> charts.BarLink:
    """A bar's link: the runs of ``key=value`` created on its days."""

    def link(first: str, last: str) -> str:
        after = dt.date.fromisoformat(last) + dt.timedelta(days=1)
        return runs_url(key, value, first, after.isoformat())

    return link


@ROUTES.get("/tag-stats")
def tag_keys_page(request: Request, web: WebContext) -> Response:
    """The tag keys of the runs, each a link to its analytics; ``?key=`` goes to one."""
    chosen = request.query_params.get("key", "").strip()
    if chosen:
        return see_other(tag_stats_url(validate_tag_key(chosen)))
    keys = [key for key in web.instance.get_run_tag_keys() if not is_hidden_key(key)]
    user = [key for key in keys if not is_system_tag(key)]
    system = [key for key in keys if is_system_tag(key)]
    return page(request, "tag_keys.html", user_keys=user, system_keys=system, keys=keys)


@ROUTES.get("/tag-stats/{key:path}")
def tag_stats_page(request: Request, web: WebContext) -> Response:
    """One key's analytics: a row and a runs-per-day chart per value, window presets."""
    key = param(request, "key")
    if not key:
        return see_other("/tag-stats")
    validate_tag_key(key)
    if is_hidden_key(key):
        raise ApiError(422, "invalid_request", "key", "internal keys are never shown")
    query = StatsQuery.parse(request.query_params)
    try:
        since, until = query.bounds()
        stats = web.instance.get_tag_stats(key, since=since, until=until, limit=query.limit)
    except DagwrightInvalidConfigError as exc:
        raise from_dagwright(exc, exc.key) from None
    if stats.until - stats.since > MAX_DAYS * DAY:
        rule = f"the page shows at most {MAX_DAYS} days (the HTTP API takes longer windows)"
        raise ApiError(422, "invalid_request", "since", rule)
    days = stats.days
    more = min(MAX_VALUES, len(stats.values) + stats.more_values)
    return page(
        request,
        "tag_stats.html",
        key=key,
        stats=stats,
        days=days,
        before=day_iso(int(stats.until // DAY)),
        query=query,
        presets=[(n, query.url(key, days=n), query.is_preset(n)) for n in PRESETS],
        rows=value_rows(stats, days),
        more_url=query.url(key, limit=more) if stats.more_values else None,
        per_bar=charts.per_bar(charts.days_per_bar(len(days))),
        percent=charts.percent,
        keys=[k for k in web.instance.get_run_tag_keys() if not is_hidden_key(k)],
    )
