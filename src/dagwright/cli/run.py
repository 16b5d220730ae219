"""``dagwright run list|show|tags|priority|hold|release|delete|terminate|reexecute|diff``."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import click

from dagwright.cli.common import (
    echo_json,
    format_tags,
    format_time,
    open_instance,
    parse_tags,
    print_table,
)
from dagwright.errors import DagwrightRunNotFoundError
from dagwright.runs.columns import DEFAULT_COLUMNS, Sort, cell, column_label, parse_columns
from dagwright.runs.models import Run, RunsFilter, RunStatus
from dagwright.tags import HELD_BY_TAG, is_system_tag, parse_tag_filters

if TYPE_CHECKING:
    from dagwright.runs.diff import RunDiff, StepRow, ValueRow

_STATUS_STYLE = {
    RunStatus.SUCCESS: "green",
    RunStatus.FAILURE: "red",
    RunStatus.CANCELED: "yellow",
    RunStatus.STARTED: "blue",
    RunStatus.QUEUED: "magenta",
}


def _duration(run: Run) -> str:
    if run.started_at is None or run.ended_at is None:
        return "-"
    from dagwright.web.render import duration  # the pages' wording, for one vocabulary

    return duration(run.ended_at - run.started_at)


@click.group("run")
def run_group() -> None:
    """List, inspect, compare, tag, reprioritise, hold and delete runs of $DAGWRIGHT_HOME."""


def _print_runs_table(
    runs: list[Run], show_system: bool, columns: tuple[str, ...] = DEFAULT_COLUMNS
) -> None:
    from rich.table import Table

    headings = [column_label(c) for c in columns]
    table = Table("run id", "job", "status", "created", "duration", *headings, "tags")
    for run in runs:
        tags = {k: v for k, v in run.tags.items() if show_system or not is_system_tag(k)}
        style = _STATUS_STYLE.get(run.status, "")
        table.add_row(
            run.run_id,
            run.job_reference,
            f"[{style}]{run.status.value}[/]" if style else run.status.value,
            format_time(run.created_at),
            _duration(run),
            *(cell(run.tags, c) for c in columns),
            format_tags(tags),
        )
    print_table(table)


@run_group.command("list")
@click.option(
    "--tag",
    "tag_pairs",
    multiple=True,
    help="Only runs with tag key=value (repeat: keys AND, values of one key OR).",
)
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([s.value for s in RunStatus], case_sensitive=False),
    help="Only runs in this status (repeatable).",
)
@click.option("--job", "job_name", help="Only runs of this job (of any code location).")
@click.option("--location", "location_name", help="Only runs of jobs of this code location.")
@click.option(
    "--where",
    "where",
    default="",
    metavar="QUERY",
    help="Only runs matching a run query: 'team:docs -env:prod status:FAILURE'.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="At most this many runs.",
)
@click.option("--cursor", help="Run id of the last run of the previous page.")
@click.option(
    "--columns",
    "columns_text",
    default="",
    metavar="KEYS",
    help="Tag keys shown as columns, comma-separated (default: dagwright/partition, launched_by).",
)
@click.option(
    "--sort",
    "sort_text",
    default="",
    metavar="KEY",
    help="Order by created, duration, job, status or a tag key; '-' first: descending"
    " (default -created).",
)
@click.option(
    "--offset",
    type=click.IntRange(min=0),
    default=0,
    help="With --sort: skip this many runs (the next page).",
)
@click.option(
    "--system-tags/--no-system-tags",
    default=False,
    help="Show dagwright/ system tags in the table.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON, as the HTTP API does.")
def list_runs(
    tag_pairs: tuple[str, ...],
    statuses: tuple[str, ...],
    job_name: str | None,
    location_name: str | None,
    where: str,
    limit: int,
    cursor: str | None,
    columns_text: str,
    sort_text: str,
    offset: int,
    system_tags: bool,
    as_json: bool,
) -> None:
    """List runs, newest first (or in the order of --sort; the job as JOB@LOCATION when
    the run recorded its code location)."""
    columns, order = parse_columns(columns_text), Sort.parse(sort_text or None)
    filters = replace(
        RunsFilter.parse(where),
        job_name=job_name,
        location_name=location_name,
        statuses=[RunStatus(s.upper()) for s in statuses] or None,
        tags=parse_tag_filters(tag_pairs) or None,
    )
    with open_instance() as instance:
        if order.is_default:
            runs = instance.get_runs(filters, limit=limit, cursor=cursor)
        else:
            runs = instance.get_sorted_runs(filters, order, limit=limit, offset=offset)
    full = len(runs) == limit
    next_cursor = runs[-1].run_id if full and order.is_default else None
    if as_json:
        echo_json({"runs": [r.to_json() for r in runs], "cursor": next_cursor})
        return
    _print_runs_table(runs, system_tags, columns)
    if next_cursor:
        click.echo(f"more: --cursor {next_cursor}")
    elif full:
        click.echo(f"more: --offset {offset + limit}")


def _get(run_id: str) -> tuple[Run, list[Any]]:
    with open_instance() as instance:
        run = instance.get_run(run_id)
        if run is None:
            raise DagwrightRunNotFoundError(run_id)
        return run, instance.get_events(run_id)


@run_group.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the run and its events).")
def show_run(run_id: str, as_json: bool) -> None:
    """Show a run: status, timing, tags and its event log."""
    run, events = _get(run_id)
    if as_json:
        echo_json({**run.to_json(), "events": [e.to_json() for e in events]})
        return
    click.echo(f"run {run.run_id}  job {run.job_reference}  {run.status.value}")
    click.echo(
        f"created {format_time(run.created_at)}  started {format_time(run.started_at)}"
        f"  ended {format_time(run.ended_at)}  duration {_duration(run)}"
    )
    click.echo("tags:")
    for key, value in run.tags.items():
        click.echo(f"  {key}={value}")
    click.echo("events:")
    for event in events:
        step = f" [{event.step_key}]" if event.step_key else ""
        click.echo(
            f"  {format_time(event.timestamp)} {event.level:<7} "
            f"{event.event_type.value}{step} {event.message}"
        )


@run_group.command("tags")
@click.argument("run_id")
@click.option("--add", "add_pairs", multiple=True, help="Add or change a tag key=value.")
@click.option("--remove", "remove_keys", multiple=True, help="Remove the tag with this key.")
@click.option("--json", "as_json", is_flag=True, help="Print the tags as JSON.")
@click.option(
    "--history", is_flag=True, help="Show who changed the run's tags, when and how instead."
)
def run_tags(
    run_id: str,
    add_pairs: tuple[str, ...],
    remove_keys: tuple[str, ...],
    as_json: bool,
    history: bool,
) -> None:
    """Show a run's tags; add or remove user tags (recorded in its tag history, as the OS
    user)."""
    to_add = parse_tags(None, add_pairs)
    if history:
        _print_history(run_id, as_json)
        return
    with open_instance() as instance:
        if to_add or remove_keys:
            run = instance.update_run_tags(run_id, add=to_add, remove=remove_keys, via="cli")
        else:
            found = instance.get_run(run_id)
            if found is None:
                raise DagwrightRunNotFoundError(run_id)
            run = found
    if as_json:
        echo_json(dict(run.tags))
        return
    for key, value in run.tags.items():
        click.echo(f"{key}={value}")


def _print_history(run_id: str, as_json: bool) -> None:
    with open_instance() as instance:
        changes = instance.get_tag_history(run_id)
    if as_json:
        echo_json({"changes": changes})
        return
    from rich.table import Table

    table = Table("at", "actor", "via", "changes")
    for change in changes:
        table.add_row(
            format_time(change["at"]), change["actor"], change["via"], _changes(change["changes"])
        )
    print_table(table)


def _changes(changes: dict[str, dict[str, str | None]]) -> str:
    parts = []
    for key, change in changes.items():
        old, new = change["old"], change["new"]
        parts.append(f"+{key}={new}" if old is None else f"-{key}" if new is None else
                     f"{key}: {old} -> {new}")  # fmt: skip
    return ", ".join(parts)


@run_group.command("priority", context_settings={"ignore_unknown_options": True})
@click.argument("run_id")
@click.argument("priority", type=int)
def priority_run(run_id: str, priority: int) -> None:
    """Change the queue priority of a QUEUED run (higher launches first; negative allowed);
    the next queue pass uses it."""
    with open_instance() as instance:
        instance.set_run_priority(run_id, priority, via="cli")
    click.echo(f"run {run_id} priority {priority}")


@run_group.command("hold")
@click.argument("run_id")
def hold_run(run_id: str) -> None:
    """Keep a QUEUED run from launching until it is released."""
    with open_instance() as instance:
        run = instance.hold_run(run_id, via="cli")
    click.echo(f"run {run_id} held by {run.tags.get(HELD_BY_TAG)}")


@run_group.command("release")
@click.argument("run_id")
def release_run(run_id: str) -> None:
    """Let a held QUEUED run launch again."""
    with open_instance() as instance:
        instance.release_run(run_id, via="cli")
    click.echo(f"run {run_id} released")


@run_group.command("delete")
@click.argument("run_id")
def delete_run(run_id: str) -> None:
    """Delete a finished run with its tags and events."""
    with open_instance() as instance:
        instance.delete_run(run_id)
    click.echo(f"deleted run {run_id}")


@run_group.command("terminate")
@click.argument("run_id")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="Seconds to wait for the worker before killing it.",
)
def terminate_run(run_id: str, timeout: float) -> None:
    """Cancel a run: queued runs at once; running ones through CANCELING, stopping their
    process and the processes it started."""
    with open_instance() as instance:
        run = instance.terminate(run_id, timeout=timeout)
    click.echo(f"run {run.run_id} {run.status.value}")


@run_group.command("reexecute")
@click.argument("run_id")
@click.option(
    "--from-failure",
    is_flag=True,
    help="Re-run only the steps that did not succeed (others' outputs are reused).",
)
@click.option("--tags", "tags_json", help="More tags as a JSON object.")
@click.option("--tag", "tag_pairs", multiple=True, help="A tag key=value (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the new run as JSON.")
def reexecute_run(
    run_id: str,
    from_failure: bool,
    tags_json: str | None,
    tag_pairs: tuple[str, ...],
    as_json: bool,
) -> None:
    """Re-execute a finished run as a new run (all steps, or --from-failure); the new run
    keeps the user tags and records its parent and root run."""
    tags = parse_tags(tags_json, tag_pairs)
    with open_instance() as instance:
        child = instance.reexecute(run_id, from_failure=from_failure, tags=tags)
    if as_json:
        echo_json(child.to_json())
    else:
        click.echo(f"run {child.run_id} {child.status.value} (re-execution of {run_id})")


@run_group.command("diff")
@click.argument("run_id")
@click.argument("other_run_id", required=False)
@click.option("--all", "show_all", is_flag=True, help="Also list the rows that are the same.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, as the HTTP API does.")
def diff_run(run_id: str, other_run_id: str | None, show_all: bool, as_json: bool) -> None:
    """Compare a run with OTHER_RUN_ID (default: its parent), old → new: summary, tags,
    run config, op selection and each step's outcome. Lists the differences (--all: every
    row)."""
    with open_instance() as instance:
        diff = instance.diff_runs(run_id, other_run_id)
    if as_json:
        echo_json(diff.to_json())
        return
    _print_diff(diff, show_all)


def _print_diff(diff: RunDiff, show_all: bool) -> None:
    from rich.table import Table
    from rich.text import Text

    from dagwright.runs.diff import DiffState

    left = diff.left_run_id + (" (parent)" if diff.left_is_parent else "")
    count = diff.differences
    plural = "" if count == 1 else "s"
    click.echo(f"run {diff.right_run_id} against {left}: {count} difference{plural}")
    table = Table("part", "key", diff.left_run_id[:8], diff.right_run_id[:8], "state")
    for part, rows in diff.sections.items():
        for row in rows:
            if show_all or row.state is not DiffState.SAME:
                old, new = (Text(_diff_value(part, row, side)) for side in ("left", "right"))
                table.add_row(part, Text(row.key), old, new, row.state.value)
    if table.row_count:
        print_table(table)


def _diff_value(part: str, row: ValueRow | StepRow, side: str) -> str:
    """One side of a diff row in words (``-``: not in that run)."""
    import json

    from dagwright.runs.diff import DiffState
    from dagwright.web.render import duration  # the pages' wording, for one vocabulary

    value = getattr(row, side)
    if value is None and row.state in (DiffState.ADDED, DiffState.REMOVED):
        return "-"
    if part == "steps":
        took = getattr(row, f"{side}_duration")
        return str(value) if took is None else f"{value} {duration(took)}"
    if part == "summary":
        shown = {"created_at": format_time, "duration": duration}.get(row.key, str)
        return str(shown(value))
    if part == "op_selection":
        return "all" if value is None else ", ".join(value)
    if part == "tags":
        return str(value)
    return json.dumps(value, ensure_ascii=False)
