"""What schedule and sensor ticks share: turning ``RunRequest``s into validated runs, and
recording a tick's outcome.

A tick is stored as STARTED before anything is submitted, and each run it asks for gets a
deterministic id (from the tick and the request), so a tick evaluated again after a crash
finds its runs already stored and submits no duplicates (``Instance.submit_runs``).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from dagwright.definitions.job import JobDefinition
from dagwright.definitions.run_request import RunRequest
from dagwright.runs.models import Run
from dagwright.runs.ticks import Tick, TickError, TickStatus
from dagwright.tags import RUN_KEY_TAG, merge_tags

if TYPE_CHECKING:
    from dagwright.instance import Instance


def prepare_requests(
    job: JobDefinition,
    requests: Sequence[RunRequest],
    definition_tags: Mapping[str, str],
    system_tags: Mapping[str, str],
    run_id_for: Callable[[int, RunRequest], str],
) -> list[Run]:
    """The validated runs of a tick's requests (nothing stored): job tags, then the
    schedule's or sensor's tags, then the request's tags, then system tags.

    Raises:
        DagwrightError: a request would be refused (bad config, partition key …).
    """
    from dagwright.runs.request import RunOrigin, prepare_run

    runs = []
    for index, request in enumerate(requests):
        system = dict(system_tags)
        if request.run_key is not None:
            system[RUN_KEY_TAG] = request.run_key
        prepared = prepare_run(
            job,
            run_config=request.run_config,
            partition_key=request.partition_key,
            definition_tags=merge_tags(definition_tags, request.tags),
            origin=RunOrigin(run_id_for(index, request), system),
        )
        runs.append(prepared.run)
    return runs


def error_of(exc: BaseException, where: str) -> TickError:
    """A tick error from an exception: one line, and the traceback of user code."""
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return TickError(f"error in {where}: {type(exc).__name__}: {exc}", trace)


def finish(instance: Instance, tick: Tick, status: TickStatus, **outcome: object) -> Tick:
    """Store a tick's outcome (status, runs, reason, error …) and return it."""
    done = replace(tick, status=status, ended_at=time.time(), **outcome)  # type: ignore[arg-type]
    return instance.storage.schedules.update_tick(done)
