"""The run queue as one process follows it: a
:class:`~dagwright.runs.queue_index.QueueIndex` kept current from the storage's run
change feed (:mod:`dagwright.storage.changes`).

Each pass reads only the runs that changed since the previous one, so a daemon deciding
every second over a queue of thousands does not read, parse or sort them again.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from dagwright.runs.models import RunStatus
from dagwright.runs.queue import QueueDecision, TagLimit
from dagwright.runs.queue_index import QueueIndex

if TYPE_CHECKING:
    from dagwright.storage.changes import Cursor, RunChanges


class ChangeFeed(Protocol):
    """Where the queue's runs come from: :class:`~dagwright.storage.records.RunRecords`."""

    def queue_changes(self, since: Cursor | None) -> RunChanges:
        """Queued runs and runs in progress that changed after ``since`` (all if None)."""
        ...


class QueueFeed:
    """The queue index of one process and where it is in the change feed.

    Thread-safe: a web server's requests may ask for the queue at the same time.
    """

    def __init__(self, max_concurrent_runs: int, tag_limits: Sequence[TagLimit] = ()) -> None:
        """Follow the queue with this cap and these tag limits."""
        self._index = QueueIndex(max_concurrent_runs, tag_limits)
        self._cursor: Cursor | None = None
        self._lock = threading.Lock()

    def decide(self, feed: ChangeFeed) -> QueueDecision:
        """Catch up with the runs that changed, then make one pass over the queue."""
        with self._lock:
            changes = feed.queue_changes(self._cursor)
            index = self._index
            if changes.complete:
                queued = [run for run in changes.runs if run.status is RunStatus.QUEUED]
                index.load(queued, changes.runs)
            else:
                index.remove(changes.left)
                index.update(changes.runs)
            self._cursor = changes.cursor
            return index.decide()
