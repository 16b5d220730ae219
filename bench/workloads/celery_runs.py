"""The Celery workloads: runs whose steps go to Celery workers, timed from submit to SUCCESS.

Both systems get the same job file (:data:`CELERY_FILE`, its executor the system's Celery
executor), the same broker (Redis on loopback, a database number of its own per workload,
given in ``$BENCH_CELERY_BROKER``), the same kind of run storage (PostgreSQL, a scratch
database per workload) and the same number of worker processes, started (and warmed up by
one untimed run) before the clock. The side files know how to configure and start each
system's workers (``write_celery_settings``, ``celery_worker_argv``).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

#: The job of the untimed runs that start each workload: the workers (and, on Dagster, the
#: code server) have served a run before the clock starts.
WARMUP_JOB = "one_op"
#: The environment variable naming the broker in the job file and the settings.
BROKER_ENV = "BENCH_CELERY_BROKER"

#: Jobs whose every step is a Celery task. ``{package}`` is ``dagwright`` or ``dagster``,
#: ``{executor}`` the line that defines ``EXECUTOR`` (each system's Celery executor).
CELERY_FILE = '''"""Celery jobs written by bench/workloads/celery_runs.py."""

import os

from {package} import Definitions, job, op

{executor}


@op(name="root")
def root():
    return 1


def _leaf(name):
    @op(name=name)
    def leaf(x):
        return x

    return leaf


LEAVES = [_leaf(f"leaf_{{i}}") for i in range(499)]


def _fanout(n):
    @job(name=f"fanout_{{n}}", executor_def=EXECUTOR)
    def fanout():
        x = root()
        for leaf in LEAVES[: n - 1]:
            leaf(x)

    return fanout


@job(name="one_op", executor_def=EXECUTOR)
def one_op():
    root()


fanout_101 = _fanout(101)
fanout_500 = _fanout(500)

defs = Definitions(jobs=[one_op, fanout_101, fanout_500])
'''


def write_celery_file(directory: str, package: str, executor: str) -> str:
    """Write :data:`CELERY_FILE` for ``package`` into ``directory``; return its path."""
    path = os.path.join(directory, "bench_celery.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(CELERY_FILE.format(package=package, executor=executor))
    return path


def w_celery(
    side: Any,
    *,
    system: str,
    pg_url: str,
    broker_url: str,
    job_name: str,
    concurrency: int,
    warmup: int,
    reps: int,
    timeout_s: float,
    reap: Any,
    wait_finished: Any,
) -> dict[str, Any]:
    """Start the system's Celery workers (one worker command, ``concurrency`` processes)
    on a fresh home whose storage is the PostgreSQL database ``pg_url``, run ``warmup``
    untimed runs of :data:`WARMUP_JOB`, then time ``reps`` runs of ``job_name``, each from
    the submit call until the run is seen SUCCESS (polled every 10 ms)."""
    work = tempfile.mkdtemp(prefix="bench-celery-")
    home = os.path.join(work, "home")
    os.makedirs(home)
    os.environ[side.HOME_ENV] = home
    os.environ[BROKER_ENV] = broker_url
    worker = None
    times: list[float] = []
    try:
        side.write_celery_settings(home, pg_url, broker_url)
        job_file = write_celery_file(work, system, side.CELERY_EXECUTOR_LINE)
        instance = side.instance_at(home)
        log = open(os.path.join(work, "worker.log"), "wb")  # noqa: SIM115 (closed below)
        bin_dir = os.path.dirname(sys.executable)  # the worker CLIs run the system's own
        env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
        worker = subprocess.Popen(
            side.celery_worker_argv(home, job_file, concurrency),
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        with side.submitter(instance, job_file, WARMUP_JOB) as submit:
            for _ in range(warmup):
                _timed_run(side, instance, submit, worker, work, timeout_s, wait_finished)
        with side.submitter(instance, job_file, job_name) as submit:
            for _ in range(reps):
                times.append(
                    _timed_run(side, instance, submit, worker, work, timeout_s, wait_finished)
                )
    finally:
        reap(home)
        if worker is not None and worker.poll() is None:
            worker.kill()
            worker.wait()
        shutil.rmtree(work, ignore_errors=True)
    return {"median_s": statistics.median(times), "times_s": times, "n": len(times)}


def _timed_run(
    side: Any,
    instance: Any,
    submit: Any,
    worker: subprocess.Popen[bytes],
    work: str,
    timeout_s: float,
    wait_finished: Any,
) -> float:
    """Submit one run and wait for it: seconds from the submit call to SUCCESS seen."""
    if worker.poll() is not None:
        raise RuntimeError(f"the worker exited ({worker.returncode}): {_tail(work)}")
    t0 = time.perf_counter()
    run_id = submit({})
    try:
        status, _ = wait_finished(side, instance, run_id, timeout_s)
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}; worker log: {_tail(work)}") from None
    elapsed = time.perf_counter() - t0
    assert status == "SUCCESS", f"run {run_id} ended {status}: {_tail(work)}"
    return elapsed


def _tail(work: str, lines: int = 4) -> str:
    try:
        with open(os.path.join(work, "worker.log"), errors="replace") as f:
            return " | ".join(f.read().strip().splitlines()[-lines:])
    except OSError:
        return "(no worker log)"
