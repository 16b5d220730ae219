"""The run record, its statuses and the one table of allowed status changes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Final

from dagwright.errors import DagwrightCodeLoadError, DagwrightInvalidTransitionError

if TYPE_CHECKING:
    from dagwright.runs.query import Expr


class RunStatus(str, Enum):
    """Where a run is in its life."""

    QUEUED = "QUEUED"
    NOT_STARTED = "NOT_STARTED"
    STARTING = "STARTING"
    STARTED = "STARTED"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    CANCELING = "CANCELING"
    CANCELED = "CANCELED"

    @property
    def is_finished(self) -> bool:
        """Whether the run can change no more."""
        return self in FINISHED_STATUSES


#: Statuses a run never leaves.
FINISHED_STATUSES: Final = frozenset({RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.CANCELED})

#: Statuses of runs that hold a launch slot (they count against queue limits).
IN_PROGRESS_STATUSES: Final = frozenset(
    {RunStatus.STARTING, RunStatus.STARTED, RunStatus.CANCELING}
)

_S = RunStatus
#: The allowed status changes: from -> the statuses it may move to.
ALLOWED_TRANSITIONS: Final[Mapping[RunStatus, frozenset[RunStatus]]] = {
    _S.NOT_STARTED: frozenset(
        {_S.QUEUED, _S.STARTING, _S.STARTED, _S.FAILURE, _S.CANCELING, _S.CANCELED}
    ),
    _S.QUEUED: frozenset({_S.STARTING, _S.FAILURE, _S.CANCELING, _S.CANCELED}),
    _S.STARTING: frozenset({_S.STARTED, _S.FAILURE, _S.CANCELING, _S.CANCELED}),
    _S.STARTED: frozenset({_S.SUCCESS, _S.FAILURE, _S.CANCELING}),
    _S.CANCELING: frozenset({_S.CANCELED, _S.FAILURE}),
    _S.SUCCESS: frozenset(),
    _S.FAILURE: frozenset(),
    _S.CANCELED: frozenset(),
}


def check_transition(run_id: str, current: RunStatus, new: RunStatus) -> None:
    """Raise unless the transition table allows ``current`` -> ``new``.

    Raises:
        DagwrightInvalidTransitionError: the change is not allowed.
    """
    if new not in ALLOWED_TRANSITIONS[current]:
        raise DagwrightInvalidTransitionError(run_id, current.value, new.value)


@dataclass(frozen=True)
class CodePointer:
    """Where a job's code lives, so another process can load the same job.

    Exactly one of ``python_file`` and ``module`` is set. ``python_file`` is an absolute
    path; a module pointer records the absolute ``working_directory`` it is imported from.
    ``location_name`` names the code location of a workspace the job was taken from (None
    for a job submitted from Python, and for runs stored before locations were recorded).
    """

    job_name: str
    python_file: str | None = None
    module: str | None = None
    working_directory: str | None = None
    location_name: str | None = None

    def describe(self) -> str:
        """The location in words, for messages: ``code file '/abs/jobs.py'`` or
        ``module 'pipelines' in '/srv/code'``."""
        if self.python_file is not None:
            return f"code file {self.python_file!r}"
        where = f" in {self.working_directory!r}" if self.working_directory else ""
        return f"module {self.module!r}{where}"

    def same_location(self, other: CodePointer) -> bool:
        """Whether both point at the same code location (the job names may differ).

        A module pointer stored without a working directory (before they were recorded)
        matches the module of that name in any directory.
        """
        if self.python_file is not None or other.python_file is not None:
            return self.python_file == other.python_file
        if self.module != other.module:
            return False
        mine, theirs = self.working_directory, other.working_directory
        return mine is None or theirs is None or mine == theirs

    def to_json(self) -> dict[str, str | None]:
        """The JSON form stored with a run."""
        return {
            "job_name": self.job_name,
            "python_file": self.python_file,
            "module": self.module,
            "working_directory": self.working_directory,
            "location_name": self.location_name,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CodePointer:
        """Inverse of :meth:`to_json`."""
        return cls(
            job_name=data["job_name"],
            python_file=data.get("python_file"),
            module=data.get("module"),
            working_directory=data.get("working_directory"),
            location_name=data.get("location_name"),
        )


def require_code_pointer(job_name: str, pointer: CodePointer | None) -> CodePointer:
    """A job's code pointer, which every run that leaves this process needs.

    Raises:
        DagwrightCodeLoadError: there is none (the job was defined interactively).
    """
    if pointer is None:
        raise DagwrightCodeLoadError(
            f"job {job_name!r} has no code pointer: it was not defined in a file or module, "
            "so another process cannot load it; define it in a .py file"
        )
    return pointer


@dataclass(frozen=True)
class Run:
    """One run of a job. Frozen: status changes go through the instance, never assignment.

    Timestamps are seconds since the epoch (UTC). ``step_keys_to_execute`` is set on a
    re-execution from failure: the steps it runs (the others' outputs are loaded from the
    parent run).
    """

    run_id: str
    job_name: str
    status: RunStatus
    tags: Mapping[str, str] = field(default_factory=dict)
    run_config: Mapping[str, Any] = field(default_factory=dict)
    op_selection: tuple[str, ...] | None = None
    parent_run_id: str | None = None
    root_run_id: str | None = None
    created_at: float = 0.0
    started_at: float | None = None
    ended_at: float | None = None
    code_pointer: CodePointer | None = None
    step_keys_to_execute: tuple[str, ...] | None = None

    @property
    def location_name(self) -> str | None:
        """The code location the run's job was taken from (None: not recorded)."""
        return self.code_pointer.location_name if self.code_pointer is not None else None

    @property
    def job_reference(self) -> str:
        """``job@location`` when the location is recorded, else the job name."""
        location = self.location_name
        return f"{self.job_name}@{location}" if location is not None else self.job_name

    @property
    def partition_key(self) -> str | None:
        """The partition this run is for, from its ``dagwright/partition`` tag."""
        return self.tags.get("dagwright/partition")

    def to_json(self) -> dict[str, Any]:
        """The JSON form used by storage, the HTTP API and ``--json`` on the CLI."""
        return {
            "run_id": self.run_id,
            "job_name": self.job_name,
            "status": self.status.value,
            "tags": dict(self.tags),
            "run_config": dict(self.run_config),
            "op_selection": list(self.op_selection) if self.op_selection is not None else None,
            "parent_run_id": self.parent_run_id,
            "root_run_id": self.root_run_id,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "code_pointer": self.code_pointer.to_json() if self.code_pointer else None,
            "step_keys_to_execute": (
                list(self.step_keys_to_execute) if self.step_keys_to_execute is not None else None
            ),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Run:
        """Inverse of :meth:`to_json`."""
        selection = data.get("op_selection")
        pointer = data.get("code_pointer")
        step_keys = data.get("step_keys_to_execute")
        return cls(
            run_id=data["run_id"],
            job_name=data["job_name"],
            status=RunStatus(data["status"]),
            tags=dict(data.get("tags") or {}),
            run_config=dict(data.get("run_config") or {}),
            op_selection=tuple(selection) if selection is not None else None,
            parent_run_id=data.get("parent_run_id"),
            root_run_id=data.get("root_run_id"),
            created_at=data.get("created_at") or 0.0,
            started_at=data.get("started_at"),
            ended_at=data.get("ended_at"),
            code_pointer=CodePointer.from_json(pointer) if pointer else None,
            step_keys_to_execute=tuple(step_keys) if step_keys is not None else None,
        )


@dataclass(frozen=True)
class WorkerInfo:
    """The process executing a run: where it runs and when it last showed life."""

    run_id: str
    pid: int | None
    host: str
    started_at: float
    heartbeat_at: float


TagFilterValue = str | Sequence[str]


@dataclass(frozen=True)
class RunsFilter:
    """Which runs to list. Fields combine with AND; tag keys AND, values of one key OR.

    Attributes:
        run_ids: only these runs.
        job_name: only runs of this job (of any code location).
        location_name: only runs of jobs of this code location (``CodePointer.location_name``).
        statuses: only runs in one of these statuses.
        tags: ``{key: value}`` or ``{key: [values]}`` (checked when the filter is made:
            ``DagwrightInvalidTagError`` for a value that is not a string or a list of them,
            or text no tag can hold).
        created_after: only runs created after this time (epoch seconds, exclusive).
        created_before: only runs created before this time (epoch seconds, exclusive).
        query: a parsed run query (DESIGN §10), ANDed with the fields above; made by
            :meth:`parse`.
    """

    run_ids: Sequence[str] | None = None
    job_name: str | None = None
    statuses: Sequence[RunStatus] | None = None
    tags: Mapping[str, TagFilterValue] | None = None
    created_after: float | None = None
    created_before: float | None = None
    location_name: str | None = None
    query: Expr | None = None

    def __post_init__(self) -> None:
        if self.tags is not None:
            from dagwright.tags import validate_tag_filter

            validate_tag_filter(self.tags)

    @classmethod
    def parse(cls, text: str) -> RunsFilter:
        """The filter of a run query such as ``team:docs -env:prod status:FAILURE``
        (DESIGN §10); an empty query matches every run.

        Raises:
            DagwrightInvalidQueryError: the query breaks the grammar; ``.position`` and
                ``.expected`` say where and what.
        """
        from dagwright.runs.query import parse_query

        return cls(query=parse_query(text))

    def tag_items(self) -> list[tuple[str, tuple[str, ...]]]:
        """The tag filter as ``(key, values)`` pairs, values always a tuple."""
        items = []
        for key, value in (self.tags or {}).items():
            values = (value,) if isinstance(value, str) else tuple(value)
            items.append((key, values))
        return items
