"""Run queries and bulk actions (DESIGN §10) at scale: dagwright alone (Dagster has no
run query language or bulk actions to compare with).

    .venv/bin/python bench/run_query.py [--quick] [--only queries bulk]

``queries``: on the tag_query data set (``run.filled_home``, cached in ``bench/.data``) at
100k and 1M runs on SQLite, each query's newest 50 and its count, median of ``reps``.
Goals: newest 50 ≤ 25 ms at 1M and within 1.5× of 100k; counts ≤ 1 s at 1M.
``bulk``: terminate 10,000 queued runs (goal ≥ 2,000 runs/s) and tag 100,000 finished
runs (goal ≥ 10,000 runs/s), with the peak memory (RSS) of the process before and after.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "src"))
sys.path.insert(0, str(BENCH))

import run as bench_run  # noqa: E402

from dagwright import Instance, Run, RunsFilter, RunStatus  # noqa: E402

#: The queries of the issue; the date-time falls inside both data sets' creation times.
QUERIES = (
    "team:docs -env:prod",
    "(team:docs OR team:ml) batch:b1*",
    "-team:* status:FAILURE",
    "team:docs created>2023-11-14T22:20Z",
)


def _median_s(fn: Callable[[], object], reps: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def queries(sizes: tuple[int, int], reps: int) -> bool:
    with tempfile.TemporaryDirectory() as scratch:
        b = bench_run.Bench({"dagwright": sys.executable}, bench_run.FULL, Path(scratch))
        homes = {n: bench_run.filled_home(b, "dagwright", n) for n in sizes}
    page: dict[tuple[str, int], float] = {}
    count: dict[tuple[str, int], float] = {}
    for n, home in homes.items():
        with Instance.from_home(home) as instance:
            for q in QUERIES:
                filters = RunsFilter.parse(q)
                page[q, n] = _median_s(lambda f=filters: instance.get_runs(f, limit=50), reps)
                count[q, n] = _median_s(lambda f=filters: instance.get_runs_count(f), 3, 1)
                print(f"  {n:>9,} runs  {q:<40} newest 50 {page[q, n] * 1e3:7.2f} ms"
                      f"  count {count[q, n] * 1e3:8.1f} ms", flush=True)  # fmt: skip
    small, big = sizes
    ok = True
    print(f"\n{'query':<40} {'50 @small':>10} {'50 @big':>9} {'ratio':>6} {'count @big':>11}")
    for q in QUERIES:
        ratio = page[q, big] / page[q, small]
        good = page[q, big] <= 0.025 and ratio <= 1.5 and count[q, big] <= 1.0
        ok &= good
        verdict = "ok" if good else "MISSED"
        print(
            f"{q:<40} {page[q, small] * 1e3:8.2f}ms {page[q, big] * 1e3:7.2f}ms"
            f" {ratio:6.2f} {count[q, big] * 1e3:9.1f}ms {verdict}"
        )
    return ok


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _bulk(instance: Instance, q: str, action: str, **params: object) -> tuple[int, float]:
    t0 = time.perf_counter()
    job = instance.start_bulk(RunsFilter.parse(q), q, action, params)
    instance.run_bulk(job.bulk_id)
    elapsed = time.perf_counter() - t0
    done = instance.get_bulk(job.bulk_id, with_results=False)
    assert done is not None and done.done == job.count, done
    return job.count, elapsed


def bulk(n_terminate: int, n_tag: int) -> bool:
    ok = True
    with tempfile.TemporaryDirectory() as home, Instance.from_home(home) as instance:
        now = time.time()
        queued = [
            Run(uuid.uuid4().hex, "j", RunStatus.QUEUED, {"team": "docs"}, created_at=now)
            for _ in range(n_terminate)
        ]
        finished = [
            Run(uuid.uuid4().hex, "j", RunStatus.SUCCESS, {"team": "ml"}, created_at=now)
            for _ in range(n_tag)
        ]
        for start in range(0, len(finished), 10_000):
            instance.storage.runs.add_runs(finished[start : start + 10_000])
        instance.storage.runs.add_runs(queued)
        del queued, finished
        before = _rss_mb()
        count, elapsed = _bulk(instance, "team:docs status:QUEUED", "terminate")
        rate = count / elapsed
        ok &= rate >= 2000
        print(f"bulk terminate: {count:,} queued runs in {elapsed:.2f} s = {rate:,.0f} runs/s"
              f" (goal ≥ 2,000); peak RSS {before:.0f} → {_rss_mb():.0f} MB")  # fmt: skip
        before = _rss_mb()
        count, elapsed = _bulk(instance, "team:ml", "add_tags", tags={"reviewed": "yes"})
        rate = count / elapsed
        ok &= rate >= 10_000
        print(f"bulk add_tags: {count:,} finished runs in {elapsed:.2f} s = {rate:,.0f} runs/s"
              f" (goal ≥ 10,000); peak RSS {before:.0f} → {_rss_mb():.0f} MB")  # fmt: skip
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k/100k runs, fewer reps")
    parser.add_argument("--only", nargs="+", choices=["queries", "bulk"], default=None)
    args = parser.parse_args()
    only = args.only or ["queries", "bulk"]
    print(f"load before: {_load()} ({os.cpu_count()} CPUs)")
    ok = True
    if "queries" in only:
        sizes = (10_000, 100_000) if args.quick else (100_000, 1_000_000)
        ok &= queries(sizes, 5 if args.quick else 20)
    if "bulk" in only:
        ok &= bulk(1_000, 10_000) if args.quick else bulk(10_000, 100_000)
    print(f"load after: {_load()}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
