"""Tests for dagwright.runs.queue: launch order, the cap, tag limits and the explanation."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pytest

from dagwright.runs.models import IN_PROGRESS_STATUSES, Run, RunStatus
from dagwright.runs.queue import (
    LimitUse,
    QueueDecision,
    QueuedRunState,
    decide,
    launch_order,
    queue_order_key,
)
from dagwright.settings import RunQueueSettings, TagConcurrencyLimit
from dagwright.tags import PRIORITY_TAG


@dataclass(frozen=True)
class Limit:
    """A plain tag limit (the queue accepts anything shaped like TagConcurrencyLimit)."""

    key: str
    limit: int
    match_value: str | None = None
    per_unique_value: bool = False


def each(key: str, limit: int) -> Limit:
    return Limit(key, limit, per_unique_value=True)


def run(
    run_id: str,
    tags: Mapping[str, str] | None = None,
    *,
    at: float = 0.0,
    status: RunStatus = RunStatus.QUEUED,
) -> Run:
    return Run(run_id=run_id, job_name="job", status=status, tags=dict(tags or {}), created_at=at)


def running(run_id: str, tags: Mapping[str, str] | None = None) -> Run:
    return run(run_id, tags, status=RunStatus.STARTED)


def queued(spec: str, *, at_step: float = 1.0) -> list[Run]:
    """``"a:team=docs b c:team=docs,db=x"``: runs a, b, c created in that order."""
    runs = []
    for i, item in enumerate(spec.split()):
        run_id, _, tag_text = item.partition(":")
        tags = dict(pair.split("=", 1) for pair in tag_text.split(",") if pair)
        runs.append(run(run_id, tags, at=i * at_step))
    return runs


def launched(decision: QueueDecision) -> list[str]:
    return [r.run_id for r in decision.to_launch]


def order(decision: QueueDecision) -> list[str]:
    return [state.run.run_id for state in decision.runs]


# --------------------------------------------------------------------------------------
# Order
# --------------------------------------------------------------------------------------

P = PRIORITY_TAG

ORDER_CASES = [
    pytest.param([run("a", at=2), run("b", at=1), run("c", at=3)], ["b", "a", "c"], id="oldest"),
    pytest.param(
        [run("low", {P: "-1"}, at=0), run("none", at=1), run("high", {P: "5"}, at=2)],
        ["high", "none", "low"],
        id="priority-before-age",
    ),
    pytest.param(
        [run("m2", {P: "-2"}), run("m10", {P: "-10"}), run("zero", {P: "0"})],
        ["zero", "m2", "m10"],
        id="negatives",
    ),
    pytest.param([run("c", at=1), run("a", at=1), run("b", at=1)], ["a", "b", "c"], id="run-id"),
    pytest.param(
        [run("bad", {P: "high"}, at=0), run("one", {P: "1"}, at=1), run("zero", at=2)],
        ["one", "bad", "zero"],
        id="invalid-priority-is-0",
    ),
    pytest.param([], [], id="empty"),
]


@pytest.mark.parametrize(("runs", "expected"), ORDER_CASES)
def test_launch_order(runs: list[Run], expected: list[str]) -> None:
    decision = decide(runs, [], -1)
    assert order(decision) == expected
    assert [r.run_id for r in sorted(runs, key=queue_order_key)] == expected
    assert [state.position for state in decision.runs] == list(range(1, len(runs) + 1))


def test_priority_is_reported() -> None:
    decision = decide([run("a", {P: "-3"}), run("b", {P: "x"}), run("c", {P: "7"})], [], -1)
    assert [(s.run.run_id, s.priority) for s in decision.runs] == [("c", 7), ("b", 0), ("a", -3)]


@pytest.mark.parametrize("seed", range(5))
def test_launch_order_is_the_order_of_the_key(seed: int) -> None:
    """The three single-key sorts give exactly the order of ``queue_order_key``, ties on
    creation time and priority included, whatever order the runs come in."""
    rng = random.Random(seed)
    priorities = ["-2", "0", "3", " 3", "nope", None]
    runs = []
    for i in range(300):
        prio = rng.choice(priorities)
        tags = {} if prio is None else {P: prio}
        runs.append(run(f"r{rng.randrange(10**6):06d}-{i}", tags, at=float(rng.randrange(20))))
    rng.shuffle(runs)
    expected = sorted(runs, key=queue_order_key)
    ordered = launch_order(runs)
    assert [r for _, r in ordered] == expected
    assert [p for p, _ in ordered] == [-queue_order_key(r)[0] for r in expected]


def test_queue_order_key() -> None:
    assert queue_order_key(run("r", {P: "4"}, at=12.5)) == (-4, 12.5, "r")
    assert queue_order_key(run("r", {P: "nope"})) == (0, 0.0, "r")


# --------------------------------------------------------------------------------------
# Which runs launch: a table of (queued, in progress, cap, limits) -> launched
# --------------------------------------------------------------------------------------

DOCS = Limit("team", 1, match_value="docs")
DB_ANY = Limit("database", 2)
BACKFILL_EACH = each("dagwright/backfill", 2)

LAUNCH_CASES = [
    pytest.param("a b c", [], -1, [], "a b c", id="no-cap"),
    pytest.param("a b c", [], 0, [], "", id="cap-0"),
    pytest.param("a b c", [], 2, [], "a b", id="cap-2"),
    pytest.param("a b c", [running("x")], 2, [], "a", id="cap-counts-in-progress"),
    pytest.param("a b", [running("x"), running("y")], 1, [], "", id="cap-already-exceeded"),
    pytest.param(
        "a b", [run("x", status=RunStatus.CANCELING)], 2, [], "a", id="canceling-holds-a-slot"
    ),
    pytest.param(
        "a b", [run("x", status=RunStatus.STARTING)], 2, [], "a", id="starting-holds-a-slot"
    ),
    pytest.param(
        "a b",
        [run(f"x{s.value}", status=s) for s in RunStatus if s not in IN_PROGRESS_STATUSES],
        1,
        [],
        "a",
        id="other-statuses-ignored",
    ),
    # A value limit: only runs with that key and value.
    pytest.param(
        "a:team=docs b:team=docs c:team=data d", [], -1, [DOCS], "a c d", id="value-limit"
    ),
    pytest.param(
        "a:team=docs b:team=data",
        [running("x", {"team": "docs"})],
        -1,
        [DOCS],
        "b",
        id="value-limit-in-progress",
    ),
    # Any value: one pool for every value of the key.
    pytest.param(
        "a:database=x b:database=y c:database=x d:other=1",
        [],
        -1,
        [DB_ANY],
        "a b d",
        id="any-value-limit",
    ),
    # Each value: separate pools.
    pytest.param(
        "a:dagwright/backfill=b1 b:dagwright/backfill=b1 c:dagwright/backfill=b1 "
        "d:dagwright/backfill=b2 e",
        [running("x", {"dagwright/backfill": "b2"})],
        -1,
        [BACKFILL_EACH],
        "a b d e",
        id="per-unique-value-limit",
    ),
    # Several limits on one run: held if any is full.
    pytest.param(
        "a:team=docs,database=x b:database=y c:team=data,database=z",
        [running("x", {"database": "q"})],
        -1,
        [DOCS, DB_ANY],
        "a",
        id="several-limits",
    ),
    # A held run does not hold back later runs that fit...
    pytest.param(
        "a:team=docs b:team=docs c:team=docs d:team=data",
        [],
        2,
        [DOCS],
        "a d",
        id="no-head-of-line-blocking",
    ),
    # ...but the cap does.
    pytest.param("a b:team=docs c", [], 1, [DOCS], "a", id="cap-stops-everything"),
    # Runs admitted in one pass count against each other.
    pytest.param(
        "a:team=docs b:team=docs c:team=docs d:team=docs e:team=docs",
        [running("x", {"team": "docs"})],
        -1,
        [Limit("team", 2, match_value="docs")],
        "a",
        id="admitted-count-in-the-pass",
    ),
    pytest.param("a:team=docs b:team=docs", [], -1, [Limit("team", 0, "docs")], "", id="limit-0"),
    # A limit on a key no run carries changes nothing.
    pytest.param("a b", [], -1, [Limit("absent", 0)], "a b", id="untagged-unaffected"),
    pytest.param(
        "a:team=docs b:team=docs",
        [],
        -1,
        [Limit("team", 5), Limit("team", 1, "docs")],
        "a",
        id="two-limits-one-key",
    ),
]


@pytest.mark.parametrize(("spec", "active", "cap", "limits", "expected"), LAUNCH_CASES)
def test_launches(
    spec: str, active: list[Run], cap: int, limits: Sequence[Limit], expected: str
) -> None:
    decision = decide(queued(spec), active, cap, limits)
    assert launched(decision) == expected.split()
    assert [s.run.run_id for s in decision.runs if s.launch] == expected.split()
    assert all(bool(s.blocked_by) != s.launch for s in decision.runs)


def test_launch_order_follows_priority_under_a_cap() -> None:
    runs = [run("old", at=0), run("urgent", {P: "9"}, at=5), run("mid", {P: "1"}, at=3)]
    assert launched(decide(runs, [], 2)) == ["urgent", "mid"]


def test_accepts_settings_objects() -> None:
    settings = RunQueueSettings.model_validate(
        {
            "max_concurrent_runs": 10,
            "tag_concurrency_limits": [
                {"key": "team", "value": "docs", "limit": 1},
                {"key": "database", "limit": 1},
                {
                    "key": "dagwright/backfill",
                    "value": {"applyLimitPerUniqueValue": True},
                    "limit": 1,
                },
            ],
        }
    )
    runs = queued(
        "a:team=docs b:team=docs c:database=x d:database=y "
        "e:dagwright/backfill=b1 f:dagwright/backfill=b1 g:dagwright/backfill=b2"
    )
    decision = decide(runs, [], settings.max_concurrent_runs, settings.tag_concurrency_limits)
    assert launched(decision) == ["a", "c", "e", "g"]


def test_per_unique_value_false_is_one_pool() -> None:
    limit = TagConcurrencyLimit.model_validate(
        {"key": "team", "value": {"applyLimitPerUniqueValue": False}, "limit": 1}
    )
    assert launched(decide(queued("a:team=x b:team=y"), [], -1, [limit])) == ["a"]


# --------------------------------------------------------------------------------------
# The explanation: exact reasons, as the decision saw them
# --------------------------------------------------------------------------------------

REASON_CASES = [
    pytest.param(
        "a:team=docs b:team=docs",
        [],
        -1,
        [DOCS],
        {"a": (), "b": ("team=docs: 1 of 1 in use",)},
        id="value",
    ),
    pytest.param(
        "a:database=x b:database=y c:database=z",
        [running("x", {"database": "q"})],
        -1,
        [DB_ANY],
        {
            "a": (),
            "b": ("database (any value): 2 of 2 in use",),
            "c": ("database (any value): 2 of 2 in use",),
        },
        id="any-value",
    ),
    pytest.param(
        "a:dagwright/backfill=b1 b:dagwright/backfill=b1 c:dagwright/backfill=b2",
        [running("x", {"dagwright/backfill": "b1"})],
        -1,
        [BACKFILL_EACH],
        {"a": (), "b": ("dagwright/backfill=b1 (each value): 2 of 2 in use",), "c": ()},
        id="each-value",
    ),
    pytest.param(
        "a b c",
        [running("x")],
        2,
        [],
        {
            "a": (),
            "b": ("max concurrent runs: 2 of 2 in use",),
            "c": ("max concurrent runs: 2 of 2 in use",),
        },
        id="cap",
    ),
    pytest.param("a", [], 0, [], {"a": ("max concurrent runs: 0 of 0 in use",)}, id="cap-0"),
    pytest.param(
        "a:team=docs,database=x b:database=y,team=docs",
        [running("x", {"database": "q"})],
        2,
        [DB_ANY, Limit("absent", 0), DOCS],
        {
            "a": (),
            "b": (
                "max concurrent runs: 2 of 2 in use",
                "database (any value): 2 of 2 in use",
                "team=docs: 1 of 1 in use",
            ),
        },
        id="every-full-limit-cap-first-then-configured-order",
    ),
    pytest.param(
        "a:team=docs,database=x b:team=docs,database=y",
        [],
        -1,
        [DOCS, Limit("database", 5)],
        {"a": (), "b": ("team=docs: 1 of 1 in use",)},
        id="only-full-limits-listed",
    ),
    pytest.param(
        "a:team=docs b:team=docs c:team=docs",
        [],
        -1,
        [Limit("team", 2, "docs")],
        {"a": (), "b": (), "c": ("team=docs: 2 of 2 in use",)},
        id="counts-what-the-pass-admitted",
    ),
]


@pytest.mark.parametrize(("spec", "active", "cap", "limits", "expected"), REASON_CASES)
def test_blocked_by(
    spec: str,
    active: list[Run],
    cap: int,
    limits: Sequence[Limit],
    expected: dict[str, tuple[str, ...]],
) -> None:
    decision = decide(queued(spec), active, cap, limits)
    assert {s.run.run_id: s.blocked_by for s in decision.runs} == expected


def test_run_states_are_records() -> None:
    runs = queued("a:team=docs b:team=docs")
    decision = decide(runs, [], 5, [DOCS])
    assert decision.runs == (
        QueuedRunState(runs[0], position=1, priority=0, launch=True),
        QueuedRunState(runs[1], 2, 0, False, ("team=docs: 1 of 1 in use",)),
    )
    assert decision.state_of("b") == decision.runs[1]
    assert decision.state_of("missing") is None
    assert decision.verdicts[1] == (runs[1], 0, False, ("team=docs: 1 of 1 in use",))
    assert (decision.in_progress, decision.max_concurrent_runs) == (0, 5)


def test_in_progress_counts_only_in_progress_statuses() -> None:
    active = [
        running("a"),
        run("b", status=RunStatus.CANCELING),
        run("c", status=RunStatus.SUCCESS),
    ]
    assert decide([], active, -1).in_progress == 2


# --------------------------------------------------------------------------------------
# Limit use
# --------------------------------------------------------------------------------------


def test_limit_use_before_and_admitted() -> None:
    decision = decide(
        queued(
            "a:team=docs b:team=docs c:database=x d:dagwright/backfill=b1 "
            "e:dagwright/backfill=b1 f:dagwright/backfill=b2"
        ),
        [running("x", {"database": "q"}), running("y", {"dagwright/backfill": "b2"})],
        -1,
        [DOCS, DB_ANY, BACKFILL_EACH, Limit("absent", 3)],
    )
    assert decision.limits == (
        LimitUse("team", "docs", False, 1, in_use={None: 0}, admitted={None: 1}),
        LimitUse("database", None, False, 2, in_use={None: 1}, admitted={None: 1}),
        LimitUse(
            "dagwright/backfill", None, True, 2, in_use={"b2": 1}, admitted={"b1": 2, "b2": 1}
        ),
        LimitUse("absent", None, False, 3, in_use={None: 0}, admitted={None: 0}),
    )
    assert decision.limits[2].used == {"b1": 2, "b2": 2}


DESCRIBE_CASES = [
    pytest.param(
        LimitUse("team", "docs", False, 1, {None: 1}, {None: 0}),
        "team=docs: 1 of 1 in use",
        id="value",
    ),
    pytest.param(
        LimitUse("database", None, False, 2, {None: 1}, {None: 1}),
        "database (any value): 2 of 2 in use",
        id="any-value",
    ),
    pytest.param(
        LimitUse("dagwright/backfill", None, True, 3, {"bf2": 1, "bf1": 2}, {"bf1": 1}),
        "dagwright/backfill (each value): bf1 3 of 3, bf2 1 of 3",
        id="each-value",
    ),
    pytest.param(
        LimitUse("dagwright/backfill", None, True, 3, {}, {}),
        "dagwright/backfill (each value): none in use (limit 3 each)",
        id="each-empty",
    ),
    pytest.param(
        LimitUse("team", None, False, 0, {None: 0}, {None: 0}),
        "team (any value): 0 of 0 in use",
        id="limit-0",
    ),
]


@pytest.mark.parametrize(("use", "expected"), DESCRIBE_CASES)
def test_limit_use_describe(use: LimitUse, expected: str) -> None:
    assert use.describe() == expected


# --------------------------------------------------------------------------------------
# Purity
# --------------------------------------------------------------------------------------


def test_decide_does_not_change_its_inputs_and_repeats() -> None:
    runs = queued("a:team=docs b:team=docs c")
    active = [running("x", {"team": "data"})]
    limits = [DOCS, Limit("team", 5)]
    first, second = decide(runs, active, 2, limits), decide(runs, active, 2, limits)
    assert first == second
    assert [r.run_id for r in runs] == ["a", "b", "c"]


def test_imports_nothing_impure() -> None:
    code = (
        "import sys, dagwright.runs.queue, dagwright.runs.queue_index\n"
        "heavy = {'pydantic', 'sqlalchemy', 'yaml', 'dagwright.settings', 'dagwright.storage'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
