"""What the kiosk page says when something fails, and what it must not say or hide.

The page's socket to the daemon runs through Playwright's WebSocket route: the test speaks as the
page to the real daemon (an offer the page would send, a broken frame) and lets the daemon's real
replies through, so the page reacts to what a booth actually answers.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from tests.appliance.helpers import CannedChecks
from tests.kiosk_ui.screens import covered_buttons
from tests.kiosk_ui.test_journey import texts, to_the_survey

pytestmark = pytest.mark.browser
GERMAN = texts("de")


class DaemonLine:
    """The page's socket, routed: what the page and the daemon say passes through unchanged.

    After each error the daemon sends, a marker follows to the page (a microphone level no booth
    sends after its check): the page handles messages in order, so once the marker shows, the
    page has handled the error."""

    MARK = 0.42

    def __init__(self, page: Page) -> None:
        self.page = page
        self.page_side = self.daemon_side = None
        self.errors: list[dict] = []
        page.route_web_socket(re.compile(r"/ws$"), self._route)

    def _route(self, ws) -> None:
        self.page_side, self.daemon_side = ws, ws.connect_to_server()
        self.daemon_side.on_message(self._to_page)

    def _to_page(self, message: str | bytes) -> None:
        self.page_side.send(message)
        reply = json.loads(message)
        if reply.get("type") == "error":
            self.errors.append(reply)
            self.page_side.send(json.dumps({"type": "mic_level", "level": self.MARK}))

    def as_the_page(self, message: str | bytes) -> dict:
        """Sends ``message`` to the daemon as the page would; returns the daemon's error reply
        once the page has handled it."""
        meter = self.page.locator("#mic-meter")
        meter.evaluate("(meter) => { meter.value = 0; }")
        self.daemon_side.send(message)
        expect(meter).to_have_js_property("value", self.MARK)
        return self.errors[-1]


def test_an_offer_that_crossed_the_end_of_the_call_says_nothing_and_the_withdrawal_stays_at_hand(kiosk_context, start_booth):
    """Stop 28's CI: the page's video offer reached the daemon after the advisor had ended the call;
    the daemon's refusal showed "Das hat nicht geklappt" on the survey, and the box lay over
    "Einwilligung widerrufen" (Playwright: the alert intercepts pointer events) for 30 s."""
    booth = start_booth(checks=CannedChecks("pass"))
    page = kiosk_context.new_page()
    line = DaemonLine(page)
    page.goto(booth.url)
    to_the_survey(page, booth)
    refusal = line.as_the_page(json.dumps({"type": "offer", "sdp": "v=0\r\n"}))  # the late offer
    assert refusal["code"] == "no_video", refusal
    expect(page.get_by_role("alert")).to_be_hidden()
    assert covered_buttons(page) == []
    page.get_by_role("button", name="Einwilligung widerrufen").click()
    expect(page.get_by_role("alertdialog", name="Einwilligung widerrufen?")).to_be_visible()


def test_an_error_the_customer_is_told_covers_no_button(kiosk_context, start_booth):
    booth = start_booth(checks=CannedChecks("pass"))
    page = kiosk_context.new_page()
    line = DaemonLine(page)
    page.goto(booth.url)
    to_the_survey(page, booth)
    assert line.as_the_page(b"\x00\x01")["code"] == "malformed"  # a frame the daemon cannot read
    expect(page.get_by_role("alert")).to_have_text(GERMAN["common"]["error"])
    assert covered_buttons(page) == []
    page.get_by_role("button", name="Einwilligung widerrufen").click(timeout=5_000)
    page.get_by_role("button", name="Ja, widerrufen").click(timeout=5_000)
    expect(page.get_by_role("button", name="Videoberatung starten")).to_be_visible()
    assert booth.rows("consents") == []
