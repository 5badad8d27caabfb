"""One rule for everything a client may guess (enrolment codes, appointment codes): a few
wrong tries per client within a window, then a pause.

Example::

    >>> from videokiosk.clock import FakeClock
    >>> limit = FailureLimit(2, 60.0, FakeClock())
    >>> limit.failed("booth:a"); limit.failed("booth:a")
    >>> limit.blocked("booth:a"), limit.blocked("booth:b")
    (True, False)
"""

from __future__ import annotations

from videokiosk.clock import Clock


class FailureLimit:
    """Wrong guesses per client within a window: enough for typos, far too few for guessing."""

    def __init__(self, limit: int, window_s: float, clock: Clock) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[str, list[float]] = {}

    def _recent(self, client: str) -> list[float]:
        cutoff = self._clock.monotonic() - self.window_s
        recent = [t for t in self._failures.get(client, []) if t > cutoff]
        if recent:
            self._failures[client] = recent
        else:
            self._failures.pop(client, None)  # the table cannot grow without bound
        return recent

    def blocked(self, client: str) -> bool:
        return len(self._recent(client)) >= self.limit

    def failed(self, client: str) -> None:
        self._failures.setdefault(client, []).append(self._clock.monotonic())
