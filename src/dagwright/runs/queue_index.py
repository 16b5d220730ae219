"""The run queue kept between passes: :class:`QueueIndex`.

A process that decides again and again (the daemon, a web server) tells the index which
runs changed; the index keeps the queued runs in launch order, the runs in progress
counted in the pools of their limits, and a verdict per *signature* (the pools a run
counts in), so a pass neither sorts nor reads a run's tags again. It applies the policy of
:mod:`dagwright.runs.queue` exactly; :func:`dagwright.runs.queue.decide` is one pass of a
fresh index.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from dagwright.runs.models import IN_PROGRESS_STATUSES, Run, RunStatus
from dagwright.runs.queue import QueueDecision, launch_order, queue_priority
from dagwright.runs.queue_limits import Cap, Limits, Pool, TagLimit
from dagwright.tags import HELD_BY_TAG

#: A verdict not worked out yet (None means "not known": judge again).
_UNKNOWN: Final[tuple[str, ...]] = ("<unknown>",)

#: Changes of at most this many runs are placed one by one (binary search); more, and
#: the queue is sorted or filtered again in one go.
_ONE_BY_ONE: Final = 32


class Signature:
    """The pools a run counts in, shared by every run counting in the same pools.

    A pass judges a signature once and every run holding it gets that verdict, until an
    admission fills one of its pools.
    """

    __slots__ = ("holders", "pools")

    def __init__(self, pools: tuple[Pool, ...]) -> None:
        self.pools = pools  # in the configured order of their limits
        self.holders = 0  # queued runs and runs in progress with these pools


#: A queued run in launch order: ``(-priority, created_at, run_id, run, signature)``. The
#: tuples compare on the first three fields (run ids are unique): the launch order.
Entry = tuple[int, float, str, Run, Signature]


class QueueIndex:
    """The run queue kept between passes, for a process that decides again and again.

    It holds the queued runs in launch order, the runs in progress counted in the pools of
    their limits, and each signature's verdict at those counts. Tell it which runs changed
    (:meth:`update`); :meth:`decide` then walks the queue once, looking each run's verdict
    up by its signature, and decides exactly as :func:`decide` does on the same runs.

    Not thread-safe: one pass at a time.
    """

    _limits: Limits
    _signatures: dict[tuple[Pool, ...], Signature]
    _full: dict[Signature, tuple[Pool, ...]]  # between passes: each signature's full pools
    _verdicts: dict[Signature, tuple[str, ...]]  # ... and its verdict
    _reasons: _Reasons
    _moved: dict[Pool, int]  # pools whose in_use changed since the last pass: in_use before
    _in_use: tuple[dict[str | None, int], ...] | None  # per limit, for the decisions
    _dropped: int  # signatures dropped since the limits were built

    def __init__(self, max_concurrent_runs: int, tag_limits: Sequence[TagLimit] = ()) -> None:
        """Start empty, with the cap and the tag limits every pass applies."""
        self.max_concurrent_runs = max_concurrent_runs
        self._tag_limits = tuple(tag_limits)
        self._entries: list[Entry] = []
        self._queued: dict[str, Entry] = {}
        self._active: dict[str, tuple[Run, Signature]] = {}
        self._held: dict[str, tuple[str, ...]] = {}  # held queued runs: their reason
        self._new_limits()

    def __len__(self) -> int:
        """How many runs are queued."""
        return len(self._entries)

    def load(self, queued: Iterable[Run], in_progress: Iterable[Run]) -> None:
        """Forget everything, then take these queued runs (whatever their status) and the
        runs of ``in_progress`` whose status holds a launch slot."""
        self._entries, self._queued, self._active, self._held = [], {}, {}, {}
        self._new_limits()
        for run in in_progress:
            if run.status in IN_PROGRESS_STATUSES:
                self._hold(run)
        for priority, run in launch_order(queued):
            self._entries.append(self._entry(run, priority))

    def update(self, runs: Iterable[Run]) -> None:
        """Take the current state of runs that changed: a ``QUEUED`` run waits in the
        queue, a run in progress holds a slot and counts in its pools, a run in any
        other status leaves the index."""
        added: list[Entry] = []
        gone: list[Entry] = []
        for run in {run.run_id: run for run in runs}.values():  # the last state of each
            self._forget(run.run_id, gone)
            if run.status is RunStatus.QUEUED:
                added.append(self._entry(run, queue_priority(run.tags)))
            elif run.status in IN_PROGRESS_STATUSES:
                self._hold(run)
        self._place(added, gone)

    def remove(self, run_ids: Iterable[str]) -> None:
        """Forget runs that no longer exist."""
        gone: list[Entry] = []
        for run_id in run_ids:
            self._forget(run_id, gone)
        self._place([], gone)

    def decide(self) -> QueueDecision:
        """One pass over the queue: every queued run's verdict, and the runs to launch."""
        self._settle()
        walk = _Pass(self, Cap(self.max_concurrent_runs, len(self._active)))
        verdicts = walk.verdicts
        reasons_of: list[tuple[str, ...]] = []
        held = reasons_of.append
        holds = self._held
        for entry in self._entries:
            if holds and entry[2] in holds:  # held by someone: waits, and holds back nothing
                held(holds[entry[2]])
                continue
            verdict = verdicts.get(entry[4])
            if verdict is None:
                verdict = walk.judge(entry[4])
            held(verdict)
            if not verdict:
                walk.admit(entry)
                verdicts = walk.verdicts
        walk.undo()
        if self._in_use is None:
            self._in_use = tuple(counter.in_use() for counter in self._limits.counters)
        return QueueDecision(
            tuple(self._entries),
            reasons_of,
            walk.admitted,
            self._limits.counters,
            self._in_use,
            self.max_concurrent_runs,
            len(self._active),
        )

    # -- keeping the index -------------------------------------------------------------

    def _new_limits(self) -> None:
        self._limits = Limits(self._tag_limits)
        self._signatures = {}
        self._full, self._verdicts, self._reasons = {}, {}, _Reasons()
        self._moved = {}
        self._in_use = None
        self._dropped = 0

    def _signature(self, tags: Mapping[str, str]) -> Signature:
        pools = self._limits.pools_of(tags)
        signature = self._signatures.get(pools)
        if signature is None:
            signature = self._signatures[pools] = Signature(pools)
            for pool in pools:
                pool.signatures.add(signature)
        signature.holders += 1
        return signature

    def _release(self, signature: Signature) -> None:
        signature.holders -= 1
        if signature.holders:
            return
        del self._signatures[signature.pools]
        for pool in signature.pools:
            pool.signatures.discard(signature)
        self._verdicts.pop(signature, None)
        self._full.pop(signature, None)
        self._dropped += 1

    def _entry(self, run: Run, priority: int) -> Entry:
        entry = (-priority, run.created_at, run.run_id, run, self._signature(run.tags))
        self._queued[run.run_id] = entry
        holder = run.tags.get(HELD_BY_TAG)
        if holder is not None:
            self._held[run.run_id] = (f"held by {holder}",)
        return entry

    def _hold(self, run: Run) -> None:
        signature = self._signature(run.tags)
        self._active[run.run_id] = (run, signature)
        self._count(signature, 1)

    def _count(self, signature: Signature, step: int) -> None:
        moved = self._moved
        for pool in signature.pools:
            if pool not in moved:
                moved[pool] = pool.in_use
            pool.in_use += step
            pool.used += step
        self._in_use = None

    def _forget(self, run_id: str, gone: list[Entry]) -> None:
        entry = self._queued.pop(run_id, None)
        if entry is not None:
            gone.append(entry)
            self._held.pop(run_id, None)
        active = self._active.pop(run_id, None)
        if active is not None:
            self._count(active[1], -1)
            self._release(active[1])

    def _place(self, added: list[Entry], gone: list[Entry]) -> None:
        """Take ``gone`` out of the launch order and put ``added`` in."""
        entries = self._entries
        if len(gone) <= _ONE_BY_ONE:
            for entry in gone:
                del entries[bisect_left(entries, entry[:3])]
        else:
            leaving = {id(entry) for entry in gone}
            self._entries = entries = [e for e in entries if id(e) not in leaving]
        for entry in gone:
            self._release(entry[4])
        if len(added) <= _ONE_BY_ONE:
            for entry in added:
                insort(entries, entry)
        else:
            entries.extend(added)
            entries.sort()

    def _settle(self) -> None:
        """Before a pass: forget the verdicts that the counts changed since the last one."""
        if self._dropped > 1024 and self._dropped > 2 * len(self._signatures):
            self._rebuild()
        verdicts, full = self._verdicts, self._full
        for pool, before in self._moved.items():
            now = pool.in_use
            if now != before and max(now, before) >= pool.limit:  # a quoted count changed
                for signature in pool.signatures:
                    verdicts.pop(signature, None)
                    full.pop(signature, None)
                self._reasons = _Reasons(self._reasons.prefix)
        self._moved.clear()
        prefix = Cap(self.max_concurrent_runs, len(self._active)).reasons
        if prefix != self._reasons.prefix:  # the cap's reason is in every verdict
            verdicts.clear()
            self._reasons = _Reasons(prefix)

    def _rebuild(self) -> None:
        """Build the limits again from the runs held: drops the pools of values gone."""
        queued = self._entries
        self.load([], [run for run, _ in self._active.values()])
        self._entries = [self._entry(entry[3], -entry[0]) for entry in queued]


class _Pass:
    """One walk over the queue and what it changes: the cap, the runs admitted, the pools
    they filled, and the verdicts at the current counts.

    Until the first admission the counts are those between passes, so the verdicts and
    reason tuples are the index's own, kept for the next pass; from then on the pass
    works on copies and updates them as admissions fill pools.
    """

    __slots__ = ("admitted", "cap", "filled", "index", "reasons", "verdicts")

    def __init__(self, index: QueueIndex, cap: Cap) -> None:
        self.index = index
        self.cap = cap
        self.verdicts = index._verdicts
        self.reasons = index._reasons
        self.admitted: list[Entry] = []
        self.filled: list[Pool] = []  # pools this pass filled, in the order it filled them

    def judge(self, signature: Signature) -> tuple[str, ...]:
        """Why runs with this signature wait, at the current counts: () if one may launch.

        The one place runs are judged: these reasons are both verdict and explanation.
        """
        index = self.index
        full = index._full.get(signature)
        if full is None:  # its full pools between passes
            pools = signature.pools
            full = index._full[signature] = tuple([p for p in pools if p.in_use >= p.limit])
        if self.admitted:
            index._verdicts[signature] = index._reasons.of(full)  # for the next pass
            extra = tuple([pool for pool in self.filled if pool in signature.pools])
            if extra:
                full = tuple(sorted(full + extra, key=_position))
        verdict = self.verdicts[signature] = self.reasons.of(full)
        return verdict

    def admit(self, entry: Entry) -> None:
        """Count an admitted run, and bring the verdicts its admission changes up to date:
        all of them once the cap is full, else those holding a pool it filled."""
        if not self.admitted:
            self.verdicts, self.reasons = dict(self.verdicts), self.reasons.copy()
        self.admitted.append(entry)
        cap = self.cap
        cap.admit()
        if cap.full:  # every run after this one quotes the cap
            self.verdicts.clear()
            self.reasons = _Reasons(cap.reasons)
        for pool in entry[4].pools:
            pool.used += 1
            if pool.used >= pool.limit:  # filled now: an admitted run's pools had room
                self.filled.append(pool)
                if not cap.full:
                    self._fill(pool)

    def _fill(self, pool: Pool) -> None:
        verdicts, reasons = self.verdicts, self.reasons
        added: dict[int, tuple[str, ...] | None] = {}  # by old verdict: most holders share one
        for holder in pool.signatures:
            old = verdicts.get(holder)
            if old is None:
                continue
            new = added.get(id(old), _UNKNOWN)
            if new is _UNKNOWN:
                new = added[id(old)] = reasons.adding(old, pool)
            if new is None:
                del verdicts[holder]  # judged again when the walk reaches it
            else:
                verdicts[holder] = new

    def undo(self) -> None:
        """Take the admissions out of the counts: they are the runs in progress again."""
        for entry in self.admitted:
            for pool in entry[4].pools:
                pool.used -= 1


class _Reasons:
    """Reason tuples, one per set of full pools, all starting with the same cap reasons
    (``prefix``): every run that quotes the same full pools shares one tuple."""

    __slots__ = ("_added", "_pools", "_texts", "prefix")

    def __init__(self, prefix: tuple[str, ...] = ()) -> None:
        self.prefix = prefix
        self._texts: dict[tuple[Pool, ...], tuple[str, ...]] = {}
        self._pools: dict[int, tuple[Pool, ...]] = {}  # id of a tuple in _texts -> its pools
        self._added: dict[tuple[int, Pool], tuple[str, ...]] = {}

    def copy(self) -> _Reasons:
        """An independent copy, for a pass to add to."""
        other = _Reasons(self.prefix)
        other._texts, other._pools = dict(self._texts), dict(self._pools)
        other._added = dict(self._added)
        return other

    def of(self, full: tuple[Pool, ...]) -> tuple[str, ...]:
        """The reasons of a run whose full pools are ``full`` (in configured order)."""
        if not full:
            return self.prefix
        reasons = self._texts.get(full)
        if reasons is None:
            reasons = self._texts[full] = self.prefix + tuple([pool.reason() for pool in full])
            self._pools[id(reasons)] = full
        return reasons

    def adding(self, reasons: tuple[str, ...], pool: Pool) -> tuple[str, ...] | None:
        """``reasons`` (of this object, cap not full) with ``pool`` full too; None if
        ``reasons`` is not one of this object's tuples."""
        key = (id(reasons), pool)
        added = self._added.get(key)
        if added is None:
            full = self._pools.get(id(reasons)) if reasons else ()
            if full is None:
                return None
            added = self._added[key] = self.of(tuple(sorted((*full, pool), key=_position)))
        return added


def _position(pool: Pool) -> int:
    return pool.position
