"""The HTTP API (``/api/v1``) through the ASGI test client, on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import os
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.jobs import web
from tests.waiting import wait_finished
from tests.web.conftest import web_definitions

from dagwright import Event, EventType, Instance, Run, RunsFilter, RunStatus
from dagwright.daemon.backfills import BackfillDaemon
from dagwright.daemon.schedules import tick_schedule
from dagwright.daemon.sensors import tick_sensor
from dagwright.runs.models import CodePointer
from dagwright.runs.ticks import instigator_json


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
    assert [j["name"] for j in jobs] == ["documented", "configured", "flaky", "coloured"]
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


def test_a_nul_character_anywhere_is_422_on_pages_and_api(client: TestClient) -> None:
    """No database can hold or compare one; PostgreSQL would fail the query instead."""
    assert _error(client.get("/api/v1/runs/a%00b"), 422)["field"] == "path"
    assert _error(client.get("/api/v1/runs?cursor=%00"), 422)["field"] == "cursor"
    assert _error(client.get("/api/v1/backfills/x%00"), 422)["field"] == "path"
    for page in ("/runs?job=a%00", "/runs?cursor=%00", "/runs/a%00b", "/backfills?cursor=%00"):
        answer = client.get(page)
        assert answer.status_code == 422 and "NUL" in answer.text, page


def test_unknown_runs_are_404(client: TestClient) -> None:
    for method, path in [
        ("GET", "/api/v1/runs/nope"),
        ("GET", "/api/v1/runs/nope/events"),
        ("GET", "/api/v1/runs/nope/diff"),
        ("GET", "/api/v1/runs/nope/diff?with=nope"),
        ("PATCH", "/api/v1/runs/nope/tags"),
        ("POST", "/api/v1/runs/nope/reexecute"),
        ("POST", "/api/v1/runs/nope/terminate"),
    ]:
        kwargs: dict[str, Any] = {"json": {}} if method == "PATCH" else {}
        error = _error(client.request(method, path, **kwargs), 404)
        assert error["field"] == "run_id"


def test_run_diff_against_its_parent_or_a_named_run(
    client: TestClient, web_instance: Instance
) -> None:
    now = 1_800_000_000.0  # whole seconds: the durations are exact
    parent = Run("p", "flaky", RunStatus.FAILURE, {"team": "docs"}, {"ops": {"emit": {}}},
                 created_at=now, started_at=now, ended_at=now + 2)  # fmt: skip
    child = Run("c", "flaky", RunStatus.SUCCESS, {"team": "fixed"}, {"ops": {"emit": {"x": 1}}},
                parent_run_id="p", root_run_id="p", created_at=now + 3, started_at=now + 3,
                ended_at=now + 4, step_keys_to_execute=("unstable",))  # fmt: skip
    web_instance.storage.runs.add_runs([parent, child])
    for run_id, at, end in [
        ("p", now, EventType.STEP_FAILURE),
        ("c", now + 3, EventType.STEP_SUCCESS),
    ]:
        web_instance.handle_event(Event(run_id, EventType.STEP_START, at, "unstable"))
        web_instance.handle_event(Event(run_id, end, at + 0.5, "unstable"))
    response = client.get("/api/v1/runs/c/diff")
    assert response.status_code == 200, response.text
    diff = response.json()
    assert diff == web_instance.diff_runs("c").to_json()  # every run has ended: no `now`
    assert (diff["left_run_id"], diff["right_run_id"], diff["left_is_parent"]) == ("p", "c", True)
    changed = {"key": "team", "left": "docs", "right": "fixed", "state": "changed"}
    assert diff["tags"] == [{**changed, "system": False}]
    assert diff["run_config"] == [
        {"key": "ops.emit", "left": {}, "right": None, "state": "removed"},
        {"key": "ops.emit.x", "left": None, "right": 1, "state": "added"},
    ]
    durations = {"left_duration": 0.5, "right_duration": 0.5}
    step = {"key": "unstable", "left": "failure", "right": "success", "state": "changed"}
    assert diff["steps"] == [{**step, **durations}]
    assert diff["summary"][3] == {"key": "duration", "left": 2.0, "right": 1.0, "state": "changed"}
    other = client.get("/api/v1/runs/p/diff", params={"with": "c"}).json()
    assert [other["left_run_id"], other["right_run_id"], other["left_is_parent"]] == [
        "c",
        "p",
        False,
    ]
    itself = client.get("/api/v1/runs/c/diff", params={"with": "c"}).json()
    assert itself["differences"] == 0


def test_run_diff_errors_name_the_run_at_fault(client: TestClient, web_instance: Instance) -> None:
    _store(web_instance, {"team": "docs"})
    orphan = "run-0000-documented"
    error = _error(client.get(f"/api/v1/runs/{orphan}/diff"), 422)
    assert (error["type"], error["field"]) == ("invalid_request", "with")
    assert "has no parent run" in error["rule"]
    unknown = _error(client.get(f"/api/v1/runs/{orphan}/diff", params={"with": "nope"}), 404)
    assert (unknown["field"], unknown["message"]) == ("with", "run 'nope' not found")
    web_instance.add_run(Run("child", "documented", RunStatus.SUCCESS, parent_run_id="gone"))
    gone = _error(client.get("/api/v1/runs/child/diff"), 404)  # its parent was deleted
    assert (gone["field"], gone["message"]) == ("with", "run 'gone' not found")


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


def _failed_run_of(web_instance: Instance, pointer: CodePointer) -> str:
    """A finished (FAILURE) run stored with ``pointer``, as a run made elsewhere would be."""
    run = Run(
        str(uuid.uuid4()),
        pointer.job_name,
        RunStatus.FAILURE,
        tags={"team": "elsewhere"},
        created_at=time.time(),
        code_pointer=pointer,
    )
    web_instance.add_run(run)
    return run.run_id


@pytest.mark.parametrize(
    ("pointer", "named"),
    [
        # a job of a file this server was not started with
        (CodePointer("evil", python_file="/tmp/evil.py"), "code file '/tmp/evil.py'"),
        # the server's own module name, imported from another directory
        (
            CodePointer("flaky", module="tests.jobs.flaky", working_directory="/elsewhere"),
            "module 'tests.jobs.flaky' in '/elsewhere'",
        ),
    ],
)
def test_reexecute_refuses_code_the_server_was_not_started_with(
    client: TestClient, web_instance: Instance, pointer: CodePointer, named: str
) -> None:
    """The server imports no code chosen by the caller: a run whose code pointer is not one
    of its ``-f``/``-m`` locations is refused (403) and nothing is stored or imported."""
    run_id = _failed_run_of(web_instance, pointer)
    modules = set(sys.modules)
    error = _error(client.post(f"/api/v1/runs/{run_id}/reexecute"), 403)
    assert error["type"] == "code_location_refused" and error["field"] == "run_id"
    assert named in error["message"] and "tests.jobs.web" in error["message"]
    assert web_instance.get_runs(RunsFilter(tags={"dagwright/parent_run_id": run_id})) == []
    assert set(sys.modules) - modules == set()
    page = client.get(f"/runs/{run_id}").text
    assert 'id="reexecute-refused"' in page and "Re-execute all" not in page
    posted = client.post(f"/runs/{run_id}/reexecute", headers={"Origin": "http://127.0.0.1"})
    assert posted.status_code == 403 and named in html.unescape(posted.text)


def test_reexecute_of_a_run_of_the_loaded_code_imports_nothing(
    client: TestClient, web_instance: Instance
) -> None:
    """A run of the server's own code is re-executed with the job the server loaded."""
    from tests.jobs import flaky

    from dagwright.definitions.loader import code_pointer_for

    pointer = code_pointer_for(flaky.flaky)
    assert pointer is not None and pointer.working_directory == os.getcwd()
    run_id = _failed_run_of(web_instance, pointer)
    response = client.post(f"/api/v1/runs/{run_id}/reexecute")
    assert response.status_code == 201, response.text
    assert response.json()["code_pointer"] == pointer.to_json()
    wait_finished(web_instance, response.json()["run_id"])


def test_terminate_a_queued_run(tmp_path: Path, monkeypatch: Any) -> None:
    from tests.web.conftest import BASE_URL

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


# -- schedules, sensors and ticks ----------------------------------------------------------


def _at(day: int) -> datetime:
    """03:00 Paris time (02:00 UTC) on 2026-01-<day>."""
    return datetime(2026, 1, day, 2, 0, tzinfo=timezone.utc)


def test_schedules_show_definition_state_next_tick_and_ticks(
    queued_client: TestClient, queued_instance: Instance
) -> None:
    listed = queued_client.get("/api/v1/schedules").json()["schedules"]
    assert [s["name"] for s in listed] == ["nightly_docs"]
    schedule = listed[0]
    assert schedule["cron_schedule"] == "0 3 * * *"
    assert schedule["execution_timezone"] == "Europe/Paris"
    assert schedule["job_name"] == "documented" and schedule["tags"] == {"team": "<night>"}
    assert (schedule["status"], schedule["stored"], schedule["ticks"]) == ("STOPPED", False, [])
    assert schedule["next_tick_at"] > time.time()
    skipped = tick_schedule(queued_instance, web.nightly_docs, _at(3))
    submitted = tick_schedule(queued_instance, web.nightly_docs, _at(4))
    detail = queued_client.get("/api/v1/schedules/nightly_docs").json()
    assert [t["tick_id"] for t in detail["ticks"]] == [submitted.tick_id, skipped.tick_id]
    assert detail["ticks"][1]["skip_reason"] == "<odd> day: nothing to do"
    assert detail["ticks"][0]["status"] == "SUCCESS"
    assert detail["ticks"][0]["run_ids"] == list(submitted.run_ids)
    state = queued_instance.get_instigator_states(definitions=web_definitions())[0]
    same = instigator_json(web.nightly_docs, state, [submitted, skipped], time.time())
    same["next_tick_at"] = detail["next_tick_at"]
    assert detail == same  # the JSON of `dagwright schedule list --json`


def test_start_and_stop_persist_and_unknown_names_are_404(
    queued_client: TestClient, queued_instance: Instance
) -> None:
    started = queued_client.post("/api/v1/schedules/nightly_docs/start").json()
    assert (started["status"], started["stored"]) == ("RUNNING", True)
    assert queued_client.get("/api/v1/schedules/nightly_docs").json()["status"] == "RUNNING"
    stopped = queued_client.post("/api/v1/schedules/nightly_docs/stop").json()
    assert stopped["status"] == "STOPPED"
    assert queued_client.post("/api/v1/sensors/colour_files/start").json()["status"] == "RUNNING"
    assert queued_client.post("/api/v1/sensors/colour_files/stop").json()["status"] == "STOPPED"
    for path in (
        "/api/v1/schedules/nope",
        "/api/v1/schedules/colour_files",  # a sensor, not a schedule
        "/api/v1/sensors/nightly_docs",
    ):
        error = _error(queued_client.get(path), 404)
        assert error["field"] == "name" and error["message"].endswith("not found"), path
    error = _error(queued_client.post("/api/v1/schedules/nope/start"), 404)
    assert "'nope'" in error["message"]
    stored = [state.name for state in queued_instance.get_instigator_states()]
    assert sorted(stored) == ["colour_files", "nightly_docs"]  # nothing for an unknown name


def test_sensors_show_cursor_interval_and_failed_ticks(
    queued_client: TestClient, queued_instance: Instance
) -> None:
    good = tick_sensor(queued_instance, web.colour_files, time.time())
    bad = tick_sensor(queued_instance, web.broken_colours, time.time())
    sensors = {s["name"]: s for s in queued_client.get("/api/v1/sensors").json()["sensors"]}
    assert list(sensors) == ["colour_files", "broken_colours"]
    files = sensors["colour_files"]
    assert (files["minimum_interval_seconds"], files["cursor"]) == (45, "<seen>")
    assert files["ticks"][0]["run_keys"] == ["red", "green"]
    assert files["ticks"][0]["run_ids"] == list(good.run_ids)
    error = sensors["broken_colours"]["ticks"][0]["error"]
    assert bad.status.value == "FAILURE" and "the <bucket> is gone" in error["message"]
    assert "RuntimeError" in error["traceback"]
    assert (
        queued_client.get("/api/v1/sensors/broken_colours").json()["ticks"][0]
        == (sensors["broken_colours"]["ticks"][0])
    )


def test_ticks_filter_and_page_back(queued_client: TestClient, queued_instance: Instance) -> None:
    first = tick_sensor(queued_instance, web.colour_files, time.time())
    second = tick_sensor(queued_instance, web.colour_files, time.time())
    tick_schedule(queued_instance, web.nightly_docs, _at(3))
    page = queued_client.get("/api/v1/ticks?name=colour_files&kind=sensor&limit=1").json()
    assert [t["tick_id"] for t in page["ticks"]] == [second.tick_id]
    assert second.status.value == "SKIPPED"  # the cursor says the colours were seen
    older = queued_client.get(f"/api/v1/ticks?name=colour_files&before={page['cursor']}").json()
    assert [t["tick_id"] for t in older["ticks"]] == [first.tick_id] and older["cursor"] is None
    every = queued_client.get("/api/v1/ticks").json()["ticks"]
    assert [t["name"] for t in every] == ["nightly_docs", "colour_files", "colour_files"]
    assert _error(queued_client.get("/api/v1/ticks?name=nope"), 404)["field"] == "name"
    _error(queued_client.get("/api/v1/ticks?name=nightly_docs&kind=sensor"), 404)
    assert _error(queued_client.get("/api/v1/ticks?kind=cron"), 422)["field"] == "kind"
    assert _error(queued_client.get("/api/v1/ticks?limit=0"), 422)["field"] == "limit"


# -- backfills -----------------------------------------------------------------------------


def _finish_all(instance: Instance, backfill_id: str) -> None:
    for run in instance.get_runs(RunsFilter(tags={"dagwright/backfill": backfill_id})):
        for event_type in (EventType.RUN_STARTING, EventType.RUN_START, EventType.RUN_SUCCESS):
            instance.handle_event(Event(run.run_id, event_type, time.time()))


def test_backfill_launch_progress_list_and_cancel(
    queued_client: TestClient, queued_instance: Instance
) -> None:
    body = {"job_name": "coloured", "partition_keys": ["red", "blue"], "tags": {"team": "bf"}}
    created = queued_client.post("/api/v1/backfills", json=body)
    assert created.status_code == 201, created.text
    backfill = created.json()
    backfill_id = backfill["backfill_id"]
    assert (backfill["status"], backfill["partition_keys"]) == ("REQUESTED", ["red", "blue"])
    assert backfill["progress"]["requested"] == 2 and backfill["progress"]["submitted"] == 0
    BackfillDaemon(queued_instance).run_iteration(time.time())
    shown = queued_client.get(f"/api/v1/backfills/{backfill_id}").json()
    assert (shown["progress"]["submitted"], shown["progress"]["queued"]) == (2, 2)
    assert shown == queued_instance.get_backfill(backfill_id).to_json()  # type: ignore[union-attr]
    every = queued_client.post("/api/v1/backfills", json={"job_name": "coloured"}).json()
    assert every["partition_keys"] == ["red", "green", "blue"]
    listed = queued_client.get("/api/v1/backfills?limit=1").json()
    assert [b["backfill_id"] for b in listed["backfills"]] == [every["backfill_id"]]
    rest = queued_client.get(f"/api/v1/backfills?cursor={listed['cursor']}").json()
    assert [b["backfill_id"] for b in rest["backfills"]] == [backfill_id]
    assert rest["cursor"] is None
    requested = queued_client.get("/api/v1/backfills?status=REQUESTED").json()["backfills"]
    assert len(requested) == 2
    canceled = queued_client.post(f"/api/v1/backfills/{backfill_id}/cancel").json()
    assert canceled["status"] == "CANCELED" and canceled["progress"]["canceled"] == 2
    again = queued_client.post(f"/api/v1/backfills/{backfill_id}/cancel")
    assert again.status_code == 200 and again.json()["status"] == "CANCELED"


def test_backfill_errors_name_the_field(
    queued_client: TestClient, queued_instance: Instance
) -> None:
    def post(body: dict[str, Any], status: int) -> dict[str, Any]:
        return _error(queued_client.post("/api/v1/backfills", json=body), status)

    assert post({"job_name": "nope"}, 404)["field"] == "job_name"
    assert post({"job_name": "documented"}, 422)["field"] == "job_name"  # not partitioned
    error = post({"job_name": "coloured", "partition_keys": ["red", "<pink>"]}, 422)
    assert error["field"] == "partition_keys" and "<pink>" in error["message"]
    assert post({"job_name": "coloured", "partition_keys": []}, 422)["field"] == "job_name"
    error = post({"job_name": "coloured", "tags": {"bad key": "x"}}, 422)
    assert (error["field"], error["key"]) == ("tags", "bad key")
    assert post({"job_name": "coloured", "extra": 1}, 422)["field"] == "extra"
    assert queued_instance.get_backfills() == []  # nothing was stored
    error = _error(queued_client.get("/api/v1/backfills/nope"), 404)
    assert error["field"] == "backfill_id" and "'nope'" in error["message"]
    _error(queued_client.post("/api/v1/backfills/nope/cancel"), 404)
    assert _error(queued_client.get("/api/v1/backfills?status=DONE"), 422)["field"] == "status"
    assert _error(queued_client.get("/api/v1/backfills?cursor=nope"), 422)["field"] == "cursor"
    backfill_id = queued_instance.launch_backfill(web.coloured, ["red"])
    BackfillDaemon(queued_instance).run_iteration(time.time())
    _finish_all(queued_instance, backfill_id)
    BackfillDaemon(queued_instance).run_iteration(time.time())
    error = _error(queued_client.post(f"/api/v1/backfills/{backfill_id}/cancel"), 409)
    assert error["field"] == "backfill_id" and "COMPLETED" in error["message"]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"job_name": "chain",\n  bad}', "at line 2, column 3"),
        (b"{", "at line 1, column 2"),
        (b'{"job_name": "chain"} trailing', "at line 1, column 23"),
    ],
)
def test_a_body_that_is_not_json_names_the_body_and_where(
    client: TestClient, body: bytes, where: str
) -> None:
    # It answered {"field": "27", "rule": "JSON decode error"}.
    answer = client.post("/api/v1/runs", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["field"] == "body" and error["type"] == "invalid_request"
    assert error["rule"].startswith("not valid JSON: ") and error["rule"].endswith(where)


def _beat(instance: Instance, daemon_id: str, names: list[str], age: float = 0.0) -> None:
    host, pid = daemon_id.split(":")
    for name in names:
        instance.storage.workers.beat_daemon(
            name, daemon_id, time.time() - age, host=host, pid=int(pid), interval_seconds=1.0
        )


def test_daemon_health_lists_each_loop_and_daemon(
    queued_client: TestClient, queued_instance: Instance
) -> None:
    none = queued_client.get("/api/v1/daemon").json()
    assert none["state"] == "missing" and not none["healthy"] and none["daemons"] == []
    loops = ["run_queue", "run_monitor", "run_retries", "backfills", "tag_stats"]
    _beat(queued_instance, "a:1", loops)
    _beat(queued_instance, "b:2", ["run_queue"], age=10.0)
    data = queued_client.get("/api/v1/daemon").json()
    assert data["state"] == "healthy" and data["daemons"] == ["a:1", "b:2"]
    assert data["claims"] == "limit-checked"
    (queue,) = [loop for loop in data["loops"] if loop["name"] == "run_queue"]
    assert queue["expected"] and queue["state"] == "healthy"
    assert [(d["daemon_id"], d["state"]) for d in queue["daemons"]] == [
        ("a:1", "healthy"),
        ("b:2", "late"),
    ]
    assert queue["daemons"][1]["age_seconds"] >= 10.0
    assert datetime.fromisoformat(queue["daemons"][0]["heartbeat_iso"]).tzinfo is not None
    schema = queued_client.get("/api/v1/openapi.json").json()
    assert "DaemonHealthOut" in schema["components"]["schemas"]
    assert "/api/v1/daemon" in schema["paths"] or "/daemon" in schema["paths"]


# -- step logs ------------------------------------------------------------------------------


def test_step_logs_are_served_in_pages_with_a_cursor(
    client: TestClient, web_instance: Instance
) -> None:
    from tests.jobs import printing

    run_id = printing.noisy.execute_in_process(instance=web_instance, raise_on_error=False).run_id
    url = f"/api/v1/runs/{run_id}/logs"
    every = client.get(url).json()
    assert [(c["step_key"], c["stream"]) for c in every["chunks"]][:2] == [
        ("talk", "stdout"),
        ("talk", "stderr"),
    ]
    assert every["cursor"] == every["chunks"][-1]["id"]
    one = client.get(url, params={"step": "shout", "stream": "stdout"}).json()
    assert [c["text"] for c in one["chunks"]] == ["shout got 1\n"]
    first = client.get(url, params={"limit": 1}).json()
    rest = client.get(url, params={"after": first["cursor"]}).json()
    assert first["chunks"] + rest["chunks"] == every["chunks"]
    empty = client.get(url, params={"after": every["cursor"]}).json()
    assert empty == {"chunks": [], "cursor": every["cursor"]}


def test_step_logs_of_an_unknown_run_or_a_bad_stream_are_refused(
    client: TestClient, web_instance: Instance
) -> None:
    from tests.jobs import printing

    run_id = printing.noisy.execute_in_process(instance=web_instance, raise_on_error=False).run_id
    missing = client.get("/api/v1/runs/no-such-run/logs")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found"
    bad = client.get(f"/api/v1/runs/{run_id}/logs", params={"stream": "stdin"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "stream"
