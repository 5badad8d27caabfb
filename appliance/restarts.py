"""How often the daemon did not stop cleanly: watchdog kills and crashes, counted by the daemon.

At start the daemon leaves a "running" mark in its state directory and removes it on a clean stop.
Finding the mark at the next start means the last run ended without a clean stop (systemd's
watchdog killed it, it crashed, the power went): the count goes up. The count lives in the same
directory, so it survives reboots; the fleet page shows it.

Example::

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> RestartCounter(d).started()
    0
    >>> RestartCounter(d).started()   # the first run never stopped cleanly
    1
"""

from __future__ import annotations

import logging
from pathlib import Path

from .statefile import write_whole

log = logging.getLogger("videokiosk.restarts")


class RestartCounter:
    def __init__(self, state_dir: Path) -> None:
        self._mark = state_dir / "daemon-running"
        self._count_file = state_dir / "unclean-restarts"
        self.count = 0

    def started(self) -> int:
        self.count = self._read()
        try:
            if self._mark.exists():
                self.count += 1
                write_whole(self._count_file, f"{self.count}\n")
                log.warning("the last run did not stop cleanly (watchdog or crash): %d such restarts", self.count)
            self._mark.write_text("running\n")
        except OSError as exc:  # a read-only state directory must not stop the booth
            log.error("restart count not kept: %s", exc.strerror)
        return self.count

    def stopped_cleanly(self) -> None:
        self._mark.unlink(missing_ok=True)

    def _read(self) -> int:
        try:
            return int(self._count_file.read_text().strip() or 0)
        except (OSError, ValueError):
            return 0
