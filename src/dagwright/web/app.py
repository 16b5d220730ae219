"""``create_app(instance)``: the web UI and the HTTP API as one ASGI application.

Nothing here is global: every route reaches the instance and the loaded definitions through
``request.app.state.web`` (a :class:`WebContext`), so two apps can live in one process.

Two apps behind one guard, so the server answers its first page fast:

- the pages: plain Starlette + Jinja2 (``views.ROUTES``), built at once;
- the HTTP API under ``/api/v1``: FastAPI (its pydantic models, validation and OpenAPI
  document), built on first use, because importing FastAPI and analysing its routes costs
  about a third of a second. Once the first page has been answered the API is built in a
  background thread, so an API request seldom waits for it; one that comes first does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from dagwright.definitions.container import Definitions
from dagwright.instance import Instance
from dagwright.web import automation, errors, views
from dagwright.web.context import WebContext
from dagwright.web.errors import API_PREFIX, is_api_path
from dagwright.web.security import AccessGuard

if TYPE_CHECKING:
    from fastapi import FastAPI

#: Where the templates and the static files live.
HERE = Path(__file__).resolve().parent


def create_app(
    instance: Instance,
    definitions: Definitions | None = None,
    *,
    token: str | None = None,
) -> WebApp:
    """Build the web app over ``instance``.

    Args:
        instance: the facade every route calls.
        definitions: the jobs, schedules and sensors to show and launch (none: only runs
            are shown).
        token: when set, every request must carry it (``Authorization: Bearer``, or the
            cookie set by visiting any page with ``?token=``).

    Returns:
        An ASGI application: pages at ``/``, the API at ``/api/v1`` with its OpenAPI
        document at ``/api/v1/openapi.json``.
    """
    web = WebContext(instance, definitions or Definitions())
    pages = Starlette(
        routes=[
            *views.ROUTES,
            *automation.ROUTES,
            Mount("/static", StaticFiles(directory=HERE / "static")),
        ]
    )
    pages.state.web = web
    errors.install(pages)
    return WebApp(pages, LazyApp(lambda: build_api(web)), token=token)


def build_api(web: WebContext) -> FastAPI:
    """The HTTP API (FastAPI): every route of ``dagwright.web.api`` under ``/api/v1``."""
    from fastapi import FastAPI

    from dagwright.web import api

    app = FastAPI(
        title="dagwright",
        summary="Jobs with typed metadata, runs driven by tags.",
        version="1",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.web = web
    errors.install(app, api=True)
    app.include_router(api.router, prefix=API_PREFIX)
    return app


class LazyApp:
    """An ASGI app built once, when first needed (from any thread)."""

    def __init__(self, build: Callable[[], ASGIApp]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self.app: ASGIApp | None = None

    def get(self) -> ASGIApp:
        """The app, built now if it has not been."""
        with self._lock:
            if self.app is None:
                self.app = self._build()
            return self.app

    def warm(self) -> None:
        """Build the app in a background thread (nothing if it is built)."""
        if self.app is None:
            threading.Thread(target=self.get, name="dagwright-api-build", daemon=True).start()


class WebApp:
    """The pages and the API behind the access guard (paths under ``API_PREFIX`` go to
    the API)."""

    def __init__(self, pages: Starlette, api: LazyApp, *, token: str | None = None) -> None:
        self.pages = pages
        self.api = api
        self._guarded = AccessGuard(self._dispatch, token=token)
        self._warming = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._guarded(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_api_path(str(scope["path"])):
            api = self.api.app
            if api is None:
                api = await run_in_threadpool(self.api.get)
            await api(scope, receive, send)
            return
        await self.pages(scope, receive, send)
        if scope["type"] == "http" and not self._warming:
            self._warming = True
            self.api.warm()
