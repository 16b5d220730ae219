"""Tag rules: key shape, value normalisation, the reserved prefix, merge order.

A tag key is ``name`` or ``prefix/name``; each part is 1–63 characters of
``A-Z a-z 0-9 _ . -``. A value is a string, or a JSON value that survives a JSON round
trip, stored as its canonical JSON string; at most 64 KiB. The ``dagwright/`` prefix is
reserved: users may set only the control tags.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from dagwright.errors import DagwrightInvalidTagError
from dagwright.jsonvalue import (
    INT64_MAX,
    INT64_MIN,
    SURROGATE_RULE,
    find_problem,
    is_valid_text,
)

#: The prefix reserved for tags that dagwright sets or interprets.
SYSTEM_PREFIX: Final = "dagwright/"

# System tags (set by dagwright only).
OP_SELECTION_TAG: Final = "dagwright/op_selection"
PARTITION_TAG: Final = "dagwright/partition"
SCHEDULE_NAME_TAG: Final = "dagwright/schedule_name"
SENSOR_NAME_TAG: Final = "dagwright/sensor_name"
RUN_KEY_TAG: Final = "dagwright/run_key"
BACKFILL_TAG: Final = "dagwright/backfill"
PARENT_RUN_ID_TAG: Final = "dagwright/parent_run_id"
ROOT_RUN_ID_TAG: Final = "dagwright/root_run_id"
RETRY_NUMBER_TAG: Final = "dagwright/retry_number"
IMAGE_TAG: Final = "dagwright/image"
FAILURE_REASON_TAG: Final = "dagwright/failure_reason"
GIT_COMMIT_TAG: Final = "dagwright/git_commit"
#: Who holds a queued run back from launching (``Instance.hold_run``).
HELD_BY_TAG: Final = "dagwright/held_by"

#: Every tag dagwright sets on its own.
SYSTEM_TAGS: Final = frozenset(
    {
        OP_SELECTION_TAG,
        PARTITION_TAG,
        SCHEDULE_NAME_TAG,
        SENSOR_NAME_TAG,
        RUN_KEY_TAG,
        BACKFILL_TAG,
        PARENT_RUN_ID_TAG,
        ROOT_RUN_ID_TAG,
        RETRY_NUMBER_TAG,
        IMAGE_TAG,
        FAILURE_REASON_TAG,
        GIT_COMMIT_TAG,
        HELD_BY_TAG,
    }
)

# Control tags (users may set them; they change execution).
PRIORITY_TAG: Final = "dagwright/priority"
MAX_RETRIES_TAG: Final = "dagwright/max_retries"
RETRY_STRATEGY_TAG: Final = "dagwright/retry_strategy"
MAX_RUNTIME_TAG: Final = "dagwright/max_runtime"
CELERY_QUEUE_TAG: Final = "dagwright-celery/queue"
CELERY_PRIORITY_TAG: Final = "dagwright-celery/priority"
CELERY_RUN_PRIORITY_TAG: Final = "dagwright-celery/run_priority"
K8S_CONFIG_TAG: Final = "dagwright-k8s/config"

#: Retry strategies accepted by ``dagwright/retry_strategy``.
RETRY_STRATEGIES: Final = ("FROM_FAILURE", "ALL_STEPS")


@dataclass(frozen=True)
class ValueRule:
    """What the value of a control tag must be.

    Attributes:
        kind: ``integer`` (at least ``minimum``, when set), ``choice`` (one of
            ``choices``), ``positive_seconds`` (a finite number above zero) or
            ``queue_name`` (1-200 characters, no whitespace).
        minimum: the smallest integer allowed; None: any.
        choices: the values allowed.
    """

    kind: Literal["integer", "choice", "positive_seconds", "queue_name"]
    minimum: int | None = None
    choices: tuple[str, ...] = ()


#: The value rule of each control tag: :func:`validate_control_tag` applies it, and the web
#: UI gets it for inline validation.
CONTROL_TAG_RULES: Final[Mapping[str, ValueRule]] = {
    PRIORITY_TAG: ValueRule("integer"),
    MAX_RETRIES_TAG: ValueRule("integer", minimum=0),
    RETRY_STRATEGY_TAG: ValueRule("choice", choices=RETRY_STRATEGIES),
    MAX_RUNTIME_TAG: ValueRule("positive_seconds"),
    CELERY_QUEUE_TAG: ValueRule("queue_name"),
    CELERY_PRIORITY_TAG: ValueRule("integer"),
    CELERY_RUN_PRIORITY_TAG: ValueRule("integer"),
}

#: The longest Celery queue name ``dagwright-celery/queue`` takes.
MAX_QUEUE_NAME: Final = 200

#: The ``dagwright/`` tags a user may set.
CONTROL_TAGS: Final = frozenset(k for k in CONTROL_TAG_RULES if k.startswith(SYSTEM_PREFIX))

#: Dagster's tags and the dagwright tag of the same meaning. Keys under ``dagster/`` or
#: ``dagster-*/`` are refused (:func:`check_not_dagster_tag`): dagwright does not read them,
#: so a ported ``dagster/priority`` would otherwise be a plain tag that does nothing.
DAGSTER_TAG_EQUIVALENTS: Final[Mapping[str, str]] = {
    "dagster/priority": PRIORITY_TAG,
    "dagster/max_retries": MAX_RETRIES_TAG,
    "dagster/retry_strategy": RETRY_STRATEGY_TAG,
    "dagster/max_runtime": MAX_RUNTIME_TAG,
    "dagster-celery/queue": CELERY_QUEUE_TAG,
    "dagster-celery/priority": CELERY_PRIORITY_TAG,
    "dagster-celery/run_priority": CELERY_RUN_PRIORITY_TAG,
    "dagster-k8s/config": K8S_CONFIG_TAG,
}

#: Largest tag value, in bytes of UTF-8.
MAX_VALUE_BYTES: Final = 64 * 1024

#: How deep a non-string tag value (stored as JSON) may nest: ``{"a": [1]}`` is 2.
MAX_VALUE_DEPTH: Final = 100

_PART = r"[A-Za-z0-9_.\-]{1,63}"
#: A tag key, as a regular expression (also served to the web UI for inline validation).
KEY_PATTERN: Final = rf"(?:{_PART}/)?{_PART}"
_KEY_RE: Final = re.compile(KEY_PATTERN)


def validate_tag_key(key: object) -> str:
    """Check a tag key's shape.

    Returns:
        The key, unchanged.

    Raises:
        DagwrightInvalidTagError: the key is not ``name`` or ``prefix/name`` of allowed parts.
    """
    if not isinstance(key, str):
        raise DagwrightInvalidTagError(repr(key), "a tag key must be a string")
    if not _KEY_RE.fullmatch(key):
        raise DagwrightInvalidTagError(
            key,
            "a key is 'name' or 'prefix/name', each part 1-63 characters of A-Z a-z 0-9 _ . -",
        )
    return key


def is_dagster_tag(key: str) -> bool:
    """Whether a key has Dagster's ``dagster/`` or ``dagster-<integration>/`` prefix."""
    prefix, slash, _ = key.partition("/")
    return bool(slash) and (prefix == "dagster" or prefix.startswith("dagster-"))


def check_not_dagster_tag(key: str) -> None:
    """Refuse a Dagster tag key, naming its dagwright equivalent (if there is one).

    Raises:
        DagwrightInvalidTagError: the key has a Dagster prefix.
    """
    if not is_dagster_tag(key):
        return
    equivalent = DAGSTER_TAG_EQUIVALENTS.get(key)
    hint = f"use {equivalent!r}" if equivalent else "dagwright has no equivalent"
    raise DagwrightInvalidTagError(
        key, f"a Dagster tag, which dagwright does not read: {hint} (`dagwright port` rewrites it)"
    )


def normalize_tag_value(key: str, value: object) -> str:
    """Turn a tag value into its stored string.

    Strings are kept; other values are stored as canonical JSON if they are plain JSON
    data (:func:`dagwright.jsonvalue.find_problem`, at most :data:`MAX_VALUE_DEPTH` levels
    deep) and survive a round trip. Integers of any size are kept (the value is text).

    Raises:
        DagwrightInvalidTagError: the value is not JSON, does not round-trip, holds text
            that is not valid Unicode or a NUL, is nested too deep, or is too large.
    """
    text = value if isinstance(value, str) else _canonical_json(key, value)
    if "\x00" in text:
        raise DagwrightInvalidTagError(key, "a value cannot contain NUL characters")
    if not is_valid_text(text):
        raise DagwrightInvalidTagError(key, SURROGATE_RULE)
    if len(text) > MAX_VALUE_BYTES // 4 and len(text.encode()) > MAX_VALUE_BYTES:
        raise DagwrightInvalidTagError(key, f"a value is at most {MAX_VALUE_BYTES} bytes")
    return text


def _canonical_json(key: str, value: object) -> str:
    problem = find_problem(value, max_depth=MAX_VALUE_DEPTH, int64=False, tuples=False)
    if problem is not None:
        raise DagwrightInvalidTagError(key, problem.rule, problem.path or None)
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise DagwrightInvalidTagError(
            key, f"a value must be a string or JSON-serialisable, not {type(value).__name__}"
        ) from exc
    if json.loads(text) != value:
        raise DagwrightInvalidTagError(key, "a non-string value must survive a JSON round trip")
    return text


def validate_control_tag(key: str, value: str) -> None:
    """Check the value of a control tag that dagwright interprets (its rule in
    :data:`CONTROL_TAG_RULES`; any other key has no value rule).

    Raises:
        DagwrightInvalidTagError: the value cannot drive execution as the tag asks.
    """
    rule = CONTROL_TAG_RULES.get(key)
    if rule is None:
        return
    if rule.kind == "integer":
        _parse_int(key, value, rule.minimum)
    elif rule.kind == "choice" and value not in rule.choices:
        raise DagwrightInvalidTagError(key, f"must be one of {', '.join(rule.choices)}")
    elif rule.kind == "queue_name":
        if not 0 < len(value) <= MAX_QUEUE_NAME or any(c.isspace() for c in value):
            raise DagwrightInvalidTagError(
                key, f"must be a queue name of 1-{MAX_QUEUE_NAME} characters without spaces"
            )
    elif rule.kind == "positive_seconds":
        try:
            seconds = float(value)
        except ValueError:
            seconds = -1.0
        if not seconds > 0 or seconds == float("inf"):
            raise DagwrightInvalidTagError(key, "must be a positive number of seconds")


def _parse_int(key: str, value: str, minimum: int | None) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise DagwrightInvalidTagError(key, "must be an integer given as a string") from None
    if not INT64_MIN <= number <= INT64_MAX:
        raise DagwrightInvalidTagError(key, "must be an integer within the signed 64-bit range")
    if minimum is not None and number < minimum:
        raise DagwrightInvalidTagError(key, f"must be an integer >= {minimum}")
    return number


def normalize_tags(tags: Mapping[str, object] | None, *, system: bool = False) -> dict[str, str]:
    """Validate user (or, with ``system=True``, dagwright's own) tags and stringify values.

    Args:
        tags: tags as given; ``None`` means none.
        system: allow any ``dagwright/`` key (only dagwright's own code passes True).

    Returns:
        A new dict of string keys to string values, in the given order.

    Raises:
        DagwrightInvalidTagError: a key, value or reserved-prefix rule is broken.
    """
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        kind = type(tags).__name__
        raise DagwrightInvalidTagError("<tags>", f"tags must be a mapping, not {kind}")
    result: dict[str, str] = {}
    for key, value in tags.items():
        validate_tag_key(key)
        if not system:
            check_not_dagster_tag(key)
        if not system and key.startswith(SYSTEM_PREFIX) and key not in CONTROL_TAGS:
            raise DagwrightInvalidTagError(
                key,
                "the 'dagwright/' prefix is reserved for system tags; users may set only "
                + ", ".join(sorted(CONTROL_TAGS)),
            )
        text = normalize_tag_value(key, value)
        validate_control_tag(key, text)
        result[key] = text
    return result


def merge_tags(*layers: Mapping[str, str] | None) -> dict[str, str]:
    """Merge tag layers; a later layer wins on a shared key.

    The run order is: job tags, schedule/sensor/RunRequest tags, launch tags, system tags.
    """
    merged: dict[str, str] = {}
    for layer in layers:
        if layer:
            merged.update(layer)
    return merged


def is_system_tag(key: str) -> bool:
    """Whether a key is one dagwright sets itself (hidden by the UI's system-tags toggle)."""
    return key.startswith(SYSTEM_PREFIX) and key not in CONTROL_TAGS


def tag_int(tags: Mapping[str, str], key: str, default: int) -> int:
    """An integer control tag's value (validated when the tags were), or ``default``."""
    value = tags.get(key)
    return default if value is None else _parse_int(key, value, minimum=None)


def run_priority(tags: Mapping[str, str]) -> int:
    """The queue priority a run's tags ask for (``dagwright/priority``, default 0)."""
    value = tags.get(PRIORITY_TAG)
    return 0 if value is None else _parse_int(PRIORITY_TAG, value, minimum=None)


def validate_tag_filter(tags: Mapping[str, object]) -> None:
    """Check a tag filter (``RunsFilter.tags``): string keys, each value a string or a
    list of strings, all of text a tag can hold (valid Unicode, no NUL).

    Raises:
        DagwrightInvalidTagError: naming the key and the rule.
    """
    if not isinstance(tags, Mapping):
        kind = type(tags).__name__
        raise DagwrightInvalidTagError("<tags>", f"a tag filter must be a mapping, not {kind}")
    for key, value in tags.items():
        if not isinstance(key, str):
            raise DagwrightInvalidTagError(repr(key), "a tag key must be a string")
        values = (value,) if isinstance(value, str) else value
        if not isinstance(values, (list, tuple, set, frozenset)) or not all(
            isinstance(v, str) for v in values
        ):
            raise DagwrightInvalidTagError(key, "a filter value is a string or a list of strings")
        for text in (key, *values):
            if "\x00" in text:
                raise DagwrightInvalidTagError(key, "a filter cannot contain NUL characters")
            if not is_valid_text(text):
                raise DagwrightInvalidTagError(key, SURROGATE_RULE)


def group_tag_filters(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Tag filters from ``(key, value)`` pairs, as ``RunsFilter.tags`` takes them: keys
    AND, the values of one key OR."""
    filters: dict[str, list[str]] = {}
    for key, value in pairs:
        filters.setdefault(key, []).append(value)
    return filters


def parse_tag_filters(texts: Iterable[str]) -> dict[str, list[str]]:
    """Tag filters from ``key=value`` strings (CLI ``--tag``, API ``tag=``).

    Raises:
        DagwrightInvalidTagError: a string is not ``key=value`` or its key is malformed.
    """
    return group_tag_filters(parse_tag_pair(text) for text in texts)


def parse_tag_pair(text: str) -> tuple[str, str]:
    """Split a ``key=value`` string (CLI ``--tag``, API ``tag=`` filter) at its first ``=``.

    Raises:
        DagwrightInvalidTagError: there is no ``=`` or the key is malformed.
    """
    key, sep, value = text.partition("=")
    if not sep:
        raise DagwrightInvalidTagError(text, "expected key=value")
    return validate_tag_key(key.strip()), value
