"""``Definitions``: what a code file exposes (jobs, schedules, sensors)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dagwright.definitions.job import JobDefinition
from dagwright.errors import DagwrightCodeLoadError, DagwrightDefinitionError


class Definitions:
    """The jobs (and, later, schedules and sensors) of one code location.

    Raises:
        DagwrightDefinitionError: two jobs share a name, or an entry is not a job.
    """

    def __init__(
        self,
        jobs: Iterable[JobDefinition] = (),
        schedules: Iterable[Any] = (),
        sensors: Iterable[Any] = (),
    ) -> None:
        self._jobs: dict[str, JobDefinition] = {}
        for job_def in jobs:
            if not isinstance(job_def, JobDefinition):
                raise DagwrightDefinitionError(
                    f"Definitions(jobs=...) takes jobs, not {type(job_def).__name__}"
                )
            if job_def.name in self._jobs and self._jobs[job_def.name] is not job_def:
                raise DagwrightDefinitionError(f"two jobs are named {job_def.name!r}")
            self._jobs[job_def.name] = job_def
        self.schedules = list(schedules)
        self.sensors = list(sensors)

    @property
    def jobs(self) -> Mapping[str, JobDefinition]:
        """Jobs by name, in the order given."""
        return self._jobs

    def get_job(self, name: str) -> JobDefinition:
        """The job with this name.

        Raises:
            DagwrightCodeLoadError: there is none; the message lists the jobs that exist.
        """
        try:
            return self._jobs[name]
        except KeyError:
            known = ", ".join(self._jobs) or "none"
            raise DagwrightCodeLoadError(f"no job named {name!r} (jobs: {known})") from None
