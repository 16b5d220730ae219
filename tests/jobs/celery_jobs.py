"""Jobs for the Celery executor tests; their steps run on ``dagwright celery worker``s.

Queue names start with ``$DAGWRIGHT_TEST_QUEUE_PREFIX`` (read when the module is loaded:
by the run worker and the Celery workers of one test, which share that environment), so
that tests never share a queue. Ops that wait do so on files named by run tags.

``two_queues``:   extract (queue alpha) -> transform (queue beta)
``priorities``:   p1, p3, p7, p9 (op priorities 1, 3, 7, 9; no dependencies)
``die_once``:     die_once (the first attempt blocks until killed, the next returns)
``block_pair``:   block, block_2 (each waits for the file of tag ``release``)
``with_context``: configured (config, tags, partition, logs) -> big (a large output)
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from dagwright import Config, OpExecutionContext, StaticPartitionsDefinition, job, op
from dagwright.celery import celery_executor
from dagwright.tags import CELERY_PRIORITY_TAG, CELERY_QUEUE_TAG

#: The environment variable holding the queue-name prefix of one test.
QUEUE_PREFIX_ENV = "DAGWRIGHT_TEST_QUEUE_PREFIX"

PREFIX = os.environ.get(QUEUE_PREFIX_ENV, "")

#: The environment variable naming a file this module appends its process id to each
#: time it is loaded (to count loads per process).
LOAD_LOG_ENV = "DAGWRIGHT_TEST_LOAD_LOG"

if os.environ.get(LOAD_LOG_ENV):
    with open(os.environ[LOAD_LOG_ENV], "a") as _log:
        _log.write(f"{os.getpid()}\n")

#: Seconds an op waits at most for its file.
LIMIT = 60.0


def queue(name: str) -> str:
    """The name of queue ``name`` in this test."""
    return PREFIX + name


def _worker(context: OpExecutionContext) -> dict[str, Any]:
    return {"pid": os.getpid(), "step": context.run_id}


@op(tags={CELERY_QUEUE_TAG: queue("alpha")})
def extract(context: OpExecutionContext) -> dict[str, Any]:
    return {"rows": [1, 2, 3], **_worker(context)}


@op(tags={CELERY_QUEUE_TAG: queue("beta")})
def transform(context: OpExecutionContext, data: dict[str, Any]) -> int:
    context.log.info(f"summing {len(data['rows'])} rows")
    return sum(data["rows"])


@job(executor_def=celery_executor)
def two_queues() -> None:
    transform(extract())


def _priority_op(priority: int) -> Any:
    @op(name=f"p{priority}", tags={CELERY_PRIORITY_TAG: priority})
    def prioritised() -> int:
        return priority

    return prioritised


P1, P3, P7, P9 = (_priority_op(p) for p in (1, 3, 7, 9))


@job(executor_def=celery_executor)
def priorities() -> None:
    P1()
    P3()
    P7()
    P9()


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + LIMIT
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


@op(tags={CELERY_QUEUE_TAG: queue("kill")})
def die_once(context: OpExecutionContext) -> str:
    """The first attempt marks the file of tag ``marker`` and blocks (the test kills its
    worker); a later attempt returns at once."""
    marker = Path(context.get_tag("marker") or "")
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        _wait_for(marker.with_suffix(".never"))
        return "first attempt ran out"
    return "taken over"


@job(executor_def=celery_executor)
def die_once_job() -> None:
    die_once()


@op
def block(context: OpExecutionContext) -> str:
    _wait_for(Path(context.get_tag("release") or ""))
    return "released"


@job(executor_def=celery_executor)
def block_pair() -> None:
    block()
    block.alias("block_2")()


class Greeting(Config):
    greeting: str = "hello"


@op
def configured(context: OpExecutionContext, config: Greeting) -> dict[str, Any]:
    context.log.info(f"{config.greeting} from partition {context.partition_key}")
    context.log.warning("careful")
    return {
        "greeting": config.greeting,
        "partition": context.partition_key,
        "team": context.get_tag("team"),
        "has_team": context.has_tag("team"),
        "run_id": context.run_id,
    }


@op
def big(context: OpExecutionContext, info: dict[str, Any]) -> bytes:
    return b"x" * int(context.get_tag("big_bytes") or "10")


@job(
    executor_def=celery_executor,
    partitions_def=StaticPartitionsDefinition(["eu", "us"]),
)
def with_context() -> None:
    big(configured())


@op(name="count_rows")
def count_rows_tagging(context: OpExecutionContext) -> int:
    context.add_run_tags({"rows": 1200, "stage": "counted"})
    return 1200


@op(name="finish")
def finish_tagging(context: OpExecutionContext, rows: int) -> None:
    assert context.get_tag("stage") == "counted"
    context.remove_run_tags(["stage"])
    context.add_run_tags({"done": rows})


@job(executor_def=celery_executor)
def tagged_on_celery() -> None:
    """Ops that tag their run from Celery workers."""
    finish_tagging(count_rows_tagging())
