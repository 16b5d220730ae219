"""What every route serves: the instance and the loaded code (``request.app.state.web``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import Request

from dagwright.definitions.container import Definitions
from dagwright.definitions.job import JobDefinition
from dagwright.errors import DagwrightNotFoundError, DagwrightRunNotFoundError
from dagwright.instance import Instance
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
        """The loaded jobs by name."""
        return self.definitions.jobs

    def get_job(self, name: str) -> JobDefinition:
        """The loaded job named ``name``.

        Raises:
            DagwrightCodeLoadError: no such job is loaded (the message lists the jobs).
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
