"""The UI in a real browser (Debian's Chromium via Playwright) against a real server: the
metadata pane, filtering runs by a tag chip, launching from the launchpad with tags,
re-executing from the run page, toggling a schedule, launching a backfill from a job's page
and cancelling it, comparing a re-execution with its parent. Also: the page's inline tag
rules agree with ``tags.py``."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.jobs import web
from tests.web.conftest import LiveServer, web_definitions

from dagwright import Instance, Run, RunStatus
from dagwright.errors import DagwrightInvalidTagError
from dagwright.tags import normalize_tags
from dagwright.web.app import create_app

#: How long a page may take to show what a test waits for (runs launch real processes).
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Instance, str]]:
    """An instance (SQLite home) and the URL of a live server over it."""
    home: Path = tmp_path_factory.mktemp("browser") / "home"
    with (
        Instance.from_home(home) as instance,
        LiveServer(create_app(instance, web_definitions())) as server,
    ):
        yield instance, server.url


#: Run in every page before its own scripts: report each Content-Security-Policy violation
#: on the console (Chromium also logs one itself; this catches both ways).
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error("CSP violation: " + event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture
def page(browser: Any, served: tuple[Instance, str]) -> Iterator[Any]:
    """A fresh page; a JavaScript dialog (e.g. an ``alert`` from injected code), an error
    or a Content-Security-Policy violation fails it."""
    context = browser.new_context(base_url=served[1])
    context.add_init_script(REPORT_VIOLATIONS)
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    dialogs: list[str] = []
    opened.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    violations: list[str] = []
    opened.on("console", lambda message: _note_violation(message.text, violations))
    yield opened
    context.close()
    assert dialogs == [], f"a dialog was opened: {dialogs}"
    assert errors == [], f"the page raised: {errors}"
    assert violations == [], f"the Content-Security-Policy was violated: {violations}"


def _note_violation(text: str, violations: list[str]) -> None:
    if "CSP violation" in text or "Content Security Policy" in text:
        violations.append(text)


#: Every kind of page (the ids of runs and backfills are added by the test).
PAGES = ["/", "/jobs/documented", "/jobs/configured", "/jobs/configured/launchpad", "/runs",
         "/runs?status=SUCCESS", "/queue", "/schedules", "/schedules/nightly_docs", "/sensors",
         "/sensors/colour_files", "/backfills", "/tag-stats", "/tag-stats/team", "/nope",
         "/api/v1/docs"]  # fmt: skip


def test_no_page_violates_the_content_security_policy(
    page: Any, served: tuple[Instance, str]
) -> None:
    from playwright.sync_api import expect

    result = web.documented.execute_in_process(instance=served[0], tags={"team": "csp"})
    page.goto("/jobs/coloured")
    page.locator("#backfill-chosen").check()
    page.locator("#backfill-keys").select_option(["red"])
    page.locator("#launch-backfill").click()
    expect(page).to_have_url(re.compile(r"/backfills/[0-9a-f]{12}$"))
    for path in [*PAGES, f"/runs/{result.run_id}", page.url]:
        response = page.goto(path)
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp, path
        page.wait_for_load_state("load")
    page.goto("/nope")  # the error page's Back link goes back (app.js, no javascript: URL)
    page.get_by_role("link", name="Back", exact=True).click()
    expect(page).to_have_url(re.compile(r"/backfills/[0-9a-f]{12}$"))


def test_a_status_filter_applies_on_change(page: Any, served: tuple[Instance, str]) -> None:
    from playwright.sync_api import expect

    web.documented.execute_in_process(instance=served[0])
    page.goto("/runs")
    page.locator('select[name="status"]').select_option("SUCCESS")
    expect(page).to_have_url(re.compile(r"/runs\?.*status=SUCCESS"))
    page.goto("/backfills")
    page.locator('select[name="status"]').select_option("CANCELED")
    expect(page).to_have_url(re.compile(r"/backfills\?status=CANCELED"))


def test_the_api_docs_list_the_operations_without_internet(page: Any) -> None:
    from playwright.sync_api import expect

    elsewhere: list[str] = []

    def only_here(route: Any) -> None:
        url = route.request.url
        if url.startswith("http://127.0.0.1:"):
            route.continue_()
        else:
            elsewhere.append(url)
            route.abort()

    page.route("**/*", only_here)
    page.goto("/api/v1/docs")
    operations = page.locator(".opblock-summary-path")
    expect(operations.first).to_be_visible()
    expect(page.locator('.opblock-summary-path[data-path="/api/v1/runs"]').first).to_be_visible()
    assert operations.count() > 20
    assert elsewhere == [], f"the docs asked for {elsewhere}"


def test_metadata_pane_shows_links_markdown_and_runs_no_script(page: Any) -> None:
    from playwright.sync_api import expect

    page.goto("/jobs/documented")
    pane = page.get_by_role("complementary", name="metadata")
    link = pane.locator('a[href="https://docs.example.com/documented"]')
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", re.compile("noopener"))
    runbook = pane.locator('[data-meta-key="runbook"]')
    expect(runbook.locator("h2")).to_have_text("Runbook")
    expect(runbook.locator("strong")).to_have_text("on-call")
    expect(runbook.locator('a[href="https://example.com/runbook"]')).to_have_text("good link")
    assert runbook.locator("script, [onerror], a[href^='javascript']").count() == 0
    assert page.evaluate("window.__pwned") is None  # nothing from the markdown ran
    expect(pane.locator('[data-meta-key="config"] details')).not_to_have_attribute("open", "")
    pane.locator('[data-meta-key="config"] summary').click()
    expect(pane.locator('[data-meta-key="config"] pre')).to_contain_text('"retries": 3')
    expect(pane.locator('[data-meta-key="rows"] td').nth(1)).to_have_text("<b>one</b>")
    expect(pane.locator('[data-meta-key="reviewed"] .rel')).to_have_text(re.compile("ago$"))
    expect(pane.locator('[data-meta-key="data_path"] button.copy')).to_be_visible()
    expect(pane).not_to_contain_text("never shown")


def test_clicking_tag_chips_filters_runs(page: Any, served: tuple[Instance, str]) -> None:
    from playwright.sync_api import expect

    instance = served[0]
    now = time.time()
    tag_sets = [
        {"team": "chips", "env": "prod"},
        {"team": "chips", "env": "dev"},
        {"team": "other", "env": "prod"},
    ]
    instance.storage.runs.add_runs(
        [
            Run(f"chip-{i}", "documented", RunStatus.SUCCESS, tags, created_at=now + i)
            for i, tags in enumerate(tag_sets)
        ]
    )
    page.goto("/runs")
    page.locator('tr[data-run-id="chip-0"] a.chip[data-tag="team=chips"]').click()
    expect(page).to_have_url(re.compile(r"/runs\?tag=team%3Dchips$"))
    rows = page.locator("table.runs tbody tr[data-run-id]")
    expect(rows).to_have_count(2)
    page.locator('tr[data-run-id="chip-0"] a.chip[data-tag="env=prod"]').click()
    expect(page).to_have_url(re.compile(r"tag=team%3Dchips&tag=env%3Dprod$"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-run-id", "chip-0")
    page.locator('a[data-filter="team=chips"]').click()  # drop one filter
    expect(rows).to_have_count(2)  # chip-0 and chip-2: env=prod


def test_launchpad_launches_a_run_with_tags_shown_on_its_page(
    page: Any, served: tuple[Instance, str]
) -> None:
    from playwright.sync_api import expect

    page.goto("/jobs/configured/launchpad")
    page.locator("#run_config").fill("ops:\n  load:\n    config:\n      rows: 2\n")
    page.locator("#partition_key").select_option("green")
    rows = page.locator("#tag-rows .tag-row")
    rows.nth(0).locator(".tag-key").fill("team")
    rows.nth(0).locator(".tag-value").fill("launchpad")
    page.get_by_role("button", name="+ Add tag").click()
    rows.nth(1).locator(".tag-key").fill("bad key")
    expect(rows.nth(1).locator(".field-error")).to_contain_text("a key is 'name' or")
    page.get_by_role("button", name="Launch run").click()
    expect(page.locator("#check-status")).to_have_text("fix the marked fields")
    rows.nth(1).locator(".tag-key").fill("dagwright/priority")
    rows.nth(1).locator(".tag-value").fill("high")
    expect(rows.nth(1).locator(".field-error")).to_contain_text("must be an integer")
    rows.nth(1).locator(".tag-value").fill("3")
    expect(rows.nth(1).locator(".field-error")).to_have_text("")
    page.get_by_role("button", name="Launch run").click()
    expect(page).to_have_url(re.compile(r"/runs/[0-9a-f-]{36}$"))
    tags = page.locator("ul.run-tags")
    expect(tags.locator('[data-tag="team=launchpad"]')).to_be_visible()
    expect(tags.locator('[data-tag="dagwright/priority=3"]')).to_be_visible()
    expect(tags.locator('[data-tag="dagwright/partition=green"]')).to_be_visible()
    expect(page.locator(".page-head .status")).to_have_text("SUCCESS")  # the page follows


def test_reexecute_from_the_run_page(page: Any, served: tuple[Instance, str]) -> None:
    from playwright.sync_api import expect

    instance = served[0]
    result = web.documented.execute_in_process(instance=instance, tags={"team": "again"})
    page.goto(f"/runs/{result.run_id}")
    page.get_by_role("button", name="Re-execute all").click()
    expect(page).not_to_have_url(re.compile(result.run_id))
    expect(page.locator("#parent-link")).to_have_attribute("href", f"/runs/{result.run_id}")
    expect(page.locator('ul.run-tags [data-tag="team=again"]')).to_be_visible()
    expect(page.locator(".page-head .status")).to_have_text("SUCCESS")
    page.locator("#parent-link").click()
    expect(page.locator("a.child-link")).to_have_count(1)


def test_toggling_a_schedule_persists_across_a_reload(page: Any) -> None:
    from playwright.sync_api import expect

    page.goto("/schedules")
    row = page.locator('tr[data-name="nightly_docs"]')
    expect(row.locator(".status")).to_have_text("STOPPED")
    row.get_by_role("button", name="Start").click()  # posts, then the list again (303)
    expect(row.locator(".status")).to_have_text("RUNNING")
    page.wait_for_load_state()
    page.reload()
    expect(row.locator(".status")).to_have_text("RUNNING")
    expect(row.locator("td").nth(4)).to_contain_text(re.compile(r"in \d+ \w+"))  # next tick
    row.get_by_role("button", name="Stop").click()
    expect(row.locator(".status")).to_have_text("STOPPED")
    page.wait_for_load_state()
    page.reload()
    expect(row.locator(".status")).to_have_text("STOPPED")


def test_backfill_from_the_job_page_then_cancel_it(page: Any) -> None:
    from playwright.sync_api import expect

    page.goto("/jobs/coloured")
    page.locator("#backfill-chosen").check()
    page.locator("#backfill-keys").select_option(["red", "blue"])
    page.locator("#launch-backfill").click()
    expect(page).to_have_url(re.compile(r"/backfills/[0-9a-f]{12}$"))
    counts = page.locator("#progress-counts")
    expect(counts.locator('[data-count="requested"]')).to_have_text("2")
    expect(page.locator(".page-head .status")).to_have_text("REQUESTED")
    backfill_id = page.url.rsplit("/", 1)[1]
    page.goto("/backfills")
    page.add_init_script("window.confirm = () => true")  # the Cancel button asks first
    page.locator(f'tr[data-backfill-id="{backfill_id}"] a.backfill-id').click()
    expect(page).to_have_url(re.compile(f"/backfills/{backfill_id}$"))
    expect(page.locator("#cancel-backfill")).to_have_attribute("type", "submit")
    page.locator("#cancel-backfill").click()
    expect(page.locator(".page-head .status")).to_have_text("CANCELED")
    expect(page.locator("#cancel-backfill")).to_have_count(0)
    page.locator("#backfill-runs").click()
    expect(page).to_have_url(re.compile(r"/runs\?tag=dagwright%2Fbackfill%3D"))


def test_a_backfill_page_follows_its_runs_without_a_reload(
    page: Any, served: tuple[Instance, str]
) -> None:
    from playwright.sync_api import expect

    from dagwright.daemon.backfills import BackfillDaemon

    page.goto("/jobs/coloured")
    page.locator("#backfill-chosen").check()
    page.locator("#backfill-keys").select_option(["red"])
    page.locator("#backfill-tags").fill("team=docs")
    page.locator("#launch-backfill").click()
    expect(page).to_have_url(re.compile(r"/backfills/[0-9a-f]{12}$"))
    counts = page.locator("#progress-counts")
    expect(counts.locator('[data-count="submitted"]')).to_have_text("0")
    BackfillDaemon(served[0]).run_iteration(time.time())  # the daemon's pass: runs launch
    expect(counts.locator('[data-count="succeeded"]')).to_have_text("1")
    backfill_id = page.url.rsplit("/", 1)[1]
    backfill = served[0].get_backfill(backfill_id)
    assert backfill is not None and backfill.tags == {"team": "docs"}


#: Keys and values the page's rules must judge as dagwright.tags does.
TAG_CASES = [
    ("team", "docs"),
    ("prefix/name", "x"),
    ("a.b-c_d", ""),
    ("", "x"),
    ("bad key", "x"),
    ("a/b/c", "x"),
    ("x" * 63, "ok"),
    ("x" * 64, "too long"),
    ("/name", "x"),
    ("team/", "x"),
    ("caf\u00e9", "x"),
    ("dagwright/partition", "x"),
    ("dagwright/priority", "5"),
    ("dagwright/priority", " -3 "),
    ("dagwright/priority", "1_000"),
    ("dagwright/priority", "high"),
    ("dagwright/priority", "1.5"),
    ("dagwright/max_retries", "0"),
    ("dagwright/max_retries", "-1"),
    ("dagwright/retry_strategy", "ALL_STEPS"),
    ("dagwright/retry_strategy", "all_steps"),
    ("dagwright/max_runtime", "30"),
    ("dagwright/max_runtime", "1e3"),
    ("dagwright/max_runtime", ".5"),
    ("dagwright/max_runtime", "0"),
    ("dagwright/max_runtime", "inf"),
    ("dagwright/max_runtime", "soon"),
    ("dagwright-celery/queue", "gpu"),
    ("dagster/priority", "5"),
    ("dagster-celery/queue", "gpu"),
    ("dagster/concurrency_key", "db"),
    ("dagster", "x"),
    ("constructor", "x"),  # a name on every JavaScript object: no rule of its own
    ("toString", "5"),
    ("nul", "a\x00b"),
    ("big", "\u00e9" * 40_000),
]


def _python_verdict(key: str, value: str) -> str | None:
    try:
        normalize_tags({key: value})
    except DagwrightInvalidTagError as exc:
        return str(exc)
    return None


def test_inline_tag_rules_agree_with_the_api(page: Any) -> None:
    page.goto("/jobs/configured/launchpad")
    verdicts = page.evaluate(
        "cases => cases.map(([k, v]) => window.dagwrightTags.validate(k, v))", TAG_CASES
    )
    for (key, value), verdict in zip(TAG_CASES, verdicts, strict=True):
        expected = _python_verdict(key, value)
        assert (verdict is None) == (expected is None), (key, value, verdict, expected)
        if expected is not None and "'" not in key and "\\" not in repr(key):
            assert verdict == expected, (key, value)


def test_run_page_shows_each_steps_stdout_and_stderr(
    page: Any, served: tuple[Instance, str]
) -> None:
    from playwright.sync_api import expect
    from tests.jobs import printing
    from tests.waiting import wait_finished

    instance = served[0]
    run = instance.submit_run(printing.noisy)
    assert wait_finished(instance, run.run_id).status is RunStatus.FAILURE
    page.goto(f"/runs/{run.run_id}")
    logs = page.locator("#log-text")
    expect(page.locator("#log-step")).to_have_value("shout")  # the failed step first
    expect(logs).to_have_text("shout got 1\n")
    page.get_by_role("button", name="stderr").click()
    expect(logs).to_contain_text("shout is failing")
    expect(logs).to_contain_text("<img src=x onerror=window.__pwned=1>")  # text, not HTML
    assert logs.locator("img").count() == 0 and page.evaluate("window.__pwned") is None
    page.locator('#events button.step-link[data-step="talk"]').first.click()
    expect(logs).to_have_text("warning from talk\n")
    page.get_by_role("button", name="stdout").click()
    expect(logs).to_contain_text("from a subprocess")  # captured at the fd level
    page.reload()  # the choice is kept in the URL
    expect(page.locator("#log-step")).to_have_value("talk")
    expect(logs).to_contain_text("hello from talk")


def test_run_page_follows_the_output_of_a_running_step(
    page: Any, served: tuple[Instance, str], tmp_path: Path
) -> None:
    from playwright.sync_api import expect
    from tests.jobs import printing

    release = tmp_path / "release"
    run = served[0].submit_run(printing.slow_talker, tags={"release": str(release)})
    page.goto(f"/runs/{run.run_id}")
    logs = page.locator("#log-text")
    expect(logs).to_have_text("first line\n")
    release.touch()
    expect(logs).to_have_text("first line\nsecond line\n")
    expect(page.locator("#run")).to_have_attribute("data-status", "SUCCESS")


def test_event_times_show_milliseconds_in_utc_or_local_time(
    browser: Any, served: tuple[Instance, str]
) -> None:
    from playwright.sync_api import expect

    from dagwright import Event, EventType

    instance = served[0]
    result = web.documented.execute_in_process(instance=instance)
    stamp = 1767323045.125  # 2026-01-02 03:04:05.125 UTC
    instance.handle_event(Event(result.run_id, EventType.ENGINE, stamp, message="a known time"))
    context = browser.new_context(base_url=served[1], timezone_id="Europe/Paris")
    try:
        page = context.new_page()
        page.goto(f"/runs/{result.run_id}")
        row = page.locator("#events tr", has_text="a known time").locator("time.event-time")
        expect(row).to_have_text("2026-01-02 03:04:05.125 UTC")  # to the millisecond
        page.locator("#time-zone").click()
        expect(row).to_have_text("2026-01-02 04:04:05.125 Europe/Paris")
        expect(page.locator("#time-zone")).to_have_text("local time")
        page.reload()  # the choice is kept
        expect(row).to_have_text("2026-01-02 04:04:05.125 Europe/Paris")
    finally:
        context.close()


def test_the_run_page_shows_who_changed_its_tags(page: Any, served: tuple[Instance, str]) -> None:
    from playwright.sync_api import expect

    result = web.documented.execute_in_process(instance=served[0])
    page.goto(f"/runs/{result.run_id}")
    expect(page.locator("#tag-history")).to_have_count(0)
    page.locator("#add-tag-form .tag-key").fill("reviewed")
    page.locator("#add-tag-form .tag-value").fill("yes")
    page.get_by_role("button", name="Add tag").click()
    page.get_by_role("button", name="Remove tag reviewed").click()
    rows = page.locator("#tag-history tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("added yes")
    expect(rows.nth(1)).to_contain_text("removed (was yes)")
    expect(rows.nth(0).locator("td").nth(1)).to_have_text("127.0.0.1")
    expect(rows.nth(0).locator("td").nth(2)).to_have_text("ui")


def test_hold_and_priority_controls_of_a_queued_run(
    page: Any, served: tuple[Instance, str]
) -> None:
    from playwright.sync_api import expect

    queued = Run("queued-control", "documented", RunStatus.QUEUED, {}, created_at=time.time())
    served[0].add_run(queued)
    page.goto("/runs/queued-control")
    page.locator("#hold").click()
    expect(page.locator("#held-by")).to_have_text("held by 127.0.0.1")
    page.locator("#priority-form input[name=priority]").fill("-7")
    page.get_by_role("button", name="Set priority").click()
    expect(page.locator('[data-tag="dagwright/priority=-7"]')).to_be_visible()
    page.goto("/queue")
    expect(page.locator("ul.reasons")).to_contain_text("held by 127.0.0.1")
    page.get_by_role("button", name="Release").click()
    expect(page).to_have_url(re.compile(r"/queue$"))
    expect(page.get_by_role("button", name="Hold")).to_be_visible()
    assert len(served[0].get_tag_history("queued-control")) == 3


def test_compare_a_reexecution_with_its_parent(page: Any, served: tuple[Instance, str]) -> None:
    from playwright.sync_api import expect
    from tests.jobs import flaky
    from tests.waiting import wait_finished

    instance = served[0]
    parent = instance.submit_run(flaky.moody, tags={"mood": "grumpy"})  # its op 'picky' fails
    assert wait_finished(instance, parent.run_id).status is RunStatus.FAILURE
    child = instance.reexecute(parent.run_id, from_failure=True, tags={"mood": "fine"})
    assert wait_finished(instance, child.run_id).status is RunStatus.SUCCESS
    page.goto(f"/runs/{child.run_id}")
    page.get_by_role("link", name="Compare with parent").click()
    expect(page).to_have_url(re.compile(rf"/runs/{child.run_id}/diff$"))
    expect(page.locator("h1")).to_contain_text("with its parent")
    mood = page.locator('#diff-tags tr[data-key="mood"]')
    expect(mood).to_have_class(re.compile(r"\bdiff-changed\b"))
    expect(mood.locator("td.diff-left")).to_have_text("grumpy")
    expect(mood.locator("td.diff-right")).to_have_text("fine")
    picky = page.locator('#diff-steps tr[data-key="picky"]')
    expect(picky).to_have_class(re.compile(r"\bdiff-changed\b"))
    expect(picky.locator("td.diff-left .status")).to_have_text("failure")
    expect(picky.locator("td.diff-right .status")).to_have_text("success")
    highlight = picky.locator("td.diff-right").evaluate(
        "td => getComputedStyle(td).backgroundColor"
    )
    plain = page.locator('#diff-summary tr[data-key="job"] td.diff-right').evaluate(
        "td => getComputedStyle(td).backgroundColor"
    )
    assert highlight != plain  # the changed value is highlighted, the same one is not
    same_job = page.locator('#diff-summary tr[data-key="job"]')
    expect(same_job).to_be_visible()
    page.get_by_label("only differences").check()
    expect(same_job).to_be_hidden()
    expect(mood).to_be_visible()
    expect(picky).to_be_visible()
    expect(page).to_have_url(re.compile(r"only=1"))
    page.reload()  # the choice is kept in the URL
    expect(same_job).to_be_hidden()
    page.get_by_label("only differences").uncheck()
    expect(same_job).to_be_visible()
    page.locator(".left-link").first.click()  # to the parent, then compare it with any run
    expect(page).to_have_url(re.compile(rf"/runs/{parent.run_id}$"))
    expect(page.locator("#compare-parent")).to_have_count(0)
    page.locator("#compare-form input[name=with]").fill("no-such-run")
    page.locator("#compare-form").get_by_role("button", name="Compare").click()
    expect(page.locator("#diff-error")).to_have_text("run 'no-such-run' not found")
    page.locator("#compare-form input[name=with]").fill(child.run_id)
    page.locator("#compare-form").get_by_role("button", name="Compare").click()
    expect(page.locator('#diff-tags tr[data-key="mood"] td.diff-left')).to_have_text("fine")
