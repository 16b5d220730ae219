"""@partitioned_config: run config per partition key."""

from __future__ import annotations

from typing import Any

import pytest
from tests.jobs import scheduled

from dagwright import (
    DagwrightDefinitionError,
    DagwrightUserCodeError,
    StaticPartitionsDefinition,
    job,
    op,
    partitioned_config,
)
from dagwright.definitions.partitioned_config import PartitionedConfig, default_run_config

REGIONS = StaticPartitionsDefinition(["eu", "us"])


@op
def noop() -> None:
    return None


def test_a_job_with_a_partitioned_config_is_partitioned_like_it() -> None:
    assert scheduled.days.partitions_def == scheduled.DAILY
    assert scheduled.day_config("2026-01-02") == {
        "ops": {"stamp": {"config": {"day": "2026-01-02"}}}
    }
    result = scheduled.days.execute_in_process(partition_key="2026-01-03")
    assert result.output_for_node("stamp") == "2026-01-03"
    assert result.run.run_config == {"ops": {"stamp": {"config": {"day": "2026-01-03"}}}}


def test_default_run_config() -> None:
    assert default_run_config(None, "eu") == {}
    assert default_run_config({"ops": {}}, "eu") == {"ops": {}}
    assert default_run_config(scheduled.day_config, None) == {}
    assert default_run_config(lambda key: {"ops": {"k": key}}, "eu") == {"ops": {"k": "eu"}}


def test_errors() -> None:
    with pytest.raises(DagwrightDefinitionError, match="partitions_def must be"):
        partitioned_config(partitions_def="eu")(lambda key: {})  # type: ignore[arg-type]
    with pytest.raises(DagwrightDefinitionError, match="needs a function"):
        PartitionedConfig(REGIONS, "x")  # type: ignore[arg-type]

    @partitioned_config(partitions_def=REGIONS)
    def broken(key: str) -> Any:
        raise KeyError(key)

    with pytest.raises(DagwrightUserCodeError, match="partitioned config 'broken'"):
        broken.run_config_for("eu")

    @partitioned_config(partitions_def=REGIONS)
    def not_a_dict(key: str) -> Any:
        return [key]

    with pytest.raises(DagwrightDefinitionError, match="returned list for partition 'eu'"):
        not_a_dict.run_config_for("eu")
    assert "not_a_dict" in repr(not_a_dict)
    with pytest.raises(DagwrightDefinitionError, match="differs from the partitions"):

        @job(config=broken, partitions_def=StaticPartitionsDefinition(["x"]))
        def clash() -> None:
            noop()
