"""``workspace.yaml``: Dagster's ``load_from`` shape, paths relative to the file, errors
naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagwright.definitions.workspace import CodeLocationOrigin
from dagwright.definitions.workspace_file import read_workspace_file
from dagwright.errors import DagwrightInvalidConfigError

EXAMPLE = Path(__file__).parents[1] / "jobs" / "workspace_example" / "workspace.yaml"


def _read(tmp_path: Path, text: str) -> list[CodeLocationOrigin]:
    file = tmp_path / "conf" / "workspace.yaml"
    file.parent.mkdir(exist_ok=True)
    file.write_text(text)
    return read_workspace_file(file)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "load_from:\n  - python_file: {relative_path: jobs/etl.py, location_name: etl}\n",
            [("file", "conf/jobs/etl.py", None, "etl")],
        ),
        ("load_from:\n  - python_file: other.py\n", [("file", "conf/other.py", None, "other")]),
        (
            "load_from:\n  - python_module: {module_name: team_ml.jobs, location_name: ml,"
            " working_directory: ./ml}\n",
            [("module", "team_ml.jobs", "conf/ml", "ml")],
        ),
        (
            "load_from:\n  - python_module: pipelines\n",
            [("module", "pipelines", "conf", "pipelines")],
        ),
        (
            "load_from:\n  - python_module: {module_name: a.b}\n  - python_file: ../up.py\n",
            [("module", "a.b", "conf", "a.b"), ("file", "conf/../up.py", None, "up")],
        ),
    ],
)
def test_good_workspace_files(
    tmp_path: Path, text: str, expected: list[tuple[str, str, str | None, str]]
) -> None:
    origins = _read(tmp_path, text)
    got = []
    for origin in origins:
        kind = "file" if origin.python_file else "module"
        target = origin.python_file or origin.module
        assert target is not None
        shown = target.replace(str(tmp_path) + "/", "")
        wd = origin.working_directory
        got.append((kind, shown, wd.replace(str(tmp_path) + "/", "") if wd else None, origin.name))
    assert got == expected
    for index, origin in enumerate(origins):
        kind = "python_file" if origin.python_file else "python_module"
        assert origin.source.endswith(f"workspace.yaml, load_from[{index}].{kind}")


@pytest.mark.parametrize(
    ("text", "key", "rule"),
    [
        ("", None, "must hold a mapping with load_from"),
        ("- python_file: a.py\n", None, "must hold a mapping"),
        ("load_from: []\n", "load_from", "non-empty list"),
        ("load_from: {python_file: a.py}\n", "load_from", "non-empty list"),
        ("locations: []\n", "locations", "unknown key"),
        ("load_from:\n  - a.py\n", "load_from[0]", "one key: python_file or python_module"),
        (
            "load_from:\n  - {python_file: a.py, python_module: b}\n",
            "load_from[0]",
            "one key",
        ),
        (
            "load_from:\n  - grpc_server: {host: localhost, port: 4000}\n",
            "load_from[0].grpc_server",
            "unsupported code location",
        ),
        (
            "load_from:\n  - python_file: a.py\n  - python_package: pkg\n",
            "load_from[1].python_package",
            "unsupported",
        ),
        ("load_from:\n  - python_file: {}\n", "load_from[0].python_file.relative_path", "required"),
        (
            "load_from:\n  - python_module: {location_name: x}\n",
            "load_from[0].python_module.module_name",
            "is required",
        ),
        ("load_from:\n  - python_file: 3\n", "load_from[0].python_file", "a string or a mapping"),
        (
            "load_from:\n  - python_file: {relative_path: a.py, attribute: defs}\n",
            "load_from[0].python_file.attribute",
            "unknown key (allowed: relative_path, location_name)",
        ),
        (
            "load_from:\n  - python_file: {relative_path: a.py, working_directory: .}\n",
            "load_from[0].python_file.working_directory",
            "unknown key",
        ),
        (
            "load_from:\n  - python_file: {relative_path: ''}\n",
            "load_from[0].python_file.relative_path",
            "non-empty string",
        ),
        (
            "load_from:\n  - python_module: {module_name: m, location_name: [a]}\n",
            "load_from[0].python_module.location_name",
            "non-empty string",
        ),
        (
            "load_from:\n  - python_file: {relative_path: a.py, location_name: a/b}\n",
            "location_name",
            "code location name 'a/b'",
        ),
    ],
)
def test_bad_workspace_files_name_the_file_and_key(
    tmp_path: Path, text: str, key: str | None, rule: str
) -> None:
    with pytest.raises(DagwrightInvalidConfigError) as caught:
        _read(tmp_path, text)
    assert str(tmp_path / "conf" / "workspace.yaml") in caught.value.where
    assert caught.value.key == key
    assert rule in caught.value.rule


def test_a_missing_or_broken_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DagwrightInvalidConfigError, match="workspace file not found"):
        read_workspace_file(tmp_path / "nope.yaml")
    with pytest.raises(DagwrightInvalidConfigError, match="not valid YAML"):
        _read(tmp_path, "load_from: [\n")


def test_the_readme_example_reads_as_three_locations() -> None:
    origins = read_workspace_file(EXAMPLE)
    base = EXAMPLE.parent
    assert [o.name for o in origins] == ["etl", "ml", "other"]
    assert origins[0].python_file == str(base / "jobs" / "etl.py")
    assert (origins[1].module, origins[1].working_directory) == ("team_ml.jobs", str(base / "ml"))
    assert origins[2].python_file == str(base / "other.py")


def test_the_readme_shows_the_example_workspace() -> None:
    import yaml

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("## A workspace of several code locations", 1)[1]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert yaml.safe_load(block) == yaml.safe_load(EXAMPLE.read_text())
