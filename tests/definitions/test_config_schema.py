"""Tests for dagwright.definitions.config_schema: Dagster-style ``config_schema`` dicts,
validated at submit time (errors name op and field), defaults filled in, plain data in
``context.op_config``."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import yaml

from dagwright import (
    Array,
    Config,
    DagwrightDefinitionError,
    DagwrightInvalidConfigError,
    Field,
    Instance,
    JobDefinition,
    Noneable,
    OpExecutionContext,
    Permissive,
    Shape,
    job,
    op,
)
from dagwright.definitions.job_json import graph_json
from dagwright.web.launchpad import default_config_text


def _job_of(schema: Any) -> JobDefinition:
    @op(config_schema=schema)
    def configured(context: OpExecutionContext) -> Any:
        return context.op_config

    @job
    def the_job() -> None:
        configured()

    return the_job


def _config_seen(schema: Any, given: Any) -> Any:
    run_config = {} if given is ... else {"ops": {"configured": {"config": given}}}
    return _job_of(schema).execute_in_process(run_config).output_for_node("configured")


VALID = [
    ({"n": int}, {"n": 3}, {"n": 3}),
    ({"s": str, "b": bool}, {"s": "x", "b": True}, {"s": "x", "b": True}),
    ({"f": float}, {"f": 2}, {"f": 2.0}),
    ({"xs": list, "d": dict}, {"xs": [1, "a"], "d": {"k": [1]}}, {"xs": [1, "a"], "d": {"k": [1]}}),
    ({"xs": [int]}, {"xs": [1, 2]}, {"xs": [1, 2]}),
    ({"xs": Array(str)}, {"xs": ["a"]}, {"xs": ["a"]}),
    ({"n": Field(int, default_value=5)}, ..., {"n": 5}),
    ({"n": Field(int, default_value=5, description="how many")}, {"n": 1}, {"n": 1}),
    ({"n": Noneable(int)}, {}, {"n": None}),
    ({"n": Noneable(int)}, {"n": 4}, {"n": 4}),
    ({"n": Field(int, is_required=False)}, None, {"n": None}),
    ({"db": {"host": str, "port": Field(int, default_value=5432)}}, {"db": {"host": "h"}},
     {"db": {"host": "h", "port": 5432}}),
    ({"db": {"port": Field(int, default_value=5432)}}, ..., {"db": {"port": 5432}}),
    ({"db": Shape({"port": int})}, {"db": {"port": 1}}, {"db": {"port": 1}}),
    ({"env": Permissive({"a": Field(int, default_value=1)})}, {"env": {"b": 2}},
     {"env": {"a": 1, "b": 2}}),
    ({"schema": str, "model_config": int}, {"schema": "s", "model_config": 1},
     {"schema": "s", "model_config": 1}),
    (int, 7, 7),
    (str, "x", "x"),
    ([int], [1], [1]),
    (Noneable(int), ..., None),
]  # fmt: skip


@pytest.mark.parametrize(("schema", "given", "seen"), VALID)
def test_valid_config_reaches_the_op_as_plain_data(schema: Any, given: Any, seen: Any) -> None:
    assert _config_seen(schema, given) == seen


INVALID = [
    ({"n": int}, {"n": "3"}, "config.n", "valid integer"),
    ({"n": int}, {"n": True}, "config.n", "valid integer"),
    ({"b": bool}, {"b": 1}, "config.b", "valid boolean"),
    ({"s": str}, {"s": 1}, "config.s", "valid string"),
    ({"n": int}, ..., "config.n", "Field required"),
    ({"n": int}, {"n": 1, "m": 2}, "config.m", "Extra inputs"),
    ({"xs": [int]}, {"xs": [1, "a"]}, "config.xs.1", "valid integer"),
    ({"db": {"host": str}}, {"db": {}}, "config.db.host", "Field required"),
    ({"db": {"port": int}}, {"db": {"port": 1, "x": 0}}, "config.db.x", "Extra inputs"),
    ({"n": Field(int, is_required=True)}, {}, "config.n", "Field required"),
    (int, ..., "config", "valid integer"),
    (int, "7", "config", "valid integer"),
]


@pytest.mark.parametrize(("schema", "given", "key", "message"), INVALID)
def test_invalid_config_is_refused_naming_op_and_field(
    schema: Any, given: Any, key: str, message: str
) -> None:
    run_config = {} if given is ... else {"ops": {"configured": {"config": given}}}
    with Instance.ephemeral() as instance:
        with pytest.raises(DagwrightInvalidConfigError) as caught:
            _job_of(schema).execute_in_process(run_config, instance=instance)
        assert instance.get_runs() == []  # nothing stored
    assert caught.value.where == "op 'configured'"
    assert caught.value.key == key
    assert message in caught.value.rule


BAD_SCHEMAS = [
    ({"n": set}, "config_schema.n: unsupported config schema"),
    ({"xs": [int, str]}, "config_schema.xs: a list schema has exactly one element type"),
    (
        {"n": Field(int, default_value=1, is_required=True)},
        "config_schema.n: a required field cannot have a default_value",
    ),
    ({"": int}, "config_schema: field names are non-empty strings"),
    (Field(int), "config_schema: a Field is only allowed as a dict entry"),
]


@pytest.mark.parametrize(("schema", "message"), BAD_SCHEMAS)
def test_malformed_schemas_are_definition_errors(schema: Any, message: str) -> None:
    with pytest.raises(DagwrightDefinitionError, match=f"op 'configured' {message}"):
        _job_of(schema)


class Limit(Config):
    n: int = 1


def test_config_schema_and_a_config_parameter_exclude_each_other() -> None:
    with pytest.raises(DagwrightDefinitionError, match="config_schema or a Config parameter"):

        @op(config_schema={"n": int})
        def both(config: Limit) -> int:
            return config.n


def test_the_launchpad_scaffold_and_the_job_json_use_the_schema() -> None:
    the_job = _job_of({"host": str, "port": Field(int, default_value=5432), "opt": Noneable(str)})
    scaffold = yaml.safe_load(default_config_text(the_job))
    assert scaffold == {
        "ops": {"configured": {"config": {"host": None, "port": 5432, "opt": None}}}
    }
    schema = graph_json(the_job)["nodes"][0]["config_schema"]
    assert schema["required"] == ["host"] and schema["additionalProperties"] is False
    assert schema["properties"]["port"]["default"] == 5432


def test_defining_a_config_schema_imports_no_pydantic() -> None:
    code = (
        "import sys\n"
        "from dagwright import op, job, Field\n"
        "@op(config_schema={'n': Field(int, default_value=1)})\n"
        "def a(context):\n    return context.op_config\n"
        "@job\ndef j():\n    a()\n"
        "assert 'pydantic' not in sys.modules, 'pydantic imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
