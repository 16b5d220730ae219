"""The run storage contract, on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from sqlalchemy import func, select

from dagwright.errors import (
    DagwrightInvalidTransitionError,
    DagwrightRunNotFoundError,
    DagwrightStorageError,
)
from dagwright.execution.events import Event, EventType
from dagwright.runs.models import CodePointer, Run, RunsFilter, RunStatus
from dagwright.storage import Storage
from dagwright.storage.schema import events, run_tags, runs

S = RunStatus


def make_run(
    run_id: str,
    *,
    job: str = "job",
    tags: dict[str, str] | None = None,
    created_at: float = 1000.0,
    status: RunStatus = S.NOT_STARTED,
) -> Run:
    return Run(run_id=run_id, job_name=job, status=status, tags=tags or {}, created_at=created_at)


def ids(runs: list[Run]) -> list[str]:
    return [run.run_id for run in runs]


def tag_rows(storage: Storage, run_id: str) -> dict[str, str]:
    """The run_tags table's view of a run's tags."""
    sid = select(runs.c.id).where(runs.c.run_id == run_id).scalar_subquery()
    query = select(run_tags.c.key, run_tags.c.value).where(run_tags.c.run_sid == sid)
    with storage.engine.connect() as conn:
        return {key: value for key, value in conn.execute(query)}


@pytest.fixture
def team_runs(storage: Storage) -> Storage:
    """Six runs of two jobs with team/env tags, created at t=1..6 (r1 oldest)."""
    specs = [
        ("r1", "etl", {"team": "docs", "env": "prod"}, S.SUCCESS),
        ("r2", "etl", {"team": "data", "env": "prod"}, S.FAILURE),
        ("r3", "report", {"team": "docs", "env": "dev"}, S.SUCCESS),
        ("r4", "report", {"team": "ml"}, S.QUEUED),
        ("r5", "etl", {"team": "docs", "env": "prod", "owner": "ann"}, S.STARTED),
        ("r6", "etl", {}, S.NOT_STARTED),
    ]
    for n, (run_id, job, tags, status) in enumerate(specs, start=1):
        storage.runs.add_run(
            make_run(run_id, job=job, tags=tags, created_at=float(n), status=status)
        )
    return storage


def test_add_and_get_round_trip(storage: Storage) -> None:
    run = Run(
        run_id="abc",
        job_name="my_job",
        status=S.QUEUED,
        tags={"team": "docs", "dagwright/priority": "3"},
        run_config={"ops": {"load": {"config": {"n": 1, "names": ["a", "b"]}}}},
        op_selection=("load", "save*"),
        parent_run_id="p",
        root_run_id="r",
        created_at=1700000000.123456,
        code_pointer=CodePointer(job_name="my_job", python_file="/x/jobs.py"),
    )
    storage.runs.add_run(run)
    assert storage.runs.get_run("abc") == run
    assert tag_rows(storage, "abc") == dict(run.tags)


def test_unknown_run_is_none(storage: Storage) -> None:
    assert storage.runs.get_run("nope") is None


def test_duplicate_run_id_is_refused_and_stores_nothing(storage: Storage) -> None:
    storage.runs.add_run(make_run("a", tags={"k": "1"}))
    with pytest.raises(DagwrightStorageError, match="already exists"):
        storage.runs.add_run(make_run("a", job="other", tags={"k": "2"}))
    assert ids(storage.runs.get_runs()) == ["a"]
    assert storage.runs.get_run_tag_values("k") == [("1", 1)]


def test_runs_are_listed_newest_first(team_runs: Storage) -> None:
    assert ids(team_runs.runs.get_runs()) == ["r6", "r5", "r4", "r3", "r2", "r1"]
    assert ids(team_runs.runs.get_runs(limit=2)) == ["r6", "r5"]
    assert team_runs.runs.get_runs(limit=0) == []


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"team": "docs"}, ["r5", "r3", "r1"]),
        ({"team": ["docs", "ml"]}, ["r5", "r4", "r3", "r1"]),
        ({"team": "docs", "env": "prod"}, ["r5", "r1"]),
        ({"team": ["docs", "data"], "env": "prod"}, ["r5", "r2", "r1"]),
        ({"team": "docs", "env": "prod", "owner": "ann"}, ["r5"]),
        ({"team": "nobody"}, []),
        ({"missing": "x"}, []),
        ({"team": []}, []),
    ],
)
def test_tag_filters_and_across_keys_or_within_a_key(
    team_runs: Storage, tags: dict[str, str | list[str]], expected: list[str]
) -> None:
    filters = RunsFilter(tags=tags)
    assert ids(team_runs.runs.get_runs(filters)) == expected
    assert team_runs.runs.get_runs_count(filters) == len(expected)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (RunsFilter(job_name="etl"), ["r6", "r5", "r2", "r1"]),
        (RunsFilter(statuses=[S.SUCCESS]), ["r3", "r1"]),
        (RunsFilter(statuses=[S.SUCCESS, S.QUEUED]), ["r4", "r3", "r1"]),
        (RunsFilter(statuses=[]), []),
        (RunsFilter(created_after=2.0), ["r6", "r5", "r4", "r3"]),
        (RunsFilter(created_before=3.0), ["r2", "r1"]),
        (RunsFilter(created_after=1.0, created_before=4.0), ["r3", "r2"]),
        (RunsFilter(run_ids=["r2", "r4", "zz"]), ["r4", "r2"]),
        (RunsFilter(job_name="etl", tags={"team": "docs"}), ["r5", "r1"]),
        (RunsFilter(statuses=[S.SUCCESS], tags={"team": "docs"}), ["r3", "r1"]),
        (RunsFilter(created_after=2.0, tags={"env": "prod"}), ["r5"]),
        (RunsFilter(run_ids=["r1", "r2"], tags={"env": "prod"}), ["r2", "r1"]),
    ],
)
def test_column_filters(team_runs: Storage, filters: RunsFilter, expected: list[str]) -> None:
    assert ids(team_runs.runs.get_runs(filters)) == expected
    assert team_runs.runs.get_runs_count(filters) == len(expected)


def test_location_filter_keeps_runs_of_same_named_jobs_apart(storage: Storage) -> None:
    for n, location in enumerate(["etl", "ml", None, "etl"]):
        pointer = CodePointer("nightly", python_file=f"/code/{location}.py", location_name=location)
        run = Run(f"r{n}", "nightly", S.QUEUED, created_at=float(n), code_pointer=pointer)
        storage.runs.add_run(run)
    storage.runs.add_runs([Run("x", "other", S.QUEUED, created_at=9.0, code_pointer=pointer)])
    etl = storage.runs.get_runs(RunsFilter(location_name="etl"))
    assert ids(etl) == ["x", "r3", "r0"]  # x: added in a batch (the other insert path)
    assert [run.location_name for run in etl] == ["etl", "etl", "etl"]
    assert ids(storage.runs.get_runs(RunsFilter(job_name="nightly", location_name="ml"))) == ["r1"]
    assert storage.runs.get_runs_count(RunsFilter(job_name="nightly")) == 4
    assert storage.runs.get_runs_count(RunsFilter(location_name="etl")) == 3
    stored = storage.runs.get_run("r2")
    assert stored is not None and stored.location_name is None


def test_latest_run_of_each_job(team_runs: Storage) -> None:
    latest = team_runs.runs.get_latest_runs(["report", "etl", "never", "etl"])
    assert {name: run.run_id for name, run in latest.items()} == {"report": "r4", "etl": "r6"}
    assert latest["etl"] == team_runs.runs.get_run("r6")
    assert team_runs.runs.get_latest_runs([]) == {}


def test_latest_runs_of_more_jobs_than_one_query_takes(storage: Storage) -> None:
    names = [f"job{n}" for n in range(450)]
    storage.runs.add_runs([make_run(f"{name}-{k}", job=name) for k in range(2) for name in names])
    latest = storage.runs.get_latest_runs([*names, "never"])
    assert {name: run.run_id for name, run in latest.items()} == {
        name: f"{name}-1" for name in names
    }


@pytest.mark.parametrize("filters", [None, RunsFilter(tags={"kind": "even"})])
def test_cursor_pagination_has_no_duplicates_and_no_gaps(
    storage: Storage, filters: RunsFilter | None
) -> None:
    for n in range(40):
        kind = "even" if n % 2 == 0 else "odd"
        storage.runs.add_run(make_run(f"run-{n:02d}", tags={"kind": kind}, created_at=n))
    expected = ids(storage.runs.get_runs(filters))
    seen: list[str] = []
    cursor = None
    while True:
        page = storage.runs.get_runs(filters, limit=7, cursor=cursor)
        if not page:
            break
        seen.extend(ids(page))
        cursor = page[-1].run_id
    assert seen == expected
    assert len(seen) == (20 if filters else 40)


def test_unknown_cursor_raises(team_runs: Storage) -> None:
    with pytest.raises(DagwrightRunNotFoundError) as info:
        team_runs.runs.get_runs(cursor="gone")
    assert info.value.run_id == "gone"


def test_counts(team_runs: Storage) -> None:
    assert team_runs.runs.get_runs_count() == 6
    assert team_runs.runs.get_runs_count(RunsFilter()) == 6


def test_tag_keys_are_sorted_and_distinct(team_runs: Storage) -> None:
    assert team_runs.runs.get_run_tag_keys() == ["env", "owner", "team"]


def test_tag_keys_of_an_empty_store(storage: Storage) -> None:
    assert storage.runs.get_run_tag_keys() == []


def test_tag_values_most_used_first_then_by_value(team_runs: Storage) -> None:
    assert team_runs.runs.get_run_tag_values("team") == [("docs", 3), ("data", 1), ("ml", 1)]
    assert team_runs.runs.get_run_tag_values("team", limit=2) == [("docs", 3), ("data", 1)]
    assert team_runs.runs.get_run_tag_values("team", prefix="d") == [("docs", 3), ("data", 1)]
    assert team_runs.runs.get_run_tag_values("team", prefix="do") == [("docs", 3)]
    assert team_runs.runs.get_run_tag_values("nope") == []


def test_tag_value_prefix_is_literal(storage: Storage) -> None:
    values = ["50%", "50% off", "5000", "a_b", "axb", "A_B", "a_bc"]
    for n, value in enumerate(values):
        storage.runs.add_run(make_run(f"r{n}", tags={"k": value}))
    assert storage.runs.get_run_tag_values("k", prefix="50%") == [("50%", 1), ("50% off", 1)]
    assert storage.runs.get_run_tag_values("k", prefix="a_") == [("a_b", 1), ("a_bc", 1)]
    assert storage.runs.get_run_tag_values("k", prefix="%") == []
    assert storage.runs.get_run_tag_values("k", prefix="_") == []


def test_add_run_tags_upserts_in_body_and_table(team_runs: Storage) -> None:
    run = team_runs.runs.add_run_tags("r1", {"team": "data", "new": "yes"})
    expected = {"team": "data", "env": "prod", "new": "yes"}
    assert run.tags == expected
    stored = team_runs.runs.get_run("r1")
    assert stored is not None and stored.tags == expected
    assert tag_rows(team_runs, "r1") == expected
    assert ids(team_runs.runs.get_runs(RunsFilter(tags={"team": "docs"}))) == ["r5", "r3"]
    assert ids(team_runs.runs.get_runs(RunsFilter(tags={"team": "data"}))) == ["r2", "r1"]
    assert ids(team_runs.runs.get_runs(RunsFilter(tags={"new": "yes"}))) == ["r1"]


def test_remove_run_tags(team_runs: Storage) -> None:
    run = team_runs.runs.remove_run_tags("r5", ["owner", "env", "not-there"])
    assert run.tags == {"team": "docs"}
    stored = team_runs.runs.get_run("r5")
    assert stored is not None and stored.tags == {"team": "docs"}
    assert tag_rows(team_runs, "r5") == {"team": "docs"}
    assert team_runs.runs.get_run_tag_keys() == ["env", "team"]
    assert ids(team_runs.runs.get_runs(RunsFilter(tags={"env": "prod"}))) == ["r2", "r1"]


def test_tag_changes_of_an_unknown_run_raise(storage: Storage) -> None:
    with pytest.raises(DagwrightRunNotFoundError):
        storage.runs.add_run_tags("nope", {"a": "b"})
    with pytest.raises(DagwrightRunNotFoundError):
        storage.runs.remove_run_tags("nope", ["a"])


def test_delete_run_cascades_to_tags_and_events(team_runs: Storage) -> None:
    team_runs.events.store_event(Event("r5", EventType.LOG, 10.0, message="hi"))
    team_runs.events.store_event(Event("r4", EventType.LOG, 10.0, message="keep"))
    team_runs.runs.delete_run("r5")
    assert team_runs.runs.get_run("r5") is None
    assert team_runs.events.get_events("r5") == []
    assert len(team_runs.events.get_events("r4")) == 1
    assert team_runs.runs.get_run_tag_keys() == ["env", "team"]
    with team_runs.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar_one() == 1
    assert sum(count for _, count in team_runs.runs.get_run_tag_values("team")) == 4
    with pytest.raises(DagwrightRunNotFoundError):
        team_runs.runs.delete_run("r5")


def test_long_tag_values_are_stored_and_filtered(storage: Storage) -> None:
    big = secrets.token_hex(32 * 1024)  # 64 KiB, incompressible
    twin = big[:-1] + ("0" if big[-1] != "0" else "1")  # same first 64 KiB - 1 characters
    storage.runs.add_run(make_run("big", tags={"blob": big, "x": "1"}))
    storage.runs.add_run(make_run("twin", tags={"blob": twin}))
    storage.runs.add_run(make_run("short", tags={"blob": big[:100]}))
    stored = storage.runs.get_run("big")
    assert stored is not None and stored.tags["blob"] == big
    assert ids(storage.runs.get_runs(RunsFilter(tags={"blob": big}))) == ["big"]
    assert ids(storage.runs.get_runs(RunsFilter(tags={"blob": [twin, big]}))) == ["twin", "big"]
    assert ids(storage.runs.get_runs(RunsFilter(tags={"blob": big[:100]}))) == ["short"]
    values = storage.runs.get_run_tag_values("blob", prefix=big[:80])
    assert sorted(values) == sorted([(big, 1), (twin, 1), (big[:100], 1)])
    assert storage.runs.get_run_tag_values("blob", prefix=big[:200]) == sorted(
        [(big, 1), (twin, 1)]
    )
    storage.runs.add_run_tags("short", {"blob": big})
    assert ids(storage.runs.get_runs(RunsFilter(tags={"blob": big}))) == ["short", "big"]


def test_unicode_keys_values_and_config(storage: Storage) -> None:
    tags = {"team": "données-équipe", "emoji": "🚀✨", "cjk": "数据管道", "mix": "a\u0301\n\t\"'"}
    run = Run(
        run_id="u",
        job_name="jöb",
        status=S.NOT_STARTED,
        tags=tags,
        run_config={"ops": {"ö": {"config": {"name": "Zoë 🙂"}}}},
    )
    storage.runs.add_run(run)
    assert storage.runs.get_run("u") == run
    for key, value in tags.items():
        assert ids(storage.runs.get_runs(RunsFilter(tags={key: value}))) == ["u"]
    assert storage.runs.get_run_tag_values("emoji", prefix="🚀") == [("🚀✨", 1)]
    assert ids(storage.runs.get_runs(RunsFilter(job_name="jöb"))) == ["u"]


def test_add_runs_in_bulk(storage: Storage) -> None:
    batch = [make_run(f"b{n}", tags={"n": str(n % 3)}, created_at=n) for n in range(30)]
    storage.runs.add_runs(batch)
    storage.runs.add_runs([])
    assert storage.runs.get_runs_count() == 30
    assert ids(storage.runs.get_runs(RunsFilter(tags={"n": "0"}), limit=3)) == ["b27", "b24", "b21"]
    assert storage.runs.get_run("b7") == batch[7]


def test_add_runs_with_events_moves_them_through_the_transition_table(storage: Storage) -> None:
    new = [make_run("q1"), make_run("q2")]
    enqueued = [Event(r.run_id, EventType.RUN_ENQUEUED, 5.0) for r in new]
    stored = storage.runs.add_runs(new, enqueued)
    assert [r.status for r in stored] == [S.QUEUED, S.QUEUED]
    assert [storage.runs.get_run(r.run_id).status for r in new] == [S.QUEUED, S.QUEUED]  # type: ignore[union-attr]
    done = make_run("done", status=S.SUCCESS)
    with pytest.raises(DagwrightInvalidTransitionError):
        storage.runs.add_runs([done], [Event("done", EventType.RUN_ENQUEUED, 5.0)])
    with pytest.raises(DagwrightRunNotFoundError):
        storage.runs.add_runs([make_run("x")], [Event("other", EventType.RUN_ENQUEUED, 5.0)])
    assert storage.runs.get_run("done") is None and storage.runs.get_run("x") is None


def test_data_survives_a_restart(storage_url: str) -> None:
    first = Storage.open(storage_url)
    first.runs.add_run(make_run("keep", tags={"a": "1"}))
    first.events.store_event(Event("keep", EventType.RUN_ENQUEUED, 5.0))
    first.close()
    second = Storage.open(storage_url)
    try:
        run = second.runs.get_run("keep")
        assert run is not None and run.status is S.QUEUED and run.tags == {"a": "1"}
        assert [e.event_type for e in second.events.get_events("keep")] == [EventType.RUN_ENQUEUED]
        assert ids(second.runs.get_runs(RunsFilter(tags={"a": "1"}))) == ["keep"]
    finally:
        second.close()


def test_in_memory_storages_are_separate() -> None:
    one, two = Storage.open("sqlite://"), Storage.open("sqlite://")
    try:
        one.runs.add_run(make_run("only-in-one"))
        assert two.runs.get_run("only-in-one") is None
        assert one.dialect == two.dialect == "sqlite"
    finally:
        one.close()
        two.close()


def _plan(storage: Storage, filters: RunsFilter, limit: int = 50) -> str:
    from dagwright.storage.runs import _page_query

    query = _page_query(filters, None, limit)
    compiled = query.compile(storage.engine, compile_kwargs={"literal_binds": True})
    with storage.database.read() as conn:
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
    return "\n".join(str(row[-1]) for row in rows)


def test_single_tag_page_walks_the_tag_index_on_sqlite() -> None:
    storage = Storage.open("sqlite://")
    try:
        plan = _plan(storage, RunsFilter(tags={"team": "docs"}))
        assert "USING COVERING INDEX ix_run_tags_key_value_run_sid" in plan
        assert "TEMP B-TREE" not in plan
        assert "SCAN" not in plan
        plan = _plan(storage, RunsFilter(tags={"team": "docs", "env": "prod"}))
        assert "ix_run_tags_key_value_run_sid" in plan and "TEMP B-TREE" not in plan
        assert "SCAN runs" not in plan
        plan = _plan(storage, RunsFilter(tags={"team": ["docs", "ml"], "env": ["a", "b"]}))
        assert plan.count("SEARCH t0 USING COVERING INDEX ix_run_tags_key_value_run_sid") == 2
        assert "SCAN t0" not in plan and "SCAN runs" not in plan
        assert "TEMP B-TREE" not in _plan(storage, RunsFilter())
        plan = _plan(storage, RunsFilter(statuses=[S.SUCCESS, S.FAILURE]))
        assert plan.count("SEARCH runs USING INDEX ix_runs_status_id") == 2
        assert "TEMP B-TREE" not in _plan(storage, RunsFilter(job_name="etl"))
        plan = _plan(storage, RunsFilter(location_name="ml"))
        assert "ix_runs_location_name_id" in plan and "TEMP B-TREE" not in plan
    finally:
        storage.close()


def _pg_plan(storage: Storage, filters: RunsFilter, before: int | None = None) -> dict[str, Any]:
    from dagwright.storage.runs import _page_query

    query = _page_query(filters, before, 50, ids_first=storage.database.is_postgres)
    compiled = query.compile(storage.engine, compile_kwargs={"literal_binds": True})
    with storage.database.read() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}").scalar_one()
    top: dict[str, Any] = plan[0]["Plan"]
    return top


def _relations(node: dict[str, Any]) -> set[str]:
    found = {node["Relation Name"]} if "Relation Name" in node else set()
    for child in node.get("Plans", []):
        found |= _relations(child)
    return found


def _limits(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = [node] if node["Node Type"] == "Limit" else []
    for child in node.get("Plans", []):
        found += _limits(child)
    return found


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("filters", "cursor", "walks", "expected"),
    [
        (RunsFilter(tags={"team": "docs"}), None, 1, ["r9", "r7", "r5"]),
        (RunsFilter(tags={"team": "docs"}), "r7", 1, ["r5", "r3", "r1"]),
        (RunsFilter(tags={"team": "docs", "env": "prod"}), None, 1, ["r9", "r7", "r5"]),
        (RunsFilter(tags={"team": ["docs", "ml"]}), None, 2, ["r10", "r9", "r8"]),
    ],
)
def test_tag_page_takes_its_run_ids_before_reading_runs_on_postgres(
    pg_database_url: str,
    filters: RunsFilter,
    cursor: str | None,
    walks: int,
    expected: list[str],
) -> None:
    # Joined to runs before the LIMIT, PostgreSQL may merge-join the tag walk with a
    # backward walk of the runs primary key, which reads every run newer than the page
    # (seen: 500,000 runs read for a page of a value only old runs carry, at 1M runs).
    # So each walk of a tag-only page is limited on the tag index, below any read of runs.
    storage = Storage.open(pg_database_url)
    try:
        for n in range(1, 11):
            tags = {"team": "docs" if n % 2 else "ml", "env": "prod"}
            storage.runs.add_run(make_run(f"r{n}", tags=tags, created_at=float(n)))
        before = None if cursor is None else int(cursor[1:])  # storage ids follow r1..r10
        plan = _pg_plan(storage, filters, before)
        tag_walks = [limit for limit in _limits(plan) if _relations(limit) == {"run_tags"}]
        assert len(tag_walks) == walks, plan
        assert ids(storage.runs.get_runs(filters, limit=3, cursor=cursor)) == expected
    finally:
        storage.close()
