"""The call screen for customers who lip-read or sign: the advisor's face gets the most room, the
chat's on-screen keyboard opens only on demand, a sign-language interpreter (DGS) is shown as
large as the advisor."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.appliance.helpers import CannedChecks

pytestmark = pytest.mark.browser

AREAS = """() => {
  const area = (el) => { const r = el.getBoundingClientRect(); return Math.round(r.width * r.height); };
  const parts = ["#remote-view", "#chat", "#chat-keys-panel", "#self-view-call", "[data-screen=call] .actions"];
  return Object.fromEntries(parts.map((s) => [s, area(document.querySelector(s))]));
}"""


@pytest.fixture
def in_call(kiosk_context, start_booth):
    booth = start_booth(checks=CannedChecks("pass"))
    session = booth.booth.session
    for event, data in [("start", {}), ("accept", {})]:
        booth.run(session.handle(event, **data))
    page = kiosk_context.new_page()
    page.goto(booth.url)
    expect(page.locator("#continue")).to_be_enabled(timeout=20_000)
    booth.run(session.handle("continue"))
    booth.run(session.handle("admitted", call_id="c-layout"))
    expect(page.locator('[data-screen="call"]')).to_be_visible()
    return booth, page


def test_the_advisor_gets_the_most_room_and_the_keyboard_opens_on_demand(in_call):
    _, page = in_call
    keys = page.get_by_role("button", name="Tastatur öffnen")
    expect(keys).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#chat-keyboard")).to_be_hidden()
    areas = page.evaluate(AREAS)
    assert areas["#remote-view"] == max(areas.values()), areas
    keys.click()
    expect(page.locator("#chat-keyboard")).to_be_visible()
    expect(page.get_by_role("button", name="Tastatur schließen")).to_have_attribute("aria-expanded", "true")
    assert page.evaluate(AREAS)["#remote-view"] == areas["#remote-view"]  # the video keeps its size
    page.get_by_role("button", name="Tastatur schließen").click()
    expect(page.locator("#chat-keyboard")).to_be_hidden()


def test_a_sign_language_interpreter_is_shown_as_large_as_the_advisor(in_call):
    booth, page = in_call

    async def peers():
        booth.booth.server.broadcast({"type": "peers", "peers": [
            {"slot": 0, "role": "sign_language_interpreter"}, {"slot": 1, "role": "legal_representative"}]})
    booth.run(peers())
    tile = page.locator("#peer-tile-0")
    expect(tile).to_contain_text("Gebärdensprachdolmetscherin / -dolmetscher (DGS)")
    widths = page.evaluate("""() => ["#remote-tile", "#peer-tile-0", "#peer-tile-1", "#call-view"].map(
        (s) => document.querySelector(s).getBoundingClientRect().width)""")
    advisor, signer, other, view = widths
    assert signer >= 0.45 * view and abs(signer - advisor) <= 2, widths  # half the width each
    assert other <= signer, widths
