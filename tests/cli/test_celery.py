"""``dagwright celery worker``: bad input exits 2 with one line (the worker itself runs
in tests/celery/test_executor.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.cli.conftest import CliRunner


def test_help_names_the_options(cli: CliRunner) -> None:
    outcome = cli("celery", "worker", "--help")
    assert outcome.code == 0
    for option in ("-q, --queues", "-c, --concurrency", "-f, --file", "-m, --module", "-n"):
        assert option in outcome.out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["-q", "a,,b"], "expected QUEUE[,QUEUE...]"),
        (["-q", " "], "expected QUEUE[,QUEUE...]"),
        (["-c", "0"], "-c"),
        (["-f", "x.py", "-m", "y"], "code file 'x.py' not found"),
        (["-w", "missing.yaml"], "workspace file not found"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(cli: CliRunner, args: list[str], words: str) -> None:
    outcome = cli("celery", "worker", *args)
    assert outcome.code == 2
    assert words in outcome.err and len(outcome.err.strip().splitlines()) == 1


def test_a_bad_celery_setting_exits_2_naming_the_key(cli: CliRunner, home: Path) -> None:
    home.mkdir()
    (home / "dagwright.yaml").write_text("celery: {default_priority: soon}\n")
    outcome = cli("celery", "worker", "-q", "a")
    assert outcome.code == 2
    assert "celery.default_priority" in outcome.err and "dagwright.yaml" in outcome.err
