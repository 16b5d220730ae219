"""The Celery executor definition: ``celery_executor`` and its ``configured`` copies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from dagwright.errors import DagwrightDefinitionError
from dagwright.execution.executors import CELERY, ExecutorDefinition

#: The options ``configured`` takes, with Dagster's name of the broker option as an alias.
_OPTIONS: Final = frozenset({"broker_url", "default_queue", "default_priority"})
_ALIASES: Final = {"broker": "broker_url"}


def _check(name: str, value: object) -> Any:
    if name == "default_priority":
        if isinstance(value, bool) or not isinstance(value, int):
            raise DagwrightDefinitionError(
                f"executor 'celery': default_priority must be an integer, got {value!r}"
            )
    elif not isinstance(value, str) or not value or any(c.isspace() for c in value):
        raise DagwrightDefinitionError(
            f"executor 'celery': {name} must be a non-empty string without spaces, got {value!r}"
        )
    return value


@dataclass(frozen=True)
class CeleryExecutorDefinition(ExecutorDefinition):
    """Each step of a launched run as a Celery task (see :mod:`dagwright.celery`).

    Options left as None come from the instance's ``celery:`` settings (then the
    defaults: ``redis://127.0.0.1:6379/0``, queue ``dagwright``, priority 5).

    Attributes:
        broker_url: the broker the steps are sent to.
        default_queue: the queue of a step whose op, run and job set no
            ``dagwright-celery/queue``.
        default_priority: the priority of a step whose op sets no
            ``dagwright-celery/priority``.
    """

    broker_url: str | None = None
    default_queue: str | None = None
    default_priority: int | None = None

    def configured(
        self,
        config: Mapping[str, Any] | None = None,
        /,
        *,
        max_concurrent: int | None = None,
        broker_url: str | None = None,
        default_queue: str | None = None,
        default_priority: int | None = None,
    ) -> CeleryExecutorDefinition:
        """A copy with other options: ``configured(broker_url="redis://…")`` or, as in
        Dagster, ``configured({"broker": "redis://…", "default_queue": "etl"})``.

        Raises:
            DagwrightDefinitionError: an unknown option or a bad value.
        """
        options = {_ALIASES.get(key, key): value for key, value in dict(config or {}).items()}
        given = {
            "max_concurrent": max_concurrent,
            "broker_url": broker_url,
            "default_queue": default_queue,
            "default_priority": default_priority,
        }
        options.update({key: value for key, value in given.items() if value is not None})
        unknown = set(options) - _OPTIONS
        if unknown:
            raise DagwrightDefinitionError(
                f"executor {self.name!r} has no option {sorted(unknown)[0]!r}"
            )
        checked: dict[str, Any] = {key: _check(key, value) for key, value in options.items()}
        return replace(self, **checked)


#: Each step of a launched run as a Celery task, on ``dagwright celery worker`` processes.
celery_executor: Final = CeleryExecutorDefinition(CELERY)
