"""Run queries compiled to SQL, on SQLite and PostgreSQL: the SQL's answer equals the
reference evaluator's (``runs.query.matches``) on random runs and random queries."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from dagwright.runs.columns import FIELD_SORTS, Sort
from dagwright.runs.models import Run, RunsFilter, RunStatus
from dagwright.runs.query import And, Compare, Expr, Match, Not, Or, RunFacts, matches, parse_query
from dagwright.storage import Storage
from dagwright.storage.run_query import PROBE_CAP
from dagwright.storage.schema import events, run_tags, runs

LONG = "L" * 70 + "-long"
LONGER = "L" * 70 + "-longer" + "x" * 200
KEYS = ["team", "env", "a b", "dagwright/partition"]
VALUES = ["docs", "Docs", "do", "d%", "d_x", "", "ml", "a:b", LONG, LONGER]
PREFIXES = ["d", "do", "D", "d%", "d_", "", "L" * 70, "L" * 70 + "-longer"]
JOBS = ["etl", "report", "e_l"]
BASE = 1_800_000_000


def _run(n: int, data: st.DataObject) -> Run:
    tags = data.draw(st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=3))
    status = data.draw(st.sampled_from(list(RunStatus)))
    started = data.draw(st.none() | st.integers(0, 100))
    length = data.draw(st.none() | st.integers(0, 200))
    ended = None if started is None or length is None else BASE + started + length
    return Run(
        run_id=f"r{n:03d}",
        job_name=data.draw(st.sampled_from(JOBS)),
        status=status,
        tags=tags,
        created_at=float(BASE + data.draw(st.integers(0, 100))),
        started_at=None if started is None else float(BASE + started),
        ended_at=None if ended is None else float(ended),
    )


def _facts(run: Run) -> RunFacts:
    duration = None
    if run.started_at is not None and run.ended_at is not None:
        duration = run.ended_at - run.started_at
    return RunFacts(run.tags, run.status, run.job_name, run.created_at, duration)


def _quote(text: str) -> str:
    plain = text and not any(c in text for c in ' ()":,*<>') and text not in ("OR",)
    return text if plain else '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(expr: Expr) -> str:
    """The text of a query (the parser must read it back as ``expr``)."""
    if isinstance(expr, And | Or):
        joiner = " " if isinstance(expr, And) else " OR "
        return "(" + joiner.join(render(item) for item in expr.items) + ")"
    if isinstance(expr, Not):
        return "-" + render(expr.item)
    if isinstance(expr, Compare):
        if expr.field == "created":
            moment = dt.datetime.fromtimestamp(expr.value, tz=dt.timezone.utc)
            return f"created{expr.op}{moment.isoformat()}"
        return f"duration{expr.op}{int(expr.value)}s"
    key = expr.key if expr.field else _quote(expr.key)
    if expr.field is None and key in ("status", "job", "created", "duration"):
        key = f'"{key}"'
    values = [_quote(v) if expr.field is None else v for v in expr.values]
    values += [(_quote(p) if p else "") + "*" for p in expr.prefixes]
    return f"{key}:{','.join(values)}"


_tag_terms = st.builds(
    Match,
    st.sampled_from(KEYS),
    st.lists(st.sampled_from(VALUES), max_size=2).map(tuple),
    st.lists(st.sampled_from(PREFIXES), max_size=2).map(tuple),
).filter(lambda m: bool(m.values or m.prefixes))
_fields = st.one_of(
    st.builds(
        Match,
        st.just("status"),
        st.lists(st.sampled_from([s.value for s in RunStatus]), min_size=1, max_size=3).map(tuple),
        st.just(()),
        st.just("status"),
    ),
    st.builds(
        Match,
        st.just("job"),
        st.lists(st.sampled_from(JOBS), max_size=2).map(tuple),
        st.lists(st.sampled_from(["e", "e_", "r", ""]), max_size=1).map(tuple),
        st.just("job"),
    ).filter(lambda m: bool(m.values or m.prefixes)),
    st.builds(
        Compare,
        st.just("created"),
        st.sampled_from([">", "<"]),
        st.integers(0, 100).map(lambda n: float(BASE + n)),
    ),
    st.builds(
        Compare, st.just("duration"), st.sampled_from([">", "<"]), st.integers(0, 200).map(float)
    ),
)
_terms = st.one_of(_tag_terms, _fields)
queries = st.recursive(
    _terms,
    lambda inner: st.one_of(
        inner.map(Not),
        st.lists(inner, min_size=2, max_size=3).map(lambda items: And(tuple(items))),
        st.lists(inner, min_size=2, max_size=3).map(lambda items: Or(tuple(items))),
    ),
    max_leaves=6,
)


def _reset(storage: Storage) -> None:
    with storage.engine.begin() as conn:
        for table in (events, run_tags, runs):
            conn.execute(delete(table))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_sql_answers_as_the_reference_evaluator(storage: Storage, data: st.DataObject) -> None:
    _reset(storage)
    population = [_run(n, data) for n in range(data.draw(st.integers(0, 25)))]
    storage.runs.add_runs(population)
    newest_first = population[::-1]
    for _ in range(4):
        expr = data.draw(queries)
        text = render(expr)
        parsed = parse_query(text)
        filters = RunsFilter.parse(text)
        wanted = [r.run_id for r in newest_first if matches(parsed, _facts(r))]
        got = [r.run_id for r in storage.runs.get_runs(filters)]
        assert got == wanted, text
        assert storage.runs.get_runs_count(filters) == len(wanted), text
        page = storage.runs.get_runs(filters, limit=2, cursor=wanted[0] if wanted else None)
        assert [r.run_id for r in page] == wanted[1:3], text
        sort = Sort(data.draw(st.sampled_from([*FIELD_SORTS, *KEYS])), data.draw(st.booleans()))
        matched = [r for r in newest_first if matches(parsed, _facts(r))]
        in_order = [r.run_id for r in _sorted(matched, sort)]
        got = [r.run_id for r in storage.runs.get_sorted_runs(filters, sort, limit=100)]
        assert got == in_order, (text, sort)
        page = storage.runs.get_sorted_runs(filters, sort, limit=2, offset=1)
        assert [r.run_id for r in page] == in_order[1:3]


def _sort_value(run: Run, key: str) -> object:
    if key == "created":
        return run.created_at
    if key == "duration":
        return _facts(run).duration
    if key == "job":
        return run.job_name
    if key == "status":
        return run.status.value
    return run.tags.get(key)


def _sorted(newest_first: list[Run], sort: Sort) -> list[Run]:
    """The reference order: by value (stable, so ties stay newest first), missing last."""
    known = [r for r in newest_first if _sort_value(r, sort.key) is not None]
    missing = [r for r in newest_first if _sort_value(r, sort.key) is None]
    ordered = sorted(known, key=lambda r: _sort_value(r, sort.key), reverse=sort.descending)  # type: ignore[arg-type, return-value]
    return ordered + missing


def test_the_renderer_round_trips() -> None:
    expr = And(
        (Match("a b", ("x:y", ""), ("d%",)), Not(Match("status", ("QUEUED",), (), "status")))
    )
    assert parse_query(render(expr)) == expr


@pytest.fixture
def stored(storage: Storage) -> Storage:
    specs = [
        ("r1", "etl", {"team": "docs", "env": "prod"}, RunStatus.SUCCESS),
        ("r2", "etl", {"team": "data", "env": "prod"}, RunStatus.FAILURE),
        ("r3", "report", {"team": "Docs", "env": "dev", "batch": "b1%"}, RunStatus.SUCCESS),
        ("r4", "report", {"team": "ml", "batch": "b10"}, RunStatus.QUEUED),
        ("r5", "etl", {"team": "docs", "batch": "bx1", "note": LONG}, RunStatus.STARTED),
        ("r6", "etl", {}, RunStatus.FAILURE),
    ]
    storage.runs.add_runs(
        [
            Run(run_id=i, job_name=j, status=s, tags=t, created_at=float(n))
            for n, (i, j, t, s) in enumerate(specs, start=1)
        ]
    )
    return storage


CASES = [
    ("team:docs -env:prod", ["r5"]),
    ("(team:docs OR team:ml) batch:b1*", ["r4"]),
    ("-team:* status:FAILURE", ["r6"]),
    ("team:docs created>1970-01-01T00:00:04Z", ["r5"]),
    ("team:do*", ["r5", "r1"]),  # case-sensitive: not Docs
    ('batch:"b1%"*', ["r3"]),  # % is a plain character
    ("batch:b_0*", []),  # so is _
    (f'note:"{LONG[:68]}"*', ["r5"]),  # a prefix longer than the index form's head
    (f'note:"{LONG}"', ["r5"]),
    ("job:rep* OR env:dev", ["r4", "r3"]),
    ("-team:docs,data", ["r6", "r4", "r3"]),
]


@pytest.mark.parametrize(("text", "wanted"), CASES, ids=[c[0] for c in CASES])
def test_queries(stored: Storage, text: str, wanted: list[str]) -> None:
    filters = RunsFilter.parse(text)
    assert [r.run_id for r in stored.runs.get_runs(filters)] == wanted
    assert stored.runs.get_runs_count(filters) == len(wanted)


def test_a_query_combines_with_the_other_filter_fields(stored: Storage) -> None:
    filters = RunsFilter(tags={"env": "prod"}, job_name="etl", query=parse_query("team:d*"))
    assert [r.run_id for r in stored.runs.get_runs(filters)] == ["r2", "r1"]
    assert stored.runs.get_runs_count(filters) == 2


def test_common_terms_walk_the_index_in_pages(storage: Storage) -> None:
    """Past the probe cap the driving term's index is walked by storage id: pages and
    counts stay right (both values of a two-valued term merged newest first)."""
    n = PROBE_CAP + 300
    cycle = itertools.cycle(["docs", "ml", "web"])
    storage.runs.add_runs(
        [
            Run(run_id=f"r{i:05d}", job_name="j", status=RunStatus.SUCCESS, tags={"team": t})
            for i, t in zip(range(n), cycle, strict=False)
        ]
    )
    wanted = [f"r{i:05d}" for i in reversed(range(n)) if i % 3 != 2]
    filters = RunsFilter.parse("team:docs,ml -team:web")
    first = storage.runs.get_runs(filters, limit=50)
    assert [r.run_id for r in first] == wanted[:50]
    second = storage.runs.get_runs(filters, limit=50, cursor=first[-1].run_id)
    assert [r.run_id for r in second] == wanted[50:100]
    assert storage.runs.get_runs_count(filters) == len(wanted)
    assert storage.runs.get_runs_count(RunsFilter.parse("team:d*")) == len(range(0, n, 3))
