"""``dagwright view list|save|delete`` and ``dagwright run bulk``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.cli.test_run import _execute

CliRunner = Callable[..., Any]


def test_views_are_saved_listed_and_deleted(cli: CliRunner) -> None:
    saved = cli("view", "save", "docs", "--where", "team:docs", "--columns", "team,env")
    assert saved.code == 0, saved.err
    assert "/runs?view=docs" in saved.out
    assert cli("view", "list", "--json").json() == {
        "views": [{"name": "docs", "q": "team:docs", "columns": ["team", "env"]}]
    }
    assert "team:docs" in cli("view", "list").out
    assert cli("view", "delete", "docs").code == 0
    assert cli("view", "list", "--json").json() == {"views": []}
    missing = cli("view", "delete", "docs")
    assert missing.code == 2 and "not found" in missing.err


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["view", "save", "a b", "--where", ""], "view name"),
        (["view", "save", "v", "--where", "team:("], "position 5"),
        (["view", "save", "v", "--where", "", "--columns", "bad key"], "bad key"),
    ],
)
def test_bad_views_exit_2(cli: CliRunner, args: list[str], said: str) -> None:
    outcome = cli(*args)
    assert outcome.code == 2 and said in outcome.err


def test_bulk_tags_after_a_dry_run_and_keeps_refusals(cli: CliRunner) -> None:
    docs = _execute(cli, "team=docs")
    ml = _execute(cli, "team=ml")
    outcome = cli("run", "bulk", "--where", "team:docs", "--tag", "reviewed=yes", "--yes")
    assert outcome.code == 0, outcome.err
    assert f"add_tags: 1 run(s) match\n  {docs}" in outcome.out
    assert "1 done, 0 refused of 1" in outcome.out
    tagged = cli("run", "list", "--json", "--where", "reviewed:yes").json()["runs"]
    assert [r["run_id"] for r in tagged] == [docs]

    # terminating finished runs: each refused, exit 1, reasons listed
    refused = cli("run", "bulk", "--where", "team:*", "--terminate", "--yes", "--json")
    assert refused.code == 1
    result = refused.json()
    assert (result["count"], result["done"], result["refused"]) == (2, 0, 2)
    assert {r["run_id"] for r in result["results"]} == {docs, ml}
    assert all("SUCCESS" in r["reason"] for r in result["results"])


def test_bulk_asks_before_acting(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    docs = _execute(cli, "team=docs")
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    outcome = cli("run", "bulk", "--where", "team:docs", "--delete")
    assert outcome.code == 1 and "aborted" in outcome.err
    assert "delete 1 run(s)?" in outcome.out
    assert [r["run_id"] for r in cli("run", "list", "--json").json()["runs"]] == [docs]
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    assert cli("run", "bulk", "--where", "team:docs", "--delete").code == 0
    assert cli("run", "list", "--json").json()["runs"] == []


@pytest.mark.parametrize(
    "args",
    [
        ["--where", "x:1"],
        ["--where", "x:1", "--terminate", "--delete"],
        ["--where", "x:1", "--from-failure", "--delete"],
        ["--where", "x:1", "--untag", "dagwright/partition"],
        ["--where", "x:(", "--delete"],
    ],
)
def test_bad_bulk_commands_exit_2(cli: CliRunner, args: list[str]) -> None:
    outcome = cli("run", "bulk", *args)
    assert outcome.code == 2, outcome.err
