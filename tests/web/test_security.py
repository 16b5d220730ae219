"""The Host, token and same-origin rules of ``dagwright.web.security``, and the response
headers of ``dagwright.web.headers``, unit and through the app."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dagwright import Instance
from dagwright.errors import DagwrightInvalidConfigError
from dagwright.runs.backfills import BackfillProgress
from dagwright.web.app import create_app
from dagwright.web.headers import SecurityHeaders
from dagwright.web.render import progress_html
from dagwright.web.security import TOKEN_COOKIE, check_token, is_loopback, split_host

TOKEN = "s3cret-token-0123456789"


@pytest.fixture
def plain_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Instance]:
    monkeypatch.delenv("DAGWRIGHT_PG_URL", raising=False)
    with Instance.from_home(tmp_path / "home") as instance:
        yield instance


def _client(
    instance: Instance, token: str | None, base_url: str, allowed: tuple[str, ...] = ()
) -> TestClient:
    return TestClient(create_app(instance, token=token, allowed_hosts=allowed), base_url=base_url)


# ---- the Host rule


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("127.255.255.254", True), ("localhost", True),
     ("LocalHost", True), ("::1", True), ("[::1]", True), ("::ffff:127.0.0.1", True),
     ("[::ffff:127.1.2.3]", True), ("0.0.0.0", False), ("192.168.1.5", False),
     ("example.com", False), ("::", False), ("127.0.0.1.evil.example", False),
     ("127.evil.example", False), ("127.0.0.1:3000", False), ("localhost.evil.example", False),
     ("::ffff:10.0.0.1", False), ("127.1", False), ("", False)],
)  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("header", "expected"),
    [("127.0.0.1", ("127.0.0.1", None)), ("127.0.0.1:3000", ("127.0.0.1", 3000)),
     ("[::1]:3000", ("::1", 3000)), ("[::1]", ("::1", None)), ("LOCALHOST:80", ("localhost", 80)),
     ("[0:0:0:0:0:0:0:1]:1", ("::1", 1)), ("Box.LAN", ("box.lan", None)),
     ("127.0.0.1:", None), ("127.0.0.1:abc", None), ("127.0.0.1:99999", None),
     ("127.0.0.1:0", None), ("127.0.0.1:3000:3000", None), ("::1", None), ("[::1", None),
     ("[::1]x", None), ("[example.com]:3000", None), ("user@127.0.0.1", None), ("", None),
     ("127.0.0.1/x", None), ("127.0.0.1 ", None), ("a b", None), ("[::1%lo]", None)],
)  # fmt: skip
def test_split_host(header: str, expected: tuple[str, int | None] | None) -> None:
    assert split_host(header) == expected


ACCEPTED_HOSTS = ["127.0.0.1", "127.0.0.1:3000", "127.1.2.3:80", "localhost", "localhost:3000",
                  "LocalHost:3000", "[::1]:3000", "[::1]", "[::ffff:127.0.0.1]:3000"]  # fmt: skip
REFUSED_HOSTS = ["127.0.0.1.evil.example", "127.0.0.1.evil.example:3000", "127.evil.example",
                 "attacker.example:3000", "localhost.evil.example", "localhost.", "127.0.0.1:abc",
                 "127.0.0.1:99999", "127.0.0.1:", "::1", "0.0.0.0:3000", "[::]:3000",
                 "192.168.1.5:3000"]  # fmt: skip


@pytest.mark.parametrize("host", ACCEPTED_HOSTS)
def test_loopback_host_headers_are_served(plain_instance: Instance, host: str) -> None:
    client = _client(plain_instance, None, "http://127.0.0.1:3000")
    assert client.get("/api/v1/runs", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_other_host_headers_are_misdirected_on_every_route(
    plain_instance: Instance, host: str
) -> None:
    client = _client(plain_instance, None, "http://127.0.0.1:3000")
    headers = {"Host": host}
    api = client.get("/api/v1/runs", headers=headers)
    assert api.status_code == 421 and api.json()["error"]["type"] == "misdirected_request"
    created = client.post("/api/v1/runs", headers=headers, json={"job_name": "x"})
    assert created.status_code == 421 and created.json()["error"]["field"] == "host"
    for path in ("/runs", "/", "/static/app.css", "/api/v1/docs", "/api/v1/openapi.json"):
        refused = client.get(path, headers=headers)
        assert refused.status_code == 421, path
    page = client.get("/runs", headers=headers)
    assert page.headers["content-type"].startswith("text/plain")
    assert "Host" in page.text


def _call(app: ASGIApp, path: str, headers: list[tuple[bytes, bytes]]) -> list[Message]:
    """The messages ``app`` sends for a GET of ``path`` with exactly ``headers`` (in a
    thread of its own: the browser tests leave an event loop running in this one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(_messages(app, path, headers))).result()


async def _messages(app: ASGIApp, path: str, headers: list[tuple[bytes, bytes]]) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
             "query_string": b"", "headers": headers, "scheme": "http",
             "http_version": "1.1", "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 3000), "root_path": ""}  # fmt: skip
    with contextlib.suppress(RuntimeError):
        await app(scope, receive, send)
    return sent


def test_a_missing_host_header_is_misdirected(plain_instance: Instance) -> None:
    app = create_app(plain_instance)
    for path in ("/api/v1/runs", "/runs"):
        start = _call(app, path, [])[0]
        assert start["type"] == "http.response.start" and start["status"] == 421


def test_the_host_given_to_host_and_allow_host_is_accepted(plain_instance: Instance) -> None:
    allowed = ("box.lan", "192.168.1.5", "[fe80::1]", "0.0.0.0")  # 0.0.0.0: a wildcard
    client = _client(plain_instance, None, "http://127.0.0.1:3000", allowed)
    for host in ("box.lan:3000", "BOX.LAN", "192.168.1.5:3000", "[fe80::1]:3000", "127.0.0.1"):
        assert client.get("/api/v1/runs", headers={"Host": host}).status_code == 200, host
    for host in ("0.0.0.0:3000", "box.lan.evil.example", "evil.box.lan", "192.168.1.6"):
        assert client.get("/api/v1/runs", headers={"Host": host}).status_code == 421, host


def test_a_token_does_not_lift_the_host_rule(plain_instance: Instance) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    client = _client(plain_instance, TOKEN, "http://dagwright.example:3000")
    refused = client.get("/api/v1/runs", headers=bearer)
    assert refused.status_code == 421  # checked before the token: nothing to learn from it
    named = ("dagwright.example",)
    allowed = _client(plain_instance, TOKEN, "http://dagwright.example:3000", named)
    assert allowed.get("/api/v1/runs", headers=bearer).status_code == 200


def test_bad_allowed_hosts_are_refused(plain_instance: Instance) -> None:
    for bad in ("box.lan:3000", "http://box.lan", "", "a b", "*"):
        with pytest.raises(DagwrightInvalidConfigError, match="allowed host"):
            create_app(plain_instance, allowed_hosts=(bad,))


# ---- the token rule


def test_with_a_token_every_request_needs_it(plain_instance: Instance) -> None:
    client = _client(plain_instance, TOKEN, "http://127.0.0.1:3000")
    denied = client.get("/api/v1/runs")
    assert denied.status_code == 401 and denied.json()["error"]["type"] == "unauthorized"
    assert client.get("/runs").status_code == 401
    assert client.get("/static/app.css").status_code == 401
    wrong = client.get("/api/v1/runs", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    ok = client.get("/api/v1/runs", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200


def test_a_token_in_the_url_sets_a_cookie_and_is_dropped_from_the_address(
    plain_instance: Instance,
) -> None:
    client = _client(plain_instance, TOKEN, "http://localhost:3000")
    response = client.get(f"/runs?token={TOKEN}&status=SUCCESS", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/runs?status=SUCCESS"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{TOKEN_COOKIE}={TOKEN}") and "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert client.get("/runs?status=SUCCESS").status_code == 200  # the cookie is sent now
    fresh = _client(plain_instance, TOKEN, "http://localhost:3000")
    assert fresh.get(f"/runs?token=wrong-{TOKEN}", follow_redirects=False).status_code == 401


@pytest.mark.parametrize(
    ("token", "rule"),
    [("short", "at least 16"), ("x" * 15, "at least 16"), (" " * 20, "whitespace"),
     ("0123456789 abcdef", "whitespace"), ("0123456789abcdef\n", "whitespace"),
     ("\t" + "x" * 16, "whitespace"), ("", "at least 16")],
)  # fmt: skip
def test_weak_tokens_are_refused(plain_instance: Instance, token: str, rule: str) -> None:
    with pytest.raises(DagwrightInvalidConfigError, match=rule):
        check_token(token, "--token")
    with pytest.raises(DagwrightInvalidConfigError, match=rule):
        create_app(plain_instance, token=token)
    check_token("x" * 16, "--token")  # 16 characters: enough


# ---- the same-origin rule


def test_state_changes_need_the_same_origin_or_a_bearer_token(plain_instance: Instance) -> None:
    client = _client(plain_instance, None, "http://127.0.0.1:3000")
    path = "/api/v1/runs/nope/terminate"
    assert client.post(path, headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.post(path, headers={"Origin": "null"}).status_code == 403
    referer = {"Referer": "https://evil.example/page"}
    assert client.post(path, headers=referer).status_code == 403
    assert client.post(path, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    same = {"Origin": "http://127.0.0.1:3000", "Sec-Fetch-Site": "same-origin"}
    assert client.post(path, headers=same).status_code == 404  # allowed; no such run
    assert client.post(path).status_code == 404  # not a browser: nothing to forge
    assert client.get("/api/v1/runs", headers={"Origin": "https://evil.example"}).status_code == 200

    with_token = _client(plain_instance, TOKEN, "http://127.0.0.1:3000")
    with_token.cookies.set(TOKEN_COOKIE, TOKEN)
    evil = {"Origin": "https://evil.example"}
    assert with_token.post(path, headers=evil).status_code == 403  # cookie alone: checked
    bearer = {**evil, "Authorization": f"Bearer {TOKEN}"}
    assert with_token.post(path, headers=bearer).status_code == 404


@pytest.mark.parametrize(
    ("base", "origin", "same"),
    [("http://127.0.0.1:3000", "http://127.0.0.1:3000", True),
     ("http://127.0.0.1:3000", "https://127.0.0.1:3000", False),  # another scheme
     ("http://127.0.0.1:3000", "http://127.0.0.1:3001", False),
     ("http://127.0.0.1:3000", "http://127.0.0.1", False),
     ("http://127.0.0.1", "http://127.0.0.1:80", True),  # the default port, spelt out
     ("http://127.0.0.1:80", "http://127.0.0.1", True),
     ("https://127.0.0.1", "https://127.0.0.1:443", True),
     ("http://localhost:3000", "http://LOCALHOST:3000", True),  # names ignore case
     ("http://[::1]:3000", "http://[0:0::1]:3000", True),
     ("http://[::1]:3000", "http://[::1]:3000", True),
     ("http://127.0.0.1:3000", "http://127.0.0.2:3000", False),
     ("http://127.0.0.1:3000", "http://127.0.0.1:3000@evil.example", False),
     ("http://127.0.0.1:3000", "http://evil.example#@127.0.0.1:3000", False),
     ("http://127.0.0.1:3000", "http://[::1", False),
     ("http://127.0.0.1:3000", "127.0.0.1:3000", False),
     ("http://127.0.0.1:3000", "javascript://127.0.0.1:3000", False)],
)  # fmt: skip
def test_the_origin_is_compared_by_scheme_host_and_port(
    plain_instance: Instance, base: str, origin: str, same: bool
) -> None:
    client = _client(plain_instance, None, base)
    path = "/api/v1/runs/nope/terminate"
    assert client.post(path, headers={"Origin": origin}).status_code == (404 if same else 403)
    referer = origin + "/runs/x"
    assert client.post(path, headers={"Referer": referer}).status_code == (404 if same else 403)


# ---- the headers on every response

CSP_DIRECTIVES = {
    "default-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def _assert_hardened(response: httpx.Response) -> str:
    """The response's headers are the hardened ones; returns the CSP nonce."""
    what = f"{response.request.method} {response.request.url} -> {response.status_code}"
    headers = response.headers
    assert headers.get("x-frame-options") == "DENY", what
    assert headers.get("x-content-type-options") == "nosniff", what
    assert headers.get("referrer-policy") == "same-origin", what
    csp = headers.get("content-security-policy", "")
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";") if part.strip())
    for name, value in CSP_DIRECTIVES.items():
        assert directives.get(name) == value, (what, name, csp)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, what
    match = re.fullmatch(r"'self' 'nonce-([A-Za-z0-9_-]{22,})'", directives["script-src"])
    assert match is not None, (what, csp)
    return match.group(1)


def test_every_response_carries_the_hardening_headers(plain_instance: Instance) -> None:
    client = _client(plain_instance, None, "http://127.0.0.1:3000")
    evil = {"Origin": "https://evil.example"}
    responses = [
        client.get("/runs"),
        client.get("/"),
        client.get("/static/app.js"),
        client.get("/static/nope.js"),  # 404 from the static files
        client.get("/nope"),  # the error page
        client.get("/api/v1/runs"),
        client.get("/api/v1/runs/nope"),  # a JSON 404
        client.get("/api/v1/runs?limit=x"),  # a JSON 422
        client.get("/api/v1/openapi.json"),
        client.get("/api/v1/docs"),
        client.post("/api/v1/runs/nope/terminate", headers=evil),  # the guard's 403
        client.get("/api/v1/runs", headers={"Host": "evil.example"}),  # the guard's 421
        client.get("/runs", headers={"Host": "evil.example"}),
        client.get("/runs?x=%00"),  # the guard's 422
        client.post("/schedules/nope/start", follow_redirects=False),
    ]
    with_token = _client(plain_instance, TOKEN, "http://127.0.0.1:3000")
    responses += [
        with_token.get("/api/v1/runs"),  # the guard's 401
        with_token.get("/runs"),
        with_token.get(f"/runs?token={TOKEN}", follow_redirects=False),  # the 303
    ]
    assert {r.status_code for r in responses} >= {200, 303, 401, 403, 404, 421, 422}
    nonces = [_assert_hardened(response) for response in responses]
    assert len(set(nonces)) == len(nonces)  # a fresh nonce for every response


def test_guard_errors_are_json_on_the_api_and_text_on_pages(plain_instance: Instance) -> None:
    client = _client(plain_instance, TOKEN, "http://127.0.0.1:3000")
    for path, status in (("/api/v1/runs", 401), ("/api/v1/runs?x=%00", 401)):
        api = client.get(path)
        assert api.status_code == status
        assert api.headers["content-type"] == "application/json"
        assert set(api.json()["error"]) >= {"type", "field", "rule", "message"}
    page = client.get("/runs")
    assert page.status_code == 401 and page.headers["content-type"].startswith("text/plain")


def test_a_crash_before_any_response_is_a_hardened_500() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    app = SecurityHeaders(broken)
    host = [(b"host", b"127.0.0.1")]
    for path, kind in (("/api/v1/runs", b"application/json"), ("/runs", b"text/plain")):
        start, body = _call(app, path, host)
        assert start["status"] == 500
        headers = dict(start["headers"])
        assert headers[b"content-type"].startswith(kind)
        assert headers[b"x-frame-options"] == b"DENY"
        assert b"frame-ancestors 'none'" in headers[b"content-security-policy"]
        assert b"boom" not in body["body"]  # nothing of the error leaks


# ---- no inline script or style: the CSP allows none

#: An inline script (not a file's, not JSON data), an inline event handler, an inline style
#: or a ``javascript:`` link.
INLINE = re.compile(
    r"<script(?![^>]*\b(?:src=|type=\"application/json\"))|<[^>]+\son[a-z]+\s*=|"
    r"<[^>]+\sstyle\s*=|href=\"javascript:",
    re.IGNORECASE,
)
TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "dagwright" / "web" / "templates"


def test_templates_hold_no_inline_script_handler_or_style() -> None:
    templates = sorted(TEMPLATES.glob("*.html"))
    assert len(templates) > 10
    for template in templates:
        found = INLINE.search(template.read_text())
        assert found is None, (template.name, found)


def test_pages_hold_no_inline_script_handler_or_style(client: TestClient) -> None:
    progress = BackfillProgress(requested=4, submitted=4, succeeded=1, failed=1, running=2)
    assert INLINE.search(progress_html(progress)) is None
    assert 'width="25.00"' in progress_html(progress)
    for path in ("/", "/runs", "/jobs/documented", "/jobs/configured/launchpad", "/backfills",
                 "/schedules", "/sensors", "/queue", "/nope"):  # fmt: skip
        found = INLINE.search(client.get(path).text)
        assert found is None, (path, found)


def test_the_api_docs_come_from_the_package_with_the_response_nonce(
    plain_instance: Instance,
) -> None:
    client = _client(plain_instance, None, "http://127.0.0.1:3000")
    docs = client.get("/api/v1/docs")
    nonce = _assert_hardened(docs)
    scripts = re.findall(r"<script([^>]*)>", docs.text)
    assert scripts == [' src="/static/swagger-ui/swagger-ui-bundle.js"', f' nonce="{nonce}"']
    assert "http" not in docs.text.replace("http-equiv", "")  # nothing from elsewhere
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        served = client.get(f"/static/swagger-ui/{asset}")
        assert served.status_code == 200 and len(served.content) > 100_000, asset


def test_named_tokens_parse_and_refuse_repeats() -> None:
    from dagwright.errors import DagwrightInvalidConfigError
    from dagwright.web.security import parse_tokens, split_token

    secret, other = "s" * 16, "o" * 16
    assert parse_tokens([f"ana={secret}", other], "--token") == {"ana": secret, "token": other}
    assert split_token("a+b/c=&d#e%f?g;h") == ("token", "a+b/c=&d#e%f?g;h")  # not a name
    for texts, rule in (
        ([f"ana={secret}", f"ana={other}"], "given twice"),
        ([f"ana={secret}", f"bob={secret}"], "same secret"),
        (["ana=short"], "at least 16"),
    ):
        with pytest.raises(DagwrightInvalidConfigError, match=rule):
            parse_tokens(texts, "--token")
