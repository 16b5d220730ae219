"""``dagwright ui`` and ``dagwright dev``: the binding rule, and real servers answering."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.waiting import process_alive, wait_for

CliRunner = Callable[..., Any]
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = str(ROOT / "examples" / "jobs.py")


def test_ui_refuses_a_non_loopback_host_without_a_token(cli: CliRunner, monkeypatch: Any) -> None:
    monkeypatch.delenv("DAGWRIGHT_TOKEN", raising=False)
    outcome = cli("ui", "--host", "0.0.0.0", "--port", "3999")
    assert outcome.code == 2
    assert "--host 0.0.0.0" in outcome.err and "--token" in outcome.err
    assert len(outcome.err.strip().splitlines()) == 1


WEAK_TOKENS = [("short", "at least 16 characters"), ("x" * 15, "at least 16 characters"),
               (" " * 20, "whitespace"), ("0123456789 abcdef", "whitespace"),
               ("0123456789abcdef\t", "whitespace")]  # fmt: skip


@pytest.mark.parametrize("command", ["ui", "dev"])
@pytest.mark.parametrize(("token", "rule"), WEAK_TOKENS)
def test_weak_tokens_are_refused_before_anything_starts(
    cli: CliRunner, home: Path, monkeypatch: Any, command: str, token: str, rule: str
) -> None:
    monkeypatch.delenv("DAGWRIGHT_TOKEN", raising=False)
    given = cli(command, "-f", EXAMPLES, "--token", token, "--port", "3999")
    assert given.code == 2 and len(given.err.strip().splitlines()) == 1, given.err
    assert "--token" in given.err and rule in given.err
    monkeypatch.setenv("DAGWRIGHT_TOKEN", token)
    from_env = cli(command, "-f", EXAMPLES, "--port", "3999")
    assert from_env.code == 2 and len(from_env.err.strip().splitlines()) == 1, from_env.err
    assert "DAGWRIGHT_TOKEN" in from_env.err and rule in from_env.err
    assert not home.exists()  # no instance opened, no daemon started


def test_a_bad_allowed_host_is_refused(cli: CliRunner, home: Path) -> None:
    for bad in ("box.lan:3000", "http://box.lan", "a b"):
        outcome = cli("ui", "--allow-host", bad, "--port", "3999")
        assert outcome.code == 2 and "--allow-host" in outcome.err, outcome.err
        assert len(outcome.err.strip().splitlines()) == 1
    assert not home.exists()


def test_a_real_ui_process_refuses_a_short_token(tmp_path: Path) -> None:
    port = _free_port()
    environ = {**os.environ, "DAGWRIGHT_HOME": str(tmp_path / "home"), "DAGWRIGHT_TOKEN": "t0k"}
    done = subprocess.run(
        [sys.executable, "-m", "dagwright", "ui", "-f", EXAMPLES, "--port", str(port)],
        env=environ, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "Error: DAGWRIGHT_TOKEN: a token is at least 16 characters (--token generate makes one)"
    ]
    assert not _answers(f"http://127.0.0.1:{port}/") and not (tmp_path / "home").exists()


def test_ui_generates_a_token_prints_it_once_and_answers_allowed_hosts(tmp_path: Path) -> None:
    port = _free_port()
    args = ["ui", "-f", EXAMPLES, "--token", "generate", "--allow-host", "box.example"]
    output: list[str] = []
    with _serving(args, tmp_path / "home", port, output) as ui:
        assert ui.stderr is not None
        url = ui.stderr.readline().split()[3]
        printed = ui.stderr.readline().strip()
        assert printed.startswith("token (generated, shown once): ")
        token = printed.rsplit(" ", 1)[1]
        assert len(token) >= 43 and re.fullmatch(r"[A-Za-z0-9_-]+", token)
        assert url == f"http://127.0.0.1:{port}/?token={token}"
        base, bearer = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
        assert _get(f"{base}/api/v1/jobs")[0] == 401
        assert _get(f"{base}/api/v1/jobs", bearer)[0] == 200
        assert _get(f"{base}/api/v1/jobs", {**bearer, "Host": f"box.example:{port}"})[0] == 200
        status, body = _get(f"{base}/api/v1/jobs", {**bearer, "Host": "127.0.0.1.evil.example"})
        assert status == 421 and b"misdirected_request" in body
    assert token not in output[0]  # shown once: nothing more was printed with it


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _answers(url: str) -> bool:
    try:
        _get(url)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False
    return True


@contextmanager
def _serving(
    args: list[str], home: Path, port: int, output: list[str] | None = None, **env: str
) -> Iterator[subprocess.Popen[str]]:
    environ = {**os.environ, "DAGWRIGHT_HOME": str(home), **env}
    environ.pop("DAGWRIGHT_PG_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "dagwright", *args, "--port", str(port)],
        env=environ,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/") or process.poll() is not None, 60,
                 "the server answered")  # fmt: skip
        assert process.poll() is None, process.communicate()[1]
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
        if output is not None:
            output.append(err)


def test_ui_with_a_token_requires_it(tmp_path: Path) -> None:
    port = _free_port()
    token = "t0k-t0k-t0k-t0k-t0k"
    with _serving(["ui", "-f", EXAMPLES], tmp_path / "home", port, DAGWRIGHT_TOKEN=token):
        base = f"http://127.0.0.1:{port}"
        assert _get(f"{base}/api/v1/jobs")[0] == 401
        status, body = _get(f"{base}/api/v1/jobs", {"Authorization": f"Bearer {token}"})
        assert status == 200 and b"daily_sales" in body


def test_the_printed_token_url_lets_a_browser_in_whatever_the_token(tmp_path: Path) -> None:
    port, token = _free_port(), "a+b/c=&d#e%f?g;h'i\"j"
    with _serving(["ui", "-f", EXAMPLES], tmp_path / "home", port, DAGWRIGHT_TOKEN=token) as ui:
        assert ui.stderr is not None
        printed = ui.stderr.readline().split()[3]  # "dagwright UI on <url> (home …)"
        assert printed.startswith(f"http://127.0.0.1:{port}/?token=")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", printed.split(str(port), 1)[1])
            answer = connection.getresponse()
            status, cookie = answer.status, answer.getheader("set-cookie") or ""
        finally:
            connection.close()
        assert status == 303, status  # the cookie is set, the token dropped from the URL
        assert "dagwright_token=" in cookie


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_dev_serves_the_jobs_and_runs_the_daemon_until_stopped(tmp_path: Path) -> None:
    port = _free_port()
    output: list[str] = []
    with _serving(["dev", "-f", EXAMPLES], tmp_path / "home", port, output) as dev:
        status, body = _get(f"http://127.0.0.1:{port}/jobs/daily_sales")
        assert status == 200 and b"Open launchpad" in body
        wait_for(lambda: len(_children(dev.pid)) == 1, 30, "the daemon started")
        (daemon,) = _children(dev.pid)
    assert dev.returncode == 0
    assert f"dagwright UI on http://127.0.0.1:{port}/" in output[0]
    wait_for(lambda: not process_alive(daemon), 30, "the daemon stopped with dev")


@pytest.mark.parametrize("command", [["ui"], ["dev", "-f", EXAMPLES]])
def test_a_port_in_use_is_one_line_and_starts_nothing(tmp_path: Path, command: list[str]) -> None:
    # It printed its banner, then uvicorn's error, and exited 3 (dev had started its daemon).
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        environ = {**os.environ, "DAGWRIGHT_HOME": str(tmp_path / "home")}
        done = subprocess.run(
            [sys.executable, "-m", "dagwright", *command, "--port", str(port)],
            env=environ, cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"Error: port {port} on 127.0.0.1 is in use (is another dagwright ui running?); "
        "choose another with --port"
    ]


def test_dev_with_a_workspace_serves_every_location_and_gives_its_daemon_the_same(
    tmp_path: Path,
) -> None:
    workspace = str(ROOT / "tests" / "jobs" / "workspace_example" / "workspace.yaml")
    other = str(ROOT / "tests" / "jobs" / "workspace_example" / "other.py")
    port = _free_port()
    with _serving(["dev", "-w", workspace], tmp_path / "home", port) as dev:
        status, body = _get(f"http://127.0.0.1:{port}/api/v1/jobs")
        assert status == 200
        refs = [job["reference"] for job in json.loads(body)["jobs"]]
        assert refs == ["nightly@etl", "load_sales", "nightly@ml", "report"]
        assert _get(f"http://127.0.0.1:{port}/jobs/nightly@ml")[0] == 200
        wait_for(lambda: len(_children(dev.pid)) == 1, 30, "the daemon started")
        (daemon,) = _children(dev.pid)
        argv = Path(f"/proc/{daemon}/cmdline").read_text().split("\0")
        assert argv[-3:-1] == ["-w", workspace]
    with _serving(["ui", "-f", EXAMPLES, "-f", other], tmp_path / "home", port):
        status, body = _get(f"http://127.0.0.1:{port}/api/v1/jobs")
        locations = {job["location"] for job in json.loads(body)["jobs"]}
        assert locations == {"jobs", "other"}
