"""``dagwright tag stats KEY``: tag analytics (DESIGN §11) in the terminal."""

from __future__ import annotations

import datetime as dt
import math

import click

from dagwright.cli.common import echo_json, open_instance, print_table
from dagwright.runs.tag_stats import DAY, MAX_VALUES, TagStats, TagValueStats, day_iso

#: Bar heights of the per-day sparkline, lowest first (a day without runs is a space).
_BARS = "▁▂▃▄▅▆▇█"
#: The most characters a sparkline takes: longer windows give each several days.
SPARK_WIDTH = 62
_EPOCH = dt.date(1970, 1, 1).toordinal()


@click.group("tag")
def tag_group() -> None:
    """Tags across runs: analytics per tag value."""


@tag_group.command("stats")
@click.argument("key")
@click.option("--since", help="Start: ISO 8601 date or date-time, or epoch seconds (its UTC day).")
@click.option("--until", help="End: ISO 8601 or epoch seconds (up to the next UTC midnight).")
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_VALUES),
    default=20,
    show_default=True,
    help="Values to list, the most used first.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON, as the HTTP API does.")
def tag_stats(key: str, since: str | None, until: str | None, limit: int, as_json: bool) -> None:
    """For each value of tag KEY: runs created in the window, successes, failures,
    success rate, p50/p95 duration and runs per day. The window is whole UTC days, by
    default the 30 ending today."""
    with open_instance() as instance:
        stats = instance.get_tag_stats(key, since=since, until=until, limit=limit)
    if as_json:
        echo_json(stats.to_json())
        return
    _print(stats)


def _print(stats: TagStats) -> None:
    from rich.table import Table

    from dagwright.web.render import duration

    first, last = int(stats.since // DAY), int(stats.until // DAY)
    title = f"tag {stats.key!r}, {day_iso(first)} to {day_iso(last - 1)} (UTC, {last - first} days)"
    if not stats.values:
        click.echo(f"{title}: no runs carry this tag")
        return
    width = math.ceil((last - first) / SPARK_WIDTH)
    per = "runs per day" if width == 1 else f"runs per {width} days"
    table = Table("value", "runs", "ok", "failed", "success", "p50", "p95", per, title=title)
    for value in stats.values:
        rate = "-" if value.success_rate is None else f"{value.success_rate:.0%}"
        table.add_row(
            value.value,
            str(value.runs),
            str(value.succeeded),
            str(value.failed),
            rate,
            duration(value.p50_seconds),
            duration(value.p95_seconds),
            sparkline(value, first, last),
        )
    print_table(table)
    if stats.more_values:
        click.echo(f"and {stats.more_values} more values (--limit)")


def sparkline(value: TagValueStats, first: int, last: int) -> str:
    """The value's runs over the days ``[first, last)`` as at most :data:`SPARK_WIDTH`
    bar characters, each for as many days as it takes (the busiest full height)."""
    width = math.ceil((last - first) / SPARK_WIDTH)
    runs = [0] * math.ceil((last - first) / width)
    for day in value.by_day:
        number = dt.date.fromisoformat(day.day).toordinal() - _EPOCH
        runs[(number - first) // width] += day.runs
    top = max(runs, default=0)
    return "".join(
        _BARS[min(len(_BARS) - 1, (n * len(_BARS) - 1) // top)] if n else " " for n in runs
    )
