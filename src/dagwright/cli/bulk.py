"""``dagwright run bulk``: one action on every run a query matches, after a dry run."""

from __future__ import annotations

import sys
from typing import Any

import click

from dagwright.cli.common import echo_json, open_instance
from dagwright.runs.models import RunsFilter
from dagwright.tags import parse_tag_pair

#: Refusals printed after the summary (all are in --json and the API).
SHOWN_REFUSALS = 20


def _action(
    terminate: bool,
    reexecute: bool,
    from_failure: bool,
    tags: tuple[str, ...],
    untags: tuple[str, ...],
    priority: int | None,
    delete: bool,
) -> tuple[str, dict[str, Any]]:
    chosen: list[tuple[str, dict[str, Any]]] = []
    if terminate:
        chosen.append(("terminate", {}))
    if reexecute:
        chosen.append(("reexecute", {"from_failure": from_failure}))
    if tags:
        chosen.append(("add_tags", {"tags": dict(parse_tag_pair(t) for t in tags)}))
    if untags:
        chosen.append(("remove_tags", {"keys": list(untags)}))
    if priority is not None:
        chosen.append(("set_priority", {"priority": priority}))
    if delete:
        chosen.append(("delete", {}))
    if len(chosen) != 1:
        raise click.UsageError(
            "choose one action: --terminate, --reexecute, --tag, --untag, --priority or --delete"
        )
    if from_failure and not reexecute:
        raise click.UsageError("--from-failure goes with --reexecute")
    return chosen[0]


@click.command("bulk")
@click.option("--where", "where", required=True, metavar="QUERY", help="Which runs (a run query).")
@click.option("--terminate", is_flag=True, help="Terminate each run.")
@click.option("--reexecute", is_flag=True, help="Re-execute each finished run.")
@click.option("--from-failure", is_flag=True, help="With --reexecute: only what did not succeed.")
@click.option("--tag", "tags", multiple=True, metavar="K=V", help="Add a tag (repeatable).")
@click.option("--untag", "untags", multiple=True, metavar="K", help="Remove a tag (repeatable).")
@click.option("--priority", type=int, help="Set dagwright/priority of each queued run.")
@click.option("--delete", is_flag=True, help="Delete each finished run.")
@click.option("--yes", is_flag=True, help="Do not ask before acting.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as the HTTP API does.")
def bulk_command(
    where: str,
    terminate: bool,
    reexecute: bool,
    from_failure: bool,
    tags: tuple[str, ...],
    untags: tuple[str, ...],
    priority: int | None,
    delete: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Act on every run matching --where: first the count and the newest runs, then (after
    --yes or a yes at the prompt) the action, with a progress bar. Each run's outcome is
    kept; a refused run (e.g. terminating a finished one) does not stop the others. Exit
    code 1 when some run was refused."""
    from dagwright.runs.bulk import check_params, parse_action

    action, params = _action(terminate, reexecute, from_failure, tags, untags, priority, delete)
    check_params(parse_action(action), params)
    filters = RunsFilter.parse(where)
    with open_instance() as instance:
        count, sample = instance.bulk_dry_run(filters)
        _print_dry_run(action, count, [r.run_id for r in sample], err=as_json)
        if count == 0:
            return
        if not yes:
            click.confirm(f"{action} {count:,} run(s)?", abort=True, err=as_json)
        started = instance.start_bulk(filters, where, action, params)
        _run_with_progress(instance, started.bulk_id, started.count, quiet=as_json)
        result = instance.get_bulk(started.bulk_id, with_results=True)
    if as_json:
        echo_json(result.to_json())
    else:
        _print_summary(result)
    if result.refused:
        sys.exit(1)


def _print_dry_run(action: str, count: int, sample: list[str], *, err: bool) -> None:
    click.echo(f"{action}: {count:,} run(s) match", err=err)
    for run_id in sample:
        click.echo(f"  {run_id}", err=err)
    if count > len(sample):
        click.echo(f"  … and {count - len(sample):,} more", err=err)


def _run_with_progress(instance: Any, bulk_id: str, count: int, *, quiet: bool) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    console = Console(stderr=True)
    columns = (BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, disable=quiet, transient=False) as bar:
        task = bar.add_task("bulk", total=count)
        instance.run_bulk(bulk_id, progress=lambda n: bar.advance(task, n))


def _print_summary(result: Any) -> None:
    click.echo(f"{result.action.value} {result.bulk_id}: {result.done:,} done, "
               f"{result.refused:,} refused of {result.count:,}")  # fmt: skip
    refused = [r for r in result.results if r.outcome == "refused"]
    for item in refused[:SHOWN_REFUSALS]:
        click.echo(f"  refused {item.run_id}: {item.reason}")
    if len(refused) > SHOWN_REFUSALS:
        click.echo(f"  … and {len(refused) - SHOWN_REFUSALS:,} more (see --json)")
