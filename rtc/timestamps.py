"""Video timestamps that never go backwards for an encoder.

A sender keeps its encoder when its track is replaced, and the VP8 encoder refuses a frame whose
timestamp is not after the last one ("avcodec_send_frame() Invalid data"): the sender's loop then
dies and the picture freezes. Timestamps go backwards when a camera restarts (replug, reopen), when
the next call's remote track starts at another random RTP timestamp, and when frames complete out
of order in the jitter buffer. Whatever feeds an encoder goes through one :class:`RisingTimestamps`.

Example::

    >>> import av
    >>> stamps = RisingTimestamps()
    >>> frames = [av.VideoFrame(16, 16) for _ in range(3)]
    >>> for frame, pts in zip(frames, (3000, 6000, 0)):
    ...     frame.pts = pts
    >>> [stamps.apply(f).pts for f in frames]
    [3000, 6000, 6001]
"""

from __future__ import annotations

import av


class RisingTimestamps:
    """Rewrites frame (or packet) timestamps in place so that each is after the one before."""

    def __init__(self) -> None:
        self._last: int | None = None
        self._offset = 0

    def apply(self, frame: av.VideoFrame | av.Packet) -> av.VideoFrame | av.Packet:
        if frame.pts is None:
            return frame
        pts = frame.pts + self._offset
        if self._last is not None and pts <= self._last:
            self._offset += self._last + 1 - pts
            pts = self._last + 1
        frame.pts = self._last = pts
        return frame
