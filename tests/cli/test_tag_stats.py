"""``dagwright tag stats KEY``: the table with its sparkline, JSON, and bad input."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.cli.conftest import CliRunner
from tests.tag_stats_runs import add_run

from dagwright import Instance
from dagwright.cli.tag import sparkline
from dagwright.runs.models import RunStatus
from dagwright.runs.tag_stats import DAY, DayStats, TagValueStats


def _fill(home: Path) -> float:
    today = time.time() // DAY * DAY
    with Instance.from_home(home) as instance:
        for back, status in (
            (2, RunStatus.SUCCESS),
            (2, RunStatus.FAILURE),
            (0, RunStatus.SUCCESS),
        ):
            add_run(instance, {"team": "docs"}, created=today - back * DAY + 60, status=status)
        add_run(instance, {"team": "ml"}, created=today + 60, seconds=90)
    return today


def test_the_table_json_and_a_window(cli: CliRunner, home: Path) -> None:
    today = _fill(home)
    shown = cli("tag", "stats", "team")
    assert shown.code == 0, shown.err
    lines = [line for line in shown.out.splitlines() if "docs" in line or "ml" in line]
    assert "│ 3 " in lines[0] and "67%" in lines[0] and "10.0 s" in lines[0]
    assert "1 min 30 s" in lines[1] and "100%" in lines[1]
    body = cli("tag", "stats", "team", "--json").json()
    assert [(v["value"], v["runs"], v["failed"]) for v in body["values"]] == [
        ("docs", 3, 1), ("ml", 1, 0)
    ]  # fmt: skip
    day = time.strftime("%Y-%m-%d", time.gmtime(today))
    only = cli("tag", "stats", "team", "--since", day, "--limit", "1", "--json").json()
    assert only["since"] == f"{day}T00:00:00Z"
    assert [(v["value"], v["runs"]) for v in only["values"]] == [("docs", 1)]
    assert only["more_values"] == 1
    assert "and 1 more values" in cli("tag", "stats", "team", "--since", day, "--limit", "1").out
    assert "no runs carry this tag" in cli("tag", "stats", "nobody").out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--since", "soon"], "since"),
        (["--since", "2026-03-02", "--until", "2026-03-01"], "since must be before until"),
        (["--limit", "0"], "--limit"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli: CliRunner, args: list[str], words: str) -> None:
    outcome = cli("tag", "stats", "team", *args)
    assert outcome.code == 2
    assert words in outcome.err and len(outcome.err.strip().splitlines()) == 1


def test_the_sparkline_scales_to_the_busiest_day_and_groups_long_windows() -> None:
    first = 20454  # 2026-01-01
    days = (DayStats("2026-01-01", 1, 1, 0), DayStats("2026-01-03", 8, 8, 0))
    value = TagValueStats("v", 9, 9, 0, 0, 1.0, 1.0, 1.0, days)
    assert sparkline(value, first, first + 3) == "▁ █"
    # a year: 61 characters of 6 days each; both days fall in the first
    year = sparkline(value, first, first + 365)
    assert year == "█" + " " * 60
