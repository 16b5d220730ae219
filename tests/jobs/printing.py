"""Jobs whose ops print, for the step-log tests (captured in process and in workers).

``noisy``:        talk (stdout, stderr, a raw fd write, a subprocess) -> shout (fails)
``noisy_multi``:  the same with the multiprocess executor (each step in a step process)
``chatty``:       blab (config ``size``: that many bytes of ``x`` on stdout)
``slow_talker``:  drip (prints a line, then waits for the file named by tag ``release``)
``stopped``:      interrupted (prints a line, then raises KeyboardInterrupt)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from dagwright import Config, OpExecutionContext, job, multiprocess_executor, op


@op
def talk() -> int:
    print("hello from talk")
    print("warning from talk", file=sys.stderr)
    sys.stdout.flush()
    os.write(1, b"raw fd write\n")
    subprocess.run([sys.executable, "-c", "print('from a subprocess')"], check=True)
    return 1


@op
def shout(context: OpExecutionContext, x: int) -> None:
    context.log.info("about to fail")
    print(f"shout got {x}")
    print("shout is failing", file=sys.stderr)
    print("<img src=x onerror=window.__pwned=1>", file=sys.stderr)  # shown as text
    raise ValueError("boom")


@job
def noisy() -> None:
    shout(talk())


@job(executor_def=multiprocess_executor)
def noisy_multi() -> None:
    shout(talk())


class BlabConfig(Config):
    """Config of :func:`blab`."""

    size: int


@op
def blab(config: BlabConfig) -> None:
    sys.stdout.write("x" * config.size)


@job
def chatty() -> None:
    blab()


@op
def drip(context: OpExecutionContext) -> None:
    print("first line", flush=True)
    release = Path(context.run.tags["release"])
    deadline = time.monotonic() + 60
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    print("second line")


@job
def slow_talker() -> None:
    drip()


@op
def interrupted() -> None:
    print("before the interrupt")
    raise KeyboardInterrupt


@job
def stopped() -> None:
    interrupted()
