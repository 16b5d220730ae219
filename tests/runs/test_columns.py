"""Columns and sort orders of run lists (pure)."""

from __future__ import annotations

import pytest

from dagwright import DagwrightInvalidTagError
from dagwright.runs.columns import (
    DEFAULT_COLUMNS,
    LAUNCHED_BY,
    Sort,
    cell,
    launched_by,
    parse_columns,
)


@pytest.mark.parametrize(
    ("given", "columns"),
    [
        (None, DEFAULT_COLUMNS),
        ("", DEFAULT_COLUMNS),
        ("team,dagwright/partition", ("team", "dagwright/partition")),
        (" team , team,launched_by", ("team", LAUNCHED_BY)),
        (["team", "env,team"], ("team", "env")),
    ],
)
def test_parse_columns(given: str | list[str] | None, columns: tuple[str, ...]) -> None:
    assert parse_columns(given) == columns


def test_a_column_must_be_a_tag_key() -> None:
    with pytest.raises(DagwrightInvalidTagError) as info:
        parse_columns("team,bad key")
    assert info.value.key == "bad key"


@pytest.mark.parametrize(
    ("text", "key", "descending"),
    [(None, "created", True), ("", "created", True), ("created", "created", False),
     ("-duration", "duration", True), ("team", "team", False), ("-dagwright/partition",
     "dagwright/partition", True)],
)  # fmt: skip
def test_parse_sort(text: str | None, key: str, descending: bool) -> None:
    sort = Sort.parse(text)
    assert (sort.key, sort.descending) == (key, descending)
    assert Sort.parse(sort.text()) == sort


def test_a_sort_key_is_a_field_or_a_tag_key() -> None:
    with pytest.raises(DagwrightInvalidTagError, match="cannot sort by it"):
        Sort.parse("-no such")


def test_toggling_a_heading() -> None:
    assert Sort.parse(None).toggled("created") == Sort("created", False)
    assert Sort.parse(None).toggled("team") == Sort("team", False)
    assert Sort("team", False).toggled("team") == Sort("team", True)
    assert Sort("team", False).toggled("duration") == Sort("duration", True)
    assert Sort.parse(None).is_default and not Sort("created", False).is_default


@pytest.mark.parametrize(
    ("tags", "by"),
    [
        ({"dagwright/schedule_name": "nightly"}, "schedule nightly"),
        ({"dagwright/sensor_name": "files"}, "sensor files"),
        ({"dagwright/backfill": "bf1"}, "backfill bf1"),
        ({"dagwright/retry_number": "1", "dagwright/parent_run_id": "p"}, "retry"),
        ({"dagwright/parent_run_id": "p"}, "re-execution"),
        ({"team": "docs"}, "user"),
    ],
)
def test_launched_by(tags: dict[str, str], by: str) -> None:
    assert launched_by(tags) == by
    assert cell(tags, LAUNCHED_BY) == by


def test_cell_of_a_missing_tag_is_empty() -> None:
    assert cell({"team": "docs"}, "env") == ""
