"""``dagwright ui`` (the web server) and ``dagwright dev`` (the web server and the daemon)."""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import click

from dagwright.cli.common import CodeArgs, code_options, load_code, open_instance

if TYPE_CHECKING:
    from dagwright.definitions.container import Definitions

#: Seconds ``dev`` waits for its daemon to stop before killing it.
DAEMON_STOP_TIMEOUT = 10.0

_PORT = click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=3000,
    show_default=True,
    help="Port to listen on.",
)


def check_binding(host: str, token: str | None) -> None:
    """Refuse to listen beyond the loopback interface without a token."""
    from dagwright.web.security import is_loopback

    if not is_loopback(host) and not token:
        raise click.UsageError(
            f"--host {host} is reachable from other machines: give --token "
            "(or set DAGWRIGHT_TOKEN) so that every request must carry it"
        )


def serve(definitions: Definitions | None, host: str, port: int, token: str | None) -> None:
    """Run the web app on the instance of $DAGWRIGHT_HOME until SIGINT/SIGTERM."""
    import uvicorn

    from dagwright.web.app import create_app

    with open_instance() as instance:
        app = create_app(instance, definitions, token=token)
        shown = f"[{host}]" if ":" in host else host
        query = "?" + urlencode({"token": token}) if token else ""
        url = f"http://{shown}:{port}/{query}"
        click.echo(f"dagwright UI on {url}  (home {instance.home}; Ctrl-C stops it)", err=True)
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
        )
        for signum in (signal.SIGINT, signal.SIGTERM):  # uvicorn re-raises the signal
            signal.signal(signum, _quit)  # that stopped it: end cleanly (``dev`` then
        uvicorn.Server(config).run()  # stops its daemon)


def _quit(signum: int, frame: object) -> None:
    raise SystemExit(0)


@click.command("ui")
@code_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@_PORT
@click.option(
    "--token",
    envvar="DAGWRIGHT_TOKEN",
    help="Require this token on every request (needed to listen beyond 127.0.0.1).",
)
def ui_command(code: CodeArgs, host: str, port: int, token: str | None) -> None:
    """Serve the web UI and the HTTP API (/api/v1) for $DAGWRIGHT_HOME, showing the jobs of
    the code locations of -f FILE / -m MODULE (each repeatable) / -w workspace.yaml when
    given."""
    check_binding(host, token)
    definitions = load_code(code) if code.given else None
    serve(definitions, host, port, token)


@click.command("dev")
@code_options
@_PORT
def dev_command(code: CodeArgs, port: int) -> None:
    """Serve the web UI for the jobs of -f FILE / -m MODULE (each repeatable) /
    -w workspace.yaml on 127.0.0.1 and run the daemon (run queue, run monitor, retries,
    backfills, and the started schedules and sensors of that code) next to it, both on
    $DAGWRIGHT_HOME."""
    definitions = load_code(code)
    daemon = subprocess.Popen([sys.executable, "-m", "dagwright", "daemon", *code.argv()])
    try:
        serve(definitions, "127.0.0.1", port, None)
    finally:
        _stop(daemon)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(DAEMON_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
