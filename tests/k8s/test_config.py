# ruff: noqa: E501  (tables of configs read best one case a line)
"""``dagwright-k8s/config``: field names along the client's models, and the merge."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("kubernetes", reason="the [k8s] extra is not installed")

from dagwright.errors import DagwrightInvalidTagError
from dagwright.k8s.config import (
    K8sConfigError,
    merge_configs,
    merged_config_tag,
    normalize_config,
    parse_config_tag,
)


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        # snake_case and camelCase sections and fields name the same thing
        ({"containerConfig": {"image_pull_policy": "Always"}}, {"container_config": {"imagePullPolicy": "Always"}}),
        ({"container_config": {"imagePullPolicy": "Always"}}, {"container_config": {"imagePullPolicy": "Always"}}),
        # nested models and lists of models
        (
            {"container_config": {"volume_mounts": [{"name": "v", "mount_path": "/v", "read_only": True}]}},
            {"container_config": {"volumeMounts": [{"name": "v", "mountPath": "/v", "readOnly": True}]}},
        ),
        (
            {"container_config": {"env": [{"name": "X", "value_from": {"secret_key_ref": {"name": "s", "key": "k"}}}]}},
            {"container_config": {"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}},
        ),
        # keys of free-form maps are left as written
        (
            {"pod_template_spec_metadata": {"labels": {"my_label": "x", "team_name": "y"}}},
            {"pod_template_spec_metadata": {"labels": {"my_label": "x", "team_name": "y"}}},
        ),
        (
            {"container_config": {"resources": {"limits": {"nvidia.com/gpu": 1}}}},
            {"container_config": {"resources": {"limits": {"nvidia.com/gpu": 1}}}},
        ),
        (
            {"pod_spec_config": {"node_selector": {"disk_type": "ssd"}, "tolerations": [{"key": "k", "operator": "Exists"}]}},
            {"pod_spec_config": {"nodeSelector": {"disk_type": "ssd"}, "tolerations": [{"key": "k", "operator": "Exists"}]}},
        ),
        ({"job_spec_config": {"backoff_limit": 2}}, {"job_spec_config": {"backoffLimit": 2}}),
        ({"job_metadata": {"annotations": {"a_b": "c"}}}, {"job_metadata": {"annotations": {"a_b": "c"}}}),
        ({}, {}),
    ],
)  # fmt: skip
def test_fields_are_named_as_the_api_names_them(given: Any, normalised: Any) -> None:
    assert normalize_config(given) == normalised


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"container_config": {"resources": {"limts": {}}}}, "container_config.resources.limts: unknown field"),
        ({"containers": {}}, "containers: unknown section"),
        ({"container_config": {"env": [{"name": "X", "valu": "1"}]}}, "container_config.env[0].valu: unknown field"),
        ({"container_config": {"env": {"name": "X"}}}, "container_config.env: expected a list"),
        ({"container_config": {"resources": []}}, "container_config.resources: expected an object"),
        ({"container_config": {"image_pull_policy": "A", "imagePullPolicy": "B"}}, "given twice"),
        ({"container_config": [], }, "container_config: expected an object"),
        ([], "must be a JSON object of sections"),
    ],
)  # fmt: skip
def test_unknown_fields_and_wrong_shapes_name_the_path(given: Any, message: str) -> None:
    with pytest.raises(K8sConfigError, match="dagwright-k8s/config") as caught:
        normalize_config(given)
    assert message in str(caught.value)
    assert isinstance(caught.value, DagwrightInvalidTagError)


def test_a_tag_value_must_be_a_json_object() -> None:
    with pytest.raises(K8sConfigError, match="must be a JSON object"):
        parse_config_tag("not json")
    assert parse_config_tag('{"job_spec_config": {"backoffLimit": 1}}') == {
        "job_spec_config": {"backoffLimit": 1}
    }


ENV_A = {"name": "A", "value": "1"}
ENV_A2 = {"name": "A", "value": "2"}
ENV_B = {"name": "B", "value": "3"}


@pytest.mark.parametrize(
    ("layers", "merged"),
    [
        # mappings merge recursively; a later scalar wins
        ([{"c": {"a": 1, "b": {"x": 1}}}, {"c": {"b": {"y": 2}, "a": 3}}], {"c": {"a": 3, "b": {"x": 1, "y": 2}}}),
        # lists of named objects merge by name, new names are appended in order
        ([{"env": [ENV_A]}, {"env": [ENV_A2, ENV_B]}], {"env": [ENV_A2, ENV_B]}),
        ([{"env": [ENV_B, ENV_A]}, {"env": [ENV_A2]}], {"env": [ENV_B, ENV_A2]}),
        # a named object merges field by field
        (
            [{"volumes": [{"name": "v", "emptyDir": {}}]}, {"volumes": [{"name": "v", "emptyDir": {"medium": "Memory"}}]}],
            {"volumes": [{"name": "v", "emptyDir": {"medium": "Memory"}}]},
        ),
        # other lists are appended
        ([{"args": ["a"]}, {"args": ["b"]}], {"args": ["a", "b"]}),
        ([{"tolerations": [{"key": "k"}]}, {"tolerations": [{"key": "j"}]}], {"tolerations": [{"key": "k"}, {"key": "j"}]}),
        # a list over a mapping (or the reverse): the later wins
        ([{"x": {"a": 1}}, {"x": [1]}], {"x": [1]}),
        # three layers, least specific first
        ([{"a": 1}, {"a": 2}, {"a": 3}], {"a": 3}),
        ([], {}),
    ],
)  # fmt: skip
def test_merge(layers: list[dict[str, Any]], merged: dict[str, Any]) -> None:
    assert merge_configs(*layers) == merged


def test_a_merge_shares_no_object_with_its_layers() -> None:
    base = {"labels": {"a": "1"}, "env": [ENV_A]}
    merged = merge_configs(base, {})
    merged["labels"]["b"] = "2"
    merged["env"][0]["value"] = "9"
    assert base == {"labels": {"a": "1"}, "env": [{"name": "A", "value": "1"}]}


def test_tag_layers_merge_into_one_canonical_value() -> None:
    job = '{"container_config": {"env": [{"name": "A", "value": "1"}]}}'
    launch = '{"containerConfig": {"env": [{"name": "A", "value": "2"}], "args": ["x"]}}'
    assert merged_config_tag([job, launch]) == (
        '{"container_config":{"args":["x"],"env":[{"name":"A","value":"2"}]}}'
    )
