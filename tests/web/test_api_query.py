"""Run queries through the HTTP API: ``GET /api/v1/runs?q=`` and its 422."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from tests.web.test_api import _store

from dagwright import Instance


def _listed(client: TestClient, query: str) -> list[str]:
    response = client.get("/api/v1/runs", params={"q": query})
    assert response.status_code == 200, response.text
    return [run["run_id"] for run in response.json()["runs"]]


def test_runs_are_listed_by_query(client: TestClient, web_instance: Instance) -> None:
    ids = _store(
        web_instance,
        {"team": "docs", "env": "prod"},
        {"team": "ml", "env": "prod"},
        {"team": "docs", "env": "dev", "batch": "b12"},
        {"env": "dev"},
    )
    assert _listed(client, "team:docs -env:prod") == [ids[2]]
    assert _listed(client, "(team:docs OR team:ml) batch:b1*") == [ids[2]]
    assert _listed(client, "-team:* status:SUCCESS") == [ids[3]]
    assert _listed(client, "team:docs OR env:dev") == [ids[3], ids[2], ids[0]]
    assert _listed(client, "") == ids[::-1]
    # q combines with the other filters
    response = client.get("/api/v1/runs", params={"q": "env:*", "tag": "team=ml"})
    assert [run["run_id"] for run in response.json()["runs"]] == [ids[1]]
    page = client.get("/api/v1/runs", params={"q": "env:dev", "limit": 1}).json()
    assert page["cursor"] == ids[3]


def test_a_bad_query_is_422_with_position_and_expected(client: TestClient) -> None:
    response = client.get("/api/v1/runs", params={"q": "team:docs (env:prod"})
    assert response.status_code == 422, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["type"] == "invalid_query"
    assert error["field"] == "q"
    assert error["position"] == len("team:docs (env:prod")
    assert error["expected"] == "')'"
    assert "position 19" in error["message"]
