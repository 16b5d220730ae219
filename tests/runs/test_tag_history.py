"""Audited tag edits and queue control (priority, hold, release) on both stores."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest
from tests.jobs.simple import chain

from dagwright import (
    DagwrightInvalidTagError,
    DagwrightInvalidTransitionError,
    EventType,
    Instance,
    RunStatus,
)
from dagwright.daemon.run_queue import RunQueueDaemon
from dagwright.runs.tag_history import TagAudit, tag_changes


def _queued(instance: Instance, **tags: object) -> str:
    run = instance.submit_run(chain, tags=tags or None)
    assert run.status is RunStatus.QUEUED
    return run.run_id


def test_tag_changes_keep_only_real_changes() -> None:
    tags = {"a": "1", "b": "2"}
    changes = tag_changes(tags, {"a": "1", "b": "3", "c": "4"}, ["a", "zz"])
    assert changes == {"b": {"old": "2", "new": "3"}, "c": {"old": None, "new": "4"}}
    assert tag_changes(tags, {}, ["a"]) == {"a": {"old": "1", "new": None}}
    with pytest.raises(DagwrightInvalidTagError, match="via"):
        TagAudit("ana", "email")


def test_every_tag_edit_is_an_event_in_the_history(queued_instance: Instance) -> None:
    instance = queued_instance
    run_id = _queued(instance, team="docs")
    instance.add_run_tags(run_id, {"team": "ml", "owner": "ana"})
    instance.remove_run_tags(run_id, ["owner", "missing"], actor="bob", via="cli")
    instance.add_run_tags(run_id, {"team": "ml"})  # no change: no event
    history = instance.get_tag_history(run_id)
    assert [(h["actor"], h["via"], h["changes"]) for h in history] == [
        (
            getpass.getuser(),
            "python",
            {"team": {"old": "docs", "new": "ml"}, "owner": {"old": None, "new": "ana"}},
        ),
        ("bob", "cli", {"owner": {"old": "ana", "new": None}}),
    ]
    assert history[0]["at"] <= history[1]["at"]
    events = [e for e in instance.get_events(run_id) if e.event_type is EventType.TAGS_CHANGED]
    assert len(events) == 2 and events[1].data["actor"] == "bob"


def test_a_refused_edit_stores_nothing(queued_instance: Instance) -> None:
    run_id = _queued(queued_instance)
    with pytest.raises(DagwrightInvalidTagError):
        queued_instance.add_run_tags(run_id, {"ok": "1", "dagwright/held_by": "me"})
    with pytest.raises(DagwrightInvalidTagError, match="via"):
        queued_instance.add_run_tags(run_id, {"ok": "1"}, via="fax")
    assert queued_instance.get_tag_history(run_id) == []
    assert "ok" not in queued_instance.get_run(run_id).tags  # type: ignore[union-attr]


def test_priority_change_is_seen_by_the_next_queue_pass(queued_instance: Instance) -> None:
    instance = queued_instance
    first, second = _queued(instance), _queued(instance)
    order = [s.run.run_id for s in instance.get_queue_state().runs]
    assert order == [first, second]
    instance.set_run_priority(second, 5)
    instance.set_run_priority(first, -3, actor="ops")
    state = instance.get_queue_state()
    assert [(s.run.run_id, s.priority) for s in state.runs] == [(second, 5), (first, -3)]
    assert instance.get_tag_history(first)[0]["changes"] == {
        "dagwright/priority": {"old": None, "new": "-3"}
    }
    with pytest.raises(DagwrightInvalidTagError, match="integer"):
        instance.set_run_priority(first, "high")  # type: ignore[arg-type]


def test_a_held_run_does_not_launch_until_released(queued_instance: Instance) -> None:
    instance = queued_instance
    run_id = _queued(instance)
    instance.hold_run(run_id, actor="ana")
    (state,) = instance.get_queue_state().runs
    assert state.blocked_by == ("held by ana",) and not state.launch
    RunQueueDaemon(instance).run_iteration(1000.0)
    assert instance.get_run(run_id).status is RunStatus.QUEUED  # type: ignore[union-attr]
    instance.release_run(run_id, actor="bob")
    (state,) = instance.get_queue_state().runs
    assert state.launch and state.blocked_by == ()
    history = instance.get_tag_history(run_id)
    assert [(h["actor"], h["changes"]["dagwright/held_by"]) for h in history] == [
        ("ana", {"old": None, "new": "ana"}),
        ("bob", {"old": "ana", "new": None}),
    ]


def test_queue_control_refuses_runs_that_are_not_queued(queued_instance: Instance) -> None:
    instance = queued_instance
    run_id = _queued(instance)
    instance.end_run(run_id, EventType.RUN_CANCELED, "canceled")
    for call in (
        lambda: instance.set_run_priority(run_id, 1),
        lambda: instance.hold_run(run_id),
        lambda: instance.release_run(run_id),
    ):
        with pytest.raises(DagwrightInvalidTransitionError, match="only a QUEUED run"):
            call()
    assert instance.get_tag_history(run_id) == []


def test_a_claim_of_a_run_held_after_the_pass_read_it_is_refused(
    queued_instance: Instance,
) -> None:
    from dagwright import Event
    from dagwright.runs.claims import ClaimLimits, ClaimRefusedError

    run_id = _queued(queued_instance)
    assert queued_instance.get_queue_state().runs[0].launch  # the pass would launch it
    queued_instance.hold_run(run_id, actor="ana")
    starting = Event(run_id, EventType.RUN_STARTING, 1.0)
    with pytest.raises(ClaimRefusedError, match="held by ana"):
        queued_instance.records.events.store_event(starting, limits=ClaimLimits(10))
    assert queued_instance.get_run(run_id).status is RunStatus.QUEUED  # type: ignore[union-attr]


def test_a_real_pass_launches_by_the_new_priority(tmp_path: Path, storage_url: str) -> None:
    from tests.waiting import wait_finished

    home = tmp_path / "cap-one"
    home.mkdir()
    config = "run_queue:\n  max_concurrent_runs: 1\n"
    if storage_url.startswith("postgresql"):
        config += f"storage:\n  postgres:\n    url: {storage_url}\n"
    (home / "dagwright.yaml").write_text(config)
    with Instance.from_home(home) as instance:
        daemon = RunQueueDaemon(instance)
        first, second = _queued(instance), _queued(instance)
        instance.get_queue_state()  # the instance's queue has read both runs
        instance.set_run_priority(second, 1)
        daemon.run_iteration(1000.0)
        assert instance.get_run(first).status is RunStatus.QUEUED  # type: ignore[union-attr]
        assert wait_finished(instance, second).status is RunStatus.SUCCESS
