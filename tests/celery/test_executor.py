"""The Celery executor end to end: real ``dagwright celery worker`` processes, Redis and
RabbitMQ brokers, PostgreSQL storage (see ``conftest.py``); the jobs are in
``tests/jobs/celery_jobs.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.jobs import celery_jobs
from tests.waiting import process_alive, wait_finished, wait_for

from dagwright import Event, EventType, Instance, RunStatus
from dagwright.definitions.composition import NodeOutput
from dagwright.tags import CELERY_QUEUE_TAG, FAILURE_REASON_TAG

from .conftest import Broker, Cluster

pytestmark = pytest.mark.postgres


def _events(instance: Instance, run_id: str, kind: EventType) -> list[Event]:
    return [e for e in instance.get_events(run_id) if e.event_type is kind]


def _started(instance: Instance, run_id: str) -> dict[str, list[dict[str, Any]]]:
    started: dict[str, list[dict[str, Any]]] = {}
    for event in _events(instance, run_id, EventType.STEP_START):
        started.setdefault(event.step_key or "", []).append(dict(event.data))
    return started


def _output(instance: Instance, run_id: str, node: str) -> Any:
    return instance.outputs.get(run_id, NodeOutput(node, "result"))


def test_steps_go_to_the_workers_of_their_queues_and_outputs_cross_in_the_database(
    make_cluster: Any, broker: Broker
) -> None:
    cluster: Cluster = make_cluster(broker)
    a, b = cluster.spawn_worker("wa", ["alpha"]), cluster.spawn_worker("wb", ["beta"])
    a.wait_ready()
    b.wait_ready()
    instance = cluster.instance
    run = instance.submit_run(celery_jobs.two_queues)
    assert wait_finished(instance, run.run_id).status is RunStatus.SUCCESS
    started = _started(instance, run.run_id)
    assert [(d["celery_worker"], d["celery_queue"]) for d in started["extract"]] == [
        (a.name, cluster.queue("alpha"))
    ]
    assert [(d["celery_worker"], d["celery_queue"]) for d in started["transform"]] == [
        (b.name, cluster.queue("beta"))
    ]
    ends = _events(instance, run.run_id, EventType.STEP_SUCCESS)
    assert {e.step_key: e.data["celery_worker"] for e in ends} == {
        "extract": a.name,
        "transform": b.name,
    }
    assert type(instance.outputs).__name__ == "DatabaseOutputStore"  # the celery default
    assert _output(instance, run.run_id, "transform") == 6
    _check_run_page(
        instance, run.run_id, {a.name: cluster.queue("alpha"), b.name: cluster.queue("beta")}
    )


def _check_run_page(instance: Instance, run_id: str, placed: dict[str, str]) -> None:
    """The run page's timeline names the worker and queue of each step."""
    from fastapi.testclient import TestClient

    from dagwright import Definitions
    from dagwright.web.app import create_app

    app = create_app(instance, Definitions(jobs=[celery_jobs.two_queues]))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        html = client.get(f"/runs/{run_id}").text
    for worker, queue in placed.items():
        assert f'data-worker="{worker}" data-queue="{queue}"' in html


def test_a_one_slot_worker_takes_queued_steps_highest_priority_first(
    make_cluster: Any, broker: Broker
) -> None:
    cluster: Cluster = make_cluster(broker)
    instance = cluster.instance
    run = instance.submit_run(
        celery_jobs.priorities, tags={CELERY_QUEUE_TAG: cluster.queue("prio")}
    )

    def sent() -> list[Event]:
        return [e for e in _events(instance, run.run_id, EventType.ENGINE) if e.step_key]

    wait_for(lambda: len(sent()) == 4, 60, "the four steps sent")
    assert [e.step_key for e in sent()] == ["p1", "p3", "p7", "p9"]  # sent lowest first
    cluster.start_worker("solo", ["prio"], concurrency=1)
    assert wait_finished(instance, run.run_id).status is RunStatus.SUCCESS
    order = [e.step_key for e in _events(instance, run.run_id, EventType.STEP_START)]
    assert order == ["p9", "p7", "p3", "p1"]


def test_a_step_whose_worker_is_killed_is_taken_over_by_another_worker(
    make_cluster: Any, broker: Broker, tmp_path: Path
) -> None:
    cluster: Cluster = make_cluster(broker)
    workers = {w.name: w for w in (cluster.spawn_worker(n, ["kill"]) for n in ("k1", "k2"))}
    for worker in workers.values():
        worker.wait_ready()
    instance = cluster.instance
    marker = tmp_path / "marker"
    run = instance.submit_run(celery_jobs.die_once_job, tags={"marker": str(marker)})
    wait_for(lambda: "die_once" in _started(instance, run.run_id) and marker.exists())
    first = _started(instance, run.run_id)["die_once"][0]
    workers[first["celery_worker"]].kill()  # kill -9 of the worker and its pool
    assert wait_finished(instance, run.run_id).status is RunStatus.SUCCESS
    attempts = _started(instance, run.run_id)["die_once"]
    (other,) = set(workers) - {first["celery_worker"]}
    assert [(d["celery_worker"], d["attempt"]) for d in attempts] == [
        (first["celery_worker"], 1),
        (other, 2),
    ]
    assert _output(instance, run.run_id, "die_once") == "taken over"
    messages = [e.message for e in _events(instance, run.run_id, EventType.ENGINE)]
    assert any(f"worker {first['celery_worker']}" in m and "died" in m for m in messages)


def test_a_step_whose_workers_died_too_often_fails_naming_the_worker(
    make_cluster: Any, redis_broker: Broker, tmp_path: Path
) -> None:
    cluster: Cluster = make_cluster(redis_broker, "  step_attempts: 1\n")
    doomed = cluster.start_worker("doomed", ["kill"])
    instance = cluster.instance
    marker = tmp_path / "marker"
    run = instance.submit_run(celery_jobs.die_once_job, tags={"marker": str(marker)})
    wait_for(lambda: "die_once" in _started(instance, run.run_id) and marker.exists())
    pid = _started(instance, run.run_id)["die_once"][0]["pid"]
    doomed.kill()
    cluster.start_worker("heir", ["kill"])
    assert wait_finished(instance, run.run_id).status is RunStatus.FAILURE
    (failure,) = _events(instance, run.run_id, EventType.STEP_FAILURE)
    assert f"worker {doomed.name}" in failure.message and f"pid {pid}" in failure.message
    assert "attempt 1 of 1" in failure.message
    assert len(_started(instance, run.run_id)["die_once"]) == 1


def test_terminate_stops_the_running_step_and_revokes_the_queued_one(
    make_cluster: Any, redis_broker: Broker, tmp_path: Path
) -> None:
    cluster: Cluster = make_cluster(redis_broker)
    cluster.start_worker("solo", ["main"], concurrency=1)
    instance = cluster.instance
    queue = {CELERY_QUEUE_TAG: cluster.queue("main")}
    never = tmp_path / "never"
    run = instance.submit_run(celery_jobs.block_pair, tags={**queue, "release": str(never)})
    wait_for(lambda: _started(instance, run.run_id), what="a step started")
    ((step, [data]),) = _started(instance, run.run_id).items()
    instance.terminate(run.run_id)
    assert wait_finished(instance, run.run_id).status is RunStatus.CANCELED
    wait_for(lambda: not process_alive(data["pid"]), what="the step's process stopped")
    # a later run on the same one-slot queue runs once the revoked task is out of the way
    released = tmp_path / "released"
    released.touch()
    later = instance.submit_run(celery_jobs.block_pair, tags={**queue, "release": str(released)})
    assert wait_finished(instance, later.run_id).status is RunStatus.SUCCESS
    assert list(_started(instance, run.run_id)) == [step]


@pytest.mark.parametrize(
    "down", ["redis://127.0.0.1:1/0", "amqp://guest:guest@127.0.0.1:1//"], ids=["redis", "amqp"]
)
def test_a_broker_that_is_down_fails_the_run_with_the_reason(
    make_cluster: Any, prefix: str, down: str
) -> None:
    broker = Broker("redis" if down.startswith("redis") else "rabbitmq", down, prefix)
    cluster: Cluster = make_cluster(broker, "  publish_retries: 1\n")
    instance = cluster.instance
    run = instance.submit_run(celery_jobs.two_queues)
    ended = wait_finished(instance, run.run_id)
    assert ended.status is RunStatus.FAILURE
    reason = ended.tags[FAILURE_REASON_TAG]
    assert "could not send step 'extract'" in reason and "127.0.0.1:1" in reason
    assert "guest:guest" not in reason  # the password is hidden
    (failure,) = _events(instance, run.run_id, EventType.STEP_FAILURE)
    assert failure.step_key == "extract" and "after 1 retries" in failure.message
    assert [e.step_key for e in _events(instance, run.run_id, EventType.STEP_SKIPPED)] == [
        "transform"
    ]


def test_a_worker_without_code_loads_each_code_location_once_per_process(
    make_cluster: Any, redis_broker: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = tmp_path / "loads"
    monkeypatch.setenv(celery_jobs.LOAD_LOG_ENV, str(loads))
    cluster: Cluster = make_cluster(redis_broker)
    cluster.start_worker("bare", ["prio"], with_code=False)
    instance = cluster.instance
    runs = [
        instance.submit_run(celery_jobs.priorities, tags={CELERY_QUEUE_TAG: cluster.queue("prio")})
        for _ in range(2)
    ]
    pids = set()
    for run in runs:
        assert wait_finished(instance, run.run_id).status is RunStatus.SUCCESS
        pids |= {d["pid"] for [d] in _started(instance, run.run_id).values()}
    (pid,) = pids  # one pool process executed all eight steps ...
    assert loads.read_text().split().count(str(pid)) == 1  # ... and loaded the code once


def test_an_op_on_a_worker_has_its_config_tags_partition_and_logs(
    make_cluster: Any, redis_broker: Broker
) -> None:
    cluster: Cluster = make_cluster(redis_broker, "outputs: {database: {max_bytes: 1000}}\n")
    cluster.start_worker("ctx", ["main"])
    instance = cluster.instance
    tags = {CELERY_QUEUE_TAG: cluster.queue("main"), "team": "docs", "big_bytes": "10"}
    config = {"ops": {"configured": {"config": {"greeting": "hi"}}}}
    run = instance.submit_run(
        celery_jobs.with_context, run_config=config, tags=tags, partition_key="eu"
    )
    assert wait_finished(instance, run.run_id).status is RunStatus.SUCCESS
    assert _output(instance, run.run_id, "configured") == {
        "greeting": "hi",
        "partition": "eu",
        "team": "docs",
        "has_team": True,
        "run_id": run.run_id,
    }
    logs = [(e.level, e.message) for e in _events(instance, run.run_id, EventType.LOG)]
    assert logs == [("INFO", "hi from partition eu"), ("WARNING", "careful")]
    too_big = instance.submit_run(
        celery_jobs.with_context, tags={**tags, "big_bytes": "5000"}, partition_key="us"
    )
    assert wait_finished(instance, too_big.run_id).status is RunStatus.FAILURE
    (failure,) = _events(instance, too_big.run_id, EventType.STEP_FAILURE)
    assert failure.step_key == "big"
    assert "output 'result' of op 'big'" in failure.message
    assert "max_bytes (1000)" in failure.message
    # re-executed from failure, the failed step reads the reused output from the database
    again = instance.reexecute(too_big.run_id, from_failure=True, tags={"big_bytes": "20"})
    assert wait_finished(instance, again.run_id).status is RunStatus.SUCCESS
    assert list(_started(instance, again.run_id)) == ["big"]
    assert _output(instance, again.run_id, "big") == b"x" * 20
    assert _output(instance, again.run_id, "configured")["partition"] == "us"


def test_a_worker_of_two_locations_runs_each_run_s_own_job(
    make_cluster: Any, broker: Broker
) -> None:
    from dagwright.definitions.workspace import CodeLocationOrigin, load_workspace

    other = str(Path(__file__).parents[1] / "jobs" / "celery_jobs_other.py")
    code = ["-f", str(Path(celery_jobs.__file__)), "-f", other]
    cluster: Cluster = make_cluster(broker)
    cluster.start_worker("wab", ["alpha", "beta"], code=code)
    workspace = load_workspace(
        [CodeLocationOrigin(python_file=code[1]), CodeLocationOrigin(python_file=other)]
    )
    instance = cluster.instance
    runs = {
        location: instance.submit_run(workspace.get_job(f"two_queues@{location}"))
        for location in ("celery_jobs", "celery_jobs_other")
    }
    for run in runs.values():
        assert wait_finished(instance, run.run_id).status is RunStatus.SUCCESS
    assert _output(instance, runs["celery_jobs"].run_id, "transform") == 6
    assert _output(instance, runs["celery_jobs_other"].run_id, "transform") == 30


def test_ops_on_celery_workers_tag_their_run(make_cluster: Any, redis_broker: Broker) -> None:
    cluster: Cluster = make_cluster(redis_broker)
    cluster.spawn_worker("tagger", ["tags"]).wait_ready()
    instance = cluster.instance
    run = instance.submit_run(
        celery_jobs.tagged_on_celery, tags={CELERY_QUEUE_TAG: cluster.queue("tags")}
    )
    done = wait_finished(instance, run.run_id)
    assert done.status is RunStatus.SUCCESS
    assert (done.tags["rows"], done.tags["done"], "stage" in done.tags) == ("1200", "1200", False)
    history = instance.get_tag_history(run.run_id)
    assert [h["actor"] for h in history] == ["op:count_rows", "op:finish", "op:finish"]
