"""The jobs page of a server started with a workspace, in a real browser: both jobs named
``nightly`` are listed with their code locations, and each link opens its own job."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import LiveServer
from tests.web.test_workspace import example_workspace

from dagwright import Instance
from dagwright.web.app import create_app

#: How long a page may take to show what a test waits for.
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a live server over an SQLite home and the example workspace."""
    home: Path = tmp_path_factory.mktemp("browser-workspace") / "home"
    with (
        Instance.from_home(home) as instance,
        LiveServer(create_app(instance, example_workspace())) as server,
    ):
        yield server.url


def test_the_jobs_page_shows_both_same_named_jobs(browser: Any, served: str) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(base_url=served)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto("/jobs")
        rows = page.locator("table.jobs tbody tr")
        expect(rows).to_have_count(4)
        nightly = rows.filter(has=page.locator("a.job-name", has_text="nightly"))
        expect(nightly).to_have_count(2)
        expect(nightly.locator("td.location")).to_have_text(["etl", "ml"])
        nightly.nth(1).locator("a.job-name").click()
        expect(page).to_have_url(f"{served}/jobs/nightly%40ml")
        expect(page.locator("h1")).to_contain_text("nightly")
        expect(page.locator("h1 .location")).to_have_text("@ml")
        page.go_back()
        nightly.nth(0).locator("a.job-name").click()
        expect(page.locator("h1 .location")).to_have_text("@etl")
    finally:
        context.close()
    assert errors == []
