"""Executor definitions: how the steps of one run are executed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExecutorDefinition:
    """Names an executor and its options; set on a job with ``executor_def=``.

    Attributes:
        name: ``in_process`` (steps one after another in the run's process).
    """

    name: str


#: Steps run one after another in the run's own process (the default).
in_process_executor = ExecutorDefinition("in_process")
