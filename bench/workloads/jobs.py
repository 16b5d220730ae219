"""The benchmark jobs, built with whichever ``op`` / ``job`` decorators a side passes in.

dagwright mirrors Dagster's vocabulary, so the same builder makes the same job on both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Decorator = Callable[..., Any]


# The op functions carry no annotations: both systems would turn them into type checks.
def _first():  # type: ignore[no-untyped-def]
    return 1


def _step(x):  # type: ignore[no-untyped-def]
    return x + 1


def _leaf(x):  # type: ignore[no-untyped-def]
    return x


def _first_printing():  # type: ignore[no-untyped-def]
    print("op_0 ran")
    return 1


def _step_printing(x):  # type: ignore[no-untyped-def]
    print(f"step got {x}")
    return x + 1


def one_op_job(op: Decorator, job: Decorator) -> Any:
    """A job with a single op that returns a constant."""
    hello = op(name="hello")(_first)

    @job(name="one_op")
    def one_op() -> None:
        hello()

    return one_op


def chain_job(op: Decorator, job: Decorator, n: int) -> Any:
    """``n`` ops in a line: ``op_0 -> op_1 -> ... -> op_{n-1}``, each taking the previous output."""
    ops = [op(name=f"op_{i}")(_first if i == 0 else _step) for i in range(n)]

    @job(name=f"chain_{n}")
    def chain() -> None:
        x = ops[0]()
        for next_op in ops[1:]:
            x = next_op(x)

    return chain


def fanout_job(op: Decorator, job: Decorator, n: int) -> Any:
    """``n`` ops in all: one root op whose output feeds ``n - 1`` independent leaf ops."""
    root = op(name="root")(_first)
    leaves = [op(name=f"leaf_{i}")(_leaf) for i in range(n - 1)]

    @job(name=f"fanout_{n}")
    def fanout() -> None:
        x = root()
        for leaf in leaves:
            leaf(x)

    return fanout


#: The one-op job as a code file (``{package}`` is ``dagwright`` or ``dagster``). Runs that
#: are submitted (queued or launched in another process) need a job defined in a file, so
#: the run carries a code pointer (dagwright) or a code location origin (Dagster). Same job
#: as :func:`one_op_job`.
ONE_OP_FILE = '''"""A one-op job, written by bench/child.py for runs launched in other processes."""

from {package} import job, op


@op(name="hello")
def hello():
    return 1


@job(name="one_op")
def one_op():
    hello()
'''

#: The job name in :data:`ONE_OP_FILE`.
ONE_OP_JOB = "one_op"


def write_job_file(directory: str, package: str) -> str:
    """Write :data:`ONE_OP_FILE` for ``package`` into ``directory``; return its path."""
    import os

    path = os.path.join(directory, "bench_one_op.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(ONE_OP_FILE.format(package=package))
    return path


#: Partitions of :data:`INSTIGATION_FILE`'s partitioned job.
BACKFILL_PARTITIONS = 1000
#: The environment variable naming the file that holds how many run keys the sensor yields.
SENSOR_KEYS_ENV = "BENCH_SENSOR_KEYS_FILE"

#: A partitioned one-op job (1,000 static partitions) and a sensor of the one-op job that
#: yields one ``RunRequest`` per run key ``k0``, ``k1`` … (as many as the file named by
#: ``$BENCH_SENSOR_KEYS_FILE`` says), for the backfill and sensor_tick figures. The same
#: code on both systems (``{package}`` is ``dagwright`` or ``dagster``).
INSTIGATION_FILE = '''"""Partitioned job and keyed sensor, written by bench/child.py."""

import os

from {package} import (
    DefaultSensorStatus,
    Definitions,
    RunRequest,
    StaticPartitionsDefinition,
    job,
    op,
    sensor,
)


@op(name="hello")
def hello():
    return 1


@job(name="one_op")
def one_op():
    hello()


@job(
    name="partitioned",
    partitions_def=StaticPartitionsDefinition([f"p{{i:04d}}" for i in range({partitions})]),
)
def partitioned():
    hello()


@sensor(job=one_op, minimum_interval_seconds=1, default_status=DefaultSensorStatus.RUNNING)
def keyed(context):
    with open(os.environ["{keys_env}"], encoding="utf-8") as f:
        n = int(f.read())
    for i in range(n):
        yield RunRequest(run_key=f"k{{i}}")


defs = Definitions(jobs=[one_op, partitioned], sensors=[keyed])
'''


def write_instigation_file(directory: str, package: str) -> str:
    """Write :data:`INSTIGATION_FILE` for ``package`` into ``directory``; return its path."""
    import os

    path = os.path.join(directory, "bench_instigation.py")
    text = INSTIGATION_FILE.format(
        package=package, partitions=BACKFILL_PARTITIONS, keys_env=SENSOR_KEYS_ENV
    )
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def printing_chain_job(op: Decorator, job: Decorator, n: int) -> Any:
    """:func:`chain_job` whose ops each print one line (the cost of capturing step logs)."""
    ops = [op(name=f"op_{i}")(_first_printing if i == 0 else _step_printing) for i in range(n)]

    @job(name=f"printing_chain_{n}")
    def printing_chain() -> None:
        x = ops[0]()
        for next_op in ops[1:]:
            x = next_op(x)

    return printing_chain
