"""Wrong guesses slow the guesser down, never everybody: an exponential back-off per key.

A key is whatever a guesser cannot share with an innocent person: a client address, an account
seen from one address, a booth. The first ``free`` failures cost nothing (typos); each further one
doubles the wait, from ``base_s`` up to ``max_s``. A key quiet for ``forget_s`` is forgotten, and
the table never holds more than ``max_keys`` keys (the oldest go first), so a flood of made-up
keys cannot fill the memory.

Example::

    >>> from videokiosk.clock import FakeClock
    >>> b = Backoff(FakeClock(), free=2, base_s=1.0, max_s=8.0)
    >>> for _ in range(4):
    ...     b.failed("203.0.113.7")
    >>> b.wait_s("203.0.113.7"), b.wait_s("198.51.100.1")
    (4.0, 0.0)
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from videokiosk.clock import Clock

# Anything a client may guess (appointment codes and links, enrolment codes): three free tries for
# typos, then 4 s, 8 s, 16 s ... and at most one try a minute. A guesser at one booth or address
# gets about seven tries in the first minute and one a minute after that (a 40-bit code stays out
# of reach for years), while the right code is accepted as soon as the current wait has passed.
GUESS_FREE = 3
GUESS_BASE_S = 4.0
GUESS_MAX_S = 60.0


@dataclass
class _Record:
    count: int
    last: float


class Backoff:
    def __init__(self, clock: Clock, *, free: int, base_s: float = 1.0, max_s: float = 60.0,
                 forget_s: float = 900.0, max_keys: int = 100_000) -> None:
        self._clock = clock
        self.free = free
        self.base_s = base_s
        self.max_s = max_s
        self.forget_s = forget_s
        self.max_keys = max_keys
        self._records: OrderedDict[str, _Record] = OrderedDict()

    @classmethod
    def for_guesses(cls, clock: Clock) -> "Backoff":
        """The back-off of a code or link guesser (per booth or per client address)."""
        return cls(clock, free=GUESS_FREE, base_s=GUESS_BASE_S, max_s=GUESS_MAX_S)

    def delay_s(self, failures: int) -> float:
        """How long a key with this many failures waits after its last one."""
        if failures < self.free:
            return 0.0
        return min(self.max_s, self.base_s * 2 ** (failures - self.free))

    def wait_s(self, key: str) -> float:
        """Seconds until ``key`` may try again (0: now)."""
        record = self._live(key)
        if record is None:
            return 0.0
        return max(0.0, record.last + self.delay_s(record.count) - self._clock.monotonic())

    def failed(self, key: str) -> None:
        record = self._live(key) or _Record(0, 0.0)
        record.count += 1
        record.last = self._clock.monotonic()
        self._records.pop(key, None)
        self._records[key] = record  # newest last: the oldest go first when the table is full
        while len(self._records) > self.max_keys:
            self._records.popitem(last=False)

    def forgive(self, key: str) -> None:
        """Take back one failure (an attempt counted before it was checked turned out right)."""
        record = self._live(key)
        if record is not None:
            record.count -= 1
            if record.count <= 0:
                self._records.pop(key, None)

    def succeeded(self, key: str) -> None:
        self._records.pop(key, None)

    def _live(self, key: str) -> _Record | None:
        record = self._records.get(key)
        if record is not None and self._clock.monotonic() - record.last > self.forget_s:
            self._records.pop(key, None)
            return None
        return record
