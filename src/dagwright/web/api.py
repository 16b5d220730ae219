"""The HTTP API under ``/api/v1``: each route parses, calls one ``Instance`` method, and
answers JSON (runs and events in the same form as storage and ``--json``)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Body, Depends, Path, Query
from starlette.requests import Request
from starlette.responses import Response

from dagwright.definitions.job_json import job_detail, job_summary
from dagwright.definitions.workspace import LOCATION_SEPARATOR, split_reference
from dagwright.errors import (
    DagwrightError,
    DagwrightInvalidConfigError,
    DagwrightInvalidPartitionError,
    DagwrightNotFoundError,
    DagwrightRunNotFoundError,
)
from dagwright.runs.backfills import BackfillStatus
from dagwright.runs.models import RunsFilter, RunStatus
from dagwright.runs.ticks import RECENT_TICKS, InstigatorKind, InstigatorStatus
from dagwright.tags import parse_tag_filters, validate_tag_key
from dagwright.web import schemas
from dagwright.web.context import WebContext, web_context
from dagwright.web.errors import ApiError, from_dagwright
from dagwright.web.security import request_actor

router = APIRouter(tags=["dagwright"], responses=schemas.ERROR_RESPONSES)

Web = Annotated[WebContext, Depends(web_context)]
RunId = Annotated[str, Path(description="A run id.")]

#: The largest page of runs one request may ask for.
MAX_PAGE = 1000


def _json(data: Any, status: int = 200) -> Response:
    try:
        content = orjson.dumps(data)
    except orjson.JSONEncodeError:  # metadata integers past 64 bits: the standard library's
        content = json.dumps(data, allow_nan=False).encode()
    return Response(content, status_code=status, media_type="application/json")


def tag_filters(pairs: Sequence[str]) -> dict[str, list[str]]:
    """``tag=key=value`` filters: keys AND, values of one key OR.

    Raises:
        ApiError: a pair is not ``key=value`` or its key is malformed (field ``tag``).
    """
    try:
        return parse_tag_filters(pairs)
    except DagwrightError as exc:
        raise from_dagwright(exc, "tag") from None


# -- jobs ----------------------------------------------------------------------------------


@router.get("/jobs", response_model=schemas.JobsList)
def list_jobs(web: Web) -> Response:
    """The jobs of the loaded code, each with its code location and reference, typed
    metadata and tags."""
    return _json({"jobs": [job_summary(job, ref) for ref, job in web.jobs.items()]})


@router.get("/jobs/{name}", response_model=schemas.JobDetail)
def get_job(web: Web, name: str) -> Response:
    """One job, by reference (its name, or ``name@location`` when several code locations
    have a job of that name): metadata as ``{"type", "value"}``, tags, description, graph,
    partitions."""
    job = web.get_job(name)
    return _json(job_detail(job, web.definitions.reference(job)))


@router.get("/jobs/{location}/{name}", response_model=schemas.JobDetail)
def get_located_job(web: Web, location: str, name: str) -> Response:
    """One job of one code location (as ``/jobs/{name}@{location}``)."""
    return get_job(web, f"{name}{LOCATION_SEPARATOR}{location}")


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
        partition_key=body.partition_key,
    )
    return _json(run.to_json(), 201)


@router.get("/runs", response_model=schemas.RunsPage)
def list_runs(
    web: Web,
    tag: Annotated[list[str], Query(description="key=value; repeat: keys AND.")] = [],  # noqa: B006
    status: Annotated[list[RunStatus], Query(description="Any of these.")] = [],  # noqa: B006
    job: Annotated[
        str | None, Query(description="Only runs of this job (name@location: of that location).")
    ] = None,
    location: Annotated[
        str | None, Query(description="Only runs of jobs of this code location.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(description="Last run id of the previous page.")] = None,
    q: Annotated[str, Query(description="A run query: team:docs -env:prod (DESIGN §10).")] = "",
) -> Response:
    """Runs, newest first, filtered by a query, tags, status, job and code location;
    keyset pagination. A bad query is a 422 of type ``invalid_query`` with ``position``
    and ``expected``."""
    job_name, job_location = split_reference(job) if job else (None, None)
    filters = replace(
        RunsFilter.parse(q),
        job_name=job_name,
        location_name=location or job_location,
        statuses=status or None,
        tags=tag_filters(tag) or None,
    )
    try:
        runs = web.instance.get_runs(filters, limit=limit, cursor=cursor)
    except DagwrightRunNotFoundError:
        raise ApiError(422, "invalid_request", "cursor", "names no run") from None
    next_cursor = runs[-1].run_id if len(runs) == limit else None
    return _json({"runs": [run.to_json() for run in runs], "cursor": next_cursor})


@router.get("/runs/{run_id}", response_model=schemas.RunOut)
def get_run(web: Web, run_id: RunId) -> Response:
    """One run."""
    return _json(web.get_run(run_id).to_json())


@router.get("/runs/{run_id}/diff", response_model=schemas.RunDiffOut)
def diff_runs(
    web: Web,
    run_id: RunId,
    other: Annotated[
        str | None, Query(alias="with", description="The run to compare with; default: its parent.")
    ] = None,
) -> Response:
    """The run (right) side by side with another run or its parent (left): summary, tags,
    run config, op selection and each step's outcome. 422 on ``with`` for a run without a
    parent when no other run is named; 404 for an unknown run."""
    try:
        diff = web.instance.diff_runs(run_id, other or None)
    except DagwrightInvalidConfigError as exc:  # no parent, and no other run named
        raise ApiError(422, "invalid_request", "with", exc.rule) from None
    except DagwrightRunNotFoundError as exc:
        raise from_dagwright(exc, "run_id" if exc.run_id == run_id else "with") from None
    return _json(diff.to_json())


@router.get("/runs/{run_id}/events", response_model=schemas.EventsPage)
def get_events(
    web: Web,
    run_id: RunId,
    after: Annotated[int | None, Query(ge=0, le=2**62, description="A storage id.")] = None,
) -> Response:
    """The run's events in order, after the given storage id."""
    events = web.instance.get_events(run_id, after=after)
    return _json({"events": [event.to_json() for event in events]})


@router.get("/runs/{run_id}/logs", response_model=schemas.LogsPage)
def get_step_logs(
    web: Web,
    run_id: RunId,
    step: Annotated[str | None, Query(max_length=255, description="Only this step's.")] = None,
    stream: Annotated[
        Literal["stdout", "stderr"] | None, Query(description="Only this stream.")
    ] = None,
    after: Annotated[int | None, Query(ge=0, le=2**62, description="A chunk id.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="At most this many.")] = 100,
) -> Response:
    """The stdout and stderr of the run's steps, in chunks in the order they were written,
    after the given chunk id; ``cursor`` (the last chunk's id, else ``after``) is the
    ``after`` of the next request."""
    chunks = web.instance.get_step_logs(run_id, step, stream, after, limit=limit)
    cursor = chunks[-1].chunk_id if chunks else after
    return _json({"chunks": [chunk.to_json() for chunk in chunks], "cursor": cursor})


@router.get("/runs/{run_id}/k8s")
def get_k8s_job(web: Web, run_id: RunId) -> Response:
    """The Kubernetes Job created for the run, exactly as it was sent (404 when the run
    was not launched as a Job)."""
    job = web.instance.get_k8s_job(run_id)
    if job is None:
        raise ApiError(404, "not_found", "run_id", f"run {run_id!r} has no Kubernetes Job")
    return _json(job)


@router.patch("/runs/{run_id}/tags", response_model=schemas.RunOut)
def patch_tags(web: Web, request: Request, run_id: RunId, body: schemas.PatchTags) -> Response:
    """Add (or change) and remove user tags; all are checked before any is stored. The
    change is recorded in the run's tag history (actor: the token's name, else the
    client's address)."""
    web.get_run(run_id)  # an unknown run is a 404 even when a tag is wrong too
    actor = request_actor(request.scope)
    try:
        run = web.instance.update_run_tags(
            run_id, add=body.add, remove=body.remove, actor=actor, via="api"
        )
    except DagwrightError as exc:
        field = "remove" if getattr(exc, "key", None) in body.remove else "add"
        raise from_dagwright(exc, field) from None
    return _json(run.to_json())


@router.get("/runs/{run_id}/tag-history", response_model=schemas.TagHistory)
def get_tag_history(web: Web, run_id: RunId) -> Response:
    """Every change of the run's tags after it was created, oldest first."""
    return _json({"changes": web.instance.get_tag_history(run_id)})


@router.post("/runs/{run_id}/priority", response_model=schemas.RunOut)
def set_priority(web: Web, request: Request, run_id: RunId, body: schemas.SetPriority) -> Response:
    """Change the queue priority of a QUEUED run (409 otherwise); the next queue pass uses
    it."""
    actor = request_actor(request.scope)
    try:
        run = web.instance.set_run_priority(run_id, body.priority, actor=actor, via="api")
    except DagwrightError as exc:
        raise from_dagwright(exc, "priority") from None
    return _json(run.to_json())


@router.post("/runs/{run_id}/hold", response_model=schemas.RunOut)
def hold(web: Web, request: Request, run_id: RunId) -> Response:
    """Keep a QUEUED run from launching (409 for a run that is not QUEUED)."""
    actor = request_actor(request.scope)
    return _json(web.instance.hold_run(run_id, actor=actor, via="api").to_json())


@router.post("/runs/{run_id}/release", response_model=schemas.RunOut)
def release(web: Web, request: Request, run_id: RunId) -> Response:
    """Let a held QUEUED run launch again (409 for a run that is not QUEUED)."""
    actor = request_actor(request.scope)
    return _json(web.instance.release_run(run_id, actor=actor, via="api").to_json())


@router.post("/runs/{run_id}/reexecute", status_code=201, response_model=schemas.RunOut)
def reexecute(
    web: Web, run_id: RunId, body: Annotated[schemas.Reexecute | None, Body()] = None
) -> Response:
    """Re-execute a finished run as a new run (all steps, or from failure). Only runs of
    the code this server was started with (``-f``/``-m``) are re-executed (403 otherwise)."""
    options = body or schemas.Reexecute(from_failure=False, tags=None)
    child = web.instance.reexecute(
        run_id, from_failure=options.from_failure, tags=options.tags, definitions=web.definitions
    )
    return _json(child.to_json(), 201)


@router.post("/runs/{run_id}/terminate", response_model=schemas.RunOut)
def terminate(web: Web, run_id: RunId) -> Response:
    """Cancel a run (queued: at once; launched: its processes are stopped)."""
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
    values = web.instance.get_run_tag_values(key, prefix=prefix, limit=limit)
    return _json({"key": key, "values": [{"value": v, "count": c} for v, c in values]})


@router.get("/tag-stats", response_model=schemas.TagStatsOut)
def tag_stats(
    web: Web,
    key: Annotated[str, Query(description="The tag key.")],
    since: Annotated[
        str | None, Query(description="Start: epoch seconds or ISO 8601 (its UTC day).")
    ] = None,
    until: Annotated[
        str | None, Query(description="End: epoch seconds or ISO 8601 (to the next midnight).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Values to list.")] = 20,
) -> Response:
    """For each value of a tag key (the most used first): runs created in the window,
    successes, failures, success rate, p50/p95 duration, and the same per UTC day. The
    window defaults to the 30 days ending today."""
    try:
        stats = web.instance.get_tag_stats(key, since=since, until=until, limit=limit)
    except DagwrightInvalidConfigError as exc:
        raise from_dagwright(exc, exc.key) from None
    except DagwrightError as exc:
        raise from_dagwright(exc, "key") from None
    return _json(stats.to_json())


@router.get("/queue", response_model=schemas.QueueState)
def queue_state(web: Web) -> Response:
    """Queued runs in launch order with why each waits, and each tag limit's use."""
    from dagwright.runs.queue import queue_to_json

    return _json(queue_to_json(web.instance.get_queue_state()))


@router.get("/daemon", response_model=schemas.DaemonHealthOut)
def daemon_health(web: Web) -> Response:
    """The daemons' health: each expected loop, each daemon's last heartbeat of it (time,
    age), and whether it is healthy (passed within ~3 intervals), late or missing."""
    return _json(web.instance.get_daemon_health().to_json())


# -- schedules, sensors and ticks ----------------------------------------------------------

InstigatorName = Annotated[str, Path(description="A schedule or sensor of the loaded code.")]


def _instigators(web: WebContext, kind: InstigatorKind, name: str | None = None) -> Response:
    now = time.time()
    rows = web.instance.get_instigators(web.definitions, kind, name=name, ticks=RECENT_TICKS)
    found = [row.to_json(now) for row in rows]
    return _json(found[0] if name is not None else {f"{kind.value}s": found})


def _set_status(web: WebContext, kind: InstigatorKind, name: str, running: bool) -> Response:
    status = InstigatorStatus.RUNNING if running else InstigatorStatus.STOPPED
    web.instance.set_instigator_status(name, kind, status, definitions=web.definitions)
    return _instigators(web, kind, name)


@router.get("/schedules", response_model=schemas.SchedulesList)
def list_schedules(web: Web) -> Response:
    """Every schedule of the loaded code: cron, time zone, job, state, next and recent ticks."""
    return _instigators(web, InstigatorKind.SCHEDULE)


@router.get("/schedules/{name}", response_model=schemas.ScheduleOut)
def get_schedule(web: Web, name: InstigatorName) -> Response:
    """One schedule: its definition, state, next tick and recent ticks."""
    return _instigators(web, InstigatorKind.SCHEDULE, name)


@router.post("/schedules/{name}/start", response_model=schemas.ScheduleOut)
def start_schedule(web: Web, name: InstigatorName) -> Response:
    """Start a schedule (persisted): its next tick is the first cron time after now."""
    return _set_status(web, InstigatorKind.SCHEDULE, name, running=True)


@router.post("/schedules/{name}/stop", response_model=schemas.ScheduleOut)
def stop_schedule(web: Web, name: InstigatorName) -> Response:
    """Stop a schedule (persisted)."""
    return _set_status(web, InstigatorKind.SCHEDULE, name, running=False)


@router.get("/sensors", response_model=schemas.SensorsList)
def list_sensors(web: Web) -> Response:
    """Every sensor of the loaded code: job, minimum interval, state, cursor, recent ticks."""
    return _instigators(web, InstigatorKind.SENSOR)


@router.get("/sensors/{name}", response_model=schemas.SensorOut)
def get_sensor(web: Web, name: InstigatorName) -> Response:
    """One sensor: its definition, state, cursor and recent ticks."""
    return _instigators(web, InstigatorKind.SENSOR, name)


@router.post("/sensors/{name}/start", response_model=schemas.SensorOut)
def start_sensor(web: Web, name: InstigatorName) -> Response:
    """Start a sensor (persisted): the daemon evaluates it on its next pass."""
    return _set_status(web, InstigatorKind.SENSOR, name, running=True)


@router.post("/sensors/{name}/stop", response_model=schemas.SensorOut)
def stop_sensor(web: Web, name: InstigatorName) -> Response:
    """Stop a sensor (persisted)."""
    return _set_status(web, InstigatorKind.SENSOR, name, running=False)


@router.get("/ticks", response_model=schemas.TicksPage)
def list_ticks(
    web: Web,
    name: Annotated[str | None, Query(description="Of this schedule or sensor.")] = None,
    kind: Annotated[InstigatorKind | None, Query(description="Only of this kind.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    before: Annotated[int | None, Query(ge=0, le=2**62, description="A tick_id.")] = None,
) -> Response:
    """Ticks of schedules and sensors, newest first; ``before`` pages back."""
    if name is not None:
        web.check_instigator_name(name, kind)
    ticks = web.instance.get_ticks(name, kind=kind, limit=limit, before=before)
    cursor = ticks[-1].tick_id if len(ticks) == limit else None
    return _json({"ticks": [tick.to_json() for tick in ticks], "cursor": cursor})


# -- backfills -----------------------------------------------------------------------------

BackfillId = Annotated[str, Path(description="A backfill id.")]


@router.get("/backfills", response_model=schemas.BackfillsPage)
def list_backfills(
    web: Web,
    status: Annotated[BackfillStatus | None, Query(description="Only in this status.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(description="Last backfill_id of the page.")] = None,
) -> Response:
    """Backfills, newest first, each with its progress; keyset pagination."""
    try:
        found = web.instance.get_backfills(limit=limit, cursor=cursor, status=status)
    except DagwrightNotFoundError:
        raise ApiError(422, "invalid_request", "cursor", "names no backfill") from None
    next_cursor = found[-1].backfill_id if len(found) == limit else None
    return _json({"backfills": [b.to_json() for b in found], "cursor": next_cursor})


@router.post("/backfills", status_code=201, response_model=schemas.BackfillOut)
def create_backfill(web: Web, body: schemas.CreateBackfill) -> Response:
    """Launch a backfill of a partitioned job: one run per partition (null: every one),
    submitted by the daemon (through the queue when one is configured)."""
    job = web.get_job(body.job_name)
    try:
        backfill_id = web.instance.launch_backfill(job, body.partition_keys, tags=body.tags)
    except DagwrightInvalidPartitionError as exc:
        field = "job_name" if exc.partition_key is None else "partition_keys"
        raise from_dagwright(exc, field) from None
    return _json(web.get_backfill(backfill_id).to_json(), 201)


@router.get("/backfills/{backfill_id}", response_model=schemas.BackfillOut)
def get_backfill(web: Web, backfill_id: BackfillId) -> Response:
    """One backfill with its progress (runs by status)."""
    return _json(web.get_backfill(backfill_id).to_json())


@router.post("/backfills/{backfill_id}/cancel", response_model=schemas.BackfillOut)
def cancel_backfill(web: Web, backfill_id: BackfillId) -> Response:
    """Cancel a backfill: no more runs are submitted; its waiting runs are canceled."""
    return _json(web.instance.cancel_backfill(backfill_id).to_json())
