"""End to end in the real Chromium: the kiosk journey to the waiting room, the advisor is notified
and admits, real frames flow both ways, the advisor ends the call and the booth shows the survey."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .harness import TITLE_WAITING, chromium_fake_camera_frame, kiosk_to_waiting, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_customer_is_admitted_and_frames_flow_both_ways(stack, advisor_context, kiosk_context):
    advisor = advisor_context.new_page()
    log_in(advisor, stack.hub_url)

    kiosk = kiosk_context.new_page()
    kiosk_to_waiting(kiosk, stack.booth.url)

    row = advisor.get_by_role("row").filter(has_text="Kiosk 1, Musterstadt")
    expect(row).to_contain_text("ohne Termin")
    expect(row).to_contain_text("DE")
    expect(advisor).to_have_title(TITLE_WAITING)
    expect(kiosk.get_by_text("Ihr Berater / Ihre Beraterin wurde informiert")).to_be_visible()
    assert stack.booth.call._pc is None  # nothing transmitted in the waiting room

    row.get_by_role("button", name="Eintreten lassen").click()
    stack.wait_state("call")
    stack.advisor_sees_booth(advisor)
    stack.wait_booth_frames(5)
    assert chromium_fake_camera_frame(stack.booth.call.last_remote_frame)
    stack.lt.run(stack.booth.speaker.wait_played(48000), 20)  # a second of the advisor's audio
    expect(advisor.locator("#call-status")).to_have_text("Verbunden")
    expect(kiosk.locator("#remote-view")).to_have_attribute("data-live", "true", timeout=20000)
    # The advisor's frames reach the kiosk still encoded (rtc/forward.py), and its Chromium decodes
    # and paints them one after another (a broken stream would stop at the first delta frame).
    kiosk.wait_for_function("() => document.querySelector('#remote-view').getVideoPlaybackQuality().totalVideoFrames >= 30",
                            timeout=30000)
    assert stack.booth.daemon.loopback.forwarded_frames() >= 30

    advisor.get_by_role("button", name="Beenden").click()
    expect(kiosk.get_by_role("heading", name="Kurze Umfrage")).to_be_visible()
    expect(advisor.locator("#call-status")).to_have_text("Das Gespräch ist beendet.")
    assert stack.booth.call._pc is None
