"""Tag analytics (DESIGN §11) at 100k and 1M runs on SQLite, against the same figures
computed on Dagster, in one run.

    .venv/bin/python bench/tag_stats.py [--sizes 100000,1000000] [--dagster-size 100000]

The data set: ``n`` finished runs (90 % SUCCESS, 7 % FAILURE, 2 % CANCELED, 1 % queued)
created evenly over 30 days, tagged ``team`` (5 values), ``env`` (2) and ``batch`` (one
value per 10 runs), log-normal durations. Every run falls in the window asked for (the
worst case: nothing is left out by the time bounds). Filled once, cached in
``bench/.data/tag_stats``.

dagwright, per size: the *first* ask for ``team`` (it builds the kept figures), a *warm*
ask (median of 9; the goal: ≤ 500 ms at 1M), an ask after 1,000 new runs and 1,000 status
changes (the catch-up from the change feed), and the same for the 10,000-value key
``batch``. Dagster has no tag analytics; its figure is what a Dagster user would write on
Dagster's public API: the values from ``get_run_tags``, then for each value
``get_run_records(RunsFilter(tags=..., created_after=...))`` and the counts, per-day
counts and percentiles in Python (at ``--dagster-size`` runs: Dagster stores a run in
milliseconds, so a million would take hours to fill).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "src"))

from dagwright import Instance  # noqa: E402
from dagwright.execution.events import Event, EventType  # noqa: E402
from dagwright.runs.models import Run, RunStatus  # noqa: E402

sys.path.insert(0, str(BENCH / "workloads"))
from tag_stats_data import SINCE, TEAMS, UNTIL, spec  # noqa: E402

#: Bump when the data set changes: cached homes of another version are filled again.
VERSION = 1
DATA = BENCH / ".data" / "tag_stats"

#: Bump when the data set changes: cached homes of another version are filled again.
VERSION = 1
DATA = BENCH / ".data" / "tag_stats"


def dagwright_home(n: int) -> Path:
    """The cached home holding the ``n``-run data set (filled on first use)."""
    home = DATA / f"dagwright-{n}-v{VERSION}"
    if (home / "FILLED").exists():
        return home
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    print(f"  filling dagwright with {n:,} runs (cached in {home})", file=sys.stderr, flush=True)
    rng, t0 = random.Random(1), time.perf_counter()
    with Instance.from_home(home) as instance:
        for lo in range(0, n, 10_000):
            batch = []
            for i in range(lo, min(lo + 10_000, n)):
                tags, created, status, seconds = spec(i, n, rng)
                started = None if status == "QUEUED" else created + 1
                ended = None if started is None else started + seconds
                run_id = uuid.uuid4().hex
                batch.append(Run(run_id, "bench_job", RunStatus(status), tags, created_at=created,
                                 started_at=started, ended_at=ended))  # fmt: skip
            instance.storage.runs.add_runs(batch)
    (home / "FILLED").write_text(f"{time.perf_counter() - t0:.0f} s\n")
    return home


def _median_ms(fn: Callable[[], object], reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _churn(instance: Instance, n: int) -> None:
    """1,000 new queued runs and 1,000 of them started: what the catch-up reads."""
    ids = []
    for i in range(1000):
        run_id = uuid.uuid4().hex
        tags = {"team": TEAMS[i % 5], "batch": f"b{i % 10_000}"}
        instance.add_run(Run(run_id, "bench_job", RunStatus.QUEUED, tags, created_at=UNTIL - 60))
        ids.append(run_id)
    for run_id in ids:
        instance.handle_event(Event(run_id, EventType.RUN_STARTING, UNTIL - 30))


def dagwright_figures(n: int) -> dict[str, float]:
    home = dagwright_home(n)
    work = DATA / f"work-{n}"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(home, work)  # the churn and the kept figures stay out of the cache
    found: dict[str, float] = {}
    try:
        with Instance.from_home(work) as instance:
            instance.get_run_tag_keys()  # storage opened: the engine is not part of a figure
            for key in ("team", "batch"):

                def ask(key: str = key) -> object:
                    return instance.get_tag_stats(key, since=SINCE, until=UNTIL - 1, limit=20)

                found[f"{key} first"] = _median_ms(ask, 1)
                found[f"{key} warm"] = _median_ms(ask, 9)
            _churn(instance, n)
            for key in ("team", "batch"):
                found[f"{key} after churn"] = _median_ms(
                    lambda key=key: instance.get_tag_stats(key, since=SINCE, until=UNTIL - 1), 1
                )
            stats = instance.get_tag_stats("team", since=SINCE, until=UNTIL - 1)
            assert sum(v.runs for v in stats.values) == n + 1000, "every run counted"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return found


def dagster_figures(python: str, n: int, reps: int) -> dict[str, float]:
    home = DATA / f"dagster-{n}-v{VERSION}"
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "FILLED").exists():
        print(f"  filling Dagster with {n:,} runs (cached in {home})", file=sys.stderr, flush=True)
    out = subprocess.run(
        [python, str(BENCH / "workloads" / "dagster_tag_stats.py"), str(home), str(n), str(reps)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--dagster-size", type=int, default=100_000)
    parser.add_argument("--dagster-python", default=str(BENCH / ".venv-dagster/bin/python"))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    load = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    print(f"machine: {load}")
    ours = {n: dagwright_figures(n) for n in sizes}
    theirs = dagster_figures(args.dagster_python, args.dagster_size, 3)
    rows = sorted({name for figures in ours.values() for name in figures})
    print(f"\n{'dagwright, ms':<22}" + "".join(f"{n:>14,}" for n in sizes))
    for name in rows:
        print(f"{name:<22}" + "".join(f"{ours[n][name]:>14.1f}" for n in sizes))
    d = args.dagster_size
    print(f"\nDagster at {d:,} runs, 'team' on its public API: {theirs['team']:.0f} ms")
    if d in ours:
        warm, first = ours[d]["team warm"], ours[d]["team first"]
        them = theirs["team"]
        print(f"  dagwright/Dagster at {d:,}: warm {warm / them:.4f} ({them / warm:.0f}x faster),"
              f" first ask {first / them:.3f}")  # fmt: skip
    big = max(sizes)
    ok = ours[big]["team warm"] <= 500 and ours[big]["batch warm"] <= 500
    print(f"\ngoal: a warm ask <= 500 ms at {big:,} runs: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
