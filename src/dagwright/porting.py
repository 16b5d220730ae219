"""Porting a Dagster job file to dagwright (``dagwright port``).

The file is read with :mod:`ast` (imports, names, calls) and :mod:`tokenize` (string
literals), so comments and strings that merely mention Dagster are left alone. What it
rewrites: ``from dagster import ...`` / ``import dagster [as dg]`` and ``dagster.x`` uses,
Dagster names dagwright spells differently (:data:`RENAMES`), ``In``/``Out``'s
``dagster_type=`` keyword, and string literals that are a Dagster tag key with a dagwright
equivalent (``"dagster/priority"``). What it cannot port it reports as notes with a line
number: names and arguments dagwright lacks, Dagster submodules and integrations, tags
without an equivalent.
"""

from __future__ import annotations

import ast
import difflib
import inspect
import io
import re
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from dagwright.errors import DagwrightCodeLoadError
from dagwright.tags import DAGSTER_TAG_EQUIVALENTS, KEY_PATTERN, is_dagster_tag

#: Dagster names whose dagwright counterpart has another name.
RENAMES: Final = {
    "DagsterInstance": "Instance",
    "DagsterRun": "Run",
    "DagsterRunStatus": "RunStatus",
    "DagsterEventType": "EventType",
    "DagsterError": "DagwrightError",
    "DagsterInvalidDefinitionError": "DagwrightDefinitionError",
    "DagsterInvalidConfigError": "DagwrightInvalidConfigError",
    "DagsterInvalidMetadata": "DagwrightInvalidMetadataError",
    "DagsterUnknownPartitionError": "DagwrightInvalidPartitionError",
    "DagsterRunNotFoundError": "DagwrightRunNotFoundError",
    "DagsterUserCodeExecutionError": "DagwrightUserCodeError",
}

#: Methods whose keyword arguments are checked against dagwright's (by attribute name).
_METHODS: Final = {
    "to_job": ("dagwright.definitions.graph", "GraphDefinition"),
    "execute_in_process": ("dagwright.definitions.job", "JobDefinition"),
}

_FROM_MODULE: Final = re.compile(r"from\s+(dagster)\b")
_TAG_KEY: Final = re.compile(KEY_PATTERN)


@dataclass(frozen=True)
class PortNote:
    """Something the port could not do by itself: ``line`` of the file, and what."""

    line: int
    message: str


@dataclass(frozen=True)
class PortResult:
    """A ported file: the original text, the ported text, and the notes."""

    original: str
    ported: str
    notes: tuple[PortNote, ...]

    @property
    def changed(self) -> bool:
        """Whether porting changes the text."""
        return self.ported != self.original

    def diff(self, path: str) -> str:
        """The change as a unified diff (empty when nothing changes)."""
        lines = difflib.unified_diff(
            self.original.splitlines(keepends=True),
            self.ported.splitlines(keepends=True),
            fromfile=path,
            tofile=path,
        )
        return "".join(lines)


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    text: str


@dataclass
class _Porter(ast.NodeVisitor):
    """Walks the tree once, collecting edits (character offsets) and notes."""

    source: str
    edits: list[_Edit] = field(default_factory=list)
    notes: list[PortNote] = field(default_factory=list)
    #: Local names bound by ``from dagster import``, to their dagwright names.
    imported: dict[str, str] = field(default_factory=dict)
    #: Local names that change with the import (``DagsterInstance`` → ``Instance``).
    renamed: dict[str, str] = field(default_factory=dict)
    #: Local names of ``import dagster`` (``dagster``, or the ``as`` name).
    modules: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        # Lines as Python counts them (\n, \r\n, \r), not str.splitlines (\x0c, \u2028 …).
        self._lines = io.StringIO(self.source, newline="").readlines()
        self._line_starts = [0]
        for line in self._lines:
            self._line_starts.append(self._line_starts[-1] + len(line))

    # -- positions ---------------------------------------------------------------------

    def offset(self, line: int, byte_col: int) -> int:
        """Character offset of an AST position (line 1-based, column in UTF-8 bytes)."""
        text = self._lines[line - 1] if line - 1 < len(self._lines) else ""
        return self._line_starts[line - 1] + len(text.encode()[:byte_col].decode())

    def replace(self, start: int, length: int, text: str) -> None:
        """Replace ``length`` characters at ``start`` with ``text``."""
        self.edits.append(_Edit(start, start + length, text))

    def note(self, line: int, message: str) -> None:
        """Report what the port leaves to the user."""
        self.notes.append(PortNote(line, message))

    # -- imports -----------------------------------------------------------------------

    def read_imports(self, tree: ast.AST) -> None:
        """Rewrite the imports and learn the names they bind (before any use is seen)."""
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                self._import(node)
            elif isinstance(node, ast.ImportFrom):
                self._import_from(node)

    def _import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name == "dagster":
                self.replace(self.offset(alias.lineno, alias.col_offset), 7, "dagwright")
                self.modules.add(alias.asname or "dagster")
            elif _is_dagster_module(alias.name):
                self.note(node.lineno, f"dagwright has no module like {alias.name!r}")

    def _import_from(self, node: ast.ImportFrom) -> None:
        if node.module != "dagster":
            if node.level == 0 and node.module and _is_dagster_module(node.module):
                self.note(node.lineno, f"dagwright has no module like {node.module!r}")
            return
        start = self.offset(node.lineno, node.col_offset)
        found = _FROM_MODULE.match(self.source, start)
        if found is not None:
            self.replace(found.start(1), len("dagster"), "dagwright")
        for alias in node.names:
            self._import_name(alias)

    def _import_name(self, alias: ast.alias) -> None:
        if alias.name == "*":
            return
        new = RENAMES.get(alias.name, alias.name)
        if new != alias.name:
            self.replace(self.offset(alias.lineno, alias.col_offset), len(alias.name), new)
        if not _exists(new):
            self.note(alias.lineno, f"dagwright has no {alias.name!r}")
        self.imported[alias.asname or alias.name] = new
        if alias.asname is None and new != alias.name:
            self.renamed[alias.name] = new

    # -- uses --------------------------------------------------------------------------

    def visit_Name(self, node: ast.Name) -> None:
        new = self.renamed.get(node.id)
        if new is not None:
            self.replace(self.offset(node.lineno, node.col_offset), len(node.id), new)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        value = node.value
        if isinstance(value, ast.Name) and value.id in self.modules:
            if value.id == "dagster":
                self.replace(self.offset(value.lineno, value.col_offset), 7, "dagwright")
            new = RENAMES.get(node.attr, node.attr)
            assert node.end_lineno is not None and node.end_col_offset is not None
            end = self.offset(node.end_lineno, node.end_col_offset)
            if new != node.attr:
                self.replace(end - len(node.attr), len(node.attr), new)
            if not _exists(new):
                self.note(node.lineno, f"dagwright has no {node.attr!r}")
            return  # value is a bare module name: nothing more to visit
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        target = self._dagwright_callable(node.func)
        if target is not None:
            name, obj = target
            for keyword in node.keywords:
                self._check_keyword(name, obj, keyword)
        self.generic_visit(node)

    def _dagwright_callable(self, func: ast.expr) -> tuple[str, Any] | None:
        if isinstance(func, ast.Name) and func.id in self.imported:
            return func.id, _definition_object(self.imported[func.id])
        if isinstance(func, ast.Attribute):
            if isinstance(func.value, ast.Name) and func.value.id in self.modules:
                new = RENAMES.get(func.attr, func.attr)
                return func.attr, _definition_object(new)
            if func.attr in _METHODS:
                module, cls = _METHODS[func.attr]
                return func.attr, getattr(_load(module, cls), func.attr)
        return None

    def _check_keyword(self, name: str, obj: Any, keyword: ast.keyword) -> None:
        if keyword.arg is None or obj is None:
            return
        if keyword.arg == "dagster_type" and name in ("In", "Out"):
            self.replace(self.offset(keyword.lineno, keyword.col_offset), 12, "type")
        elif not _accepts(obj, keyword.arg):
            self.note(keyword.lineno, f"{name}() has no argument {keyword.arg!r} in dagwright")


def _is_dagster_module(name: str) -> bool:
    return name.startswith(("dagster.", "dagster_"))


def _exists(name: str) -> bool:
    import dagwright

    return name in dagwright.__all__


def _load(module: str, name: str) -> Any:
    from importlib import import_module

    return getattr(import_module(module), name)


def _definition_object(name: str) -> Any:
    """The dagwright callable of that name, if it is a definition (op, job, In, Field …):
    their arguments are checked; others (Instance …) are not loaded."""
    import dagwright

    module = dagwright._LAZY.get(name)
    if module is None or not module.startswith(("dagwright.definitions.", "dagwright.metadata")):
        return None
    return _load(module, name)


def _accepts(obj: Any, argument: str) -> bool:
    try:
        parameters = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return True
    names = {p.name for p in parameters if p.kind is not p.POSITIONAL_ONLY}
    return argument in names or any(p.kind is p.VAR_KEYWORD for p in parameters)


# -- strings ---------------------------------------------------------------------------------


def _string_tokens(source: str) -> Iterator[tokenize.TokenInfo]:
    for token in tokenize.generate_tokens(io.StringIO(source, newline="").readline):
        if token.type == tokenize.STRING:
            yield token


def _port_strings(porter: _Porter) -> None:
    for token in _string_tokens(porter.source):
        prefix = token.string[: len(token.string) - len(token.string.lstrip("rRuUbBfF"))]
        if set(prefix.lower()) & {"b", "f"}:
            continue
        value = ast.literal_eval(token.string)
        if not isinstance(value, str) or not _TAG_KEY.fullmatch(value):
            continue
        if not is_dagster_tag(value):
            continue
        line, col = token.start
        start = porter._line_starts[line - 1] + col
        body = start + len(prefix) + _quote_length(token.string[len(prefix) :])
        equivalent = DAGSTER_TAG_EQUIVALENTS.get(value)
        if equivalent is not None and porter.source.startswith(value, body):
            porter.replace(body, len(value), equivalent)
        else:
            porter.note(line, f"tag {value!r} has no dagwright equivalent (dagwright refuses it)")


def _quote_length(literal: str) -> int:
    return 3 if literal[:3] in ('"""', "'''") else 1


# -- the whole file --------------------------------------------------------------------------


def port_source(source: str, filename: str = "<string>") -> PortResult:
    """Port the text of a Dagster job file.

    Raises:
        DagwrightCodeLoadError: the text is not valid Python.
    """
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as exc:
        raise DagwrightCodeLoadError(
            f"{filename} is not valid Python: {exc.msg} (line {exc.lineno})"
        ) from None
    porter = _Porter(source)
    porter.read_imports(tree)
    porter.visit(tree)
    _port_strings(porter)
    return PortResult(source, _apply(source, porter.edits), tuple(_sorted(porter.notes)))


def _sorted(notes: list[PortNote]) -> list[PortNote]:
    unique = dict.fromkeys(notes)
    return sorted(unique, key=lambda n: n.line)


def _apply(source: str, edits: list[_Edit]) -> str:
    parts: list[str] = []
    position = 0
    for edit in sorted(set(edits), key=lambda e: e.start):
        if edit.start < position:
            continue  # one span reached twice (cannot happen with distinct nodes)
        parts.append(source[position : edit.start])
        parts.append(edit.text)
        position = edit.end
    parts.append(source[position:])
    return "".join(parts)


def port_file(path: str) -> PortResult:
    """Read and port one file.

    Raises:
        DagwrightCodeLoadError: the file is missing, not UTF-8 or not valid Python.
    """
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            source = handle.read()
    except FileNotFoundError:
        raise DagwrightCodeLoadError(f"code file {path!r} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DagwrightCodeLoadError(f"cannot read {path!r}: {exc}") from None
    return port_source(source, path)
