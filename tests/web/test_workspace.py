"""A server started with a workspace: two jobs named ``nightly`` in the code locations
``etl`` and ``ml`` are both listed (API, jobs page), launched, re-executed, and their runs
kept apart (run filters, job pages), on SQLite and PostgreSQL."""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from tests.waiting import wait_finished
from tests.web.conftest import BASE_URL

from dagwright import Instance
from dagwright.definitions.workspace import Workspace, load_workspace
from dagwright.definitions.workspace_file import read_workspace_file

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

EXAMPLE = Path(__file__).resolve().parents[1] / "jobs" / "workspace_example"


def example_workspace() -> Workspace:
    """The README's workspace: ``nightly@etl``, ``load_sales``, ``nightly@ml``, ``report``."""
    return load_workspace(read_workspace_file(EXAMPLE / "workspace.yaml"))


@pytest.fixture
def ws_client(web_instance: Instance) -> Iterator[TestClient]:
    from fastapi.testclient import TestClient

    from dagwright.web.app import create_app

    app = create_app(web_instance, example_workspace())
    with TestClient(app, base_url=BASE_URL) as test:
        yield test


def _launched(client: TestClient, instance: Instance, job_name: str) -> dict[str, Any]:
    response = client.post("/api/v1/runs", json={"job_name": job_name})
    assert response.status_code == 201, response.text
    run: dict[str, Any] = response.json()
    assert wait_finished(instance, run["run_id"]).status.value == "SUCCESS"
    return run


def test_the_jobs_api_gives_each_job_its_location(ws_client: TestClient) -> None:
    jobs = ws_client.get("/api/v1/jobs").json()["jobs"]
    assert [(j["reference"], j["name"], j["location"]) for j in jobs] == [
        ("nightly@etl", "nightly", "etl"),
        ("load_sales", "load_sales", "etl"),
        ("nightly@ml", "nightly", "ml"),
        ("report", "report", "other"),
    ]
    for path in ("/api/v1/jobs/nightly@ml", "/api/v1/jobs/ml/nightly"):
        job = ws_client.get(path).json()
        assert (job["location"], job["reference"], job["tags"]) == (
            "ml",
            "nightly@ml",
            {"team": "ml"},
        )
    assert ws_client.get("/api/v1/jobs/load_sales").json()["location"] == "etl"
    assert ws_client.get("/api/v1/jobs/etl/load_sales").json()["reference"] == "load_sales"


def test_an_ambiguous_job_name_is_a_404_naming_the_candidates(ws_client: TestClient) -> None:
    response = ws_client.get("/api/v1/jobs/nightly")
    assert response.status_code == 404
    assert "nightly@etl, nightly@ml" in response.json()["error"]["message"]
    posted = ws_client.post("/api/v1/runs", json={"job_name": "nightly"})
    assert posted.status_code == 404 and posted.json()["error"]["field"] == "job_name"
    assert ws_client.get("/api/v1/runs").json()["runs"] == []
    page = ws_client.get("/jobs/nightly")
    assert page.status_code == 404 and "nightly@ml" in html.unescape(page.text)


def test_runs_of_same_named_jobs_are_kept_apart(
    ws_client: TestClient, web_instance: Instance
) -> None:
    etl = _launched(ws_client, web_instance, "nightly@etl")
    ml = _launched(ws_client, web_instance, "nightly@ml")
    assert etl["code_pointer"]["location_name"] == "etl"
    assert ml["code_pointer"]["location_name"] == "ml"

    def ids(query: str) -> list[str]:
        return [r["run_id"] for r in ws_client.get(f"/api/v1/runs?{query}").json()["runs"]]

    assert ids("location=ml") == [ml["run_id"]]
    assert ids("location=etl") == [etl["run_id"]]
    assert ids("job=nightly%40etl") == [etl["run_id"]]
    assert ids("job=nightly") == [ml["run_id"], etl["run_id"]]
    assert ids("location=other") == []

    ml_page = ws_client.get("/jobs/nightly@ml").text
    assert ml["run_id"] in ml_page and etl["run_id"] not in ml_page
    etl_page = ws_client.get("/jobs/nightly%40etl").text
    assert etl["run_id"] in etl_page and ml["run_id"] not in etl_page
    runs_page = ws_client.get("/runs?job=nightly@ml").text
    assert ml["run_id"] in runs_page and etl["run_id"] not in runs_page
    run_page = ws_client.get(f"/runs/{ml['run_id']}").text
    assert 'href="/jobs/nightly%40ml"' in run_page
    assert '<dd class="location">ml</dd>' in run_page

    jobs_page = ws_client.get("/jobs").text
    assert 'href="/jobs/nightly%40etl"' in jobs_page and 'href="/jobs/nightly%40ml"' in jobs_page
    assert "<th>code location</th>" in jobs_page


def test_the_server_reexecutes_runs_of_every_location(
    ws_client: TestClient, web_instance: Instance
) -> None:
    for location in ("etl", "ml"):
        parent = _launched(ws_client, web_instance, f"nightly@{location}")
        response = ws_client.post(f"/api/v1/runs/{parent['run_id']}/reexecute")
        assert response.status_code == 201, response.text
        child = response.json()
        assert child["code_pointer"]["location_name"] == location
        assert wait_finished(web_instance, child["run_id"]).tags["team"] == location


def test_the_launchpad_of_a_located_job_launches_it(
    ws_client: TestClient, web_instance: Instance
) -> None:
    page = ws_client.get("/jobs/nightly@ml/launchpad")
    assert page.status_code == 200
    assert 'action="/jobs/nightly%40ml/launchpad"' in page.text
    posted = ws_client.post(
        "/jobs/nightly%40ml/launchpad",
        data={"run_config": "", "op_selection": ""},
        headers={"Origin": BASE_URL},
        follow_redirects=False,
    )
    assert posted.status_code == 303, posted.text
    run_id = posted.headers["location"].rsplit("/", 1)[1]
    run = wait_finished(web_instance, run_id)
    assert (run.location_name, run.tags["team"]) == ("ml", "ml")


def test_runs_and_backfills_link_to_the_job_of_their_location(web_instance: Instance) -> None:
    from dagwright.runs.backfills import Backfill
    from dagwright.runs.models import CodePointer, Run, RunStatus
    from dagwright.web.context import WebContext

    web = WebContext(web_instance, example_workspace())

    def pointer(location: str | None) -> CodePointer:
        return CodePointer("nightly", python_file="/x.py", location_name=location)

    runs = {
        location: Run("r", "nightly", RunStatus.SUCCESS, code_pointer=pointer(location))
        for location in ("ml", "etl", "gone", None)
    }
    assert [web.run_job_reference(run) for run in runs.values()] == [
        "nightly@ml",
        "nightly@etl",
        "nightly",  # a location this server was not started with: by name
        "nightly",
    ]
    backfill = Backfill("b", "nightly", ("k",), code_pointer=pointer("ml"))
    assert web.run_job_reference(backfill) == "nightly@ml"
    loaded = runs["etl"]
    assert web.run_job_reference(replace(loaded, job_name="load_sales")) == "load_sales"
