"""Schema creation, migrations and the no-Alembic fast path, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, inspect, text

import dagwright.storage
from dagwright.errors import DagwrightStorageError
from dagwright.execution.events import Event, EventType
from dagwright.runs.models import CodePointer, Run, RunsFilter, RunStatus, WorkerInfo
from dagwright.storage import HEAD_REVISION, Storage
from dagwright.storage.engine import Database, create_engine_for
from dagwright.storage.migrations import MIGRATIONS_DIR, ensure_schema, read_revision, upgrade
from dagwright.storage.schema import metadata

TABLES = {
    "runs",
    "run_tags",
    "events",
    "run_workers",
    "daemon_heartbeats",
    "instigator_state",
    "ticks",
    "sensor_run_keys",
    "backfills",
    "alembic_version",
}


@pytest.fixture
def engine(storage_url: str) -> Iterator[Engine]:
    created = create_engine_for(storage_url)
    try:
        yield created
    finally:
        created.dispose()


def schema_diffs(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        return connection_diffs(conn)


def connection_diffs(conn: Connection) -> list[object]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    return list(compare_metadata(MigrationContext.configure(conn), metadata))


def execute(engine: Engine, *statements: str) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def test_head_revision_is_the_newest_migration() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD_REVISION]


def test_fresh_database_is_created_at_head(engine: Engine) -> None:
    ensure_schema(engine)
    assert read_revision(engine) == HEAD_REVISION
    assert set(inspect(engine).get_table_names()) >= TABLES
    assert schema_diffs(engine) == []


def test_migrations_build_exactly_the_schema(engine: Engine) -> None:
    upgrade(engine)
    assert read_revision(engine) == HEAD_REVISION
    assert schema_diffs(engine) == []
    execute(engine, "DROP INDEX ix_runs_created_at")
    assert schema_diffs(engine) != []  # the comparison does see a difference


def test_database_at_base_is_upgraded(engine: Engine) -> None:
    upgrade(engine, "base")  # alembic_version exists, with no row
    assert read_revision(engine) is None
    assert "runs" not in inspect(engine).get_table_names()
    ensure_schema(engine)
    assert read_revision(engine) == HEAD_REVISION
    assert schema_diffs(engine) == []


def test_a_database_at_0001_with_runs_upgrades_and_keeps_them(engine: Engine) -> None:
    upgrade(engine, "0001")
    body = json.dumps(
        {
            "v": 1,
            "run_id": "r1",
            "job_name": "j",
            "status": "SUCCESS",
            "tags": {"team": "docs"},
            "created_at": 1.0,
        }
    )
    execute(
        engine,
        "INSERT INTO runs (run_id, job_name, status, created_at, updated_at, body)"
        f" VALUES ('r1', 'j', 'SUCCESS', 1.0, 2.0, '{body}')",
        "INSERT INTO run_tags (run_sid, key, value, value_idx) VALUES (1, 'team', 'docs', 'docs')",
    )
    ensure_schema(engine)
    assert read_revision(engine) == HEAD_REVISION
    assert schema_diffs(engine) == []
    storage = Storage(str(engine.url), Database(engine))
    (run,) = storage.runs.get_runs(RunsFilter(tags={"team": "docs"}))
    assert run.run_id == "r1" and run.status is RunStatus.SUCCESS
    storage.workers.register("r1", pid=42, host="h", now=3.0)
    assert storage.workers.get("r1") == WorkerInfo("r1", 42, "h", 3.0, 3.0)


def test_a_database_at_0002_with_runs_upgrades_and_keeps_them(engine: Engine) -> None:
    from dagwright.runs.ticks import InstigatorKind

    upgrade(engine, "0002")
    assert "ticks" not in inspect(engine).get_table_names()
    body = json.dumps(
        {"v": 1, "run_id": "r1", "job_name": "j", "status": "QUEUED", "tags": {}, "created_at": 1.0}
    )
    execute(
        engine,
        "INSERT INTO runs (run_id, job_name, status, created_at, updated_at, body)"
        f" VALUES ('r1', 'j', 'QUEUED', 1.0, 2.0, '{body}')",
        "INSERT INTO run_tags (run_sid, key, value, value_idx)"
        " VALUES (1, 'dagwright/backfill', 'b1', 'b1')",
    )
    ensure_schema(engine)
    assert read_revision(engine) == HEAD_REVISION
    assert schema_diffs(engine) == []
    storage = Storage(str(engine.url), Database(engine))
    assert storage.runs.get_run("r1") is not None
    assert storage.backfills.count_runs_by_status("b1") == {RunStatus.QUEUED: 1}
    tick = storage.schedules.create_tick("s", InstigatorKind.SCHEDULE, 5.0)
    assert storage.schedules.get_ticks("s") == [tick]


def test_a_database_at_0003_with_runs_upgrades_to_0004_and_feeds_the_queue(
    engine: Engine,
) -> None:
    upgrade(engine, "0003")
    rows = []
    for i, status in enumerate(["QUEUED", "STARTED", "SUCCESS"]):
        body = json.dumps(
            {"v": 1, "run_id": f"r{i}", "job_name": "j", "status": status, "created_at": i}
        )
        rows.append(
            "INSERT INTO runs (run_id, job_name, status, created_at, updated_at, body)"
            f" VALUES ('r{i}', 'j', '{status}', {i}, {i}, '{body}')"
        )
    execute(engine, *rows)
    ensure_schema(engine)
    assert read_revision(engine) == HEAD_REVISION == "0011"
    assert schema_diffs(engine) == []
    storage = Storage(str(engine.url), Database(engine))
    first = storage.runs.queue_changes(None)
    assert first.complete and sorted(r.run_id for r in first.runs) == ["r0", "r1"]
    storage.events.store_event(Event("r0", EventType.RUN_STARTING, 10.0))
    changed = storage.runs.queue_changes(first.cursor)
    assert not changed.complete
    assert [(r.run_id, r.status) for r in changed.runs] == [("r0", RunStatus.STARTING)]


def test_a_database_at_0004_upgrades_to_heartbeats_per_daemon(engine: Engine) -> None:
    upgrade(engine, "0004")
    execute(
        engine,
        "INSERT INTO daemon_heartbeats (name, daemon_id, heartbeat_at)"
        " VALUES ('backfills', 'h:1', 1)",
    )
    ensure_schema(engine)
    assert read_revision(engine) == HEAD_REVISION
    assert schema_diffs(engine) == []
    storage = Storage(str(engine.url), Database(engine))
    storage.workers.beat_daemon("backfills", "h:1", 5.0, host="h", pid=1, interval_seconds=1.0)
    storage.workers.beat_daemon("backfills", "h:2", 6.0, host="h", pid=2, interval_seconds=1.0)
    assert [(b.daemon_id, b.heartbeat_at) for b in storage.workers.daemon_heartbeats()] == [
        ("h:2", 6.0),
        ("h:1", 5.0),
    ]


def test_a_database_at_0006_upgrades_to_run_locations(engine: Engine) -> None:
    upgrade(engine, "0006")
    body = json.dumps({"v": 1, "run_id": "old", "job_name": "j", "status": "SUCCESS"})
    execute(
        engine,
        "INSERT INTO runs (run_id, job_name, status, created_at, updated_at, body)"
        f" VALUES ('old', 'j', 'SUCCESS', 1, 1, '{body}')",
    )
    ensure_schema(engine)
    assert read_revision(engine) == HEAD_REVISION
    assert schema_diffs(engine) == []
    storage = Storage(str(engine.url), Database(engine))
    old = storage.runs.get_run("old")
    assert old is not None and old.location_name is None
    pointer = CodePointer(job_name="j", python_file="/x/etl.py", location_name="etl")
    storage.runs.add_runs([Run("new", "j", RunStatus.QUEUED, created_at=2.0, code_pointer=pointer)])
    located = storage.runs.get_runs(RunsFilter(location_name="etl"))
    assert [run.run_id for run in located] == ["new"]
    assert [r.run_id for r in storage.runs.get_runs(RunsFilter(job_name="j"))] == ["new", "old"]


def test_unknown_revision_is_refused(engine: Engine) -> None:
    ensure_schema(engine)
    execute(engine, "UPDATE alembic_version SET version_num = 'ffff9999'")
    with pytest.raises(DagwrightStorageError, match="ffff9999"):
        ensure_schema(engine)
    with pytest.raises(DagwrightStorageError, match="does not know"):
        Storage.open(str(engine.url.render_as_string(hide_password=False)))


def test_foreign_tables_without_a_revision_are_refused(engine: Engine) -> None:
    execute(engine, "CREATE TABLE runs (id INTEGER PRIMARY KEY)")
    with pytest.raises(DagwrightStorageError, match="not made by dagwright"):
        ensure_schema(engine)


def test_concurrent_first_opens_create_the_schema_once(storage_url: str) -> None:
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def open_and_add(n: int) -> None:
        engine = create_engine_for(storage_url)
        try:
            barrier.wait()
            ensure_schema(engine)
            storage = Storage(storage_url, Database(engine))
            storage.runs.add_run(Run(run_id=f"r{n}", job_name="j", status=RunStatus.QUEUED))
        except BaseException as exc:
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=open_and_add, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    storage = Storage.open(storage_url)
    try:
        assert storage.runs.get_runs_count() == 4
    finally:
        storage.close()


def test_current_database_opens_without_importing_alembic(storage_url: str) -> None:
    Storage.open(storage_url).close()  # create it
    script = (
        "import sys\n"
        "from dagwright.storage import Storage\n"
        f"Storage.open({storage_url!r}).close()\n"
        "print('alembic' in sys.modules, 'alembic.config' in sys.modules)\n"
    )
    src = str(Path(dagwright.storage.__file__).parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.split() == ["False", "False"]


def test_in_memory_database_has_the_schema() -> None:
    storage = Storage.open("sqlite://")
    try:
        with storage.database.read() as conn:
            version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            assert version == HEAD_REVISION
            assert connection_diffs(conn) == []
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        storage.close()


def test_in_memory_databases_are_private_to_their_storage() -> None:
    first, second = Storage.open("sqlite://"), Storage.open("sqlite://")
    try:
        first.runs.add_run(Run(run_id="only-in-first", job_name="j", status=RunStatus.QUEUED))
        assert first.runs.get_runs_count() == 1
        assert second.runs.get_runs_count() == 0
    finally:
        first.close()
        second.close()


def test_file_database_settings(tmp_path: Path) -> None:
    storage = Storage.open(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with storage.engine.connect() as conn:
            pragma = conn.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA synchronous").scalar() == 2  # FULL: commits survive a crash
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA busy_timeout").scalar() == 30000
    finally:
        storage.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@h/db", "unsupported database url"),
        ("postgresql+psycopg2://u@h/db", "unsupported database url"),
        ("not a url", "invalid database url"),
        ("postgresql://nobody@127.0.0.1:1/nothing", "cannot open the database on postgresql"),
    ],
)
def test_bad_urls_raise_storage_errors(url: str, message: str) -> None:
    with pytest.raises(DagwrightStorageError, match=message):
        Storage.open(url)


def test_missing_sqlite_directory_raises_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(DagwrightStorageError, match="cannot open the database on sqlite"):
        Storage.open(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")


def test_bare_postgresql_url_uses_psycopg() -> None:
    engine = create_engine_for("postgresql://u@h/db")
    assert engine.url.drivername == "postgresql+psycopg"
    engine.dispose()
