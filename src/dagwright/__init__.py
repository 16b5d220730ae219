"""dagwright: jobs with typed metadata, runs driven by tags.

Everything a user needs is imported from here. Names are loaded on first access, so
``import dagwright`` stays light: it imports no pydantic, SQLAlchemy, Starlette, Jinja2 or
Celery, and ``from dagwright import op, job`` loads only the definitions.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from dagwright.errors import (
    DagwrightCodeLoadError,
    DagwrightDefinitionError,
    DagwrightError,
    DagwrightExecutionError,
    DagwrightInvalidConfigError,
    DagwrightInvalidMetadataError,
    DagwrightInvalidPartitionError,
    DagwrightInvalidTagError,
    DagwrightInvalidTransitionError,
    DagwrightRunNotFoundError,
    DagwrightStorageError,
    DagwrightUserCodeError,
)

if TYPE_CHECKING:
    from dagwright.definitions.composition import Node, NodeOutput
    from dagwright.definitions.config import Config
    from dagwright.definitions.container import Definitions
    from dagwright.definitions.graph import GraphDefinition, graph
    from dagwright.definitions.job import JobDefinition, job
    from dagwright.definitions.op import In, OpDefinition, Out, op
    from dagwright.definitions.partitions import (
        DailyPartitionsDefinition,
        HourlyPartitionsDefinition,
        PartitionsDefinition,
        StaticPartitionsDefinition,
    )
    from dagwright.execution.context import OpExecutionContext
    from dagwright.execution.events import Event, EventType
    from dagwright.execution.executors import (
        ExecutorDefinition,
        in_process_executor,
        multiprocess_executor,
    )
    from dagwright.execution.result import ExecuteInProcessResult
    from dagwright.instance import Instance
    from dagwright.metadata import MetadataValue, TableColumn, TableSchema
    from dagwright.runs.models import CodePointer, Run, RunsFilter, RunStatus

#: Public name -> the module that defines it (loaded on first access, PEP 562).
_LAZY: dict[str, str] = {
    "Node": "dagwright.definitions.composition",
    "NodeOutput": "dagwright.definitions.composition",
    "Definitions": "dagwright.definitions.container",
    "GraphDefinition": "dagwright.definitions.graph",
    "graph": "dagwright.definitions.graph",
    "JobDefinition": "dagwright.definitions.job",
    "job": "dagwright.definitions.job",
    "In": "dagwright.definitions.op",
    "OpDefinition": "dagwright.definitions.op",
    "Out": "dagwright.definitions.op",
    "op": "dagwright.definitions.op",
    "Config": "dagwright.definitions.config",
    "DailyPartitionsDefinition": "dagwright.definitions.partitions",
    "HourlyPartitionsDefinition": "dagwright.definitions.partitions",
    "PartitionsDefinition": "dagwright.definitions.partitions",
    "StaticPartitionsDefinition": "dagwright.definitions.partitions",
    "OpExecutionContext": "dagwright.execution.context",
    "Event": "dagwright.execution.events",
    "EventType": "dagwright.execution.events",
    "ExecutorDefinition": "dagwright.execution.executors",
    "in_process_executor": "dagwright.execution.executors",
    "multiprocess_executor": "dagwright.execution.executors",
    "ExecuteInProcessResult": "dagwright.execution.result",
    "Instance": "dagwright.instance",
    "MetadataValue": "dagwright.metadata",
    "TableColumn": "dagwright.metadata",
    "TableSchema": "dagwright.metadata",
    "CodePointer": "dagwright.runs.models",
    "Run": "dagwright.runs.models",
    "RunsFilter": "dagwright.runs.models",
    "RunStatus": "dagwright.runs.models",
}

__version__ = "0.1.0"

__all__ = [
    # definitions
    "op",
    "graph",
    "job",
    "In",
    "Out",
    "Config",
    "OpDefinition",
    "GraphDefinition",
    "JobDefinition",
    "Node",
    "NodeOutput",
    "Definitions",
    "ExecutorDefinition",
    "in_process_executor",
    "multiprocess_executor",
    # metadata
    "MetadataValue",
    "TableColumn",
    "TableSchema",
    # partitions
    "PartitionsDefinition",
    "StaticPartitionsDefinition",
    "DailyPartitionsDefinition",
    "HourlyPartitionsDefinition",
    # running and runs
    "Instance",
    "Run",
    "RunStatus",
    "RunsFilter",
    "CodePointer",
    "ExecuteInProcessResult",
    "OpExecutionContext",
    "Event",
    "EventType",
    # errors
    "DagwrightError",
    "DagwrightDefinitionError",
    "DagwrightInvalidMetadataError",
    "DagwrightInvalidTagError",
    "DagwrightInvalidConfigError",
    "DagwrightInvalidPartitionError",
    "DagwrightCodeLoadError",
    "DagwrightRunNotFoundError",
    "DagwrightInvalidTransitionError",
    "DagwrightStorageError",
    "DagwrightExecutionError",
    "DagwrightUserCodeError",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dagwright' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
