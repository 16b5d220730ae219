"""The counting behind the run queue: the global cap and the pools of the tag limits.

A tag limit counts runs in one *pool* (``key=value``, or ``key`` with any value) or in one
pool per value of its key (``applyLimitPerUniqueValue``). :class:`Limits` finds the pools a
run counts in from its tags (one dict lookup per tag); :class:`Pool` holds a count and the
reason a run quotes when the pool is full. :mod:`dagwright.runs.queue` decides with them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    from dagwright.runs.queue_index import Signature

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
            return usage(self.key, self.value, False, used.get(None, 0), self.limit)
        parts = [f"{value} {used[value]} of {self.limit}" for value in sorted(used, key=str)]
        use = ", ".join(parts) or f"none in use (limit {self.limit} each)"
        return f"{self.key} (each value): {use}"


def usage(key: str, value: str | None, per_unique: bool, used: int, limit: int) -> str:
    """The reason text of a full pool, e.g. ``"team=docs: 1 of 1 in use"``."""
    if per_unique:
        label = f"{key}={value} (each value)"
    elif value is None:
        label = f"{key} (any value)"
    else:
        label = f"{key}={value}"
    return f"{label}: {used} of {limit} in use"


class Cap:
    """The global cap on runs in progress, during one pass.

    ``reasons`` is what a held run quotes of it: one reason once full, none before.
    """

    __slots__ = ("cap", "full", "reasons", "used")

    def __init__(self, cap: int, in_use: int) -> None:
        self.cap = cap
        self.used = in_use - 1
        self.admit()

    def admit(self) -> None:
        """Count one more run in progress."""
        self.used += 1
        self.full = 0 <= self.cap <= self.used
        self.reasons = (CAP_REASON.format(used=self.used, cap=self.cap),) if self.full else ()


class Pool:
    """The runs one tag limit counts together: all of them, or those of one value.

    Attributes:
        counter: the limit.
        value: the tag value, for a per-unique-value limit (else None).
        in_use: runs in progress counted here, between passes.
        used: ``in_use`` plus the runs the current pass has admitted so far.
        signatures: the signatures (sets of pools of queued or running runs) holding it.
    """

    __slots__ = ("_reason", "counter", "in_use", "limit", "position", "signatures", "used", "value")

    def __init__(self, counter: Counter, value: str | None) -> None:
        self.counter = counter
        self.limit = counter.limit
        self.position = counter.position
        self.value = value
        self.in_use = 0
        self.used = 0
        self.signatures: set[Signature] = set()
        self._reason = (-1, "")

    def reason(self) -> str:
        """Why a run in this pool waits; cached, since many runs quote the same full pool."""
        if self._reason[0] != self.used:
            counter = self.counter
            value = self.value if counter.per_unique else counter.value
            text = usage(counter.key, value, counter.per_unique, self.used, self.limit)
            self._reason = (self.used, text)
        return self._reason[1]


class Counter:
    """One configured tag limit: its pools (one, or one per value)."""

    __slots__ = ("key", "limit", "per_unique", "pools", "position", "value")

    def __init__(self, position: int, limit: TagLimit) -> None:
        self.position = position  # in the configured order, for ordering reasons
        self.key = limit.key
        self.limit = limit.limit
        self.per_unique = limit.per_unique_value
        self.value = None if self.per_unique else limit.match_value
        self.pools: dict[str | None, Pool] = {}

    def pool(self, value: str | None) -> Pool:
        """The pool counting runs with this value of the key (None: the only pool)."""
        bucket = value if self.per_unique else None
        pool = self.pools.get(bucket)
        if pool is None:
            pool = self.pools[bucket] = Pool(self, bucket)
        return pool

    def in_use(self) -> dict[str | None, int]:
        """Runs in progress per bucket: every value in use, or the one pool's count."""
        if self.per_unique:
            return {p.value: p.in_use for p in self.pools.values() if p.in_use}
        return {None: self.pool(None).in_use}

    def use(self, in_use: Mapping[str | None, int], admitted: Mapping[Pool, int]) -> LimitUse:
        """This limit's :class:`LimitUse`, given its ``in_use`` and a pass's admissions."""
        if self.per_unique:
            added = {p.value: n for p, n in admitted.items() if p.counter is self}
        else:
            added = {None: admitted.get(self.pool(None), 0)}
        return LimitUse(self.key, self.value, self.per_unique, self.limit, in_use, added)


class _PoolsByValue(dict[str, tuple[Pool, ...]]):
    """The limits on one tag key; maps a value of the key to the pools a run with it joins.

    Filled on first use of each value, so the hot path is one dict lookup per tag.
    """

    def __init__(self) -> None:
        super().__init__()
        self.counters: list[Counter] = []

    def __missing__(self, value: str) -> tuple[Pool, ...]:
        matching = (c for c in self.counters if c.value is None or c.value == value)
        pools = self[value] = tuple(counter.pool(value) for counter in matching)
        return pools


class Limits:
    """The configured limits, indexed by tag key so a run costs O(its tags), not O(limits)."""

    def __init__(self, tag_limits: Sequence[TagLimit]) -> None:
        self.counters = [Counter(i, limit) for i, limit in enumerate(tag_limits)]
        self.by_key: dict[str, _PoolsByValue] = {}
        for counter in self.counters:
            self.by_key.setdefault(counter.key, _PoolsByValue()).counters.append(counter)

    def pools_of(self, tags: Mapping[str, str]) -> tuple[Pool, ...]:
        """The pools a run with these tags counts in, in the configured order of limits."""
        found: tuple[Pool, ...] = ()  # adding one key's pools to () allocates nothing
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
        if len(found) > 1:
            found = tuple(sorted(found, key=_position))
        return found


def _position(pool: Pool) -> int:
    return pool.position
