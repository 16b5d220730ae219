"""Small jobs shared by the definition, plan and run-request tests.

No ``Definitions`` object: loading this module collects its top-level jobs.

``chain``:    emit -> double -> double_2 -> double_3
``diamond``:  emit -> double, double_2 -> add
``loader``:   load (config: LoadConfig)    with a default run config and job tags
``optional``: emit -> maybe, and maybe_2 (input left at its default)
``by_region`` partitioned by region: emit -> double
"""

from __future__ import annotations

from dagwright import Config, StaticPartitionsDefinition, job, op


class LoadConfig(Config):
    """Config of :func:`load`."""

    limit: int
    label: str = "rows"


@op
def emit() -> int:
    return 1


@op
def double(x: int) -> int:
    return 2 * x


@op
def add(x: int, y: int) -> int:
    return x + y


@op
def maybe(x: int = 10) -> int:
    return x


@op
def load(config: LoadConfig) -> list[int]:
    return list(range(config.limit))


@job
def chain() -> None:
    double(double(double(emit())))


@job
def diamond() -> None:
    value = emit()
    add(double(value), double(value))


@job(
    tags={"team": "data", "source": "job", "dagwright/priority": 1},
    config={"ops": {"load": {"config": {"limit": 3}}}},
)
def loader() -> None:
    load()


@job
def optional() -> None:
    maybe(emit())
    maybe()


#: Regions the partitioned job runs for.
REGIONS = StaticPartitionsDefinition(["eu", "us"])


@job(partitions_def=REGIONS)
def by_region() -> None:
    double(emit())
