"""The HTTP API of saved views and bulk actions (DESIGN §10), under ``/api/v1``:
``GET/POST /views``, ``DELETE /views/{name}``, ``POST /runs/bulk``, ``GET /bulk/{id}``."""

from __future__ import annotations

import logging
import threading
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from dagwright.errors import DagwrightInvalidConfigError, DagwrightInvalidTagError
from dagwright.runs.bulk import check_params, parse_action
from dagwright.runs.models import RunsFilter
from dagwright.web import schemas
from dagwright.web.context import WebContext, web_context
from dagwright.web.errors import from_dagwright

router = APIRouter(tags=["dagwright"], responses=schemas.ERROR_RESPONSES)
Web = Annotated[WebContext, Depends(web_context)]
_log = logging.getLogger(__name__)


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


class ViewIn(BaseModel):
    """``POST /views``: a view to save (a name saved before is replaced)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="1-64 of A-Z a-z 0-9 _ . - (not starting with _ . -).")
    q: str = Field("", description="A run query (DESIGN §10).")
    columns: list[str] = Field(default_factory=list, description="Tag keys shown as columns.")


class ViewOut(BaseModel):
    """A saved view."""

    name: str
    q: str
    columns: list[str]


class ViewsList(BaseModel):
    """Every saved view, by name."""

    views: list[ViewOut]


class BulkIn(BaseModel):
    """``POST /runs/bulk``: an action on every run ``q`` matches, or only its dry run."""

    model_config = ConfigDict(extra="forbid")
    q: str = Field(description="A run query (DESIGN §10); empty: every run.")
    action: str = Field(description="terminate, reexecute, add_tags, remove_tags, "
                        "set_priority or delete.")  # fmt: skip
    dry_run: bool = Field(False, description="Only count the runs and show a sample.")
    from_failure: bool | None = Field(None, description="reexecute: only what did not succeed.")
    tags: dict[str, Any] | None = Field(None, description="add_tags: the tags.")
    keys: list[str] | None = Field(None, description="remove_tags: the keys.")
    priority: int | None = Field(None, description="set_priority: of queued runs.")


class BulkDryRun(BaseModel):
    """How many runs the action would act on, and the newest of them."""

    count: int
    sample: list[schemas.RunOut]


class BulkStarted(BaseModel):
    """A bulk action started in the background: poll ``GET /bulk/{id}``."""

    id: str
    count: int


class BulkResultOut(BaseModel):
    """One run's outcome: ``done``, ``refused`` (with the reason) or still ``pending``."""

    run_id: str
    outcome: str
    reason: str | None


class BulkOut(BaseModel):
    """A bulk action, its progress and every run's outcome."""

    id: str
    action: str
    q: str
    status: str
    count: int
    done: int
    refused: int
    results: list[BulkResultOut]


@router.get("/views", response_model=ViewsList)
def list_views(web: Web) -> Response:
    """Every saved view of the runs list, by name."""
    return _json({"views": [view.to_json() for view in web.instance.get_views()]})


@router.post("/views", status_code=201, response_model=ViewOut)
def save_view(web: Web, body: ViewIn) -> Response:
    """Save a view (name, query, columns); the page ``/runs?view=NAME`` shows it."""
    try:
        view = web.instance.save_view(body.name, body.q, body.columns)
    except DagwrightInvalidConfigError as exc:
        raise from_dagwright(exc, "name") from None
    except DagwrightInvalidTagError as exc:
        raise from_dagwright(exc, "columns") from None
    return _json(view.to_json(), 201)


@router.delete("/views/{name}", status_code=204)
def delete_view(web: Web, name: Annotated[str, Path(description="A view's name.")]) -> Response:
    """Delete a saved view (404 when there is none)."""
    web.instance.delete_view(name)
    return Response(status_code=204)


@router.post(
    "/runs/bulk",
    status_code=202,
    response_model=BulkStarted,
    responses={200: {"model": BulkDryRun, "description": "The dry run: count and sample."}},
)
def bulk(web: Web, body: BulkIn) -> Response:
    """Act on every run ``q`` matches, in the background (202; poll ``GET /bulk/{id}``),
    or, with ``dry_run``, only count them and show the newest ten (200). The set of runs
    is fixed when the action starts; each run's outcome is kept."""
    filters = RunsFilter.parse(body.q)
    params = body.model_dump(exclude={"q", "action", "dry_run"}, exclude_none=True)
    try:
        check_params(parse_action(body.action), params)
        if body.dry_run:
            count, sample = web.instance.bulk_dry_run(filters)
            return _json({"count": count, "sample": [run.to_json() for run in sample]})
        started = web.instance.start_bulk(filters, body.q, body.action, params)
    except DagwrightInvalidConfigError as exc:
        raise from_dagwright(exc, exc.where) from None
    except DagwrightInvalidTagError as exc:
        raise from_dagwright(exc, "keys" if body.action == "remove_tags" else "tags") from None
    thread = threading.Thread(
        target=_run, args=(web, started.bulk_id), name=f"dagwright-bulk-{started.bulk_id}"
    )
    thread.daemon = True
    thread.start()
    return _json({"id": started.bulk_id, "count": started.count}, 202)


def _run(web: WebContext, bulk_id: str) -> None:
    try:
        web.instance.run_bulk(bulk_id, definitions=web.definitions)
    except Exception:  # a failing database: the action stays RUNNING, its results kept
        _log.exception("bulk action %s stopped", bulk_id)


@router.get("/bulk/{bulk_id}", response_model=BulkOut)
def get_bulk(
    web: Web, bulk_id: Annotated[str, Path(description="A bulk action's id.")]
) -> Response:
    """A bulk action: RUNNING or DONE, how many runs are done or refused, each outcome."""
    return _json(web.instance.get_bulk(bulk_id).to_json())
