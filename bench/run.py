"""Run the same workloads on dagwright and on Dagster; print both figures and their ratio.

    .venv/bin/python bench/run.py [--only NAME ...] [--quick] [--json out.json]
                                  [--dagster-python PATH]

Every measurement runs in a fresh child process (``bench/child.py``), so imports are cold
and memory is per process. dagwright runs on the interpreter running this script (with the
repository's ``src`` on its path); Dagster runs on ``--dagster-python`` / ``$DAGSTER_PYTHON``,
by default ``bench/.venv-dagster`` (created on first use). See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CHILD = BENCH / "child.py"
DATA = BENCH / ".data"
DAGSTER_VENV = BENCH / ".venv-dagster"
DAGSTER_PINS = ("dagster==1.13.27", "dagster-webserver==1.13.27")
SYSTEMS = ("dagwright", "dagster")
#: Processes filling a tag_query database: Dagster has no bulk insert, so it gets two.
FILL_WORKERS = {"dagwright": 1, "dagster": 2}
#: Bump when the tag_query data set changes, so cached databases are rebuilt.
FILL_VERSION = 1
#: Bump when the queue data set (``queue_tags`` in child.py) changes.
QUEUE_FILL_VERSION = 1
#: The cached data sets: child workload that fills one, version, extra params of the first
#: (schema) call. ``queue`` also stores the runs in progress in that first call.
FILLS: dict[str, tuple[str, int, dict[str, Any]]] = {
    "tag_query": ("tag_fill", FILL_VERSION, {}),
    "queue": ("queue_fill", QUEUE_FILL_VERSION, {"in_progress": True}),
}


@dataclass(frozen=True)
class Params:
    """Sizes of one benchmark run (full or ``--quick``)."""

    import_reps: int = 5
    run_warmup: int = 3
    run_n: int = 30
    chain: int = 100
    fanout: int = 500
    per_op_reps: int = 3
    insert_n: int = 20_000
    insert_max_s: float = 10.0
    tag_small: int = 100_000
    tag_big: int = 1_000_000
    tag_reps: int = 20
    mem_reps: int = 3
    # run queue, launches, daemon (the *_dagster sizes are Dagster's: its runs take seconds)
    submit_n: int = 200
    submit_n_dagster: int = 20
    queue_small: int = 1_000
    queue_big: int = 10_000
    queue_big_limits: int = 100
    queue_big_dagster: bool = True
    queue_reps: int = 5
    # dagwright: its launcher keeps standby workers from its second launch on, so three
    # warm-up runs reach the steady state of a daemon or server that launches again and again
    launch_warmup: int = 3
    launch_warmup_dagster: int = 1
    launch_reps: int = 15
    launch_reps_dagster: int = 3
    bare_reps: int = 5
    cli_reps: int = 3
    drain_n: int = 300
    drain_n_dagster: int = 24
    web_start_reps: int = 3
    web_scale_rounds: int = 3
    # the tag query and runs page on PostgreSQL: dagwright at each size, Dagster at the first
    tag_pg_sizes: tuple[int, ...] = (100_000, 1_000_000, 3_000_000)
    tag_pg_dagster: bool = False
    # Celery: timed runs per figure (after one untimed run); the 1-op run of dagwright
    celery_reps: int = 3
    celery_1op_reps: int = 10


FULL = Params()
QUICK = Params(
    import_reps=3,
    run_n=5,
    chain=20,
    fanout=50,
    per_op_reps=1,
    insert_n=2_000,
    insert_max_s=2.0,
    tag_small=10_000,
    tag_big=100_000,
    tag_reps=5,
    mem_reps=1,
    submit_n=50,
    submit_n_dagster=5,
    queue_big_dagster=False,
    queue_reps=3,
    launch_warmup=0,
    launch_warmup_dagster=0,
    launch_reps=3,
    launch_reps_dagster=1,
    bare_reps=3,
    cli_reps=1,
    drain_n=100,
    drain_n_dagster=4,
    web_start_reps=1,
    web_scale_rounds=1,
    tag_pg_sizes=(10_000, 100_000),
    celery_reps=1,
    celery_1op_reps=3,
)


class ChildError(Exception):
    """A child process failed; the message is the tail of its stderr."""


@dataclass
class Row:
    """One line of the result table. ``ratio`` is the quantity the goal applies to."""

    metric: str
    unit: str
    dagwright: float | None = None
    dagster: float | None = None
    ratio: float | None = None
    goal: str = ""
    ok: bool | None = None
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class Bench:
    """What every figure needs: interpreters, sizes, a scratch directory."""

    pythons: dict[str, str]
    p: Params
    scratch: Path
    versions: dict[str, str | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    refill: bool = False
    refilled: set[str] = field(default_factory=set)

    def _env(self, system: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("DAGWRIGHT_") and k != "DAGSTER_HOME"
        }
        if system == "dagwright":
            env["PYTHONPATH"] = os.pathsep.join(
                filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")])
            )
        return env

    def start(self, system: str, workload: str, **params: Any) -> subprocess.Popen[str]:
        cmd = [self.pythons[system], str(CHILD), system, workload, json.dumps(params)]
        return subprocess.Popen(
            cmd,
            cwd=self.scratch,
            env=self._env(system),
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def finish(self, proc: subprocess.Popen[str], system: str, timeout: float) -> dict[str, Any]:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise ChildError(f"timed out after {timeout:.0f} s") from None
        for line in reversed(out.splitlines()):
            if line.startswith("BENCH_RESULT "):
                result: dict[str, Any] = json.loads(line[len("BENCH_RESULT ") :])
                self.versions.setdefault(system, result.get("version"))
                return result
        tail = [ln for ln in err.strip().splitlines() if ln.strip()][-3:]
        raise ChildError(" | ".join(tail) or f"exit code {proc.returncode}, no result")

    def child(
        self, system: str, workload: str, timeout: float = 3600, **params: Any
    ) -> dict[str, Any]:
        """Run one measurement in a fresh process and return its JSON result."""
        return self.finish(self.start(system, workload, **params), system, timeout)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def per_system(
    fn: Callable[[str], float], systems: tuple[str, ...] = SYSTEMS
) -> tuple[dict[str, float], dict[str, str]]:
    """Call ``fn`` for each system; a failure becomes an error message, not a crash."""
    values, errors = {}, {}
    for system in systems:
        try:
            values[system] = fn(system)
            log(f"    {system:<9} {values[system]:.6g}")
        except Exception as exc:  # a broken side must not stop the other rows
            errors[system] = f"{type(exc).__name__}: {exc}"
            log(f"    {system:<9} ERROR {errors[system]}")
    return values, errors


def check(ratio: float | None, goal: str) -> bool | None:
    if ratio is None or not goal:
        return None
    op, limit = goal.split()
    return ratio <= float(limit) if op == "≤" else ratio >= float(limit)


def compare(metric: str, unit: str, fn: Callable[[str], float], goal: str = "") -> Row:
    """A row with both systems; ratio = dagwright / dagster."""
    log(f"  {metric}")
    values, errors = per_system(fn)
    dw, ds = values.get("dagwright"), values.get("dagster")
    ratio = dw / ds if dw is not None and ds else None
    return Row(metric, unit, dw, ds, ratio, goal, check(ratio, goal), errors)


# --- figures -------------------------------------------------------------------------


def fig_import(b: Bench) -> list[Row]:
    def measure(system: str) -> float:
        b.child(system, "import")  # discarded: compiles .pyc files, warms the page cache
        return statistics.median(
            b.child(system, "import")["import_s"] for _ in range(b.p.import_reps)
        )

    def measure_define(system: str) -> float:
        return statistics.median(
            b.child(system, "import_define")["define_s"] for _ in range(b.p.import_reps)
        )

    return [
        compare("import (cold process)", "s", measure, "≤ 0.10"),
        compare("import op, job, MetadataValue + define a job", "s", measure_define, "≤ 0.10"),
    ]


def _run_1op(persisted: bool) -> Callable[[Bench], list[Row]]:
    def figure(b: Bench) -> list[Row]:
        store = "SQLite" if persisted else "memory"
        return [
            compare(
                f"1-op run, {store} (per call)",
                "s",
                lambda s: b.child(
                    s, "run_1op", persisted=persisted, warmup=b.p.run_warmup, n=b.p.run_n
                )["median_s"],
                "≤ 0.02",
            )
        ]

    return figure


def fig_per_op(b: Bench) -> list[Row]:
    def per_op(shape: str, n_ops: int, persisted: bool) -> Callable[[str], float]:
        return lambda system: b.child(
            system,
            "per_op",
            shape=shape,
            n_ops=n_ops,
            persisted=persisted,
            warmup=1,
            reps=b.p.per_op_reps,
        )["per_op_s"]

    shapes = [
        ("chain", b.p.chain, f"chain of {b.p.chain}"),
        ("fanout", b.p.fanout, f"fan-out 1 → {b.p.fanout - 1}"),
    ]
    return [
        compare(
            f"per op, {label}, {'SQLite' if persisted else 'memory'}",
            "s",
            per_op(shape, n_ops, persisted),
            "≤ 0.03",
        )
        for shape, n_ops, label in shapes
        for persisted in (False, True)
    ]


def fig_insert_runs(b: Bench) -> list[Row]:
    return [
        compare(
            "runs inserted (4 tags each)",
            "runs/s",
            lambda s: b.child(s, "insert_runs", n=b.p.insert_n, max_seconds=b.p.insert_max_s)[
                "runs_per_s"
            ],
            "≥ 20",
        )
    ]


def _stage_root() -> Path:
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return shm
    (DATA / "tmp").mkdir(parents=True, exist_ok=True)
    return DATA / "tmp"


def filled_home(b: Bench, system: str, n: int, data: str = "tag_query") -> Path:
    """The home of an instance holding the ``n``-run ``data`` set (``FILLS``), filled once
    and cached."""
    workload, version, first = FILLS[data]
    final = DATA / data / f"{system}-{n}-v{version}"
    if (final / "FILLED.json").exists():
        return final
    workers = FILL_WORKERS[system]
    log(f"    filling {system} with {n:,} runs ({workers} process(es), cached in {final})")
    stage = Path(tempfile.mkdtemp(prefix=f"bench-{system}-{n}-", dir=_stage_root()))
    try:
        t0 = time.perf_counter()
        b.child(system, workload, home=str(stage), start=0, stop=0, batch=1, **first)  # schema
        bounds = [n * k // workers for k in range(workers + 1)]
        procs = [
            b.start(system, workload, home=str(stage), start=lo, stop=hi, batch=10_000)
            for lo, hi in itertools.pairwise(bounds)
        ]
        for proc in procs:
            b.finish(proc, system, timeout=7200)
        elapsed = time.perf_counter() - t0
        shutil.rmtree(final, ignore_errors=True)
        shutil.copytree(stage, final)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    info = {"system": system, "runs": n, "fill_s": elapsed, "workers": workers}
    (final / "FILLED.json").write_text(json.dumps(info))
    b.notes.append(
        f"filled {system} with {n:,} runs ({data}) in {elapsed:.0f} s ({workers} process(es))"
    )
    return final


#: The PostgreSQL server of the PostgreSQL figures (trust auth), and its admin database.
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgresql://postgres@127.0.0.1:5432")
#: Bump when the PostgreSQL tag_query data set or its load changes: cached databases
#: carrying another version in their comment are filled again.
PG_FILL_VERSION = 2


def _pg_admin(sql: str, *args: Any) -> Any:
    """Run one statement on the server's ``postgres`` database (autocommit); its first
    row, or None."""
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        cur = conn.execute(sql, args or None)
        return cur.fetchone() if cur.description else None


def _pg_marker(name: str) -> dict[str, Any] | None:
    """The fill marker of a cached database (its ``COMMENT``), if it exists and is current."""
    row = _pg_admin(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", name
    )
    if not row or not row[0]:
        return None
    marker: dict[str, Any] = json.loads(row[0])
    return marker if marker.get("version") == PG_FILL_VERSION else None


def filled_pg(b: Bench, system: str, n: int) -> Path:
    """A home whose settings name the PostgreSQL database ``<system>_bench_<n>`` holding
    the ``n``-run tag_query data set, filled once and kept (a marker in the database's
    comment says it is complete; ``--refill`` fills it again). dagwright loads it with
    ``COPY`` (``copy_runs`` in its side), Dagster with ``add_run`` in two processes."""
    name = f"{system}_bench_{n}"
    home = b.scratch / "pg" / name
    home.mkdir(parents=True, exist_ok=True)
    url = f"{PG_SERVER}/{name}"
    if _pg_marker(name) is not None and (not b.refill or name in b.refilled):
        # the settings of this (fresh) scratch home: a quick child writes them
        b.child(
            system,
            "tag_fill_pg",
            home=str(home),
            url=url,
            n=n,
            start=0,
            stop=0,
            batch=1,
            copy=False,
        )
    else:
        bulk = system == "dagwright"
        workers = 1 if bulk else FILL_WORKERS[system]
        log(f"    filling {system} with {n:,} runs on PostgreSQL ({name}, {workers} process(es))")
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _pg_admin(f'CREATE DATABASE "{name}"')
        b.refilled.add(name)
        t0 = time.perf_counter()
        params = {"home": str(home), "url": url, "n": n, "copy": bulk}
        b.child(system, "tag_fill_pg", start=0, stop=0, batch=1, **{**params, "copy": False})
        bounds = [n * k // workers for k in range(workers + 1)]
        procs = [
            b.start(system, "tag_fill_pg", start=lo, stop=hi, batch=10_000, **params)
            for lo, hi in itertools.pairwise(bounds)
        ]
        phases = [b.finish(proc, system, timeout=7200) for proc in procs]
        elapsed = time.perf_counter() - t0
        size = _pg_admin("SELECT pg_size_pretty(pg_database_size(%s))", name)[0]
        marker = {"version": PG_FILL_VERSION, "runs": n, "fill_s": round(elapsed, 1)}
        _pg_admin(f"COMMENT ON DATABASE \"{name}\" IS '{json.dumps(marker)}'")
        skip = ("elapsed_s", "import_s")
        detail = ", ".join(
            f"{k[:-2]} {v:.0f} s"
            for k, v in phases[0].items()
            if k.endswith("_s") and k not in skip
        )
        b.notes.append(
            f"filled {system} with {n:,} runs on PostgreSQL ({name}, {size}) in {elapsed:.0f} s"
            f" ({workers} process(es){'; ' + detail if bulk else ''})"
        )
    return home


def fig_tag_query(b: Bench) -> list[Row]:
    small, big = b.p.tag_small, b.p.tag_big
    results: dict[tuple[str, int], dict[str, Any]] = {}

    def query(system: str, n: int) -> float:
        home = filled_home(b, system, n)
        res = b.child(system, "tag_query", home=str(home), warmup=2, reps=b.p.tag_reps)
        results[system, n] = res
        return float(res["median_s"])

    rows = [
        compare(f"tag query, 50 newest of {small:,} runs", "s", lambda s: query(s, small), "≤ 0.10")
    ]
    log(f"  tag query at {big:,} runs (dagwright only)")
    values, errors = per_system(lambda s: query(s, big), systems=("dagwright",))
    base = results.get(("dagwright", small))
    at_big = results.get(("dagwright", big))
    t_ratio = at_big["median_s"] / base["median_s"] if base and at_big else None
    m_ratio = at_big["peak_rss_mb"] / base["peak_rss_mb"] if base and at_big else None
    rss = at_big["peak_rss_mb"] if at_big else None
    goal = "≤ 1.5"
    time_row = Row(f"tag query at {big:,} (ratio: ÷ {small:,})", "s", values.get("dagwright"))
    rss_row = Row(f"querying process peak RSS at {big:,} (ratio: ÷ {small:,})", "MB", rss)
    for row, ratio in ((time_row, t_ratio), (rss_row, m_ratio)):
        row.ratio, row.goal, row.ok, row.errors = ratio, goal, check(ratio, goal), dict(errors)
        rows.append(row)
    if b.p.tag_pg_sizes:
        rows += _tag_query_pg(b)
    return rows


def _tag_query_pg(b: Bench) -> list[Row]:
    """The tag query and the runs page filtered by a tag on PostgreSQL: dagwright at each
    of ``tag_pg_sizes``, the sizes measured in alternation (``web_scale_rounds`` rounds,
    median per size: the machine's drift is not read as growth); each size's figure ÷ the
    first size's. Dagster at the first size only with ``--pg-dagster`` (its fill is
    ``add_run`` by ``add_run``)."""
    sizes = b.p.tag_pg_sizes
    small = sizes[0]
    names = ("query", "query_old", "runs_tag_html", "runs_tag_api")
    seen: dict[tuple[str, int], list[dict[str, float]]] = {}

    def measure(system: str, n: int) -> dict[str, float]:
        home = filled_pg(b, system, n)
        query, old = (
            b.child(
                system,
                "tag_query",
                home=str(home),
                warmup=2,
                reps=b.p.tag_reps,
                configured=True,
                tag=tag,
            )
            for tag in (("team", "docs"), ("era", "old"))
        )
        web = b.child(
            system,
            "web",
            timeout=1800,
            home=str(home),
            warmup=2,
            reps=b.p.tag_reps,
            start_reps=1,
            copy=system == "dagster",
        )
        web_names = (
            ("runs_tag_html", "runs_tag_api") if system == "dagwright" else ("runs_tag",) * 2
        )
        return {
            "query": float(query["median_s"]),
            "query_old": float(old["median_s"]),
            "peak_rss_mb": float(query["peak_rss_mb"]),
            **{name: float(web[w]) for name, w in zip(names[2:], web_names, strict=True)},
        }

    def alternate(system: str) -> float:
        for _ in range(b.p.web_scale_rounds):
            for n in sizes if system == "dagwright" else (small,):
                seen.setdefault((system, n), []).append(measure(system, n))
        return median("query", system, small) or 0.0

    def median(name: str, system: str, n: int) -> float | None:
        found = seen.get((system, n))
        return statistics.median(res[name] for res in found) if found else None

    log(f"  PostgreSQL: tag query and runs page at {', '.join(f'{n:,}' for n in sizes)} runs")
    systems = SYSTEMS if b.p.tag_pg_dagster else ("dagwright",)
    _, errors = per_system(alternate, systems)
    labels = {
        "query": "tag query, 50 newest",
        "query_old": "tag query, 50 newest of a value only the older half carries",
        "runs_tag_html": "runs page filtered by a tag, HTML page",
        "runs_tag_api": "runs page filtered by a tag, API",
    }
    rows = []
    for name in names:
        dw, ds = median(name, "dagwright", small), median(name, "dagster", small)
        row = Row(f"PostgreSQL: {labels[name]}, {small:,} runs", "s", dw, ds, errors=dict(errors))
        row.ratio = dw / ds if dw is not None and ds else None
        row.goal = "≤ 0.10" if b.p.tag_pg_dagster else ""
        row.ok = check(row.ratio, row.goal)
        rows.append(row)
    for n in sizes[1:]:
        for name in (*names, "peak_rss_mb"):
            label = labels.get(name, "querying process peak RSS")
            at_n, base = median(name, "dagwright", n), median(name, "dagwright", small)
            unit = "MB" if name == "peak_rss_mb" else "s"
            row = Row(f"PostgreSQL: {label} at {n:,} (ratio: ÷ {small:,})", unit, at_n)
            row.ratio = at_n / base if at_n is not None and base else None
            row.goal, row.errors = (
                "≤ 1.5",
                {"dagwright": errors["dagwright"]} if "dagwright" in errors else {},
            )
            row.ok = check(row.ratio, row.goal)
            rows.append(row)
    return rows


def fig_memory(b: Bench) -> list[Row]:
    return [
        compare(
            "peak RSS, import + 1-op run",
            "MB",
            lambda s: statistics.median(
                b.child(s, "memory")["peak_rss_mb"] for _ in range(b.p.mem_reps)
            ),
            "≤ 0.5",
        )
    ]


def _sized(system: str, dagwright: int, dagster: int) -> int:
    return dagwright if system == "dagwright" else dagster


def fig_submit_run(b: Bench) -> list[Row]:
    return [
        compare(
            "submit_run to a queued coordinator (per run)",
            "s",
            lambda s: b.child(
                s, "submit_run", warmup=1, n=_sized(s, b.p.submit_n, b.p.submit_n_dagster)
            )["median_s"],
            "≤ 0.02",
        )
    ]


def fig_queue_pass(b: Bench) -> list[Row]:
    small, big, big_limits = b.p.queue_small, b.p.queue_big, b.p.queue_big_limits
    results: dict[tuple[str, int], dict[str, Any]] = {}

    def measure(system: str, n: int, n_limits: int) -> float:
        home = filled_home(b, system, n, data="queue")
        res = b.child(
            system,
            "queue_pass",
            home=str(home),
            n_queued=n,
            n_limits=n_limits,
            warmup=1,
            reps=b.p.queue_reps,
        )
        results[system, n] = res
        return float(res["median_s"])

    rows = [
        compare(
            f"queue decision pass, {small:,} queued runs, 4 tag limits",
            "s",
            lambda s: measure(s, small, 4),
            "≤ 0.05",
        )
    ]
    systems = SYSTEMS if b.p.queue_big_dagster else ("dagwright",)
    log(f"  queue decision pass at {big:,} queued runs, {big_limits} limits")
    values, errors = per_system(lambda s: measure(s, big, big_limits), systems)
    base, at_big = results.get(("dagwright", small)), results.get(("dagwright", big))
    ratio = at_big["median_s"] / base["median_s"] if base and at_big else None
    goal = "≤ 10"
    metric = f"queue decision pass, {big:,} queued runs, {big_limits} limits (ratio: ÷ {small:,})"
    rows.append(
        Row(
            metric,
            "s",
            values.get("dagwright"),
            values.get("dagster"),
            ratio,
            goal,
            check(ratio, goal),
            errors,
        )
    )
    ds_small, ds_big = results.get(("dagster", small)), results.get(("dagster", big))
    if ds_small and ds_big:
        b.notes.append(
            f"queue pass: Dagster at {big:,} ÷ at {small:,} = "
            f"{ds_big['median_s'] / ds_small['median_s']:.3g}"
        )
    for (system, n), res in sorted(results.items()):
        b.notes.append(
            f"queue pass: {system} at {n:,} queued would launch {res['would_launch']};"
            f" first pass {res['first_s'] * 1e3:.3g} ms"
        )
        if res.get("explain_s") is not None:
            b.notes.append(
                f"queue pass: {system} at {n:,} queued, with every run's explanation as"
                f" records: {res['explain_s'] * 1e3:.3g} ms"
            )
    return rows


def bare_import_process(b: Bench, system: str) -> float:
    """Wall time of a whole ``python -c "import <system>"`` process, median of bare_reps
    (one discarded process first)."""
    cmd = [b.pythons[system], "-c", f"import {system}"]

    def once() -> float:
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=b.scratch, env=b._env(system), check=True)
        return time.perf_counter() - t0

    once()
    return statistics.median(once() for _ in range(b.p.bare_reps))


def fig_launch_latency(b: Bench) -> list[Row]:
    results: dict[str, dict[str, Any]] = {}

    def measure(system: str) -> float:
        reps = _sized(system, b.p.launch_reps, b.p.launch_reps_dagster)
        warmup = _sized(system, b.p.launch_warmup, b.p.launch_warmup_dagster)
        res = b.child(system, "launch_latency", warmup=warmup, reps=reps, timeout_s=180)
        results[system] = res
        return float(res["median_s"])

    row = compare("1-op run, submit → SUCCESS, process launcher, no queue", "s", measure, "≤ 0.10")
    log('  bare `python -c "import dagwright"` process')
    values, errors = per_system(lambda s: bare_import_process(b, s), ("dagwright",))
    bare = values.get("dagwright")
    ratio = row.dagwright / bare if row.dagwright is not None and bare else None
    goal = "≤ 3"
    bare_row = Row(
        'bare `python -c "import dagwright"` process (ratio: submit → SUCCESS ÷ it)',
        "s",
        bare,
        None,
        ratio,
        goal,
        check(ratio, goal),
        errors,
    )
    for system, res in results.items():
        b.notes.append(
            f"launch latency: {system} submit → STARTED seen after "
            f"{res['to_started_median_s']:.3g} s (median); the first, cold launch of the"
            f" series {res['first_s']:.3g} s"
        )
    return [row, bare_row]


def fig_job_launch_cli(b: Bench) -> list[Row]:
    return [
        compare(
            "`job launch -f FILE -j JOB` CLI, wall time",
            "s",
            lambda s: b.child(s, "job_launch_cli", reps=b.p.cli_reps, timeout_s=180)["median_s"],
            "≤ 0.10",
        )
    ]


def fig_drain(b: Bench) -> list[Row]:
    results: dict[str, dict[str, Any]] = {}
    dw_n, ds_n = b.p.drain_n, b.p.drain_n_dagster

    def measure(system: str) -> float:
        n = _sized(system, dw_n, ds_n)
        limit = 60 + n * _sized(system, 2, 20)  # seconds; a stuck drain fails, not hangs
        res = b.child(system, "drain", n=n, timeout_s=limit, timeout=limit + 120)
        results[system] = res
        return float(res["runs_per_s"])

    row = compare(
        f"drain queued 1-op runs, 8 at a time, first submit → all SUCCESS ({dw_n:,} / {ds_n})",
        "runs/s",
        measure,
        "≥ 10",
    )
    dw, ds = results.get("dagwright"), results.get("dagster")
    cpu_dw = dw["daemon_cpu_per_run_s"] if dw else None
    cpu_ds = ds["daemon_cpu_per_run_s"] if ds else None
    cpu_row = Row(
        "daemon process CPU per launched run, during the drain",
        "s",
        cpu_dw,
        cpu_ds,
        cpu_dw / cpu_ds if cpu_dw is not None and cpu_ds else None,
        errors=dict(row.errors),
    )
    for system, res in results.items():
        b.notes.append(
            f"drain: {system} {res['runs']} runs in {res['elapsed_s']:.1f} s (submit "
            f"{res['submit_s']:.2f} s, first launch seen at {res['first_launch_s']:.1f} s), "
            f"daemon CPU {res['daemon_cpu_total_s']:.2f} s in all"
        )
    return [row, cpu_row]


def fig_backfill(b: Bench) -> list[Row]:
    return [
        compare(
            "backfill 1,000 partitions: command -> all runs QUEUED",
            "s",
            lambda s: b.child(s, "backfill", timeout_s=1800)["total_s"],
            "≤ 0.02",
        )
    ]


def fig_sensor_tick(b: Bench) -> list[Row]:
    return [
        compare(
            "sensor tick: 100 RunRequests, 90 run keys seen before",
            "s",
            lambda s: b.child(s, "sensor_tick", seen=90, total=100)["tick_s"],
            "≤ 0.10",
        )
    ]


def fig_web(b: Bench) -> list[Row]:
    """The web server on the tag_query data set: runs page filtered by a tag (HTML and
    API) against Dagster's Runs page query, the unfiltered page and the tag typeahead for
    reference, dagwright at the big size, and the server's start time."""
    small, big = b.p.tag_small, b.p.tag_big
    results: dict[tuple[str, int], dict[str, Any]] = {}

    def measured(system: str, n: int) -> dict[str, Any]:
        if (system, n) not in results:
            home = filled_home(b, system, n)
            results[system, n] = b.child(
                system,
                "web",
                timeout=1800,
                home=str(home),
                warmup=2,
                reps=b.p.tag_reps,
                start_reps=b.p.web_start_reps,
                copy=system == "dagster",
            )
        return results[system, n]

    def view(dagwright: str, dagster: str, n: int = small) -> Callable[[str], float]:
        return lambda s: float(measured(s, n)[dagwright if s == "dagwright" else dagster])

    rows = [
        compare(
            f"runs page filtered by a tag, {small:,} runs: HTML page",
            "s",
            view("runs_tag_html", "runs_tag"),
            "≤ 0.10",
        ),
        compare(
            f"runs page filtered by a tag, {small:,} runs: API /api/v1/runs?tag=",
            "s",
            view("runs_tag_api", "runs_tag"),
            "≤ 0.10",
        ),
        compare(f"runs page unfiltered, {small:,} runs: HTML page", "s", view("runs_html", "runs")),
        compare(
            f"tag keys + values of one key, {small:,} runs",
            "s",
            view("tag_keys_values", "tag_keys_values"),
        ),
        compare("web server start → first response", "s", view("start_s", "start_s"), "≤ 0.20"),
    ]
    rows += _web_scaling(b, small, big)
    for system in SYSTEMS:
        res = results.get((system, small))
        if res:
            starts = ", ".join(f"{t:.2f}" for t in res["starts_s"])
            b.notes.append(f"web: {system} server starts (s): {starts}")
    return rows


def _web_scaling(b: Bench, small: int, big: int) -> list[Row]:
    """dagwright's filtered runs page at ``big`` ÷ at ``small``: servers on the two data
    sets measured in alternation (``web_scale_rounds`` rounds, median of each size), so
    that the machine's drift between two measurements is not read as growth."""
    log(f"  runs page filtered by a tag at {big:,} runs (dagwright only), alternated")
    names = ("runs_tag_html", "runs_tag_api")
    medians: dict[tuple[str, int], float] = {}

    def alternate(_system: str) -> float:
        seen: dict[int, list[dict[str, Any]]] = {small: [], big: []}
        for _ in range(b.p.web_scale_rounds):
            for n in (small, big):
                home = filled_home(b, "dagwright", n)
                seen[n].append(
                    b.child(
                        "dagwright",
                        "web",
                        timeout=1800,
                        home=str(home),
                        warmup=2,
                        reps=b.p.tag_reps,
                        start_reps=1,
                        copy=False,
                    )
                )
        for n, found in seen.items():
            for name in names:
                medians[name, n] = statistics.median(float(res[name]) for res in found)
        return medians["runs_tag_html", big]

    _, errors = per_system(alternate, systems=("dagwright",))
    rows = []
    for name, label in zip(names, ("HTML page", "API"), strict=True):
        base, at_big = medians.get((name, small)), medians.get((name, big))
        ratio = at_big / base if at_big is not None and base else None
        row = Row(f"runs page filtered by a tag at {big:,}, {label} (ratio: ÷ {small:,})", "s")
        row.dagwright, row.ratio, row.goal, row.errors = at_big, ratio, "≤ 1.5", dict(errors)
        row.ok = check(ratio, row.goal)
        rows.append(row)
    return rows


#: The Redis server of the Celery figures (their broker); each workload takes a database
#: number of its own, empty when it starts, and flushes it when done.
REDIS = ("127.0.0.1", 6379)
#: The database numbers the Celery figures may take.
REDIS_DBS = range(8, 16)


def _redis(db: int, *command: str) -> bytes:
    """One Redis command on database ``db`` (RESP over a socket: the bench's interpreter
    needs no Redis client); the raw reply line."""
    import socket

    def resp(*args: str) -> bytes:
        parts = [f"*{len(args)}\r\n".encode()]
        for arg in args:
            parts.append(f"${len(arg.encode())}\r\n{arg}\r\n".encode())
        return b"".join(parts)

    with socket.create_connection(REDIS, timeout=10) as sock:
        sock.sendall(resp("SELECT", str(db)) + resp(*command))
        data = b""
        while data.count(b"\r\n") < 2:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n")[1]


def _fresh_redis_db() -> int:
    """An empty Redis database number from ``REDIS_DBS``."""
    for db in REDIS_DBS:
        if _redis(db, "DBSIZE") == b":0":
            return db
    raise ChildError(f"no empty Redis database among {list(REDIS_DBS)}")


def celery_run(b: Bench, system: str, job_name: str, concurrency: int, reps: int) -> float:
    """Median submit → SUCCESS of ``job_name`` (``workloads/celery_runs.py``) on ``system``
    with one Celery worker of ``concurrency`` processes, after one untimed run; a scratch
    PostgreSQL database and a fresh Redis database each, dropped and flushed after."""
    db = _fresh_redis_db()
    broker = f"redis://{REDIS[0]}:{REDIS[1]}/{db}"
    name = f"{system}_bench_celery_scratch"
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        res = b.child(
            system,
            "celery",
            timeout=3600,
            pg_url=f"{PG_SERVER}/{name}",
            broker_url=broker,
            job_name=job_name,
            concurrency=concurrency,
            warmup=1,
            reps=reps,
            timeout_s=1200,
        )
    finally:
        _redis(db, "FLUSHDB")
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    times = ", ".join(f"{t:.3g}" for t in res["times_s"])
    b.notes.append(f"celery: {system} {job_name} -c {concurrency}, runs (s): {times}")
    return float(res["median_s"])


def fig_celery(b: Bench) -> list[Row]:
    """Runs whose steps are Celery tasks (dagwright's Celery executor, dagster-celery),
    same broker, same PostgreSQL server, same worker processes."""
    fan, p = 101, b.p
    per_step = compare(
        f"celery: per step, fan-out 1 → {fan - 1}, 2 worker processes (run ÷ {fan})",
        "s",
        lambda s: celery_run(b, s, f"fanout_{fan}", 2, _sized(s, p.celery_reps, 1)) / fan,
        "≤ 0.10",
    )
    one_op = compare(
        "celery: 1-op run, submit → SUCCESS, 2 worker processes",
        "s",
        lambda s: celery_run(b, s, "one_op", 2, _sized(s, p.celery_1op_reps, p.celery_reps)),
        "≤ 0.10",
    )
    steps = 500
    throughput = compare(
        f"celery: steps per second, fan-out of {steps}, 4 worker slots",
        "steps/s",
        lambda s: steps / celery_run(b, s, f"fanout_{steps}", 4, _sized(s, p.celery_reps, 1)),
        "≥ 10",
    )
    return [per_step, one_op, throughput]


FIGURES: dict[str, Callable[[Bench], list[Row]]] = {
    "import": fig_import,
    "run_1op_memory": _run_1op(persisted=False),
    "run_1op_sqlite": _run_1op(persisted=True),
    "per_op": fig_per_op,
    "insert_runs": fig_insert_runs,
    "tag_query": fig_tag_query,
    "tag_query_pg": lambda b: _tag_query_pg(b) if b.p.tag_pg_sizes else [],
    "memory": fig_memory,
    "submit_run": fig_submit_run,
    "queue_pass": fig_queue_pass,
    "launch_latency": fig_launch_latency,
    "job_launch_cli": fig_job_launch_cli,
    "drain": fig_drain,
    "backfill": fig_backfill,
    "sensor_tick": fig_sensor_tick,
    "web": fig_web,
    "celery": fig_celery,
}

# --- output --------------------------------------------------------------------------


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        if value >= 10:
            return f"{value:.3g} s"
        return f"{value * 1e6:.3g} µs" if value < 1e-3 else f"{value * 1e3:.4g} ms"
    if unit in ("runs/s", "steps/s"):
        return f"{value:,.0f}/s" if value >= 100 else f"{value:.3g}/s"
    return f"{value:.1f} {unit}"


def table(rows: list[Row]) -> str:
    head = ("metric", "dagwright", "dagster", "ratio", "goal", "ok?")
    lines = [head] + [
        (
            r.metric,
            "ERROR" if "dagwright" in r.errors else fmt(r.dagwright, r.unit),
            "ERROR" if "dagster" in r.errors else fmt(r.dagster, r.unit),
            "—" if r.ratio is None else f"{r.ratio:.3g}",
            r.goal or "—",
            {True: "yes", False: "NO", None: "—"}[r.ok],
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = [
        " | ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    ]
    out.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(out)


# --- setup ---------------------------------------------------------------------------


def dagster_python(given: str | None) -> str:
    """The interpreter with Dagster installed; creates ``bench/.venv-dagster`` if needed."""
    if given:
        return given
    python = DAGSTER_VENV / "bin" / "python"
    if not python.exists():
        log(f"creating {DAGSTER_VENV} with {' '.join(DAGSTER_PINS)} (one-off)")
        subprocess.run([sys.executable, "-m", "venv", str(DAGSTER_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *DAGSTER_PINS], check=True)
    return str(python)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--only",
        nargs="+",
        action="extend",
        choices=list(FIGURES),
        metavar="NAME",
        help=f"figures to run (default all): {', '.join(FIGURES)}",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument(
        "--refill",
        action="store_true",
        help="fill the cached PostgreSQL data sets again (tag_query)",
    )
    parser.add_argument(
        "--pg-sizes",
        type=lambda text: tuple(int(n) for n in text.split(",") if n),
        metavar="N,N,...",
        help="run counts of the PostgreSQL tag_query rows (first = the base; empty: none)",
    )
    parser.add_argument(
        "--pg-dagster",
        action="store_true",
        help="also fill and measure Dagster on PostgreSQL at the first size (slow fill)",
    )
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write results here")
    parser.add_argument(
        "--dagster-python",
        default=os.environ.get("DAGSTER_PYTHON"),
        metavar="PATH",
        help="interpreter with dagster (env DAGSTER_PYTHON)",
    )
    parser.add_argument(
        "--dagwright-python",
        default=sys.executable,
        metavar="PATH",
        help="interpreter for dagwright (default: this one)",
    )
    args = parser.parse_args(argv)

    pythons = {"dagwright": args.dagwright_python, "dagster": dagster_python(args.dagster_python)}
    params = QUICK if args.quick else FULL
    if args.pg_sizes is not None:
        params = replace(params, tag_pg_sizes=args.pg_sizes)
    if args.pg_dagster:
        params = replace(params, tag_pg_dagster=True)
    names = args.only or list(FIGURES)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-scratch-") as scratch:
        b = Bench(pythons, params, Path(scratch), refill=args.refill)
        rows: list[Row] = []
        for name in names:
            log(f"[{name}]")
            rows.extend(FIGURES[name](b))
    elapsed = time.perf_counter() - t0

    print(
        f"\ndagwright {b.versions.get('dagwright')} vs dagster {b.versions.get('dagster')}"
        f" | Python {platform.python_version()} | {os.cpu_count()} CPUs"
        f" | {'quick' if args.quick else 'full'} run, {elapsed:.0f} s\n"
    )
    print(table(rows))
    errors = [f"  {r.metric} — {s}: {e}" for r in rows for s, e in r.errors.items()]
    if errors:
        print("\nerrors:\n" + "\n".join(errors))
    if b.notes:
        print("\nnotes:\n" + "\n".join(f"  {n}" for n in b.notes))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "quick": args.quick,
                    "params": asdict(params),
                    "versions": b.versions,
                    "pythons": pythons,
                    "cpus": os.cpu_count(),
                    "elapsed_s": elapsed,
                    "rows": [asdict(r) for r in rows],
                    "notes": b.notes,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
