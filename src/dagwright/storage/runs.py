"""Run storage: the ``runs`` row with its JSON body, and the ``run_tags`` index table.

Listing is newest first by storage id with a keyset cursor. A tag filter is driven from
the ``(key, value_idx, run_sid)`` index of its first key, walked backwards, so a page costs
``limit`` index steps whatever the number of runs; further tag keys are checked with an
``EXISTS`` on the ``(run_sid, key)`` index. Nothing loads all runs into memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Select,
    bindparam,
    delete,
    false,
    func,
    insert,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError

from dagwright.errors import DagwrightRunNotFoundError, DagwrightStorageError
from dagwright.execution.events import Event
from dagwright.jsonvalue import storable
from dagwright.runs.columns import Sort
from dagwright.runs.models import Run, RunsFilter, RunStatus, check_transition
from dagwright.runs.query import And, Expr, Match
from dagwright.storage import run_query
from dagwright.storage.changes import NEW_EPOCH_SQL, tick_sql
from dagwright.storage.driver import chunked
from dagwright.storage.engine import Database
from dagwright.storage.events import event_row
from dagwright.storage.records import RunRecords, run_row, tag_rows
from dagwright.storage.schema import compute_logs, events, run_tags, runs
from dagwright.storage.serde import run_from_body
from dagwright.storage.tag_index import LONG_PREFIX_CHARS, SHORT_VALUE_CHARS, index_form

_SELECT_SID: Final = select(runs.c.id).where(runs.c.run_id == bindparam("run_id"))
#: Job names per query of :meth:`RunStorage.get_latest_runs` (SQLite allows a compound
#: SELECT of at most 500 parts).
_NAMES_PER_QUERY: Final = 200
# A loose index scan: one index seek per distinct key instead of reading every tag row.
_TAG_KEYS: Final = text(
    "WITH RECURSIVE k(key) AS ("
    " SELECT min(key) FROM run_tags"
    " UNION ALL"
    " SELECT (SELECT min(t.key) FROM run_tags t WHERE t.key > k.key) FROM k"
    " WHERE k.key IS NOT NULL"
    ") SELECT key FROM k WHERE key IS NOT NULL"
)


class RunStorage(RunRecords):
    """Runs and their tags in one SQL database (SQLite or PostgreSQL): single runs on the
    driver (:class:`RunRecords`), listings and counts through SQLAlchemy."""

    def __init__(self, database: Database) -> None:
        """Use ``database``, whose schema is current (see :class:`~dagwright.storage.Storage`)."""
        super().__init__(database)
        self._sa = database

    def add_runs(self, new_runs: Sequence[Run], new_events: Sequence[Event] = ()) -> list[Run]:
        """Store many new runs (and events of them) in one transaction: bulk loads, and
        the runs of a backfill or a tick with their ``RUN_ENQUEUED`` events. An event that
        changes a status moves its new run there, through the transition table, as
        :meth:`EventStorage.store_event` would.

        Returns:
            The runs as stored.

        Raises:
            DagwrightStorageError: a run id already exists, or the database failed.
            DagwrightRunNotFoundError: an event is of none of the new runs.
            DagwrightInvalidTransitionError: an event's status change is not allowed.
        """
        if not new_runs:
            return []
        new_runs = _with_event_statuses(new_runs, new_events)
        statement = insert(runs).returning(runs.c.id, sort_by_parameter_order=True)
        with self._sa.write() as conn:
            try:
                rows = [run_row(run, run.created_at, 0) for run in new_runs]
                sids = conn.execute(statement, rows).scalars().all()
            except IntegrityError as exc:
                raise DagwrightStorageError(f"a run id already exists: {exc.orig}") from exc
            tags = [
                row
                for sid, run in zip(sids, new_runs, strict=True)
                for row in tag_rows(sid, run.tags)
            ]
            if tags:
                conn.execute(insert(run_tags), tags)
            if new_events:
                conn.execute(insert(events), [event_row(event) for event in new_events])
            # the clock last: on PostgreSQL its lock is held to the commit
            seq = int(conn.exec_driver_sql(tick_sql(self._db.is_postgres)).scalar_one())
            conn.execute(update(runs).where(runs.c.id.in_(sids)).values(change_seq=seq))
        return new_runs

    def get_statuses(self, run_ids: Sequence[str]) -> dict[str, RunStatus]:
        """The status of each of ``run_ids`` that names a stored run."""
        found: dict[str, RunStatus] = {}
        query = select(runs.c.run_id, runs.c.status)
        with self._sa.read() as conn:
            for chunk in chunked(run_ids):
                rows = conn.execute(query.where(runs.c.run_id.in_(list(chunk))))
                found.update((run_id, RunStatus(status)) for run_id, status in rows)
        return found

    def get_runs(
        self,
        filters: RunsFilter | None = None,
        *,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> list[Run]:
        """Runs matching ``filters``, newest first.

        Args:
            filters: which runs; None means all.
            limit: at most this many; None means no limit.
            cursor: the ``run_id`` of the last run of the previous page.

        Raises:
            DagwrightRunNotFoundError: the cursor names no run.
        """
        with self._sa.read() as conn:
            before = None if cursor is None else _storage_id(conn, cursor)
            if filters is not None and filters.query is not None:
                query = self._queried(conn, filters, page=True).page(before, limit)
            else:
                query = _page_query(filters, before, limit, ids_first=self._db.is_postgres)
            bodies = conn.execute(query).scalars().all()
        return [run_from_body(body) for body in bodies]

    def get_sorted_runs(
        self, filters: RunsFilter | None, sort: Sort, *, limit: int, offset: int = 0
    ) -> list[Run]:
        """Runs matching ``filters`` in the order ``sort``, ``limit`` from ``offset``
        (the database sorts every match; newest-first pages are :meth:`get_runs`)."""
        with self._sa.read() as conn:
            queried = self._queried(conn, filters or RunsFilter(), page=False)
            query = run_query.sorted_page(
                queried.plan, queried.dialect, queried.extra, sort, limit, offset
            )
            bodies = conn.execute(query).scalars().all()
        return [run_from_body(body) for body in bodies]

    def ids_query(self, filters: RunsFilter | None) -> Select[Any]:
        """A statement selecting the ``run_id`` of every run matching ``filters``, newest
        first (for an ``INSERT … SELECT``: no run is read into Python)."""
        with self._sa.read() as conn:
            queried = self._queried(conn, filters or RunsFilter(), page=False)
        return run_query.ids_query(queried.plan, queried.dialect, queried.extra)

    def _queried(self, conn: Connection, filters: RunsFilter, *, page: bool) -> _Queried:
        """The plan of a filter with a run query (its other fields ANDed)."""
        dialect = run_query.Dialect(self._db.is_postgres)
        items = filters.tag_items()
        terms: list[Expr] = [Match(key, values) for key, values in items]
        if filters.query is not None:
            terms.insert(0, filters.query)
        if not terms:
            return _Queried(run_query.EVERY_RUN, dialect, _run_conditions(filters))
        expr = terms[0] if len(terms) == 1 else And(tuple(terms))
        plan = run_query.choose_plan(conn, expr, dialect, page=page)
        return _Queried(plan, dialect, _run_conditions(filters))

    def get_latest_runs(self, job_names: Sequence[str]) -> dict[str, Run]:
        """The newest run of each of ``job_names`` that has one.

        One statement (per 200 names) of one ``max(id)`` per name, each a seek on the
        ``(job_name, id)`` index, as ``get_runs(RunsFilter(job_name=name), limit=1)``
        would make for each name.

        Returns:
            Runs by job name; a job without runs is absent.
        """
        names = list(dict.fromkeys(job_names))
        latest: dict[str, Run] = {}
        with self._sa.read() as conn:
            for start in range(0, len(names), _NAMES_PER_QUERY):
                chunk = names[start : start + _NAMES_PER_QUERY]
                for body in conn.execute(_latest_query(chunk)).scalars():
                    run = run_from_body(body)
                    latest[run.job_name] = run
        return latest

    def get_runs_ended_after(
        self, status: RunStatus, since: float, *, limit: int = 1000
    ) -> list[Run]:
        """Runs that ended in ``status`` after ``since`` (exclusive), oldest end first.

        An index walk on ``(status, ended_at)``: the retry loop reads only new failures.
        """
        query = (
            select(runs.c.body)
            .where(runs.c.status == status.value, runs.c.ended_at > since)
            .order_by(runs.c.ended_at)
            .limit(limit)
        )
        with self._sa.read() as conn:
            return [run_from_body(body) for (body,) in conn.execute(query)]

    def get_runs_count(self, filters: RunsFilter | None = None) -> int:
        """How many runs match ``filters``."""
        query, _ = _filtered(select(func.count()), filters, _tag_items(filters), with_runs=False)
        with self._sa.read() as conn:
            if filters is not None and filters.query is not None:
                query = self._queried(conn, filters, page=False).count()
            return int(conn.execute(query).scalar_one())

    def get_run_tag_keys(self) -> list[str]:
        """Every tag key used by some run, sorted."""
        with self._sa.read() as conn:
            return sorted(conn.execute(_TAG_KEYS).scalars())

    def get_run_tag_values(
        self, key: str, *, prefix: str = "", limit: int = 100
    ) -> list[tuple[str, int]]:
        """The values of a tag key with the number of runs using each.

        Args:
            key: the tag key.
            prefix: only values starting with this text (matched literally).
            limit: at most this many values.

        Returns:
            ``(value, count)`` pairs, most used first, then by value (code point order).
            Where the limit cuts between equally used values longer than 128
            characters that share their first 64, which of them are kept is arbitrary.
        """
        count = func.count().label("n")
        order: ColumnElement[str] = run_tags.c.value_idx
        if self._db.is_postgres:
            order = order.collate("C")
        query = (
            select(run_tags.c.value_idx, count)
            .where(run_tags.c.key == key, *_prefix_match(prefix))
            .group_by(run_tags.c.value_idx)
            .order_by(count.desc(), order)
            .limit(limit)
        )
        with self._sa.read() as conn:
            rows = conn.execute(query).all()
            values = [(full_value(conn, key, row[0]), int(row[1])) for row in rows]
        # the database orders by index form, which for long values is not value order
        return sorted(values, key=lambda pair: (-pair[1], pair[0]))

    def delete_run(self, run_id: str) -> None:
        """Delete a run with its tags, events and step logs.

        Raises:
            DagwrightRunNotFoundError: no run has this id.
        """
        with self._sa.write() as conn:
            sid = _storage_id(conn, run_id)
            conn.execute(delete(events).where(events.c.run_id == run_id))
            conn.execute(delete(compute_logs).where(compute_logs.c.run_id == run_id))
            conn.execute(delete(run_tags).where(run_tags.c.run_sid == sid))
            conn.execute(delete(runs).where(runs.c.id == sid))
            conn.exec_driver_sql(NEW_EPOCH_SQL)


@dataclass(frozen=True)
class _Queried:
    plan: run_query.Plan
    dialect: run_query.Dialect
    extra: list[ColumnElement[bool]]

    def page(self, before: int | None, limit: int | None) -> Select[Any]:
        return run_query.page_query(self.plan, self.dialect, self.extra, before, limit)

    def count(self) -> Select[Any]:
        return run_query.count_query(self.plan, self.dialect, self.extra)


def _with_event_statuses(new_runs: Sequence[Run], new_events: Sequence[Event]) -> list[Run]:
    """The new runs, each in the status its events move it to (checked by the table)."""
    stored = list(new_runs)
    where = {run.run_id: i for i, run in enumerate(stored)}
    for event in new_events:
        status = event.run_status
        if status is None:
            continue
        if event.run_id not in where:
            raise DagwrightRunNotFoundError(event.run_id)
        run = stored[where[event.run_id]]
        check_transition(run.run_id, run.status, status)
        stored[where[event.run_id]] = replace(run, status=status)
    return stored


def _storage_id(conn: Connection, run_id: str) -> int:
    sid = conn.execute(_SELECT_SID, {"run_id": run_id}).scalar()
    if sid is None:
        raise DagwrightRunNotFoundError(run_id)
    return int(sid)


def _latest_query(job_names: Sequence[str]) -> Select[Any]:
    """Bodies of the newest run of each job: ``runs.id IN`` one ``max(id)`` per name."""
    newest = union_all(
        *(select(func.max(runs.c.id)).where(runs.c.job_name == name) for name in job_names)
    )
    return select(runs.c.body).where(runs.c.id.in_(newest))


TagItems = list[tuple[str, tuple[str, ...]]]


def _tag_items(filters: RunsFilter | None) -> TagItems:
    """The tag filter, the key with the fewest values first (it drives the query)."""
    items = filters.tag_items() if filters else []
    return sorted(items, key=lambda item: len(item[1]) > 1)


def _page_query(
    filters: RunsFilter | None, before: int | None, limit: int | None, *, ids_first: bool = False
) -> Select[Any]:
    """Bodies of one page of runs, newest first, every step an index walk.

    ``ids_first`` (PostgreSQL): a filter on tags only picks the page's storage ids before
    reading any run (see :func:`_one_walk`). SQLite's planner walks the tag index and
    looks each run up by primary key either way, and needs no sort for this shape.

    A filter that lets a run match one of several index ranges (several values of the
    driving tag key, or several statuses) becomes one walk per range, each stopping after
    ``limit``, merged; a single ``IN`` would read every match of every range and sort them.
    """
    parts = _split(filters)
    if len(parts) == 1:
        return _one_walk(parts[0], before, limit, ids_first=ids_first)
    walks = [_one_walk(part, before, limit, ids_first=ids_first, with_sid=True) for part in parts]
    merged = union_all(*(select(walk.subquery()) for walk in walks)).subquery()
    return select(merged.c.body).order_by(merged.c.sid.desc()).limit(limit)


def _split(filters: RunsFilter | None) -> list[RunsFilter | None]:
    if filters is None:
        return [filters]
    items = _tag_items(filters)
    if items:
        key, values = items[0]
        if len(values) < 2:
            return [filters]
        tags = dict(filters.tags or {})
        return [replace(filters, tags={**tags, key: value}) for value in dict.fromkeys(values)]
    statuses = list(dict.fromkeys(filters.statuses or ()))
    if len(statuses) < 2:
        return [filters]
    return [replace(filters, statuses=[status]) for status in statuses]


def _one_walk(
    filters: RunsFilter | None,
    before: int | None,
    limit: int | None,
    *,
    ids_first: bool,
    with_sid: bool = False,
) -> Select[Any]:
    """One index walk, newest first: the bodies of at most ``limit`` runs.

    With ``ids_first``, a filter on tags only first picks the page's storage ids from the
    tag index (limited there), then reads those runs by primary key. Joined before the
    limit, PostgreSQL may pick a merge join that walks the whole ``runs`` primary key
    backwards from the newest run to the first match when the value's runs are old: a
    plan that grows with the number of runs (docs/decisions.md, "Run storage on
    PostgreSQL").
    """
    items = _tag_items(filters)
    if ids_first and items and not _run_conditions(filters):
        return _tags_only_walk(filters, items, before, limit, with_sid=with_sid)
    query, sid = _filtered(select(runs.c.body), filters, items, with_runs=True)
    if with_sid:
        query = query.add_columns(sid.label("sid"))
    if before is not None:
        query = query.where(sid < before)
    return query.order_by(sid.desc()).limit(limit)


def _tags_only_walk(
    filters: RunsFilter | None,
    items: TagItems,
    before: int | None,
    limit: int | None,
    *,
    with_sid: bool,
) -> Select[Any]:
    """The page's storage ids from the tag index (``limit`` steps), then their bodies."""
    ids, sid = _filtered(select(), filters, items, with_runs=False)
    ids = ids.add_columns(sid.label("sid"))
    if before is not None:
        ids = ids.where(sid < before)
    page = ids.order_by(sid.desc()).limit(limit).subquery("page")
    query = select(runs.c.body).join_from(page, runs, runs.c.id == page.c.sid)
    if with_sid:
        query = query.add_columns(page.c.sid)
    return query.order_by(page.c.sid.desc())


def _filtered(
    query: Select[Any], filters: RunsFilter | None, items: TagItems, *, with_runs: bool
) -> tuple[Select[Any], ColumnElement[int]]:
    """Apply ``filters`` to a query; also return the storage id column to order pages by.

    With tag filters the query is driven from the first key's tag rows and ordered by
    their ``run_sid``, so that the database walks that index backwards and stops early;
    the other keys are checked with ``EXISTS``. ``runs`` is joined only when the query
    selects from it (``with_runs``) or filters on its columns.
    """
    conditions = _run_conditions(filters)
    if not items:
        return query.select_from(runs).where(*conditions), runs.c.id
    first = run_tags.alias("t0")
    sid = first.c.run_sid
    source: FromClause = first
    if with_runs or conditions:
        source = first.join(runs, runs.c.id == sid)
    query = query.select_from(source).where(*_tag_match(first, *items[0]), *conditions)
    for n, (key, values) in enumerate(items[1:], start=1):
        other = run_tags.alias(f"t{n}")
        match = select(other.c.id).where(other.c.run_sid == sid, *_tag_match(other, key, values))
        query = query.where(match.exists())
    return query, sid


def _tag_match(table: FromClause, key: str, values: tuple[str, ...]) -> list[ColumnElement[bool]]:
    forms = [index_form(value) for value in values]
    column = table.c.value_idx
    matches_value = column == forms[0] if len(forms) == 1 else column.in_(forms)
    return [table.c.key == key, matches_value]


def _run_conditions(filters: RunsFilter | None) -> list[ColumnElement[bool]]:
    if filters is None:
        return []
    conditions: list[ColumnElement[bool]] = []
    # An id or job name that no row can hold (a lone surrogate, a NUL) matches nothing.
    if filters.run_ids is not None:
        ids = [run_id for run_id in filters.run_ids if storable(run_id)]
        conditions.append(runs.c.run_id.in_(ids))
    if filters.job_name is not None:
        name = filters.job_name
        conditions.append(runs.c.job_name == name if storable(name) else false())
    if filters.location_name is not None:
        location = filters.location_name
        conditions.append(runs.c.location_name == location if storable(location) else false())
    if filters.statuses is not None:
        conditions.append(runs.c.status.in_([RunStatus(s).value for s in filters.statuses]))
    if filters.created_after is not None:
        conditions.append(runs.c.created_at > filters.created_after)
    if filters.created_before is not None:
        conditions.append(runs.c.created_at < filters.created_before)
    return conditions


def _prefix_match(prefix: str) -> list[ColumnElement[bool]]:
    """A literal prefix test (no LIKE, so ``%`` and ``_`` are plain characters).

    A prefix of up to 64 characters is tested on the index form, which starts with the
    first 64 characters of any value; a longer one on the value itself.
    """
    if not prefix:
        return []
    column = run_tags.c.value_idx if len(prefix) <= LONG_PREFIX_CHARS else run_tags.c.value
    return [func.substr(column, 1, len(prefix)) == prefix]


def full_value(conn: Connection, key: str, value_idx: str) -> str:
    """The value behind an index form (a lookup only for long values)."""
    if len(value_idx) <= SHORT_VALUE_CHARS:
        return value_idx
    query = select(run_tags.c.value).where(run_tags.c.key == key, run_tags.c.value_idx == value_idx)
    return str(conn.execute(query.limit(1)).scalar_one())
