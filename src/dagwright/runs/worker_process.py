"""How a launcher and the run worker process it starts agree: the worker's command line,
its environment and where its output goes.

Kept apart from :mod:`dagwright.runs.launcher` (which imports ``subprocess`` and
``socket``) because the worker imports it too, and a worker's start-up is the latency of
every launched run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from dagwright.instance import Instance

#: The module a launched run's process runs.
WORKER_MODULE: Final = "dagwright.execution.worker"
#: Its argument for a warm standby worker: it loads everything, then reads the id of the
#: run to execute from its standard input.
STANDBY: Final = "--standby"
#: The storage URL a launched worker opens (the launcher's; internal to dagwright).
WORKER_STORAGE_ENV: Final = "DAGWRIGHT_WORKER_STORAGE_URL"
#: Seconds between a launched worker's heartbeats (internal to dagwright).
WORKER_HEARTBEAT_ENV: Final = "DAGWRIGHT_WORKER_HEARTBEAT_SECONDS"
#: Where a launched worker keeps step outputs (``Settings.output_store_spec``; internal).
WORKER_OUTPUTS_ENV: Final = "DAGWRIGHT_WORKER_OUTPUTS"


def heartbeat_interval(instance: Instance) -> float:
    """How often a worker shows life: twice per run-monitor poll, at most every 5 s."""
    return min(5.0, instance.settings.run_monitoring.poll_interval_seconds / 2)


def worker_log_path(home: Path, run_id: str) -> Path:
    """Where a run worker's stdout and stderr go."""
    return home / "logs" / f"{run_id}.log"
