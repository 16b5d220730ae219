"""Tests for dagwright.definitions.op: @op bare and with options, signatures, ins/out, tags."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from dagwright import (
    Config,
    DagwrightDefinitionError,
    DagwrightInvalidTagError,
    In,
    OpDefinition,
    Out,
    op,
)
from dagwright.definitions.op import DEFAULT_OUTPUT, AliasedOp


class LimitConfig(Config):
    limit: int = 5


class OtherConfig(Config):
    name: str


def test_bare_op() -> None:
    @op
    def my_op(x: int, y: str = "a") -> float:
        """Adds things."""
        return float(x)

    assert isinstance(my_op, OpDefinition)
    assert my_op.name == "my_op"
    assert my_op.description == "Adds things."
    assert my_op.input_names == ["x", "y"]
    assert my_op.ins["x"] == In(type=int)
    assert not my_op.ins["x"].has_default
    assert my_op.ins["y"].type is str
    assert my_op.ins["y"].has_default
    assert my_op.ins["y"].default_value == "a"
    assert my_op.outs == {DEFAULT_OUTPUT: Out(type=float)}
    assert DEFAULT_OUTPUT == "result"
    assert my_op.tags == {}
    assert my_op.config_param is None
    assert my_op.config_type is None
    assert my_op.takes_context is False


def test_op_with_options() -> None:
    @op(
        name="renamed",
        description="explicit",
        ins={"x": In(int, description="the x")},
        out=Out(str, description="text"),
        tags={"team": "data", "dagwright-celery/queue": "fast", "weight": 3},
    )
    def original(x):  # type: ignore[no-untyped-def]
        """Ignored docstring."""
        return str(x)

    assert original.name == "renamed"
    assert original.description == "explicit"
    assert original.ins == {"x": In(int, "the x")}
    assert original.outs == {"result": Out(str, "text")}
    assert original.tags == {"team": "data", "dagwright-celery/queue": "fast", "weight": "3"}


def test_op_with_empty_options_behaves_like_bare() -> None:
    @op()
    def plain(x: int) -> int:
        return x

    assert plain.name == "plain"
    assert plain.ins == {"x": In(int)}
    assert plain.outs == {"result": Out(int)}


def test_op_without_docstring_or_annotations() -> None:
    @op
    def bare(a, b=None):  # type: ignore[no-untyped-def]
        return a

    assert bare.description is None
    assert bare.ins["a"] == In()
    assert bare.ins["b"].has_default
    assert bare.ins["b"].default_value is None
    assert bare.outs == {"result": Out()}


@pytest.mark.parametrize(
    ("annotation_source", "expected_type"),
    [
        ("int", int),
        ("list[int]", None),
        ("int | None", None),
        ("Any", None),
        ("object", object),
        ("'str'", str),
    ],
)
def test_input_and_output_types_are_kept_only_for_plain_classes(
    annotation_source: str, expected_type: type | None
) -> None:
    namespace: dict[str, Any] = {"Any": Any}
    exec(f"def f(x: {annotation_source}) -> {annotation_source}: return x", namespace)
    defined = op(namespace["f"])
    assert defined.ins["x"].type is expected_type
    assert defined.outs["result"].type is expected_type


def test_unresolvable_annotations_fall_back_to_raw_ones() -> None:
    @op
    def forward(x: Missing) -> Missing:  # type: ignore[name-defined]  # noqa: F821
        return x

    assert forward.input_names == ["x"]
    assert forward.ins["x"].type is None
    assert forward.outs == {"result": Out()}


def test_ins_override_keeps_the_function_default() -> None:
    @op(ins={"x": In(int, description="d")})
    def with_default(x=3):  # type: ignore[no-untyped-def]
        return x

    assert with_default.ins["x"].type is int
    assert with_default.ins["x"].description == "d"
    assert with_default.ins["x"].default_value == 3


def test_ins_override_default_wins_over_the_function_default() -> None:
    @op(ins={"x": In(default_value=7)})
    def with_default(x: int = 3) -> int:
        return x

    assert with_default.ins["x"].default_value == 7
    assert with_default.ins["x"].type is None


def test_ins_override_can_cover_only_some_inputs() -> None:
    @op(ins={"y": In(str)})
    def two(x: int, y):  # type: ignore[no-untyped-def]
        return x

    assert two.ins == {"x": In(int), "y": In(str)}


def _fn(x: int) -> int:
    return x


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ins": {"nope": In()}}, "'nope'"),
        ({"ins": {"x": int}}, "ins['x'] must be an In"),
        ({"out": {}}, "out must be an Out or a dict of Out"),
        ({"out": int}, "out must be an Out or a dict of Out"),
        ({"out": [Out()]}, "out must be an Out or a dict of Out"),
        ({"out": {"a": Out(), "b": int}}, "out['b'] must be an Out"),
        ({"out": {"bad name": Out()}}, "'bad name'"),
        ({"out": {"1st": Out()}}, "'1st'"),
    ],
)
def test_bad_ins_and_out_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(DagwrightDefinitionError) as info:
        op(name="the_op", **options)(_fn)
    assert "'the_op'" in str(info.value)
    assert message in str(info.value)


def test_out_dict_declares_several_outputs_in_order() -> None:
    @op(out={"b": Out(int), "a": Out(str, "second")})
    def two_outputs() -> tuple[int, str]:
        return 1, "x"

    assert list(two_outputs.outs) == ["b", "a"]
    assert two_outputs.outs["a"] == Out(str, "second")


def test_single_out_overrides_the_return_annotation() -> None:
    @op(out=Out(description="only a description"))
    def typed() -> int:
        return 1

    assert typed.outs == {"result": Out(None, "only a description")}


# -- context and config parameters ------------------------------------------------------


def _ctx_context(context, x):  # type: ignore[no-untyped-def]
    return x


def _ctx_ctx(ctx, x):  # type: ignore[no-untyped-def]
    return x


def _ctx_underscore(_context, x):  # type: ignore[no-untyped-def]
    return x


def _ctx_not_first(x, context):  # type: ignore[no-untyped-def]
    return x


def _ctx_other_name(c, x):  # type: ignore[no-untyped-def]
    return x


def _ctx_only(context):  # type: ignore[no-untyped-def]
    return 1


@pytest.mark.parametrize(
    ("fn", "takes_context", "inputs"),
    [
        (_ctx_context, True, ["x"]),
        (_ctx_ctx, True, ["x"]),
        (_ctx_underscore, True, ["x"]),
        (_ctx_not_first, False, ["x", "context"]),
        (_ctx_other_name, False, ["c", "x"]),
        (_ctx_only, True, []),
    ],
)
def test_context_is_detected_by_name_in_first_position(
    fn: Callable[..., Any], takes_context: bool, inputs: list[str]
) -> None:
    defined = op(fn)
    assert defined.takes_context is takes_context
    assert defined.input_names == inputs


def _cfg_only(config: LimitConfig) -> int:
    return config.limit


def _cfg_with_context(context, settings: LimitConfig, x: int) -> int:  # type: ignore[no-untyped-def]
    return x


def _cfg_last(x: int, y: int, cfg: OtherConfig) -> int:
    return x


def _cfg_none(config: dict[str, int]) -> int:
    return 1


@pytest.mark.parametrize(
    ("fn", "param", "config_type", "inputs"),
    [
        (_cfg_only, "config", LimitConfig, []),
        (_cfg_with_context, "settings", LimitConfig, ["x"]),
        (_cfg_last, "cfg", OtherConfig, ["x", "y"]),
        (_cfg_none, None, None, ["config"]),
    ],
)
def test_config_parameter_is_detected_by_annotation(
    fn: Callable[..., Any], param: str | None, config_type: type | None, inputs: list[str]
) -> None:
    defined = op(fn)
    assert defined.config_param == param
    assert defined.config_type is config_type
    assert defined.input_names == inputs


def test_two_config_parameters_are_refused() -> None:
    def two_configs(a: LimitConfig, b: OtherConfig) -> None:
        return None

    with pytest.raises(DagwrightDefinitionError, match=r"'two_configs'.*more than one Config"):
        op(two_configs)


def _var_args(*xs):  # type: ignore[no-untyped-def]
    return xs


def _var_kwargs(x, **kw):  # type: ignore[no-untyped-def]
    return x


@pytest.mark.parametrize("fn", [_var_args, _var_kwargs])
def test_star_args_are_refused(fn: Callable[..., Any]) -> None:
    with pytest.raises(DagwrightDefinitionError, match=r"\*args/\*\*kwargs"):
        op(fn)


# -- names, aliases, tags ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["bad name", "1st", "a-b", "a.b", "a/b", "é!", 5])
def test_op_name_must_be_an_identifier(name: Any) -> None:
    with pytest.raises(DagwrightDefinitionError) as info:
        op(name=name)(_fn)
    assert repr(name) in str(info.value)


@pytest.mark.parametrize("name", ["ok", "_private", "CamelCase", "x2", "données"])
def test_valid_op_names(name: str) -> None:
    assert op(name=name)(_fn).name == name


def test_alias_makes_an_aliased_op() -> None:
    defined = op(_fn)
    aliased = defined.alias("other")
    assert aliased == AliasedOp(defined, "other")
    assert aliased.op_def is defined


@pytest.mark.parametrize("name", ["bad name", "x.y", ""])
def test_alias_name_must_be_an_identifier(name: str) -> None:
    with pytest.raises(DagwrightDefinitionError, match="alias"):
        op(_fn).alias(name)


@pytest.mark.parametrize(
    ("tags", "key", "rule"),
    [
        ({"bad key": "x"}, "bad key", "1-63"),
        ({"dagwright/partition": "x"}, "dagwright/partition", "reserved"),
        ({"team": {1, 2}}, "team", "JSON"),
        ({"dagwright/priority": "high"}, "dagwright/priority", "integer"),
    ],
)
def test_bad_op_tags_name_the_key_and_the_op(tags: dict[str, Any], key: str, rule: str) -> None:
    with pytest.raises(DagwrightInvalidTagError) as info:
        op(name="tagged", tags=tags)(_fn)
    assert info.value.key == key
    assert rule in info.value.rule
    assert repr(key) in str(info.value)
    assert "op 'tagged'" in str(info.value)


def test_op_called_outside_a_graph_runs_its_function() -> None:
    @op
    def add(x: int, y: int = 2) -> int:
        return x + y

    assert add(1) == 3
    assert add(1, y=5) == 6


def test_op_definitions_are_frozen_and_compare_by_identity() -> None:
    first, second = op(_fn), op(_fn)
    assert first != second
    assert first == first
    with pytest.raises(AttributeError):
        first.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("spec", "has_default"),
    [(In(), False), (In(int), False), (In(default_value=None), True), (In(default_value=0), True)],
)
def test_in_has_default(spec: In, has_default: bool) -> None:
    assert spec.has_default is has_default


def test_types_are_named_for_the_ui_also_when_they_are_not_checked() -> None:
    from dagwright import op as op_

    @op_
    def typed(rows: list[dict[str, object]], limit: int = 3) -> list[int]:
        return []

    assert typed.ins["rows"].type_name == "list[dict[str, object]]"
    assert typed.ins["rows"].type is None  # a generic alias is shown, not checked
    assert typed.ins["limit"].type_name == "int"
    assert typed.outs["result"].type_name == "list[int]"

    @op_
    def untyped(x):  # type: ignore[no-untyped-def]
        return x

    assert untyped.ins["x"].type_name is None and untyped.outs["result"].type_name is None
