"""Wrong guesses slow the guesser down, never everybody: an exponential back-off per key.

A key is whatever a guesser cannot share with an innocent person: a client address, an account
seen from one address, a booth. The first ``free`` failures cost nothing (typos); each further one
doubles the wait, from ``base_s`` up to ``max_s``. A key quiet for ``forget_s`` is forgotten, and
the table never holds more than ``max_keys`` keys (the oldest go first), so a flood of made-up
keys cannot fill the memory.

Where the failures are kept is the hub's choice (``make_app``): :class:`MemoryFailures`, this
process's memory (one hub), or Redis (hub/backoff_redis.py) when several hubs share a Redis, so a
guesser spreading tries over the hubs behind a balancer waits as if on one. The numbers stay here
and with the callers; a store only counts failures per key and says how long ago the last was.

Example::

    >>> from videokiosk.clock import FakeClock
    >>> b = Backoff(MemoryFailures(FakeClock()), "demo", free=2, base_s=1.0, max_s=8.0)
    >>> for _ in range(4):
    ...     b.failed("203.0.113.7")
    >>> b.wait_s("203.0.113.7"), b.wait_s("198.51.100.1")
    (4.0, 0.0)
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from videokiosk.clock import Clock

# Anything a client may guess (appointment codes and links, enrolment codes): three free tries for
# typos, then 4 s, 8 s, 16 s ... and at most one try a minute. A guesser at one booth or address
# gets about seven tries in the first minute and one a minute after that (a 40-bit code stays out
# of reach for years), while the right code is accepted as soon as the current wait has passed.
GUESS_FREE = 3
GUESS_BASE_S = 4.0
GUESS_MAX_S = 60.0


class FailureTable(Protocol):
    """One back-off's failures by key. A key quiet for ``forget_s`` is forgotten."""

    def get(self, key: str) -> tuple[int, float] | None:
        """How many failures, and seconds since the last; None for a key without (or forgotten)."""

    def add(self, key: str) -> None: ...

    def take_back(self, key: str) -> None:
        """One failure less (none left: the key is forgotten)."""

    def clear(self, key: str) -> None: ...


class Failures(Protocol):
    """Where back-offs keep their failures; ``name`` keeps one back-off's keys apart from another's."""

    def table(self, name: str, *, forget_s: float, max_keys: int) -> FailureTable: ...

    def close(self) -> None:
        """At the hub's end (Redis: its connection)."""


@dataclass
class _Record:
    count: int
    last: float


class _MemoryTable:
    def __init__(self, clock: Clock, forget_s: float, max_keys: int) -> None:
        self._clock = clock
        self._forget_s = forget_s
        self._max_keys = max_keys
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def get(self, key: str) -> tuple[int, float] | None:
        record = self._live(key)
        return None if record is None else (record.count, self._clock.monotonic() - record.last)

    def add(self, key: str) -> None:
        record = self._live(key) or _Record(0, 0.0)
        record.count += 1
        record.last = self._clock.monotonic()
        self._records.pop(key, None)
        self._records[key] = record  # newest last: the oldest go first when the table is full
        while len(self._records) > self._max_keys:
            self._records.popitem(last=False)

    def take_back(self, key: str) -> None:
        record = self._live(key)
        if record is not None:
            record.count -= 1
            if record.count <= 0:
                self._records.pop(key, None)

    def clear(self, key: str) -> None:
        self._records.pop(key, None)

    def _live(self, key: str) -> _Record | None:
        record = self._records.get(key)
        if record is not None and self._clock.monotonic() - record.last > self._forget_s:
            self._records.pop(key, None)
            return None
        return record


class MemoryFailures:
    """Failures in this process's memory: the back-offs of one hub (the embedded default)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._tables: dict[str, _MemoryTable] = {}

    def table(self, name: str, *, forget_s: float, max_keys: int) -> FailureTable:
        """One table per name, as in Redis: back-offs of one name count together."""
        if name not in self._tables:
            self._tables[name] = _MemoryTable(self._clock, forget_s, max_keys)
        return self._tables[name]

    def close(self) -> None:
        """Nothing to let go: the tables go with the process."""


class Backoff:
    def __init__(self, failures: Failures, name: str, *, free: int, base_s: float = 1.0, max_s: float = 60.0,
                 forget_s: float = 900.0, max_keys: int = 100_000) -> None:
        self.free = free
        self.base_s = base_s
        self.max_s = max_s
        self._table = failures.table(name, forget_s=forget_s, max_keys=max_keys)

    @classmethod
    def for_guesses(cls, failures: Failures, name: str) -> "Backoff":
        """The back-off of a code or link guesser (per booth or per client address)."""
        return cls(failures, name, free=GUESS_FREE, base_s=GUESS_BASE_S, max_s=GUESS_MAX_S)

    def delay_s(self, failures: int) -> float:
        """How long a key with this many failures waits after its last one."""
        if failures < self.free:
            return 0.0
        return min(self.max_s, self.base_s * 2 ** (failures - self.free))

    def wait_s(self, key: str) -> float:
        """Seconds until ``key`` may try again (0: now)."""
        found = self._table.get(key)
        if found is None:
            return 0.0
        count, since_s = found
        return max(0.0, self.delay_s(count) - since_s)

    def failed(self, key: str) -> None:
        self._table.add(key)

    def forgive(self, key: str) -> None:
        """Take back one failure (an attempt counted before it was checked turned out right)."""
        self._table.take_back(key)

    def succeeded(self, key: str) -> None:
        self._table.clear(key)
