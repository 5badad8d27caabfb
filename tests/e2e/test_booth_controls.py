"""The booth's own controls and notices in the real kiosk page: the hub going away and coming back
while a customer waits, and the mute toggle during a call."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from playwright.sync_api import expect

from appliance.daemon import Booth
from tests.appliance.helpers import CannedChecks, booth_config, until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HUB_DOWN = "Die Verbindung wird wiederhergestellt …"


async def stop_listening(runner: web.AppRunner) -> None:
    """The hub stops taking connections (as a crashed or unreachable hub would)."""
    for site in list(runner.sites):
        await site.stop()


async def listen_again(runner: web.AppRunner, port: int) -> None:
    await web.TCPSite(runner, "127.0.0.1", port).start()


def test_hub_outage_is_shown_and_the_customer_keeps_waiting(stack, kiosk_context):
    kiosk = kiosk_context.new_page()
    kiosk.goto(stack.booth.url)
    sid = stack.to_waiting()
    session = stack.booth.session
    expect(kiosk.get_by_text("Sie befinden sich im virtuellen Wartebereich")).to_be_visible()
    line = kiosk.get_by_text(HUB_DOWN)
    expect(line).to_be_hidden()

    hub, port = stack.lt._runners[0], int(stack.hub_url.rsplit(":", 1)[1])
    stack.lt.run(stop_listening(hub))
    stack.lt.run(stack.booth.link.drop())
    expect(line).to_be_visible()
    expect(kiosk.get_by_text("Sie befinden sich im virtuellen Wartebereich")).to_be_visible()
    assert session.state == "waiting" and session.session_id == sid

    async def back() -> None:
        # Count what the session publishes once the link is up again: the welcome, then the
        # hub's queue update for the re-sent ticket.
        up_again: list[dict] = []
        requeued = asyncio.Event()

        def watch(snap: dict) -> None:
            if snap["hub_connected"]:
                up_again.append(snap)
                if any(s.get("waiting", {}).get("position") == 1 for s in up_again[1:]):
                    requeued.set()

        unsubscribe = session.subscribe(watch)
        try:
            await listen_again(hub, port)
            await asyncio.wait_for(requeued.wait(), 20)
        finally:
            unsubscribe()
        assert [e.session_id for e in await stack.parts.state.waiting()] == [sid]

    stack.lt.run(back(), 30)
    expect(line).to_be_hidden()
    assert session.state == "waiting" and session.session_id == sid


@pytest.fixture
def lone_booth(loop_thread, tmp_path):
    """A booth without a hub (null hub link and call handler), on the test's loop thread."""

    async def start() -> Booth:
        booth = Booth(booth_config(tmp_path), checks=CannedChecks())
        await booth.start(port=0)
        return booth

    booth = loop_thread.run(start())
    yield booth
    loop_thread.run(booth.stop())


def test_kiosk_mute_toggle_mutes_the_call(lone_booth, loop_thread, kiosk_context):
    session, calls = lone_booth.session, lone_booth.session.calls
    kiosk = kiosk_context.new_page()
    kiosk.goto(lone_booth.url)

    async def to_call() -> None:
        await session.handle("start")
        await session.handle("accept")
        await until(session, lambda s: s.get("checks", {}).get("passed") is True)
        assert await session.handle("continue")
        assert await session.handle("admitted", call_id="c-1234abcd")

    loop_thread.run(to_call())
    expect(kiosk.get_by_text(HUB_DOWN)).to_be_hidden()  # no hub configured: nothing to restore
    kiosk.get_by_role("button", name="Stummschalten").click()
    unmute = kiosk.get_by_role("button", name="Stummschaltung aufheben")
    expect(unmute).to_have_attribute("aria-pressed", "true")
    assert calls.muted is True and session.snapshot()["call"]["muted"] is True
    unmute.click()
    expect(kiosk.get_by_role("button", name="Stummschalten")).to_have_attribute("aria-pressed", "false")
    assert calls.muted is False and session.state == "call"


# Keeps every peer connection the console makes, so the test can read its receive statistics.
KEEP_PEERS = """(() => {
  const Native = window.RTCPeerConnection;
  window.__peers = [];
  window.RTCPeerConnection = function (...args) { const pc = new Native(...args); window.__peers.push(pc); return pc; };
  window.RTCPeerConnection.prototype = Native.prototype;
})()"""

# Resolves true once the booth's audio, as the advisor's Chromium receives it, is loud (or silent),
# false after 20 s: the mean power over a window of received audio (totalAudioEnergy /
# totalSamplesDuration of the inbound audio). Silence must hold for 2.5 s: on this shared machine an
# unmuted tone can have quiet gaps too. (A loop in the page, so that each check awaits getStats.)
HEARS_BOOTH = """async (loud) => {
  const stats = async () => {
    for (const pc of (window.__peers || []).filter((p) => p.connectionState === 'connected')) {
      for (const s of (await pc.getStats()).values()) {
        if (s.type === 'inbound-rtp' && s.kind === 'audio' && s.totalSamplesDuration) return [s.totalAudioEnergy, s.totalSamplesDuration];
      }
    }
    return null;
  };
  const deadline = Date.now() + 20000;
  let start = null;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const now = await stats();
    if (!now) continue;
    if (!start) { start = now; continue; }
    const seconds = now[1] - start[1];
    if (seconds < (loud ? 0.2 : 2.5)) continue;
    const power = (now[0] - start[0]) / seconds;  // the booth's -30 dBFS tone: about 1e-2
    if (loud ? power > 1e-4 : power < 1e-7) return true;
    start = now;
  }
  return false;
}"""


def hears_booth(page, loud: bool) -> None:
    assert page.evaluate(HEARS_BOOTH, loud), f"the advisor never heard the booth {'loud' if loud else 'silent'}"


def test_booth_mute_silences_the_booth_for_the_advisor(stack, advisor_context, kiosk_context):
    from .harness import log_in

    advisor = advisor_context.new_page()
    advisor.add_init_script(KEEP_PEERS)
    log_in(advisor, stack.hub_url)
    kiosk = kiosk_context.new_page()
    kiosk.goto(stack.booth.url)
    stack.to_waiting()
    advisor.get_by_role("button", name="Eintreten lassen").click()
    stack.wait_state("call")
    hears_booth(advisor, loud=True)

    kiosk.get_by_role("button", name="Stummschalten").click()
    expect(kiosk.get_by_role("button", name="Stummschaltung aufheben")).to_have_attribute("aria-pressed", "true")
    hears_booth(advisor, loud=False)
    kiosk.get_by_role("button", name="Stummschaltung aufheben").click()
    hears_booth(advisor, loud=True)
    kiosk.get_by_role("button", name="Gespräch beenden").click()
    stack.wait_state("survey")
