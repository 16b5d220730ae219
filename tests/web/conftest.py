"""Fixtures of the web tests: an instance with a home on SQLite or PostgreSQL, the loaded
test jobs, and the ASGI test client of an app built over them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dagwright import Instance

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from dagwright.definitions.container import Definitions

#: The base URL test clients use (the app answers only to loopback names without a token).
BASE_URL = "http://127.0.0.1"


def web_definitions() -> Definitions:
    """The jobs of ``tests/jobs/web.py`` and ``tests/jobs/flaky.py``."""
    from dagwright.definitions.container import Definitions
    from tests.jobs import flaky, web

    return Definitions(jobs=[web.documented, web.configured, flaky.flaky])


@pytest.fixture
def web_instance(
    storage_url: str, tmp_path: Path, flag: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Instance]:
    """An instance with a home, its runs stored in SQLite or PostgreSQL (run workers
    inherit the database through ``DAGWRIGHT_PG_URL``)."""
    if storage_url.startswith("postgresql"):
        monkeypatch.setenv("DAGWRIGHT_PG_URL", storage_url)
    else:
        monkeypatch.delenv("DAGWRIGHT_PG_URL", raising=False)
    with Instance.from_home(tmp_path / "home") as opened:
        yield opened


@pytest.fixture
def client(web_instance: Instance) -> Iterator[TestClient]:
    """The ASGI test client of an app over :func:`web_instance` and the test jobs."""
    from fastapi.testclient import TestClient

    from dagwright.web.app import create_app

    with TestClient(create_app(web_instance, web_definitions()), base_url=BASE_URL) as test:
        yield test
