"""The pages: server-rendered Jinja2 (autoescaped), each route parse → one ``Instance``
call → render. Forms post back to the same app (same-origin checked by ``security``) and
redirect (303) to the page showing the result."""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Query, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from dagwright.errors import DagwrightError, DagwrightRunNotFoundError
from dagwright.runs.models import Run, RunsFilter, RunStatus
from dagwright.tags import (
    CONTROL_TAGS,
    KEY_PATTERN,
    MAX_RETRIES_TAG,
    MAX_RUNTIME_TAG,
    MAX_VALUE_BYTES,
    PARENT_RUN_ID_TAG,
    PRIORITY_TAG,
    RETRY_STRATEGIES,
    RETRY_STRATEGY_TAG,
    SYSTEM_PREFIX,
    is_system_tag,
    parse_tag_pair,
)
from dagwright.web import dag, launchpad, render, timeline
from dagwright.web.context import WebContext, web_context
from dagwright.web.errors import ApiError, from_dagwright
from dagwright.web.query import PAGE_SIZE, RunsQuery

router = APIRouter(include_in_schema=False)
Web = Annotated[WebContext, Depends(web_context)]

#: The pages in the navigation bar: (label, path). A new page group adds itself here.
NAV: list[tuple[str, str]] = [("Jobs", "/jobs"), ("Runs", "/runs"), ("Queue", "/queue")]

#: Runs shown on a job's overview page.
LATEST_RUNS = 10


@lru_cache(maxsize=1)
def templates() -> Jinja2Templates:
    """The page templates, autoescaped, with the rendering helpers as filters."""
    import jinja2

    from dagwright.web.app import HERE

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        markdown=render.markdown_html,
        safe_url=render.safe_url,
        abstime=render.absolute_time,
        isotime=render.iso_time,
        duration=render.duration,
        pretty_json=render.pretty_json,
        json_summary=render.json_summary,
        cell=render.cell,
    )
    env.globals.update(
        relative_time=render.relative_time,
        run_duration=render.run_duration,
        visible_tags=render.visible_tags,
        visible_metadata=render.visible_metadata,
        chips_html=render.chips_html,
        when_html=render.when_html,
        status_html=render.status_html,
        nav=NAV,
        is_system_tag=is_system_tag,
        table_columns=render.table_columns,
        statuses=[s.value for s in RunStatus],
    )
    return Jinja2Templates(env=env)


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a page template with ``now`` and the loaded jobs in its context."""
    web = web_context(request)
    context.setdefault("now", time.time())
    context["job_names"] = list(web.jobs)
    response: HTMLResponse = templates().TemplateResponse(
        request, name, context, status_code=status
    )
    return response


def error_page(request: Request, status: int, message: str) -> Response:
    """The page shown for an error (the API answers JSON instead)."""
    return page(request, "error.html", status=status, status_code=status, message=message)


def tag_rules() -> dict[str, Any]:
    """The tag rules, for the pages' inline validation (``static/app.js`` mirrors
    ``dagwright.tags``; a browser test checks they agree)."""
    return {
        "key_pattern": KEY_PATTERN,
        "system_prefix": SYSTEM_PREFIX,
        "control_tags": sorted(CONTROL_TAGS),
        "max_value_bytes": MAX_VALUE_BYTES,
        "integer_tags": {PRIORITY_TAG: None, MAX_RETRIES_TAG: 0},
        "choice_tags": {RETRY_STRATEGY_TAG: list(RETRY_STRATEGIES)},
        "positive_tags": [MAX_RUNTIME_TAG],
    }


async def form_fields(request: Request) -> list[tuple[str, str]]:
    """The fields of a URL-encoded form post."""
    body = (await request.body()).decode("utf-8", "replace")
    return parse_qsl(body, keep_blank_values=True)


Form = Annotated[list[tuple[str, str]], Depends(form_fields)]


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# -- jobs ----------------------------------------------------------------------------------


@router.get("/")
@router.get("/jobs")
def jobs_page(request: Request, web: Web) -> Response:
    """Every loaded job: description, owner and links from its metadata, tags, last run."""
    latest = {
        name: next(iter(web.instance.get_runs(RunsFilter(job_name=name), limit=1)), None)
        for name in web.jobs
    }
    return page(request, "jobs.html", jobs=list(web.jobs.values()), latest=latest)


@router.get("/jobs/{name}")
def job_page(request: Request, web: Web, name: str) -> Response:
    """A job's overview: its graph, description, metadata pane, tags, partitions, runs."""
    job = web.get_job(name)
    names = list(job.graph.nodes)
    edges = [(e.from_node, e.to_node) for e in job.graph.edges]
    runs = web.instance.get_runs(RunsFilter(job_name=name), limit=LATEST_RUNS)
    from dagwright.web.schemas import partitions_json

    return page(
        request,
        "job.html",
        job=job,
        metadata=render.visible_metadata(job.metadata),
        layout=dag.layout(names, edges),
        partitions=partitions_json(job),
        runs=runs,
    )


@router.get("/jobs/{name}/launchpad")
def launchpad_page(request: Request, web: Web, name: str) -> Response:
    """The launchpad: run config, op selection, partition, tags."""
    job = web.get_job(name)
    form = launchpad.LaunchForm(run_config_text=launchpad.default_config_text(job))
    return _launchpad(request, web, name, form)


def _launchpad(
    request: Request, web: WebContext, name: str, form: Any, status: int = 200
) -> Response:
    job = web.get_job(name)
    from dagwright.web.schemas import partitions_json

    return page(
        request,
        "launchpad.html",
        status=status,
        job=job,
        form=form,
        partitions=partitions_json(job),
        tag_rules=tag_rules(),
    )


@router.post("/jobs/{name}/launchpad/check")
def launchpad_check(web: Web, name: str, fields: Form) -> Response:
    """Check a launchpad form without launching: ``{"errors": {field: message}}``."""
    job = web.get_job(name)
    form = launchpad.parse_form(fields)
    launchpad.check(form, job)
    return JSONResponse({"ok": not form.errors, "errors": form.errors})


@router.post("/jobs/{name}/launchpad")
def launch(request: Request, web: Web, name: str, fields: Form) -> Response:
    """Launch from the launchpad, then show the run (or the form again, with errors)."""
    job = web.get_job(name)
    form = launchpad.parse_form(fields)
    launchpad.check(form, job)
    if form.errors:
        return _launchpad(request, web, name, form, status=422)
    try:
        run = web.instance.submit_run(
            job,
            run_config=form.run_config,
            tags=form.tags,
            op_selection=form.op_selection,
            partition_key=form.partition_key or None,
        )
    except DagwrightError as exc:
        error = from_dagwright(exc)
        form.errors[error.field or "run_config"] = error.message
        return _launchpad(request, web, name, form, status=error.status)
    return _see_other(f"/runs/{run.run_id}")


# -- runs ----------------------------------------------------------------------------------


@router.get("/runs")
def runs_page(
    request: Request,
    web: Web,
    tag: Annotated[list[str], Query()] = [],  # noqa: B006
    status: Annotated[list[str], Query()] = [],  # noqa: B006
    job: str | None = None,
    system: str | None = None,
    cursor: str | None = None,
) -> Response:
    """Runs, newest first: status, job, duration, tags as chips that filter on a click."""
    query = RunsQuery.parse(
        [_tag_pair(pair) for pair in tag],
        [_status(s) for s in status if s],
        job,
        system == "1",
        cursor,
    )
    try:
        runs = web.instance.get_runs(query.runs_filter(), limit=PAGE_SIZE, cursor=query.cursor)
    except DagwrightRunNotFoundError:
        raise ApiError(422, "invalid_request", "cursor", "names no run") from None
    next_cursor = runs[-1].run_id if len(runs) == PAGE_SIZE else None
    return page(request, "runs.html", runs=runs, query=query, next_cursor=next_cursor)


def _tag_pair(text: str) -> tuple[str, str]:
    try:
        return parse_tag_pair(text)
    except DagwrightError as exc:
        raise from_dagwright(exc, "tag") from None


def _status(text: str) -> RunStatus:
    try:
        return RunStatus(text.upper())
    except ValueError:
        known = ", ".join(s.value for s in RunStatus)
        raise ApiError(422, "invalid_request", "status", f"one of {known}") from None


def _require_run(web: WebContext, run_id: str) -> Run:
    run = web.instance.get_run(run_id)
    if run is None:
        raise DagwrightRunNotFoundError(run_id)
    return run


@router.get("/runs/{run_id}")
def run_page(request: Request, web: Web, run_id: str) -> Response:
    """A run: status, timing, tags (editable), timeline, event log, related runs."""
    run = _require_run(web, run_id)
    events = web.instance.get_events(run_id)
    children = web.instance.get_runs(RunsFilter(tags={PARENT_RUN_ID_TAG: run_id}), limit=20)
    now = time.time()
    return page(
        request,
        "run.html",
        now=now,
        run=run,
        events=events,
        children=children,
        timeline=timeline.timeline(events, now),
        can_reexecute=run.status.is_finished and run.code_pointer is not None,
        tag_rules=tag_rules(),
    )


@router.post("/runs/{run_id}/tags")
def edit_tags(web: Web, run_id: str, fields: Form) -> Response:
    """Add one tag (``key``, ``value``) or remove one (``remove``), then show the run."""
    values = dict(fields)
    _require_run(web, run_id)
    if "remove" in values:
        web.instance.remove_run_tags(run_id, [values["remove"]])
    else:
        web.instance.add_run_tags(run_id, {values.get("key", "").strip(): values.get("value", "")})
    return _see_other(f"/runs/{run_id}")


@router.post("/runs/{run_id}/reexecute")
def reexecute(web: Web, run_id: str, fields: Form) -> Response:
    """Re-execute (all steps, or ``from_failure=1``), then show the new run."""
    from_failure = dict(fields).get("from_failure") == "1"
    child = web.instance.reexecute(run_id, from_failure=from_failure)
    return _see_other(f"/runs/{child.run_id}")


@router.post("/runs/{run_id}/terminate")
def terminate(web: Web, run_id: str) -> Response:
    """Terminate the run, then show it."""
    web.instance.terminate(run_id)
    return _see_other(f"/runs/{run_id}")


# -- queue ---------------------------------------------------------------------------------


@router.get("/queue")
def queue_page(request: Request, web: Web) -> Response:
    """Queued runs in launch order with why each waits; each tag limit's use."""
    return page(request, "queue.html", decision=web.instance.get_queue_state())
