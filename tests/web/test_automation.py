"""The schedules, sensors and backfills pages through the ASGI test client: status toggles
that persist, ticks with their runs, skip reasons and tracebacks (escaped), launching a
backfill from a job's page, its progress page and Cancel."""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from tests.jobs import web

from dagwright import Instance
from dagwright.daemon.backfills import BackfillDaemon
from dagwright.daemon.schedules import tick_schedule
from dagwright.daemon.sensors import tick_sensor

pytestmark = pytest.mark.parametrize("storage_url", ["sqlite"], indirect=True)

FORM = {"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://127.0.0.1"}


def _post(client: TestClient, path: str, body: str = "") -> Any:
    return client.post(path, content=body, headers=FORM, follow_redirects=False)


def test_schedules_page_toggles_and_the_status_persists(queued_client: TestClient) -> None:
    page = queued_client.get("/schedules").text
    assert "<code>0 3 * * *</code>" in page and "Europe/Paris" in page
    assert 'data-toggle="nightly_docs">Start</button>' in page and "STOPPED" in page
    answer = _post(queued_client, "/schedules/nightly_docs/start", "next=/schedules")
    assert answer.status_code == 303 and answer.headers["location"] == "/schedules"
    page = queued_client.get("/schedules").text
    assert 'data-toggle="nightly_docs">Stop</button>' in page and "RUNNING" in page
    assert re.search(r'data-rel="[0-9.]+">in \d+ \w+', page)  # the next tick
    answer = _post(queued_client, "/schedules/nightly_docs/stop", "next=//evil.example/x")
    assert answer.headers["location"] == "/schedules"
    assert 'data-toggle="nightly_docs">Start</button>' in queued_client.get("/schedules").text
    assert _post(queued_client, "/schedules/nope/start").status_code == 404
    cross_site = {**FORM, "Origin": "http://evil.example"}
    refused = queued_client.post("/schedules/nightly_docs/start", headers=cross_site)
    assert refused.status_code == 403


def test_schedule_page_shows_ticks_with_runs_and_skip_reasons_escaped(
    queued_client: TestClient, queued_instance: Instance
) -> None:
    tick_schedule(queued_instance, web.nightly_docs, datetime(2026, 1, 3, 2, tzinfo=timezone.utc))
    submitted = tick_schedule(
        queued_instance, web.nightly_docs, datetime(2026, 1, 4, 2, tzinfo=timezone.utc)
    )
    page = queued_client.get("/schedules/nightly_docs").text
    assert "&lt;odd&gt; day: nothing to do" in page and "<odd>" not in page
    assert f'href="/runs/{submitted.run_ids[0]}"' in page
    assert "&lt;night&gt;" in page  # the schedule's tags, escaped
    listed = queued_client.get("/schedules").text
    assert "&lt;odd&gt; day" in listed and f"/runs/{submitted.run_ids[0]}" in listed
    assert queued_client.get("/schedules/nope").status_code == 404
    assert queued_client.get("/schedules/nightly_docs?before=x").status_code == 422


def test_sensors_page_shows_cursor_interval_and_tracebacks(
    queued_client: TestClient, queued_instance: Instance
) -> None:
    tick_sensor(queued_instance, web.colour_files, time.time())
    tick_sensor(queued_instance, web.broken_colours, time.time())
    page = queued_client.get("/sensors").text
    assert "&lt;seen&gt;" in page and "<seen>" not in page  # the cursor
    assert "45.0 s" in page
    assert "the &lt;bucket&gt; is gone" in page and "<bucket>" not in page
    detail = queued_client.get("/sensors/broken_colours").text
    assert '<details class="tick-error">' in detail and "Traceback" in detail
    assert "RuntimeError" in detail
    files = queued_client.get("/sensors/colour_files").text
    assert files.count('class="tick-run"') == 2 and ">red</span>" in files
    _post(queued_client, "/sensors/colour_files/start", "next=/sensors/colour_files")
    assert 'data-toggle="colour_files">Stop</button>' in queued_client.get("/sensors").text


def test_job_page_links_its_schedules_and_sensors_and_offers_a_backfill(
    queued_client: TestClient,
) -> None:
    coloured = queued_client.get("/jobs/coloured").text
    assert (
        'href="/sensors/colour_files"' in coloured and 'href="/sensors/broken_colours"' in coloured
    )
    assert 'id="backfill-form"' in coloured and '<option value="blue">' in coloured
    documented = queued_client.get("/jobs/documented").text
    assert 'href="/schedules/nightly_docs"' in documented and "backfill-form" not in documented


def test_backfill_from_the_job_page_progress_runs_link_and_cancel(
    queued_client: TestClient, queued_instance: Instance
) -> None:
    answer = _post(
        queued_client,
        "/jobs/coloured/backfill",
        "partitions=chosen&partition_key=red&partition_key=blue&tags=team%3Ddocs%0D%0A%0D%0Atier%3D1",
    )
    assert answer.status_code == 303
    location = answer.headers["location"]
    backfill_id = location.rsplit("/", 1)[1]
    made = queued_instance.get_backfill(backfill_id)
    assert made is not None and made.partition_keys == ("red", "blue")
    assert made.tags == {"team": "docs", "tier": "1"}
    BackfillDaemon(queued_instance).run_iteration(time.time())
    page = queued_client.get(location).text
    assert '<td data-count="requested">2</td>' in page and '<td data-count="queued">2</td>' in page
    runs_link = re.search(r'id="backfill-runs" href="([^"]+)"', page)
    assert runs_link and unquote(runs_link.group(1).replace("&amp;", "&")) == (
        f"/runs?tag=dagwright/backfill={backfill_id}&system=1"
    )
    runs = queued_client.get(runs_link.group(1).replace("&amp;", "&")).text
    assert runs.count("<tr data-run-id=") == 2
    listed = queued_client.get("/backfills").text
    assert f'data-backfill-id="{backfill_id}"' in listed and 'class="progress"' in listed
    assert _post(queued_client, f"/backfills/{backfill_id}/cancel").status_code == 303
    page = queued_client.get(location).text
    assert "CANCELED" in page and '<td data-count="canceled">2</td>' in page
    assert 'id="cancel-backfill"' not in page
    assert backfill_id in queued_client.get("/backfills?status=canceled").text
    assert backfill_id not in queued_client.get("/backfills?status=REQUESTED").text


def test_bad_backfill_forms_show_an_error_and_store_nothing(
    queued_client: TestClient, queued_instance: Instance
) -> None:
    answer = _post(queued_client, "/jobs/documented/backfill", "partitions=all")
    assert answer.status_code == 422 and "not partitioned" in answer.text
    answer = _post(queued_client, "/jobs/coloured/backfill", "partitions=chosen")
    assert answer.status_code == 422
    answer = _post(queued_client, "/jobs/coloured/backfill", "partitions=chosen&partition_key=<x>")
    assert answer.status_code == 422 and "&lt;x&gt;" in answer.text
    answer = _post(queued_client, "/jobs/coloured/backfill", "partitions=all&tags=bad%20key%3D1")
    assert answer.status_code == 422 and "bad key" in answer.text
    answer = _post(queued_client, "/jobs/coloured/backfill", "partitions=all&tags=no-equals")
    assert answer.status_code == 422
    assert queued_instance.get_backfills() == []
    assert queued_client.get("/backfills/nope").status_code == 404
    assert queued_client.get("/backfills?status=DONE").status_code == 422
    assert _post(queued_client, "/backfills/nope/cancel").status_code == 404


def test_a_schedule_that_returns_nothing_shows_why_it_skipped(queued_instance: Instance) -> None:
    from tests.jobs import simple
    from tests.web.conftest import BASE_URL

    from dagwright import Definitions, schedule
    from dagwright.web.app import create_app

    @schedule(cron_schedule="@daily", job=simple.chain, name="quiet")
    def quiet() -> None:
        return None

    tick_schedule(queued_instance, quiet, datetime(2026, 1, 2, tzinfo=timezone.utc))
    reason = "the schedule function returned no run request"
    app = create_app(queued_instance, Definitions(jobs=[simple.chain], schedules=[quiet]))
    with TestClient(app, base_url=BASE_URL) as client:
        assert f'<span class="skip-reason">{reason}</span>' in client.get("/schedules/quiet").text
        assert reason in client.get("/schedules").text
        ticks = client.get("/api/v1/ticks?name=quiet").json()["ticks"]
        assert [tick["skip_reason"] for tick in ticks] == [reason]
        listed = client.get("/api/v1/schedules/quiet").json()
        assert listed["ticks"][0]["skip_reason"] == reason


def test_last_tick_is_the_newest_tick_not_when_start_was_pressed(
    queued_client: TestClient, queued_instance: Instance
) -> None:
    # Starting a schedule set "last tick" to that moment although no tick ran, and the API
    # said last_tick_at: null while ticks were stored.
    assert _post(queued_client, "/schedules/nightly_docs/start").status_code == 303
    page = queued_client.get("/schedules/nightly_docs").text
    assert re.search(r"<dt>last tick</dt><dd><span class=\"muted\">none yet</span>", page)
    started = queued_client.get("/api/v1/schedules/nightly_docs").json()
    assert started["last_tick_at"] is None and started["evaluated_through"] is not None
    when = datetime(2026, 1, 2, 2, tzinfo=timezone.utc)
    tick = tick_schedule(queued_instance, web.nightly_docs, when)
    ticked = queued_client.get("/api/v1/schedules/nightly_docs").json()
    assert ticked["last_tick_at"] == tick.timestamp == ticked["ticks"][0]["timestamp"]
    page = queued_client.get("/schedules/nightly_docs").text
    assert not re.search(r"<dt>last tick</dt><dd><span class=\"muted\">none yet", page)


def test_a_refused_backfill_form_shows_its_error_inline_and_keeps_the_choices(
    queued_client: TestClient, queued_instance: Instance
) -> None:
    # It replaced the page with a bare "Error 422" and lost the selection.
    body = "partitions=chosen&partition_key=red&partition_key=blue&tags=bad%20key%3D1%0Ateam%3Dx"
    answer = _post(queued_client, "/jobs/coloured/backfill", body)
    assert answer.status_code == 422
    page = answer.text
    assert '<p class="error-message" role="alert" id="backfill-error">' in page
    assert "bad key" in page and 'id="backfill-form"' in page  # the job page, not an error page
    assert 'value="chosen" id="backfill-chosen" checked' in page
    assert '<option value="red" selected>' in page and '<option value="blue" selected>' in page
    assert "bad key=1\nteam=x</textarea>" in page
    assert queued_instance.get_backfills() == []
