"""``Workspace``: named code locations; jobs addressed as ``name`` or ``name@location``."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagwright import Definitions, ScheduleDefinition, job, op
from dagwright.definitions.loader import code_pointer_for, load_job, loaded_job
from dagwright.definitions.workspace import (
    CodeLocationOrigin,
    Workspace,
    job_reference,
    load_workspace,
    split_reference,
)
from dagwright.definitions.workspace_file import read_workspace_file
from dagwright.errors import (
    DagwrightCodeLoadError,
    DagwrightCodeLocationError,
    DagwrightDefinitionError,
    DagwrightInvalidConfigError,
)
from dagwright.runs.models import CodePointer

EXAMPLE = Path(__file__).parents[1] / "jobs" / "workspace_example"


@op
def one() -> int:
    return 1


@job
def shared() -> None:
    one()


@job
def alone() -> None:
    one()


@pytest.fixture
def example() -> Workspace:
    return load_workspace(read_workspace_file(EXAMPLE / "workspace.yaml"))


def test_jobs_are_keyed_by_name_or_by_name_at_location(example: Workspace) -> None:
    assert list(example.locations) == ["etl", "ml", "other"]
    assert list(example.jobs) == ["nightly@etl", "load_sales", "nightly@ml", "report"]
    assert {ref: j.location_name for ref, j in example.jobs.items()} == {
        "nightly@etl": "etl",
        "load_sales": "etl",
        "nightly@ml": "ml",
        "report": "other",
    }
    assert example.get_job("nightly@ml").tags == {"team": "ml"}
    assert example.get_job("nightly@etl").tags == {"team": "etl"}
    assert example.get_job("report@other") is example.get_job("report")
    assert example.reference(example.get_job("report")) == "report"
    assert example.reference(example.get_job("nightly@ml")) == "nightly@ml"


def test_an_ambiguous_plain_name_lists_the_candidates(example: Workspace) -> None:
    with pytest.raises(DagwrightCodeLoadError, match="nightly@etl, nightly@ml"):
        example.get_job("nightly")


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("nope", "no job named 'nope'"),
        ("nightly@nowhere", "no code location named 'nowhere' .*etl, ml, other"),
        ("report@etl", "no job named 'report'"),
    ],
)
def test_unknown_references_are_refused(example: Workspace, ref: str, message: str) -> None:
    with pytest.raises(DagwrightCodeLoadError, match=message):
        example.get_job(ref)


def test_a_location_schedule_runs_the_located_job(example: Workspace) -> None:
    schedule = example.get_schedule("nightly_training")
    assert schedule.job is example.get_job("nightly@ml")
    assert example.locations["ml"].jobs["nightly"] is schedule.job


def test_located_jobs_give_pointers_with_their_location(example: Workspace) -> None:
    pointer = code_pointer_for(example.get_job("nightly@ml"))
    assert pointer is not None
    assert (pointer.module, pointer.location_name) == ("team_ml.jobs", "ml")
    assert pointer.working_directory == str(EXAMPLE / "ml")
    etl = code_pointer_for(example.get_job("nightly@etl"))
    assert etl is not None
    assert (etl.python_file, etl.location_name) == (str(EXAMPLE / "jobs" / "etl.py"), "etl")
    assert load_job(etl).location_name == "etl"  # a re-execution keeps the location


def test_a_run_is_matched_to_the_job_of_its_own_location(example: Workspace) -> None:
    ml = code_pointer_for(example.get_job("nightly@ml"))
    etl = code_pointer_for(example.get_job("nightly@etl"))
    assert ml is not None and etl is not None
    assert loaded_job(example, ml, "re-execute") is example.get_job("nightly@ml")
    assert loaded_job(example, etl, "re-execute") is example.get_job("nightly@etl")
    # a pointer stored without a location is matched by where its code is
    unnamed = CodePointer(job_name="nightly", python_file=etl.python_file)
    assert loaded_job(example, unnamed, "re-execute") is example.get_job("nightly@etl")
    elsewhere = CodePointer(job_name="nightly", python_file="/elsewhere/etl.py")
    with pytest.raises(DagwrightCodeLocationError, match="team_ml"):
        loaded_job(example, elsewhere, "re-execute")


def test_one_location_is_the_definitions_as_they_were() -> None:
    workspace = Workspace({"mine": Definitions(jobs=[shared, alone])})
    assert list(workspace.jobs) == ["shared", "alone"]
    assert workspace.get_job("shared").location_name == "mine"
    assert workspace.get_job("shared@mine") is workspace.get_job("shared")
    assert shared.location_name is None  # the user's job is left as it was


def test_locations_are_named_after_the_file_stem_or_module(tmp_path: Path) -> None:
    assert CodeLocationOrigin(python_file="a/b/etl_jobs.py").name == "etl_jobs"
    assert CodeLocationOrigin(module="team.jobs").name == "team.jobs"
    assert CodeLocationOrigin(module="team.jobs", location_name="t").name == "t"


def test_two_locations_with_one_name_are_refused(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "jobs.py").write_text(
            "from dagwright import job, op\n@op\ndef o(): pass\n@job\ndef j(): o()\n"
        )
    origins = [
        CodeLocationOrigin(python_file=str(tmp_path / f / "jobs.py"), source=f"-f {f}/jobs.py")
        for f in ("a", "b")
    ]
    with pytest.raises(DagwrightInvalidConfigError) as caught:
        load_workspace(origins)
    assert caught.value.where == "-f b/jobs.py"
    assert "two code locations are named 'jobs' (-f a/jobs.py and -f b/jobs.py)" in str(
        caught.value
    )


@pytest.mark.parametrize("name", ["", "a b", "a@b", "a/b", "-x"])
def test_bad_location_names_are_refused(name: str) -> None:
    with pytest.raises(DagwrightInvalidConfigError, match="code location name"):
        Workspace({name: Definitions(jobs=[alone])})


def test_an_empty_workspace_is_refused() -> None:
    with pytest.raises(DagwrightInvalidConfigError, match="no code location"):
        load_workspace([])


def test_two_schedules_of_one_name_in_two_locations_are_refused() -> None:
    first = ScheduleDefinition(name="daily", cron_schedule="@daily", job=shared)
    second = ScheduleDefinition(name="daily", cron_schedule="@daily", job=alone)
    with pytest.raises(DagwrightDefinitionError, match=r"'a'.*'b'.*unique across a workspace"):
        Workspace({"a": Definitions(schedules=[first]), "b": Definitions(schedules=[second])})


def test_references_split_and_join() -> None:
    assert split_reference("nightly@ml") == ("nightly", "ml")
    assert split_reference("nightly") == ("nightly", None)
    assert job_reference(shared) == "shared"
