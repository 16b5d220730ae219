# ruff: noqa: E501  (tables of configs read best one case a line)
"""The Job a run is launched as: what it holds, its labels, and its schema check."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

pytest.importorskip("kubernetes", reason="the [k8s] extra is not installed")

from dagwright import DagwrightInvalidTagError, Instance, job, op
from dagwright.k8s.manifest import (
    SKIPPED_TAGS_ANNOTATION,
    build_job,
    client_job,
    is_label_key,
    is_label_value,
)
from dagwright.runs.models import Run, RunStatus
from dagwright.settings import K8sLauncher

RUN_ID = "0cb30314-dd30-4859-960c-4e56b6e75c2a"


def _run(**tags: str) -> Run:
    return Run(RUN_ID, "daily_sales", RunStatus.QUEUED, dict(tags), created_at=time.time())


def _settings(**fields: Any) -> K8sLauncher:
    return K8sLauncher(namespace="data", image="registry.example.com/pipelines:1.4.2", **fields)


def _container(body: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = body["spec"]["template"]["spec"]["containers"][0]
    return container


def test_a_run_becomes_a_job_running_its_worker() -> None:
    manifest = build_job(_settings(service_account_name="dagwright"), _run())
    body = manifest.body
    assert manifest.name == f"dagwright-run-{RUN_ID}" == body["metadata"]["name"]
    assert manifest.namespace == "data"
    assert body["apiVersion"] == "batch/v1" and body["kind"] == "Job"
    assert body["spec"]["backoffLimit"] == 0
    assert body["spec"]["ttlSecondsAfterFinished"] == 86400
    pod = body["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["serviceAccountName"] == "dagwright"
    container = _container(body)
    assert container["image"] == "registry.example.com/pipelines:1.4.2"
    assert container["command"] == ["python", "-m", "dagwright.execution.worker", RUN_ID]
    assert {"name": "DAGWRIGHT_HOME", "value": "/tmp/dagwright"} in container["env"]
    assert client_job(body).spec.template.spec.containers[0].name == "dagwright"


def test_settings_reach_the_container_and_pod() -> None:
    settings = _settings(
        image_pull_policy="Always",
        env_config_maps=["pipeline-env"],
        env_secrets=["pipeline-secrets"],
        env_vars=["MODE=prod", "FROM_LAUNCHER"],
        volumes=[{"name": "data", "persistent_volume_claim": {"claim_name": "pvc"}}],
        volume_mounts=[{"name": "data", "mount_path": "/data"}],
        labels={"owner": "platform"},
        job_ttl_seconds_after_finished=None,
    )
    body = build_job(settings, _run(), env={"FROM_LAUNCHER": "x"}).body
    container = _container(body)
    assert container["imagePullPolicy"] == "Always"
    assert container["envFrom"] == [
        {"configMapRef": {"name": "pipeline-env"}},
        {"secretRef": {"name": "pipeline-secrets"}},
    ]
    assert {"name": "MODE", "value": "prod"} in container["env"]
    assert {"name": "FROM_LAUNCHER", "value": "x"} in container["env"]
    assert container["volumeMounts"] == [{"name": "data", "mountPath": "/data"}]
    volumes = body["spec"]["template"]["spec"]["volumes"]
    assert volumes == [{"name": "data", "persistentVolumeClaim": {"claimName": "pvc"}}]
    assert body["metadata"]["labels"]["owner"] == "platform"
    assert "ttlSecondsAfterFinished" not in body["spec"]


def test_labels_carry_the_run_and_its_label_shaped_tags() -> None:
    run = _run(**{"team": "docs", "dagwright/partition": "2026-01-02", "note": "two words"})
    body = build_job(_settings(), run).body
    for meta in (body["metadata"], body["spec"]["template"]["metadata"]):
        labels = meta["labels"]
        assert labels["dagwright/run-id"] == RUN_ID
        assert labels["dagwright/job"] == "daily_sales"
        assert labels["team"] == "docs" and labels["dagwright/partition"] == "2026-01-02"
        assert "note" not in labels
    assert json.loads(body["metadata"]["annotations"][SKIPPED_TAGS_ANNOTATION]) == ["note"]


@pytest.mark.parametrize(
    ("key", "ok"),
    [("team", True), ("dagwright/partition", True), ("a.b/c_d-e", True), ("-x", False),
     ("x" * 64, False), ("Bad_Prefix/x", False), ("a/b/c", False), ("", False)],
)  # fmt: skip
def test_label_keys(key: str, ok: bool) -> None:
    assert is_label_key(key) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [("", True), ("docs", True), ("2026-01-02", True), ("a b", False), ("x" * 64, False),
     ('["x"]', False), ("-a", False)],
)  # fmt: skip
def test_label_values(value: str, ok: bool) -> None:
    assert is_label_value(value) is ok


def test_config_layers_merge_launcher_then_run_tag() -> None:
    settings = _settings(
        run_k8s_config={"container_config": {"resources": {"requests": {"cpu": "500m"}}}}
    )
    tag = {"containerConfig": {"resources": {"limits": {"memory": "1Gi"}}, "args": ["--x"]}}
    tag["pod_spec_config"] = {"node_selector": {"gpu": "true"}}
    body = build_job(settings, _run(**{"dagwright-k8s/config": json.dumps(tag)})).body
    container = _container(body)
    assert container["resources"] == {"requests": {"cpu": "500m"}, "limits": {"memory": "1Gi"}}
    assert container["args"] == ["--x"]
    assert body["spec"]["template"]["spec"]["nodeSelector"] == {"gpu": "true"}


def test_a_sidecar_is_added_beside_the_run_container() -> None:
    tag = {"pod_spec_config": {"containers": [{"name": "proxy", "image": "proxy:1"}]}}
    body = build_job(_settings(), _run(**{"dagwright-k8s/config": json.dumps(tag)})).body
    names = [c["name"] for c in body["spec"]["template"]["spec"]["containers"]]
    assert names == ["dagwright", "proxy"]


def test_max_runtime_sets_the_active_deadline() -> None:
    body = build_job(_settings(), _run(**{"dagwright/max_runtime": "90.5"})).body
    assert body["spec"]["activeDeadlineSeconds"] == 91


@pytest.mark.parametrize(
    ("tag", "path"),
    [
        ({"container_config": {"resources": {"limits": {"cpu": [1]}}}},
         "spec.template.spec.containers[0].resources.limits.cpu"),
        ({"job_spec_config": {"backoff_limit": "two"}}, "spec.backoffLimit"),
        ({"container_config": {"image_pull_policy": 3}}, "spec.template.spec.containers[0].imagePullPolicy"),
        ({"container_config": {"resources": {"limts": {}}}}, "container_config.resources.limts"),
    ],
)  # fmt: skip
def test_a_config_the_schema_refuses_names_the_field(tag: dict[str, Any], path: str) -> None:
    run = _run(**{"dagwright-k8s/config": json.dumps(tag)})
    with pytest.raises(DagwrightInvalidTagError, match="dagwright-k8s/config") as caught:
        build_job(_settings(), run)
    assert path in str(caught.value)


def test_no_image_is_an_error() -> None:
    with pytest.raises(DagwrightInvalidTagError, match="no image"):
        build_job(K8sLauncher(), _run())
    body = build_job(K8sLauncher(), _run(**{"dagwright/image": "img:2"})).body
    assert _container(body)["image"] == "img:2"


def test_an_unknown_kubernetes_version_is_an_error() -> None:
    with pytest.raises(DagwrightInvalidTagError, match="kubernetes_version"):
        build_job(_settings(kubernetes_version="1.2"), _run())
    assert build_job(_settings(kubernetes_version="1.30"), _run()).name


@op
def step() -> int:
    return 1


@job(tags={"dagwright-k8s/config": {"container_config": {"env": [{"name": "A", "value": "1"}]}}})
def k8s_job() -> None:
    step()


def test_job_and_launch_tags_merge_on_the_run() -> None:
    launch = {"containerConfig": {"env": [{"name": "B", "value": "2"}], "args": ["x"]}}
    with Instance.ephemeral() as instance:
        result = k8s_job.execute_in_process(
            instance=instance, tags={"dagwright-k8s/config": launch}
        )
        config = json.loads(result.run.tags["dagwright-k8s/config"])
        assert config == {
            "container_config": {
                "args": ["x"],
                "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            }
        }
        child = instance.reexecute(result.run_id)  # the parent's config, not merged again
        assert json.loads(child.tags["dagwright-k8s/config"]) == config
        bad = {"container_config": {"resources": {"limts": {}}}}
        with pytest.raises(DagwrightInvalidTagError, match="limts: unknown field"):
            k8s_job.execute_in_process(instance=instance, tags={"dagwright-k8s/config": bad})
        assert instance.get_runs_count() == 2  # the refused run was not stored


def test_settings_check_kubernetes_shaped_fields(tmp_path: Any) -> None:
    from dagwright.errors import DagwrightInvalidConfigError
    from dagwright.settings import load_settings

    (tmp_path / "dagwright.yaml").write_text(
        "run_launcher:\n  k8s:\n    run_k8s_config: {container_config: {resorces: {}}}\n"
    )
    with pytest.raises(DagwrightInvalidConfigError, match="resorces: unknown field") as caught:
        load_settings(tmp_path, env={})
    assert caught.value.key == "run_launcher.k8s" and "dagwright.yaml" in str(caught.value)
