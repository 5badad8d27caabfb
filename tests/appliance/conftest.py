"""Shared fixtures for the booth tests: a frozen clock and a real SQLite store file."""

from __future__ import annotations

import pytest

from appliance.store import BoothStore
from videokiosk.clock import FakeClock


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def store(tmp_path, clock):
    s = BoothStore(tmp_path / "booth.db", clock=clock)
    yield s
    s.close()
