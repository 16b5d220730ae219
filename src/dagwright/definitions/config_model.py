"""The pydantic form of a checked config schema (:mod:`dagwright.definitions.config_schema`).

Imports pydantic: loaded only when a run's config is validated against a schema.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Optional

from pydantic import ConfigDict, Strict, create_model
from pydantic import Field as PydanticField

from dagwright.definitions.config_schema import _NO_DEFAULT, FieldNode, Node

#: Scalars are strict, as in Dagster: ``"5"`` is not an int, ``1`` is not a bool (an int
#: is a float).
_SCALARS: Final[dict[str, Any]] = {
    "int": Annotated[int, Strict()],
    "str": Annotated[str, Strict()],
    "float": Annotated[float, Strict()],
    "bool": Annotated[bool, Strict()],
}


def annotation(node: Node, name: str) -> Any:
    """The type pydantic validates ``node`` with (a model class for a dict of fields)."""
    if node.kind in _SCALARS:
        return _SCALARS[node.kind]
    if node.kind == "list":
        assert node.inner is not None
        return list[annotation(node.inner, name)]  # type: ignore[misc]
    if node.kind == "noneable":
        assert node.inner is not None
        return Optional[annotation(node.inner, name)]  # noqa: UP045 - a runtime type
    if node.fields is not None:
        return _model(node, name)
    return Any


def _model(node: Node, name: str) -> Any:
    assert node.fields is not None
    fields: dict[str, Any] = {}
    # Internal names with the real one as alias: any key works, even one that would shadow
    # a BaseModel attribute ("schema", "model_config").
    for index, (field_name, field) in enumerate(node.fields.items()):
        sub = annotation(field.node, f"{name}_{index}")
        fields[f"f{index}"] = (sub, _field_info(field, field_name, sub))
    config = ConfigDict(extra="allow" if node.permissive else "forbid", populate_by_name=False)
    return create_model(name, __config__=config, **fields)


def _field_info(field: FieldNode, alias: str, sub: Any) -> Any:
    options: dict[str, Any] = {"alias": alias, "description": field.description}
    if field.default is not _NO_DEFAULT:
        return PydanticField(default=field.default, **options)
    if field.required:
        return PydanticField(**options)
    if field.node.fields is not None and field.node.kind != "noneable":
        return PydanticField(default_factory=sub, **options)  # its own defaults
    return PydanticField(default=None, **options)
