"""The advisor console in Firefox ESR (issue 19), against a real booth daemon with fake hardware
(as the Chromium console tests): the advisor logs in and admits the booth customer; the booth's
colour bars reach Firefox and Firefox's fake camera reaches the booth (frames decoded on both
sides); a chat line goes each way over the data channel; the advisor shares the screen and the
booth decodes it (Firefox runs on its own Xvfb screen for that: headless Firefox has none to
share); the advisor ends the call and the booth shows the survey."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hw.synthetic import BARS, BARS_END
from tests.e2e.chat_helpers import booth_chat
from tests.e2e.harness import MATCH_BARS, PASSWORD
from tests.e2e.test_chat import _until
from tests.e2e.test_screenshare import _frames

from .driver import FirefoxJourney, virtual_display

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SAID = "Guten Tag aus Firefox! Wie kann ich helfen?"
REPLY = "Danke, ich höre Sie gut."


@pytest.mark.timeout(400)
def test_an_advisor_in_firefox_admits_a_booth_customer_talks_chats_shares_and_ends(stack, firefox_driver):
    stack.to_waiting()
    bars = f"({MATCH_BARS})({json.dumps([BARS.tolist(), BARS_END / 2, 60, '#remote-video'])})"
    config = {"user": "anna", "password": PASSWORD, "row": "Kiosk 1, Musterstadt", "said": SAID, "reply": REPLY, "bars": bars}
    with virtual_display() as display, \
            FirefoxJourney(firefox_driver, "console_check.mjs", stack.hub_url, json.dumps(config), display=display) as firefox:
        firefox.stage("live")  # Firefox decodes the booth's colour bars, frame after frame
        stack.wait_state("call")
        stack.wait_booth_frames(10)  # and the booth decodes Firefox's camera
        assert np.asarray(stack.booth.call.last_remote_frame.to_ndarray(format="rgb24")).mean() > 10  # not black

        firefox.stage("said")
        chat = booth_chat(stack)
        stack.lt.run(_until(lambda: any(line.text == SAID for line in chat.chat.lines), 30), 35)
        stack.lt.run(chat.from_page(REPLY), 10)  # the customer answers on the booth
        firefox.stage("heard")

        sharing = firefox.stage("sharing")
        assert sharing["sharing"], sharing
        stack.lt.run(_frames(chat.screen, 5), 30)  # the booth decodes the advisor's shared screen

        firefox.stage("ended")
        stack.wait_state("survey")
        firefox.finish()

