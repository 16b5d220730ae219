"""The token, same-origin and Host rules of ``dagwright.web.security``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dagwright import Instance
from dagwright.web.app import create_app
from dagwright.web.security import TOKEN_COOKIE, is_loopback

TOKEN = "s3cret-token"


@pytest.fixture
def plain_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Instance]:
    monkeypatch.delenv("DAGWRIGHT_PG_URL", raising=False)
    with Instance.from_home(tmp_path / "home") as instance:
        yield instance


def _client(instance: Instance, token: str | None, base_url: str) -> TestClient:
    return TestClient(create_app(instance, token=token), base_url=base_url)


def test_with_a_token_every_request_needs_it(plain_instance: Instance) -> None:
    client = _client(plain_instance, TOKEN, "http://dagwright.example:3000")
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
    client = _client(plain_instance, TOKEN, "http://dagwright.example:3000")
    response = client.get(f"/runs?token={TOKEN}&status=SUCCESS", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/runs?status=SUCCESS"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{TOKEN_COOKIE}={TOKEN}") and "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert client.get("/runs?status=SUCCESS").status_code == 200  # the cookie is sent now
    fresh = _client(plain_instance, TOKEN, "http://dagwright.example:3000")
    assert fresh.get(f"/runs?token=wrong-{TOKEN}", follow_redirects=False).status_code == 401


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


def test_without_a_token_only_loopback_host_names_are_served(plain_instance: Instance) -> None:
    rebinding = _client(plain_instance, None, "http://attacker.example:3000")
    assert rebinding.get("/api/v1/runs").status_code == 403
    for base in ("http://localhost:3000", "http://127.0.0.1", "http://[::1]:3000"):
        assert _client(plain_instance, None, base).get("/api/v1/runs").status_code == 200


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("localhost", True), ("::1", True),
     ("0.0.0.0", False), ("192.168.1.5", False), ("example.com", False), ("::", False)],
)  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
