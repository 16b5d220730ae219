"""How values look on the pages: metadata by type, markdown (sanitised), times, tags.

Pure functions of their arguments (``now`` is passed in), registered as Jinja2 filters and
globals by :func:`dagwright.web.views.templates`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, urlsplit

from markupsafe import Markup, escape

from dagwright.tags import is_system_tag

if TYPE_CHECKING:
    from dagwright.runs.backfills import BackfillProgress
    from dagwright.web.query import RunsQuery

#: URL schemes a link on a page may use; anything else is shown as text.
LINK_SCHEMES: Final = frozenset({"http", "https", "mailto"})

#: Tags markdown may render to (nh3 removes everything else, with its content for scripts).
MARKDOWN_TAGS: Final = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "del", "details", "em", "h1", "h2",
        "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s",
        "strong", "sub", "summary", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
    }
)  # fmt: skip


@lru_cache(maxsize=1)
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table")


@lru_cache(maxsize=256)
def markdown_html(text: str) -> Markup:
    """Markdown rendered to HTML, then sanitised: no scripts, no event handlers, no
    ``javascript:`` (or any non-http/https/mailto) links; links open with ``rel=noopener``."""
    import nh3

    html = _markdown().render(text)
    clean = nh3.clean(
        html,
        tags=set(MARKDOWN_TAGS),
        attributes={"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"align"}},
        url_schemes=set(LINK_SCHEMES),
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )
    return Markup(clean)  # sanitised by nh3 just above


def safe_url(url: str) -> str | None:
    """``url`` if a link may point to it (http, https, mailto), else None."""
    scheme = urlsplit(url.strip()).scheme.lower()
    return url if scheme in LINK_SCHEMES else None


def is_hidden_key(key: str) -> bool:
    """Whether a tag or metadata key is internal (a part starting with ``.``): never shown."""
    return any(part.startswith(".") for part in key.split("/"))


def visible_tags(tags: Mapping[str, str], show_system: bool = True) -> dict[str, str]:
    """The tags a page shows: never internal ones; system tags only if asked."""
    return {
        key: value
        for key, value in tags.items()
        if not is_hidden_key(key) and (show_system or not is_system_tag(key))
    }


def visible_metadata(metadata: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Metadata in its JSON form (``{"type", "value"}``), without internal keys."""
    return {key: value.to_json() for key, value in metadata.items() if not is_hidden_key(key)}


def absolute_time(ts: float | None) -> str:
    """``2026-01-02 10:00:00 UTC``, or ``-``."""
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def precise_time(ts: float | None) -> str:
    """``2026-01-02 10:00:00.123 UTC`` (to the millisecond, for event logs), or ``-``."""
    if ts is None:
        return "-"
    moment = datetime.fromtimestamp(ts, tz=timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d} UTC"


def iso_time(ts: float | None) -> str:
    """ISO 8601 in UTC (for ``<time datetime=…>``), or empty."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat()


_UNITS: Final = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def relative_time(ts: float | None, now: float) -> str:
    """``3 minutes ago`` / ``in 2 days`` / ``just now``."""
    if ts is None:
        return ""
    delta = now - ts
    seconds = abs(delta)
    if seconds < 1:
        return "just now"
    for name, size in _UNITS:
        if seconds >= size:
            count = int(seconds // size)
            text = f"{count} {name}{'s' if count != 1 else ''}"
            return f"{text} ago" if delta > 0 else f"in {text}"
    return "just now"


def duration(seconds: float | None) -> str:
    """``850 ms``, ``12.3 s``, ``4 min 05 s``, ``2 h 03 min``, or ``-``."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def run_duration(started: float | None, ended: float | None, now: float) -> float | None:
    """How long a run has run (until now if it has not ended)."""
    if started is None:
        return None
    return (ended if ended is not None else now) - started


def pretty_json(value: Any) -> str:
    """Indented JSON for ``<pre>`` blocks."""
    return json.dumps(value, indent=2, sort_keys=False, ensure_ascii=False)


def json_summary(value: Any) -> str:
    """A one-line hint of a JSON value (``object, 2 keys``)."""
    if isinstance(value, dict):
        return f"object, {len(value)} key{'s' if len(value) != 1 else ''}"
    if isinstance(value, list):
        return f"array, {len(value)} item{'s' if len(value) != 1 else ''}"
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def table_columns(table: Mapping[str, Any]) -> list[str]:
    """A table value's column names: its schema's, else the keys of its records in order."""
    schema = table.get("schema")
    if schema and schema.get("columns"):
        return [column["name"] for column in schema["columns"]]
    names: dict[str, None] = {}
    for record in table.get("records", []):
        names.update(dict.fromkeys(record))
    return list(names)


def cell(value: Any) -> str:
    """A table cell: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def tag_stats_url(key: str) -> str:
    """The path of a tag key's analytics page: ``/tag-stats/team``."""
    return "/tag-stats/" + quote(key, safe="/")


#: A small bar-chart icon (three bars, coloured by CSS).
_STATS_ICON: Final = (
    '<svg class="icon" viewBox="0 0 12 12" width="12" height="12" aria-hidden="true">'
    '<rect x="1" y="6" width="2.5" height="5"></rect><rect x="4.75" y="2" width="2.5" '
    'height="9"></rect><rect x="8.5" y="4" width="2.5" height="7"></rect></svg>'
)


def tag_stats_link_html(key: str) -> Markup:
    """A small icon linking to a tag key's analytics page (next to where a key is shown)."""
    label = escape(f"Tag stats of {key}")
    href = escape(tag_stats_url(key))
    return Markup(
        f'<a class="tag-stats-link" href="{href}" title="{label}" aria-label="{label}">'
        f"{_STATS_ICON}</a>"
    )  # every part escaped


def chips_html(tags: Mapping[str, str], query: RunsQuery | None = None) -> Markup:
    """Tags as chips (:func:`chip_html`); with a runs query, each chip links to that query
    filtered by it too.

    Built here rather than in a template macro: the runs page shows hundreds of chips.
    """
    parts = " ".join(chip_html(key, value, query) for key, value in tags.items())
    return Markup(f'<span class="chips">{parts}</span>')  # every part escaped


def chip_html(key: str, value: str, query: RunsQuery | None = None) -> Markup:
    """A tag as a chip; with a runs query, a link to that query filtered by it too."""
    classes = "chip chip-system" if is_system_tag(key) else "chip"
    inner = (
        f'<span class="chip-key">{escape(key)}</span>'
        f'<span class="chip-value">{escape(value)}</span>'
    )
    data = escape(f"{key}={value}")
    if query is None:
        return Markup(f'<span class="{classes}" data-tag="{data}">{inner}</span>')
    if query.has_tag(key, value):
        classes += " chip-active"
    href = escape(query.with_tag(key, value))
    return Markup(
        f'<a class="{classes}" href="{href}" data-tag="{data}" '
        f'title="Show only runs with {data}">{inner}</a>'
    )  # every part escaped


def when_html(ts: float | None, now: float) -> Markup:
    """A time: absolute (UTC), then relative (kept fresh by the page's script)."""
    if ts is None:
        return Markup('<span class="muted">-</span>')
    absolute = absolute_time(ts)
    return Markup(
        f'<time datetime="{iso_time(ts)}" data-ts="{ts}" title="{absolute}">{absolute}</time> '
        f'<span class="rel muted" data-rel="{ts}">{relative_time(ts, now)}</span>'
    )


def status_html(status: str) -> Markup:
    """A run status badge."""
    return Markup(f'<span class="status status-{status.lower()}">{escape(status)}</span>')


def progress_html(progress: BackfillProgress | None) -> Markup:
    """A backfill's progress bar: succeeded, failed, canceled, running and queued runs as
    segments of the partitions requested, with the counts in its title."""
    if progress is None or progress.requested == 0:
        return Markup('<span class="muted">-</span>')
    parts = (
        ("succeeded", progress.succeeded),
        ("failed", progress.failed),
        ("canceled", progress.canceled),
        ("running", progress.running),
        ("queued", progress.queued),
    )
    title = ", ".join(f"{count} {name}" for name, count in parts if count)
    title = f"{progress.finished} of {progress.requested} ended" + (f": {title}" if title else "")
    segments, x = [], 0.0
    for name, count in parts:
        if count:
            width = 100 * count / progress.requested
            segments.append(
                f'<rect class="seg seg-{name}" x="{x:.2f}" width="{width:.2f}" height="10"></rect>'
            )
            x += width
    return Markup(  # an SVG picture: its sizes are attributes, not (CSP-blocked) inline styles
        f'<svg class="progress" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" '
        f'aria-label="{title}"><title>{title}</title>{"".join(segments)}</svg> '
        f'<span class="progress-text">{progress.finished}/{progress.requested}</span>'
    )  # only numbers and fixed words: nothing to escape
