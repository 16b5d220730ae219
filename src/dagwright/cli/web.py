"""``dagwright ui`` (the web server) and ``dagwright dev`` (the web server and the daemon)."""

from __future__ import annotations

import errno
import secrets
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import click
from click.core import ParameterSource

from dagwright.cli.common import CodeArgs, code_options, load_code, open_instance

if TYPE_CHECKING:
    from dagwright.definitions.container import Definitions

#: Seconds ``dev`` waits for its daemon to stop before killing it.
DAEMON_STOP_TIMEOUT = 10.0

#: The ``--token`` value asking for a token to be generated.
GENERATE = "generate"

#: Random bytes in a generated token (``secrets.token_urlsafe``: 43 characters).
GENERATED_TOKEN_BYTES = 32

_PORT = click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=3000,
    show_default=True,
    help="Port to listen on.",
)


class _TokenText(click.ParamType[str]):
    """A ``--token`` value; ``DAGWRIGHT_TOKEN`` holds one per line (kept whole, so a
    secret holding whitespace is refused with its rule rather than split)."""

    name = "token"
    envvar_list_splitter = "\n"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        return str(value)


_TOKEN = click.option(
    "--token",
    "tokens",
    envvar="DAGWRIGHT_TOKEN",
    multiple=True,
    type=_TokenText(),
    metavar="[NAME=]SECRET",
    help="Require a token on every request (needed to listen beyond 127.0.0.1): at least "
    f"16 characters, no whitespace; '{GENERATE}' makes a strong one and prints it. "
    "Repeatable, one per person or client: NAME=SECRET names it (the name is who tag "
    "edits are recorded as); a bare SECRET is named 'token'.",
)


@dataclass(frozen=True)
class ServeOptions:
    """Where and how the web server listens.

    Attributes:
        host: the interface to listen on.
        port: the port.
        token: the named tokens, one of which every request must carry, or None.
        allowed_hosts: Host header names accepted besides the loopback ones and ``host``.
        token_generated: whether a token was generated (then it is printed).
    """

    host: str
    port: int
    token: Mapping[str, str] | None = None
    allowed_hosts: tuple[str, ...] = ()
    token_generated: bool = False


def check_binding(host: str, token: Mapping[str, str] | None) -> None:
    """Refuse to listen beyond the loopback interface without a token."""
    from dagwright.web.security import is_loopback

    if not is_loopback(host) and not token:
        raise click.UsageError(
            f"--host {host} is reachable from other machines: give --token "
            "(or set DAGWRIGHT_TOKEN) so that every request must carry it"
        )


def resolve_token(tokens: tuple[str, ...]) -> tuple[dict[str, str] | None, bool]:
    """The named tokens to require (``generate`` as a secret makes a new one) and whether
    one was generated.

    Raises:
        DagwrightInvalidConfigError: a token shorter than 16 characters or holding
            whitespace, a repeated name, naming ``--token`` or ``DAGWRIGHT_TOKEN``.
    """
    from dagwright.web.security import parse_tokens, split_token

    if not tokens:
        return None, False
    generated = False
    texts = []
    for text in tokens:
        name, secret = split_token(text)
        if secret == GENERATE:
            secret, generated = secrets.token_urlsafe(GENERATED_TOKEN_BYTES), True
            text = f"{name}={secret}"
        texts.append(text)
    source = click.get_current_context().get_parameter_source("tokens")
    where = "DAGWRIGHT_TOKEN" if source is ParameterSource.ENVIRONMENT else "--token"
    return parse_tokens(texts, where), generated


def _check_allowed_hosts(names: tuple[str, ...]) -> tuple[str, ...]:
    from dagwright.web.security import normal_host

    for name in names:
        if normal_host(name) is None:
            raise click.BadParameter(
                f"{name!r} is not a host name or an IP address (no scheme, no port)",
                param_hint="--allow-host",
            )
    return names


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, made before anything is printed or started, so
    that a port in use is one clear error (exit 2) rather than a banner and a crash.

    Raises:
        click.UsageError: the port is in use, or the address cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise click.UsageError(
                f"port {port} on {host} is in use (is another dagwright ui running?); "
                "choose another with --port"
            ) from None
        raise click.UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def serve(
    definitions: Definitions | None, options: ServeOptions, sock: socket.socket | None = None
) -> None:
    """Run the web app on the instance of $DAGWRIGHT_HOME until SIGINT/SIGTERM, on ``sock``
    (default: one bound to ``options.host`` and ``options.port`` now)."""
    import uvicorn

    from dagwright.web.app import create_app

    host, port, token = options.host, options.port, options.token
    sock = sock or bind(host, port)
    with open_instance() as instance:
        allowed = (host, *options.allowed_hosts)
        app = create_app(instance, definitions, token=token, allowed_hosts=allowed)
        shown = f"[{host}]" if ":" in host else host
        first = next(iter(token.values()), None) if token else None
        query = "?" + urlencode({"token": first}) if first else ""
        url = f"http://{shown}:{port}/{query}"
        click.echo(f"dagwright UI on {url}  (home {instance.home}; Ctrl-C stops it)", err=True)
        if options.token_generated:
            click.echo(f"token (generated, shown once): {first}", err=True)
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
        )
        for signum in (signal.SIGINT, signal.SIGTERM):  # uvicorn re-raises the signal
            signal.signal(signum, _quit)  # that stopped it: end cleanly (``dev`` then
        uvicorn.Server(config).run(sockets=[sock])  # stops its daemon)


def _quit(signum: int, frame: object) -> None:
    raise SystemExit(0)


@click.command("ui")
@code_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@_PORT
@_TOKEN
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="NAME",
    help="Also answer to this Host name or IP address (repeatable): the machine's name or "
    "address when listening on 0.0.0.0. Loopback names and --host are always accepted; any "
    "other Host is refused (421).",
)
def ui_command(
    code: CodeArgs,
    host: str,
    port: int,
    tokens: tuple[str, ...],
    allow_hosts: tuple[str, ...],
) -> None:
    """Serve the web UI and the HTTP API (/api/v1) for $DAGWRIGHT_HOME, showing the jobs of
    the code locations of -f FILE / -m MODULE (each repeatable) / -w workspace.yaml when
    given."""
    token, generated = resolve_token(tokens)
    check_binding(host, token)
    options = ServeOptions(host, port, token, _check_allowed_hosts(allow_hosts), generated)
    definitions = load_code(code) if code.given else None
    serve(definitions, options)


@click.command("dev")
@code_options
@_PORT
@_TOKEN
def dev_command(code: CodeArgs, port: int, tokens: tuple[str, ...]) -> None:
    """Serve the web UI for the jobs of -f FILE / -m MODULE (each repeatable) /
    -w workspace.yaml on 127.0.0.1 and run the daemon (run queue, run monitor, retries,
    backfills, and the started schedules and sensors of that code) next to it, both on
    $DAGWRIGHT_HOME."""
    token, generated = resolve_token(tokens)
    definitions = load_code(code)
    sock = bind("127.0.0.1", port)  # before the daemon starts: a port in use starts nothing
    daemon = subprocess.Popen([sys.executable, "-m", "dagwright", "daemon", *code.argv()])
    try:
        options = ServeOptions("127.0.0.1", port, token, token_generated=generated)
        serve(definitions, options, sock)
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
