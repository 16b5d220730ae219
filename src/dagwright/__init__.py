"""dagwright: jobs with typed metadata, runs driven by tags.

Everything a user needs is imported from here. Names are loaded on first access, so
``import dagwright`` stays light: it imports no pydantic, SQLAlchemy, Starlette, Jinja2 or
Celery, and ``from dagwright import op, job`` loads only the definitions.
"""

import importlib as _importlib
import typing as _typing

from dagwright.errors import (
    DagwrightCodeLoadError,
    DagwrightCodeLocationError,
    DagwrightDefinitionError,
    DagwrightError,
    DagwrightExecutionError,
    DagwrightInvalidConfigError,
    DagwrightInvalidMetadataError,
    DagwrightInvalidPartitionError,
    DagwrightInvalidQueryError,
    DagwrightInvalidTagError,
    DagwrightInvalidTransitionError,
    DagwrightNotFoundError,
    DagwrightRunNotFoundError,
    DagwrightStorageError,
    DagwrightUserCodeError,
)

if _typing.TYPE_CHECKING:
    from dagwright.definitions.composition import Node, NodeOutput
    from dagwright.definitions.config import Config
    from dagwright.definitions.config_schema import Array, Field, Noneable, Permissive, Shape
    from dagwright.definitions.container import Definitions
    from dagwright.definitions.graph import GraphDefinition, graph
    from dagwright.definitions.job import JobDefinition, job
    from dagwright.definitions.op import In, OpDefinition, Out, op
    from dagwright.definitions.output import Output
    from dagwright.definitions.partitioned_config import PartitionedConfig, partitioned_config
    from dagwright.definitions.partitions import (
        DailyPartitionsDefinition,
        HourlyPartitionsDefinition,
        PartitionsDefinition,
        StaticPartitionsDefinition,
    )
    from dagwright.definitions.run_request import RunRequest, SkipReason
    from dagwright.definitions.schedule import (
        DefaultScheduleStatus,
        ScheduleDefinition,
        ScheduleEvaluationContext,
        build_schedule_context,
        schedule,
    )
    from dagwright.definitions.sensor import (
        DefaultSensorStatus,
        SensorDefinition,
        SensorEvaluationContext,
        build_sensor_context,
        sensor,
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
    from dagwright.runs.backfills import Backfill, BackfillProgress, BackfillStatus
    from dagwright.runs.models import CodePointer, Run, RunsFilter, RunStatus
    from dagwright.runs.ticks import (
        InstigatorKind,
        InstigatorState,
        InstigatorStatus,
        Tick,
        TickStatus,
    )

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
    "Output": "dagwright.definitions.output",
    "Config": "dagwright.definitions.config",
    "Array": "dagwright.definitions.config_schema",
    "Field": "dagwright.definitions.config_schema",
    "Noneable": "dagwright.definitions.config_schema",
    "Permissive": "dagwright.definitions.config_schema",
    "Shape": "dagwright.definitions.config_schema",
    "DailyPartitionsDefinition": "dagwright.definitions.partitions",
    "HourlyPartitionsDefinition": "dagwright.definitions.partitions",
    "PartitionsDefinition": "dagwright.definitions.partitions",
    "StaticPartitionsDefinition": "dagwright.definitions.partitions",
    "PartitionedConfig": "dagwright.definitions.partitioned_config",
    "partitioned_config": "dagwright.definitions.partitioned_config",
    "RunRequest": "dagwright.definitions.run_request",
    "SkipReason": "dagwright.definitions.run_request",
    "DefaultScheduleStatus": "dagwright.definitions.schedule",
    "ScheduleDefinition": "dagwright.definitions.schedule",
    "ScheduleEvaluationContext": "dagwright.definitions.schedule",
    "build_schedule_context": "dagwright.definitions.schedule",
    "schedule": "dagwright.definitions.schedule",
    "DefaultSensorStatus": "dagwright.definitions.sensor",
    "SensorDefinition": "dagwright.definitions.sensor",
    "SensorEvaluationContext": "dagwright.definitions.sensor",
    "build_sensor_context": "dagwright.definitions.sensor",
    "sensor": "dagwright.definitions.sensor",
    "Backfill": "dagwright.runs.backfills",
    "BackfillProgress": "dagwright.runs.backfills",
    "BackfillStatus": "dagwright.runs.backfills",
    "InstigatorKind": "dagwright.runs.ticks",
    "InstigatorState": "dagwright.runs.ticks",
    "InstigatorStatus": "dagwright.runs.ticks",
    "Tick": "dagwright.runs.ticks",
    "TickStatus": "dagwright.runs.ticks",
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
    "Output",
    "Config",
    "Field",
    "Noneable",
    "Array",
    "Shape",
    "Permissive",
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
    "partitioned_config",
    "PartitionedConfig",
    # schedules, sensors, backfills
    "ScheduleDefinition",
    "schedule",
    "DefaultScheduleStatus",
    "ScheduleEvaluationContext",
    "build_schedule_context",
    "SensorDefinition",
    "sensor",
    "DefaultSensorStatus",
    "SensorEvaluationContext",
    "build_sensor_context",
    "RunRequest",
    "SkipReason",
    "InstigatorKind",
    "InstigatorState",
    "InstigatorStatus",
    "Tick",
    "TickStatus",
    "Backfill",
    "BackfillProgress",
    "BackfillStatus",
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
    "DagwrightInvalidQueryError",
    "DagwrightCodeLoadError",
    "DagwrightCodeLocationError",
    "DagwrightNotFoundError",
    "DagwrightRunNotFoundError",
    "DagwrightInvalidTransitionError",
    "DagwrightStorageError",
    "DagwrightExecutionError",
    "DagwrightUserCodeError",
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dagwright' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
