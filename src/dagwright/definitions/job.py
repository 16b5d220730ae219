"""Jobs: a graph plus the metadata, tags, config, executor and partitions it runs with."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import CodeType
from typing import TYPE_CHECKING, Any, overload

from dagwright.definitions.code_version import git_metadata
from dagwright.definitions.graph import GraphDefinition, make_graph
from dagwright.definitions.op import _check_name
from dagwright.errors import (
    DagwrightDefinitionError,
    DagwrightInvalidMetadataError,
    DagwrightInvalidTagError,
)
from dagwright.metadata import MetadataValue, normalize_metadata
from dagwright.tags import normalize_tags

if TYPE_CHECKING:
    from dagwright.definitions.partitions import PartitionsDefinition
    from dagwright.execution.executors import ExecutorDefinition
    from dagwright.execution.result import ExecuteInProcessResult
    from dagwright.instance import Instance


@dataclass(frozen=True)
class DefinedIn:
    """The module (and file) a job was defined in, for code pointers; ``line`` (where in
    the file) names the definition in errors."""

    module: str | None
    file: str | None
    line: int | None = field(default=None, compare=False)

    @property
    def site(self) -> str:
        """``file:line`` (or the module, or ``<unknown>``), for error messages."""
        place = self.file or self.module or "<unknown>"
        return f"{place}:{self.line}" if self.line is not None else place


def _source_file(names: Mapping[str, Any], code: CodeType | None) -> str | None:
    """The module's ``__file__``, else the code object's file if it is on disk (not a
    notebook cell or ``<stdin>``)."""
    file = names.get("__file__")
    if file is None and code is not None and os.path.isfile(code.co_filename):
        file = code.co_filename
    return file if isinstance(file, str) else None


def caller_location(depth: int = 2) -> DefinedIn:
    """Where the code that called the caller of this function lives."""
    frame = sys._getframe(depth)
    return DefinedIn(
        frame.f_globals.get("__name__"),
        _source_file(frame.f_globals, frame.f_code),
        frame.f_lineno,
    )


def _module_location(fn: Callable[..., Any]) -> DefinedIn:
    """The module, file and first line of ``fn``, from its own globals: a module loaded
    with ``importlib.util.spec_from_file_location`` is not always in ``sys.modules``."""
    names = getattr(fn, "__globals__", {})
    code = getattr(fn, "__code__", None)
    line = code.co_firstlineno if code is not None else None
    return DefinedIn(names.get("__name__", fn.__module__), _source_file(names, code), line)


def user_site() -> str:
    """``file:line`` of the innermost caller outside dagwright's definitions package (where
    a user wrote a schedule or sensor), for error messages."""
    frame = sys._getframe(1)
    inside = __file__.rsplit("/", 1)[0] + "/"
    while frame.f_back is not None and frame.f_code.co_filename.startswith(inside):
        frame = frame.f_back
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


@dataclass(frozen=True, eq=False)
class JobDefinition:
    """A runnable graph with typed metadata and string tags.

    Attributes:
        name: unique among the jobs of a code location.
        graph: the ops and edges (``graph.nodes``, ``graph.edges``).
        metadata: typed values shown in the UI (``owner``, ``docs`` …).
        tags: string tags every run of this job starts with.
        config: default run config (or a partitioned config), used when a run gives none.
        location_name: the code location of a workspace this job was loaded as (set by
            :class:`~dagwright.definitions.workspace.Workspace`; None for a job as defined).
    """

    name: str
    graph: GraphDefinition
    description: str | None = None
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    config: Any = None
    executor_def: ExecutorDefinition | None = None
    partitions_def: PartitionsDefinition | None = None
    defined_in: DefinedIn = DefinedIn(None, None)
    location_name: str | None = None

    @classmethod
    def create(  # noqa: PLR0913 - one keyword per public job option
        cls,
        *,
        name: str,
        graph: GraphDefinition,
        description: str | None = None,
        metadata: Mapping[str, object] | None = None,
        tags: Mapping[str, object] | None = None,
        config: Any = None,
        executor_def: ExecutorDefinition | None = None,
        partitions_def: PartitionsDefinition | None = None,
        defined_in: DefinedIn = DefinedIn(None, None),
    ) -> JobDefinition:
        """Validate the options and build a job.

        Raises:
            DagwrightDefinitionError: (or a subclass) naming the job and the bad option.
        """
        _check_name(name, "job")
        _check_options(name, config, executor_def, partitions_def)
        partitions_def = _partitions_of(name, config, partitions_def)
        return cls(
            name=name,
            graph=graph,
            description=description,
            metadata=_job_metadata(name, {**git_metadata(defined_in.file), **(metadata or {})}),
            tags=_job_tags(name, tags),
            config=config,
            executor_def=executor_def,
            partitions_def=partitions_def,
            defined_in=defined_in,
        )

    @property
    def op_names(self) -> list[str]:
        """Node names, in graph order."""
        return list(self.graph.nodes)

    def execute_in_process(
        self,
        run_config: Mapping[str, Any] | None = None,
        *,
        tags: Mapping[str, object] | None = None,
        op_selection: Sequence[str] | None = None,
        partition_key: str | None = None,
        instance: Instance | None = None,
        raise_on_error: bool = True,
    ) -> ExecuteInProcessResult:
        """Run this job in this process and return its result.

        Args:
            run_config: ``{"ops": {name: {"config": {...}}}}``; default: the job's config.
            tags: launch tags, merged over the job's tags.
            op_selection: ops to run (``"name"``, ``"*name"``, ``"name+"`` …).
            partition_key: the partition to run, for a partitioned job.
            instance: where the run is stored; default: a new ephemeral in-memory one.
            raise_on_error: raise :class:`DagwrightUserCodeError` if an op fails.

        Raises:
            DagwrightInvalidTagError, DagwrightInvalidConfigError, DagwrightInvalidPartitionError:
                bad input, before any run is stored.
            DagwrightUserCodeError: an op raised and ``raise_on_error`` is true.
        """
        from dagwright.execution.in_process import execute_job_in_process

        return execute_job_in_process(
            self,
            run_config=run_config,
            tags=tags,
            op_selection=op_selection,
            partition_key=partition_key,
            instance=instance,
            raise_on_error=raise_on_error,
        )


def _job_metadata(name: str, metadata: Mapping[str, object] | None) -> dict[str, MetadataValue]:
    try:
        return normalize_metadata(metadata)
    except DagwrightInvalidMetadataError as exc:
        raise DagwrightInvalidMetadataError(exc.key, f"{exc.rule} (job {name!r})") from None


def _job_tags(name: str, tags: Mapping[str, object] | None) -> dict[str, str]:
    try:
        return normalize_tags(tags)
    except DagwrightInvalidTagError as exc:
        raise DagwrightInvalidTagError(exc.key, f"{exc.rule} (job {name!r})") from None


def _partitions_of(
    name: str, config: Any, partitions_def: PartitionsDefinition | None
) -> PartitionsDefinition | None:
    """A job configured by a partitioned config is partitioned like it."""
    from dagwright.definitions.partitioned_config import PartitionedConfig

    if not isinstance(config, PartitionedConfig):
        return partitions_def
    if partitions_def is not None and partitions_def != config.partitions_def:
        raise DagwrightDefinitionError(
            f"job {name!r}: partitions_def differs from the partitions of its partitioned config"
        )
    return config.partitions_def


def _check_options(name: str, config: Any, executor_def: Any, partitions_def: Any) -> None:
    from dagwright.definitions.partitions import PartitionsDefinition
    from dagwright.execution.executors import ExecutorDefinition

    if config is not None and not isinstance(config, Mapping) and not callable(config):
        raise DagwrightDefinitionError(
            f"job {name!r}: config must be a run-config dict or a partitioned config"
        )
    if executor_def is not None and not isinstance(executor_def, ExecutorDefinition):
        raise DagwrightDefinitionError(f"job {name!r}: executor_def must be an executor")
    if partitions_def is not None and not isinstance(partitions_def, PartitionsDefinition):
        raise DagwrightDefinitionError(
            f"job {name!r}: partitions_def must be a PartitionsDefinition"
        )


@overload
def job(fn: Callable[[], Any], /) -> JobDefinition: ...


@overload
def job(
    *,
    name: str | None = None,
    description: str | None = None,
    metadata: Mapping[str, object] | None = None,
    tags: Mapping[str, object] | None = None,
    config: Any = None,
    executor_def: ExecutorDefinition | None = None,
    partitions_def: PartitionsDefinition | None = None,
) -> Callable[[Callable[[], Any]], JobDefinition]: ...


def job(
    fn: Callable[[], Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    metadata: Mapping[str, object] | None = None,
    tags: Mapping[str, object] | None = None,
    config: Any = None,
    executor_def: ExecutorDefinition | None = None,
    partitions_def: PartitionsDefinition | None = None,
) -> JobDefinition | Callable[[Callable[[], Any]], JobDefinition]:
    """Turn a function whose body calls ops into a job (``@job`` or ``@job(...)``).

    Args:
        name: job name (default: the function's name).
        description: shown in the UI (default: the docstring).
        metadata: typed metadata; plain values are converted (``str`` -> text …).
        tags: tags every run of this job starts with.
        config: default run config.
        executor_def: how the ops of a run are executed (default: in process).
        partitions_def: the job's partitions.

    Raises:
        DagwrightDefinitionError: (or a subclass) naming the job and what is wrong.
    """

    def decorate(body: Callable[[], Any]) -> JobDefinition:
        job_name = name or body.__name__
        the_graph = make_graph(body, name=job_name, description=description)
        if the_graph.input_names:
            raise DagwrightDefinitionError(f"job {job_name!r}: a job body takes no parameters")
        return JobDefinition.create(
            name=job_name,
            graph=the_graph,
            description=the_graph.description,
            metadata=metadata,
            tags=tags,
            config=config,
            executor_def=executor_def,
            partitions_def=partitions_def,
            defined_in=_module_location(body),
        )

    return decorate(fn) if fn is not None else decorate
