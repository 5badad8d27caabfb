"""A phone locks its screen for 30 s during the call from home, and the call survives (issue 19):
the page finds its way back, as it does after a console reload. The lock is emulated as a phone's
operating system does it to a browser app: every process of the phone's own Chromium is suspended
(SIGSTOP, by the PIDs that Chromium reports over CDP) and resumed (SIGCONT). Chromium's CDP lock
look-alikes (Page.setWebLifecycleState "frozen", Network.emulateNetworkConditions offline) were
tried first: they leave both the WebRTC media and the open WebSocket running, so a test built on
them could not fail. While locked, the advisor's console says it is reconnecting and the hub drops
the phone's socket (its heartbeat goes unanswered); after the lock live video flows both ways
again, counted in frames on both sides, in the same call."""

from __future__ import annotations

import os
import signal
import time

import pytest
from playwright.sync_api import expect

from tests.conftest import launch_chromium

from .test_appointments_browser import T, book, hub, join_from_home  # noqa: F401 (fixture)
from .test_console import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
LOCK_S = 30
CALL_T = 60_000

# Until ``n`` more frames of the <video> ``selector`` have been presented (or say how few came).
FRAMES = """([selector, n, ms]) => new Promise((resolve, reject) => {
  const video = document.querySelector(selector);
  let seen = 0;
  const frame = () => { seen += 1; if (seen >= n) resolve(true); else video.requestVideoFrameCallback(frame); };
  video.requestVideoFrameCallback(frame);
  setTimeout(() => reject(new Error(`${selector}: ${seen} of ${n} frames in ${ms} ms`)), ms);
})"""


# Until the phone's connection to the advisor has decoded ``n`` more video frames.
DECODED = """([n, ms]) => new Promise((resolve, reject) => {
  const decoded = async () => { let count = 0; (await window.vkLocalBooth.pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') count += s.framesDecoded || 0; }); return count; };
  const started = Date.now();
  decoded().then((from) => {
    const poll = async () => {
      const now = await decoded().catch(() => from);
      if (now >= from + n) resolve(true);
      else if (Date.now() - started > ms) reject(new Error(`${now - from} of ${n} frames decoded in ${ms} ms`));
      else setTimeout(poll, 200);
    };
    poll();
  });
})"""


def frames_flow(advisor, phone) -> None:
    """The advisor's console presents the phone's camera and the phone the advisor's, frame after frame."""
    advisor.wait_for_function("() => document.getElementById('remote-video').videoWidth > 0", timeout=CALL_T)
    phone.wait_for_function("() => document.getElementById('remote-view').videoWidth > 0", timeout=CALL_T)
    advisor.evaluate(FRAMES, ["#remote-video", 10, CALL_T])
    phone.evaluate(FRAMES, ["#remote-view", 10, CALL_T])


@pytest.mark.timeout(400)
def test_the_call_from_a_phone_survives_its_screen_locked_for_30_s(hub, loop_thread, playwright_driver, advisor_context):  # noqa: F811
    url, parts, _ = hub
    _, [customer] = book(parts, 10)
    phone_browser = launch_chromium(playwright_driver)
    pids: list[int] = []
    try:
        phone_context = phone_browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True,
                                                  device_scale_factor=2, permissions=["camera", "microphone"])
        advisor = advisor_context.new_page()
        log_in(advisor, url)
        phone = join_from_home(phone_context, url, customer.token)
        advisor.locator("#waiting-list tr").get_by_role("button", name="Eintreten lassen").click(timeout=T)
        expect(advisor.locator("#call-status")).to_have_text("Verbunden", timeout=CALL_T)
        frames_flow(advisor, phone)
        call_id = phone.evaluate("window.vkLocalBooth.callId")

        # The screen locks: the phone's browser stops, all of it, until unlocked.
        processes = phone_browser.new_browser_cdp_session().send("SystemInfo.getProcessInfo")["processInfo"]
        pids = [process["id"] for process in processes]
        locked_at = time.time()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        # The advisor is told, and the hub has let go of the phone's socket (a route waiting for
        # it); the lock lasts its 30 s.
        advisor.wait_for_function(
            "(until) => document.getElementById('call-status').textContent === 'Verbindung wird wiederhergestellt …' && Date.now() >= until",
            arg=(locked_at + LOCK_S) * 1000, timeout=(LOCK_S + 30) * 1000, polling=250)
        assert loop_thread.run(parts.state.get_route(call_id)).state == "reconnecting"
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
        pids = []

        # Unlocked: the same call, live again both ways: the phone decodes the advisor's video and
        # shows it (its in-page link to the screen restarts when the lock broke it).
        expect(advisor.locator("#call-status")).to_have_text("Verbunden", timeout=CALL_T)
        advisor.evaluate(FRAMES, ["#remote-video", 10, CALL_T])
        phone.evaluate(DECODED, [10, CALL_T])
        phone.wait_for_function("() => document.getElementById('remote-view').videoWidth > 0", timeout=CALL_T)
        phone.evaluate(FRAMES, ["#remote-view", 10, CALL_T])
        assert phone.evaluate("window.vkLocalBooth.callId") == call_id
        expect(phone.locator('[data-screen="call"]')).to_be_visible()
        advisor.get_by_role("button", name="Beenden").click()
        expect(phone.get_by_role("heading", name="Kurze Umfrage")).to_be_visible(timeout=T)
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
        phone_browser.close()
