"""The run queue policy: which queued runs launch now, and why the others wait.

:func:`decide` is a pure function of records: the queued runs, the runs in progress, the
global cap and the tag concurrency limits. It walks the queued runs once, in launch order
(:func:`queue_order_key`), and for each one checks the global cap and every tag limit the
run is subject to. The reasons it finds while deciding are kept as the explanation, so
what the UI shows is exactly what the decision saw; there is no second implementation.

:class:`~dagwright.runs.queue_index.QueueIndex` is the same policy kept between passes,
for the daemon: it is told which runs changed and keeps the launch order and the limit
counts, so a pass neither sorts nor reads a run's tags again. :func:`decide` is a pass of
a fresh index.

Rules:

- Order: ``dagwright/priority`` (highest first), then ``created_at`` (oldest first), then
  ``run_id``.
- ``max_concurrent_runs`` caps runs in progress (``IN_PROGRESS_STATUSES``); negative: no
  cap; 0: nothing launches. Once the cap is reached nothing further launches.
- A tag limit holds a run only if the run carries the tag (and, for a ``value`` limit,
  that value). A held run does not hold back later runs that fit (no head-of-line
  blocking by tag limits).
- A run with the system tag ``dagwright/held_by`` waits ("held by <actor>") and holds
  back nothing (``Instance.hold_run``).
- Runs admitted in one pass count against the cap and the limits for the runs after them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

from dagwright.errors import DagwrightInvalidTagError
from dagwright.runs.models import Run
from dagwright.runs.queue_limits import CAP_REASON, Counter, LimitUse, Pool, TagLimit
from dagwright.tags import PRIORITY_TAG, run_priority

if TYPE_CHECKING:
    from dagwright.runs.queue_index import Entry

__all__ = [
    "CAP_REASON",
    "LimitUse",
    "QueueDecision",
    "QueuedRunState",
    "TagLimit",
    "decide",
    "launch_order",
    "queue_order_key",
    "queue_priority",
    "queue_to_json",
]


class QueuedRunState(NamedTuple):
    """What the pass decided for one queued run (an immutable record; a named tuple,
    since the queue page and ``dagwright queue`` build one per queued run).

    Attributes:
        run: the queued run.
        position: 1-based place in launch order among the queued runs.
        priority: the run's queue priority (0 if its tag is missing or invalid).
        launch: admitted in this pass.
        blocked_by: why it was held, as the decision saw it (empty when launched):
            the global cap first, then every full tag limit in configured order.
    """

    run: Run
    position: int
    priority: int
    launch: bool
    blocked_by: tuple[str, ...] = ()


#: One run's verdict as the pass records it: ``(run, priority, launch, blocked_by)``.
Verdict = tuple[Run, int, bool, tuple[str, ...]]


class QueueDecision:
    """The outcome of one pass over the queue, with its explanation.

    Attributes:
        in_progress: runs in progress before this pass.
        max_concurrent_runs: the cap the pass applied (negative: none).
    """

    def __init__(
        self,
        order: tuple[Entry, ...],
        reasons: list[tuple[str, ...]],
        admitted: list[Entry],
        counters: Sequence[Counter],
        in_use: tuple[dict[str | None, int], ...],
        max_concurrent_runs: int,
        in_progress: int,
    ) -> None:
        self._order = order
        self._reasons = reasons  # per entry of ``order``: () when admitted
        self._admitted = admitted
        self._counters = counters
        self._in_use = in_use  # per counter, before the pass
        self.max_concurrent_runs = max_concurrent_runs
        self.in_progress = in_progress

    @property
    def to_launch(self) -> list[Run]:
        """The admitted runs, in launch order."""
        return [entry[3] for entry in self._admitted]

    @cached_property
    def verdicts(self) -> tuple[Verdict, ...]:
        """Every queued run's verdict, in launch order."""
        return tuple(
            (entry[3], -entry[0], not reasons, reasons)
            for entry, reasons in zip(self._order, self._reasons, strict=True)
        )

    @cached_property
    def runs(self) -> tuple[QueuedRunState, ...]:
        """Every queued run with its verdict, in launch order.

        Built on first access: the queue daemon needs only ``to_launch``, so a pass does
        not pay for records nobody reads.
        """
        order = self._order
        return tuple(
            map(
                QueuedRunState,
                [entry[3] for entry in order],
                range(1, len(order) + 1),
                [-entry[0] for entry in order],
                [not reasons for reasons in self._reasons],
                self._reasons,
            )
        )

    @cached_property
    def limits(self) -> tuple[LimitUse, ...]:
        """Every configured tag limit with its use, in configured order."""
        admitted: dict[Pool, int] = {}
        for entry in self._admitted:
            for pool in entry[4].pools:
                admitted[pool] = admitted.get(pool, 0) + 1
        return tuple(
            counter.use(in_use, admitted)
            for counter, in_use in zip(self._counters, self._in_use, strict=True)
        )

    def state_of(self, run_id: str) -> QueuedRunState | None:
        """The decision for one queued run, or None if it was not in the queue."""
        return self._by_id.get(run_id)

    @cached_property
    def _by_id(self) -> dict[str, QueuedRunState]:
        return {state.run.run_id: state for state in self.runs}

    def _key(self) -> tuple[object, ...]:
        return (self.verdicts, self.limits, self.in_progress, self.max_concurrent_runs)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QueueDecision):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"QueueDecision({len(self._order)} queued, {len(self._admitted)} to launch, "
            f"{self.in_progress} in progress, cap {self.max_concurrent_runs})"
        )


def queue_order_key(run: Run) -> tuple[int, float, str]:
    """The launch-order sort key: ``(-priority, created_at, run_id)``.

    A ``dagwright/priority`` tag that is not an integer (tags are validated at submit, so
    this should not happen) counts as priority 0 rather than stopping the queue.
    """
    return (-queue_priority(run.tags), run.created_at, run.run_id)


def launch_order(queued: Iterable[Run]) -> list[tuple[int, Run]]:
    """The queued runs in launch order (by :func:`queue_order_key`), each with its priority.

    Three stable sorts on single keys (run id, then creation time, then priority) give the
    order of the tuple key at a fraction of the cost: each sort compares plain strings,
    floats or ints, and the storage hands the runs over in creation order already.
    """
    runs = sorted(queued, key=_run_id)
    runs.sort(key=_created_at)
    ranked = [(queue_priority(run.tags), run) for run in runs]
    ranked.sort(key=_minus_priority)
    return ranked


def _run_id(run: Run) -> str:
    return run.run_id


def _created_at(run: Run) -> float:
    return run.created_at


def _minus_priority(ranked: tuple[int, Run]) -> int:
    return -ranked[0]


def decide(
    queued: Iterable[Run],
    in_progress: Iterable[Run],
    max_concurrent_runs: int,
    tag_limits: Sequence[TagLimit] = (),
) -> QueueDecision:
    """Decide which queued runs launch now, and why the others wait.

    Args:
        queued: the runs waiting in the queue, in any order.
        in_progress: runs holding a launch slot; only those whose status is in
            ``IN_PROGRESS_STATUSES`` (STARTING, STARTED, CANCELING) are counted, so
            callers may pass any unfinished runs.
        max_concurrent_runs: the cap on runs in progress; negative (-1): no cap.
        tag_limits: the tag concurrency limits, e.g. ``RunQueueSettings.tag_concurrency_limits``.

    Returns:
        Every queued run in launch order with its verdict, and the use of every limit.
    """
    from dagwright.runs.queue_index import QueueIndex

    index = QueueIndex(max_concurrent_runs, tag_limits)
    index.load(queued, in_progress)
    return index.decide()


def queue_priority(tags: Mapping[str, str]) -> int:
    """A queued run's priority: :func:`dagwright.tags.run_priority`, but 0 for a value that
    is not an integer (tags are checked at submit; the queue never stops on one)."""
    if PRIORITY_TAG not in tags:  # the common case, kept cheap
        return 0
    try:
        return run_priority(tags)
    except DagwrightInvalidTagError:
        return 0


def queue_to_json(decision: QueueDecision) -> dict[str, Any]:
    """The queue state as the HTTP API and ``dagwright queue --json`` show it."""
    return {
        "in_progress": decision.in_progress,
        "max_concurrent_runs": decision.max_concurrent_runs,
        "runs": [
            {
                "position": s.position,
                "run_id": s.run.run_id,
                "job_name": s.run.job_name,
                "priority": s.priority,
                "launch": s.launch,
                "blocked_by": list(s.blocked_by),
                "tags": dict(s.run.tags),
                "created_at": s.run.created_at,
            }
            for s in decision.runs
        ],
        "limits": [
            {
                "key": lim.key,
                "value": lim.value,
                "per_unique_value": lim.per_unique_value,
                "limit": lim.limit,
                "used": {str(k): v for k, v in lim.used.items()},
                "description": lim.describe(),
            }
            for lim in decision.limits
        ],
    }
