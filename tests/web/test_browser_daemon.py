"""The daemon indicator in every page's header, in a real browser (Debian's Chromium via
Playwright) against a real server: red with a tooltip and a link to the daemon page while
no daemon runs; green once every expected loop has beaten."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import LiveServer, web_definitions

from dagwright import Instance
from dagwright.web.app import create_app

TIMEOUT_MS = 30_000
LOOPS = ("run_queue", "run_monitor", "run_retries", "backfills", "tag_stats")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Instance, str]]:
    """An instance whose home has a run queue, and the URL of a live server over it."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagwright.yaml").write_text("run_queue:\n  max_concurrent_runs: 1\n")
    with (
        Instance.from_home(home) as instance,
        LiveServer(create_app(instance, web_definitions())) as server,
    ):
        yield instance, server.url


@pytest.fixture
def page(browser: Any, served: tuple[Instance, str]) -> Iterator[Any]:
    context = browser.new_context(base_url=served[1])
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], f"the page raised: {errors}"


def _dot_colour(page: Any) -> str:
    colour: str = page.locator("#daemon-health .dot").evaluate(
        "dot => getComputedStyle(dot).backgroundColor"
    )
    return colour


def test_the_header_shows_a_missing_daemon_then_a_healthy_one(
    page: Any, served: tuple[Instance, str]
) -> None:
    from playwright.sync_api import expect

    instance, _ = served
    page.goto("/runs")
    indicator = page.locator("header #daemon-health")
    expect(indicator).to_have_text("daemon missing")
    expect(indicator).to_have_attribute("title", "no daemon is running (`dagwright daemon`): "
                                        "backfills: missing, run_monitor: missing, "
                                        "run_queue: missing, run_retries: missing, "
                                        "tag_stats: missing")  # fmt: skip
    assert _dot_colour(page) == "rgb(229, 72, 77)"  # red
    indicator.click()
    expect(page).to_have_url(f"{served[1]}/daemon")
    expect(page.locator('tr[data-loop="run_queue"]')).to_contain_text("no heartbeat")

    for name in LOOPS:
        instance.storage.workers.beat_daemon(
            name, "h:1", time.time(), host="h", pid=1, interval_seconds=1.0
        )
    page.goto("/queue")
    expect(indicator).to_have_text("daemon healthy")
    expect(indicator).to_have_attribute("data-state", "healthy")
    assert "1 daemon running (h:1)" in (indicator.get_attribute("title") or "")
    assert _dot_colour(page) == "rgb(47, 191, 91)"  # green
    expect(page.locator(".no-daemon")).to_have_count(0)
