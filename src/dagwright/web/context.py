"""What every route serves: the instance and the loaded code (``request.app.state.web``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from dagwright.definitions.container import Definitions
from dagwright.definitions.job import JobDefinition
from dagwright.errors import DagwrightNotFoundError, DagwrightRunNotFoundError
from dagwright.instance import Instance
from dagwright.runs.ticks import InstigatorKind, InstigatorState, Tick, instigator_json

if TYPE_CHECKING:
    from dagwright.definitions.schedule import ScheduleDefinition
    from dagwright.definitions.sensor import SensorDefinition
    from dagwright.runs.backfills import Backfill
    from dagwright.runs.models import Run

    Defined = ScheduleDefinition | SensorDefinition


@dataclass(frozen=True)
class Instigator:
    """A schedule or sensor of the loaded code with its state and recent ticks."""

    definition: Defined
    state: InstigatorState
    ticks: list[Tick]

    def to_json(self, now: float) -> dict[str, Any]:
        """As ``schedule|sensor list --json`` prints it (see ``instigator_json``)."""
        return instigator_json(self.definition, self.state, self.ticks, now)


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

    def instigators(
        self, kind: InstigatorKind, *, name: str | None = None, ticks: int = 5
    ) -> list[Instigator]:
        """The loaded schedules or sensors (or the one named ``name``) with their state
        and their latest ``ticks`` ticks.

        Raises:
            DagwrightNotFoundError: ``name`` is given and none is loaded by that name.
        """
        if name is not None:
            self.definitions.get_instigator(kind, name)
        defined = self.definitions.instigators(kind)
        states = self.instance.get_instigator_states(kind, definitions=self.definitions)
        return [
            Instigator(
                defined[state.name],
                state,
                self.instance.get_ticks(state.name, kind=kind, limit=ticks),
            )
            for state in states
            if name is None or state.name == name
        ]


def web_context(request: Request) -> WebContext:
    """The :class:`WebContext` of the app serving ``request`` (a FastAPI dependency)."""
    context: WebContext = request.app.state.web
    return context
