"""Output stores: the memory and pickle stores, atomic writes, safe paths, and runs that
store their outputs in a persistent instance."""

from __future__ import annotations

import os
import pickle
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dagwright import (
    DagwrightExecutionError,
    DagwrightUserCodeError,
    EventType,
    Instance,
    Out,
    job,
    op,
)
from dagwright.definitions.composition import NodeOutput
from dagwright.execution.outputs import MemoryOutputStore, OutputStore, PickleOutputStore

RESULT = NodeOutput("load", "result")


@pytest.fixture(params=["memory", "pickle"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> OutputStore:
    if request.param == "memory":
        return MemoryOutputStore()
    return PickleOutputStore(tmp_path / "storage")


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Instance]:
    with Instance.from_home(tmp_path / "home") as instance:
        yield instance


def test_put_get_has_and_delete_run(store: OutputStore) -> None:
    assert not store.has("r1", RESULT)
    store.put("r1", RESULT, {"rows": [1, 2]})
    store.put("r1", NodeOutput("g.split", "left"), 3)
    store.put("r2", RESULT, "other run")
    assert store.has("r1", RESULT)
    assert store.get("r1", RESULT) == {"rows": [1, 2]}
    assert store.get("r1", NodeOutput("g.split", "left")) == 3
    store.put("r1", RESULT, "replaced")
    assert store.get("r1", RESULT) == "replaced"
    store.delete_run("r1")
    store.delete_run("never-stored")
    assert not store.has("r1", RESULT)
    assert store.get("r2", RESULT) == "other run"


def test_a_missing_output_names_op_and_output(store: OutputStore) -> None:
    with pytest.raises(DagwrightExecutionError) as info:
        store.get("r1", RESULT)
    assert str(info.value) == "run 'r1' has no stored output 'result' of op 'load'"
    assert info.value.run_id == "r1"


def test_the_memory_store_keeps_references() -> None:
    store = MemoryOutputStore()
    value: list[int] = []
    store.put("r1", RESULT, value)
    assert store.get("r1", RESULT) is value


def test_pickle_files_are_laid_out_by_run_step_and_output(tmp_path: Path) -> None:
    store = PickleOutputStore(tmp_path)
    store.put("r1", NodeOutput("g.split", "left"), [1])
    path = tmp_path / "r1" / "g.split" / "left.pkl"
    assert pickle.loads(path.read_bytes()) == [1]
    assert list(path.parent.iterdir()) == [path]


@pytest.mark.parametrize(
    ("run_id", "node", "output"),
    [
        ("..", "load", "result"),
        ("r1", "..", "result"),
        ("r1", "load", ".."),
        ("a/b", "load", "result"),
        ("r1", "../../etc", "result"),
        ("r1", "load", "x\\y"),
        ("", "load", "result"),
        ("r1", ".", "result"),
    ],
)
def test_unsafe_path_parts_are_refused(tmp_path: Path, run_id: str, node: str, output: str) -> None:
    store = PickleOutputStore(tmp_path / "storage")
    target = NodeOutput(node, output)
    for call in (
        lambda: store.put(run_id, target, 1),
        lambda: store.get(run_id, target),
        lambda: store.has(run_id, target),
    ):
        with pytest.raises(DagwrightExecutionError, match="unsafe path part"):
            call()
    assert not tmp_path.joinpath("storage").exists()


class _Exploding:
    def __reduce__(self) -> Any:
        raise TypeError("cannot pickle this")


def test_a_failed_write_leaves_no_half_file_and_keeps_the_old_value(tmp_path: Path) -> None:
    store = PickleOutputStore(tmp_path)
    store.put("r1", RESULT, "old")
    big_then_bad = [b"x" * 100_000, _Exploding()]
    with pytest.raises(DagwrightExecutionError) as info:
        store.put("r1", RESULT, big_then_bad)
    assert "cannot store output 'result' of op 'load': TypeError: cannot pickle this" in str(
        info.value
    )
    assert store.get("r1", RESULT) == "old"
    assert [p.name for p in (tmp_path / "r1" / "load").iterdir()] == ["result.pkl"]


def test_a_crash_before_the_rename_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(src: Any, dst: Any) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    store = PickleOutputStore(tmp_path)
    with pytest.raises(DagwrightExecutionError, match="OSError: disk gone"):
        store.put("r1", RESULT, 1)
    assert not store.has("r1", RESULT)
    assert list((tmp_path / "r1" / "load").iterdir()) == []


def test_a_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    store = PickleOutputStore(tmp_path)
    store.put("r1", RESULT, 1)
    (tmp_path / "r1" / "load" / "result.pkl").write_bytes(b"not a pickle")
    with pytest.raises(DagwrightExecutionError, match="cannot load output 'result' of op 'load'"):
        store.get("r1", RESULT)


def test_instance_stores(tmp_path: Path) -> None:
    with Instance.from_home(tmp_path) as instance:
        assert isinstance(instance.outputs, PickleOutputStore)
        assert instance.outputs.root == tmp_path.resolve() / "storage"
    with Instance.ephemeral() as instance:
        assert isinstance(instance.outputs, MemoryOutputStore)
        assert instance.outputs is instance.outputs


# -- runs store their outputs -------------------------------------------------------------


@op
def start() -> int:
    return 1


@op(out={"low": Out(int), "high": Out(int)})
def split(x: int) -> tuple[int, int]:
    return x - 1, x + 1


@op
def make_lock(x: int) -> Any:
    return threading.Lock()


@op
def use(lock: Any) -> str:
    return "used"


@job
def splitting() -> None:
    split(start())


@job
def locking() -> None:
    use(make_lock(start()))


def stored(job_def: Any, instance: Instance, raise_on_error: bool = False) -> Any:
    """Execute in process storing outputs, as ``dagwright job execute`` does."""
    from dagwright.execution.in_process import execute_job_in_process

    return execute_job_in_process(
        job_def,
        run_config=None,
        tags=None,
        op_selection=None,
        partition_key=None,
        instance=instance,
        raise_on_error=raise_on_error,
        store_outputs=True,
    )


def test_execute_in_process_keeps_outputs_in_memory(home: Instance) -> None:
    result = splitting.execute_in_process(instance=home)
    assert result.output_for_node("split", "high") == 2
    assert not home.outputs.has(result.run_id, NodeOutput("split", "high"))


def test_a_persistent_instance_stores_every_output(home: Instance) -> None:
    result = stored(splitting, home)
    root = home.outputs.root  # type: ignore[attr-defined]
    assert sorted(p.relative_to(root / result.run_id).as_posix() for p in root.rglob("*.pkl")) == [
        "split/high.pkl",
        "split/low.pkl",
        "start/result.pkl",
    ]
    assert home.outputs.get(result.run_id, NodeOutput("split", "high")) == 2


def test_an_unpicklable_output_fails_its_step_naming_op_and_output(home: Instance) -> None:
    result = stored(locking, home)
    assert not result.success
    failure = result.events_for_node("make_lock")[-1]
    assert failure.event_type is EventType.STEP_FAILURE
    assert "cannot store output 'result' of op 'make_lock'" in failure.message
    assert "TypeError" in failure.message and "lock" in failure.message
    assert result.events_for_node("use")[-1].event_type is EventType.STEP_SKIPPED
    assert home.outputs.has(result.run_id, NodeOutput("start", "result"))
    assert not home.outputs.has(result.run_id, NodeOutput("make_lock", "result"))
    with pytest.raises(DagwrightUserCodeError, match="cannot store output 'result' of op"):
        stored(locking, home, raise_on_error=True)


def test_ephemeral_runs_pickle_nothing() -> None:
    assert locking.execute_in_process().output_for_node("use") == "used"
    with Instance.ephemeral() as instance:
        result = stored(locking, instance)
        lock = instance.outputs.get(result.run_id, NodeOutput("make_lock", "result"))
        assert lock is result.output_for_node("make_lock")


def test_delete_run_deletes_stored_outputs(home: Instance) -> None:
    kept = stored(splitting, home).run_id
    gone = stored(splitting, home).run_id
    home.delete_run(gone)
    root = home.outputs.root  # type: ignore[attr-defined]
    assert not os.path.exists(root / gone)
    assert home.outputs.has(kept, NodeOutput("start", "result"))
