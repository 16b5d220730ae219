"""RunRequest and SkipReason, and how returned values become requests."""

from __future__ import annotations

from typing import Any

import pytest

from dagwright import DagwrightDefinitionError, DagwrightInvalidTagError, RunRequest, SkipReason
from dagwright.definitions.run_request import collect_requests


def test_tags_are_normalised_and_checked() -> None:
    request = RunRequest(tags={"n": 1, "dagwright/priority": "3"})
    assert request.tags == {"n": "1", "dagwright/priority": "3"}
    with pytest.raises(DagwrightInvalidTagError, match=r"dagwright/sensor_name.*RunRequest"):
        RunRequest(tags={"dagwright/sensor_name": "x"})
    with pytest.raises(DagwrightInvalidTagError, match="dagwright/priority"):
        RunRequest(tags={"dagwright/priority": "high"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"run_key": ""}, "run_key must be a non-empty str"),
        ({"run_key": 3}, "run_key must be a non-empty str"),
        ({"partition_key": 2026}, "partition_key must be a non-empty str"),
        ({"run_config": [1]}, "run_config must be a dict"),
    ],
)
def test_bad_fields(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(DagwrightDefinitionError, match=message):
        RunRequest(**kwargs)


def test_to_json() -> None:
    assert RunRequest(run_key="k", partition_key="eu").to_json() == {
        "run_key": "k",
        "run_config": None,
        "tags": {},
        "partition_key": "eu",
    }


def test_collect() -> None:
    one = RunRequest(run_key="a")
    assert collect_requests(one, "s") == ([one], None)
    assert collect_requests(iter([one, one]), "s") == ([one, one], None)
    assert collect_requests(SkipReason("x"), "s") == ([], SkipReason("x"))
    assert collect_requests((x for x in [SkipReason("y")]), "s") == ([], SkipReason("y"))
    assert collect_requests({"ops": {}}, "s", config_dicts=True) == (
        [RunRequest(run_config={"ops": {}})],
        None,
    )
    with pytest.raises(DagwrightDefinitionError, match="s returned int"):
        collect_requests(3, "s")
