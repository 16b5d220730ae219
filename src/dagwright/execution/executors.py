"""Executor definitions: how the steps of one run are executed.

Two executors: :data:`in_process_executor` (the default) and :data:`multiprocess_executor`
(each step in its own OS process, at most ``max_concurrent`` at once). A launched run uses
its job's executor; ``execute_in_process`` always executes in process.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from dagwright.errors import DagwrightDefinitionError, DagwrightInvalidConfigError

#: Name of the multiprocess executor (``ExecutorDefinition.name``).
MULTIPROCESS: Final = "multiprocess"
#: Name of the Celery executor (``dagwright.celery.celery_executor``).
CELERY: Final = "celery"

#: The run-config key of executor options: ``{"execution": {"config": {...}}}``.
EXECUTION_KEY: Final = "execution"

_OPTIONS: Final = frozenset({"max_concurrent"})


def _check_max_concurrent(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"must be a positive integer, got {value!r}")
    return value


@dataclass(frozen=True)
class ExecutorDefinition:
    """Names an executor and its options; set on a job with ``executor_def=``.

    Attributes:
        name: ``in_process`` (steps one after another in the run's process) or
            ``multiprocess`` (each step in its own process).
        max_concurrent: multiprocess only: at most this many step processes at once
            (None: ``os.cpu_count()``).
    """

    name: str
    max_concurrent: int | None = None

    def configured(
        self, config: Mapping[str, Any] | None = None, /, *, max_concurrent: int | None = None
    ) -> ExecutorDefinition:
        """A copy with other options: ``configured(max_concurrent=4)`` or, as in Dagster,
        ``configured({"max_concurrent": 4})``.

        Raises:
            DagwrightDefinitionError: an unknown option, an option this executor does not
                take, or a ``max_concurrent`` that is not a positive integer.
        """
        options = dict(config or {})
        if max_concurrent is not None:
            options["max_concurrent"] = max_concurrent
        unknown = set(options) - (_OPTIONS if self.name == MULTIPROCESS else set())
        if unknown:
            raise DagwrightDefinitionError(
                f"executor {self.name!r} has no option {sorted(unknown)[0]!r}"
            )
        if "max_concurrent" not in options:
            return self
        try:
            value = _check_max_concurrent(options["max_concurrent"])
        except ValueError as exc:
            raise DagwrightDefinitionError(
                f"executor {self.name!r}: max_concurrent {exc}"
            ) from None
        return replace(self, max_concurrent=value)


#: Steps run one after another in the run's own process (the default).
in_process_executor = ExecutorDefinition("in_process")

#: Each step of a launched run in its own OS process, ``max_concurrent`` at most at once.
multiprocess_executor = ExecutorDefinition(MULTIPROCESS)


def check_execution_config(executor: ExecutorDefinition | None, execution: object) -> None:
    """Validate the ``execution`` part of a run config against the job's executor.

    Raises:
        DagwrightInvalidConfigError: naming the key at fault.
    """
    if not isinstance(execution, Mapping) or set(execution) - {"config"}:
        raise DagwrightInvalidConfigError(
            "run_config", "expected {'config': {...}}", key=EXECUTION_KEY
        )
    config = execution.get("config") or {}
    if not isinstance(config, Mapping):
        raise DagwrightInvalidConfigError("run_config", "must be a mapping", key="execution.config")
    name = executor.name if executor is not None else in_process_executor.name
    allowed = _OPTIONS if name == MULTIPROCESS else frozenset()
    for key, value in config.items():
        if key not in allowed:
            raise DagwrightInvalidConfigError(
                "run_config",
                f"executor {name!r} has no option {key!r}",
                key=f"execution.config.{key}",
            )
        try:
            _check_max_concurrent(value)
        except ValueError as exc:
            raise DagwrightInvalidConfigError(
                "run_config", str(exc), key=f"execution.config.{key}"
            ) from None


def max_concurrent_for(executor: ExecutorDefinition | None, run_config: Mapping[str, Any]) -> int:
    """How many step processes a run may have at once: the run config's
    ``execution.config.max_concurrent``, else the executor's, else ``os.cpu_count()``."""
    config = (run_config.get(EXECUTION_KEY) or {}).get("config") or {}
    given = config.get("max_concurrent")
    if given is None and executor is not None:
        given = executor.max_concurrent
    return int(given) if given is not None else os.cpu_count() or 1
