"""Tests for dagwright.definitions.job: @job, to_job, metadata, tags, options and errors."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest
from tests.jobs import simple

from dagwright import (
    DagwrightDefinitionError,
    DagwrightInvalidMetadataError,
    DagwrightInvalidTagError,
    JobDefinition,
    MetadataValue,
    StaticPartitionsDefinition,
    graph,
    in_process_executor,
    job,
    op,
)
from dagwright.definitions.graph import Edge
from dagwright.definitions.job import DefinedIn

# -- the DESIGN §2 example, verbatim ----------------------------------------------------


@op
def my_op():  # type: ignore[no-untyped-def]
    return "Hello World!"


@job(
    metadata={
        "owner": "data team",  # -> MetadataValue.text
        "docs": MetadataValue.url("https://docs.example.com"),
    },
    tags={"foo": "bar"},
)
def my_job_with_metadata():  # type: ignore[no-untyped-def]
    my_op()


@graph
def my_graph():  # type: ignore[no-untyped-def]
    my_op()


my_second_job = my_graph.to_job(metadata={"owner": "api team"}, tags={"foo": "bar"})


def test_design_example_job_with_metadata() -> None:
    assert isinstance(my_job_with_metadata, JobDefinition)
    assert my_job_with_metadata.name == "my_job_with_metadata"
    assert my_job_with_metadata.metadata == {
        "owner": MetadataValue.text("data team"),
        "docs": MetadataValue.url("https://docs.example.com"),
    }
    assert my_job_with_metadata.metadata["owner"] == MetadataValue.text("data team")
    assert my_job_with_metadata.metadata["docs"].to_json() == {
        "type": "url",
        "value": "https://docs.example.com",
    }
    assert my_job_with_metadata.tags == {"foo": "bar"}
    assert my_job_with_metadata.op_names == ["my_op"]
    assert my_job_with_metadata.graph.edges == []


def test_design_example_graph_to_job() -> None:
    assert isinstance(my_second_job, JobDefinition)
    assert my_second_job.name == "my_graph"
    assert my_second_job.graph is my_graph
    assert my_second_job.metadata == {"owner": MetadataValue.text("api team")}
    assert my_second_job.tags == {"foo": "bar"}
    assert my_second_job.op_names == ["my_op"]


def test_design_example_ops_still_run_directly() -> None:
    assert my_op() == "Hello World!"


# -- @job -------------------------------------------------------------------------------


def test_bare_job_defaults() -> None:
    @job
    def plain() -> None:
        """Plain job."""
        my_op()

    assert plain.name == "plain"
    assert plain.description == "Plain job."
    assert plain.graph.name == "plain"
    assert plain.metadata == {}
    assert plain.tags == {}
    assert plain.config is None
    assert plain.executor_def is None
    assert plain.partitions_def is None


def test_job_options() -> None:
    regions = StaticPartitionsDefinition(["eu", "us"])
    config: dict[str, Any] = {"ops": {}}

    @job(
        name="renamed",
        description="explicit",
        config=config,
        executor_def=in_process_executor,
        partitions_def=regions,
    )
    def original() -> None:
        """Ignored."""
        my_op()

    assert original.name == "renamed"
    assert original.graph.name == "renamed"
    assert original.description == "explicit"
    assert original.config is config
    assert original.executor_def is in_process_executor
    assert original.partitions_def is regions


def test_job_with_callable_config_is_accepted() -> None:
    def config_fn(partition_key: str) -> dict[str, Any]:
        return {}

    @job(config=config_fn)
    def with_fn() -> None:
        my_op()

    assert with_fn.config is config_fn


def test_op_names_and_edges_follow_the_graph() -> None:
    assert simple.diamond.op_names == ["emit", "double", "double_2", "add"]
    assert simple.diamond.graph.edges == [
        Edge("emit", "result", "double", "x"),
        Edge("emit", "result", "double_2", "x"),
        Edge("double", "result", "add", "x"),
        Edge("double_2", "result", "add", "y"),
    ]
    assert simple.chain.op_names == ["emit", "double", "double_2", "double_3"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text", MetadataValue.text("text")),
        (True, MetadataValue.bool(True)),
        (3, MetadataValue.int(3)),
        (2.5, MetadataValue.float(2.5)),
        ({"a": [1]}, MetadataValue.json({"a": [1]})),
        ([1, 2], MetadataValue.json([1, 2])),
        (None, MetadataValue.null()),
        (MetadataValue.md("# hi"), MetadataValue.md("# hi")),
    ],
)
def test_plain_metadata_values_are_converted(value: object, expected: MetadataValue) -> None:
    made = my_graph.to_job(name="converted", metadata={"key": value})
    assert made.metadata == {"key": expected}
    assert type(made.metadata["key"]) is type(expected)


def test_metadata_keeps_key_order() -> None:
    made = my_graph.to_job(metadata={"z": 1, "a": 2, "m": 3})
    assert list(made.metadata) == ["z", "a", "m"]


def test_tags_are_normalised() -> None:
    made = my_graph.to_job(tags={"n": 1, "flag": True, "obj": {"b": 1, "a": 2}, "s": "x"})
    assert made.tags == {"n": "1", "flag": "true", "obj": '{"a":2,"b":1}', "s": "x"}


def test_control_tags_are_allowed_on_jobs() -> None:
    made = my_graph.to_job(tags={"dagwright/priority": -2, "dagwright/max_retries": "1"})
    assert made.tags == {"dagwright/priority": "-2", "dagwright/max_retries": "1"}


# -- errors -----------------------------------------------------------------------------


def _make_with_decorator(**options: Any) -> JobDefinition:
    def the_job() -> None:
        my_op()

    return job(**options)(the_job)


def _make_with_to_job(name: str = "the_job", **options: Any) -> JobDefinition:
    return my_graph.to_job(name=name, **options)


BUILDERS = [
    pytest.param(_make_with_decorator, id="@job"),
    pytest.param(_make_with_to_job, id="to_job"),
]


@pytest.mark.parametrize("build", BUILDERS)
@pytest.mark.parametrize(
    ("metadata", "key"),
    [
        ({"owner": object()}, "owner"),
        ({"ok": "x", "when": {1, 2}}, "when"),
        ({"raw": b"bytes"}, "raw"),
        ({"t": (1, 2)}, "t"),
    ],
)
def test_bad_metadata_names_the_key_and_job(
    build: Callable[..., JobDefinition], metadata: dict[str, Any], key: str
) -> None:
    with pytest.raises(DagwrightInvalidMetadataError) as info:
        build(metadata=metadata)
    assert isinstance(info.value, DagwrightDefinitionError)
    assert info.value.key == key
    assert repr(key) in str(info.value)
    assert "job 'the_job'" in str(info.value)


@pytest.mark.parametrize("build", BUILDERS)
@pytest.mark.parametrize("metadata", [{"": "x"}, {3: "x"}])
def test_bad_metadata_keys_are_refused(
    build: Callable[..., JobDefinition], metadata: dict[Any, Any]
) -> None:
    with pytest.raises(DagwrightInvalidMetadataError):
        build(metadata=metadata)


@pytest.mark.parametrize("build", BUILDERS)
@pytest.mark.parametrize(
    ("tags", "key", "rule"),
    [
        ({"bad key": "x"}, "bad key", "1-63"),
        ({"a/b/c": "x"}, "a/b/c", "1-63"),
        ({"dagwright/partition": "x"}, "dagwright/partition", "reserved"),
        ({"dagwright/backfill": "x"}, "dagwright/backfill", "reserved"),
        ({"team": (1, 2)}, "team", "round trip"),
        ({"dagwright/retry_strategy": "SOME"}, "dagwright/retry_strategy", "FROM_FAILURE"),
        ({"big": "x" * 65537}, "big", "65536"),
    ],
)
def test_bad_job_tags_name_the_key_and_job(
    build: Callable[..., JobDefinition], tags: dict[str, Any], key: str, rule: str
) -> None:
    with pytest.raises(DagwrightInvalidTagError) as info:
        build(tags=tags)
    assert info.value.key == key
    assert rule in info.value.rule
    assert repr(key) in str(info.value)
    assert "job 'the_job'" in str(info.value)


@pytest.mark.parametrize("build", BUILDERS)
@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"config": "ops"}, "config"),
        ({"config": [1]}, "config"),
        ({"executor_def": "in_process"}, "executor_def"),
        ({"partitions_def": ["a", "b"]}, "partitions_def"),
    ],
)
def test_bad_job_options_name_the_job(
    build: Callable[..., JobDefinition], options: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(DagwrightDefinitionError) as info:
        build(**options)
    assert "job 'the_job'" in str(info.value)
    assert fragment in str(info.value)


@pytest.mark.parametrize("build", BUILDERS)
@pytest.mark.parametrize("name", ["bad name", "1st", "a-b", "a.b", "a/b"])
def test_invalid_job_names(build: Callable[..., JobDefinition], name: str) -> None:
    with pytest.raises(DagwrightDefinitionError) as info:
        build(name=name)
    assert repr(name) in str(info.value)


def test_job_body_with_parameters_is_refused() -> None:
    def takes_input(value: Any) -> None:
        my_op()

    with pytest.raises(DagwrightDefinitionError, match=r"job 'takes_input'.*no parameters"):
        job(takes_input)  # type: ignore[arg-type]


def test_job_body_calling_no_op_is_refused() -> None:
    def empty() -> None:
        pass

    with pytest.raises(DagwrightDefinitionError, match="'empty' calls no op"):
        job(empty)


# -- where jobs were defined ------------------------------------------------------------


def test_decorated_job_records_its_module() -> None:
    assert simple.chain.defined_in == DefinedIn("tests.jobs.simple", simple.__file__)
    assert my_job_with_metadata.defined_in == DefinedIn(__name__, sys.modules[__name__].__file__)


def test_to_job_records_the_calling_module() -> None:
    assert my_second_job.defined_in == DefinedIn(__name__, sys.modules[__name__].__file__)


def test_jobs_are_frozen() -> None:
    with pytest.raises(AttributeError):
        simple.chain.name = "other"  # type: ignore[misc]
