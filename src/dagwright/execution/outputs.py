"""Output stores: step outputs that outlive their run, so a re-execution can read them.

An :class:`OutputStore` keeps each output under ``(run_id, NodeOutput)``. Two real
implementations: :class:`MemoryOutputStore` (a dict of references, for ephemeral
instances) and :class:`PickleOutputStore` (one pickle file per output under the home).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pickle
import uuid
from pathlib import Path
from typing import Any, Final, Protocol

from dagwright.definitions.composition import NodeOutput
from dagwright.errors import DagwrightExecutionError

#: Pickle protocol of stored outputs (out-of-band buffers, Python 3.8+).
PICKLE_PROTOCOL: Final = 5

_UNSAFE_PARTS: Final = frozenset({"", ".", ".."})

# Temporary file names: unique per process (token) and per write (counter).
_TOKEN: Final = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
_COUNTER: Final = itertools.count()


def _make_folder(folder: str) -> None:
    try:
        os.mkdir(folder)
    except FileExistsError:
        pass
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)


def _describe(output: NodeOutput) -> str:
    return f"output {output.output!r} of op {output.node!r}"


def missing_output_error(run_id: str, output: NodeOutput) -> DagwrightExecutionError:
    """The error raised when a run has no stored value for ``output``."""
    return DagwrightExecutionError(run_id, f"run {run_id!r} has no stored {_describe(output)}")


class OutputStore(Protocol):
    """Where step outputs are kept after their step, keyed by run id and output."""

    def put(self, run_id: str, output: NodeOutput, value: Any) -> None:
        """Store ``value`` as ``output`` of run ``run_id`` (replacing an earlier value).

        Raises:
            DagwrightExecutionError: the value cannot be stored (naming op and output).
        """

    def get(self, run_id: str, output: NodeOutput) -> Any:
        """The stored value.

        Raises:
            DagwrightExecutionError: nothing is stored for it, or it cannot be read.
        """

    def has(self, run_id: str, output: NodeOutput) -> bool:
        """Whether a value is stored for ``output`` of run ``run_id``."""

    def delete_run(self, run_id: str) -> None:
        """Forget every output of the run (nothing happens if it has none)."""


class MemoryOutputStore:
    """Outputs kept as references in a dict: no copy, no pickling."""

    def __init__(self) -> None:
        self._runs: dict[str, dict[NodeOutput, Any]] = {}

    def put(self, run_id: str, output: NodeOutput, value: Any) -> None:
        """Keep a reference to ``value``."""
        self._runs.setdefault(run_id, {})[output] = value

    def get(self, run_id: str, output: NodeOutput) -> Any:
        """The kept value (the very object that was put).

        Raises:
            DagwrightExecutionError: nothing is kept for it.
        """
        try:
            return self._runs[run_id][output]
        except KeyError:
            raise missing_output_error(run_id, output) from None

    def has(self, run_id: str, output: NodeOutput) -> bool:
        """Whether a value is kept."""
        return output in self._runs.get(run_id, ())

    def delete_run(self, run_id: str) -> None:
        """Drop the run's references."""
        self._runs.pop(run_id, None)


class PickleOutputStore:
    """Each output pickled to ``root/<run_id>/<step_key>/<output_name>.pkl``.

    A value is written to a temporary file in the same folder, then moved into place with
    ``os.replace``: a crash of the writing process never leaves a half-written output
    under its final name (files are not fsynced: a power loss may lose recent outputs).
    Path parts that could leave ``root`` (``/``, ``\\``, ``.``, ``..``, empty) are refused.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._root = str(root)

    def _folder(self, run_id: str, output: NodeOutput) -> str:
        for part in (run_id, output.node, output.output):
            if part in _UNSAFE_PARTS or "/" in part or "\\" in part or "\0" in part:
                raise DagwrightExecutionError(
                    run_id, f"cannot store {_describe(output)}: unsafe path part {part!r}"
                )
        return os.path.join(self._root, run_id, output.node)

    def _path(self, run_id: str, output: NodeOutput) -> str:
        return os.path.join(self._folder(run_id, output), f"{output.output}.pkl")

    def put(self, run_id: str, output: NodeOutput, value: Any) -> None:
        """Pickle ``value`` atomically into place.

        Raises:
            DagwrightExecutionError: the value cannot be pickled or written.
        """
        folder = self._folder(run_id, output)
        path = os.path.join(folder, f"{output.output}.pkl")
        temp = os.path.join(folder, f".{output.output}.{_TOKEN}-{next(_COUNTER)}.tmp")
        try:
            _make_folder(folder)
            with open(temp, "wb") as file:
                pickle.dump(value, file, protocol=PICKLE_PROTOCOL)
            os.replace(temp, path)
        except Exception as exc:  # pickling runs user code (__reduce__ ...): any error
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise DagwrightExecutionError(
                run_id, f"cannot store {_describe(output)}: {type(exc).__name__}: {exc}"
            ) from exc

    def get(self, run_id: str, output: NodeOutput) -> Any:
        """Unpickle the stored value.

        Raises:
            DagwrightExecutionError: no file, or it cannot be unpickled.
        """
        path = self._path(run_id, output)
        try:
            with open(path, "rb") as file:
                return pickle.load(file)
        except FileNotFoundError:
            raise missing_output_error(run_id, output) from None
        except Exception as exc:
            raise DagwrightExecutionError(
                run_id, f"cannot load {_describe(output)}: {type(exc).__name__}: {exc}"
            ) from exc

    def has(self, run_id: str, output: NodeOutput) -> bool:
        """Whether the output's file exists."""
        return os.path.isfile(self._path(run_id, output))

    def delete_run(self, run_id: str) -> None:
        """Remove the run's folder."""
        import shutil

        folder = os.path.dirname(self._folder(run_id, NodeOutput("_", "_")))
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(folder)
