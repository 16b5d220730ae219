"""A one-op job that ends at once, for many launched runs (the multi-daemon tests)."""

from __future__ import annotations

from dagwright import job, op


@op
def ping() -> int:
    return 1


@job
def quick() -> None:
    ping()
