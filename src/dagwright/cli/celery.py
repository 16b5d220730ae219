"""``dagwright celery worker``."""

from __future__ import annotations

import click

from dagwright.cli.common import CodeArgs, code_options


@click.group("celery")
def celery_group() -> None:
    """Distributed steps on Celery (pip install 'dagwright[celery]')."""


@celery_group.command("worker")
@code_options
@click.option(
    "-q",
    "--queues",
    "queues",
    help="Queues to consume, comma-separated (default: celery.default_queue).",
)
@click.option(
    "-c",
    "--concurrency",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Steps executed at once (Celery pool processes).",
)
@click.option(
    "-n",
    "--hostname",
    "name",
    default="dagwright@%h",
    show_default=True,
    help="The worker's name, recorded in each step's events (%h: the host name).",
)
@click.option(
    "--loglevel",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
)
def worker_command(
    code: CodeArgs,
    queues: str | None,
    concurrency: int,
    name: str,
    loglevel: str,
) -> None:
    """Start a Celery worker that executes the steps of Celery runs sent to QUEUES.

    Run it on any host that has the code and a dagwright.yaml pointing at the shared
    store and broker ($DAGWRIGHT_HOME; DAGWRIGHT_CELERY_BROKER_URL overrides the broker).
    With -f/-m (each repeatable) or -w workspace.yaml the worker executes steps of those
    code locations, loaded once; without, it loads each run's code pointer (once per
    process). Stop it with SIGTERM (warm shutdown).
    """
    from dagwright.celery.worker import WorkerOptions, parse_queues, start_worker
    from dagwright.settings import home_from_env

    options = WorkerOptions(
        home_from_env(),
        parse_queues(queues) if queues is not None else (),
        concurrency,
        loglevel.lower(),
        name,
        tuple(code.origins()),
    )
    try:
        start_worker(options)
    except ImportError as exc:  # pragma: no cover - the extra is not installed
        raise click.ClickException(f"install 'dagwright[celery]' to run a worker: {exc}") from exc
