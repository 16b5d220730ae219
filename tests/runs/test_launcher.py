"""Submitting runs: the coordinators, the process launcher and the run worker, for real."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import uuid
from pathlib import Path

import pytest
from tests.jobs import simple
from tests.waiting import wait_finished, wait_for

from dagwright import (
    DagwrightCodeLoadError,
    DagwrightInvalidConfigError,
    DagwrightInvalidTagError,
    DagwrightInvalidTransitionError,
    EventType,
    Instance,
    Run,
    RunsFilter,
    RunStatus,
    job,
    op,
)
from dagwright.definitions.loader import load_definitions
from dagwright.runs.launcher import worker_pid
from dagwright.runs.models import CodePointer
from dagwright.runs.worker_process import worker_log_path


@pytest.fixture
def instance(tmp_path: Path) -> Instance:
    return Instance.from_home(tmp_path / "home")


def test_a_submitted_run_executes_in_its_own_process(instance: Instance) -> None:
    run = instance.submit_run(simple.chain, tags={"team": "docs"})
    assert run.status is RunStatus.STARTING
    assert run.code_pointer is not None and run.code_pointer.module == "tests.jobs.simple"
    ended = wait_finished(instance, run.run_id)
    assert ended.status is RunStatus.SUCCESS
    assert ended.tags["team"] == "docs"
    types = [e.event_type for e in instance.get_events(run.run_id)]
    assert types[:3] == [EventType.RUN_STARTING, EventType.ENGINE, EventType.RUN_START]
    assert types[-1] is EventType.RUN_SUCCESS
    pid = worker_pid(instance, run.run_id)
    assert pid is not None and pid > 0
    assert instance.home is not None and worker_log_path(instance.home, run.run_id).is_file()


def test_a_run_from_a_code_file_reloads_the_file(instance: Instance, tmp_path: Path) -> None:
    code = tmp_path / "pipeline.py"
    code.write_text(
        "from dagwright import op, job, OpExecutionContext\n"
        "@op\ndef where(context: OpExecutionContext) -> str:\n"
        "    context.log.info(f'partition-less run {context.run_id}')\n"
        "    return __file__\n"
        "@job\ndef located():\n    where()\n"
    )
    located = load_definitions(python_file=str(code)).get_job("located")
    run = instance.submit_run(located)
    assert run.code_pointer is not None and run.code_pointer.python_file == str(code)
    assert wait_finished(instance, run.run_id).status is RunStatus.SUCCESS


def test_with_run_queue_configured_runs_are_queued(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagwright.yaml").write_text("run_queue:\n  max_concurrent_runs: 2\n")
    with Instance.from_home(home) as instance:
        run = instance.submit_run(simple.chain)
        assert run.status is RunStatus.QUEUED
        assert instance.get_events(run.run_id)[0].event_type is EventType.RUN_ENQUEUED
        launched = instance.launcher.launch(run)
        assert launched.status is RunStatus.STARTING
        with pytest.raises(DagwrightInvalidTransitionError):
            instance.launcher.launch(run)  # a second claim of the same run is refused
        assert wait_finished(instance, run.run_id).status is RunStatus.SUCCESS


def test_bad_input_stores_nothing(instance: Instance) -> None:
    with pytest.raises(DagwrightInvalidTagError):
        instance.submit_run(simple.chain, tags={"dagwright/partition": "x"})
    with pytest.raises(DagwrightInvalidTagError, match="integer"):
        instance.submit_run(simple.chain, tags={"dagwright/priority": "high"})
    with pytest.raises(DagwrightInvalidTagError, match="FROM_FAILURE"):
        instance.submit_run(simple.chain, tags={"dagwright/retry_strategy": "SOMETIMES"})
    assert instance.get_runs_count() == 0


def test_a_job_without_a_code_pointer_is_refused(instance: Instance) -> None:
    @op
    def inline() -> None:
        return None

    @job
    def interactive() -> None:
        inline()

    # a job made at run time in __main__ has no loadable origin
    object.__setattr__(interactive, "defined_in", type(interactive.defined_in)("__main__", None))
    with pytest.raises(DagwrightCodeLoadError, match="cannot load it"):
        instance.submit_run(interactive)
    assert instance.get_runs_count() == 0


def test_an_ephemeral_instance_cannot_launch() -> None:
    with (
        Instance.ephemeral() as instance,
        pytest.raises(DagwrightInvalidConfigError, match="ephemeral"),
    ):
        instance.submit_run(simple.chain)


def test_a_worker_that_cannot_load_the_job_fails_the_run_with_a_reason(
    instance: Instance, tmp_path: Path
) -> None:
    code = tmp_path / "vanishing.py"
    code.write_text(
        "from dagwright import op, job\n@op\ndef a(): return 1\n@job\ndef gone(): a()\n"
    )
    gone = load_definitions(python_file=str(code)).get_job("gone")
    code.write_text("raise RuntimeError('the code changed')\n")  # before the worker loads it
    run = instance.submit_run(gone)
    ended = wait_finished(instance, run.run_id)
    assert ended.status is RunStatus.FAILURE
    assert ended.tags["dagwright/failure_reason"] == "could not load the job"
    failure = instance.get_events(run.run_id)[-1]
    assert "the code changed" in failure.message


def test_current_image_is_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGWRIGHT_CURRENT_IMAGE", "registry.example/etl:1.2")
    with Instance.from_home(tmp_path / "home") as instance:
        run = instance.submit_run(simple.chain)
        assert run.tags["dagwright/image"] == "registry.example/etl:1.2"
        wait_finished(instance, run.run_id)
        # re-executions and retries are launched from this image too
        child = instance.reexecute(run.run_id)
        assert child.tags["dagwright/image"] == "registry.example/etl:1.2"
        wait_finished(instance, child.run_id)
        monkeypatch.setenv("DAGWRIGHT_CURRENT_IMAGE", "registry.example/etl:1.3")
        with Instance.from_home(tmp_path / "home") as upgraded:
            retry = upgraded.retry(child.run_id, retry_number=1, from_failure=False)
            assert retry.tags["dagwright/image"] == "registry.example/etl:1.3"
            wait_finished(upgraded, retry.run_id)


def test_a_launched_worker_imports_neither_sqlalchemy_nor_pydantic(
    tmp_path: Path, storage_url: str
) -> None:
    """The cold start of a run is most of its latency: the worker writes through the
    database driver and gets its settings from the launcher (on SQLite and PostgreSQL)."""
    home = tmp_path / "home"
    home.mkdir()
    if storage_url.startswith("postgresql"):
        (home / "dagwright.yaml").write_text(f"storage:\n  postgres: {{url: '{storage_url}'}}\n")
    code = tmp_path / "light.py"
    code.write_text(
        "import sys\n"
        "from dagwright import op, job, OpExecutionContext\n"
        "@op\ndef report(context: OpExecutionContext) -> None:\n"
        "    heavy = sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'pydantic',"
        " 'yaml', 'alembic'})\n"
        "    context.log.info(f'heavy modules: {heavy}')\n"
        "@job(tags={'team': 'docs'})\ndef light():\n    report()\n"
    )
    light = load_definitions(python_file=str(code)).get_job("light")
    with Instance.from_home(home) as instance:
        assert instance.storage.dialect == storage_url.split(":")[0].split("+")[0]
        run = instance.submit_run(light, tags={"extra": "1"})
        ended = wait_finished(instance, run.run_id)
        assert ended.status is RunStatus.SUCCESS, instance.get_events(run.run_id)[-1]
        messages = [e.message for e in instance.get_events(run.run_id)]
        assert "heavy modules: []" in messages
        assert ended.tags == {"team": "docs", "extra": "1"}


def test_a_worker_that_fails_to_load_its_job_records_the_reason_through_the_driver(
    tmp_path: Path, storage_url: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    if storage_url.startswith("postgresql"):
        (home / "dagwright.yaml").write_text(f"storage:\n  postgres: {{url: '{storage_url}'}}\n")
    code = tmp_path / "gone.py"
    code.write_text(
        "from dagwright import op, job\n@op\ndef a():\n    pass\n@job\ndef gone():\n    a()\n"
    )
    gone = load_definitions(python_file=str(code)).get_job("gone")
    code.write_text("raise RuntimeError('broken on purpose')\n")
    with Instance.from_home(home) as instance:
        ended = wait_finished(instance, instance.submit_run(gone).run_id)
        assert ended.status is RunStatus.FAILURE
        assert ended.tags["dagwright/failure_reason"] == "could not load the job"
        assert instance.get_runs(
            RunsFilter(tags={"dagwright/failure_reason": "could not load the job"})
        )


def _standby_pids(home: Path) -> set[int]:
    """Standby workers of this home (by their command line and environment)."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if b"--standby" in cmdline and f"DAGWRIGHT_HOME={home}".encode() in environ:
            found.add(int(entry.name))
    return found


@pytest.mark.parametrize(("config", "expected"), [("", 2), ("synchronous: NORMAL", 1)])
def test_a_launched_worker_syncs_sqlite_commits_as_its_home_says(
    tmp_path: Path, config: str, expected: int
) -> None:
    """The worker's own connections (main thread and heartbeat thread) get the home's
    ``storage.sqlite.synchronous`` from the launcher: FULL (2) unless opted out."""
    home = tmp_path / "home"
    home.mkdir()
    code = tmp_path / "pragma.py"
    code.write_text(
        "import gc, sqlite3, time\n"
        "from dagwright import op, job, OpExecutionContext\n"
        "@op\ndef report(context: OpExecutionContext) -> None:\n"
        "    deadline = time.monotonic() + 30  # until the heartbeat thread has one too\n"
        "    found = []\n"
        "    while len(found) < 2 and time.monotonic() < deadline:\n"
        "        time.sleep(0.02)\n"
        "        found = [o for o in gc.get_objects() if isinstance(o, sqlite3.Connection)]\n"
        "    levels = sorted({c.execute('PRAGMA synchronous').fetchone()[0] for c in found})\n"
        "    context.log.info(f'synchronous: {levels} on {len(found)} connections')\n"
        "@job\ndef pragma():\n    report()\n"
    )
    pragma = load_definitions(python_file=str(code)).get_job("pragma")
    (home / "dagwright.yaml").write_text(
        f"storage:\n  sqlite: {{{config}}}\nrun_monitoring: {{poll_interval_seconds: 0.2}}\n"
    )
    with Instance.from_home(home) as instance:
        run = instance.submit_run(pragma)
        ended = wait_finished(instance, run.run_id)
        assert ended.status is RunStatus.SUCCESS, instance.get_events(run.run_id)[-1]
        logged = [e.message for e in instance.get_events(run.run_id) if "synchronous" in e.message]
        assert logged and logged[0].startswith(f"synchronous: [{expected}] on 2 connections")


@pytest.mark.parametrize("standby_workers", [2, 0])
def test_a_launcher_keeps_warm_standby_workers_that_serve_one_run_each(
    tmp_path: Path, standby_workers: int
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagwright.yaml").write_text(
        f"run_launcher: {{default: {{standby_workers: {standby_workers}}}}}\n"
    )
    with Instance.from_home(home) as instance:
        first = instance.submit_run(simple.chain)
        assert _standby_pids(home) == set()  # a one-off launch starts none
        second = instance.submit_run(simple.chain)
        # a process just started may not show its new command line in /proc at once
        wait_for(lambda: len(_standby_pids(home)) == standby_workers, 10, "standby workers")
        standby = _standby_pids(home)
        third = instance.submit_run(simple.chain)
        for run in (first, second, third):
            assert wait_finished(instance, run.run_id).status is RunStatus.SUCCESS
        served_by = worker_pid(instance, third.run_id)
        assert (served_by in standby) is (standby_workers > 0)
        if standby_workers:  # topped up again: the one that served is gone
            assert len(_standby_pids(home) - {served_by}) == standby_workers
    # closing the instance lets the idle ones go (the one that served may still be exiting)
    assert _standby_pids(home) - {served_by} == set()


def test_a_kubernetes_launcher_without_a_kube_config_stores_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("kubernetes", reason="the [k8s] extra is not installed")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagwright.yaml").write_text("run_launcher: {k8s: {namespace: jobs, image: i}}\n")
    with Instance.from_home(home) as instance:
        with pytest.raises(DagwrightInvalidConfigError, match=r"cannot load the kube config"):
            instance.submit_run(simple.chain)
        assert instance.get_runs() == []


def test_a_run_whose_worker_was_started_by_someone_else_is_not_started_twice(
    instance: Instance,
) -> None:
    """A run monitor that took the run for lost recorded its worker first: the launcher
    claims the run but starts no second worker."""
    from dagwright.definitions.loader import code_pointer_for

    pointer = code_pointer_for(simple.chain)
    run = instance.add_run(
        Run("taken", "chain", RunStatus.NOT_STARTED, created_at=0.0, code_pointer=pointer)
    )
    assert instance.records.workers.claim(run.run_id, host="elsewhere", now=1.0)
    claimed = instance.launcher.launch(run)
    assert claimed.status is RunStatus.STARTING
    assert [e.event_type for e in instance.get_events(run.run_id)] == [EventType.RUN_STARTING]
    worker = instance.records.workers.get(run.run_id)
    assert worker is not None and (worker.host, worker.pid) == ("elsewhere", None)


# -- code pointers of modules loaded from their file, and of modules in another directory --

PLUGIN = """
from dagwright import job, op

@op
def where() -> str:
    return {value!r}

@job
def plugin_job() -> None:
    where()
"""

WHERE_B = """
from dagwright import job, op

@op
def where() -> str:
    raise RuntimeError("this is the other directory's module")

@job
def plugin_job() -> None:
    where()
"""


def _home(tmp_path: Path, storage_url: str) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    if storage_url.startswith("postgresql"):
        (home / "dagwright.yaml").write_text(f"storage:\n  postgres: {{url: '{storage_url}'}}\n")
    return home


@pytest.mark.parametrize("registered", [False, True], ids=["plugin-loader", "pytest-importlib"])
def test_a_job_of_a_module_loaded_from_its_file_runs_in_a_worker(
    tmp_path: Path, storage_url: str, monkeypatch: pytest.MonkeyPatch, registered: bool
) -> None:
    """``importlib.util.spec_from_file_location`` (plugin loaders, notebooks, pytest's
    importlib mode): no other process can import the module by name, so the pointer is
    the file the job was defined in."""
    code = tmp_path / "plugins" / "codeloc_plugin.py"
    code.parent.mkdir()
    code.write_text(PLUGIN.format(value="plugin"))
    spec = importlib.util.spec_from_file_location("codeloc_plugin", code)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    if registered:
        monkeypatch.setitem(sys.modules, "codeloc_plugin", module)
    spec.loader.exec_module(module)
    with Instance.from_home(_home(tmp_path, storage_url)) as instance:
        run = instance.submit_run(module.plugin_job)
        assert run.code_pointer == CodePointer("plugin_job", python_file=str(code.resolve()))
        assert wait_finished(instance, run.run_id).status is RunStatus.SUCCESS


def test_a_module_pointer_loads_the_module_of_its_own_directory(
    tmp_path: Path, storage_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run of ``-m codeloc_where`` made in one directory runs that directory's module,
    although its worker starts in another directory that has a module of the same name."""
    mine, other = tmp_path / "mine", tmp_path / "other"
    name = f"codeloc_where_{uuid.uuid4().hex[:8]}"  # a new module for each store
    for folder, source in ((mine, PLUGIN.format(value="mine")), (other, WHERE_B)):
        folder.mkdir()
        (folder / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(mine))
    module = importlib.import_module(name)
    monkeypatch.chdir(other)  # the launcher, and so its workers, start here
    with Instance.from_home(_home(tmp_path, storage_url)) as instance:
        run = instance.submit_run(module.plugin_job)
        assert run.code_pointer == CodePointer(
            "plugin_job", module=name, working_directory=os.path.realpath(mine)
        )
        ended = wait_finished(instance, run.run_id)
        assert ended.status is RunStatus.SUCCESS, instance.get_events(run.run_id)[-1].message
