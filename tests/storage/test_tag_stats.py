"""Tag analytics kept per key, on SQLite and PostgreSQL: after any mix of new runs, status
changes, tag edits and deletions, an answer equals one computed afresh from the runs."""

from __future__ import annotations

import math
import random
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from dagwright import DagwrightInvalidConfigError, DagwrightInvalidTagError, Instance
from dagwright.execution.events import Event, EventType
from dagwright.runs.models import Run, RunStatus
from dagwright.runs.tag_stats import DAY, FINISHED_STATUSES, bucket_of, bucket_seconds

#: Midnight UTC, 2025-11-01 (day 20393).
DAY0 = 20393 * DAY
TEAMS = ("docs", "ml", "finance", "x" * 200)  # the last: a long value (hashed in the index)


def _new(instance: Instance, rng: random.Random) -> str:
    run_id = uuid.uuid4().hex
    created = DAY0 + rng.uniform(0, 10 * DAY)
    tags = {"team": rng.choice(TEAMS)} if rng.random() < 0.9 else {"other": "1"}
    instance.add_run(Run(run_id, "job", RunStatus.QUEUED, tags, created_at=created))
    return run_id


def _move(instance: Instance, run: Run, rng: random.Random) -> None:
    start = run.created_at + rng.uniform(0, 60)
    if run.status == RunStatus.QUEUED:
        instance.handle_event(Event(run.run_id, EventType.RUN_STARTING, start))
        instance.handle_event(Event(run.run_id, EventType.RUN_START, start))
    elif run.status == RunStatus.STARTED:
        end = (run.started_at or start) + rng.choice((0.0, rng.lognormvariate(3, 1)))
        kind = rng.choice((EventType.RUN_SUCCESS, EventType.RUN_SUCCESS, EventType.RUN_FAILURE))
        instance.handle_event(Event(run.run_id, kind, end))


def _reference(instance: Instance, key: str, lo: int, hi: int) -> dict[str, dict[str, Any]]:
    """The figures of ``key`` over days ``[lo, hi)``, computed from every run."""
    found: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"runs": 0, "succeeded": 0, "failed": 0, "canceled": 0, "d": [], "days": {}}
    )
    for run in instance.get_runs(limit=None):
        day = math.floor(run.created_at / DAY)
        if key not in run.tags or not lo <= day < hi:
            continue
        entry = found[run.tags[key]]
        entry["runs"] += 1
        status = run.status.value
        entry["succeeded"] += status == "SUCCESS"
        entry["failed"] += status == "FAILURE"
        entry["canceled"] += status == "CANCELED"
        n, ok, bad = entry["days"].get(day, (0, 0, 0))
        entry["days"][day] = (n + 1, ok + (status == "SUCCESS"), bad + (status == "FAILURE"))
        if status in FINISHED_STATUSES and run.started_at is not None and run.ended_at:
            entry["d"].append(run.ended_at - run.started_at)
    return found


def _nearest_rank(durations: list[float], fraction: float) -> float | None:
    if not durations:
        return None
    ordered = sorted(durations)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def _check(instance: Instance, key: str = "team", days: tuple[int, int] = (2, 9)) -> None:
    since, until = DAY0 + days[0] * DAY, DAY0 + days[1] * DAY
    got = instance.get_tag_stats(key, since=since, until=until, limit=1000)
    want = _reference(instance, key, 20393 + days[0], 20393 + days[1])
    assert {v.value for v in got.values} == set(want)
    assert [v.runs for v in got.values] == sorted((w["runs"] for w in want.values()), reverse=True)
    for value in got.values:
        w = want[value.value]
        assert (value.runs, value.succeeded, value.failed, value.canceled) == (
            w["runs"], w["succeeded"], w["failed"], w["canceled"]
        )  # fmt: skip
        assert [(d.day, d.runs, d.succeeded, d.failed) for d in value.by_day] == [
            (str(_iso(day)), *counts) for day, counts in sorted(w["days"].items())
        ]
        for fraction, seconds in ((0.5, value.p50_seconds), (0.95, value.p95_seconds)):
            exact = _nearest_rank(w["d"], fraction)
            if exact is None:
                assert seconds is None
            else:  # the exact duration's bucket, so within 1 %
                assert seconds == bucket_seconds(bucket_of(exact))
                assert abs(seconds - max(exact, 0.001)) <= 0.0101 * max(exact, 0.001)


def _iso(day: int) -> str:
    from dagwright.runs.tag_stats import day_iso

    return day_iso(day)


def _round(instance: Instance, ids: list[str], rng: random.Random, round_: int) -> None:
    """One round of changes: new runs, status moves, tag edits, a deletion, removals."""
    ids.extend(_new(instance, rng) for _ in range(15))
    live = [run for run in instance.get_runs(limit=None) if run.run_id in set(ids)]
    for run in rng.sample(live, 40):
        _move(instance, run, rng)
    for run in rng.sample(live, 8):
        instance.add_run_tags(run.run_id, {"team": rng.choice(TEAMS)})
    finished = [run for run in live if run.status.is_finished]
    if round_ % 3 == 2 and finished:
        instance.delete_run(rng.choice(finished).run_id)
    if round_ == 4:
        for run in rng.sample(live, 5):
            if instance.get_run(run.run_id) is not None:
                instance.remove_run_tags(run.run_id, ["team"])


@pytest.mark.parametrize("chunk", [20_000, 7])
def test_kept_figures_follow_every_kind_of_change(
    queued_home: Path, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagwright.storage import tag_stats

    monkeypatch.setattr(tag_stats, "SQLITE_CHUNK", chunk)  # 7: many chunks, ties split
    rng = random.Random(7)
    with Instance.from_home(queued_home) as instance:
        ids = [_new(instance, rng) for _ in range(40)]
        # 20 runs stored together: one change_seq for all of them
        together = [Run(uuid.uuid4().hex, "job", RunStatus.QUEUED, {"team": rng.choice(TEAMS)},
                        created_at=DAY0 + rng.uniform(0, 10 * DAY)) for _ in range(20)]  # fmt: skip
        instance.storage.runs.add_runs(together)
        ids += [run.run_id for run in together]
        _check(instance)  # the first ask builds the key
        for round_ in range(6):
            _round(instance, ids, rng, round_)
            _check(instance)
            _check(instance, days=(0, 10))
        _check(instance, key="other", days=(0, 10))


def test_an_answer_has_the_design_shape_and_a_default_window(queued_instance: Instance) -> None:
    now = DAY0 + 5 * DAY + 3600
    rid = uuid.uuid4().hex
    queued_instance.add_run(Run(rid, "job", RunStatus.QUEUED, {"team": "docs"}, created_at=now))
    queued_instance.handle_event(Event(rid, EventType.RUN_STARTING, now + 1))
    queued_instance.handle_event(Event(rid, EventType.RUN_START, now + 1))
    queued_instance.handle_event(Event(rid, EventType.RUN_SUCCESS, now + 11))
    stats = queued_instance.get_tag_stats("team", since="2025-11-06", until="2025-11-06T12:00Z")
    body = stats.to_json()
    assert body["key"] == "team"
    assert (body["since"], body["until"]) == ("2025-11-06T00:00:00Z", "2025-11-07T00:00:00Z")
    assert body["more_values"] == 0
    (value,) = body["values"]
    assert {k: value[k] for k in ("value", "runs", "succeeded", "failed", "success_rate")} == {
        "value": "docs", "runs": 1, "succeeded": 1, "failed": 0, "success_rate": 1.0
    }  # fmt: skip
    assert value["p50_seconds"] == pytest.approx(10, rel=0.01)
    assert value["by_day"] == [{"day": "2025-11-06", "runs": 1, "succeeded": 1, "failed": 0}]
    # the default: the 30 days ending today (this run is older)
    recent = queued_instance.get_tag_stats("team")
    assert recent.values == () and len(recent.days) == 30
    # an epoch-seconds window, and the limit with the count of the values left out
    queued_instance.add_run(Run(uuid.uuid4().hex, "job", RunStatus.QUEUED, {"team": "ml"},
                                created_at=now))  # fmt: skip
    two = queued_instance.get_tag_stats("team", since=str(now - DAY), until=now + DAY, limit=1)
    assert [v.value for v in two.values] == ["docs"] and two.more_values == 1
    assert two.values[0].success_rate == 1.0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01"}, "until"),
        ({"since": "nan"}, "since"),
        ({"since": "2025-11-05", "until": "2025-11-01"}, "since"),
        ({"limit": 0}, "limit"),
        ({"limit": 5000}, "limit"),
    ],
)
def test_bad_windows_and_limits_name_the_argument(
    queued_instance: Instance, kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(DagwrightInvalidConfigError) as caught:
        queued_instance.get_tag_stats("team", **kwargs)
    assert caught.value.key == field


def test_a_bad_key_is_a_tag_error(queued_instance: Instance) -> None:
    with pytest.raises(DagwrightInvalidTagError):
        queued_instance.get_tag_stats("not a key")


def test_asks_racing_each_other_and_writers_stay_exact(queued_home: Path) -> None:
    """Two processes' worth of askers (own instances) catch up while runs are written."""
    import threading

    rng = random.Random(3)
    errors: list[BaseException] = []
    stop = threading.Event()

    def ask() -> None:
        try:
            with Instance.from_home(queued_home) as mine:
                while not stop.is_set():
                    mine.get_tag_stats("team", since=DAY0, until=DAY0 + 10 * DAY)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    with Instance.from_home(queued_home) as instance:
        ids = [_new(instance, rng) for _ in range(40)]
        askers = [threading.Thread(target=ask) for _ in range(2)]
        for asker in askers:
            asker.start()
        try:
            for _ in range(4):
                _round(instance, ids, rng, 0)
        finally:
            stop.set()
            for asker in askers:
                asker.join()
        assert not errors, errors
        _check(instance, days=(0, 10))
