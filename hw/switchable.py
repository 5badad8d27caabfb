"""A track that stays alive for the peer connection while its source is swapped underneath.

On unplug the source goes away and the track delivers a placeholder (a "camera unavailable" picture
or silence) at the same pace; on replug a new source is attached. The RTCPeerConnection never sees
a new track, so the call stays up. Timestamps are re-stamped from one clock so they never jump back.

Example::

    track = SwitchableTrack("video", placeholder=unavailable_picture(640, 480), fps=25)
    pc.addTrack(track)
    track.set_source(camera_source)   # later: track.set_source(None) on unplug
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable

import av
import numpy as np
from aiortc.mediastreams import VIDEO_CLOCK_RATE, MediaStreamError, MediaStreamTrack

AUDIO_RATE = 48_000
AUDIO_PTIME = 0.020
# A source that delivers nothing for this long is treated as stalled: show the placeholder.
STALL_S = 1.5
# One that delivers nothing for this long (a hung driver) is given up: reported like an unplug, so
# the device is reopened. Generous, because a webcam may take a couple of seconds to start.
HUNG_S = 6.0


def unavailable_picture(width: int, height: int) -> av.VideoFrame:
    """Dark grey picture with a crossed-out camera outline; no text, so no language to pick."""
    img = np.full((height, width, 3), 48, dtype=np.uint8)
    cx, cy, w, h = width // 2, height // 2, width // 5, height // 6
    grey = (170, 170, 170)
    img[cy - h : cy + h, cx - w : cx - w + 6] = grey
    img[cy - h : cy + h, cx + w - 6 : cx + w] = grey
    img[cy - h : cy - h + 6, cx - w : cx + w] = grey
    img[cy + h - 6 : cy + h, cx - w : cx + w] = grey
    img[cy - h // 2 : cy + h // 2, cx + w : cx + w + 6] = grey  # the lens housing
    for t in range(-3, 4):  # the red diagonal bar that says "not working"
        xs = np.arange(-w - 20, w + 20)
        ys = (xs * h / w).astype(int) + cy + t
        ok = (ys >= 0) & (ys < height)
        img[ys[ok], (xs + cx)[ok]] = (200, 40, 40)
    return av.VideoFrame.from_ndarray(img, format="rgb24")


def silence(samples: int = int(AUDIO_RATE * AUDIO_PTIME)) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(np.zeros((1, samples), dtype=np.int16), format="s16", layout="mono")
    frame.sample_rate = AUDIO_RATE
    return frame


class DecodedTrack(MediaStreamTrack):
    """Frames from a track of encoded H.264 packets, for a consumer that cannot take packets."""

    kind = "video"

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self._source = source
        self._decoder = av.CodecContext.create("h264", "r")
        self._frames: list[av.VideoFrame] = []

    async def recv(self):
        while not self._frames:
            item = await self._source.recv()
            if isinstance(item, av.VideoFrame):
                return item
            try:
                frames = self._decoder.decode(item)
            except av.FFmpegError:
                continue  # a damaged packet: the next keyframe repairs the picture
            for frame in frames:
                frame.pts, frame.time_base = item.pts, item.time_base
            self._frames.extend(frames)
        return self._frames.pop(0)

    def stop(self) -> None:
        self._source.stop()
        super().stop()


class VideoTimeline:
    """One video clock per device, shared by all its tracks.

    The device's tracks watch one source through a :class:`~hw.relay.Relay`, which hands every
    subscriber the same frame object. Two field failures came from that sharing:

    - each track restamped the frame with a clock of its own, so the call's encoder saw the
      preview's timestamps, met one that went backwards ("avcodec_send_frame() Invalid data") and
      died: the advisor's picture froze seconds into the call;
    - each encoder converted the frame to yuv420p in its own thread, and PyAV's per-frame
      converter is not thread-safe: a segmentation fault.

    So the first track to see a frame converts and stamps it once, on the event loop, and every
    track hands out that same prepared frame: timestamps rise for every consumer and no encoder
    has anything left to convert.
    """

    REMEMBER = 16  # frames a slower consumer may still be behind; held so their ids stay unique

    def __init__(self) -> None:
        self._start = time.monotonic()
        self._given: dict[int, tuple[object, object]] = {}

    def prepare(self, item):
        given = self._given.get(id(item))
        if given is not None and given[0] is item:
            return given[1]
        ready = item
        if isinstance(item, av.VideoFrame) and item.format.name != "yuv420p":
            ready = item.reformat(format="yuv420p")
        ready.pts = int((time.monotonic() - self._start) * VIDEO_CLOCK_RATE)
        ready.time_base = fractions.Fraction(1, VIDEO_CLOCK_RATE)
        self._given[id(item)] = (item, ready)
        if len(self._given) > self.REMEMBER:
            del self._given[next(iter(self._given))]
        return ready


class SwitchableTrack(MediaStreamTrack):
    """A long-lived track whose frames come from a replaceable source (or a placeholder)."""

    def __init__(
        self,
        kind: str,
        placeholder: av.VideoFrame | av.AudioFrame,
        fps: float = 25,
        on_source_failed: Callable[[str], None] | None = None,
        on_stop: Callable[["SwitchableTrack"], None] | None = None,
        stall_s: float = STALL_S,
        hung_s: float = HUNG_S,
        timeline: VideoTimeline | None = None,
        encoded: bool = False,
        every_frame: bool = False,
    ) -> None:
        super().__init__()
        #: What the consumer takes from the device (hw/supervised.py feeds it so): H.264 packets as
        #: they come instead of decoded frames; every raw frame even when it lags (a measurement).
        self.encoded = encoded
        self.every_frame = every_frame
        self._timeline = timeline or VideoTimeline()
        self._stall_s, self._hung_s = stall_s, hung_s
        self.kind = kind
        self._placeholder = placeholder
        # Each placeholder frame is a fresh copy: encoders and relays may still hold the last one.
        self._placeholder_rgb = placeholder.to_ndarray(format="rgb24") if kind == "video" else None
        self._interval = 1 / fps if kind == "video" else AUDIO_PTIME
        self._source: MediaStreamTrack | None = None
        self._pending: asyncio.Future | None = None
        self._switched = asyncio.Event()
        self._on_source_failed = on_source_failed
        self._on_stop = on_stop
        self._next_placeholder = 0.0
        self._audio_samples = 0
        self._last_item_at = time.monotonic()

    @property
    def source(self) -> MediaStreamTrack | None:
        return self._source

    def set_source(self, source: MediaStreamTrack | None) -> None:
        """Swap the source; the track owns it, so the old one is stopped and its read abandoned."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        old, self._source = self._source, source
        if old is not None and old is not source:
            old.stop()
        self._last_item_at = time.monotonic()
        self._switched.set()

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        while self._source is not None:
            if self._pending is None:
                self._pending = asyncio.ensure_future(self._source.recv())
            self._switched.clear()
            switched = asyncio.ensure_future(self._switched.wait())
            try:
                done, _ = await asyncio.wait(
                    {self._pending, switched}, timeout=self._stall_s, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                switched.cancel()
            if self._pending is not None and self._pending in done:
                pending, self._pending = self._pending, None
                try:
                    item = pending.result()
                except asyncio.CancelledError:
                    continue
                except Exception as exc:  # MediaStreamError, or a driver error: the device is gone
                    detail = "" if isinstance(exc, MediaStreamError) else f" ({type(exc).__name__}: {exc})"
                    self._give_up(f"the device stopped delivering{detail}")
                    break
                self._last_item_at = time.monotonic()
                return self._stamp(item)
            if not done:  # stalled: keep waiting for that read, show the placeholder meanwhile
                if time.monotonic() - self._last_item_at > self._hung_s:
                    self._give_up(f"no data for {self._hung_s:.0f} s")
                    break
                return self._stamp(self._placeholder_copy())
        await self._pace()
        return self._stamp(self._placeholder_copy())

    def _give_up(self, reason: str) -> None:
        failed, self._source = self._source, None
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        if failed is not None:
            failed.stop()
            if self._on_source_failed is not None:
                self._on_source_failed(reason)

    async def _pace(self) -> None:
        now = time.monotonic()
        if self._next_placeholder <= now:
            self._next_placeholder = now
        wait = self._next_placeholder - now
        self._next_placeholder += self._interval
        if wait > 0:
            try:
                await asyncio.wait_for(self._switched.wait(), wait)
                self._switched.clear()
            except asyncio.TimeoutError:
                pass

    def _placeholder_copy(self):
        ph = self._placeholder
        if isinstance(ph, av.AudioFrame):
            return silence(ph.samples)
        return av.VideoFrame.from_ndarray(self._placeholder_rgb, format="rgb24")

    def _stamp(self, item):
        """One clock for every source, so a receiver never sees timestamps go backwards."""
        if isinstance(item, av.AudioFrame):
            item.pts = self._audio_samples
            item.time_base = fractions.Fraction(1, item.sample_rate or AUDIO_RATE)
            self._audio_samples += item.samples
            return item
        return self._timeline.prepare(item)

    def stop(self) -> None:
        self.set_source(None)
        super().stop()
        if self._on_stop is not None:
            self._on_stop(self)
