"""The ``dagwright-k8s/config`` tag: read it, name its fields as the Kubernetes API does,
and merge the layers of it (DESIGN §9).

A config has up to six sections, each shaped like one object of the official client:

========================== ==============================================================
``container_config``       the run's container (``V1Container``)
``pod_template_spec_metadata`` the pod's metadata (``V1ObjectMeta``)
``pod_spec_config``        the pod's spec (``V1PodSpec``)
``job_config``             the Job object itself (``V1Job``)
``job_metadata``           the Job's metadata (``V1ObjectMeta``)
``job_spec_config``        the Job's spec (``V1JobSpec``)
========================== ==============================================================

Section and field names may be snake_case (the client's attribute names) or camelCase (the
API's names). :func:`normalize_config` walks each section along the client's own model
classes (``openapi_types`` and ``attribute_map``) and names every field the API's way, so
that layers written either way merge; keys of free-form maps (labels, annotations,
resource quantities) are left as written. A field no model has is an error naming its path
(``container_config.resources.limts: unknown field``). Value types are checked later,
against the Kubernetes OpenAPI schema, once the whole Job is built
(:mod:`dagwright.k8s.manifest`).

:func:`merge_configs` merges normalised layers, least specific first: mappings
recursively, lists of objects that have a ``name`` by name, other lists appended, a later
scalar wins.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, Final

from dagwright.errors import DagwrightInvalidTagError
from dagwright.tags import K8S_CONFIG_TAG

#: Each section and the client model it is shaped like.
SECTIONS: Final = {
    "container_config": "V1Container",
    "pod_template_spec_metadata": "V1ObjectMeta",
    "pod_spec_config": "V1PodSpec",
    "job_config": "V1Job",
    "job_metadata": "V1ObjectMeta",
    "job_spec_config": "V1JobSpec",
}

#: A normalised config: section name (snake_case) -> the section's fields, API-named.
K8sConfig = dict[str, dict[str, Any]]

_LIST = re.compile(r"^(?:List\[|list\[)(.+)\]$")
_DICT = re.compile(r"^(?:Dict\[str, |dict\(str, )(.+)[\])]$")
_CAMEL_SECTIONS: Final = {
    re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name): name for name in SECTIONS
}


class K8sConfigError(DagwrightInvalidTagError):
    """A ``dagwright-k8s/config`` that is not a Kubernetes config.

    Attributes:
        path: the offending field, e.g. ``container_config.resources.limts``.
    """

    def __init__(self, path: str, rule: str, *, source: str = K8S_CONFIG_TAG) -> None:
        self.path = path
        super().__init__(source, f"{path}: {rule}" if path else rule)


def parse_config_tag(value: str, *, source: str = K8S_CONFIG_TAG) -> K8sConfig:
    """The normalised config a ``dagwright-k8s/config`` tag value holds.

    Args:
        value: the tag's value (a JSON object).
        source: what to name in errors (the tag, or a settings key).

    Raises:
        K8sConfigError: not JSON, not an object, an unknown section or field.
    """
    try:
        data = json.loads(value)
    except ValueError as exc:
        raise K8sConfigError("", f"must be a JSON object ({exc})", source=source) from None
    return normalize_config(data, source=source)


def merged_config_tag(values: Sequence[str]) -> str:
    """One ``dagwright-k8s/config`` value from the values of several tag layers (least
    specific first), as canonical JSON.

    Raises:
        K8sConfigError: a value is not a Kubernetes config, or the client is missing.
    """
    try:
        import kubernetes  # noqa: F401
    except ImportError:
        raise K8sConfigError(
            "", "needs the Kubernetes client: pip install 'dagwright[k8s]'"
        ) from None
    merged = merge_configs(*(parse_config_tag(value) for value in values))
    return json.dumps(merged, sort_keys=True, separators=(",", ":"))


def normalize_config(data: object, *, source: str = K8S_CONFIG_TAG) -> K8sConfig:
    """``data`` (a mapping of sections) with every field named as the Kubernetes API does.

    Raises:
        K8sConfigError: not a mapping, an unknown section or field, a wrong shape.
    """
    if not isinstance(data, Mapping):
        raise K8sConfigError("", "must be a JSON object of sections", source=source)
    config: K8sConfig = {}
    for key, section in data.items():
        name = _CAMEL_SECTIONS.get(key, key)
        if name not in SECTIONS:
            known = ", ".join(SECTIONS)
            raise K8sConfigError(str(key), f"unknown section (known: {known})", source=source)
        if name in config:
            raise K8sConfigError(name, "given twice (snake_case and camelCase)", source=source)
        config[name] = _model(section, SECTIONS[name], name, source)
    return config


def merge_configs(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Merge normalised configs (or sections), least specific first (module docstring)."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged = merge_values(merged, layer)
    return merged


def merge_values(base: Any, override: Any) -> Any:
    """``override`` laid over ``base``: mappings recursively, lists of named objects by
    name, other lists appended, anything else replaced."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge_values(merged.get(key), value)
        return merged
    if isinstance(base, list) and isinstance(override, list):
        if _named(base) and _named(override):
            return _merge_by_name(base, override)
        return [*base, *override]
    if isinstance(override, Mapping):  # a copy: no two places of a result share an object
        return merge_values({}, override)
    if isinstance(override, list):
        return [merge_values(None, item) for item in override]
    return override


def _named(items: Sequence[Any]) -> bool:
    return all(isinstance(item, Mapping) and "name" in item for item in items)


def _merge_by_name(base: list[Any], override: list[Any]) -> list[Any]:
    merged = list(base)
    index = {item["name"]: i for i, item in enumerate(merged)}
    for item in override:
        at = index.get(item["name"])
        if at is None:
            index[item["name"]] = len(merged)
            merged.append(merge_values(None, item))
        else:
            merged[at] = merge_values(merged[at], item)
    return merged


# --- walking the client's models ---------------------------------------------------------


@cache
def _fields(model: str) -> tuple[dict[str, str], dict[str, str]]:
    """A client model's fields: (any accepted name -> API name, API name -> type)."""
    from kubernetes import client

    cls = getattr(client, model)
    names: dict[str, str] = {}
    types: dict[str, str] = {}
    for attr, api_name in cls.attribute_map.items():
        names[attr] = names[api_name] = api_name
        types[api_name] = cls.openapi_types[attr]
    return names, types


def _is_model(type_name: str) -> bool:
    from kubernetes import client

    return type_name[:1].isupper() and hasattr(client, type_name)


def normalize_fields(
    data: object, model: str, path: str = "", *, source: str = K8S_CONFIG_TAG
) -> dict[str, Any]:
    """``data`` as an object of the client model ``model`` (``"V1PodSpec"``), every field
    named as the API does; ``path`` prefixes the fields named in errors.

    Raises:
        K8sConfigError: an unknown field or a wrong shape.
    """
    return _model(data, model, path, source)


def _model(data: object, model: str, path: str, source: str) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        rule = f"expected an object ({model}), got {_kind(data)}"
        raise K8sConfigError(path, rule, source=source)
    names, types = _fields(model)
    out: dict[str, Any] = {}
    for key, value in data.items():
        where = f"{path}.{key}" if path else str(key)
        api_name = names.get(key) if isinstance(key, str) else None
        if api_name is None:
            raise K8sConfigError(where, "unknown field", source=source)
        if api_name in out:
            raise K8sConfigError(where, "given twice (snake_case and camelCase)", source=source)
        out[api_name] = _value(value, types[api_name], where, source)
    return out


def _value(value: Any, type_name: str, path: str, source: str) -> Any:
    if value is None:
        return None
    listed = _LIST.match(type_name)
    if listed:
        if not isinstance(value, list):
            raise K8sConfigError(path, f"expected a list, got {_kind(value)}", source=source)
        return [_value(v, listed.group(1), f"{path}[{i}]", source) for i, v in enumerate(value)]
    mapped = _DICT.match(type_name)
    if mapped:
        if not isinstance(value, Mapping):
            raise K8sConfigError(path, f"expected an object, got {_kind(value)}", source=source)
        return {k: _value(v, mapped.group(1), f"{path}.{k}", source) for k, v in value.items()}
    if _is_model(type_name):
        return _model(value, type_name, path, source)
    return value  # a scalar: its type is checked against the OpenAPI schema


def _kind(value: object) -> str:
    names: dict[type, str] = {dict: "an object", list: "a list", str: "a string"}
    return names.get(type(value), type(value).__name__)
