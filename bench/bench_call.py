"""Call set-up speed on loopback: admit -> first frames both ways, and waiting -> console shows it.

Our pattern (a real hub, a real booth daemon with fake hardware, the advisor console in the real
Chromium): at the admit the booth (aiortc) offers at once with its host candidates in the SDP,
the browser answers and trickles. Measured from the advisor's click on "Eintreten lassen" to the
first decoded frame on the booth and the first frame rendered in the console's <video>.

Baseline, in the same run and on the same machine: aiortc's stock pattern (its ``server`` example):
the browser gets the camera, offers, waits for ICE gathering to complete, posts the full SDP;
aiortc answers with a full SDP; no trickle. Both sides use host candidates only, like ours (no
STUN/TURN configured), so the comparison is about the signalling pattern alone.

Medians over ``RUNS`` runs each. Targets: under 150 ms to first frames, notification under 50 ms.

    $ python -m bench bench_call
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from aiohttp import web
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaBlackhole
from aiortc.mediastreams import MediaStreamError

from hw.audio_fake import ToneMicrophone
from hw.synthetic import SyntheticCamera

RUNS = 12
TARGET_FIRST_FRAME_MS = 150.0
TARGET_NOTIFY_MS = 50.0

BASELINE_HTML = """<!doctype html><html><body>
<video id="remote-video" autoplay playsinline muted></video>
<script src="/baseline.js"></script></body></html>"""

# aiortc's examples/server/client.js, reduced to what the measurement needs.
BASELINE_JS = """
window.timings = {};
window.startCall = async function () {
  timings.start = performance.timeOrigin + performance.now();
  timings.firstFrame = null;
  const pc = new RTCPeerConnection({ iceServers: [] });
  window.pc = pc;
  const video = document.getElementById('remote-video');
  pc.ontrack = (e) => {
    if (e.track.kind !== 'video') return;
    video.srcObject = new MediaStream([e.track]);
    video.requestVideoFrameCallback(() => { timings.firstFrame = performance.timeOrigin + performance.now(); });
  };
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
  stream.getTracks().forEach((t) => pc.addTrack(t, stream));
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
  });
  const r = await fetch('/offer', { method: 'POST', body: JSON.stringify({ sdp: pc.localDescription.sdp, type: 'offer' }) });
  await pc.setRemoteDescription(await r.json());
};
window.stopCall = () => { if (window.pc) window.pc.close(); };
"""


class BaselineServer:
    """aiortc's stock answerer: one peer per POST /offer, sending the synthetic camera and tone."""

    def __init__(self) -> None:
        self.first_frame_at: float | None = None
        self.first_frame = asyncio.Event()
        self.pcs: set[RTCPeerConnection] = set()
        self.camera = SyntheticCamera(width=320, height=240, fps=25)
        self.microphone = ToneMicrophone()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self._page)
        app.router.add_get("/baseline.js", self._js)
        app.router.add_post("/offer", self._offer)
        return app

    async def _page(self, request: web.Request) -> web.Response:
        return web.Response(text=BASELINE_HTML, content_type="text/html")

    async def _js(self, request: web.Request) -> web.Response:
        return web.Response(text=BASELINE_JS, content_type="application/javascript")

    async def _offer(self, request: web.Request) -> web.Response:
        params = await request.json()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pcs.add(pc)
        blackhole = MediaBlackhole()

        @pc.on("track")
        def on_track(track) -> None:
            if track.kind == "video":
                asyncio.ensure_future(self._watch(track))
            else:
                blackhole.addTrack(track)
                asyncio.ensure_future(blackhole.start())

        await pc.setRemoteDescription(RTCSessionDescription(sdp=params["sdp"], type=params["type"]))
        pc.addTrack(self.camera.video_track())
        pc.addTrack(self.microphone.audio_track())
        await pc.setLocalDescription(await pc.createAnswer())
        return web.json_response({"sdp": pc.localDescription.sdp, "type": pc.localDescription.type})

    async def _watch(self, track) -> None:
        try:
            while True:
                await track.recv()
                if self.first_frame_at is None:
                    self.first_frame_at = time.time()
                    self.first_frame.set()
        except MediaStreamError:
            return

    async def reset(self) -> None:
        for pc in list(self.pcs):
            await pc.close()
        self.pcs.clear()
        self.first_frame_at = None
        self.first_frame = asyncio.Event()


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _measure_ours(lt, browser, data_dir: Path, runs: int) -> dict[str, list[float]]:
    from tests.e2e.harness import Stack, log_in
    from tests.appliance.helpers import until

    stack = Stack(lt, data_dir)
    ctx = browser.new_context(permissions=["camera", "microphone"])
    page = ctx.new_page()
    log_in(page, stack.hub_url)
    booth = stack.booth
    out: dict[str, list[float]] = {"booth": [], "browser": [], "notify": [], "offer_sent": [], "answer_received": [],
                                   "booth_connected": []}
    try:
        for _ in range(runs + 1):  # the first run warms codecs and caches up; it is not counted
            async def enter() -> tuple[str, float]:
                await booth.session.handle("start")
                await booth.session.handle("accept")
                await until(booth.session, lambda s: s.get("checks", {}).get("passed") is True, 30)
                entered = time.time()
                await booth.session.handle("continue")
                return booth.session.session_id, entered

            session_id, entered = lt.run(enter(), 60)
            page.wait_for_function("(sid) => window.vkConsole.timings.shown[sid]", arg=session_id)
            shown = page.evaluate("(sid) => window.vkConsole.timings.shown[sid]", session_id)
            page.evaluate("() => { window.vkConsole.timings.firstFrame = null; }")
            page.get_by_role("button", name="Eintreten lassen").click()
            page.wait_for_function("() => window.vkConsole.timings.firstFrame", timeout=20000)
            lt.run(asyncio.wait_for(booth.call.stats.first_frame.wait(), 20), 25)
            timings = page.evaluate("() => window.vkConsole.timings")
            admit = timings["admitClicked"]
            out["notify"].append(shown - entered * 1000)
            out["browser"].append(timings["firstFrame"] - admit)
            stats = booth.call.stats
            out["booth"].append(stats.first_remote_frame_at * 1000 - admit)
            for key, at in (("offer_sent", stats.offer_sent_at), ("answer_received", stats.answer_at),
                            ("booth_connected", stats.connected_at)):
                if at is not None:
                    out[key].append(at * 1000 - admit)
            page.get_by_role("button", name="Beenden").click()
            stack.wait_state("survey")
            lt.run(booth.session.handle("cancel"))
        for key in out:
            out[key] = out[key][1:]
    finally:
        ctx.close()
        stack.close()
    return out


def _measure_baseline(lt, browser, runs: int) -> dict[str, list[float]]:
    server = BaselineServer()
    url = lt.serve(server.app())
    ctx = browser.new_context(permissions=["camera", "microphone"])
    page = ctx.new_page()
    page.goto(url)
    out: dict[str, list[float]] = {"booth": [], "browser": []}
    try:
        for _ in range(runs + 1):
            lt.run(server.reset())
            page.evaluate("() => startCall()")
            page.wait_for_function("() => window.timings.firstFrame", timeout=20000)
            lt.run(asyncio.wait_for(server.first_frame.wait(), 20), 25)
            t = page.evaluate("() => window.timings")
            out["browser"].append(t["firstFrame"] - t["start"])
            out["booth"].append(server.first_frame_at * 1000 - t["start"])
            page.evaluate("() => stopCall()")
        for key in out:
            out[key] = out[key][1:]
    finally:
        lt.run(server.reset())
        ctx.close()
    return out


def measure(runs: int = RUNS) -> dict[str, dict[str, list[float]]]:
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.support import LoopThread

    with tempfile.TemporaryDirectory() as tmp, LoopThread() as lt, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            baseline = _measure_baseline(lt, browser, runs)
            ours = _measure_ours(lt, browser, Path(tmp), runs)
        finally:
            browser.close()
    return {"ours": ours, "baseline": baseline}


def run() -> list[dict]:
    load_before = os.getloadavg()[0]
    m = measure()
    # Absolute times on a shared 2-core machine mean little without the load: it goes in the row.
    load = round(max(load_before, os.getloadavg()[0]), 1)
    rows = []
    for key, label in (("booth", "admit -> first decoded frame on the booth (aiortc)"),
                       ("browser", "admit -> first rendered frame in the advisor's browser")):
        value, base = _median(m["ours"][key]), _median(m["baseline"][key])
        rows.append({"name": label, "value": round(value, 1), "unit": "ms", "baseline": round(base, 1),
                     "ratio": round(value / base, 2), "target": f"< {TARGET_FIRST_FRAME_MS:.0f}",
                     "ok": value < TARGET_FIRST_FRAME_MS, "runs": len(m["ours"][key]), "load_avg": load,
                     "samples": [round(v, 1) for v in m["ours"][key]],
                     "baseline_samples": [round(v, 1) for v in m["baseline"][key]]})
    # Where the time goes (medians, ms after the click), so the next person knows what to attack.
    rows[0]["phases_ms"] = {k: round(_median(m["ours"][k]), 1) for k in ("offer_sent", "answer_received", "booth_connected")}
    notify = _median(m["ours"]["notify"])
    rows.append({"name": "customer enters waiting room -> console shows it", "value": round(notify, 1), "unit": "ms",
                 "baseline": None, "ratio": None, "target": f"< {TARGET_NOTIFY_MS:.0f}", "ok": notify < TARGET_NOTIFY_MS,
                 "runs": len(m["ours"]["notify"]), "samples": [round(v, 1) for v in m["ours"]["notify"]]})
    return rows


if __name__ == "__main__":
    import json

    print(json.dumps(measure(runs=3), indent=1))
