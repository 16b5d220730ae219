"""Dagster-style op config schemas: ``@op(config_schema={...})`` and ``context.op_config``.

A schema is a Python type (``int``, ``str``, ``float``, ``bool``, ``list``, ``dict``,
``Any``), a one-element list (``[int]``), a dict of field names to schemas (nested dicts
too), or one of :class:`Field`, :class:`Noneable`, :class:`Array`, :class:`Shape` and
:class:`Permissive`. It is checked when the op is defined (pure, no pydantic); a run's
config is validated against it at submit time by a pydantic adapter built on first use, so
``import dagwright`` stays free of pydantic. The op receives plain data (dicts, lists,
scalars) with the defaults filled in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from dagwright.errors import DagwrightDefinitionError, DagwrightInvalidConfigError

_NO_DEFAULT: Final[Any] = object()

#: The Python types a schema may name, by the kind the validator checks.
_SCALARS: Final[Mapping[Any, str]] = {int: "int", str: "str", float: "float", bool: "bool"}


class Field:
    """A config field with options.

    Args:
        config: the field's schema (a type, a dict, ``Noneable(...)`` …).
        default_value: used when the run gives no value (makes the field optional).
        is_required: whether the run must give it (default: no when it has a default, is
            ``Noneable`` or is a dict whose fields are all optional; else yes).
        description: shown in the launchpad's schema.
    """

    __slots__ = ("config", "default_value", "description", "is_required")

    def __init__(
        self,
        config: Any,
        default_value: Any = _NO_DEFAULT,
        is_required: bool | None = None,
        description: str | None = None,
    ) -> None:
        self.config = config
        self.default_value = default_value
        self.is_required = is_required
        self.description = description


class Noneable:
    """A value of ``inner`` or ``None`` (optional, default ``None``)."""

    __slots__ = ("inner",)

    def __init__(self, inner: Any) -> None:
        self.inner = inner


class Array:
    """A list of values of ``inner``."""

    __slots__ = ("inner",)

    def __init__(self, inner: Any) -> None:
        self.inner = inner


class Shape:
    """A dict of fields (what a plain dict schema means); unknown keys are errors."""

    __slots__ = ("fields",)

    def __init__(self, fields: Mapping[str, Any]) -> None:
        self.fields = fields


class Permissive(Shape):
    """A dict of fields (default none) that also accepts, and passes on, unknown keys."""

    def __init__(self, fields: Mapping[str, Any] | None = None) -> None:
        super().__init__(fields or {})


# -- the checked schema tree --------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """One checked schema: ``kind`` is a scalar kind, ``any``, ``list``, ``noneable`` (with
    ``inner``) or ``shape`` (with ``fields``; ``permissive`` allows unknown keys)."""

    kind: str
    inner: Node | None = None
    fields: Mapping[str, FieldNode] | None = None
    permissive: bool = False

    @property
    def optional(self) -> bool:
        """Whether a run may leave this value out."""
        if self.kind == "noneable":
            return True
        return self.fields is not None and all(not f.required for f in self.fields.values())


@dataclass(frozen=True)
class FieldNode:
    """A field of a shape: its schema, whether it is required, its default, description."""

    node: Node
    required: bool
    default: Any = _NO_DEFAULT
    description: str | None = None


def _parse(schema: Any, path: str) -> Node:  # noqa: C901 - one branch per schema form
    if isinstance(schema, Field):
        raise DagwrightDefinitionError(f"{path}: a Field is only allowed as a dict entry")
    if isinstance(schema, type) and schema in _SCALARS:
        return Node(_SCALARS[schema])
    if schema is Any or schema is object:
        return Node("any")
    if schema is list:
        return Node("list", inner=Node("any"))
    if schema is dict:
        return Node("shape", fields={}, permissive=True)
    if isinstance(schema, Noneable):
        return Node("noneable", inner=_parse(schema.inner, path))
    if isinstance(schema, Array):
        return Node("list", inner=_parse(schema.inner, f"{path}[]"))
    if isinstance(schema, list):
        if len(schema) != 1:
            raise DagwrightDefinitionError(f"{path}: a list schema has exactly one element type")
        return Node("list", inner=_parse(schema[0], f"{path}[]"))
    if isinstance(schema, (Shape, Mapping)):
        fields = schema.fields if isinstance(schema, Shape) else schema
        parsed = {name: _field(value, _join(path, name)) for name, value in fields.items()}
        return Node("shape", fields=parsed, permissive=isinstance(schema, Permissive))
    raise DagwrightDefinitionError(
        f"{path}: unsupported config schema {schema!r} (use int, str, float, bool, list, "
        "dict, [type], a dict of fields, Field, Noneable, Array, Shape or Permissive)"
    )


def _join(path: str, name: object) -> str:
    if not isinstance(name, str) or not name:
        raise DagwrightDefinitionError(f"{path}: field names are non-empty strings, not {name!r}")
    return f"{path}.{name}"


def _field(value: Any, path: str) -> FieldNode:
    spec = value if isinstance(value, Field) else Field(value)
    node = _parse(spec.config, path)
    has_default = spec.default_value is not _NO_DEFAULT
    if spec.is_required and has_default:
        raise DagwrightDefinitionError(f"{path}: a required field cannot have a default_value")
    required = spec.is_required if spec.is_required is not None else not has_default
    if spec.is_required is None and node.optional:
        required = False
    default = spec.default_value if has_default else _NO_DEFAULT
    return FieldNode(node, required, default, spec.description)


# -- defaults, for the launchpad ---------------------------------------------------------


def scaffold(node: Node) -> Any:
    """What a launchpad pre-fills: defaults, ``None`` where a value is required."""
    if node.fields is None:
        return None
    result: dict[str, Any] = {}
    for name, field in node.fields.items():
        if field.default is not _NO_DEFAULT:
            result[name] = field.default
        else:
            result[name] = scaffold(field.node)
    return result


# -- validation (pydantic, built on first use) ----------------------------------------------


class ConfigSchema:
    """An op's checked config schema and, once needed, its pydantic validator.

    Raises:
        DagwrightDefinitionError: (when made) the schema is malformed, naming the field.
    """

    __slots__ = ("_adapter", "root", "source")

    def __init__(self, source: Any, op_name: str) -> None:
        self.source = source
        self.root = _parse(source, f"op {op_name!r} config_schema")
        self._adapter: Any = None

    def adapter(self) -> Any:
        """The pydantic ``TypeAdapter`` of the schema (made on first call)."""
        if self._adapter is None:
            from pydantic import TypeAdapter

            from dagwright.definitions.config_model import annotation

            self._adapter = TypeAdapter(annotation(self.root, "Config"))
        return self._adapter

    def validate(self, where: str, given: Any) -> Any:
        """The run's config for this op as plain data with defaults filled in.

        Raises:
            DagwrightInvalidConfigError: naming ``where`` (the op) and the field path.
        """
        from pydantic import ValidationError

        value = {} if given is None and self.root.fields is not None else given
        try:
            adapter = self.adapter()
            return adapter.dump_python(adapter.validate_python(value), by_alias=True)
        except ValidationError as exc:
            error = exc.errors()[0]
            key = ".".join(["config", *(str(part) for part in error["loc"])])
            more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
            raise DagwrightInvalidConfigError(where, error["msg"] + more, key=key) from None

    def json_schema(self) -> dict[str, Any]:
        """The JSON schema of the config (shown with the job)."""
        schema: dict[str, Any] = self.adapter().json_schema()
        return schema
