"""Races and failures with real parts: two advisors admitting at once, a booth losing its network."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .harness import kiosk_to_waiting, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Both consoles click "Eintreten lassen" at the same wall-clock moment, as two people might.
CLICK_AT = """(at) => {
  const button = document.querySelector('button.admit');
  setTimeout(() => button.click(), Math.max(0, at - Date.now()));
}"""


def test_two_advisors_admit_at_once_exactly_one_wins(stack, browser, advisor_context):
    other_context = browser.new_context(permissions=["camera", "microphone"])
    try:
        anna, ben = advisor_context.new_page(), other_context.new_page()
        log_in(anna, stack.hub_url, "anna")
        log_in(ben, stack.hub_url, "ben")
        stack.to_waiting()
        for page in (anna, ben):
            expect(page.get_by_role("button", name="Eintreten lassen")).to_be_visible()
        at = anna.evaluate("Date.now()") + 500
        anna.evaluate(CLICK_AT, at)
        ben.evaluate(CLICK_AT, at)
        stack.wait_state("call")
        taken = "Eine Kollegin oder ein Kollege hat diese Person bereits eintreten lassen."
        for page in (anna, ben):  # each console ends up either in the call or told it lost
            page.wait_for_function("() => !document.getElementById('call').hidden || document.getElementById('notice').textContent !== ''")
        winners = [p for p in (anna, ben) if p.locator("#call").is_visible()]
        losers = [p for p in (anna, ben) if p.get_by_text(taken).is_visible()]
        assert len(winners) == 1 and len(losers) == 1
        stack.advisor_sees_booth(winners[0])
        expect(losers[0].locator("#call")).to_be_hidden()
    finally:
        other_context.close()


def _admitted_call(stack, page):
    log_in(page, stack.hub_url)
    stack.to_waiting()
    page.get_by_role("button", name="Eintreten lassen").click()
    stack.wait_state("call")
    stack.advisor_sees_booth(page)
    stack.wait_booth_frames(3)
    stack.advisor_connected(page)


def test_booth_dropping_mid_call_rejoins_as_the_same_customer(stack, advisor_context):
    page = advisor_context.new_page()
    _admitted_call(stack, page)
    first_pc = stack.booth.call._pc
    link = stack.booth.link
    link.backoff_s = (2.0, 2.0)  # stay away long enough for a person (and the test) to see it
    stack.lt.run(link.drop())
    expect(page.locator("#call-status")).to_have_text("Verbindung wird wiederhergestellt …")
    expect(page.get_by_text("Niemand wartet.")).to_be_visible()  # not a new stranger in the queue
    stack.advisor_connected(page)
    assert stack.booth.session.state == "call"
    assert stack.booth.call._pc is not first_pc  # a fresh peer connection for the same call
    stack.wait_booth_frames(5)
    stack.advisor_sees_booth(page)
    page.get_by_role("button", name="Beenden").click()
    stack.wait_state("survey")


@pytest.mark.stack(reconnect_timeout_s=2.0)
def test_call_not_restored_in_time_ends_cleanly_for_both(stack, advisor_context):
    page = advisor_context.new_page()
    _admitted_call(stack, page)
    link = stack.booth.link
    link.backoff_s = (30.0, 30.0)  # the network stays down
    stack.lt.run(link.drop())
    expect(page.locator("#call-status")).to_have_text("Verbindung wird wiederhergestellt …")
    stack.wait_state("survey", timeout=20)
    expect(page.locator("#call-status")).to_have_text(
        "Die Verbindung konnte nicht wiederhergestellt werden. Das Gespräch ist beendet.", timeout=20000)
    assert stack.booth.call._pc is None


def test_advisor_reloading_the_console_mid_call_gets_the_customer_back(stack, advisor_context):
    page = advisor_context.new_page()
    _admitted_call(stack, page)
    first_pc = stack.booth.call._pc
    page.reload()
    stack.advisor_connected(page)
    stack.advisor_sees_booth(page)
    assert stack.booth.session.state == "call" and stack.booth.call._pc is not first_pc
    stack.wait_booth_frames(5)
    page.get_by_role("button", name="Beenden").click()
    stack.wait_state("survey")


REMOTE_FRAMES = "() => document.querySelector('#remote-view').getVideoPlaybackQuality().totalVideoFrames"


@pytest.mark.parametrize("forward", [
    pytest.param(True, marks=pytest.mark.stack(hardware={"forward_encoded_video": True}), id="forwarded"),
    pytest.param(False, marks=pytest.mark.stack(hardware={"forward_encoded_video": False}), id="re-encoded"),
])
def test_the_kiosk_keeps_showing_the_advisor_after_the_console_reloads(stack, advisor_context, kiosk_context, forward):
    # The booth offers a new peer connection: the advisor's old track ends, and the kiosk's sender
    # for that picture used to end with it (the kiosk showed the advisor frozen; rtc/slottrack.py).
    advisor = advisor_context.new_page()
    log_in(advisor, stack.hub_url)
    kiosk = kiosk_context.new_page()
    kiosk_to_waiting(kiosk, stack.booth.url)
    advisor.get_by_role("row").filter(has_text="Kiosk 1").get_by_role("button", name="Eintreten lassen").click()
    stack.wait_state("call")
    kiosk.wait_for_function(f"() => ({REMOTE_FRAMES})() >= 20", timeout=30000)
    advisor.reload()
    stack.advisor_connected(advisor)
    stack.advisor_sees_booth(advisor)
    shown = kiosk.evaluate(REMOTE_FRAMES)
    kiosk.wait_for_function(f"() => ({REMOTE_FRAMES})() >= {shown + 30}", timeout=30000)
    assert (stack.booth.daemon.loopback.forwarded_frames() is not None) is forward
