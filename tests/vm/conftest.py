"""Fixtures every VM test module shares."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .proofs import TimeServer, serving_time


@pytest.fixture
def host_clock() -> Iterator[TimeServer | None]:
    """The host's clock for the guest's timesyncd (proofs.HOST_CLOCK): the booth's self-test checks
    it. None when another VM test on this machine already serves it on the port."""
    server = serving_time()
    yield server
    if server is not None:
        server.close()
