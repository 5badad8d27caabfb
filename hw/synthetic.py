"""The synthetic camera: colour bars, a moving bar and a running clock, so a viewer sees it is live.

Layout (top to bottom): eight colour bars (60 %) under a row of black and white blocks that
stamps the frame's capture time (hw/stamp.py: ``make bench`` reads it where the frame is shown),
a strip with a white bar moving left to right (15 %), and the wall-clock time as seven-segment digits (25 %). Tests recognise the pattern after
encode/decode with :func:`looks_like_test_pattern` and see it move with :func:`moving_bar_x`.

Example::

    >>> cam = SyntheticCamera(width=320, height=240, fps=25)
    >>> track = cam.video_track()          # an aiortc MediaStreamTrack of av.VideoFrame
    >>> # frame = await track.recv(); looks_like_test_pattern(frame) -> True
"""

from __future__ import annotations

import asyncio
import fractions
import functools
import time
from collections.abc import Callable

import av
import numpy as np
from aiortc.mediastreams import VIDEO_CLOCK_RATE, MediaStreamError, MediaStreamTrack

from .camera import SupervisedCamera
from .errors import DeviceUnavailable
from .pacing import Pacer
from .stamp import paint_stamp

BARS = np.array(
    [
        (235, 235, 235),  # white
        (235, 235, 16),  # yellow
        (16, 235, 235),  # cyan
        (16, 235, 16),  # green
        (235, 16, 235),  # magenta
        (235, 16, 16),  # red
        (16, 16, 235),  # blue
        (16, 16, 16),  # black
    ],
    dtype=np.uint8,
)
BARS_END = 0.60
STRIP_END = 0.75
# Seven segments a..g per digit (a top, b top-right, c bottom-right, d bottom, e bottom-left,
# f top-left, g middle).
SEGMENTS = {
    "0": "abcdef", "1": "bc", "2": "abdeg", "3": "abcdg", "4": "bcfg",
    "5": "acdfg", "6": "acdefg", "7": "abc", "8": "abcdefg", "9": "abcdfg",
}  # fmt: skip


def _draw_digit(img: np.ndarray, ch: str, x: int, y: int, w: int, h: int) -> None:
    t = max(2, w // 5)
    half = h // 2
    boxes = {
        "a": (y, y + t, x, x + w), "d": (y + h - t, y + h, x, x + w), "g": (y + half - t // 2, y + half + t - t // 2, x, x + w),
        "f": (y, y + half, x, x + t), "b": (y, y + half, x + w - t, x + w),
        "e": (y + half, y + h, x, x + t), "c": (y + half, y + h, x + w - t, x + w),
    }  # fmt: skip
    if ch == ":":
        img[y + h // 4 : y + h // 4 + t, x + w // 2 - t // 2 : x + w // 2 + t - t // 2] = 235
        img[y + 3 * h // 4 - t : y + 3 * h // 4, x + w // 2 - t // 2 : x + w // 2 + t - t // 2] = 235
        return
    for seg in SEGMENTS.get(ch, ""):
        y0, y1, x0, x1 = boxes[seg]
        img[y0:y1, x0:x1] = 235


def pattern_image(width: int, height: int, index: int, now: float) -> np.ndarray:
    """The RGB picture for frame ``index`` at wall-clock time ``now``."""
    img = _still(width, height, time.strftime("%H:%M:%S", time.localtime(now))).copy()
    bars_h, strip_h = int(height * BARS_END), int(height * STRIP_END)
    bar_w = max(4, width // 16)
    x = (index * max(1, width // 100)) % (width - bar_w)
    img[bars_h:strip_h, x : x + bar_w] = 235
    paint_stamp(img, round(now * 1000))
    return img


@functools.lru_cache(maxsize=2)
def _still(width: int, height: int, text: str) -> np.ndarray:
    """What changes once a second at most: bars and clock. Drawn once, copied per frame (a Pi's
    fake camera should not cost more than its call)."""
    img = np.full((height, width, 3), 16, dtype=np.uint8)
    bars_h, strip_h = int(height * BARS_END), int(height * STRIP_END)
    cols = (np.arange(width) * len(BARS) // width).clip(0, len(BARS) - 1)
    img[:bars_h] = BARS[cols][None, :, :]
    dh = int((height - strip_h) * 0.7)
    dw = dh // 2
    gap = dw // 3
    x0 = (width - len(text) * (dw + gap)) // 2
    for i, ch in enumerate(text):
        _draw_digit(img, ch, x0 + i * (dw + gap), strip_h + (height - strip_h - dh) // 2, dw, dh)
    img.flags.writeable = False
    return img


def looks_like_test_pattern(frame: av.VideoFrame, tolerance: int = 56) -> bool:
    """True if the colour bars are where they belong (survives a lossy encode/decode)."""
    img = frame.to_ndarray(format="rgb24")
    h, w = img.shape[:2]
    row = int(h * BARS_END / 2)
    for i, colour in enumerate(BARS):
        x = int((i + 0.5) * w / len(BARS))
        sample = img[row - 2 : row + 3, x - 2 : x + 3].reshape(-1, 3).mean(axis=0)
        if np.abs(sample - colour.astype(float)).max() > tolerance:
            return False
    return True


def moving_bar_x(frame: av.VideoFrame) -> int:
    """Horizontal position of the moving bar, in pixels."""
    img = frame.to_ndarray(format="gray")
    h = img.shape[0]
    row = img[int(h * (BARS_END + STRIP_END) / 2)].astype(int)
    return int(np.argmax(row))


class SyntheticVideoTrack(MediaStreamTrack):
    """Frames of :func:`pattern_image`, paced at ``fps`` by the track's own clock.

    Each frame's timestamp is when it was made, as a camera driver stamps the capture time (V4L2's
    buffer timestamps, which aiortc's player passes on), not when it was due: on a busy machine a
    frame made late but stamped on time looks to the receiver like network jitter, and makes it
    hold every frame longer. (The advisor's browser still holds the booth's frames longer than
    Chromium's own, make bench: 94 ms against 23 ms at load 9; that lateness comes after capture.)

    The picture is drawn and converted to the encoders' yuv420p in a worker thread, as a real
    camera's frames arrive from its driver's thread: drawn on the event loop, it took about a
    third of the booth's loop time in a call (py-spy, make bench's booth), a loop that also
    sends the customer's voice every 20 ms.
    """

    kind = "video"

    def __init__(self, width: int = 640, height: int = 480, fps: int = 25, now: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self._now = now
        self._pacer = Pacer(1 / fps)
        self._started: float | None = None  # when the first frame was made

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        index = await self._pacer.wait()
        made = self._now()
        self._started = made if self._started is None else self._started
        frame = await asyncio.get_running_loop().run_in_executor(None, self._picture, index, made)
        frame.pts = round((made - self._started) * VIDEO_CLOCK_RATE)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK_RATE)
        return frame

    def _picture(self, index: int, made: float) -> av.VideoFrame:
        # A new frame, seen by no other thread until it is returned: safe to convert here.
        rgb = av.VideoFrame.from_ndarray(pattern_image(self.width, self.height, index, made), format="rgb24")
        return rgb.reformat(format="yuv420p")


class SyntheticCamera(SupervisedCamera):
    """A camera that needs no hardware: the demo's and the tests' camera.

    Set ``present = False`` (or send a fake hot-plug "remove") to act unplugged.
    """

    def __init__(self, *args, now: Callable[[], float] = time.time, **kwargs) -> None:
        """Arguments as :class:`~hw.camera.SupervisedCamera`; ``now`` is the clock shown."""
        self.present = True
        self._now = now
        super().__init__(*args, **kwargs)

    def _open_source(self) -> MediaStreamTrack:
        if not self.present:
            raise DeviceUnavailable("camera", self.device, "no such device")
        return SyntheticVideoTrack(self.width, self.height, self.fps, self._now)

    def _on_hotplug(self, event) -> None:
        # The fake's "device" follows the fake udev events, like a real node would.
        if self._matches(event):
            self.present = event.action == "add"
        super()._on_hotplug(event)
