"""The limits a run leaving the queue is checked against when it is claimed.

Each daemon decides from its own view of the queue (:mod:`dagwright.runs.queue_feed`),
which another daemon may have made stale a moment ago. So the claim itself (the run's
``QUEUED`` → ``STARTING`` write) counts the runs in progress in storage, in the same
transaction, and is refused when the global cap or a tag limit the run counts in is full:
any number of daemons may follow one queue without going over a limit.

This module is the pure part: which counts a claim needs (:meth:`ClaimLimits.keys_of`) and
what they mean (:meth:`ClaimLimits.refusals`); :mod:`dagwright.storage.claims` reads them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dagwright.errors import DagwrightInvalidTransitionError
from dagwright.runs.models import RunStatus
from dagwright.runs.queue_limits import CAP_REASON, TagLimit, usage

#: In-progress runs per ``(tag key, tag value)``, for the keys a claim asked for.
TagUse = Mapping[tuple[str, str], int]


class ClaimRefusedError(DagwrightInvalidTransitionError):
    """A queued run could not be claimed: a limit is full in storage (another daemon
    launched runs since this one read the queue). The run stays ``QUEUED``.

    Attributes:
        reasons: what is full, as the queue explains it (the cap first).
    """

    def __init__(self, run_id: str, reasons: Sequence[str]) -> None:
        super().__init__(run_id, RunStatus.QUEUED.value, RunStatus.STARTING.value)
        self.reasons = tuple(reasons)
        self.args = (f"{self.args[0]}: {'; '.join(self.reasons)}",)


@dataclass(frozen=True)
class ClaimLimits:
    """The run queue's cap and tag limits, as a claim checks them.

    Attributes:
        max_concurrent_runs: the cap on runs in progress (negative: none).
        tag_limits: the tag concurrency limits, in configured order.
    """

    max_concurrent_runs: int
    tag_limits: tuple[TagLimit, ...] = ()

    def keys_of(self, tags: Mapping[str, str]) -> tuple[str, ...]:
        """The keys of the limits a run with these tags counts in (sorted, unique)."""
        return tuple(sorted({lim.key for lim in self.tag_limits if _counts(lim, tags)}))

    def refusals(self, tags: Mapping[str, str], in_progress: int, tag_use: TagUse) -> list[str]:
        """Why a run with these tags may not start now (empty: it may).

        Args:
            tags: the run's tags.
            in_progress: runs in progress now (the run itself not among them).
            tag_use: runs in progress per ``(key, value)`` for :meth:`keys_of` the tags.
        """
        cap = self.max_concurrent_runs
        reasons = [CAP_REASON.format(used=in_progress, cap=cap)] if 0 <= cap <= in_progress else []
        for lim in self.tag_limits:
            if not _counts(lim, tags):
                continue
            value = tags[lim.key]
            if lim.per_unique_value or lim.match_value is not None:
                used = tag_use.get((lim.key, value), 0)
                shown: str | None = value
            else:
                used = sum(n for (key, _), n in tag_use.items() if key == lim.key)
                shown = None
            if used >= lim.limit:
                reasons.append(usage(lim.key, shown, lim.per_unique_value, used, lim.limit))
        return reasons


def _counts(limit: TagLimit, tags: Mapping[str, str]) -> bool:
    """Whether a run with these tags counts in (one of the pools of) this limit."""
    value = tags.get(limit.key)
    if value is None:
        return False
    return limit.per_unique_value or limit.match_value is None or limit.match_value == value
