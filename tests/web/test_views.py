"""The pages, rendered through the ASGI test client: escaping, hidden data, filters in the
URL, the launchpad's server-side checks, and the forms of the run page."""

from __future__ import annotations

import re
import time
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from tests.waiting import wait_finished

from dagwright import Event, EventType, Instance, Run, RunStatus

pytestmark = pytest.mark.parametrize("storage_url", ["sqlite"], indirect=True)

SAME_ORIGIN = {"Origin": "http://127.0.0.1"}
FORM = {"Content-Type": "application/x-www-form-urlencoded", **SAME_ORIGIN}


def _run(instance: Instance, run_id: str, tags: dict[str, str], job: str = "documented") -> str:
    now = time.time()
    instance.storage.runs.add_runs(
        [Run(run_id, job, RunStatus.SUCCESS, tags, created_at=now, started_at=now, ended_at=now)]
    )
    return run_id


def test_job_page_renders_metadata_by_type_and_escapes_everything(client: TestClient) -> None:
    html = client.get("/jobs/documented").text
    assert 'href="https://docs.example.com/documented" target="_blank" rel="noopener' in html
    assert "<strong>on-call</strong>" in html  # markdown rendered
    assert "<script>window" not in html and "onerror" not in html  # removed by nh3
    assert 'href="javascript:' not in html  # the link is left as text
    assert "<code>javascript:alert(1)</code>" in html  # a url value of another scheme: text
    assert "&lt;b&gt;one&lt;/b&gt;" in html  # a table cell is escaped
    assert "&lt;gold&gt;" in html and "<gold>" not in html  # a tag value is escaped
    assert "<details" in html and "&#34;retries&#34;: 3" in html  # collapsible JSON
    assert "2026-01-02 03:04:05 UTC" in html  # a timestamp, absolute …
    assert re.search(r'data-rel="[0-9.]+">\d+ \w+ ago', html)  # … and relative
    assert 'data-copy="/data/web/output.parquet"' in html  # a path with its copy button
    assert ".internal" not in html and "never shown" not in html
    assert '<g class="node"' in html and 'data-node="shout"' in html  # the graph picture


def test_jobs_list_shows_owner_links_and_tags(client: TestClient) -> None:
    html = client.get("/").text
    assert "web team" in html and "https://docs.example.com/documented" in html
    assert 'href="/jobs/configured"' in html and "never run" in html


def test_jobs_list_shows_the_latest_run_of_each_job(
    client: TestClient, web_instance: Instance
) -> None:
    _run(web_instance, "older-run", {})
    _run(web_instance, "newest-run", {})
    html = client.get("/jobs").text
    row = html[html.index('href="/jobs/documented"') : html.index('href="/jobs/configured"')]
    assert 'href="/runs/newest-run"' in row and "older-run" not in row
    assert "never run" in html[html.index('href="/jobs/configured"') :]


def test_runs_page_filters_live_in_the_url_and_chips_add_filters(
    client: TestClient, web_instance: Instance
) -> None:
    _run(web_instance, "r-docs", {"team": "docs", "dagwright/partition": "p1", ".hidden": "x"})
    _run(web_instance, "r-ml", {"team": "ml"})
    page = client.get("/runs").text
    assert "r-docs" in page and "r-ml" in page
    # system tag chips hidden by default (the partition has a column of its own) …
    assert 'data-tag="dagwright/partition=p1"' not in page
    assert (
        'data-tag="dagwright/partition=p1"' in client.get("/runs?system=1").text
    )  # … until toggled
    assert ".hidden" not in client.get("/runs?system=1").text  # internal: never
    chip = re.search(r'<a class="chip[^"]*" href="([^"]+)" data-tag="team=docs"', page)
    assert chip is not None
    url = chip.group(1).replace("&amp;", "&")
    assert unquote(url) == "/runs?tag=team=docs"
    filtered = client.get(url).text
    assert "r-docs" in filtered and "r-ml" not in filtered
    assert 'data-filter="team=docs"' in filtered  # shown as an active, removable filter
    assert "r-ml" not in client.get("/runs?tag=team=docs&status=SUCCESS").text
    assert "No runs match" in client.get("/runs?tag=team=docs&status=FAILURE").text
    bad = client.get("/runs?tag=bad")
    assert bad.status_code == 422 and "expected key=value" in bad.text


def test_run_page_and_its_tag_forms(client: TestClient, web_instance: Instance) -> None:
    run_id = _run(web_instance, "r-1", {"team": "docs", "dagwright/partition": "p1"})
    html = client.get(f"/runs/{run_id}").text
    assert "Re-execute" not in html  # no code pointer: it cannot be re-executed
    assert 'title="Remove tag team"' in html
    assert 'title="Remove tag dagwright/partition"' not in html  # system tags stay
    added = client.post(
        f"/runs/{run_id}/tags",
        content="key=owner&value=%3Cana%3E",
        headers=FORM,
        follow_redirects=False,
    )
    assert added.status_code == 303 and added.headers["location"] == f"/runs/{run_id}"
    assert "&lt;ana&gt;" in client.get(f"/runs/{run_id}").text
    client.post(f"/runs/{run_id}/tags", content="remove=team", headers=FORM)
    run = web_instance.get_run(run_id)
    assert run is not None and run.tags == {"dagwright/partition": "p1", "owner": "<ana>"}
    bad = client.post(f"/runs/{run_id}/tags", content="key=a+b&value=x", headers=FORM)
    assert bad.status_code == 422 and "a key is" in bad.text
    assert client.get("/runs/nope").status_code == 404


def test_run_page_shows_output_metadata_by_type(client: TestClient, web_instance: Instance) -> None:
    run_id = _run(web_instance, "r-meta", {})
    metadata = {
        "rows": {"type": "int", "value": 3},
        "docs": {"type": "url", "value": "https://example.com/out"},
        ".internal": {"type": "text", "value": "never shown"},
    }
    data = {"outputs": ["result"], "duration_ms": 1.0, "output_metadata": {"result": metadata}}
    event = Event(run_id, EventType.STEP_SUCCESS, time.time(), "load", "op 'load' ok", data=data)
    web_instance.handle_event(event)
    html = client.get(f"/runs/{run_id}").text
    assert 'data-output="result"' in html and 'data-meta-key="rows"' in html
    assert 'href="https://example.com/out" target="_blank"' in html
    assert "never shown" not in html


def test_run_diff_page_shows_both_runs_side_by_side(
    client: TestClient, web_instance: Instance
) -> None:
    now = time.time()
    old_tags = {"team": "docs", ".secret": "a", "dagwright/partition": "p1"}
    new_tags = {"team": "<b>ml</b>", ".secret": "b", "dagwright/partition": "p1",
                "dagwright/parent_run_id": "d-old"}  # fmt: skip
    web_instance.storage.runs.add_runs([
        Run("d-old", "documented", RunStatus.FAILURE, old_tags, {"ops": {"load": {"rows": 1}}},
            created_at=now),
        Run("d-new", "documented", RunStatus.SUCCESS, new_tags, {"ops": {"load": {"rows": 2}}},
            parent_run_id="d-old", root_run_id="d-old", created_at=now + 1),
    ])  # fmt: skip
    # the API first: built now, not in the background after the first page, where its
    # build (FastAPI silences a pydantic warning) races with pytest's warning filters
    assert client.get("/api/v1/runs/d-new/diff").json()["differences"] == 6  # with .secret
    run_page = client.get("/runs/d-new").text
    assert 'id="compare-parent" href="/runs/d-new/diff"' in run_page
    assert 'action="/runs/d-new/diff"' in run_page  # compare with any run
    assert 'id="compare-parent"' not in client.get("/runs/d-old").text  # no parent
    assert 'action="/runs/d-old/diff"' in client.get("/runs/d-old").text
    page = client.get("/runs/d-new/diff")
    assert page.status_code == 200
    html = page.text
    assert 'href="/runs/d-old"' in html and 'href="/runs/d-new"' in html
    assert re.search(
        r'<tr class="diff-row diff-changed" data-key="team" data-state="changed">', html
    )
    assert "&lt;b&gt;ml&lt;/b&gt;" in html and "<b>ml</b>" not in html  # escaped
    assert 'data-key="dagwright/partition" data-state="same"' in html
    assert 'data-key="dagwright/parent_run_id" data-state="added"' in html
    assert 'data-key="ops.load.rows" data-state="changed"' in html
    assert ".secret" not in html  # internal tags are never shown
    assert 'id="diff-count">5 differences' in html  # status, created, 2 tags, 1 path; no .secret
    assert 'class="diff only-differences"' not in html
    only = client.get("/runs/d-new/diff", params={"with": "d-old", "only": "1"}).text
    assert (
        'class="diff only-differences"' in only
        and 'name="only" value="1" id="only-differences" checked' in only
    )
    assert '<script src="/static/diff.js" defer></script>' in only


def test_run_diff_page_errors_are_shown_on_the_page(
    client: TestClient, web_instance: Instance
) -> None:
    _run(web_instance, "d-orphan", {})
    assert client.get("/api/v1/runs/d-orphan/diff").status_code == 422  # the API built first
    no_parent = client.get("/runs/d-orphan/diff")
    assert no_parent.status_code == 422
    assert "has no parent run" in no_parent.text and 'id="compare-form"' in no_parent.text
    unknown = client.get("/runs/d-orphan/diff", params={"with": " <nope> "})
    assert unknown.status_code == 404
    assert "run &#39;&lt;nope&gt;&#39; not found" in unknown.text
    assert 'value="&lt;nope&gt;"' in unknown.text  # kept in the form to fix
    assert "Traceback" not in unknown.text and 'id="diff"' not in unknown.text
    assert client.get("/runs/nope/diff").status_code == 404


def test_launchpad_checks_every_field_before_launching(
    client: TestClient, web_instance: Instance
) -> None:
    page = client.get("/jobs/configured/launchpad").text
    assert "rows: null" in page and "label: rows" in page  # config scaffold
    assert '<option value="blue">' in page  # partition picker
    form = (
        "run_config=ops%3A%0A++load%3A%0A++++config%3A%0A++++++rows%3A+oops"
        "&op_selection=&partition_key=red&tag_key=good&tag_value=1&tag_key=bad+key&tag_value=2"
    )
    check = client.post("/jobs/configured/launchpad/check", content=form, headers=FORM).json()
    # every error at once (a bad tag used to hide the config error)
    assert check["ok"] is False and set(check["errors"]) == {"tag.1", "run_config"}
    purple = form.replace("partition_key=red", "partition_key=purple")
    check = client.post("/jobs/configured/launchpad/check", content=purple, headers=FORM).json()
    assert set(check["errors"]) == {"tag.1", "run_config", "partition_key"}
    shown = client.post("/jobs/configured/launchpad", content=purple, headers=FORM)
    assert shown.status_code == 422
    assert "bad key" in shown.text and "purple" in shown.text and "oops" in shown.text
    fixed = form.replace("&tag_key=bad+key&tag_value=2", "")
    check = client.post("/jobs/configured/launchpad/check", content=fixed, headers=FORM).json()
    assert set(check["errors"]) == {"run_config"} and "rows" in check["errors"]["run_config"]
    bad_yaml = client.post(
        "/jobs/configured/launchpad", content="run_config=%3A+%3A+%5B", headers=FORM
    )
    assert bad_yaml.status_code == 422 and "not valid YAML" in bad_yaml.text
    assert web_instance.get_runs() == []
    good = fixed.replace("oops", "2")
    launched = client.post(
        "/jobs/configured/launchpad", content=good, headers=FORM, follow_redirects=False
    )
    assert launched.status_code == 303
    run_id = launched.headers["location"].rsplit("/", 1)[1]
    run = wait_finished(web_instance, run_id)
    assert run.status is RunStatus.SUCCESS
    assert run.tags == {"good": "1", "dagwright/partition": "red"}


def test_forms_from_another_site_are_refused(client: TestClient, web_instance: Instance) -> None:
    run_id = _run(web_instance, "r-1", {"team": "docs"})
    forged = client.post(
        f"/runs/{run_id}/tags",
        content="remove=team",
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "Origin": "https://evil.example"},
    )  # fmt: skip
    assert forged.status_code == 403
    run = web_instance.get_run(run_id)
    assert run is not None and run.tags == {"team": "docs"}


def test_queue_page_without_a_queue(client: TestClient) -> None:
    html = client.get("/queue").text
    assert "No queued runs" in html and "No tag limits are configured" in html


def test_the_job_graph_shows_op_input_and_output_types(client: TestClient) -> None:
    page = client.get("/jobs/documented").text
    assert "in value: int" in page  # shout's input
    assert "out result: int" in page
    graph = client.get("/api/v1/jobs/documented").json()["graph"]
    shout = next(node for node in graph["nodes"] if node["op"] == "shout")
    assert shout["input_types"] == {"value": "int"}
    assert shout["output_types"] == {"result": "int"}


def _header_state(html: str) -> str:
    found = re.search(r'id="daemon-health"[^>]*data-state="(\w+)"', html)
    assert found, "no daemon indicator in the header"
    return found.group(1)


def test_every_page_header_shows_the_daemon_health(
    queued_client: TestClient, queued_instance: Instance
) -> None:
    for path in ("/jobs", "/runs", "/queue", "/schedules", "/sensors", "/backfills", "/daemon"):
        assert _header_state(queued_client.get(path).text) == "missing", path
    loops = ("run_queue", "run_monitor", "run_retries", "backfills", "schedules", "sensors")
    for name in (*loops, "tag_stats"):
        queued_instance.storage.workers.beat_daemon(
            name, "h:1", time.time(), host="h", pid=1, interval_seconds=1.0
        )
    html = queued_client.get("/runs").text
    assert _header_state(html) == "healthy" and 'href="/daemon"' in html
    page = queued_client.get("/daemon").text
    assert 'data-daemon="h:1"' in page and "Queue claims are limit-checked" in page


def test_pages_where_a_user_waits_say_no_daemon_is_running(
    queued_client: TestClient, queued_instance: Instance
) -> None:
    from tests.jobs import web

    queued_instance.submit_run(web.documented)
    backfill_id = queued_instance.launch_backfill(web.coloured, ["red"])
    pages = {
        "/queue": "run_queue",
        "/backfills": "backfills",
        f"/backfills/{backfill_id}": "backfills",
        "/schedules": "schedules",
        "/schedules/nightly_docs": "schedules",
        "/sensors": "sensors",
        "/sensors/colour_files": "sensors",
    }
    for path, loop in pages.items():
        html = queued_client.get(path).text
        assert f'class="notice no-daemon" role="status" data-loop="{loop}"' in html, path
        assert "No daemon is running" in html
    assert "launches once a daemon runs" in queued_client.get("/queue").text
    for name in ("run_queue", "backfills", "schedules", "sensors"):
        queued_instance.storage.workers.beat_daemon(name, "h:1", time.time(), interval_seconds=1.0)
    for path in pages:
        assert "No daemon is running" not in queued_client.get(path).text, path
    assert "launches on the next pass" in queued_client.get("/queue").text
