"""Driver-level storage without SQLAlchemy (what a run worker opens), on SQLite and PostgreSQL.

A :class:`RecordStore` opened next to a :class:`Storage` on the same database must see and
make exactly the same records.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dagwright.errors import DagwrightRunNotFoundError, DagwrightStorageError
from dagwright.execution.events import Event, EventType
from dagwright.runs.models import Run, RunsFilter, RunStatus
from dagwright.storage import Storage
from dagwright.storage.driver import DriverDatabase, DriverUrl
from dagwright.storage.records import RecordStore


@pytest.fixture
def records(storage: Storage, storage_url: str) -> Iterator[RecordStore]:
    store = RecordStore(DriverDatabase(storage_url))
    try:
        yield store
    finally:
        store.close()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///relative.db", DriverUrl(False, "relative.db")),
        ("sqlite:////abs/path/dagwright.db", DriverUrl(False, "/abs/path/dagwright.db")),
        ("sqlite:///with%20space.db", DriverUrl(False, "with space.db")),
        ("sqlite://", DriverUrl(False, "")),
        ("sqlite:///:memory:", DriverUrl(False, "")),
        ("postgresql+psycopg://u:pw@h:5433/db", DriverUrl(True, "postgresql://u:pw@h:5433/db")),
        ("postgres://u@h/db", DriverUrl(True, "postgresql://u@h/db")),
    ],
)
def test_urls_are_read_for_the_driver(url: str, expected: DriverUrl) -> None:
    assert DriverUrl.parse(url) == expected


@pytest.mark.parametrize("url", ["mysql://u@h/db", "sqlite", "", "http://x"])
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(DagwrightStorageError, match="unsupported database url"):
        DriverUrl.parse(url)


def test_messages_never_show_the_password() -> None:
    database = DriverDatabase("postgresql+psycopg://me:s3cret@db.internal:6543/runs")
    assert database.describe() == "postgresql at db.internal:6543/runs"
    assert "s3cret" not in str(database.error(RuntimeError("boom")))


def test_an_unreachable_database_is_a_storage_error(tmp_path: Path) -> None:
    database = DriverDatabase(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}")
    with pytest.raises(DagwrightStorageError, match="cannot open the database on sqlite at"):
        database.driver_read().__enter__()


def test_records_and_storage_see_the_same_runs(storage: Storage, records: RecordStore) -> None:
    records.runs.add_run(Run("r1", "job", RunStatus.NOT_STARTED, tags={"team": "docs"}))
    assert storage.runs.get_runs(RunsFilter(tags={"team": "docs"}))[0].run_id == "r1"
    tagged = records.runs.add_run_tags("r1", {"team": "ml", "env": "prod"})
    assert tagged.tags == {"team": "ml", "env": "prod"}
    assert storage.runs.get_runs_count(RunsFilter(tags={"team": "docs"})) == 0
    assert storage.runs.get_runs_count(RunsFilter(tags={"team": "ml", "env": "prod"})) == 1
    untagged = records.runs.remove_run_tags("r1", ["env", "absent"])
    assert untagged.tags == {"team": "ml"}
    assert storage.runs.get_run("r1") == records.runs.get_run("r1") == untagged
    assert records.runs.get_run("nope") is None
    with pytest.raises(DagwrightRunNotFoundError):
        records.runs.add_run_tags("nope", {"a": "b"})
    with pytest.raises(DagwrightStorageError, match="already exists"):
        records.runs.add_run(Run("r1", "job", RunStatus.NOT_STARTED))


def test_records_write_events_and_status_changes(storage: Storage, records: RecordStore) -> None:
    storage.runs.add_run(Run("r1", "job", RunStatus.STARTING))
    start = Event("r1", EventType.RUN_START, 10.0)
    stored, changed = records.events.store_event(start)
    assert changed is not None and changed.status is RunStatus.STARTED
    records.events.store_event(Event("r1", EventType.ENGINE, 11.0, message="hello"))
    records.events.store_event(Event("r1", EventType.RUN_SUCCESS, 12.0))
    assert storage.runs.get_run("r1") == records.runs.get_run("r1")
    assert storage.runs.get_runs_count(RunsFilter(statuses=[RunStatus.SUCCESS])) == 1
    every = records.events.get_events("r1")
    assert [e.event_type for e in every] == [E.RUN_START, E.ENGINE, E.RUN_SUCCESS]
    assert records.events.get_events("r1", after=stored.storage_id, limit=1) == every[1:2]
    assert every == storage.events.get_events("r1")


def test_worker_rows_of_many_runs_are_read_in_chunks(
    storage: Storage, records: RecordStore
) -> None:
    ids = [f"r{i}" for i in range(1234)]
    storage.runs.add_runs([Run(run_id, "job", RunStatus.STARTED) for run_id in ids])
    for run_id in ids[::2]:
        records.workers.register(run_id, pid=7, host="h", now=1.0)
    records.workers.beat("r0", 2.0)
    found = storage.workers.get_many(ids)
    assert sorted(found) == sorted(ids[::2])
    assert found["r0"].heartbeat_at == 2.0 and found["r2"].pid == 7
    assert records.workers.get("r1") is None


def test_a_worker_is_claimed_once_and_a_stale_claim_is_taken_over(storage: Storage) -> None:
    for run_id in ("r1", "r2"):
        storage.runs.add_run(Run(run_id, "j", RunStatus.NOT_STARTED, created_at=0.0))
    workers = storage.workers
    assert workers.claim("r1", host="a", now=10.0)
    assert not workers.claim("r1", host="b", now=11.0)  # claimed: no second worker
    assert not workers.claim("r1", host="b", now=11.0, stale_before=5.0)  # not stale yet
    assert workers.claim("r1", host="b", now=50.0, stale_before=40.0)  # its claimant died
    assert not workers.claim("r1", host="c", now=50.0, stale_before=40.0)  # once only
    claimed = workers.get("r1")
    assert claimed is not None and (claimed.host, claimed.pid) == ("b", None)
    workers.register("r2", pid=7, host="a", now=10.0)  # a started worker is never taken
    assert not workers.claim("r2", host="b", now=50.0, stale_before=40.0)
    with pytest.raises(DagwrightRunNotFoundError):
        workers.claim("nope", host="a", now=1.0)


def test_the_record_store_imports_no_sqlalchemy() -> None:
    code = (
        "import sys\n"
        "from dagwright.storage.records import RecordStore\n"
        "from dagwright.storage.driver import DriverDatabase\n"
        "from dagwright.instance import Instance\n"
        "Instance.for_run_worker('.', 'sqlite://').records.runs.get_run\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'pydantic'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


E = EventType


#: ``PRAGMA synchronous`` answers with a number.
SYNCHRONOUS = {"OFF": 0, "NORMAL": 1, "FULL": 2, "EXTRA": 3}


@pytest.mark.parametrize("level", [None, "NORMAL", "OFF", "EXTRA"])
def test_sqlite_commits_are_synced_on_every_kind_of_connection(
    tmp_path: Path, level: str | None
) -> None:
    """FULL by default (a commit survives an OS crash); a home may opt out."""
    from dagwright.storage.driver import StorageOptions

    options = StorageOptions() if level is None else StorageOptions(sqlite_synchronous=level)
    expected = SYNCHRONOUS[level or "FULL"]
    url = f"sqlite:///{tmp_path / 'durable.db'}"
    storage = Storage.open(url, options)
    records = RecordStore(DriverDatabase(url, options))
    try:
        with storage.engine.connect() as conn:  # SQLAlchemy's pool
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == expected
        for database in (storage.database, records.database):  # driver transactions
            with database.driver_read() as cursor:
                cursor.execute("PRAGMA synchronous")
                assert cursor.fetchone()[0] == expected
    finally:
        records.close()
        storage.close()


@pytest.mark.parametrize("kind", ["driver", "pool"])
def test_a_write_that_need_not_wait_for_the_disk_leaves_the_connection_durable(
    tmp_path: Path, kind: str
) -> None:
    """A log line commits with NORMAL (synced by the next durable commit); the connection
    (the driver's own, or one of the SQLAlchemy pool) is FULL again afterwards, also when
    the transaction failed."""
    url = f"sqlite:///{tmp_path / 'relaxed.db'}"
    storage = Storage.open(url)
    database = storage.database if kind == "pool" else DriverDatabase(url)

    def level() -> int:
        with database.driver_read() as cursor:
            cursor.execute("PRAGMA synchronous")
            found: int = cursor.fetchone()[0]
            return found

    try:
        with database.driver_write(durable=False) as cursor:
            cursor.execute("PRAGMA synchronous")
            assert cursor.fetchone()[0] == SYNCHRONOUS["NORMAL"]
        assert level() == SYNCHRONOUS["FULL"]
        with pytest.raises(ZeroDivisionError), database.driver_write(durable=False):
            1 / 0  # noqa: B018
        assert level() == SYNCHRONOUS["FULL"]
        with database.driver_write() as cursor:
            cursor.execute("PRAGMA synchronous")
            assert cursor.fetchone()[0] == SYNCHRONOUS["FULL"]
    finally:
        database.close()
        storage.close()
