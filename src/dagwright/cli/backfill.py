"""``dagwright job backfill`` and ``dagwright backfill list|show|cancel``."""

from __future__ import annotations

import time

import click

from dagwright.cli.common import (
    CodeArgs,
    code_options,
    echo_json,
    format_tags,
    format_time,
    load_code,
    open_instance,
    parse_tags,
    pick_job,
    print_table,
)
from dagwright.definitions.job import JobDefinition
from dagwright.errors import DagwrightInvalidPartitionError, DagwrightNotFoundError
from dagwright.instance import Instance
from dagwright.runs.backfills import Backfill, BackfillStatus

#: How often ``--wait`` reads the backfill's progress (seconds).
POLL_SECONDS = 0.5
#: ``--wait`` warns when no daemon's backfill loop has recorded a pass for this long (s).
DAEMON_SILENT_SECONDS = 30.0


def select_keys(
    job: JobDefinition,
    partitions: str | None,
    from_key: str | None,
    to_key: str | None,
    all_keys: bool,
) -> list[str] | None:
    """The keys asked for by exactly one of ``--partitions``, ``--from/--to``, ``--all``
    (None means all)."""
    chosen = sum([partitions is not None, from_key is not None or to_key is not None, all_keys])
    if chosen != 1:
        raise click.UsageError("give exactly one of --partitions, --from/--to, --all")
    if all_keys:
        return None
    if partitions is not None:
        keys = [key.strip() for key in partitions.split(",") if key.strip()]
        if not keys:
            raise click.BadParameter("give at least one key", param_hint="--partitions")
        return keys
    if job.partitions_def is None:
        raise DagwrightInvalidPartitionError(None, job.name, "the job is not partitioned")
    every = job.partitions_def.get_partition_keys()
    start = _position(job, every, from_key, 0)
    end = _position(job, every, to_key, len(every) - 1)
    if end < start:
        raise click.BadParameter(f"{to_key!r} comes before {from_key!r}", param_hint="--to")
    return every[start : end + 1]


def _position(job: JobDefinition, every: list[str], key: str | None, default: int) -> int:
    if key is None:
        return default
    try:
        return every.index(key)
    except ValueError:
        assert job.partitions_def is not None
        job.partitions_def.validate_key(key, job.name)
        raise DagwrightInvalidPartitionError(key, job.name, "not a partition") from None


@click.command("backfill")
@code_options
@click.option("-j", "--job", "job_name", help="Job name (optional when there is one job).")
@click.option("--partitions", help="Partition keys, comma-separated.")
@click.option("--from", "from_key", help="First partition key of a range.")
@click.option("--to", "to_key", help="Last partition key of a range (inclusive).")
@click.option("--all", "all_keys", is_flag=True, help="Every partition.")
@click.option("--tags", "tags_json", help='Tags of every run as JSON: \'{"team": "docs"}\'.')
@click.option("--tag", "tag_pairs", multiple=True, help="A tag key=value (repeatable).")
@click.option(
    "--wait",
    is_flag=True,
    help="Show progress until the backfill ends; exit 1 unless it COMPLETED (every run "
    "succeeded). Without a running `dagwright daemon` it waits forever (a warning says so).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the backfill as JSON.")
def backfill_job(
    code: CodeArgs,
    job_name: str | None,
    partitions: str | None,
    from_key: str | None,
    to_key: str | None,
    all_keys: bool,
    tags_json: str | None,
    tag_pairs: tuple[str, ...],
    wait: bool,
    as_json: bool,
) -> None:
    """Backfill a partitioned job: one run per partition, submitted by `dagwright daemon`
    (through the queue when run_queue is configured, else launched at once), tagged
    dagwright/backfill and dagwright/partition.

    With --wait it exits 0 once the backfill COMPLETED (every run succeeded), 1 if it FAILED
    or was CANCELED; it polls until then, forever if no daemon runs."""
    job = pick_job(load_code(code), job_name)
    keys = select_keys(job, partitions, from_key, to_key, all_keys)
    tags = parse_tags(tags_json, tag_pairs)
    with open_instance() as instance:
        backfill_id = instance.launch_backfill(job, keys, tags=tags)
        if not as_json:
            stored = keys if keys is not None else _require(instance, backfill_id).partition_keys
            click.echo(
                f"backfill {backfill_id} of {job.name}: {len(stored)} "
                "partition(s), REQUESTED (the daemon submits its runs)"
            )
        if wait:
            _warn_without_daemon(instance)
            backfill = _wait(instance, backfill_id, quiet=as_json)
        elif as_json:
            backfill = _require(instance, backfill_id)
    if as_json:
        echo_json(backfill.to_json())
    if wait:
        click.get_current_context().exit(0 if backfill.status is BackfillStatus.COMPLETED else 1)


def _warn_without_daemon(instance: Instance) -> None:
    """One line on stderr when no daemon's backfill loop beat lately: nothing submits the
    runs, and ``--wait`` waits until a daemon does."""
    from dagwright.daemon.backfills import BackfillDaemon

    beats = [
        b.heartbeat_at for b in instance.get_daemon_heartbeats() if b.name == BackfillDaemon.name
    ]
    if not beats or time.time() - beats[0] > DAEMON_SILENT_SECONDS:
        click.echo(
            f"Warning: no `dagwright daemon` has run backfills in the last "
            f"{DAEMON_SILENT_SECONDS:g} s; waiting until one submits the runs (Ctrl-C to stop)",
            err=True,
        )


def _wait(instance: Instance, backfill_id: str, *, quiet: bool) -> Backfill:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, disable=quiet, transient=False) as bar:
        task = bar.add_task("runs ended", total=None)
        while True:
            backfill = instance.get_backfill(backfill_id)
            assert backfill is not None and backfill.progress is not None
            p = backfill.progress
            bar.update(
                task,
                total=p.requested,
                completed=p.finished,
                description=f"submitted {p.submitted}, queued {p.queued}, running {p.running}, "
                f"succeeded {p.succeeded}, failed {p.failed}, canceled {p.canceled}",
            )
            if backfill.status.is_finished:
                break
            time.sleep(POLL_SECONDS)
    if not quiet:
        click.echo(f"backfill {backfill_id} {backfill.status.value}")
    return backfill


def _require(instance: Instance, backfill_id: str) -> Backfill:
    backfill = instance.get_backfill(backfill_id)
    if backfill is None:
        raise DagwrightNotFoundError("backfill", backfill_id)
    return backfill


def _progress_text(backfill: Backfill) -> str:
    assert backfill.progress is not None  # the instance counts it for every backfill it gives
    return " ".join(f"{k} {v}" for k, v in backfill.progress.to_json().items())


@click.group("backfill")
def backfill_group() -> None:
    """List, show and cancel backfills."""


@backfill_group.command("list")
@click.option("--status", type=click.Choice([s.value for s in BackfillStatus]))
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option(
    "--json", "as_json", is_flag=True, help="Print JSON: each backfill as the HTTP API shows it."
)
def list_backfills(status: str | None, limit: int, as_json: bool) -> None:
    """Backfills, newest first, with their progress."""
    with open_instance() as instance:
        found = instance.get_backfills(
            limit=limit, status=BackfillStatus(status) if status else None
        )
    if as_json:
        echo_json({"backfills": [b.to_json() for b in found]})
        return
    from rich.table import Table

    table = Table("backfill", "job", "status", "partitions", "created", "progress", "tags")
    for b in found:
        table.add_row(
            b.backfill_id,
            b.job_name,
            b.status.value,
            str(len(b.partition_keys)),
            format_time(b.created_at),
            _progress_text(b),
            format_tags(b.tags),
        )
    print_table(table)


@backfill_group.command("show")
@click.argument("backfill_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, as the HTTP API does.")
def show_backfill(backfill_id: str, as_json: bool) -> None:
    """One backfill: status, progress, partitions."""
    with open_instance() as instance:
        backfill = _require(instance, backfill_id)
    if as_json:
        echo_json(backfill.to_json())
        return
    click.echo(f"backfill {backfill.backfill_id} of {backfill.job_name}: {backfill.status.value}")
    click.echo(
        f"created {format_time(backfill.created_at)}, ended {format_time(backfill.ended_at)}"
    )
    click.echo(f"progress: {_progress_text(backfill)}")
    if backfill.error:
        click.echo(f"error: {backfill.error}")
    if backfill.tags:
        click.echo(f"tags: {format_tags(backfill.tags)}")
    click.echo(f"partitions: {', '.join(backfill.partition_keys)}")


@backfill_group.command("cancel")
@click.argument("backfill_id")
def cancel_backfill(backfill_id: str) -> None:
    """Cancel a backfill: no more runs are submitted; its queued runs are canceled."""
    with open_instance() as instance:
        backfill = instance.cancel_backfill(backfill_id)
    click.echo(f"backfill {backfill_id} {backfill.status.value}: {_progress_text(backfill)}")
