"""The audit trail of a run's tags: who changed which tags after the run was created.

Every add, change or removal of a run's tags after it was created is stored as a
``TAGS_CHANGED`` event, in the transaction of the change, with the data
``{"actor", "via", "changes": {key: {"old": value | None, "new": value | None}}}``.
This module holds the pure parts: who did it (:class:`TagAudit`), what changed
(:func:`tag_changes`), the event (:func:`tag_event`) and the history read back from the
events (:func:`tag_history`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from dagwright.errors import DagwrightInvalidTagError
from dagwright.execution.events import Event, EventType

#: The surfaces a tag edit comes through.
VIAS: Final = ("python", "cli", "api", "ui", "op")

#: One key's change: ``{"old": value or None, "new": value or None}``.
Changes = dict[str, dict[str, str | None]]


@dataclass(frozen=True)
class TagAudit:
    """Who changes a run's tags, and through which surface.

    Attributes:
        actor: the OS user (CLI, Python), a token's name (API, UI), a client address
            (unauthenticated loopback request) or ``op:<node name>``.
        via: one of :data:`VIAS`.
    """

    actor: str
    via: str

    def __post_init__(self) -> None:
        """Refuse an unknown ``via`` or an empty actor.

        Raises:
            DagwrightInvalidTagError: naming ``<via>`` or ``<actor>``.
        """
        if self.via not in VIAS:
            raise DagwrightInvalidTagError("<via>", f"via is one of {', '.join(VIAS)}")
        if not isinstance(self.actor, str) or not self.actor:
            raise DagwrightInvalidTagError("<actor>", "the actor is a non-empty string")


def tag_changes(tags: Mapping[str, str], add: Mapping[str, str], remove: Iterable[str]) -> Changes:
    """What adding ``add`` and removing ``remove`` does to ``tags``: only keys whose value
    really changes (a tag set to its own value, or removing a missing key, is no change)."""
    changes: Changes = {}
    for key, value in add.items():
        old = tags.get(key)
        if old != value:
            changes[key] = {"old": old, "new": value}
    for key in remove:
        if key in tags and key not in add:
            changes[key] = {"old": tags[key], "new": None}
    return changes


def apply_changes(tags: Mapping[str, str], changes: Changes) -> dict[str, str]:
    """``tags`` after ``changes``."""
    result = dict(tags)
    for key, change in changes.items():
        new = change["new"]
        if new is None:
            result.pop(key, None)
        else:
            result[key] = new
    return result


def tag_event(run_id: str, audit: TagAudit, changes: Changes, now: float) -> Event:
    """The ``TAGS_CHANGED`` event recording ``changes``."""
    keys = ", ".join(sorted(changes))
    data = {"actor": audit.actor, "via": audit.via, "changes": changes}
    message = f"tags changed by {audit.actor} ({audit.via}): {keys}"
    return Event(run_id, EventType.TAGS_CHANGED, now, message=message, data=data)


def tag_history(events: Iterable[Event]) -> list[dict[str, Any]]:
    """The tag history of a run from its ``TAGS_CHANGED`` events, oldest first:
    ``[{"at", "actor", "via", "changes"}]`` (``at`` in seconds since the epoch)."""
    return [
        {
            "at": event.timestamp,
            "actor": event.data.get("actor"),
            "via": event.data.get("via"),
            "changes": event.data.get("changes", {}),
        }
        for event in events
        if event.event_type is EventType.TAGS_CHANGED
    ]
