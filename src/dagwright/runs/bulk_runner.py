"""Acting on the runs of a bulk action, chunk by chunk (DESIGN §10).

Each run goes through the instance's own method (``terminate``, ``reexecute``,
``update_run_tags``, ``delete_run``), so every rule and audit of a single-run change
holds; a run the method refuses (a ``DagwrightError``, or a state the action needs and
the run is not in) is recorded as refused with the reason, and the next run goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from dagwright.errors import DagwrightError, DagwrightRunNotFoundError
from dagwright.execution.events import Event, EventType
from dagwright.runs.bulk import BulkAction
from dagwright.runs.models import RunStatus
from dagwright.tags import PRIORITY_TAG

if TYPE_CHECKING:
    from dagwright.definitions.container import Definitions
    from dagwright.instance import Instance

#: Runs read, acted on and recorded per step.
CHUNK: Final = 500

Act = Callable[["Instance", str, Mapping[str, Any], "Definitions | None"], str | None]


def _terminate(instance: Instance, run_id: str, _: Mapping[str, Any], __: Any) -> str | None:
    instance.terminate(run_id)
    return None


def _reexecute(
    instance: Instance, run_id: str, params: Mapping[str, Any], definitions: Definitions | None
) -> str | None:
    instance.reexecute(run_id, from_failure=params["from_failure"], definitions=definitions)
    return None


def _add_tags(instance: Instance, run_id: str, params: Mapping[str, Any], _: Any) -> str | None:
    instance.update_run_tags(run_id, add=params["tags"])
    return None


def _remove_tags(instance: Instance, run_id: str, params: Mapping[str, Any], _: Any) -> str | None:
    instance.update_run_tags(run_id, remove=params["keys"])
    return None


def _set_priority(instance: Instance, run_id: str, params: Mapping[str, Any], _: Any) -> str | None:
    status = _status(instance, run_id)
    if status is not RunStatus.QUEUED:
        return f"not queued ({status.value}): only a queued run's priority can change"
    instance.update_run_tags(run_id, add={PRIORITY_TAG: str(params["priority"])})
    return None


def _delete(instance: Instance, run_id: str, _: Mapping[str, Any], __: Any) -> str | None:
    status = _status(instance, run_id)
    if not status.is_finished:
        return f"not finished ({status.value}): only finished runs are deleted"
    instance.delete_run(run_id)
    return None


def _status(instance: Instance, run_id: str) -> RunStatus:
    run = instance.get_run(run_id)
    if run is None:
        raise DagwrightRunNotFoundError(run_id)
    return run.status


#: What each action does to one run: None when done, else why it was refused.
ACTIONS: Final[Mapping[BulkAction, Act]] = {
    BulkAction.TERMINATE: _terminate,
    BulkAction.REEXECUTE: _reexecute,
    BulkAction.ADD_TAGS: _add_tags,
    BulkAction.REMOVE_TAGS: _remove_tags,
    BulkAction.SET_PRIORITY: _set_priority,
    BulkAction.DELETE: _delete,
}


Outcome = tuple[str, str | None]
Batch = Callable[["Instance", list[str], Mapping[str, Any], "Definitions | None"], list[Outcome]]


def _terminate_many(
    instance: Instance, run_ids: list[str], params: Mapping[str, Any], definitions: Any
) -> list[Outcome]:
    """Runs not launched yet are canceled together (one transaction); the others (and a
    run that moved meanwhile) one by one, as ``Instance.terminate`` does."""
    statuses = instance.storage.runs.get_statuses(run_ids)
    waiting = [r for r in run_ids if statuses.get(r) in (RunStatus.QUEUED, RunStatus.NOT_STARTED)]
    now = time.time()
    events = [
        Event(r, EventType.RUN_CANCELED, now, message="canceled before launch") for r in waiting
    ]
    refusals = dict(zip(waiting, instance.storage.events.store_events_each(events), strict=True))
    outcomes: list[Outcome] = []
    for run_id in run_ids:
        if run_id in refusals and refusals[run_id] is None:
            outcomes.append(("done", None))
        else:
            outcomes.append(_one(_terminate, instance, run_id, params, definitions))
    return outcomes


def _tags_many(
    instance: Instance, run_ids: list[str], params: Mapping[str, Any], _: Any
) -> list[Outcome]:
    from dagwright.instance import tag_audit

    add, remove = params.get("tags", {}), params.get("keys", ())
    audit = tag_audit(params.get("actor"), params.get("via", "python"))
    refusals = instance.storage.runs.update_tags_each(run_ids, add, remove, audit)
    return [("done", None) if why is None else ("refused", why) for why in refusals]


#: Actions done a chunk at a time (the same rules, fewer transactions).
BATCHES: Final[Mapping[BulkAction, Batch]] = {
    BulkAction.TERMINATE: _terminate_many,
    BulkAction.ADD_TAGS: _tags_many,
    BulkAction.REMOVE_TAGS: _tags_many,
}


def run_bulk(
    instance: Instance,
    bulk_id: str,
    *,
    definitions: Definitions | None = None,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Act on every pending run of the bulk action ``bulk_id``, then mark it DONE.

    Args:
        instance: the instance the runs live in.
        bulk_id: a started bulk action (see ``Instance.start_bulk``).
        definitions: the code a server was started with (re-executions take their jobs
            from it and import nothing).
        progress: called with the number of runs just acted on, after each chunk.
    """
    store = instance.storage.bulk
    bulk = store.get(bulk_id, with_results=False)
    after = 0
    while chunk := store.pending(bulk_id, after=after, limit=CHUNK):
        done = _chunk(
            instance, bulk.action, [run_id for _, run_id in chunk], bulk.params, definitions
        )
        store.record(
            [(rid, outcome, why) for (rid, _), (outcome, why) in zip(chunk, done, strict=True)]
        )
        after = chunk[-1][0]
        if progress is not None:
            progress(len(chunk))
    store.finish(bulk_id)


def _chunk(
    instance: Instance,
    action: BulkAction,
    run_ids: list[str],
    params: Mapping[str, Any],
    definitions: Definitions | None,
) -> list[Outcome]:
    batch = BATCHES.get(action)
    if batch is not None:
        return batch(instance, run_ids, params, definitions)
    act = ACTIONS[action]
    return [_one(act, instance, run_id, params, definitions) for run_id in run_ids]


def _one(
    act: Act,
    instance: Instance,
    run_id: str,
    params: Mapping[str, Any],
    definitions: Definitions | None,
) -> tuple[str, str | None]:
    try:
        refusal = act(instance, run_id, params, definitions)
    except DagwrightError as exc:
        return "refused", str(exc)
    return ("done", None) if refusal is None else ("refused", refusal)
