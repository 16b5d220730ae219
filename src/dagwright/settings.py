"""Instance settings: ``$DAGWRIGHT_HOME/dagwright.yaml``, then ``DAGWRIGHT_*`` env.

Settings are resolved once into frozen, validated models and passed down; nothing below
this module reads the environment. Every error names the file, the dotted key and the rule.

Example (every section optional)::

    storage:
      sqlite: {}                      # default: $DAGWRIGHT_HOME/dagwright.db; or {path: ...}
                                      # {synchronous: NORMAL}: faster, less durable commits
      # postgres: {url: "postgresql+psycopg://user@host/db"}   (or env DAGWRIGHT_PG_URL)
      lock_timeout_seconds: 30        # a statement's wait for another connection's lock
      write_retry_seconds: 30         # retries of a write that failed on storage trouble
    run_queue:                        # absent: runs launch immediately
      max_concurrent_runs: 10         # -1: no cap
      dequeue_interval_seconds: 1
      tag_concurrency_limits:
        - {key: team, value: docs, limit: 1}
        - {key: database, limit: 2}
        - {key: dagwright/backfill, value: {applyLimitPerUniqueValue: true}, limit: 3}
    run_launcher:
      default: {standby_workers: 2}   # or k8s: {namespace: ..., image: ...}
    run_monitoring: {enabled: true, poll_interval_seconds: 5}
    run_retries: {enabled: true, max_retries: 0}
    celery:                           # the Celery executor (dagwright[celery])
      broker_url: redis://127.0.0.1:6379/0   # or env DAGWRIGHT_CELERY_BROKER_URL
      default_queue: dagwright
      default_priority: 5
    outputs: {database: {max_bytes: 67108864}}   # or {pickle: {}}; see OutputsSettings
    compute_logs: {max_bytes_per_step: 4194304}   # kept per step and stream (stdout, stderr)
    tag_policies:                     # checked at submit and by `dagwright check`
      - {key: team, required: true, values: [docs, ml], description: "owning team"}
      - {key: ticket, pattern: "^[A-Z]+-[0-9]+$", jobs: ["finance_*"]}
    metadata_policies:
      - {key: owner, required: true}
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from dagwright.errors import DagwrightInvalidConfigError, DagwrightInvalidTagError
from dagwright.storage.driver import (
    BUSY_TIMEOUT_SECONDS,
    PG_PREFIX,
    SYNCHRONOUS_LEVELS,
    StorageOptions,
    normalize_url,
)
from dagwright.tags import validate_tag_key

if TYPE_CHECKING:
    import yaml

#: The settings file inside ``$DAGWRIGHT_HOME``.
SETTINGS_FILE: Final = "dagwright.yaml"

#: The SQLite database file inside ``$DAGWRIGHT_HOME`` when no path is configured.
DEFAULT_SQLITE_FILE: Final = "dagwright.db"

#: Environment variable that switches storage to PostgreSQL at this URL.
PG_URL_ENV: Final = "DAGWRIGHT_PG_URL"
#: Environment variable that overrides ``celery.broker_url``.
CELERY_BROKER_ENV: Final = "DAGWRIGHT_CELERY_BROKER_URL"
#: The environment variable naming the container image of the code (``dagwright/image``).
IMAGE_ENV: Final = "DAGWRIGHT_CURRENT_IMAGE"

PositiveSeconds = Annotated[float, Field(gt=0, strict=True, allow_inf_nan=False)]
NonNegativeInt = Annotated[int, Field(ge=0, strict=True)]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _exactly_one(section: str, values: Mapping[str, object]) -> str:
    chosen = [name for name, value in values.items() if value is not None]
    if len(chosen) != 1:
        raise ValueError(f"{section} takes exactly one of {', '.join(values)}")
    return chosen[0]


def _null_means_empty(data: Any) -> Any:
    # ``sqlite:`` with nothing after it is YAML null; read it as ``sqlite: {}``.
    if isinstance(data, dict):
        return {key: {} if value is None else value for key, value in data.items()}
    return data


class SqliteStorage(_Section):
    """SQLite storage.

    Attributes:
        path: the database file; relative paths are relative to ``$DAGWRIGHT_HOME``.
            None means ``$DAGWRIGHT_HOME/dagwright.db``.
    """

    path: Annotated[str, Field(min_length=1, strict=True)] | None = None
    synchronous: Annotated[str, Field(strict=True)] = "FULL"

    @field_validator("synchronous")
    @classmethod
    def _level(cls, level: str) -> str:
        if level.upper() not in SYNCHRONOUS_LEVELS:
            raise ValueError(f"must be one of {', '.join(SYNCHRONOUS_LEVELS)}")
        return level.upper()


class PostgresStorage(_Section):
    """PostgreSQL storage.

    Attributes:
        url: ``postgresql+psycopg://user:password@host:port/db`` (``postgresql://`` is
            rewritten to use psycopg 3).
    """

    url: Annotated[str, Field(strict=True)]

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, url: str) -> str:
        normalized = normalize_url(url)
        if not normalized.startswith(PG_PREFIX) or len(normalized) == len(PG_PREFIX):
            raise ValueError("must be a postgresql+psycopg://user@host/db url")
        return normalized


class StorageSettings(_Section):
    """Where runs, tags and events are stored: exactly one of ``sqlite`` and ``postgres``.

    Attributes:
        lock_timeout_seconds: how long a statement waits for a lock another connection
            holds (SQLite's busy timeout, PostgreSQL's ``lock_timeout``).
        write_retry_seconds: how long a write that failed on storage trouble (a lock
            held past the timeout, a lost connection, a full disk) is retried before it
            fails (a run then fails with a storage reason); 0: no retry.
    """

    sqlite: SqliteStorage | None = None
    postgres: PostgresStorage | None = None
    lock_timeout_seconds: PositiveSeconds = BUSY_TIMEOUT_SECONDS
    write_retry_seconds: Annotated[float, Field(ge=0, strict=True, allow_inf_nan=False)] = 30.0

    @model_validator(mode="before")
    @classmethod
    def _nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            stores = {k: v for k, v in data.items() if k in ("sqlite", "postgres")}
            return {**data, **_null_means_empty(stores)}
        return data

    def options(self) -> StorageOptions:
        """How connections to the store behave."""
        return StorageOptions(
            sqlite_synchronous=self.sqlite.synchronous if self.sqlite else "FULL",
            lock_timeout=self.lock_timeout_seconds,
            write_retry=self.write_retry_seconds,
        )

    @model_validator(mode="after")
    def _one(self) -> StorageSettings:
        _exactly_one("storage", {"sqlite": self.sqlite, "postgres": self.postgres})
        return self


class PerUniqueValue(_Section):
    """``{applyLimitPerUniqueValue: true}``: the limit applies to each value separately."""

    apply_limit_per_unique_value: Annotated[bool, Field(strict=True)] = Field(
        alias="applyLimitPerUniqueValue"
    )


class TagConcurrencyLimit(_Section):
    """At most ``limit`` launched, unfinished runs carrying a tag.

    Attributes:
        key: the tag key.
        value: None: any value of the key, together; a string: only that value;
            ``PerUniqueValue``: each value separately.
        limit: how many such runs may be in progress (0 blocks them).
    """

    key: Annotated[str, Field(strict=True)]
    value: str | PerUniqueValue | None = None
    limit: NonNegativeInt

    @field_validator("key")
    @classmethod
    def _tag_key(cls, key: str) -> str:
        try:
            return validate_tag_key(key)
        except DagwrightInvalidTagError as exc:
            raise ValueError(exc.rule) from None

    @field_validator("value", mode="plain")
    @classmethod
    def _value(cls, value: object) -> str | PerUniqueValue | None:
        if value is None or isinstance(value, (str, PerUniqueValue)):
            return value
        if isinstance(value, dict) and set(value) == {"applyLimitPerUniqueValue"}:
            flag = value["applyLimitPerUniqueValue"]
            if isinstance(flag, bool):
                return PerUniqueValue(applyLimitPerUniqueValue=flag)
        raise ValueError("must be a string or {applyLimitPerUniqueValue: true}")

    @property
    def per_unique_value(self) -> bool:
        """Whether each value of the key gets its own limit."""
        return isinstance(self.value, PerUniqueValue) and self.value.apply_limit_per_unique_value

    @property
    def match_value(self) -> str | None:
        """The one value this limit counts, or None for any value."""
        return self.value if isinstance(self.value, str) else None


class TagPolicy(_Section):
    """A rule every run's tag ``key`` must follow (``tag_policies:``).

    Attributes:
        key: the tag key (not a ``dagwright/`` system key).
        required: every run must carry the tag.
        values: the only values allowed (None: any).
        pattern: a regular expression the whole value must match (None: any).
        description: help shown in the launchpad.
        jobs: ``fnmatch`` globs of the job names the policy applies to (None: every job).
    """

    key: Annotated[str, Field(strict=True)]
    required: Annotated[bool, Field(strict=True)] = False
    values: tuple[Annotated[str, Field(strict=True)], ...] | None = None
    pattern: Annotated[str, Field(strict=True)] | None = None
    description: Annotated[str, Field(strict=True)] | None = None
    jobs: tuple[Annotated[str, Field(strict=True)], ...] | None = None

    @field_validator("key")
    @classmethod
    def _tag_key(cls, key: str) -> str:
        try:
            validate_tag_key(key)
        except DagwrightInvalidTagError as exc:
            raise ValueError(exc.rule) from None
        if key.startswith("dagwright/"):
            raise ValueError("system tags (dagwright/...) cannot have a policy")
        return key

    @field_validator("pattern")
    @classmethod
    def _regex(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            import re

            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return pattern


class MetadataPolicy(_Section):
    """A metadata key jobs must define (``metadata_policies:``).

    Attributes:
        key: the metadata key.
        required: every job (that ``jobs`` matches) must define it.
        description: help shown with the job.
        jobs: ``fnmatch`` globs of the job names the policy applies to (None: every job).
    """

    key: Annotated[str, Field(strict=True, min_length=1)]
    required: Annotated[bool, Field(strict=True)] = False
    description: Annotated[str, Field(strict=True)] | None = None
    jobs: tuple[Annotated[str, Field(strict=True)], ...] | None = None


class RunQueueSettings(_Section):
    """The run queue (present: runs wait in the queue for a launch slot).

    Attributes:
        max_concurrent_runs: launched, unfinished runs allowed at once; -1 for no cap.
        dequeue_interval_seconds: how often the queue daemon looks for runs to launch.
        tag_concurrency_limits: per-tag caps, all of which a run must fit.
    """

    max_concurrent_runs: Annotated[int, Field(ge=-1, strict=True)] = 10
    dequeue_interval_seconds: PositiveSeconds = 1.0
    tag_concurrency_limits: tuple[TagConcurrencyLimit, ...] = ()


class DefaultLauncher(_Section):
    """Launch each run as a local process.

    Attributes:
        standby_workers: warm worker processes a launcher that has launched twice keeps
            ready (each serves one run); 0 starts every worker cold.
    """

    standby_workers: Annotated[int, Field(ge=0, le=32, strict=True)] = 2


NonEmptyStr = Annotated[str, Field(min_length=1, strict=True)]


class K8sLauncher(_Section):
    """Launch each run as a Kubernetes Job (``dagwright.k8s``; DESIGN §9).

    Attributes:
        namespace: the namespace Jobs are created in.
        image: the container image (default: ``DAGWRIGHT_CURRENT_IMAGE``).
        image_pull_policy: ``Always``, ``IfNotPresent`` or ``Never`` (default: the cluster's).
        service_account_name: the pods' service account.
        env_config_maps: ConfigMaps whose keys become the container's environment.
        env_secrets: Secrets whose keys become the container's environment.
        env_vars: ``NAME=value``, or ``NAME`` to pass the launcher's own value on.
        volumes: pod volumes (``V1Volume`` objects, snake_case or camelCase).
        volume_mounts: the container's mounts (``V1VolumeMount`` objects).
        labels: extra labels of the Job and its pod.
        job_ttl_seconds_after_finished: how long a finished Job is kept (None: forever).
        run_k8s_config: the least specific layer of ``dagwright-k8s/config``.
        kubeconfig: a kube config file (default: in-cluster, else ``KUBECONFIG`` or
            ``~/.kube/config``).
        kubernetes_version: the Kubernetes version whose OpenAPI schema Jobs are checked
            against (``1.33``); default: the newest the validator knows.
        home: ``DAGWRIGHT_HOME`` inside the pod.
        max_concurrent_launches: Job creations in flight at once.
    """

    namespace: NonEmptyStr = "default"
    image: NonEmptyStr | None = None
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = None
    service_account_name: NonEmptyStr | None = None
    env_config_maps: list[NonEmptyStr] = []
    env_secrets: list[NonEmptyStr] = []
    env_vars: list[NonEmptyStr] = []
    volumes: list[dict[str, Any]] = []
    volume_mounts: list[dict[str, Any]] = []
    labels: dict[str, str] = {}
    job_ttl_seconds_after_finished: NonNegativeInt | None = 86400
    run_k8s_config: dict[str, Any] = {}
    kubeconfig: NonEmptyStr | None = None
    kubernetes_version: NonEmptyStr | None = None
    home: NonEmptyStr = "/tmp/dagwright"
    max_concurrent_launches: Annotated[int, Field(ge=1, le=64, strict=True)] = 8

    @model_validator(mode="after")
    def _k8s_shapes(self) -> K8sLauncher:
        # The Kubernetes-shaped parts are checked as the tag is: field names along the
        # official client's models (the client is imported only when k8s is configured).
        from dagwright.k8s.config import K8sConfigError, normalize_config, normalize_fields

        try:
            normalize_config(self.run_k8s_config)
            normalize_fields({"volumes": self.volumes}, "V1PodSpec")
            normalize_fields({"volume_mounts": self.volume_mounts}, "V1Container")
        except K8sConfigError as exc:
            raise ValueError(exc.rule) from None
        return self


class RunLauncherSettings(_Section):
    """How runs are launched: exactly one of ``default`` and ``k8s``."""

    default: DefaultLauncher | None = None
    k8s: K8sLauncher | None = None

    @model_validator(mode="before")
    @classmethod
    def _nulls(cls, data: Any) -> Any:
        return _null_means_empty(data)

    @model_validator(mode="after")
    def _one(self) -> RunLauncherSettings:
        _exactly_one("run_launcher", {"default": self.default, "k8s": self.k8s})
        return self


class RunMonitoringSettings(_Section):
    """Detection of runs whose worker died or that exceed ``dagwright/max_runtime``."""

    enabled: Annotated[bool, Field(strict=True)] = True
    poll_interval_seconds: PositiveSeconds = 5.0


class RunRetriesSettings(_Section):
    """Automatic retries of failed runs (``dagwright/max_retries`` overrides per run)."""

    enabled: Annotated[bool, Field(strict=True)] = True
    max_retries: NonNegativeInt = 0


class CelerySettings(_Section):
    """The Celery executor's broker and defaults (``celery:``).

    Attributes:
        broker_url: ``redis://…`` or ``amqp://…``; None: the executor's own, else
            ``redis://127.0.0.1:6379/0``.
        default_queue: the queue of a step whose op, run and job set no
            ``dagwright-celery/queue``.
        default_priority: the priority of a step whose op sets no
            ``dagwright-celery/priority`` (higher runs sooner).
        visibility_timeout: Redis only: seconds after which a task taken by a worker that
            has not acknowledged it is delivered again (a step whose worker was killed is
            sent again by its coordinator sooner: see docs/decisions.md).
        step_attempts: how many times a step may be started on a worker before a step
            whose worker died is failed (1: never redelivered).
        publish_retries: how many times sending a step to a broker that is down is tried
            again before the step (and so the run) fails.
    """

    broker_url: Annotated[str, Field(min_length=1, strict=True)] | None = None
    default_queue: Annotated[str, Field(min_length=1, max_length=200, strict=True)] = "dagwright"
    default_priority: Annotated[int, Field(strict=True)] = 5
    visibility_timeout: PositiveSeconds = 3600.0
    step_attempts: Annotated[int, Field(ge=1, le=100, strict=True)] = 2
    publish_retries: Annotated[int, Field(ge=0, le=100, strict=True)] = 3

    @field_validator("broker_url")
    @classmethod
    def _broker(cls, url: str | None) -> str | None:
        if url is not None and url.partition("://")[0] not in _BROKER_SCHEMES:
            raise ValueError(f"must be a {' or '.join(_BROKER_SCHEMES)}:// url")
        return url


_BROKER_SCHEMES: Final = ("redis", "rediss", "amqp", "amqps", "pyamqp")


class DatabaseOutputs(_Section):
    """Step outputs pickled into the run database (hosts share no disk).

    Attributes:
        max_bytes: the largest pickled output stored; a larger one fails its step.
    """

    max_bytes: Annotated[int, Field(ge=1, strict=True)] = 64 * 1024 * 1024


class PickleOutputs(_Section):
    """Step outputs as pickle files under ``$DAGWRIGHT_HOME/storage`` (one host)."""


class OutputsSettings(_Section):
    """Where step outputs are kept: exactly one of ``pickle`` and ``database``."""

    pickle: PickleOutputs | None = None
    database: DatabaseOutputs | None = None

    @model_validator(mode="before")
    @classmethod
    def _nulls(cls, data: Any) -> Any:
        return _null_means_empty(data)

    @model_validator(mode="after")
    def _one(self) -> OutputsSettings:
        _exactly_one("outputs", {"pickle": self.pickle, "database": self.database})
        return self


class ComputeLogsSettings(_Section):
    """Step logs (each step's stdout and stderr, kept in the run database)."""

    #: Bytes kept per step and stream; past it one truncation marker (0: only the marker).
    max_bytes_per_step: NonNegativeInt = 4 * 1024 * 1024


class Settings(_Section):
    """Everything ``dagwright.yaml`` and the environment configure."""

    storage: StorageSettings = StorageSettings(sqlite=SqliteStorage())
    run_queue: RunQueueSettings | None = None
    run_launcher: RunLauncherSettings = RunLauncherSettings(default=DefaultLauncher())
    run_monitoring: RunMonitoringSettings = RunMonitoringSettings()
    run_retries: RunRetriesSettings = RunRetriesSettings()
    celery: CelerySettings | None = None
    outputs: OutputsSettings | None = None
    compute_logs: ComputeLogsSettings = ComputeLogsSettings()
    tag_policies: tuple[TagPolicy, ...] = ()
    metadata_policies: tuple[MetadataPolicy, ...] = ()
    #: The container image of the code, recorded on each run as ``dagwright/image``.
    current_image: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _null_sections(cls, data: Any) -> Any:
        # A section key with nothing after it (YAML null) means that section's defaults;
        # for ``run_queue`` that is a queue with default limits (only absence means none).
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if v is not None or k == "run_queue"}
            if "run_queue" in data and data["run_queue"] is None:
                data["run_queue"] = {}
        return data

    def output_store_spec(self) -> str:
        """Where step outputs go: ``pickle``, or ``database:<max_bytes>``. With no
        ``outputs:`` section, an instance with a ``celery:`` section keeps them in the
        database (its workers share no disk), any other in pickle files."""
        outputs = self.outputs
        if outputs is None:
            outputs = OutputsSettings(database=DatabaseOutputs()) if self.celery else None
        if outputs is None or outputs.database is None:
            return "pickle"
        return f"database:{outputs.database.max_bytes}"

    def storage_url(self, home: Path) -> str:
        """The SQLAlchemy URL of the configured storage.

        Args:
            home: ``$DAGWRIGHT_HOME``, against which a relative SQLite path is resolved.
        """
        if self.storage.postgres is not None:
            return self.storage.postgres.url
        path = Path((self.storage.sqlite and self.storage.sqlite.path) or DEFAULT_SQLITE_FILE)
        path = Path(home).expanduser() / path.expanduser()
        return f"sqlite:///{path.absolute()}"


#: The environment variable naming the instance home.
HOME_ENV: Final = "DAGWRIGHT_HOME"

#: The home used when ``$DAGWRIGHT_HOME`` is not set (relative to the working directory).
DEFAULT_HOME: Final = ".dagwright"


def home_from_env(env: Mapping[str, str] | None = None) -> Path:
    """The instance home: ``$DAGWRIGHT_HOME``, or ``./.dagwright`` when it is not set.

    Args:
        env: the environment; None means ``os.environ``.
    """
    env = os.environ if env is None else env
    return Path(env.get(HOME_ENV) or DEFAULT_HOME).expanduser().absolute()


def load_settings(home: Path, env: Mapping[str, str] | None = None) -> Settings:
    """Read ``home/dagwright.yaml`` (if present), then apply the environment.

    Args:
        home: ``$DAGWRIGHT_HOME``.
        env: the environment; None means ``os.environ``. ``DAGWRIGHT_PG_URL`` switches
            storage to PostgreSQL at that URL; ``DAGWRIGHT_CURRENT_IMAGE`` sets
            ``current_image``; ``DAGWRIGHT_CELERY_BROKER_URL`` sets ``celery.broker_url``.

    Raises:
        DagwrightInvalidConfigError: the file cannot be read or parsed, is not a mapping,
            or a key or value is wrong (``where`` is the file, ``key`` the dotted key).
    """
    env = os.environ if env is None else env
    path = Path(home) / SETTINGS_FILE
    data = _read_yaml(path)
    pg_url = env.get(PG_URL_ENV)
    if pg_url:
        storage = data.get("storage")
        kept = (
            {k: v for k, v in storage.items() if k not in ("sqlite", "postgres")}
            if isinstance(storage, dict)
            else {}
        )
        data = {**data, "storage": {**kept, "postgres": {"url": pg_url}}}
    if env.get(IMAGE_ENV):
        data = {**data, "current_image": env[IMAGE_ENV]}
    broker = env.get(CELERY_BROKER_ENV)
    if broker:
        celery = data.get("celery")
        data = {
            **data,
            "celery": {**(celery if isinstance(celery, dict) else {}), "broker_url": broker},
        }
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        where = _where(exc, path, pg_url=bool(pg_url), broker=bool(broker))
        raise _config_error(str(where), exc) from None


def _where(exc: ValidationError, path: Path, *, pg_url: bool, broker: bool) -> str:
    """The file or environment variable a validation error comes from."""
    loc = _first_loc(exc)
    if pg_url and loc[:2] == ("storage", "postgres"):
        return PG_URL_ENV
    if broker and loc[:2] == ("celery", "broker_url"):
        return CELERY_BROKER_ENV
    return str(path)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise DagwrightInvalidConfigError(str(path), f"cannot read the file: {exc}") from exc
    import yaml  # only when there is a file: a home without one starts faster

    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise DagwrightInvalidConfigError(str(path), _yaml_problem(exc)) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        rule = f"the top level must be a mapping of sections, not {type(data).__name__}"
        raise DagwrightInvalidConfigError(str(path), rule)
    return data


def _yaml_problem(exc: yaml.YAMLError) -> str:
    import yaml

    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"
    return f"invalid YAML: {exc}"


def _first_loc(exc: ValidationError) -> tuple[int | str, ...]:
    return tuple(exc.errors()[0]["loc"])


def _config_error(where: str, exc: ValidationError) -> DagwrightInvalidConfigError:
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"]) or None
    rule = error["msg"].removeprefix("Value error, ")
    if exc.error_count() > 1:
        rule += f" (and {exc.error_count() - 1} more)"
    return DagwrightInvalidConfigError(where, rule, key=key)
