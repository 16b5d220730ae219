"""Fixtures of the web tests: an instance with a home on SQLite or PostgreSQL, the loaded
test jobs, and the ASGI test client of an app built over them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from dagwright import Instance

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from dagwright.definitions.container import Definitions

#: The base URL test clients use (the app answers only to loopback names and allowed hosts).
BASE_URL = "http://127.0.0.1"


def web_definitions() -> Definitions:
    """The jobs, schedule and sensors of ``tests/jobs/web.py``, and ``tests/jobs/flaky.py``."""
    from tests.jobs import flaky, web

    from dagwright.definitions.container import Definitions

    return Definitions(
        jobs=[web.documented, web.configured, flaky.flaky, web.coloured],
        schedules=[web.nightly_docs],
        sensors=[web.colour_files, web.broken_colours],
    )


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


@pytest.fixture
def queued_client(queued_instance: Instance) -> Iterator[TestClient]:
    """The test client of an app over an instance whose runs wait in the queue (no run
    processes: schedules, sensors and backfills submit runs without running them)."""
    from fastapi.testclient import TestClient

    from dagwright.web.app import create_app

    with TestClient(create_app(queued_instance, web_definitions()), base_url=BASE_URL) as test:
        yield test


# --------------------------------------------------------------------------------------
# Browser tests: one Chromium per session (Debian's), one real server per module.
# --------------------------------------------------------------------------------------

#: Debian's Chromium (Playwright cannot download browsers here; `make test` installs it).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium (a missing browser fails under CI=true, else skips)."""
    import os

    if not CHROMIUM.exists():
        message = f"no browser at {CHROMIUM} (apt-get install chromium, or make test)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class LiveServer:
    """The app served by uvicorn on 127.0.0.1 and a free port, in a thread of this process."""

    def __init__(self, app: Any) -> None:
        import threading

        import uvicorn

        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="live-server", daemon=True)

    def __enter__(self) -> LiveServer:
        from tests.waiting import wait_for

        self.thread.start()
        wait_for(lambda: self.server.started, 30, "the web server started")
        return self

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)
