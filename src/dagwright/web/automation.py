"""The pages of what makes runs on its own: schedules and sensors (status toggle, ticks) and
backfills (progress, cancel; launched from a partitioned job's page).

Each route: parse → one ``Instance`` (or :class:`WebContext`) call → render, like
``views``; forms redirect (303) to the page showing the result.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from dagwright.errors import DagwrightNotFoundError
from dagwright.runs.backfills import BackfillStatus
from dagwright.runs.ticks import InstigatorKind, InstigatorStatus
from dagwright.tags import BACKFILL_TAG, parse_tag_pair
from dagwright.web.context import WebContext
from dagwright.web.errors import ApiError
from dagwright.web.views import Routes, form, page, param, see_other

ROUTES = Routes()

#: Ticks shown per schedule or sensor on the list pages, and per page of one's own page.
LIST_TICKS = 5
PAGE_TICKS = 50

#: Backfills per page of the backfills list.
BACKFILLS_PAGE = 50


# -- schedules and sensors -----------------------------------------------------------------


def _kind(request: Request) -> InstigatorKind:
    return InstigatorKind(request.url.path.split("/")[1].rstrip("s"))


def instigators_page(request: Request, web: WebContext) -> Response:
    """Every schedule (or sensor): status toggle, timing, next tick, the latest ticks."""
    kind = _kind(request)
    rows = web.instance.get_instigators(web.definitions, kind, ticks=LIST_TICKS)
    return page(request, "instigators.html", kind=kind.value, rows=rows)


def instigator_page(request: Request, web: WebContext) -> Response:
    """One schedule (or sensor): its definition and state, and its ticks (paged back by
    ``?before=<tick_id>``) with links to their runs and collapsible tracebacks."""
    kind = _kind(request)
    name = param(request, "name")
    before = _int(request.query_params.get("before"), "before")
    [row] = web.instance.get_instigators(web.definitions, kind, name=name, ticks=0)
    ticks = web.instance.get_ticks(name, kind=kind, limit=PAGE_TICKS, before=before)
    older = ticks[-1].tick_id if len(ticks) == PAGE_TICKS else None
    return page(request, "instigator.html", kind=kind.value, row=row, ticks=ticks, older=older)


def set_status(request: Request, web: WebContext) -> Response:
    """Start or stop a schedule (or sensor), then go back to the page it was set from."""
    kind = _kind(request)
    name = param(request, "name")
    running = request.url.path.endswith("/start")
    status = InstigatorStatus.RUNNING if running else InstigatorStatus.STOPPED
    web.instance.set_instigator_status(name, kind, status, definitions=web.definitions)
    return see_other(_local(dict(form(request)).get("next")) or f"/{kind.value}s")


for _plural in ("schedules", "sensors"):
    ROUTES.get(f"/{_plural}")(instigators_page)
    ROUTES.get(f"/{_plural}/{{name}}")(instigator_page)
    ROUTES.post(f"/{_plural}/{{name}}/start")(set_status)
    ROUTES.post(f"/{_plural}/{{name}}/stop")(set_status)


def _local(url: str | None) -> str | None:
    """``url`` if it is a path of this app (never another site: no open redirect)."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return None


def _int(text: str | None, field: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or len(text) > 18:
        raise ApiError(422, "invalid_request", field, "must be a tick id (a whole number)")
    return int(text)


# -- backfills -----------------------------------------------------------------------------


@ROUTES.get("/backfills")
def backfills_page(request: Request, web: WebContext) -> Response:
    """Backfills, newest first: job, status, a progress bar; filtered by ``?status=``."""
    text = request.query_params.get("status") or None
    status = _backfill_status(text) if text else None
    cursor = request.query_params.get("cursor") or None
    try:
        found = web.instance.get_backfills(limit=BACKFILLS_PAGE, cursor=cursor, status=status)
    except DagwrightNotFoundError:
        raise ApiError(422, "invalid_request", "cursor", "names no backfill") from None
    older = found[-1].backfill_id if len(found) == BACKFILLS_PAGE else None
    return page(
        request,
        "backfills.html",
        backfills=found,
        status_filter=text,
        older=older,
        statuses=[s.value for s in BackfillStatus],
    )


def _backfill_status(text: str) -> BackfillStatus:
    try:
        return BackfillStatus(text.upper())
    except ValueError:
        known = ", ".join(s.value for s in BackfillStatus)
        raise ApiError(422, "invalid_request", "status", f"one of {known}") from None


@ROUTES.get("/backfills/{backfill_id}")
def backfill_page(request: Request, web: WebContext) -> Response:
    """A backfill: status, progress counts, its partitions, a link to its runs, Cancel."""
    backfill = web.get_backfill(param(request, "backfill_id"))
    tag = f"{BACKFILL_TAG}={backfill.backfill_id}"
    runs_url = "/runs?" + urlencode({"tag": tag, "system": "1"})
    return page(request, "backfill.html", backfill=backfill, runs_url=runs_url)


@ROUTES.post("/backfills/{backfill_id}/cancel")
def cancel_backfill(request: Request, web: WebContext) -> Response:
    """Cancel the backfill (its waiting runs are canceled), then show it."""
    backfill_id = param(request, "backfill_id")
    web.instance.cancel_backfill(backfill_id)
    return see_other(f"/backfills/{backfill_id}")


@ROUTES.post("/jobs/{name}/backfill")
def launch_backfill(request: Request, web: WebContext) -> Response:
    """Launch a backfill of the job: every partition (``partitions=all``) or the chosen
    ``partition_key`` fields, with the ``tags`` field's ``key=value`` lines on every run;
    then show its progress page."""
    job = web.get_job(param(request, "name"))
    fields = form(request)
    every = dict(fields).get("partitions", "all") == "all"
    chosen = [value for key, value in fields if key == "partition_key"]
    if not every and not chosen:
        raise ApiError(422, "invalid_request", "partition_key", "choose at least one partition")
    lines = dict(fields).get("tags", "").splitlines()
    tags = dict(parse_tag_pair(line.strip()) for line in lines if line.strip())
    backfill_id = web.instance.launch_backfill(job, None if every else chosen, tags=tags)
    return see_other(f"/backfills/{backfill_id}")
