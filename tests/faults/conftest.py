"""Fixtures shared by the fault tests."""

from __future__ import annotations

import pytest

from .servers import RedisServer


@pytest.fixture
def redis_server(tmp_path):
    """A real ``redis-server`` of this test's own (tests/faults/servers.py)."""
    with RedisServer(tmp_path) as server:
        yield server
