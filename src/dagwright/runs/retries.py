"""Retry policy: whether a failed run gets a new run, and how (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from dagwright.runs.models import Run, RunStatus
from dagwright.tags import MAX_RETRIES_TAG, RETRY_NUMBER_TAG, RETRY_STRATEGY_TAG


@dataclass(frozen=True)
class RetryDecision:
    """A retry to launch: its number (1, 2, …) and whether it re-runs from the failure."""

    run: Run
    retry_number: int
    from_failure: bool


def _int_tag(run: Run, key: str, default: int) -> int:
    try:
        return int(run.tags.get(key, default))
    except ValueError:
        return default


def retry_decision(
    run: Run, *, enabled: bool, default_max_retries: int, reexecuted: bool = False
) -> RetryDecision | None:
    """The retry a finished run gets, or None.

    A FAILURE run is retried while its retry number (``dagwright/retry_number``, 0 for an
    original run) is below ``dagwright/max_retries`` (default: the instance's
    ``run_retries.max_retries``), unless it has been re-executed already (``reexecuted``:
    some run has it as ``dagwright/parent_run_id``, a re-execution by hand or an earlier
    retry). The strategy is ``dagwright/retry_strategy``: ``FROM_FAILURE`` (default) or
    ``ALL_STEPS``.
    """
    if not enabled or reexecuted or run.status is not RunStatus.FAILURE:
        return None
    attempt = _int_tag(run, RETRY_NUMBER_TAG, 0)
    if attempt >= _int_tag(run, MAX_RETRIES_TAG, default_max_retries):
        return None
    strategy = run.tags.get(RETRY_STRATEGY_TAG, "FROM_FAILURE")
    return RetryDecision(run, attempt + 1, from_failure=strategy != "ALL_STEPS")
