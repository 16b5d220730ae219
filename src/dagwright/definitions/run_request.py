"""What schedules and sensors ask for: ``RunRequest`` and ``SkipReason``, and how the
return value of their functions becomes a list of requests.

Pure: no storage. Tags on a ``RunRequest`` are checked when it is made (user tags; the
control tags are allowed), so a bad request fails in the function that built it.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dagwright.errors import DagwrightDefinitionError, DagwrightInvalidTagError
from dagwright.tags import normalize_tags

__all__ = ["RunRequest", "SkipReason", "collect_requests"]


@dataclass(frozen=True)
class RunRequest:
    """A run a schedule or sensor asks for.

    Attributes:
        run_key: a sensor's dedupe key: a key already used by that sensor is skipped
            (stored, so it holds across restarts). ``None``: never deduped.
        run_config: the run's config; ``None``: the job's default (or its partitioned
            config for ``partition_key``).
        tags: tags merged over the job's and the schedule's or sensor's tags.
        partition_key: the partition to run (recorded in ``dagwright/partition``).

    Raises:
        DagwrightInvalidTagError: a tag breaks a tag rule.
        DagwrightDefinitionError: ``run_key``, ``partition_key`` or ``run_config`` has the
            wrong type.
    """

    run_key: str | None = None
    run_config: Mapping[str, Any] | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    partition_key: str | None = None

    def __post_init__(self) -> None:
        for name in ("run_key", "partition_key"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise DagwrightDefinitionError(
                    f"RunRequest {name} must be a non-empty str, got {value!r}"
                )
        if self.run_config is not None and not isinstance(self.run_config, Mapping):
            raise DagwrightDefinitionError(
                f"RunRequest run_config must be a dict, got {type(self.run_config).__name__}"
            )
        try:
            tags = normalize_tags(self.tags)
        except DagwrightInvalidTagError as exc:
            raise DagwrightInvalidTagError(exc.key, f"{exc.rule} (in a RunRequest)") from None
        object.__setattr__(self, "tags", tags)

    def to_json(self) -> dict[str, Any]:
        """The request as JSON (shown on ticks)."""
        return {
            "run_key": self.run_key,
            "run_config": dict(self.run_config) if self.run_config is not None else None,
            "tags": dict(self.tags),
            "partition_key": self.partition_key,
        }


@dataclass(frozen=True)
class SkipReason:
    """Returned (or yielded) by a schedule or sensor that asks for no run this time.

    Attributes:
        skip_message: why, shown on the tick.
    """

    skip_message: str | None = None


def collect_requests(
    result: object, where: str, *, config_dicts: bool = False, nothing: str | None = None
) -> tuple[list[RunRequest], SkipReason | None]:
    """Turn what a schedule's or sensor's function returned into its requests.

    Accepted: ``None``, a ``RunRequest``, a ``SkipReason``, or an iterable (list,
    generator) of ``RunRequest`` (and at most one ``SkipReason``); with ``config_dicts``
    (schedules) also a run-config dict, which becomes one ``RunRequest``.

    Args:
        result: the return value (a generator is consumed here).
        where: names the schedule or sensor in errors.
        config_dicts: whether a dict means "one run with this config".
        nothing: the skip reason when the function gave no request and no ``SkipReason``.

    Returns:
        The requests, and the skip reason (also when the function gave nothing).

    Raises:
        DagwrightDefinitionError: something else was returned or yielded.
    """
    if result is None:
        return [], SkipReason(nothing)
    if isinstance(result, RunRequest):
        return [result], None
    if isinstance(result, SkipReason):
        return [], result
    if isinstance(result, Mapping):
        if config_dicts:
            return [RunRequest(run_config=result)], None
        raise DagwrightDefinitionError(f"{where} returned a dict; return RunRequest objects")
    if isinstance(result, (str, bytes)) or not isinstance(result, Iterable):
        raise DagwrightDefinitionError(
            f"{where} returned {type(result).__name__}; expected RunRequest, a list of "
            "them, or SkipReason"
        )
    return _collect_items(result, where, nothing)


def _collect_items(
    items: Iterable[object], where: str, nothing: str | None
) -> tuple[list[RunRequest], SkipReason | None]:
    requests: list[RunRequest] = []
    skip: SkipReason | None = None
    for item in items:
        if isinstance(item, RunRequest):
            requests.append(item)
        elif isinstance(item, SkipReason):
            skip = item
        else:
            raise DagwrightDefinitionError(
                f"{where} yielded {type(item).__name__}; only RunRequest or SkipReason "
                "may be yielded"
            )
    if requests and skip is not None:
        raise DagwrightDefinitionError(f"{where} gave both RunRequests and a SkipReason")
    if not requests:
        return [], skip or SkipReason(nothing)
    return requests, None


def takes_context(fn: Any, where: str) -> bool:
    """Whether a schedule's or sensor's function takes a ``context`` (its one parameter).

    Raises:
        DagwrightDefinitionError: it takes more than one required parameter.
    """
    params = [
        p
        for p in inspect.signature(fn).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if len(params) > 1:
        raise DagwrightDefinitionError(
            f"{where}: the function takes at most one parameter (context), "
            f"not {', '.join(p.name for p in params)}"
        )
    return bool(params)
