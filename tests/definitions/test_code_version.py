"""Code version metadata of jobs defined in a git work tree (a real repository made here,
with the real ``git``), the run tag ``dagwright/git_commit`` and the opt-out."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from tests.waiting import wait_finished

from dagwright import Instance, RunStatus
from dagwright.daemon.run_queue import RunQueueDaemon
from dagwright.definitions.code_version import git_metadata_enabled
from dagwright.definitions.job import JobDefinition
from dagwright.definitions.loader import load_definitions
from dagwright.runs.request import prepare_run

JOBS = """
from dagwright import job, op

@op
def one() -> int:
    return 1

@job
def plain() -> None:
    one()

@job(metadata={"git_branch": "release", "owner": "ana"})
def pinned() -> None:
    one()
"""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture(autouse=True)
def enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGWRIGHT_GIT_METADATA", "1")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    (path / "pkg").mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / "pkg" / "jobs.py").write_text(JOBS)
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "jobs")
    return path


def load(path: Path) -> dict[str, JobDefinition]:
    return dict(load_definitions(python_file=str(path)).jobs)


def values(job_def: JobDefinition) -> dict[str, object]:
    return {key: value.value for key, value in job_def.metadata.items()}


def test_a_job_in_a_work_tree_gets_commit_branch_and_dirty(repo: Path) -> None:
    jobs = load(repo / "pkg" / "jobs.py")
    assert values(jobs["plain"]) == {
        "git_commit": git(repo, "rev-parse", "HEAD"),
        "git_branch": "main",
        "git_dirty": False,
    }
    assert len(str(values(jobs["plain"])["git_commit"])) == 40


def test_explicit_metadata_wins(repo: Path) -> None:
    pinned = values(load(repo / "pkg" / "jobs.py")["pinned"])
    assert pinned["git_branch"] == "release" and pinned["owner"] == "ana"
    assert pinned["git_commit"] == git(repo, "rev-parse", "HEAD")


def test_dirty_counts_tracked_files_only(tmp_path: Path, repo: Path) -> None:
    (repo / "untracked.txt").write_text("new")
    assert values(load(repo / "pkg" / "jobs.py")["plain"])["git_dirty"] is False
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(repo), str(other))
    (other / "pkg" / "jobs.py").write_text(JOBS + "\n# edited\n")
    assert values(load(other / "pkg" / "jobs.py")["plain"])["git_dirty"] is True


def test_packed_refs_and_a_detached_head(tmp_path: Path, repo: Path) -> None:
    packed = tmp_path / "packed"
    git(tmp_path, "clone", "-q", str(repo), str(packed))
    git(packed, "pack-refs", "--all")
    assert not (packed / ".git" / "refs" / "heads" / "main").exists()
    meta = values(load(packed / "pkg" / "jobs.py")["plain"])
    assert meta["git_commit"] == git(repo, "rev-parse", "HEAD") and meta["git_branch"] == "main"
    detached = tmp_path / "detached"
    git(tmp_path, "clone", "-q", str(repo), str(detached))
    git(detached, "checkout", "-q", "--detach")
    meta = values(load(detached / "pkg" / "jobs.py")["plain"])
    assert meta["git_commit"] == git(repo, "rev-parse", "HEAD") and "git_branch" not in meta


def test_a_linked_worktree_reads_the_shared_refs(tmp_path: Path, repo: Path) -> None:
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", "-b", "feature", str(linked))
    (linked / "pkg" / "more.py").write_text("x = 1\n")
    git(linked, "add", ".")
    git(linked, "commit", "-q", "-m", "more")
    meta = values(load(linked / "pkg" / "jobs.py")["plain"])
    assert meta["git_branch"] == "feature"
    assert meta["git_commit"] == git(linked, "rev-parse", "HEAD") != git(repo, "rev-parse", "HEAD")


def test_outside_a_work_tree_and_before_the_first_commit_there_is_none(tmp_path: Path) -> None:
    (tmp_path / "plain.py").write_text(JOBS)
    assert "git_commit" not in values(load(tmp_path / "plain.py")["plain"])
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    (empty / "jobs.py").write_text(JOBS)
    assert "git_commit" not in values(load(empty / "jobs.py")["plain"])


def test_the_opt_out(monkeypatch: pytest.MonkeyPatch, repo: Path) -> None:
    monkeypatch.setenv("DAGWRIGHT_GIT_METADATA", "0")
    assert values(load(repo / "pkg" / "jobs.py")["plain"]) == {}


@pytest.mark.parametrize(
    ("value", "enabled"),
    [(None, True), ("1", True), ("0", False), ("false", False), ("No", False), ("off", False)],
)
def test_which_values_turn_it_off(value: str | None, enabled: bool) -> None:
    env = {} if value is None else {"DAGWRIGHT_GIT_METADATA": value}
    assert git_metadata_enabled(env) is enabled


def test_each_run_records_the_commit_as_a_system_tag(repo: Path) -> None:
    plain = load(repo / "pkg" / "jobs.py")["plain"]
    run = prepare_run(plain, tags={"team": "docs"}).run
    assert run.tags["dagwright/git_commit"] == git(repo, "rev-parse", "HEAD")
    with pytest.raises(Exception, match="reserved"):
        prepare_run(plain, tags={"dagwright/git_commit": "abc"})


@pytest.mark.parametrize("storage_url", ["sqlite"], indirect=True)
def test_a_launched_run_records_the_commit_of_the_code_that_ran(
    repo: Path, queued_instance: Instance
) -> None:
    """Submitted at one commit, launched after another: the worker's commit is recorded."""
    plain = load(repo / "pkg" / "jobs.py")["plain"]
    first = git(repo, "rev-parse", "HEAD")
    run = queued_instance.submit_run(plain)
    assert run.status is RunStatus.QUEUED and run.tags["dagwright/git_commit"] == first
    (repo / "pkg" / "jobs.py").write_text(JOBS + "\n# next commit\n")
    git(repo, "commit", "-q", "-am", "next")
    RunQueueDaemon(queued_instance).run_iteration(time.time())
    done = wait_finished(queued_instance, run.run_id)
    assert done.status is RunStatus.SUCCESS
    assert done.tags["dagwright/git_commit"] == git(repo, "rev-parse", "HEAD") != first
