"""Columns and sort orders of run lists (DESIGN §10): pure parsing and cell values.

A column is a tag key (``team``, ``dagwright/partition``) or :data:`LAUNCHED_BY`, the
derived "what launched the run" (``schedule NAME``, ``sensor NAME``, ``backfill ID``,
``retry``/``re-execution``, else ``user``). A sort is ``created`` (the default, newest
first: ``-created``), ``duration``, ``job``, ``status`` or a tag key, ``-`` for
descending; runs without the value come last, ties newest first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from dagwright.errors import DagwrightInvalidTagError
from dagwright.tags import (
    BACKFILL_TAG,
    PARENT_RUN_ID_TAG,
    PARTITION_TAG,
    RETRY_NUMBER_TAG,
    SCHEDULE_NAME_TAG,
    SENSOR_NAME_TAG,
    validate_tag_key,
)

#: The derived column saying what launched a run.
LAUNCHED_BY: Final = "launched_by"
#: Columns shown when none are chosen.
DEFAULT_COLUMNS: Final = (PARTITION_TAG, LAUNCHED_BY)
#: Sort keys that are run fields, not tags.
FIELD_SORTS: Final = frozenset({"created", "duration", "job", "status"})
#: The default order: newest first.
DEFAULT_SORT: Final = "-created"


def parse_columns(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """Columns from ``team,dagwright/partition`` (or several such texts); None or empty
    gives :data:`DEFAULT_COLUMNS`; duplicates are dropped.

    Raises:
        DagwrightInvalidTagError: a column is not a tag key (nor ``launched_by``).
    """
    texts = [text] if isinstance(text, str) else list(text or ())
    names = [part.strip() for t in texts for part in t.split(",") if part.strip()]
    for name in names:
        if name != LAUNCHED_BY:
            validate_tag_key(name)
    return tuple(dict.fromkeys(names)) or DEFAULT_COLUMNS


@dataclass(frozen=True)
class Sort:
    """An order of runs: by ``key`` (a run field or tag key), descending or not."""

    key: str
    descending: bool

    @classmethod
    def parse(cls, text: str | None) -> Sort:
        """``created``, ``-duration``, ``team`` …; None or empty: newest first.

        Raises:
            DagwrightInvalidTagError: the key is no run field and no tag key.
        """
        text = (text or DEFAULT_SORT).strip() or DEFAULT_SORT
        descending = text.startswith("-")
        key = text[1:] if descending else text
        if key not in FIELD_SORTS:
            try:
                validate_tag_key(key)
            except DagwrightInvalidTagError as exc:
                raise DagwrightInvalidTagError(
                    key, f"cannot sort by it: not one of {sorted(FIELD_SORTS)} nor a tag key"
                ) from exc
        return cls(key, descending)

    @property
    def is_default(self) -> bool:
        """Newest first: the order pages are walked in by storage id."""
        return self.key == "created" and self.descending

    def text(self) -> str:
        """The inverse of :meth:`parse`."""
        return ("-" if self.descending else "") + self.key

    def toggled(self, key: str) -> Sort:
        """The order after clicking ``key``'s heading: that key, the other way round if it
        was already the order (descending first for ``created`` and ``duration``)."""
        if key == self.key:
            return Sort(key, not self.descending)
        return Sort(key, key in ("created", "duration"))


def launched_by(tags: Mapping[str, str]) -> str:
    """What launched a run, from its system tags."""
    if SCHEDULE_NAME_TAG in tags:
        return f"schedule {tags[SCHEDULE_NAME_TAG]}"
    if SENSOR_NAME_TAG in tags:
        return f"sensor {tags[SENSOR_NAME_TAG]}"
    if BACKFILL_TAG in tags:
        return f"backfill {tags[BACKFILL_TAG]}"
    if RETRY_NUMBER_TAG in tags:
        return "retry"
    if PARENT_RUN_ID_TAG in tags:
        return "re-execution"
    return "user"


def column_label(column: str) -> str:
    """A column's heading: ``partition`` for ``dagwright/partition``, ``launched by``,
    else the tag key."""
    if column == LAUNCHED_BY:
        return "launched by"
    return "partition" if column == PARTITION_TAG else column


def cell(tags: Mapping[str, str], column: str) -> str:
    """A run's value in ``column`` ("" when it has no such tag)."""
    if column == LAUNCHED_BY:
        return launched_by(tags)
    return tags.get(column, "")
