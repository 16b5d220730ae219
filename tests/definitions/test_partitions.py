"""Tests for dagwright.definitions.partitions: listing, checking, windows, DST, errors."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from dagwright.definitions.partitions import (
    DailyPartitionsDefinition,
    HourlyPartitionsDefinition,
    PartitionsDefinition,
    StaticPartitionsDefinition,
    TimeWindowPartitionsDefinition,
)
from dagwright.errors import DagwrightDefinitionError, DagwrightInvalidPartitionError

UTC = timezone.utc
NOW = datetime(2026, 1, 4, 12, tzinfo=UTC)
NEW_YORK = "America/New_York"


def _hours(day: str, *hours: int) -> list[str]:
    return [f"{day}-{hour:02d}:00" for hour in hours]


@pytest.mark.parametrize(
    ("definition", "now", "expected"),
    [
        (
            DailyPartitionsDefinition("2026-01-01"),
            NOW,
            ["2026-01-01", "2026-01-02", "2026-01-03"],
        ),
        (
            DailyPartitionsDefinition("2026-01-01"),
            NOW.replace(tzinfo=None),
            ["2026-01-01", "2026-01-02", "2026-01-03"],
        ),
        (
            DailyPartitionsDefinition("2026-01-01"),
            datetime(2026, 1, 4, tzinfo=UTC),
            ["2026-01-01", "2026-01-02", "2026-01-03"],
        ),
        (DailyPartitionsDefinition("2026-01-01"), datetime(2026, 1, 1, 23, 59, tzinfo=UTC), []),
        (
            DailyPartitionsDefinition("2026-01-01T06:30"),
            NOW,
            ["2026-01-01", "2026-01-02", "2026-01-03"],
        ),
        (DailyPartitionsDefinition("2026-01-01", "2026-01-03"), NOW, ["2026-01-01", "2026-01-02"]),
        (
            DailyPartitionsDefinition("2026-01-01", "2026-01-02T01:00"),
            NOW,
            ["2026-01-01", "2026-01-02"],
        ),
        (
            DailyPartitionsDefinition("2026-01-02", timezone="Asia/Tokyo"),
            datetime(2026, 1, 4, 16, tzinfo=UTC),
            ["2026-01-02", "2026-01-03", "2026-01-04"],
        ),
        (
            DailyPartitionsDefinition("2026-01-02", timezone=NEW_YORK),
            NOW,
            ["2026-01-02", "2026-01-03"],
        ),
        (HourlyPartitionsDefinition("2026-01-04"), NOW, _hours("2026-01-04", *range(12))),
        (
            HourlyPartitionsDefinition("2026-01-04-09:00", "2026-01-04-11:00"),
            NOW,
            _hours("2026-01-04", 9, 10),
        ),
        (
            HourlyPartitionsDefinition("2026-01-04T09:45:00+00:00"),
            NOW,
            _hours("2026-01-04", 9, 10, 11),
        ),
        (
            HourlyPartitionsDefinition("2026-01-04T09:00Z", timezone="Asia/Kolkata"),
            NOW,
            _hours("2026-01-04", 14, 15, 16),
        ),
        (
            HourlyPartitionsDefinition("2026-03-08", "2026-03-09", timezone=NEW_YORK),
            datetime(2026, 3, 10, tzinfo=UTC),
            _hours("2026-03-08", 0, 1, *range(3, 24)),
        ),
        (
            HourlyPartitionsDefinition("2026-11-01", "2026-11-02", timezone=NEW_YORK),
            datetime(2026, 11, 3, tzinfo=UTC),
            _hours("2026-11-01", *range(24)),
        ),
        (
            HourlyPartitionsDefinition("2026-03-29", "2026-03-29-04:00", timezone="Europe/Berlin"),
            datetime(2026, 3, 30, tzinfo=UTC),
            _hours("2026-03-29", 0, 1, 3),
        ),
    ],
    ids=lambda value: repr(value) if isinstance(value, PartitionsDefinition) else "",
)
def test_get_partition_keys(
    definition: PartitionsDefinition, now: datetime, expected: list[str]
) -> None:
    keys = definition.get_partition_keys(now)
    assert keys == expected
    assert all(definition.has_partition_key(key, now) for key in keys)


def test_current_time_defaults_to_now() -> None:
    keys = DailyPartitionsDefinition("2026-01-01").get_partition_keys()
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    assert keys[0] == "2026-01-01"
    assert keys[-1] == yesterday


@pytest.mark.parametrize(
    ("definition", "key", "expected"),
    [
        (DailyPartitionsDefinition("2026-01-01"), "2026-01-03", True),
        (DailyPartitionsDefinition("2026-01-01"), "2026-01-04", False),
        (DailyPartitionsDefinition("2026-01-01"), "2025-12-31", False),
        (DailyPartitionsDefinition("2026-01-01"), "2026-1-3", False),
        (DailyPartitionsDefinition("2026-01-01"), "2026-01-03-00:00", False),
        (DailyPartitionsDefinition("2026-01-01"), "", False),
        (DailyPartitionsDefinition("2026-01-01", "2026-01-02"), "2026-01-02", False),
        (HourlyPartitionsDefinition("2026-01-04"), "2026-01-04-11:00", True),
        (HourlyPartitionsDefinition("2026-01-04"), "2026-01-04-12:00", False),
        (HourlyPartitionsDefinition("2026-01-04"), "2026-01-04-11:30", False),
        (HourlyPartitionsDefinition("2026-01-04"), "2026-01-04", False),
        (StaticPartitionsDefinition(["a", "b"]), "b", True),
        (StaticPartitionsDefinition(["a", "b"]), "c", False),
        (StaticPartitionsDefinition(["a", "b"]), "A", False),
    ],
)
def test_has_partition_key(definition: PartitionsDefinition, key: str, expected: bool) -> None:
    assert definition.has_partition_key(key, NOW) is expected


def test_dst_gap_hour_is_not_a_partition() -> None:
    hourly = HourlyPartitionsDefinition("2026-03-01", timezone=NEW_YORK)
    assert not hourly.has_partition_key("2026-03-08-02:00", NOW.replace(year=2027))
    assert hourly.time_window_for_key("2026-03-08-02:00") is None
    with pytest.raises(DagwrightInvalidPartitionError, match="does not exist in America/New_York"):
        hourly.validate_key("2026-03-08-02:00", "job", NOW.replace(year=2027))


@pytest.mark.parametrize(
    ("definition", "key", "now", "rule"),
    [
        (
            StaticPartitionsDefinition(["a", "b", "c"]),
            "d",
            NOW,
            "not one of the 3 partitions of StaticPartitionsDefinition(['a', 'b', 'c'])",
        ),
        (
            DailyPartitionsDefinition("2026-01-01"),
            "2026-01-04",
            NOW,
            "not a completed daily partition from 2026-01-01"
            " (not complete at 2026-01-04T12:00:00Z)",
        ),
        (
            DailyPartitionsDefinition("2026-01-01"),
            "2025-12-31",
            NOW,
            "not a completed daily partition from 2026-01-01 (before the first partition)",
        ),
        (
            DailyPartitionsDefinition("2026-01-01", "2026-01-03"),
            "2026-01-03",
            NOW,
            "not a completed daily partition from 2026-01-01 until 2026-01-03"
            " (at or after the end date)",
        ),
        (
            DailyPartitionsDefinition("2026-01-01"),
            "yesterday",
            NOW,
            "not a daily partition key; expected YYYY-MM-DD",
        ),
        (
            HourlyPartitionsDefinition("2026-01-01"),
            "2026-01-01-00:30",
            NOW,
            "not a hourly partition key; expected YYYY-MM-DD-HH:MM",
        ),
    ],
)
def test_validate_key_errors(
    definition: PartitionsDefinition, key: str, now: datetime, rule: str
) -> None:
    with pytest.raises(DagwrightInvalidPartitionError) as caught:
        definition.validate_key(key, "my_job", now)
    assert (caught.value.partition_key, caught.value.job_name, caught.value.rule) == (
        key,
        "my_job",
        rule,
    )
    assert f"partition {key!r} of job 'my_job'" in str(caught.value)


def test_validate_key_accepts_partitions_and_rejects_non_strings() -> None:
    DailyPartitionsDefinition("2026-01-01").validate_key("2026-01-03", "job", NOW)
    StaticPartitionsDefinition(["a"]).validate_key("a", "job")
    with pytest.raises(DagwrightInvalidPartitionError, match="must be a str"):
        StaticPartitionsDefinition(["1"]).validate_key(1, "job")  # type: ignore[arg-type]
    assert not StaticPartitionsDefinition(["1"]).has_partition_key(1)  # type: ignore[arg-type]


def test_validation_does_not_enumerate(monkeypatch: pytest.MonkeyPatch) -> None:
    daily = DailyPartitionsDefinition("1970-01-01")

    def forbidden(self: object, current_time: datetime | None = None) -> list[str]:
        raise AssertionError("validation listed every key")

    monkeypatch.setattr(TimeWindowPartitionsDefinition, "get_partition_keys", forbidden)
    assert daily.has_partition_key("2026-01-03", NOW)
    daily.validate_key("1970-01-01", "job", NOW)


@pytest.mark.parametrize(
    ("definition", "key", "start", "length"),
    [
        (
            DailyPartitionsDefinition("2026-01-01"),
            "2026-01-02",
            datetime(2026, 1, 2, tzinfo=UTC),
            24,
        ),
        (
            DailyPartitionsDefinition("2026-01-01", timezone=NEW_YORK),
            "2026-03-08",
            datetime(2026, 3, 8, 5, tzinfo=UTC),
            23,
        ),
        (
            DailyPartitionsDefinition("2026-01-01", timezone=NEW_YORK),
            "2026-11-01",
            datetime(2026, 11, 1, 4, tzinfo=UTC),
            25,
        ),
        (
            HourlyPartitionsDefinition("2026-01-01", timezone=NEW_YORK),
            "2026-03-08-01:00",
            datetime(2026, 3, 8, 6, tzinfo=UTC),
            1,
        ),
        (
            HourlyPartitionsDefinition("2026-01-01", timezone=NEW_YORK),
            "2026-03-08-03:00",
            datetime(2026, 3, 8, 7, tzinfo=UTC),
            1,
        ),
        (
            HourlyPartitionsDefinition("2026-01-01", timezone=NEW_YORK),
            "2026-11-01-01:00",
            datetime(2026, 11, 1, 5, tzinfo=UTC),
            2,
        ),
        (
            HourlyPartitionsDefinition("2026-01-01", timezone=NEW_YORK),
            "2026-11-01-02:00",
            datetime(2026, 11, 1, 7, tzinfo=UTC),
            1,
        ),
    ],
)
def test_time_window_for_key(
    definition: TimeWindowPartitionsDefinition, key: str, start: datetime, length: int
) -> None:
    window = definition.time_window_for_key(key)
    assert window is not None
    assert window[0] == start
    assert window[1] - window[0] == timedelta(hours=length)
    assert window[0].tzinfo is UTC
    assert (
        window[0].astimezone(ZoneInfo(definition.timezone)).strftime("%Y-%m-%d-%H:%M")[: len(key)]
        == key
    )


@pytest.mark.parametrize("key", ["2025-12-31", "2026-13-01", "nope", "2026-01-05-00:00"])
def test_time_window_for_non_partition_key_is_none(key: str) -> None:
    assert DailyPartitionsDefinition("2026-01-01", "2026-01-05").time_window_for_key(key) is None


def test_static_partitions_have_no_time_window() -> None:
    assert StaticPartitionsDefinition(["a"]).time_window_for_key("a") is None


@pytest.mark.parametrize("zone", [NEW_YORK, "Europe/Berlin", "Australia/Lord_Howe", "UTC"])
def test_hourly_windows_tile_time_across_dst(zone: str) -> None:
    hourly = HourlyPartitionsDefinition("2026-01-01", timezone=zone)
    keys = hourly.get_partition_keys(datetime(2027, 1, 1, tzinfo=UTC))
    windows = [hourly.time_window_for_key(key) for key in keys]
    assert len(set(keys)) == len(keys)
    assert all(window is not None for window in windows)
    for before, after in itertools.pairwise(windows):
        assert before is not None and after is not None
        assert before[1] == after[0]
        assert before[0] < before[1]


@pytest.mark.parametrize(
    ("zone", "first"),
    [
        (NEW_YORK, datetime(2026, 3, 7, 12, tzinfo=UTC)),  # an hour skipped on 03-08
        (NEW_YORK, datetime(2026, 10, 31, 12, tzinfo=UTC)),  # an hour repeated on 11-01
        ("Asia/Kolkata", datetime(2026, 3, 7, 12, tzinfo=UTC)),  # windows end at :30 UTC
        ("Australia/Lord_Howe", datetime(2026, 4, 3, 12, tzinfo=UTC)),  # half an hour back
    ],
)
def test_a_kept_listing_is_extended_and_never_stale(zone: str, first: datetime) -> None:
    def hourly() -> HourlyPartitionsDefinition:
        start, end = first - timedelta(days=2), first + timedelta(days=2)
        return HourlyPartitionsDefinition(start, end, timezone=zone)

    kept = hourly()
    later = [first + timedelta(minutes=17 * n) for n in range(240)]  # ~2.8 days: past the end
    for when in [*later, first - timedelta(days=2), *later[::-1], datetime(2027, 1, 1)]:
        assert kept.get_partition_keys(when) == hourly().get_partition_keys(when), when


def test_a_kept_listing_is_reused_until_the_next_window_completes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hourly = HourlyPartitionsDefinition("2020-01-01")
    keys = hourly.get_partition_keys(datetime(2026, 1, 4, 12, 10))
    walks: list[datetime] = []
    original = hourly._list

    def spy(now: datetime, *args: object) -> object:
        walks.append(args[1])  # type: ignore[arg-type]
        return original(now, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(hourly, "_list", spy)
    assert hourly.get_partition_keys(datetime(2026, 1, 4, 12, 59)) == keys
    assert walks == []
    later = hourly.get_partition_keys(datetime(2026, 1, 4, 14))
    assert later == [*keys, "2026-01-04-12:00", "2026-01-04-13:00"]
    assert walks == [datetime(2026, 1, 4, 12)]  # from the first window not yet listed


def test_definition_errors() -> None:
    with pytest.raises(DagwrightDefinitionError, match="unknown timezone 'Mars/Olympus'"):
        DailyPartitionsDefinition("2026-01-01", timezone="Mars/Olympus")
    with pytest.raises(DagwrightDefinitionError, match=r"unknown timezone '\.\./etc'"):
        HourlyPartitionsDefinition("2026-01-01", timezone="../etc")
    with pytest.raises(DagwrightDefinitionError, match="start_date 'soon'"):
        DailyPartitionsDefinition("soon")
    with pytest.raises(DagwrightDefinitionError, match="not after start_date"):
        DailyPartitionsDefinition("2026-01-02", "2026-01-02")
    with pytest.raises(DagwrightDefinitionError, match="must be a str or datetime"):
        DailyPartitionsDefinition(20260101)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("keys", "fragment"),
    [
        (["a", "b", "a"], "duplicate static partition keys ['a']"),
        (["a", ""], "'' is not a non-empty str"),
        (["a", 1], "1 is not a non-empty str"),
        ([], "at least one key"),
        ("abc", "must be a list of str"),
    ],
)
def test_static_definition_errors(keys: list[str], fragment: str) -> None:
    with pytest.raises(DagwrightDefinitionError) as caught:
        StaticPartitionsDefinition(keys)
    assert fragment in str(caught.value)


def test_static_keys_keep_order() -> None:
    static = StaticPartitionsDefinition(["c", "a", "b"])
    assert static.get_partition_keys() == ["c", "a", "b"]
    assert static.keys == ("c", "a", "b")


def test_equality_hash_and_repr() -> None:
    assert DailyPartitionsDefinition("2026-01-01") == DailyPartitionsDefinition(
        datetime(2026, 1, 1, 5, tzinfo=UTC)
    )
    assert DailyPartitionsDefinition("2026-01-01") != HourlyPartitionsDefinition("2026-01-01")
    assert DailyPartitionsDefinition("2026-01-01") != DailyPartitionsDefinition(
        "2026-01-01", timezone=NEW_YORK
    )
    assert StaticPartitionsDefinition(["a", "b"]) != StaticPartitionsDefinition(["b", "a"])
    definitions = {
        StaticPartitionsDefinition(["a"]),
        StaticPartitionsDefinition(["a"]),
        DailyPartitionsDefinition("2026-01-01"),
    }
    assert len(definitions) == 2
    assert repr(DailyPartitionsDefinition("2026-01-01", "2026-02-01", timezone=NEW_YORK)) == (
        "DailyPartitionsDefinition(start_date='2026-01-01', end_date='2026-02-01', "
        "timezone='America/New_York')"
    )
    assert repr(HourlyPartitionsDefinition("2026-01-01")) == (
        "HourlyPartitionsDefinition(start_date='2026-01-01-00:00', end_date=None, timezone='UTC')"
    )
    many = StaticPartitionsDefinition([str(n) for n in range(12)])
    assert repr(many).endswith("'9', ... 2 more])")


def test_start_and_end_properties() -> None:
    daily = DailyPartitionsDefinition("2026-01-01", "2026-02-01", timezone=NEW_YORK)
    assert daily.start == datetime(2026, 1, 1, 5, tzinfo=UTC)
    assert daily.end == datetime(2026, 2, 1, 5, tzinfo=UTC)
    assert daily.start.tzinfo is UTC
    assert daily.timezone == NEW_YORK
    assert DailyPartitionsDefinition("2026-01-01").end is None


@pytest.mark.parametrize(
    ("definition", "text"),
    [
        (StaticPartitionsDefinition(["a", "b"]), "static: a, b"),
        (
            DailyPartitionsDefinition(start_date="2026-01-01", timezone="Europe/Paris"),
            "daily from 2026-01-01, Europe/Paris",
        ),
        (
            DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-02-01"),
            "daily from 2026-01-01 to 2026-02-01, UTC",
        ),
        (
            HourlyPartitionsDefinition(start_date="2026-01-01-00:00"),
            "hourly from 2026-01-01-00:00, UTC",
        ),
    ],
)
def test_describe_is_for_people(definition: PartitionsDefinition, text: str) -> None:
    # job show and the job page printed the Python repr
    assert definition.describe() == text


@pytest.mark.parametrize("key", ["\ud800", "a\x00b"])
def test_static_keys_must_be_text_a_tag_can_hold(key: str) -> None:
    # the key becomes the value of the dagwright/partition tag of its runs
    with pytest.raises(DagwrightDefinitionError, match="valid Unicode without NUL"):
        StaticPartitionsDefinition(["ok", key])
