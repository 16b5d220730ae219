"""``dagwright schedule list|start|stop|tick`` and ``dagwright sensor list|start|stop|tick``."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TypeVar

import click

from dagwright.cli.common import (
    CodeArgs,
    code_options,
    echo_json,
    format_time,
    load_code,
    open_instance,
)
from dagwright.definitions.container import Definitions
from dagwright.definitions.cron import parse_instant
from dagwright.definitions.schedule import ScheduleDefinition
from dagwright.definitions.sensor import SensorDefinition
from dagwright.definitions.workspace import job_reference
from dagwright.instance import Instance
from dagwright.runs.ticks import (
    RECENT_TICKS,
    InstigatorKind,
    InstigatorStatus,
    Tick,
    TickStatus,
)

#: Tick statuses shown per schedule or sensor in ``list``'s table (``--json`` has them all).
SHOWN_TICKS = 5

Instigator = ScheduleDefinition | SensorDefinition
F = TypeVar("F", bound=Callable[..., None])


def _list(kind: InstigatorKind, definitions: Definitions, as_json: bool) -> None:
    with open_instance() as instance:
        rows = instance.get_instigators(definitions, kind, ticks=RECENT_TICKS)
    if as_json:
        now = time.time()
        echo_json({f"{kind.value}s": [row.to_json(now) for row in rows]})
        return
    from rich.table import Table

    from dagwright.cli.common import print_table

    when = "cron" if kind is InstigatorKind.SCHEDULE else "every"
    table = Table(kind.value, "status", "job", when, "last tick", "recent ticks (newest first)")
    for row in rows:
        d, ticks = row.definition, row.ticks
        timing = (
            f"{d.cron_schedule} ({d.execution_timezone})"
            if isinstance(d, ScheduleDefinition)
            else f"{d.minimum_interval_seconds:g} s"
        )
        last = f"{format_time(ticks[0].timestamp)} {ticks[0].describe()}" if ticks else "-"
        table.add_row(
            d.name,
            row.state.status.value,
            job_reference(d.job),
            timing,
            last,
            " ".join(t.status.value for t in ticks[:SHOWN_TICKS]),
        )
    print_table(table)


def _set_status(kind: InstigatorKind, definitions: Definitions, name: str, running: bool) -> None:
    # checked before the instance is opened: an unknown name leaves a fresh home uncreated
    definitions.get_instigator(kind, name)
    status = InstigatorStatus.RUNNING if running else InstigatorStatus.STOPPED
    with open_instance() as instance:
        state = instance.set_instigator_status(name, kind, status)
    click.echo(f"{kind.value} {name} {state.status.value}")


def parse_at(text: str | None, defined: ScheduleDefinition) -> datetime:
    """The tick ``schedule tick --at`` evaluates: the schedule's latest cron time at or
    before the instant ``text`` (see :func:`~dagwright.definitions.cron.parse_instant`; no
    offset: wall-clock time in the schedule's time zone), or before now without it. That
    is the tick the daemon would evaluate at that instant, so two instants between the
    same cron times are one tick (and one set of runs)."""
    when = datetime.now(timezone.utc)
    if text is not None:
        try:
            when = parse_instant(text, defined.cron.tz)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--at") from None
    return defined.cron.latest_at(when)


def _tick(
    kind: InstigatorKind, definitions: Definitions, name: str, at: str | None, as_json: bool
) -> None:
    evaluate = _evaluator(definitions.get_instigator(kind, name), at)
    with open_instance() as instance:
        tick = evaluate(instance)
    if as_json:
        echo_json(tick.to_json())
    else:
        click.echo(
            f"{kind.value} {name} tick {tick.tick_id} {tick.status.value}: {tick.describe()}"
        )
        if tick.error is not None and tick.error.traceback:
            click.echo(tick.error.traceback.rstrip(), err=True)
    click.get_current_context().exit(1 if tick.status is TickStatus.FAILURE else 0)


def _evaluator(defined: Instigator, at: str | None) -> Callable[[Instance], Tick]:
    """How to tick ``defined``; ``--at`` is read here, before an instance is opened (bad
    input stores nothing)."""
    if isinstance(defined, ScheduleDefinition):
        from dagwright.daemon.schedules import tick_schedule

        schedule, when = defined, parse_at(at, defined)
        return lambda instance: tick_schedule(instance, schedule, when)
    from dagwright.daemon.sensors import tick_sensor

    sensor = defined
    return lambda instance: tick_sensor(instance, sensor, time.time())


def _at_option(kind: InstigatorKind) -> Callable[[F], F]:
    """``--at`` of ``schedule tick``; a sensor is evaluated now and takes none."""
    if kind is InstigatorKind.SENSOR:
        return lambda command: command
    return click.option(
        "--at", help="Evaluate the latest cron time at or before this ISO 8601 time."
    )


def _group(kind: InstigatorKind) -> click.Group:
    word = kind.value

    @click.group(word, help=f"List, start, stop and tick {word}s of a code file or module.")
    def group() -> None:
        pass

    @group.command("list", help=f"Each {word}'s status, job, timing and recent ticks.")
    @code_options
    @click.option("--json", "as_json", is_flag=True, help="Print JSON, as the HTTP API does.")
    def list_command(code: CodeArgs, as_json: bool) -> None:
        _list(kind, load_code(code), as_json)

    @group.command("start", help=f"Start a {word} (the daemon evaluates it; persisted).")
    @code_options
    @click.argument("name")
    def start_command(code: CodeArgs, name: str) -> None:
        _set_status(kind, load_code(code), name, running=True)

    @group.command("stop", help=f"Stop a {word} (persisted).")
    @code_options
    @click.argument("name")
    def stop_command(code: CodeArgs, name: str) -> None:
        _set_status(kind, load_code(code), name, running=False)

    help_at = (
        ""
        if kind is InstigatorKind.SENSOR
        else (
            " The tick is the latest cron time at or before --at ISO-8601 (no offset: the"
            " schedule's time zone; default: now), the one the daemon would evaluate then."
        )
    )

    @group.command(
        "tick",
        help=f"Evaluate a {word} once and submit its runs as the daemon would; "
        f"exits 1 if the tick fails.{help_at}",
    )
    @code_options
    @click.argument("name")
    @_at_option(kind)
    @click.option("--json", "as_json", is_flag=True, help="Print the tick as JSON.")
    def tick_command(
        code: CodeArgs,
        name: str,
        as_json: bool,
        at: str | None = None,
    ) -> None:
        _tick(kind, load_code(code), name, at, as_json)

    return group


schedule_group = _group(InstigatorKind.SCHEDULE)
sensor_group = _group(InstigatorKind.SENSOR)
