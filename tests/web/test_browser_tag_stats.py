"""The tag analytics page in a real browser: the values' rows and rates, the SVG bars with
their counts in their titles, the window presets, a value's link to its runs, the index of
keys; all without a request leaving the server (and, by the ``page`` fixture, without a
Content-Security-Policy violation)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from tests.web.test_browser import page, served  # noqa: F401 (fixtures)
from tests.web.test_tag_stats import add_run, today

from dagwright import Instance
from dagwright.runs.tag_stats import day_iso


def _store(instance: Instance) -> None:
    """team=docs: 5 runs over the last days (2 failed), one 60 days ago; team=ml: 3
    successes two days ago."""
    if instance.get_run_tag_keys():
        return
    docs = {"team": "docs"}
    add_run(instance, docs, 0, "success", 5.0)
    for outcome in ("success", "success", "failure"):
        add_run(instance, docs, 1, outcome, 20.0)
    add_run(instance, docs, 5, "failure", 40.0)
    add_run(instance, docs, 60, "success")
    for _ in range(3):
        add_run(instance, {"team": "ml"}, 2, "success", 3.0)


@pytest.fixture
def local(page: Any, served: tuple[Instance, str]) -> Iterator[list[str]]:  # noqa: F811
    """The requests the page makes anywhere but the server (answered with an abort)."""
    elsewhere: list[str] = []

    def only_here(route: Any) -> None:
        if route.request.url.startswith(served[1] + "/"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_here)
    page.on("request", lambda r: None if r.url.startswith(served[1]) else elsewhere.append(r.url))
    yield elsewhere
    assert elsewhere == [], f"the page asked for {elsewhere}"


def test_the_page_shows_rates_bars_presets_and_links_to_runs(
    page: Any,  # noqa: F811
    served: tuple[Instance, str],  # noqa: F811
    local: list[str],
) -> None:
    from playwright.sync_api import expect

    _store(served[0])
    page.goto("/tag-stats/team")
    docs = page.locator('#tag-stats-table tr[data-value="docs"]')
    expect(docs.locator('[data-field="runs"]')).to_have_text("5")
    expect(docs.locator('[data-field="succeeded"]')).to_have_text("3")
    expect(docs.locator('[data-field="failed"]')).to_have_text("2")
    expect(docs.locator(".rate-text")).to_have_text("60.0%")
    ml = page.locator('#tag-stats-table tr[data-value="ml"]')
    expect(ml.locator(".rate-text")).to_have_text("100%")
    expect(ml.locator('[data-field="p50"]')).to_have_text(re.compile(r"^3\.0 s$"))
    assert page.locator("#tag-stats-table tbody tr").count() == 2

    # a bar per day of the window, its counts in its title, failures stacked at the bottom
    chart = page.locator('section.tag-chart[data-value="docs"] svg.tag-days')
    expect(chart.locator("g.day")).to_have_count(30)
    yesterday = chart.locator(f'g.day[data-day="{day_iso(today() - 1)}"]')
    expect(yesterday.locator("title")).to_have_text(
        f"{day_iso(today() - 1)}: 3 runs, 1 failed, 2 succeeded"
    )
    expect(chart.locator(f'g.day[data-day="{day_iso(today() - 2)}"] title')).to_have_text(
        f"{day_iso(today() - 2)}: no runs"
    )
    expect(chart.locator("rect.bar-failed")).to_have_count(2)
    failed = yesterday.locator("rect.bar-failed").bounding_box()
    succeeded = yesterday.locator("rect.bar-succeeded").bounding_box()
    assert failed["height"] > 0 and succeeded["height"] == pytest.approx(
        2 * failed["height"], rel=0.05
    )
    assert succeeded["y"] + succeeded["height"] == pytest.approx(failed["y"], abs=0.5)
    today_bar = chart.locator(f'g.day[data-day="{day_iso(today())}"] rect.bar-succeeded')
    assert today_bar.bounding_box()["height"] == pytest.approx(failed["height"], rel=0.05)
    expect(chart.locator("text[data-max]")).to_have_text("3")

    # the window presets: 90 days reaches the run 60 days ago, 7 days draws 7 bars
    page.locator('.presets a[data-days="90"]').click()
    expect(page).to_have_url(re.compile(r"/tag-stats/team\?days=90$"))
    expect(docs.locator('[data-field="runs"]')).to_have_text("6")
    expect(chart.locator("g.day")).to_have_count(90)
    page.locator('.presets a[data-days="7"]').click()
    expect(page).to_have_url(re.compile(r"days=7$"))
    expect(chart.locator("g.day")).to_have_count(7)
    expect(page.locator('.presets a[aria-current="true"]')).to_have_text("7 days")
    expect(page.locator("#window")).to_contain_text(f"{day_iso(today() - 6)} to {day_iso(today())}")

    # a value's link: the runs page filtered by the tag and the window
    docs.locator("td.tag-value a").click()
    expect(page).to_have_url(re.compile(r"/runs\?q=team%3Adocs\+created%3E"))
    expect(page.locator("table.runs tbody tr[data-run-id]")).to_have_count(5)
    expect(page.locator("#runs-q")).to_have_value(
        f"team:docs created>{day_iso(today() - 6)} created<{day_iso(today() + 1)}"
    )


def test_the_index_and_the_key_form_lead_to_a_key(
    page: Any,  # noqa: F811
    served: tuple[Instance, str],  # noqa: F811
    local: list[str],
) -> None:
    from playwright.sync_api import expect

    _store(served[0])
    page.goto("/runs")
    page.get_by_role("link", name="Tag stats", exact=True).click()
    expect(page).to_have_url(re.compile(r"/tag-stats$"))
    page.locator('#tag-keys a[data-key="team"]').click()
    expect(page).to_have_url(re.compile(r"/tag-stats/team$"))
    expect(page.locator("#tag-stats-table tbody tr")).to_have_count(2)
    form = page.locator("#tag-key-form")
    form.locator('input[name="key"]').fill("nobody")
    form.locator('button[type="submit"]').click()
    expect(page).to_have_url(re.compile(r"/tag-stats/nobody$"))
    expect(page.locator("#no-runs")).to_contain_text("has the tag nobody")
    page.goto("/tag-stats/team?days=nope")
    expect(page.locator(".error-message")).to_contain_text("days")
