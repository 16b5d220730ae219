"""In-process execution end to end: outputs, events, tags, selection, partitions, config."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagwright import (
    Config,
    DagwrightInvalidConfigError,
    DagwrightInvalidPartitionError,
    DagwrightInvalidTagError,
    DagwrightUserCodeError,
    EventType,
    In,
    Instance,
    OpExecutionContext,
    Out,
    RunsFilter,
    RunStatus,
    StaticPartitionsDefinition,
    job,
    op,
)


@op
def one() -> int:
    return 1


@op
def add_one(x: int) -> int:
    return x + 1


@op
def boom(x: int) -> int:
    raise ValueError(f"boom at {x}")


@job(tags={"team": "core", "layer": "job"})
def chain() -> None:
    add_one(add_one(one()))


@job
def failing() -> None:
    add_one(boom(one()))


def test_one_op_run_succeeds_with_output_and_events() -> None:
    @op
    def hello() -> str:
        return "Hello World!"

    @job
    def hello_job() -> None:
        hello()

    result = hello_job.execute_in_process()
    assert result.success
    assert result.output_for_node("hello") == "Hello World!"
    assert [e.event_type for e in result.all_events] == [
        EventType.RUN_START,
        EventType.STEP_START,
        EventType.STEP_SUCCESS,
        EventType.RUN_SUCCESS,
    ]
    assert result.run.status is RunStatus.SUCCESS
    assert result.run.started_at is not None and result.run.ended_at is not None
    assert result.run.started_at <= result.run.ended_at
    assert all(e.storage_id is not None for e in result.all_events)


def test_chain_passes_values_and_aliases_ops() -> None:
    result = chain.execute_in_process()
    assert chain.op_names == ["one", "add_one", "add_one_2"]
    assert result.output_for_node("add_one_2") == 3


def test_tags_merge_job_then_launch_and_reach_the_context() -> None:
    seen: dict[str, object] = {}

    @op
    def look(context: OpExecutionContext) -> None:
        seen["team"] = context.get_tag("team")
        seen["has_layer"] = context.has_tag("layer")
        seen["tags"] = dict(context.run.tags)
        seen["run_id"] = context.run_id

    @job(tags={"team": "core", "layer": "job"})
    def tagged() -> None:
        look()

    result = tagged.execute_in_process(tags={"team": "docs", "batch": {"n": 1}})
    assert seen["team"] == "docs"
    assert seen["has_layer"] is True
    assert seen["tags"] == {"team": "docs", "layer": "job", "batch": '{"n":1}'}
    assert seen["run_id"] == result.run_id
    assert result.run.tags == seen["tags"]


def test_op_selection_runs_only_selected_ops_and_tags_the_run() -> None:
    result = chain.execute_in_process(op_selection=["one", "add_one"])
    steps = {e.step_key for e in result.all_events if e.step_key}
    assert steps == {"one", "add_one"}
    assert result.run.tags["dagwright/op_selection"] == '["one", "add_one"]'
    assert result.run.op_selection == ("one", "add_one")


def test_op_selection_of_an_op_missing_its_input_is_refused_before_storing() -> None:
    instance = Instance.ephemeral()
    with pytest.raises(DagwrightInvalidConfigError, match="add_one_2"):
        chain.execute_in_process(op_selection=["add_one_2"], instance=instance)
    assert instance.get_runs_count() == 0


colors = StaticPartitionsDefinition(["red", "green"])


@op
def paint(context: OpExecutionContext) -> str:
    return context.partition_key


@job(partitions_def=colors)
def painter() -> None:
    paint()


def test_partition_key_reaches_context_and_tag() -> None:
    result = painter.execute_in_process(partition_key="green")
    assert result.output_for_node("paint") == "green"
    assert result.run.tags["dagwright/partition"] == "green"
    assert result.run.partition_key == "green"


def test_unknown_partition_key_is_an_error_and_stores_nothing() -> None:
    instance = Instance.ephemeral()
    with pytest.raises(DagwrightInvalidPartitionError, match="blue"):
        painter.execute_in_process(partition_key="blue", instance=instance)
    assert instance.get_runs_count() == 0


class Limit(Config):
    limit: int
    label: str = "n"


@op
def count(config: Limit) -> str:
    return f"{config.label}={config.limit}"


@job
def counting() -> None:
    count()


def test_op_config_through_a_config_parameter() -> None:
    result = counting.execute_in_process({"ops": {"count": {"config": {"limit": 3}}}})
    assert result.output_for_node("count") == "n=3"


@pytest.mark.parametrize(
    ("run_config", "field"),
    [
        ({"ops": {"count": {"config": {"limit": "many"}}}}, "config.limit"),
        ({"ops": {"count": {"config": {}}}}, "config.limit"),
        ({"ops": {"count": {"config": {"limit": 1, "extra": 2}}}}, "config.extra"),
    ],
)
def test_bad_op_config_names_op_and_field(run_config: dict[str, object], field: str) -> None:
    instance = Instance.ephemeral()
    with pytest.raises(DagwrightInvalidConfigError) as info:
        counting.execute_in_process(run_config, instance=instance)
    assert info.value.where == "op 'count'"
    assert info.value.key == field
    assert "count" in str(info.value) and field in str(info.value)
    assert instance.get_runs_count() == 0


def test_invalid_launch_tag_stores_nothing() -> None:
    instance = Instance.ephemeral()
    with pytest.raises(DagwrightInvalidTagError, match="dagwright/partition"):
        chain.execute_in_process(tags={"dagwright/partition": "x"}, instance=instance)
    with pytest.raises(DagwrightInvalidTagError, match="bad key!"):
        chain.execute_in_process(tags={"bad key!": "x"}, instance=instance)
    assert instance.get_runs_count() == 0


def test_op_failure_raises_user_code_error_wrapping_the_original() -> None:
    with pytest.raises(DagwrightUserCodeError, match="boom at 1") as info:
        failing.execute_in_process()
    assert isinstance(info.value.__cause__, ValueError)
    assert info.value.where == "op 'boom'"


def test_op_failure_without_raising_fails_the_run_and_skips_downstream() -> None:
    result = failing.execute_in_process(raise_on_error=False)
    assert not result.success
    assert result.run.status is RunStatus.FAILURE
    by_step = {(e.step_key, e.event_type) for e in result.all_events}
    assert ("boom", EventType.STEP_FAILURE) in by_step
    assert ("add_one", EventType.STEP_SKIPPED) in by_step
    failure = next(e for e in result.all_events if e.event_type is EventType.STEP_FAILURE)
    assert failure.data["error"]["type"] == "ValueError"
    assert "boom at 1" in failure.data["error"]["traceback"]
    assert failure.level == "ERROR"
    end = result.all_events[-1]
    assert end.event_type is EventType.RUN_FAILURE
    assert end.message == "steps failed: boom; skipped: add_one"  # add_one did not fail
    assert end.data == {"failed_steps": ["boom"], "skipped_steps": ["add_one"]}


def test_declared_types_are_checked() -> None:
    @op(out=Out(int))
    def wrong() -> int:
        return "nope"  # type: ignore[return-value]

    @op(ins={"x": In(str)})
    def wants_str(x: str) -> str:
        return x

    @job
    def typed() -> None:
        wants_str(wrong())

    result = typed.execute_in_process(raise_on_error=False)
    failure = next(e for e in result.all_events if e.event_type is EventType.STEP_FAILURE)
    assert failure.step_key == "wrong"
    assert "output 'result' must be int" in failure.message


def test_multiple_outputs() -> None:
    @op(out={"low": Out(int), "high": Out(int)})
    def split() -> tuple[int, int]:
        return 1, 9

    @op
    def total(a: int, b: int) -> int:
        return a + b

    @job
    def two() -> None:
        low, high = split()
        total(low, high)

    result = two.execute_in_process()
    assert result.output_for_node("split", "high") == 9
    assert result.output_for_node("total") == 10


def test_context_log_lines_are_stored_as_events() -> None:
    @op
    def chatty(context: OpExecutionContext) -> None:
        context.log.info("hello")
        context.log.warning("careful")

    @job
    def talk() -> None:
        chatty()

    result = talk.execute_in_process()
    logs = [(e.level, e.message) for e in result.all_events if e.event_type is EventType.LOG]
    assert logs == [("INFO", "hello"), ("WARNING", "careful")]


def test_interrupted_run_ends_failed_and_re_raises(tmp_path: Path) -> None:
    @op
    def stop() -> None:
        raise KeyboardInterrupt

    @job
    def interrupted() -> None:
        stop()

    with Instance.from_home(tmp_path) as instance:
        with pytest.raises(KeyboardInterrupt):
            interrupted.execute_in_process(instance=instance)
        (run,) = instance.get_runs()
        assert run.status is RunStatus.FAILURE


def test_runs_tags_and_events_survive_a_restart(tmp_path: Path) -> None:
    with Instance.from_home(tmp_path) as instance:
        result = chain.execute_in_process(tags={"team": "docs"}, instance=instance)
    with Instance.from_home(tmp_path) as instance:
        run = instance.get_run(result.run_id)
        assert run is not None and run.status is RunStatus.SUCCESS
        assert run.tags["team"] == "docs"
        assert [r.run_id for r in instance.get_runs(RunsFilter(tags={"team": "docs"}))] == [
            result.run_id
        ]
        events = instance.get_events(result.run_id)
        assert [e.event_type for e in events] == [e.event_type for e in result.all_events]


def test_an_op_sees_the_time_window_of_its_partition() -> None:
    from datetime import datetime, timezone

    from dagwright import (
        DagwrightInvalidPartitionError,
        DailyPartitionsDefinition,
        StaticPartitionsDefinition,
        job,
        op,
    )

    @op
    def window(context: OpExecutionContext) -> tuple[datetime, datetime]:
        return context.partition_time_window

    @job(partitions_def=DailyPartitionsDefinition(start_date="2026-01-01"))
    def daily() -> None:
        window()

    result = daily.execute_in_process(partition_key="2026-01-02")
    utc = timezone.utc
    assert result.output_for_node("window") == (
        datetime(2026, 1, 2, tzinfo=utc),
        datetime(2026, 1, 3, tzinfo=utc),
    )

    @job(partitions_def=StaticPartitionsDefinition(["eu"]))
    def static() -> None:
        window()

    with pytest.raises(DagwrightUserCodeError, match="not time windows") as info:
        static.execute_in_process(partition_key="eu")
    assert isinstance(info.value.__cause__, DagwrightInvalidPartitionError)
