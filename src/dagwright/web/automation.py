"""The pages of what makes runs on its own: schedules and sensors (status toggle, ticks) and
backfills (progress, cancel; launched from a partitioned job's page).

Each route: parse → one ``Instance`` (or :class:`WebContext`) call → render, like
``views``; forms redirect (303) to the page showing the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial, update_wrapper
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from dagwright.errors import DagwrightError, DagwrightNotFoundError
from dagwright.runs.backfills import BackfillStatus
from dagwright.runs.ticks import InstigatorKind, InstigatorStatus
from dagwright.tags import BACKFILL_TAG, parse_tag_pair
from dagwright.web.context import WebContext
from dagwright.web.errors import ApiError, from_dagwright, parse_choice, parse_whole
from dagwright.web.views import (
    BackfillForm,
    Routes,
    View,
    form,
    page,
    param,
    render_job_page,
    see_other,
)

ROUTES = Routes()

#: Ticks shown per schedule or sensor on the list pages, and per page of one's own page.
LIST_TICKS = 5
PAGE_TICKS = 50

#: Backfills per page of the backfills list.
BACKFILLS_PAGE = 50


# -- schedules and sensors -----------------------------------------------------------------


def instigators_page(request: Request, web: WebContext, *, kind: InstigatorKind) -> Response:
    """Every schedule (or sensor): status toggle, timing, next tick, the latest ticks."""
    rows = web.instance.get_instigators(web.definitions, kind, ticks=LIST_TICKS)
    return page(request, "instigators.html", kind=kind.value, rows=rows)


def instigator_page(request: Request, web: WebContext, *, kind: InstigatorKind) -> Response:
    """One schedule (or sensor): its definition and state, and its ticks (paged back by
    ``?before=<tick_id>``) with links to their runs and collapsible tracebacks."""
    name = param(request, "name")
    before = parse_whole(
        request.query_params.get("before"), "before", "must be a tick id (a whole number)"
    )
    [row] = web.instance.get_instigators(web.definitions, kind, name=name, ticks=1)
    ticks = web.instance.get_ticks(name, kind=kind, limit=PAGE_TICKS, before=before)
    older = ticks[-1].tick_id if len(ticks) == PAGE_TICKS else None
    return page(request, "instigator.html", kind=kind.value, row=row, ticks=ticks, older=older)


def set_status(
    request: Request, web: WebContext, *, kind: InstigatorKind, running: bool
) -> Response:
    """Start or stop a schedule (or sensor), then go back to the page it was set from."""
    name = param(request, "name")
    status = InstigatorStatus.RUNNING if running else InstigatorStatus.STOPPED
    web.instance.set_instigator_status(name, kind, status, definitions=web.definitions)
    return see_other(_local(dict(form(request)).get("next")) or f"/{kind.value}s")


def _bound(view: Callable[..., Response], **arguments: Any) -> View:
    """``view`` with keyword ``arguments`` given (keeping its name and docstring)."""
    return update_wrapper(partial(view, **arguments), view)


for _kind in InstigatorKind:
    _plural = f"/{_kind.value}s"
    ROUTES.get(_plural)(_bound(instigators_page, kind=_kind))
    ROUTES.get(f"{_plural}/{{name}}")(_bound(instigator_page, kind=_kind))
    ROUTES.post(f"{_plural}/{{name}}/start")(_bound(set_status, kind=_kind, running=True))
    ROUTES.post(f"{_plural}/{{name}}/stop")(_bound(set_status, kind=_kind, running=False))


def _local(url: str | None) -> str | None:
    """``url`` if it is a path of this app (never another site: no open redirect)."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return None


# -- backfills -----------------------------------------------------------------------------


@ROUTES.get("/backfills")
def backfills_page(request: Request, web: WebContext) -> Response:
    """Backfills, newest first: job, status, a progress bar; filtered by ``?status=``."""
    text = request.query_params.get("status") or None
    status = parse_choice(BackfillStatus, text, "status") if text else None
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
    name = param(request, "name")
    job = web.get_job(name)
    fields = form(request)
    sent = BackfillForm(
        every=dict(fields).get("partitions", "all") == "all",
        chosen=tuple(value for key, value in fields if key == "partition_key"),
        tags_text=dict(fields).get("tags", ""),
    )
    try:
        if not sent.every and not sent.chosen:
            raise ApiError(422, "invalid_request", "partition_key", "choose at least one partition")
        lines = sent.tags_text.splitlines()
        tags = dict(parse_tag_pair(line.strip()) for line in lines if line.strip())
        chosen = None if sent.every else list(sent.chosen)
        backfill_id = web.instance.launch_backfill(job, chosen, tags=tags)
    except (ApiError, DagwrightError) as exc:  # shown on the form, the choices kept
        error = exc if isinstance(exc, ApiError) else from_dagwright(exc)
        refused = replace(sent, error=error.message)
        return render_job_page(request, web, name, refused, status=error.status)
    return see_other(f"/backfills/{backfill_id}")
