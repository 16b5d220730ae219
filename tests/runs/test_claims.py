"""Tests for dagwright.runs.claims: what a claim counts and when it is refused (pure)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from dagwright.errors import DagwrightInvalidTransitionError
from dagwright.runs.claims import ClaimLimits, ClaimRefusedError


@dataclass(frozen=True)
class Limit:
    key: str
    limit: int
    match_value: str | None = None
    per_unique_value: bool = False


DOCS = Limit("team", 1, match_value="docs")
DB_ANY = Limit("database", 2)
EACH_BACKFILL = Limit("dagwright/backfill", 1, per_unique_value=True)
LIMITS = ClaimLimits(3, (DOCS, DB_ANY, EACH_BACKFILL))


@pytest.mark.parametrize(
    ("tags", "keys"),
    [
        ({}, ()),
        ({"team": "ml"}, ()),  # the docs limit counts team=docs only
        ({"team": "docs"}, ("team",)),
        ({"database": "pg", "dagwright/backfill": "b1"}, ("dagwright/backfill", "database")),
    ],
)
def test_keys_of_are_the_limits_a_run_counts_in(tags: dict[str, str], keys: tuple[str]) -> None:
    assert LIMITS.keys_of(tags) == keys


@pytest.mark.parametrize(
    ("tags", "in_progress", "use", "reasons"),
    [
        pytest.param({}, 2, {}, [], id="room"),
        pytest.param({}, 3, {}, ["max concurrent runs: 3 of 3 in use"], id="cap-full"),
        pytest.param(
            {"team": "docs"}, 1, {("team", "docs"): 1}, ["team=docs: 1 of 1 in use"], id="value"
        ),
        pytest.param({"team": "ml"}, 1, {("team", "docs"): 1}, [], id="other-value"),
        pytest.param(
            {"database": "a"},
            2,
            {("database", "a"): 1, ("database", "b"): 1},
            ["database (any value): 2 of 2 in use"],
            id="any-value-sums",
        ),
        pytest.param(
            {"dagwright/backfill": "b2"}, 1, {("dagwright/backfill", "b1"): 1}, [], id="each-free"
        ),
        pytest.param(
            {"dagwright/backfill": "b1", "team": "docs"},
            3,
            {("dagwright/backfill", "b1"): 1, ("team", "docs"): 1},
            [
                "max concurrent runs: 3 of 3 in use",
                "team=docs: 1 of 1 in use",
                "dagwright/backfill=b1 (each value): 1 of 1 in use",
            ],
            id="cap-first-then-configured-order",
        ),
    ],
)
def test_refusals(
    tags: dict[str, str], in_progress: int, use: dict[tuple[str, str], int], reasons: list[str]
) -> None:
    assert LIMITS.refusals(tags, in_progress, use) == reasons


def test_no_cap_and_a_zero_limit() -> None:
    limits = ClaimLimits(-1, (Limit("team", 0),))
    assert limits.refusals({}, 10_000, {}) == []
    assert limits.refusals({"team": "x"}, 0, {}) == ["team (any value): 0 of 0 in use"]


def test_a_refused_claim_is_an_invalid_transition_naming_the_reasons() -> None:
    error = ClaimRefusedError("r1", ["max concurrent runs: 3 of 3 in use"])
    assert isinstance(error, DagwrightInvalidTransitionError)
    assert (error.run_id, error.from_status, error.to_status) == ("r1", "QUEUED", "STARTING")
    assert str(error) == (
        "run 'r1' cannot go from QUEUED to STARTING: max concurrent runs: 3 of 3 in use"
    )
