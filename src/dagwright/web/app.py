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
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from dagwright.definitions.container import Definitions
from dagwright.instance import Instance
from dagwright.web import apidocs, automation, errors, tag_stats, views
from dagwright.web.context import WebContext
from dagwright.web.errors import API_PREFIX, is_api_path
from dagwright.web.headers import SecurityHeaders
from dagwright.web.security import AccessGuard

if TYPE_CHECKING:
    from fastapi import FastAPI

#: Where the templates and the static files live.
HERE = Path(__file__).resolve().parent


def create_app(
    instance: Instance,
    definitions: Definitions | None = None,
    *,
    token: str | Mapping[str, str] | None = None,
    allowed_hosts: Iterable[str] = (),
) -> WebApp:
    """Build the web app over ``instance``.

    Args:
        instance: the facade every route calls.
        definitions: the jobs, schedules and sensors to show and launch (none: only runs
            are shown).
        token: when set, every request must carry it (``Authorization: Bearer``, or the
            cookie set by visiting any page with ``?token=``).
        allowed_hosts: host names (or IP addresses) accepted in the ``Host`` header besides
            the loopback ones: the host the server listens on, and each ``--allow-host``.

    Returns:
        An ASGI application: pages at ``/``, the API at ``/api/v1`` with its OpenAPI
        document at ``/api/v1/openapi.json``; every response carries the headers of
        ``dagwright.web.headers``.

    Raises:
        DagwrightInvalidConfigError: a token shorter than 16 characters or holding
            whitespace, or an allowed host that is not a host name or IP address.
    """
    web = WebContext(instance, definitions or Definitions())
    pages = Starlette(
        routes=[
            *views.ROUTES,
            *automation.ROUTES,
            *tag_stats.ROUTES,
            Mount(apidocs.ASSETS_PATH, StaticFiles(directory=apidocs.assets_directory())),
            Mount("/static", StaticFiles(directory=HERE / "static")),
            Route("/favicon.ico", _favicon, methods=["GET", "HEAD"]),
        ]
    )
    pages.state.web = web
    errors.install(pages)
    api = LazyApp(lambda: build_api(web))
    return WebApp(pages, api, token=token, allowed_hosts=allowed_hosts)


async def _favicon(request: Request) -> Response:
    """The icon, for clients that ask ``/favicon.ico`` without reading the page's link."""
    return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml")


def build_api(web: WebContext) -> FastAPI:
    """The HTTP API (FastAPI): every route of ``dagwright.web.api`` under ``/api/v1``."""
    from fastapi import FastAPI

    from dagwright.web import api, api_runquery

    app = FastAPI(
        title="dagwright",
        summary="Jobs with typed metadata, runs driven by tags.",
        version="1",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served by dagwright.web.apidocs: no CDN, no script without a nonce
        redoc_url=None,
    )
    app.add_route(f"{API_PREFIX}/docs", apidocs.docs_page, include_in_schema=False)
    app.state.web = web
    errors.install(app, api=True)
    app.include_router(api.router, prefix=API_PREFIX)
    app.include_router(api_runquery.router, prefix=API_PREFIX)
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
    """The pages and the API behind the access guard, every response with the security
    headers (paths under ``API_PREFIX`` go to the API)."""

    def __init__(
        self,
        pages: Starlette,
        api: LazyApp,
        *,
        token: str | Mapping[str, str] | None = None,
        allowed_hosts: Iterable[str] = (),
    ) -> None:
        self.pages = pages
        self.api = api
        self._guarded = SecurityHeaders(AccessGuard(self._dispatch, token, allowed_hosts))
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
