"""The tag analytics data set (``bench/tag_stats.py``), shared by both sides: plain
Python, importable from dagwright's and Dagster's virtualenvs alike."""

from __future__ import annotations

import random

#: The data set's window: the 30 whole UTC days before 2026-12-01T00:00:00Z.
UNTIL = 1_796_083_200.0
SINCE = UNTIL - 30 * 86_400
TEAMS = ("docs", "ml", "finance", "growth", "infra")
_STATUSES = ((0.90, "SUCCESS"), (0.97, "FAILURE"), (0.99, "CANCELED"), (1.01, "QUEUED"))


def spec(i: int, n: int, rng: random.Random) -> tuple[dict[str, str], float, str, float]:
    """Run ``i`` of ``n``: its tags, creation time, status and duration (seconds)."""
    created = SINCE + (UNTIL - SINCE) * (i + 0.5) / n
    draw = rng.random()
    status = next(name for bound, name in _STATUSES if draw < bound)
    tags = {"team": TEAMS[i % 5], "env": ("prod", "dev")[i % 2], "batch": f"b{i // 10 % 10_000}"}
    return tags, created, status, rng.lognormvariate(3, 1)
