"""Run launchers: start the process that executes a run, and stop it.

The default launcher starts one OS process per run: ``python -m dagwright.execution.worker
RUN_ID``, with ``DAGWRIGHT_HOME`` pointing at the instance. The worker loads the job from
the run's code pointer, so nothing but the run id crosses the process boundary.

A launcher that launches more than once (a daemon, a server) keeps warm standby workers
(``python -m dagwright.execution.worker --standby``; ``run_launcher.default.standby_workers``,
2 by default): processes that have already imported dagwright and opened the instance, and
read the id of their run from standard input. A launch then costs no interpreter start-up;
each run still gets a process of its own, and a standby serves one run only.
"""

from __future__ import annotations

import collections
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

from dagwright.errors import DagwrightInvalidConfigError
from dagwright.execution.events import Event, EventType
from dagwright.runs.claims import ClaimLimits
from dagwright.runs.models import Run, WorkerInfo, require_code_pointer
from dagwright.runs.worker_process import (
    STANDBY,
    WORKER_HEARTBEAT_ENV,
    WORKER_LOG_CAP_ENV,
    WORKER_MODULE,
    WORKER_OUTPUTS_ENV,
    WORKER_STORAGE_ENV,
    WORKER_STORAGE_OPTIONS_ENV,
    heartbeat_interval,
    worker_log_path,
)

if TYPE_CHECKING:
    from dagwright.instance import Instance


class RunLauncher(Protocol):
    """Starts and stops the processes that execute runs."""

    def launch(self, run: Run) -> Run:
        """Claim the run (``STARTING``) and start its process; returns the claimed run.

        A queued run is claimed only if the run queue's limits allow it, as counted in
        storage in the claim's transaction.

        Raises:
            DagwrightInvalidTransitionError: the run was already claimed (by another daemon);
                :class:`~dagwright.runs.claims.ClaimRefusedError` when a limit is full.
        """
        ...

    def relaunch(self, run: Run, *, stale_before: float | None = None) -> bool:
        """Start a worker for a STARTING run that has none (its launcher died); whether
        this call did (another may have first). A worker recorded before ``stale_before``
        but never started (no pid) counts as none."""
        ...

    def terminate(self, run: Run, *, force: bool = False) -> bool:
        """Stop the run's process and its children (SIGTERM, or SIGKILL with ``force``);
        whether a signal was delivered."""
        ...

    def is_running(self, run: Run) -> bool | None:
        """Whether the run's process is alive (None: unknown, e.g. on another host)."""
        ...

    def close(self) -> None:
        """Release what the launcher holds (processes kept warm, clients, threads)."""
        ...


class ProcessRunLauncher:
    """One OS process per run, in its own process group."""

    def __init__(self, instance: Instance, *, standby_workers: int = 2) -> None:
        """Launch the runs of ``instance``; keep up to ``standby_workers`` warm workers
        once it has launched twice."""
        self._instance = instance
        self._launches = 0
        self._standby_workers = standby_workers
        self._spares: collections.deque[subprocess.Popen[bytes]] = collections.deque()
        self._limits: ClaimLimits | None = None

    def _claim_limits(self) -> ClaimLimits | None:
        """The run queue's limits, which a claim of a queued run is checked against."""
        queue = self._instance.settings.run_queue
        if queue is None:
            return None
        if self._limits is None:
            self._limits = ClaimLimits(queue.max_concurrent_runs, queue.tag_concurrency_limits)
        return self._limits

    def _home(self) -> Path:
        home = self._instance.home
        if home is None:
            raise DagwrightInvalidConfigError(
                "instance",
                "an ephemeral instance cannot launch runs in other processes; "
                "use Instance.from_home(path) or Instance.get()",
            )
        return home

    def launch(self, run: Run) -> Run:
        """Claim the run (within the queue's limits, checked in storage) and start
        ``python -m dagwright.execution.worker RUN_ID``."""
        home = self._home()
        require_code_pointer(run.job_name, run.code_pointer)
        _, claimed = self._instance.records.events.store_event(
            Event(run.run_id, EventType.RUN_STARTING, time.time(), message="launching run worker"),
            limits=self._claim_limits(),
        )
        assert claimed is not None
        if not self._instance.records.workers.claim(
            run.run_id, host=socket.gethostname(), now=time.time()
        ):  # a run monitor took it for lost and started its worker meanwhile
            return claimed
        process = self._start(claimed, home, self._take_spare(run.run_id))
        self._instance.handle_event(self._started(run, process, home, "started run worker"))
        self._launches += 1
        if self._launches >= 2:
            while len(self._spares) < self._standby_workers:
                self._spares.append(self._spawn(home, None, home / "logs" / "standby.log"))
        return claimed

    def relaunch(self, run: Run, *, stale_before: float | None = None) -> bool:
        """Start a worker for a STARTING run whose launcher died between claiming it and
        starting its worker (the run monitor does this). Whoever first records a worker
        for the run starts it, and a claim made before ``stale_before`` that never got a
        pid is taken over; returns whether this call started one."""
        home = self._home()
        require_code_pointer(run.job_name, run.code_pointer)
        if not self._instance.records.workers.claim(
            run.run_id, host=socket.gethostname(), now=time.time(), stale_before=stale_before
        ):
            return False
        process = self._start(run, home, None)
        self._instance.handle_event(self._started(run, process, home, "relaunched run worker"))
        return True

    def _start(
        self, run: Run, home: Path, spare: subprocess.Popen[bytes] | None
    ) -> subprocess.Popen[bytes]:
        """Start (or hand the run to) its worker, record it, and reap it when it exits."""
        process = spare or self._spawn(home, run.run_id, worker_log_path(home, run.run_id))
        self._instance.records.workers.register(
            run.run_id, pid=process.pid, host=socket.gethostname(), now=time.time()
        )
        threading.Thread(target=process.wait, daemon=True).start()  # no zombie, whoever ends it
        return process

    def _started(self, run: Run, process: subprocess.Popen[bytes], home: Path, what: str) -> Event:
        log = str(worker_log_path(home, run.run_id))
        return Event(
            run.run_id,
            EventType.ENGINE,
            time.time(),
            message=f"{what}, pid {process.pid}",
            data={"pid": process.pid, "host": socket.gethostname(), "log": log},
        )

    def _spawn(self, home: Path, run_id: str | None, log_path: Path) -> subprocess.Popen[bytes]:
        """Start a worker for ``run_id``, or a standby worker (``run_id`` None)."""
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", WORKER_MODULE, run_id or STANDBY],
                env={**os.environ, **self._worker_env(home)},
                stdin=subprocess.DEVNULL if run_id else subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _worker_env(self, home: Path) -> dict[str, str]:
        """What a worker needs to skip reading the settings: the home, the storage URL and
        options, and its heartbeat interval (see :mod:`dagwright.execution.worker`)."""
        env = {"DAGWRIGHT_HOME": str(home)}
        instance = self._instance
        if instance.storage_url is not None:
            env[WORKER_STORAGE_ENV] = instance.storage_url
            env[WORKER_STORAGE_OPTIONS_ENV] = instance.storage_options.to_env()
            env[WORKER_HEARTBEAT_ENV] = repr(heartbeat_interval(instance))
            env[WORKER_OUTPUTS_ENV] = instance.settings.output_store_spec()
            env[WORKER_LOG_CAP_ENV] = str(instance.settings.compute_logs.max_bytes_per_step)
        return env

    def _take_spare(self, run_id: str) -> subprocess.Popen[bytes] | None:
        """Hand the run to the oldest (warmest) standby worker, if one is alive."""
        while self._spares:
            spare = self._spares.popleft()
            if spare.stdin is None:
                continue
            try:
                spare.stdin.write(f"{run_id}\n".encode())
                spare.stdin.close()
            except OSError:  # it died: try the next, or start a worker the ordinary way
                spare.wait()
                continue
            return spare
        return None

    def close(self) -> None:
        """Let the standby workers go (each exits when its input closes)."""
        spares, self._spares = self._spares, collections.deque()
        for spare in spares:
            if spare.stdin is not None:
                spare.stdin.close()
        for spare in spares:
            spare.wait()

    def terminate(self, run: Run, *, force: bool = False) -> bool:
        """Signal the worker's process group (the worker and any process it started)."""
        worker = self._instance.records.workers.get(run.run_id)
        return signal_worker(worker, signal.SIGKILL if force else signal.SIGTERM)

    def is_running(self, run: Run) -> bool | None:
        """Whether the worker's process is alive (None when it runs on another host)."""
        worker = self._instance.records.workers.get(run.run_id)
        return process_alive(worker) if worker is not None else None


def _local_pid(worker: WorkerInfo | None) -> int | None:
    if worker is None or worker.pid is None or worker.host != socket.gethostname():
        return None
    return worker.pid


def process_alive(worker: WorkerInfo) -> bool | None:
    """Whether a worker's process lives (None when it runs on another host).

    A zombie (a process that exited but that its parent has not reaped: a container's
    PID 1, a launcher that exited) is dead, although ``kill(pid, 0)`` still reaches it.
    """
    pid = _local_pid(worker)
    return None if pid is None else pid_alive(pid)


def pid_alive(pid: int) -> bool:
    """Whether the process ``pid`` of this host lives: a zombie (exited, never reaped)
    does not (``/proc/PID/stat``; ``kill(pid, 0)`` where there is no ``/proc``)."""
    state = _proc_state(pid)
    if state is not None:
        return state != "" and state not in _DEAD_STATES
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


#: ``/proc/PID/stat`` states of a process that has exited: zombie, dead.
_DEAD_STATES: Final = frozenset({"Z", "X", "x"})
#: ... and of one that was stopped (SIGSTOP, a debugger): it makes no progress at all.
_STOPPED_STATES: Final = frozenset({"T", "t"})


def process_stopped(worker: WorkerInfo) -> bool:
    """Whether a local worker's process is stopped (it may hold a database lock that only
    killing it releases)."""
    pid = _local_pid(worker)
    return pid is not None and _proc_state(pid) in _STOPPED_STATES


def _proc_state(pid: int) -> str | None:
    """The state letter of a process from ``/proc/PID/stat`` ("" when there is no such
    process; None where there is no ``/proc``)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            text = stat.read()
    except FileNotFoundError:
        return "" if os.path.isdir("/proc/self") else None
    except OSError:
        return None
    # "PID (COMM) STATE ...": COMM may hold spaces and parentheses, so after the last ")"
    return text[text.rfind(b")") + 2 :][:1].decode() or None


def signal_worker(worker: WorkerInfo | None, signum: int) -> bool:
    """Send a signal to a local worker's process group; whether it was delivered."""
    pid = _local_pid(worker)
    if pid is None:
        return False
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def worker_pid(instance: Instance, run_id: str) -> int | None:
    """The pid of a run's worker, if it runs on this host."""
    return _local_pid(instance.records.workers.get(run_id))
