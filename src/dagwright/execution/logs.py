"""Step logs: a step's stdout and stderr, captured while it runs and kept in the run database.

The one entry point is :func:`capture_step_logs`, a context manager put around the execution
of one step by every way a step executes::

    with capture_step_logs(instance, run_id, step_key):          # fd level (default)
        ...  # call the op
    with capture_step_logs(instance, run_id, step_key, fd=False):  # sys.stdout/sys.stderr
        ...

* ``fd=True`` (run workers, step workers, Celery tasks: one step at a time per process)
  redirects file descriptors 1 and 2 into pipes for the duration, so output of C extensions
  and of subprocesses the op starts is captured too; everything read is also copied to the
  original descriptors (the worker's own log keeps it all).
* ``fd=False`` (``execute_in_process``, ``dagwright job execute``: in the caller's process)
  replaces ``sys.stdout`` and ``sys.stderr``; what is written is also passed on to the
  streams that were there (or to ``echo``, which then replaces them).

Output is written to storage as chunks (:class:`LogChunk`) as it arrives: a stream's buffer
is written once it holds :data:`FLUSH_BYTES`, when its oldest byte is :data:`FLUSH_SECONDS`
old, and when the step ends (executors pass ``hold_final=True`` and write that rest in the
transaction of the step's end event, so a step's logs are complete once it has ended).
Nothing is written for a step that prints nothing. Each stream of a step
keeps at most ``max_bytes`` (``compute_logs.max_bytes_per_step`` in ``dagwright.yaml``);
past that one ``[truncated: N bytes not kept]`` chunk is written when the step ends. Bytes
are decoded as UTF-8 with replacement (a character split between chunks is kept whole).
Storage errors while writing logs never fail the step: they are reported on the original
stderr and the rest of that step's output is dropped.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import selectors
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Final, Protocol, TextIO

from dagwright.runs.worker_process import WORKER_LOG_CAP_ENV

if TYPE_CHECKING:
    from dagwright.instance import Instance

#: The two streams a step's output is kept in.
STREAMS: Final = ("stdout", "stderr")
#: A stream's buffer is written as a chunk once it holds this many bytes.
FLUSH_BYTES: Final = 64 * 1024
#: … or once its oldest byte waited this many seconds.
FLUSH_SECONDS: Final = 0.5
#: Bytes kept per step and stream unless ``compute_logs.max_bytes_per_step`` says otherwise.
DEFAULT_MAX_BYTES: Final = 4 * 1024 * 1024

Echo = Callable[[str, str, str], None]
"""Receives (step_key, stream, text) of output as it is written (``fd=False`` only)."""


@dataclass(frozen=True)
class StepLogCapture:
    """How an execution captures each step's output (the arguments of
    :func:`capture_step_logs`).

    Attributes:
        fd: at the file-descriptor level (a process that runs one step at a time).
        echo: with ``fd=False``, receives the output instead of the original streams.
    """

    fd: bool
    echo: Echo | None = None


#: Python's ``sys.stdout``/``sys.stderr``: steps executed in the caller's process.
PYTHON_CAPTURE: Final = StepLogCapture(fd=False)
#: File descriptors 1 and 2: run workers and step workers.
FD_CAPTURE: Final = StepLogCapture(fd=True)


@dataclass(frozen=True)
class LogChunk:
    """A piece of one step's stdout or stderr, as stored.

    Attributes:
        chunk_id: the storage id; pass the last one seen as ``after`` to read what follows.
        run_id: the run.
        step_key: the step that wrote it.
        stream: ``"stdout"`` or ``"stderr"``.
        seq: the chunk's number within its step and stream (0, 1, …).
        timestamp: when it was written (seconds since the epoch).
        text: the output, decoded as UTF-8 with replacement.
    """

    chunk_id: int
    run_id: str
    step_key: str
    stream: str
    seq: int
    timestamp: float
    text: str

    def to_json(self) -> dict[str, Any]:
        """The chunk as the HTTP API and ``--json`` show it."""
        return {
            "id": self.chunk_id,
            "step_key": self.step_key,
            "stream": self.stream,
            "seq": self.seq,
            "timestamp": self.timestamp,
            "text": self.text,
        }


@dataclass(frozen=True)
class PendingChunk:
    """A chunk not stored yet: what is left of a step's output when it ends, written in the
    transaction of the step's end event (see ``hold_final`` of :func:`capture_step_logs`)."""

    step_key: str
    stream: str
    seq: int
    timestamp: float
    text: str


class ChunkStore(Protocol):
    """Where chunks go (:class:`~dagwright.storage.compute_logs.ComputeLogStorage`)."""

    def append_chunk(
        self, run_id: str, step_key: str, stream: str, seq: int, timestamp: float, text: str
    ) -> None:
        """Store one chunk."""


def truncation_marker(dropped: int) -> str:
    """The text of the chunk that ends a stream cut at its cap."""
    return f"[truncated: {dropped} bytes not kept]\n"


class _StreamBuffer:
    """The not yet written output of one stream, and what its cap let through."""

    __slots__ = ("decoder", "dropped", "kept", "pending", "since")

    def __init__(self) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.pending: list[bytes] = []
        self.kept = 0
        self.dropped = 0
        self.since = 0.0

    def feed(self, data: bytes, max_bytes: int) -> int:
        """Take what fits under the cap; the size now pending."""
        room = max(0, max_bytes - self.kept)
        if len(data) > room:
            self.dropped += len(data) - room
            data = data[:room]
        if data:
            if not self.pending:
                self.since = time.monotonic()
            self.pending.append(data)
            self.kept += len(data)
        return sum(map(len, self.pending))

    def take(self, final: bool) -> str:
        """The pending output as text (a split character waits, unless ``final``)."""
        data, self.pending = b"".join(self.pending), []
        return self.decoder.decode(data, final)


class StepLogRecorder:
    """Buffers the two streams of one step and writes them as chunks (thread-safe: a step's
    chunks are written one at a time, so their ids follow their order).

    Args:
        store: where chunks go.
        run_id: the run.
        step_key: the step.
        max_bytes: the cap per stream, or a function giving it (asked on the first output).

    Attributes:
        final: what :meth:`close` held back instead of writing (``hold=True``).
    """

    def __init__(
        self, store: ChunkStore, run_id: str, step_key: str, max_bytes: int | Callable[[], int]
    ) -> None:
        self._store = store
        self._run_id = run_id
        self._step_key = step_key
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._buffers: dict[str, _StreamBuffer] = {}
        self._seq = dict.fromkeys(STREAMS, 0)
        self._broken = False
        self._holding = False
        self.final: list[PendingChunk] = []

    @property
    def has_output(self) -> bool:
        """Whether anything was written to either stream."""
        return bool(self._buffers)

    def write(self, stream: str, data: bytes) -> None:
        """Add output of ``stream``; written at once if the buffer is full."""
        if not data:
            return
        with self._lock:
            buffer = self._buffers.get(stream)
            if buffer is None:
                buffer = self._buffers[stream] = _StreamBuffer()
            if buffer.feed(data, self._cap()) >= FLUSH_BYTES:
                self._flush(stream, buffer, final=False)

    def flush_due(self) -> None:
        """Write the buffers whose oldest byte waited :data:`FLUSH_SECONDS`."""
        now = time.monotonic()
        with self._lock:
            for stream, buffer in self._buffers.items():
                if buffer.pending and now - buffer.since >= FLUSH_SECONDS:
                    self._flush(stream, buffer, final=False)

    def close(self, *, hold: bool = False) -> None:
        """Write everything left, then the truncation marker of a stream cut at its cap;
        with ``hold``, keep those chunks in :attr:`final` instead, for the caller to write."""
        with self._lock:
            self._holding = hold
            for stream, buffer in self._buffers.items():
                self._flush(stream, buffer, final=True)
                if buffer.dropped:
                    self._append(stream, truncation_marker(buffer.dropped))

    def _cap(self) -> int:
        if callable(self._max_bytes):
            self._max_bytes = self._max_bytes()
        return self._max_bytes

    def _flush(self, stream: str, buffer: _StreamBuffer, *, final: bool) -> None:
        text = buffer.take(final)
        if text:
            self._append(stream, text)

    def _append(self, stream: str, text: str) -> None:
        if self._broken:
            return
        seq = self._seq[stream]
        self._seq[stream] = seq + 1
        if self._holding:
            self.final.append(PendingChunk(self._step_key, stream, seq, time.time(), text))
            return
        try:
            self._store.append_chunk(self._run_id, self._step_key, stream, seq, time.time(), text)
        except Exception as exc:  # logs are best effort: never fail the step for them
            self._broken = True
            with contextlib.suppress(Exception):
                os.write(2, f"dagwright: step logs of {self._step_key!r} lost: {exc}\n".encode())


def configured_max_bytes(instance: Instance) -> int:
    """The cap per step and stream: the launcher's (a launched worker), else the settings'."""
    given = os.environ.get(WORKER_LOG_CAP_ENV)
    if given is not None:
        return int(given)
    return instance.settings.compute_logs.max_bytes_per_step


def capture_step_logs(
    instance: Instance,
    run_id: str,
    step_key: str,
    *,
    fd: bool = True,
    echo: Echo | None = None,
    max_bytes: int | None = None,
    hold_final: bool = False,
) -> AbstractContextManager[StepLogRecorder]:
    """Capture what the block writes to stdout and stderr as the step's logs (see the
    module docstring).

    Args:
        instance: the instance whose run database keeps the logs.
        run_id: the run.
        step_key: the step executed in the block.
        fd: capture file descriptors 1 and 2 (this process runs only this step now); if
            false, only Python's ``sys.stdout`` and ``sys.stderr``.
        echo: with ``fd=False``, receives ``(step_key, stream, text)`` instead of the
            original streams.
        max_bytes: bytes kept per stream (default: :func:`configured_max_bytes`, asked
            only once the step writes something).
        hold_final: when the block ends without an exception, keep what is left in the
            recorder's ``final`` instead of writing it: the caller writes those chunks in
            the transaction of the step's end event (one transaction fewer per step).

    Returns:
        A context manager whose value is the step's recorder (``has_output`` tells whether
        anything was written); leaving it writes what is left.
    """
    cap: int | Callable[[], int] = (
        max_bytes if max_bytes is not None else partial(configured_max_bytes, instance)
    )
    recorder = StepLogRecorder(instance.records.compute_logs, run_id, step_key, cap)
    capture = _FdCapture(recorder) if fd else _PythonCapture(recorder, step_key, echo)
    capture.hold_final = hold_final
    return capture


class _Capture:
    """Entering starts capturing into the recorder; leaving stops and writes what is left."""

    hold_final = False

    def __init__(self, recorder: StepLogRecorder) -> None:
        self.recorder = recorder

    def __enter__(self) -> StepLogRecorder:
        self.start()
        return self.recorder

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        try:
            self.stop()
        finally:  # interrupted: no end event will carry the chunks, write them now
            self.recorder.close(hold=self.hold_final and exc_type is None)

    def start(self) -> None:
        """Redirect the output."""

    def stop(self) -> None:
        """Put the output back."""


class _Flusher:
    """One thread per process writing the due buffers of the in-process captures (started
    with the first output, then kept, asleep between passes: a thread per step would cost
    more than most steps)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._recorders: set[StepLogRecorder] = set()
        self._thread: threading.Thread | None = None

    def add(self, recorder: StepLogRecorder) -> None:
        with self._lock:
            self._recorders.add(recorder)
            if self._thread is None or not self._thread.is_alive():  # first, or after a fork
                self._thread = threading.Thread(target=self._loop, daemon=True, name="step-logs")
                self._thread.start()

    def discard(self, recorder: StepLogRecorder) -> None:
        with self._lock:
            self._recorders.discard(recorder)

    def _loop(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS / 2)
            with self._lock:
                recorders = list(self._recorders)
            for recorder in recorders:
                recorder.flush_due()


#: The flusher of this process's in-process captures.
_FLUSHER: Final = _Flusher()


class _CapturedText:
    """Stands in for ``sys.stdout`` or ``sys.stderr`` during a step (``fd=False``). A plain
    object, not an ``io`` class: those flush when collected, a cost on every step."""

    __slots__ = ("_original", "write")

    encoding = "utf-8"
    errors = "replace"
    closed = False

    def __init__(self, original: TextIO | None, write: Callable[[str], int]) -> None:
        self._original = original
        self.write = write

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._original is not None:
            with contextlib.suppress(Exception):
                self._original.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        if self._original is None:
            raise io.UnsupportedOperation("fileno")
        return self._original.fileno()


class _PythonCapture(_Capture):
    """``sys.stdout``/``sys.stderr`` replaced for the step, passed on to the originals."""

    def __init__(self, recorder: StepLogRecorder, step_key: str, echo: Echo | None) -> None:
        super().__init__(recorder)
        self._step_key = step_key
        self._echo = echo
        self._registered = False
        self._saved: tuple[Any, Any] = (None, None)

    def start(self) -> None:
        self._saved = saved = (sys.stdout, sys.stderr)
        sys.stdout = _CapturedText(saved[0], self._writer("stdout", saved[0]))
        sys.stderr = _CapturedText(saved[1], self._writer("stderr", saved[1]))

    def _writer(self, stream: str, original: TextIO | None) -> Callable[[str], int]:
        recorder, echo = self.recorder, self._echo
        step_key = self._step_key

        def write(text: str) -> int:
            if text:
                recorder.write(stream, text.encode("utf-8", "replace"))
                if not self._registered:
                    self._registered = True
                    _FLUSHER.add(recorder)
                if echo is not None:
                    echo(step_key, stream, text)
                elif original is not None:
                    original.write(text)
            return len(text)

        return write

    def stop(self) -> None:
        sys.stdout, sys.stderr = self._saved
        if self._registered:
            _FLUSHER.discard(recorder=self.recorder)


class _FdCapture(_Capture):
    """Descriptors 1 and 2 redirected into pipes for the step; a thread reads them, copies
    what it reads to the original descriptors and feeds the recorder."""

    def __init__(self, recorder: StepLogRecorder) -> None:
        super().__init__(recorder)
        self._saved: dict[int, int] = {}
        self._readers: dict[int, tuple[str, int]] = {}  # read end -> (stream, original fd)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._line_buffering: dict[str, bool] = {}

    def start(self) -> None:
        _flush_python_streams()
        try:
            for target, stream in ((1, "stdout"), (2, "stderr")):
                self._saved[target] = os.dup(target)
                read_end, write_end = os.pipe()
                self._readers[read_end] = (stream, self._saved[target])
                os.dup2(write_end, target)
                os.close(write_end)
        except OSError:  # no such descriptor (a closed stdout …): the step runs uncaptured
            self.stop()
            return
        self._line_buffer_python_streams()
        self._thread = threading.Thread(target=self._read, daemon=True, name="step-logs")
        self._thread.start()

    def _line_buffer_python_streams(self) -> None:
        """Python's own buffer would hold a ``print`` until the step ends: flush each line."""
        for name in STREAMS:
            stream = getattr(sys, name)
            if isinstance(stream, io.TextIOWrapper) and not stream.line_buffering:
                self._line_buffering[name] = False
                stream.reconfigure(line_buffering=True)

    def _read(self) -> None:
        with selectors.DefaultSelector() as selector:
            for read_end in self._readers:
                selector.register(read_end, selectors.EVENT_READ)
            open_ends = set(self._readers)
            drain_until: float | None = None
            while open_ends:
                stopping = self._stop.is_set()
                if stopping and drain_until is None:
                    drain_until = time.monotonic() + FLUSH_SECONDS
                ready = selector.select(timeout=0 if stopping else FLUSH_SECONDS / 2)
                if stopping and (not ready or time.monotonic() > (drain_until or 0.0)):
                    break  # a process the op started still holds the pipe: stop reading
                for key, _ in ready:
                    if not self._pass_on(int(key.fd)):
                        selector.unregister(key.fd)
                        open_ends.discard(int(key.fd))
                self.recorder.flush_due()

    def _pass_on(self, read_end: int) -> bool:
        data = os.read(read_end, FLUSH_BYTES)
        if not data:
            return False
        stream, original = self._readers[read_end]
        with contextlib.suppress(OSError):
            _write_all(original, data)
        self.recorder.write(stream, data)
        return True

    def stop(self) -> None:
        _flush_python_streams()
        for target, saved in self._saved.items():
            os.dup2(saved, target)  # closes this process's write end of the pipe
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        for name in self._line_buffering:
            stream = getattr(sys, name)
            with contextlib.suppress(Exception):
                stream.reconfigure(line_buffering=False)
        for fd in (*self._readers, *self._saved.values()):
            os.close(fd)
        self._readers.clear()
        self._saved.clear()


def _flush_python_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.flush()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def follow_step_logs(
    instance: Instance,
    run_id: str,
    *,
    step_key: str | None = None,
    stream: str = "stdout",
    poll_seconds: float = FLUSH_SECONDS,
) -> Iterator[LogChunk]:
    """Yield a run's chunks of ``stream`` (of one step, or all) as they are stored, until
    the run has ended and everything it wrote was yielded.

    A cursor is kept per step (see
    :meth:`~dagwright.storage.compute_logs.ComputeLogStorage.last_ids`), so no chunk is
    missed when steps in several processes write at once.

    Raises:
        DagwrightRunNotFoundError: no such run.
    """
    store = instance.records.compute_logs
    seen: dict[str, int] = {}
    while True:
        run = instance.get_run(run_id)
        if run is None:
            from dagwright.errors import DagwrightRunNotFoundError

            raise DagwrightRunNotFoundError(run_id)
        finished = run.status.is_finished  # read before the chunks: none can follow it
        for (step, kind), last in sorted(store.last_ids(run_id).items(), key=lambda i: i[1]):
            if kind != stream or (step_key is not None and step != step_key):
                continue
            after = seen.get(step)
            if last > (after or 0):
                chunks = store.get_chunks(run_id, step_key=step, stream=stream, after=after)
                yield from chunks
                seen[step] = chunks[-1].chunk_id if chunks else last
        if finished:
            return
        time.sleep(poll_seconds)
