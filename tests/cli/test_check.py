"""``dagwright check``: job files against the home's policies; exit codes 0 / 1 / 2."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

CliRunner = Callable[..., Any]

POLICIES = """
tag_policies:
  - {key: team, required: true, values: [docs, ml, finance], description: "owning team"}
  - {key: ticket, pattern: "^[A-Z]+-[0-9]+$"}
  - {key: cost_center, required: true, jobs: ["finance_*"]}
metadata_policies:
  - {key: owner, required: true}
"""

GOOD = """
from dagwright import job, op

@op
def one() -> int:
    return 1

@job(tags={"team": "docs", "ticket": "DOC-1"}, metadata={"owner": "ana"})
def docs_build() -> None:
    one()

@job(tags={"team": "finance", "cost_center": "42"}, metadata={"owner": "bo"})
def finance_close() -> None:
    one()
"""

BAD = """
from dagwright import job, op

@op
def one() -> int:
    return 1

@job(tags={"team": "sales", "ticket": "nope"})
def sales_report() -> None:
    one()

@job(tags={"team": "finance"}, metadata={"owner": "bo"})
def finance_close() -> None:
    one()
"""

AT_LAUNCH = """
from dagwright import job, op

@op
def one() -> int:
    return 1

@job(metadata={"owner": "ana"})
def adhoc() -> None:
    one()
"""


@pytest.fixture
def policies(home: Path) -> Path:
    home.mkdir()
    (home / "dagwright.yaml").write_text(POLICIES)
    return home


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_a_clean_file_exits_0(cli: CliRunner, policies: Path, tmp_path: Path) -> None:
    outcome = cli("check", "-f", write(tmp_path, "good.py", GOOD))
    assert outcome.code == 0, outcome.err
    assert outcome.out == ""
    assert "checked 2 job(s): no violations" in outcome.err


def test_every_violation_is_listed_and_exits_1(
    cli: CliRunner, policies: Path, tmp_path: Path
) -> None:
    outcome = cli("check", "-f", write(tmp_path, "bad.py", BAD))
    assert outcome.code == 1
    lines = outcome.out.splitlines()
    assert len(lines) == 4, lines
    assert lines[0].startswith("sales_report: error: tag 'team': value 'sales' is not allowed")
    assert lines[1].startswith("sales_report: error: tag 'ticket': value 'nope' does not match")
    assert lines[2] == "sales_report: error: metadata 'owner': required by metadata policy " + (
        "'owner' for job 'sales_report'"
    )
    assert lines[3] == (
        "finance_close: note: tag 'cost_center': required at launch (tag policy 'cost_center')"
    )
    assert "3 violation(s)" in outcome.err


def test_required_at_launch_fails_only_with_strict(
    cli: CliRunner, policies: Path, tmp_path: Path
) -> None:
    path = write(tmp_path, "adhoc.py", AT_LAUNCH)
    lenient = cli("check", "-f", path)
    assert lenient.code == 0
    assert lenient.out == "adhoc: note: tag 'team': required at launch (tag policy 'team')\n"
    strict = cli("check", "-f", path, "--strict")
    assert strict.code == 1
    assert strict.out == "adhoc: error: tag 'team': required at launch (tag policy 'team')\n"


def test_a_module_is_checked_too(cli: CliRunner, policies: Path) -> None:
    outcome = cli("check", "-m", "tests.jobs.quick")
    assert outcome.code == 1
    assert "quick: error: metadata 'owner'" in outcome.out


def test_without_policies_everything_is_clean(cli: CliRunner, tmp_path: Path) -> None:
    assert cli("check", "-f", write(tmp_path, "bad.py", BAD)).code == 0


@pytest.mark.parametrize(
    ("setup", "args", "words"),
    [
        ("", ("check",), "-f FILE"),
        ("", ("check", "-f", "missing.py"), "missing.py"),
        ("tag_policies: [{key: 'a b'}]", ("check", "-m", "tests.jobs.quick"), "tag_policies.0.key"),
    ],
)
def test_bad_input_exits_2(
    cli: CliRunner, home: Path, setup: str, args: tuple[str, ...], words: str
) -> None:
    home.mkdir()
    (home / "dagwright.yaml").write_text(setup)
    outcome = cli(*args)
    assert outcome.code == 2 and outcome.out == ""
    assert words in outcome.err and len(outcome.err.splitlines()) == 1
