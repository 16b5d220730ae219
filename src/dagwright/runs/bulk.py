"""Bulk actions on every run a query matches (DESIGN §10): the record, and the checks of
an action's parameters (pure).

A bulk action fixes its set of runs when it starts (their ids are stored as ``pending``
results, in SQL, from the query), then acts on them in chunks; each run's result is
``done`` or ``refused`` with the reason, and one refusal never stops the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final

from dagwright.errors import DagwrightInvalidConfigError, DagwrightInvalidTagError
from dagwright.tags import is_system_tag, normalize_tags, validate_tag_key


class BulkAction(str, Enum):
    """What a bulk action does to each run."""

    TERMINATE = "terminate"
    REEXECUTE = "reexecute"
    ADD_TAGS = "add_tags"
    REMOVE_TAGS = "remove_tags"
    SET_PRIORITY = "set_priority"
    DELETE = "delete"


class BulkStatus(str, Enum):
    """Whether a bulk action is still acting on its runs."""

    RUNNING = "RUNNING"
    DONE = "DONE"


#: The parameters each action takes (with their JSON types' names, for messages).
PARAMETERS: Final[Mapping[BulkAction, tuple[str, ...]]] = {
    BulkAction.TERMINATE: (),
    BulkAction.REEXECUTE: ("from_failure",),
    BulkAction.ADD_TAGS: ("tags",),
    BulkAction.REMOVE_TAGS: ("keys",),
    BulkAction.SET_PRIORITY: ("priority",),
    BulkAction.DELETE: (),
}


@dataclass(frozen=True)
class BulkResult:
    """What became of one run: ``done``, ``refused`` (with why) or still ``pending``."""

    run_id: str
    outcome: str
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        """``{"run_id", "outcome", "reason"}``."""
        return {"run_id": self.run_id, "outcome": self.outcome, "reason": self.reason}


@dataclass(frozen=True)
class Bulk:
    """A bulk action and its progress."""

    bulk_id: str
    action: BulkAction
    q: str
    params: Mapping[str, Any]
    status: BulkStatus
    count: int
    created_at: float
    done: int = 0
    refused: int = 0
    results: tuple[BulkResult, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """The JSON of ``GET /api/v1/bulk/{id}``."""
        return {
            "id": self.bulk_id,
            "action": self.action.value,
            "q": self.q,
            "status": self.status.value,
            "count": self.count,
            "done": self.done,
            "refused": self.refused,
            "results": [result.to_json() for result in self.results],
        }


def parse_action(action: str) -> BulkAction:
    """The action named ``action``.

    Raises:
        DagwrightInvalidConfigError: no action has this name (``where`` = ``action``).
    """
    try:
        return BulkAction(action)
    except ValueError:
        known = ", ".join(a.value for a in BulkAction)
        raise DagwrightInvalidConfigError("action", f"one of {known}") from None


def check_params(action: BulkAction, params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters of ``action``, checked and normalised.

    Raises:
        DagwrightInvalidConfigError: a parameter is missing, unknown or of the wrong type
            (``where`` names it).
        DagwrightInvalidTagError: a tag to add or a key to remove breaks a tag rule.
    """
    allowed = PARAMETERS[action]
    for name in params:
        if name not in allowed:
            known = ", ".join(allowed) or "none"
            raise DagwrightInvalidConfigError(name, f"not a parameter of {action.value} ({known})")
    if action is BulkAction.REEXECUTE:
        flag = params.get("from_failure", False)
        if not isinstance(flag, bool):
            raise DagwrightInvalidConfigError("from_failure", "true or false")
        return {"from_failure": flag}
    if action is BulkAction.ADD_TAGS:
        return {"tags": _tags(params.get("tags"))}
    if action is BulkAction.REMOVE_TAGS:
        return {"keys": _keys(params.get("keys"))}
    if action is BulkAction.SET_PRIORITY:
        priority = params.get("priority")
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise DagwrightInvalidConfigError("priority", "an integer (negatives allowed)")
        return {"priority": priority}
    return {}


def _tags(tags: object) -> dict[str, str]:
    if not isinstance(tags, Mapping) or not tags:
        raise DagwrightInvalidConfigError("tags", "an object of at least one tag")
    return normalize_tags(tags)


def _keys(keys: object) -> list[str]:
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise DagwrightInvalidConfigError("keys", "a list of at least one tag key")
    for key in keys:
        validate_tag_key(key)
        if is_system_tag(key):
            raise DagwrightInvalidTagError(key, "system tags cannot be removed")
    return list(dict.fromkeys(keys))
