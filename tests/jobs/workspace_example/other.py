"""Code location ``other`` of the example workspace (named after the file)."""

from __future__ import annotations

from dagwright import job, op


@op
def summarise() -> str:
    return "ok"


@job
def report() -> None:
    summarise()
