"""The tag analytics page's pictures (``/tag-stats/{key}``), as inline SVG drawn on the
server: no script, no external asset, no ``style=`` attribute (the Content-Security-Policy
forbids inline styles); sizes are SVG attributes and colours come from ``app.css`` classes.

- :func:`day_chart` / :func:`day_chart_svg`: one value's runs per day over every day of the
  window, days without runs included, each bar stacked from the baseline up: failed,
  succeeded, the rest (canceled, still going); its ``<title>`` is the hover text.
  A window of more than :data:`MAX_BARS` days is drawn a week (or several) per bar.
- :func:`rate_bar_svg`: the finished runs as one horizontal bar: succeeded, failed, canceled.
- :func:`durations_svg`: p50 and p95 as two overlaid bars on a scale shared by the page.

The geometry is pure (tested on its numbers); the ``*_svg`` functions only write it out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup, escape

from dagwright.runs.tag_stats import DayStats, TagValueStats
from dagwright.web.render import duration

#: The plot area of a day chart, in SVG units; the margins hold the axis labels.
PLOT_W: Final = 400
PLOT_H: Final = 64
LEFT: Final = 30
TOP: Final = 6
BOTTOM: Final = 16
#: A bar's share of its day's slot, and the widest a bar gets.
BAR_SHARE: Final = 0.8
MAX_BAR_W: Final = 24.0
#: The most bars a day chart draws: a longer window gets a bar per week (or more days).
MAX_BARS: Final = 92

#: A link from a bar: its first and last day (ISO dates) to a URL, or None for no link.
BarLink = Callable[[str, str], "str | None"]


@dataclass(frozen=True)
class Segment:
    """One coloured part of a bar: ``kind`` (``failed``, ``succeeded``, ``other``), its
    top ``y`` and ``height``."""

    kind: str
    y: float
    height: float


@dataclass(frozen=True)
class DayBar:
    """The runs of one slot (a day, or ``first``…``last`` when a bar holds several days),
    where its bar stands (``x``, ``width``) and its stacked segments (bottom first; none
    for a slot without runs)."""

    first: str
    last: str
    runs: int
    succeeded: int
    failed: int
    x: float
    width: float
    segments: tuple[Segment, ...]

    @property
    def label(self) -> str:
        """``2026-01-03``, or ``2026-01-03 – 2026-01-09`` for several days."""
        return self.first if self.first == self.last else f"{self.first} – {self.last}"

    @property
    def title(self) -> str:
        """The hover text: ``2026-01-03: 5 runs, 1 failed, 3 succeeded``."""
        if not self.runs:
            return f"{self.label}: no runs"
        runs = f"{self.runs} run{'s' if self.runs != 1 else ''}"
        return f"{self.label}: {runs}, {self.failed} failed, {self.succeeded} succeeded"


@dataclass(frozen=True)
class DayChart:
    """A value's bars over the window: ``max_runs`` (the tallest bar's runs, at least 1)
    is the full height; ``days_per_bar`` is 1 unless the window is long; each bar is
    centred in a slot ``slot_w`` wide (its hover area)."""

    bars: tuple[DayBar, ...]
    max_runs: int
    days_per_bar: int
    slot_w: float

    @property
    def first_day(self) -> str:
        """The window's first day."""
        return self.bars[0].first

    @property
    def last_day(self) -> str:
        """The window's last day."""
        return self.bars[-1].last


def days_per_bar(days: int) -> int:
    """1 for a window of up to :data:`MAX_BARS` days, else whole weeks per bar so that
    no more than :data:`MAX_BARS` bars are drawn."""
    if days <= MAX_BARS:
        return 1
    return 7 * math.ceil(days / (7 * MAX_BARS))


def per_bar(days: int) -> str:
    """What one bar stands for: ``day``, ``week`` or ``14 days``."""
    return {1: "day", 7: "week"}.get(days, f"{days} days")


def day_chart(days: Sequence[str], by_day: Sequence[DayStats]) -> DayChart:
    """The bars of one value: one slot per day of ``days`` (the window, oldest first) or per
    :func:`days_per_bar` days, counted back from the last day (so the first bar of a long
    window may hold fewer days); ``by_day`` holds the days that had runs.

    Raises:
        ValueError: ``days`` is empty.
    """
    if not days:
        raise ValueError("a day chart needs at least one day")
    found = {stats.day: stats for stats in by_day}
    step = days_per_bar(len(days))
    slots = []
    end = len(days)
    while end > 0:
        start = max(0, end - step)
        slots.append(days[start:end])
        end = start
    slots.reverse()
    totals = [_sum(slot, found) for slot in slots]
    top = max([1, *(runs for runs, _, _ in totals)])
    slot_w = PLOT_W / len(slots)
    bar_w = min(slot_w * BAR_SHARE, MAX_BAR_W)
    bars = []
    for i, (slot, (runs, ok, bad)) in enumerate(zip(slots, totals, strict=True)):
        x = LEFT + i * slot_w + (slot_w - bar_w) / 2
        bars.append(DayBar(slot[0], slot[-1], runs, ok, bad, x, bar_w, _stack(runs, ok, bad, top)))
    return DayChart(tuple(bars), top, step, slot_w)


def _sum(slot: Sequence[str], found: dict[str, DayStats]) -> tuple[int, int, int]:
    stats = [found[day] for day in slot if day in found]
    return sum(s.runs for s in stats), sum(s.succeeded for s in stats), sum(s.failed for s in stats)


def _stack(runs: int, succeeded: int, failed: int, top: int) -> tuple[Segment, ...]:
    """Segments from the baseline up: failed, succeeded, the rest; heights proportional to
    the counts (``top`` runs is the full plot height)."""
    segments, base = [], float(TOP + PLOT_H)
    parts = (("failed", failed), ("succeeded", succeeded), ("other", runs - succeeded - failed))
    for kind, count in parts:
        if count > 0:
            height = PLOT_H * count / top
            base -= height
            segments.append(Segment(kind, base, height))
    return tuple(segments)


def day_chart_svg(chart: DayChart, name: str, link: BarLink | None = None) -> Markup:
    """The chart as an ``<svg>``: a ``<g class="day">`` per bar with its ``<title>`` and a
    full-height hover area, inside an ``<a>`` when ``link`` gives a URL for it (slots with
    runs only); the top count and the first and last days as labels. ``name`` says whose
    runs they are (the picture's accessible name)."""
    width, height = LEFT + PLOT_W + 4, TOP + PLOT_H + BOTTOM
    base = TOP + PLOT_H
    total = sum(bar.runs for bar in chart.bars)
    failed = sum(bar.failed for bar in chart.bars)
    per = per_bar(chart.days_per_bar)
    label = f"{name}: runs per {per}, {chart.first_day} to {chart.last_day}: "
    label += f"{total} runs, {failed} failed"
    parts = [
        f'<svg class="tag-days" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(label)}" '
        f'data-days-per-bar="{chart.days_per_bar}">',
        f'<line class="grid" x1="{LEFT}" y1="{TOP}" x2="{LEFT + PLOT_W}" y2="{TOP}"></line>',
        f'<line class="axis" x1="{LEFT}" y1="{base}" x2="{LEFT + PLOT_W}" y2="{base}"></line>',
        f'<text class="axis-label" x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end" '
        f'data-max="{chart.max_runs}">{chart.max_runs}</text>',
        f'<text class="axis-label" x="{LEFT - 4}" y="{base}" text-anchor="end">0</text>',
        f'<text class="axis-label" x="{LEFT}" y="{height - 3}">{chart.first_day}</text>',
        f'<text class="axis-label" x="{LEFT + PLOT_W}" y="{height - 3}" '
        f'text-anchor="end">{chart.last_day}</text>',
    ]
    parts.extend(_bar_svg(bar, chart.slot_w, link) for bar in chart.bars)
    parts.append("</svg>")
    return Markup("".join(parts))  # numbers, ISO dates and escaped text only


def _bar_svg(bar: DayBar, slot_w: float, link: BarLink | None) -> str:
    hit_x = bar.x - (slot_w - bar.width) / 2
    inner = (
        f"<title>{escape(bar.title)}</title>"
        f'<rect class="hit" x="{hit_x:.2f}" y="{TOP}" width="{slot_w:.2f}" '
        f'height="{PLOT_H}"></rect>'
    )
    inner += "".join(
        f'<rect class="bar-{s.kind}" x="{bar.x:.2f}" y="{s.y:.2f}" width="{bar.width:.2f}" '
        f'height="{s.height:.2f}"></rect>'
        for s in bar.segments
    )
    group = (
        f'<g class="day" data-day="{bar.first}" data-runs="{bar.runs}" '
        f'data-failed="{bar.failed}">{inner}</g>'
    )
    href = link(bar.first, bar.last) if link is not None and bar.runs else None
    return f'<a href="{escape(href)}">{group}</a>' if href else group


# -- the summary table's bars ----------------------------------------------------------------


def percent(rate: float | None) -> str:
    """A success rate as ``92.3%``: ``100%`` and ``0%`` only when exact (a single failure
    among thousands is ``99.9%``, never ``100%``); ``-`` for None."""
    if rate is None:
        return "-"
    if rate >= 1:
        return "100%"
    if rate <= 0:
        return "0%"
    shown = min(max(rate * 100, 0.1), 99.9)
    return f"{shown:.1f}%"


def rate_segments(value: TagValueStats) -> tuple[tuple[str, float], ...]:
    """The finished runs' parts as ``(kind, width)`` on a 0–100 scale: ``succeeded``,
    ``failed``, ``canceled`` (parts without runs left out; none when nothing finished)."""
    finished = value.succeeded + value.failed + value.canceled
    if not finished:
        return ()
    parts = (("succeeded", value.succeeded), ("failed", value.failed),
             ("canceled", value.canceled))  # fmt: skip
    return tuple((kind, 100 * count / finished) for kind, count in parts if count)


def rate_bar_svg(value: TagValueStats) -> Markup:
    """The success rate as a bar of the finished runs (succeeded, failed, canceled), with
    the counts in its title; a dash when no run finished."""
    segments = rate_segments(value)
    if not segments:
        return Markup('<span class="muted">no finished runs</span>')
    finished = value.succeeded + value.failed + value.canceled
    title = (
        f"{percent(value.success_rate)} of {finished} finished runs succeeded "
        f"({value.failed} failed, {value.canceled} canceled)"
    )
    return Markup(_hbar("rate-bar", title, segments))


def durations_svg(value: TagValueStats, longest: float | None) -> Markup:
    """p50 over p95 as two bars on a scale whose end is ``longest`` (the longest p95 the
    page shows), so that values compare; a dash without durations."""
    if value.p50_seconds is None or value.p95_seconds is None or not longest:
        return Markup('<span class="muted">-</span>')
    title = f"p50 {duration(value.p50_seconds)}, p95 {duration(value.p95_seconds)}"
    p95 = min(100.0, 100 * value.p95_seconds / longest)
    p50 = min(p95, 100 * value.p50_seconds / longest)
    return Markup(_hbar("duration-bar", title, (("p95", p95),), overlay=(("p50", p50),)))


def _hbar(
    kind: str,
    title: str,
    segments: Sequence[tuple[str, float]],
    overlay: Sequence[tuple[str, float]] = (),
) -> str:
    """A 100 × 10 bar: ``segments`` side by side from the left, then ``overlay`` drawn over
    them from the left too."""
    rects, x = [], 0.0
    for name, width in segments:
        rects.append(_rect(name, x, width))
        x += width
    rects.extend(_rect(name, 0.0, width) for name, width in overlay)
    return (
        f'<svg class="{kind}" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<rect class="track" width="100" height="10"></rect>{"".join(rects)}</svg>'
    )


def _rect(name: str, x: float, width: float) -> str:
    return f'<rect class="seg-{name}" x="{x:.2f}" width="{width:.2f}" height="10"></rect>'
