"""The ``dagwright`` entry point; bad input becomes exit code 2 and one line on stderr."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from dagwright.cli.backfill import backfill_group, backfill_job
from dagwright.cli.bulk import bulk_command
from dagwright.cli.celery import celery_group
from dagwright.cli.check import check_command
from dagwright.cli.daemon import daemon_command, queue_command
from dagwright.cli.job import job_group
from dagwright.cli.k8s import k8s_group
from dagwright.cli.logs import logs_command
from dagwright.cli.port import port_command
from dagwright.cli.run import run_group
from dagwright.cli.schedule import schedule_group, sensor_group
from dagwright.cli.tag import tag_group
from dagwright.cli.view import view_group
from dagwright.cli.web import dev_command, ui_command
from dagwright.errors import DagwrightError, DagwrightInvalidQueryError
from dagwright.jsonvalue import is_valid_text, printable

#: Exit code for bad input (a usage error, a bad tag, an unknown run …).
EXIT_BAD_INPUT = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dagwright", prog_name="dagwright")
def cli() -> None:
    """dagwright: jobs with typed metadata, runs driven by tags.

    The instance lives in $DAGWRIGHT_HOME (default ./.dagwright).
    """


job_group.add_command(backfill_job)
cli.add_command(job_group)
run_group.add_command(logs_command)
run_group.add_command(bulk_command)
cli.add_command(run_group)
cli.add_command(view_group)
cli.add_command(tag_group)
cli.add_command(schedule_group)
cli.add_command(sensor_group)
cli.add_command(backfill_group)
cli.add_command(daemon_command)
cli.add_command(queue_command)
cli.add_command(ui_command)
cli.add_command(dev_command)
cli.add_command(k8s_group)
cli.add_command(port_command)
cli.add_command(celery_group)
cli.add_command(check_command)


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    click.echo(f"Error: {printable(' '.join(message.split()))}", err=True)
    sys.exit(code)


def _check_text(argv: Sequence[str]) -> None:
    """Refuse arguments that are not UTF-8 (Python hands their bytes over as lone
    surrogates, which no tag, id or database can hold)."""
    for arg in argv:
        if not is_valid_text(arg):
            _fail(f"argument {arg!r} is not valid UTF-8 text")


def _fail_query(exc: DagwrightInvalidQueryError) -> None:
    """The message line, then the query and a caret under the position (two more lines,
    indented, so the first line still says it all)."""
    query = exc.query.replace("\n", " ").replace("\t", " ")
    click.echo(f"Error: {exc}", err=True)
    click.echo(f"  {query}", err=True)
    click.echo(f"  {' ' * exc.position}^", err=True)
    sys.exit(EXIT_BAD_INPUT)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI; turn every error meant for the user into one line on stderr."""
    _check_text(sys.argv[1:] if argv is None else argv)
    try:
        code = cli.main(args=argv, prog_name="dagwright", standalone_mode=False)
    except click.exceptions.Abort:
        _fail("aborted", 1)
    except click.ClickException as exc:
        _fail(exc.format_message())
    except DagwrightInvalidQueryError as exc:
        _fail_query(exc)
    except DagwrightError as exc:
        _fail(str(exc))
    sys.exit(code if isinstance(code, int) else 0)
