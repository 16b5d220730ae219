"""Reading ``workspace.yaml`` (Dagster's shape) into code location origins.

```yaml
load_from:
  - python_file: {relative_path: jobs/etl.py, location_name: etl}
  - python_module: {module_name: team_ml.jobs, location_name: ml, working_directory: ./ml}
  - python_file: other.py            # short form: the location is named after the file
```

Paths (``relative_path``, ``working_directory``) are relative to the workspace file; a
module without ``working_directory`` is imported from the workspace file's directory. A code
file is imported with its own directory on ``sys.path`` (it takes no ``working_directory``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from dagwright.definitions.workspace import CodeLocationOrigin, check_location_name
from dagwright.errors import DagwrightInvalidConfigError

#: The keys of each kind of entry: the one that names the code, then the optional ones.
_FIELDS: Final = {
    "python_file": ("relative_path", {"location_name"}),
    "python_module": ("module_name", {"location_name", "working_directory"}),
}


def read_workspace_file(path: str | Path) -> list[CodeLocationOrigin]:
    """The code locations a ``workspace.yaml`` lists, in order (nothing is imported).

    Raises:
        DagwrightInvalidConfigError: the file is missing or not YAML, or an entry is
            malformed; ``where`` is the file and ``key`` the entry's key
            (``load_from[1].python_module.module_name``).
    """
    import yaml

    file = Path(path)
    if not file.is_file():
        raise DagwrightInvalidConfigError(str(file), "workspace file not found")
    try:
        data = yaml.safe_load(file.read_text())
    except yaml.YAMLError as exc:
        raise DagwrightInvalidConfigError(str(file), f"not valid YAML: {exc}") from None
    entries = _load_from(data, str(file))
    base = file.resolve().parent
    return [_origin(entry, f"load_from[{i}]", base, str(file)) for i, entry in enumerate(entries)]


def _load_from(data: Any, where: str) -> list[Any]:
    if not isinstance(data, Mapping):
        raise DagwrightInvalidConfigError(where, "must hold a mapping with load_from")
    unknown = sorted(str(key) for key in data if key != "load_from")
    if unknown:
        raise DagwrightInvalidConfigError(where, "unknown key (expected load_from)", unknown[0])
    entries = data.get("load_from")
    if not isinstance(entries, list) or not entries:
        raise DagwrightInvalidConfigError(
            where, "must be a non-empty list of code locations", "load_from"
        )
    return entries


def _origin(entry: Any, key: str, base: Path, where: str) -> CodeLocationOrigin:
    if not isinstance(entry, Mapping) or len(entry) != 1:
        raise DagwrightInvalidConfigError(
            where, "must be a mapping of one key: python_file or python_module", key
        )
    kind, value = next(iter(entry.items()))
    if kind not in _FIELDS:
        raise DagwrightInvalidConfigError(
            where, "unsupported code location (use python_file or python_module)", f"{key}.{kind}"
        )
    key = f"{key}.{kind}"
    fields = _fields(kind, value, key, where)
    source = f"{where}, {key}"
    name = fields.get("location_name")
    if name is not None:
        check_location_name(name, f"{where}, {key}.location_name")
    directory = fields.get("working_directory")
    working_directory = str((base / directory).resolve()) if directory is not None else None
    if kind == "python_file":
        return CodeLocationOrigin(
            python_file=str(base / fields["relative_path"]), location_name=name, source=source
        )
    return CodeLocationOrigin(
        module=fields["module_name"],
        working_directory=working_directory or str(base),
        location_name=name,
        source=source,
    )


def _fields(kind: str, value: Any, key: str, where: str) -> dict[str, str]:
    """The entry's fields as strings; the short form (a string) is its required field."""
    required, optional = _FIELDS[kind]
    if isinstance(value, str):
        value = {required: value}
    if not isinstance(value, Mapping):
        raise DagwrightInvalidConfigError(
            where, f"must be a string or a mapping with {required}", key
        )
    for field, given in value.items():
        if field != required and field not in optional:
            allowed = ", ".join([required, *sorted(optional)])
            raise DagwrightInvalidConfigError(
                where, f"unknown key (allowed: {allowed})", f"{key}.{field}"
            )
        if not isinstance(given, str) or not given.strip():
            raise DagwrightInvalidConfigError(where, "must be a non-empty string", f"{key}.{field}")
    if required not in value:
        raise DagwrightInvalidConfigError(where, "is required", f"{key}.{required}")
    return dict(value)
