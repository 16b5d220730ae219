"""Bulk actions on everything a query matches, on SQLite and PostgreSQL (a queued
instance: nothing launches), through the instance."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dagwright import (
    DagwrightInvalidConfigError,
    DagwrightInvalidTagError,
    DagwrightNotFoundError,
    Instance,
    Run,
    RunsFilter,
    RunStatus,
)
from dagwright.runs.bulk import BulkStatus
from dagwright.runs.models import CodePointer

SIMPLE = str(Path(__file__).resolve().parents[1] / "jobs" / "simple.py")


def _add(instance: Instance, run_id: str, status: RunStatus, **tags: str) -> None:
    pointer = CodePointer("chain", python_file=SIMPLE)
    now = time.time()
    run = Run(run_id, "chain", status, tags, created_at=now, code_pointer=pointer)
    instance.storage.runs.add_runs([run])


def _bulk(instance: Instance, q: str, action: str, **params: object) -> dict[str, object]:
    started = instance.start_bulk(RunsFilter.parse(q), q, action, params)
    done = instance.run_bulk(started.bulk_id)
    assert done.status is BulkStatus.DONE
    return instance.get_bulk(started.bulk_id).to_json()


def _outcomes(result: dict[str, object]) -> dict[str, str]:
    return {r["run_id"]: r["outcome"] for r in result["results"]}  # type: ignore[attr-defined, index]


def test_terminate_acts_on_each_run_and_refusals_do_not_stop_the_rest(
    queued_instance: Instance,
) -> None:
    _add(queued_instance, "q1", RunStatus.QUEUED, team="docs")
    _add(queued_instance, "s1", RunStatus.SUCCESS, team="docs")
    _add(queued_instance, "q2", RunStatus.QUEUED, team="docs")
    _add(queued_instance, "q3", RunStatus.QUEUED, team="ml")
    result = _bulk(queued_instance, "team:docs", "terminate")
    assert (result["count"], result["done"], result["refused"]) == (3, 2, 1)
    assert [r["run_id"] for r in result["results"]] == ["q2", "s1", "q1"]  # type: ignore[attr-defined]
    refused = next(r for r in result["results"] if r["outcome"] == "refused")  # type: ignore[attr-defined]
    assert refused["run_id"] == "s1" and "SUCCESS" in refused["reason"]
    for run_id, status in [("q1", "CANCELED"), ("q2", "CANCELED"), ("q3", "QUEUED")]:
        run = queued_instance.get_run(run_id)
        assert run is not None and run.status.value == status


def test_the_set_is_fixed_when_the_action_starts(queued_instance: Instance) -> None:
    _add(queued_instance, "a", RunStatus.SUCCESS, team="docs")
    started = queued_instance.start_bulk(
        RunsFilter.parse("team:docs"), "team:docs", "add_tags", {"tags": {"seen": "1"}}
    )
    _add(queued_instance, "b", RunStatus.SUCCESS, team="docs")  # after the start: not in it
    queued_instance.run_bulk(started.bulk_id)
    assert _outcomes(queued_instance.get_bulk(started.bulk_id).to_json()) == {"a": "done"}
    tagged = queued_instance.get_runs(RunsFilter.parse("seen:1"))
    assert [r.run_id for r in tagged] == ["a"]


def test_tags_priority_and_delete(queued_instance: Instance) -> None:
    _add(queued_instance, "q", RunStatus.QUEUED, team="docs", env="x")
    _add(queued_instance, "f", RunStatus.FAILURE, team="docs", env="x")
    assert _outcomes(_bulk(queued_instance, "env:x", "remove_tags", keys=["env"])) == {
        "q": "done",
        "f": "done",
    }
    assert queued_instance.get_runs_count(RunsFilter.parse("env:*")) == 0
    result = _bulk(queued_instance, "team:docs", "set_priority", priority=-5)
    assert _outcomes(result) == {"q": "done", "f": "refused"}
    queued = queued_instance.get_run("q")
    assert queued is not None and queued.tags["dagwright/priority"] == "-5"
    result = _bulk(queued_instance, "team:docs", "delete")
    assert _outcomes(result) == {"q": "refused", "f": "done"}
    assert "not finished (QUEUED)" in str(result["results"])
    assert queued_instance.get_run("f") is None


def test_reexecute_queues_a_child_of_each_finished_run(queued_instance: Instance) -> None:
    _add(queued_instance, "f", RunStatus.FAILURE, team="docs")
    _add(queued_instance, "q", RunStatus.QUEUED, team="docs")
    result = _bulk(queued_instance, "team:docs", "reexecute", from_failure=False)
    assert _outcomes(result) == {"q": "refused", "f": "done"}
    children = queued_instance.get_runs(RunsFilter.parse('"dagwright/parent_run_id":f'))
    assert len(children) == 1 and children[0].status is RunStatus.QUEUED


def test_a_dry_run_counts_and_samples_without_acting(queued_instance: Instance) -> None:
    for n in range(12):
        _add(queued_instance, f"r{n:02d}", RunStatus.QUEUED, team="docs")
    count, sample = queued_instance.bulk_dry_run(RunsFilter.parse("team:docs"))
    assert count == 12 and [r.run_id for r in sample] == [f"r{n:02d}" for n in range(11, 1, -1)]
    assert queued_instance.get_runs_count(RunsFilter.parse("status:QUEUED")) == 12


@pytest.mark.parametrize(
    ("action", "params", "error"),
    [
        ("explode", {}, DagwrightInvalidConfigError),
        ("add_tags", {}, DagwrightInvalidConfigError),
        ("add_tags", {"tags": {"bad key": "x"}}, DagwrightInvalidTagError),
        ("add_tags", {"tags": {"dagwright/partition": "x"}}, DagwrightInvalidTagError),
        ("remove_tags", {"keys": ["dagwright/partition"]}, DagwrightInvalidTagError),
        ("set_priority", {"priority": "high"}, DagwrightInvalidConfigError),
        ("set_priority", {"priority": True}, DagwrightInvalidConfigError),
        ("reexecute", {"from_failure": "yes"}, DagwrightInvalidConfigError),
        ("terminate", {"tags": {}}, DagwrightInvalidConfigError),
    ],
)
def test_bad_actions_are_refused_before_anything_is_stored(
    queued_instance: Instance, action: str, params: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        queued_instance.start_bulk(RunsFilter.parse(""), "", action, params)


def test_an_unknown_bulk_action_is_not_found(queued_instance: Instance) -> None:
    with pytest.raises(DagwrightNotFoundError):
        queued_instance.get_bulk("nope")


def test_runs_gone_before_their_turn_are_refused_and_chunks_go_on(
    queued_instance: Instance,
) -> None:
    from dagwright.runs.bulk_runner import CHUNK

    now = time.time()
    runs = [
        Run(f"r{n:05d}", "chain", RunStatus.QUEUED, {"team": "docs"}, created_at=now)
        for n in range(CHUNK + 20)
    ]
    queued_instance.storage.runs.add_runs(runs)
    for action, params in [("add_tags", {"tags": {"seen": "1"}}), ("terminate", {})]:
        started = queued_instance.start_bulk(RunsFilter.parse("team:docs"), "", action, params)
        queued_instance.storage.runs.delete_run("r00007")
        progress: list[int] = []
        queued_instance.run_bulk(started.bulk_id, progress=progress.append)
        result = queued_instance.get_bulk(started.bulk_id)
        assert progress == [CHUNK, 20]
        assert (result.count, result.done, result.refused) == (CHUNK + 20, CHUNK + 19, 1)
        refused = [r for r in result.results if r.outcome == "refused"]
        assert [r.run_id for r in refused] == ["r00007"] and "r00007" in str(refused[0].reason)
        _add(queued_instance, "r00007", RunStatus.QUEUED, team="docs")
    assert queued_instance.get_runs_count(RunsFilter.parse("seen:1 status:CANCELED")) == CHUNK + 19


def test_bulk_tag_edits_are_audited_like_any_other(queued_instance: Instance) -> None:
    # The chunked tag path wrote tags without a TAGS_CHANGED event.
    _add(queued_instance, "q", RunStatus.QUEUED, team="docs", env="x")
    _bulk(queued_instance, "team:docs", "add_tags", tags={"env": "y"})
    (entry,) = queued_instance.get_tag_history("q")
    assert entry["changes"] == {"env": {"old": "x", "new": "y"}}
