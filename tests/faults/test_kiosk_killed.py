"""The kiosk's Chromium is SIGKILLed mid-session (a crash, the OOM killer): the booth daemon does
not notice beyond a closed socket, and a freshly started browser shows the session where it was."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest
from playwright.sync_api import expect

from hub.app import HubParts, make_app
from hub.config import HubConfig
from tests.conftest import CHROMIUM, CHROMIUM_ARGS

from .advisor import AdvisorPeer
from .booth import start_booth
from .servers import free_port, wait_for_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PASSWORD = "s3cret-pass-12"
INFORMED = "Ihr Berater / Ihre Beraterin wurde informiert, dass Sie sich im virtuellen Wartebereich befinden."


class KioskBrowser:
    """Chromium as its own process group (so the test can kill it like a crash), driven over CDP."""

    def __init__(self, driver, profile) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [str(CHROMIUM), "--headless=new", f"--remote-debugging-port={self.port}", "--remote-debugging-address=127.0.0.1",
             f"--user-data-dir={profile}", *CHROMIUM_ARGS, "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for_port(self.port, timeout_s=30, proc=self.proc)
        self.browser = driver.chromium.connect_over_cdp(f"http://127.0.0.1:{self.port}")
        self.page = self.browser.contexts[0].new_page()

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)  # the whole browser, renderers included
        self.proc.wait(10)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.kill()


def test_kiosk_browser_killed_mid_session_comes_back_in_the_same_state(loop_thread, playwright_driver, tmp_path):
    lt = loop_thread
    parts = HubParts.open(HubConfig.model_validate({"store": {"path": str(tmp_path / "hub.db")}}))
    parts.users.add_user("anna", PASSWORD)
    token = parts.registry.create_booth("booth-1", "Kiosk 1", "Musterstadt")
    hub_url = lt.serve(make_app(parts))
    booth = lt.run(start_booth(hub_url, token, tmp_path))
    advisor = lt.run(AdvisorPeer.log_in(hub_url, "anna", PASSWORD))
    first = second = None
    try:
        first = KioskBrowser(playwright_driver, tmp_path / "profile-1")
        page = first.page
        page.goto(booth.ui_url)
        page.get_by_role("button", name="Videoberatung starten").click()
        page.get_by_role("button", name="Ich stimme zu").click()
        weiter = page.get_by_role("button", name="Weiter")
        expect(weiter).to_be_enabled(timeout=30000)
        weiter.click()
        expect(page.get_by_role("heading", name="Sie befinden sich im virtuellen Wartebereich")).to_be_visible()
        entry = lt.run(advisor.next_waiting())
        lt.run(advisor.send({"type": "seen", "session_id": entry["session_id"]}))
        expect(page.get_by_text(INFORMED)).to_be_visible()

        first.kill()
        assert booth.session.state == "waiting"  # the daemon carries on; the customer still waits

        second = KioskBrowser(playwright_driver, tmp_path / "profile-2")
        second.page.goto(booth.ui_url)
        expect(second.page.get_by_role("heading", name="Sie befinden sich im virtuellen Wartebereich")).to_be_visible()
        expect(second.page.get_by_text(INFORMED)).to_be_visible()
        assert booth.session.session_id == entry["session_id"]  # the same session, not a new one
        second.page.get_by_role("button", name="Abbrechen").click()  # and it still takes touches
        expect(second.page.get_by_role("button", name="Videoberatung starten")).to_be_visible()
    finally:
        for b in (first, second):
            if b is not None:
                b.close()
        lt.run(advisor.close())
        lt.run(booth.stop())
