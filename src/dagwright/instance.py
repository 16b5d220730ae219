"""``Instance``: the one facade over settings, storage and (later) the run machinery.

The CLI, the HTTP API and the UI are thin layers over these methods. Storage (and so
SQLAlchemy) is imported only when an instance is made, never by ``import dagwright``.
"""

from __future__ import annotations

import datetime
import getpass
import os
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from dagwright.errors import (
    DagwrightCodeLoadError,
    DagwrightInvalidConfigError,
    DagwrightInvalidTagError,
    DagwrightInvalidTransitionError,
    DagwrightNotFoundError,
    DagwrightRunNotFoundError,
    DagwrightStorageError,
)
from dagwright.execution.events import Event, EventType
from dagwright.jsonvalue import printable, storable
from dagwright.runs.models import (
    IN_PROGRESS_STATUSES,
    Run,
    RunsFilter,
    RunStatus,
    require_code_pointer,
)
from dagwright.tags import (
    BACKFILL_TAG,
    FAILURE_REASON_TAG,
    HELD_BY_TAG,
    IMAGE_TAG,
    PRIORITY_TAG,
    is_system_tag,
    normalize_tags,
    validate_tag_key,
)

if TYPE_CHECKING:
    from dagwright.daemon.health import DaemonHealth
    from dagwright.definitions.container import Definitions
    from dagwright.definitions.job import JobDefinition
    from dagwright.execution.logs import LogChunk, PendingChunk
    from dagwright.execution.outputs import OutputStore
    from dagwright.k8s.manifest import JobManifest
    from dagwright.runs.backfills import Backfill, BackfillStatus
    from dagwright.runs.bulk import Bulk
    from dagwright.runs.columns import Sort
    from dagwright.runs.coordinator import RunCoordinator
    from dagwright.runs.diff import RunDiff
    from dagwright.runs.launcher import RunLauncher
    from dagwright.runs.queue import QueueDecision
    from dagwright.runs.queue_feed import QueueFeed
    from dagwright.runs.request import PreparedRun
    from dagwright.runs.tag_history import TagAudit
    from dagwright.runs.tag_stats import TagStats
    from dagwright.runs.ticks import (
        Instigator,
        InstigatorKind,
        InstigatorState,
        InstigatorStatus,
        Tick,
    )
    from dagwright.runs.views import RunView
    from dagwright.settings import Settings
    from dagwright.storage import Storage
    from dagwright.storage.driver import StorageOptions
    from dagwright.storage.records import RecordStore
    from dagwright.storage.workers import DaemonHeartbeat


def tag_audit(actor: str | None, via: str) -> TagAudit:
    """Who changes tags: ``actor``, or the OS user when None.

    Raises:
        DagwrightInvalidTagError: an unknown ``via`` or an empty actor.
    """
    from dagwright.runs.tag_history import TagAudit

    if actor is None:
        try:
            actor = getpass.getuser()
        except (KeyError, OSError):  # no login name, no passwd entry (a bare container)
            actor = "unknown"
    return TagAudit(actor, via)


class Instance:
    """A dagwright home: its settings and its run storage.

    Make one with :meth:`ephemeral`, :meth:`from_home` or :meth:`get`.
    """

    def __init__(
        self,
        storage: Storage | RecordStore,
        settings: Settings | None = None,
        home: Path | None = None,
        outputs: OutputStore | None = None,
        *,
        storage_url: str | None = None,
        output_spec: str | None = None,
    ) -> None:
        """Wrap opened storage; use :meth:`ephemeral`, :meth:`from_home` or :meth:`get`.

        ``storage`` may be a bare :class:`RecordStore` (a run worker's: no SQLAlchemy);
        the full :attr:`storage` is then opened from ``storage_url`` (with the options
        of ``storage``'s database) when first used.
        """
        from dagwright.storage import Storage

        self.records: Storage | RecordStore = storage
        self._storage = storage if isinstance(storage, Storage) else None
        self._driver_only: RecordStore | None = None  # records before the full storage
        self._opening = threading.Lock()
        self.storage_url = storage_url
        #: How connections to the store behave (passed down to launched workers).
        self.storage_options: StorageOptions = storage.database.options
        self._settings = settings
        self.home = home
        self._outputs = outputs
        self._output_spec = output_spec
        self._queue_feed: QueueFeed | None = None

    @property
    def storage(self) -> Storage:
        """The instance's storage (opened on first use by an instance made with a bare
        :class:`RecordStore`; from then on :attr:`records` are its records too, on its
        connection pool, so a threaded server does not keep a connection per thread)."""
        if self._storage is None:
            with self._opening:
                if self._storage is None:
                    self._storage = self._open_storage()
        return self._storage

    def _open_storage(self) -> Storage:
        from dagwright.storage import Storage

        if self.storage_url is None:
            raise DagwrightStorageError("this instance has only a record store, and no url")
        storage = Storage.open(self.storage_url, self.storage_options)
        self._driver_only, self.records = self.records, storage
        return storage

    @property
    def outputs(self) -> OutputStore:
        """Where step outputs are kept for re-execution (made on first use): for an
        instance with a home, as ``outputs:`` configures (see
        :meth:`~dagwright.settings.Settings.output_store_spec`: pickle files under
        ``<home>/storage``, or the run database), else a dict."""
        if self._outputs is None:
            from dagwright.execution.outputs import MemoryOutputStore, PickleOutputStore

            home = self.home
            spec = self._output_spec or (self.settings.output_store_spec() if home else "")
            if spec.startswith("database:"):
                from dagwright.storage.steps import DatabaseOutputStore

                max_bytes = int(spec.partition(":")[2])
                self._outputs = DatabaseOutputStore(self.records.database, max_bytes)
            elif home is not None:
                self._outputs = PickleOutputStore(home / "storage")
            else:
                self._outputs = MemoryOutputStore()
        return self._outputs

    @property
    def settings(self) -> Settings:
        """The instance's settings (read from the home, or defaults for an ephemeral instance,
        on first use when the instance was made without them)."""
        if self._settings is None:
            from dagwright.settings import Settings, load_settings

            self._settings = Settings() if self.home is None else load_settings(self.home)
        return self._settings

    # -- construction -------------------------------------------------------------------

    @classmethod
    def ephemeral(cls) -> Instance:
        """An instance in memory (SQLite), gone when closed. Used by ``execute_in_process``."""
        from dagwright.storage import Storage

        return cls(Storage.open("sqlite://"))

    @classmethod
    def from_home(cls, path: str | Path) -> Instance:
        """The instance whose home is ``path`` (created if missing; migrated if old).

        Raises:
            DagwrightInvalidConfigError: ``dagwright.yaml`` is wrong (file, key, rule).
            DagwrightStorageError: the database cannot be opened or is too new.
        """
        from dagwright.settings import load_settings
        from dagwright.storage import Storage
        from dagwright.storage.driver import DriverDatabase
        from dagwright.storage.records import RecordStore

        home = _usable_home(path)
        settings = load_settings(home)
        url, options = settings.storage_url(home), settings.storage.options()
        # a current database opens on the driver alone; SQLAlchemy (listings, migrations)
        # is imported when something first needs it
        records = RecordStore(DriverDatabase(url, options))
        try:
            current = records.schema_is_current()
        except BaseException:
            records.close()
            raise
        if current:
            return cls(records, settings, home, storage_url=url)
        records.close()
        return cls(Storage.open(url, options), settings, home, storage_url=url)

    @classmethod
    def for_run_worker(
        cls,
        home: str | Path,
        storage_url: str,
        options: StorageOptions | None = None,
        *,
        outputs: str | None = None,
    ) -> Instance:
        """The instance of a launched run's worker process: its runs, events and heartbeats
        go straight to the database driver (no SQLAlchemy, no settings parsed); the rest is
        opened on first use. The launcher that started the worker made sure the schema is
        current and passes ``storage_url`` and the storage ``options`` down, and
        ``outputs``, the instance's :meth:`~dagwright.settings.Settings.output_store_spec`
        (None: read from the settings when first needed).
        """
        from dagwright.storage.driver import DriverDatabase, StorageOptions
        from dagwright.storage.records import RecordStore

        store = RecordStore(DriverDatabase(storage_url, options or StorageOptions()))
        return cls(store, home=Path(home), storage_url=storage_url, output_spec=outputs)

    @classmethod
    def get(cls) -> Instance:
        """The instance of ``$DAGWRIGHT_HOME`` (default ``./.dagwright``)."""
        from dagwright.settings import home_from_env

        return cls.from_home(home_from_env())

    def close(self) -> None:
        """Release the database connections (and a launcher's standby worker)."""
        if self._launcher is not None:
            self._launcher.close()
        self.records.close()
        if self._driver_only is not None:  # idle since the full storage took over
            self._driver_only.close()

    def __enter__(self) -> Instance:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- submitting and launching ------------------------------------------------------------

    _launcher: RunLauncher | None = None
    _coordinator: RunCoordinator | None = None

    @property
    def launcher(self) -> RunLauncher:
        """Starts the process of each launched run (one OS process per run)."""
        if self._launcher is None and self.settings.run_launcher.k8s is not None:
            from dagwright.k8s.launcher import K8sRunLauncher

            self._launcher = K8sRunLauncher(self, self.settings.run_launcher.k8s)
        if self._launcher is None:
            from dagwright.runs.launcher import ProcessRunLauncher

            default = self.settings.run_launcher.default
            standby = default.standby_workers if default is not None else 0
            self._launcher = ProcessRunLauncher(self, standby_workers=standby)
        return self._launcher

    @property
    def coordinator(self) -> RunCoordinator:
        """Queues submitted runs when ``run_queue`` is configured, else launches them."""
        if self._coordinator is None:
            from dagwright.runs.coordinator import ImmediateRunCoordinator, QueuedRunCoordinator

            kind = QueuedRunCoordinator if self.settings.run_queue else ImmediateRunCoordinator
            self._coordinator = kind(self)
        return self._coordinator

    def submit_run(
        self,
        job: JobDefinition,
        *,
        run_config: Mapping[str, Any] | None = None,
        tags: Mapping[str, object] | None = None,
        op_selection: Sequence[str] | None = None,
        partition_key: str | None = None,
    ) -> Run:
        """Validate and store a run of ``job``, then hand it to the run coordinator.

        The run records a code pointer (the file or module that defined the job) so that a
        run worker in another process loads the same job.

        Returns:
            The run, ``QUEUED`` (with ``run_queue`` configured) or ``STARTING``.

        Raises:
            DagwrightInvalidTagError, DagwrightInvalidConfigError,
            DagwrightInvalidPartitionError: bad input; nothing is stored.
            DagwrightCodeLoadError: the job has no code pointer (defined interactively).
        """
        from dagwright.runs.request import prepare_run

        prepared = prepare_run(
            job,
            run_config=run_config,
            tags=tags,
            op_selection=op_selection,
            partition_key=partition_key,
        )
        return self._submit(prepared.run, job.metadata)

    def k8s_manifest(
        self,
        job: JobDefinition,
        *,
        run_config: Mapping[str, Any] | None = None,
        tags: Mapping[str, object] | None = None,
        op_selection: Sequence[str] | None = None,
        partition_key: str | None = None,
        image: str | None = None,
    ) -> JobManifest:
        """The Kubernetes Job a run of ``job`` would be launched as (nothing is stored and
        no cluster is needed), with this instance's ``run_launcher.k8s`` settings (their
        defaults when another launcher is configured).

        Raises:
            DagwrightInvalidTagError: the Job would be invalid (the field path is named).
            DagwrightInvalidConfigError, DagwrightInvalidPartitionError: bad input.
        """
        from dagwright.k8s.manifest import build_job
        from dagwright.runs.request import prepare_run
        from dagwright.settings import K8sLauncher

        run = prepare_run(
            job,
            run_config=run_config,
            tags=tags,
            op_selection=op_selection,
            partition_key=partition_key,
        ).run
        settings = self.settings.run_launcher.k8s or K8sLauncher()
        return build_job(settings, run, image=image or self.settings.current_image)

    def get_k8s_job(self, run_id: str) -> dict[str, Any] | None:
        """The Kubernetes Job created for a run, as it was sent (None: none was created).

        Raises:
            DagwrightRunNotFoundError: no such run.
        """
        from dagwright.k8s.launcher import JOB_EVENT_KEY

        self._require_run(run_id)
        for event in self.records.events.get_events(run_id):
            if event.event_type is EventType.ENGINE and JOB_EVENT_KEY in event.data:
                job: dict[str, Any] = event.data[JOB_EVENT_KEY]
                return job
        return None

    def _submit(self, run: Run, metadata_keys: Collection[str] | None = None) -> Run:
        """Store a validated run and hand it to the coordinator: the one way a run of this
        process is launched (``submit_run``, ``reexecute``, ``retry``)."""
        run = self._launchable(run, metadata_keys)
        self.add_run(run)
        return self.coordinator.submit(run)

    def _launchable(self, run: Run, metadata_keys: Collection[str] | None = None) -> Run:
        """The run, checked against the tag and metadata policies and stamped with
        ``dagwright/image`` when this process knows its image: every submit path
        (``_submit``, ``submit_runs``) goes through here.

        Args:
            run: the validated run.
            metadata_keys: its job's metadata keys; None: unknown (a retry made from the
                stored run), metadata policies are not checked.

        Raises:
            DagwrightCodeLoadError: the run has no code pointer.
            DagwrightInvalidTagError, DagwrightInvalidMetadataError: a policy refuses it.
            DagwrightInvalidConfigError: the configured launcher cannot launch it.
        """
        require_code_pointer(run.job_name, run.code_pointer)
        self._check_policies(run, metadata_keys)
        k8s = self.settings.run_launcher.k8s
        image = self.settings.current_image or (k8s.image if k8s is not None else None)
        if image:
            run = replace(run, tags={**run.tags, IMAGE_TAG: image})
        if k8s is not None:  # the whole Job is checked before the run is stored
            from dagwright.k8s.launcher import K8sRunLauncher

            launcher = self.launcher
            assert isinstance(launcher, K8sRunLauncher)
            launcher.prepare(run)
        return run

    def _check_policies(self, run: Run, metadata_keys: Collection[str] | None) -> None:
        """Refuse a run its tags or its job's metadata break a policy of (DESIGN §11)."""
        settings = self.settings
        if not settings.tag_policies and not settings.metadata_policies:
            return
        from dagwright.runs.policies import check_run

        user_tags = {k: v for k, v in run.tags.items() if not is_system_tag(k)}
        check_run(
            settings.tag_policies,
            settings.metadata_policies,
            run.job_name,
            user_tags,
            metadata_keys,
        )

    def get_queue_state(self) -> QueueDecision:
        """The run queue as the daemon sees it: every queued run in launch order with its
        position and exactly what holds it, and each tag limit's use.

        The explanation comes from the same pass that decides what to launch. Its runs
        carry only what the queue decides on (id, job, status, tags, creation time). Without
        ``run_queue`` configured, there are no limits and every queued run would launch.
        The instance keeps the queue between calls and reads only the runs that changed.
        """
        feed = self._queue_feed
        if feed is None:
            from dagwright.runs.queue_feed import QueueFeed

            settings = self.settings.run_queue
            if settings is None:
                feed = QueueFeed(-1)
            else:
                feed = QueueFeed(settings.max_concurrent_runs, settings.tag_concurrency_limits)
            self._queue_feed = feed
        return feed.decide(self.records.runs)

    def fail_run(self, run_id: str, reason: str, error: BaseException | None = None) -> Run:
        """End a run that cannot go on as FAILURE, with ``dagwright/failure_reason`` (for
        dagwright's own services: worker, launcher, monitor). Returns the run as it ended,
        also when another process ended it first."""
        from dagwright.execution.step import error_info

        self.set_system_tags(run_id, {FAILURE_REASON_TAG: reason})
        message = f"{reason}: {error}" if error is not None else reason
        data = {"error": error_info(error)} if error is not None else None
        return self.end_run(run_id, EventType.RUN_FAILURE, message, level="ERROR", data=data)

    def end_run(
        self,
        run_id: str,
        event_type: EventType,
        message: str,
        *,
        level: str = "WARNING",
        data: Mapping[str, Any] | None = None,
    ) -> Run:
        """Move a run on with a run-level event (for dagwright's own services); if another
        process moved it first, return it as that process left it."""
        event = Event(
            run_id, event_type, time.time(), message=message, level=level, data=data or {}
        )
        try:
            changed = self.handle_event(event)[1]
        except DagwrightInvalidTransitionError:
            changed = None
        return changed or self._require_run(run_id)

    def set_system_tags(self, run_id: str, tags: Mapping[str, object]) -> Run:
        """Set tags that only dagwright's own services may set (``dagwright/failure_reason``…).

        Raises:
            DagwrightInvalidTagError: a key or value breaks a tag rule.
            DagwrightRunNotFoundError: no such run.
        """
        return self.records.runs.add_run_tags(run_id, normalize_tags(tags, system=True))

    # -- runs -----------------------------------------------------------------------------

    def add_run(self, run: Run) -> Run:
        """Store a new, already validated run (see ``dagwright.runs.request``)."""
        self.records.runs.add_run(run)
        return run

    def handle_event(
        self, event: Event, chunks: Sequence[PendingChunk] = ()
    ) -> tuple[Event, Run | None]:
        """Store an event; a run-level event also moves the run's status (one transaction;
        ``chunks``: the rest of a step's logs, written with its end event).

        Returns:
            The stored event, and the run if its status changed.

        Raises:
            DagwrightInvalidTransitionError: the status change is not allowed.
        """
        return self.records.events.store_event(event, chunks)

    def get_run(self, run_id: str) -> Run | None:
        """The run with this id, or None (also for an id no run can have: not a string,
        a lone surrogate, a NUL)."""
        return self.records.runs.get_run(run_id) if storable(run_id) else None

    def _require_run(self, run_id: str) -> Run:
        run = self.get_run(run_id)
        if run is None:
            raise DagwrightRunNotFoundError(run_id)
        return run

    def get_runs(
        self,
        filters: RunsFilter | None = None,
        *,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> list[Run]:
        """Runs matching ``filters``, newest first.

        Args:
            filters: which runs (tags AND across keys, any of a key's values).
            limit: at most this many.
            cursor: the ``run_id`` of the last run of the previous page.

        Raises:
            DagwrightRunNotFoundError: the cursor names no run.
        """
        return self.storage.runs.get_runs(filters, limit=limit, cursor=cursor)

    def get_sorted_runs(
        self, filters: RunsFilter | None, sort: Sort, *, limit: int = 50, offset: int = 0
    ) -> list[Run]:
        """Runs matching ``filters`` in the order ``sort`` (``Sort.parse("-duration")``),
        ``limit`` of them from ``offset``."""
        return self.storage.runs.get_sorted_runs(filters, sort, limit=limit, offset=offset)

    def save_view(self, name: str, q: str, columns: Sequence[str] = ()) -> RunView:
        """Save a view of the runs list (a name used before is replaced).

        Raises:
            DagwrightInvalidConfigError: the name is malformed.
            DagwrightInvalidQueryError: the query is not valid.
            DagwrightInvalidTagError: a column is not a tag key.
        """
        from dagwright.runs.views import make_view

        return self.storage.views.save_view(make_view(name, q, columns, time.time()))

    def get_views(self) -> list[RunView]:
        """Every saved view, by name."""
        return self.storage.views.get_views()

    def get_view(self, name: str) -> RunView:
        """The saved view of this name.

        Raises:
            DagwrightNotFoundError: there is none.
        """
        view = self.storage.views.get_view(name)
        if view is None:
            raise DagwrightNotFoundError("view", name)
        return view

    def delete_view(self, name: str) -> None:
        """Delete a saved view.

        Raises:
            DagwrightNotFoundError: there is none.
        """
        self.storage.views.delete_view(name)

    def bulk_dry_run(self, filters: RunsFilter, *, sample: int = 10) -> tuple[int, list[Run]]:
        """How many runs a bulk action on ``filters`` would act on, and the newest few."""
        return self.get_runs_count(filters), self.get_runs(filters, limit=sample)

    def start_bulk(
        self, filters: RunsFilter, q: str, action: str, params: Mapping[str, Any]
    ) -> Bulk:
        """Fix the set of runs ``filters`` matches (``q``: its text, kept with it) for a
        bulk action; :meth:`run_bulk` then acts on them.

        Raises:
            DagwrightInvalidConfigError: an unknown action, or a bad parameter.
            DagwrightInvalidTagError: a tag to add or key to remove breaks a rule.
        """
        import secrets

        from dagwright.runs.bulk import Bulk, BulkStatus, check_params, parse_action

        kind = parse_action(action)
        checked = check_params(kind, params)
        bulk = Bulk(secrets.token_hex(8), kind, q, checked, BulkStatus.RUNNING, 0, time.time())
        return self.storage.bulk.start(bulk, self.storage.runs.ids_query(filters))

    def run_bulk(
        self,
        bulk_id: str,
        *,
        definitions: Definitions | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> Bulk:
        """Act on every pending run of a started bulk action; each run's outcome is kept
        (one refusal never stops the rest). Returns it DONE, without its results."""
        from dagwright.runs.bulk_runner import run_bulk

        run_bulk(self, bulk_id, definitions=definitions, progress=progress)
        return self.storage.bulk.get(bulk_id, with_results=False)

    def get_bulk(self, bulk_id: str, *, with_results: bool = True) -> Bulk:
        """A bulk action with its progress (and every run's result).

        Raises:
            DagwrightNotFoundError: no bulk action has this id.
        """
        return self.storage.bulk.get(bulk_id, with_results=with_results)

    def get_latest_runs(self, job_names: Sequence[str]) -> dict[str, Run]:
        """The newest run of each of ``job_names`` (a job without runs is absent), in one
        query."""
        return self.storage.runs.get_latest_runs(job_names)

    def get_runs_count(self, filters: RunsFilter | None = None) -> int:
        """How many runs match ``filters``."""
        return self.storage.runs.get_runs_count(filters)

    def get_run_tag_keys(self) -> list[str]:
        """Every tag key used by some run, sorted."""
        return self.storage.runs.get_run_tag_keys()

    def get_run_tag_values(
        self, key: str, *, prefix: str = "", limit: int = 100
    ) -> list[tuple[str, int]]:
        """The values of tag ``key`` (starting with ``prefix``) with their run counts,
        most used first."""
        return self.storage.runs.get_run_tag_values(key, prefix=prefix, limit=limit)

    def add_run_tags(
        self,
        run_id: str,
        tags: Mapping[str, object],
        *,
        actor: str | None = None,
        via: str = "python",
    ) -> Run:
        """Add (or overwrite) user tags on a run, audited (see :meth:`update_run_tags`).

        Raises:
            DagwrightInvalidTagError: a tag breaks a rule (nothing is stored).
            DagwrightRunNotFoundError: no such run.
        """
        return self.update_run_tags(run_id, add=tags, actor=actor, via=via)

    def remove_run_tags(
        self,
        run_id: str,
        keys: Sequence[str],
        *,
        actor: str | None = None,
        via: str = "python",
    ) -> Run:
        """Remove user tags from a run, audited; system tags cannot be removed.

        Raises:
            DagwrightInvalidTagError: a key is malformed or is a system tag.
            DagwrightRunNotFoundError: no such run.
        """
        return self.update_run_tags(run_id, remove=keys, actor=actor, via=via)

    def update_run_tags(
        self,
        run_id: str,
        *,
        add: Mapping[str, object] | None = None,
        remove: Sequence[str] = (),
        actor: str | None = None,
        via: str = "python",
    ) -> Run:
        """Add and remove user tags in one call; everything is checked before anything
        is stored. What really changes is recorded, in the same transaction, as a
        ``TAGS_CHANGED`` event (:meth:`get_tag_history`).

        Args:
            run_id: the run.
            add: tags to set.
            remove: keys to remove.
            actor: who changes them (default: the OS user).
            via: the surface: ``python``, ``cli``, ``api``, ``ui`` or ``op``.

        Raises:
            DagwrightInvalidTagError: a tag breaks a rule, a key to remove is a system tag,
                or a key is both added and removed.
            DagwrightRunNotFoundError: no such run.
        """
        to_add = normalize_tags(add)
        if not storable(run_id):
            raise DagwrightRunNotFoundError(printable(str(run_id)))
        if isinstance(remove, str) or not all(isinstance(key, str) for key in remove):
            raise DagwrightInvalidTagError("<keys>", "keys to remove are a list of strings")
        for key in remove:
            validate_tag_key(key)
            if is_system_tag(key):
                raise DagwrightInvalidTagError(key, "system tags cannot be removed")
            if key in to_add:
                raise DagwrightInvalidTagError(key, "a key cannot be both added and removed")
        audit = tag_audit(actor, via)
        if not to_add and not remove:
            return self._require_run(run_id)
        return self.records.runs.change_run_tags(run_id, to_add, remove, audit)

    def get_tag_history(self, run_id: str) -> list[dict[str, Any]]:
        """Every change of the run's tags after it was created, oldest first:
        ``[{"at", "actor", "via", "changes": {key: {"old", "new"}}}]``.

        Raises:
            DagwrightRunNotFoundError: no such run.
        """
        from dagwright.runs.tag_history import tag_history

        self._require_run(run_id)
        types = (EventType.TAGS_CHANGED,)
        return tag_history(self.records.events.get_events(run_id, event_types=types))

    def get_tag_stats(
        self,
        key: str,
        *,
        since: str | float | datetime.datetime | None = None,
        until: str | float | datetime.datetime | None = None,
        limit: int = 20,
    ) -> TagStats:
        """Tag analytics of ``key`` (DESIGN §11): for its ``limit`` values with the most
        runs created in the window, the runs, successes, failures, success rate, p50/p95
        duration and the same per day. The window is whole UTC days, by default the 30
        ending today; ``since``/``until`` are epoch seconds, ISO 8601 text or datetimes
        (see :mod:`dagwright.runs.tag_stats`).

        Raises:
            DagwrightInvalidConfigError: a bound or ``limit`` is not valid (``key`` names
                which: ``since``, ``until`` or ``limit``).
            DagwrightInvalidTagError: ``key`` is not a valid tag key.
        """
        from dagwright.runs.tag_stats import MAX_VALUES, parse_moment, window_days

        validate_tag_key(key)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_VALUES:
            raise DagwrightInvalidConfigError(
                "tag stats", f"an integer from 1 to {MAX_VALUES}", "limit"
            )
        first, last = window_days(parse_moment(since, "since"), parse_moment(until, "until"))
        return self.storage.tag_stats.get_tag_stats(key, first, last, limit)

    # -- queue control --------------------------------------------------------------------

    def set_run_priority(
        self, run_id: str, priority: int, *, actor: str | None = None, via: str = "python"
    ) -> Run:
        """Change the ``dagwright/priority`` of a QUEUED run (negative allowed); the queue
        uses it from its next pass. Audited.

        Raises:
            DagwrightInvalidTagError: ``priority`` is not an integer.
            DagwrightInvalidTransitionError: the run is not QUEUED.
            DagwrightRunNotFoundError: no such run.
        """
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise DagwrightInvalidTagError(PRIORITY_TAG, "the priority is an integer")
        tags = normalize_tags({PRIORITY_TAG: str(priority)})
        return self._queue_control(run_id, tags, (), tag_audit(actor, via), "reprioritized")

    def hold_run(self, run_id: str, *, actor: str | None = None, via: str = "python") -> Run:
        """Keep a QUEUED run from launching: the system tag ``dagwright/held_by`` = actor
        (the queue explains it as "held by <actor>"). Audited.

        Raises:
            DagwrightInvalidTransitionError: the run is not QUEUED.
            DagwrightRunNotFoundError: no such run.
        """
        audit = tag_audit(actor, via)
        tags = normalize_tags({HELD_BY_TAG: audit.actor}, system=True)
        return self._queue_control(run_id, tags, (), audit, "held")

    def release_run(self, run_id: str, *, actor: str | None = None, via: str = "python") -> Run:
        """Let a held QUEUED run launch again (nothing changes if it is not held). Audited.

        Raises:
            DagwrightInvalidTransitionError: the run is not QUEUED.
            DagwrightRunNotFoundError: no such run.
        """
        audit = tag_audit(actor, via)
        return self._queue_control(run_id, {}, (HELD_BY_TAG,), audit, "released")

    def _queue_control(
        self,
        run_id: str,
        add: Mapping[str, str],
        remove: Sequence[str],
        audit: TagAudit,
        verb: str,
    ) -> Run:
        if not storable(run_id):
            raise DagwrightRunNotFoundError(printable(str(run_id)))

        def queued_only(run: Run) -> None:
            if run.status is not RunStatus.QUEUED:
                hint = f"only a QUEUED run can be {verb}"
                raise DagwrightInvalidTransitionError(run_id, run.status.value, verb, hint=hint)

        return self.records.runs.change_run_tags(run_id, add, remove, audit, queued_only)

    def delete_run(self, run_id: str) -> None:
        """Delete a run with its tags, events and stored outputs.

        Raises:
            DagwrightRunNotFoundError: no such run.
            DagwrightInvalidTransitionError: the run is in progress (terminate it first).
        """
        run = self._require_run(run_id)
        if run.status in IN_PROGRESS_STATUSES:
            raise DagwrightInvalidTransitionError(
                run_id, run.status.value, "deleted", hint="terminate it first"
            )
        self.storage.runs.delete_run(run_id)
        self.outputs.delete_run(run_id)

    def get_events(self, run_id: str, *, after: int | None = None) -> list[Event]:
        """The run's events in order; ``after`` is a ``storage_id`` (exclusive).

        Raises:
            DagwrightRunNotFoundError: no such run.
        """
        self._require_run(run_id)
        return self.records.events.get_events(run_id, after=after)

    def diff_runs(self, run_id: str, other_run_id: str | None = None) -> RunDiff:
        """Compare a run with another run, side by side: summary, tags, run config, op
        selection and each step's outcome. The other run is the left side, ``run_id`` the
        right one, so the diff reads old → new. A run compared with itself is all "same".

        Args:
            run_id: the run asked about.
            other_run_id: the run to compare it with; None: its parent (``parent_run_id``).

        Raises:
            DagwrightRunNotFoundError: either run does not exist (also a deleted parent).
            DagwrightInvalidConfigError: no other run is named and the run has no parent.
        """
        from dagwright.runs.diff import diff_runs

        right = self._require_run(run_id)
        if other_run_id is None:
            if right.parent_run_id is None:
                rule = f"run {run_id!r} has no parent run (name another run to compare it with)"
                raise DagwrightInvalidConfigError("run diff", rule)
            other_run_id = right.parent_run_id
        left = self._require_run(other_run_id)
        events = self.records.events
        left_events = events.get_events(left.run_id)
        same = right.run_id == left.run_id
        right_events = left_events if same else events.get_events(right.run_id)
        return diff_runs(left, left_events, right, right_events, now=time.time())

    def get_step_logs(
        self,
        run_id: str,
        step_key: str | None = None,
        stream: str | None = None,
        after: int | None = None,
        *,
        limit: int | None = None,
    ) -> list[LogChunk]:
        """The run's step logs (stdout and stderr chunks) in the order they were written.

        Args:
            run_id: the run.
            step_key: only this step's.
            stream: only ``"stdout"`` or only ``"stderr"``.
            after: only chunks after this chunk id (``LogChunk.chunk_id``; exclusive).
            limit: at most this many chunks.

        Raises:
            DagwrightRunNotFoundError: no such run.
            DagwrightInvalidConfigError: ``stream`` is neither stdout nor stderr.
        """
        from dagwright.execution.logs import STREAMS

        if stream is not None and stream not in STREAMS:
            raise DagwrightInvalidConfigError("step logs", "must be stdout or stderr", "stream")
        self._require_run(run_id)
        return self.records.compute_logs.get_chunks(
            run_id, step_key=step_key, stream=stream, after=after, limit=limit
        )

    def reexecute(
        self,
        run_id: str,
        *,
        from_failure: bool = False,
        tags: Mapping[str, object] | None = None,
        definitions: Definitions | None = None,
    ) -> Run:
        """Run a finished run's job again, as a child run, through the run coordinator
        (queued or launched like :meth:`submit_run`); an ephemeral instance executes the
        child in this process instead.

        ``from_failure=False`` (ALL_STEPS) re-runs every step of the parent's selection;
        ``from_failure=True`` (FROM_FAILURE) re-runs the steps that did not succeed and
        loads the other steps' outputs from the parent's stored outputs.

        Args:
            run_id: the parent run.
            from_failure: FROM_FAILURE if true, else ALL_STEPS.
            tags: launch tags, merged over the parent's user tags.
            definitions: the code a server or daemon was started with (``-f``/``-m``):
                the parent's job is taken from it and nothing is imported. None (a user's
                own process): the job is loaded from the parent's code pointer.

        Returns:
            The child run: QUEUED or STARTING, or as it ended for an ephemeral instance.

        Raises:
            DagwrightRunNotFoundError: no such run.
            DagwrightCodeLocationError: ``definitions`` is given and the parent's code
                pointer is not one of its locations.
            DagwrightCodeLoadError: the parent's job cannot be loaded from its code pointer.
            DagwrightInvalidTransitionError: the parent is not finished, or it succeeded
                and ``from_failure`` is true.
            DagwrightExecutionError: a stored output the child needs is missing.
            DagwrightInvalidTagError: a launch tag breaks a rule.
        """
        prepared = self._prepare_reexecution(
            run_id, from_failure=from_failure, tags=tags, definitions=definitions
        )
        if self.home is None:
            from dagwright.execution.in_process import execute_prepared

            return execute_prepared(self, prepared).run
        return self._submit(prepared.run)

    def terminate(self, run_id: str, *, timeout: float = 10.0) -> Run:
        """Cancel a run. A queued (or not yet launched) run is CANCELED at once; a launched
        run goes to CANCELING, its process and the processes it started get SIGTERM, and
        the run ends CANCELED when they stop (SIGKILL after ``timeout`` seconds).

        Returns:
            The run, CANCELED (or still CANCELING when its worker runs on another host:
            the run monitor ends it).

        Raises:
            DagwrightRunNotFoundError: no such run.
            DagwrightInvalidTransitionError: the run has already ended.
        """
        run = self._require_run(run_id)
        if run.status.is_finished:
            raise DagwrightInvalidTransitionError(run_id, run.status.value, "CANCELED")
        if run.status in (RunStatus.QUEUED, RunStatus.NOT_STARTED):
            return self.end_run(run_id, EventType.RUN_CANCELED, "canceled before launch")
        if run.status is not RunStatus.CANCELING:
            run = self.end_run(run_id, EventType.RUN_CANCELING, "termination requested")
        self.launcher.terminate(run)
        return self._await_cancel(run, timeout)

    def _await_cancel(self, run: Run, timeout: float) -> Run:
        deadline = time.monotonic() + timeout
        while True:
            current = self._require_run(run.run_id)
            running = self.launcher.is_running(current)
            if current.status.is_finished or running is None:
                return current
            if not running:
                return self.end_run(run.run_id, EventType.RUN_CANCELED, "run worker stopped")
            if time.monotonic() > deadline:
                self.launcher.terminate(current, force=True)
            time.sleep(0.02)

    def retry(
        self,
        run_id: str,
        *,
        retry_number: int,
        from_failure: bool,
        definitions: Definitions | None = None,
    ) -> Run:
        """Submit automatic retry ``retry_number`` of a failed run (the retry loop does this).

        The child is made from the stored run alone (``runs.reexecution.retry_of``): no
        code is imported here; its run worker plans its steps, from the failure (falling
        back to all steps when the parent left nothing to resume from) or all of them.

        Args:
            run_id: the failed run.
            retry_number: 1 for the first retry.
            from_failure: FROM_FAILURE if true, else ALL_STEPS.
            definitions: the code a daemon was started with (``-f``/``-m``): a run whose
                code pointer is not one of its locations is refused.

        Raises:
            DagwrightRunNotFoundError: no such run.
            DagwrightCodeLoadError: the run has no code pointer.
            DagwrightCodeLocationError: the run's code is not one of ``definitions``.
        """
        from dagwright.runs.reexecution import retry_of

        parent = self._require_run(run_id)
        pointer = require_code_pointer(parent.job_name, parent.code_pointer)
        if definitions is not None:
            from dagwright.definitions.loader import loaded_job

            loaded_job(definitions, pointer, f"retry run {run_id!r}")
        child = retry_of(parent, retry_number=retry_number, from_failure=from_failure)
        return self._submit(child)

    def _prepare_reexecution(
        self,
        run_id: str,
        *,
        from_failure: bool,
        tags: Mapping[str, object] | None,
        definitions: Definitions | None,
    ) -> PreparedRun:
        """The validated child run of a re-execution (nothing stored)."""
        from dagwright.definitions.loader import load_job, loaded_job
        from dagwright.runs.reexecution import prepare_reexecution

        parent = self._require_run(run_id)
        pointer = require_code_pointer(parent.job_name, parent.code_pointer)
        if definitions is None:
            job_def = load_job(pointer)
        else:
            job_def = loaded_job(definitions, pointer, f"re-execute run {run_id!r}")
        return prepare_reexecution(
            job_def,
            parent,
            self.records.events.get_events(run_id),
            from_failure=from_failure,
            tags=tags,
            outputs=self.outputs,
        )

    # -- runs made by schedules, sensors and backfills ---------------------------------------

    def submit_runs(
        self, runs: Sequence[Run], *, metadata_keys: Collection[str] | None = None
    ) -> list[str]:
        """Store and submit validated runs made by a schedule, sensor or backfill (see
        ``dagwright.runs.request.prepare_run``), new ones in one transaction.

        Idempotent by run id: a run already stored is not stored again, and is handed to
        the coordinator only if it never was (still ``NOT_STARTED``). So a tick or a
        backfill step repeated after a crash, with the same deterministic run ids, makes
        no duplicate runs.

        Args:
            runs: the runs.
            metadata_keys: their job's metadata keys, checked against the metadata
                policies (None: not checked).

        Returns:
            The run ids, in the order given.

        Raises:
            DagwrightCodeLoadError: a run has no code pointer (nothing is stored).
            DagwrightInvalidTagError, DagwrightInvalidMetadataError: a policy refuses a run
                (nothing is stored).
        """
        launchable = [self._launchable(run, metadata_keys) for run in runs]
        existing = self.storage.runs.get_statuses([run.run_id for run in runs])
        new = [run for run in launchable if run.run_id not in existing]
        if new:
            self.coordinator.submit_many(new)
        for run_id, status in existing.items():
            stored = self.get_run(run_id) if status is RunStatus.NOT_STARTED else None
            if stored is not None:  # stored, but never handed over: a crash in between
                self.coordinator.submit(stored)
        return [run.run_id for run in runs]

    # -- schedules and sensors -----------------------------------------------------------------

    def get_instigator_states(
        self, kind: InstigatorKind | None = None, *, definitions: Definitions | None = None
    ) -> list[InstigatorState]:
        """The state of schedules and sensors (RUNNING or STOPPED, cursor, last tick).

        Args:
            kind: only schedules or only sensors.
            definitions: if given, one state per schedule and sensor they define, in
                their order: the stored one, or one derived from the definition's
                ``default_status`` (``stored=False``); states of names they do not
                define are left out. If not, every stored state, by kind and name.
        """
        from dagwright.runs.ticks import InstigatorKind, InstigatorState, InstigatorStatus

        stored = self.storage.schedules.get_states(kind)
        if definitions is None:
            return stored
        by_key = {(state.kind, state.name): state for state in stored}
        states = []
        for each_kind in [kind] if kind is not None else list(InstigatorKind):
            for defined in definitions.instigators(each_kind).values():
                state = by_key.get((each_kind, defined.name))
                if state is None:
                    status = InstigatorStatus(defined.default_status.value)
                    state = InstigatorState(defined.name, each_kind, status, stored=False)
                states.append(state)
        return states

    def get_instigators(
        self,
        definitions: Definitions,
        kind: InstigatorKind,
        *,
        ticks: int,
        name: str | None = None,
    ) -> list[Instigator]:
        """The schedules (or sensors) of ``definitions``, in their order, each with its
        state (as :meth:`get_instigator_states`) and its newest ``ticks`` ticks, read in
        one query for all.

        Args:
            name: only this one.

        Raises:
            DagwrightNotFoundError: ``definitions`` has no schedule (sensor) ``name``.
        """
        from dagwright.runs.ticks import Instigator

        if name is not None:
            definitions.get_instigator(kind, name)
        states = [
            state
            for state in self.get_instigator_states(kind, definitions=definitions)
            if name is None or state.name == name
        ]
        latest = self.storage.schedules.get_latest_ticks(kind, [s.name for s in states], ticks)
        defined = definitions.instigators(kind)
        return [Instigator(defined[s.name], s, latest[s.name]) for s in states]

    def set_instigator_status(
        self,
        name: str,
        kind: InstigatorKind,
        status: InstigatorStatus,
        *,
        definitions: Definitions | None = None,
    ) -> InstigatorState:
        """Start (RUNNING) or stop (STOPPED) a schedule or sensor; persisted.

        Starting a stopped schedule makes its next tick the first one after now (ticks
        missed while stopped are not run); a started sensor is evaluated on the next
        pass.

        Args:
            definitions: the loaded code (the instance loads none); if given, ``name`` must
                be one of its schedules (or sensors, as ``kind`` says).

        Raises:
            DagwrightNotFoundError: ``definitions`` has no such schedule or sensor; nothing
                is stored.
        """
        from dagwright.runs.ticks import InstigatorKind, InstigatorState, InstigatorStatus

        if definitions is not None:
            definitions.get_instigator(kind, name)
        now = time.time()
        state = self.storage.schedules.get_state(name, kind) or InstigatorState(
            name, kind, InstigatorStatus.STOPPED
        )
        starting = state.status is not status and status is InstigatorStatus.RUNNING
        if starting and kind is InstigatorKind.SCHEDULE:
            state = replace(state, last_tick_at=now)
        return self.storage.schedules.set_state(replace(state, status=status), now)

    def get_ticks(
        self,
        name: str | None = None,
        *,
        kind: InstigatorKind | None = None,
        limit: int | None = 20,
        before: int | None = None,
    ) -> list[Tick]:
        """Ticks of a schedule or sensor (``name=None``: of all), newest first.

        Args:
            name: the schedule's or sensor's name.
            kind: only schedule or only sensor ticks.
            limit: at most this many (None: all).
            before: the ``tick_id`` of the last tick of the previous page.
        """
        return self.storage.schedules.get_ticks(name, kind=kind, limit=limit, before=before)

    def get_daemon_heartbeats(self) -> list[DaemonHeartbeat]:
        """The latest pass of every loop (``backfills``, ``schedules`` …) of every
        ``dagwright daemon``, by loop name, newest first; a loop that never ran has none."""
        return self.records.workers.daemon_heartbeats()

    def get_daemon_health(self, now: float | None = None) -> DaemonHealth:
        """The daemons' health at ``now`` (default: now): each loop the settings expect
        (and any other seen), each daemon's latest heartbeat of it, healthy, late or
        missing (see :mod:`dagwright.daemon.health`)."""
        from dagwright.daemon.health import daemon_health, expected_loops

        moment = time.time() if now is None else now
        beats = self.get_daemon_heartbeats()
        return daemon_health(beats, expected_loops(self.settings), moment)

    # -- backfills ----------------------------------------------------------------------------

    def launch_backfill(
        self,
        job_or_name: JobDefinition | str,
        partition_keys: Sequence[str] | None = None,
        *,
        tags: Mapping[str, object] | None = None,
        definitions: Definitions | None = None,
    ) -> str:
        """Create a backfill: one run per partition, submitted through the run coordinator
        (the queue, with ``run_queue``) by the daemon's backfill loop. Every run is
        tagged ``dagwright/backfill=<id>`` and ``dagwright/partition=<key>``.

        Args:
            job_or_name: a partitioned job, or its name in ``definitions``.
            partition_keys: the partitions, in order; None: all (as of now).
            tags: user tags of every run.
            definitions: where a job given by name is found.

        Returns:
            The backfill id.

        Raises:
            DagwrightInvalidPartitionError: the job is not partitioned, a key is not one of
                its partitions, a key repeats, or there are no keys.
            DagwrightInvalidTagError, DagwrightInvalidConfigError: a run of some
                partition would be refused (every one is checked; nothing is stored).
            DagwrightCodeLoadError: the job has no code pointer, or the name is unknown.
        """
        from dagwright.runs.backfills import new_backfill

        if isinstance(job_or_name, str):
            if definitions is None:
                raise DagwrightCodeLoadError(
                    f"job {job_or_name!r} given by name: pass definitions= (or the job)"
                )
            job_or_name = definitions.get_job(job_or_name)
        backfill = new_backfill(job_or_name, partition_keys, tags)
        from dagwright.runs.backfills import backfill_runs

        first = backfill_runs(job_or_name, backfill, backfill.partition_keys[:1])[0]
        self._check_policies(first, job_or_name.metadata)
        self.storage.backfills.add_backfill(backfill)
        return backfill.backfill_id

    def get_backfill(self, backfill_id: str) -> Backfill | None:
        """The backfill with this id, with its ``progress``; None if there is none."""
        backfill = self.storage.backfills.get_backfill(backfill_id)
        return None if backfill is None else self.storage.backfills.with_progress([backfill])[0]

    def get_backfills(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        status: BackfillStatus | None = None,
    ) -> list[Backfill]:
        """Backfills, newest first, each with its ``progress``.

        Args:
            limit: at most this many.
            cursor: the ``backfill_id`` of the last backfill of the previous page.
            status: only backfills in this status.

        Raises:
            DagwrightNotFoundError: the cursor names no backfill.
        """
        found = self.storage.backfills.get_backfills(limit=limit, cursor=cursor, status=status)
        return self.storage.backfills.with_progress(found)

    def cancel_backfill(self, backfill_id: str) -> Backfill:
        """Cancel a backfill: no more of its runs are submitted, and those still waiting
        (QUEUED or NOT_STARTED) are CANCELED. Runs already launched go on (terminate them
        to stop them). Canceling a CANCELED backfill again does nothing.

        Returns:
            The backfill, CANCELED, with its progress.

        Raises:
            DagwrightNotFoundError: no such backfill.
            DagwrightInvalidTransitionError: it has already COMPLETED or FAILED.
        """
        from dagwright.runs.backfills import BackfillStatus

        store = self.storage.backfills
        while True:  # again if the daemon finished it between the read and the write
            backfill = store.get_backfill(backfill_id)
            if backfill is None:
                raise DagwrightNotFoundError("backfill", backfill_id)
            if backfill.status in (BackfillStatus.COMPLETED, BackfillStatus.FAILED):
                raise DagwrightInvalidTransitionError(
                    backfill_id, backfill.status.value, "CANCELED", what="backfill"
                )
            if backfill.status is BackfillStatus.CANCELED:
                break
            canceled = replace(backfill, status=BackfillStatus.CANCELED, ended_at=time.time())
            if store.update_backfill(canceled, only_from=BackfillStatus.REQUESTED):
                backfill = canceled
                break
        self.cancel_waiting_runs(backfill_id)
        return self.storage.backfills.with_progress([backfill])[0]

    def cancel_waiting_runs(self, backfill_id: str) -> int:
        """Cancel the backfill's runs that have not been launched; returns how many."""
        waiting = self.storage.runs.get_runs(
            RunsFilter(
                tags={BACKFILL_TAG: backfill_id},
                statuses=[RunStatus.QUEUED, RunStatus.NOT_STARTED],
            )
        )
        for run in waiting:
            self.end_run(run.run_id, EventType.RUN_CANCELED, "backfill canceled")
        return len(waiting)


def _usable_home(path: str | Path) -> Path:
    """``path`` as an absolute folder that exists (made if missing) and can be written.

    Raises:
        DagwrightInvalidConfigError: it is a file, read-only, or cannot be made.
    """
    home = Path(path).expanduser().resolve()
    problem = None
    if home.exists() and not home.is_dir():
        problem = "it is a file, not a folder"
    else:
        try:
            home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            problem = str(exc.strerror or exc)
    if problem is None and not os.access(home, os.W_OK):
        problem = "it is read-only (dagwright writes its database and run outputs there)"
    if problem is not None:
        raise DagwrightInvalidConfigError(str(home), f"cannot use as the dagwright home: {problem}")
    return home
