"""Jobs for the multiprocess executor tests (their steps run in step processes).

Each ``work`` op records its pid and when it started and ended. With the run tag
``rendezvous`` (a folder), every ``work`` op waits, up to LIMIT, until ``expected`` of them
have started: ops that run concurrently meet at once, ops that run one by one wait out
the limit. Without it, an op holds for HOLD seconds.

``fan_out`` (max_concurrent=4):  seed -> work, work_2, work_3, work_4 -> total
``fan_out_flaky``:               seed -> work, work_2, unstable, work_3 -> total
``fan_out_slow``:                wait_for_release, wait_for_release_2 (tag ``release``)
``fan_out_crashing``:            seed -> vanish (the step process dies), and work
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from tests.jobs.flaky import unstable
from tests.jobs.slow import vanish, wait_for_release

from dagwright import OpExecutionContext, job, multiprocess_executor, op

#: Seconds a ``work`` op waits at most for the others to start.
LIMIT = 30.0

#: Seconds a ``work`` op holds without a rendezvous.
HOLD = 0.3

#: How many ``work`` ops a rendezvous waits for.
EXPECTED = 4


def _meet(folder: Path, name: str) -> None:
    (folder / name).touch()
    deadline = time.monotonic() + LIMIT
    while len(list(folder.iterdir())) < EXPECTED and time.monotonic() < deadline:
        time.sleep(0.01)


@op
def seed() -> int:
    return 1


@op
def work(context: OpExecutionContext, x: int) -> dict[str, Any]:
    """Return ``x`` with this process's pid and the op's start and end times."""
    start = time.time()
    rendezvous = context.get_tag("rendezvous")
    if rendezvous:
        _meet(Path(rendezvous), context.op_name)
    else:
        time.sleep(HOLD)
    return {"value": x, "pid": os.getpid(), "start": start, "end": time.time()}


@op
def total(a: dict[str, Any], b: dict[str, Any], c: Any, d: dict[str, Any]) -> int:
    """Sum the values of the fan-out (``c`` is a record or a plain number)."""
    third = c["value"] if isinstance(c, dict) else c
    return int(a["value"] + b["value"] + third + d["value"])


@job(executor_def=multiprocess_executor.configured(max_concurrent=4))
def fan_out() -> None:
    x = seed()
    total(work(x), work(x), work(x), work(x))


@job(executor_def=multiprocess_executor)
def fan_out_flaky() -> None:
    x = seed()
    total(work(x), work(x), unstable(x), work(x))


@job(executor_def=multiprocess_executor)
def fan_out_slow() -> None:
    wait_for_release()
    wait_for_release()


@job(executor_def=multiprocess_executor)
def fan_out_crashing() -> None:
    x = seed()
    vanish()
    work(x)
