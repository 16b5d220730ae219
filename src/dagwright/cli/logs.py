"""``dagwright run logs RUN [--step S] [--stderr] [--follow]``: the stdout or stderr of a
run's steps."""

from __future__ import annotations

from collections.abc import Iterable

import click

from dagwright.cli.common import echo_json, open_instance
from dagwright.execution.logs import LogChunk


@click.command("logs")
@click.argument("run_id")
@click.option("--step", "step_key", help="Only this step's output (printed as it is).")
@click.option("--stderr", "use_stderr", is_flag=True, help="Show stderr instead of stdout.")
@click.option("--follow", is_flag=True, help="Print new output as it comes until the run ends.")
@click.option("--json", "as_json", is_flag=True, help="Print the chunks as JSON (no --follow).")
def logs_command(
    run_id: str, step_key: str | None, use_stderr: bool, follow: bool, as_json: bool
) -> None:
    """Show what a run's steps wrote to stdout (or --stderr).

    Without --step each line is prefixed with its step key. With --follow, waits for new
    output until the run has ended (exit 0).
    """
    from dagwright.execution.logs import follow_step_logs

    stream = "stderr" if use_stderr else "stdout"
    with open_instance() as instance:
        if as_json:
            listed = instance.get_step_logs(run_id, step_key, stream)
            echo_json({"chunks": [chunk.to_json() for chunk in listed]})
            return
        if follow:
            chunks: Iterable[LogChunk] = follow_step_logs(
                instance, run_id, step_key=step_key, stream=stream
            )
        else:
            chunks = instance.get_step_logs(run_id, step_key, stream)
        _print_chunks(chunks, prefixed=step_key is None)


def _print_chunks(chunks: Iterable[LogChunk], prefixed: bool) -> None:
    """Print chunks as they come; with ``prefixed``, each line as ``step | line``."""
    partial: dict[str, str] = {}  # the unfinished last line of each step
    for chunk in chunks:
        if not prefixed:
            click.echo(chunk.text, nl=False)
            continue
        lines = (partial.pop(chunk.step_key, "") + chunk.text).split("\n")
        if lines[-1]:
            partial[chunk.step_key] = lines[-1]
        for line in lines[:-1]:
            click.echo(f"{chunk.step_key} | {line}")
    for step, rest in partial.items():
        click.echo(f"{step} | {rest}")
