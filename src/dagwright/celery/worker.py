"""``dagwright celery worker``: Celery's own worker, consuming dagwright's step tasks.

The worker reads ``$DAGWRIGHT_HOME/dagwright.yaml`` (the shared store, the broker),
opens the store once to check it (and bring its schema up to date), loads its ``-f`` /
``-m`` code once before Celery forks its pool, and hands over to Celery's worker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dagwright.definitions.workspace import CodeLocationOrigin
from dagwright.errors import DagwrightInvalidConfigError

#: The worker's name when ``-n`` is not given (Celery expands ``%h`` to the host name).
DEFAULT_NAME = "dagwright@%h"


@dataclass(frozen=True)
class WorkerOptions:
    """What ``dagwright celery worker`` was asked for.

    Attributes:
        home: ``$DAGWRIGHT_HOME``.
        queues: the queues to consume; none: ``celery.default_queue``.
        concurrency: pool processes (steps at once).
        loglevel: Celery's log level.
        name: the worker's node name (``name@host``).
        origins: ``-f``/``-m``/``-w``: the code locations the worker executes steps of
            (none: each run's code pointer is loaded).
    """

    home: Path
    queues: tuple[str, ...]
    concurrency: int
    loglevel: str = "info"
    name: str = DEFAULT_NAME
    origins: tuple[CodeLocationOrigin, ...] = ()


def parse_queues(text: str) -> tuple[str, ...]:
    """``a,b`` -> ``("a", "b")``.

    Raises:
        DagwrightInvalidConfigError: no queue, or an empty name.
    """
    queues = tuple(part.strip() for part in text.split(","))
    if not queues or any(not q or any(c.isspace() for c in q) for q in queues):
        raise DagwrightInvalidConfigError("-q", f"expected QUEUE[,QUEUE...], got {text!r}")
    return queues


def worker_argv(options: WorkerOptions, default_queue: str) -> list[str]:
    """The arguments Celery's worker is started with."""
    return [
        "worker",
        "--queues",
        ",".join(options.queues or (default_queue,)),
        "--concurrency",
        str(options.concurrency),
        "--loglevel",
        options.loglevel,
        "--hostname",
        options.name,
        "--pool",
        "prefork",
        "--without-mingle",
        "--without-gossip",
    ]


def start_worker(options: WorkerOptions) -> None:
    """Check the home, load the code, and run Celery's worker until it is stopped."""
    from dagwright.celery import tasks
    from dagwright.celery.app import make_app
    from dagwright.celery.config import CeleryConfig
    from dagwright.instance import Instance

    with Instance.from_home(options.home) as instance:
        instance.storage  # noqa: B018 -- opening it checks (and migrates) the schema
        config = CeleryConfig.resolve(instance.settings.celery)
    location = tasks.WorkerLocation(options.home, options.origins)
    tasks.configure(location, preload=True)
    app = make_app(config)
    tasks.register(app)
    os.environ.setdefault("DAGWRIGHT_HOME", str(options.home))
    app.worker_main(worker_argv(options, config.default_queue))
