"""Shared fixtures. Each group is marked by a header; add new groups below the last one."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from dagwright import Instance
    from dagwright.storage import Storage

# --------------------------------------------------------------------------------------
# Storage: a database URL and an open Storage, parametrised over SQLite and PostgreSQL.
# dagwright.storage (and so SQLAlchemy) is imported lazily, inside the fixtures.
# --------------------------------------------------------------------------------------

#: The PostgreSQL database used to create and drop one throwaway database per test.
PG_ADMIN_URL = os.environ.get(
    "DAGWRIGHT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _pg_unavailable(reason: str) -> None:
    message = f"PostgreSQL not reachable at {PG_ADMIN_URL} ({reason}); set DAGWRIGHT_TEST_PG_URL"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def pg_database_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (``dagwright_test_<hex>``), dropped afterwards."""
    with fresh_pg_database() as url:
        yield url


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database, dropped on exit (for fixtures of any
    scope)."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"dagwright_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(_libpq_url(PG_ADMIN_URL), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        _pg_unavailable(str(exc).strip().splitlines()[0])
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        finally:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'dagwright.db'}"
    url: str = request.getfixturevalue("pg_database_url")
    return url


@pytest.fixture
def storage(storage_url: str) -> Iterator[Storage]:
    """An open Storage on :func:`storage_url`, closed afterwards."""
    from dagwright.storage import Storage

    opened = Storage.open(storage_url)
    try:
        yield opened
    finally:
        opened.close()


# --------------------------------------------------------------------------------------
# Launched runs: a home for an instance, and the flag file of tests/jobs/flaky.py.
# --------------------------------------------------------------------------------------


@pytest.fixture
def flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The flaky jobs' flag file (not created: ``unstable`` fails until a test touches it);
    run workers inherit its path through the environment."""
    from tests.jobs.flaky import FLAG_ENV

    path = tmp_path / "flag"
    monkeypatch.setenv(FLAG_ENV, str(path))
    return path


@pytest.fixture
def instance(tmp_path: Path, flag: Path) -> Iterator[Instance]:
    """An instance with a home (so it launches runs in worker processes)."""
    from dagwright import Instance

    with Instance.from_home(tmp_path / "home") as opened:
        yield opened


@pytest.fixture
def any_instance(storage_url: str, tmp_path: Path, flag: Path) -> Iterator[Instance]:
    """An instance whose home configures the parametrised store (SQLite file or
    PostgreSQL); its run workers read the same home."""
    from dagwright import Instance

    home = tmp_path / "home"
    home.mkdir()
    if storage_url.startswith("postgresql"):
        (home / "dagwright.yaml").write_text(f"storage:\n  postgres:\n    url: {storage_url}\n")
    with Instance.from_home(home) as opened:
        yield opened


# --------------------------------------------------------------------------------------
# Schedules, sensors, backfills: an instance whose runs wait in the queue (no processes),
# on SQLite and PostgreSQL; the per-backfill limit is 1.
# --------------------------------------------------------------------------------------

QUEUED_HOME_CONFIG = """
run_queue:
  max_concurrent_runs: 10
  tag_concurrency_limits:
    - {key: dagwright/backfill, value: {applyLimitPerUniqueValue: true}, limit: 1}
"""


@pytest.fixture
def queued_home(tmp_path: Path, storage_url: str) -> Path:
    """A home whose ``dagwright.yaml`` queues runs, on :func:`storage_url`."""
    home = tmp_path / "queued-home"
    home.mkdir()
    config = QUEUED_HOME_CONFIG
    if storage_url.startswith("postgresql"):
        config += f"storage:\n  postgres:\n    url: {storage_url}\n"
    (home / "dagwright.yaml").write_text(config)
    return home


@pytest.fixture
def queued_instance(queued_home: Path) -> Iterator[Instance]:
    """An instance on :func:`queued_home`."""
    from dagwright import Instance

    with Instance.from_home(queued_home) as opened:
        yield opened


# --------------------------------------------------------------------------------------
# Code version metadata: off for the test jobs (they live in this repository's work tree,
# and many tests compare a job's metadata or a run's tags exactly). Set at import, before
# the test modules import tests.jobs; the code version tests turn it on (monkeypatch).
# --------------------------------------------------------------------------------------

os.environ["DAGWRIGHT_GIT_METADATA"] = "0"


# --------------------------------------------------------------------------------------
# The web app builds its API in a background thread after the first page. FastAPI's build
# wraps parts in warnings.catch_warnings(), which swaps the process-wide warning filters:
# racing pytest's own per-test catch_warnings (with "error" filters) in the main thread, it
# can leave either side with the other's filters. In-process tests build it in the thread
# that asked instead (servers started as processes keep the background build).
# --------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _api_built_in_the_asking_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    from dagwright.web.app import LazyApp

    monkeypatch.setattr(LazyApp, "warm", LazyApp.get)
