"""Tag and metadata policies: the pure rules (table-driven), and their enforcement on
every submit path (Python, schedules, sensors, backfills) on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from tests.jobs import scheduled, simple

from dagwright import EventType, Instance, InstigatorKind, InstigatorStatus, RunStatus, TickStatus
from dagwright.daemon.schedules import tick_schedule
from dagwright.daemon.sensors import tick_sensor
from dagwright.errors import DagwrightInvalidMetadataError, DagwrightInvalidTagError
from dagwright.runs.policies import (
    Violation,
    applies,
    check_run,
    job_violations,
    metadata_violations,
    tag_violations,
)
from dagwright.settings import MetadataPolicy, TagPolicy

TEAM = TagPolicy(key="team", required=True, values=("docs", "ml"), description="owning team")
TICKET = TagPolicy(key="ticket", pattern="^[A-Z]+-[0-9]+$")
COST = TagPolicy(key="cost_center", required=True, jobs=("finance_*",))
OWNER = MetadataPolicy(key="owner", required=True)
DOCS = MetadataPolicy(key="docs", required=True, jobs=("ml_*", "report"))
TAGS = (TEAM, TICKET, COST)


@pytest.mark.parametrize(
    ("jobs", "job_name", "expected"),
    [
        (None, "anything", True),
        (("finance_*",), "finance_daily", True),
        (("finance_*",), "finances", False),
        (("finance_*",), "Finance_daily", False),  # case matters
        (("a", "b?"), "b1", True),
        (("a", "b?"), "b12", False),
        ((), "a", False),
    ],
)
def test_which_jobs_a_policy_applies_to(
    jobs: tuple[str, ...] | None, job_name: str, expected: bool
) -> None:
    assert applies(TagPolicy(key="k", jobs=jobs), job_name) is expected


@pytest.mark.parametrize(
    ("job_name", "tags", "expected"),
    [
        ("etl", {"team": "docs"}, []),
        ("etl", {"team": "docs", "ticket": "AB-12"}, []),
        ("etl", {}, [("team", "required by tag policy 'team'", True)]),
        ("etl", {"team": "sales"}, [("team", "'sales' is not allowed by tag policy", False)]),
        (
            "etl",
            {"team": "ml", "ticket": "ab-12"},
            [("ticket", "does not match the pattern", False)],
        ),
        ("etl", {"team": "ml", "ticket": "AB-12x"}, [("ticket", "does not match", False)]),
        ("finance_daily", {"team": "ml"}, [("cost_center", "policy 'cost_center'", True)]),
        ("finance_daily", {"team": "ml", "cost_center": "42"}, []),
        (
            "finance_daily",
            {"team": "x", "ticket": "no"},
            [
                ("team", "not allowed", False),
                ("ticket", "pattern", False),
                ("cost_center", "required", True),
            ],
        ),
    ],
)
def test_tag_violations(
    job_name: str, tags: dict[str, str], expected: list[tuple[str, str, bool]]
) -> None:
    found = tag_violations(TAGS, job_name, tags)
    assert [(v.key, v.at_launch) for v in found] == [(k, launch) for k, _, launch in expected]
    for violation, (_, words, _) in zip(found, expected, strict=True):
        assert words in violation.rule and violation.kind == "tag"


@pytest.mark.parametrize(
    ("job_name", "keys", "missing"),
    [
        ("etl", {"owner"}, []),
        ("etl", set(), ["owner"]),
        ("ml_train", {"owner"}, ["docs"]),
        ("report", set(), ["owner", "docs"]),
        ("reports", {"owner"}, []),
    ],
)
def test_metadata_violations(job_name: str, keys: set[str], missing: list[str]) -> None:
    found = metadata_violations((OWNER, DOCS), job_name, keys)
    assert [v.key for v in found] == missing
    assert all(v.kind == "metadata" and not v.at_launch for v in found)


def test_a_policy_that_is_not_required_only_checks_values() -> None:
    optional = MetadataPolicy(key="owner")
    assert metadata_violations((optional,), "etl", set()) == []
    assert tag_violations((TICKET,), "etl", {}) == []


def test_job_violations_lists_tags_then_metadata() -> None:
    found = job_violations(TAGS, (OWNER,), "etl", {"team": "nope"}, set())
    assert [(v.kind, v.key) for v in found] == [("tag", "team"), ("metadata", "owner")]
    assert found[0] == Violation("tag", "team", found[0].rule)


@pytest.mark.parametrize(
    ("tags", "keys", "error", "key"),
    [
        ({"team": "sales"}, {"owner"}, DagwrightInvalidTagError, "team"),
        ({}, {"owner"}, DagwrightInvalidTagError, "team"),
        ({"team": "ml"}, set(), DagwrightInvalidMetadataError, "owner"),
    ],
)
def test_check_run_raises_naming_the_key_and_policy(
    tags: dict[str, str], keys: set[str], error: type[Exception], key: str
) -> None:
    with pytest.raises(error) as info:
        check_run(TAGS, (OWNER,), "etl", tags, keys)
    assert info.value.key == key  # type: ignore[attr-defined]
    assert "policy" in str(info.value)


def test_check_run_without_metadata_keys_checks_tags_only() -> None:
    check_run(TAGS, (OWNER,), "etl", {"team": "ml"}, None)
    check_run(TAGS, (OWNER,), "etl", {"team": "ml"}, {"owner"})


# -- enforcement, on SQLite and PostgreSQL ------------------------------------------------

POLICIES = """
run_queue: {}
tag_policies:
  - {key: team, required: true, values: [docs, ml], description: "owning team"}
  - {key: ticket, pattern: "^[A-Z]+-[0-9]+$"}
metadata_policies:
  - {key: owner, required: true, jobs: [diamond]}
"""


@pytest.fixture
def governed(tmp_path: Path, storage_url: str) -> Iterator[Instance]:
    home = tmp_path / "governed"
    home.mkdir()
    config = POLICIES
    if storage_url.startswith("postgresql"):
        config += f"storage:\n  postgres:\n    url: {storage_url}\n"
    (home / "dagwright.yaml").write_text(config)
    with Instance.from_home(home) as opened:
        yield opened


def test_submit_run_refuses_a_tag_policy_violation(governed: Instance) -> None:
    for tags, key in [
        ({}, "team"),
        ({"team": "x"}, "team"),
        ({"team": "ml", "ticket": "1"}, "ticket"),
    ]:
        with pytest.raises(DagwrightInvalidTagError) as info:
            governed.submit_run(simple.chain, tags=tags)
        assert info.value.key == key and f"tag policy {key!r}" in info.value.rule
    assert governed.get_runs_count() == 0
    run = governed.submit_run(simple.chain, tags={"team": "ml", "ticket": "AB-1"})
    assert run.status is RunStatus.QUEUED


def test_submit_run_refuses_missing_required_metadata(governed: Instance) -> None:
    with pytest.raises(DagwrightInvalidMetadataError) as info:
        governed.submit_run(simple.diamond, tags={"team": "docs"})
    assert info.value.key == "owner" and "metadata policy 'owner'" in info.value.rule
    assert governed.get_runs_count() == 0


def test_system_tags_are_not_subject_to_policies(governed: Instance) -> None:
    run = governed.submit_run(simple.chain, tags={"team": "docs"}, op_selection=["emit"])
    assert "dagwright/op_selection" in run.tags


def test_reexecution_is_checked_too(governed: Instance) -> None:
    run = governed.submit_run(simple.chain, tags={"team": "docs"})
    governed.end_run(run.run_id, EventType.RUN_CANCELED, "test")
    with pytest.raises(DagwrightInvalidTagError):
        governed.reexecute(run.run_id, tags={"team": "nope"})
    assert governed.get_runs_count() == 1


def test_a_schedule_tick_records_the_refusal(governed: Instance) -> None:
    tick = tick_schedule(
        governed, scheduled.nightly, datetime(2026, 3, 8, 7, 30, tzinfo=timezone.utc)
    )
    assert tick.status is TickStatus.FAILURE and tick.run_ids == ()
    assert tick.error is not None and "tag policy 'team'" in tick.error.message
    assert governed.get_runs_count() == 0


def test_a_sensor_tick_records_the_refusal(
    governed: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(scheduled.FILES_ENV, "eu:a")
    governed.set_instigator_status("files", InstigatorKind.SENSOR, InstigatorStatus.RUNNING)
    tick = tick_sensor(governed, scheduled.files, 1000.0)
    assert tick.status is TickStatus.FAILURE and tick.run_ids == ()
    assert tick.error is not None and "DagwrightInvalidTagError" in tick.error.message
    assert governed.get_runs_count() == 0


def test_launch_backfill_refuses_a_violation(governed: Instance) -> None:
    with pytest.raises(DagwrightInvalidTagError) as info:
        governed.launch_backfill(scheduled.regions, tags={"team": "sales"})
    assert info.value.key == "team"
    assert governed.get_backfills() == []
    assert governed.launch_backfill(scheduled.regions, tags={"team": "docs"})
