"""Tests for dagwright.metadata: every type, plain conversion, errors, the JSON round trip."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import PurePosixPath
from typing import Any

import pytest

from dagwright.errors import DagwrightInvalidMetadataError
from dagwright.metadata import (
    NO_KEY,
    BoolMetadataValue,
    FloatMetadataValue,
    IntMetadataValue,
    JsonMetadataValue,
    MetadataValue,
    NullMetadataValue,
    PythonArtifact,
    Table,
    TableColumn,
    TableSchema,
    TextMetadataValue,
    UrlMetadataValue,
    metadata_dict_from_json,
    metadata_from_json,
    metadata_to_json,
    normalize_metadata,
)

#: The constructors without static types, to call them with wrong types on purpose.
UNTYPED: Any = MetadataValue

SCHEMA = TableSchema((TableColumn("id", "int"), TableColumn("name", description="who")))

# (value, its JSON form)
EVERY_TYPE: list[tuple[MetadataValue, dict[str, Any]]] = [
    (MetadataValue.text("data team"), {"type": "text", "value": "data team"}),
    (
        MetadataValue.url("https://docs.example.com"),
        {"type": "url", "value": "https://docs.example.com"},
    ),
    (MetadataValue.path(PurePosixPath("/data/x.csv")), {"type": "path", "value": "/data/x.csv"}),
    (
        MetadataValue.json({"a": [1, 2.5, None, True]}),
        {"type": "json", "value": {"a": [1, 2.5, None, True]}},
    ),
    (MetadataValue.json([1, "two"]), {"type": "json", "value": [1, "two"]}),
    (MetadataValue.json("scalar"), {"type": "json", "value": "scalar"}),
    (MetadataValue.md("# Title\n*x*"), {"type": "md", "value": "# Title\n*x*"}),
    (MetadataValue.int(-(2**70)), {"type": "int", "value": -(2**70)}),
    (MetadataValue.float(0.1), {"type": "float", "value": 0.1}),
    (MetadataValue.float(3), {"type": "float", "value": 3.0}),
    (MetadataValue.bool(False), {"type": "bool", "value": False}),
    (MetadataValue.null(), {"type": "null", "value": None}),
    (MetadataValue.timestamp(1767225600.123456), {"type": "timestamp", "value": 1767225600.123456}),
    (
        MetadataValue.timestamp(datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))),
        {"type": "timestamp", "value": 1767225600.0},
    ),
    (
        MetadataValue.table([{"id": 1, "name": "a"}], SCHEMA),
        {
            "type": "table",
            "value": {
                "records": [{"id": 1, "name": "a"}],
                "schema": {
                    "columns": [
                        {"name": "id", "type": "int", "description": None},
                        {"name": "name", "type": "string", "description": "who"},
                    ]
                },
            },
        },
    ),
    (MetadataValue.table([]), {"type": "table", "value": {"records": [], "schema": None}}),
    (
        MetadataValue.table_schema([{"name": "id", "type": "int"}]),
        {
            "type": "table_schema",
            "value": {"columns": [{"name": "id", "type": "int", "description": None}]},
        },
    ),
    (
        MetadataValue.python_artifact("pkg.mod", "Thing.method"),
        {"type": "python_artifact", "value": {"module": "pkg.mod", "name": "Thing.method"}},
    ),
    (
        MetadataValue.notebook("notebooks/a.ipynb"),
        {"type": "notebook", "value": "notebooks/a.ipynb"},
    ),
    (MetadataValue.job("nightly"), {"type": "job", "value": "nightly"}),
    (MetadataValue.run("3f2a"), {"type": "run", "value": "3f2a"}),
]

TYPE_NAMES = {
    "text", "url", "path", "json", "md", "int", "float", "bool", "null", "timestamp",
    "table", "table_schema", "python_artifact", "notebook", "job", "run",
}  # fmt: skip


def _ids(cases: list[tuple[MetadataValue, dict[str, Any]]]) -> list[str]:
    return [f"{i}-{value.type}" for i, (value, _) in enumerate(cases)]


@pytest.mark.parametrize(("value", "expected"), EVERY_TYPE, ids=_ids(EVERY_TYPE))
def test_to_json(value: MetadataValue, expected: dict[str, Any]) -> None:
    assert value.to_json() == expected


@pytest.mark.parametrize(("value", "expected"), EVERY_TYPE, ids=_ids(EVERY_TYPE))
def test_round_trip_is_lossless(value: MetadataValue, expected: dict[str, Any]) -> None:
    assert metadata_from_json(value.to_json()) == value
    through_text = json.loads(json.dumps(value.to_json(), allow_nan=False))
    assert metadata_from_json(through_text) == value
    assert type(metadata_from_json(through_text)) is type(value)


def test_every_type_is_covered() -> None:
    assert {value.type for value, _ in EVERY_TYPE} == TYPE_NAMES


def test_values_are_frozen_and_typed() -> None:
    value = MetadataValue.text("x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.value = "y"  # type: ignore[misc]
    text: MetadataValue = MetadataValue.text("x")
    assert text != MetadataValue.url("x")
    assert hash(MetadataValue.int(1)) == hash(MetadataValue.int(1))


@pytest.mark.parametrize(
    ("plain", "expected"),
    [
        ("data team", MetadataValue.text("data team")),
        (True, MetadataValue.bool(True)),
        (False, MetadataValue.bool(False)),
        (0, MetadataValue.int(0)),
        (1.5, MetadataValue.float(1.5)),
        ({"a": 1}, MetadataValue.json({"a": 1})),
        ([1, 2], MetadataValue.json([1, 2])),
        (None, MetadataValue.null()),
        (MetadataValue.url("https://x"), MetadataValue.url("https://x")),
    ],
    ids=repr,
)
def test_plain_values_are_converted(plain: object, expected: MetadataValue) -> None:
    converted = normalize_metadata({"key": plain})["key"]
    assert converted == expected
    assert type(converted) is type(expected)


def test_bool_is_never_int() -> None:
    converted = normalize_metadata({"flag": True})["flag"]
    assert isinstance(converted, BoolMetadataValue)
    assert not isinstance(converted, IntMetadataValue)


def test_normalize_keeps_order_and_returns_a_new_dict() -> None:
    given: dict[str, object] = {"b": 1, "a": "x", "c": None}
    result = normalize_metadata(given)
    assert list(result) == ["b", "a", "c"]
    assert result is not given
    assert normalize_metadata(None) == {}


def _raises(build: Callable[[], object], key: str, *fragments: str) -> None:
    with pytest.raises(DagwrightInvalidMetadataError) as caught:
        build()
    assert caught.value.key == key
    for fragment in fragments:
        assert fragment in caught.value.rule


@pytest.mark.parametrize(
    ("value", "fragments"),
    [
        (object(), ("object",)),
        ((1, 2), ("tuple",)),
        ({1, 2}, ("set",)),
        (b"bytes", ("bytes",)),
        (datetime(2026, 1, 1, tzinfo=timezone.utc), ("datetime",)),
        ({1: "int key"}, ("JSON round trip",)),
        ({"a": (1, 2)}, ("JSON round trip",)),
        ({"a": {1, 2}}, ("at a", "not a JSON value (set)")),
        (math.nan, ("finite",)),
        (math.inf, ("finite",)),
        ([math.nan], ("at 0", "finite")),
    ],
    ids=repr,
)
def test_invalid_plain_values_name_the_key(value: object, fragments: tuple[str, ...]) -> None:
    _raises(lambda: normalize_metadata({"owner": value}), "owner", *fragments)


@pytest.mark.parametrize(
    ("key", "shown"), [("", "''"), (1, "1"), (None, "None"), (("a",), "('a',)")], ids=repr
)
def test_keys_must_be_non_empty_strings(key: object, shown: str) -> None:
    _raises(lambda: normalize_metadata({key: "x"}), shown, "non-empty str")  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: UNTYPED.int(True), "got bool"),
        (lambda: UNTYPED.int(1.0), "got float"),
        (lambda: UNTYPED.float(True), "got bool"),
        (lambda: UNTYPED.float("1"), "got str"),
        (lambda: UNTYPED.bool(1), "got int"),
        (lambda: UNTYPED.text(1), "got int"),
        (lambda: UNTYPED.url(None), "got NoneType"),
        (lambda: UNTYPED.path(b"/x"), "got bytes"),
        (lambda: UNTYPED.md(["x"]), "got list"),
        (lambda: UNTYPED.job(""), "non-empty"),
        (lambda: UNTYPED.run(5), "got int"),
        (lambda: UNTYPED.timestamp(datetime(2026, 1, 1)), "timezone-aware"),
        (lambda: UNTYPED.timestamp(True), "got bool"),
        (lambda: UNTYPED.timestamp(math.inf), "finite"),
        (lambda: UNTYPED.json((1, 2)), "JSON round trip"),
        (lambda: UNTYPED.json(object()), "not a JSON value (object)"),
        (lambda: UNTYPED.table({"a": 1}), "must be a list"),
        (lambda: UNTYPED.table([1]), "record 0 must be a dict"),
        (lambda: UNTYPED.table([{"a": object()}]), "at 0.a: not a JSON value (object)"),
        (lambda: UNTYPED.table([], [{"name": "a"}, {"name": "a"}]), "duplicate"),
        (lambda: UNTYPED.table_schema([{"name": "a", "kind": "x"}]), "unknown"),
        (lambda: UNTYPED.table_schema([{"type": "int"}]), "needs a 'name'"),
        (lambda: UNTYPED.table_schema([TableColumn("")]), "non-empty"),
        (lambda: UNTYPED.table_schema("abc"), "must be a list"),
        (lambda: UNTYPED.python_artifact("pkg.mod"), "also needs a name"),
        (lambda: UNTYPED.python_artifact(3), "no __module__"),
        (lambda: TextMetadataValue(3), "got int"),  # type: ignore[arg-type]
        (lambda: NullMetadataValue(0), "expected None"),  # type: ignore[arg-type]
    ],
)
def test_invalid_constructor_values(build: Callable[[], object], fragment: str) -> None:
    _raises(build, NO_KEY, fragment)


def test_invalid_metadata_value_keeps_its_error_kind() -> None:
    with pytest.raises(DagwrightInvalidMetadataError, match="metadata '<value>'"):
        MetadataValue.int(True)


def test_conversions_normalise_types() -> None:
    assert FloatMetadataValue(2).value == 2.0
    assert type(FloatMetadataValue(2).value) is float
    aware = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert MetadataValue.timestamp(aware).value == aware.timestamp()
    assert MetadataValue.path(PurePosixPath("a/b")).value == "a/b"


def test_python_artifact_from_an_object() -> None:
    assert MetadataValue.python_artifact(PythonArtifact).value == PythonArtifact(
        "dagwright.metadata", "PythonArtifact"
    )
    assert MetadataValue.python_artifact(TableSchema.from_json).value == PythonArtifact(
        "dagwright.metadata", "TableSchema.from_json"
    )


def test_json_and_table_values_are_detached_copies() -> None:
    given: dict[str, Any] = {"a": [1]}
    records = [{"x": 1}]
    value, table = MetadataValue.json(given), MetadataValue.table(records)
    given["a"].append(2)
    records[0]["x"] = 2
    value.to_json()["value"]["a"].append(3)
    assert value.value == {"a": [1]}
    assert table.value == Table([{"x": 1}])


@pytest.mark.parametrize(
    ("form", "fragment"),
    [
        ({"type": "nope", "value": 1}, "unknown metadata type 'nope'"),
        ({"value": 1}, "unknown metadata type None"),
        ({"type": "text"}, "no 'value'"),
        ({"type": "int", "value": "1"}, "got str"),
        ({"type": "int", "value": 1.0}, "got float"),
        ({"type": "bool", "value": 0}, "got int"),
        ({"type": "null", "value": 0}, "expected None"),
        ({"type": "timestamp", "value": "2026-01-01"}, "got str"),
        ({"type": "table", "value": []}, "JSON object"),
        ({"type": "table", "value": {"schema": None}}, "needs 'records'"),
        ({"type": "table_schema", "value": {}}, "needs 'columns'"),
        ({"type": "python_artifact", "value": {"module": "m"}}, "name must be a str"),
        (["text", "x"], "JSON object"),
    ],
    ids=repr,
)
def test_metadata_from_json_rejects_bad_forms(form: Any, fragment: str) -> None:
    _raises(lambda: metadata_from_json(form), NO_KEY, fragment)


def test_metadata_dict_round_trip_and_key_errors() -> None:
    metadata = normalize_metadata(
        {"owner": "data team", "docs": MetadataValue.url("https://d"), "n": 3, "on": True}
    )
    stored = json.loads(json.dumps(metadata_to_json(metadata)))
    restored = metadata_dict_from_json(stored)
    assert restored == metadata
    assert list(restored) == list(metadata)
    _raises(lambda: metadata_dict_from_json({"owner": {"type": "int"}}), "owner", "no 'value'")
    _raises(lambda: metadata_dict_from_json({"": {"type": "null", "value": None}}), "''")


def test_json_value_type_is_kept() -> None:
    assert JsonMetadataValue(None).value is None
    assert metadata_from_json({"type": "json", "value": None}) == JsonMetadataValue(None)
    assert metadata_from_json({"type": "float", "value": 1}) == MetadataValue.float(1.0)


@pytest.mark.parametrize(
    ("value", "accessor", "expected"),
    [
        (MetadataValue.text("hi"), "text", "hi"),
        (MetadataValue.url("https://example.com"), "url", "https://example.com"),
        (MetadataValue.path("/data/x.csv"), "path", "/data/x.csv"),
        (MetadataValue.notebook("/nb/a.ipynb"), "path", "/nb/a.ipynb"),
        (MetadataValue.md("# title"), "md_str", "# title"),
        (MetadataValue.json({"a": [1]}), "data", {"a": [1]}),
        (MetadataValue.job("daily"), "job_name", "daily"),
        (MetadataValue.run("abc"), "run_id", "abc"),
    ],
)
def test_values_have_dagsters_accessors(value: MetadataValue, accessor: str, expected: Any) -> None:
    assert getattr(value, accessor) == expected


def test_a_constructor_is_not_reachable_from_a_value() -> None:
    # UrlMetadataValue(...).json used to return the MetadataValue.json constructor.
    value = MetadataValue.url("https://example.com")
    for name in ("json", "text", "int", "table", "null"):
        with pytest.raises(AttributeError, match=f"no attribute '{name}'"):
            getattr(value, name)
    assert MetadataValue.url("u") == UrlMetadataValue("u")


@pytest.mark.parametrize("value", [value for value, _ in EVERY_TYPE], ids=_ids(EVERY_TYPE))
def test_values_pickle_and_copy(value: MetadataValue) -> None:
    import copy
    import pickle

    assert pickle.loads(pickle.dumps(value)) == value
    assert copy.deepcopy(value) == value
