"""``dagwright daemon``, ``dagwright daemon status`` and ``dagwright queue``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import click

from dagwright.cli.common import (
    CodeArgs,
    code_options,
    echo_json,
    format_tags,
    load_code,
    open_instance,
    print_table,
)
from dagwright.daemon.base import Daemon
from dagwright.daemon.health import CLAIMS_NOTE
from dagwright.definitions.container import Definitions

if TYPE_CHECKING:
    from dagwright.daemon.health import DaemonHealth
    from dagwright.instance import Instance


def _daemons(instance: Any, definitions: Definitions | None) -> list[Daemon]:
    from dagwright.daemon.backfills import BackfillDaemon
    from dagwright.daemon.run_monitor import RunMonitorDaemon
    from dagwright.daemon.run_queue import RunQueueDaemon
    from dagwright.daemon.run_retries import RunRetryDaemon
    from dagwright.daemon.schedules import ScheduleDaemon
    from dagwright.daemon.sensors import SensorDaemon
    from dagwright.daemon.tag_stats import TagStatsDaemon

    loops: list[Daemon] = []
    if instance.settings.run_queue is not None:
        loops.append(RunQueueDaemon(instance))
    if instance.settings.run_monitoring.enabled:
        loops.append(RunMonitorDaemon(instance))
    if instance.settings.run_retries.enabled:
        loops.append(RunRetryDaemon(instance, definitions=definitions))
    loops.append(BackfillDaemon(instance))
    if definitions is not None and definitions.schedules:
        loops.append(ScheduleDaemon(instance, definitions))
    if definitions is not None and definitions.sensors:
        loops.append(SensorDaemon(instance, definitions))
    loops.append(TagStatsDaemon(instance))
    return loops


@click.group("daemon", invoke_without_command=True)
@code_options
@click.option(
    "--log-level",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
)
@click.pass_context
def daemon_command(ctx: click.Context, code: CodeArgs, log_level: str) -> None:
    """Run the daemon loops of $DAGWRIGHT_HOME until SIGTERM or Ctrl-C: the run queue
    (when run_queue is configured), the run monitor, run retries, backfills, tag analytics
    (kept current for /tag-stats), and, with
    -f/-m/-w, the schedules and sensors of those code locations. With code given, only runs
    of its locations are retried (without, every failed run is, and no code is imported).
    One log line per decision.

    Several daemons may run on one home: each claim of a queued run is checked against
    the queue's limits in storage. `dagwright daemon status` shows their health."""
    if ctx.invoked_subcommand is not None:
        return
    from dagwright.daemon.controller import DaemonController

    definitions = load_code(code) if code.given else None
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with open_instance() as instance:
        DaemonController(instance, _daemons(instance, definitions)).run()


@daemon_command.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, as GET /api/v1/daemon does.")
def status_command(as_json: bool) -> None:
    """Show each daemon loop's last heartbeat: loop, daemon, host, pid, time (with its
    time zone), age and state (healthy: passed within 3 intervals; late; missing).
    Exits 0 when every expected loop is healthy, 1 otherwise."""
    with open_instance() as instance:
        health = instance.get_daemon_health()
    if as_json:
        echo_json(health.to_json())
    else:
        _print_health(health)
    click.get_current_context().exit(0 if health.healthy else 1)


def _print_health(health: DaemonHealth) -> None:
    from rich.table import Table

    from dagwright.daemon.health import iso_local

    table = Table("loop", "daemon", "host", "pid", "last heartbeat", "age", "state")
    for loop in health.loops:
        if not loop.beats:
            table.add_row(loop.name, "-", "-", "-", "never", "-", loop.state.value)
        for beat in loop.beats:
            state = beat.state.value + (" (stopped)" if beat.stopped else "")
            when = iso_local(beat.heartbeat_at)
            pid = str(beat.pid) if beat.pid is not None else "-"
            age = f"{beat.age:.1f} s"
            table.add_row(loop.name, beat.daemon_id, beat.host or "-", pid, when, age, state)
    print_table(table)
    click.echo(health.summary())
    if health.loop("run_queue") is not None:
        click.echo(f"queue claims: limit-checked; {CLAIMS_NOTE}")


def warn_no_queue_daemon(instance: Instance) -> None:
    """One line on stderr when no daemon runs the run queue: a queued run would wait."""
    if not instance.get_daemon_health().is_running("run_queue"):
        click.echo(
            "Warning: no daemon is running the run queue; the run waits until"
            " `dagwright daemon` starts",
            err=True,
        )


@click.command("queue")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, as the HTTP API does.")
def queue_command(as_json: bool) -> None:
    """Show the run queue: each queued run's position and exactly what holds it, and the
    use of every tag limit."""
    from dagwright.runs.queue import queue_to_json

    with open_instance() as instance:
        decision = instance.get_queue_state()
    if as_json:
        echo_json(queue_to_json(decision))
        return
    from rich.table import Table

    table = Table("#", "run id", "job", "priority", "next pass", "held by", "tags")
    for state in decision.runs:
        table.add_row(
            str(state.position),
            state.run.run_id,
            state.run.job_name,
            str(state.priority),
            "launch" if state.launch else "wait",
            "; ".join(state.blocked_by),
            format_tags(state.run.tags),
        )
    print_table(table)
    cap = decision.max_concurrent_runs
    click.echo(
        f"runs in progress: {decision.in_progress}"
        + (f" of {cap} (max concurrent runs)" if cap >= 0 else " (no cap)")
    )
    for limit in decision.limits:
        click.echo(f"limit {limit.describe()}")
