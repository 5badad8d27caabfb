"""aiortc's stock answerer (its ``server`` example) in a process of its own: bench_call's baseline.

The browser gets the camera, offers, waits for ICE gathering to complete and posts the full SDP;
aiortc answers with a full SDP, sending the synthetic camera (640x480, as the booth's in the bench)
and a tone. A process of its own, as the booth daemon it is set beside runs in one: in the bench's
process it shared the CPU with the hub and the browsers' driver as no server does.

It prints its address on the first line of its output, then serves:

    GET  /             the page (``startCall()``, ``stopCall()``, ``timings``)
    POST /offer        the browser's offer; the answer
    GET  /first-frame  {"at": wall-clock s} once the browser's first frame is decoded here
    POST /reset        every peer connection closed, for the next call

    $ python -m bench.stock_answerer
"""

from __future__ import annotations

import asyncio
import sys
import time

from aiohttp import web
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaBlackhole
from aiortc.mediastreams import MediaStreamError

from bench.latency import FPS, HEIGHT, WIDTH
from hw.audio_fake import ToneMicrophone
from hw.synthetic import SyntheticCamera

FIRST_FRAME_S = 20.0

BASELINE_HTML = """<!doctype html><html><body>
<video id="remote-video" autoplay playsinline muted></video>
<script src="/baseline.js"></script></body></html>"""

# aiortc's examples/server/client.js, reduced to what the measurement needs. Times on the wall clock,
# as the console's (hub/console/timings.js), so they compare with the server's time.time().
BASELINE_JS = """
window.timings = {};
window.startCall = async function () {
  timings.start = Date.now();
  timings.firstFrame = null;
  const pc = new RTCPeerConnection({ iceServers: [] });
  window.pc = pc;
  const video = document.getElementById('remote-video');
  pc.ontrack = (e) => {
    if (e.track.kind !== 'video') return;
    video.srcObject = new MediaStream([e.track]);
    video.requestVideoFrameCallback(() => { timings.firstFrame = Date.now(); });
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
        self.camera = SyntheticCamera(width=WIDTH, height=HEIGHT, fps=FPS)  # the booth's camera in bench_call
        self.microphone = ToneMicrophone()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self._page)
        app.router.add_get("/baseline.js", self._js)
        app.router.add_post("/offer", self._offer)
        app.router.add_get("/first-frame", self._first_frame)
        app.router.add_post("/reset", self._reset)
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

    async def _first_frame(self, request: web.Request) -> web.Response:
        """The wall-clock time (s) the browser's first frame was decoded here, once it has been."""
        try:
            await asyncio.wait_for(self.first_frame.wait(), FIRST_FRAME_S)
        except TimeoutError:
            return web.json_response({"error": f"no frame from the browser in {FIRST_FRAME_S:.0f} s"})
        return web.json_response({"at": self.first_frame_at})

    async def _reset(self, request: web.Request) -> web.Response:
        await self.reset()
        return web.json_response({})

    async def reset(self) -> None:
        for pc in list(self.pcs):
            await pc.close()
        self.pcs.clear()
        self.first_frame_at = None
        self.first_frame = asyncio.Event()


async def _serve() -> None:
    server = BaselineServer()
    runner = web.AppRunner(server.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"stock answerer at http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    try:
        await asyncio.Event().wait()  # until the bench ends the process
    finally:
        await server.reset()
        await runner.cleanup()


def main() -> int:
    try:
        asyncio.run(_serve())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
