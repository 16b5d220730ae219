"""What every route serves: the instance and the loaded jobs (``request.app.state.web``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.requests import Request

from dagwright.definitions.container import Definitions
from dagwright.definitions.job import JobDefinition
from dagwright.instance import Instance


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


def web_context(request: Request) -> WebContext:
    """The :class:`WebContext` of the app serving ``request`` (a FastAPI dependency)."""
    context: WebContext = request.app.state.web
    return context
