"""Runs daemon loops in threads of one process, with heartbeats and a clean shutdown.

Each loop calls ``run_iteration(time.time())`` every ``interval_seconds``; an exception in
one pass is logged and the loop goes on. SIGTERM and SIGINT stop every loop after its
current pass. Each loop records a heartbeat in storage after every pass (with the
daemon's host, pid and the loop's interval), so that ``dagwright daemon status``, the
pages and the API see it (:mod:`dagwright.daemon.health`). A daemon that stops cleanly
marks its heartbeats stopped; one starting drops heartbeats older than a day.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import TYPE_CHECKING

from dagwright.daemon.base import Daemon, log

if TYPE_CHECKING:
    from dagwright.instance import Instance
    from dagwright.storage.workers import WorkerStorage

#: Heartbeats older than this (seconds) are dropped when a daemon starts.
FORGET_AFTER_SECONDS = 24 * 3600.0


class DaemonController:
    """Drives several daemon loops until :meth:`stop` (or a signal)."""

    def __init__(self, instance: Instance, daemons: Sequence[Daemon]) -> None:
        self._instance = instance
        self._daemons = list(daemons)
        self._stopping = threading.Event()
        self._host, self._pid = socket.gethostname(), os.getpid()
        self.daemon_id = f"{self._host}:{self._pid}"

    @property
    def stopping(self) -> bool:
        """Whether a stop was asked for."""
        return self._stopping.is_set()

    def stop(self, *_: object) -> None:
        """Ask every loop to stop after its current pass."""
        if not self._stopping.is_set():
            log.info("stopping daemon %s", self.daemon_id)
        self._stopping.set()

    def _loop(self, daemon: Daemon) -> None:
        while not self._stopping.is_set():
            started = time.time()
            try:
                daemon.run_iteration(started)
            except Exception:  # a failed pass must not kill the loop
                log.exception("%s: pass failed", daemon.name)
            self._heartbeat(daemon, started)
            self._stopping.wait(max(0.0, daemon.interval_seconds - (time.time() - started)))

    def _heartbeat(self, daemon: Daemon, now: float) -> None:
        try:
            self._instance.storage.workers.beat_daemon(
                daemon.name,
                self.daemon_id,
                now,
                host=self._host,
                pid=self._pid,
                interval_seconds=daemon.interval_seconds,
            )
        except Exception:
            log.exception("%s: could not record a heartbeat", daemon.name)

    def run(self, *, install_signal_handlers: bool = True) -> None:
        """Run every loop in its own thread until stopped; returns once all have ended."""
        if install_signal_handlers:
            self._install_signal_handlers()
        threads = [
            threading.Thread(target=self._loop, args=(d,), name=f"dagwright-{d.name}")
            for d in self._daemons
        ]
        log.info("daemon %s running: %s", self.daemon_id, ", ".join(d.name for d in self._daemons))
        self._record(lambda w: w.forget_daemons(time.time() - FORGET_AFTER_SECONDS))
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads):
            for thread in threads:
                thread.join(timeout=0.2)
        self._record(lambda w: w.stop_daemon(self.daemon_id, time.time()))
        log.info("daemon %s stopped", self.daemon_id)

    def _record(self, write: Callable[[WorkerStorage], None]) -> None:
        try:
            write(self._instance.storage.workers)
        except Exception:  # storage trouble must not stop the daemon starting or stopping
            log.exception("could not record the daemon's start or stop")

    def _install_signal_handlers(self) -> None:
        def handle(signum: int, _frame: FrameType | None) -> None:
            log.info("received %s", signal.Signals(signum).name)
            self.stop()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)
