"""Two hosts: one Celery worker in its own network namespace, with its own home and a
copy of the job file, that sees neither the submitting host's files nor its loopback.

It reaches PostgreSQL and Redis over a veth pair (a random 10.x.y.z/30 used only between
its two ends) through a small TCP forwarder that this test runs in the root namespace,
bound to the root-side address, to the services on 127.0.0.1. Needs root and ``ip``
(mandatory under ``CI=true``; skipped elsewhere); the namespace is always removed.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from tests.jobs import celery_jobs
from tests.waiting import wait_finished

from dagwright import EventType, RunStatus
from dagwright.definitions.composition import NodeOutput

from .conftest import JOBS_FILE, REDIS_URL, Broker, Cluster, Worker, write_home

pytestmark = pytest.mark.postgres


def _require_root_and_ip() -> None:
    reason = None
    if os.geteuid() != 0:
        reason = "needs root (to make a network namespace)"
    elif shutil.which("ip") is None:
        reason = "needs the ip command (iproute2)"
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


class Forwarder:
    """Accepts on ``listen`` and pipes each connection to ``target`` (both TCP)."""

    def __init__(self, listen: tuple[str, int], target: tuple[str, int]) -> None:
        self.target = target
        self.server = socket.create_server(listen)
        self.server.settimeout(0.2)
        self.stopped = threading.Event()
        self.sockets: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(self.target, timeout=10)
            upstream.settimeout(None)
            client.settimeout(None)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def stop(self) -> None:
        """Stop accepting and close every connection."""
        self.stopped.set()
        self.server.close()
        for sock in self.sockets:
            with suppress(OSError):
                sock.close()
        self.thread.join(timeout=5)


@pytest.fixture
def namespace() -> Iterator[tuple[str, str, str]]:
    """A network namespace joined to this one by a veth pair: (name, our address, its
    address)."""
    _require_root_and_ip()
    tag = uuid.uuid4().hex[:6]
    name, ours, theirs = f"dw{tag}", f"vdw{tag}a", f"vdw{tag}b"
    base = f"10.{random.randint(64, 250)}.{random.randint(0, 255)}.{4 * random.randint(0, 62)}"
    prefix, last = base.rsplit(".", 1)
    here, there = f"{prefix}.{int(last) + 1}", f"{prefix}.{int(last) + 2}"
    _ip("netns", "add", name)
    try:
        _ip("link", "add", ours, "type", "veth", "peer", "name", theirs)
        _ip("link", "set", theirs, "netns", name)
        _ip("addr", "add", f"{here}/30", "dev", ours)
        _ip("link", "set", ours, "up")
        _ip("-n", name, "addr", "add", f"{there}/30", "dev", theirs)
        _ip("-n", name, "link", "set", theirs, "up")
        _ip("-n", name, "link", "set", "lo", "up")
        yield name, here, there
    finally:
        with suppress(subprocess.SubprocessError):
            _ip("link", "del", ours)  # also removes its peer
        _ip("netns", "del", name)


@pytest.fixture
def forwarders(namespace: tuple[str, str, str]) -> Iterator[str]:
    """PostgreSQL and Redis, forwarded from our veth address; that address."""
    _, here, _ = namespace
    started = [Forwarder((here, port), ("127.0.0.1", port)) for port in (5432, 6379)]
    try:
        yield here
    finally:
        for forwarder in started:
            forwarder.stop()


def _spawn_in_namespace(cluster: Cluster, namespace: str, address: str, root: Path) -> Worker:
    """A worker in ``namespace``: its own home (store and broker at ``address``), its own
    working directory with a copy of the job file; the submitting home is hidden."""
    root.mkdir()
    jobs = root / "celery_jobs.py"
    shutil.copy(JOBS_FILE, jobs)
    pg = cluster.storage_url.replace("127.0.0.1", address)
    broker = REDIS_URL.replace("127.0.0.1", address)
    home = write_home(root / "home", pg, broker)
    hidden = cluster.instance.home  # inside the namespace an empty tmpfs lies over it
    worker_command = [sys.executable, "-m", "dagwright", "celery", "worker", "-f", str(jobs)]
    worker_command += ["-q", cluster.queue("beta"), "-c", "1", "-n", "ns@%h"]
    script = f'mount -t tmpfs tmpfs "{hidden}" && cd "{root}" && exec "$@"'
    log = root / "worker.log"
    env = {**os.environ, "DAGWRIGHT_HOME": str(home), "HOME": str(root)}
    env.pop("DAGWRIGHT_PG_URL", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["ip", "netns", "exec", namespace, "sh", "-c", script, "sh", *worker_command],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = Worker(f"ns@{socket.gethostname()}", process, log)
    cluster.workers.append(worker)
    return worker


def test_a_step_runs_on_a_worker_in_another_network_namespace(
    make_cluster: Any,
    redis_broker: Broker,
    namespace: tuple[str, str, str],
    forwarders: str,
    tmp_path: Path,
) -> None:
    cluster: Cluster = make_cluster(redis_broker)
    local = cluster.spawn_worker("local", ["alpha"])
    remote = _spawn_in_namespace(cluster, namespace[0], forwarders, tmp_path / "other-host")
    local.wait_ready()
    remote.wait_ready()
    instance = cluster.instance
    run = instance.submit_run(celery_jobs.two_queues)
    assert wait_finished(instance, run.run_id).status is RunStatus.SUCCESS
    starts = {
        e.step_key: e.data["celery_worker"]
        for e in instance.get_events(run.run_id)
        if e.event_type is EventType.STEP_START
    }
    assert starts == {"extract": local.name, "transform": remote.name}
    assert instance.outputs.get(run.run_id, NodeOutput("transform", "result")) == 6
    assert not (instance.home / "storage").exists()  # type: ignore[operator]  # no pickle files
