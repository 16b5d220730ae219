"""The HTTP API under ``/api/v1``: each route parses, calls one ``Instance`` method, and
answers JSON (runs and events in the same form as storage and ``--json``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Depends, Path, Query
from starlette.responses import Response

from dagwright.errors import DagwrightError, DagwrightRunNotFoundError
from dagwright.runs.models import Run, RunsFilter, RunStatus
from dagwright.tags import parse_tag_pair, validate_tag_key
from dagwright.web import schemas
from dagwright.web.context import WebContext, web_context
from dagwright.web.errors import ApiError, from_dagwright

router = APIRouter(tags=["dagwright"], responses=schemas.ERROR_RESPONSES)

Web = Annotated[WebContext, Depends(web_context)]
RunId = Annotated[str, Path(description="A run id.")]

#: The largest page of runs one request may ask for.
MAX_PAGE = 1000


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def _text(field: str, value: str | None) -> str | None:
    """Refuse strings no database can hold (NUL characters)."""
    if value is not None and "\x00" in value:
        raise ApiError(422, "invalid_request", field, "must not contain NUL characters")
    return value


def _require_run(web: WebContext, run_id: str) -> Run:
    run = web.instance.get_run(_text("run_id", run_id) or "")
    if run is None:
        raise from_dagwright(DagwrightRunNotFoundError(run_id))
    return run


def tag_filters(pairs: Sequence[str]) -> dict[str, list[str]]:
    """``tag=key=value`` filters: keys AND, values of one key OR.

    Raises:
        ApiError: a pair is not ``key=value`` or its key is malformed (field ``tag``).
    """
    filters: dict[str, list[str]] = {}
    for pair in pairs:
        try:
            key, value = parse_tag_pair(pair)
        except DagwrightError as exc:
            raise from_dagwright(exc, "tag") from None
        filters.setdefault(key, []).append(_text("tag", value) or "")
    return filters


# -- jobs ----------------------------------------------------------------------------------


@router.get("/jobs", response_model=schemas.JobsList)
def list_jobs(web: Web) -> Response:
    """The jobs of the loaded code, with their typed metadata and tags."""
    return _json({"jobs": [schemas.job_summary(job) for job in web.jobs.values()]})


@router.get("/jobs/{name}", response_model=schemas.JobDetail)
def get_job(web: Web, name: str) -> Response:
    """One job: metadata as ``{"type", "value"}``, tags, description, graph, partitions."""
    return _json(schemas.job_detail(web.get_job(name)))


# -- runs ----------------------------------------------------------------------------------


@router.post("/runs", status_code=201, response_model=schemas.RunOut)
def create_run(web: Web, body: schemas.CreateRun) -> Response:
    """Submit a run of a loaded job (queued, or launched at once without a run queue)."""
    job = web.get_job(body.job_name)
    run = web.instance.submit_run(
        job,
        run_config=body.run_config,
        tags=body.tags,
        op_selection=body.op_selection,
        partition_key=_text("partition_key", body.partition_key),
    )
    return _json(run.to_json(), 201)


@router.get("/runs", response_model=schemas.RunsPage)
def list_runs(
    web: Web,
    tag: Annotated[list[str], Query(description="key=value; repeat: keys AND.")] = [],  # noqa: B006
    status: Annotated[list[RunStatus], Query(description="Any of these.")] = [],  # noqa: B006
    job: Annotated[str | None, Query(description="Only runs of this job.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(description="Last run id of the previous page.")] = None,
) -> Response:
    """Runs, newest first, filtered by tags, status and job; keyset pagination."""
    filters = RunsFilter(
        job_name=_text("job", job),
        statuses=status or None,
        tags=tag_filters(tag) or None,
    )
    try:
        runs = web.instance.get_runs(filters, limit=limit, cursor=_text("cursor", cursor))
    except DagwrightRunNotFoundError:
        raise ApiError(422, "invalid_request", "cursor", "names no run") from None
    next_cursor = runs[-1].run_id if len(runs) == limit else None
    return _json({"runs": [run.to_json() for run in runs], "cursor": next_cursor})


@router.get("/runs/{run_id}", response_model=schemas.RunOut)
def get_run(web: Web, run_id: RunId) -> Response:
    """One run."""
    return _json(_require_run(web, run_id).to_json())


@router.get("/runs/{run_id}/events", response_model=schemas.EventsPage)
def get_events(
    web: Web,
    run_id: RunId,
    after: Annotated[int | None, Query(ge=0, le=2**62, description="A storage id.")] = None,
) -> Response:
    """The run's events in order, after the given storage id."""
    _require_run(web, run_id)
    events = web.instance.get_events(run_id, after=after)
    return _json({"events": [event.to_json() for event in events]})


@router.patch("/runs/{run_id}/tags", response_model=schemas.RunOut)
def patch_tags(web: Web, run_id: RunId, body: schemas.PatchTags) -> Response:
    """Add (or change) and remove user tags; all are checked before any is stored."""
    _require_run(web, run_id)
    try:
        run = web.instance.update_run_tags(run_id, add=body.add, remove=body.remove)
    except DagwrightError as exc:
        field = "remove" if getattr(exc, "key", None) in body.remove else "add"
        raise from_dagwright(exc, field) from None
    return _json(run.to_json())


@router.post("/runs/{run_id}/reexecute", status_code=201, response_model=schemas.RunOut)
def reexecute(
    web: Web, run_id: RunId, body: Annotated[schemas.Reexecute | None, Body()] = None
) -> Response:
    """Re-execute a finished run as a new run (all steps, or from failure)."""
    _require_run(web, run_id)
    options = body or schemas.Reexecute(from_failure=False, tags=None)
    child = web.instance.reexecute(run_id, from_failure=options.from_failure, tags=options.tags)
    return _json(child.to_json(), 201)


@router.post("/runs/{run_id}/terminate", response_model=schemas.RunOut)
def terminate(web: Web, run_id: RunId) -> Response:
    """Cancel a run (queued: at once; launched: its processes are stopped)."""
    _require_run(web, run_id)
    return _json(web.instance.terminate(run_id).to_json())


# -- tags and the queue --------------------------------------------------------------------


@router.get("/tags", response_model=schemas.TagKeys)
def tag_keys(web: Web) -> Response:
    """Every tag key used by some run, sorted."""
    return _json({"keys": web.instance.get_run_tag_keys()})


@router.get("/tags/{key:path}", response_model=schemas.TagValues)
def tag_values(
    web: Web,
    key: str,
    prefix: Annotated[str, Query(description="Only values starting with this.")] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> Response:
    """The values of one tag key with their run counts, most used first."""
    try:
        validate_tag_key(key)
    except DagwrightError as exc:
        raise from_dagwright(exc, "key") from None
    values = web.instance.get_run_tag_values(key, prefix=_text("prefix", prefix) or "", limit=limit)
    return _json({"key": key, "values": [{"value": v, "count": c} for v, c in values]})


@router.get("/queue", response_model=schemas.QueueState)
def queue_state(web: Web) -> Response:
    """Queued runs in launch order with why each waits, and each tag limit's use."""
    from dagwright.runs.queue import queue_to_json

    return _json(queue_to_json(web.instance.get_queue_state()))
