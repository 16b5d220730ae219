"""The Kubernetes launcher, through the official client, against a stand-in API server
that checks every Job with the Kubernetes OpenAPI schema (``tests/k8s/standin.py``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kubernetes", reason="the [k8s] extra is not installed")

from tests.jobs import simple, slow
from tests.k8s.standin import FakeCluster, standin_cluster
from tests.waiting import wait_finished, wait_for

from dagwright import DagwrightInvalidTagError, Instance, RunStatus
from dagwright.k8s.launcher import JOB_EVENT_KEY, K8sRunLauncher
from dagwright.tags import FAILURE_REASON_TAG, IMAGE_TAG

IMAGE = "registry.example.com/pipelines:1.4.2"


def _home(tmp_path: Path, kubeconfig: Path, **extra: Any) -> Path:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    settings = {"namespace": "data", "image": IMAGE, "kubeconfig": str(kubeconfig),
                "home": str(home), "labels": {"owner": "tests"}, **extra}  # fmt: skip
    (home / "dagwright.yaml").write_text(json.dumps({"run_launcher": {"k8s": settings}}))
    return home


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[FakeCluster, Path]]:
    with standin_cluster(tmp_path, run_workers=True, unpullable={"missing:1"}) as running:
        yield running


def _launcher(instance: Instance) -> K8sRunLauncher:
    launcher = instance.launcher
    assert isinstance(launcher, K8sRunLauncher)
    return launcher


def test_a_run_becomes_a_job_whose_pod_runs_it(
    tmp_path: Path, cluster: tuple[FakeCluster, Path]
) -> None:
    fake, kubeconfig = cluster
    with Instance.from_home(_home(tmp_path, kubeconfig)) as instance:
        run = instance.submit_run(simple.chain, tags={"team": "docs"})
        assert run.tags[IMAGE_TAG] == IMAGE
        ended = wait_finished(instance, run.run_id)
        assert ended.status is RunStatus.SUCCESS, ended.tags.get(FAILURE_REASON_TAG)
        (job,) = fake.jobs.values()
        assert job["metadata"]["name"] == f"dagwright-run-{run.run_id}"
        labels = job["spec"]["template"]["metadata"]["labels"]
        assert labels["dagwright/job"] == "chain" and labels["team"] == "docs"
        assert labels["owner"] == "tests"
        created = [e for e in instance.get_events(run.run_id) if JOB_EVENT_KEY in e.data]
        assert created[0].data[JOB_EVENT_KEY]["metadata"]["name"] == job["metadata"]["name"]
        worker = instance.records.workers.get(run.run_id)
        assert worker is not None and worker.host == f"k8s:data/dagwright-run-{run.run_id}"


def test_a_job_the_schema_refuses_is_refused_before_anything_is_stored(
    tmp_path: Path, cluster: tuple[FakeCluster, Path]
) -> None:
    fake, kubeconfig = cluster
    bad = {"container_config": {"resources": {"limits": {"cpu": [1]}}}}
    with Instance.from_home(_home(tmp_path, kubeconfig)) as instance:
        with pytest.raises(
            DagwrightInvalidTagError, match=r"containers\[0\]\.resources\.limits\.cpu"
        ):
            instance.submit_run(simple.chain, tags={"dagwright-k8s/config": bad})
        assert instance.get_runs_count() == 0
    assert fake.requests == []


def test_the_standin_refuses_a_malformed_job_as_an_api_server_would(
    tmp_path: Path, cluster: tuple[FakeCluster, Path]
) -> None:
    fake, _ = cluster
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "x"}}
    code, body = fake.create("data", {**job, "spec": {"templat": {}}})
    assert code == 422 and "templat" in body["message"]


def test_an_unpullable_image_is_a_failure_reason(
    tmp_path: Path, cluster: tuple[FakeCluster, Path]
) -> None:
    _, kubeconfig = cluster
    with Instance.from_home(_home(tmp_path, kubeconfig, image="missing:1")) as instance:
        run = instance.submit_run(simple.chain)
        launcher = _launcher(instance)
        launcher.wait_for_launches(timeout=30)
        reason = launcher.failure_reason(instance.get_run(run.run_id) or run)
        assert reason is not None and "ErrImagePull" in reason and "missing:1" in reason


def test_terminate_deletes_the_job_in_the_foreground(
    tmp_path: Path, cluster: tuple[FakeCluster, Path]
) -> None:
    fake, kubeconfig = cluster
    with Instance.from_home(_home(tmp_path, kubeconfig)) as instance:
        run = instance.submit_run(slow.slow, tags={"release": str(tmp_path / "never")})
        wait_for(lambda: (instance.get_run(run.run_id) or run).status is RunStatus.STARTED)
        instance.terminate(run.run_id)
        ended = wait_finished(instance, run.run_id)
        assert ended.status is RunStatus.CANCELED
        (delete,) = [r for r in fake.requests if r[0] == "DELETE"]
        assert delete[2]["propagationPolicy"] == "Foreground"
        assert fake.jobs == {}


def test_launches_do_not_wait_for_the_api_server(
    tmp_path: Path, cluster: tuple[FakeCluster, Path]
) -> None:
    fake, kubeconfig = cluster
    fake.run_workers = False
    with Instance.from_home(_home(tmp_path, kubeconfig, max_concurrent_launches=4)) as instance:
        runs = [instance.submit_run(simple.chain) for _ in range(20)]
        _launcher(instance).wait_for_launches(timeout=60)
        assert {job["metadata"]["name"] for job in fake.jobs.values()} == {
            f"dagwright-run-{run.run_id}" for run in runs
        }
        assert all((instance.get_run(r.run_id) or r).status is RunStatus.STARTING for r in runs)


def test_an_unreachable_api_server_fails_the_run_with_the_reason(tmp_path: Path) -> None:
    with standin_cluster(tmp_path) as (_, kubeconfig):
        pass  # the server is gone: its port is closed
    with Instance.from_home(_home(tmp_path, kubeconfig)) as instance:
        run = instance.submit_run(simple.chain)
        _launcher(instance).wait_for_launches(timeout=60)
        ended = wait_finished(instance, run.run_id)
        assert ended.status is RunStatus.FAILURE
        assert (
            "could not create Kubernetes Job data/dagwright-run-" in ended.tags[FAILURE_REASON_TAG]
        )


def test_a_missing_kube_config_is_a_config_error(tmp_path: Path) -> None:
    from dagwright.errors import DagwrightInvalidConfigError

    home = _home(tmp_path, tmp_path / "nope.yaml")
    with (
        Instance.from_home(home) as instance,
        pytest.raises(DagwrightInvalidConfigError, match="cannot load the kube config"),
    ):
        instance.submit_run(simple.chain)


def test_job_events_say_when_the_job_was_created(
    tmp_path: Path, cluster: tuple[FakeCluster, Path]
) -> None:
    fake, kubeconfig = cluster
    fake.run_workers = False
    with Instance.from_home(_home(tmp_path, kubeconfig)) as instance:
        run = instance.submit_run(simple.chain)
        _launcher(instance).wait_for_launches(timeout=30)
        wait_for(lambda: any(JOB_EVENT_KEY in e.data for e in instance.get_events(run.run_id)))
        assert time.time() > 0


def test_the_api_returns_the_job_created_for_a_run(
    tmp_path: Path, cluster: tuple[FakeCluster, Path]
) -> None:
    from fastapi.testclient import TestClient
    from tests.web.conftest import BASE_URL

    from dagwright.web.app import create_app

    fake, kubeconfig = cluster
    fake.run_workers = False
    with Instance.from_home(_home(tmp_path, kubeconfig)) as instance:
        run = instance.submit_run(simple.chain)
        _launcher(instance).wait_for_launches(timeout=30)
        with TestClient(create_app(instance), base_url=BASE_URL) as client:
            answer = client.get(f"/api/v1/runs/{run.run_id}/k8s")
            assert answer.status_code == 200
            assert answer.json()["metadata"]["name"] == f"dagwright-run-{run.run_id}"
            assert answer.json()["spec"] == next(iter(fake.jobs.values()))["spec"]
            missing = client.get("/api/v1/runs/nope/k8s")
            assert missing.status_code == 404 and missing.json()["error"]["field"] == "run_id"


def test_the_run_monitor_fails_a_run_whose_image_cannot_be_pulled(
    tmp_path: Path, cluster: tuple[FakeCluster, Path]
) -> None:
    from dagwright.daemon.run_monitor import RunMonitorDaemon

    fake, kubeconfig = cluster
    with Instance.from_home(_home(tmp_path, kubeconfig, image="missing:1")) as instance:
        run = instance.submit_run(simple.chain)
        _launcher(instance).wait_for_launches(timeout=30)
        RunMonitorDaemon(instance).run_iteration(time.time())
        ended = instance.get_run(run.run_id)
        assert ended is not None and ended.status is RunStatus.FAILURE
        reason = ended.tags[FAILURE_REASON_TAG]
        assert reason.startswith(f"pod dagwright-run-{run.run_id}-abcde: ErrImagePull: ")
        assert fake.jobs == {}  # the stuck Job was deleted
