"""``dagwright port FILE... [--write]``: rewrite Dagster job files for dagwright."""

from __future__ import annotations

import click

from dagwright.porting import PortResult, port_file

#: Exit code when a file needs porting and ``--write`` was not given (as ``ruff format --check``).
EXIT_NEEDS_PORTING = 1


@click.command("port")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--write", is_flag=True, help="Rewrite the files instead of printing a diff.")
def port_command(files: tuple[str, ...], write: bool) -> None:
    """Port Dagster job files: imports, renamed names, dagster/ tag keys.

    Prints a unified diff of each file (or, with --write, rewrites it) and, on stderr,
    FILE:LINE notes for what it cannot port (names and arguments dagwright lacks, tags with
    no dagwright equivalent). Exits 0 when nothing needs porting or the files were
    written, 1 when a file needs porting (a diff or a note) and --write was not given, 2
    on bad input (a missing file, not Python), before anything is written.
    """
    results = [(path, port_file(path)) for path in files]  # all read before any write
    pending = False
    for path, result in results:
        for note in result.notes:
            click.echo(f"{path}:{note.line}: {note.message}", err=True)
        if write:
            _write(path, result)
        else:
            click.echo(result.diff(path), nl=False)
            pending = pending or result.changed or bool(result.notes)
    click.get_current_context().exit(EXIT_NEEDS_PORTING if pending else 0)


def _write(path: str, result: PortResult) -> None:
    if not result.changed:
        return
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(result.ported)
    click.echo(f"ported {path}")
