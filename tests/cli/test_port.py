"""``dagwright port``: a Dagster job file ported by the command loads and runs in dagwright
with the results it has in Dagster; exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dagwright import EventType, Instance, NodeOutput

CliRunner = Callable[..., Any]
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "tests" / "jobs" / "ported_dagster_example.py"

#: What the example's runs produce in Dagster (1.13, measured with DAGSTER_SIDE below):
#: outputs by ``node.output``, output metadata values, and the tags that mean something.
EXPECTED: dict[str, Any] = {
    "etl_dev": {
        "outputs": {
            "extract.result": [f"dev-events-{i}" for i in range(6)],
            "split.kept": ["dev-events-0", "dev-events-2", "dev-events-4"],
            "split.dropped": 3,
            "report.result": "dev report: kept 3, dropped 3",
        },
        "metadata": {
            "extract.result": {"row_count": 6, "docs": "https://example.com/x"},
            "split.kept": {"kept": 3},
        },
        "tags": {"env": "dev"},
    },
    "etl_prod": {
        "outputs": {
            "extract.result": [f"prod-events-{i}" for i in range(7)],
            "split.kept": ["prod-events-0", "prod-events-6"],
            "split.dropped": 5,
            "report.result": "prod report: kept 2, dropped 5",
        },
        "metadata": {
            "extract.result": {"row_count": 7, "docs": "https://example.com/x"},
            "split.kept": {"kept": 2},
        },
        "tags": {"env": "prod", "priority": "5", "max_retries": "1"},
    },
    "say_hello": {
        "outputs": {"hello.result": "hello"},
        "metadata": {},
        "tags": {"priority": "-1"},
    },
}

#: Runs the original file with Dagster and prints what EXPECTED holds, as JSON.
DAGSTER_SIDE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("example", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
instance = module.throwaway_instance()
seen = {}
for job in (module.etl_dev, module.etl_prod, module.say_hello):
    result = job.execute_in_process(instance=instance)
    assert result.success
    outputs = {
        f"{name}.{out.name}": result.output_for_node(name, out.name)
        for name, node in job.graph.node_dict.items()
        for out in node.definition.output_defs
    }
    metadata = {}
    for event in result.all_node_events:
        data = event.event_specific_data
        if event.event_type_value == "STEP_OUTPUT" and data.metadata:
            key = f"{event.step_key}.{data.step_output_handle.output_name}"
            metadata[key] = {k: v.value for k, v in data.metadata.items()}
    tags = {k.removeprefix("dagster/"): v for k, v in result.dagster_run.tags.items()}
    seen[job.name] = {"outputs": outputs, "metadata": metadata, "tags": tags}
print(json.dumps(seen))
"""


def _dagwright_side(cli: CliRunner, path: Path, home: Path) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for name in EXPECTED:
        outcome = cli("job", "execute", "-f", str(path), "-j", name, "--json")
        assert outcome.code == 0, outcome.err
        run_id = outcome.json()["run_id"]
        with Instance.from_home(str(home)) as instance:
            seen[name] = _run_results(instance, run_id)
    return seen


def _run_results(instance: Instance, run_id: str) -> dict[str, Any]:
    outputs: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    for event in instance.get_events(run_id):
        if event.event_type is not EventType.STEP_SUCCESS:
            continue
        step = event.step_key
        assert step is not None
        for output in event.data["outputs"]:
            outputs[f"{step}.{output}"] = instance.outputs.get(run_id, NodeOutput(step, output))
        for output, entries in event.data.get("output_metadata", {}).items():
            metadata[f"{step}.{output}"] = {k: v["value"] for k, v in entries.items()}
    run = instance.get_run(run_id)
    assert run is not None
    tags = {k.removeprefix("dagwright/"): v for k, v in run.tags.items()}
    return {"outputs": outputs, "metadata": metadata, "tags": tags}


def test_the_dagster_example_ports_loads_and_runs_with_dagsters_results(
    cli: CliRunner, home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "example.py"
    shutil.copy(EXAMPLE, path)
    assert cli("job", "list", "-f", str(path)).code == 2  # `from dagster import`: no dagster
    check = cli("port", str(path))
    assert check.code == 1 and "+from dagwright import (" in check.out
    assert check.err == ""  # every name and tag of the example has an equivalent
    assert path.read_text() == EXAMPLE.read_text()  # a check writes nothing
    written = cli("port", "--write", str(path))
    assert written.code == 0 and f"ported {path}" in written.out
    again = cli("port", str(path))
    assert (again.code, again.out, again.err) == (0, "", "")
    jobs = cli("job", "list", "-f", str(path), "--json").json()["jobs"]
    assert sorted(j["name"] for j in jobs) == ["etl_dev", "etl_prod", "say_hello"]
    assert _dagwright_side(cli, path, home) == EXPECTED


def _dagster_python() -> Path:
    configured = os.environ.get("DAGWRIGHT_TEST_DAGSTER_PYTHON")
    return Path(configured) if configured else ROOT / "bench" / ".venv-dagster" / "bin" / "python"


def test_the_expected_results_are_dagsters(tmp_path: Path) -> None:
    python = _dagster_python()
    if not python.exists():
        pytest.skip(f"no Dagster venv at {python} (make bench, or DAGWRIGHT_TEST_DAGSTER_PYTHON)")
    done = subprocess.run(
        [str(python), "-c", DAGSTER_SIDE, str(EXAMPLE)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={**os.environ, "DAGSTER_HOME": str(tmp_path)},
    )
    assert json.loads(done.stdout.splitlines()[-1]) == EXPECTED


def test_a_file_with_nothing_to_port_exits_0(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "plain.py"
    path.write_text("from dagwright import op\n\n@op\ndef a():\n    return 1\n")
    for args in (["port", str(path)], ["port", "--write", str(path)]):
        outcome = cli(*args)
        assert (outcome.code, outcome.out, outcome.err) == (0, "", "")


def test_notes_alone_need_porting(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "notes.py"
    path.write_text(
        'from dagwright import job\n\n@job(tags={"dagster/owner": "x"})\ndef j(): ...\n'
    )
    outcome = cli("port", str(path))
    assert outcome.code == 1 and outcome.out == ""
    assert f"{path}:3: tag 'dagster/owner' has no dagwright equivalent" in outcome.err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        ("def broken(:\n", "is not valid Python"),
        (b"x = '\xff'\n", "cannot read"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    cli: CliRunner, tmp_path: Path, content: str | bytes | None, message: str
) -> None:
    good = tmp_path / "good.py"
    good.write_text("from dagster import op\n")
    bad = tmp_path / "bad.py"
    if isinstance(content, bytes):
        bad.write_bytes(content)
    elif content is not None:
        bad.write_text(content)
    outcome = cli("port", "--write", str(good), str(bad))
    assert outcome.code == 2 and message in outcome.err
    assert len(outcome.err.strip().splitlines()) == 1
    assert good.read_text() == "from dagster import op\n"  # nothing written
