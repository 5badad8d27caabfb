"""Fixtures shared by every test package: the real Debian Chromium, driven by Playwright."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import LoopThread

CHROMIUM = Path("/usr/bin/chromium")
# Fake devices for the advisor's browser; no network beyond loopback; as root Chromium needs
# --no-sandbox. The booth's own kiosk page never gets camera or mic (see kiosk_context).
CHROMIUM_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
if os.geteuid() == 0:
    CHROMIUM_ARGS.append("--no-sandbox")


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver):
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing at /usr/bin/chromium: run `make test`, which installs it")
    b = playwright_driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
    yield b
    b.close()


@pytest.fixture
def kiosk_context(browser):
    """A browser context like the booth's kiosk: no camera or microphone permission at all."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, permissions=[])
    yield ctx
    ctx.close()


@pytest.fixture
def advisor_context(browser):
    """A browser context like an advisor's desk: camera and microphone granted (fake devices)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, permissions=["camera", "microphone"])
    yield ctx
    ctx.close()


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    with LoopThread() as lt:
        yield lt


# How much a test file weighs when the suite is shared between processes (scripts/run-tests): a
# rough cost per test, so both shares carry some browser and some slow tests and end together.
SHARD_WEIGHT = {"browser": 10, "slow": 20, "plain": 1}


def pytest_addoption(parser):
    parser.addoption("--shard", default=None, metavar="I/N",
                     help="run only the I-th of N shares of the test files (make test runs 2 side by side)")


def _uses_browser(item) -> bool:
    return bool({"browser", "playwright_driver"} & set(getattr(item, "fixturenames", ())))


def _weight(item) -> int:
    if item.get_closest_marker("slow") is not None:
        return SHARD_WEIGHT["slow"]
    return SHARD_WEIGHT["browser" if _uses_browser(item) else "plain"]


def _my_share(config, items) -> list:
    """The files of shard I of N: whole files (their module fixtures, servers and cached roots stay in
    one process), the heaviest first onto the lightest share, the same split in every process."""
    index, count = (int(part) for part in config.getoption("shard").split("/"))
    file_of = lambda item: item.nodeid.split("::")[0]
    files: dict[str, int] = {}
    for item in items:
        files[file_of(item)] = files.get(file_of(item), 0) + _weight(item)
    loads, owner = [0] * count, {}
    for name, weight in sorted(files.items(), key=lambda kv: (-kv[1], kv[0])):
        share = loads.index(min(loads))
        owner[name], loads[share] = share, loads[share] + weight
    return [item for item in items if owner[file_of(item)] == index - 1]


def pytest_collection_modifyitems(config, items):
    """Browser tests run last. Once the session's sync Playwright is up, it owns an event loop in
    the main thread, and pytest-asyncio tests collected after it fail ("Runner.run() cannot be
    called from a running event loop"); async tests never use the browser, so order fixes it."""
    if config.getoption("shard"):
        mine = _my_share(config, items)
        kept = set(mine)
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = mine
    items.sort(key=_uses_browser)  # stable: keeps the order within each group


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A UDP port that swallows everything: what a firewalled STUN server looks like."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture(scope="session")
def postgres_server():
    """One throwaway PostgreSQL cluster for the whole run (tests/faults/servers.py)."""
    from tests.faults.servers import PostgresServer

    with PostgresServer() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A fresh database of its own for each test."""
    return postgres_server.new_database()


@pytest.fixture(params=["sqlite", "postgres"])
def hub_database(request, tmp_path) -> str:
    """Where a hub test keeps its durable state, once per backend: a SQLite file, a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "hub.db")
    return request.getfixturevalue("postgres_url")
