"""Several real ``dagwright daemon`` processes on one home, sampled from storage.

Used by ``tests/daemon/test_run_queue_daemons.py`` and ``bench/daemons.py``: submit runs of
a short job with tags that count in a cap and two tag limits, start N daemons, and sample
from storage, in one statement each time, how many runs are in progress overall and per
limit, until every run has finished.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from dagwright import Instance, RunsFilter, RunStatus

#: The repository root (job code is imported from ``tests.jobs``).
ROOT = Path(__file__).resolve().parents[2]
#: The limits of the experiment's ``run_queue``.
CAP, DOCS_LIMIT, DATABASE_LIMIT = 4, 1, 2
#: Queued runs kept waiting while the daemons run (topped up as they launch).
QUEUE_DEPTH = 12

CONFIG = """
run_queue:
  max_concurrent_runs: {cap}
  dequeue_interval_seconds: {interval}
  tag_concurrency_limits:
    - {{key: team, value: docs, limit: {docs}}}
    - {{key: database, limit: {database}}}
run_retries: {{enabled: false}}
"""

#: One sample: runs in progress, of them with team=docs, of them with any database tag.
_SAMPLE_SQL = """
SELECT count(*),
  coalesce(sum(CASE WHEN EXISTS (SELECT 1 FROM run_tags t WHERE t.run_sid = r.id
    AND t."key" = 'team' AND t.value = 'docs') THEN 1 ELSE 0 END), 0),
  coalesce(sum(CASE WHEN EXISTS (SELECT 1 FROM run_tags t WHERE t.run_sid = r.id
    AND t."key" = 'database') THEN 1 ELSE 0 END), 0)
FROM runs r WHERE r.status IN ('STARTING', 'STARTED', 'CANCELING')
"""


@dataclass
class Figures:
    """What one experiment saw."""

    samples: list[tuple[int, int, int]] = field(default_factory=list)
    finished: int = 0
    succeeded: int = 0
    daemon_codes: list[int] = field(default_factory=list)

    @property
    def over(self) -> list[tuple[int, int, int]]:
        """The samples over a limit."""
        return [s for s in self.samples if s[0] > CAP or s[1] > DOCS_LIMIT or s[2] > DATABASE_LIMIT]


def make_home(home: Path, storage_url: str | None = None, interval: float = 0.05) -> Path:
    """A home with the experiment's queue (a pass every ``interval`` seconds), on SQLite
    or on ``storage_url`` (PostgreSQL)."""
    home.mkdir(parents=True, exist_ok=True)
    config = CONFIG.format(cap=CAP, docs=DOCS_LIMIT, database=DATABASE_LIMIT, interval=interval)
    if storage_url is not None:
        config += f"storage:\n  postgres:\n    url: {storage_url}\n"
    (home / "dagwright.yaml").write_text(config)
    return home


def tags_of(n: int) -> dict[str, str]:
    """Run ``n``'s tags: team=docs, database=a, database=b, or none, in turn, with a
    priority of 0, 1 or 2 (so a run submitted late may go ahead of earlier ones)."""
    tags = [{"team": "docs"}, {"database": "a"}, {"database": "b"}, {}][n % 4]
    return {**tags, "dagwright/priority": str(n % 3)}


def start_daemons(
    home: Path, count: int, pythonpath: str | None = None
) -> list[subprocess.Popen[str]]:
    """``count`` ``dagwright daemon`` processes on ``home`` (logs in ``home/daemon-N.log``)."""
    path = os.pathsep.join(p for p in (pythonpath, str(ROOT)) if p)
    env = {**os.environ, "DAGWRIGHT_HOME": str(home), "PYTHONPATH": path}
    daemons = []
    for n in range(count):
        with (home / f"daemon-{n}.log").open("w") as log:
            daemons.append(
                subprocess.Popen(
                    [sys.executable, "-m", "dagwright", "daemon"],
                    cwd=ROOT,
                    env=env,
                    stderr=log,
                    text=True,
                )
            )
    return daemons


def stop_daemons(daemons: list[subprocess.Popen[str]]) -> list[int]:
    """SIGTERM each daemon and wait for it; their exit codes."""
    for daemon in daemons:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
    return [daemon.wait(timeout=60) for daemon in daemons]


def run_experiment(
    home: Path,
    daemons: int,
    runs: int = 200,
    *,
    timeout: float = 600,
    pythonpath: str | None = None,
) -> Figures:
    """Submit ``runs`` runs (a quarter before the daemons start, the rest while they run,
    topping the queue up to :data:`QUEUE_DEPTH` so that runs of a higher priority keep
    arriving), let ``daemons`` daemons launch them, and sample storage until all have
    finished."""
    figures = Figures()
    with Instance.from_home(home) as instance:
        submitter = _Submitter(instance, runs)
        submitter.submit(runs // 4)
        done = threading.Event()
        sampler = threading.Thread(target=_sample, args=(instance, figures, done))
        sampler.start()
        processes = start_daemons(home, daemons, pythonpath)
        try:
            _wait_all_finished(instance, submitter, timeout, processes)
        finally:
            done.set()
            sampler.join()
            figures.daemon_codes = stop_daemons(processes)
        ended = instance.get_runs(RunsFilter(statuses=[RunStatus.SUCCESS, RunStatus.FAILURE]))
        figures.finished = len(ended)
        figures.succeeded = sum(run.status is RunStatus.SUCCESS for run in ended)
    return figures


def _sample(instance: Instance, figures: Figures, done: threading.Event) -> None:
    from sqlalchemy import text

    with instance.storage.engine.connect() as conn:
        while not done.is_set():
            row = conn.execute(text(_SAMPLE_SQL)).one()
            conn.commit()
            figures.samples.append((int(row[0]), int(row[1]), int(row[2])))
            done.wait(0.01)  # pacing, not a wait for a condition


class _Submitter:
    """Submits the experiment's runs, in order, a few at a time."""

    def __init__(self, instance: Instance, runs: int) -> None:
        from tests.jobs.quick import quick

        self.instance, self.job, self.runs, self.submitted = instance, quick, runs, 0

    def submit(self, count: int) -> None:
        for n in range(self.submitted, min(self.runs, self.submitted + count)):
            self.instance.submit_run(self.job, tags=tags_of(n))
            self.submitted += 1

    def top_up(self) -> None:
        if self.submitted < self.runs:
            queued = self.instance.get_runs_count(RunsFilter(statuses=[RunStatus.QUEUED]))
            self.submit(QUEUE_DEPTH - queued)


def _wait_all_finished(
    instance: Instance,
    submitter: _Submitter,
    timeout: float,
    processes: list[subprocess.Popen[str]],
) -> None:
    finished = [RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.CANCELED]
    deadline = time.monotonic() + timeout
    while instance.get_runs_count(RunsFilter(statuses=finished)) < submitter.runs:
        submitter.top_up()
        if time.monotonic() > deadline:
            raise TimeoutError(f"not every run finished within {timeout:g} s")
        if any(p.poll() is not None for p in processes):
            raise RuntimeError("a daemon exited early")
        time.sleep(0.02)
