"""The run query language (DESIGN §10): a pure parser and a reference evaluator.

::

    query   := [or_expr]                       an empty query matches every run
    or_expr := and_expr ("OR" and_expr)*       OR binds looser than juxtaposition (AND)
    and_expr:= unary+
    unary   := "-" unary | primary              "-" negates the term or group after it
    primary := "(" or_expr ")" | term
    term    := key ":" value ("," value)*      a tag (or status:, job:) is one of the values
             | ("created" | "duration") (">" | "<") word
    value   := bare ["*"] | quoted ["*"]       a trailing "*" makes a prefix; "*" alone: any
    key     := bare | quoted                   a quoted key is always a tag key

Bare words stop at spaces and ``( ) " : ,``; quoted ones take ``\\"`` and ``\\\\``
escapes. Keys and values are case-sensitive. ``status:`` takes run status names,
``job:`` job names (prefixes allowed), ``created`` a date (midnight UTC) or an ISO 8601
date-time with a zone, ``duration`` a number with ``s``, ``m`` or ``h`` (finished runs
only). A bad query raises :class:`~dagwright.errors.DagwrightInvalidQueryError` with the
0-based position of the offending token (the query's length for an unexpected end).

:func:`matches` evaluates a parsed query on one run in Python: the reference the SQL
compiler (:mod:`dagwright.storage.run_query`) is tested against.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from dagwright.errors import DagwrightInvalidQueryError
from dagwright.runs.models import FINISHED_STATUSES, RunStatus

#: Keys that name run fields rather than tags when written bare.
FIELD_KEYS: Final = frozenset({"status", "job"})
#: Keys compared with ``>`` or ``<``.
COMPARED_KEYS: Final = frozenset({"created", "duration"})

_STOP: Final = frozenset(' \t\n\r()":,')
_KEY_STOP: Final = _STOP | {"<", ">", "*"}
_DURATION: Final = re.compile(r"(\d+(?:\.\d+)?)([smh])")
_UNITS: Final = {"s": 1.0, "m": 60.0, "h": 3600.0}
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_STATUS_NAMES: Final = ", ".join(s.value for s in RunStatus)


@dataclass(frozen=True)
class Match:
    """``key:v1,v2*``: the tag (``field`` None) or run field has one of ``values`` or
    starts with one of ``prefixes`` (``key:*`` is the prefix ``""``: the key is there)."""

    key: str
    values: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    field: Literal["status", "job"] | None = None


@dataclass(frozen=True)
class Compare:
    """``created>T`` (epoch seconds) or ``duration<S`` (seconds; finished runs only)."""

    field: Literal["created", "duration"]
    op: Literal[">", "<"]
    value: float


@dataclass(frozen=True)
class Not:
    """``-term``: runs the term does not match."""

    item: Expr


@dataclass(frozen=True)
class And:
    """Terms side by side: runs every item matches."""

    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    """``a OR b``: runs some item matches."""

    items: tuple[Expr, ...]


Expr = Match | Compare | Not | And | Or


def parse_query(text: str) -> Expr | None:
    """Parse a run query; None for an empty (or blank) query, which matches every run.

    Raises:
        DagwrightInvalidQueryError: the query breaks the grammar (position, expected).
    """
    if "\x00" in text:  # PostgreSQL cannot compare text holding NUL
        raise DagwrightInvalidQueryError(text, text.index("\x00"), "no NUL character")
    parser = _Parser(text)
    parser.skip_space()
    if parser.at_end():
        return None
    expr = parser.or_expr()
    parser.skip_space()
    if not parser.at_end():
        parser.fail("a term, 'OR' or the end of the query")
    return expr


class _Parser:
    """Recursive descent over the characters (values may hold ``>``, dates ``:``)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, expected: str, position: int | None = None) -> None:
        raise DagwrightInvalidQueryError(
            self.text, self.pos if position is None else position, expected
        )

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_space(self) -> None:
        while self.peek().isspace():
            self.pos += 1

    def at_or(self) -> bool:
        end = self.pos + 2
        if self.text[self.pos : end] != "OR":
            return False
        follower = self.text[end : end + 1]
        return follower == "" or follower.isspace() or follower in '(-"'

    def or_expr(self) -> Expr:
        items = [self.and_expr()]
        while self.at_or():
            self.pos += 2
            self.skip_space()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Expr:
        items = [self.unary()]
        self.skip_space()
        while not self.at_end() and self.peek() != ")" and not self.at_or():
            items.append(self.unary())
            self.skip_space()
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self) -> Expr:
        if self.peek() != "-":
            return self.primary()
        self.pos += 1
        if self.at_end() or self.peek().isspace():
            self.fail("a term after '-'")
        return Not(self.unary())

    def primary(self) -> Expr:
        if self.at_end() or self.at_or() or self.peek() == ")":
            self.fail("a term")
        if self.peek() != "(":
            return self.term()
        self.pos += 1
        self.skip_space()
        expr = self.or_expr()
        self.skip_space()
        if self.peek() != ")":
            self.fail("')'")
        self.pos += 1
        return expr

    def term(self) -> Expr:
        start = self.pos
        quoted = self.peek() == '"'
        key = self.quoted() if quoted else self.bare(_KEY_STOP)
        if not key:
            self.fail("a term")
        if not quoted and key in COMPARED_KEYS:
            return self.compare(key, start)
        if self.peek() != ":":
            self.fail("':' after the key")
        self.pos += 1
        if not quoted and key in FIELD_KEYS:
            return self.field_match(key)
        return self.values(key)

    def values(self, key: str, field: Literal["status", "job"] | None = None) -> Match:
        exact: list[str] = []
        prefixes: list[str] = []
        while True:
            value, is_prefix = self.value()
            (prefixes if is_prefix else exact).append(value)
            if self.peek() != ",":
                break
            self.pos += 1
        if not (self.at_end() or self.peek().isspace() or self.peek() == ")"):
            self.fail("',', a space or the end of the term")
        return Match(key, tuple(exact), tuple(prefixes), field)

    def value(self) -> tuple[str, bool]:
        char = self.peek()
        if char == '"':
            value = self.quoted()
        elif char == "" or char in _STOP:
            self.fail("a value")
            raise AssertionError  # pragma: no cover (fail raises)
        else:
            value = self.bare(_STOP | {"*"})
        if self.peek() == "*":
            self.pos += 1
            return value, True
        return value, False

    def field_match(self, key: str) -> Match:
        field: Literal["status", "job"] = "status" if key == "status" else "job"
        start = self.pos
        match = self.values(key, field)
        if field == "status":
            known = {s.value for s in RunStatus}
            if match.prefixes or any(v not in known for v in match.values):
                self.fail(f"a run status ({_STATUS_NAMES})", self._bad_status(start, known))
        return match

    def _bad_status(self, start: int, known: set[str]) -> int:
        """Where the first value of ``status:`` that is no status name begins."""
        position = start
        for part in self.text[start : self.pos].split(","):
            if part not in known:
                return position
            position += len(part) + 1
        return start

    def compare(self, key: str, start: int) -> Compare:
        op = self.peek()
        if op not in ("<", ">"):
            self.fail(f"'>' or '<' after {key!r}")
        self.pos += 1
        begin = self.pos
        word = self.bare(frozenset(" \t\n\r()"))
        field: Literal["created", "duration"] = "created" if key == "created" else "duration"
        parsed = _parse_time(word) if field == "created" else _parse_duration(word)
        if parsed is None:
            wanted = (
                "a date (2026-01-31) or an ISO 8601 date-time with a zone (2026-01-31T12:00Z)"
                if field == "created"
                else "a duration such as 90s, 5m or 1.5h"
            )
            self.fail(wanted, begin)
            raise AssertionError  # pragma: no cover (fail raises)
        return Compare(field, ">" if op == ">" else "<", parsed)

    def bare(self, stop: frozenset[str]) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in stop:
            self.pos += 1
        return self.text[start : self.pos]

    def quoted(self) -> str:
        self.pos += 1
        out: list[str] = []
        while True:
            char = self.peek()
            if char == "":
                self.fail("'\"' closing the quoted text")
            self.pos += 1
            if char == '"':
                return "".join(out)
            if char == "\\" and self.peek() in ('"', "\\"):
                char = self.peek()
                self.pos += 1
            out.append(char)


def _parse_time(word: str) -> float | None:
    """A date (midnight UTC) or a date-time with a zone, as epoch seconds; else None."""
    try:
        if _DATE.fullmatch(word):
            day = dt.date.fromisoformat(word)
            return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp()
        moment = dt.datetime.fromisoformat(word)
    except ValueError:
        return None
    if "T" not in word.upper() or moment.tzinfo is None:
        return None
    return moment.timestamp()


def _parse_duration(word: str) -> float | None:
    found = _DURATION.fullmatch(word)
    if found is None:
        return None
    return float(found.group(1)) * _UNITS[found.group(2)]


_PLAIN: Final = re.compile(r'[^\s()":,*<>]+')


def quote(text: str, *, key: bool = False) -> str:
    """``text`` as a value (or, with ``key``, a tag key) of a query: bare when it can be,
    else quoted (a key named like a run field, or starting with ``-``, is quoted)."""
    special = key and (text in FIELD_KEYS | COMPARED_KEYS or text.startswith("-"))
    if text != "OR" and not special and _PLAIN.fullmatch(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- the reference evaluator -----------------------------------------------------------


@dataclass(frozen=True)
class RunFacts:
    """What a query looks at in a run (see :func:`facts`)."""

    tags: Mapping[str, str]
    status: RunStatus
    job_name: str
    created_at: float
    duration: float | None


def matches(expr: Expr | None, run: RunFacts) -> bool:
    """Whether ``run`` matches the parsed query (None matches every run)."""
    if expr is None:
        return True
    if isinstance(expr, And):
        return all(matches(item, run) for item in expr.items)
    if isinstance(expr, Or):
        return any(matches(item, run) for item in expr.items)
    if isinstance(expr, Not):
        return not matches(expr.item, run)
    if isinstance(expr, Compare):
        return _compare(expr, run)
    return _match(expr, run)


def _match(term: Match, run: RunFacts) -> bool:
    if term.field == "status":
        got: str | None = run.status.value
    elif term.field == "job":
        got = run.job_name
    else:
        got = run.tags.get(term.key)
    if got is None:
        return False
    return got in term.values or any(got.startswith(p) for p in term.prefixes)


def _compare(term: Compare, run: RunFacts) -> bool:
    if term.field == "created":
        got: float | None = run.created_at
    else:
        got = run.duration if run.status in FINISHED_STATUSES else None
    if got is None:
        return False
    return got > term.value if term.op == ">" else got < term.value
