"""The HTTP API (``/api/v1``) through the ASGI test client, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from tests.jobs import web
from tests.waiting import wait_finished

from dagwright import Instance, Run, RunStatus


def _store(instance: Instance, *tag_sets: dict[str, str], job: str = "documented") -> list[str]:
    """Store finished runs with these tags (newest last); return their ids."""
    now = time.time()
    runs = [
        Run(
            run_id=f"run-{i:04d}-{job}",
            job_name=job,
            status=RunStatus.SUCCESS,
            tags=tags,
            created_at=now + i,
            started_at=now + i,
            ended_at=now + i + 0.5,
        )
        for i, tags in enumerate(tag_sets)
    ]
    instance.storage.runs.add_runs(runs)
    return [run.run_id for run in runs]


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["message"] and error["rule"]
    return error


# -- jobs ----------------------------------------------------------------------------------


def test_jobs_list_and_detail_carry_typed_metadata_tags_graph_and_partitions(
    client: TestClient,
) -> None:
    jobs = client.get("/api/v1/jobs").json()["jobs"]
    assert [j["name"] for j in jobs] == ["documented", "configured", "flaky"]
    detail = client.get("/api/v1/jobs/documented").json()
    assert detail["description"] == "A job whose metadata pane shows every type."
    assert detail["metadata"]["owner"] == {"type": "text", "value": "web team"}
    assert detail["metadata"]["docs"] == {
        "type": "url",
        "value": "https://docs.example.com/documented",
    }
    assert detail["metadata"]["runbook"] == {"type": "md", "value": web.HOSTILE_MARKDOWN}
    assert detail["metadata"]["pii"] == {"type": "bool", "value": False}
    assert detail["metadata"]["rows"]["value"]["records"][0] == {"id": 1, "name": "<b>one</b>"}
    assert detail["tags"] == {"team": "web", "tier": "<gold>"}
    assert [n["name"] for n in detail["graph"]["nodes"]] == ["emit", "shout"]
    assert detail["graph"]["edges"] == [
        {"from_node": "emit", "from_output": "result", "to_node": "shout", "to_input": "value"}
    ]
    assert detail["partitions"] is None
    configured = client.get("/api/v1/jobs/configured").json()
    assert configured["partitions"]["keys"] == ["red", "green", "blue"]
    assert configured["graph"]["nodes"][0]["config_schema"]["required"] == ["rows"]


def test_unknown_job_is_404(client: TestClient) -> None:
    error = _error(client.get("/api/v1/jobs/nope"), 404)
    assert error["field"] == "job_name" and "nope" in error["message"]


# -- runs: create and inspect --------------------------------------------------------------


def test_create_run_launches_it_and_its_events_are_served(
    client: TestClient, web_instance: Instance
) -> None:
    response = client.post(
        "/api/v1/runs",
        json={"job_name": "documented", "tags": {"team": "api", "ticket": 42}},
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "STARTING"
    assert created["tags"] == {"team": "api", "tier": "<gold>", "ticket": "42"}
    run = wait_finished(web_instance, created["run_id"])
    assert run.status is RunStatus.SUCCESS
    fetched = client.get(f"/api/v1/runs/{run.run_id}").json()
    assert fetched == run.to_json()
    events = client.get(f"/api/v1/runs/{run.run_id}/events").json()["events"]
    types = [e["event_type"] for e in events]
    assert types[-1] == "RUN_SUCCESS" and "STEP_SUCCESS" in types
    assert any(e["message"] == "emitting for team api" for e in events)
    later = client.get(f"/api/v1/runs/{run.run_id}/events?after={events[-2]['storage_id']}")
    assert [e["event_type"] for e in later.json()["events"]] == ["RUN_SUCCESS"]


def test_create_run_with_config_selection_and_partition(
    client: TestClient, web_instance: Instance
) -> None:
    body = {
        "job_name": "configured",
        "run_config": {"ops": {"load": {"config": {"rows": 3}}}},
        "op_selection": ["load"],
        "partition_key": "green",
    }
    created = client.post("/api/v1/runs", json=body).json()
    assert created["tags"]["dagwright/partition"] == "green"
    assert created["op_selection"] == ["load"]
    assert wait_finished(web_instance, created["run_id"]).status is RunStatus.SUCCESS


def test_bad_run_requests_name_the_field_and_store_nothing(
    client: TestClient, web_instance: Instance
) -> None:
    def post(**body: Any) -> Any:
        return client.post("/api/v1/runs", json={"job_name": "configured", **body})

    error = _error(post(tags={"bad key!": "x"}, partition_key="red"), 422)
    assert (error["field"], error["key"]) == ("tags", "bad key!")
    error = _error(post(tags={"dagwright/partition": "x"}, partition_key="red"), 422)
    assert error["key"] == "dagwright/partition" and "reserved" in error["rule"]
    error = _error(post(tags={"dagwright/priority": "high"}, partition_key="red"), 422)
    assert error["key"] == "dagwright/priority"
    assert _error(post(partition_key="purple"), 422)["field"] == "partition_key"
    error = _error(post(run_config={"ops": {"load": {"config": {"rows": "many"}}}}), 422)
    assert error["field"] == "run_config"
    assert _error(post(op_selection=["nope"]), 422)["field"] == "op_selection"
    assert _error(client.post("/api/v1/runs", json={"job_name": "nope"}), 404)["field"] == (
        "job_name"
    )
    assert _error(client.post("/api/v1/runs", json={"tags": {}}), 422)["field"] == "job_name"
    assert _error(post(colour="red"), 422)["field"] == "colour"
    bad_json = client.post(
        "/api/v1/runs", content=b"{not json", headers={"content-type": "application/json"}
    )
    _error(bad_json, 422)
    assert web_instance.get_runs() == []


# -- runs: list, filter, paginate ----------------------------------------------------------


def test_runs_filter_by_tags_status_and_job(client: TestClient, web_instance: Instance) -> None:
    ids = _store(
        web_instance,
        {"team": "docs", "env": "prod"},
        {"team": "ml", "env": "prod"},
        {"team": "ml", "env": "dev"},
    )
    _store(web_instance, {"team": "ml"}, job="configured")

    def listed(query: str) -> list[str]:
        response = client.get(f"/api/v1/runs?{query}")
        assert response.status_code == 200, response.text
        return [run["run_id"] for run in response.json()["runs"]]

    assert listed("tag=team=docs") == [ids[0]]
    assert listed("tag=team=ml&tag=env=prod") == [ids[1]]
    assert listed("tag=team=ml&tag=team=docs&tag=env=prod") == [ids[1], ids[0]]
    assert listed("tag=team=ml&job=documented") == [ids[2], ids[1]]
    assert len(listed("status=SUCCESS")) == 4
    assert listed("status=FAILURE&status=CANCELED") == []
    page = client.get("/api/v1/runs?tag=team=ml&limit=1").json()
    assert page["cursor"] == "run-0000-configured"


def test_runs_keyset_pagination_and_same_objects_as_the_cli(
    client: TestClient, web_instance: Instance
) -> None:
    ids = _store(web_instance, *[{"n": str(i)} for i in range(7)])
    seen: list[str] = []
    cursor = None
    while True:
        query = "limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(f"/api/v1/runs?{query}").json()
        seen += [run["run_id"] for run in page["runs"]]
        cursor = page["cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    first = client.get("/api/v1/runs?limit=1").json()["runs"][0]
    stored = web_instance.get_run(first["run_id"])
    assert stored is not None and first == stored.to_json()


def test_bad_run_list_queries_are_422_naming_the_field(client: TestClient) -> None:
    assert _error(client.get("/api/v1/runs?tag=no-equals"), 422)["field"] == "tag"
    error = _error(client.get("/api/v1/runs?tag=bad key=x"), 422)
    assert (error["field"], error["key"]) == ("tag", "bad key")
    assert _error(client.get("/api/v1/runs?status=DONE"), 422)["field"].startswith("status")
    assert _error(client.get("/api/v1/runs?limit=0"), 422)["field"] == "limit"
    assert _error(client.get("/api/v1/runs?limit=abc"), 422)["field"] == "limit"
    assert _error(client.get("/api/v1/runs?cursor=nope"), 422)["field"] == "cursor"
    assert _error(client.get("/api/v1/runs?tag=team=%00"), 422)["field"] == "tag"


def test_unknown_runs_are_404(client: TestClient) -> None:
    for method, path in [
        ("GET", "/api/v1/runs/nope"),
        ("GET", "/api/v1/runs/nope/events"),
        ("PATCH", "/api/v1/runs/nope/tags"),
        ("POST", "/api/v1/runs/nope/reexecute"),
        ("POST", "/api/v1/runs/nope/terminate"),
    ]:
        kwargs: dict[str, Any] = {"json": {}} if method == "PATCH" else {}
        error = _error(client.request(method, path, **kwargs), 404)
        assert error["field"] == "run_id"


# -- tags ----------------------------------------------------------------------------------


def test_patch_tags_adds_and_removes_user_tags(client: TestClient, web_instance: Instance) -> None:
    (run_id,) = _store(web_instance, {"team": "docs", "dagwright/partition": "p1"})
    response = client.patch(
        f"/api/v1/runs/{run_id}/tags", json={"add": {"owner": "ana", "n": 3}, "remove": ["team"]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["tags"] == {"dagwright/partition": "p1", "owner": "ana", "n": "3"}
    error = _error(
        client.patch(f"/api/v1/runs/{run_id}/tags", json={"remove": ["dagwright/partition"]}),
        422,
    )
    assert (error["field"], error["key"]) == ("remove", "dagwright/partition")
    error = _error(client.patch(f"/api/v1/runs/{run_id}/tags", json={"add": {"a b": "x"}}), 422)
    assert (error["field"], error["key"]) == ("add", "a b")
    run = web_instance.get_run(run_id)
    assert run is not None and run.tags == {"dagwright/partition": "p1", "owner": "ana", "n": "3"}


def test_tag_keys_and_values_with_counts_and_prefix(
    client: TestClient, web_instance: Instance
) -> None:
    _store(web_instance, {"team": "docs"}, {"team": "dev"}, {"team": "dev"}, {"env": "prod"})
    assert client.get("/api/v1/tags").json() == {"keys": ["env", "team"]}
    values = client.get("/api/v1/tags/team").json()
    assert values == {
        "key": "team",
        "values": [{"value": "dev", "count": 2}, {"value": "docs", "count": 1}],
    }
    assert client.get("/api/v1/tags/team?prefix=do").json()["values"] == [
        {"value": "docs", "count": 1}
    ]
    assert client.get("/api/v1/tags/dagwright/partition").json()["values"] == []
    assert _error(client.get("/api/v1/tags/bad key"), 422)["field"] == "key"


# -- re-execute and terminate --------------------------------------------------------------


def test_reexecute_from_failure_then_terminate_rules(
    client: TestClient, web_instance: Instance, flag: Path
) -> None:
    created = client.post(
        "/api/v1/runs", json={"job_name": "flaky", "tags": {"team": "retry"}}
    ).json()
    parent = wait_finished(web_instance, created["run_id"])
    assert parent.status is RunStatus.FAILURE
    flag.touch()
    response = client.post(f"/api/v1/runs/{parent.run_id}/reexecute", json={"from_failure": True})
    assert response.status_code == 201, response.text
    child = response.json()
    assert child["parent_run_id"] == parent.run_id
    assert child["tags"]["team"] == "retry"
    assert wait_finished(web_instance, child["run_id"]).status is RunStatus.SUCCESS
    error = _error(
        client.post(f"/api/v1/runs/{child['run_id']}/reexecute", json={"from_failure": True}), 409
    )
    assert error["type"] == "conflict"
    _error(client.post(f"/api/v1/runs/{child['run_id']}/terminate"), 409)
    again = client.post(f"/api/v1/runs/{child['run_id']}/reexecute")
    assert again.status_code == 201 and again.json()["root_run_id"] == parent.run_id


def test_terminate_a_queued_run(tmp_path: Path, monkeypatch: Any) -> None:
    from tests.web.conftest import BASE_URL, web_definitions

    from dagwright.web.app import create_app

    monkeypatch.delenv("DAGWRIGHT_PG_URL", raising=False)
    home = tmp_path / "queued"
    home.mkdir()
    (home / "dagwright.yaml").write_text(
        "run_queue:\n  max_concurrent_runs: 5\n"
        "  tag_concurrency_limits:\n    - {key: team, value: docs, limit: 0}\n"
    )
    with (
        Instance.from_home(home) as instance,
        TestClient(create_app(instance, web_definitions()), base_url=BASE_URL) as client,
    ):
        first = client.post("/api/v1/runs", json={"job_name": "documented"}).json()
        held = client.post(
            "/api/v1/runs", json={"job_name": "documented", "tags": {"team": "docs"}}
        ).json()
        assert held["status"] == "QUEUED"
        queue = client.get("/api/v1/queue").json()
        assert [r["run_id"] for r in queue["runs"]] == [first["run_id"], held["run_id"]]
        assert queue["runs"][0]["launch"] is True
        assert queue["runs"][1]["blocked_by"] == ["team=docs: 0 of 0 in use"]
        assert queue["limits"][0]["description"] == "team=docs: 0 of 0 in use"
        canceled = client.post(f"/api/v1/runs/{held['run_id']}/terminate").json()
        assert canceled["status"] == "CANCELED"
        client.post(f"/api/v1/runs/{first['run_id']}/terminate")
