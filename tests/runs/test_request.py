"""Tests for dagwright.runs.request: turning a run request into a validated, unstored Run."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
import uuid
from typing import Any

import pytest
from tests.jobs import simple
from tests.jobs.simple import LoadConfig, double, emit, load

from dagwright import (
    CodePointer,
    DagwrightInvalidConfigError,
    DagwrightInvalidPartitionError,
    DagwrightInvalidTagError,
    JobDefinition,
    RunStatus,
    job,
)
from dagwright.definitions.job import DefinedIn
from dagwright.runs.request import PreparedRun, prepare_run
from dagwright.tags import OP_SELECTION_TAG, PARTITION_TAG


@job(tags={"team": "mixed"})
def mixed() -> None:
    """emit -> double, and load (config)."""
    double(emit())
    load()


# -- the run record ---------------------------------------------------------------------


def test_a_prepared_run_is_not_started_and_unstored() -> None:
    before = time.time()
    prepared = prepare_run(simple.chain)
    after = time.time()
    assert isinstance(prepared, PreparedRun)
    run = prepared.run
    assert run.status is RunStatus.NOT_STARTED
    assert uuid.UUID(run.run_id).version == 4
    assert str(uuid.UUID(run.run_id)) == run.run_id
    assert run.job_name == "chain"
    assert run.tags == {}
    assert run.run_config == {}
    assert run.op_selection is None
    assert run.parent_run_id is None
    assert run.root_run_id is None
    assert before <= run.created_at <= after
    assert run.started_at is None
    assert run.ended_at is None
    assert prepared.plan.step_keys == ["emit", "double", "double_2", "double_3"]
    assert prepared.op_configs == {}


def test_each_run_gets_a_new_id() -> None:
    ids = {prepare_run(simple.chain).run.run_id for _ in range(20)}
    assert len(ids) == 20


def test_the_status_can_be_chosen() -> None:
    assert prepare_run(simple.chain, status=RunStatus.QUEUED).run.status is RunStatus.QUEUED


def test_a_job_from_a_module_gets_a_module_code_pointer() -> None:
    run = prepare_run(simple.diamond).run
    assert run.code_pointer == CodePointer(
        job_name="diamond", module="tests.jobs.simple", working_directory=os.getcwd()
    )


def test_a_job_of_unknown_origin_gets_no_code_pointer() -> None:
    orphan = JobDefinition(
        name="orphan", graph=simple.chain.graph, defined_in=DefinedIn(None, None)
    )
    assert prepare_run(orphan).run.code_pointer is None


# -- tags -------------------------------------------------------------------------------


def test_tags_merge_job_then_definition_then_launch_then_system() -> None:
    tagged = dataclasses.replace(
        simple.by_region, tags={"a": "job", "b": "job", "c": "job", "d": "job"}
    )
    prepared = prepare_run(
        tagged,
        definition_tags={"b": "definition", "c": "definition", PARTITION_TAG: "stale"},
        tags={"c": "launch", "e": "launch"},
        partition_key="eu",
    )
    assert prepared.run.tags == {
        "a": "job",
        "b": "definition",
        "c": "launch",
        "d": "job",
        PARTITION_TAG: "eu",
        "e": "launch",
    }


def test_launch_tags_override_job_tags_and_are_normalised() -> None:
    run = prepare_run(
        simple.loader, tags={"source": "launch", "n": 3, "dagwright/priority": -5}
    ).run
    assert run.tags == {
        "team": "data",
        "source": "launch",
        "dagwright/priority": "-5",
        "n": "3",
    }


def test_job_tags_are_kept_without_launch_tags() -> None:
    run = prepare_run(simple.loader).run
    assert run.tags == {"team": "data", "source": "job", "dagwright/priority": "1"}


@pytest.mark.parametrize(
    ("tags", "key"),
    [
        ({"bad key": "x"}, "bad key"),
        ({"dagwright/partition": "eu"}, "dagwright/partition"),
        ({"dagwright/op_selection": "[]"}, "dagwright/op_selection"),
        ({"dagwright/max_retries": "-1"}, "dagwright/max_retries"),
        ({"team": math.nan}, "team"),
    ],
)
def test_invalid_launch_tags_raise_before_anything_else(tags: dict[str, Any], key: str) -> None:
    with pytest.raises(DagwrightInvalidTagError) as info:
        prepare_run(
            simple.loader,
            tags=tags,
            run_config={"nope": {}},
            op_selection=["nope"],
            partition_key="nope",
        )
    assert info.value.key == key
    assert repr(key) in str(info.value)


@pytest.mark.parametrize(
    ("selection", "stored"),
    [
        (["emit"], '["emit"]'),
        (["double+", "emit"], '["double+", "emit"]'),
        (("*double_2",), '["*double_2"]'),
        ([" emit "], '[" emit "]'),
    ],
)
def test_op_selection_is_recorded_as_given(selection: Any, stored: str) -> None:
    run = prepare_run(simple.chain, op_selection=selection).run
    assert run.tags[OP_SELECTION_TAG] == stored
    assert json.loads(run.tags[OP_SELECTION_TAG]) == list(selection)
    assert run.op_selection == tuple(selection)


def test_op_selection_decides_the_plan() -> None:
    prepared = prepare_run(simple.chain, op_selection=["*double"])
    assert prepared.plan.step_keys == ["emit", "double"]


@pytest.mark.parametrize(
    ("selection", "fragment"),
    [
        (["nope"], "ops: emit"),
        ([], "non-empty list"),
        ("emit", "non-empty list"),
        (["double"], "needs input 'x'"),
    ],
)
def test_bad_op_selection(selection: Any, fragment: str) -> None:
    with pytest.raises(DagwrightInvalidConfigError) as info:
        prepare_run(simple.chain, op_selection=selection)
    assert info.value.where == "op_selection"
    assert fragment in str(info.value)


# -- partitions -------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["eu", "us"])
def test_partition_key_is_tagged(key: str) -> None:
    run = prepare_run(simple.by_region, partition_key=key).run
    assert run.tags == {PARTITION_TAG: key}
    assert run.partition_key == key


def test_a_partitioned_job_may_run_without_a_partition() -> None:
    assert PARTITION_TAG not in prepare_run(simple.by_region).run.tags


@pytest.mark.parametrize("key", ["asia", "EU", "", " eu"])
def test_unknown_partition_key(key: str) -> None:
    with pytest.raises(DagwrightInvalidPartitionError) as info:
        prepare_run(simple.by_region, partition_key=key)
    assert info.value.partition_key == key
    assert info.value.job_name == "by_region"
    assert repr(key) in str(info.value)


@pytest.mark.parametrize("job_def", [simple.by_region, simple.chain])
@pytest.mark.parametrize("key", [1, 2.5, ["eu"]])
def test_partition_key_must_be_a_string(job_def: JobDefinition, key: Any) -> None:
    with pytest.raises(DagwrightInvalidPartitionError, match="string"):
        prepare_run(job_def, partition_key=key)


def test_partition_of_an_unpartitioned_job() -> None:
    with pytest.raises(DagwrightInvalidPartitionError) as info:
        prepare_run(simple.chain, partition_key="eu")
    assert info.value.job_name == "chain"
    assert "not partitioned" in info.value.rule


# -- run config -------------------------------------------------------------------------


def test_the_job_default_config_is_used_when_none_is_given() -> None:
    prepared = prepare_run(simple.loader)
    assert prepared.run.run_config == {"ops": {"load": {"config": {"limit": 3}}}}
    assert prepared.op_configs == {"load": LoadConfig(limit=3)}


def test_given_config_replaces_the_job_default() -> None:
    given = {"ops": {"load": {"config": {"limit": 7, "label": "x"}}}}
    prepared = prepare_run(simple.loader, run_config=given)
    assert prepared.run.run_config == given
    assert prepared.run.run_config is not given
    assert prepared.op_configs == {"load": LoadConfig(limit=7, label="x")}


def test_an_empty_config_does_not_fall_back_to_the_default() -> None:
    with pytest.raises(DagwrightInvalidConfigError) as info:
        prepare_run(simple.loader, run_config={})
    assert (info.value.where, info.value.key) == ("op 'load'", "config.limit")


@pytest.mark.parametrize(
    "run_config",
    [{}, {"ops": {}}, {"ops": None}, {"ops": {"emit": {}}}, {"ops": {"emit": {"config": {}}}}],
)
def test_a_job_without_config_accepts_empty_config(run_config: dict[str, Any]) -> None:
    assert prepare_run(simple.chain, run_config=run_config).op_configs == {}


def test_only_planned_ops_get_config() -> None:
    given = {"ops": {"load": {"config": {"limit": 1}}}}
    assert prepare_run(mixed, run_config=given).op_configs == {"load": LoadConfig(limit=1)}
    selected = prepare_run(mixed, run_config=given, op_selection=["emit"])
    assert selected.op_configs == {}


@pytest.mark.parametrize(
    ("run_config", "where", "key", "fragments"),
    [
        ([("ops", {})], "run_config", None, ["must be a mapping"]),
        ([1], "run_config", None, ["must be a mapping"]),
        ("ops", "run_config", None, ["must be a mapping"]),
        ({"resources": {}}, "run_config", None, ["unknown key 'resources'", "allowed: ops"]),
        ({"ops": {}, "execution": []}, "run_config", "execution", ["expected {'config'"]),
        ({"ops": [1]}, "run_config", "ops", ["mapping of op names"]),
        (
            {"ops": {"nope": {}}},
            "run_config",
            "ops",
            ["job 'mixed'", "no op 'nope'", "ops: emit, double, load"],
        ),
        ({"ops": {"load": 5}}, "op 'load'", "ops.load", ["expected {'config'"]),
        (
            {"ops": {"load": {"config": {"limit": 1}, "inputs": {}}}},
            "op 'load'",
            "ops.load",
            ["expected"],
        ),
        ({"ops": {"load": {"limit": 1}}}, "op 'load'", "ops.load", ["expected"]),
        (
            {"ops": {"load": {"config": {"limit": object()}}}},
            "run_config",
            "ops.load.config.limit",
            ["not a JSON value (object)"],
        ),
        (
            {"ops": {"load": {"config": {"limit": math.nan}}}},
            "run_config",
            "ops.load.config.limit",
            ["finite"],
        ),
        (
            {"ops": {"load": {"config": {"limit": "many"}}}},
            "op 'load'",
            "config.limit",
            ["integer"],
        ),
        ({"ops": {"load": {"config": {}}}}, "op 'load'", "config.limit", ["required"]),
        (
            {"ops": {"load": {"config": {"limit": 1, "x": 2}}}},
            "op 'load'",
            "config.x",
            ["not permitted"],
        ),
        ({"ops": {"load": {"config": 3}}}, "op 'load'", "config", ["mapping"]),
        (
            {"ops": {"load": {"config": {"limit": 1}}, "emit": {"config": {"a": 1}}}},
            "op 'emit'",
            "config",
            ["takes no config"],
        ),
    ],
)
def test_bad_run_config(run_config: Any, where: str, key: str | None, fragments: list[str]) -> None:
    with pytest.raises(DagwrightInvalidConfigError) as info:
        prepare_run(mixed, run_config=run_config)
    assert info.value.where == where
    assert info.value.key == key
    for fragment in fragments:
        assert fragment in str(info.value)


def test_config_errors_use_aliased_node_names() -> None:
    @job
    def two_loads() -> None:
        load()
        load()

    given = {"ops": {"load": {"config": {"limit": 1}}, "load_2": {"config": {"limit": "x"}}}}
    with pytest.raises(DagwrightInvalidConfigError) as info:
        prepare_run(two_loads, run_config=given)
    assert (info.value.where, info.value.key) == ("op 'load_2'", "config.limit")
