"""Tests for dagwright.definitions.job_json: a job's JSON (the API's and ``job show --json``)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from dagwright import HourlyPartitionsDefinition, job, op
from dagwright.definitions.job_json import MAX_PARTITION_KEYS, partitions_json

UTC = timezone.utc


@op
def tick() -> None:
    """Does nothing."""


def test_partitions_json_of_a_large_hourly_definition_is_the_full_listing() -> None:
    def hourly() -> HourlyPartitionsDefinition:
        return HourlyPartitionsDefinition("2020-01-01", timezone="America/New_York")

    @job(partitions_def=hourly())
    def every_hour() -> None:
        tick()

    first = datetime(2026, 3, 8, 5, 30, tzinfo=UTC)  # New York springs forward at 07:00Z
    # later (the kept listing is extended, across the skipped hour), then earlier again
    for when in (first, first + timedelta(hours=3, minutes=10), first - timedelta(days=1)):
        keys = hourly().get_partition_keys(when)  # a fresh definition lists from the start
        assert len(keys) > 50_000
        assert partitions_json(every_hour, when) == {
            "description": hourly().describe(),
            "count": len(keys),
            "keys": keys[-MAX_PARTITION_KEYS:],
        }
