"""The public surface: ``__all__`` is pinned, and ``import dagwright`` stays light."""

from __future__ import annotations

import subprocess
import sys

import dagwright

EXPECTED = {
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
}


def test_all_is_pinned() -> None:
    assert set(dagwright.__all__) == EXPECTED
    assert len(dagwright.__all__) == len(EXPECTED)


def test_every_exported_name_resolves() -> None:
    for name in dagwright.__all__:
        assert getattr(dagwright, name) is not None, name
    assert set(dir(dagwright)) >= EXPECTED


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print('\\n'.join(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {line.split(".")[0] for line in out.split()}


HEAVY = {
    "sqlalchemy", "pydantic", "starlette", "jinja2", "celery", "alembic", "yaml", "click",
    "kubernetes", "kubernetes_validate",
}  # fmt: skip


def test_import_dagwright_loads_no_heavy_library() -> None:
    assert not _modules_after("import dagwright") & HEAVY


def test_defining_jobs_loads_no_heavy_library() -> None:
    code = (
        "from dagwright import op, job, graph, MetadataValue\n"
        "@op\ndef a(): return 1\n"
        "@job(metadata={'docs': MetadataValue.url('https://x')}, tags={'t': 'v'})\n"
        "def j(): a()\n"
    )
    assert not _modules_after(code) & HEAVY


def test_defining_schedules_and_sensors_loads_no_heavy_library() -> None:
    code = (
        "from dagwright import op, job, schedule, sensor, RunRequest, ScheduleDefinition\n"
        "@op\ndef a(): return 1\n"
        "@job\ndef j(): a()\n"
        "s = ScheduleDefinition(cron_schedule='0 3 * * *', job=j)\n"
        "@sensor(job=j)\ndef watch(context): yield RunRequest(run_key='k')\n"
    )
    assert not _modules_after(code) & HEAVY


def test_the_design_example() -> None:
    from dagwright import MetadataValue, graph, job, op

    @op
    def my_op() -> str:
        return "Hello World!"

    @job(
        metadata={"owner": "data team", "docs": MetadataValue.url("https://docs.example.com")},
        tags={"foo": "bar"},
    )
    def my_job_with_metadata() -> None:
        my_op()

    @graph
    def my_graph() -> None:
        my_op()

    my_second_job = my_graph.to_job(metadata={"owner": "api team"}, tags={"foo": "bar"})
    assert my_job_with_metadata.metadata["owner"] == MetadataValue.text("data team")
    assert my_job_with_metadata.metadata["docs"] == MetadataValue.url("https://docs.example.com")
    assert my_second_job.metadata["owner"] == MetadataValue.text("api team")
    assert my_second_job.tags == {"foo": "bar"} == my_job_with_metadata.tags
    assert my_job_with_metadata.execute_in_process().output_for_node("my_op") == "Hello World!"


def test_no_stray_names_in_the_namespace() -> None:
    # `dagwright.Any`, `.TYPE_CHECKING`, `.annotations` and `.import_module` used to resolve.
    code = (
        "import types, dagwright\n"
        "print(' '.join(n for n, v in vars(dagwright).items() if not n.startswith('_')"
        " and not isinstance(v, types.ModuleType)))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert set(out.stdout.split()) <= EXPECTED
    for name in ("Any", "TYPE_CHECKING", "annotations", "import_module"):
        assert not hasattr(dagwright, name), name
