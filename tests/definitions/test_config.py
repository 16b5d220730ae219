"""Tests for dagwright.definitions.config: Config models and per-op config validation."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from tests.jobs import simple

from dagwright import Config, DagwrightInvalidConfigError, Node, op
from dagwright.definitions.config import build_config


class Inner(Config):
    value: int


class Nested(Config):
    inner: Inner
    items: list[int] = []


class Limits(Config):
    limit: int
    label: str = "rows"
    ratio: float = 0.5


@op
def limited(config: Limits) -> int:
    return config.limit


@op
def nested(settings: Nested) -> int:
    return settings.inner.value


@op
def no_config() -> int:
    return 1


def _node(op_def: Any, name: str | None = None) -> Node:
    return Node(name or op_def.name, op_def, {})


def test_config_is_a_frozen_pydantic_model_refusing_unknown_keys() -> None:
    made = Limits(limit=3)
    assert (made.limit, made.label, made.ratio) == (3, "rows", 0.5)
    with pytest.raises(ValidationError):
        made.limit = 4
    with pytest.raises(ValidationError):
        Limits.model_validate({"limit": 1, "unknown": 2})


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"limit": 3}, Limits(limit=3)),
        ({"limit": "4"}, Limits(limit=4)),
        ({"limit": 1, "label": "x", "ratio": 2}, Limits(limit=1, label="x", ratio=2.0)),
    ],
)
def test_build_config_returns_the_validated_instance(
    given: dict[str, Any], expected: Limits
) -> None:
    built = build_config(_node(limited), given)
    assert isinstance(built, Limits)
    assert built == expected


def test_build_config_of_nested_models() -> None:
    built = build_config(_node(nested), {"inner": {"value": 2}, "items": [1, 2]})
    assert built == Nested(inner=Inner(value=2), items=[1, 2])


class AllDefaults(Config):
    size: int = 1


@op
def defaults_only(config: AllDefaults) -> int:
    return config.size


@pytest.mark.parametrize("given", [None, {}])
def test_missing_config_uses_the_defaults(given: dict[str, Any] | None) -> None:
    assert build_config(_node(defaults_only), given) == AllDefaults()


@pytest.mark.parametrize(
    ("op_def", "given", "key", "rule"),
    [
        (limited, {}, "config.limit", "required"),
        (limited, None, "config.limit", "required"),
        (limited, {"limit": "many"}, "config.limit", "integer"),
        (limited, {"limit": 1.5}, "config.limit", "integer"),
        (limited, {"limit": 1, "ratio": "x"}, "config.ratio", "number"),
        (limited, {"limit": 1, "extra": True}, "config.extra", "not permitted"),
        (nested, {"inner": {}}, "config.inner.value", "required"),
        (nested, {"inner": {"value": 1}, "items": [1, "b"]}, "config.items.1", "integer"),
        (nested, {"inner": 3}, "config.inner", ""),
    ],
)
def test_config_errors_name_the_op_and_field(
    op_def: Any, given: dict[str, Any] | None, key: str, rule: str
) -> None:
    with pytest.raises(DagwrightInvalidConfigError) as info:
        build_config(_node(op_def), given)
    assert info.value.where == f"op {op_def.name!r}"
    assert info.value.key == key
    assert rule in info.value.rule
    assert f"op {op_def.name!r}" in str(info.value)
    assert key in str(info.value)


def test_several_config_errors_report_the_first_and_a_count() -> None:
    with pytest.raises(DagwrightInvalidConfigError) as info:
        build_config(_node(limited), {"limit": "x", "ratio": "y", "extra": 1})
    assert info.value.key == "config.limit"
    assert "(and 2 more)" in info.value.rule


def test_config_errors_use_the_node_name() -> None:
    with pytest.raises(DagwrightInvalidConfigError) as info:
        build_config(_node(limited, "limited_2"), {})
    assert info.value.where == "op 'limited_2'"


@pytest.mark.parametrize("op_def", [limited, no_config])
@pytest.mark.parametrize("given", [["not", "a", "dict"], 5, "limit=1", True])
def test_config_that_is_not_a_mapping_is_refused(op_def: Any, given: Any) -> None:
    with pytest.raises(DagwrightInvalidConfigError) as info:
        build_config(_node(op_def), given)
    assert info.value.where == f"op {op_def.name!r}"
    assert info.value.key == "config"
    assert "mapping" in info.value.rule


@pytest.mark.parametrize("given", [{"limit": 1}, {"anything": None}])
def test_an_op_without_config_refuses_config(given: dict[str, Any]) -> None:
    with pytest.raises(DagwrightInvalidConfigError) as info:
        build_config(_node(no_config), given)
    assert info.value.where == "op 'no_config'"
    assert info.value.key == "config"
    assert "takes no config" in info.value.rule
    assert "op 'no_config'" in str(info.value)


@pytest.mark.parametrize("given", [None, {}])
def test_an_op_without_config_given_none_gets_none(given: dict[str, Any] | None) -> None:
    assert build_config(_node(no_config), given) is None


def test_config_declared_in_a_shared_job_module() -> None:
    node = simple.loader.graph.nodes["load"]
    assert node.op.config_param == "config"
    assert node.op.config_type is simple.LoadConfig
    assert build_config(node, {"limit": 2}) == simple.LoadConfig(limit=2)
