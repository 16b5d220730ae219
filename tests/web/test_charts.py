"""The tag analytics pictures: bar heights proportional to the runs, every day of the window
present, failures stacked on the baseline, long windows a week per bar; the SVG they are
written as (no inline style, escaped text, titles and links per bar)."""

from __future__ import annotations

import itertools
import re

import pytest

from dagwright.runs.tag_stats import DayStats, TagValueStats
from dagwright.web import charts
from dagwright.web.charts import LEFT, PLOT_H, PLOT_W, TOP

BASE = TOP + PLOT_H
DAYS = [f"2026-01-{d:02d}" for d in range(1, 11)]  # ten days


def _value(value: str = "docs", **counts: object) -> TagValueStats:
    fields: dict[str, object] = {
        "runs": 0, "succeeded": 0, "failed": 0, "canceled": 0, "success_rate": None,
        "p50_seconds": None, "p95_seconds": None, "by_day": (),
    }  # fmt: skip
    fields.update(counts)
    return TagValueStats(value=value, **fields)  # type: ignore[arg-type]


def _height(bar: charts.DayBar) -> float:
    return sum(segment.height for segment in bar.segments)


def test_every_day_has_a_bar_and_heights_are_proportional() -> None:
    by_day = [DayStats("2026-01-02", 4, 3, 1), DayStats("2026-01-05", 8, 8, 0),
              DayStats("2026-01-10", 2, 0, 2)]  # fmt: skip
    chart = charts.day_chart(DAYS, by_day)
    assert [bar.first for bar in chart.bars] == DAYS  # zero days included
    assert chart.max_runs == 8 and chart.days_per_bar == 1
    runs = {bar.first: bar.runs for bar in chart.bars}
    assert runs == {day: {"2026-01-02": 4, "2026-01-05": 8, "2026-01-10": 2}.get(day, 0)
                    for day in DAYS}  # fmt: skip
    for bar in chart.bars:
        assert _height(bar) == pytest.approx(PLOT_H * bar.runs / 8)
    empty = [bar for bar in chart.bars if bar.runs == 0]
    assert len(empty) == 7 and all(bar.segments == () for bar in empty)
    assert empty[0].title == "2026-01-01: no runs"
    # equally spaced, left to right, inside the plot
    xs = [bar.x for bar in chart.bars]
    gaps = {round(b - a, 6) for a, b in itertools.pairwise(xs)}
    assert len(gaps) == 1 and gaps.pop() == pytest.approx(PLOT_W / 10)
    assert xs[0] >= LEFT and xs[-1] + chart.bars[-1].width <= LEFT + PLOT_W


def test_failures_sit_on_the_baseline_with_successes_and_the_rest_above() -> None:
    chart = charts.day_chart(["2026-01-01"], [DayStats("2026-01-01", 10, 5, 3)])
    (bar,) = chart.bars
    failed, succeeded, other = bar.segments
    assert (failed.kind, succeeded.kind, other.kind) == ("failed", "succeeded", "other")
    assert failed.y + failed.height == pytest.approx(BASE)
    assert succeeded.y + succeeded.height == pytest.approx(failed.y)
    assert other.y + other.height == pytest.approx(succeeded.y)
    assert other.y == pytest.approx(TOP)  # the tallest bar is the full height
    assert [s.height / PLOT_H for s in bar.segments] == pytest.approx([0.3, 0.5, 0.2])
    assert bar.title == "2026-01-01: 10 runs, 3 failed, 5 succeeded"
    only_failed = charts.day_chart(["2026-01-01"], [DayStats("2026-01-01", 1, 0, 1)]).bars[0]
    assert [s.kind for s in only_failed.segments] == ["failed"]
    assert only_failed.title == "2026-01-01: 1 run, 1 failed, 0 succeeded"


def test_a_window_without_runs_is_a_flat_chart() -> None:
    chart = charts.day_chart(DAYS, [])
    assert len(chart.bars) == 10 and chart.max_runs == 1
    assert all(bar.segments == () for bar in chart.bars)
    with pytest.raises(ValueError):
        charts.day_chart([], [])


@pytest.mark.parametrize(
    ("days", "per_bar"), [(1, 1), (7, 1), (92, 1), (93, 7), (365, 7), (644, 7), (645, 14)]
)
def test_long_windows_get_a_week_or_more_per_bar(days: int, per_bar: int) -> None:
    assert charts.days_per_bar(days) == per_bar
    assert len(range(0, days, per_bar)) <= charts.MAX_BARS


def test_a_long_window_counts_back_from_its_last_day() -> None:
    days = [f"2025-{m:02d}-{d:02d}" for m in (1, 2, 3, 4) for d in range(1, 29)][:100]
    by_day = [DayStats(day, 1, 1, 0) for day in days]
    chart = charts.day_chart(days, by_day)
    assert chart.days_per_bar == 7 and len(chart.bars) == 15  # 100 = 2 + 14 × 7
    assert chart.bars[-1].last == days[-1] and chart.bars[0].first == days[0]
    assert chart.bars[0].runs == 2 and {bar.runs for bar in chart.bars[1:]} == {7}
    assert chart.bars[1].label == f"{days[2]} – {days[8]}"
    assert sum(bar.runs for bar in chart.bars) == 100
    assert charts.per_bar(7) == "week" and charts.per_bar(14) == "14 days"


def test_the_svg_has_a_titled_group_per_day_links_and_no_inline_style() -> None:
    chart = charts.day_chart(DAYS, [DayStats("2026-01-03", 3, 2, 1)])
    svg = charts.day_chart_svg(chart, "team=<b>", lambda first, last: f"/runs?d={first}&x")
    assert "style=" not in svg and "<b>" not in svg and "team=&lt;b&gt;" in svg
    groups = re.findall(r'<g class="day" data-day="([^"]+)" data-runs="(\d+)"', svg)
    assert [day for day, _ in groups] == DAYS
    titles = re.findall(r"<title>([^<]+)</title>", svg)
    assert titles[2] == "2026-01-03: 3 runs, 1 failed, 2 succeeded"
    assert titles.count("2026-01-01: no runs") == 1 and len(titles) == 10
    assert re.findall(r'<a href="([^"]+)">', svg) == ["/runs?d=2026-01-03&amp;x"]  # runs only
    assert svg.count('class="bar-failed"') == 1 and svg.count('class="bar-succeeded"') == 1
    labels = re.findall(r'<text class="axis-label"[^>]*>([^<]+)</text>', svg)
    assert labels == ["3", "0", "2026-01-01", "2026-01-10"]  # max count, zero, first, last day


@pytest.mark.parametrize(
    ("rate", "text"),
    [(None, "-"), (0.0, "0%"), (1.0, "100%"), (0.5, "50.0%"), (0.9999, "99.9%"),
     (0.0001, "0.1%"), (2 / 3, "66.7%")],
)  # fmt: skip
def test_percent_never_rounds_to_all_or_nothing(rate: float | None, text: str) -> None:
    assert charts.percent(rate) == text


def test_the_rate_bar_splits_the_finished_runs() -> None:
    value = _value(runs=12, succeeded=6, failed=3, canceled=1, success_rate=0.6)
    segments = charts.rate_segments(value)
    assert [kind for kind, _ in segments] == ["succeeded", "failed", "canceled"]
    assert [width for _, width in segments] == pytest.approx([60.0, 30.0, 10.0])
    svg = charts.rate_bar_svg(value)
    assert "<title>60.0% of 10 finished runs succeeded (3 failed, 1 canceled)</title>" in svg
    assert 'class="seg-failed" x="60.00" width="30.00"' in svg and "style=" not in svg
    assert charts.rate_segments(_value(runs=2)) == ()
    assert "no finished runs" in charts.rate_bar_svg(_value(runs=2))


def test_duration_bars_share_the_longest_p95_as_their_scale() -> None:
    value = _value(p50_seconds=10.0, p95_seconds=30.0)
    svg = charts.durations_svg(value, longest=60.0)
    assert 'class="seg-p95" x="0.00" width="50.00"' in svg
    assert 'class="seg-p50" x="0.00" width="16.67"' in svg
    assert "<title>p50 10.0 s, p95 30.0 s</title>" in svg
    assert "-" in charts.durations_svg(_value(), longest=60.0)
