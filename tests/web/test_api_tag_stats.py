"""``GET /api/v1/tag-stats`` (DESIGN §11) on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from tests.tag_stats_runs import add_run

from dagwright import Instance
from dagwright.runs.models import RunStatus
from dagwright.runs.tag_stats import DAY


def test_the_answer_counts_each_value_per_day(
    queued_client: TestClient, queued_instance: Instance
) -> None:
    today = time.time() // DAY * DAY
    yesterday = today - DAY + 600
    for seconds in (10, 20, 30):
        add_run(queued_instance, {"team": "docs"}, created=yesterday, seconds=seconds)
    failed = RunStatus.FAILURE
    add_run(queued_instance, {"team": "docs"}, created=today + 60, status=failed, seconds=40)
    add_run(queued_instance, {"team": "docs"}, created=today + 60, status=RunStatus.QUEUED)
    add_run(queued_instance, {"team": "ml"}, created=today + 60, status=RunStatus.CANCELED)
    add_run(queued_instance, {"env": "prod"}, created=today + 60)
    answer = queued_client.get("/api/v1/tag-stats", params={"key": "team"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["key"] == "team" and body["more_values"] == 0
    docs, ml = body["values"]
    assert (docs["value"], docs["runs"], docs["succeeded"], docs["failed"]) == ("docs", 5, 3, 1)
    assert docs["success_rate"] == pytest.approx(0.75)
    assert docs["p50_seconds"] == pytest.approx(20, rel=0.01)
    assert docs["p95_seconds"] == pytest.approx(40, rel=0.01)
    day = time.strftime("%Y-%m-%d", time.gmtime(yesterday))
    assert docs["by_day"][0] == {"day": day, "runs": 3, "succeeded": 3, "failed": 0}
    assert docs["by_day"][1]["runs"] == 2 and docs["by_day"][1]["failed"] == 1
    assert (ml["value"], ml["canceled"], ml["success_rate"]) == ("ml", 1, 0.0)
    # a window of yesterday alone, as epoch seconds; and ISO dates
    only = queued_client.get(
        "/api/v1/tag-stats", params={"key": "team", "since": yesterday, "until": today}
    ).json()
    assert [(v["value"], v["runs"]) for v in only["values"]] == [("docs", 3)]
    iso = time.strftime("%Y-%m-%d", time.gmtime(today))
    same = queued_client.get(
        "/api/v1/tag-stats", params={"key": "team", "since": day, "until": iso}
    ).json()
    assert same == only
    limited = queued_client.get("/api/v1/tag-stats", params={"key": "team", "limit": 1}).json()
    assert [v["value"] for v in limited["values"]] == ["docs"] and limited["more_values"] == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"key": "team", "since": "last week"}, "since"),
        ({"key": "team", "until": "2026-02-30"}, "until"),
        ({"key": "team", "since": "2026-03-02", "until": "2026-03-01"}, "since"),
        ({"key": "team", "limit": 0}, "limit"),
        ({"key": "not a key"}, "key"),
        ({}, "key"),
    ],
)
def test_bad_parameters_are_422_naming_the_field(
    queued_client: TestClient, params: dict[str, object], field: str
) -> None:
    answer = queued_client.get("/api/v1/tag-stats", params=params)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == field
