"""``@partitioned_config``: a job's run config computed from the partition key.

``@job(config=my_partitioned_config)`` makes the job partitioned by the config's
partitions (when it has none of its own); a run of one partition with no run config of
its own gets ``fn(partition_key)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dagwright.definitions.partitions import PartitionsDefinition
from dagwright.errors import DagwrightDefinitionError, DagwrightUserCodeError

__all__ = ["PartitionedConfig", "partitioned_config"]


class PartitionedConfig:
    """Run config per partition key.

    Args:
        partitions_def: the partitions it gives config for.
        run_config_for_partition_fn: ``fn(partition_key) -> run config dict``.

    Raises:
        DagwrightDefinitionError: ``partitions_def`` is not a partitions definition or the
            function is not callable.
    """

    def __init__(
        self,
        partitions_def: PartitionsDefinition,
        run_config_for_partition_fn: Callable[[str], Mapping[str, Any]],
    ) -> None:
        if not isinstance(partitions_def, PartitionsDefinition):
            raise DagwrightDefinitionError(
                "partitioned_config: partitions_def must be a PartitionsDefinition, got "
                f"{type(partitions_def).__name__}"
            )
        if not callable(run_config_for_partition_fn):
            raise DagwrightDefinitionError("partitioned_config: needs a function")
        self.partitions_def = partitions_def
        self._fn = run_config_for_partition_fn
        self.__name__ = getattr(run_config_for_partition_fn, "__name__", "partitioned_config")

    def __call__(self, partition_key: str) -> Mapping[str, Any]:
        """The function's own result (it stays callable)."""
        return self._fn(partition_key)

    def run_config_for(self, partition_key: str) -> dict[str, Any]:
        """The run config of one partition, checked to be a dict.

        Raises:
            DagwrightUserCodeError: the function raised (the original is ``__cause__``).
            DagwrightDefinitionError: it returned something that is not a dict.
        """
        where = f"partitioned config {self.__name__!r}"
        try:
            config = self._fn(partition_key)
        except Exception as exc:
            raise DagwrightUserCodeError(where, exc) from exc
        if not isinstance(config, Mapping):
            raise DagwrightDefinitionError(
                f"{where} returned {type(config).__name__} for partition {partition_key!r}; "
                "expected a run-config dict"
            )
        return dict(config)

    def __repr__(self) -> str:
        return f"PartitionedConfig({self.__name__!r}, {self.partitions_def!r})"


def partitioned_config(
    partitions_def: PartitionsDefinition,
) -> Callable[[Callable[[str], Mapping[str, Any]]], PartitionedConfig]:
    """Decorate ``fn(partition_key) -> run_config`` into a :class:`PartitionedConfig`."""

    def decorate(fn: Callable[[str], Mapping[str, Any]]) -> PartitionedConfig:
        return PartitionedConfig(partitions_def, fn)

    return decorate


def default_run_config(config: object, partition_key: str | None) -> dict[str, Any]:
    """The run config a run gets when it gives none: the job's ``config`` dict, or its
    partitioned config (a ``PartitionedConfig`` or a plain ``fn(partition_key)``) for the
    run's partition (``{}`` for a run without one).

    Raises:
        DagwrightUserCodeError, DagwrightDefinitionError: as
            :meth:`PartitionedConfig.run_config_for`.
    """
    if config is None:
        return {}
    if isinstance(config, Mapping):
        return dict(config)
    if partition_key is None:
        return {}
    if not isinstance(config, PartitionedConfig):
        config = PartitionedConfig(_AnyPartitions(), config)  # type: ignore[arg-type]
    return config.run_config_for(partition_key)


class _AnyPartitions(PartitionsDefinition):
    """Stands in for the partitions of a plain config function (never listed)."""

    def get_partition_keys(self, current_time: Any = None) -> list[str]:
        return []

    def _problem(self, key: str, current_time: Any) -> str | None:
        return None

    def _identity(self) -> tuple[object, ...]:
        return ()

    def describe(self) -> str:
        return "any key"
