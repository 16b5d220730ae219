"""The run query grammar (DESIGN §10): every form, precedence, quoting, error positions."""

from __future__ import annotations

import datetime as dt

import pytest

from dagwright import DagwrightError, DagwrightInvalidQueryError, RunsFilter, RunStatus
from dagwright.runs.query import And, Compare, Match, Not, Or, RunFacts, matches, parse_query

T = Match  # tag term


def _ts(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


PARSED = [
    ("team:docs", T("team", ("docs",))),
    ("team:docs,ml", T("team", ("docs", "ml"))),
    ("-team:docs", Not(T("team", ("docs",)))),
    ("-team:docs,ml", Not(T("team", ("docs", "ml")))),
    ("team:*", T("team", (), ("",))),
    ("-team:*", Not(T("team", (), ("",)))),
    ("team:do*", T("team", (), ("do",))),
    ("team:docs,m*", T("team", ("docs",), ("m",))),
    ("status:FAILURE,CANCELED", Match("status", ("FAILURE", "CANCELED"), (), "status")),
    ("job:daily_sales", Match("job", ("daily_sales",), (), "job")),
    ("job:daily*", Match("job", (), ("daily",), "job")),
    ("created>2026-01-01", Compare("created", ">", _ts("2026-01-01T00:00+00:00"))),
    ("created<2026-02-01T12:00Z", Compare("created", "<", _ts("2026-02-01T12:00+00:00"))),
    ("created>2026-02-01T12:00+02:00", Compare("created", ">", _ts("2026-02-01T10:00+00:00"))),
    ("duration>60s", Compare("duration", ">", 60.0)),
    ("duration<5m", Compare("duration", "<", 300.0)),
    ("duration>1.5h", Compare("duration", ">", 5400.0)),
    ("a:1 b:2", And((T("a", ("1",)), T("b", ("2",))))),
    ("a:1 OR b:2", Or((T("a", ("1",)), T("b", ("2",))))),
    # OR binds looser than juxtaposition
    ("a:1 b:2 OR c:3", Or((And((T("a", ("1",)), T("b", ("2",)))), T("c", ("3",))))),
    ("a:1 OR b:2 c:3", Or((T("a", ("1",)), And((T("b", ("2",)), T("c", ("3",))))))),
    ("(a:1 OR b:2) -c:3", And((Or((T("a", ("1",)), T("b", ("2",)))), Not(T("c", ("3",)))))),
    ("-(a:1 b:2)", Not(And((T("a", ("1",)), T("b", ("2",)))))),
    ("((a:1))", T("a", ("1",))),
    ("a:1 OR b:2 OR c:3", Or((T("a", ("1",)), T("b", ("2",)), T("c", ("3",))))),
    ("  a:1   b:2  ", And((T("a", ("1",)), T("b", ("2",))))),
    ("a:1 OR(b:2)", Or((T("a", ("1",)), T("b", ("2",))))),
    # quoting
    ('"dagwright/partition":"2026-01-02"', T("dagwright/partition", ("2026-01-02",))),
    ('note:"a b:c"', T("note", ("a b:c",))),
    ('note:"a*"', T("note", ("a*",))),
    ('note:"a b"*', T("note", (), ("a b",))),
    (r'note:"say \"hi\" \\ ok"', T("note", ('say "hi" \\ ok',))),
    ('note:""', T("note", ("",))),
    ('"status":x', T("status", ("x",))),  # a quoted key is always a tag
    ('"created":x', T("created", ("x",))),
    ('"a b":c,"d,e"', T("a b", ("c", "d,e"))),
    # case-sensitive; OR only as a word of its own
    ("Team:Docs", T("Team", ("Docs",))),
    ("OR:x", T("OR", ("x",))),
    ("ORx:y", T("ORx", ("y",))),
    ("a:OR", T("a", ("OR",))),
    ("dagwright/partition:2026-01-02", T("dagwright/partition", ("2026-01-02",))),
    ("a:x>y", T("a", ("x>y",))),
    ("a:1 -b:2", And((T("a", ("1",)), Not(T("b", ("2",)))))),
    ("--a:1", Not(Not(T("a", ("1",))))),
]


@pytest.mark.parametrize(("text", "expected"), PARSED, ids=[p[0] for p in PARSED])
def test_parses(text: str, expected: object) -> None:
    assert parse_query(text) == expected
    assert RunsFilter.parse(text).query == expected


@pytest.mark.parametrize("text", ["", "   ", "\t"])
def test_an_empty_query_matches_everything(text: str) -> None:
    assert parse_query(text) is None
    assert matches(None, _facts())


ERRORS = [
    # (query, position, expected contains)
    ("team", 4, "':' after the key"),
    ("team:", 5, "a value"),
    ("team: docs", 5, "a value"),
    ("team:docs,", 10, "a value"),
    ("team:a,,b", 7, "a value"),
    ("team:do*cs", 8, "the end of the term"),
    ("team:a:b", 6, "the end of the term"),
    ('team:a"b"', 6, "the end of the term"),
    ("team*:x", 4, "':' after the key"),
    (":docs", 0, "a term"),
    (",", 0, "a term"),
    ("a:1 OR", 6, "a term"),
    ("a:1 OR ", 7, "a term"),
    ("OR a:1", 0, "a term"),
    ("a:1 OR OR b:2", 7, "a term"),
    ("(a:1", 4, "')'"),
    ("(a:1 b:2", 8, "')'"),
    ("a:1)", 3, "the end of the query"),
    ("()", 1, "a term"),
    ("(", 1, "a term"),
    ("-", 1, "a term after '-'"),
    ("- a:1", 1, "a term after '-'"),
    ("a:1 -", 5, "a term after '-'"),
    ('"team:docs', 10, "'\"'"),
    ('team:"docs', 10, "'\"'"),
    ("status:failure", 7, "a run status"),
    ("status:FAILURE,nope", 15, "a run status"),
    ("status:FAIL*", 7, "a run status"),
    ("created>", 8, "a date"),
    ("created>yesterday", 8, "a date"),
    ("created>2026-01-01T12:00", 8, "with a zone"),
    ("created>2026-13-01", 8, "a date"),
    ("created:2026-01-01", 7, "'>' or '<'"),
    ("created", 7, "'>' or '<'"),
    ("duration>60", 9, "a duration"),
    ("duration>60d", 9, "a duration"),
    ("duration>-5s", 9, "a duration"),
    ("duration=5s", 11, "':' after the key"),  # the key is "duration=5s"
    ("a:1 or b:2", 6, "':' after the key"),
    ("a>1", 1, "':' after the key"),
    ("a:b\x00", 3, "no NUL character"),
]


@pytest.mark.parametrize(("text", "position", "expected"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_name_the_position_and_what_was_expected(
    text: str, position: int, expected: str
) -> None:
    with pytest.raises(DagwrightInvalidQueryError) as info:
        RunsFilter.parse(text)
    error = info.value
    assert (error.position, error.query) == (position, text)
    assert expected in error.expected
    assert isinstance(error, DagwrightError)
    assert f"position {position}" in str(error)
    assert error.expected in str(error)


def test_an_unexpected_end_is_at_the_querys_length() -> None:
    with pytest.raises(DagwrightInvalidQueryError) as info:
        parse_query("(team:docs OR team:ml")
    assert info.value.position == len("(team:docs OR team:ml")
    assert "found the end of the query" in str(info.value)


def _facts(
    tags: dict[str, str] | None = None,
    status: RunStatus = RunStatus.SUCCESS,
    job: str = "daily",
    created: float = 1_800_000_000.0,
    duration: float | None = 10.0,
) -> RunFacts:
    return RunFacts(tags or {}, status, job, created, duration)


EVALUATED = [
    ("team:docs", _facts({"team": "docs"}), True),
    ("team:docs", _facts({"team": "Docs"}), False),
    ("team:docs", _facts(), False),
    ("-team:docs", _facts(), True),  # a run without team matches
    ("-team:docs,ml", _facts({"team": "ml"}), False),
    ("-team:docs,ml", _facts({"team": "web"}), True),
    ("team:*", _facts({"team": ""}), True),
    ("-team:*", _facts({"team": ""}), False),
    ("team:do*", _facts({"team": "dog"}), True),
    ("team:do*", _facts({"team": "Dog"}), False),
    ("status:SUCCESS,FAILURE", _facts(), True),
    ("-status:SUCCESS", _facts(), False),
    ("job:dai*", _facts(), True),
    ("created>2027-01-01", _facts(created=_ts("2027-01-01T00:00:01+00:00")), True),
    ("created>2027-01-01", _facts(created=_ts("2027-01-01T00:00:00+00:00")), False),
    ("duration>9s", _facts(), True),
    ("duration>9s", _facts(status=RunStatus.STARTED), False),  # finished runs only
    ("duration<1m", _facts(duration=None, status=RunStatus.CANCELED), False),
    ("a:1 OR b:2 c:3", _facts({"a": "1"}), True),
    ("a:1 OR b:2 c:3", _facts({"b": "2"}), False),
    ("(a:1 OR b:2) c:3", _facts({"a": "1"}), False),
]


@pytest.mark.parametrize(("text", "run", "expected"), EVALUATED, ids=[e[0] for e in EVALUATED])
def test_reference_evaluation(text: str, run: RunFacts, expected: bool) -> None:
    assert matches(parse_query(text), run) is expected


@pytest.mark.parametrize(
    ("text", "key"),
    [("a", False), ("a b", False), ('x"y', False), ("back\\slash", False), ("OR", False),
     ("", False), ("*", False), ("-x", False), ("a:b", False), ("status", True),
     ("duration", True), ("-x", True), ("team/x", True)],
)  # fmt: skip
def test_quote_round_trips(text: str, key: bool) -> None:
    from dagwright.runs.query import quote

    term = f"{quote(text, key=True)}:v" if key else f"k:{quote(text)}"
    expected = T(text, ("v",)) if key else T("k", (text,))
    assert parse_query(term) == expected
