"""Loading user code: ``-f path.py`` / ``-m module`` to :class:`Definitions`, and back
from a run's :class:`~dagwright.runs.models.CodePointer` in another process."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from dagwright.definitions.container import Definitions
from dagwright.definitions.job import JobDefinition
from dagwright.definitions.schedule import ScheduleDefinition
from dagwright.definitions.sensor import SensorDefinition
from dagwright.errors import DagwrightCodeLoadError, DagwrightError
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


def _load_module(module_name: str) -> ModuleType:
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name + ".").startswith(exc.name + "."):
            raise DagwrightCodeLoadError(f"module {module_name!r} not found") from exc
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


def load_definitions(python_file: str | None = None, module: str | None = None) -> Definitions:
    """Load the definitions of a code file or an importable module (exactly one).

    Raises:
        DagwrightCodeLoadError: the file or module is missing, fails to import, or has no jobs.
    """
    if (python_file is None) == (module is None):
        raise DagwrightCodeLoadError("give exactly one of a code file (-f) and a module (-m)")
    loaded = _load_file(python_file) if python_file is not None else _load_module(module or "")
    return definitions_of(loaded)


def code_pointer_for(job_def: JobDefinition) -> CodePointer | None:
    """A pointer another process can load ``job_def`` from, if its origin is known."""
    origin = job_def.defined_in
    if origin.file and (
        origin.module in (None, "__main__") or str(origin.module).startswith(FILE_MODULE_PREFIX)
    ):
        return CodePointer(job_name=job_def.name, python_file=origin.file)
    if origin.module and origin.module != "__main__":
        return CodePointer(job_name=job_def.name, module=origin.module)
    return None


def load_job(pointer: CodePointer) -> JobDefinition:
    """Load the job a code pointer names.

    Raises:
        DagwrightCodeLoadError: the code or the job is not there.
    """
    definitions = load_definitions(python_file=pointer.python_file, module=pointer.module)
    return definitions.get_job(pointer.job_name)
