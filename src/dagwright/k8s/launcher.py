"""The Kubernetes run launcher: each run is a Job (``dagwright-run-<run id>``) whose pod runs
``python -m dagwright.execution.worker RUN_ID`` in the configured image.

- The kube config is loaded when the launcher is made, explicitly: the file that
  ``run_launcher.k8s.kubeconfig`` names, else in-cluster (``KUBERNETES_SERVICE_HOST``), else
  ``KUBECONFIG`` / ``~/.kube/config``; never from state the client cached at import.
- ``launch`` claims the run (``RUN_STARTING``) and hands the Job's creation to a pool of
  ``max_concurrent_launches`` threads, so a queue pass is never held up by the API server
  (dagster #4311: one run a second, serially). The creation's outcome is an ENGINE event
  (holding the Job as created, for ``GET /api/v1/runs/{id}/k8s``) or a failed run.
- ``terminate`` deletes the Job with foreground propagation (its pod goes first; the worker
  gets SIGTERM and ends the run CANCELED).
- ``failure_reason`` reads the Job and its pod for what the worker cannot report itself: an
  image that cannot be pulled, a container that cannot be configured, an OOM kill, a Job
  that failed (deadline, evicted pod) while the run did not end.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final

from dagwright.errors import DagwrightInvalidConfigError
from dagwright.execution.events import Event, EventType
from dagwright.k8s.manifest import JOB_NAME_PREFIX, JobManifest, build_job, client_job
from dagwright.runs.models import Run, require_code_pointer
from dagwright.tags import IMAGE_TAG

if TYPE_CHECKING:
    from dagwright.instance import Instance
    from dagwright.settings import K8sLauncher

#: The ``host`` recorded for a run's worker: where it runs (``k8s:<namespace>/<job>``).
HOST_PREFIX: Final = "k8s:"
#: Container states that no retry of the kubelet will get past.
STUCK_WAITING_REASONS: Final = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
    }
)
#: Jobs built at submit and kept for the launch that follows (oldest dropped first).
PREPARED_KEPT: Final = 1024
#: The ENGINE event data key holding the Job as it was created.
JOB_EVENT_KEY: Final = "k8s_job"


def api_client(settings: K8sLauncher, env: dict[str, str] | None = None) -> Any:
    """A client for the cluster (module docstring: which config, in which order).

    Raises:
        DagwrightInvalidConfigError: no kube config can be loaded.
    """
    from kubernetes import client
    from kubernetes import config as kube_config

    config: Any = kube_config  # its loaders are not typed
    env = dict(os.environ) if env is None else env
    try:
        if settings.kubeconfig is not None:
            return config.new_client_from_config(config_file=settings.kubeconfig)
        if env.get("KUBERNETES_SERVICE_HOST"):
            configuration = client.Configuration()
            config.load_incluster_config(client_configuration=configuration)
            return client.ApiClient(configuration)
        return config.new_client_from_config(config_file=env.get("KUBECONFIG"))
    except (config.ConfigException, OSError, ValueError) as exc:
        raise DagwrightInvalidConfigError(
            "dagwright.yaml", f"cannot load the kube config: {exc}", key="run_launcher.k8s"
        ) from exc


class K8sRunLauncher:
    """Launches runs as Kubernetes Jobs (module docstring)."""

    def __init__(self, instance: Instance, settings: K8sLauncher, api: Any = None) -> None:
        """Launch the runs of ``instance`` as ``settings`` say, through ``api`` (an
        ``ApiClient``; default: :func:`api_client`)."""
        from kubernetes import client

        self._instance = instance
        self.settings = settings
        self._api = api if api is not None else api_client(settings)
        self._batch = client.BatchV1Api(self._api)
        self._core = client.CoreV1Api(self._api)
        self._pool = ThreadPoolExecutor(
            settings.max_concurrent_launches, thread_name_prefix="dagwright-k8s-launch"
        )
        self._pending: set[Any] = set()
        self._prepared: dict[str, tuple[dict[str, str], JobManifest]] = {}
        self._lock = threading.Lock()

    def manifest(self, run: Run) -> JobManifest:
        """The Job ``run`` is launched as (checked; nothing is sent)."""
        prepared = self._prepared.pop(run.run_id, None)
        if prepared is not None and prepared[0] == run.tags:
            return prepared[1]
        image = self.settings.image or self._instance.settings.current_image
        return build_job(self.settings, run, image=image or run.tags.get(IMAGE_TAG))

    def prepare(self, run: Run) -> JobManifest:
        """Build and check the Job of a run about to be stored, and keep it for its launch
        (a submission builds its Job once).

        Raises:
            DagwrightInvalidTagError: the Job would be invalid (the field path is named).
        """
        manifest = self.manifest(run)
        with self._lock:
            while len(self._prepared) >= PREPARED_KEPT:
                self._prepared.pop(next(iter(self._prepared)))
            self._prepared[run.run_id] = (dict(run.tags), manifest)
        return manifest

    def launch(self, run: Run) -> Run:
        """Claim the run and create its Job in the background (bounded concurrency)."""
        require_code_pointer(run.job_name, run.code_pointer)
        manifest = self.manifest(run)  # a bad config fails here, before the claim
        _, claimed = self._instance.handle_event(
            Event(run.run_id, EventType.RUN_STARTING, time.time(), message="creating its Job")
        )
        assert claimed is not None
        if not self._instance.records.workers.claim(
            run.run_id, host=_host(manifest), now=time.time()
        ):
            return claimed
        self._submit(run, manifest)
        return claimed

    def relaunch(self, run: Run, *, stale_before: float | None = None) -> bool:
        """Create the Job of a STARTING run whose launcher died before it did."""
        manifest = self.manifest(run)
        if not self._instance.records.workers.claim(
            run.run_id, host=_host(manifest), now=time.time(), stale_before=stale_before
        ):
            return False
        self._submit(run, manifest)
        return True

    def _submit(self, run: Run, manifest: JobManifest) -> None:
        future = self._pool.submit(self._create, run, manifest)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Any) -> None:
        with self._lock:
            self._pending.discard(future)

    def _create(self, run: Run, manifest: JobManifest) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            self._batch.create_namespaced_job(manifest.namespace, client_job(manifest.body))
        except ApiException as exc:
            if exc.status == 409:  # created already (a relaunch after a lost answer)
                return
            self._cannot_create(run, manifest, _why(exc))
            return
        except Exception as exc:  # the API server is unreachable, or answered nonsense
            self._cannot_create(run, manifest, str(getattr(exc, "reason", None) or exc))
            return
        self._instance.records.workers.register(
            run.run_id, pid=None, host=_host(manifest), now=time.time()
        )
        self._instance.handle_event(
            Event(
                run.run_id,
                EventType.ENGINE,
                time.time(),
                message=f"created Kubernetes Job {manifest.namespace}/{manifest.name}",
                data={"namespace": manifest.namespace, "job": manifest.name,
                      JOB_EVENT_KEY: manifest.body},
            )
        )  # fmt: skip

    def _cannot_create(self, run: Run, manifest: JobManifest, why: str) -> None:
        reason = f"could not create Kubernetes Job {manifest.namespace}/{manifest.name}: {why}"
        self._instance.fail_run(run.run_id, reason)

    def wait_for_launches(self, timeout: float | None = None) -> None:
        """Wait until every Job creation handed to the pool has been answered."""
        from concurrent.futures import wait

        with self._lock:
            pending = set(self._pending)
        wait(pending, timeout=timeout)

    def terminate(self, run: Run, *, force: bool = False) -> bool:
        """Delete the run's Job, its pod first (foreground); whether there was one."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        name = JOB_NAME_PREFIX + run.run_id
        body = client.V1DeleteOptions(
            propagation_policy="Foreground", grace_period_seconds=0 if force else None
        )
        try:
            self._batch.delete_namespaced_job(name, self.settings.namespace, body=body)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def is_running(self, run: Run) -> bool | None:
        """Whether the run's Job is active (None: it cannot be read)."""
        job = self._read_job(run)
        if job is None:
            return None
        status = job.status
        return bool(status and status.active) or not (
            status and (status.succeeded or status.failed)
        )

    def failure_reason(self, run: Run) -> str | None:
        """Why the run cannot go on, when its Job or pod say so (module docstring)."""
        job = self._read_job(run)
        if job is None:
            return None
        reason = _job_failure(job)
        if reason is not None:
            return reason
        pods = self._core.list_namespaced_pod(
            self.settings.namespace, label_selector=f"job-name={JOB_NAME_PREFIX}{run.run_id}"
        )
        for pod in pods.items:
            reason = pod_failure(pod)
            if reason is not None:
                name = pod.metadata.name if pod.metadata is not None else "?"
                return f"pod {name}: {reason}"
        return None

    def _read_job(self, run: Run) -> Any:
        from kubernetes.client.exceptions import ApiException

        try:
            return self._batch.read_namespaced_job(
                JOB_NAME_PREFIX + run.run_id, self.settings.namespace
            )
        except ApiException:
            return None

    def close(self) -> None:
        """Wait for the Job creations under way, then release the client."""
        self._pool.shutdown(wait=True)
        self._api.close()


def _host(manifest: JobManifest) -> str:
    return f"{HOST_PREFIX}{manifest.namespace}/{manifest.name}"


def _why(exc: Any) -> str:
    import json

    try:
        return str(json.loads(exc.body).get("message") or exc.reason)
    except (TypeError, ValueError, AttributeError):
        return f"{exc.status} {exc.reason}"


def _job_failure(job: Any) -> str | None:
    for condition in (job.status and job.status.conditions) or []:
        if condition.type == "Failed" and condition.status == "True":
            return f"Job failed: {condition.reason}: {condition.message}"
    return None


def pod_failure(pod: Any) -> str | None:
    """Why a pod will not run the worker to its end, or None while it may."""
    for status in (pod.status and pod.status.container_statuses) or []:
        state = status.state
        if state and state.waiting and state.waiting.reason in STUCK_WAITING_REASONS:
            return f"{state.waiting.reason}: {state.waiting.message or ''}".rstrip(": ")
        if state and state.terminated and state.terminated.reason == "OOMKilled":
            return f"OOMKilled (exit code {state.terminated.exit_code})"
    if pod.status and pod.status.phase == "Failed" and pod.status.reason:
        return f"{pod.status.reason}: {pod.status.message or ''}".rstrip(": ")
    return None
