"""Run queries (DESIGN §10) compiled to SQL over ``runs`` and the indexed ``run_tags``.

Every term is a SQL condition on a run's storage id: a tag term is an ``EXISTS`` on
``run_tags`` (``NOT EXISTS`` under ``-``), a field term a condition on ``runs``. Nothing
is filtered in Python.

The plan of a query is chosen from its top-level terms (those ANDed with everything
else; ``a:1 OR a:2`` counts as ``a:1,2``). A positive tag term can *drive* it: the
database reads that term's ``(key, value_idx, run_sid)`` index entries and checks the
rest on each. Each such term is probed first (at most :data:`PROBE_CAP` index steps):

* the rarest one under the cap drives; its few matches are read and sorted;
* else an exact term drives a page through the index walked backwards by storage id
  (one walk per value, merged), so a page costs ``limit`` matches, not all of them;
  counts read its matches;
* else (no tag term, or only common prefixes) pages walk ``runs`` newest first, where
  the database uses the ``(status, id)`` or ``(job_name, id)`` index when it can.

Prefixes: on SQLite a range on the index form plus a ``substr`` check (SQLite's ``LIKE``
ignores case and skips the index); on PostgreSQL ``LIKE`` with the prefix escaped. A
prefix of more than 64 characters is tested on ``value`` (the index form holds only the
first 64 characters of a long value).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Select,
    and_,
    false,
    func,
    not_,
    or_,
    select,
    true,
    union_all,
)

from dagwright.runs.columns import Sort
from dagwright.runs.models import FINISHED_STATUSES
from dagwright.runs.query import And, Compare, Expr, Match, Not, Or
from dagwright.storage.schema import run_tags, runs
from dagwright.storage.tag_index import LONG_PREFIX_CHARS, index_form

#: Index steps a probe of a driving term may take.
PROBE_CAP: Final = 2000
_FINISHED: Final = sorted(s.value for s in FINISHED_STATUSES)
# Built once: an alias's column collection is costly to build, and fixed aliases keep the
# statements' compiled forms in SQLAlchemy's cache. Each EXISTS is a scope of its own, so
# one alias serves them all.
_DRIVER: Final = run_tags.alias("t0")
_EXISTS: Final = run_tags.alias("s")
_PROBED: Final = run_tags.alias("p")


@dataclass(frozen=True)
class Dialect:
    """What differs between the stores: how a prefix is matched."""

    is_postgres: bool


def condition(expr: Expr, sid: ColumnElement[int], dialect: Dialect) -> ColumnElement[bool]:
    """The SQL condition of ``expr`` on the run whose storage id is ``sid`` (field terms
    read ``runs``, which the query must join)."""
    if isinstance(expr, And):
        return and_(*(condition(item, sid, dialect) for item in expr.items))
    if isinstance(expr, Or):
        return or_(*(condition(item, sid, dialect) for item in expr.items))
    if isinstance(expr, Not):
        return not_(condition(expr.item, sid, dialect))
    if isinstance(expr, Compare):
        return _compare(expr)
    if expr.field == "status":
        return runs.c.status.in_(expr.values) if expr.values else false()
    if expr.field == "job":
        return _one_of(runs.c.job_name, runs.c.job_name, expr, dialect)
    tags = _EXISTS
    match = _tag_value(tags, expr, dialect)
    return select(tags.c.id).where(tags.c.run_sid == sid, tags.c.key == expr.key, match).exists()


def uses_runs(expr: Expr) -> bool:
    """Whether ``expr`` reads columns of ``runs`` (a field term)."""
    if isinstance(expr, And | Or):
        return any(uses_runs(item) for item in expr.items)
    if isinstance(expr, Not):
        return uses_runs(expr.item)
    return isinstance(expr, Compare) or expr.field is not None


def _compare(term: Compare) -> ColumnElement[bool]:
    if term.field == "created":
        column: ColumnElement[float] = runs.c.created_at
        guard: list[ColumnElement[bool]] = []
    else:
        column = runs.c.ended_at - runs.c.started_at
        guard = [
            runs.c.status.in_(_FINISHED),
            runs.c.started_at.is_not(None),
            runs.c.ended_at.is_not(None),
        ]
    compared = column > term.value if term.op == ">" else column < term.value
    return and_(*guard, compared)


def _tag_value(tags: FromClause, term: Match, dialect: Dialect) -> ColumnElement[bool]:
    if "" in term.prefixes:
        return true()
    exact = [index_form(value) for value in term.values]
    short = tags.c.value_idx
    parts: list[ColumnElement[bool]] = []
    if exact:
        parts.append(short == exact[0] if len(exact) == 1 else short.in_(exact))
    for prefix in term.prefixes:
        column = short if len(prefix) <= LONG_PREFIX_CHARS else tags.c.value
        parts.append(_prefix(column, prefix, dialect))
    return parts[0] if len(parts) == 1 else or_(*parts)


def _one_of(
    column: ColumnElement[str], long_column: ColumnElement[str], term: Match, dialect: Dialect
) -> ColumnElement[bool]:
    if "" in term.prefixes:
        return true()
    parts: list[ColumnElement[bool]] = []
    if term.values:
        parts.append(column.in_(term.values))
    parts.extend(_prefix(long_column, prefix, dialect) for prefix in term.prefixes)
    return or_(*parts)


def _prefix(column: ColumnElement[str], prefix: str, dialect: Dialect) -> ColumnElement[bool]:
    """``column`` starts with ``prefix``, case-sensitively, index-friendly."""
    if dialect.is_postgres:
        return column.startswith(prefix, autoescape=True)
    exact = func.substr(column, 1, len(prefix)) == prefix
    upper = _successor(prefix)
    if upper is None:
        return and_(column >= prefix, exact)
    return and_(column >= prefix, column < upper, exact)


def _successor(prefix: str) -> str | None:
    """The least string above every string starting with ``prefix`` (code point order),
    or None where the last character has no plain successor."""
    last = ord(prefix[-1])
    if last >= 0xD7FF:
        return None
    return prefix[:-1] + chr(last + 1)


# --- plans ------------------------------------------------------------------------------


def conjuncts(expr: Expr) -> list[Expr]:
    """The top-level terms ANDed together; an OR of one key's positive tag terms is one
    term of all their values."""
    items = list(expr.items) if isinstance(expr, And) else [expr]
    flat: list[Expr] = []
    for item in items:
        if isinstance(item, And):
            flat.extend(conjuncts(item))
        else:
            flat.append(_merged(item))
    return flat


def _merged(expr: Expr) -> Expr:
    if not isinstance(expr, Or):
        return expr
    terms = [_merged(item) for item in expr.items]
    if not all(isinstance(t, Match) and t.field is None for t in terms):
        return expr
    matches = [t for t in terms if isinstance(t, Match)]
    if len({t.key for t in matches}) != 1:
        return expr
    values = tuple(dict.fromkeys(v for t in matches for v in t.values))
    prefixes = tuple(dict.fromkeys(p for t in matches for p in t.prefixes))
    return Match(matches[0].key, values, prefixes)


@dataclass(frozen=True)
class Plan:
    """How to answer a query: the driving tag term (None: walk ``runs``), whether its
    matches are few (read and sorted), and the other terms."""

    driver: Match | None
    few: bool
    rest: tuple[Expr, ...]


def choose_plan(conn: Connection, expr: Expr, dialect: Dialect, *, page: bool) -> Plan:
    """Probe the positive tag terms of ``expr`` and pick the plan (see the module doc)."""
    items = conjuncts(expr)
    candidates = [i for i in items if isinstance(i, Match) and i.field is None]
    probed = sorted(
        ((_probe(conn, term, dialect), n) for n, term in enumerate(candidates)),
        key=lambda pair: pair[0],
    )
    if probed and probed[0][0] < PROBE_CAP:
        return _plan(items, candidates[probed[0][1]], few=True)
    exact = [t for t in candidates if t.values and not t.prefixes]
    if exact:
        return _plan(items, min(exact, key=lambda t: len(t.values)), few=False)
    if candidates and not page:
        return _plan(items, candidates[0], few=True)
    return Plan(None, False, tuple(items))


def _plan(items: list[Expr], driver: Match, *, few: bool) -> Plan:
    rest = tuple(item for item in items if item is not driver)
    return Plan(driver, few, rest)


def _probe(conn: Connection, term: Match, dialect: Dialect) -> int:
    tags = _PROBED
    inner = (
        select(tags.c.id)
        .where(tags.c.key == term.key, _tag_value(tags, term, dialect))
        .limit(PROBE_CAP)
        .subquery()
    )
    return int(conn.execute(select(func.count()).select_from(inner)).scalar_one())


def page_query(
    plan: Plan,
    dialect: Dialect,
    extra: Sequence[ColumnElement[bool]],
    before: int | None,
    limit: int | None,
) -> Select[Any]:
    """Bodies of one page of the runs ``plan`` matches (and ``extra``, conditions on
    ``runs``), newest first, from before the storage id ``before``."""
    driver = plan.driver
    if driver is None or plan.few or len(driver.values) < 2:
        return _walk(plan, driver, dialect, extra, before).limit(limit)
    walks = [
        _walk(plan, Match(driver.key, (value,)), dialect, extra, before, with_sid=True).limit(limit)
        for value in driver.values
    ]
    merged = union_all(*(select(walk.subquery()) for walk in walks)).subquery()
    return select(merged.c.body).order_by(merged.c.sid.desc()).limit(limit)


def ids_query(plan: Plan, dialect: Dialect, extra: Sequence[ColumnElement[bool]]) -> Select[Any]:
    """The ``run_id`` of every run ``plan`` (and ``extra``) matches, newest first."""
    query, sid = _source(select(runs.c.run_id), plan, plan.driver, dialect, extra, with_runs=True)
    return query.order_by(sid.desc())


def count_query(plan: Plan, dialect: Dialect, extra: Sequence[ColumnElement[bool]]) -> Select[Any]:
    """How many runs ``plan`` (and ``extra``) matches."""
    query, _ = _source(select(func.count()), plan, plan.driver, dialect, extra)
    return query


def _walk(
    plan: Plan,
    driver: Match | None,
    dialect: Dialect,
    extra: Sequence[ColumnElement[bool]],
    before: int | None,
    *,
    with_sid: bool = False,
) -> Select[Any]:
    query, sid = _source(select(runs.c.body), plan, driver, dialect, extra, with_runs=True)
    if with_sid:
        query = query.add_columns(sid.label("sid"))
    if before is not None:
        query = query.where(sid < before)
    return query.order_by(sid.desc())


def _source(
    query: Select[Any],
    plan: Plan,
    driver: Match | None,
    dialect: Dialect,
    extra: Sequence[ColumnElement[bool]],
    *,
    with_runs: bool = False,
) -> tuple[Select[Any], ColumnElement[int]]:
    if driver is None:
        sid: ColumnElement[int] = runs.c.id
        rest = [condition(item, sid, dialect) for item in plan.rest]
        return query.select_from(runs).where(*rest, *extra), sid
    first = _DRIVER
    sid = first.c.run_sid
    source: FromClause = first
    if with_runs or extra or any(uses_runs(item) for item in plan.rest):
        source = first.join(runs, runs.c.id == sid)
    rest = [condition(item, sid, dialect) for item in plan.rest]
    where = [first.c.key == driver.key, _tag_value(first, driver, dialect), *rest, *extra]
    return query.select_from(source).where(*where), sid


def sorted_page(
    plan: Plan,
    dialect: Dialect,
    extra: Sequence[ColumnElement[bool]],
    sort: Sort,
    limit: int,
    offset: int,
) -> Select[Any]:
    """Bodies of the runs ``plan`` matches in the order ``sort`` (runs without the value
    last, ties newest first), ``limit`` from ``offset``: the database sorts every match."""
    query, sid = _source(select(runs.c.body), plan, plan.driver, dialect, extra, with_runs=True)
    key = _sort_key(sort.key, sid, dialect)
    ordered = key.desc() if sort.descending else key.asc()
    return query.order_by(ordered.nulls_last(), sid.desc()).limit(limit).offset(offset)


def _sort_key(key: str, sid: ColumnElement[int], dialect: Dialect) -> ColumnElement[Any]:
    if key == "created":
        return runs.c.created_at
    if key == "duration":
        return runs.c.ended_at - runs.c.started_at
    text: ColumnElement[str]
    if key in ("job", "status"):
        text = runs.c.job_name if key == "job" else runs.c.status
    else:
        tags = _EXISTS
        value = select(tags.c.value).where(tags.c.run_sid == sid, tags.c.key == key)
        text = value.scalar_subquery()
    return text.collate("C") if dialect.is_postgres else text


#: A plan that matches every run.
EVERY_RUN: Final = Plan(None, False, ())
