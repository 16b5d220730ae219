"""The tag analytics loop keeps asked keys and small user keys current, on both stores."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import text
from tests.tag_stats_runs import add_run

from dagwright import Instance
from dagwright.daemon import tag_stats
from dagwright.daemon.tag_stats import TagStatsDaemon


def _kept(instance: Instance) -> dict[str, tuple[int, int, int]]:
    with instance.storage.database.read() as conn:
        rows = conn.execute(text("SELECT key, epoch, seq, sid FROM tag_stats_keys"))
        return {key: (int(e), int(s), int(i)) for key, e, s, i in rows}


def test_a_pass_keeps_small_and_asked_keys_current(
    queued_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tag_stats, "PREBUILD_VALUES", 5)
    now = time.time()
    with Instance.from_home(queued_home) as instance:
        for i in range(12):
            tags = {"team": ("docs", "ml")[i % 2], "batch": f"b{i}", "dagwright/partition": "p"}
            add_run(instance, tags, created=now - 60)
        loop = TagStatsDaemon(instance)
        loop.run_iteration(now)
        assert set(_kept(instance)) == {"team"}  # batch has 12 values; system keys wait
        instance.get_tag_stats("batch")
        add_run(instance, {"team": "docs", "batch": "b99"}, created=now)
        before = _kept(instance)
        loop.run_iteration(now)
        after = _kept(instance)
        assert set(after) == {"team", "batch"}
        assert all(after[key] > before[key] for key in after), "both caught up"
        loop.run_iteration(now)
        assert _kept(instance) == after  # nothing changed: nothing written
        instance.storage.runs.get_run_tag_keys = None  # type: ignore[assignment,method-assign]
        loop.run_iteration(now)  # nor read: the pass stops at the feed
        (docs,) = [v for v in instance.get_tag_stats("team").values if v.value == "docs"]
        assert docs.runs == 7
