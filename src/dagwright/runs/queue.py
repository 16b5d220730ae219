"""The run queue policy: which queued runs launch now, and why the others wait.

:func:`decide` is a pure function of records: the queued runs, the runs in progress, the
global cap and the tag concurrency limits. It walks the queued runs once, in launch order
(:func:`queue_order_key`), and for each one checks the global cap and every tag limit the
run is subject to. The reasons it finds while deciding are kept as the explanation, so
what the UI shows is exactly what the decision saw; there is no second implementation.

Rules:

- Order: ``dagwright/priority`` (highest first), then ``created_at`` (oldest first), then
  ``run_id``.
- ``max_concurrent_runs`` caps runs in progress (``IN_PROGRESS_STATUSES``); negative: no
  cap; 0: nothing launches. Once the cap is reached nothing further launches.
- A tag limit holds a run only if the run carries the tag (and, for a ``value`` limit,
  that value). A held run does not hold back later runs that fit (no head-of-line
  blocking by tag limits).
- Runs admitted in one pass count against the cap and the limits for the runs after them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Final, Protocol

from dagwright.runs.models import IN_PROGRESS_STATUSES, Run
from dagwright.tags import PRIORITY_TAG

#: The reason text of the global cap, filled with the use and the cap.
CAP_REASON: Final = "max concurrent runs: {used} of {cap} in use"


class TagLimit(Protocol):
    """A tag concurrency limit, as :class:`dagwright.settings.TagConcurrencyLimit` has it.

    Attributes:
        key: the tag key.
        limit: how many runs carrying the tag may be in progress.
        per_unique_value: each value of the key is limited separately.
        match_value: the one value counted, or None for any value (ignored when
            ``per_unique_value`` is true).
    """

    @property
    def key(self) -> str: ...

    @property
    def limit(self) -> int: ...

    @property
    def per_unique_value(self) -> bool: ...

    @property
    def match_value(self) -> str | None: ...


@dataclass(frozen=True)
class LimitUse:
    """One configured tag limit and its use.

    Counts are keyed by tag value for a per-unique-value limit (only values with a
    non-zero count appear) and by None otherwise (always present).

    Attributes:
        key: the tag key.
        value: the value counted, or None for any value / each value.
        per_unique_value: each value is limited separately.
        limit: the cap (per value, for a per-unique-value limit).
        in_use: runs in progress carrying the tag before this pass.
        admitted: runs carrying the tag that this pass admitted.
    """

    key: str
    value: str | None
    per_unique_value: bool
    limit: int
    in_use: Mapping[str | None, int]
    admitted: Mapping[str | None, int]

    @property
    def used(self) -> dict[str | None, int]:
        """The use after this pass: ``in_use`` plus ``admitted``."""
        used = dict(self.in_use)
        for bucket, count in self.admitted.items():
            used[bucket] = used.get(bucket, 0) + count
        return used

    def describe(self) -> str:
        """The use after this pass, e.g. ``"team=docs: 1 of 1 in use"``.

        Per-unique-value limits list each value in use, sorted:
        ``"dagwright/backfill (each value): bf1 3 of 3, bf2 1 of 3"``.
        """
        used = self.used
        if not self.per_unique_value:
            return _usage(self.key, self.value, False, used.get(None, 0), self.limit)
        parts = [f"{value} {used[value]} of {self.limit}" for value in sorted(used, key=str)]
        use = ", ".join(parts) or f"none in use (limit {self.limit} each)"
        return f"{self.key} (each value): {use}"


@dataclass(frozen=True)
class QueuedRunState:
    """What the pass decided for one queued run.

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


@dataclass(frozen=True)
class QueueDecision:
    """The outcome of one pass over the queue, with its explanation.

    Attributes:
        verdicts: every queued run's verdict, in launch order, as the pass recorded it
            (``runs`` presents them as records).
        limits: every configured tag limit, in configured order.
        in_progress: runs in progress before this pass.
        max_concurrent_runs: the cap the pass applied (negative: none).
    """

    verdicts: tuple[Verdict, ...]
    limits: tuple[LimitUse, ...]
    in_progress: int
    max_concurrent_runs: int

    @property
    def to_launch(self) -> list[Run]:
        """The admitted runs, in launch order."""
        return [run for run, _, launch, _ in self.verdicts if launch]

    @cached_property
    def runs(self) -> tuple[QueuedRunState, ...]:
        """Every queued run with its verdict, in launch order.

        Built on first access from ``verdicts``: the queue daemon needs only
        ``to_launch``, so a pass does not pay for records nobody reads.
        """
        return tuple(
            QueuedRunState(run, position, priority, launch, blocked_by)
            for position, (run, priority, launch, blocked_by) in enumerate(self.verdicts, 1)
        )

    def state_of(self, run_id: str) -> QueuedRunState | None:
        """The decision for one queued run, or None if it was not in the queue."""
        return self._by_id.get(run_id)

    @cached_property
    def _by_id(self) -> dict[str, QueuedRunState]:
        return {state.run.run_id: state for state in self.runs}


def queue_order_key(run: Run) -> tuple[int, float, str]:
    """The launch-order sort key: ``(-priority, created_at, run_id)``.

    A ``dagwright/priority`` tag that is not an integer (tags are validated at submit, so
    this should not happen) counts as priority 0 rather than stopping the queue.
    """
    return (-_priority(run.tags), run.created_at, run.run_id)


def launch_order(queued: Iterable[Run]) -> list[tuple[int, Run]]:
    """The queued runs in launch order (by :func:`queue_order_key`), each with its priority.

    Three stable sorts on single keys (run id, then creation time, then priority) give the
    order of the tuple key at a fraction of the cost: each sort compares plain strings,
    floats or ints, and the storage hands the runs over in creation order already.
    """
    runs = sorted(queued, key=_run_id)
    runs.sort(key=_created_at)
    ranked = [(_priority(run.tags), run) for run in runs]
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
    limits = _Limits(tag_limits)
    active = [run for run in in_progress if run.status in IN_PROGRESS_STATUSES]
    for run in active:
        for pool in limits.pools_of(run.tags):
            pool.in_use += 1
            pool.used += 1
    verdicts = _judge(launch_order(queued), _Cap(max_concurrent_runs, len(active)), limits)
    return QueueDecision(
        verdicts=tuple(verdicts),
        limits=tuple(counter.snapshot() for counter in limits.counters),
        in_progress=len(active),
        max_concurrent_runs=max_concurrent_runs,
    )


def _judge(ordered: list[tuple[int, Run]], cap: _Cap, limits: _Limits) -> list[Verdict]:
    # The one place runs are judged: the reasons found here are both verdict and explanation.
    verdicts: list[Verdict] = []
    pools_of = limits.pools_of
    # Held runs quote few distinct sets of full pools; their reasons are built once per
    # set until the next admission changes a count.
    reasons_of: dict[tuple[_Pool, ...], tuple[str, ...]] = {}
    for priority, run in ordered:
        pools = pools_of(run.tags)
        full = tuple([pool for pool in pools if pool.used >= pool.limit]) if pools else ()
        if full or cap.full:
            reasons = reasons_of.get(full)
            if reasons is None:
                reasons = reasons_of[full] = _reasons(full, cap)
            verdicts.append((run, priority, False, reasons))
            continue
        cap.admit()
        reasons_of.clear()
        for pool in pools:
            pool.used += 1
        verdicts.append((run, priority, True, ()))
    return verdicts


def _reasons(full: tuple[_Pool, ...], cap: _Cap) -> tuple[str, ...]:
    ordered = sorted(full, key=_pool_position) if len(full) > 1 else full
    return cap.reasons + tuple([pool.reason() for pool in ordered])


def _priority(tags: Mapping[str, str]) -> int:
    value = tags.get(PRIORITY_TAG)
    if value is None:  # the common case, kept cheap
        return 0
    try:
        return int(value)  # what run_priority accepts, minus the error it raises
    except ValueError:
        return 0


def _usage(key: str, value: str | None, per_unique: bool, used: int, limit: int) -> str:
    if per_unique:
        label = f"{key}={value} (each value)"
    elif value is None:
        label = f"{key} (any value)"
    else:
        label = f"{key}={value}"
    return f"{label}: {used} of {limit} in use"


class _Cap:
    """The global cap on runs in progress, during one pass.

    ``reasons`` is what a held run quotes of it: one reason once full, none before.
    """

    __slots__ = ("cap", "full", "reasons", "used")

    def __init__(self, cap: int, in_use: int) -> None:
        self.cap = cap
        self.used = in_use - 1
        self.admit()

    def admit(self) -> None:
        self.used += 1
        self.full = 0 <= self.cap <= self.used
        self.reasons = (CAP_REASON.format(used=self.used, cap=self.cap),) if self.full else ()


class _Pool:
    """The runs one tag limit counts together: all of them, or those of one value."""

    __slots__ = ("_reason", "counter", "in_use", "limit", "used", "value")

    def __init__(self, counter: _Counter, value: str | None) -> None:
        self.counter = counter
        self.limit = counter.limit
        self.value = value  # the tag value, for a per-unique-value limit
        self.in_use = 0  # runs in progress before the pass
        self.used = 0  # in_use plus the runs the pass has admitted so far
        self._reason = (-1, "")

    def reason(self) -> str:
        """Why a run in this pool waits; cached, since many runs quote the same full pool."""
        if self._reason[0] != self.used:
            counter = self.counter
            value = self.value if counter.per_unique else counter.value
            text = _usage(counter.key, value, counter.per_unique, self.used, self.limit)
            self._reason = (self.used, text)
        return self._reason[1]


def _pool_position(pool: _Pool) -> int:
    return pool.counter.position


class _Counter:
    """One configured tag limit during one pass: its pools (one, or one per value)."""

    __slots__ = ("key", "limit", "per_unique", "pools", "position", "value")

    def __init__(self, position: int, limit: TagLimit) -> None:
        self.position = position  # in the configured order, for ordering reasons
        self.key = limit.key
        self.limit = limit.limit
        self.per_unique = limit.per_unique_value
        self.value = None if self.per_unique else limit.match_value
        self.pools: dict[str | None, _Pool] = {}

    def pool(self, value: str | None) -> _Pool:
        """The pool counting runs with this value of the key (None: the only pool)."""
        bucket = value if self.per_unique else None
        pool = self.pools.get(bucket)
        if pool is None:
            pool = self.pools[bucket] = _Pool(self, bucket)
        return pool

    def snapshot(self) -> LimitUse:
        pools = self.pools.values() if self.per_unique else [self.pool(None)]
        keep_zero = not self.per_unique
        in_use = {p.value: p.in_use for p in pools if p.in_use or keep_zero}
        admitted = {p.value: p.used - p.in_use for p in pools if p.used > p.in_use or keep_zero}
        return LimitUse(self.key, self.value, self.per_unique, self.limit, in_use, admitted)


class _PoolsByValue(dict[str, tuple[_Pool, ...]]):
    """The limits on one tag key; maps a value of the key to the pools a run with it joins.

    Filled on first use of each value, so the hot path is one dict lookup per tag.
    """

    def __init__(self) -> None:
        super().__init__()
        self.counters: list[_Counter] = []

    def __missing__(self, value: str) -> tuple[_Pool, ...]:
        matching = (c for c in self.counters if c.value is None or c.value == value)
        pools = self[value] = tuple(counter.pool(value) for counter in matching)
        return pools


class _Limits:
    """The configured limits, indexed by tag key so a run costs O(its tags), not O(limits)."""

    def __init__(self, tag_limits: Sequence[TagLimit]) -> None:
        self.counters = [_Counter(i, limit) for i, limit in enumerate(tag_limits)]
        self.by_key: dict[str, _PoolsByValue] = {}
        for counter in self.counters:
            self.by_key.setdefault(counter.key, _PoolsByValue()).counters.append(counter)

    def pools_of(self, tags: Mapping[str, str]) -> tuple[_Pool, ...]:
        """The pools a run with these tags counts in: the limits it is subject to."""
        found: tuple[_Pool, ...] = ()  # adding one key's pools to () allocates nothing
        by_key = self.by_key
        if len(tags) <= len(by_key):
            for key, value in tags.items():
                by_value = by_key.get(key)
                if by_value is not None:
                    found += by_value[value]
        else:
            for key, by_value in by_key.items():
                tag_value = tags.get(key)
                if tag_value is not None:
                    found += by_value[tag_value]
        return found


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
