"""``Instance``: homes, settings, and the run facade over SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.jobs import scheduled

from dagwright import (
    DagwrightInvalidConfigError,
    DagwrightInvalidTagError,
    DagwrightInvalidTransitionError,
    DagwrightNotFoundError,
    DagwrightRunNotFoundError,
    Event,
    EventType,
    Instance,
    InstigatorKind,
    InstigatorStatus,
    Run,
    RunsFilter,
    RunStatus,
    job,
    op,
)


@op
def hello() -> str:
    return "hi"


@job(tags={"team": "core"})
def greet() -> None:
    hello()


@pytest.fixture
def instance(any_instance: Instance) -> Instance:
    """An instance whose home configures the parametrised store (SQLite file or PostgreSQL)."""
    return any_instance


def test_runs_are_stored_in_the_configured_store(instance: Instance, storage_url: str) -> None:
    assert instance.storage.dialect == storage_url.split(":")[0].split("+")[0]
    result = greet.execute_in_process(instance=instance, tags={"env": "prod"})
    other = greet.execute_in_process(instance=instance, tags={"env": "dev"})
    found = instance.get_runs(RunsFilter(tags={"env": "prod", "team": "core"}))
    assert [r.run_id for r in found] == [result.run_id]
    assert instance.get_runs_count(RunsFilter(job_name="greet")) == 2
    assert instance.get_run_tag_keys() == ["env", "team"]
    assert instance.get_run_tag_values("env") == [("dev", 1), ("prod", 1)]
    assert instance.get_run_tag_values("team") == [("core", 2)]
    page = instance.get_runs(limit=1)
    assert [r.run_id for r in page] == [other.run_id]
    assert [r.run_id for r in instance.get_runs(limit=1, cursor=page[0].run_id)] == [result.run_id]


def test_update_run_tags_checks_everything_before_storing(instance: Instance) -> None:
    run_id = greet.execute_in_process(instance=instance).run_id
    with pytest.raises(DagwrightInvalidTagError, match="system tags cannot be removed"):
        instance.update_run_tags(run_id, add={"ok": "1"}, remove=["dagwright/partition"])
    with pytest.raises(DagwrightInvalidTagError, match="both added and removed"):
        instance.update_run_tags(run_id, add={"ok": "1"}, remove=["ok"])
    with pytest.raises(DagwrightInvalidTagError, match="reserved"):
        instance.add_run_tags(run_id, {"fine": "1", "dagwright/backfill": "x"})
    run = instance.get_run(run_id)
    assert run is not None and dict(run.tags) == {"team": "core"}
    run = instance.update_run_tags(run_id, add={"owner": "ana", "n": 2}, remove=["team"])
    assert dict(run.tags) == {"owner": "ana", "n": "2"}
    assert instance.get_runs(RunsFilter(tags={"team": "core"})) == []
    assert instance.remove_run_tags(run_id, ["owner"]).tags == {"n": "2"}


def test_unknown_runs(instance: Instance) -> None:
    assert instance.get_run("nope") is None
    for call in (
        lambda: instance.add_run_tags("nope", {"a": "b"}),
        lambda: instance.remove_run_tags("nope", ["a"]),
        lambda: instance.delete_run("nope"),
        lambda: instance.get_events("nope"),
        lambda: instance.get_runs(cursor="nope"),
    ):
        with pytest.raises(DagwrightRunNotFoundError, match="nope"):
            call()


def test_delete_refuses_a_run_in_progress_and_deletes_a_finished_one(instance: Instance) -> None:
    run = instance.add_run(
        Run(
            run_id="r1",
            job_name="greet",
            status=RunStatus.NOT_STARTED,
            tags={"a": "b"},
            created_at=time.time(),
        )
    )
    instance.handle_event(Event(run.run_id, EventType.RUN_START, time.time()))
    with pytest.raises(
        DagwrightInvalidTransitionError, match=r"from STARTED to deleted: terminate it first$"
    ):
        instance.delete_run("r1")
    _, ended = instance.handle_event(Event(run.run_id, EventType.RUN_SUCCESS, time.time()))
    assert ended is not None and ended.status is RunStatus.SUCCESS
    instance.delete_run("r1")
    assert instance.get_run("r1") is None
    assert instance.get_run_tag_keys() == []


def test_illegal_transition_is_refused_and_stores_nothing(instance: Instance) -> None:
    result = greet.execute_in_process(instance=instance)
    before = instance.get_events(result.run_id)
    with pytest.raises(DagwrightInvalidTransitionError):
        instance.handle_event(Event(result.run_id, EventType.RUN_START, time.time()))
    assert instance.get_events(result.run_id) == before
    after_id = before[1].storage_id
    assert instance.get_events(result.run_id, after=after_id) == before[2:]


def test_from_home_creates_the_home_and_a_sqlite_database(tmp_path: Path) -> None:
    home = tmp_path / "a" / "b"
    with Instance.from_home(home) as instance:
        assert instance.home == home.resolve()
        assert instance.storage.dialect == "sqlite"
    assert (home / "dagwright.db").is_file()


def test_get_uses_dagwright_home_or_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGWRIGHT_PG_URL", raising=False)
    monkeypatch.setenv("DAGWRIGHT_HOME", str(tmp_path / "env-home"))
    with Instance.get() as instance:
        assert instance.home == (tmp_path / "env-home").resolve()
    monkeypatch.delenv("DAGWRIGHT_HOME")
    monkeypatch.chdir(tmp_path)
    with Instance.get() as instance:
        assert instance.home == (tmp_path / ".dagwright").resolve()


@pytest.mark.postgres
def test_pg_url_from_the_environment(
    pg_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGWRIGHT_HOME", str(tmp_path))
    monkeypatch.setenv("DAGWRIGHT_PG_URL", pg_database_url.replace("+psycopg", ""))
    with Instance.get() as instance:
        assert instance.storage.dialect == "postgresql"
        run_id = greet.execute_in_process(instance=instance).run_id
    with Instance.get() as instance:
        run = instance.get_run(run_id)
        assert run is not None and run.status is RunStatus.SUCCESS


def test_a_wrong_settings_file_names_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "dagwright.yaml").write_text("run_queue:\n  max_concurent_runs: 3\n")
    with pytest.raises(DagwrightInvalidConfigError) as info:
        Instance.from_home(tmp_path)
    assert str(tmp_path / "dagwright.yaml") in str(info.value)
    assert info.value.key == "run_queue.max_concurent_runs"


def test_ephemeral_instances_are_independent() -> None:
    with Instance.ephemeral() as first, Instance.ephemeral() as second:
        greet.execute_in_process(instance=first)
        assert first.get_runs_count() == 1
        assert second.get_runs_count() == 0


def test_a_home_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(
        DagwrightInvalidConfigError, match="cannot use as the dagwright home: it is a file"
    ):
        Instance.from_home(blocker)


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody may write: a read-only bind mount for root (whom permissions do not
    stop), a folder without write permission for anyone else."""
    import os
    import shutil
    import subprocess

    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    if shutil.which("mount") is None:
        pytest.skip("no mount command to make a read-only folder as root")
    subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True)
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_read_only_home_says_so(read_only_folder: Path) -> None:
    # It said "cannot open the database ...: unable to open database file".
    with pytest.raises(DagwrightInvalidConfigError, match="it is read-only"):
        Instance.from_home(read_only_folder)
    with pytest.raises(DagwrightInvalidConfigError, match=r"(?i)read-only"):
        Instance.from_home(read_only_folder / "new-home")


def test_a_file_that_is_not_a_database_is_a_storage_error(tmp_path: Path) -> None:
    from dagwright import DagwrightStorageError

    (tmp_path / "dagwright.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DagwrightStorageError, match=r"dagwright\.db"):
        Instance.from_home(tmp_path)


def test_a_run_worker_instance_opens_full_storage_only_when_asked(tmp_path: Path) -> None:
    with Instance.from_home(tmp_path) as made:
        assert made.storage_url is not None
        url = made.storage_url
    worker = Instance.for_run_worker(tmp_path, url)
    try:
        assert worker.get_run("nope") is None
        assert worker._storage is None  # nothing but the driver so far
        assert worker.get_runs() == []  # a listing opens the full storage
        assert worker.storage.url == url
        assert worker.settings.run_queue is None  # read from the home on first use
    finally:
        worker.close()


def test_a_current_home_opens_without_sqlalchemy_until_a_listing_needs_it(tmp_path: Path) -> None:
    """Launching a run (``dagwright job launch``) needs only the driver-level records;
    SQLAlchemy is imported on the first listing. A new home is created with it."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from dagwright import Instance\n"
        "from tests.jobs.simple import chain\n"
        f"instance = Instance.from_home({str(tmp_path)!r})\n"
        "chain.execute_in_process(instance=instance)\n"
        "print('sqlalchemy' in sys.modules)\n"
        "print(len(instance.get_runs()), 'sqlalchemy' in sys.modules)\n"
        "instance.close()\n"
    )
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == ["True", "1", "True"]  # a new home: schema made with it
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert again.stdout.split() == ["False", "2", "True"]


def test_once_the_full_storage_is_open_records_use_its_pool(
    tmp_path: Path, storage_url: str
) -> None:
    """A threaded server must not keep a database connection per thread: after the first
    listing, single-run reads and writes go through the storage's pool."""
    from concurrent.futures import ThreadPoolExecutor

    from dagwright.storage import Storage

    home = tmp_path / "home"
    home.mkdir()
    if storage_url.startswith("postgresql"):
        (home / "dagwright.yaml").write_text(f"storage:\n  postgres: {{url: '{storage_url}'}}\n")
    Instance.from_home(home).close()  # creates the schema
    with Instance.from_home(home) as instance:
        assert not isinstance(instance.records, Storage)
        assert instance.get_runs() == []
        assert instance.records is instance.storage
        with ThreadPoolExecutor(max_workers=30) as pool:
            assert list(pool.map(instance.get_run, [f"r{i}" for i in range(300)])) == [None] * 300
        if storage_url.startswith("postgresql"):
            database = storage_url.rsplit("/", 1)[1]
            with instance.storage.engine.connect() as conn:
                from sqlalchemy import text

                count = conn.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d"),
                    {"d": database},
                ).scalar()
            assert count is not None and count <= 16  # the pool (5 + 10 overflow) and one


def test_set_instigator_status_checks_the_name_against_the_definitions(
    instance: Instance,
) -> None:
    running = InstigatorStatus.RUNNING
    with pytest.raises(DagwrightNotFoundError, match="schedule 'files' not found"):
        instance.set_instigator_status(
            "files", InstigatorKind.SCHEDULE, running, definitions=scheduled.defs
        )
    assert instance.get_instigator_states() == []  # nothing stored
    state = instance.set_instigator_status(
        "files", InstigatorKind.SENSOR, running, definitions=scheduled.defs
    )
    assert (state.name, state.status, state.stored) == ("files", running, True)


def test_get_instigators_reads_states_and_newest_ticks(instance: Instance) -> None:
    sensor = InstigatorKind.SENSOR
    instance.set_instigator_status("broken", sensor, InstigatorStatus.RUNNING)
    made = [instance.storage.schedules.create_tick("files", sensor, float(i)) for i in range(3)]
    rows = instance.get_instigators(scheduled.defs, sensor, ticks=2)
    assert [(r.definition, r.state.status, r.state.stored) for r in rows] == [
        (scheduled.files, InstigatorStatus.STOPPED, False),
        (scheduled.broken, InstigatorStatus.RUNNING, True),
    ]
    assert [r.ticks for r in rows] == [made[:0:-1], []]
    (one,) = instance.get_instigators(scheduled.defs, sensor, name="files", ticks=0)
    assert (one.definition, one.ticks) == (scheduled.files, [])
    with pytest.raises(DagwrightNotFoundError, match="sensor 'nightly' not found"):
        instance.get_instigators(scheduled.defs, sensor, name="nightly", ticks=1)
