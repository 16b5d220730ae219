"""Loading user code: ``-f path.py`` / ``-m module`` to :class:`Definitions`, and back
from a run's :class:`~dagwright.runs.models.CodePointer` in another process."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import importlib.util
import os
import sys
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

from dagwright.definitions.container import Definitions
from dagwright.definitions.job import JobDefinition
from dagwright.definitions.schedule import ScheduleDefinition
from dagwright.definitions.sensor import SensorDefinition
from dagwright.errors import DagwrightCodeLoadError, DagwrightCodeLocationError, DagwrightError
from dagwright.runs.models import CodePointer

#: Prefix of the module names given to code files loaded by path.
FILE_MODULE_PREFIX = "__dagwright_file__"


def _file_module_name(path: Path) -> str:
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    return f"{FILE_MODULE_PREFIX}.{path.stem}_{digest}"


def _load_file(python_file: str) -> ModuleType:
    path = Path(python_file).expanduser().resolve()
    if not path.is_file():
        raise DagwrightCodeLoadError(f"code file {python_file!r} not found")
    name = _file_module_name(path)
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise DagwrightCodeLoadError(f"code file {python_file!r} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except DagwrightError:
        del sys.modules[name]
        raise
    except BaseException as exc:
        del sys.modules[name]
        raise DagwrightCodeLoadError(
            f"error loading {python_file!r}: {type(exc).__name__}: {exc}"
        ) from exc
    return module


def _load_module(module_name: str, working_directory: str | None = None) -> ModuleType:
    if working_directory is None:
        if "" not in sys.path and str(Path.cwd()) not in sys.path:
            sys.path.insert(0, str(Path.cwd()))
    elif working_directory not in sys.path:
        sys.path.insert(0, working_directory)  # first: not another directory's module
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name + ".").startswith(exc.name + "."):
            where = f" in {working_directory!r}" if working_directory else ""
            raise DagwrightCodeLoadError(f"module {module_name!r} not found{where}") from exc
        raise DagwrightCodeLoadError(f"error loading module {module_name!r}: {exc}") from exc
    except DagwrightError:
        raise
    except BaseException as exc:
        raise DagwrightCodeLoadError(
            f"error loading module {module_name!r}: {type(exc).__name__}: {exc}"
        ) from exc


def definitions_of(module: ModuleType) -> Definitions:
    """The module's ``Definitions`` object, or one made of its top-level jobs, schedules
    and sensors.

    Raises:
        DagwrightCodeLoadError: several ``Definitions`` objects, or nothing to load.
    """
    found = [v for v in vars(module).values() if isinstance(v, Definitions)]
    if len(found) > 1:
        raise DagwrightCodeLoadError(f"{_label(module)} has {len(found)} Definitions objects")
    if found:
        return found[0]
    # A list, not a dict by name: Definitions refuses two jobs with one name, naming
    # both (the same job under two names is one job).
    values = list(vars(module).values())
    jobs = [v for v in values if isinstance(v, JobDefinition)]
    schedules = [v for v in values if isinstance(v, ScheduleDefinition)]
    sensors = [v for v in values if isinstance(v, SensorDefinition)]
    if not jobs and not schedules and not sensors:
        raise DagwrightCodeLoadError(f"{_label(module)} defines no Definitions and no job")
    return Definitions(jobs=jobs, schedules=schedules, sensors=sensors)


def _label(module: ModuleType) -> str:
    if module.__name__.startswith(FILE_MODULE_PREFIX):
        return f"code file {module.__file__!r}"
    return f"module {module.__name__!r}"


def load_definitions(
    python_file: str | None = None,
    module: str | None = None,
    *,
    working_directory: str | None = None,
) -> Definitions:
    """Load the definitions of a code file or an importable module (exactly one).

    Args:
        python_file: a code file (``-f``).
        module: a module name (``-m``), imported from ``working_directory`` (default: the
            current directory).
        working_directory: where ``module`` is imported from (put first on ``sys.path``).

    Raises:
        DagwrightCodeLoadError: the file or module is missing, fails to import, or has no jobs.
    """
    if (python_file is None) == (module is None):
        raise DagwrightCodeLoadError("give exactly one of a code file (-f) and a module (-m)")
    if python_file is not None:
        return definitions_of(_load_file(python_file))
    return definitions_of(_load_module(module or "", working_directory))


def _spec_by_name(name: str) -> ModuleSpec | None:
    """The spec a fresh process would find for ``name``, without importing it (the modules
    already imported are not consulted, only the finders)."""
    parent, _, _ = name.rpartition(".")
    path: list[str] | None = None
    if parent:
        parent_spec = _spec_by_name(parent)
        if parent_spec is None or parent_spec.submodule_search_locations is None:
            return None
        path = list(parent_spec.submodule_search_locations)
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        if find is None:
            continue
        try:
            spec: ModuleSpec | None = find(name, path)
        except (ImportError, ValueError):
            continue
        if spec is not None:
            return spec
    return None


def _import_root(module_name: str, file: str | None) -> str | None:
    """The directory another process imports ``file`` from as ``module_name`` (the
    ``sys.path`` entry it is found in), or None when no other process can import it by
    that name (``__main__``, a module loaded with ``spec_from_file_location``)."""
    if module_name == "__main__" or module_name.startswith(FILE_MODULE_PREFIX):
        return None
    return _cached_import_root(module_name, file, tuple(sys.path), os.getcwd())


@functools.lru_cache(maxsize=1024)
def _cached_import_root(
    module_name: str, file: str | None, _path: tuple[str, ...], _cwd: str
) -> str | None:
    """:func:`_import_root`, looked up once per module, file, ``sys.path`` and directory
    (a backfill prepares a thousand runs of one job)."""
    spec = _spec_by_name(module_name)
    if spec is None or spec.origin is None or file is None:
        return None
    origin = Path(os.path.realpath(spec.origin))
    if origin != Path(os.path.realpath(file)):
        return None
    depth = module_name.count(".") + (1 if spec.submodule_search_locations else 0)
    return str(origin.parents[depth])


def code_pointer_for(job_def: JobDefinition) -> CodePointer | None:
    """A pointer another process can load ``job_def`` from, if its origin is known.

    A module that another process can import by name gives a module pointer with the
    absolute directory it is imported from (``working_directory``); otherwise
    (``__main__``, a code file loaded by path, a module loaded by
    ``importlib.util.spec_from_file_location``) the file the job was defined in gives a
    file pointer with its absolute path.
    """
    origin = job_def.defined_in
    name, location = job_def.name, job_def.location_name
    root = _import_root(origin.module, origin.file) if origin.module else None
    if root is not None:
        return CodePointer(
            job_name=name, module=origin.module, working_directory=root, location_name=location
        )
    if origin.file and not origin.file.startswith("<"):  # not "<stdin>", "<string>"
        path = os.path.realpath(origin.file)
        return CodePointer(job_name=name, python_file=path, location_name=location)
    return None


def load_job(pointer: CodePointer) -> JobDefinition:
    """Load the job a code pointer names (a module from the pointer's working directory),
    as a job of the pointer's code location (``location_name``), so that runs made from it
    (re-executions) record the same location.

    Raises:
        DagwrightCodeLoadError: the code or the job is not there.
    """
    definitions = load_definitions(
        python_file=pointer.python_file,
        module=pointer.module,
        working_directory=pointer.working_directory,
    )
    job_def = definitions.get_job(pointer.job_name)
    if pointer.location_name is None:
        return job_def
    return dataclasses.replace(job_def, location_name=pointer.location_name)


def loaded_job(definitions: Definitions, pointer: CodePointer, action: str) -> JobDefinition:
    """The job of ``definitions`` (code this process was started with) that ``pointer``
    names, without importing anything.

    Raises:
        DagwrightCodeLocationError: no job of ``definitions`` lives at that location.
    """
    for job_def in definitions.jobs_named(pointer.job_name, pointer.location_name):
        mine = code_pointer_for(job_def)
        if mine is not None and mine.same_location(pointer):
            return job_def
    raise DagwrightCodeLocationError(pointer.describe(), code_locations(definitions), action)


def code_locations(definitions: Definitions) -> tuple[str, ...]:
    """The code locations of the jobs of ``definitions``, described, sorted."""
    pointers = (code_pointer_for(job_def) for job_def in definitions.jobs.values())
    return tuple(sorted({p.describe() for p in pointers if p is not None}))
