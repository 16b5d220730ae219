"""The Kubernetes Job a run is launched as: built from the launcher's settings, the run and
its merged ``dagwright-k8s/config``, then checked against the Kubernetes OpenAPI schema.

Pure: no cluster is needed (``dagwright k8s manifest`` prints what this builds). The body is
a plain dict named as the API names fields (camelCase), exactly what is sent to
``BatchV1Api.create_namespaced_job``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Final

from dagwright.k8s.config import K8sConfig, K8sConfigError, merge_configs, normalize_config
from dagwright.runs.worker_process import WORKER_MODULE
from dagwright.tags import K8S_CONFIG_TAG, MAX_RUNTIME_TAG

if TYPE_CHECKING:
    from dagwright.runs.models import Run
    from dagwright.settings import K8sLauncher

#: The prefix of every Job's name; the run id follows (``dagwright-run-<run id>``).
JOB_NAME_PREFIX: Final = "dagwright-run-"
#: The labels every Job and pod carries.
RUN_ID_LABEL: Final = "dagwright/run-id"
JOB_LABEL: Final = "dagwright/job"
#: The annotation listing the run tags that are not valid labels (JSON list of keys).
SKIPPED_TAGS_ANNOTATION: Final = "dagwright/unlabelled-tags"
#: The name of the run's container in the pod.
CONTAINER_NAME: Final = "dagwright"

_LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


@dataclass(frozen=True)
class JobManifest:
    """A run's Job as it is (or would be) created.

    Attributes:
        name: ``dagwright-run-<run id>``.
        namespace: where it is created.
        body: the Job, named as the API names fields.
    """

    name: str
    namespace: str
    body: dict[str, Any]


def is_label_key(key: str) -> bool:
    """Whether ``key`` is a valid label key (``[prefix/]name``)."""
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return False
    return bool(_LABEL_NAME.match(name))


def is_label_value(value: str) -> bool:
    """Whether ``value`` is a valid label value (empty, or a label name)."""
    return value == "" or bool(_LABEL_NAME.match(value))


def run_labels(run: Run) -> tuple[dict[str, str], list[str]]:
    """The labels of a run's Job and pod, and the run tags that could not be labels."""
    labels: dict[str, str] = {}
    skipped: list[str] = []
    for key, value in run.tags.items():
        if is_label_key(key) and is_label_value(value):
            labels[key] = value
        else:
            skipped.append(key)
    labels[JOB_LABEL] = run.job_name if is_label_value(run.job_name) else "invalid-name"
    labels[RUN_ID_LABEL] = run.run_id
    return labels, skipped


def effective_config(settings: K8sLauncher, run: Run) -> K8sConfig:
    """The run's Kubernetes config: the launcher's ``run_k8s_config`` under the run's
    ``dagwright-k8s/config`` tag (which already merged the job's and the launch's).

    Raises:
        K8sConfigError: the tag is not a Kubernetes config.
    """
    from dagwright.k8s.config import parse_config_tag

    base = normalize_config(settings.run_k8s_config, source="run_launcher.k8s.run_k8s_config")
    tag = run.tags.get(K8S_CONFIG_TAG)
    return merge_configs(base, parse_config_tag(tag)) if tag else base


def build_job(
    settings: K8sLauncher,
    run: Run,
    *,
    image: str | None = None,
    env: Mapping[str, str] | None = None,
) -> JobManifest:
    """The Job for ``run`` (module docstring), checked against the OpenAPI schema.

    Args:
        settings: ``run_launcher.k8s``.
        run: the run to launch.
        image: the image (default: ``settings.image``, then the run's ``dagwright/image``).
        env: where ``env_vars`` given as a bare ``NAME`` take their value (default: this
            process's environment).

    Raises:
        DagwrightInvalidTagError: the merged config is not a valid Job (the field path is
            named); or no image is known.
    """
    config = effective_config(settings, run)
    labels, skipped = run_labels(run)
    labels = {**settings.labels, **labels}
    image = image or settings.image or run.tags.get("dagwright/image")
    if not image:
        raise K8sConfigError(
            "container_config.image",
            "no image: set run_launcher.k8s.image or DAGWRIGHT_CURRENT_IMAGE (or --image)",
        )
    container = merge_configs(
        _container(settings, run, image, os.environ if env is None else env),
        config.get("container_config", {}),
    )
    pod_spec = merge_configs(_pod_spec(settings), config.get("pod_spec_config", {}))
    pod_spec["containers"] = _with_container(pod_spec.get("containers", []), container)
    annotations = {SKIPPED_TAGS_ANNOTATION: json.dumps(skipped)} if skipped else {}
    meta = {"labels": labels, **({"annotations": annotations} if annotations else {})}
    pod_meta = merge_configs({"labels": labels}, config.get("pod_template_spec_metadata", {}))
    spec = merge_configs(
        _job_spec(settings, run), {"template": {"metadata": pod_meta, "spec": pod_spec}}
    )
    name = JOB_NAME_PREFIX + run.run_id
    body = merge_configs(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": merge_configs(
                {"name": name, "namespace": settings.namespace, **meta},
                config.get("job_metadata", {}),
            ),
            "spec": merge_configs(spec, config.get("job_spec_config", {})),
        },
        config.get("job_config", {}),
    )
    validate_job(body, settings.kubernetes_version)
    client_job(body)
    return JobManifest(body["metadata"]["name"], body["metadata"].get("namespace", "default"), body)


def client_job(body: Mapping[str, Any]) -> Any:
    """The body as the official client's ``V1Job`` (what the launcher sends).

    Raises:
        K8sConfigError: the client's model refuses it.
    """
    from kubernetes.client import V1Job
    from pydantic import ValidationError

    try:
        return V1Job.from_dict(dict(body))
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise K8sConfigError(f"{exc.title}.{where}", error["msg"]) from None


def _container(
    settings: K8sLauncher, run: Run, image: str, env: Mapping[str, str]
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": image,
        "command": ["python", "-m", WORKER_MODULE, run.run_id],
        "env": [{"name": "DAGWRIGHT_HOME", "value": settings.home}, *_env_vars(settings, env)],
    }
    if settings.image_pull_policy:
        container["imagePullPolicy"] = settings.image_pull_policy
    env_from = [{"configMapRef": {"name": n}} for n in settings.env_config_maps]
    env_from += [{"secretRef": {"name": n}} for n in settings.env_secrets]
    if env_from:
        container["envFrom"] = env_from
    if settings.volume_mounts:
        from dagwright.k8s.config import normalize_fields

        container["volumeMounts"] = normalize_fields(
            {"volume_mounts": settings.volume_mounts}, "V1Container"
        )["volumeMounts"]
    return container


def _env_vars(settings: K8sLauncher, env: Mapping[str, str]) -> list[dict[str, str]]:
    out = []
    for item in settings.env_vars:
        name, sep, value = item.partition("=")
        if not sep:
            value = env.get(name, "")
        out.append({"name": name, "value": value})
    return out


def _pod_spec(settings: K8sLauncher) -> dict[str, Any]:
    spec: dict[str, Any] = {"restartPolicy": "Never"}
    if settings.service_account_name:
        spec["serviceAccountName"] = settings.service_account_name
    if settings.volumes:
        from dagwright.k8s.config import normalize_fields

        spec["volumes"] = normalize_fields({"volumes": settings.volumes}, "V1PodSpec")["volumes"]
    return spec


def _job_spec(settings: K8sLauncher, run: Run) -> dict[str, Any]:
    spec: dict[str, Any] = {"backoffLimit": 0}
    if settings.job_ttl_seconds_after_finished is not None:
        spec["ttlSecondsAfterFinished"] = settings.job_ttl_seconds_after_finished
    max_runtime = run.tags.get(MAX_RUNTIME_TAG)
    if max_runtime:
        spec["activeDeadlineSeconds"] = max(1, int(float(max_runtime) + 0.999))
    return spec


def _with_container(containers: list[dict[str, Any]], run_container: dict[str, Any]) -> list[Any]:
    """The run's container first, then any the config adds (sidecars), merged by name."""
    others = [c for c in containers if c.get("name") != CONTAINER_NAME]
    mine = next((c for c in containers if c.get("name") == CONTAINER_NAME), {})
    return [merge_configs(run_container, mine), *others]


def validate_job(body: Mapping[str, Any], kubernetes_version: str | None = None) -> None:
    """Check a Job against the Kubernetes OpenAPI schema (strict: no unknown field).

    Raises:
        K8sConfigError: naming the Job's field path and what is wrong.
    """
    import jsonschema

    version, validator = _job_validator(kubernetes_version)
    error = jsonschema.exceptions.best_match(validator.iter_errors(dict(body)))
    if error is not None:
        path = _json_path(error.absolute_path) or "job"
        raise K8sConfigError(path, f"{error.message} (Kubernetes {version} schema)")


@cache
def _job_validator(kubernetes_version: str | None) -> tuple[str, Any]:
    """The strict schema of ``batch/v1`` Jobs for the newest schema at or before
    ``kubernetes_version`` (default: the newest), as a ready validator: loading the
    definitions costs ~80 ms, so it is done once per process and version."""
    import jsonschema
    from kubernetes_validate import utils
    from referencing import Registry, Resource

    wanted = utils.major_minor((kubernetes_version or utils.latest_version()).lstrip("v"))
    known = [
        v
        for v in utils.all_versions()
        if _version_key(utils.major_minor(v)) <= _version_key(wanted)
    ]
    if not known:
        rule = f"no Kubernetes schema for {kubernetes_version} (oldest: {utils.all_versions()[0]})"
        raise K8sConfigError("kubernetes_version", rule, source="run_launcher.k8s")
    folder = f"kubernetes-json-schema/v{known[-1]}-local-strict"
    schema = utils.schema_contents(f"{folder}/job-batch-v1.json", known[-1])
    definitions = utils.schema_contents(f"{folder}/_definitions.json", known[-1])
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    return utils.major_minor(known[-1]), validator


def _version_key(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        raise K8sConfigError(
            "kubernetes_version", f"not a version: {version!r}", source="run_launcher.k8s"
        ) from None


def _json_path(parts: Any) -> str:
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path
