"""``dagwright job list|show|execute|launch`` (``job backfill`` is in ``cli/backfill.py``)."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Callable, Iterator
from typing import Any

import click

from dagwright.cli.common import (
    CodeArgs,
    RunArgs,
    code_options,
    echo_json,
    format_time,
    load_code,
    open_instance,
    pick_job,
    print_table,
    run_options,
)
from dagwright.definitions.job_json import job_detail, job_summary
from dagwright.execution.events import EventType
from dagwright.runs.models import RunStatus


@click.group("job")
def job_group() -> None:
    """List, show and execute jobs from a code file or module."""


@job_group.command("list")
@code_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_jobs(code: CodeArgs, as_json: bool) -> None:
    """List the jobs of the code locations of -f FILE / -m MODULE / -w workspace.yaml (a job
    whose name is in several locations is shown as NAME@LOCATION, as -j takes it)."""
    definitions = load_code(code)
    if as_json:
        jobs = definitions.jobs.items()
        echo_json({"jobs": [job_summary(job, ref) for ref, job in jobs]})
        return
    from rich.table import Table

    table = Table("job", "location", "ops", "owner", "tags", "description")
    for ref, job_def in definitions.jobs.items():
        owner = job_def.metadata.get("owner")
        table.add_row(
            ref,
            job_def.location_name or "",
            str(len(job_def.graph.nodes)),
            str(owner.value) if owner else "",
            " ".join(f"{k}={v}" for k, v in job_def.tags.items()),
            (job_def.description or "").split("\n")[0],
        )
    print_table(table)


@job_group.command("show")
@code_options
@click.option("-j", "--job", "job_name", help="Job name (optional when there is one job).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show_job(code: CodeArgs, job_name: str | None, as_json: bool) -> None:
    """Show a job: description, metadata by type, tags, ops and edges."""
    workspace = load_code(code)
    job_def = pick_job(workspace, job_name)
    data = job_detail(job_def, workspace.reference(job_def))
    if as_json:
        echo_json(data)
        return
    click.echo(f"job {job_def.name}")
    click.echo(f"  code location: {job_def.location_name}")
    if job_def.description:
        click.echo(f"  {job_def.description}")
    click.echo("metadata:")
    for key, value in data["metadata"].items():
        click.echo(f"  {key} ({value['type']}): {metadata_text(value['type'], value['value'])}")
    click.echo("tags:")
    for key, text in job_def.tags.items():
        click.echo(f"  {key}={text}")
    click.echo("ops:")
    for node in data["graph"]["nodes"]:
        edges = data["graph"]["edges"]
        ups = [e["from_node"] for e in edges if e["to_node"] == node["name"]]
        click.echo(f"  {node['name']}" + (f"  <- {', '.join(ups)}" if ups else ""))
    if data["partitions"]:
        partitions = data["partitions"]
        click.echo(f"partitions: {partitions['count']} ({partitions['description']})")


def _indented(text: str) -> str:
    lines = text.splitlines() or [""]
    return lines[0] + "".join(f"\n      {line}" for line in lines[1:])


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=False)


def _columns_text(schema: dict[str, Any] | None) -> str:
    if not schema:
        return "no schema"
    return ", ".join(f"{c['name']} {c['type']}" for c in schema["columns"])


def _table_text(table: dict[str, Any]) -> str:
    count = len(table["records"])
    return f"{count} row{'s' if count != 1 else ''} ({_columns_text(table['schema'])})"


#: How ``job show`` prints each metadata type's JSON value (the rest print as they are).
_METADATA_TEXT: dict[str, Callable[[Any], str]] = {
    "md": _indented,
    "text": _indented,
    "json": _json_text,
    "bool": lambda v: "true" if v else "false",
    "null": lambda _: "null",
    "timestamp": format_time,
    "table_schema": _columns_text,
    "table": _table_text,
    "python_artifact": lambda v: f"{v['module']}:{v['name']}",
}


def metadata_text(kind: str, value: Any) -> str:
    """One metadata value (its JSON form's ``value``) as ``job show`` prints it."""
    render = _METADATA_TEXT.get(kind)
    return render(value) if render is not None else str(value)


class StepEcho:
    """What ``job execute`` prints while a run executes: each step's stdout and stderr
    with every line prefixed ``step_key | ``, and ``context.log`` lines at INFO and above
    on stderr (with ``to_stderr``, step stdout goes to stderr too: ``--json`` keeps stdout
    for the run)."""

    def __init__(self, *, to_stderr: bool = False) -> None:
        self._out = {"stdout": sys.stderr if to_stderr else sys.stdout, "stderr": sys.stderr}
        self._at_line_start: dict[tuple[str, str], bool] = {}

    def __call__(self, step_key: str, stream: str, text: str) -> None:
        """Echo output of a step (an :data:`~dagwright.execution.logs.Echo`)."""
        key = (step_key, stream)
        start = self._at_line_start.get(key, True)
        pieces = []
        for line in text.splitlines(keepends=True):
            if start:
                pieces.append(f"{step_key} | ")
            pieces.append(line)
            start = line.endswith("\n")
        self._at_line_start[key] = start
        out = self._out[stream]
        out.write("".join(pieces))
        out.flush()

    @contextlib.contextmanager
    def op_log_lines(self) -> Iterator[None]:
        """Print ``context.log`` lines (INFO and above) on stderr as they happen."""
        logger = logging.getLogger("dagwright.ops")
        handler = logging.StreamHandler(sys.stderr)
        form = logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%H:%M:%S")
        handler.setFormatter(form)
        saved = (logger.level, logger.propagate)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        logger.addHandler(handler)
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(saved[0])
            logger.propagate = saved[1]


@job_group.command("execute")
@run_options
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
def execute_job(args: RunArgs, as_json: bool) -> None:
    """Execute a job in this process and store the run in $DAGWRIGHT_HOME.

    Exits 0 if the run succeeds, 1 if it fails, 2 on bad input (nothing is stored).
    """
    from dagwright.execution.in_process import execute_job_in_process
    from dagwright.execution.logs import StepLogCapture

    echo = StepEcho(to_stderr=as_json)
    with open_instance() as instance, echo.op_log_lines():
        result = execute_job_in_process(
            args.job,
            run_config=args.run_config,
            tags=args.tags,
            op_selection=args.op_selection,
            partition_key=args.partition_key,
            instance=instance,
            raise_on_error=False,
            store_outputs=True,
            logs=StepLogCapture(fd=False, echo=echo),
        )
    if as_json:
        echo_json(result.run.to_json())
    else:
        ends = (EventType.STEP_SUCCESS, EventType.STEP_FAILURE, EventType.STEP_SKIPPED)
        for event in result.all_events:
            if event.event_type in ends:
                click.echo(f"  {event.message}")
        click.echo(f"run {result.run_id} {result.run.status.value}")
    click.get_current_context().exit(0 if result.success else 1)


@job_group.command("launch")
@run_options
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
def launch_job(args: RunArgs, as_json: bool) -> None:
    """Submit a run to $DAGWRIGHT_HOME: queued when run_queue is configured, else launched
    at once in its own process. Prints the run id and returns without waiting; warns on
    stderr when the run is queued and no daemon runs the queue."""
    from dagwright.cli.daemon import warn_no_queue_daemon

    with open_instance() as instance:
        run = instance.submit_run(
            args.job,
            run_config=args.run_config,
            tags=args.tags,
            op_selection=args.op_selection,
            partition_key=args.partition_key,
        )
        if run.status is RunStatus.QUEUED:
            warn_no_queue_daemon(instance)
    if as_json:
        echo_json(run.to_json())
    else:
        click.echo(f"run {run.run_id} {run.status.value}")
