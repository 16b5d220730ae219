"""Cost of an op tagging its own run: ``context.add_run_tags`` N times in one op, on a
SQLite home (dagwright), against ``context.instance.add_run_tags`` in Dagster (same
workload: one op, N calls, a DagsterInstance on a SQLite home), in one run.

    .venv/bin/python bench/op_tags.py [--calls 500] [--dagster-python PATH]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DAGSTER_CODE = """
import sys, tempfile, time
from dagster import DagsterInstance, job, op
N = int(sys.argv[1])
@op
def tagger(context):
    start = time.perf_counter()
    for i in range(N):
        context.instance.add_run_tags(context.run_id, {"rows": str(i)})
    print((time.perf_counter() - start) / N * 1000)
@job
def tagged():
    tagger()
with tempfile.TemporaryDirectory() as home:
    with DagsterInstance.local_temp(home) as instance:
        tagged.execute_in_process(instance=instance)
"""


def dagwright_ms(calls: int) -> float:
    from dagwright import Instance, OpExecutionContext, job, op

    took: list[float] = []

    @op
    def tagger(context: OpExecutionContext) -> None:
        start = time.perf_counter()
        for i in range(calls):
            context.add_run_tags({"rows": i})
        took.append((time.perf_counter() - start) / calls * 1000)

    @job
    def tagged() -> None:
        tagger()

    with tempfile.TemporaryDirectory() as home, Instance.from_home(Path(home)) as instance:
        assert tagged.execute_in_process(instance=instance).success
    return took[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--dagster-python", default="bench/.venv-dagster/bin/python")
    args = parser.parse_args()
    ours = dagwright_ms(args.calls)
    print(f"dagwright context.add_run_tags: {ours:.3f} ms per call (SQLite, {args.calls} calls)")
    if not Path(args.dagster_python).exists():
        print("dagster: not measured (no --dagster-python)", file=sys.stderr)
        return
    out = subprocess.run(
        [args.dagster_python, "-c", DAGSTER_CODE, str(args.calls)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    theirs = float(out.strip().splitlines()[-1])
    print(f"dagster context.instance.add_run_tags: {theirs:.3f} ms per call")
    print(f"ratio dagster/dagwright: {theirs / ours:.2f}")


if __name__ == "__main__":
    main()
