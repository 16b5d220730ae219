"""``ExecuteInProcessResult``: what ``execute_in_process`` returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dagwright.definitions.composition import NodeOutput
from dagwright.definitions.op import DEFAULT_OUTPUT
from dagwright.errors import DagwrightExecutionError
from dagwright.execution.events import Event
from dagwright.runs.models import Run, RunStatus


class ExecuteInProcessResult:
    """The outcome of a run executed in this process.

    Attributes:
        run: the run as it ended (status, tags, timestamps).
        all_events: every event the run wrote, in order.
    """

    def __init__(
        self, run: Run, events: Sequence[Event], outputs: Mapping[NodeOutput, Any]
    ) -> None:
        self.run = run
        self.all_events = list(events)
        self._outputs = dict(outputs)

    @property
    def success(self) -> bool:
        """Whether the run succeeded."""
        return self.run.status == RunStatus.SUCCESS

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self.run.run_id

    def output_for_node(self, node_name: str, output_name: str = DEFAULT_OUTPUT) -> Any:
        """The value an op returned (``output_name`` for ops with several outputs).

        Raises:
            DagwrightExecutionError: the op did not run, failed, or has no such output.
        """
        try:
            return self._outputs[NodeOutput(node_name, output_name)]
        except KeyError:
            raise DagwrightExecutionError(
                self.run_id, f"op {node_name!r} produced no output {output_name!r} in this run"
            ) from None

    def events_for_node(self, node_name: str) -> list[Event]:
        """The events of one op (step), in order."""
        return [e for e in self.all_events if e.step_key == node_name]

    def __repr__(self) -> str:
        return f"<ExecuteInProcessResult run_id={self.run_id} status={self.run.status.value}>"
