"""Health bookkeeping shared by every supervised device: a flag and listeners told on change.

Example::

    >>> h = Health("camera")
    >>> seen = []
    >>> unsubscribe = h.subscribe(seen.append)
    >>> h.set(False, "unplugged", "check.camera.unplugged")
    >>> seen[0].healthy
    False
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .base import HealthChange, HealthListener

log = logging.getLogger(__name__)


class Health:
    def __init__(self, device: str, healthy: bool = True) -> None:
        self.device = device
        self.healthy = healthy
        self.last: HealthChange | None = None
        self._listeners: list[HealthListener] = []

    def subscribe(self, listener: HealthListener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def set(self, healthy: bool, detail: str, hint: str) -> None:
        """Record a state; listeners hear only real changes, so a flapping read does not spam."""
        if healthy == self.healthy:
            return
        self.healthy = healthy
        self.last = HealthChange(self.device, healthy, detail, hint)
        log.warning("%s %s: %s", self.device, "recovered" if healthy else "fault", detail)
        for listener in list(self._listeners):
            try:
                listener(self.last)
            except Exception:  # one broken listener must not stop the others hearing of a fault
                log.exception("health listener failed")
