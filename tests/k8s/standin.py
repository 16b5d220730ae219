"""A stand-in Kubernetes API server for the launcher's tests (there is no cluster here).

It implements only what the launcher calls: create, read and delete a ``batch/v1`` Job,
and list pods by ``job-name``. Every Job it is sent is checked against the strict
Kubernetes OpenAPI schema (``kubernetes-validate``) the way an API server refuses a
malformed object: 422 with a ``Status`` body. A created Job gets one pod; with
``run_workers`` the pod's container command really runs, as a local process with the
container's ``env``, so a launched run executes end to end; an image listed in
``unpullable`` leaves the pod waiting in ``ErrImagePull`` instead.

It binds to 127.0.0.1 on a free port, serves from a thread, and stops with the test.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from dagwright.k8s.config import K8sConfigError
from dagwright.k8s.manifest import validate_job

JOBS = re.compile(r"^/apis/batch/v1/namespaces/([^/]+)/jobs(?:/([^/]+))?$")
PODS = re.compile(r"^/api/v1/namespaces/([^/]+)/pods$")


@dataclass
class FakeCluster:
    """What the stand-in holds, and what a test may look at or steer."""

    run_workers: bool = False
    unpullable: set[str] = field(default_factory=set)
    jobs: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    processes: dict[tuple[str, str], subprocess.Popen[bytes]] = field(default_factory=dict)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, namespace: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            validate_job(body)
        except K8sConfigError as exc:
            return 422, _status(422, "Invalid", f"Job is invalid: {exc.rule}")
        name = body["metadata"]["name"]
        if body["metadata"].get("namespace", namespace) != namespace:
            return 400, _status(400, "BadRequest", "the namespace of the object does not match")
        with self.lock:
            if (namespace, name) in self.jobs:
                return 409, _status(409, "AlreadyExists", f'jobs.batch "{name}" already exists')
            job = json.loads(json.dumps(body))
            job["metadata"].update(namespace=namespace, uid=str(uuid.uuid4()))
            job["metadata"]["creationTimestamp"] = _now()
            job["status"] = {"active": 1, "startTime": _now()}
            self.jobs[(namespace, name)] = job
        if self.run_workers and self._container(job)["image"] not in self.unpullable:
            self._start(namespace, name, job)
        return 201, job

    def _container(self, job: dict[str, Any]) -> dict[str, Any]:
        container: dict[str, Any] = job["spec"]["template"]["spec"]["containers"][0]
        return container

    def _start(self, namespace: str, name: str, job: dict[str, Any]) -> None:
        container = self._container(job)
        env = {**os.environ, **{e["name"]: e.get("value", "") for e in container.get("env", [])}}
        command = [sys.executable if c == "python" else c for c in container["command"]]
        log = Path(env.get("DAGWRIGHT_HOME", ".")) / f"{name}.pod.log"
        with log.open("ab") as out:
            process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.processes[(namespace, name)] = process
        threading.Thread(target=self._reap, args=(namespace, name, process), daemon=True).start()

    def _reap(self, namespace: str, name: str, process: subprocess.Popen[bytes]) -> None:
        code = process.wait()
        with self.lock:
            job = self.jobs.get((namespace, name))
            if job is None:
                return
            done = {"succeeded": 1} if code == 0 else {"failed": 1}
            job["status"] = {**done, "startTime": job["status"]["startTime"]}
            if code != 0:
                job["status"]["conditions"] = [
                    {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                     "message": "Job has reached the specified backoff limit"}
                ]  # fmt: skip

    def pods(self, namespace: str, job_name: str) -> list[dict[str, Any]]:
        job = self.jobs.get((namespace, job_name))
        if job is None:
            return []
        container = self._container(job)
        waiting = container["image"] in self.unpullable
        pull_error = {"reason": "ErrImagePull", "message": f"{container['image']}: not found"}
        state: dict[str, Any] = (
            {"waiting": pull_error}
            if waiting
            else {"running": {"startedAt": job["status"]["startTime"]}}
        )
        return [
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"{job_name}-abcde", "namespace": namespace,
                             "labels": {"job-name": job_name}},
                "spec": {"containers": [{"name": container["name"], "image": container["image"]}]},
                "status": {
                    "phase": "Pending" if waiting else "Running",
                    "containerStatuses": [
                        {"name": container["name"], "image": container["image"], "imageID": "",
                         "ready": not waiting, "restartCount": 0, "state": state}
                    ],
                },
            }
        ]  # fmt: skip

    def delete(self, namespace: str, name: str, policy: str | None) -> tuple[int, dict[str, Any]]:
        with self.lock:
            job = self.jobs.pop((namespace, name), None)
        if job is None:
            return 404, _status(404, "NotFound", f'jobs.batch "{name}" not found')
        process = self.processes.pop((namespace, name), None)
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)  # the kubelet stops the container
        return 200, {**_status(200, "", ""), "status": "Success", "details": {"policy": policy}}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Status", "status": "Failure", "code": code,
            "reason": reason, "message": message, "metadata": {}}  # fmt: skip


class _Handler(BaseHTTPRequestHandler):
    cluster: FakeCluster

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length)) if length else None

    def _answer(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = self._body()
        self.cluster.requests.append(("POST", self.path, body))
        match = JOBS.match(urlsplit(self.path).path)
        if match is None or match.group(2):
            self._answer(404, _status(404, "NotFound", "no such endpoint here"))
            return
        self._answer(*self.cluster.create(match.group(1), body))

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.cluster.requests.append(("GET", self.path, None))
        jobs, pods = JOBS.match(url.path), PODS.match(url.path)
        if jobs and jobs.group(2):
            self._job(jobs.group(1), jobs.group(2))
        elif pods:
            selector = parse_qs(url.query).get("labelSelector", [""])[0]
            items = self.cluster.pods(pods.group(1), selector.removeprefix("job-name="))
            pod_list = {"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items}
            self._answer(200, pod_list)
        else:
            self._answer(404, _status(404, "NotFound", "no such endpoint here"))

    def _job(self, namespace: str, name: str) -> None:
        job = self.cluster.jobs.get((namespace, name))
        if job is None:
            self._answer(404, _status(404, "NotFound", "not found"))
        else:
            self._answer(200, job)

    def do_DELETE(self) -> None:
        body = self._body() or {}
        self.cluster.requests.append(("DELETE", self.path, body))
        match = JOBS.match(urlsplit(self.path).path)
        if match is None or not match.group(2):
            self._answer(404, _status(404, "NotFound", "no such endpoint here"))
            return
        policy = body.get("propagationPolicy")
        self._answer(*self.cluster.delete(match.group(1), match.group(2), policy))


def _handler(cluster: FakeCluster) -> type[BaseHTTPRequestHandler]:
    return type("Handler", (_Handler,), {"cluster": cluster})


@contextmanager
def standin_cluster(folder: Path, **options: Any) -> Iterator[tuple[FakeCluster, Path]]:
    """A running stand-in and a kube config file pointing at it."""
    cluster = FakeCluster(**options)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(cluster))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    kubeconfig = folder / "kubeconfig.yaml"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: standin\n"
        f"clusters: [{{name: standin, cluster: {{server: 'http://127.0.0.1:{server.server_port}'}}}}]\n"
        "users: [{name: tester, user: {token: not-a-secret}}]\n"
        "contexts: [{name: standin, context: {cluster: standin, user: tester}}]\n"
    )
    try:
        yield cluster, kubeconfig
    finally:
        server.shutdown()
        server.server_close()
        for process in cluster.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()


def main() -> None:
    """Serve a stand-in (no pods run) until stopped: ``python -m tests.k8s.standin FOLDER``
    writes ``FOLDER/kubeconfig.yaml`` and prints its path once it is listening."""
    folder = Path(sys.argv[1])
    with standin_cluster(folder):
        print(folder / "kubeconfig.yaml", flush=True)
        signal.sigwait({signal.SIGTERM, signal.SIGINT})


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    main()
