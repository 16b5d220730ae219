"""Saved views of the runs list (DESIGN §10): a name, a run query and the columns shown."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from dagwright.errors import DagwrightInvalidConfigError

#: A view's name: what fits in a URL and a shell argument without quoting.
NAME_PATTERN: Final = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
_NAME: Final = re.compile(NAME_PATTERN)


@dataclass(frozen=True)
class RunView:
    """A saved runs view. ``columns`` empty means the default columns."""

    name: str
    q: str
    columns: tuple[str, ...] = ()
    created_at: float = 0.0
    updated_at: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """``{"name", "q", "columns"}`` as the HTTP API answers it."""
        return {"name": self.name, "q": self.q, "columns": list(self.columns)}


def make_view(name: str, q: str, columns: Sequence[str] = (), now: float = 0.0) -> RunView:
    """A checked view: the name's shape, the query's grammar, the columns' keys.

    Raises:
        DagwrightInvalidConfigError: the name is malformed (``where`` = ``name``).
        DagwrightInvalidQueryError: the query is not valid.
        DagwrightInvalidTagError: a column is not a tag key.
    """
    from dagwright.runs.columns import parse_columns
    from dagwright.runs.query import parse_query

    if not _NAME.fullmatch(name):
        raise DagwrightInvalidConfigError(
            "name", f"a view name is 1-64 of A-Z a-z 0-9 _ . - (not starting with _ . -): {name!r}"
        )
    parse_query(q)
    chosen = parse_columns(list(columns)) if columns else ()
    return RunView(name, q, chosen, now, now)
