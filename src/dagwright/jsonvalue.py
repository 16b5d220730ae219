"""The JSON values dagwright takes from users, and what makes one unusable.

Run config, non-string tag values and JSON metadata leave Python as JSON: into the
database (orjson), the HTTP API and a browser. Each must therefore be plain JSON data:
mappings with string keys, lists, strings of valid Unicode (no lone surrogates such as
``"\\ud800"``, which no UTF-8 text can hold), booleans, ``None``, finite floats and
integers (within the signed 64-bit range where the value is stored as JSON), nested at most
a given depth. :func:`find_problem` walks a value without recursion (so a value nested
50,000 deep is refused, not a ``RecursionError``) and names the first fault by its path;
each caller raises its own error from it (tags, config, metadata).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final, NamedTuple

#: The signed 64-bit range: the integers orjson (the storage's JSON), PostgreSQL's
#: ``bigint`` and most JSON readers keep exactly.
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1

#: The longest integer (in digits) accepted where integers need not fit in 64 bits: Python
#: writes integers of at most 4,300 digits as text.
MAX_INT_DIGITS: Final = 4_000
MAX_INT_BITS: Final = int(MAX_INT_DIGITS * math.log2(10))

#: The most values one JSON value may hold (a YAML alias bomb expands past any memory).
MAX_VALUES: Final = 1_000_000


class Problem(NamedTuple):
    """Why a value is not usable JSON.

    Attributes:
        path: where, as dotted keys and list indexes (``a.b.3``); ``""`` for the value itself.
        rule: what is wrong there.
    """

    path: str
    rule: str


def is_valid_text(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8 (it holds no lone surrogate)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def storable(text: object) -> bool:
    """Whether ``text`` is a string every database can store and compare: valid Unicode
    without NUL characters."""
    return isinstance(text, str) and "\x00" not in text and is_valid_text(text)


def printable(text: str) -> str:
    """``text`` with every lone surrogate written as a ``\\udXXX`` escape, so that it can
    be shown or sent (in an error message, an HTTP body) whatever it holds."""
    if is_valid_text(text):
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


#: The rule broken by a string holding a lone surrogate.
SURROGATE_RULE: Final = "text must be valid Unicode (it holds a lone surrogate such as \\ud800)"


def _join(path: str, part: object) -> str:
    text = printable(part) if isinstance(part, str) else str(part)
    return f"{path}.{text}" if path else text


def _shorten(path: str) -> str:
    parts = path.split(".")
    return path if len(parts) <= 6 else ".".join(parts[:3]) + "..." + ".".join(parts[-2:])


def _scalar_problem(value: object, int64: bool) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return None if is_valid_text(value) else SURROGATE_RULE
    if isinstance(value, int):
        if INT64_MIN <= value <= INT64_MAX:
            return None
        if int64:
            return "integers must be within the signed 64-bit range (give larger ones as strings)"
        too_long = value.bit_length() > MAX_INT_BITS
        return f"integers have at most {MAX_INT_DIGITS:,} digits" if too_long else None
    if isinstance(value, float):
        return None if math.isfinite(value) else "numbers must be finite (no NaN or infinity)"
    if isinstance(value, tuple):
        return "a tuple does not survive a JSON round trip (use a list)"
    return f"not a JSON value ({type(value).__name__})"


def _children(item: object, path: str, tuples: bool) -> list[tuple[str, object]] | Problem | None:
    """The (path, value) of each member of a mapping or list, a problem with a key, or
    None for a scalar."""
    if isinstance(item, Mapping):
        members = []
        for key, child in item.items():
            if not isinstance(key, str):
                kind = type(key).__name__
                return Problem(
                    path, f"keys must be strings (a {kind} key does not survive a JSON round trip)"
                )
            if not is_valid_text(key):
                return Problem(_join(path, key), SURROGATE_RULE)
            members.append((_join(path, key), child))
        return members
    if isinstance(item, list) or (tuples and isinstance(item, tuple)):
        return [(_join(path, index), child) for index, child in enumerate(item)]
    return None


def find_problem(
    value: object, *, max_depth: int, int64: bool = True, tuples: bool = True
) -> Problem | None:
    """The first reason ``value`` is not usable JSON, or None when it is.

    Args:
        value: the value to check.
        max_depth: how many mappings and lists deep it may nest (``{}`` is 1).
        int64: refuse integers outside the signed 64-bit range (values stored as JSON
            that orjson reads back); otherwise integers of up to :data:`MAX_INT_DIGITS`.
        tuples: accept tuples as lists (for values that need not survive a JSON round
            trip unchanged).

    Returns:
        The path and rule of the first fault, or None.
    """
    stack: list[tuple[object, str, int]] = [(value, "", 0)]
    seen = 0
    while stack:
        item, path, depth = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            return Problem("", f"at most {MAX_VALUES:,} values")
        members = _children(item, path, tuples)
        if isinstance(members, Problem):
            return members
        if members is None:
            rule = _scalar_problem(item, int64)
            if rule is not None:
                return Problem(path, rule)
            continue
        if depth >= max_depth:
            return Problem(_shorten(path), f"nested more than {max_depth} levels deep")
        stack.extend((child, child_path, depth + 1) for child_path, child in reversed(members))
    return None
