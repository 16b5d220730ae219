"""Fixtures of the Celery tests: brokers, and a cluster of real ``dagwright celery
worker`` processes on one PostgreSQL store.

Each test gets its own queue-name prefix (``$DAGWRIGHT_TEST_QUEUE_PREFIX``, read by
``tests/jobs/celery_jobs.py``); its queues and broker keys are deleted afterwards.
Brokers: Redis 127.0.0.1:6379 (database 14) and RabbitMQ 127.0.0.1:5672 (guest). Under
``CI=true`` a broker that is not there fails the test; elsewhere it skips.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.jobs.celery_jobs import QUEUE_PREFIX_ENV
from tests.waiting import wait_for

from dagwright import Instance

#: The job file the workers load with ``-f``.
JOBS_FILE = str(Path(__file__).parents[1] / "jobs" / "celery_jobs.py")

REDIS_URL = "redis://127.0.0.1:6379/14"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"


def _require(port: int, what: str) -> None:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError as exc:
        message = f"{what} not reachable at 127.0.0.1:{port} ({exc})"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@dataclass
class Broker:
    """A broker of one test: its URL, and the queues to delete afterwards."""

    kind: str
    url: str
    prefix: str

    def cleanup(self) -> None:
        """Delete this test's queues and keys."""
        if self.kind == "redis":
            self._cleanup_redis()
        else:
            self._cleanup_amqp()

    def _cleanup_redis(self) -> None:
        import redis

        client = redis.Redis.from_url(self.url)
        keys = list(client.scan_iter(f"*{self.prefix}*"))
        if keys:
            client.delete(*keys)
        for tag, payload in client.hgetall("unacked").items():
            if self.prefix.encode() in payload:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
        client.close()

    def _cleanup_amqp(self) -> None:
        from kombu import Connection

        with Connection(self.url) as connection:
            channel = connection.channel()
            for name in ("alpha", "beta", "prio", "kill", "main"):
                queue = self.prefix + name
                channel.queue_delete(queue)
                channel.exchange_delete(queue)


@pytest.fixture
def prefix(monkeypatch: pytest.MonkeyPatch) -> str:
    """This test's queue-name prefix (in the environment of the processes it starts)."""
    value = f"t{uuid.uuid4().hex[:8]}-"
    monkeypatch.setenv(QUEUE_PREFIX_ENV, value)
    return value


def _broker(kind: str, prefix: str) -> Iterator[Broker]:
    _require(6379 if kind == "redis" else 5672, "Redis" if kind == "redis" else "RabbitMQ")
    broker = Broker(kind, REDIS_URL if kind == "redis" else AMQP_URL, prefix)
    try:
        yield broker
    finally:
        broker.cleanup()


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request: pytest.FixtureRequest, prefix: str) -> Iterator[Broker]:
    """Each broker in turn."""
    yield from _broker(request.param, prefix)


@pytest.fixture
def redis_broker(prefix: str) -> Iterator[Broker]:
    """The Redis broker."""
    yield from _broker("redis", prefix)


@dataclass
class Worker:
    """A ``dagwright celery worker`` process (its own session, so its pool goes with it)."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        """Its log so far."""
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """Stop it at once (the test's broker keys and queues are deleted afterwards)."""
        if self.process.poll() is None:
            self.kill()

    def wait_ready(self) -> None:
        """Wait until Celery says the worker is ready."""

        def ready() -> bool:
            assert self.process.poll() is None, f"worker {self.name} exited:\n{self.text()}"
            return " ready." in self.text()

        wait_for(ready, 60, f"worker {self.name} ready")


def write_home(home: Path, storage_url: str, broker_url: str, extra: str = "") -> Path:
    """A home whose dagwright.yaml names the store and the broker."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagwright.yaml").write_text(
        f"storage: {{postgres: {{url: '{storage_url}'}}}}\n"
        f"celery:\n  broker_url: '{broker_url}'\n{extra}"
    )
    return home


@dataclass
class Cluster:
    """A submitting instance and the workers of one test."""

    root: Path
    storage_url: str
    broker: Broker
    extra: str = ""
    workers: list[Worker] = field(default_factory=list)
    _instance: Instance | None = None

    @property
    def instance(self) -> Instance:
        """The submitting instance (its run workers coordinate the Celery runs)."""
        if self._instance is None:
            home = write_home(self.root / "home", self.storage_url, self.broker.url, self.extra)
            self._instance = Instance.from_home(home)
        return self._instance

    def queue(self, name: str) -> str:
        """The name of queue ``name`` in this test."""
        return self.broker.prefix + name

    def start_worker(
        self,
        name: str,
        queues: list[str],
        *,
        concurrency: int = 1,
        with_code: bool = True,
        code: list[str] | None = None,
    ) -> Worker:
        """Start a worker consuming ``queues`` (short names) and wait until it is ready."""
        worker = self.spawn_worker(
            name, queues, concurrency=concurrency, with_code=with_code, code=code
        )
        worker.wait_ready()
        return worker

    def spawn_worker(
        self,
        name: str,
        queues: list[str],
        *,
        concurrency: int = 1,
        with_code: bool = True,
        code: list[str] | None = None,
    ) -> Worker:
        """Start a worker consuming ``queues`` (short names), with ``-f`` the job file
        (or the ``code`` options given) unless not ``with_code`` (it then loads the runs'
        code pointers); see :meth:`Worker.wait_ready`."""
        self.instance  # noqa: B018 -- the store's schema exists before workers start
        home = write_home(self.root / name, self.storage_url, self.broker.url, self.extra)
        log = self.root / f"{name}.log"
        command = [sys.executable, "-m", "dagwright", "celery", "worker"]
        command += (code or ["-f", JOBS_FILE]) if with_code else []
        command += ["-q", ",".join(self.queue(q) for q in queues), "-c", str(concurrency)]
        command += ["-n", f"{name}@%h"]
        with log.open("wb") as out:
            process = subprocess.Popen(
                command,
                env={**os.environ, "DAGWRIGHT_HOME": str(home)},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = Worker(f"{name}@{socket.gethostname()}", process, log)
        self.workers.append(worker)
        return worker

    def close(self) -> None:
        """Stop the workers, close the instance."""
        for worker in self.workers:
            worker.stop()
        if self._instance is not None:
            self._instance.close()


@pytest.fixture
def make_cluster(tmp_path: Path, pg_database_url: str) -> Iterator[Any]:
    """``make_cluster(broker, extra_yaml="")`` -> a :class:`Cluster`, stopped afterwards."""
    made: list[Cluster] = []

    def make(broker: Broker, extra: str = "") -> Cluster:
        cluster = Cluster(tmp_path / f"cluster{len(made)}", pg_database_url, broker, extra)
        made.append(cluster)
        return cluster

    try:
        yield make
    finally:
        for cluster in made:
            cluster.close()
