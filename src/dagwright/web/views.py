"""The pages: server-rendered Jinja2 (autoescaped), each route parse → one ``Instance``
call → render. Forms post back to the same app (same-origin checked by ``security``) and
redirect (303) to the page showing the result.

Plain Starlette routes (no FastAPI: see ``dagwright.web.app``): a view is a function of the
request and the :class:`WebContext`, run in the thread pool; a form's fields are read first
(:func:`form`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from dagwright.daemon.health import DaemonHealth, iso_local
from dagwright.definitions.schedule import ScheduleDefinition
from dagwright.definitions.workspace import job_reference
from dagwright.errors import (
    DagwrightError,
    DagwrightInvalidConfigError,
    DagwrightInvalidQueryError,
    DagwrightInvalidTagError,
    DagwrightRunNotFoundError,
)
from dagwright.jsonvalue import printable
from dagwright.runs.columns import Sort, cell, column_label, parse_columns
from dagwright.runs.diff import DiffState
from dagwright.runs.models import RunsFilter, RunStatus
from dagwright.runs.tag_history import tag_history
from dagwright.tags import (
    CONTROL_TAG_RULES,
    CONTROL_TAGS,
    DAGSTER_TAG_EQUIVALENTS,
    HELD_BY_TAG,
    KEY_PATTERN,
    MAX_VALUE_BYTES,
    PARENT_RUN_ID_TAG,
    PRIORITY_TAG,
    SYSTEM_PREFIX,
    is_system_tag,
    parse_tag_pair,
)
from dagwright.web import dag, launchpad, render, timeline
from dagwright.web.context import WebContext, web_context
from dagwright.web.errors import ApiError, from_dagwright, parse_choice, parse_whole
from dagwright.web.query import PAGE_SIZE, RunsQuery
from dagwright.web.security import request_actor

#: A page view: the request and the app's context in, a response out.
View = Callable[[Request, WebContext], Response]


class Routes(list[Route]):
    """The routes of a group of pages, registered by the ``get``/``post`` decorators."""

    def get(self, path: str) -> Callable[[View], View]:
        """Register a view of ``GET path``."""
        return self._register(path, "GET")

    def post(self, path: str) -> Callable[[View], View]:
        """Register a view of a form posted to ``path`` (its fields: :func:`form`)."""
        return self._register(path, "POST")

    def _register(self, path: str, method: str) -> Callable[[View], View]:
        def register(view: View) -> View:
            self.append(Route(path, _endpoint(view, method), methods=[method]))
            return view

        return register


def _endpoint(view: View, method: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        if method == "POST":
            body = (await request.body()).decode("utf-8", "replace")
            request.state.form = parse_qsl(body, keep_blank_values=True)
        return await run_in_threadpool(view, request, web_context(request))

    endpoint.__name__ = view.__name__
    endpoint.__doc__ = view.__doc__
    return endpoint


def form(request: Request) -> list[tuple[str, str]]:
    """The fields of the URL-encoded form posted with ``request``."""
    fields: list[tuple[str, str]] = request.state.form
    return fields


def param(request: Request, name: str) -> str:
    """A path parameter."""
    return str(request.path_params[name])


ROUTES = Routes()

#: The pages in the navigation bar: (label, path). A new page group adds itself here.
NAV: list[tuple[str, str]] = [
    ("Jobs", "/jobs"),
    ("Runs", "/runs"),
    ("Queue", "/queue"),
    ("Schedules", "/schedules"),
    ("Sensors", "/sensors"),
    ("Backfills", "/backfills"),
    ("Tag stats", "/tag-stats"),
]

#: Runs shown on a job's overview page.
LATEST_RUNS = 10


@lru_cache(maxsize=1)
def templates() -> Jinja2Templates:
    """The page templates, autoescaped, with the rendering helpers as filters."""
    import jinja2

    from dagwright.web.app import HERE

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        # compiled templates are cached (per user, in the temp directory, checked against
        # each template's source) as Python caches bytecode: a first page ~40 ms sooner
        bytecode_cache=jinja2.FileSystemBytecodeCache(),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        markdown=render.markdown_html,
        safe_url=render.safe_url,
        abstime=render.absolute_time,
        precisetime=render.precise_time,
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
        is_hidden_key=render.is_hidden_key,
        chips_html=render.chips_html,
        chip_html=render.chip_html,
        tag_stats_url=render.tag_stats_url,
        tag_stats_link_html=render.tag_stats_link_html,
        when_html=render.when_html,
        status_html=render.status_html,
        progress_html=render.progress_html,
        next_tick=ScheduleDefinition.next_tick_after,
        nav=NAV,
        is_system_tag=is_system_tag,
        table_columns=render.table_columns,
        statuses=[s.value for s in RunStatus],
        iso_local=iso_local,
        held_by_tag=HELD_BY_TAG,
        priority_tag=PRIORITY_TAG,
    )
    return Jinja2Templates(env=env)


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a page template with ``now``, the loaded jobs and the daemons' health (for
    the header) in its context."""
    web = web_context(request)
    context.setdefault("now", time.time())
    context["job_names"] = list(web.jobs)
    context["job_ref"] = web.definitions.reference
    context["run_job_ref"] = web.run_job_reference
    context.setdefault("daemon", daemon_health(web, context["now"]))
    response: HTMLResponse = templates().TemplateResponse(
        request, name, context, status_code=status
    )
    return response


def daemon_health(web: WebContext, now: float) -> DaemonHealth | None:
    """The daemons' health at ``now``; None when storage cannot tell (the page still shows)."""
    try:
        return web.instance.get_daemon_health(now)
    except DagwrightError:
        return None


def error_page(request: Request, status: int, message: str) -> Response:
    """The page shown for an error (the API answers JSON instead)."""
    return page(request, "error.html", status=status, status_code=status, message=message)


def tag_rules() -> dict[str, Any]:
    """The tag rules of ``dagwright.tags``, for the pages' inline validation: ``value_rules``
    is :data:`~dagwright.tags.CONTROL_TAG_RULES` as JSON (``static/app.js`` applies them
    with the messages of ``tags.py``; a browser test checks they agree)."""
    return {
        "key_pattern": KEY_PATTERN,
        "system_prefix": SYSTEM_PREFIX,
        "control_tags": sorted(CONTROL_TAGS),
        "max_value_bytes": MAX_VALUE_BYTES,
        "value_rules": {key: asdict(rule) for key, rule in CONTROL_TAG_RULES.items()},
        "dagster_tags": dict(DAGSTER_TAG_EQUIVALENTS),
    }


def see_other(url: str) -> RedirectResponse:
    """Redirect after a form post (303: the browser then GETs ``url``)."""
    return RedirectResponse(url, status_code=303)


# -- jobs ----------------------------------------------------------------------------------


@ROUTES.get("/")
@ROUTES.get("/jobs")
def jobs_page(request: Request, web: WebContext) -> Response:
    """Every loaded job: description, owner and links from its metadata, tags, last run;
    its code location when several are loaded."""
    jobs = list(web.jobs.items())
    return page(request, "jobs.html", jobs=jobs, latest=web.latest_runs(), locations=web.locations)


@ROUTES.get("/jobs/{name}")
def job_page(request: Request, web: WebContext) -> Response:
    """A job's overview: its graph, description, metadata pane, tags, partitions, its
    schedules and sensors, runs; a backfill form for a partitioned job."""
    return render_job_page(request, web, param(request, "name"))


@dataclass
class BackfillForm:
    """What the job page's backfill form was sent, and why it was refused (shown inline,
    with the choices kept)."""

    every: bool = True
    chosen: tuple[str, ...] = ()
    tags_text: str = ""
    error: str = ""


def render_job_page(
    request: Request,
    web: WebContext,
    name: str,
    backfill: BackfillForm | None = None,
    status: int = 200,
) -> Response:
    """The job page (``backfill``: a refused backfill form, shown with its error)."""
    job = web.get_job(name)
    names = list(job.graph.nodes)
    edges = [(e.from_node, e.to_node) for e in job.graph.edges]
    runs_filter = web.job_runs_filter(job)
    runs = web.instance.get_runs(runs_filter, limit=LATEST_RUNS)
    from dagwright.definitions.job_json import partitions_json

    states = {
        (state.kind.value, state.name): state
        for state in web.instance.get_instigator_states(definitions=web.definitions)
    }
    return page(
        request,
        "job.html",
        job=job,
        metadata=render.visible_metadata(job.metadata),
        layout=dag.layout(names, edges),
        partitions=partitions_json(job),
        schedules=[s for s in web.definitions.schedules.values() if s.job is job],
        sensors=[s for s in web.definitions.sensors.values() if s.job is job],
        states=states,
        runs=runs,
        runs_url=RunsQuery(job=job_reference(job) if runs_filter.location_name else job.name).url(),
        backfill=backfill or BackfillForm(),
        status=status,
    )


@ROUTES.get("/jobs/{name}/launchpad")
def launchpad_page(request: Request, web: WebContext) -> Response:
    """The launchpad: run config, op selection, partition, tags."""
    name = param(request, "name")
    job = web.get_job(name)
    launch_form = launchpad.LaunchForm(run_config_text=launchpad.default_config_text(job))
    return _launchpad(request, web, name, launch_form)


def _launchpad(
    request: Request, web: WebContext, name: str, launch_form: Any, status: int = 200
) -> Response:
    job = web.get_job(name)
    from dagwright.definitions.job_json import partitions_json

    hints = launchpad.tag_hints(web.instance.settings, job)
    launchpad.with_required_rows(launch_form, hints, job)
    return page(
        request,
        "launchpad.html",
        status=status,
        job=job,
        form=launch_form,
        partitions=partitions_json(job),
        tag_rules=tag_rules(),
        tag_hints=hints,
        hint_list={key: hint.to_json() for key, hint in hints.items()},
    )


@ROUTES.post("/jobs/{name}/launchpad/check")
def launchpad_check(request: Request, web: WebContext) -> Response:
    """Check a launchpad form without launching: ``{"errors": {field: message}}``."""
    job = web.get_job(param(request, "name"))
    launch_form = launchpad.parse_form(form(request))
    launchpad.check(launch_form, job, web.instance.settings)
    return JSONResponse({"ok": not launch_form.errors, "errors": launch_form.errors})


@ROUTES.post("/jobs/{name}/launchpad")
def launch(request: Request, web: WebContext) -> Response:
    """Launch from the launchpad, then show the run (or the form again, with errors)."""
    name = param(request, "name")
    job = web.get_job(name)
    launch_form = launchpad.parse_form(form(request))
    if launch_form.errors:  # YAML or a tag row: the rest is checked too, all shown
        launchpad.check(launch_form, job, web.instance.settings)
        return _launchpad(request, web, name, launch_form, status=422)
    try:
        run = web.instance.submit_run(
            job,
            run_config=launch_form.run_config,
            tags=launch_form.tags,
            op_selection=launch_form.op_selection,
            partition_key=launch_form.partition_key or None,
        )
    except DagwrightError as exc:
        launchpad.record_error(launch_form, exc)
        launchpad.check(launch_form, job, web.instance.settings)  # and every other error
        return _launchpad(request, web, name, launch_form, status=from_dagwright(exc).status)
    return see_other(f"/runs/{run.run_id}")


# -- runs ----------------------------------------------------------------------------------


@ROUTES.get("/runs")
def runs_page(request: Request, web: WebContext) -> Response:
    """Runs, newest first: status, job, duration, tags as chips that filter on a click."""
    params = request.query_params
    view = web.instance.get_view(params["view"]) if params.get("view") else None
    query = RunsQuery.parse(
        [_tag_pair(pair) for pair in params.getlist("tag")],
        [parse_choice(RunStatus, s, "status") for s in params.getlist("status") if s],
        params.get("job"),
        params.get("system") == "1",
        params.get("cursor"),
        params.get("q", view.q if view else ""),
    )
    query = replace(query, **_columns_and_sort(params))
    if view is not None:
        query = replace(query, view=view.name, columns=query.columns or view.columns)
    shown: dict[str, Any] = {
        "views": web.instance.get_views(),
        "query": query,
        "columns": parse_columns(query.columns),
        "cell": cell,
        "column_label": column_label,
    }
    try:
        filters = query.runs_filter()
    except DagwrightInvalidQueryError as exc:
        return page(request, "runs.html", 422, runs=[], query_error=exc, **shown)
    order = Sort.parse(query.sort or None)
    if not order.is_default:
        runs = web.instance.get_sorted_runs(filters, order, limit=PAGE_SIZE, offset=query.offset)
        more = query.url(offset=query.offset + PAGE_SIZE) if len(runs) == PAGE_SIZE else None
        return page(request, "runs.html", runs=runs, next_url=more, **shown)
    try:
        runs = web.instance.get_runs(filters, limit=PAGE_SIZE, cursor=query.cursor)
    except DagwrightRunNotFoundError:
        raise ApiError(422, "invalid_request", "cursor", "names no run") from None
    more = query.next_page(runs[-1].run_id) if len(runs) == PAGE_SIZE else None
    return page(request, "runs.html", runs=runs, next_url=more, **shown)


def _columns_and_sort(params: Any) -> dict[str, Any]:
    """``columns``, ``sort`` and ``offset`` of the runs page, checked (422 naming each)."""
    try:
        columns = parse_columns(params.getlist("columns")) if params.getlist("columns") else ()
    except DagwrightError as exc:
        raise from_dagwright(exc, "columns") from None
    sort = params.get("sort", "").strip()
    try:
        Sort.parse(sort or None)
    except DagwrightError as exc:
        raise from_dagwright(exc, "sort") from None
    offset = parse_whole(params.get("offset"), "offset", "a whole number of runs to skip", digits=9)
    return {"columns": columns, "sort": sort, "offset": offset or 0}


def _tag_pair(text: str) -> tuple[str, str]:
    try:
        return parse_tag_pair(text)
    except DagwrightError as exc:
        raise from_dagwright(exc, "tag") from None


@ROUTES.get("/runs/{run_id}")
def run_page(request: Request, web: WebContext) -> Response:
    """A run: status, timing, tags (editable), timeline, event log, related runs."""
    run_id = param(request, "run_id")
    run = web.get_run(run_id)
    events = web.instance.get_events(run_id)
    children = web.instance.get_runs(RunsFilter(tags={PARENT_RUN_ID_TAG: run_id}), limit=20)
    refusal = web.reexecute_refusal(run) if run.status.is_finished else None
    now = time.time()
    return page(
        request,
        "run.html",
        now=now,
        run=run,
        events=events,
        children=children,
        timeline=timeline.timeline(events, now),
        reexecute_refusal=refusal,
        can_reexecute=run.status.is_finished and refusal is None,
        tag_rules=tag_rules(),
        tag_history=tag_history(events),
    )


#: The parts of the run diff page: (title, name of the ``RunDiff`` part).
DIFF_SECTIONS = [
    ("Summary", "summary"),
    ("Tags", "tags"),
    ("Run config", "run_config"),
    ("Op selection", "op_selection"),
    ("Steps", "steps"),
]


@ROUTES.get("/runs/{run_id}/diff")
def run_diff_page(request: Request, web: WebContext) -> Response:
    """A run side by side with another run (``with``, a run id) or its parent: summary,
    tags, run config, op selection, steps; ``only=1`` shows only the differences. A
    ``with`` naming no run, or a run without a parent, is shown on the page (404, 422)."""
    run_id = param(request, "run_id")
    run = web.get_run(run_id)  # an unknown run is the error page's 404
    other = request.query_params.get("with", "").strip()
    shown: dict[str, Any] = {"run": run, "other": other, "diff": None, "sections": []}
    shown["only"] = request.query_params.get("only") == "1"
    try:
        diff = web.instance.diff_runs(run_id, other or None)
    except DagwrightInvalidConfigError as exc:  # no parent, and no other run named
        return page(request, "diff.html", 422, error=printable(exc.rule), **shown)
    except DagwrightRunNotFoundError as exc:
        return page(request, "diff.html", 404, error=printable(str(exc)), **shown)
    parts = diff.sections
    sections = [
        (title, name, [row for row in parts[name] if not render.is_hidden_key(row.key)])
        for title, name in DIFF_SECTIONS
    ]
    differences = sum(row.state is not DiffState.SAME for _, _, rows in sections for row in rows)
    shown.update(diff=diff, sections=sections, differences=differences)
    return page(request, "diff.html", **shown)


@ROUTES.post("/runs/{run_id}/tags")
def edit_tags(request: Request, web: WebContext) -> Response:
    """Add one tag (``key``, ``value``) or remove one (``remove``), then show the run."""
    run_id = param(request, "run_id")
    values = dict(form(request))
    web.get_run(run_id)  # an unknown run is a 404 even when the tag is wrong too
    actor = request_actor(request.scope)
    if "remove" in values:
        web.instance.remove_run_tags(run_id, [values["remove"]], actor=actor, via="ui")
    else:
        tags = {values.get("key", "").strip(): values.get("value", "")}
        web.instance.add_run_tags(run_id, tags, actor=actor, via="ui")
    return see_other(f"/runs/{run_id}")


@ROUTES.post("/runs/{run_id}/priority")
def set_priority(request: Request, web: WebContext) -> Response:
    """Change a queued run's priority (``priority``), then show the run (or the queue)."""
    run_id = param(request, "run_id")
    values = dict(form(request))
    text = values.get("priority", "").strip()
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
        raise DagwrightInvalidTagError(PRIORITY_TAG, "the priority is an integer")
    actor = request_actor(request.scope)
    web.instance.set_run_priority(run_id, int(text), actor=actor, via="ui")
    return _back(values, run_id)


@ROUTES.post("/runs/{run_id}/hold")
def hold(request: Request, web: WebContext) -> Response:
    """Hold a queued run, then show the run (or the queue)."""
    run_id = param(request, "run_id")
    web.instance.hold_run(run_id, actor=request_actor(request.scope), via="ui")
    return _back(dict(form(request)), run_id)


@ROUTES.post("/runs/{run_id}/release")
def release(request: Request, web: WebContext) -> Response:
    """Release a held queued run, then show the run (or the queue)."""
    run_id = param(request, "run_id")
    web.instance.release_run(run_id, actor=request_actor(request.scope), via="ui")
    return _back(dict(form(request)), run_id)


def _back(values: dict[str, str], run_id: str) -> Response:
    return see_other("/queue" if values.get("back") == "queue" else f"/runs/{run_id}")


@ROUTES.post("/runs/{run_id}/reexecute")
def reexecute(request: Request, web: WebContext) -> Response:
    """Re-execute (all steps, or ``from_failure=1``), then show the new run."""
    from_failure = dict(form(request)).get("from_failure") == "1"
    child = web.instance.reexecute(
        param(request, "run_id"), from_failure=from_failure, definitions=web.definitions
    )
    return see_other(f"/runs/{child.run_id}")


@ROUTES.post("/runs/{run_id}/terminate")
def terminate(request: Request, web: WebContext) -> Response:
    """Terminate the run, then show it."""
    run_id = param(request, "run_id")
    web.instance.terminate(run_id)
    return see_other(f"/runs/{run_id}")


# -- queue ---------------------------------------------------------------------------------


@ROUTES.get("/queue")
def queue_page(request: Request, web: WebContext) -> Response:
    """Queued runs in launch order with why each waits; each tag limit's use."""
    return page(request, "queue.html", decision=web.instance.get_queue_state())


@ROUTES.get("/daemon")
def daemon_page(request: Request, web: WebContext) -> Response:
    """Each daemon loop, each daemon's last heartbeat of it, and whether it is healthy."""
    from dagwright.daemon.health import CLAIMS_NOTE

    return page(request, "daemon.html", claims_note=CLAIMS_NOTE)
