"""Code location ``etl`` of the example workspace: ``nightly`` (and ``load_sales``)."""

from __future__ import annotations

from dagwright import job, op


@op
def extract_sales() -> int:
    return 3


@job(tags={"team": "etl"})
def nightly() -> None:
    extract_sales()


@job
def load_sales() -> None:
    extract_sales()
