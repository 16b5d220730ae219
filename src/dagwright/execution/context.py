"""``OpExecutionContext``: what an op sees of its run (tags, partition, config, log)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dagwright.errors import DagwrightInvalidPartitionError, DagwrightInvalidTagError
from dagwright.execution.events import LEVELS
from dagwright.runs.models import Run

if TYPE_CHECKING:
    from dagwright.definitions.partitions import PartitionsDefinition

#: Python logger that op log lines are mirrored to.
_PY_LOGGER = logging.getLogger("dagwright.ops")

LogSink = Callable[[str, str, str], None]
"""Receives (step_key, level, message) and stores a LOG event."""

TagSink = Callable[[str, Mapping[str, object], Sequence[str]], Run]
"""Receives (node name, tags to add, keys to remove), changes the run's tags (audited as
``op:<node name>``) and returns the run as stored."""


def _refuse_control_tags(keys: Sequence[str] | Mapping[str, object]) -> None:
    from dagwright.tags import CONTROL_TAG_RULES

    for key in keys:
        if key in CONTROL_TAG_RULES:
            raise DagwrightInvalidTagError(
                key, "a control tag cannot change while the run runs (it was acted on at launch)"
            )


class OpLogger:
    """``context.log``: each line is stored as a LOG event of the run (and sent to
    Python's ``dagwright.ops`` logger)."""

    __slots__ = ("_sink", "_step_key")

    def __init__(self, step_key: str, sink: LogSink) -> None:
        self._step_key = step_key
        self._sink = sink

    def log(self, level: str, message: object) -> None:
        """Store a line at ``level`` (one of DEBUG, INFO, WARNING, ERROR, CRITICAL)."""
        level = level.upper()
        if level not in LEVELS:
            raise ValueError(f"unknown log level {level!r}; use one of {', '.join(LEVELS)}")
        text = str(message)
        _PY_LOGGER.log(logging.getLevelName(level), "%s: %s", self._step_key, text)
        self._sink(self._step_key, level, text)

    def debug(self, message: object) -> None:
        """Store a DEBUG line."""
        self.log("DEBUG", message)

    def info(self, message: object) -> None:
        """Store an INFO line."""
        self.log("INFO", message)

    def warning(self, message: object) -> None:
        """Store a WARNING line."""
        self.log("WARNING", message)

    def error(self, message: object) -> None:
        """Store an ERROR line."""
        self.log("ERROR", message)

    def critical(self, message: object) -> None:
        """Store a CRITICAL line."""
        self.log("CRITICAL", message)


class OpExecutionContext:
    """Passed as the first argument (``context``) of an op that asks for it.

    Attributes:
        run: the run being executed (``context.run.tags`` …).
        op_name: the node name of the op (its alias, if it has one).
        op_config: the op's config object, or None.
        log: store log lines as events of the run.
    """

    __slots__ = ("_partitions_def", "_tag_sink", "log", "op_config", "op_name", "run")

    def __init__(
        self,
        run: Run,
        op_name: str,
        op_config: Any,
        log: OpLogger,
        partitions_def: PartitionsDefinition | None = None,
        tag_sink: TagSink | None = None,
    ) -> None:
        self.run = run
        self.op_name = op_name
        self.op_config = op_config
        self.log = log
        self._partitions_def = partitions_def
        self._tag_sink = tag_sink

    def add_run_tags(self, tags: Mapping[str, object]) -> None:
        """Add (or change) user tags of this run while it runs; ``context.run.tags`` shows
        them at once. Recorded in the run's tag history as ``op:<node name>``, via ``op``.

        Raises:
            DagwrightInvalidTagError: a tag breaks a rule, is a system tag, or is a control
                tag (``dagwright/priority``, ``dagwright/max_retries`` …: acted on at
                launch); nothing is stored.
        """
        if not isinstance(tags, Mapping):
            raise DagwrightInvalidTagError("<tags>", "tags must be a mapping")
        _refuse_control_tags(tags)
        self._change_tags(tags, ())

    def remove_run_tags(self, keys: Sequence[str]) -> None:
        """Remove user tags of this run while it runs (system and control tags refused).

        Raises:
            DagwrightInvalidTagError: a key is malformed, a system tag or a control tag.
        """
        if isinstance(keys, str):
            raise DagwrightInvalidTagError("<keys>", "keys to remove are a list of strings")
        _refuse_control_tags(keys)
        self._change_tags({}, keys)

    def _change_tags(self, add: Mapping[str, object], remove: Sequence[str]) -> None:
        if self._tag_sink is None:
            raise DagwrightInvalidTagError("<tags>", "this context cannot change run tags")
        self.run = self._tag_sink(self.op_name, add, remove)

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self.run.run_id

    @property
    def job_name(self) -> str:
        """The job's name."""
        return self.run.job_name

    def get_tag(self, key: str) -> str | None:
        """The run's tag ``key``, or None."""
        return self.run.tags.get(key)

    def has_tag(self, key: str) -> bool:
        """Whether the run has tag ``key``."""
        return key in self.run.tags

    @property
    def has_partition_key(self) -> bool:
        """Whether the run is for one partition."""
        return self.run.partition_key is not None

    @property
    def partition_key(self) -> str:
        """The partition this run is for.

        Raises:
            DagwrightInvalidPartitionError: the run is not for a partition.
        """
        key = self.run.partition_key
        if key is None:
            raise DagwrightInvalidPartitionError(
                None, self.run.job_name, "this run has no partition"
            )
        return key

    @property
    def partition_time_window(self) -> tuple[datetime, datetime]:
        """The ``[start, end)`` window (aware UTC) of this run's time partition.

        Raises:
            DagwrightInvalidPartitionError: the run has no partition, or the job's
                partitions are not time windows.
        """
        key = self.partition_key
        window = None
        if self._partitions_def is not None:
            window = self._partitions_def.time_window_for_key(key)
        if window is None:
            raise DagwrightInvalidPartitionError(
                key, self.run.job_name, "the job's partitions are not time windows"
            )
        return window
