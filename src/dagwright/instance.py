"""``Instance``: the one facade over settings, storage and (later) the run machinery.

The CLI, the HTTP API and the UI are thin layers over these methods. Storage (and so
SQLAlchemy) is imported only when an instance is made, never by ``import dagwright``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from dagwright.errors import (
    DagwrightCodeLoadError,
    DagwrightInvalidConfigError,
    DagwrightInvalidTagError,
    DagwrightRunNotFoundError,
)
from dagwright.execution.events import Event
from dagwright.runs.models import IN_PROGRESS_STATUSES, Run, RunsFilter
from dagwright.tags import IMAGE_TAG, is_system_tag, normalize_tags, validate_tag_key

if TYPE_CHECKING:
    from dagwright.definitions.job import JobDefinition
    from dagwright.runs.coordinator import RunCoordinator
    from dagwright.runs.launcher import RunLauncher
    from dagwright.settings import Settings
    from dagwright.storage import Storage


class Instance:
    """A dagwright home: its settings and its run storage.

    Make one with :meth:`ephemeral`, :meth:`from_home` or :meth:`get`.
    """

    def __init__(
        self, storage: Storage, settings: Settings | None = None, home: Path | None = None
    ) -> None:
        self.storage = storage
        self._settings = settings
        self.home = home

    @property
    def settings(self) -> Settings:
        """The instance's settings (defaults for an ephemeral instance, built on first use)."""
        if self._settings is None:
            from dagwright.settings import Settings

            self._settings = Settings()
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

        home = Path(path).expanduser().resolve()
        try:
            home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DagwrightInvalidConfigError(
                str(home), f"cannot use as the dagwright home: {exc.strerror or exc}"
            ) from exc
        settings = load_settings(home)
        return cls(Storage.open(settings.storage_url(home)), settings, home)

    @classmethod
    def get(cls) -> Instance:
        """The instance of ``$DAGWRIGHT_HOME`` (default ``./.dagwright``)."""
        from dagwright.settings import home_from_env

        return cls.from_home(home_from_env())

    def close(self) -> None:
        """Release the database connections."""
        self.storage.close()

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
        if self._launcher is None:
            from dagwright.runs.launcher import ProcessRunLauncher

            self._launcher = ProcessRunLauncher(self)
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
        run = prepared.run
        if run.code_pointer is None:
            raise DagwrightCodeLoadError(
                f"job {job.name!r} was not defined in a file or module, so a run worker "
                "cannot load it; define it in a .py file"
            )
        image = self.settings.current_image
        if image:
            run = replace(run, tags={**run.tags, IMAGE_TAG: image})
        self.add_run(run)
        return self.coordinator.submit(run)

    def set_system_tags(self, run_id: str, tags: Mapping[str, object]) -> Run:
        """Set tags that only dagwright's own services may set (``dagwright/failure_reason``…).

        Raises:
            DagwrightInvalidTagError: a key or value breaks a tag rule.
            DagwrightRunNotFoundError: no such run.
        """
        normalized = normalize_tags(tags, system=True)
        self._require_run(run_id)
        return self.storage.runs.add_run_tags(run_id, normalized)

    # -- runs -----------------------------------------------------------------------------

    def add_run(self, run: Run) -> Run:
        """Store a new, already validated run (see ``dagwright.runs.request``)."""
        self.storage.runs.add_run(run)
        return run

    def handle_event(self, event: Event) -> tuple[Event, Run | None]:
        """Store an event; a run-level event also moves the run's status (one transaction).

        Returns:
            The stored event, and the run if its status changed.

        Raises:
            DagwrightInvalidTransitionError: the status change is not allowed.
        """
        return self.storage.events.store_event(event)

    def get_run(self, run_id: str) -> Run | None:
        """The run with this id, or None."""
        return self.storage.runs.get_run(run_id)

    def _require_run(self, run_id: str) -> Run:
        run = self.storage.runs.get_run(run_id)
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

    def add_run_tags(self, run_id: str, tags: Mapping[str, object]) -> Run:
        """Add (or overwrite) user tags on a run.

        Raises:
            DagwrightInvalidTagError: a tag breaks a rule (nothing is stored).
            DagwrightRunNotFoundError: no such run.
        """
        return self.update_run_tags(run_id, add=tags)

    def remove_run_tags(self, run_id: str, keys: Sequence[str]) -> Run:
        """Remove user tags from a run; system tags cannot be removed.

        Raises:
            DagwrightInvalidTagError: a key is malformed or is a system tag.
            DagwrightRunNotFoundError: no such run.
        """
        return self.update_run_tags(run_id, remove=keys)

    def update_run_tags(
        self,
        run_id: str,
        *,
        add: Mapping[str, object] | None = None,
        remove: Sequence[str] = (),
    ) -> Run:
        """Add and remove user tags in one call; everything is checked before anything
        is stored.

        Raises:
            DagwrightInvalidTagError: a tag breaks a rule, a key to remove is a system tag,
                or a key is both added and removed.
            DagwrightRunNotFoundError: no such run.
        """
        to_add = normalize_tags(add)
        for key in remove:
            validate_tag_key(key)
            if is_system_tag(key):
                raise DagwrightInvalidTagError(key, "system tags cannot be removed")
            if key in to_add:
                raise DagwrightInvalidTagError(key, "a key cannot be both added and removed")
        run = self._require_run(run_id)
        if to_add:
            run = self.storage.runs.add_run_tags(run_id, to_add)
        if remove:
            run = self.storage.runs.remove_run_tags(run_id, list(remove))
        return run

    def delete_run(self, run_id: str) -> None:
        """Delete a run with its tags and events.

        Raises:
            DagwrightRunNotFoundError: no such run.
            DagwrightInvalidTransitionError: the run is in progress (terminate it first).
        """
        run = self._require_run(run_id)
        if run.status in IN_PROGRESS_STATUSES:
            from dagwright.errors import DagwrightInvalidTransitionError

            raise DagwrightInvalidTransitionError(run_id, run.status.value, "deleted")
        self.storage.runs.delete_run(run_id)

    def get_events(self, run_id: str, *, after: int | None = None) -> list[Event]:
        """The run's events in order; ``after`` is a ``storage_id`` (exclusive).

        Raises:
            DagwrightRunNotFoundError: no such run.
        """
        self._require_run(run_id)
        return self.storage.events.get_events(run_id, after=after)
