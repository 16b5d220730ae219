"""The retry policy, table-driven."""

from __future__ import annotations

import pytest

from dagwright.runs.models import Run, RunStatus
from dagwright.runs.retries import retry_decision


def failed(**tags: str) -> Run:
    return Run("r", "j", RunStatus.FAILURE, tags=tags)


@pytest.mark.parametrize(
    ("run", "enabled", "default", "expected"),
    [
        (failed(), True, 0, None),
        (failed(), True, 2, (1, True)),
        (failed(**{"dagwright/max_retries": "2"}), True, 0, (1, True)),
        (
            failed(**{"dagwright/max_retries": "2", "dagwright/retry_number": "1"}),
            True,
            0,
            (2, True),
        ),
        (failed(**{"dagwright/max_retries": "2", "dagwright/retry_number": "2"}), True, 0, None),
        (failed(**{"dagwright/max_retries": "0"}), True, 3, None),
        (
            failed(**{"dagwright/max_retries": "1", "dagwright/retry_strategy": "ALL_STEPS"}),
            True,
            0,
            (1, False),
        ),
        (failed(**{"dagwright/max_retries": "1"}), False, 0, None),
        (Run("r", "j", RunStatus.SUCCESS, tags={"dagwright/max_retries": "3"}), True, 0, None),
        (Run("r", "j", RunStatus.CANCELED, tags={"dagwright/max_retries": "3"}), True, 0, None),
    ],
)
def test_retry_decision(
    run: Run, enabled: bool, default: int, expected: tuple[int, bool] | None
) -> None:
    decision = retry_decision(run, enabled=enabled, default_max_retries=default)
    if expected is None:
        assert decision is None
    else:
        assert decision is not None
        assert (decision.retry_number, decision.from_failure) == expected


@pytest.mark.parametrize("max_retries", ["1", "3"])
def test_a_run_re_executed_already_is_not_retried(max_retries: str) -> None:
    """A re-execution by hand (or an earlier retry) of a failed run ends its retries."""
    run = failed(**{"dagwright/max_retries": max_retries})
    assert retry_decision(run, enabled=True, default_max_retries=0, reexecuted=False) is not None
    assert retry_decision(run, enabled=True, default_max_retries=0, reexecuted=True) is None
