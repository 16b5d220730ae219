"""Saved views and bulk actions through the HTTP API, and the page ``/runs?view=NAME``."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient
from tests.waiting import wait_for
from tests.web.test_api import _store

from dagwright import Instance, Run, RunStatus


def test_views_are_saved_listed_shown_and_deleted(
    client: TestClient, web_instance: Instance
) -> None:
    ids = _store(web_instance, {"team": "docs", "env": "prod"}, {"team": "ml", "env": "dev"})
    body = {"name": "docs", "q": "team:docs", "columns": ["env"]}
    response = client.post("/api/v1/views", json=body)
    assert response.status_code == 201, response.text
    assert response.json() == body
    assert client.get("/api/v1/views").json() == {"views": [body]}
    page = client.get("/runs?view=docs").text
    assert f'data-run-id="{ids[0]}"' in page and ids[1] not in page
    assert '<th data-column="env">' in page and 'value="team:docs"' in page
    assert 'class="chip chip-active" href="/runs?view=docs"' in page  # the saved views' links
    assert 'href="/runs?view=docs"' in client.get("/runs").text
    assert client.delete("/api/v1/views/docs").status_code == 204
    assert client.get("/api/v1/views").json() == {"views": []}
    assert client.delete("/api/v1/views/docs").status_code == 404
    assert client.get("/runs?view=docs").status_code == 404


def test_bad_views_are_422_naming_the_field(client: TestClient) -> None:
    def field(body: dict[str, Any]) -> Any:
        response = client.post("/api/v1/views", json=body)
        assert response.status_code == 422, response.text
        return response.json()["error"]["field"]

    assert field({"name": "a b", "q": ""}) == "name"
    assert field({"name": "v", "q": "team:("}) == "q"
    assert field({"name": "v", "q": "", "columns": ["bad key"]}) == "columns"
    assert field({"name": "v", "q": "", "extra": 1}) == "extra"


def _queued(instance: Instance, *tag_sets: dict[str, str]) -> list[str]:
    now = time.time()
    runs = [
        Run(f"queued-{i}", "documented", RunStatus.QUEUED, tags, created_at=now + i)
        for i, tags in enumerate(tag_sets)
    ]
    instance.storage.runs.add_runs(runs)
    return [run.run_id for run in runs]


def test_bulk_dry_run_then_terminate_in_the_background(
    client: TestClient, web_instance: Instance
) -> None:
    finished = _store(web_instance, {"team": "docs"})
    queued = _queued(web_instance, {"team": "docs"}, {"team": "docs"}, {"team": "ml"})
    dry = client.post("/api/v1/runs/bulk", json={"q": "team:docs", "action": "terminate",
                                                  "dry_run": True})  # fmt: skip
    assert dry.status_code == 200, dry.text
    assert dry.json()["count"] == 3
    assert [r["run_id"] for r in dry.json()["sample"]] == [queued[1], queued[0], finished[0]]
    assert web_instance.get_runs_count() == 4  # nothing acted on

    started = client.post("/api/v1/runs/bulk", json={"q": "team:docs", "action": "terminate"})
    assert started.status_code == 202, started.text
    bulk_id, count = started.json()["id"], started.json()["count"]
    assert count == 3

    def done() -> bool:
        return bool(client.get(f"/api/v1/bulk/{bulk_id}").json()["status"] == "DONE")

    wait_for(done, what="the bulk action to finish")
    result = client.get(f"/api/v1/bulk/{bulk_id}").json()
    assert (result["action"], result["count"], result["done"], result["refused"]) == (
        "terminate", 3, 2, 1,
    )  # fmt: skip
    outcomes = {r["run_id"]: (r["outcome"], r["reason"]) for r in result["results"]}
    assert outcomes[queued[0]] == ("done", None)
    assert outcomes[finished[0]][0] == "refused" and "SUCCESS" in outcomes[finished[0]][1]
    run = web_instance.get_run(queued[2])
    assert run is not None and run.status is RunStatus.QUEUED


def test_bulk_tags(client: TestClient, web_instance: Instance) -> None:
    ids = _store(web_instance, {"team": "docs"}, {"team": "ml"})
    body = {"q": "team:docs", "action": "add_tags", "tags": {"reviewed": "yes"}}
    bulk_id = client.post("/api/v1/runs/bulk", json=body).json()["id"]
    wait_for(lambda: client.get(f"/api/v1/bulk/{bulk_id}").json()["status"] == "DONE")
    listed = client.get("/api/v1/runs", params={"q": "reviewed:yes"}).json()["runs"]
    assert [r["run_id"] for r in listed] == [ids[0]]


def test_bad_bulk_requests_are_422_naming_the_field(client: TestClient) -> None:
    def error(body: dict[str, Any]) -> Any:
        response = client.post("/api/v1/runs/bulk", json=body)
        assert response.status_code == 422, response.text
        return response.json()["error"]

    assert error({"q": "", "action": "explode"})["field"] == "action"
    assert error({"q": "", "action": "explode", "dry_run": True})["field"] == "action"
    assert error({"q": "", "action": "add_tags"})["field"] == "tags"
    assert error({"q": "", "action": "add_tags", "tags": {"bad key": 1}})["field"] == "tags"
    assert error({"q": "", "action": "remove_tags", "keys": ["bad key"]})["field"] == "keys"
    assert error({"q": "", "action": "terminate", "priority": 3})["field"] == "priority"
    query = error({"q": "team:(", "action": "terminate"})
    assert (query["type"], query["field"], query["position"]) == ("invalid_query", "q", 5)
    assert client.get("/api/v1/bulk/nope").status_code == 404
