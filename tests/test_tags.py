"""Tests for dagwright.tags: key shape, value normalisation, reserved prefix, control tags."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from dagwright.errors import DagwrightDefinitionError, DagwrightError, DagwrightInvalidTagError
from dagwright.tags import (
    CONTROL_TAGS,
    DAGSTER_TAG_EQUIVALENTS,
    MAX_RETRIES_TAG,
    MAX_RUNTIME_TAG,
    MAX_VALUE_BYTES,
    OP_SELECTION_TAG,
    PRIORITY_TAG,
    RETRY_STRATEGY_TAG,
    SYSTEM_TAGS,
    is_dagster_tag,
    is_system_tag,
    merge_tags,
    normalize_tag_value,
    normalize_tags,
    parse_tag_pair,
    run_priority,
    validate_control_tag,
    validate_tag_key,
)

PART_63 = "a" * 63
PART_64 = "a" * 64

#: A value that is not JSON at all.
OBJECT = object()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _check_error(error: DagwrightInvalidTagError, key: str) -> None:
    assert error.key == key
    assert error.rule
    assert repr(key) in str(error)
    assert error.rule in str(error)


def test_tag_error_is_a_definition_error() -> None:
    assert issubclass(DagwrightInvalidTagError, DagwrightDefinitionError)
    assert issubclass(DagwrightInvalidTagError, DagwrightError)


# -- keys -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "team",
        "a",
        "A-Z_a.z-0.9",
        "my-org/team",
        "x/y",
        PART_63,
        f"{PART_63}/{PART_63}",
        "dagwright-celery/queue",
        "...",
        "-",
        "_/_",
        "dagwright/priority",
    ],
)
def test_valid_keys_are_returned_unchanged(key: str) -> None:
    assert validate_tag_key(key) == key
    assert normalize_tags({key: "1"}, system=True) == {key: "1"}


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="empty"),
        pytest.param(PART_64, id="name-too-long"),
        pytest.param(f"{PART_64}/x", id="prefix-too-long"),
        pytest.param(f"x/{PART_64}", id="name-after-prefix-too-long"),
        pytest.param("/name", id="empty-prefix"),
        pytest.param("prefix/", id="empty-name"),
        pytest.param("/", id="only-slash"),
        pytest.param("a/b/c", id="two-slashes"),
        pytest.param("a//b", id="double-slash"),
        pytest.param("with space", id="space"),
        pytest.param("tab\tkey", id="tab"),
        pytest.param("line\n", id="trailing-newline"),
        pytest.param("key=value", id="equals"),
        pytest.param("a:b", id="colon"),
        pytest.param("a,b", id="comma"),
        pytest.param("a*", id="star"),
        pytest.param("a+b", id="plus"),
        pytest.param("équipe", id="non-ascii-letter"),
        pytest.param("ｔｅａｍ", id="fullwidth"),
        pytest.param("a\\b", id="backslash"),
    ],
)
def test_malformed_keys_are_refused(key: str) -> None:
    with pytest.raises(DagwrightInvalidTagError) as info:
        validate_tag_key(key)
    _check_error(info.value, key)
    assert "1-63" in info.value.rule
    with pytest.raises(DagwrightInvalidTagError) as info:
        normalize_tags({key: "v"})
    _check_error(info.value, key)


@pytest.mark.parametrize("key", [1, None, b"team", ("a",), 1.5])
def test_non_string_keys_are_refused(key: Any) -> None:
    with pytest.raises(DagwrightInvalidTagError) as info:
        validate_tag_key(key)
    assert info.value.key == repr(key)
    assert "string" in info.value.rule
    assert repr(key) in str(info.value)
    with pytest.raises(DagwrightInvalidTagError):
        normalize_tags({key: "v"})


# -- values -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["", "bar", " spaced ", "ünïcödé ✓", '{"not": "parsed"}', "1", "true", "null", "a\nb"],
)
def test_string_values_are_kept_as_given(value: str) -> None:
    assert normalize_tag_value("k", value) == value
    assert normalize_tags({"k": value}) == {"k": value}


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (0, "0"),
        (42, "42"),
        (-7, "-7"),
        (2**70, str(2**70)),
        (True, "true"),
        (False, "false"),
        (1.5, "1.5"),
        (1.0, "1.0"),
        (-0.25, "-0.25"),
        (None, "null"),
        ([], "[]"),
        ([1, "a", None, True], '[1,"a",null,true]'),
        ({}, "{}"),
        ({"b": 1, "a": [2, {"d": 1, "c": 0}]}, '{"a":[2,{"c":0,"d":1}],"b":1}'),
        ({"x": "ünï"}, '{"x":"\\u00fcn\\u00ef"}'),
    ],
)
def test_json_values_are_stored_as_canonical_json(value: Any, stored: str) -> None:
    assert normalize_tag_value("k", value) == stored
    assert stored == _canonical(value)
    assert json.loads(stored) == value
    assert normalize_tags({"k": value}) == {"k": stored}


@pytest.mark.parametrize(
    "value",
    [
        pytest.param((1, 2), id="tuple"),
        pytest.param([1, (2,)], id="tuple-in-list"),
        pytest.param({"a": (1,)}, id="tuple-in-dict"),
        pytest.param(math.nan, id="nan"),
        pytest.param(math.inf, id="inf"),
        pytest.param(-math.inf, id="minus-inf"),
        pytest.param([math.nan], id="nan-in-list"),
        pytest.param({1, 2}, id="set"),
        pytest.param(frozenset(), id="frozenset"),
        pytest.param(OBJECT, id="object"),
        pytest.param(b"bytes", id="bytes"),
        pytest.param({1: "int key"}, id="int-dict-key"),
        pytest.param({"a": {2: "nested int key"}}, id="nested-int-dict-key"),
        pytest.param({"a": OBJECT}, id="object-in-dict"),
        pytest.param(1 + 2j, id="complex"),
    ],
)
def test_values_that_do_not_survive_json_are_refused(value: Any) -> None:
    with pytest.raises(DagwrightInvalidTagError) as info:
        normalize_tag_value("team", value)
    _check_error(info.value, "team")
    with pytest.raises(DagwrightInvalidTagError) as info:
        normalize_tags({"team": value})
    _check_error(info.value, "team")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        pytest.param("a" * MAX_VALUE_BYTES, True, id="ascii-exactly-64KiB"),
        pytest.param("a" * (MAX_VALUE_BYTES + 1), False, id="ascii-one-byte-over"),
        pytest.param("é" * (MAX_VALUE_BYTES // 2), True, id="2-byte-chars-exactly-64KiB"),
        pytest.param("é" * (MAX_VALUE_BYTES // 2) + "a", False, id="2-byte-chars-one-over"),
        pytest.param("€" + "a" * (MAX_VALUE_BYTES - 3), True, id="3-byte-char-exactly"),
        pytest.param("€" + "a" * (MAX_VALUE_BYTES - 2), False, id="3-byte-char-one-over"),
        pytest.param("😀" * (MAX_VALUE_BYTES // 4), True, id="4-byte-chars-exactly"),
        pytest.param("😀" * (MAX_VALUE_BYTES // 4) + "a", False, id="4-byte-chars-one-over"),
        pytest.param("😀" * (MAX_VALUE_BYTES // 4 + 1), False, id="few-chars-many-bytes"),
        pytest.param(["a" * (MAX_VALUE_BYTES - 4)], True, id="json-list-exactly"),
        pytest.param(["a" * (MAX_VALUE_BYTES - 3)], False, id="json-list-one-over"),
    ],
)
def test_values_are_at_most_64_kib_of_utf8(value: Any, ok: bool) -> None:
    assert MAX_VALUE_BYTES == 65536
    if ok:
        stored = normalize_tag_value("big", value)
        assert len(stored.encode("utf-8")) == MAX_VALUE_BYTES
    else:
        with pytest.raises(DagwrightInvalidTagError) as info:
            normalize_tag_value("big", value)
        _check_error(info.value, "big")
        assert str(MAX_VALUE_BYTES) in info.value.rule


# -- the reserved prefix ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (PRIORITY_TAG, "5"),
        (MAX_RETRIES_TAG, "2"),
        (RETRY_STRATEGY_TAG, "ALL_STEPS"),
        (MAX_RUNTIME_TAG, "30"),
    ],
)
def test_users_may_set_the_control_tags(key: str, value: str) -> None:
    assert normalize_tags({key: value}) == {key: value}


def test_control_tags_are_exactly_the_four_documented_ones() -> None:
    assert (
        frozenset(
            {
                "dagwright/priority",
                "dagwright/max_retries",
                "dagwright/retry_strategy",
                "dagwright/max_runtime",
            }
        )
        == CONTROL_TAGS
    )


@pytest.mark.parametrize(
    "key",
    [*sorted(SYSTEM_TAGS), "dagwright/anything", "dagwright/Priority", "dagwright/priority_"],
)
def test_other_reserved_keys_are_refused_from_users(key: str) -> None:
    with pytest.raises(DagwrightInvalidTagError) as info:
        normalize_tags({key: "1"})
    _check_error(info.value, key)
    assert "reserved" in info.value.rule
    for control in CONTROL_TAGS:
        assert control in info.value.rule


@pytest.mark.parametrize("key", [*sorted(SYSTEM_TAGS), "dagwright/anything"])
def test_system_code_may_set_any_reserved_key(key: str) -> None:
    assert normalize_tags({key: "1"}, system=True) == {key: "1"}


@pytest.mark.parametrize(
    "key",
    ["dagwright-celery/queue", "dagwright-k8s/config", "dagwrightx/a", "xdagwright/a", "dagwright"],
)
def test_keys_that_only_look_reserved_are_user_keys(key: str) -> None:
    assert normalize_tags({key: "v"}) == {key: "v"}


# -- control-tag values -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (PRIORITY_TAG, "0"),
        (PRIORITY_TAG, "10"),
        (PRIORITY_TAG, "-3"),
        (PRIORITY_TAG, "+4"),
        (PRIORITY_TAG, " 7 "),
        (MAX_RETRIES_TAG, "0"),
        (MAX_RETRIES_TAG, "3"),
        (RETRY_STRATEGY_TAG, "FROM_FAILURE"),
        (RETRY_STRATEGY_TAG, "ALL_STEPS"),
        (MAX_RUNTIME_TAG, "1"),
        (MAX_RUNTIME_TAG, "0.5"),
        (MAX_RUNTIME_TAG, "3600"),
        (MAX_RUNTIME_TAG, "1e3"),
    ],
)
def test_valid_control_tag_values(key: str, value: str) -> None:
    validate_control_tag(key, value)
    assert normalize_tags({key: value}) == {key: value}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (PRIORITY_TAG, ""),
        (PRIORITY_TAG, "high"),
        (PRIORITY_TAG, "1.5"),
        (PRIORITY_TAG, "1e2"),
        (PRIORITY_TAG, "true"),
        (MAX_RETRIES_TAG, "-1"),
        (MAX_RETRIES_TAG, "1.0"),
        (MAX_RETRIES_TAG, "many"),
        (RETRY_STRATEGY_TAG, "from_failure"),
        (RETRY_STRATEGY_TAG, "ALL"),
        (RETRY_STRATEGY_TAG, ""),
        (MAX_RUNTIME_TAG, "0"),
        (MAX_RUNTIME_TAG, "-5"),
        (MAX_RUNTIME_TAG, "soon"),
        (MAX_RUNTIME_TAG, "inf"),
        (MAX_RUNTIME_TAG, "nan"),
        (MAX_RUNTIME_TAG, ""),
    ],
)
def test_invalid_control_tag_values_are_refused(key: str, value: str) -> None:
    with pytest.raises(DagwrightInvalidTagError) as info:
        validate_control_tag(key, value)
    _check_error(info.value, key)
    with pytest.raises(DagwrightInvalidTagError) as info:
        normalize_tags({key: value})
    _check_error(info.value, key)


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [
        (PRIORITY_TAG, 5, "5"),
        (PRIORITY_TAG, -2, "-2"),
        (MAX_RETRIES_TAG, 0, "0"),
        (MAX_RUNTIME_TAG, 2.5, "2.5"),
        (MAX_RUNTIME_TAG, 60, "60"),
    ],
)
def test_control_tags_accept_json_numbers(key: str, value: object, stored: str) -> None:
    assert normalize_tags({key: value}) == {key: stored}


@pytest.mark.parametrize(
    ("key", "value"),
    [(PRIORITY_TAG, True), (PRIORITY_TAG, 1.5), (MAX_RETRIES_TAG, -1), (MAX_RUNTIME_TAG, None)],
)
def test_control_tags_check_json_values_after_conversion(key: str, value: object) -> None:
    with pytest.raises(DagwrightInvalidTagError) as info:
        normalize_tags({key: value})
    _check_error(info.value, key)


@pytest.mark.parametrize(
    ("key", "value"), [("team", "-1"), ("other/priority", "x"), (OP_SELECTION_TAG, "x")]
)
def test_other_keys_have_no_value_rule(key: str, value: str) -> None:
    validate_control_tag(key, value)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("dagwright-celery/priority", "x"),
        ("dagwright-celery/priority", "1.5"),
        ("dagwright-celery/run_priority", "high"),
        ("dagwright-celery/queue", ""),
        ("dagwright-celery/queue", "gpu queue"),
        ("dagwright-celery/queue", "q" * 201),
    ],
)
def test_celery_tags_with_bad_values_are_refused(key: str, value: str) -> None:
    with pytest.raises(DagwrightInvalidTagError) as info:
        normalize_tags({key: value})
    _check_error(info.value, key)


def test_celery_tags_with_good_values_are_kept() -> None:
    tags = {"dagwright-celery/priority": 7, "dagwright-celery/run_priority": "-3"}
    assert normalize_tags({**tags, "dagwright-celery/queue": "gpu"}) == {
        "dagwright-celery/priority": "7",
        "dagwright-celery/run_priority": "-3",
        "dagwright-celery/queue": "gpu",
    }


# -- normalize_tags as a whole ----------------------------------------------------------


def test_normalize_tags_keeps_order_and_returns_a_new_dict() -> None:
    given: dict[str, object] = {"z": 1, "a": "x", "m": [1]}
    result = normalize_tags(given)
    assert list(result) == ["z", "a", "m"]
    assert result == {"z": "1", "a": "x", "m": "[1]"}
    assert result is not given
    assert given == {"z": 1, "a": "x", "m": [1]}


@pytest.mark.parametrize("tags", [None, {}])
def test_no_tags_normalise_to_an_empty_dict(tags: dict[str, object] | None) -> None:
    assert normalize_tags(tags) == {}


@pytest.mark.parametrize("tags", [["a", "b"], "team=x", 3, [("team", "x")]])
def test_tags_must_be_a_mapping(tags: Any) -> None:
    with pytest.raises(DagwrightInvalidTagError) as info:
        normalize_tags(tags)
    assert info.value.key == "<tags>"
    assert "mapping" in info.value.rule


def test_the_first_bad_entry_is_reported() -> None:
    with pytest.raises(DagwrightInvalidTagError) as info:
        normalize_tags({"ok": "1", "bad key": "2", "dagwright/backfill": "3"})
    assert info.value.key == "bad key"


# -- merge, system tags, priority, key=value --------------------------------------------


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ((), {}),
        ((None, None), {}),
        (({"a": "1"},), {"a": "1"}),
        (({"a": "1"}, {"a": "2"}), {"a": "2"}),
        (({"a": "1", "b": "1"}, None, {"b": "2"}, {}), {"a": "1", "b": "2"}),
        (
            (
                {"a": "job", "b": "job", "c": "job", "d": "job"},
                {"b": "sched", "c": "sched", "d": "sched"},
                {"c": "launch", "d": "launch"},
                {"d": "system"},
            ),
            {"a": "job", "b": "sched", "c": "launch", "d": "system"},
        ),
    ],
)
def test_merge_tags_later_layers_win(
    layers: tuple[dict[str, str] | None, ...], expected: dict[str, str]
) -> None:
    assert merge_tags(*layers) == expected


def test_merge_tags_does_not_change_its_inputs() -> None:
    first, second = {"a": "1"}, {"a": "2", "b": "3"}
    merged = merge_tags(first, second)
    assert first == {"a": "1"}
    assert second == {"a": "2", "b": "3"}
    assert merged is not first
    assert merged is not second


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        *[(key, True) for key in sorted(SYSTEM_TAGS)],
        ("dagwright/anything", True),
        *[(key, False) for key in sorted(CONTROL_TAGS)],
        ("team", False),
        ("dagwright-celery/queue", False),
        ("dagwright-k8s/config", False),
        ("dagwright", False),
        ("my/dagwright", False),
    ],
)
def test_is_system_tag(key: str, expected: bool) -> None:
    assert is_system_tag(key) is expected


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({}, 0),
        ({"team": "x"}, 0),
        ({PRIORITY_TAG: "0"}, 0),
        ({PRIORITY_TAG: "12"}, 12),
        ({PRIORITY_TAG: "-4"}, -4),
        ({PRIORITY_TAG: " 3"}, 3),
        ({"dagwright-celery/priority": "9"}, 0),
    ],
)
def test_run_priority(tags: dict[str, str], expected: int) -> None:
    assert run_priority(tags) == expected


@pytest.mark.parametrize("value", ["high", "1.5", ""])
def test_run_priority_of_a_bad_value_raises(value: str) -> None:
    with pytest.raises(DagwrightInvalidTagError) as info:
        run_priority({PRIORITY_TAG: value})
    _check_error(info.value, PRIORITY_TAG)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("team=data", ("team", "data")),
        ("team=", ("team", "")),
        ("a=b=c", ("a", "b=c")),
        (" team =x", ("team", "x")),
        ("team= x ", ("team", " x ")),
        ("dagwright/backfill=abc", ("dagwright/backfill", "abc")),
        ('k={"a":1}', ("k", '{"a":1}')),
    ],
)
def test_parse_tag_pair(text: str, expected: tuple[str, str]) -> None:
    assert parse_tag_pair(text) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("team", "team"),
        ("", ""),
        ("=value", ""),
        ("bad key=v", "bad key"),
        ("a/b/c=v", "a/b/c"),
    ],
)
def test_parse_tag_pair_errors(text: str, key: str) -> None:
    with pytest.raises(DagwrightInvalidTagError) as info:
        parse_tag_pair(text)
    _check_error(info.value, key)


def test_a_value_with_a_nul_character_is_refused() -> None:
    # PostgreSQL cannot store NUL in text; the rule holds for every store alike
    with pytest.raises(DagwrightInvalidTagError, match="NUL") as caught:
        normalize_tags({"team": "a\x00b"})
    assert caught.value.key == "team"


# -- Dagster's tags ---------------------------------------------------------------------

DAGSTER_KEYS = [
    ("dagster/priority", "use 'dagwright/priority'"),
    ("dagster/max_retries", "use 'dagwright/max_retries'"),
    ("dagster/retry_strategy", "use 'dagwright/retry_strategy'"),
    ("dagster/max_runtime", "use 'dagwright/max_runtime'"),
    ("dagster-celery/queue", "use 'dagwright-celery/queue'"),
    ("dagster-celery/run_priority", "use 'dagwright-celery/run_priority'"),
    ("dagster-k8s/config", "use 'dagwright-k8s/config'"),
    ("dagster/concurrency_key", "dagwright has no equivalent"),
    ("dagster-dbt/select", "dagwright has no equivalent"),
]


@pytest.mark.parametrize(("key", "hint"), DAGSTER_KEYS)
def test_dagster_tags_are_refused_naming_the_dagwright_equivalent(key: str, hint: str) -> None:
    with pytest.raises(DagwrightInvalidTagError) as caught:
        normalize_tags({key: "1"})
    _check_error(caught.value, key)
    assert hint in caught.value.rule


@pytest.mark.parametrize("key", ["dagster", "dagsterx/a", "my-dagster/priority", "team/dagster"])
def test_keys_that_only_look_like_dagster_tags_are_user_keys(key: str) -> None:
    assert normalize_tags({key: "v"}) == {key: "v"}


def test_each_dagster_equivalent_is_the_key_with_the_prefix_renamed() -> None:
    for dagster_key, key in DAGSTER_TAG_EQUIVALENTS.items():
        assert is_dagster_tag(dagster_key)
        assert key == "dagwright" + dagster_key.removeprefix("dagster")
        assert key in CONTROL_TAGS or not key.startswith("dagwright/")


def _dagster_tag_on(where: str) -> None:
    from dagwright import RunRequest, ScheduleDefinition, job, op

    tags = {"dagster/priority": "5"}

    @op(tags=tags if where == "op" else None)
    def one() -> int:
        return 1

    @job(tags=tags if where == "job" else None)
    def ported() -> None:
        one()

    if where == "launch":
        ported.execute_in_process(tags=tags)
    elif where == "schedule":
        ScheduleDefinition(cron_schedule="@daily", job=ported, tags=tags)
    elif where == "run_request":
        RunRequest(run_key="k", tags=tags)


@pytest.mark.parametrize("where", ["job", "op", "launch", "schedule", "run_request"])
def test_a_dagster_tag_is_refused_wherever_tags_are_given(where: str) -> None:
    with pytest.raises(DagwrightInvalidTagError, match="use 'dagwright/priority'") as caught:
        _dagster_tag_on(where)
    assert caught.value.key == "dagster/priority"


@pytest.mark.parametrize(
    ("value", "path", "rule"),
    [
        ("a\ud800", None, "lone surrogate"),
        ({"x": ["\udcff"]}, "x.0", "lone surrogate"),
        ({"\ud800": 1}, "\\ud800", "lone surrogate"),
        (json.loads("[" * 400 + "]" * 400), "0.0.0...0.0", "nested more than 100 levels"),
        ({"n": 10**5000}, "n", "digits"),
    ],
)
def test_values_no_store_can_hold_are_refused_naming_the_path(
    value: Any, path: str | None, rule: str
) -> None:
    with pytest.raises(DagwrightInvalidTagError) as caught:
        normalize_tags({"team": value})
    assert (caught.value.key, caught.value.path) == ("team", path)
    assert rule in caught.value.rule
    str(caught.value).encode()  # the message itself can always be printed


def test_integers_past_64_bits_are_kept_as_text() -> None:
    assert normalize_tags({"big": 2**70, "in": {"n": -(2**64)}}) == {
        "big": "1180591620717411303424",
        "in": '{"n":-18446744073709551616}',
    }


def test_integer_control_tags_fit_in_64_bits() -> None:
    assert normalize_tags({PRIORITY_TAG: str(2**63 - 1)})[PRIORITY_TAG] == str(2**63 - 1)
    with pytest.raises(DagwrightInvalidTagError, match="64-bit"):
        normalize_tags({PRIORITY_TAG: str(2**63)})


@pytest.mark.parametrize(
    ("tags", "key", "rule"),
    [
        ({"team": 1}, "team", "a string or a list of strings"),
        ({"team": ["a", 2]}, "team", "a string or a list of strings"),
        ({"team": "a\x00"}, "team", "NUL"),
        ({"team": ["ok", "\ud800"]}, "team", "lone surrogate"),
        ({"\udcff": "x"}, "\udcff", "lone surrogate"),
        ({3: "x"}, "3", "must be a string"),
    ],
)
def test_a_tag_filter_holds_only_text_a_tag_can_hold(tags: Any, key: str, rule: str) -> None:
    from dagwright.runs.models import RunsFilter

    with pytest.raises(DagwrightInvalidTagError) as caught:
        RunsFilter(tags=tags)
    assert caught.value.key == key
    assert rule in caught.value.rule
    RunsFilter(tags={"team": "docs", "tier": ["a", "b"]})
