"""``Workspace``: the named code locations a command, server or daemon was started with.

A code location is one code file or module (``-f``, ``-m``, an entry of ``workspace.yaml``)
and the :class:`Definitions` it exposes. A workspace holds them by name; one ``-f`` is a
workspace of one location. A job is addressed by its *reference*: its name when no other
location has a job of that name, else ``name@location`` (which always works).
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from dagwright.definitions.container import Definitions
from dagwright.definitions.job import JobDefinition
from dagwright.errors import (
    DagwrightCodeLoadError,
    DagwrightDefinitionError,
    DagwrightInvalidConfigError,
)

if TYPE_CHECKING:
    from dagwright.definitions.schedule import ScheduleDefinition
    from dagwright.definitions.sensor import SensorDefinition

#: Separates a job's name from its code location in a reference (``etl_job@etl``).
LOCATION_SEPARATOR: Final = "@"

#: What a code location's name may be made of (it appears in URLs: ``/jobs/{location}/{name}``).
LOCATION_NAME_PATTERN: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}")


@dataclass(frozen=True)
class CodeLocationOrigin:
    """Where a code location's code is, and what it is called.

    Exactly one of ``python_file`` and ``module`` is set.

    Attributes:
        python_file: a code file.
        module: a module name, imported from ``working_directory`` (default: the current
            directory).
        working_directory: where ``module`` is imported from.
        location_name: the location's name; None: the file's stem or the module's name.
        source: where the location was given, for messages (``-f jobs.py``,
            ``workspace.yaml, load_from[1]``).
    """

    python_file: str | None = None
    module: str | None = None
    working_directory: str | None = None
    location_name: str | None = None
    source: str = ""

    @property
    def name(self) -> str:
        """The location's name: as given, else the file's stem or the module's name."""
        if self.location_name is not None:
            return self.location_name
        if self.python_file is not None:
            return Path(self.python_file).stem
        return str(self.module)


def check_location_name(name: str, source: str) -> str:
    """``name`` if it can name a code location.

    Raises:
        DagwrightInvalidConfigError: it cannot (the rule is named, and ``source``).
    """
    if not isinstance(name, str) or LOCATION_NAME_PATTERN.fullmatch(name) is None:
        raise DagwrightInvalidConfigError(
            source,
            f"code location name {name!r} must be 1-255 letters, digits, '_', '.' or '-' "
            "(give the location a location_name)",
            key="location_name",
        )
    return name


def load_workspace(origins: Sequence[CodeLocationOrigin]) -> Workspace:
    """Load each code location (in the order given) into a workspace.

    Raises:
        DagwrightInvalidConfigError: no location, a bad location name, or two locations
            with one name.
        DagwrightCodeLoadError: a file or module is missing, fails to import, or has no jobs.
        DagwrightDefinitionError: two schedules (or sensors) of one name in two locations.
    """
    from dagwright.definitions.loader import load_definitions

    if not origins:
        raise DagwrightInvalidConfigError("workspace", "no code location given")
    seen: dict[str, CodeLocationOrigin] = {}
    for origin in origins:
        name = check_location_name(origin.name, origin.source)
        if name in seen:
            raise DagwrightInvalidConfigError(
                origin.source,
                f"two code locations are named {name!r} ({seen[name].source} and "
                f"{origin.source}); give one a location_name in a workspace.yaml",
                key="location_name",
            )
        seen[name] = origin
    return Workspace(
        {
            name: load_definitions(
                python_file=origin.python_file,
                module=origin.module,
                working_directory=origin.working_directory,
            )
            for name, origin in seen.items()
        }
    )


class Workspace(Definitions):
    """Named code locations, each a :class:`Definitions`, seen as one.

    A workspace is used wherever loaded code is (``definitions=`` of the instance, the web
    app, the daemon): its ``jobs`` are keyed by reference (the name, or ``name@location``
    when several locations have a job of that name), each job carrying its
    ``location_name`` so the runs made of it record the location. Schedules and sensors are
    keyed by name, which must be unique across the workspace (their state is stored by
    name).

    Raises:
        DagwrightInvalidConfigError: no locations, or a bad location name.
        DagwrightDefinitionError: two schedules (or sensors) of one name in two locations.
    """

    def __init__(self, locations: Mapping[str, Definitions]) -> None:
        if not locations:
            raise DagwrightInvalidConfigError("workspace", "no code location given")
        self._locations = {
            check_location_name(name, f"code location {name!r}"): _located(definitions, name)
            for name, definitions in locations.items()
        }
        self._jobs = _jobs_by_reference(self._locations)
        self._schedules = _unique_across(self._locations, "schedules")
        self._sensors = _unique_across(self._locations, "sensors")

    @property
    def locations(self) -> Mapping[str, Definitions]:
        """The code locations by name, in the order given."""
        return self._locations

    def get_job(self, name: str) -> JobDefinition:
        """The job with this reference: ``name`` (when one location has a job of that name)
        or ``name@location``.

        Raises:
            DagwrightCodeLoadError: there is none, or the plain name is in several
                locations (the message lists the references to choose from).
        """
        found = self._jobs.get(name)
        if found is not None:
            return found
        job_name, _, location = name.partition(LOCATION_SEPARATOR)
        if location:
            return self._job_of_location(job_name, location)
        candidates = [job_reference(job) for job in self.jobs_named(name)]
        if candidates:
            raise DagwrightCodeLoadError(
                f"job {name!r} is in several code locations: name one of {', '.join(candidates)}"
            )
        known = ", ".join(self._jobs) or "none"
        raise DagwrightCodeLoadError(f"no job named {name!r} (jobs: {known})")

    def _job_of_location(self, job_name: str, location: str) -> JobDefinition:
        definitions = self._locations.get(location)
        if definitions is None:
            known = ", ".join(self._locations)
            raise DagwrightCodeLoadError(
                f"no code location named {location!r} (code locations: {known})"
            )
        return definitions.get_job(job_name)

    def jobs_named(self, name: str, location_name: str | None = None) -> list[JobDefinition]:
        """The jobs called ``name`` in every location, those of ``location_name`` first."""
        found = [d.jobs[name] for d in self._locations.values() if name in d.jobs]
        return sorted(found, key=lambda job: job.location_name != location_name)

    def reference(self, job: JobDefinition) -> str:
        """How ``job`` is addressed in this workspace: its name, or ``name@location``."""
        return job.name if self._jobs.get(job.name) is job else job_reference(job)


def job_reference(job: JobDefinition) -> str:
    """``name@location`` of a job loaded in a workspace (its name when it has no location)."""
    if job.location_name is None:
        return job.name
    return f"{job.name}{LOCATION_SEPARATOR}{job.location_name}"


def split_reference(reference: str) -> tuple[str, str | None]:
    """``name@location`` into ``(name, location)``; a plain name gives ``(name, None)``."""
    name, _, location = reference.partition(LOCATION_SEPARATOR)
    return name, location or None


def _located(definitions: Definitions, name: str) -> Definitions:
    """A copy of ``definitions`` whose jobs (and the jobs of its schedules and sensors)
    carry ``location_name=name``."""
    jobs = {
        job_name: dataclasses.replace(job, location_name=name)
        for job_name, job in definitions.jobs.items()
    }
    return Definitions(
        jobs=jobs.values(),
        schedules=[_with_job(s, jobs) for s in definitions.schedules.values()],
        sensors=[_with_job(s, jobs) for s in definitions.sensors.values()],
    )


def _with_job(instigator: Any, jobs: Mapping[str, JobDefinition]) -> Any:
    located = copy.copy(instigator)
    located.job = jobs[instigator.job.name]
    return located


def _jobs_by_reference(locations: Mapping[str, Definitions]) -> dict[str, JobDefinition]:
    counts: dict[str, int] = {}
    for definitions in locations.values():
        for name in definitions.jobs:
            counts[name] = counts.get(name, 0) + 1
    return {
        (name if counts[name] == 1 else job_reference(job)): job
        for definitions in locations.values()
        for name, job in definitions.jobs.items()
    }


def _unique_across(locations: Mapping[str, Definitions], what: str) -> dict[str, Any]:
    found: dict[str, ScheduleDefinition | SensorDefinition] = {}
    for location, definitions in locations.items():
        items: Iterable[Any] = getattr(definitions, what).values()
        for item in items:
            known = found.get(item.name)
            if known is not None:
                raise DagwrightDefinitionError(
                    f"two {what} are named {item.name!r}: one in code location "
                    f"{known.job.location_name!r} (defined at {known.defined_at}), the other "
                    f"in {location!r} (defined at {item.defined_at}); {what[:-1]} names must "
                    "be unique across a workspace"
                )
            found[item.name] = item
    return found
