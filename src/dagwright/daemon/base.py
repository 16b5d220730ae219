"""What every daemon loop is: a name, an interval, and one pure-ish step of work."""

from __future__ import annotations

import logging
from typing import Protocol

#: The logger every daemon writes its decisions to (one line per decision).
log = logging.getLogger("dagwright.daemon")


class Daemon(Protocol):
    """One loop of the daemon process.

    ``run_iteration`` does one pass of work as of ``now`` (seconds since the epoch) and
    returns; the controller calls it every ``interval_seconds``. Tests call it directly
    with the ``now`` they want.
    """

    name: str
    interval_seconds: float

    def run_iteration(self, now: float) -> None:
        """Do one pass of work as of ``now``."""
        ...
