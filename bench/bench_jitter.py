"""What rtc/jitter.py saves: capture -> decoded in aiortc, with our jitter buffers and with aiortc's.

One Chromium page sends the same stamped canvas camera (bench/latency.py, 640x480, 30 fps, VP8)
and the same clicking microphone (hw/clicks.py) to two aiortc peer connections at once: one with
:func:`rtc.jitter.use_marker_jitter_buffer` and :func:`rtc.jitter.use_prompt_audio_jitter_buffer`,
one as aiortc ships. Each decoded frame's stamp is read in Python the moment ``recv()`` hands it
over, each click found in the decoded audio the same way. Both receive the same packets at the same
moments, so load hits both alike.

    $ python -m bench bench_jitter
"""

from __future__ import annotations

import asyncio
import os
import time

from aiohttp import web
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from bench.latency import FPS, HEIGHT, WIDTH, install_script, summary
from hw import clicks
from hw.levels import samples_of
from hw.stamp import latency_ms, read_stamp
from rtc.jitter import use_marker_jitter_buffer, use_prompt_audio_jitter_buffer

WINDOW_S = 20.0
SETTLE_S = 2.0
VARIANTS = ("marker", "stock")

SENDER = """async ([width, height, fps, count]) => {
  const track = vkStamp.camera(width, height, fps), mic = vkStamp.clickMic();
  window.pcs = [];
  const offers = [];
  for (let i = 0; i < count; i++) {
    const pc = new RTCPeerConnection({ iceServers: [] });
    pcs.push(pc);
    pc.addTrack(track, new MediaStream([track, mic]));
    pc.addTrack(mic, new MediaStream([track, mic]));
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') resolve();
      pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
    });
    offers.push(pc.localDescription.sdp);
  }
  return offers;
}"""


class Receiver:
    """One aiortc answerer that notes capture -> decoded for every frame."""

    def __init__(self, marker: bool) -> None:
        self.marker = marker
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.latencies: list[float] = []
        self.heard = clicks.OnsetFinder()
        self.counting = False
        self._tasks: list[asyncio.Task] = []

    async def answer(self, offer: str) -> str:
        self.pc.on("track", lambda track: self._tasks.append(asyncio.ensure_future(
            self._consume(track) if track.kind == "video" else self._listen(track))))
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        for transceiver in self.pc.getTransceivers():
            transceiver.direction = "recvonly"
        if self.marker and not (use_marker_jitter_buffer(self.pc) and use_prompt_audio_jitter_buffer(self.pc)):
            raise RuntimeError("rtc/jitter.py could not swap its buffers in: nothing to compare")
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    async def _consume(self, track) -> None:
        try:
            while True:
                frame = await track.recv()
                now_ms = time.time() * 1000
                if self.counting:
                    value = read_stamp(frame.to_ndarray(format="gray"))
                    if value is not None:
                        self.latencies.append(latency_ms(value, now_ms))
        except MediaStreamError:
            return

    async def _listen(self, track) -> None:
        try:
            while True:
                frame = await track.recv()
                now = time.time()
                if self.counting:
                    samples = samples_of(frame)
                    self.heard.feed(samples, now - samples.size / frame.sample_rate)  # the frame's first sample
        except MediaStreamError:
            return

    def mouth_to_decoded_ms(self) -> list[float]:
        return [clicks.latency_s(at) * 1000 for at in self.heard.heard]

    async def close(self) -> None:
        await self.pc.close()
        for task in self._tasks:
            task.cancel()


def measure(window_s: float = WINDOW_S) -> dict[str, dict[str, list[float]]]:
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.support import LoopThread

    with LoopThread() as lt, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        app = web.Application()
        app.router.add_get("/", lambda _request: web.Response(text="<!doctype html><title>sender</title>", content_type="text/html"))
        url = lt.serve(app)
        ctx = browser.new_context(permissions=["camera", "microphone"])
        ctx.add_init_script(install_script())
        page = ctx.new_page()
        page.goto(url)
        receivers = {name: Receiver(marker=name == "marker") for name in VARIANTS}
        try:
            offers = page.evaluate(SENDER, [WIDTH, HEIGHT, FPS, len(receivers)])
            answers = [lt.run(r.answer(offer)) for r, offer in zip(receivers.values(), offers)]
            page.evaluate("async (answers) => { for (const [i, sdp] of answers.entries()) await pcs[i].setRemoteDescription({ type: 'answer', sdp }); }",
                          answers)
            time.sleep(SETTLE_S)  # a fixed measuring window, not a wait for an event
            for r in receivers.values():
                r.counting = True
            time.sleep(window_s)
            for r in receivers.values():
                r.counting = False
        finally:
            for r in receivers.values():
                lt.run(r.close())
            ctx.close()
            browser.close()
    return {name: {"video": r.latencies, "audio": r.mouth_to_decoded_ms()} for name, r in receivers.items()}


def run() -> list[dict]:
    load_before = os.getloadavg()[0]
    m = measure()
    load = round(max(load_before, os.getloadavg()[0]), 1)
    rows = []
    for kind, label in (("video", "capture -> decoded in aiortc"), ("audio", "click -> decoded in aiortc")):
        ours, stock = summary(m["marker"][kind]), summary(m["stock"][kind])
        for stat in ("median", "p95"):
            ratio = ours[stat] / stock[stat]
            rows.append({"name": f"{label}, rtc/jitter.py vs aiortc's jitter buffer ({stat})",
                         "value": round(ours[stat], 1), "unit": "ms", "baseline": round(stock[stat], 1), "ratio": round(ratio, 2),
                         "target": "< 1", "ok": ratio < 1, "saved_ms": round(stock[stat] - ours[stat], 1),
                         "frames": ours["n"], "baseline_frames": stock["n"], "load_avg": load}
                        | ({"frame_interval_ms": round(1000 / FPS, 1)} if kind == "video" else {}))
    return rows
