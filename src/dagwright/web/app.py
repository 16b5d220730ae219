"""``create_app(instance)``: the web UI and the HTTP API as one ASGI application.

Nothing here is global: every route reaches the instance and the loaded definitions through
``request.app.state.web`` (a :class:`WebContext`), so two apps can live in one process.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from dagwright.definitions.container import Definitions
from dagwright.instance import Instance
from dagwright.web import api, errors, views
from dagwright.web.context import WebContext
from dagwright.web.security import AccessGuard

#: Where the templates and the static files live.
HERE = Path(__file__).resolve().parent

#: The version segment of the HTTP API's paths.
API_PREFIX = "/api/v1"


def create_app(
    instance: Instance,
    definitions: Definitions | None = None,
    *,
    token: str | None = None,
) -> FastAPI:
    """Build the web app over ``instance``.

    Args:
        instance: the facade every route calls.
        definitions: the jobs to show and launch (none: only runs are shown).
        token: when set, every request must carry it (``Authorization: Bearer``, or the
            cookie set by visiting any page with ``?token=``).

    Returns:
        An ASGI application: pages at ``/``, the API at ``/api/v1`` with its OpenAPI
        document at ``/api/v1/openapi.json``.
    """
    app = FastAPI(
        title="dagwright",
        summary="Jobs with typed metadata, runs driven by tags.",
        version="1",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.web = WebContext(instance, definitions or Definitions())
    errors.install(app)
    app.include_router(api.router, prefix=API_PREFIX)
    app.include_router(views.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(AccessGuard, token=token)
    return app
