"""The clock of a live source: item n is released at start + n * interval, never earlier.

A real camera delivers frames at its frame rate; the synthetic sources must too, or aiortc would
encode as fast as the CPU allows. Sleeping here is pacing a source, not waiting for a condition.

Example::

    pacer = Pacer(1 / 25)
    await pacer.wait()   # returns at once for the first frame, then every 40 ms
"""

from __future__ import annotations

import asyncio
import time


class Pacer:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.count = 0
        self._start: float | None = None

    async def wait(self) -> int:
        """Wait until the next item is due; returns its index (0, 1, 2, ...)."""
        now = time.monotonic()
        if self._start is None:
            self._start = now
        delay = self._start + self.count * self.interval - now
        if delay > 0:
            await asyncio.sleep(delay)
        index, self.count = self.count, self.count + 1
        return index
