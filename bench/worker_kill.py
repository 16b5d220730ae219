"""The worker-kill experiment: how soon the run monitor fails a run whose worker died.

    .venv/bin/python bench/worker_kill.py [--poll 1.0] [--stores sqlite postgres]
                                          [--pg-url URL] [--max-polls 30]

For each store (SQLite; PostgreSQL at ``--pg-url``, a fresh database per case) and case:

* ``kill -9``: a run launched from this process (whose launcher reaps its worker); the
  worker gets SIGKILL and is gone;
* ``zombie``: a run launched by ``dagwright job launch``, which exits at once; this
  process adopts the orphaned worker (``PR_SET_CHILD_SUBREAPER``, as a container's PID 1)
  and never reaps it; the worker gets SIGKILL and stays a zombie;
* ``SIGSTOP``: the worker is stopped: alive, but its heartbeats stop.

a run monitor polls every ``--poll`` seconds (``RunMonitorDaemon.run_iteration`` in a
loop, as the daemon runs it) and the script prints the polls and seconds from the signal
until the run is FAILURE, and its ``dagwright/failure_reason``. "never" means it was
still not failed after ``--max-polls`` polls (what a zombie got before the monitor read
``/proc``: ``PYTHONPATH=/path/to/old/checkout/src`` measures another checkout). Linux
only (``/proc``, ``prctl``).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if not os.environ.get("PYTHONPATH"):  # PYTHONPATH=/other/checkout/src measures that one
    os.environ["PYTHONPATH"] = str(ROOT / "src")  # for the CLI and the workers too
    sys.path.insert(0, str(ROOT / "src"))

from dagwright import Instance, RunStatus  # noqa: E402
from dagwright.daemon.run_monitor import RunMonitorDaemon  # noqa: E402
from dagwright.definitions.loader import load_definitions  # noqa: E402
from dagwright.runs.launcher import worker_pid  # noqa: E402

PR_SET_CHILD_SUBREAPER = 36
#: ``dagwright`` on the interpreter running this script.
CLI = (sys.executable, "-m", "dagwright")
JOB_FILE = """
import time
from pathlib import Path
from dagwright import OpExecutionContext, job, op

@op
def wait_for_release(context: OpExecutionContext) -> str:
    while not Path(context.get_tag("release")).exists():
        time.sleep(0.05)
    return "released"

@job
def held():
    wait_for_release()
"""


@dataclass(frozen=True)
class Outcome:
    store: str
    case: str
    polls: int | None
    seconds: float | None
    reason: str


def home_for(base: Path, store_url: str | None, poll: float) -> Path:
    home = base / uuid.uuid4().hex[:8]
    home.mkdir()
    config = f"run_monitoring: {{poll_interval_seconds: {poll}}}\n"
    if store_url is not None:
        config += f"storage:\n  postgres: {{url: '{store_url}'}}\n"
    (home / "dagwright.yaml").write_text(config)
    return home


@contextmanager
def pg_database(admin_url: str) -> Iterator[str]:
    import psycopg

    name = f"dagwright_bench_{uuid.uuid4().hex[:10]}"
    libpq = admin_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(libpq, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield libpq.rsplit("/", 1)[0] + f"/{name}"
        finally:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


@contextmanager
def adopting_orphans() -> Iterator[None]:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
    try:
        yield
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def launch_in_process(instance: Instance, code: Path, release: Path) -> str:
    held = load_definitions(python_file=str(code)).get_job("held")
    return instance.submit_run(held, tags={"release": str(release)}).run_id


def launch_with_cli(instance: Instance, code: Path, release: Path) -> str:
    assert instance.home is not None
    env = {**os.environ, "DAGWRIGHT_HOME": str(instance.home)}
    done = subprocess.run(
        [
            *CLI,
            "job",
            "launch",
            "-f",
            str(code),
            "-j",
            "held",
            "--json",
            "--tag",
            f"release={release}",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    run_id: str = json.loads(done.stdout)["run_id"]
    return run_id


def wait(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.02)


def measure(
    instance: Instance, run_id: str, signum: int, max_polls: int
) -> tuple[int | None, float | None, str]:
    """Signal the worker, then poll the monitor until the run fails."""
    wait(lambda: getattr(instance.get_run(run_id), "status", None) is RunStatus.STARTED)
    pid = worker_pid(instance, run_id)
    assert pid is not None
    monitor = RunMonitorDaemon(instance)
    os.kill(pid, signum)
    signalled = time.monotonic()
    try:
        for polls in range(1, max_polls + 1):
            time.sleep(monitor.interval_seconds)
            monitor.run_iteration(time.time())
            run = instance.get_run(run_id)
            if run is not None and run.status is RunStatus.FAILURE:
                reason = run.tags.get("dagwright/failure_reason", "")
                return polls, time.monotonic() - signalled, reason
        return None, None, "still " + str(getattr(instance.get_run(run_id), "status", "?"))
    finally:
        with suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


def run_case(
    base: Path, store: str, url: str | None, case: str, args: argparse.Namespace
) -> Outcome:
    code = base / "held_job.py"
    release = base / "never"
    home = home_for(base, url, args.poll)
    with Instance.from_home(home) as instance:
        if case == "zombie":
            with adopting_orphans():
                run_id = launch_with_cli(instance, code, release)
                wait(lambda: worker_pid(instance, run_id) is not None)
                pid = worker_pid(instance, run_id)
                try:
                    polls, seconds, reason = measure(
                        instance, run_id, signal.SIGKILL, args.max_polls
                    )
                finally:
                    assert pid is not None
                    with suppress(ChildProcessError):
                        os.waitpid(pid, 0)  # the zombie, reaped at last
        else:
            run_id = launch_in_process(instance, code, release)
            signum = signal.SIGKILL if case == "kill -9" else signal.SIGSTOP
            polls, seconds, reason = measure(instance, run_id, signum, args.max_polls)
    return Outcome(store, case, polls, seconds, reason)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poll", type=float, default=1.0, help="monitor poll interval (s)")
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--cases", nargs="+", default=["kill -9", "zombie", "SIGSTOP"])
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--max-polls", type=int, default=30)
    args = parser.parse_args()
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="bench-worker-kill-") as tmp:
        base = Path(tmp)
        (base / "held_job.py").write_text(JOB_FILE)
        for store in args.stores:
            for case in args.cases:
                if store == "postgres":
                    with pg_database(args.pg_url) as url:
                        outcomes.append(run_case(base, store, url, case, args))
                else:
                    outcomes.append(run_case(base, store, None, case, args))
                print(f"  {outcomes[-1]}", file=sys.stderr)
    print(f"\nrun monitor polling every {args.poll:g} s\n")
    print(f"{'store':<9}| {'case':<8}| {'polls':>5} | {'seconds':>7} | failure reason")
    print(f"{'-' * 9}+{'-' * 9}+{'-' * 7}+{'-' * 9}+{'-' * 40}")
    for o in outcomes:
        polls = "never" if o.polls is None else str(o.polls)
        seconds = "—" if o.seconds is None else f"{o.seconds:.2f}"
        print(f"{o.store:<9}| {o.case:<8}| {polls:>5} | {seconds:>7} | {o.reason}")


if __name__ == "__main__":
    main()
