"""The headers every response carries, whatever answered it (a page, a static file, the
API, an error, a redirect, the access guard's refusals).

- ``Content-Security-Policy`` (:func:`content_security_policy`): scripts, styles, fonts
  and fetches only from this server, images also as ``data:`` URLs, no plug-ins, no
  ``<base>``, forms posting only here, and no framing by any page. An inline script runs
  only with the per-response nonce (:func:`csp_nonce`), never ``'unsafe-inline'``.
- ``X-Frame-Options: DENY`` (framing, for browsers that ignore ``frame-ancestors``),
  ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin`` and
  ``Cross-Origin-Resource-Policy: same-origin`` (no other site may embed a response).

A response whose app raised before it started is answered 500 here (JSON on the API, text
on pages), so that it carries the headers too.
"""

from __future__ import annotations

import secrets
from typing import Final

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dagwright.web.errors import ApiError, is_api_path

#: The key of ``request.state`` holding the response's CSP nonce.
NONCE_STATE: Final = "csp_nonce"

#: The fixed headers (the CSP is built per response, with its nonce).
FIXED_HEADERS: Final = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def content_security_policy(nonce: str) -> str:
    """The CSP of a response whose inline scripts (if any) carry ``nonce``."""
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def csp_nonce(request: Request) -> str:
    """The nonce an inline ``<script nonce=…>`` of this response must carry."""
    nonce: str = getattr(request.state, NONCE_STATE)
    return nonce


def _with_headers(message: Message, nonce: str) -> Message:
    ours = {**FIXED_HEADERS, "Content-Security-Policy": content_security_policy(nonce)}
    names = {name.lower().encode("latin-1") for name in ours}
    kept = [(k, v) for k, v in message.get("headers", []) if bytes(k).lower() not in names]
    added = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in ours.items()]
    return {**message, "headers": [*kept, *added]}


def _server_error(scope: Scope) -> Response:
    if is_api_path(str(scope.get("path", ""))):
        return JSONResponse(ApiError(500, "internal_error", None, "server error").body(), 500)
    return PlainTextResponse("server error", status_code=500)


class SecurityHeaders:
    """ASGI middleware adding the headers of the module docstring to every HTTP response
    (they replace any of the same name the app set)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(18)
        scope.setdefault("state", {})[NONCE_STATE] = nonce
        started = False

        async def send_hardened(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = _with_headers(message, nonce)
            await send(message)

        try:
            await self.app(scope, receive, send_hardened)
        except Exception:
            if started:
                raise
            await _server_error(scope)(scope, receive, send_hardened)
            raise
