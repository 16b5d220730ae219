"""The dagwright error tree.

Every error dagwright raises on purpose is a :class:`DagwrightError`; a user catches the
branch they care about::

    DagwrightError
    ├── DagwrightDefinitionError          a job, graph, op or definition is malformed
    │   ├── DagwrightInvalidMetadataError a metadata key or value is not allowed
    │   └── DagwrightInvalidTagError      a tag key or value breaks a tag rule
    ├── DagwrightInvalidConfigError       run config, settings or dagwright.yaml is wrong
    ├── DagwrightInvalidPartitionError    a partition key is not in the definition
    ├── DagwrightInvalidQueryError        a run query breaks the query grammar
    ├── DagwrightCodeLoadError            a code file, module or job cannot be loaded
    │   └── DagwrightCodeLocationError    a server or daemon refuses code it was not started with
    ├── DagwrightNotFoundError            no backfill, schedule … with that id or name
    │   └── DagwrightRunNotFoundError     no run with that id
    ├── DagwrightInvalidTransitionError   a run status change that is not allowed
    ├── DagwrightStorageError             the database failed or is at an unknown schema
    ├── DagwrightExecutionError           a run failed (raise_on_error=True)
    └── DagwrightUserCodeError            user code raised; wraps the original exception

Each error carries the facts that caused it as attributes (``key``, ``rule``, ``run_id`` …)
and builds its message from them, so that the CLI, the API and the UI can show one line.
"""

from __future__ import annotations

__all__ = [
    "DagwrightCodeLoadError",
    "DagwrightCodeLocationError",
    "DagwrightDefinitionError",
    "DagwrightError",
    "DagwrightExecutionError",
    "DagwrightInvalidConfigError",
    "DagwrightInvalidMetadataError",
    "DagwrightInvalidPartitionError",
    "DagwrightInvalidQueryError",
    "DagwrightInvalidTagError",
    "DagwrightInvalidTransitionError",
    "DagwrightNotFoundError",
    "DagwrightRunNotFoundError",
    "DagwrightStorageError",
    "DagwrightUserCodeError",
]


class DagwrightError(Exception):
    """Base of every error dagwright raises on purpose."""


class DagwrightDefinitionError(DagwrightError):
    """A job, graph, op, schedule or other definition is malformed."""


class DagwrightInvalidMetadataError(DagwrightDefinitionError):
    """A metadata entry is not allowed.

    Attributes:
        key: the metadata key at fault.
        rule: what was wrong with it.
    """

    def __init__(self, key: str, rule: str) -> None:
        self.key = key
        self.rule = rule
        super().__init__(f"metadata {key!r}: {rule}")


class DagwrightInvalidTagError(DagwrightDefinitionError):
    """A tag breaks a tag rule (key shape, value type or size, reserved prefix).

    Attributes:
        key: the tag key at fault.
        rule: the rule it breaks.
        path: where in a JSON value the fault is (``a.b.3``), if it is inside one.
    """

    def __init__(self, key: str, rule: str, path: str | None = None) -> None:
        self.key = key
        self.rule = rule
        self.path = path
        at = f" at {path}" if path else ""
        super().__init__(f"tag {key!r}{at}: {rule}")


class DagwrightInvalidConfigError(DagwrightError):
    """Run config, instance settings or a config file is wrong.

    Attributes:
        where: what holds the fault (``op 'load'``, ``dagwright.yaml``, …).
        key: the dotted key or field at fault, if one is known.
        rule: what was wrong.
    """

    def __init__(self, where: str, rule: str, key: str | None = None) -> None:
        self.where = where
        self.key = key
        self.rule = rule
        at = f"{where}, {key}" if key else where
        super().__init__(f"{at}: {rule}")


class DagwrightInvalidPartitionError(DagwrightError):
    """A partition key is not one of the job's partitions (or the job has none).

    Attributes:
        partition_key: the key that was asked for (None when the trouble is no one key).
        job_name: the job it was asked of.
    """

    def __init__(self, partition_key: str | None, job_name: str, rule: str) -> None:
        self.partition_key = partition_key
        self.job_name = job_name
        self.rule = rule
        where = "job" if partition_key is None else f"partition {partition_key!r} of job"
        super().__init__(f"{where} {job_name!r}: {rule}")


class DagwrightInvalidQueryError(DagwrightError):
    """A run query (DESIGN §10) breaks the grammar.

    Attributes:
        query: the query as given.
        position: 0-based character offset of the offending token; the query's length
            when it ended too early.
        expected: what the grammar wanted there, in words.
    """

    def __init__(self, query: str, position: int, expected: str) -> None:
        self.query = query
        self.position = position
        self.expected = expected
        found = repr(query[position]) if position < len(query) else "the end of the query"
        super().__init__(
            f"invalid query at position {position}: expected {expected}, found {found}"
        )


class DagwrightCodeLoadError(DagwrightError):
    """A code file, module or job named by the user cannot be loaded."""


class DagwrightCodeLocationError(DagwrightCodeLoadError):
    """A server or daemon was asked to run code it was not started with (``-f``/``-m``).

    Attributes:
        location: the code location asked for (``code file '/abs/jobs.py'``).
        loaded: the locations the process was started with (may be empty).
        action: what was refused (``re-execute run 'abc'``).
    """

    def __init__(self, location: str, loaded: tuple[str, ...], action: str) -> None:
        self.location = location
        self.loaded = loaded
        self.action = action
        started = "; ".join(loaded) if loaded else "no code"
        super().__init__(
            f"cannot {action}: its code ({location}) is not a code location this process "
            f"was started with (-f/-m: {started})"
        )


class DagwrightNotFoundError(DagwrightError):
    """Nothing of this kind has this id or name.

    Attributes:
        what: the kind of thing (``"backfill"``, ``"schedule"``, ``"run"`` …).
        name: the id or name that was looked up.
    """

    def __init__(self, what: str, name: str) -> None:
        self.what = what
        self.name = name
        super().__init__(f"{what} {name!r} not found")


class DagwrightRunNotFoundError(DagwrightNotFoundError):
    """No run has this id.

    Attributes:
        run_id: the id that was looked up.
    """

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__("run", run_id)


class DagwrightInvalidTransitionError(DagwrightError):
    """A status change that is not allowed (of a run, or of a backfill).

    Attributes:
        run_id: the run (or backfill) id.
        from_status: its status now.
        to_status: the status that was asked for.
        what: ``"run"`` or ``"backfill"``.
        hint: what to do instead, appended to the message (may be empty).
    """

    def __init__(
        self, run_id: str, from_status: str, to_status: str, what: str = "run", hint: str = ""
    ) -> None:
        self.run_id = run_id
        self.from_status = from_status
        self.to_status = to_status
        self.what = what
        message = f"{what} {run_id!r} cannot go from {from_status} to {to_status}"
        super().__init__(f"{message}: {hint}" if hint else message)


class DagwrightStorageError(DagwrightError):
    """The database failed, or holds a schema this version of dagwright does not know.

    Attributes:
        transient: whether a later attempt may succeed (a lock held too long, a lost
            connection, a full disk), as opposed to a wrong URL or schema.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class DagwrightExecutionError(DagwrightError):
    """A run did not succeed and the caller asked for an exception.

    Attributes:
        run_id: the failed run.
    """

    def __init__(self, run_id: str, message: str) -> None:
        self.run_id = run_id
        super().__init__(message)


class DagwrightUserCodeError(DagwrightError):
    """User code (an op, a config function …) raised; the original is ``__cause__``.

    Attributes:
        where: which piece of user code raised (``op 'load'``).
    """

    def __init__(self, where: str, original: BaseException) -> None:
        self.where = where
        self.original = original
        super().__init__(f"error in {where}: {type(original).__name__}: {original}")
