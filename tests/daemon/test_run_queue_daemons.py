"""Two and three real ``dagwright daemon`` processes follow one queue: sampled from
storage throughout, the runs in progress never exceed ``max_concurrent_runs`` or a tag
limit, and every run finishes (on SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.daemon.experiment import make_home, run_experiment
from tests.jobs.slow import slow
from tests.waiting import wait_finished

from dagwright import Instance, RunStatus
from dagwright.daemon.run_queue import RunQueueDaemon


@pytest.mark.parametrize("daemons", [2, 3])
def test_several_daemons_never_go_over_a_limit(
    tmp_path: Path, storage_url: str, daemons: int
) -> None:
    url = storage_url if storage_url.startswith("postgresql") else None
    home = make_home(tmp_path / "home", url)
    # 120 runs: thousands of samples, a few minutes less of the suite than 200 (the
    # 200-run figures are bench/daemons.py's)
    figures = run_experiment(home, daemons, runs=120)
    assert figures.daemon_codes == [0] * daemons
    assert figures.finished == figures.succeeded == 120
    assert len(figures.samples) > 50
    assert max(s[0] for s in figures.samples) > 1  # the daemons did run runs side by side
    assert figures.over == [], f"{len(figures.over)} of {len(figures.samples)} samples over"


def test_a_daemon_with_a_stale_view_cannot_overshoot(
    tmp_path: Path, storage_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Daemon A reads the queue (d1 may launch: team=docs is free); a run of higher
    priority arrives, and daemon B reads the queue and launches it; A then launches from
    its stale pass. A's claim counts team=docs in storage and is refused: d1 stays
    queued, and launches once d0 is done."""
    url = storage_url if storage_url.startswith("postgresql") else None
    home = make_home(tmp_path / "home", url)
    release = tmp_path / "release"
    docs = {"team": "docs"}
    with Instance.from_home(home) as a, Instance.from_home(home) as b:
        d1 = a.submit_run(slow, tags={**docs, "release": str(release)})
        stale = a.get_queue_state()
        assert [run.run_id for run in stale.to_launch] == [d1.run_id]
        d0 = a.submit_run(slow, tags={**docs, "release": str(release), "dagwright/priority": "5"})
        RunQueueDaemon(b).run_iteration(time.time())
        assert b.get_run(d0.run_id).status is not RunStatus.QUEUED  # type: ignore[union-attr]
        monkeypatch.setattr(a, "get_queue_state", lambda: stale)
        RunQueueDaemon(a).run_iteration(time.time())
        assert a.get_run(d1.run_id).status is RunStatus.QUEUED  # type: ignore[union-attr]
        release.touch()
        assert wait_finished(a, d0.run_id).status is RunStatus.SUCCESS
        monkeypatch.undo()
        RunQueueDaemon(a).run_iteration(time.time())
        assert wait_finished(a, d1.run_id).status is RunStatus.SUCCESS
