"""A second code location for the Celery tests: another job named ``two_queues`` (its
extract gives other rows), so a worker started with both files must run each run's own.

Queue names follow ``tests/jobs/celery_jobs.py`` (``$DAGWRIGHT_TEST_QUEUE_PREFIX``).
"""

from __future__ import annotations

import os

from dagwright import job, op
from dagwright.celery import celery_executor
from dagwright.tags import CELERY_QUEUE_TAG

PREFIX = os.environ.get("DAGWRIGHT_TEST_QUEUE_PREFIX", "")


@op(name="extract", tags={CELERY_QUEUE_TAG: PREFIX + "alpha"})
def extract_other() -> dict[str, list[int]]:
    return {"rows": [10, 20]}


@op(name="transform", tags={CELERY_QUEUE_TAG: PREFIX + "alpha"})
def transform_other(data: dict[str, list[int]]) -> int:
    return sum(data["rows"])


@job(executor_def=celery_executor)
def two_queues() -> None:
    transform_other(extract_other())
