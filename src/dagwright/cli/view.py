"""``dagwright view list|save|delete``: saved views of the runs list."""

from __future__ import annotations

import click

from dagwright.cli.common import echo_json, open_instance, print_table
from dagwright.runs.columns import parse_columns


@click.group("view")
def view_group() -> None:
    """Saved views of the runs list (a name, a query, columns): /runs?view=NAME."""


@view_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, as the HTTP API does.")
def list_views(as_json: bool) -> None:
    """List the saved views."""
    with open_instance() as instance:
        views = instance.get_views()
    if as_json:
        echo_json({"views": [view.to_json() for view in views]})
        return
    from rich.table import Table

    table = Table("name", "query", "columns")
    for view in views:
        table.add_row(view.name, view.q, ",".join(view.columns) or "(default)")
    print_table(table)


@view_group.command("save")
@click.argument("name")
@click.option("--where", "where", required=True, metavar="QUERY", help="The run query.")
@click.option(
    "--columns",
    "columns_text",
    default="",
    metavar="KEYS",
    help="Tag keys shown as columns, comma-separated (default: partition, launched_by).",
)
def save_view(name: str, where: str, columns_text: str) -> None:
    """Save (or replace) the view NAME."""
    columns = parse_columns(columns_text) if columns_text.strip() else ()
    with open_instance() as instance:
        view = instance.save_view(name, where, columns)
    click.echo(f"saved view {view.name!r}: /runs?view={view.name}")


@view_group.command("delete")
@click.argument("name")
def delete_view(name: str) -> None:
    """Delete the view NAME."""
    with open_instance() as instance:
        instance.delete_view(name)
    click.echo(f"deleted view {name!r}")
