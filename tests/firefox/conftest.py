from __future__ import annotations

import pytest

from tests.e2e.conftest import stack  # noqa: F401 (fixture: a hub and a real booth daemon with fake hardware)

from .driver import node_with_puppeteer


@pytest.fixture(scope="session")
def firefox_driver() -> str:
    return node_with_puppeteer()
