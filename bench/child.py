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

import datetime as dt  # noqa: E402  (the package import above is timed cold, on purpose)
import importlib  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
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


def w_tag_query(side: Any, *, home: str, warmup: int, reps: int) -> dict[str, Any]:
    """Newest 50 runs with ``team=docs`` (a tenth of all runs), median of ``reps``."""
    instance = side.persistent_instance(home)
    sizes = set()

    def query() -> None:
        sizes.add(len(side.query_runs(instance, {"team": "docs"}, 50)))

    result = _summary(_timed(query, warmup, reps))
    assert sizes == {50}, f"expected 50 runs per page, got {sizes}"
    return result


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
    "memory": w_memory,
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
