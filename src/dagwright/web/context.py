"""What every route serves: the instance and the loaded code (``request.app.state.web``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import Request

from dagwright.definitions.container import Definitions
from dagwright.definitions.job import JobDefinition
from dagwright.errors import (
    DagwrightCodeLocationError,
    DagwrightNotFoundError,
    DagwrightRunNotFoundError,
)
from dagwright.instance import Instance
from dagwright.runs.models import RunsFilter
from dagwright.runs.ticks import InstigatorKind

if TYPE_CHECKING:
    from dagwright.runs.backfills import Backfill
    from dagwright.runs.models import Run


@dataclass(frozen=True)
class WebContext:
    """The instance the app is a surface of, and the jobs of the loaded code (if any)."""

    instance: Instance
    definitions: Definitions = field(default_factory=Definitions)

    @property
    def jobs(self) -> Mapping[str, JobDefinition]:
        """The loaded jobs by reference: the name, or ``name@location`` when several code
        locations have a job of that name."""
        return self.definitions.jobs

    @property
    def locations(self) -> list[str]:
        """The names of the loaded code locations (none for a plain ``Definitions``)."""
        return list(getattr(self.definitions, "locations", {}))

    def job_runs_filter(self, job: JobDefinition) -> RunsFilter:
        """The runs of ``job``: by name, and by code location when another loaded
        location has a job of that name (so a single location also shows the runs stored
        before locations were recorded)."""
        shared = len(self.definitions.jobs_named(job.name)) > 1
        return RunsFilter(job_name=job.name, location_name=job.location_name if shared else None)

    def latest_runs(self) -> dict[str, Run]:
        """The newest run of each loaded job that has one, by reference."""
        refs = {job.name: ref for ref, job in self.jobs.items() if ref == job.name}
        by_name = self.instance.get_latest_runs(list(refs))
        latest = {refs[name]: run for name, run in by_name.items()}
        for ref, job in self.jobs.items():
            if ref not in refs.values():
                runs = self.instance.get_runs(self.job_runs_filter(job), limit=1)
                if runs:
                    latest[ref] = runs[0]
        return latest

    def run_job_reference(self, run: Run | Backfill) -> str:
        """How the job of a run (or backfill) is addressed in the loaded code: by its
        reference when its recorded location is loaded, else by its name."""
        pointer = run.code_pointer
        location = pointer.location_name if pointer is not None else None
        for job in self.definitions.jobs_named(run.job_name, location):
            if location is not None and job.location_name == location:
                return self.definitions.reference(job)
        return run.job_name

    def get_job(self, name: str) -> JobDefinition:
        """The loaded job with this reference (``name``, or ``name@location``).

        Raises:
            DagwrightCodeLoadError: no such job is loaded, or the plain name is in several
                locations (the message lists the jobs, or the references to choose from).
        """
        return self.definitions.get_job(name)

    def get_run(self, run_id: str) -> Run:
        """The run with this id.

        Raises:
            DagwrightRunNotFoundError: there is none.
        """
        run = self.instance.get_run(run_id)
        if run is None:
            raise DagwrightRunNotFoundError(run_id)
        return run

    def reexecute_refusal(self, run: Run) -> str | None:
        """Why this server does not re-execute ``run`` (its code is not one this server was
        started with, or it has no code pointer), or None when it does."""
        from dagwright.definitions.loader import loaded_job

        if run.code_pointer is None:
            return "this run has no code pointer: it cannot be re-executed"
        try:
            loaded_job(self.definitions, run.code_pointer, f"re-execute run {run.run_id!r}")
        except DagwrightCodeLocationError as exc:
            return str(exc)
        return None

    def get_backfill(self, backfill_id: str) -> Backfill:
        """The backfill with this id, with its progress.

        Raises:
            DagwrightNotFoundError: there is none.
        """
        backfill = self.instance.get_backfill(backfill_id)
        if backfill is None:
            raise DagwrightNotFoundError("backfill", backfill_id)
        return backfill

    def check_instigator_name(self, name: str, kind: InstigatorKind | None = None) -> None:
        """Check that a schedule or sensor (of ``kind``, if given) is named ``name``.

        Raises:
            DagwrightNotFoundError: none is loaded.
        """
        kinds = [kind] if kind is not None else list(InstigatorKind)
        if not any(name in self.definitions.instigators(each) for each in kinds):
            what = kind.value if kind is not None else "schedule or sensor"
            raise DagwrightNotFoundError(what, name)


def web_context(request: Request) -> WebContext:
    """The :class:`WebContext` of the app serving ``request`` (a FastAPI dependency)."""
    context: WebContext = request.app.state.web
    return context
