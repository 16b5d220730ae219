"""The tag analytics pages on SQLite and PostgreSQL: a key's values with their figures,
charts and links to their runs, the window (presets, bounds, limit), the empty state, bad
parameters as a 422 page naming the field, the index of keys, and the links to them."""

from __future__ import annotations

import html as htmllib
import math
import re
import time
import uuid
from urllib.parse import unquote_plus

import pytest
from fastapi.testclient import TestClient

from dagwright import Event, EventType, Instance, Run, RunStatus
from dagwright.runs.tag_stats import DAY, bucket_of, bucket_seconds, day_iso
from dagwright.web.render import duration

#: How a test run ends: None leaves it queued.
OUTCOMES = {"success": EventType.RUN_SUCCESS, "failure": EventType.RUN_FAILURE, None: None}


def today() -> int:
    """Today's day number (UTC)."""
    return math.floor(time.time() / DAY)


def add_run(
    instance: Instance,
    tags: dict[str, str],
    days_ago: int,
    outcome: str | None = "success",
    seconds: float = 10.0,
) -> str:
    """A run created a minute after midnight UTC ``days_ago`` days ago, started a second
    later and ended after ``seconds`` (``outcome`` None: left queued); its id."""
    run_id = uuid.uuid4().hex
    created = (today() - days_ago) * DAY + 60.0
    instance.add_run(Run(run_id, "documented", RunStatus.QUEUED, tags, created_at=created))
    kind = OUTCOMES[outcome]
    if kind is not None:
        instance.handle_event(Event(run_id, EventType.RUN_STARTING, created + 1))
        instance.handle_event(Event(run_id, EventType.RUN_START, created + 1))
        instance.handle_event(Event(run_id, kind, created + 1 + seconds))
    return run_id


def _store(instance: Instance) -> dict[str, list[str]]:
    """docs: 2 successes and a failure in the last days, one success 40 days ago; ml: a
    failure today and a queued run; a run without the key. The ids by value."""
    docs = [
        add_run(instance, {"team": "docs"}, 1, "success", 10.0),
        add_run(instance, {"team": "docs"}, 1, "failure", 20.0),
        add_run(instance, {"team": "docs"}, 3, "success", 30.0),
    ]
    old = add_run(instance, {"team": "docs"}, 40, "success")
    ml = [add_run(instance, {"team": "ml"}, 0, "failure"),
          add_run(instance, {"team": "ml"}, 2, None)]  # fmt: skip
    add_run(instance, {"env": "prod"}, 1)
    return {"docs": docs, "ml": ml, "old": [old]}


def _rows(html: str) -> dict[str, dict[str, str]]:
    """The summary table: value → {field: cell text} (success_rate: the percent shown)."""
    rows = {}
    for value, body in re.findall(r'<tr data-value="([^"]*)">(.*?)</tr>', html, re.S):
        cells = dict(re.findall(r'data-field="(\w+)">(.*?)</td>', body, re.S))
        rate = re.search(r'<span class="rate-text">([^<]*)</span>', body)
        cells["success_rate"] = rate.group(1) if rate else ""
        cells["link"] = htmllib.unescape(re.findall(r'<a href="([^"]+)"', body)[0])
        rows[htmllib.unescape(value)] = cells
    return rows


def _chart(html: str, value: str) -> str:
    found = re.search(
        rf'<section class="tag-chart" data-value="{value}">(.*?)</section>', html, re.S
    )
    assert found is not None, f"no chart of {value}"
    return found.group(1)


def _ids(html: str) -> set[str]:
    return set(re.findall(r'<tr data-run-id="([^"]+)"', html))


def test_each_value_has_its_figures_a_chart_and_a_link_to_its_runs(
    queued_client: TestClient, queued_instance: Instance
) -> None:
    ids = _store(queued_instance)
    answer = queued_client.get("/tag-stats/team")
    assert answer.status_code == 200
    html = answer.text
    first, last = day_iso(today() - 29), day_iso(today())
    assert f"<strong>{first}</strong> to <strong>{last}</strong>" in html
    assert "(30 days, UTC" in html
    rows = _rows(html)
    assert list(rows) == ["docs", "ml"]  # most runs first; env is another key
    docs, ml = rows["docs"], rows["ml"]
    assert {k: docs[k] for k in ("runs", "succeeded", "failed", "canceled")} == {
        "runs": "3", "succeeded": "2", "failed": "1", "canceled": "0"
    }  # fmt: skip
    assert docs["success_rate"] == "66.7%" and ml["success_rate"] == "0%"
    # the nearest-rank durations (20 s, 30 s) as their buckets give them (within 1 %)
    assert docs["p50"] == duration(bucket_seconds(bucket_of(20.0)))
    assert docs["p95"] == duration(bucket_seconds(bucket_of(30.0)))
    assert (ml["runs"], ml["failed"]) == ("2", "1")
    # the value links to the runs page filtered by the tag and the window: the same runs
    assert unquote_plus(docs["link"]) == (
        f"/runs?q=team:docs created>{first} created<{day_iso(today() + 1)}"
    )
    runs_page = queued_client.get(docs["link"]).text
    assert _ids(runs_page) == set(ids["docs"])
    assert _ids(queued_client.get(ml["link"]).text) == set(ids["ml"])
    # a chart per value: every day of the window, the days with runs titled with their counts
    chart = _chart(html, "docs")
    assert chart.count('<g class="day"') == 30
    assert f"<title>{day_iso(today() - 1)}: 2 runs, 1 failed, 1 succeeded</title>" in chart
    assert f"<title>{day_iso(today() - 3)}: 1 run, 0 failed, 1 succeeded</title>" in chart
    assert chart.count("no runs</title>") == 28
    day_link = re.findall(r'<a href="([^"]+)"><g class="day"', chart)[0]
    assert _ids(queued_client.get(htmllib.unescape(day_link)).text) == {ids["docs"][2]}
    assert "style=" not in html


def test_a_value_that_needs_quotes_links_to_its_runs(
    queued_client: TestClient, queued_instance: Instance
) -> None:
    run_id = add_run(queued_instance, {"team": 'a "b", c'}, 0)
    add_run(queued_instance, {"team": "a"}, 0)
    rows = _rows(queued_client.get("/tag-stats/team").text)
    link = rows['a "b", c']["link"]
    assert 'q=team:"a \\"b\\", c"' in unquote_plus(link)
    assert _ids(queued_client.get(link).text) == {run_id}


def test_the_window_follows_presets_bounds_and_the_limit(
    queued_client: TestClient, queued_instance: Instance
) -> None:
    _store(queued_instance)
    html = queued_client.get("/tag-stats/team").text
    presets = re.findall(r'<a class="chip( chip-active)?" href="([^"]+)" data-days="(\d+)"', html)
    assert [(days, bool(active)) for active, _, days in presets] == [
        ("7", False), ("30", True), ("90", False), ("365", False)
    ]  # fmt: skip
    assert presets[2][1] == "/tag-stats/team?days=90"
    wide = queued_client.get("/tag-stats/team?days=90").text
    assert _rows(wide)["docs"]["runs"] == "4"  # the run 40 days ago
    assert _chart(wide, "docs").count('<g class="day"') == 90
    assert 'data-days="90" aria-current="true"' in wide
    year = queued_client.get("/tag-stats/team", params={"days": "365"}).text
    assert "Runs per week" in year and _chart(year, "docs").count('<g class="day"') == 53
    week = queued_client.get("/tag-stats/team", params={"days": "7"}).text
    assert _chart(week, "docs").count('<g class="day"') == 7
    # explicit bounds (until excluded), as dates, date-times or epoch seconds
    since, until = day_iso(today() - 3), day_iso(today() - 1)
    for params in ({"since": since, "until": until},
                   {"since": f"{since}T05:00:00Z", "until": str((today() - 1) * DAY)}):  # fmt: skip
        bounded = queued_client.get("/tag-stats/team", params=params).text
        rows = _rows(bounded)
        assert (rows["docs"]["runs"], rows["ml"]["runs"]) == ("1", "1")
        assert f"<strong>{since}</strong> to <strong>{day_iso(today() - 2)}</strong>" in bounded
        assert 'aria-current="true"' not in bounded
    ending = queued_client.get("/tag-stats/team", params={"days": "2", "until": until}).text
    assert f"<strong>{since}</strong> to <strong>{day_iso(today() - 2)}</strong>" in ending
    # the limit, with the values left out counted and a link showing them
    one = queued_client.get("/tag-stats/team", params={"limit": "1"}).text
    assert list(_rows(one)) == ["docs"]
    assert re.search(r'and 1 more value · <a href="/tag-stats/team\?limit=2">', one)
    assert "more-values" not in html


def test_a_key_without_runs_in_the_window_says_so(
    queued_client: TestClient, queued_instance: Instance
) -> None:
    add_run(queued_instance, {"owner": "ana"}, 100)
    for key in ("owner", "nobody", "dagwright/partition"):
        answer = queued_client.get(f"/tag-stats/{key}")
        assert answer.status_code == 200
        assert 'id="no-runs"' in answer.text and f"has the tag <code>{key}</code>" in answer.text
        assert "<table" not in answer.text
    assert _rows(queued_client.get("/tag-stats/owner?days=365").text)["ana"]["runs"] == "1"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01"}, "until"),
        ({"since": "2026-01-05", "until": "2026-01-01"}, "since"),
        ({"days": "0"}, "days"),
        ({"days": "a week"}, "days"),
        ({"days": "9999"}, "days"),
        ({"days": "7", "since": "2026-01-01"}, "days"),
        ({"days": "7", "until": "nan"}, "until"),
        ({"limit": "0"}, "limit"),
        ({"limit": "5000"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "²"}, "limit"),
        ({"since": "0001-01-01"}, "since"),  # longer than the page shows
    ],
)
def test_a_bad_parameter_is_a_422_page_naming_it(
    queued_client: TestClient, params: dict[str, str], field: str
) -> None:
    answer = queued_client.get("/tag-stats/team", params=params)
    assert answer.status_code == 422
    message = re.search(r'<p class="error-message">([^<]*)</p>', answer.text)
    assert message is not None and re.search(rf"\b{field}\b", message.group(1)), message
    assert "Traceback" not in answer.text


def test_a_bad_or_internal_key_is_refused(queued_client: TestClient) -> None:
    for path in ("/tag-stats/bad%20key", "/tag-stats/a/b/c", "/tag-stats/.internal"):
        answer = queued_client.get(path)
        assert answer.status_code == 422, path
        assert 'class="error-message"' in answer.text and "Traceback" not in answer.text
    assert queued_client.get("/tag-stats/", follow_redirects=False).headers["location"] == (
        "/tag-stats"
    )


def test_the_index_lists_the_keys_and_picks_one(
    queued_client: TestClient, queued_instance: Instance
) -> None:
    assert 'id="no-tag-keys"' in queued_client.get("/tag-stats").text
    add_run(queued_instance, {"team": "docs", ".internal": "x", "dagwright/partition": "p"}, 0)
    html = queued_client.get("/tag-stats").text
    user = re.search(r'<ul class="tag-keys" id="tag-keys">(.*?)</ul>', html, re.S)
    system = re.search(r'<ul class="tag-keys" id="system-tag-keys">(.*?)</ul>', html, re.S)
    assert user is not None and system is not None
    assert re.findall(r'href="([^"]+)"', user.group(1)) == ["/tag-stats/team"]
    assert re.findall(r'href="([^"]+)"', system.group(1)) == ["/tag-stats/dagwright/partition"]
    assert ".internal" not in html
    picked = queued_client.get("/tag-stats", params={"key": "team"}, follow_redirects=False)
    assert picked.status_code == 303 and picked.headers["location"] == "/tag-stats/team"
    assert queued_client.get("/tag-stats", params={"key": "bad key"}).status_code == 422
    shown = queued_client.get("/tag-stats/dagwright/partition").text
    assert _rows(shown)["p"]["runs"] == "1"


def test_the_navigation_and_tag_keys_link_to_the_pages(
    queued_client: TestClient, queued_instance: Instance
) -> None:
    run_id = add_run(queued_instance, {"team": "docs"}, 0)
    runs = queued_client.get("/runs", params={"columns": "team,launched_by"}).text
    assert '<a href="/tag-stats">Tag stats</a>' in runs
    header = re.search(r'<th data-column="team">(.*?)</th>', runs, re.S)
    assert header is not None and 'href="/tag-stats/team"' in header.group(1)
    launched = re.search(r'<th data-column="launched_by">(.*?)</th>', runs, re.S)
    assert launched is not None and "tag-stats" not in launched.group(1)
    run_page = queued_client.get(f"/runs/{run_id}").text
    assert 'class="tag-stats-link" href="/tag-stats/team"' in run_page
    stats = queued_client.get("/tag-stats/team").text
    assert 'href="/tag-stats" class="active" aria-current="page"' in stats
