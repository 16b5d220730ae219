"""The runs page's query box in a real browser: ``?q=`` kept in the URL and the box, an
inline error with the text kept, completion of keys and values, chips adding terms."""

from __future__ import annotations

import re
import time
from typing import Any

from tests.web.test_browser import page, served  # noqa: F401 (fixtures)

from dagwright import Instance, Run, RunsFilter, RunStatus


def _store(instance: Instance) -> None:
    if instance.get_run("q-0") is not None:
        return
    now = time.time()
    tag_sets = [
        {"squad": "alpha", "zone": "eu"},
        {"squad": "alpha", "zone": "us"},
        {"squad": "beta", "zone": "eu"},
    ]
    instance.storage.runs.add_runs(
        [
            Run(f"q-{i}", "documented", RunStatus.SUCCESS, tags, created_at=now + i)
            for i, tags in enumerate(tag_sets)
        ]
    )


def test_the_query_box_filters_keeps_its_text_and_shows_errors_inline(
    page: Any,  # noqa: F811
    served: tuple[Instance, str],  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    _store(served[0])
    page.goto("/runs")
    box = page.locator("#runs-q")
    box.fill("squad:alpha -zone:us")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/runs\?q=squad%3Aalpha\+-zone%3Aus(&|$)"))
    rows = page.locator("table.runs tbody tr[data-run-id]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-run-id", "q-0")
    expect(box).to_have_value("squad:alpha -zone:us")

    # a chip adds its tag to the query as a term
    page.locator('tr[data-run-id="q-0"] a.chip[data-tag="zone=eu"]').click()
    expect(box).to_have_value("squad:alpha -zone:us zone:eu")
    expect(rows).to_have_count(1)

    box.fill("squad:alpha OR")
    box.press("Enter")
    error = page.locator("#q-error")
    expect(error).to_contain_text("position 14")
    expect(error).to_contain_text("expected a term")
    expect(page.locator(".query-caret")).to_have_text("squad:alpha OR\n" + " " * 14 + "^")
    expect(box).to_have_value("squad:alpha OR")
    expect(box).to_have_attribute("aria-invalid", "true")


def test_the_query_box_completes_keys_and_values(
    page: Any,  # noqa: F811
    served: tuple[Instance, str],  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    _store(served[0])
    page.goto("/runs")
    box = page.locator("#runs-q")
    options = page.locator("#q-suggestions option")
    box.press_sequentially("-squ")
    expect(options).to_have_count(1)
    expect(options.first).to_have_attribute("value", "-squad:")
    box.fill("")
    box.press_sequentially("zone:eu squad:al")
    expect(options).to_have_count(1)
    expect(options.first).to_have_attribute("value", "zone:eu squad:alpha")
    box.fill("")
    box.press_sequentially("(squad:beta,")
    expect(options).to_have_count(2)
    values = {options.nth(i).get_attribute("value") for i in range(2)}
    assert values == {"(squad:beta,alpha", "(squad:beta,beta"}


def test_a_bulk_action_shows_the_count_asks_then_follows_its_progress(
    page: Any,  # noqa: F811
    served: tuple[Instance, str],  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    instance = served[0]
    _store(instance)
    page.goto("/runs?q=squad%3Aalpha")
    page.locator("details[data-bulk] summary").click()
    page.locator("[data-bulk-action]").select_option("add_tags")
    page.locator("[data-bulk-param]").fill("checked=yes")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("[data-bulk-count]")).to_contain_text("2 run(s) match")
    assert instance.get_runs_count(RunsFilter.parse("checked:yes")) == 0  # asked first
    page.locator("[data-bulk-confirm]").click()
    progress = page.locator("[data-bulk-progress]")
    expect(progress).to_have_attribute("data-status", "DONE")
    expect(progress).to_contain_text("2 done, 0 refused of 2")
    tagged = instance.get_runs(RunsFilter.parse("checked:yes"))
    assert sorted(r.run_id for r in tagged) == ["q-0", "q-1"]

    page.locator("[data-bulk-action]").select_option("set_priority")
    page.locator("[data-bulk-param]").fill("high")
    page.get_by_role("button", name="Preview").click()
    expect(progress).to_have_text("set priority: write a whole number")
