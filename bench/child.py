"""One measurement in a fresh process: ``python bench/child.py SYSTEM WORKLOAD PARAMS_JSON``.

SYSTEM is ``dagwright`` or ``dagster``. The package import is timed first, before anything
else is loaded, then the workload runs on ``workloads/<SYSTEM>_side.py``. The result is
printed as one ``BENCH_RESULT {json}`` line on stdout, with the import time and the peak
RSS of this process always included.
"""

import sys
import time

_t0 = time.perf_counter()
__import__(sys.argv[1])
IMPORT_S = time.perf_counter() - _t0
if sys.argv[2] == "import_define":
    # what a job file does first: import the names it uses, then define a job with metadata
    _pkg = sys.modules[sys.argv[1]]
    _op, _job, _metadata = _pkg.op, _pkg.job, _pkg.MetadataValue

    @_op
    def _hello():  # type: ignore[no-untyped-def]
        return "Hello World!"

    @_job(
        metadata={"owner": "data team", "docs": _metadata.url("https://docs.example.com")},
        tags={"foo": "bar"},
    )
    def _with_metadata():  # type: ignore[no-untyped-def]
        _hello()


DEFINE_S = time.perf_counter() - _t0

import contextlib  # noqa: E402  (the package import above is timed cold, on purpose)
import datetime as dt  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

from workloads import jobs  # noqa: E402

#: Tag values of the tag_query data set: ``team`` cycles over 10 values, ``env`` over 3.
TEAMS = ("docs", "data", "ml", "infra", "web", "mobile", "growth", "search", "ads", "sec")
ENVS = ("prod", "staging", "dev")
#: Creation time of run 0 of the data set; run i is i/100 s later.
BASE_TS = 1_700_000_000.0


def _timed(fn: Callable[[], object], warmup: int, n: int) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def _summary(times: list[float]) -> dict[str, Any]:
    return {"median_s": statistics.median(times), "min_s": min(times), "n": len(times)}


def w_import(side: Any) -> dict[str, Any]:
    return {}


def w_import_define(side: Any) -> dict[str, Any]:
    return {"define_s": DEFINE_S}


def w_run_1op(side: Any, *, persisted: bool, warmup: int, n: int) -> dict[str, Any]:
    job = jobs.one_op_job(side.op, side.job)
    home = tempfile.mkdtemp(prefix="bench-run1op-")
    try:
        instance = side.persistent_instance(home) if persisted else None
        return _summary(_timed(lambda: side.execute(job, instance), warmup, n))
    finally:
        shutil.rmtree(home, ignore_errors=True)


def w_per_op(
    side: Any, *, shape: str, n_ops: int, persisted: bool, warmup: int, reps: int
) -> dict[str, Any]:
    build = {"chain": jobs.chain_job, "fanout": jobs.fanout_job}[shape]
    job = build(side.op, side.job, n_ops)
    home = tempfile.mkdtemp(prefix="bench-perop-")
    try:
        instance = side.persistent_instance(home) if persisted else None
        result = _summary(_timed(lambda: side.execute(job, instance), warmup, reps))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    result["per_op_s"] = result["median_s"] / n_ops
    return result


def run_tags(side: Any, i: int) -> dict[str, str]:
    """The four tags of run ``i`` of every run-storage workload."""
    day = dt.date(2024, 1, 1) + dt.timedelta(days=i % 366)
    return {
        "team": TEAMS[i % len(TEAMS)],
        "env": ENVS[i % len(ENVS)],
        "batch": f"b{i // 10:07d}",
        side.PARTITION_TAG: day.isoformat(),
    }


def _runs(side: Any, start: int, stop: int) -> list[Any]:
    return [
        side.new_run(uuid.uuid4().hex, "bench_job", run_tags(side, i), BASE_TS + i / 100)
        for i in range(start, stop)
    ]


def w_insert_runs(side: Any, *, n: int, max_seconds: float) -> dict[str, Any]:
    """Insert up to ``n`` runs one by one (records built beforehand), stop after max_seconds."""
    home = tempfile.mkdtemp(prefix="bench-insert-")
    try:
        instance = side.persistent_instance(home)
        side.add_run(instance, _runs(side, 0, 1)[0])  # schema and connections are ready
        runs = _runs(side, 1, n + 1)
        done, t0 = 0, time.perf_counter()
        for run in runs:
            side.add_run(instance, run)
            done += 1
            if done % 100 == 0 and time.perf_counter() - t0 > max_seconds:
                break
        elapsed = time.perf_counter() - t0
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return {"runs": done, "elapsed_s": elapsed, "runs_per_s": done / elapsed}


def w_tag_fill(side: Any, *, home: str, start: int, stop: int, batch: int) -> dict[str, Any]:
    """Add runs ``start..stop-1`` of the data set to the instance at ``home``."""
    instance = side.persistent_instance(home)
    t0 = time.perf_counter()
    for lo in range(start, stop, batch):
        side.add_runs(instance, _runs(side, lo, min(lo + batch, stop)))
    return {"runs": stop - start, "elapsed_s": time.perf_counter() - t0}


#: The tag only the older half of the PostgreSQL data set carries (``era=old``): its
#: newest match is half the data set back.
OLD_TAG = ("era", "old")


def pg_run_tags(side: Any, i: int, n: int) -> dict[str, str]:
    """The tags of run ``i`` of the ``n``-run PostgreSQL data set: those of
    :func:`run_tags`, plus :data:`OLD_TAG` on the older half (``i < n // 2``)."""
    tags = run_tags(side, i)
    if i < n // 2:
        tags[OLD_TAG[0]] = OLD_TAG[1]
    return tags


def w_tag_fill_pg(
    side: Any, *, home: str, url: str, n: int, start: int, stop: int, batch: int, copy: bool
) -> dict[str, Any]:
    """Add runs ``start..stop-1`` of the ``n``-run data set to the PostgreSQL database at ``url``
    (``home`` gets the settings naming it; the first call makes the schema). ``copy``:
    dagwright's bulk load through ``COPY`` (``side.copy_runs``, the whole data set in one
    call, into an empty database); else the side's ``add_runs``, ``batch`` runs a call."""
    side.write_postgres_settings(home, url)
    instance = side.instance_at(home)
    t0 = time.perf_counter()
    phases: dict[str, float] = {}

    def tags(i: int) -> dict[str, str]:
        return pg_run_tags(side, i, n)

    def new(i: int) -> Any:
        return side.new_run(uuid.uuid4().hex, "bench_job", tags(i), BASE_TS + i / 100)

    if copy:
        assert start == 0, "COPY loads a whole data set into an empty database"
        phases = side.copy_runs(url, (new(i) for i in range(stop)), tags, stop)
    else:
        for lo in range(start, stop, batch):
            side.add_runs(instance, [new(i) for i in range(lo, min(lo + batch, stop))])
    return {"runs": stop - start, "elapsed_s": time.perf_counter() - t0, **phases}


def w_tag_query(
    side: Any,
    *,
    home: str,
    warmup: int,
    reps: int,
    configured: bool = False,
    tag: tuple[str, str] = ("team", "docs"),
) -> dict[str, Any]:
    """Newest 50 runs with ``tag`` (by default ``team=docs``, a tenth of all runs), median
    of ``reps``; ``configured``: the instance its settings file in ``home`` describes
    (PostgreSQL)."""
    instance = side.instance_at(home) if configured else side.persistent_instance(home)
    sizes = set()
    key, value = tag

    def query() -> None:
        sizes.add(len(side.query_runs(instance, {key: value}, 50)))

    result = _summary(_timed(query, warmup, reps))
    assert sizes == {50}, f"expected 50 runs per page, got {sizes}"
    return result


# --- run queue, launches, daemon --------------------------------------------------------

#: The system under test (``dagwright`` or ``dagster``): the package a job file imports.
SYSTEM = sys.argv[1]
#: Values of the ``database`` tag of the queue data set.
DATABASES = ("pg", "mysql", "sqlite")
#: The cap on runs in progress in every queue workload.
MAX_CONCURRENT_RUNS = 8
#: Statuses a run never leaves.
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")


def queue_tags(side: Any, i: int, *, backfill: bool = True) -> dict[str, str]:
    """Tags of queued run ``i``: ``team`` (10 values), ``database`` (3), ``shard`` (100),
    the backfill system tag on every other run (20 backfills) and a priority from -3 to 3
    on two runs in three (the others have none: priority 0).

    ``backfill=False`` leaves the backfill tag out: it is a system tag, which dagwright
    does not accept from ``submit_run``.
    """
    tags = {
        "team": TEAMS[i % len(TEAMS)],
        "database": DATABASES[(i // 10) % len(DATABASES)],
        "shard": f"s{(i // 7) % 100}",
    }
    if backfill and i % 2 == 0:
        tags[side.BACKFILL_TAG] = f"bf{(i // 2) % 20}"
    if i % 3:
        tags[side.PRIORITY_TAG] = str(i % 7 - 3)
    return tags


def in_progress_tags(side: Any) -> list[dict[str, str]]:
    """The runs holding a launch slot in the queue data set: 4 of the 8, so the decision
    has slots to fill and limits partly used."""
    bf = side.BACKFILL_TAG
    return [
        {"team": "docs", "database": "pg", "shard": "s0", bf: "bf0"},
        {"team": "data", "database": "pg", "shard": "s1"},
        {"team": "ml", "database": "mysql", "shard": "s2", bf: "bf0"},
        {"team": "infra", "shard": "s3"},
    ]


def queue_limits(side: Any, n: int) -> list[dict[str, Any]]:
    """The first ``n`` tag concurrency limits (``n`` ≥ 4 for all three kinds).

    The first four: ``team=docs`` (one value), ``database`` (any value, together),
    backfill and ``team`` per unique value. Then per-value limits on the other teams, the
    databases and the shards (up to 116 in all).
    """
    each = {"applyLimitPerUniqueValue": True}
    limits: list[dict[str, Any]] = [
        {"key": "team", "value": "docs", "limit": 1},
        {"key": "database", "limit": 4},
        {"key": side.BACKFILL_TAG, "value": each, "limit": 2},
        {"key": "team", "value": each, "limit": 3},
    ]
    limits += [{"key": "team", "value": team, "limit": 2} for team in TEAMS[1:]]
    limits += [{"key": "database", "value": db, "limit": 3} for db in DATABASES]
    limits += [{"key": "shard", "value": f"s{k}", "limit": 1} for k in range(100)]
    assert n <= len(limits), f"at most {len(limits)} limits"
    return limits[:n]


def w_queue_fill(
    side: Any, *, home: str, start: int, stop: int, batch: int, in_progress: bool = False
) -> dict[str, Any]:
    """Add queued runs ``start..stop-1`` of the queue data set to the instance at ``home``;
    with ``in_progress``, first write its settings (no queue) and the job file, and add the
    runs in progress. Runs carry the job file's code pointer / origins, as submitted runs do.
    """
    if in_progress:
        side.write_settings(home, None)
        jobs.write_job_file(home, SYSTEM)
    instance = side.instance_at(home)
    t0 = time.perf_counter()
    if in_progress:
        tags = in_progress_tags(side)
        _add_runs(
            side, instance, home, [(t, BASE_TS - 100 + k, "STARTED") for k, t in enumerate(tags)]
        )
    for lo in range(start, stop, batch):
        _add_queued(side, instance, home, lo, min(lo + batch, stop))
    return {"runs": stop - start, "elapsed_s": time.perf_counter() - t0}


def _add_queued(side: Any, instance: Any, home: str, start: int, stop: int) -> None:
    """Store queued runs ``start..stop-1`` of the queue data set."""
    specs = [(queue_tags(side, i), BASE_TS + i / 100, "QUEUED") for i in range(start, stop)]
    _add_runs(side, instance, home, specs)


def _add_runs(
    side: Any, instance: Any, home: str, specs: list[tuple[dict[str, str], float, str]]
) -> None:
    """Store runs of the one-op job, given as ``(tags, created_at, status)``."""
    job_file = os.path.join(home, "bench_one_op.py")
    with side.run_fields(instance, job_file, jobs.ONE_OP_JOB) as fields:
        runs = [
            side.new_run(uuid.uuid4().hex, jobs.ONE_OP_JOB, tags, created_at, status, **fields)
            for tags, created_at, status in specs
        ]
        side.add_runs(instance, runs)


#: Runs submitted between two measured queue passes: the queue is live.
QUEUE_ARRIVALS = 5


def w_queue_pass(
    side: Any, *, home: str, n_queued: int, n_limits: int, warmup: int, reps: int
) -> dict[str, Any]:
    """Decision passes of the run queue over a copy of the filled instance at ``home``,
    with ``n_limits`` tag limits and 4 of 8 slots in use; nothing is launched. Before each
    pass (untimed), ``QUEUE_ARRIVALS`` more runs of the data set are queued, as on a live
    instance; the same instance object makes every pass, as a daemon does."""
    work = tempfile.mkdtemp(prefix="bench-queue-")
    try:
        shutil.copytree(home, work, dirs_exist_ok=True)
        side.write_settings(work, MAX_CONCURRENT_RUNS, queue_limits(side, n_limits))
        instance = side.instance_at(work)
        queued = side.count_runs(instance, ["QUEUED"])
        assert queued == n_queued, f"expected {n_queued} queued runs, found {queued}"
        launches: set[int] = set()
        times = []
        for rep in range(warmup + reps):
            start = n_queued + rep * QUEUE_ARRIVALS
            _add_queued(side, instance, work, start, start + QUEUE_ARRIVALS)
            t0 = time.perf_counter()
            launches.add(side.queue_decision_pass(instance))
            times.append(time.perf_counter() - t0)
        after = side.count_runs(instance, ["QUEUED"])
        assert after == n_queued + (warmup + reps) * QUEUE_ARRIVALS, after
        explain = getattr(side, "queue_explanation", None)
        explained = _timed(lambda: explain(instance), 0, reps) if explain else None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        **_summary(times[warmup:]),
        "first_s": times[0],
        "explain_s": statistics.median(explained) if explained else None,
        "would_launch": sorted(launches),
        "queued": queued,
    }


def _workspace(side: Any, max_concurrent_runs: int | None, n_limits: int = 0) -> tuple[str, str]:
    """A scratch directory with a home (settings written) and the one-op job file in it;
    ``$HOME_ENV`` of this process points at the home (Dagster's CLI and daemon use it)."""
    work = tempfile.mkdtemp(prefix="bench-launch-")
    home = os.path.join(work, "home")
    os.makedirs(home)
    limits = queue_limits(side, n_limits) if n_limits else []
    side.write_settings(home, max_concurrent_runs, limits)
    os.environ[side.HOME_ENV] = home
    return work, home


def _processes_using(home: str) -> list[int]:
    """Processes, other than this one, whose environment names this benchmark's home.

    Everything a workload starts inherits it (the home is a fresh temporary directory):
    CLIs, daemons, code servers, run workers, even those that left our session.
    """
    needles = {
        f"{var}={path}".encode()
        for var in ("DAGWRIGHT_HOME", "DAGSTER_HOME")
        for path in {home, os.path.realpath(home)}
    }
    found = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = set(f.read().split(b"\0"))
            with open(f"/proc/{entry}/stat", "rb") as f:
                if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    continue  # a zombie: already ended, only waiting to be reaped
        except OSError:
            continue
        if env & needles:
            found.append(int(entry))
    return found


def reap(home: str, grace_s: float = 10.0) -> list[int]:
    """Stop every process a workload left behind (SIGTERM, then SIGKILL after ``grace_s``);
    returns their pids."""
    pids = _processes_using(home)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while pids and time.monotonic() < deadline:
        time.sleep(0.1)
        pids = [pid for pid in pids if pid in _processes_using(home)]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return pids


def _wait_finished(side: Any, instance: Any, run_id: str, timeout_s: float) -> tuple[str, float]:
    """Poll the run every 10 ms until it is finished; its final status and when it was
    first seen STARTED (or later), as a ``perf_counter`` time."""
    deadline = time.perf_counter() + timeout_s
    started_at = None
    while True:
        status = side.run_status(instance, run_id)
        if started_at is None and status not in ("NOT_STARTED", "QUEUED", "STARTING"):
            started_at = time.perf_counter()
        if status in FINISHED:
            return status, started_at or time.perf_counter()
        if time.perf_counter() > deadline:
            raise TimeoutError(f"run {run_id} still {status} after {timeout_s:.0f} s")
        time.sleep(0.01)


def w_submit_run(side: Any, *, warmup: int, n: int) -> dict[str, Any]:
    """Per-run cost of submitting the one-op job (from a file) to a queued coordinator with
    4 tag limits; the runs stay queued (no daemon), with mixed tags and priorities."""
    work, home = _workspace(side, MAX_CONCURRENT_RUNS, n_limits=4)
    try:
        job_file = jobs.write_job_file(work, SYSTEM)
        instance = side.instance_at(home)
        numbers = iter(range(warmup + n))
        with side.submitter(instance, job_file, jobs.ONE_OP_JOB) as submit:
            times = _timed(
                lambda: submit(queue_tags(side, next(numbers), backfill=False)), warmup, n
            )
        queued = side.count_runs(instance, ["QUEUED"])
        assert queued == warmup + n, f"{queued} runs queued, expected {warmup + n}"
    finally:
        reap(home)
        shutil.rmtree(work, ignore_errors=True)
    return _summary(times)


def w_launch_latency(side: Any, *, warmup: int, reps: int, timeout_s: float) -> dict[str, Any]:
    """Submit → SUCCESS of the one-op job with the default coordinator (launch at submit)
    and the default process launcher, polling the run's status every 10 ms."""
    work, home = _workspace(side, None)
    to_success, to_started, first = [], [], None
    try:
        job_file = jobs.write_job_file(work, SYSTEM)
        instance = side.instance_at(home)
        with side.submitter(instance, job_file, jobs.ONE_OP_JOB) as submit:
            for k in range(warmup + reps):
                t0 = time.perf_counter()
                run_id = submit({})
                status, started = _wait_finished(side, instance, run_id, timeout_s)
                assert status == "SUCCESS", f"run {run_id} ended {status}"
                if k == 0:
                    first = time.perf_counter() - t0
                if k >= warmup:
                    to_success.append(time.perf_counter() - t0)
                    to_started.append(started - t0)
    finally:
        reap(home)
        shutil.rmtree(work, ignore_errors=True)
    return {
        **_summary(to_success),
        "to_started_median_s": statistics.median(to_started),
        "first_s": first,
    }


def w_job_launch_cli(side: Any, *, reps: int, timeout_s: float) -> dict[str, Any]:
    """Wall time of ``<system> job launch -f FILE -j JOB`` against a home with the default
    coordinator (the CLI launches the run and returns). Each launched run is waited for
    (not timed) before the next launch, so runs do not overlap the next measurement."""
    work, home = _workspace(side, None)
    times = []
    try:
        job_file = jobs.write_job_file(work, SYSTEM)
        instance = side.instance_at(home)  # the home exists (schema made) before timing
        argv = side.cli_launch_argv(job_file, jobs.ONE_OP_JOB)
        for _ in range(reps):
            t0 = time.perf_counter()
            proc = subprocess.run(
                argv,
                cwd=work,
                env=dict(os.environ),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                start_new_session=True,
            )
            times.append(time.perf_counter() - t0)
            if proc.returncode:
                tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
                raise RuntimeError(f"{argv[0]} exited {proc.returncode}: {tail}")
            deadline = time.perf_counter() + timeout_s
            while side.count_runs(instance, ["NOT_STARTED", "QUEUED", "STARTING", "STARTED"]):
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"the launched run did not finish in {timeout_s:.0f} s")
                time.sleep(0.05)
        succeeded = side.count_runs(instance, ["SUCCESS"])
        assert succeeded == reps, f"{succeeded} of {reps} launched runs succeeded"
    finally:
        reap(home)
        shutil.rmtree(work, ignore_errors=True)
    return _summary(times)


def _cpu_s(pid: int) -> float:
    """User + system CPU time of one process (not its children), from ``/proc``."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def w_drain(side: Any, *, n: int, timeout_s: float, poll_s: float = 0.2) -> dict[str, Any]:
    """Submit ``n`` one-op runs to a queued coordinator (max 8 in progress, no tag limits),
    start the daemon, and wait until all have finished: runs per second from the first
    submit, and the daemon process's CPU time per run."""
    work, home = _workspace(side, MAX_CONCURRENT_RUNS)
    daemon = None
    try:
        job_file = jobs.write_job_file(work, SYSTEM)
        instance = side.instance_at(home)
        t0 = time.perf_counter()
        with side.submitter(instance, job_file, jobs.ONE_OP_JOB) as submit:
            for _ in range(n):
                submit({})
        submitted_s = time.perf_counter() - t0
        log = open(os.path.join(work, "daemon.log"), "wb")  # noqa: SIM115 (closed below)
        daemon = subprocess.Popen(
            side.daemon_argv(job_file),
            cwd=work,
            env=dict(os.environ),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        cpu_first = first_launch_s = None
        while True:
            done = side.count_runs(instance, FINISHED)
            if cpu_first is None and side.count_runs(instance, ["QUEUED"]) < n:
                cpu_first, first_launch_s = _cpu_s(daemon.pid), time.perf_counter() - t0
            if done >= n:
                break
            if daemon.poll() is not None:
                with open(os.path.join(work, "daemon.log"), errors="replace") as f:
                    tail = " | ".join(f.read().strip().splitlines()[-3:])
                raise RuntimeError(f"the daemon exited ({daemon.returncode}): {tail}")
            if time.perf_counter() - t0 > timeout_s:
                raise TimeoutError(f"{done} of {n} runs finished after {timeout_s:.0f} s")
            time.sleep(poll_s)
        elapsed = time.perf_counter() - t0
        cpu_end = _cpu_s(daemon.pid)
        succeeded = side.count_runs(instance, ["SUCCESS"])
        assert succeeded == n, f"{succeeded} of {n} runs succeeded"
    finally:
        if daemon is not None:
            if daemon.poll() is None:
                daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        reap(home)
        shutil.rmtree(work, ignore_errors=True)
    assert cpu_first is not None
    return {
        "runs": n,
        "elapsed_s": elapsed,
        "runs_per_s": n / elapsed,
        "submit_s": submitted_s,
        "first_launch_s": first_launch_s,
        "daemon_cpu_total_s": cpu_end,
        "daemon_cpu_per_run_s": (cpu_end - cpu_first) / n,
    }


def w_backfill(side: Any, *, timeout_s: float) -> dict[str, Any]:
    """Time from the backfill command to all 1,000 runs QUEUED: the system's own
    ``job backfill --all`` command as a process (wall time, with its start-up), plus, for
    dagwright, the daemon's backfill pass that submits the runs (Dagster's command submits
    them itself). Queued coordinator, no limits that matter (nothing is launched)."""
    work, home = _workspace(side, 0)
    try:
        job_file = jobs.write_instigation_file(work, SYSTEM)
        argv = side.backfill_argv(job_file, "partitioned")
        t0 = time.perf_counter()
        done = subprocess.run(argv, cwd=work, capture_output=True, text=True, timeout=timeout_s)
        command_s = time.perf_counter() - t0
        assert done.returncode == 0, done.stderr[-2000:]
        instance = side.instance_at(home)
        pass_s = side.backfill_pass(instance, job_file)
        queued = side.count_runs(instance, ["QUEUED"])
        assert queued == jobs.BACKFILL_PARTITIONS, f"{queued} runs queued"
    finally:
        reap(home)
        shutil.rmtree(work, ignore_errors=True)
    total = command_s + pass_s
    return {"total_s": total, "command_s": command_s, "pass_s": pass_s, "runs": queued}


def w_sensor_tick(side: Any, *, seen: int, total: int) -> dict[str, Any]:
    """One sensor tick yielding ``total`` RunRequests with run keys, of which ``seen`` were
    used by an earlier tick: the first tick (not timed) yields keys k0..k{seen-1}; the
    timed one yields k0..k{total-1}, so it skips ``seen`` and queues ``total - seen``."""
    work, home = _workspace(side, 0)
    keys_file = os.path.join(work, "keys")
    os.environ[jobs.SENSOR_KEYS_ENV] = keys_file
    try:
        job_file = jobs.write_instigation_file(work, SYSTEM)
        with open(keys_file, "w", encoding="utf-8") as f:
            f.write(str(seen))
        instance = side.instance_at(home)
        with side.sensor_ticker(instance, job_file) as tick:
            tick()
            assert side.count_runs(instance, ["QUEUED"]) == seen
            with open(keys_file, "w", encoding="utf-8") as f:
                f.write(str(total))
            time.sleep(1.1)  # the sensor's minimum interval (1 s), not timed
            t0 = time.perf_counter()
            tick()
            tick_s = time.perf_counter() - t0
        queued = side.count_runs(instance, ["QUEUED"])
        assert queued == total, f"{queued} runs queued, expected {total}"
    finally:
        reap(home)
        shutil.rmtree(work, ignore_errors=True)
    return {"tick_s": tick_s, "runs": queued}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _first_answer(port: int, path: str, proc: Any, timeout_s: float) -> None:
    """Poll ``path`` every 10 ms until it answers 200 (the server's first response)."""
    import http.client

    deadline = time.perf_counter() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the web server exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        if time.perf_counter() > deadline:
            raise TimeoutError(f"no answer from the web server in {timeout_s:.0f} s")
        time.sleep(0.01)


def _stop_server(proc: Any) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def w_web(
    side: Any, *, home: str, warmup: int, reps: int, start_reps: int, copy: bool
) -> dict[str, Any]:
    """Start the web server on the tag_query data set at ``home`` ``start_reps`` times
    (process start -> first 200 of ``side.WEB_READY_PATH``), then time each view of
    ``side.web_requests()`` over one kept-alive connection: median of ``reps``."""
    import http.client

    work = tempfile.mkdtemp(prefix="bench-web-")
    if copy:  # a server that may write to its home gets a copy of the cached data set
        home = shutil.copytree(home, os.path.join(work, "home"))
    os.environ[side.HOME_ENV] = home
    job_file = jobs.write_job_file(work, SYSTEM)
    starts, proc = [], None
    result: dict[str, Any] = {}
    try:
        for _ in range(start_reps):
            if proc is not None:
                _stop_server(proc)
            port = _free_port()
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                side.webserver_argv(job_file, port),
                cwd=work,
                env=dict(os.environ),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            _first_answer(port, side.WEB_READY_PATH, proc, 120)
            starts.append(time.perf_counter() - t0)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

        def call(name: str, requests: list[Any]) -> bytes:
            body = b""
            for method, path, payload in requests:
                headers = {"Content-Type": "application/json"} if payload else {}
                conn.request(method, path, body=payload, headers=headers)
                response = conn.getresponse()
                body = response.read()
                if response.status != 200:
                    raise RuntimeError(f"{method} {path}: HTTP {response.status}: {body[:200]!r}")
            return body

        for name, requests in side.web_requests().items():
            if name.startswith("runs"):
                shown = side.web_runs_shown(name, call(name, requests))
                assert shown == side.WEB_PAGE_SIZE, f"{name}: {shown} runs shown"
            times = _timed(lambda n=name, r=requests: call(n, r), warmup, reps)
            result[name] = statistics.median(times)
    finally:
        if proc is not None:
            _stop_server(proc)
        reap(home)
        shutil.rmtree(work, ignore_errors=True)
    result["start_s"] = statistics.median(starts)
    result["starts_s"] = starts
    return result


def w_celery(side: Any, **params: Any) -> dict[str, Any]:
    """A Celery run workload (``workloads/celery_runs.py``)."""
    from workloads import celery_runs

    return celery_runs.w_celery(
        side, system=SYSTEM, reap=reap, wait_finished=_wait_finished, **params
    )


def w_memory(side: Any) -> dict[str, Any]:
    side.execute(jobs.one_op_job(side.op, side.job))
    return {}


WORKLOADS: dict[str, Callable[..., dict[str, Any]]] = {
    "import": w_import,
    "import_define": w_import_define,
    "run_1op": w_run_1op,
    "per_op": w_per_op,
    "insert_runs": w_insert_runs,
    "tag_fill": w_tag_fill,
    "tag_query": w_tag_query,
    "tag_fill_pg": w_tag_fill_pg,
    "memory": w_memory,
    "web": w_web,
    "queue_fill": w_queue_fill,
    "queue_pass": w_queue_pass,
    "submit_run": w_submit_run,
    "launch_latency": w_launch_latency,
    "job_launch_cli": w_job_launch_cli,
    "drain": w_drain,
    "backfill": w_backfill,
    "sensor_tick": w_sensor_tick,
    "celery": w_celery,
}


def main() -> None:
    system, workload, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    side = importlib.import_module(f"workloads.{system}_side")
    result = WORKLOADS[workload](side, **params)
    result["import_s"] = IMPORT_S
    result["version"] = getattr(sys.modules[system], "__version__", None)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("BENCH_RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
