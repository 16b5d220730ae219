"""Code version metadata: ``git_commit``, ``git_branch`` and ``git_dirty`` of the git work
tree a job is defined in (DESIGN §11).

The repository is read once per directory and per repository (cached for the process):
``HEAD``, the branch ref and ``packed-refs`` are read as files, without spawning ``git``;
"dirty" (tracked files only) is the one ``git status --porcelain --untracked-files=no``
run per repository, when the first job of that repository is defined. A detached HEAD gets
no ``git_branch``; a repository with no commit, or no ``git`` on the PATH, gets what could
be read. ``DAGWRIGHT_GIT_METADATA=0`` turns it off: this module is the one place that
variable is read (``settings.py`` imports pydantic, too heavy for defining a job).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from pathlib import Path

#: The environment variable that turns code version metadata off (``0``, ``false``, ``no``).
GIT_METADATA_ENV = "DAGWRIGHT_GIT_METADATA"

#: The metadata keys this module sets (explicit user metadata with these keys wins).
GIT_COMMIT, GIT_BRANCH, GIT_DIRTY = "git_commit", "git_branch", "git_dirty"

_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
_REF_PREFIX = "ref: "
_BRANCH_PREFIX = "refs/heads/"


def git_metadata_enabled(env: Mapping[str, str] | None = None) -> bool:
    """Whether jobs get code version metadata (``$DAGWRIGHT_GIT_METADATA`` is not off)."""
    value = (os.environ if env is None else env).get(GIT_METADATA_ENV, "1")
    return value.strip().lower() not in ("0", "false", "no", "off")


def git_metadata(file: str | None) -> dict[str, object]:
    """The code version metadata of the work tree holding ``file`` (empty: none, or off)."""
    if file is None or not git_metadata_enabled():
        return {}
    found = _work_tree(str(Path(file).absolute().parent))
    if found is None:
        return {}
    return dict(_version(*found))


@functools.lru_cache(maxsize=256)
def _work_tree(directory: str) -> tuple[str, str] | None:
    """``(work tree, git dir)`` of the repository holding ``directory``, or None."""
    path = Path(directory)
    for candidate in (path, *path.parents):
        dot_git = candidate / ".git"
        if dot_git.is_dir():
            return str(candidate), str(dot_git)
        if dot_git.is_file():  # a linked worktree or submodule: "gitdir: <path>"
            text = _read(dot_git)
            if text is not None and text.startswith("gitdir:"):
                git_dir = Path(text.removeprefix("gitdir:").strip())
                return str(candidate), str(
                    candidate / git_dir if not git_dir.is_absolute() else git_dir
                )
            return None
    return None


@functools.lru_cache(maxsize=64)
def _version(work_tree: str, git_dir: str) -> tuple[tuple[str, object], ...]:
    head = _read(Path(git_dir) / "HEAD")
    if head is None:
        return ()
    common = _common_dir(Path(git_dir))
    branch = None
    if head.startswith(_REF_PREFIX):
        ref = head.removeprefix(_REF_PREFIX).strip()
        branch = ref.removeprefix(_BRANCH_PREFIX) if ref.startswith(_BRANCH_PREFIX) else None
        commit = _resolve(Path(git_dir), common, ref)
    else:
        commit = head if _SHA.fullmatch(head) else None
    if commit is None:  # no commit yet
        return ()
    found: list[tuple[str, object]] = [(GIT_COMMIT, commit)]
    if branch is not None:
        found.append((GIT_BRANCH, branch))
    dirty = _dirty(work_tree)
    if dirty is not None:
        found.append((GIT_DIRTY, dirty))
    return tuple(found)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _common_dir(git_dir: Path) -> Path:
    """Where a linked worktree's refs live (its ``commondir``), else the git dir."""
    common = _read(git_dir / "commondir")
    return git_dir if common is None else (git_dir / common).resolve()


def _resolve(git_dir: Path, common: Path, ref: str) -> str | None:
    """The sha a ref names: a loose ref file, else a line of ``packed-refs``."""
    for base in (git_dir, common):
        loose = _read(base / ref)
        if loose is not None and _SHA.fullmatch(loose):
            return loose
    packed = _read(common / "packed-refs") or ""
    for line in packed.splitlines():
        sha, _, name = line.partition(" ")
        if name == ref and _SHA.fullmatch(sha):
            return sha
    return None


def _dirty(work_tree: str) -> bool | None:
    """Whether tracked files differ from HEAD (None: ``git`` could not tell)."""
    import subprocess  # only for a job in a work tree: defining other jobs stays light

    try:
        done = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=work_tree,
            capture_output=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(done.stdout.strip()) if done.returncode == 0 else None
