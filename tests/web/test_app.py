"""``create_app``: the pages answer without FastAPI; the API is built once, on first use or
in the background after the first page."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.waiting import wait_for
from tests.web.conftest import BASE_URL

from dagwright import Instance
from dagwright.web.app import WebApp, create_app

#: Run in a fresh interpreter: building the app and serving a page import no FastAPI.
PAGES_WITHOUT_FASTAPI = """
import sys
from dagwright import Instance
from dagwright.web.app import create_app
app = create_app(Instance.ephemeral())
assert "fastapi" not in sys.modules, "create_app imported FastAPI"
assert app.api.app is None
app.api.get()
assert "fastapi" in sys.modules
"""


def test_building_the_app_imports_no_fastapi() -> None:
    subprocess.run([sys.executable, "-c", PAGES_WITHOUT_FASTAPI], check=True, timeout=60)


def test_the_api_is_built_once_after_the_first_page(web_instance: Instance) -> None:
    app = create_app(web_instance)
    assert isinstance(app, WebApp) and app.api.app is None
    with TestClient(app, base_url=BASE_URL) as client:
        assert client.get("/runs").status_code == 200
        wait_for(lambda: app.api.app is not None, 30, "the API built in the background")
        built = app.api.app
        assert client.get("/api/v1/runs").json() == {"runs": [], "cursor": None}
        assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "dagwright"
        assert app.api.app is built


def test_an_api_request_first_builds_the_api(web_instance: Instance) -> None:
    app = create_app(web_instance)
    with TestClient(app, base_url=BASE_URL) as client:
        error = client.get("/api/v1/runs/nope").json()["error"]
        assert error["field"] == "run_id" and app.api.app is not None
        assert client.get("/nope").status_code == 404  # pages: the error page
        assert client.get("/api/v1/nope").json()["error"]["type"] == "not_found"


def test_a_favicon_is_served(client: TestClient) -> None:
    # Every page used to log a 404 for /favicon.ico.
    for path in ("/favicon.ico", "/static/favicon.svg"):
        answer = client.get(path)
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/svg+xml"
        assert answer.text.startswith("<svg")
    assert '<link rel="icon" href="/static/favicon.svg"' in client.get("/jobs").text


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/runs?offset=%C2%B2", None),  # '²' is a digit to str.isdigit
        ("get", "/schedules/nightly_docs?before=%D9%A3", None),  # an Arabic-Indic three
        ("post", "/runs/{run_id}/priority", {"priority": "-²"}),
    ],
)
def test_numbers_in_other_scripts_are_refused_not_a_crash(
    queued_client: TestClient, queued_instance: Instance, method: str, path: str, data: Any
) -> None:
    from tests.jobs.simple import chain

    run_id = queued_instance.submit_run(chain).run_id
    url = path.format(run_id=run_id)
    answer = queued_client.post(url, data=data) if method == "post" else queued_client.get(url)
    assert answer.status_code == 422, answer.text
