"""Who may use the web app: the token rule, the same-origin rule and the Host rule.

- With a token, every request must carry it: ``Authorization: Bearer <token>``, or the
  ``dagwright_token`` cookie, which any URL with ``?token=<token>`` sets (the page is then
  reloaded without the token in its address).
- A state-changing request (anything but GET, HEAD, OPTIONS) carrying no valid bearer token
  must come from the app's own pages: its ``Origin`` (or, without one, its ``Referer``) must
  name the host the request was sent to, and ``Sec-Fetch-Site`` (when sent) must say
  same-origin. Browsers send these on every cross-site request; a client sending neither
  is not a browser, so no page of another site can make it.
- Without a token (the server is bound to the loopback interface) the ``Host`` header must
  be a loopback name, so that a site whose name resolves to 127.0.0.1 cannot reach it.

It also refuses (422, naming the field) a path or query parameter holding a NUL character,
which no database can store or compare: pages and API routes alike get bad input as 4xx.
"""

from __future__ import annotations

import hmac
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from dagwright.web.errors import ApiError, is_api_path

#: The cookie holding the token once a browser has visited a ``?token=`` URL.
TOKEN_COOKIE: Final = "dagwright_token"

#: Methods that change nothing, so need no same-origin check.
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})

#: Host names accepted when no token is configured.
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def is_loopback(host: str) -> bool:
    """Whether a host to bind to (or a Host header's name) is the loopback interface."""
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def _host_name(host_header: str) -> str:
    if host_header.startswith("["):
        return host_header.split("]", 1)[0] + "]"
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def _same_origin(headers: Headers) -> bool:
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    host = headers.get("host", "")
    source = headers.get("origin") or headers.get("referer")
    if source is None:
        return True
    return urlsplit(source).netloc == host


def _deny(
    scope: Scope, status: int, error: str, message: str, field: str | None = None
) -> Response:
    if is_api_path(str(scope.get("path", ""))):
        body = ApiError(status, error, field, message).body()
        return JSONResponse(body, status_code=status)
    return PlainTextResponse(message, status_code=status)


def _nul_field(scope: Scope) -> str | None:
    """The request field holding a NUL character (no database can store or compare one):
    ``path``, or the query parameter's name; None when there is none."""
    if "\x00" in str(scope.get("path", "")):
        return "path"
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    for key, value in parse_qsl(query, keep_blank_values=True):
        if "\x00" in key or "\x00" in value:
            return key.replace("\x00", "") or "query"
    return None


class AccessGuard:
    """ASGI middleware applying the token, same-origin and Host rules (module docstring)."""

    def __init__(self, app: ASGIApp, token: str | None = None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response = self._check(scope)
        if response is not None:
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _check(self, scope: Scope) -> Response | None:
        headers = Headers(scope=scope)
        bearer = self._bearer_ok(headers)
        if self.token is None:
            if not is_loopback(_host_name(headers.get("host", ""))):
                return _deny(scope, 403, "forbidden", "this server answers only to loopback")
        elif not bearer:
            denied = self._token_check(scope, headers)
            if denied is not None:
                return denied
        if scope["method"] not in SAFE_METHODS and not bearer and not _same_origin(headers):
            return _deny(scope, 403, "forbidden", "cross-origin request refused")
        field = _nul_field(scope)
        if field is not None:
            return _deny(scope, 422, "invalid_request", "must not contain NUL characters", field)
        return None

    def _bearer_ok(self, headers: Headers) -> bool:
        if self.token is None:
            return False
        scheme, _, given = headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and _equal(given.strip(), self.token)

    def _token_check(self, scope: Scope, headers: Headers) -> Response | None:
        assert self.token is not None
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), True)
        given = next((v for k, v in query if k == "token"), None)
        if given is not None and _equal(given, self.token):
            if scope["method"] not in SAFE_METHODS:
                return None
            rest = urlencode([(k, v) for k, v in query if k != "token"])
            redirect = RedirectResponse(scope["path"] + (f"?{rest}" if rest else ""), 303)
            redirect.set_cookie(TOKEN_COOKIE, given, httponly=True, samesite="strict")
            return redirect
        cookie = _cookie(headers, TOKEN_COOKIE)
        if cookie is not None and _equal(cookie, self.token):
            return None
        return _deny(
            scope,
            401,
            "unauthorized",
            "a token is required: send 'Authorization: Bearer <token>' or open ?token=<token>",
        )


def _equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _cookie(headers: Headers, name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None
