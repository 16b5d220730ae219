"""The cost of step-log capture: a 100-op chain (and one whose ops each print a line) run
in process on a SQLite home, with capture and without, interleaved in one process.

    .venv/bin/python bench/step_logs.py [--reps 25]

Prints CPU microseconds per op (min and median over the repetitions): CPU time of this
process, not wall time, so that other load on the machine matters less. The comparison
with Dagster is ``bench/run.py --only per_op`` (its last row is the printing chain).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from workloads import jobs

from dagwright import Instance, job, op
from dagwright.execution.in_process import execute_job_in_process
from dagwright.execution.logs import PYTHON_CAPTURE

N_OPS = 100


def _run(instance: Instance, chain: Any, capture: bool) -> float:
    started = time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):
        execute_job_in_process(
            chain,
            run_config=None,
            tags=None,
            op_selection=None,
            partition_key=None,
            instance=instance,
            raise_on_error=True,
            logs=PYTHON_CAPTURE if capture else None,
        )
    return (time.process_time() - started) / N_OPS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=25)
    args = parser.parse_args()
    cases = [
        (label, chain, capture)
        for label, chain in (
            ("chain", jobs.chain_job(op, job, N_OPS)),
            ("printing chain", jobs.printing_chain_job(op, job, N_OPS)),
        )
        for capture in (False, True)
    ]
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as home, Instance.from_home(home) as instance:
        for _ in range(args.reps):
            for label, chain, capture in cases:
                name = f"{label}, {'capture' if capture else 'no capture'}"
                times.setdefault(name, []).append(_run(instance, chain, capture))
    for name, values in times.items():
        print(
            f"{name:<28} min {min(values) * 1e6:6.0f} µs/op"
            f"   median {statistics.median(values) * 1e6:6.0f} µs/op"
        )


if __name__ == "__main__":
    main()
