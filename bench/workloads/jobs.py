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
