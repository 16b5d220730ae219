"""How a launcher and the run worker process it starts agree: the worker's command line,
its environment and where its output goes.

Kept apart from :mod:`dagwright.runs.launcher` (which imports ``subprocess`` and
``socket``) because the worker imports it too, and a worker's start-up is the latency of
every launched run.
"""

from __future__ import annotations

import contextlib
import os
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
#: The storage options of the launcher's instance (``StorageOptions.to_env``; internal).
WORKER_STORAGE_OPTIONS_ENV: Final = "DAGWRIGHT_WORKER_STORAGE_OPTIONS"


#: The exit code of a worker (of a run or a step) that could not write to storage.
STORAGE_ERROR_EXIT: Final = 75
#: Bytes a worker reserves on disk for its exit note before it runs anything.
EXIT_NOTE_SIZE: Final = 4096


def heartbeat_interval(instance: Instance) -> float:
    """How often a worker shows life: twice per run-monitor poll, at most every 5 s."""
    return min(5.0, instance.settings.run_monitoring.poll_interval_seconds / 2)


def worker_log_path(home: Path, run_id: str) -> Path:
    """Where a run worker's stdout and stderr go."""
    return home / "logs" / f"{run_id}.log"


def exit_note_path(home: Path, run_id: str) -> Path:
    """Where a run worker that could not write to storage leaves why (its exit note)."""
    return home / "logs" / f"{run_id}.exit"


def read_exit_note(home: Path, run_id: str) -> str | None:
    """The exit note a run's worker left, if any (see :class:`ExitNote`)."""
    try:
        text = exit_note_path(home, run_id).read_bytes()
    except OSError:
        return None
    return text.decode("utf-8", "replace").strip() or None


class ExitNote:
    """A file a run worker reserves before the run (``EXIT_NOTE_SIZE`` bytes of blanks)
    to say why it exits when storage fails: overwriting reserved bytes needs no free
    space, so the cause is kept even on a full disk. Removed when the run ends normally.
    """

    def __init__(self, path: Path) -> None:
        """Reserve the note at ``path`` (a worker that cannot is not stopped by it)."""
        self._path = path
        self._fd: int | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
            os.write(self._fd, b" " * EXIT_NOTE_SIZE)
        except OSError:
            self.close()

    def write(self, text: str) -> None:
        """Leave ``text`` (cut to the reserved size) as the note, and close it."""
        if self._fd is not None:
            data = text.encode("utf-8", "replace")[: EXIT_NOTE_SIZE - 1] + b"\n"
            with contextlib.suppress(OSError):
                os.pwrite(self._fd, data.ljust(EXIT_NOTE_SIZE), 0)
        self.close()

    def discard(self) -> None:
        """The run ended normally: remove the note."""
        self.close()
        with contextlib.suppress(OSError):
            os.unlink(self._path)

    def close(self) -> None:
        """Close the file (the note stays)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
