from __future__ import annotations

import pytest

from .harness import Stack


@pytest.fixture
def stack(loop_thread, tmp_path, request):
    """Hub + one booth; ``@pytest.mark.stack(reconnect_timeout_s=..., booths=...)`` tunes it."""
    marker = request.node.get_closest_marker("stack")
    s = Stack(loop_thread, tmp_path, **(marker.kwargs if marker else {}))
    yield s
    s.close()


def pytest_configure(config):
    config.addinivalue_line("markers", "stack(**kwargs): options for the e2e Stack fixture")
