"""Jobs for the web UI and HTTP API tests.

``documented``: emit -> shout, with metadata of every type (a markdown value that tries to
run a script, an internal ``.``-prefixed key) and job tags.
``configured``: load (config: WebConfig), partitioned by colour.
``coloured``: paint (no config), partitioned by colour: backfills of it need no config.
``nightly_docs``: @schedule of ``documented`` at 03:00 Paris time; skips on odd days.
``colour_files``: @sensor of ``coloured``: one run per colour in the cursor-less first
tick (run keys), then none; ``broken_colours``: @sensor that raises.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

from dagwright import (
    Config,
    MetadataValue,
    OpExecutionContext,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    StaticPartitionsDefinition,
    job,
    op,
    schedule,
    sensor,
)

#: Markdown that must render as text and never run code in the page.
HOSTILE_MARKDOWN = (
    "## Runbook\n\n"
    "Call **on-call** first.\n\n"
    "<script>window.__pwned = 'script';</script>\n\n"
    '<img src="x" onerror="window.__pwned = \'onerror\'">\n\n'
    "[bad link](javascript:window.__pwned='link') and [good link](https://example.com/runbook)\n"
)


@op
def emit(context: OpExecutionContext) -> int:
    context.log.info(f"emitting for team {context.get_tag('team')}")
    return 21


@op
def shout(value: int) -> int:
    return 2 * value


@job(
    description="A job whose metadata pane shows every type.",
    metadata={
        "owner": "web team",
        "docs": MetadataValue.url("https://docs.example.com/documented"),
        "evil_url": MetadataValue.url("javascript:alert(1)"),
        "runbook": MetadataValue.md(HOSTILE_MARKDOWN),
        "config": {"retries": 3, "targets": ["a", "b"]},
        "rows": MetadataValue.table(
            [{"id": 1, "name": "<b>one</b>"}, {"id": 2, "name": "two"}],
            [{"name": "id", "type": "int"}, {"name": "name", "type": "string"}],
        ),
        "reviewed": MetadataValue.timestamp(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)),
        "data_path": MetadataValue.path("/data/web/output.parquet"),
        "sla_minutes": 30,
        "pii": False,
        "nothing": None,
        "upstream": MetadataValue.job("configured"),
        ".internal": "never shown",
    },
    tags={"team": "web", "tier": "<gold>"},
)
def documented() -> None:
    shout(emit())


class WebConfig(Config):
    """Config of :func:`load`."""

    rows: int
    label: str = "rows"


@op
def load(config: WebConfig) -> list[int]:
    return list(range(config.rows))


#: The colours ``configured`` is partitioned by.
COLOURS = StaticPartitionsDefinition(["red", "green", "blue"])


@job(partitions_def=COLOURS)
def configured() -> None:
    load()


@op
def paint(context: OpExecutionContext) -> str:
    return context.partition_key


@job(partitions_def=COLOURS, tags={"team": "paint"})
def coloured() -> None:
    paint()


@schedule(
    cron_schedule="0 3 * * *",
    job=documented,
    execution_timezone="Europe/Paris",
    tags={"team": "<night>"},
)
def nightly_docs(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
    if context.scheduled_execution_time.day % 2:
        return SkipReason("<odd> day: nothing to do")
    return RunRequest(tags={"night": "even"})


@sensor(job=coloured, minimum_interval_seconds=45)
def colour_files(context: SensorEvaluationContext) -> Iterator[RunRequest]:
    if context.cursor is None:
        for colour in ("red", "green"):
            yield RunRequest(run_key=colour, partition_key=colour)
    context.update_cursor("<seen>")


@sensor(job=coloured)
def broken_colours(context: SensorEvaluationContext) -> None:
    raise RuntimeError("the <bucket> is gone")
