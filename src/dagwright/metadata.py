"""Typed metadata: the ``MetadataValue`` family, plain-value conversion and the JSON form.

Every value is a small frozen record with a ``type`` name and a ``.value``; its JSON form is
``{"type": ..., "value": ...}`` and :func:`metadata_from_json` reads it back losslessly.
"""

from __future__ import annotations

import builtins
import json
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import FrozenInstanceError, dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, NoReturn, TypeVar

from dagwright.errors import DagwrightInvalidMetadataError
from dagwright.jsonvalue import (
    MAX_INT_BITS,
    MAX_INT_DIGITS,
    SURROGATE_RULE,
    find_problem,
    is_valid_text,
    printable,
)

__all__ = [
    "NO_KEY",
    "BoolMetadataValue",
    "FloatMetadataValue",
    "IntMetadataValue",
    "JobMetadataValue",
    "JsonMetadataValue",
    "MarkdownMetadataValue",
    "MetadataValue",
    "NotebookMetadataValue",
    "NullMetadataValue",
    "PathMetadataValue",
    "PythonArtifact",
    "PythonArtifactMetadataValue",
    "RunMetadataValue",
    "Table",
    "TableColumn",
    "TableMetadataValue",
    "TableSchema",
    "TableSchemaMetadataValue",
    "TextMetadataValue",
    "TimestampMetadataValue",
    "UrlMetadataValue",
    "metadata_dict_from_json",
    "metadata_from_json",
    "metadata_to_json",
    "normalize_metadata",
]

#: The key named in errors raised where no metadata key is known (a direct constructor call).
NO_KEY = "<value>"

#: How deep a JSON metadata value (or a table's records) may nest.
MAX_JSON_DEPTH = 100

#: A column type used when a table column names none.
DEFAULT_COLUMN_TYPE = "string"


def _fail(rule: str) -> NoReturn:
    raise DagwrightInvalidMetadataError(NO_KEY, rule)


def _kind(value: object) -> str:
    return type(value).__name__


def _require_str(value: object, what: str = "value", *, non_empty: bool = False) -> str:
    if not isinstance(value, str):
        _fail(f"{what} must be a str, got {_kind(value)}")
    if non_empty and not value:
        _fail(f"{what} must be a non-empty str")
    if not is_valid_text(value):
        _fail(f"{what}: {SURROGATE_RULE}")
    return str.__str__(value)  # a plain str, also for str subclasses and str enums


def _require_mapping(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        _fail(f"{what} must be a JSON object, got {_kind(value)}")
    return value


def _json_copy(value: object) -> Any:
    """Return a detached copy of ``value`` if it survives a JSON round trip unchanged."""
    problem = find_problem(value, max_depth=MAX_JSON_DEPTH, int64=False, tuples=False)
    if problem is not None:
        _fail(f"at {problem.path}: {problem.rule}" if problem.path else problem.rule)
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        _fail(f"not JSON-serialisable: {error}")
    copy = json.loads(text)
    if copy != value:
        _fail("does not survive a JSON round trip (tuples, non-str keys, ...)")
    return copy


def _epoch_seconds(value: object) -> float:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            _fail("a timestamp datetime must be timezone-aware, got a naive datetime")
        return value.timestamp()
    return _finite_float(value)


def _fspath(value: object) -> str:
    raw = os.fspath(value) if isinstance(value, os.PathLike) else value
    if not isinstance(raw, str):
        _fail(f"a path must be a str or an os.PathLike of str, got {_kind(value)}")
    return str.__str__(raw)


def _finite_float(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _fail(f"expected a float, got {_kind(value)}")
    try:
        number = float(value)
    except OverflowError:
        _fail("expected a finite float, got an int too large for a float")
    if not math.isfinite(number):
        _fail(f"expected a finite float, got {number}")
    return number


_Constructor = TypeVar("_Constructor", bound=Callable[..., Any])


class _ClassOnly(Generic[_Constructor]):
    """A constructor reachable from the class only (``MetadataValue.url(...)``).

    On a value, the same name is either the value's own accessor (``UrlMetadataValue.url``,
    as Dagster has it) or an ``AttributeError``: never the constructor, which would look like
    a value and silently be a function.
    """

    def __init__(self, constructor: _Constructor) -> None:
        self._constructor = constructor
        self.__doc__ = constructor.__doc__
        self._name = constructor.__name__

    def __get__(self, obj: object, owner: type | None = None) -> _Constructor:
        if obj is not None:
            raise AttributeError(
                f"{type(obj).__name__!r} object has no attribute {self._name!r} "
                f"(MetadataValue.{self._name} builds a value; a value's content is .value)"
            )
        return self._constructor


class MetadataValue:
    """Base of the typed metadata values; build them with the static constructors.

    Each subclass is a small frozen value class with a class-level ``type`` name (the ``"type"`` of
    its JSON form) and a ``value``. Constructors validate their input and raise
    :class:`~dagwright.errors.DagwrightInvalidMetadataError` with key ``"<value>"``;
    :func:`normalize_metadata` re-raises with the real key.
    """

    __slots__ = ("value",)

    type: ClassVar[builtins.str]
    value: Any

    def __init__(self, value: Any = None) -> None:
        object.__setattr__(self, "value", self._check(value))

    @classmethod
    def _check(cls, value: Any) -> Any:
        """Validate and normalise ``value`` (each type overrides this)."""
        return value

    def __setattr__(self, name: builtins.str, value: object) -> None:
        raise FrozenInstanceError(f"{type(self).__name__} is frozen")

    def __delattr__(self, name: builtins.str) -> None:
        raise FrozenInstanceError(f"{type(self).__name__} is frozen")

    def __eq__(self, other: object) -> builtins.bool:
        if type(other) is not type(self):
            return NotImplemented
        return builtins.bool(self.value == other.value)

    def __hash__(self) -> builtins.int:
        return hash((type(self), self.value))

    def __reduce__(self) -> tuple[builtins.type[MetadataValue], tuple[Any]]:
        # Frozen slots refuse pickle's and copy's setattr: rebuild through the constructor.
        return type(self), (self.value,)

    def __repr__(self) -> builtins.str:
        return f"{type(self).__name__}(value={self.value!r})"

    def to_json(self) -> dict[builtins.str, Any]:
        """Return the JSON form ``{"type": ..., "value": <JSON-native>}``."""
        return {"type": self.type, "value": self._json_value()}

    def _json_value(self) -> Any:
        return self.value

    @_ClassOnly
    def text(value: builtins.str) -> TextMetadataValue:
        """Plain text."""
        return TextMetadataValue(value)

    @_ClassOnly
    def url(value: builtins.str) -> UrlMetadataValue:
        """A URL, shown as a link."""
        return UrlMetadataValue(value)

    @_ClassOnly
    def path(value: builtins.str | os.PathLike[builtins.str]) -> PathMetadataValue:
        """A filesystem path (stored as a str)."""
        return PathMetadataValue(_fspath(value))

    @_ClassOnly
    def json(value: Any) -> JsonMetadataValue:
        """A JSON value (object, array or scalar) that must survive a JSON round trip."""
        return JsonMetadataValue(value)

    @_ClassOnly
    def md(value: builtins.str) -> MarkdownMetadataValue:
        """Markdown text, rendered sanitised."""
        return MarkdownMetadataValue(value)

    @_ClassOnly
    def null() -> NullMetadataValue:
        """An explicit null."""
        return NullMetadataValue()

    @_ClassOnly
    def timestamp(value: builtins.float | datetime) -> TimestampMetadataValue:
        """A point in time: epoch seconds or a timezone-aware datetime (stored as seconds)."""
        return TimestampMetadataValue(_epoch_seconds(value))

    @_ClassOnly
    def table(
        records: Sequence[Mapping[builtins.str, Any]],
        schema: TableSchema | Sequence[TableColumn | Mapping[builtins.str, Any]] | None = None,
    ) -> TableMetadataValue:
        """A table: a list of JSON records, optionally with a schema."""
        return TableMetadataValue(Table.of(records, schema))

    @_ClassOnly
    def table_schema(
        columns: TableSchema | Sequence[TableColumn | Mapping[builtins.str, Any]],
    ) -> TableSchemaMetadataValue:
        """A table schema from columns (``TableColumn`` or ``{name, type, description?}``)."""
        return TableSchemaMetadataValue(TableSchema.of(columns))

    @_ClassOnly
    def python_artifact(
        module: builtins.str | object, name: builtins.str | None = None
    ) -> PythonArtifactMetadataValue:
        """A Python object by ``module`` and ``name``, or taken from an object itself.

        Args:
            module: the module name, or an object with ``__module__`` and ``__qualname__``.
            name: the qualified name in the module; required when ``module`` is a str.
        """
        return PythonArtifactMetadataValue(PythonArtifact.of(module, name))

    @_ClassOnly
    def notebook(value: builtins.str | os.PathLike[builtins.str]) -> NotebookMetadataValue:
        """The path of a notebook."""
        return NotebookMetadataValue(_fspath(value))

    @_ClassOnly
    def job(job_name: builtins.str) -> JobMetadataValue:
        """A reference to a job by name."""
        return JobMetadataValue(job_name)

    @_ClassOnly
    def run(run_id: builtins.str) -> RunMetadataValue:
        """A reference to a run by id."""
        return RunMetadataValue(run_id)

    # Last, so that these names do not shadow the builtins in the class body above.
    @_ClassOnly
    def int(value: builtins.int) -> IntMetadataValue:
        """An integer (``bool`` is refused)."""
        return IntMetadataValue(value)

    @_ClassOnly
    def float(value: builtins.float) -> FloatMetadataValue:
        """A finite float (``bool`` is refused; an ``int`` becomes a float)."""
        return FloatMetadataValue(value)

    @_ClassOnly
    def bool(value: builtins.bool) -> BoolMetadataValue:
        """A boolean."""
        return BoolMetadataValue(value)


# --- str-valued types -------------------------------------------------------------------
# Plain classes rather than dataclasses: the base gives them __init__, __eq__, __hash__,
# __repr__ and immutability, and they cost nothing at import time.


class _StrValue(MetadataValue):
    __slots__ = ()
    value: str

    @classmethod
    def _check(cls, value: Any) -> str:
        return _require_str(value)


class TextMetadataValue(_StrValue):
    """Plain text."""

    __slots__ = ()
    type = "text"

    @property
    def text(self) -> str:  # type: ignore[override]
        """The text (Dagster's name for ``value``)."""
        return self.value


class UrlMetadataValue(_StrValue):
    """A URL; the UI decides which schemes it renders as links."""

    __slots__ = ()
    type = "url"

    @property
    def url(self) -> str:  # type: ignore[override]
        """The URL (Dagster's name for ``value``)."""
        return self.value


class MarkdownMetadataValue(_StrValue):
    """Markdown text; the UI renders it sanitised."""

    __slots__ = ()
    type = "md"

    @property
    def md_str(self) -> str:
        """The markdown source (Dagster's name for ``value``)."""
        return self.value


class _NameValue(MetadataValue):
    __slots__ = ()
    value: str

    @classmethod
    def _check(cls, value: Any) -> str:
        return _require_str(value, cls.type, non_empty=True)


class JobMetadataValue(_NameValue):
    """A reference to a job; ``value`` is the job name."""

    __slots__ = ()
    type = "job"

    @property
    def job_name(self) -> str:
        """The job's name (Dagster's name for ``value``)."""
        return self.value


class RunMetadataValue(_NameValue):
    """A reference to a run; ``value`` is the run id."""

    __slots__ = ()
    type = "run"

    @property
    def run_id(self) -> str:
        """The run's id (Dagster's name for ``value``)."""
        return self.value


class _PathValue(MetadataValue):
    __slots__ = ()
    value: str

    @classmethod
    def _check(cls, value: Any) -> str:
        return _fspath(value)


class PathMetadataValue(_PathValue):
    """A filesystem path, stored as a str."""

    __slots__ = ()
    type = "path"

    @property
    def path(self) -> str:  # type: ignore[override]
        """The path (Dagster's name for ``value``)."""
        return self.value


class NotebookMetadataValue(_PathValue):
    """The path of a notebook, stored as a str."""

    __slots__ = ()
    type = "notebook"

    @property
    def path(self) -> str:  # type: ignore[override]
        """The notebook's path (Dagster's name for ``value``)."""
        return self.value


# --- scalars ----------------------------------------------------------------------------


class IntMetadataValue(MetadataValue):
    """An integer; ``bool`` is refused."""

    __slots__ = ()
    type = "int"
    value: int

    @classmethod
    def _check(cls, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(f"expected an int, got {_kind(value)}")
        if value.bit_length() > MAX_INT_BITS:
            _fail(f"an int has at most {MAX_INT_DIGITS:,} digits")
        return int(value)


class FloatMetadataValue(MetadataValue):
    """A finite float; an ``int`` is converted, ``bool``, NaN and infinities are refused."""

    __slots__ = ()
    type = "float"
    value: float

    @classmethod
    def _check(cls, value: Any) -> float:
        return _finite_float(value)


class BoolMetadataValue(MetadataValue):
    """A boolean."""

    __slots__ = ()
    type = "bool"
    value: bool

    @classmethod
    def _check(cls, value: Any) -> bool:
        if not isinstance(value, bool):
            _fail(f"expected a bool, got {_kind(value)}")
        return value


class NullMetadataValue(MetadataValue):
    """An explicit null; ``value`` is always ``None``."""

    __slots__ = ()
    type = "null"
    value: None

    @classmethod
    def _check(cls, value: Any) -> None:
        if value is not None:
            _fail(f"expected None, got {_kind(value)}")


class TimestampMetadataValue(MetadataValue):
    """A point in time as float seconds since the epoch (UTC).

    A ``datetime`` given at construction is converted; it must be timezone-aware.
    """

    __slots__ = ()
    type = "timestamp"
    value: float

    @classmethod
    def _check(cls, value: Any) -> float:
        return _epoch_seconds(value)


class JsonMetadataValue(MetadataValue):
    """A JSON value; it must survive ``json.dumps(allow_nan=False)`` / ``json.loads``.

    The value is stored as a detached copy, so later changes to the caller's object do not
    leak in. Values holding a dict or list are not hashable.
    """

    __slots__ = ()
    type = "json"

    @property
    def data(self) -> Any:
        """The JSON value (Dagster's name for ``value``)."""
        return self.value

    @classmethod
    def _check(cls, value: Any) -> Any:
        return _json_copy(value)

    def _json_value(self) -> Any:
        return json.loads(json.dumps(self.value))


# --- tables -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TableColumn:
    """One column of a :class:`TableSchema`.

    Attributes:
        name: the column name (non-empty).
        type: a free-form type name (``"string"``, ``"int"``, ...).
        description: optional text.
    """

    name: str
    type: str = DEFAULT_COLUMN_TYPE
    description: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _require_str(self.name, "column name", non_empty=True))
        object.__setattr__(self, "type", _require_str(self.type, "column type", non_empty=True))
        if self.description is not None:
            description = _require_str(self.description, "column description")
            object.__setattr__(self, "description", description)

    @classmethod
    def of(cls, column: object) -> TableColumn:
        """Return ``column`` if it is a ``TableColumn``, else build one from a mapping.

        Raises:
            DagwrightInvalidMetadataError: not a column, unknown fields or bad values.
        """
        if isinstance(column, TableColumn):
            return column
        fields = _require_mapping(column, "a table column")
        unknown = sorted(set(fields) - {"name", "type", "description"})
        if unknown:
            _fail(f"unknown table column field(s) {unknown}")
        if "name" not in fields:
            _fail("a table column needs a 'name'")
        return cls(
            fields["name"], fields.get("type", DEFAULT_COLUMN_TYPE), fields.get("description")
        )

    def to_json(self) -> dict[str, Any]:
        """Return ``{"name", "type", "description"}``."""
        return {"name": self.name, "type": self.type, "description": self.description}


def _as_list(value: object, what: str) -> Sequence[object]:
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
        _fail(f"{what} must be a list, got {_kind(value)}")
    return value


def _columns(columns: object) -> tuple[TableColumn, ...]:
    checked = tuple(TableColumn.of(column) for column in _as_list(columns, "table columns"))
    names = [column.name for column in checked]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        _fail(f"duplicate table column name(s) {duplicates}")
    return checked


def _records(records: object) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for index, record in enumerate(_as_list(records, "table records")):
        if not isinstance(record, Mapping):
            _fail(f"table record {index} must be a dict, got {_kind(record)}")
        rows.append(dict(record))
    copied: list[dict[str, Any]] = _json_copy(rows)
    return copied


@dataclass(frozen=True, slots=True)
class TableSchema:
    """The columns of a table, in order; column names are unique."""

    columns: tuple[TableColumn, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", _columns(self.columns))

    @classmethod
    def of(cls, schema: object) -> TableSchema:
        """Return ``schema`` if it is a ``TableSchema``, else build one from a column list."""
        return schema if isinstance(schema, TableSchema) else cls(_columns(schema))

    @classmethod
    def from_json(cls, raw: object) -> TableSchema:
        """Read the JSON form ``{"columns": [...]}``."""
        fields = _require_mapping(raw, "a table schema")
        if "columns" not in fields:
            _fail("a table schema needs 'columns'")
        return cls(fields["columns"])

    def to_json(self) -> dict[str, Any]:
        """Return ``{"columns": [{"name", "type", "description"}, ...]}``."""
        return {"columns": [column.to_json() for column in self.columns]}


@dataclass(frozen=True, slots=True)
class Table:
    """Records (a list of JSON objects) and an optional schema."""

    records: list[dict[str, Any]]
    schema: TableSchema | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "records", _records(self.records))
        if self.schema is not None:
            object.__setattr__(self, "schema", TableSchema.of(self.schema))

    @classmethod
    def of(cls, records: object, schema: object = None) -> Table:
        """Build a table; ``schema`` may be a ``TableSchema``, a column list or ``None``."""
        return cls(_records(records), None if schema is None else TableSchema.of(schema))

    @classmethod
    def from_json(cls, raw: object) -> Table:
        """Read the JSON form ``{"records": [...], "schema": {...} | null}``."""
        fields = _require_mapping(raw, "a table")
        if "records" not in fields:
            _fail("a table needs 'records'")
        schema = fields.get("schema")
        return cls(fields["records"], None if schema is None else TableSchema.from_json(schema))

    def to_json(self) -> dict[str, Any]:
        """Return ``{"records": [...], "schema": {...} | None}``."""
        schema = None if self.schema is None else self.schema.to_json()
        return {"records": json.loads(json.dumps(self.records)), "schema": schema}


class TableMetadataValue(MetadataValue):
    """A table; ``value`` is a :class:`Table` (``.records`` and ``.schema``)."""

    __slots__ = ()
    type = "table"
    value: Table

    @classmethod
    def _check(cls, value: Any) -> Table:
        if not isinstance(value, Table):
            _fail(f"expected a Table, got {_kind(value)}")
        return value

    def _json_value(self) -> Any:
        return self.value.to_json()


class TableSchemaMetadataValue(MetadataValue):
    """A table schema; ``value`` is a :class:`TableSchema`."""

    __slots__ = ()
    type = "table_schema"
    value: TableSchema

    @classmethod
    def _check(cls, value: Any) -> TableSchema:
        if not isinstance(value, TableSchema):
            _fail(f"expected a TableSchema, got {_kind(value)}")
        return value

    def _json_value(self) -> Any:
        return self.value.to_json()


# --- python artifacts ---------------------------------------------------------------------


#: The name prefix of modules the code loader made from files (``loader.FILE_MODULE_PREFIX``).
_FILE_MODULE_PREFIX = "__dagwright_file__."


def _module_label(module_name: str) -> str:
    """A module's name, or, for one the loader made from a file (a name no other process
    can import), that file's path."""
    if module_name.startswith(_FILE_MODULE_PREFIX):
        path = getattr(sys.modules.get(module_name), "__file__", None)
        if isinstance(path, str):
            return path
    return module_name


@dataclass(frozen=True, slots=True)
class PythonArtifact:
    """A Python object named by its module and qualified name."""

    module: str
    name: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "module", _require_str(self.module, "module", non_empty=True))
        object.__setattr__(self, "name", _require_str(self.name, "name", non_empty=True))

    @classmethod
    def of(cls, module: object, name: str | None = None) -> PythonArtifact:
        """Build from ``module`` and ``name``, or from an object's module and qualname."""
        if name is not None:
            return cls(_require_str(module, "module"), name)
        if isinstance(module, str):
            _fail("a python_artifact given a module name also needs a name")
        module = getattr(module, "__wrapped__", module)  # an op: the function it wraps
        qualname = getattr(module, "__qualname__", None) or getattr(module, "__name__", None)
        module_name = getattr(module, "__module__", None)
        if not isinstance(module_name, str) or not isinstance(qualname, str):
            _fail(f"a {_kind(module)} has no __module__ and __qualname__")
        return cls(_module_label(module_name), qualname)

    @classmethod
    def from_json(cls, raw: object) -> PythonArtifact:
        """Read the JSON form ``{"module", "name"}``."""
        fields = _require_mapping(raw, "a python_artifact")
        return cls(
            _require_str(fields.get("module"), "module"), _require_str(fields.get("name"), "name")
        )

    def to_json(self) -> dict[str, Any]:
        """Return ``{"module", "name"}``."""
        return {"module": self.module, "name": self.name}


class PythonArtifactMetadataValue(MetadataValue):
    """A Python object; ``value`` is a :class:`PythonArtifact`."""

    __slots__ = ()
    type = "python_artifact"
    value: PythonArtifact

    @classmethod
    def _check(cls, value: Any) -> PythonArtifact:
        if not isinstance(value, PythonArtifact):
            _fail(f"expected a PythonArtifact, got {_kind(value)}")
        return value

    def _json_value(self) -> Any:
        return self.value.to_json()


# --- JSON form and normalisation --------------------------------------------------------

_DECODERS: dict[str, Callable[[Any], MetadataValue]] = {
    "text": TextMetadataValue,
    "url": UrlMetadataValue,
    "path": PathMetadataValue,
    "json": JsonMetadataValue,
    "md": MarkdownMetadataValue,
    "int": IntMetadataValue,
    "float": FloatMetadataValue,
    "bool": BoolMetadataValue,
    "null": NullMetadataValue,
    "timestamp": lambda raw: TimestampMetadataValue(_finite_float(raw)),
    "table": lambda raw: TableMetadataValue(Table.from_json(raw)),
    "table_schema": lambda raw: TableSchemaMetadataValue(TableSchema.from_json(raw)),
    "python_artifact": lambda raw: PythonArtifactMetadataValue(PythonArtifact.from_json(raw)),
    "notebook": NotebookMetadataValue,
    "job": JobMetadataValue,
    "run": RunMetadataValue,
}

#: Plain Python types converted by :func:`normalize_metadata`, in checking order
#: (``bool`` before ``int``, because ``bool`` is a subclass of ``int``).
_PLAIN: tuple[tuple[type | tuple[type, ...], Callable[[Any], MetadataValue]], ...] = (
    (str, TextMetadataValue),
    (bool, BoolMetadataValue),
    (int, IntMetadataValue),
    (float, FloatMetadataValue),
    ((dict, list), JsonMetadataValue),
)


def metadata_from_json(d: Mapping[str, Any]) -> MetadataValue:
    """Read a value from its JSON form ``{"type": ..., "value": ...}``.

    Args:
        d: the JSON form, as produced by :meth:`MetadataValue.to_json`.

    Returns:
        The value; ``metadata_from_json(v.to_json()) == v`` for every value.

    Raises:
        DagwrightInvalidMetadataError: not a mapping, unknown type, or a bad value.
    """
    fields = _require_mapping(d, "metadata")
    type_name = fields.get("type")
    decoder = _DECODERS.get(type_name) if isinstance(type_name, str) else None
    if decoder is None:
        _fail(f"unknown metadata type {type_name!r}; known: {sorted(_DECODERS)}")
    if "value" not in fields:
        _fail(f"{type_name} metadata has no 'value'")
    return decoder(fields["value"])


def _check_key(key: object) -> str:
    if not isinstance(key, str) or not key:
        raise DagwrightInvalidMetadataError(
            repr(key), f"a metadata key must be a non-empty str, got {_kind(key)} {key!r}"
        )
    if not is_valid_text(key):
        raise DagwrightInvalidMetadataError(printable(key), f"a key: {SURROGATE_RULE}")
    return key


def _convert(value: object) -> MetadataValue:
    if isinstance(value, MetadataValue):
        return value
    if value is None:
        return NullMetadataValue()
    for kinds, build in _PLAIN:
        if isinstance(value, kinds):
            return build(value)
    _fail(
        f"a {_kind(value)} cannot be metadata; use a str, int, float, bool, dict, list, "
        "None or a MetadataValue"
    )


def _each(
    items: Mapping[Any, Any] | None, convert: Callable[[Any], MetadataValue]
) -> dict[str, MetadataValue]:
    if items is None:
        return {}
    if not isinstance(items, Mapping):
        raise DagwrightInvalidMetadataError(
            NO_KEY, f"metadata must be a mapping, got {_kind(items)}"
        )
    result: dict[str, MetadataValue] = {}
    for key, value in items.items():
        checked = _check_key(key)
        try:
            result[checked] = convert(value)
        except DagwrightInvalidMetadataError as error:
            raise DagwrightInvalidMetadataError(checked, error.rule) from error
    return result


def normalize_metadata(metadata: Mapping[str, object] | None) -> dict[str, MetadataValue]:
    """Check keys and convert plain values into metadata values.

    ``str`` → text, ``bool`` → bool (never int), ``int`` → int, ``float`` → float,
    ``dict``/``list`` → json, ``None`` → null; ``MetadataValue`` instances are kept.

    Args:
        metadata: the user's metadata, or ``None`` for none.

    Returns:
        A new dict in the same key order.

    Raises:
        DagwrightInvalidMetadataError: a key is not a non-empty str, or a value has another
            type or is invalid; the error names the key.
    """
    return _each(metadata, _convert)


def metadata_to_json(md: Mapping[str, MetadataValue]) -> dict[str, dict[str, Any]]:
    """Return the JSON form of every entry, keyed as given."""
    return {key: value.to_json() for key, value in md.items()}


def metadata_dict_from_json(d: Mapping[str, Any]) -> dict[str, MetadataValue]:
    """Read a dict written by :func:`metadata_to_json`.

    Raises:
        DagwrightInvalidMetadataError: a bad key or entry; the error names the key.
    """
    return _each(d, metadata_from_json)
