"""What glass-to-glass latency benches share: the stamp in the browser, and the Chromium baseline.

Every picture carries its capture time as a row of blocks (hw/stamp.py). A browser's "camera" is a
canvas stream stamped as each frame is drawn (bench/stamp.js); the booth's synthetic camera stamps
its own frames. Where a ``<video>`` presents a frame, the page reads the stamp back through a canvas
and notes the wall-clock time the frame is shown. Browser and Python share the machine's clock.

The baseline is Chromium <-> Chromium in the same browser, both ways at once, the same picture
size, frame rate and codec (VP8) as the call, measured with the same watch. Each of its two pages
presents what it receives as the call's receiver in that direction does (:data:`PRESENTATIONS`):
one like the advisor's console, the other's voice and face in one audible ``<video>``; one like
the kiosk page, the picture alone in a muted ``<video>`` (the booth plays the advisor's voice
through its own speaker). How a page presents moves its frames a whole screen refresh: a
Chromium call shown as the console shows it measured 37-40 ms glass to glass, the same call with
both pages muted 19-24 ms (issue 20), so a baseline presented otherwise than the call measures
the presentation, not the call.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from aiohttp import web

from hw import clicks, stamp

HERE = Path(__file__).parent
WIDTH, HEIGHT, FPS = 640, 480, 30
LAYOUT = {"blocks": stamp.BLOCKS, "valueBits": stamp.VALUE_BITS, "checkBits": stamp.CHECK_BITS,
          "rowFraction": stamp.ROW_FRACTION, "white": stamp.WHITE, "black": stamp.BLACK,
          "minContrast": stamp.MIN_CONTRAST}
CLICKS = {"periodS": clicks.PERIOD_S, "clickS": clicks.CLICK_S, "level": clicks.LEVEL, "threshold": clicks.THRESHOLD,
          "quietS": clicks.QUIET_S}


def install_script() -> str:
    """An init script for a browser context: ``window.vkStamp`` on every page."""
    return f"({(HERE / 'stamp.js').read_text()})({_json(LAYOUT)}, {_json(CLICKS)});\n"


def fake_camera_script(width: int = WIDTH, height: int = HEIGHT, fps: int = FPS) -> str:
    """An init script: getUserMedia's video is the stamped canvas, its audio the clicking microphone."""
    return install_script() + f"""
(() => {{
  navigator.mediaDevices.getUserMedia = async (constraints) => {{
    const tracks = [];
    if (constraints && constraints.audio) tracks.push(window.vkStamp.clickMic());
    if (constraints && constraints.video) tracks.push(window.vkStamp.camera({width}, {height}, {fps}));
    return new MediaStream(tracks);
  }};
}})();"""


def _json(value) -> str:
    import json

    return json.dumps(value)


def latencies(taken: dict) -> list[float]:
    """Milliseconds from capture to screen of every frame a :func:`watch` saw."""
    return [stamp.latency_ms(value, shown) for value, shown in taken["seen"]]


def mouth_to_ear_ms(heard_ms: float) -> float:
    return clicks.latency_s(heard_ms / 1000) * 1000


def watch(page, selector: str) -> None:
    """Start noting every frame the page's ``selector`` video presents (see :func:`take`)."""
    page.evaluate("(sel) => { window.vkWatch = window.vkWatch || {}; window.vkWatch[sel] = vkStamp.watch(document.querySelector(sel)); }",
                  selector)


def take(page, selector: str) -> dict:
    """The frames seen since the last take: ``{"seen": [[stamp, shown_ms], ...], "missed": n}``."""
    return page.evaluate("(sel) => window.vkWatch[sel].take()", selector)


def receiving(pages) -> dict:
    """What the receivers of ``pages`` report, summed (cumulative; see :func:`received`)."""
    totals: dict = {}
    for page in pages:
        for kind, sums in page.evaluate("() => vkStamp.receiving()").items():
            for key, value in sums.items():
                totals.setdefault(kind, {}).setdefault(key, 0.0)
                totals[kind][key] += value
    return totals


def received(before: dict, after: dict) -> dict[str, float | None]:
    """Mean ms a video frame and an audio sample waited in the jitter buffer, and a frame's decode, between two :func:`receiving`."""

    def per(kind: str, total: str, count: str) -> float | None:
        n = after[kind][count] - before[kind][count]
        return 1000 * (after[kind][total] - before[kind][total]) / n if n > 0 else None

    return {"video_jitter_buffer_ms": per("video", "delayS", "emitted"), "video_decode_ms": per("video", "decodeS", "decoded"),
            "audio_jitter_buffer_ms": per("audio", "delayS", "emitted"),
            # Its target, and the least it would be for jitter alone: the difference is A/V sync's.
            "video_target_ms": per("video", "targetS", "emitted"), "video_minimum_ms": per("video", "minimumS", "emitted"),
            "audio_target_ms": per("audio", "targetS", "emitted"), "audio_minimum_ms": per("audio", "minimumS", "emitted")}


def summary(values: list[float]) -> dict:
    if not values:
        return {"median": float("nan"), "p95": float("nan"), "n": 0}
    ordered = sorted(values)
    return {"median": statistics.median(ordered), "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
            "n": len(ordered)}


BASELINE_PAGE = """<!doctype html><html><body style="margin:0">
<video id="remote" autoplay playsinline style="width:640px;height:480px"></video></body></html>"""

# How each baseline page presents the other's tracks, as the call's receiver in that direction:
# "console" (hub/console/call.js: one stream, both tracks, audible), "kiosk" (the picture alone).
PRESENTATIONS = ("console", "kiosk")

# Both ends of the baseline: a peer connection that sends the stamped canvas and shows the other.
# addTrack, not addTransceiver: the answerer's offer then takes this transceiver (JSEP reuses those).
BASELINE_PEER = """async ([width, height, fps, presentation]) => {
  const pc = new RTCPeerConnection({ iceServers: [] });
  window.pc = pc;
  const track = vkStamp.camera(width, height, fps), mic = vkStamp.clickMic();
  const stream = new MediaStream([track, mic]);
  pc.addTrack(track, stream);
  pc.addTrack(mic, stream);
  const vp8 = RTCRtpReceiver.getCapabilities('video').codecs.filter((c) => c.mimeType === 'video/VP8');
  pc.getTransceivers()[0].setCodecPreferences(vp8);
  const video = document.getElementById('remote'), remote = new MediaStream();
  video.muted = presentation !== 'console';
  video.srcObject = remote;
  pc.ontrack = (e) => {
    if (e.track.kind === 'video' || presentation === 'console') remote.addTrack(e.track);
    if (e.track.kind === 'audio') window.vkHeard = vkStamp.hear(e.track);
  };
  window.describe = async (description) => {
    await pc.setLocalDescription(description);
    await new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') resolve();
      pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
    });
    return pc.localDescription.toJSON();
  };
}"""


class ChromiumPair:
    """Two pages of one browser in a call with each other: the baseline, set up and torn down per round."""

    def __init__(self, lt, browser) -> None:
        app = web.Application()
        app.router.add_get("/", lambda _request: web.Response(text=BASELINE_PAGE, content_type="text/html"))
        self.url = lt.serve(app)
        # With camera permission Chromium puts its addresses into candidates, not mDNS names that
        # another page cannot resolve here (as on the advisor's console).
        # One context each, as the call's two ends are (advisor and kiosk): two pages of one context
        # are tabs of one window, and the one behind had its camera's timer throttled to 1 frame a
        # second, so the baseline measured a one-way call (shown: 14.8 fps a page, against 29 for ours).
        self.contexts = [browser.new_context(viewport={"width": 1280, "height": 800}, permissions=["camera", "microphone"])
                         for _end in range(2)]
        for ctx in self.contexts:
            ctx.add_init_script(install_script())
        self.pages = [ctx.new_page() for ctx in self.contexts]

    def connect(self) -> None:
        a, b = self.pages
        for page, presentation in zip(self.pages, PRESENTATIONS):
            page.goto(self.url)
            page.evaluate(BASELINE_PEER, [WIDTH, HEIGHT, FPS, presentation])
        # Full SDPs with every host candidate: no trickle to carry across.
        offer = a.evaluate("async () => describe(await pc.createOffer())")
        answer = b.evaluate("async (o) => { await pc.setRemoteDescription(o); return describe(await pc.createAnswer()); }", offer)
        a.evaluate("async (o) => { await pc.setRemoteDescription(o); }", answer)
        for page in self.pages:
            page.wait_for_function("() => { const v = document.getElementById('remote'); return v.videoWidth > 0 && v.currentTime > 0 && window.vkHeard; }",
                                   timeout=20000)
            watch(page, "#remote")

    def take(self) -> dict[str, dict]:
        """What each page showed since the last take, by its presentation."""
        return {presentation: take(page, "#remote") for page, presentation in zip(self.pages, PRESENTATIONS)}

    def receiving(self) -> dict:
        return receiving(self.pages)

    def heard(self) -> list[float]:
        """Mouth-to-ear latencies (ms) of the clicks both pages heard since the last call."""
        return [mouth_to_ear_ms(at) for page in self.pages for at in page.evaluate("() => vkHeard.take()")]

    def disconnect(self) -> None:
        for page in self.pages:
            page.goto("about:blank")  # hangs up, and stops the canvas camera and the clicks with it

    def close(self) -> None:
        for ctx in self.contexts:
            ctx.close()
