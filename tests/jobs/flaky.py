"""Jobs for the re-execution tests: ``unstable`` fails until its flag file exists.

The flag file is named by ``$DAGWRIGHT_TEST_FLAKY_FLAG`` (inherited by run workers in other
processes); with the variable unset, or the file missing, ``unstable`` raises.

``flaky`` (partitioned by region, optional):  emit -> unstable -> after;  emit -> steady
``nested_flaky``:                              emit -> stage.unstable -> after
``moody``:                                     emit -> picky -> after  (picky fails while
the run's ``mood`` tag is ``grumpy``: a re-execution with another mood succeeds)
"""

from __future__ import annotations

import os
from pathlib import Path

from dagwright import OpExecutionContext, StaticPartitionsDefinition, graph, job, op

#: The environment variable naming the flag file.
FLAG_ENV = "DAGWRIGHT_TEST_FLAKY_FLAG"


def flag_is_set() -> bool:
    """Whether ``unstable`` succeeds now."""
    path = os.environ.get(FLAG_ENV)
    return path is not None and Path(path).exists()


@op
def emit() -> int:
    return 2


@op
def unstable(x: int) -> int:
    if not flag_is_set():
        raise RuntimeError("the flag file is missing")
    return 10 * x


@op
def after(x: int) -> int:
    return x + 1


@op
def steady(x: int) -> str:
    return f"steady {x}"


#: Regions ``flaky`` may run for.
REGIONS = StaticPartitionsDefinition(["eu", "us"])


@job(tags={"team": "data"}, partitions_def=REGIONS)
def flaky() -> None:
    value = emit()
    after(unstable(value))
    steady(value)


@graph
def stage(x: int) -> int:
    result: int = unstable(x)
    return result


@job
def nested_flaky() -> None:
    after(stage(emit()))


@op
def picky(context: OpExecutionContext, x: int) -> int:
    if context.get_tag("mood") == "grumpy":
        raise RuntimeError("the run is grumpy")
    return x


@job
def moody() -> None:
    after(picky(emit()))
