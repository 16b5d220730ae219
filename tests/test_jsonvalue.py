"""Tests for dagwright.jsonvalue: what makes a user's JSON value unusable, and where."""

from __future__ import annotations

import math
from typing import Any

import pytest

from dagwright.jsonvalue import (
    INT64_MAX,
    INT64_MIN,
    MAX_VALUES,
    Problem,
    find_problem,
    is_valid_text,
    printable,
    storable,
)


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        "text ü 😀",
        INT64_MAX,
        INT64_MIN,
        0.1,
        {"a": [1, {"b": None}]},
        (1, 2),
        nested(10),
    ],
)
def test_plain_json_has_no_problem(value: Any) -> None:
    assert find_problem(value, max_depth=10) is None


@pytest.mark.parametrize(
    ("value", "path", "rule"),
    [
        ("\ud800", "", "lone surrogate"),
        ({"a": ["x", "b\udcff"]}, "a.1", "lone surrogate"),
        ({"\ud800": 1}, "\\ud800", "lone surrogate"),
        ({"a": {1: 2}}, "a", "keys must be strings"),
        ({"a": [INT64_MAX + 1]}, "a.0", "signed 64-bit"),
        ({"a": INT64_MIN - 1}, "a", "signed 64-bit"),
        ({"a": math.nan}, "a", "finite"),
        ([math.inf], "0", "finite"),
        ({"a": {1, 2}}, "a", "not a JSON value (set)"),
        ({"a": b"x"}, "a", "not a JSON value (bytes)"),
        (nested(11), "0.0.0...0.0", "nested more than 10 levels deep"),
    ],
)
def test_a_problem_names_its_path_and_rule(value: Any, path: str, rule: str) -> None:
    problem = find_problem(value, max_depth=10)
    assert problem is not None
    assert problem.path == path
    assert rule in problem.rule


def test_depth_counts_containers_and_a_cycle_is_too_deep() -> None:
    assert find_problem(nested(10), max_depth=10) is None
    cycle: dict[str, Any] = {}
    cycle["self"] = cycle
    problem = find_problem(cycle, max_depth=200)
    assert problem is not None and "nested more than 200" in problem.rule


def test_a_value_nested_50000_deep_is_a_problem_not_a_recursion_error() -> None:
    problem = find_problem(nested(50_000), max_depth=100)
    assert problem == Problem("0.0.0...0.0", "nested more than 100 levels deep")


def test_big_integers_may_be_allowed_up_to_a_number_of_digits() -> None:
    assert find_problem({"n": 10**30}, max_depth=5, int64=False) is None
    problem = find_problem({"n": 10**5000}, max_depth=5, int64=False)
    assert problem is not None and "digits" in problem.rule


def test_tuples_may_be_refused() -> None:
    problem = find_problem({"a": (1,)}, max_depth=5, tuples=False)
    assert problem == Problem("a", "a tuple does not survive a JSON round trip (use a list)")


def test_a_value_of_too_many_values_is_a_problem() -> None:
    aliased = [0] * 1000
    bomb = [aliased] * (MAX_VALUES // 1000 + 1)  # as a YAML alias bomb expands
    problem = find_problem(bomb, max_depth=5)
    assert problem is not None and "at most" in problem.rule


def test_text_helpers() -> None:
    assert is_valid_text("ü😀") and not is_valid_text("a\ud800")
    assert printable("a\ud800") == "a\\ud800"
    assert printable("ü") == "ü"
    assert storable("ok") and not storable("a\x00") and not storable("\udcff")
    assert not storable(3)
