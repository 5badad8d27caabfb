"""Screen sharing in real Chromium (issue 9): the advisor shares (Chromium's fake capture answers
getDisplayMedia), sees "Sie teilen Ihren Bildschirm" and a preview; the booth decodes the shared
screen and its kiosk page shows it large as a second live video next to the advisor's camera; when
sharing stops the page is back to one video from the advisor."""

from __future__ import annotations


import pytest
from playwright.sync_api import expect

from .chat_helpers import booth_chat, into_call

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_advisor_shares_screen_and_stops(stack, advisor_context, kiosk_context):
    advisor = advisor_context.new_page()
    kiosk = kiosk_context.new_page()
    into_call(stack, advisor, kiosk)
    screen = booth_chat(stack).screen
    expect(kiosk.locator("#screen-view")).to_be_hidden()

    # The booth never shares its own screen: its page may not even ask (Permissions-Policy).
    refused = kiosk.evaluate("""() => navigator.mediaDevices.getDisplayMedia({video: true})
        .then((s) => { s.getTracks().forEach((t) => t.stop()); return 'shared'; }, (e) => e.name)""")
    assert refused == "NotAllowedError"

    advisor.get_by_role("button", name="Bildschirm teilen").click()
    expect(advisor.get_by_text("Sie teilen Ihren Bildschirm")).to_be_visible()
    expect(advisor.locator("#share-preview")).to_have_js_property("readyState", 4, timeout=15000)
    stack.lt.run(_frames(screen, 5), 25)  # the booth decodes the shared screen

    live = kiosk.locator("#call-view video[data-live='true']:not(#self-view-call)")
    expect(kiosk.locator("#screen-view")).to_be_visible()
    expect(kiosk.locator("#screen-view")).to_have_attribute("data-live", "true", timeout=20000)
    expect(live).to_have_count(2)  # the shared screen and the advisor's camera
    expect(kiosk.locator("#call-view")).to_have_class("call-view sharing")
    # Large: the shared screen is wider on the kiosk than the advisor's camera now is.
    assert kiosk.locator("#screen-view").bounding_box()["width"] > 2 * kiosk.locator("#remote-view").bounding_box()["width"]
    # Frames keep coming: the page's playback of the shared screen advances.
    first = kiosk.locator("#screen-view").evaluate("v => v.currentTime")
    kiosk.wait_for_function(f"() => document.getElementById('screen-view').currentTime > {first}", timeout=15000)

    advisor.get_by_role("button", name="Teilen beenden").click()
    expect(advisor.get_by_text("Sie teilen Ihren Bildschirm")).to_be_hidden()
    expect(kiosk.locator("#screen-view")).to_be_hidden()
    expect(live).to_have_count(1)
    expect(kiosk.locator("#remote-view")).to_have_attribute("data-live", "true")
    expect(kiosk.locator("#call-view")).to_have_class("call-view")
    assert not screen.sharing
    # The booth only ever receives a screen: its extra transceiver is receive-only, as negotiated.
    assert screen._transceiver.currentDirection == "recvonly"
    assert "a=recvonly" in stack.booth.call._pc.localDescription.sdp

    advisor.get_by_role("button", name="Beenden").click()
    expect(kiosk.get_by_role("heading", name="Kurze Umfrage")).to_be_visible()


async def _frames(screen, count: int) -> None:
    start = screen.frames
    while screen.frames < start + count:
        screen.frame_arrived.clear()
        await screen.frame_arrived.wait()

