"""Jobs, schedules and sensors shared by the schedule, sensor and backfill tests.

``days``:     partitioned daily from 2026-01-01 (UTC); config from a partitioned config
``regions``:  partitioned by region (eu, us, asia)
``nightly``:  ScheduleDefinition of ``simple.chain`` at 02:30 New York time, with tags
``hourly``:   @schedule of ``days`` every hour at :00, running the partition of the
              previous day; skips on Sundays
``files``:    @sensor of ``regions``: one RunRequest per name in SENSOR_FILES (a run key
              each, partition = region before ":" ), cursor = count of names seen
``broken``:   @sensor that raises
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from tests.jobs import simple

from dagwright import (
    Config,
    DailyPartitionsDefinition,
    Definitions,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    StaticPartitionsDefinition,
    job,
    op,
    partitioned_config,
    schedule,
    sensor,
)

#: Environment variable holding the comma-separated "files" the ``files`` sensor sees.
FILES_ENV = "DAGWRIGHT_TEST_SENSOR_FILES"

DAILY = DailyPartitionsDefinition(start_date="2026-01-01")


@partitioned_config(partitions_def=DAILY)
def day_config(partition_key: str) -> dict[str, Any]:
    return {"ops": {"stamp": {"config": {"day": partition_key}}}}


class DayConfig(Config):
    """Config of :func:`stamp`."""

    day: str


@op
def stamp(config: DayConfig) -> str:
    return config.day


@op
def count() -> int:
    return 1


@job(config=day_config, tags={"team": "data", "source": "job"})
def days() -> None:
    stamp()


@job(partitions_def=StaticPartitionsDefinition(["eu", "us", "asia"]), tags={"source": "job"})
def regions() -> None:
    count()


nightly = ScheduleDefinition(
    name="nightly",
    cron_schedule="30 2 * * *",
    job=simple.chain,
    execution_timezone="America/New_York",
    tags={"source": "schedule", "kind": "nightly"},
)


@schedule(cron_schedule="0 * * * *", job=days, tags={"source": "schedule"})
def hourly(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
    when = context.scheduled_execution_time
    if when.weekday() == 6:
        return SkipReason("no runs on Sundays")
    day = (when - timedelta(days=1)).strftime("%Y-%m-%d")
    return RunRequest(partition_key=day, tags={"source": "request"})


@sensor(job=regions, minimum_interval_seconds=10)
def files(context: SensorEvaluationContext) -> Iterator[RunRequest]:
    names = [n for n in os.environ.get(FILES_ENV, "").split(",") if n]
    context.update_cursor(str(len(names)))
    for name in names:
        yield RunRequest(run_key=name, partition_key=name.split(":")[0], tags={"file": name})


@sensor(job=regions)
def broken(context: SensorEvaluationContext) -> None:
    raise RuntimeError("the bucket is gone")


defs = Definitions(schedules=[nightly, hourly], sensors=[files, broken])
