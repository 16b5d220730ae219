"""Tests for dagwright.definitions.loader: code files, modules, code pointers and back."""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.jobs import simple

from dagwright import (
    CodePointer,
    DagwrightCodeLoadError,
    DagwrightDefinitionError,
    DagwrightError,
    DagwrightInvalidTagError,
    Definitions,
    JobDefinition,
)
from dagwright.definitions.job import DefinedIn
from dagwright.definitions.loader import (
    FILE_MODULE_PREFIX,
    code_pointer_for,
    load_definitions,
    load_job,
)

#: Prefix of the throwaway modules these tests write and import by name.
TMP_MODULE_PREFIX = "dw_loader_case_"

OPS = """
from dagwright import Definitions, graph, job, op

@op
def emit():
    return 1

@op
def double(x):
    return 2 * x
"""

WITH_DEFINITIONS = (
    OPS
    + """
@job
def first():
    double(emit())

@job
def second():
    emit()

@job
def not_exposed():
    emit()

defs = Definitions(jobs=[first, second])
"""
)

TOP_LEVEL_JOBS = (
    OPS
    + """
@job
def decorated():
    double(emit())

@graph
def pipeline():
    emit()

from_graph = pipeline.to_job(name="from_graph")
"""
)

TWO_DEFINITIONS = (
    WITH_DEFINITIONS
    + """
more = Definitions(jobs=[not_exposed])
"""
)

NO_JOBS = (
    OPS
    + """
VALUE = 1
"""
)

RAISES = """
VALUE = 1 / 0
"""

SYNTAX_ERROR = """
def broken(:
    pass
"""

BAD_TAGS = (
    OPS
    + """
@job(tags={"dagwright/partition": "x"})
def tagged():
    emit()
"""
)

IMPORTS_SIBLING = """
from sibling_helpers_for_loader import helper_job
"""

SIBLING = (
    OPS
    + """
@job
def helper_job():
    emit()
"""
)


@pytest.fixture(autouse=True)
def _isolated_imports(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Undo what loading does to ``sys.path`` and forget the modules the tests wrote."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith((FILE_MODULE_PREFIX, TMP_MODULE_PREFIX, "sibling_helpers")):
            del sys.modules[name]


def _write(directory: Path, name: str, source: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(source))
    return path


# -- code files -------------------------------------------------------------------------


def test_a_file_exposing_definitions(tmp_path: Path) -> None:
    path = _write(tmp_path, "repo.py", WITH_DEFINITIONS)
    defs = load_definitions(python_file=str(path))
    assert isinstance(defs, Definitions)
    assert list(defs.jobs) == ["first", "second"]
    assert defs.get_job("first").op_names == ["emit", "double"]


def test_a_file_with_only_top_level_jobs(tmp_path: Path) -> None:
    path = _write(tmp_path, "repo.py", TOP_LEVEL_JOBS)
    defs = load_definitions(python_file=str(path))
    assert sorted(defs.jobs) == ["decorated", "from_graph"]


def test_top_level_schedules_and_sensors_are_loaded_without_definitions(tmp_path: Path) -> None:
    source = (
        "from dagwright import op, job, ScheduleDefinition, sensor, RunRequest\n"
        "@op\ndef a():\n    return 1\n"
        "@job\ndef only():\n    a()\n"
        "nightly = ScheduleDefinition(name='nightly', cron_schedule='0 3 * * *', job=only)\n"
        "@sensor(job=only)\ndef watch(context):\n    yield RunRequest(run_key='k')\n"
    )
    defs = load_definitions(python_file=str(_write(tmp_path, "auto.py", source)))
    assert list(defs.jobs) == ["only"]
    assert defs.get_schedule("nightly").job is defs.get_job("only")
    assert defs.get_sensor("watch").name == "watch"


def test_a_file_is_loaded_once(tmp_path: Path) -> None:
    path = _write(tmp_path, "repo.py", WITH_DEFINITIONS)
    first = load_definitions(python_file=str(path))
    second = load_definitions(python_file=str(path))
    assert first is second
    loaded = [name for name in sys.modules if name.startswith(FILE_MODULE_PREFIX + ".repo_")]
    assert len(loaded) == 1


def test_files_with_one_name_in_two_folders_are_distinct(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = load_definitions(python_file=str(_write(tmp_path / "a", "repo.py", WITH_DEFINITIONS)))
    two = load_definitions(python_file=str(_write(tmp_path / "b", "repo.py", TOP_LEVEL_JOBS)))
    assert list(one.jobs) == ["first", "second"]
    assert sorted(two.jobs) == ["decorated", "from_graph"]


def test_a_file_can_import_its_siblings(tmp_path: Path) -> None:
    _write(tmp_path, "sibling_helpers_for_loader.py", SIBLING)
    path = _write(tmp_path, "repo.py", IMPORTS_SIBLING)
    assert list(load_definitions(python_file=str(path)).jobs) == ["helper_job"]


def test_a_relative_path_is_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, "repo.py", WITH_DEFINITIONS)
    monkeypatch.chdir(tmp_path)
    defs = load_definitions(python_file="repo.py")
    pointer = code_pointer_for(defs.get_job("first"))
    assert pointer is not None
    assert pointer.python_file == str((tmp_path / "repo.py").resolve())


@pytest.mark.parametrize(
    ("source", "fragments"),
    [
        (TWO_DEFINITIONS, ["code file", "repo.py", "2 Definitions"]),
        (NO_JOBS, ["code file", "repo.py", "no Definitions and no job"]),
        (RAISES, ["error loading", "repo.py", "ZeroDivisionError", "division by zero"]),
        (SYNTAX_ERROR, ["error loading", "repo.py", "SyntaxError"]),
    ],
)
def test_bad_code_files(tmp_path: Path, source: str, fragments: list[str]) -> None:
    path = _write(tmp_path, "repo.py", source)
    with pytest.raises(DagwrightCodeLoadError) as info:
        load_definitions(python_file=str(path))
    for fragment in fragments:
        assert fragment in str(info.value)


def test_a_file_that_fails_is_not_cached(tmp_path: Path) -> None:
    path = _write(tmp_path, "repo.py", RAISES)
    with pytest.raises(DagwrightCodeLoadError):
        load_definitions(python_file=str(path))
    assert not [name for name in sys.modules if name.startswith(FILE_MODULE_PREFIX + ".repo_")]
    with pytest.raises(DagwrightCodeLoadError, match="ZeroDivisionError"):
        load_definitions(python_file=str(path))


def test_a_definition_error_in_a_file_is_raised_as_is(tmp_path: Path) -> None:
    path = _write(tmp_path, "repo.py", BAD_TAGS)
    with pytest.raises(DagwrightInvalidTagError) as info:
        load_definitions(python_file=str(path))
    assert info.value.key == "dagwright/partition"


@pytest.mark.parametrize("name", ["missing.py", "folder/missing.py"])
def test_a_missing_file(tmp_path: Path, name: str) -> None:
    with pytest.raises(DagwrightCodeLoadError, match="not found") as info:
        load_definitions(python_file=str(tmp_path / name))
    assert name in str(info.value)


def test_a_directory_is_not_a_code_file(tmp_path: Path) -> None:
    with pytest.raises(DagwrightCodeLoadError, match="not found"):
        load_definitions(python_file=str(tmp_path))


@pytest.mark.parametrize(
    ("python_file", "module"), [(None, None), ("repo.py", "tests.jobs.simple")]
)
def test_exactly_one_of_file_and_module(python_file: str | None, module: str | None) -> None:
    with pytest.raises(DagwrightCodeLoadError, match="exactly one"):
        load_definitions(python_file=python_file, module=module)


# -- modules ----------------------------------------------------------------------------


def test_a_module_with_top_level_jobs() -> None:
    defs = load_definitions(module="tests.jobs.simple")
    assert sorted(defs.jobs) == ["by_region", "chain", "diamond", "loader", "optional"]
    assert defs.get_job("chain") is simple.chain


def test_a_module_exposing_definitions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    _write(tmp_path, f"{TMP_MODULE_PREFIX}defs.py", WITH_DEFINITIONS)
    defs = load_definitions(module=f"{TMP_MODULE_PREFIX}defs")
    assert list(defs.jobs) == ["first", "second"]


@pytest.mark.parametrize(
    "module",
    ["no_such_module_for_dagwright", "tests.jobs.no_such_module", "no_such_pkg_dw.sub"],
)
def test_an_unknown_module(module: str) -> None:
    with pytest.raises(DagwrightCodeLoadError) as info:
        load_definitions(module=module)
    assert str(info.value) == f"module {module!r} not found"


@pytest.mark.parametrize(
    ("source", "fragments"),
    [
        (RAISES, ["error loading module", "ZeroDivisionError"]),
        (NO_JOBS, ["no Definitions and no job"]),
        (TWO_DEFINITIONS, ["2 Definitions"]),
        # a missing dependency whose name is a prefix of the module's own name
        ("import dw_loader_case_", ["error loading module", "dw_loader_case_'"]),
        ("import no_such_dependency_dw", ["error loading module", "no_such_dependency_dw"]),
    ],
)
def test_bad_modules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, fragments: list[str]
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    name = f"{TMP_MODULE_PREFIX}bad"
    _write(tmp_path, f"{name}.py", source)
    with pytest.raises(DagwrightCodeLoadError) as info:
        load_definitions(module=name)
    assert f"module {name!r}" in str(info.value)
    for fragment in fragments:
        assert fragment in str(info.value)


# -- code pointers ----------------------------------------------------------------------


def test_pointer_of_a_job_from_a_file_round_trips(tmp_path: Path) -> None:
    path = _write(tmp_path, "repo.py", TOP_LEVEL_JOBS)
    defs = load_definitions(python_file=str(path))
    for name in ("decorated", "from_graph"):
        job_def = defs.get_job(name)
        pointer = code_pointer_for(job_def)
        assert pointer == CodePointer(job_name=name, python_file=str(path.resolve()))
        assert load_job(pointer) is job_def
        assert CodePointer.from_json(pointer.to_json()) == pointer


def test_pointer_of_a_job_from_a_module_round_trips() -> None:
    pointer = code_pointer_for(simple.diamond)
    assert pointer == CodePointer(
        job_name="diamond", module="tests.jobs.simple", working_directory=str(Path.cwd())
    )
    assert load_job(pointer) is simple.diamond


def test_pointer_of_a_job_loaded_by_module_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    name = f"{TMP_MODULE_PREFIX}pointer"
    _write(tmp_path, f"{name}.py", TOP_LEVEL_JOBS)
    defs = load_definitions(module=name)
    assert code_pointer_for(defs.get_job("from_graph")) == CodePointer(
        job_name="from_graph", module=name, working_directory=os.path.realpath(tmp_path)
    )
    assert load_job(CodePointer(job_name="decorated", module=name)) is defs.get_job("decorated")


@pytest.mark.parametrize(
    ("defined_in", "expected"),
    [
        (DefinedIn(None, None), None),
        (DefinedIn("__main__", None), None),
        (DefinedIn("__main__", "/code/jobs.py"), CodePointer("j", python_file="/code/jobs.py")),
        (DefinedIn(None, "/code/jobs.py"), CodePointer("j", python_file="/code/jobs.py")),
        # a module no other process can import by name: the file it was defined in
        (
            DefinedIn("pkg.jobs", "/code/pkg/jobs.py"),
            CodePointer("j", python_file="/code/pkg/jobs.py"),
        ),
        (DefinedIn("pkg.jobs", None), None),
        (DefinedIn("<stdin>", "<stdin>"), None),
        (
            DefinedIn("tests.jobs.simple", simple.__file__),
            CodePointer("j", module="tests.jobs.simple", working_directory=str(Path.cwd())),
        ),
        # importable by that name, but as another file than the one the job came from
        (
            DefinedIn("tests.jobs.simple", "/code/simple.py"),
            CodePointer("j", python_file="/code/simple.py"),
        ),
        (
            DefinedIn(f"{FILE_MODULE_PREFIX}.jobs_0123456789", "/code/jobs.py"),
            CodePointer("j", python_file="/code/jobs.py"),
        ),
    ],
)
def test_code_pointer_for_each_origin(defined_in: DefinedIn, expected: CodePointer | None) -> None:
    job_def = JobDefinition(name="j", graph=simple.chain.graph, defined_in=defined_in)
    assert code_pointer_for(job_def) == expected


def test_load_job_of_an_unknown_job_lists_the_jobs() -> None:
    with pytest.raises(DagwrightCodeLoadError) as info:
        load_job(CodePointer(job_name="nope", module="tests.jobs.simple"))
    assert "'nope'" in str(info.value)
    assert "chain" in str(info.value)


def test_load_job_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DagwrightError, match="not found"):
        load_job(CodePointer(job_name="j", python_file=str(tmp_path / "gone.py")))


# -- one name, two definitions ------------------------------------------------------------

DUPLICATE_SOURCES = {
    # Dagster's own example: two to_job calls on one graph, both named after the graph.
    "jobs": (
        "from dagwright import graph, op\n"
        "@op\ndef a():\n    return 1\n"
        "@graph\ndef pipeline():\n    a()\n"
        "first = pipeline.to_job()\n"
        "second = pipeline.to_job(tags={'env': 'prod'})\n",
        r"two jobs are named 'pipeline': one defined at .*twice\.py:8, the other at .*twice\.py:9",
    ),
    "schedules": (
        "from dagwright import job, op, ScheduleDefinition\n"
        "@op\ndef a():\n    return 1\n"
        "@job\ndef only():\n    a()\n"
        "s1 = ScheduleDefinition(name='s', cron_schedule='0 3 * * *', job=only)\n"
        "s2 = ScheduleDefinition(name='s', cron_schedule='0 4 * * *', job=only)\n",
        r"two schedules are named 's': one defined at .*twice\.py:8, the other at .*twice\.py:9",
    ),
    "sensors": (
        "from dagwright import job, op, sensor, RunRequest\n"
        "@op\ndef a():\n    return 1\n"
        "@job\ndef only():\n    a()\n"
        "@sensor(job=only, name='w')\ndef w1(context):\n    yield RunRequest()\n"
        "@sensor(job=only, name='w')\ndef w2(context):\n    yield RunRequest()\n",
        r"two sensors are named 'w': one defined at .*twice\.py:8, the other at .*twice\.py:11",
    ),
}


@pytest.mark.parametrize("kind", sorted(DUPLICATE_SOURCES))
def test_two_top_level_definitions_with_one_name_are_refused(tmp_path: Path, kind: str) -> None:
    source, message = DUPLICATE_SOURCES[kind]
    with pytest.raises(DagwrightDefinitionError, match=message):
        load_definitions(python_file=str(_write(tmp_path, "twice.py", source)))


def test_one_job_under_two_names_is_one_job(tmp_path: Path) -> None:
    source = (
        "from dagwright import job, op\n"
        "@op\ndef a():\n    return 1\n"
        "@job\ndef only():\n    a()\n"
        "alias = only\n"
    )
    defs = load_definitions(python_file=str(_write(tmp_path, "alias.py", source)))
    assert list(defs.jobs) == ["only"]


CELL = """
from dagwright import job, op

@op
def cell_op() -> None:
    pass

@job
def cell_job() -> None:
    cell_op()
"""


def test_a_job_without_file_globals_takes_its_code_file_if_on_disk(tmp_path: Path) -> None:
    """A notebook cell's code names a file that is not on disk: no pointer (submit refuses
    it); code compiled from a real file without ``__file__`` points at that file."""
    cell: dict[str, object] = {"__name__": "__main__"}
    exec(compile(CELL, str(tmp_path / "ipykernel_1" / "cell.py"), "exec"), cell)
    assert code_pointer_for(cell["cell_job"]) is None  # type: ignore[arg-type]
    real = _write(tmp_path, "exec_me.py", CELL)
    loaded: dict[str, object] = {"__name__": "exec_me_not_importable"}
    exec(compile(real.read_text(), str(real), "exec"), loaded)
    pointer = code_pointer_for(loaded["cell_job"])  # type: ignore[arg-type]
    assert pointer == CodePointer("cell_job", python_file=os.path.realpath(real))
