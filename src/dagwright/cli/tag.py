"""``dagwright tag stats KEY``: tag analytics (DESIGN §11) in the terminal."""

from __future__ import annotations

import click

from dagwright.cli.common import echo_json, open_instance, print_table
from dagwright.runs.tag_stats import MAX_VALUES, TagStats, TagValueStats

#: Bar heights of the per-day sparkline, lowest first (a day without runs is a space).
_BARS = "▁▂▃▄▅▆▇█"


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

    days = stats.days
    title = f"tag {stats.key!r}, {days[0]} to {days[-1]} (UTC, {len(days)} days)"
    if not stats.values:
        click.echo(f"{title}: no runs carry this tag")
        return
    table = Table("value", "runs", "ok", "failed", "success", "p50", "p95", "runs per day",
                  title=title)  # fmt: skip
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
            sparkline(value, days),
        )
    print_table(table)
    if stats.more_values:
        click.echo(f"and {stats.more_values} more values (--limit)")


def sparkline(value: TagValueStats, days: list[str]) -> str:
    """The value's runs per day of ``days`` as bar characters (the highest day full)."""
    runs = {day.day: day.runs for day in value.by_day}
    top = max(runs.values(), default=0)
    if top == 0:
        return " " * len(days)
    return "".join(
        _BARS[min(len(_BARS) - 1, (runs[day] * len(_BARS) - 1) // top)] if runs.get(day) else " "
        for day in days
    )
