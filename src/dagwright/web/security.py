"""Who may use the web app: the Host rule, the token rule and the same-origin rule.

- The ``Host`` header must name this server: a loopback address (``127.0.0.0/8``,
  ``[::1]``, ``[::ffff:127.x.y.z]``), ``localhost``, or one of the allowed hosts (the
  ``--host`` the server listens on, and each ``--allow-host``), with no port or a valid one.
  Anything else is refused with 421 Misdirected Request, on every route and whatever the
  token: a page of a site whose name resolves to 127.0.0.1 (DNS rebinding) sends its own
  name, so it reaches nothing.
- With tokens, every request must carry one: ``Authorization: Bearer <token>``, or the
  ``dagwright_token`` cookie, which any URL with ``?token=<token>`` sets (the page is then
  reloaded without the token in its address). A token is at least 16 characters and holds
  no whitespace. Tokens are named (``--token NAME=SECRET``; a bare secret is named
  ``token``); the name of the token a request carries is its actor (:func:`request_actor`:
  who changed a run's tags), else the client's address.
- A state-changing request (anything but GET, HEAD, OPTIONS) carrying no valid bearer token
  must come from the app's own pages: its ``Origin`` (or, without one, its ``Referer``) must
  have the scheme, host and port the request was sent to, and ``Sec-Fetch-Site`` (when
  sent) must say same-origin. Browsers send these on every cross-site request; a client
  sending neither is not a browser, so no page of another site can make it.

It also refuses (422, naming the field) a path or query parameter holding a NUL character,
which no database can store or compare: pages and API routes alike get bad input as 4xx.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from dagwright.errors import DagwrightInvalidConfigError
from dagwright.web.errors import ApiError, is_api_path

#: The cookie holding the token once a browser has visited a ``?token=`` URL.
TOKEN_COOKIE: Final = "dagwright_token"

#: Methods that change nothing, so need no same-origin check.
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})

#: The host name always accepted besides the loopback addresses.
LOOPBACK_NAME: Final = "localhost"

#: The name of a token given without one.
DEFAULT_TOKEN_NAME: Final = "token"

#: Where the guard leaves the name of the token a request carried (``scope["state"]``).
ACTOR_STATE: Final = "dagwright_actor"

#: The shortest token accepted.
MIN_TOKEN_LENGTH: Final = 16

#: The port a URL of each scheme means when it names none.
DEFAULT_PORTS: Final = {"http": 80, "https": 443}

#: A Host header (or a URL's authority): ``name``, ``[IPv6]``, each with an optional port.
_AUTHORITY = re.compile(
    r"(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9._-]+))(?::(?P<port>[0-9]{1,5}))?"
)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def normal_host(text: str) -> str | None:
    """A host name or IP literal (an IPv6 one with or without brackets) in the form compared:
    names lower case, addresses in their compressed form, IPv6 without brackets; None when
    ``text`` is neither (a port, a scheme, a zone id, spaces …)."""
    inner = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    address = _address(inner) if ":" in inner else None
    if address is not None:
        return None if getattr(address, "scope_id", None) else str(address)
    match = _AUTHORITY.fullmatch(text)
    if match is None or match["port"] is not None or match["v6"] is not None:
        return None
    return text.lower()


def is_loopback(host: str) -> bool:
    """Whether a host (an address to listen on, or a Host header's name without its port)
    is the loopback interface: ``localhost``, an address in 127.0.0.0/8, ``::1`` (bracketed
    or not) or an IPv4-mapped loopback address (``::ffff:127.0.0.1``)."""
    name = normal_host(host)
    if name is None:
        return False
    if name == LOOPBACK_NAME:
        return True
    address = _address(name)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address is not None and address.is_loopback


def split_host(header: str) -> tuple[str, int | None] | None:
    """The name (as :func:`normal_host` gives it) and port of a Host header; None when the
    header is malformed (no name, an unbracketed IPv6 address, a port that is empty, not a
    number or not in 1–65535, anything more)."""
    match = _AUTHORITY.fullmatch(header)
    if match is None:
        return None
    port = int(match["port"]) if match["port"] is not None else None
    if port is not None and not 0 < port < 65536:
        return None
    name = normal_host(f"[{match['v6']}]" if match["v6"] is not None else match["name"])
    return None if name is None else (name, port)


def allowed_host_names(hosts: Iterable[str]) -> frozenset[str]:
    """The names accepted in the Host header besides loopback ones: each of ``hosts`` (the
    ``--host`` listened on, each ``--allow-host``) normalised; a wildcard address
    (``0.0.0.0``, ``::``) names no host, so it is left out.

    Raises:
        DagwrightInvalidConfigError: a host that is not a name or an IP literal.
    """
    names = set()
    for host in hosts:
        name = normal_host(host.strip())
        if name is None:
            rule = "an allowed host is a host name or an IP address, without scheme or port"
            raise DagwrightInvalidConfigError("allowed host", rule, host)
        address = _address(name)
        if address is None or not address.is_unspecified:
            names.add(name)
    return frozenset(names)


def check_token(token: str, where: str) -> None:
    """Refuse a token that is easy to guess or mistyped: shorter than
    :data:`MIN_TOKEN_LENGTH` characters, or holding whitespace.

    Raises:
        DagwrightInvalidConfigError: naming ``where`` (``--token``, ``DAGWRIGHT_TOKEN``)
            and the rule broken.
    """
    if any(char.isspace() for char in token):
        raise DagwrightInvalidConfigError(where, "a token must not contain whitespace")
    if len(token) < MIN_TOKEN_LENGTH:
        rule = f"a token is at least {MIN_TOKEN_LENGTH} characters (--token generate makes one)"
        raise DagwrightInvalidConfigError(where, rule)


#: A token's name: what ``--token NAME=SECRET`` may put before the ``=``.
_TOKEN_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


def split_token(text: str) -> tuple[str, str]:
    """``(name, secret)`` of ``NAME=SECRET``; a text whose part before the first ``=`` is
    not a name (letters, digits, ``_.@-``, at most 64) is a bare secret named ``token``."""
    name, sep, secret = text.partition("=")
    if sep and _TOKEN_NAME.fullmatch(name):
        return name, secret
    return DEFAULT_TOKEN_NAME, text


def parse_tokens(texts: Iterable[str], where: str) -> dict[str, str]:
    """Named tokens from ``NAME=SECRET`` texts (a bare ``SECRET`` is named ``token``),
    each checked by :func:`check_token`.

    Raises:
        DagwrightInvalidConfigError: a secret breaks a rule, a name repeats, or two
            names share a secret.
    """
    tokens: dict[str, str] = {}
    for text in texts:
        name, secret = split_token(text)
        check_token(secret, where)
        if name in tokens:
            raise DagwrightInvalidConfigError(where, f"the token name {name!r} is given twice")
        if secret in tokens.values():
            raise DagwrightInvalidConfigError(where, "two tokens have the same secret")
        tokens[name] = secret
    return tokens


def request_actor(scope: Scope) -> str:
    """Who sent a request: the name of the token it carried, else the client's address."""
    name = scope.get("state", {}).get(ACTOR_STATE)
    if name is not None:
        return str(name)
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _origin(scheme: str, authority: str) -> tuple[str, str, int] | None:
    host = split_host(authority)
    if host is None or scheme not in DEFAULT_PORTS:
        return None
    name, port = host
    return scheme, name, port if port is not None else DEFAULT_PORTS[scheme]


def _url_origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return _origin(parts.scheme.lower(), parts.netloc)


def _same_origin(scope: Scope, headers: Headers) -> bool:
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    source = headers.get("origin") or headers.get("referer")
    if source is None:
        return True
    target = _origin(str(scope.get("scheme", "http")), headers.get("host", ""))
    return target is not None and _url_origin(source) == target


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
    """ASGI middleware applying the Host, token and same-origin rules (module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        token: str | Mapping[str, str] | None = None,
        allowed_hosts: Iterable[str] = (),
    ) -> None:
        """Guard ``app``; ``token`` is one secret (named ``token``) or named secrets."""
        if isinstance(token, str):
            token = {DEFAULT_TOKEN_NAME: token}
        for secret in (token or {}).values():
            check_token(secret, "token")
        self.app = app
        self.tokens: dict[str, str] | None = dict(token) if token else None
        self.allowed_hosts = allowed_host_names(allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response = self._check(scope)
        if response is not None:
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def host_allowed(self, header: str) -> bool:
        """Whether a Host header names this server (the Host rule)."""
        host = split_host(header)
        return host is not None and (host[0] in self.allowed_hosts or is_loopback(host[0]))

    def _check(self, scope: Scope) -> Response | None:
        headers = Headers(scope=scope)
        if not self.host_allowed(headers.get("host", "")):
            message = (
                "this server does not answer to this Host: open it by 127.0.0.1 or localhost, "
                "or start it with --allow-host NAME"
            )
            return _deny(scope, 421, "misdirected_request", message, "host")
        bearer = self._bearer_name(headers)
        if bearer is not None:
            scope.setdefault("state", {})[ACTOR_STATE] = bearer
        elif self.tokens is not None:
            denied = self._token_check(scope, headers)
            if denied is not None:
                return denied
        if scope["method"] not in SAFE_METHODS and not bearer and not _same_origin(scope, headers):
            return _deny(scope, 403, "forbidden", "cross-origin request refused")
        field = _nul_field(scope)
        if field is not None:
            return _deny(scope, 422, "invalid_request", "must not contain NUL characters", field)
        return None

    def _bearer_name(self, headers: Headers) -> str | None:
        if self.tokens is None:
            return None
        scheme, _, given = headers.get("authorization", "").partition(" ")
        return self._name_of(given.strip()) if scheme.lower() == "bearer" else None

    def _name_of(self, given: str | None) -> str | None:
        """The name of the token ``given`` is (every token compared: no early exit)."""
        if given is None or self.tokens is None:
            return None
        found = None
        for name, secret in self.tokens.items():
            if _equal(given, secret):
                found = name
        return found

    def _token_check(self, scope: Scope, headers: Headers) -> Response | None:
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), True)
        given = next((v for k, v in query if k == "token"), None)
        name = self._name_of(given)
        if given is not None and name is not None:
            if scope["method"] not in SAFE_METHODS:
                scope.setdefault("state", {})[ACTOR_STATE] = name
                return None
            rest = urlencode([(k, v) for k, v in query if k != "token"])
            redirect = RedirectResponse(scope["path"] + (f"?{rest}" if rest else ""), 303)
            redirect.set_cookie(TOKEN_COOKIE, given, httponly=True, samesite="strict")
            return redirect
        name = self._name_of(_cookie(headers, TOKEN_COOKIE))
        if name is not None:
            scope.setdefault("state", {})[ACTOR_STATE] = name
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
