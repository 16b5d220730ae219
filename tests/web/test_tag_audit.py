"""The tag history and queue control over the HTTP API, with named tokens as actors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.jobs.simple import chain
from tests.web.conftest import BASE_URL, web_definitions

from dagwright import Instance
from dagwright.web.app import create_app

ANA, BOB = "ana-secret-0123456789", "bob-secret-0123456789"


@pytest.fixture
def named(queued_instance: Instance) -> Iterator[TestClient]:
    app = create_app(queued_instance, web_definitions(), token={"ana": ANA, "bob": BOB})
    with TestClient(app, base_url=BASE_URL) as test:
        yield test


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _changes(client: TestClient, run_id: str, **headers: Any) -> list[dict[str, Any]]:
    answer = client.get(f"/api/v1/runs/{run_id}/tag-history", headers=headers)
    assert answer.status_code == 200, answer.text
    changes: list[dict[str, Any]] = answer.json()["changes"]
    return changes


def test_each_token_name_is_the_actor(named: TestClient, queued_instance: Instance) -> None:
    run_id = queued_instance.submit_run(chain).run_id
    patch = named.patch(f"/api/v1/runs/{run_id}/tags", json={"add": {"a": 1}}, headers=_auth(ANA))
    assert patch.status_code == 200, patch.text
    hold = named.post(f"/api/v1/runs/{run_id}/hold", headers=_auth(BOB))
    assert hold.json()["tags"]["dagwright/held_by"] == "bob"
    state = named.get("/api/v1/queue", headers=_auth(ANA)).json()
    assert state["runs"][0]["blocked_by"] == ["held by bob"]
    prio = named.post(f"/api/v1/runs/{run_id}/priority", json={"priority": -2}, headers=_auth(ANA))
    assert prio.status_code == 200 and prio.json()["tags"]["dagwright/priority"] == "-2"
    assert named.post(f"/api/v1/runs/{run_id}/release", headers=_auth(ANA)).status_code == 200
    changes = _changes(named, run_id, **_auth(BOB))
    assert [(c["actor"], c["via"]) for c in changes] == [("ana", "api"), ("bob", "api")] + [
        ("ana", "api")
    ] * 2
    assert changes[0]["changes"] == {"a": {"old": None, "new": "1"}}
    assert isinstance(changes[0]["at"], float)


def test_unauthenticated_loopback_actor_and_refusals(
    queued_client: TestClient, queued_instance: Instance
) -> None:
    run_id = queued_instance.submit_run(chain).run_id
    queued_client.patch(f"/api/v1/runs/{run_id}/tags", json={"remove": ["nothing"]})
    queued_client.patch(f"/api/v1/runs/{run_id}/tags", json={"add": {"k": "v"}})
    (change,) = _changes(queued_client, run_id)
    assert change["actor"] == "testclient"  # the client's address, as the server saw it
    bad = queued_client.post(f"/api/v1/runs/{run_id}/priority", json={"priority": "high"})
    assert bad.status_code == 422
    queued_client.post(f"/api/v1/runs/{run_id}/terminate")
    late = queued_client.post(f"/api/v1/runs/{run_id}/hold")
    assert late.status_code == 409 and "only a QUEUED run" in late.json()["error"]["message"]
    assert queued_client.get("/api/v1/runs/nope/tag-history").status_code == 404
    assert len(_changes(queued_client, run_id)) == 1
