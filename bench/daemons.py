"""Several daemons on one home: does the run queue stay within its limits?

Re-runs the experiment of ``tests/daemon/test_run_queue_daemons.py`` (the harness is
``tests/daemon/experiment.py``): 200 runs of a one-op job, tagged so that they count in
``max_concurrent_runs: 4``, ``team=docs`` (limit 1) and ``database`` (any value, limit 2);
N ``dagwright daemon`` processes on one home; storage sampled (one statement per sample)
until every run has finished. Prints, per store: samples taken, samples over a limit,
runs finished (succeeded), the highest counts seen, and the wall time.

    .venv/bin/python bench/daemons.py                      # 2 daemons, SQLite and PostgreSQL
    .venv/bin/python bench/daemons.py --daemons 3 --stores sqlite
    .venv/bin/python bench/daemons.py --src /path/to/other/checkout/src   # e.g. before a fix

There is no Dagster side: Dagster supports one daemon per instance, so there is nothing
to compare. PostgreSQL runs in a throwaway database made on ``--pg-url``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def pg_database(admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database on ``admin_url``'s server, dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"dagwright_bench_{uuid.uuid4().hex[:12]}"
    libpq = admin_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(libpq, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


def measure(store: str, args: argparse.Namespace) -> str:
    """One experiment on one store; its line of figures."""
    from tests.daemon.experiment import make_home, run_experiment

    with tempfile.TemporaryDirectory(prefix="bench-daemons-") as scratch:
        home = Path(scratch) / "home"
        started = time.perf_counter()
        if store == "postgres":
            with pg_database(args.pg_url) as url:
                figures = run_experiment(
                    make_home(home, url, args.interval),
                    args.daemons,
                    args.runs,
                    pythonpath=args.src,
                )
        else:
            figures = run_experiment(
                make_home(home, None, args.interval), args.daemons, args.runs, pythonpath=args.src
            )
        elapsed = time.perf_counter() - started
    peak = tuple(max(s[i] for s in figures.samples) for i in range(3)) if figures.samples else ()
    return (
        f"{store:<9} daemons {args.daemons}  interval {args.interval:g} s"
        f"  samples {len(figures.samples):>5}"
        f"  over a limit {len(figures.over):>4}  finished {figures.finished}/{args.runs}"
        f" (succeeded {figures.succeeded})  peak in progress/docs/database {peak}"
        f"  limits (4, 1, 2)  {elapsed:.0f} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--daemons", type=int, default=2)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.05, help="dequeue interval (s)")
    parser.add_argument(
        "--stores", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"]
    )
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument(
        "--src", help="measure this src/ directory instead (e.g. an export of an older commit)"
    )
    args = parser.parse_args(argv)
    # the checkout measured (or --src) comes first, for this process and the daemons
    sys.path[:0] = [args.src or str(ROOT / "src"), str(ROOT)]
    for store in args.stores:
        print(measure(store, args), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
