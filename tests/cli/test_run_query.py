"""``dagwright run list --where QUERY`` and its errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.cli.test_run import _execute

CliRunner = Callable[..., Any]


def test_run_list_where(cli: CliRunner) -> None:
    docs = _execute(cli, "team=docs", "env=prod")
    ml = _execute(cli, "team=ml", "env=prod")
    dev = _execute(cli, "team=ml", "env=dev")

    def ids(where: str, *args: str) -> list[str]:
        outcome = cli("run", "list", "--json", "--where", where, *args)
        assert outcome.code == 0, outcome.err
        return [r["run_id"] for r in outcome.json()["runs"]]

    assert ids("team:docs") == [docs]
    assert ids("team:ml -env:prod") == [dev]
    assert ids("team:docs OR env:dev") == [dev, docs]
    assert ids("env:prod", "--tag", "team=ml") == [ml]
    assert ids("status:SUCCESS team:m*") == [dev, ml]
    assert ids("") == [dev, ml, docs]


def test_a_bad_query_exits_2_with_a_caret_under_the_position(cli: CliRunner) -> None:
    outcome = cli("run", "list", "--where", "team:docs OR")
    assert outcome.code == 2
    lines = outcome.err.splitlines()
    assert lines == [
        "Error: invalid query at position 12: expected a term, found the end of the query",
        "  team:docs OR",
        "  " + " " * 12 + "^",
    ]
    assert outcome.out == ""


def test_run_list_columns_and_sort(cli: CliRunner) -> None:
    b = _execute(cli, "team=b")
    a = _execute(cli, "team=a")
    none = _execute(cli)

    def ids(*args: str) -> list[str]:
        outcome = cli("run", "list", "--json", *args)
        assert outcome.code == 0, outcome.err
        return [r["run_id"] for r in outcome.json()["runs"]]

    assert ids("--sort", "team") == [a, b, none]
    assert ids("--sort", "-team") == [b, a, none]
    assert ids("--sort", "created") == [b, a, none]
    assert ids("--sort", "team", "--limit", "1", "--offset", "1") == [b]
    table = cli("run", "list", "--columns", "team,launched_by", "--sort", "team", "--limit", "2")
    assert table.code == 0, table.err
    header = table.out.splitlines()[1]
    assert "team" in header and "launched by" in header
    assert "more: --offset 2" in table.out
    default = cli("run", "list").out.splitlines()[1]
    assert "partition" in default and "launched by" in default
    bad = cli("run", "list", "--columns", "bad key")
    assert bad.code == 2 and "bad key" in bad.err
