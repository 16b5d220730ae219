"""The Dagster side of ``bench/tag_stats.py``, run with Dagster's interpreter:

    python dagster_tag_stats.py HOME N REPS

Fills HOME (once) with the N-run data set of ``tag_stats_data``, then times the figures of
tag ``team`` as a Dagster user would compute them on Dagster's public API, and prints
``{"team": median_ms}``."""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import sqlite3
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter
from tag_stats_data import SINCE, UNTIL, spec

FINISHED = (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)


def fill(instance: DagsterInstance, home: Path, n: int) -> None:
    """Store the data set; Dagster stamps creation, start and end times from its clock and
    events, so the data set's own are written into its runs table afterwards."""
    rng, t0, rows = random.Random(1), time.perf_counter(), []
    for i in range(n):
        tags, created, status, seconds = spec(i, n, rng)
        run = DagsterRun(
            job_name="bench_job", run_id=uuid.uuid4().hex, tags=tags,
            status=DagsterRunStatus[status if status != "QUEUED" else "NOT_STARTED"],
        )  # fmt: skip
        instance.add_run(run)
        started = None if status == "QUEUED" else created + 1
        ended = None if started is None else started + seconds
        stamp = dt.datetime.fromtimestamp(created, dt.timezone.utc).replace(tzinfo=None)
        rows.append((stamp.isoformat(" "), started, ended, run.run_id))
    db = sqlite3.connect(home / "history" / "runs.db")
    db.executemany(
        "UPDATE runs SET create_timestamp = ?, start_time = ?, end_time = ? WHERE run_id = ?",
        rows,
    )
    db.commit()
    (home / "FILLED").write_text(f"{time.perf_counter() - t0:.0f} s\n")


def _pick(durations: list[float], fraction: float) -> float | None:
    return durations[max(1, math.ceil(fraction * len(durations))) - 1] if durations else None


def figures(instance: DagsterInstance, key: str, since: float, until: float) -> list[Any]:
    """Per value of ``key``: runs, successes, failures, cancellations, p50, p95, days."""
    after = dt.datetime.fromtimestamp(since, dt.timezone.utc)
    before = dt.datetime.fromtimestamp(until, dt.timezone.utc)
    values = dict(instance.get_run_tags(tag_keys=[key])).get(key, set())
    out = []
    for value in values:
        window = RunsFilter(tags={key: value}, created_after=after, created_before=before)
        records = instance.get_run_records(window)
        days: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
        durations, counts = [], dict.fromkeys(FINISHED, 0)
        for record in records:
            status = record.dagster_run.status
            day = days[record.create_timestamp.date()]
            day[0] += 1
            day[1] += status == DagsterRunStatus.FAILURE
            if status in FINISHED:
                counts[status] += 1
                if record.start_time and record.end_time:
                    durations.append(record.end_time - record.start_time)
        durations.sort()
        out.append((value, len(records), *counts.values(), _pick(durations, 0.5),
                    _pick(durations, 0.95), len(days)))  # fmt: skip
    return out


def main() -> None:
    home, n, reps = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    instance = DagsterInstance.local_temp(str(home))
    if not (home / "FILLED").exists():
        fill(instance, home, n)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        got = figures(instance, "team", SINCE, UNTIL)
        times.append((time.perf_counter() - t0) * 1000)
    assert sum(v[1] for v in got) == n, (sum(v[1] for v in got), n)
    print(json.dumps({"team": sorted(times)[len(times) // 2]}))


if __name__ == "__main__":
    main()
