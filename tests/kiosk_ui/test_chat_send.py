"""The booth's "Senden" is never swallowed (issue 19): while the new-message notice shows, a tap or
a click on "Senden" sends the line. The notice goes away at the first touch of the chat; it used
to move the form between press and release, so the release landed beside the button. Real
Chromium and the booth's own page; the daemon's socket is a stand-in that records what the page
sends (app.js takes its socket from window.vkTransport, as the home page does)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from .test_journey import texts

pytestmark = pytest.mark.browser

# The daemon, as far as the chat is concerned: the call screen (with the session's ``access``
# settings, if any), then whatever the test emits.
def stand_in(access: dict | None = None) -> str:
    state = {"state": "call", "language": "de", "languages": ["de"], "still_there": None, "self_view": False,
             "call": {"call_id": "c1", "muted": False}, **({"access": access} if access is not None else {})}
    return """(() => {
  class Daemon extends EventTarget {
    constructor() {
      super();
      this.readyState = WebSocket.OPEN;
      this.sent = [];
      setTimeout(() => this.emit({ type: "state", state: %s }), 0);
    }
    send(text) { this.sent.push(JSON.parse(text)); }
    emit(message) { this.dispatchEvent(new MessageEvent("message", { data: JSON.stringify(message) })); }
  }
  window.vkTransport = () => window.vkDaemon || (window.vkDaemon = new Daemon());
})()""" % json.dumps(state)


STAND_IN = stand_in()


def advisor_line(page: Page, text: str) -> None:
    page.evaluate("(text) => window.vkDaemon.emit({ type: 'chat', line: { sender: 'advisor', text, links: [] } })", text)


@pytest.mark.parametrize("touch", [False, True], ids=["mouse", "touch"])
def test_senden_sends_while_the_new_message_notice_shows(browser, start_booth, touch):
    booth = start_booth()
    context = browser.new_context(viewport={"width": 1280, "height": 800}, has_touch=touch, permissions=[])
    try:
        page = context.new_page()
        page.add_init_script(STAND_IN)
        page.goto(booth.url)
        page.get_by_role("button", name=texts("de")["access"]["keyboard"]).click()  # opened on demand (issue 18)
        board = page.locator("#chat-keyboard")
        for key in "hallo":  # the customer types on the page's keyboard ...
            board.get_by_role("button", name=key, exact=True).click()
        expect(page.locator("#chat-input")).to_have_value("hallo")
        advisor_line(page, "Guten Tag!")  # ... the advisor's line arrives, with its notice ...
        notice = page.locator("#chat-new")
        expect(notice).to_have_text(texts("de")["chat"]["new"])
        send = page.locator("#chat-form").get_by_role("button", name="Senden")
        send.tap() if touch else send.click()  # ... and "Senden", while the notice shows
        page.wait_for_function("() => window.vkDaemon.sent.some((m) => m.type === 'chat')", timeout=10_000)
        assert [m for m in page.evaluate("window.vkDaemon.sent") if m["type"] == "chat"] == [{"type": "chat", "text": "hallo"}]
        expect(notice).to_be_hidden()  # seen: the touch on the chat took it away
        expect(page.locator("#chat-input")).to_have_value("")
    finally:
        context.close()
