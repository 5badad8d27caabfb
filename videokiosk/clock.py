"""Injected time. Tests move a :class:`FakeClock` instead of sleeping.

Example::

    >>> clock = FakeClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    >>> clock.advance(timedelta(days=14)).isoformat()
    '2026-01-15T00:00:00+00:00'
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC wall time, for expiries and stored timestamps."""

    def monotonic(self) -> float:
        """Seconds for measuring durations; never goes backwards."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, 8, 0, tzinfo=timezone.utc)
        self._mono = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        self._mono += delta.total_seconds()
        return self._now
