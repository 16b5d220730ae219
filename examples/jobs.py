"""Example jobs: typed metadata, job tags, launch tags, op selection, config and partitions.

Try them:

    dagwright job list -f examples/jobs.py
    dagwright job execute -f examples/jobs.py -j my_job_with_metadata --tag team=docs
    dagwright job execute -f examples/jobs.py -j daily_sales --op-selection "extract+" \
        --partition 2026-01-02 --tag team=analytics
    dagwright run list --tag team=docs
    dagwright schedule list -f examples/jobs.py
    dagwright schedule tick -f examples/jobs.py daily_sales_schedule --at 2026-01-03T06:00
    dagwright sensor tick -f examples/jobs.py new_regions
    dagwright job backfill -f examples/jobs.py -j regional_report --all
    dagwright schedule start -f examples/jobs.py daily_sales_schedule   # both start STOPPED
    dagwright daemon -f examples/jobs.py     # runs started schedules and sensors, backfills
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from dagwright import (
    Config,
    DailyPartitionsDefinition,
    Definitions,
    MetadataValue,
    OpExecutionContext,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    StaticPartitionsDefinition,
    graph,
    job,
    op,
    partitioned_config,
    schedule,
    sensor,
)

# -- the Dagster documentation example, with only the import line changed ------------------


@op
def my_op() -> str:
    return "Hello World!"


@job(
    metadata={
        "owner": "data team",  # -> MetadataValue.text
        "docs": MetadataValue.url("https://docs.example.com"),
    },
    tags={"foo": "bar"},
)
def my_job_with_metadata() -> None:
    my_op()


@graph
def my_graph() -> None:
    my_op()


my_second_job = my_graph.to_job(metadata={"owner": "api team"}, tags={"foo": "bar"})


# -- a partitioned ETL job with config, logging and metadata of many types ------------------


class ExtractConfig(Config):
    rows: int = 3
    region: str = "eu"


@op(tags={"kind": "io"})
def extract(context: OpExecutionContext, config: ExtractConfig) -> list[dict[str, object]]:
    """Read the day's sales (made up here)."""
    day = context.partition_key if context.has_partition_key else "today"
    context.log.info(f"extracting {config.rows} rows for {day} in {config.region}")
    return [{"id": i, "region": config.region, "amount": 10.0 * i} for i in range(config.rows)]


@op
def clean(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Drop rows without an amount."""
    return [row for row in rows if row["amount"]]


@op
def report(context: OpExecutionContext, rows: list[dict[str, object]]) -> float:
    """Sum the amounts; the team tag of the run says who gets the report."""
    total = sum(float(str(row["amount"])) for row in rows)
    context.log.info(f"total {total} for team {context.get_tag('team') or 'nobody'}")
    return total


@job(
    partitions_def=DailyPartitionsDefinition(start_date="2026-01-01"),
    metadata={
        "owner": "analytics",
        "docs": MetadataValue.url("https://wiki.example.com/daily-sales"),
        "runbook": MetadataValue.md("## On failure\n1. Check the *source*\n2. Re-execute"),
        "sla_minutes": 45,  # -> int
        "pii": False,  # -> bool, never int
        "sources": {"db": "sales", "tables": ["orders", "refunds"]},  # -> json
        "schema": MetadataValue.table_schema(
            [{"name": "id", "type": "int"}, {"name": "amount", "type": "float"}]
        ),
        "reviewed": MetadataValue.timestamp(datetime(2026, 11, 1, tzinfo=timezone.utc)),
        "defined_by": MetadataValue.python_artifact(extract),
        "upstream_job": MetadataValue.job("my_job_with_metadata"),
    },
    tags={"team": "analytics", "dagwright/priority": "5"},
)
def daily_sales() -> None:
    """Extract, clean and report one day of sales."""
    report(clean(extract()))


# -- schedules, sensors and a partitioned config ---------------------------------------------


@schedule(
    cron_schedule="0 6 * * *",
    job=daily_sales,
    execution_timezone="Europe/Paris",
    tags={"run_by": "schedule"},
)
def daily_sales_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """Every morning at 06:00 Paris time, report the day before."""
    day = context.scheduled_execution_time - timedelta(days=1)
    return RunRequest(partition_key=day.strftime("%Y-%m-%d"))


REGIONS = StaticPartitionsDefinition(["eu", "us", "asia"])


@partitioned_config(partitions_def=REGIONS)
def region_config(partition_key: str) -> dict[str, Any]:
    return {"ops": {"extract": {"config": {"region": partition_key}}}}


@job(config=region_config, tags={"team": "analytics"})
def regional_report() -> None:
    """One report per region: a partitioned job whose config follows its partition."""
    report(clean(extract()))


@sensor(job=regional_report, minimum_interval_seconds=30)
def new_regions(context: SensorEvaluationContext) -> Iterator[RunRequest]:
    """Report each region named in $EXAMPLE_REGIONS once (the region is the run key)."""
    for region in os.environ.get("EXAMPLE_REGIONS", "eu").split(","):
        yield RunRequest(run_key=region, partition_key=region, tags={"trigger": "sensor"})


defs = Definitions(
    jobs=[my_job_with_metadata, my_second_job, daily_sales, regional_report],
    schedules=[daily_sales_schedule],
    sensors=[new_regions],
)
