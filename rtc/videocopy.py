"""A camera consumer that must not share frame objects: its own copy of every frame.

A camera hands all its tracks the same prepared frame (hw ``VideoTimeline``), and the call's
:class:`~rtc.adaptation.AdaptiveVideoTrack` keeps its timestamps rising by rewriting ``pts`` in place.
A second encoder of the same frames (a peer link to an interpreter, appliance/peerlink.py) then
reads timestamps another track has moved: they jump back and forth between the two, each one's
correction feeding the other's, until libvpx refuses a frame ("avcodec_send_frame() Invalid data")
and the sender dies. Worse, PyAV's encoder rebases a frame's ``pts`` and ``time_base`` in place, in
the encoder's thread: another track reading the shared frame's timing meanwhile may read half of
it. :class:`OwnVideoTrack` hands its encoder a private copy of the pixels, stamped by its own clock
when received: nobody else writes to it, and it reads nothing but pixels of the shared frame.

Example::

    >>> import asyncio
    >>> from hw.synthetic import SyntheticCamera
    >>> async def demo():
    ...     camera = SyntheticCamera(width=64, height=48)
    ...     shared, own = camera.video_track(), OwnVideoTrack(camera.video_track())
    ...     a, b = await asyncio.gather(shared.recv(), own.recv())
    ...     await camera.close()
    ...     return a is b, b.format.name
    >>> asyncio.run(demo())
    (False, 'yuv420p')
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable

import av
from aiortc.mediastreams import VIDEO_CLOCK_RATE, MediaStreamTrack

from .timestamps import RisingTimestamps


def copy_video_frame(frame: av.VideoFrame, pts: int, scale: float = 1.0) -> av.VideoFrame:
    """A yuv420p copy of ``frame``'s pixels, stamped ``pts`` (90 kHz), sharing nothing with it;
    ``scale`` below 1: that much smaller (even sizes, as yuv420p needs)."""
    if scale < 1:  # a scaled frame is new pixels in a new buffer: a copy by itself, and cheaper
        copy = frame.reformat(width=max(2, round(frame.width * scale / 2) * 2),
                              height=max(2, round(frame.height * scale / 2) * 2), format="yuv420p")
    else:  # reformat() to the same size and format would hand back the shared frame itself
        copy = av.VideoFrame.from_ndarray(frame.to_ndarray(format="yuv420p"), format="yuv420p")
    copy.pts, copy.time_base = pts, fractions.Fraction(1, VIDEO_CLOCK_RATE)
    return copy


class OwnVideoTrack(MediaStreamTrack):
    """``source``'s frames as private copies with timestamps of their own, always rising.

    An own clock is safe here, unlike on shared frames (hw ``VideoTimeline``): the copies are
    this track's alone. ``scale()``, asked for each frame, shrinks them (the kiosk's small
    self-view tile in a call: rtc/loopback.py).
    """

    kind = "video"

    def __init__(self, source: MediaStreamTrack, now: Callable[[], float] = time.monotonic,
                 scale: Callable[[], float] = lambda: 1.0) -> None:
        super().__init__()
        self._source = source
        self._scale = scale
        self._now = now
        self._start = now()
        self._stamps = RisingTimestamps()  # two frames within one clock tick still rise

    async def recv(self):
        frame = await self._source.recv()
        if not isinstance(frame, av.VideoFrame):
            return frame  # pre-encoded packets are not touched by anyone
        pts = int((self._now() - self._start) * VIDEO_CLOCK_RATE)
        # Copied in a worker thread: on the event loop the kiosk's half-size self-view cost about
        # 8 % of the booth's loop in a call (py-spy, make bench), the loop that also sends the
        # customer's voice every 20 ms. Safe there: the copy reads only the shared frame's pixels,
        # which nobody writes once the camera has handed them out.
        copy = await asyncio.get_running_loop().run_in_executor(None, copy_video_frame, frame, pts, self._scale())
        return self._stamps.apply(copy)

    def stop(self) -> None:
        super().stop()
        self._source.stop()
