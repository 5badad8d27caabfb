"""The home journey in Firefox ESR as well (issue 19): Debian's firefox-esr, driven over WebDriver
BiDi by puppeteer-core from npm (tests/firefox/*.mjs, run by node), with Firefox's own fake camera
and microphone. The customer opens the personal link, consents, passes the device check and
reaches the waiting room; the hub sees them waiting; the advisor (Chromium) admits; live video
flows both ways, measured by frames on both sides (Firefox shows Chromium's green fake camera, the
advisor's console shows Firefox's camera advancing); a chat line goes each way; the advisor ends
and Firefox shows the survey."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.e2e.test_chat import GERMAN, advisor_says
from tests.hub.test_appointments_browser import book, hub  # noqa: F401 (fixture)
from tests.hub.test_console import log_in

from .driver import FirefoxJourney

pytestmark = pytest.mark.browser
SAID = "Hallo, hier ist Firefox zu Hause."

# Until the console has presented ``n`` more frames of the customer's video.
FRAMES = """(n) => new Promise((resolve) => {
  const video = document.getElementById('remote-video');
  let seen = 0;
  const frame = () => { seen += 1; if (seen >= n) resolve(true); else video.requestVideoFrameCallback(frame); };
  video.requestVideoFrameCallback(frame);
})"""


@pytest.mark.timeout(400)
def test_a_customer_at_home_in_firefox_consents_passes_the_check_waits_and_talks(hub, firefox_driver, advisor_context):  # noqa: F811
    url, parts, _ = hub
    _, [customer] = book(parts, 10)
    config = {"said": SAID, "reply": GERMAN}
    with FirefoxJourney(firefox_driver, "home_check.mjs", f"{url}/join#{customer.token}", json.dumps(config)) as firefox:
        firefox.stage("waiting")
        assert parts.db["guest_consents"].count == 1  # the consent was recorded first
        advisor = advisor_context.new_page()  # the advisor in Chromium
        log_in(advisor, url)
        advisor.locator("#waiting-list tr").get_by_role("button", name="Eintreten lassen").click(timeout=30_000)
        red, green, blue = firefox.stage("live")["colour"]  # Firefox presents the advisor's frames:
        assert green > red + 20 and green > blue + 20  # Chromium's green fake camera
        advisor.wait_for_function("() => document.getElementById('remote-video').videoWidth > 0", timeout=120_000)
        advisor.evaluate(FRAMES, 10)  # and the advisor Firefox's camera, frame after frame

        firefox.stage("said")
        expect(advisor.locator("#chat-list li").filter(has_text=SAID)).to_contain_text("Kunde/Kundin:", timeout=30_000)
        advisor_says(advisor, GERMAN)
        firefox.stage("heard")

        advisor.get_by_role("button", name="Beenden").click()
        firefox.finish()
