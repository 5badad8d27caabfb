"""Fixtures shared by every test package: the real Debian Chromium, driven by Playwright."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import LoopThread

# Test order (browser tests last) and sharing the suite between processes: tests/sharing.py.
pytest_plugins = ["tests.sharing"]

CHROMIUM = Path("/usr/bin/chromium")
EXPECT_TIMEOUT_MS = 15_000
# Chromium's start, until Playwright has it: Playwright's 30 s is the same margin that puppeteer's
# Firefox start ran out of in stop 28's CI, while the suite's two qemu VMs held both cores.
LAUNCH_TIMEOUT_MS = 120_000
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


def launch_chromium(playwright_driver, args: list[str] = CHROMIUM_ARGS):
    """Debian's Chromium, headless, given ``LAUNCH_TIMEOUT_MS`` to start."""
    return playwright_driver.chromium.launch(executable_path=str(CHROMIUM), args=args, headless=True,
                                             timeout=LAUNCH_TIMEOUT_MS)


@pytest.fixture(scope="session")
def browser(playwright_driver):
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing at /usr/bin/chromium: run `make test`, which installs it")
    from playwright.sync_api import expect

    # A busy 2-core machine (CI runs two shares of the suite at once) can take longer than
    # Playwright's 5 s for a page to react; what a test waits for stays an event, never a sleep.
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    b = launch_chromium(playwright_driver)
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


BACKENDS = ("sqlite", "postgres")


def pytest_generate_tests(metafunc):
    """Every test that keeps hub state through ``hub_database`` (directly, or through the hub fixtures
    of tests/hub/conftest.py) runs once per backend, so neither falls behind (issue 21). Browser
    tests run on SQLite only: they are the slow part of the suite, and what the page does is the
    same whichever database the hub writes to (the HTTP and socket tests beneath it run on both)."""
    if "hub_database" not in metafunc.fixturenames:
        return
    in_browser = {"browser", "playwright_driver"} & set(metafunc.fixturenames) or metafunc.definition.get_closest_marker("browser")
    metafunc.parametrize("hub_database", BACKENDS[:1] if in_browser else BACKENDS, indirect=True)


@pytest.fixture
def hub_database(request, tmp_path) -> str:
    """Where a hub test keeps its durable state: a SQLite file, or a fresh PostgreSQL database's URL."""
    if request.param == "sqlite":
        return str(tmp_path / "hub.db")
    return request.getfixturevalue("postgres_url")
