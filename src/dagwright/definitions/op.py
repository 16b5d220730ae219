"""Ops: the Python functions a job is made of, with their inputs, outputs and config."""

from __future__ import annotations

import inspect
import sys
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, overload

from dagwright.definitions.output import Output
from dagwright.errors import DagwrightDefinitionError, DagwrightInvalidTagError
from dagwright.tags import normalize_tags

if TYPE_CHECKING:
    from dagwright.definitions.config import Config
    from dagwright.definitions.config_schema import ConfigSchema

#: The name of an op's output when it declares a single one.
DEFAULT_OUTPUT: Final = "result"

_NO_DEFAULT: Final[Any] = inspect.Parameter.empty


def type_text(type_: Any, annotation: Any = None) -> str | None:
    """How an input's or output's type is shown: the class name of ``type_``, else the
    annotation as written (``list[dict[str, object]]``), else None (any value)."""
    shown = type_ if type_ is not None else annotation
    if shown is None or shown is inspect.Parameter.empty:
        return None
    if isinstance(shown, str):
        return shown
    if isinstance(shown, type) and not getattr(shown, "__args__", None):
        return shown.__qualname__
    return str(shown).replace("typing.", "")


@dataclass(frozen=True)
class In:
    """An op input.

    Attributes:
        type: a Python type the value must be an instance of (None: any).
        description: shown in the UI.
        default_value: used when the input is not connected.
        annotation: the parameter's annotation, shown in the UI when it is not a plain
            class (``list[int]``): such a type is not checked.
    """

    type: Any = None
    description: str | None = None
    default_value: Any = _NO_DEFAULT
    annotation: Any = field(default=None, repr=False, compare=False)

    @property
    def has_default(self) -> bool:
        """Whether the input may be left unconnected."""
        return self.default_value is not _NO_DEFAULT

    @property
    def type_name(self) -> str | None:
        """The type as the UI shows it (None: any value)."""
        return type_text(self.type, self.annotation)


@dataclass(frozen=True)
class Out:
    """An op output.

    Attributes:
        type: a Python type the value must be an instance of (None: any).
        description: shown in the UI.
        annotation: the return annotation, shown in the UI when it is not a plain class.
    """

    type: Any = None
    description: str | None = None
    annotation: Any = field(default=None, repr=False, compare=False)

    @property
    def type_name(self) -> str | None:
        """The type as the UI shows it (None: any value)."""
        return type_text(self.type, self.annotation)


@dataclass(frozen=True, eq=False)
class OpDefinition:
    """A function and the contract around it. Made by :func:`op`.

    Calling it inside a ``@graph`` or ``@job`` body adds a node; calling it anywhere else
    runs the function directly (handy in unit tests).
    """

    name: str
    fn: Callable[..., Any]
    ins: Mapping[str, In]
    outs: Mapping[str, Out]
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    config_param: str | None = None
    config_type: type[Config] | None = None
    takes_context: bool = False
    config_schema: ConfigSchema | None = None

    @property
    def takes_config(self) -> bool:
        """Whether the op declares config (a ``Config`` parameter or a ``config_schema``)."""
        return self.config_type is not None or self.config_schema is not None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from dagwright.definitions import composition

        if composition.is_composing():
            return composition.invoke(self, self.name, args, kwargs)
        return self.fn(*args, **kwargs)

    @property
    def __wrapped__(self) -> Callable[..., Any]:
        """The decorated function (for ``inspect`` and ``MetadataValue.python_artifact``)."""
        return self.fn

    def alias(self, name: str) -> AliasedOp:
        """Use this op under another node name in a graph body."""
        _check_name(name, "op alias")
        return AliasedOp(self, name)

    @property
    def input_names(self) -> list[str]:
        """Input names in declaration order."""
        return list(self.ins)


@dataclass(frozen=True)
class AliasedOp:
    """An op invoked under a chosen node name (``my_op.alias("load_2")(...)``)."""

    op_def: OpDefinition
    name: str

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from dagwright.definitions import composition

        return composition.invoke(self.op_def, self.name, args, kwargs)


def _check_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not name.isidentifier():
        raise DagwrightDefinitionError(f"{what} name {name!r} must be a Python identifier")
    return name


def _type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:  # unresolvable forward references: fall back to raw annotations
        return dict(getattr(fn, "__annotations__", {}))


def _plain_type(annotation: Any) -> type | None:
    # typing.Any is a class on Python >= 3.11, but isinstance() refuses it: it means "any".
    # `-> Output` says how the value is returned, not what it is.
    if isinstance(annotation, type) and annotation is not Any and annotation is not Output:
        return annotation
    return None


def _is_config_type(annotation: Any) -> bool:
    config_module = sys.modules.get("dagwright.definitions.config")
    if config_module is None or not isinstance(annotation, type):
        return False
    return issubclass(annotation, config_module.Config)


@dataclass
class _Signature:
    takes_context: bool = False
    config_param: str | None = None
    config_type: type[Config] | None = None
    inputs: dict[str, In] = field(default_factory=dict)


def _read_signature(name: str, fn: Callable[..., Any]) -> _Signature:
    params = list(inspect.signature(fn).parameters.values())
    hints = _type_hints(fn)
    sig = _Signature()
    if params and params[0].name in ("context", "ctx", "_context"):
        sig.takes_context = True
        params = params[1:]
    for param in params:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise DagwrightDefinitionError(f"op {name!r}: *args/**kwargs are not supported")
        annotation = hints.get(param.name)
        if _is_config_type(annotation):
            if sig.config_param is not None:
                raise DagwrightDefinitionError(f"op {name!r}: more than one Config parameter")
            sig.config_param, sig.config_type = param.name, annotation
            continue
        sig.inputs[param.name] = In(
            type=_plain_type(annotation), default_value=param.default, annotation=annotation
        )
    return sig


def _merge_ins(name: str, sig: _Signature, ins: Mapping[str, In] | None) -> dict[str, In]:
    if ins is None:
        return sig.inputs
    unknown = set(ins) - set(sig.inputs)
    if unknown:
        raise DagwrightDefinitionError(
            f"op {name!r}: ins names {sorted(unknown)} are not parameters of the function"
        )
    merged = dict(sig.inputs)
    for input_name, spec in ins.items():
        if not isinstance(spec, In):
            raise DagwrightDefinitionError(f"op {name!r}: ins[{input_name!r}] must be an In")
        default = spec.default_value if spec.has_default else sig.inputs[input_name].default_value
        annotation = spec.annotation or sig.inputs[input_name].annotation
        merged[input_name] = In(spec.type, spec.description, default, annotation)
    return merged


def _make_outs(name: str, out: Out | Mapping[str, Out] | None, hints: Any) -> dict[str, Out]:
    if out is None:
        return {DEFAULT_OUTPUT: Out(type=_plain_type(hints), annotation=hints)}
    if isinstance(out, Out):
        return {DEFAULT_OUTPUT: out}
    if not isinstance(out, Mapping) or not out:
        raise DagwrightDefinitionError(f"op {name!r}: out must be an Out or a dict of Out")
    for out_name, spec in out.items():
        _check_name(out_name, f"op {name!r} output")
        if not isinstance(spec, Out):
            raise DagwrightDefinitionError(f"op {name!r}: out[{out_name!r}] must be an Out")
    return dict(out)


def _op_tags(name: str, tags: Mapping[str, object] | None) -> dict[str, str]:
    try:
        return normalize_tags(tags)
    except DagwrightInvalidTagError as exc:
        raise DagwrightInvalidTagError(exc.key, f"{exc.rule} (op {name!r})") from None


def _config_schema(name: str, sig: _Signature, schema: Any) -> ConfigSchema | None:
    if schema is None:
        return None
    if sig.config_param is not None:
        raise DagwrightDefinitionError(
            f"op {name!r}: give config_schema or a Config parameter, not both"
        )
    from dagwright.definitions.config_schema import ConfigSchema

    return ConfigSchema(schema, name)


def make_op(
    fn: Callable[..., Any],
    *,
    name: str | None = None,
    description: str | None = None,
    ins: Mapping[str, In] | None = None,
    out: Out | Mapping[str, Out] | None = None,
    tags: Mapping[str, object] | None = None,
    config_schema: Any = None,
) -> OpDefinition:
    """Build an :class:`OpDefinition` from a function (what ``@op`` does)."""
    op_name = _check_name(name or fn.__name__, "op")
    sig = _read_signature(op_name, fn)
    return OpDefinition(
        name=op_name,
        fn=fn,
        ins=_merge_ins(op_name, sig, ins),
        outs=_make_outs(op_name, out, _type_hints(fn).get("return")),
        description=description if description is not None else inspect.getdoc(fn),
        tags=_op_tags(op_name, tags),
        config_param=sig.config_param,
        config_type=sig.config_type,
        takes_context=sig.takes_context,
        config_schema=_config_schema(op_name, sig, config_schema),
    )


@overload
def op(fn: Callable[..., Any], /) -> OpDefinition: ...


@overload
def op(
    *,
    name: str | None = None,
    description: str | None = None,
    ins: Mapping[str, In] | None = None,
    out: Out | Mapping[str, Out] | None = None,
    tags: Mapping[str, object] | None = None,
    config_schema: Any = None,
) -> Callable[[Callable[..., Any]], OpDefinition]: ...


def op(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    ins: Mapping[str, In] | None = None,
    out: Out | Mapping[str, Out] | None = None,
    tags: Mapping[str, object] | None = None,
    config_schema: Any = None,
) -> OpDefinition | Callable[[Callable[..., Any]], OpDefinition]:
    """Turn a function into an op, bare (``@op``) or with options (``@op(name=...)``).

    The function may take ``context`` first (an ``OpExecutionContext``), a parameter
    annotated with a :class:`~dagwright.Config` subclass for its config, and its inputs.

    Args:
        name: node name (default: the function's name).
        description: shown in the UI (default: the docstring).
        ins: input specs by parameter name (default: one per parameter).
        out: an :class:`Out` or a dict of them; several outputs are returned as a tuple.
        tags: op tags, such as ``dagwright-celery/queue``.
        config_schema: Dagster-style config (``{"limit": int}``, ``Field(...)`` …, see
            :mod:`dagwright.definitions.config_schema`); the op reads it as
            ``context.op_config`` (plain data). Not with a ``Config`` parameter.

    Raises:
        DagwrightDefinitionError: the function or options are malformed.
    """
    if fn is not None:
        return make_op(fn)

    def decorate(func: Callable[..., Any]) -> OpDefinition:
        return make_op(
            func,
            name=name,
            description=description,
            ins=ins,
            out=out,
            tags=tags,
            config_schema=config_schema,
        )

    return decorate
