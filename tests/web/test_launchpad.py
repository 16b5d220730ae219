"""The launchpad under tag policies: required keys as rows, allowed values offered, the
policy's help shown, and a launch that breaks a policy refused next to its row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import BASE_URL, LiveServer, web_definitions

from dagwright import Instance, RunStatus
from dagwright.settings import load_settings
from dagwright.web.app import create_app
from dagwright.web.launchpad import LaunchForm, tag_hints, with_required_rows

SQLITE = pytest.mark.parametrize("storage_url", ["sqlite"], indirect=True)

FORM = {"Content-Type": "application/x-www-form-urlencoded", "Origin": BASE_URL}

POLICIES = """
run_queue: {}
tag_policies:
  - {key: owner_team, required: true, values: [docs, ml], description: "owning team"}
  - {key: ticket, pattern: "^[A-Z]+-[0-9]+$", description: "change ticket"}
  - {key: cost_center, required: true, jobs: ["finance_*"]}
"""


@pytest.fixture
def governed(tmp_path: Path, storage_url: str) -> Iterator[TestClient]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagwright.yaml").write_text(POLICIES)
    with (
        Instance.from_home(home) as instance,
        TestClient(create_app(instance, web_definitions()), base_url=BASE_URL) as client,
    ):
        yield client


@SQLITE
def test_required_keys_are_rows_with_their_values_and_help(governed: TestClient) -> None:
    page = governed.get("/jobs/configured/launchpad").text
    assert (
        'name="tag_key" class="tag-key" placeholder="key (team, or prefix/name)" value="owner_team"'
        in page
    )
    assert 'list="tag-values-owner_team"' in page
    assert (
        '<datalist id="tag-values-owner_team"><option value="docs"><option value="ml"></datalist>'
        in page
    )
    assert "required by policy · owning team (docs, ml)" in page
    assert 'value="cost_center"' not in page  # that policy is for finance_* jobs
    assert '"ticket": {"description": "change ticket"' in page  # for keys typed later
    assert "<script>" not in page and " onclick=" not in page  # strict CSP: no inline code


@SQLITE
def test_a_launch_that_breaks_a_policy_is_refused_at_its_row(governed: TestClient) -> None:
    config = "ops%3A%0A++load%3A%0A++++config%3A%0A++++++rows%3A+2"
    form = f"run_config={config}&op_selection=&partition_key=red&tag_key=owner_team&tag_value=sales"
    check = governed.post("/jobs/configured/launchpad/check", content=form, headers=FORM).json()
    assert check["ok"] is False and "tag policy 'owner_team'" in check["errors"]["tag.0"]
    refused = governed.post("/jobs/configured/launchpad", content=form, headers=FORM)
    assert refused.status_code == 422 and "is not allowed by tag policy" in refused.text
    good = form.replace("sales", "ml") + "&tag_key=ticket&tag_value=AB-1"
    check = governed.post("/jobs/configured/launchpad/check", content=good, headers=FORM).json()
    assert check == {"ok": True, "errors": {}}
    launched = governed.post(
        "/jobs/configured/launchpad", content=good, headers=FORM, follow_redirects=False
    )
    assert launched.status_code == 303
    run_id = launched.headers["location"].rsplit("/", 1)[1]
    run = governed.get(f"/api/v1/runs/{run_id}").json()
    assert run["status"] == RunStatus.QUEUED.value and run["tags"]["owner_team"] == "ml"


def test_hints_and_rows_for_a_job(tmp_path: Path) -> None:
    (tmp_path / "dagwright.yaml").write_text(POLICIES)
    settings = load_settings(tmp_path, env={})
    job = web_definitions().get_job("coloured")  # sets team, not owner_team
    hints = tag_hints(settings, job)
    assert list(hints) == ["owner_team", "ticket"]
    assert hints["owner_team"].required and hints["owner_team"].values == ("docs", "ml")
    form = LaunchForm(tag_rows=[("", ""), ("x", "1")])
    with_required_rows(form, hints, job)
    assert form.tag_rows == [("owner_team", ""), ("x", "1")]
    with_required_rows(form, hints, job)  # once only
    assert form.tag_rows == [("owner_team", ""), ("x", "1")]


@SQLITE
def test_in_a_browser_a_typed_key_gets_its_values_and_help(
    browser: Any, tmp_path: Path, storage_url: str
) -> None:
    from playwright.sync_api import expect

    home = tmp_path / "home"
    home.mkdir()
    (home / "dagwright.yaml").write_text(POLICIES)
    with (
        Instance.from_home(home) as instance,
        LiveServer(create_app(instance, web_definitions())) as server,
    ):
        context = browser.new_context(base_url=server.url)
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on(
            "console", lambda m: problems.append(m.text) if "Content Security" in m.text else None
        )
        page.goto("/jobs/configured/launchpad")
        rows = page.locator("#tag-rows .tag-row")
        expect(rows.nth(0).locator(".tag-key")).to_have_value("owner_team")
        page.get_by_role("button", name="+ Add tag").click()
        rows.nth(1).locator(".tag-key").fill("ticket")
        expect(rows.nth(1).locator(".tag-help")).to_have_text(
            "change ticket (matching ^[A-Z]+-[0-9]+$)"
        )
        rows.nth(1).locator(".tag-key").fill("owner_team")
        expect(rows.nth(1).locator(".tag-value")).to_have_attribute("list", "tag-values-owner_team")
        expect(rows.nth(1).locator(".tag-help")).to_contain_text("required by policy · owning team")
        context.close()
    assert problems == []
