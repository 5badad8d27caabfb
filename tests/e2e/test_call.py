"""End to end in the real Chromium: waiting room -> notified -> admit -> frames both ways -> survey."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .harness import TITLE_WAITING, advisor_sees_test_pattern, chromium_fake_camera_frame, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_customer_is_admitted_and_frames_flow_both_ways(stack, advisor_context):
    page = advisor_context.new_page()
    log_in(page, stack.hub_url)
    stack.to_waiting()
    stack.wait_state("waiting")
    row = page.get_by_role("row").filter(has_text="Kiosk 1, Musterstadt")
    expect(row).to_contain_text("ohne Termin")
    expect(page).to_have_title(TITLE_WAITING)
    # The booth shows that the advisor has been informed; no peer connection exists yet.
    stack.wait_informed()
    assert stack.booth.call._pc is None

    row.get_by_role("button", name="Eintreten lassen").click()
    stack.wait_state("call")
    advisor_sees_test_pattern(page)
    stack.wait_booth_frames(5)
    assert chromium_fake_camera_frame(stack.booth.call.last_remote_frame)
    stack.lt.run(stack.booth.speaker.wait_played(48000), 20)  # a second of the advisor's audio
    expect(page.locator("#call-status")).to_have_text("Verbunden")

    page.get_by_role("button", name="Beenden").click()
    stack.wait_state("survey")
    expect(page.locator("#call-status")).to_have_text("Das Gespräch ist beendet.")
    assert stack.booth.call._pc is None
