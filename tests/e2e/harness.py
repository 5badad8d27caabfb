"""A whole system on one machine: a real hub, a real booth (session + hub link + aiortc call with
fake hardware), and helpers for an advisor in the real Chromium. Everything on 127.0.0.1.

The booth runs on the test's :class:`~tests.support.LoopThread`, like the daemon's own loop.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from hub.app import HubParts, make_app
from hub.config import HubConfig
from hw.synthetic import BARS, BARS_END
from tests.appliance.helpers import until
from tests.booths import Booth, start_booth, to_waiting
from tests.support import LoopThread
from videokiosk.clock import SystemClock

PASSWORD = "s3cret-pass-12"


class Stack:
    """A hub and ``booths`` real booth daemons (fake hardware, real device check against the hub)."""

    def __init__(self, lt: LoopThread, data_dir: Path, *, reconnect_timeout_s: float = 60.0, booths: int = 1,
                 locations: tuple[str, ...] = ("Musterstadt",), booth_config: dict | None = None,
                 hardware: dict | None = None, devices: Callable[[Any], Any] | None = None) -> None:
        """``hardware``: settings over the booths' small fake camera (``make bench`` wants 640x480);
        ``devices``: builds a booth's devices from its hardware settings instead of the daemon."""
        self.lt = lt
        self.data_dir = data_dir
        self.locations = locations  # booth i stands in locations[i % len(locations)]
        self.booth_config = booth_config or {}  # more config sections for every booth (e.g. [fleet])
        self.hardware = hardware
        self.devices = devices
        config = HubConfig.model_validate({
            "store": {"path": str(data_dir / "hub.db")},
            "calls": {"reconnect_timeout_s": reconnect_timeout_s},
        })
        self.parts = HubParts.open(config, clock=SystemClock())
        for user in ("anna", "ben"):
            self.parts.users.add_user(user, PASSWORD)
        self.hub_url = lt.serve(make_app(self.parts))
        self.booths = [lt.run(self._booth(i)) for i in range(booths)]
        self.booth = self.booths[0]

    async def _booth(self, index: int) -> Booth:
        booth_id = f"booth-{index + 1}"
        location = self.locations[index % len(self.locations)]
        token = self.parts.registry.create_booth(booth_id, f"Kiosk {index + 1}", location)
        return await start_booth(booth_id, f"Kiosk {index + 1}", location, hub_url=self.hub_url, token=token,
                                 state_dir=self.data_dir / booth_id, sections=self.booth_config,
                                 hardware=self.hardware, devices=self.devices)

    def to_waiting(self, booth: Booth | None = None) -> str:
        """The customer's three touches: start, consent, continue. Returns the session id."""
        return self.lt.run(to_waiting(booth or self.booth))

    def wait_informed(self, booth: Booth | None = None) -> None:
        """Until the booth shows "Ihr Berater / Ihre Beraterin wurde informiert"."""
        booth = booth or self.booth
        self.lt.run(until(booth.session, lambda s: s.get("waiting", {}).get("advisor_informed") is True, 10), 15)

    def close(self) -> None:
        async def stop() -> None:
            for booth in self.booths:
                await booth.daemon.stop()

        self.lt.run(stop())

    def wait_state(self, state: str, booth: Booth | None = None, timeout: float = 20.0) -> None:
        booth = booth or self.booth
        self.lt.run(until(booth.session, lambda s: s["state"] == state, timeout), timeout + 5)

    def advisor_sees_booth(self, page: Page, booth: Booth | None = None) -> None:
        """:func:`advisor_sees_test_pattern`, and if the picture never comes, how far the booth's end of
        the call got: the console's side alone cannot tell a lost answer from a connection that failed."""
        try:
            advisor_sees_test_pattern(page)
        except AssertionError as failure:
            raise AssertionError(f"{failure}; the booth: {self.booth_end(booth)}") from None

    def advisor_connected(self, page: Page, booth: Booth | None = None, timeout: float = 20000) -> None:
        """The console says "Verbunden"; if it never does, how far each end of the call got."""
        try:
            expect(page.locator("#call-status")).to_have_text("Verbunden", timeout=timeout)
        except AssertionError as failure:
            console = page.evaluate(CONSOLE_END)
            raise AssertionError(f"{failure}; the console: {console}; the booth: {self.booth_end(booth)}") from None

    def booth_end(self, booth: Booth | None = None) -> dict[str, Any]:
        """How far the booth's end of the call got (its peer connection and the steps to it)."""
        call = (booth or self.booth).call
        pc, stats = call._pc, call.stats
        return {"peer connection": pc.connectionState if pc else None, "ice": pc.iceConnectionState if pc else None,
                "signalling": pc.signalingState if pc else None, "offers": stats.offers,
                **{step: getattr(stats, f"{step}_at") is not None for step in ("offer_sent", "answer", "connected")}}

    def wait_booth_frames(self, at_least: int, booth: Booth | None = None, timeout: float = 20.0) -> None:
        """Until the booth has decoded ``at_least`` more frames of the advisor's video."""
        booth = booth or self.booth
        call, stats = booth.call, booth.call.stats
        start = stats.remote_frames

        async def frames() -> None:
            while stats.remote_frames < start + at_least:
                stats.frame_arrived.clear()
                await stats.frame_arrived.wait()

        try:
            self.lt.run(asyncio.wait_for(frames(), timeout), timeout + 5)
        except (TimeoutError, asyncio.TimeoutError):
            # How far the booth's end got: never a frame, frames that stopped, or a call replaced.
            pc = call._pc
            got = {"frames before": start, "frames now": stats.remote_frames,
                   "first frame": stats.first_remote_frame_at is not None, "same call": booth.call is call,
                   "peer connection": pc.connectionState if pc else None, "ice": pc.iceConnectionState if pc else None}
            raise AssertionError(f"the booth decoded {at_least} more frames of the advisor's video not within {timeout} s; the booth: {got}") from None


# The console's moments of the call's set-up (hub/console/call.js): which of them it reached.
CONSOLE_END = """() => Object.fromEntries(["offerAt", "answerAt", "connectedAt"].map(
  (step) => [step, Boolean(window.vkConsole.timings[step])]))"""


def kiosk_to_waiting(kiosk: Page, url: str) -> None:
    """The customer's three touches on the kiosk page: start, consent, continue."""
    kiosk.goto(url)
    kiosk.get_by_role("button", name="Videoberatung starten").click()
    kiosk.get_by_role("button", name="Ich stimme zu").click()
    kiosk.get_by_role("button", name="Weiter").click(timeout=60000)
    expect(kiosk.get_by_text("Sie befinden sich im virtuellen Wartebereich")).to_be_visible()


def log_in(page: Page, url: str, user: str = "anna") -> None:
    page.goto(url)
    page.get_by_label("Benutzername").fill(user)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("button", name="Abmelden")).to_be_visible()


# Reads a <video> of the booth (the advisor's by default): draws it on a canvas and returns the RGB
# of the middle of each of the eight colour bars of the synthetic camera's test pattern.
SAMPLE_BARS = """(args) => {
  const [count, rowFraction, selector] = args;
  const v = document.querySelector(selector || '#remote-video');
  if (!v || !v.videoWidth) return null;
  const c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext('2d');
  g.drawImage(v, 0, 0);
  const y = Math.floor(c.height * rowFraction);
  const out = [];
  for (let i = 0; i < count; i++) {
    const x = Math.floor((i + 0.5) * c.width / count);
    out.push(Array.from(g.getImageData(x, y, 1, 1).data.slice(0, 3)));
  }
  return out;
}"""


MATCH_BARS = """(args) => {
  const [expected, rowFraction, tolerance, selector] = args;
  const v = document.querySelector(selector || '#remote-video');
  if (!v || !v.videoWidth || v.currentTime === 0) return false;
  const c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext('2d');
  g.drawImage(v, 0, 0);
  const y = Math.floor(c.height * rowFraction);
  return expected.every((rgb, i) => {
    const x = Math.floor((i + 0.5) * c.width / expected.length);
    const px = g.getImageData(x, y, 1, 1).data;
    return rgb.every((value, k) => Math.abs(px[k] - value) <= tolerance);
  });
}"""


# What a failed wait reports besides the pixels: whether the call connected at all (the console's
# status line) and whether the tracks ever carried media (a track stays muted until its first packet),
# so a rare failure in CI tells a connection that never came from frames that never decoded.
VIDEO_STATE = """(selector) => {
  const v = document.querySelector(selector);
  const stream = v && v.srcObject;
  return {
    status: document.getElementById('call-status')?.textContent,
    ready_state: v ? v.readyState : null,
    tracks: stream ? stream.getTracks().map((t) => `${t.kind} ${t.readyState}${t.muted ? ' muted' : ''}`) : null,
  };
}"""


def advisor_sees_test_pattern(page: Page, timeout_ms: float = 20000, video: str = "#remote-video") -> None:
    """Wait until the ``video`` element (the advisor's view of the booth by default) shows the
    booth's colour bars (within codec tolerance)."""
    try:
        page.wait_for_function(MATCH_BARS, arg=[BARS.tolist(), BARS_END / 2, 60, video], timeout=timeout_ms, polling=100)
    except Exception:
        sampled = page.evaluate(SAMPLE_BARS, [len(BARS), BARS_END / 2, video])
        state = page.evaluate(VIDEO_STATE, video)
        raise AssertionError(f"the booth's test pattern never appeared in {video}; sampled {sampled}; {state}") from None


def chromium_fake_camera_frame(frame) -> bool:
    """Chromium's fake camera: a mostly green picture with a moving pacman and a frame counter."""
    img = frame.to_ndarray(format="rgb24").astype(int)
    r, g, b = img[..., 0].mean(), img[..., 1].mean(), img[..., 2].mean()
    return g > r + 20 and g > b + 20


TITLE_WAITING = re.compile(r"^\(1\)")
