"""What glass-to-glass latency benches share: the stamp in the browser, and reading it back.

Every picture carries its capture time as a row of blocks (hw/stamp.py). A browser's "camera" is a
canvas stream stamped as each frame is drawn (bench/stamp.js); the booth's synthetic camera stamps
its own frames. Where a ``<video>`` presents a frame, the page reads the stamp back through a canvas
and notes the wall-clock time the frame is shown. Browser and Python share the machine's clock.
The Chromium <-> Chromium baseline is bench_latency.py's ``HomeCall``.
"""

from __future__ import annotations

import statistics
from pathlib import Path

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
    return [stamp.latency_ms(value, shown) for value, shown, _arrived in taken["seen"]]


def arrivals(taken: dict) -> list[float]:
    """Milliseconds from capture to the arrival of the frame's last packet in the receiving browser:
    the sender's and the network's part of :func:`latencies`, without the receiver's own."""
    return [stamp.latency_ms(value, arrived) for value, _shown, arrived in taken["seen"] if arrived is not None]


def mouth_to_ear_ms(heard_ms: float) -> float:
    return clicks.latency_s(heard_ms / 1000) * 1000


def watch(page, selector: str) -> None:
    """Start noting every frame the page's ``selector`` video presents (see :func:`take`)."""
    page.evaluate("(sel) => { window.vkWatch = window.vkWatch || {}; window.vkWatch[sel] = vkStamp.watch(document.querySelector(sel)); }",
                  selector)


def take(page, selector: str) -> dict:
    """The frames seen since the last take: ``{"seen": [[stamp, shown_ms, arrived_ms], ...], "missed": n}``."""
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
            "audio_target_ms": per("audio", "targetS", "emitted"), "audio_minimum_ms": per("audio", "minimumS", "emitted"),
            # The sending rhythm as the advisor sees it; the voice cut to catch up, or made up (per mille).
            "audio_interarrival_jitter_ms": 1000 * after["audio"]["jitterS"],
            "audio_accelerated_per_mille": per("audio", "removed", "samples"), "audio_concealed_per_mille": per("audio", "concealed", "samples")}


def summary(values: list[float]) -> dict:
    if not values:
        return {"median": float("nan"), "p95": float("nan"), "n": 0}
    ordered = sorted(values)
    return {"median": statistics.median(ordered), "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
            "n": len(ordered)}
