"""The shapes of the HTTP API: request bodies (validated by pydantic) and the documented
response shapes (for the OpenAPI document).

Jobs, runs, events, the queue, ticks, schedules, sensors and backfills have one JSON form
each, shared with storage and the CLI's ``--json`` (``definitions.job_json``,
``Run.to_json``, ``Event.to_json``, ``queue_to_json``, ``Tick.to_json``,
``instigator_json``, ``Backfill.to_json``).
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateRun(_Body):
    """``POST /runs``: what to run."""

    job_name: str = Field(
        description="A job of the loaded code: its name, or name@location when several code "
        "locations have a job of that name."
    )
    run_config: dict[str, Any] | None = Field(
        None, description='{"ops": {"<op>": {"config": {...}}}}; default: the job\'s.'
    )
    tags: dict[str, Any] | None = Field(None, description="Launch tags (over the job's).")
    op_selection: list[str] | None = Field(None, description="Ops to run ('*name', 'name+').")
    partition_key: str | None = Field(None, description="The partition to run.")


class PatchTags(_Body):
    """``PATCH /runs/{run_id}/tags``: user tags to add (or change) and keys to remove."""

    add: dict[str, Any] = Field(default_factory=dict)
    remove: list[str] = Field(default_factory=list)


class SetPriority(_Body):
    """``POST /runs/{run_id}/priority``: the run's new queue priority (negative allowed)."""

    priority: int = Field(description="Higher launches first; 0 is the default.")


class Reexecute(_Body):
    """``POST /runs/{run_id}/reexecute``: all steps, or only those that did not succeed."""

    from_failure: bool = False
    tags: dict[str, Any] | None = Field(None, description="Launch tags over the parent's.")


class CreateBackfill(_Body):
    """``POST /backfills``: one run per partition of a partitioned job."""

    job_name: str = Field(description="A partitioned job of the loaded code.")
    partition_keys: list[str] | None = Field(
        None, description="The partitions, in submission order; null: every partition."
    )
    tags: dict[str, Any] | None = Field(None, description="User tags of every run.")


# -- documented responses ------------------------------------------------------------------


class ErrorDetail(BaseModel):
    """What was wrong with a request."""

    type: str
    field: str | None
    rule: str
    message: str
    key: str | None = None


class ErrorBody(BaseModel):
    """Every 4xx answer of the API."""

    error: ErrorDetail


class RunOut(BaseModel):
    """A run, as ``Run.to_json`` (and ``dagwright run list --json``) writes it."""

    model_config = ConfigDict(extra="allow")

    run_id: str
    job_name: str
    status: str
    tags: dict[str, str]
    run_config: dict[str, Any]
    op_selection: list[str] | None
    parent_run_id: str | None
    root_run_id: str | None
    created_at: float
    started_at: float | None
    ended_at: float | None


class RunsPage(BaseModel):
    """A page of runs, newest first; ``cursor`` gets the next page (null: none)."""

    runs: list[RunOut]
    cursor: str | None


class EventOut(BaseModel):
    """One event of a run."""

    storage_id: int | None
    run_id: str
    event_type: str
    timestamp: float
    step_key: str | None
    message: str
    level: str
    data: dict[str, Any]


class EventsPage(BaseModel):
    """A run's events in order (``after``: a storage id, exclusive)."""

    events: list[EventOut]


class LogChunkOut(BaseModel):
    """A piece of one step's stdout or stderr (text decoded as UTF-8 with replacement)."""

    id: int
    step_key: str
    stream: Literal["stdout", "stderr"]
    seq: int
    timestamp: float
    text: str


class LogsPage(BaseModel):
    """Step logs in the order written; pass ``cursor`` as ``after`` for what follows
    (null when nothing was read and no ``after`` was given)."""

    chunks: list[LogChunkOut]
    cursor: int | None


class MetadataEntry(BaseModel):
    """A typed metadata value."""

    type: str
    value: Any


class JobSummary(BaseModel):
    """A job in the jobs list."""

    name: str
    location: str | None = Field(description="Its code location (None: not from a workspace).")
    reference: str = Field(
        description="How routes and POST /runs address it: the name, or name@location when "
        "several code locations have a job of that name."
    )
    description: str | None
    metadata: dict[str, MetadataEntry]
    tags: dict[str, str]
    partitioned: bool
    op_count: int


class JobsList(BaseModel):
    """The loaded jobs."""

    jobs: list[JobSummary]


class JobDetail(JobSummary):
    """A job with its graph and partitions."""

    graph: dict[str, Any]
    partitions: dict[str, Any] | None


class TagChange(BaseModel):
    """One audited change of a run's tags."""

    at: float = Field(description="When, in seconds since the epoch.")
    actor: str = Field(description="A token's name, an OS user, a client address, op:<node>.")
    via: str = Field(description="python, cli, api, ui or op.")
    changes: dict[str, dict[str, str | None]] = Field(description='{key: {"old", "new"}}')


class TagHistory(BaseModel):
    """``GET /runs/{run_id}/tag-history``: oldest first."""

    changes: list[TagChange]


class DiffRowOut(BaseModel):
    """One key in both runs: left (old) and right (new) value (null where absent) and how
    they compare."""

    key: str
    left: Any
    right: Any
    state: Literal["same", "changed", "added", "removed"] = Field(
        description="added: only in the right run; removed: only in the left one."
    )


class TagDiffRowOut(DiffRowOut):
    """One tag key in both runs."""

    system: bool = Field(description="A dagwright/ system tag (not a control tag).")


class StepDiffRowOut(DiffRowOut):
    """One step in both runs: its outcome in each (success, failure, skipped, running,
    reused; null: not in that run) and how long it ran (seconds; null: never started)."""

    left: str | None
    right: str | None
    left_duration: float | None
    right_duration: float | None


class RunDiffOut(BaseModel):
    """``GET /runs/{run_id}/diff``: the run (right) against another run or its parent
    (left), part by part, in each part's natural order."""

    left_run_id: str
    right_run_id: str
    left_is_parent: bool
    differences: int = Field(description="Rows that are not the same, over every part.")
    summary: list[DiffRowOut] = Field(description="job, status, created_at, duration.")
    tags: list[TagDiffRowOut] = Field(description="Every tag key of either run, sorted.")
    run_config: list[DiffRowOut] = Field(description="Paths such as ops.load.config.rows.")
    op_selection: list[DiffRowOut] = Field(description="op_selection, step_keys_to_execute.")
    steps: list[StepDiffRowOut] = Field(description="Every step of either run, as they ran.")


class TagKeys(BaseModel):
    """Every tag key used by some run."""

    keys: list[str]


class TagValueCount(BaseModel):
    """A tag value and how many runs carry it."""

    value: str
    count: int


class TagValues(BaseModel):
    """The values of one tag key, most used first."""

    key: str
    values: list[TagValueCount]


class TagStatsDay(BaseModel):
    """One UTC day of one value: its runs, and those that succeeded and failed."""

    day: str
    runs: int
    succeeded: int
    failed: int


class TagStatsValue(BaseModel):
    """One value of the key over the window; rates and durations over finished runs
    (null when none finished); ``by_day`` lists the days with runs."""

    value: str
    runs: int
    succeeded: int
    failed: int
    canceled: int
    success_rate: float | None
    p50_seconds: float | None
    p95_seconds: float | None
    by_day: list[TagStatsDay]


class TagStatsOut(BaseModel):
    """``GET /tag-stats``: the window (whole UTC days, ``until`` exclusive), the values
    with the most runs in it, and how many more values had runs."""

    key: str
    since: str
    until: str
    values: list[TagStatsValue]
    more_values: int


class QueueState(BaseModel):
    """The run queue: queued runs in launch order with what holds each, and every limit."""

    model_config = ConfigDict(extra="allow")

    in_progress: int
    max_concurrent_runs: int
    runs: list[dict[str, Any]]
    limits: list[dict[str, Any]]


class DaemonBeatOut(BaseModel):
    """One daemon's latest heartbeat of a loop."""

    name: str
    daemon_id: str = Field(description="host:pid of the daemon process.")
    host: str | None
    pid: int | None
    heartbeat_at: float = Field(description="When its latest pass ended (epoch seconds, UTC).")
    heartbeat_iso: str = Field(description="The same, ISO 8601 in the server's time zone.")
    interval_seconds: float
    age_seconds: float
    state: str = Field(description="healthy, late or missing.")
    stopped: bool = Field(description="The daemon stopped cleanly.")


class DaemonLoopOut(BaseModel):
    """One daemon loop: as healthy as its healthiest daemon."""

    name: str
    expected: bool = Field(description="The settings (or a running daemon) call for it.")
    state: str = Field(description="healthy, late or missing.")
    daemons: list[DaemonBeatOut]


class DaemonHealthOut(BaseModel):
    """The daemons' health: healthy when every expected loop passed within ~3 intervals."""

    state: str = Field(description="healthy, late or missing: the least healthy loop's.")
    healthy: bool
    now: float
    daemons: list[str] = Field(description="Daemons with a loop that is not missing.")
    claims: str = Field(description="How queue claims are kept within the limits.")
    claims_note: str
    loops: list[DaemonLoopOut]


class TickErrorOut(BaseModel):
    """Why a tick failed: a one-line message and, for user code, the traceback."""

    message: str
    traceback: str | None


class TickOut(BaseModel):
    """One evaluation of a schedule or sensor, as ``Tick.to_json`` writes it."""

    tick_id: int
    name: str
    kind: str
    status: str
    timestamp: float
    run_ids: list[str]
    run_keys: list[str]
    skipped_run_keys: list[str]
    skip_reason: str | None
    error: TickErrorOut | None
    cursor: str | None
    ended_at: float | None


class TicksPage(BaseModel):
    """Ticks, newest first; ``cursor`` (a ``tick_id``, as ``before``) gets the next page."""

    ticks: list[TickOut]
    cursor: int | None


class InstigatorOut(BaseModel):
    """A schedule or sensor: its stored state, its definition and its recent ticks (as
    ``dagwright schedule|sensor list --json``)."""

    model_config = ConfigDict(extra="allow")

    name: str
    kind: str
    status: str
    cursor: str | None
    last_tick_at: float | None = Field(description="When its newest stored tick ran (None: none).")
    evaluated_through: float | None = Field(
        description="How far the daemon has evaluated it (a schedule: set when it is started)."
    )
    updated_at: float | None
    stored: bool
    job_name: str
    location: str | None = Field(description="The code location of its job.")
    description: str | None
    default_status: str
    ticks: list[TickOut]


class ScheduleOut(InstigatorOut):
    """A schedule, with its cron, time zone, tags and next tick."""

    cron_schedule: str
    execution_timezone: str
    tags: dict[str, str]
    next_tick_at: float


class SensorOut(InstigatorOut):
    """A sensor, with its minimum interval."""

    minimum_interval_seconds: float


class SchedulesList(BaseModel):
    """The schedules of the loaded code."""

    schedules: list[ScheduleOut]


class SensorsList(BaseModel):
    """The sensors of the loaded code."""

    sensors: list[SensorOut]


class BackfillProgressOut(BaseModel):
    """How far a backfill's runs are."""

    requested: int
    submitted: int
    queued: int
    running: int
    succeeded: int
    failed: int
    canceled: int


class BackfillOut(BaseModel):
    """A backfill, as ``Backfill.to_json`` (and ``dagwright backfill show --json``)."""

    model_config = ConfigDict(extra="allow")

    backfill_id: str
    job_name: str
    status: str
    partition_keys: list[str]
    tags: dict[str, str]
    created_at: float
    ended_at: float | None
    error: str | None
    submitted: int
    progress: BackfillProgressOut


class BackfillsPage(BaseModel):
    """Backfills, newest first; ``cursor`` (a ``backfill_id``) gets the next page."""

    backfills: list[BackfillOut]
    cursor: str | None


#: The error answers every route may give, for the OpenAPI document.
ERROR_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    403: {
        "model": ErrorBody,
        "description": "Refused: cross-origin, or a run of code this server was not started with.",
    },
    404: {"model": ErrorBody, "description": "Unknown run, job, schedule, sensor or backfill."},
    409: {"model": ErrorBody, "description": "Not in a state that allows this."},
    422: {"model": ErrorBody, "description": "Bad input: the field and the rule."},
}
