"""A real booth (fake hardware at the edge only) served on a free port, for Chromium to drive."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from appliance.daemon import Booth
from tests.appliance.helpers import booth_config
from tests.support import LoopThread


@dataclass
class RunningBooth:
    booth: Booth
    url: str
    lt: LoopThread

    def run(self, coro, timeout: float = 30.0):
        return self.lt.run(coro, timeout)

    def rows(self, table: str) -> list[dict]:
        async def read():
            return self.booth.store.rows(table)
        return self.run(read())


@pytest.fixture
def start_booth(tmp_path) -> Iterator:
    """Call with UI overrides (e.g. idle_timeout_s=2) and optional Booth kwargs."""
    started: list[RunningBooth] = []
    lt = LoopThread().__enter__()

    def start(ui: dict | None = None, **kwargs) -> RunningBooth:
        async def make():
            booth = Booth(booth_config(tmp_path, **(ui or {})), **kwargs)
            url = await booth.start(port=0)
            return booth, url
        booth, url = lt.run(make())
        running = RunningBooth(booth, url, lt)
        started.append(running)
        return running

    yield start
    for running in started:
        lt.run(running.booth.stop())
    lt.close()
