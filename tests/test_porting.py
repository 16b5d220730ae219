"""Tests for dagwright.porting: what ``dagwright port`` rewrites in a Dagster file, what it
leaves alone (comments, prose in strings), and what it reports as notes."""

from __future__ import annotations

import pytest

from dagwright import DagwrightCodeLoadError
from dagwright.porting import RENAMES, port_source

#: (Dagster source, ported source): one line each, table-driven.
REWRITES = [
    ("from dagster import op, job\n", "from dagwright import op, job\n"),
    ("from  dagster import (\n    op,\n)\n", "from  dagwright import (\n    op,\n)\n"),
    ("import dagster\nx = dagster.op\n", "import dagwright\nx = dagwright.op\n"),
    ("import dagster as dg\nx = dg.op\n", "import dagwright as dg\nx = dg.op\n"),
    ("import os, dagster\n", "import os, dagwright\n"),
    (
        "from dagster import DagsterInstance\ni = DagsterInstance.get()\n",
        "from dagwright import Instance\ni = Instance.get()\n",
    ),
    (
        "from dagster import DagsterRunStatus as S\ns = S.SUCCESS\n",
        "from dagwright import RunStatus as S\ns = S.SUCCESS\n",
    ),
    (
        "import dagster\ns = dagster.DagsterRunStatus.FAILURE\n",
        "import dagwright\ns = dagwright.RunStatus.FAILURE\n",
    ),
    (
        "import dagster as dg\ns = dg.DagsterInstance.ephemeral()\n",
        "import dagwright as dg\ns = dg.Instance.ephemeral()\n",
    ),
    (
        "from dagster import In\nx = In(dagster_type=int)\n",
        "from dagwright import In\nx = In(type=int)\n",
    ),
    ('t = {"dagster/priority": "5"}\n', 't = {"dagwright/priority": "5"}\n'),
    ("t = {'dagster/max_runtime': 60}\n", "t = {'dagwright/max_runtime': 60}\n"),
    ('t = {r"dagster-celery/queue": "q"}\n', 't = {r"dagwright-celery/queue": "q"}\n'),
    ('t = """dagster-k8s/config"""\n', 't = """dagwright-k8s/config"""\n'),
    ('key = "dagster/retry_strategy"\n', 'key = "dagwright/retry_strategy"\n'),
    ('x = "é"; t = {"dagster/priority": "5"}\n', 'x = "é"; t = {"dagwright/priority": "5"}\n'),
    (
        'x = "a\u2028b\x0cc"\nfrom dagster import op\n',
        'x = "a\u2028b\x0cc"\nfrom dagwright import op\n',
    ),
    (
        "from dagster import DagsterError\ntry:\n    pass\nexcept DagsterError:\n    pass\n",
        "from dagwright import DagwrightError\ntry:\n    pass\nexcept DagwrightError:\n    pass\n",
    ),
    (
        "def use():\n    return DagsterInstance.get()\nfrom dagster import DagsterInstance\n",
        "def use():\n    return Instance.get()\nfrom dagwright import Instance\n",
    ),
]


@pytest.mark.parametrize(("source", "ported"), REWRITES)
def test_rewrites(source: str, ported: str) -> None:
    result = port_source(source)
    assert result.ported == ported
    assert result.notes == ()
    assert port_source(ported).ported == ported  # porting twice changes nothing more


UNCHANGED = [
    "# from dagster import op; dagster/priority\nx = 1\n",
    'doc = "set dagster/priority to go first"\n',
    'x = "the dagster way"\n',
    'x = f"dagster/priority"\n',
    'x = b"dagster/priority"\n',
    "from dagwright import op\n",
    "import dagsterish\n",
    "from mypkg.dagster import thing\n",
    'x = {"dagwright/priority": "1", "dagster": "name", "team/dagster": "x"}\n',
    "DagsterInstance = 1\n",  # not imported from dagster: someone else's name
]


@pytest.mark.parametrize("source", UNCHANGED)
def test_comments_prose_and_other_names_are_left_alone(source: str) -> None:
    result = port_source(source)
    assert result.ported == source
    assert not result.changed and result.diff("f.py") == ""
    assert result.notes == ()


#: (source, line, note) for what the port reports and leaves to the user.
NOTES = [
    ("from dagster import asset\n", 1, "dagwright has no 'asset'"),
    ("from dagster import op, RunConfig\n", 1, "dagwright has no 'RunConfig'"),
    ("import dagster\nx = dagster.asset\n", 2, "dagwright has no 'asset'"),
    ("from dagster_celery import celery_executor\n", 1, "no module like 'dagster_celery'"),
    ("from dagster._core.x import y\n", 1, "no module like 'dagster._core.x'"),
    ("import dagster.utils\n", 1, "no module like 'dagster.utils'"),
    (
        "from dagster import op\n@op(required_resource_keys={'db'})\ndef a(): ...\n",
        2,
        "op() has no argument 'required_resource_keys' in dagwright",
    ),
    (
        "from dagster import Out\no = Out(int, is_required=False)\n",
        2,
        "Out() has no argument 'is_required' in dagwright",
    ),
    (
        "import dagster\nd = dagster.Definitions(assets=[])\n",
        2,
        "Definitions() has no argument 'assets' in dagwright",
    ),
    ("j = g.to_job(resource_defs={})\n", 1, "to_job() has no argument 'resource_defs'"),
    ("r = j.execute_in_process(resources={})\n", 1, "execute_in_process() has no argument"),
    ('t = {"dagster/concurrency_key": "db"}\n', 1, "tag 'dagster/concurrency_key' has no"),
    ('t = {"dagster-dbt/select": "x"}\n', 1, "tag 'dagster-dbt/select' has no dagwright"),
]


@pytest.mark.parametrize(("source", "line", "note"), NOTES)
def test_what_cannot_be_ported_is_a_note_with_its_line(source: str, line: int, note: str) -> None:
    notes = port_source(source).notes
    assert [n.line for n in notes] == [line]
    assert note in notes[0].message


def test_arguments_dagwright_has_are_not_noted() -> None:
    source = (
        "from dagster import op, job, Field, Out, In\n"
        "@op(name='a', config_schema={'n': Field(int, default_value=1, description='d')},\n"
        "    out={'x': Out(int, description='d')}, ins={'y': In(int)}, tags={'k': 'v'})\n"
        "def a(context, y): ...\n"
        "@job(name='j', description='d', metadata={}, tags={}, config={})\n"
        "def j(): a()\n"
    )
    assert port_source(source).notes == ()


def test_every_rename_names_a_public_dagwright_name() -> None:
    import dagwright

    assert set(RENAMES.values()) <= set(dagwright.__all__)


def test_the_diff_is_unified() -> None:
    diff = port_source("from dagster import op\n").diff("jobs.py")
    assert diff.splitlines() == [
        "--- jobs.py",
        "+++ jobs.py",
        "@@ -1 +1 @@",
        "-from dagster import op",
        "+from dagwright import op",
    ]


def test_line_endings_are_kept() -> None:
    assert port_source("from dagster import op\r\nx = 1\r\n").ported == (
        "from dagwright import op\r\nx = 1\r\n"
    )


def test_invalid_python_is_a_code_load_error() -> None:
    with pytest.raises(DagwrightCodeLoadError, match=r"jobs\.py is not valid Python"):
        port_source("def (:\n", "jobs.py")
