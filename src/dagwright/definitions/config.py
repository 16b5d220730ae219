"""Op config: ``Config`` (a pydantic model) and run-config validation.

An op declares config by annotating a parameter with a :class:`Config` subclass; a run
gives it as ``{"ops": {"<op name>": {"config": {...}}}}``. This module imports pydantic,
so ``dagwright`` loads it only when a user asks for ``Config``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from dagwright.errors import DagwrightInvalidConfigError

if TYPE_CHECKING:
    from dagwright.definitions.composition import Node


class Config(BaseModel):
    """Base class of op config. Fields are pydantic fields; unknown keys are errors.

    Example::

        class LoadConfig(Config):
            limit: int = 10

        @op
        def load(config: LoadConfig) -> list[int]:
            return list(range(config.limit))
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def build_config(node: Node, given: Mapping[str, Any] | None) -> Any:
    """Validate one op's config and return the instance its function receives.

    Raises:
        DagwrightInvalidConfigError: naming the op and the field at fault.
    """
    config_type = node.op.config_type
    where = f"op {node.name!r}"
    if node.op.config_schema is not None:
        return node.op.config_schema.validate(where, given)
    if given is not None and not isinstance(given, Mapping):
        kind = type(given).__name__
        raise DagwrightInvalidConfigError(where, f"must be a mapping, not {kind}", key="config")
    if config_type is None:
        if given:
            raise DagwrightInvalidConfigError(where, "this op takes no config", key="config")
        return None
    try:
        return config_type.model_validate(dict(given or {}))
    except ValidationError as exc:
        error = exc.errors()[0]
        key = "config." + _field_path(tuple(error["loc"])) if error["loc"] else "config"
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise DagwrightInvalidConfigError(where, error["msg"] + more, key=key) from None
