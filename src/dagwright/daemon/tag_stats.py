"""The tag analytics loop: keeps the figures of tag keys current, so that an ask for them
(the ``/tag-stats`` page, the API, ``dagwright tag stats``) reads kept sums instead of
catching up, or building them, first.

Each pass, every key already asked for catches up with the runs that changed since
(``storage/tag_stats.py``; nothing is written when none did), and so does each user tag
key with at most :data:`PREBUILD_VALUES` values (``team``, ``env``, ``owner`` … the keys
analytics are for), built on its first pass. Keys with more values, system keys
(``dagwright/...``) and hidden keys (``.name``) are built when first asked for. One key's
trouble is logged and the others go on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from sqlalchemy import text

from dagwright.daemon.base import log
from dagwright.tags import is_system_tag

if TYPE_CHECKING:
    from dagwright.instance import Instance

#: A user tag key with at most this many values is kept from the start.
PREBUILD_VALUES: Final = 1000
#: Keys looked at per pass, at most (the asked ones first).
MAX_KEYS: Final = 100

#: Where the run change feed stands (newest stamp, epoch), and how many keys are kept (a key
#: asked for since the last pass is caught up with too).
_FEED: Final = text(
    "SELECT (SELECT max(change_seq) FROM runs), (SELECT count(*) FROM tag_stats_keys),"
    " (SELECT epoch FROM run_clock WHERE id = 1)"
)

# The first values of one key, up to a bound, one index seek each (a loose index scan).
_SOME_VALUES: Final = text(
    "WITH RECURSIVE v(value_idx, n) AS ("
    " SELECT min(value_idx), 1 FROM run_tags WHERE key = :key"
    " UNION ALL"
    " SELECT (SELECT min(t.value_idx) FROM run_tags t WHERE t.key = :key"
    " AND t.value_idx > v.value_idx), n + 1 FROM v"
    " WHERE v.value_idx IS NOT NULL AND n <= :bound"
    ") SELECT count(value_idx) FROM v"
)


class TagStatsDaemon:
    """Keeps tag analytics current (see the module's docstring)."""

    name = "tag_stats"

    def __init__(self, instance: Instance, interval_seconds: float = 15.0) -> None:
        self._instance = instance
        self.interval_seconds = interval_seconds
        self._seen: tuple[object, ...] | None = None
        self._large: set[str] = set()  # user keys found to have too many values

    def run_iteration(self, now: float) -> None:
        """One pass: catch every kept key up, and build the small user keys (nothing at
        all when no run changed since the last pass)."""
        del now
        with self._instance.storage.database.read() as conn:
            feed: tuple[object, ...] | None = tuple(conn.execute(_FEED).one())
        if feed == self._seen:
            return
        store = self._instance.storage.tag_stats
        for key in self.keys()[:MAX_KEYS]:
            try:
                store.refresh(key)
            except Exception:  # one key's trouble must not stop the others
                log.exception("tag_stats: key %r: pass failed", key)
                feed = None  # try again next pass
        self._seen = feed

    def keys(self) -> list[str]:
        """The keys kept: those asked for, then the small user keys, each once."""
        database = self._instance.storage.database
        with database.read() as conn:
            kept = [row[0] for row in conn.execute(text("SELECT key FROM tag_stats_keys"))]
            chosen = dict.fromkeys(kept)
            for key in self._instance.storage.runs.get_run_tag_keys():
                hidden = any(part.startswith(".") for part in key.split("/"))
                if key in chosen or key in self._large or hidden or is_system_tag(key):
                    continue
                values = conn.execute(_SOME_VALUES, {"key": key, "bound": PREBUILD_VALUES})
                if int(values.scalar_one()) <= PREBUILD_VALUES:
                    chosen[key] = None
                else:
                    self._large.add(key)  # values are seldom taken away: not counted again
        return list(chosen)
